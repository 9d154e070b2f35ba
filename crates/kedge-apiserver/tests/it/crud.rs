//! Create, read, update and delete through kubectl: create -f, client-side
//! apply (create, then a strategic-merge update), label, annotate, replace
//! conflicts, pagination, generateName, dry run, and error statuses.

use serde_json::Value;

use crate::Cluster;

const DEPLOY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn create_get_apply_label_delete() {
    let Some(c) = Cluster::start() else { return };
    let out = c.stdin_ok(&["create", "-f", "-"], DEPLOY);
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let obj = json(&c.ok(&["get", "deploy", "web", "-o", "json"]));
    assert_eq!(obj["metadata"]["generation"], 1);
    assert!(!obj["metadata"]["uid"].as_str().unwrap().is_empty());
    assert!(
        obj["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let rv1: u64 = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // Client-side apply over it: a strategic merge patch that changes the image.
    let applied = DEPLOY.replace("nginx:1.25", "nginx:1.26");
    let out = c.stdin_ok(&["apply", "-f", "-"], &applied);
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    let obj = json(&c.ok(&["get", "deploy", "web", "-o", "json"]));
    let containers = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["image"], "nginx:1.26");
    assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
    assert_eq!(
        obj["metadata"]["generation"], 2,
        "a spec change bumps generation"
    );
    let rv2: u64 = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);

    // The same apply again changes nothing: no new resourceVersion.
    let out = c.stdin_ok(&["apply", "-f", "-"], &applied);
    assert!(out.contains("unchanged"), "{out}");

    // Label and annotate are merge patches that leave generation alone.
    c.ok(&["label", "deploy", "web", "tier=frontend"]);
    c.ok(&["annotate", "deploy", "web", "note=hello"]);
    let obj = json(&c.ok(&["get", "deploy", "web", "-o", "json"]));
    assert_eq!(obj["metadata"]["labels"]["tier"], "frontend");
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello");
    assert_eq!(obj["metadata"]["generation"], 2);
    let names = c.ok(&["get", "deploy", "-l", "tier=frontend", "-o", "name"]);
    assert_eq!(names.trim(), "deployment.apps/web");
    assert_eq!(
        c.ok(&["get", "deploy", "-l", "tier!=frontend", "-o", "name"])
            .trim(),
        ""
    );

    // Scale through the scale subresource.
    c.ok(&["scale", "deploy", "web", "--replicas=5"]);
    let obj = json(&c.ok(&["get", "deploy", "web", "-o", "json"]));
    assert_eq!(obj["spec"]["replicas"], 5);

    let out = c.ok(&["delete", "deploy", "web"]);
    assert!(out.contains("deployment.apps \"web\" deleted"), "{out}");
    let err = c.fails(&["get", "deploy", "web"]);
    assert!(
        err.contains("Error from server (NotFound): deployments.apps \"web\" not found"),
        "{err}"
    );
}

#[test]
fn create_existing_conflicts_and_stale_replace_is_rejected() {
    let Some(c) = Cluster::start() else { return };
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: default}\ndata: {a: '1'}\n";
    c.stdin_ok(&["create", "-f", "-"], cm);
    let out = c.stdin(&["create", "-f", "-"], cm);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AlreadyExists") && err.contains("configmaps \"cfg\" already exists"),
        "{err}"
    );

    let live = json(&c.ok(&["get", "cm", "cfg", "-o", "json"]));
    let mut stale = live.clone();
    c.ok(&["label", "cm", "cfg", "x=y"]);
    stale["data"]["a"] = "2".into();
    let out = c.stdin(&["replace", "-f", "-"], &stale.to_string());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified"
        ),
        "{err}"
    );
    // With the current resourceVersion the replace succeeds.
    let mut fresh = json(&c.ok(&["get", "cm", "cfg", "-o", "json"]));
    fresh["data"]["a"] = "3".into();
    c.stdin_ok(&["replace", "-f", "-"], &fresh.to_string());
    assert_eq!(
        json(&c.ok(&["get", "cm", "cfg", "-o", "json"]))["data"]["a"],
        "3"
    );

    // --resource-version on label is a precondition.
    let err = c.fails(&["label", "cm", "cfg", "z=1", "--resource-version=1"]);
    assert!(err.contains("the object has been modified"), "{err}");
}

#[test]
fn pagination_returns_every_item_once() {
    let Some(c) = Cluster::start() else { return };
    let mut manifest = String::new();
    for i in 0..23 {
        manifest.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: page-{i:02}, namespace: default}}\n"));
    }
    c.stdin_ok(&["create", "-f", "-"], &manifest);
    let out = c.ok(&["get", "cm", "--chunk-size=5", "-o", "name"]);
    let names: Vec<&str> = out.lines().filter(|l| l.contains("page-")).collect();
    assert_eq!(names.len(), 23, "{out}");
    let first = c.raw("/api/v1/namespaces/default/configmaps?limit=5");
    assert_eq!(first["items"].as_array().unwrap().len(), 5);
    let token = first["metadata"]["continue"].as_str().unwrap();
    assert!(first["metadata"]["remainingItemCount"].as_u64().unwrap() > 0);
    // Later pages come from the same snapshot even after a write.
    c.ok(&["delete", "cm", "page-10"]);
    let mut seen = 5;
    let mut token = token.to_string();
    loop {
        let page = c.raw(&format!(
            "/api/v1/namespaces/default/configmaps?limit=5&continue={token}"
        ));
        seen += page["items"].as_array().unwrap().len();
        match page["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => break,
        }
    }
    assert_eq!(
        seen, 24,
        "23 pages items plus kube-root-ca.crt, as of the first page"
    );
}

#[test]
fn invalid_names_and_missing_namespaces_are_refused() {
    let Some(c) = Cluster::start() else { return };
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: default}\n";
    let out = c.stdin(&["create", "-f", "-"], bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ),
        "{err}"
    );
    let missing = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, namespace: nope}\n";
    let out = c.stdin(&["create", "-f", "-"], missing);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("namespaces \"nope\" not found"), "{err}");
    let err = c.fails(&["get", "--raw", "/apis/example.com/v1/widgets"]);
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "{err}"
    );
}

#[test]
fn generate_name_and_dry_run() {
    let Some(c) = Cluster::start() else { return };
    let generated =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: gen-, namespace: default}\n";
    let out = c.stdin_ok(&["create", "-f", "-", "-o", "name"], generated);
    let name = out.trim().strip_prefix("configmap/").unwrap().to_string();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    let dry = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: default}\n";
    let out = c.stdin_ok(
        &["create", "--dry-run=server", "-f", "-", "-o", "json"],
        dry,
    );
    let obj = json(&out);
    assert!(!obj["metadata"]["uid"].as_str().unwrap().is_empty());
    assert!(c.fails(&["get", "cm", "dry"]).contains("not found"));
}

#[test]
fn secrets_default_type_and_fold_string_data() {
    let Some(c) = Cluster::start() else { return };
    let s = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\nstringData: {password: hunter2}\n";
    c.stdin_ok(&["create", "-f", "-"], s);
    let obj = json(&c.ok(&["get", "secret", "s", "-o", "json"]));
    assert_eq!(obj["type"], "Opaque");
    assert_eq!(obj["data"]["password"], "aHVudGVyMg==");
    assert!(obj.get("stringData").is_none());
    let out = c.ok(&[
        "get",
        "secrets",
        "--field-selector",
        "type=Opaque",
        "-o",
        "name",
    ]);
    assert_eq!(out.trim(), "secret/s");
    let err = c.fails(&["get", "secrets", "--field-selector", "spec.nope=1"]);
    assert!(
        err.contains("field label not supported: spec.nope"),
        "{err}"
    );
}

#[test]
fn tables_have_kubectl_columns() {
    let Some(c) = Cluster::start() else { return };
    c.stdin_ok(&["create", "-f", "-"], DEPLOY);
    let out = c.ok(&["get", "deploy"]);
    let header = out.lines().next().unwrap();
    for col in ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] {
        assert!(header.contains(col), "{out}");
    }
    assert!(out.lines().nth(1).unwrap().starts_with("web "), "{out}");
    let out = c.ok(&["get", "ns"]);
    assert!(out.lines().next().unwrap().contains("STATUS"), "{out}");
    assert!(
        out.contains("kube-system") && out.contains("Active"),
        "{out}"
    );
    let out = c.ok(&["get", "cm", "-A", "--show-labels"]);
    assert!(
        out.lines().next().unwrap().starts_with("NAMESPACE"),
        "{out}"
    );
    assert!(out.contains("kube-root-ca.crt"), "{out}");
}

#[test]
fn field_validation_strict_and_warn() {
    let Some(c) = Cluster::start() else { return };
    let unknown = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: uf, namespace: default}\ndata: {a: b}\nsurprise: 1\n";
    let out = c.stdin(&["create", "-f", "-"], unknown);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("strict decoding error: unknown field \"surprise\""),
        "{err}"
    );
    let deploy = DEPLOY.replace(
        "        image: nginx:1.25",
        "        image: nginx:1.25\n        imagePullPolice: Always",
    );
    let out = c.stdin(&["create", "--validate=warn", "-f", "-"], &deploy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("unknown field \"spec.template.spec.containers[0].imagePullPolice\""),
        "{err}"
    );
}
