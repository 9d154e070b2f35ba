//! Server-side apply and managedFields through the real kubectl: repeated
//! applies are no-ops, conflicts between field managers and forcing them,
//! removal of fields dropped from a configuration, migration from
//! client-side apply, dry runs, and FieldsV1 recorded by non-apply writes.

use serde_json::Value;

use crate::Cluster;

const DEPLOY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web, tier: frontend}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn get_deploy(c: &Cluster) -> Value {
    json(&c.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "json",
        "--show-managed-fields",
    ]))
}

/// The managedFields entry of `manager` with `operation`.
fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

#[test]
fn apply_twice_is_unchanged_and_records_fields_v1() {
    let Some(c) = Cluster::start() else { return };
    let out = c.stdin_ok(&["apply", "--server-side", "-f", "-"], DEPLOY);
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let first = get_deploy(&c);
    let applied = entry(&first, "kubectl", "Apply").expect("kubectl Apply entry");
    assert_eq!(applied["fieldsType"], "FieldsV1");
    assert_eq!(applied["apiVersion"], "apps/v1");
    let fields = &applied["fieldsV1"];
    assert!(fields["f:spec"]["f:replicas"].is_object(), "{fields}");
    assert!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]
            ["f:image"]
            .is_object(),
        "{fields}"
    );
    // Defaulted fields are not owned by the applier.
    assert!(fields["f:spec"]["f:strategy"].is_null(), "{fields}");
    assert!(first["spec"]["strategy"].is_object());

    c.stdin_ok(&["apply", "--server-side", "-f", "-"], DEPLOY);
    let second = get_deploy(&c);
    assert_eq!(
        first["metadata"]["resourceVersion"], second["metadata"]["resourceVersion"],
        "an unchanged apply stores nothing"
    );

    let yaml = c.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(yaml.contains("fieldsType: FieldsV1"), "{yaml}");
    assert!(yaml.contains("f:replicas: {}"), "{yaml}");
    assert!(yaml.contains("manager: kubectl"), "{yaml}");
}

#[test]
fn conflicting_manager_is_refused_until_forced() {
    let Some(c) = Cluster::start() else { return };
    c.stdin_ok(&["apply", "--server-side", "-f", "-"], DEPLOY);
    let other = DEPLOY.replace("replicas: 2", "replicas: 5");
    let out = c.stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=scaler",
            "-f",
            "-",
        ],
        &other,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Apply failed with 1 conflict"), "{err}");
    assert!(err.contains("conflict with \"kubectl\""), "{err}");
    assert!(err.contains(".spec.replicas"), "{err}");
    assert_eq!(get_deploy(&c)["spec"]["replicas"], 2);

    let out = c.stdin_ok(
        &[
            "apply",
            "--server-side",
            "--field-manager=scaler",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &other,
    );
    assert!(out.contains("serverside-applied"), "{out}");
    let obj = get_deploy(&c);
    assert_eq!(obj["spec"]["replicas"], 5);
    let scaler = entry(&obj, "scaler", "Apply").expect("scaler entry");
    assert!(scaler["fieldsV1"]["f:spec"]["f:replicas"].is_object());
    let kubectl = entry(&obj, "kubectl", "Apply").expect("kubectl entry");
    assert!(
        kubectl["fieldsV1"]["f:spec"]["f:replicas"].is_null(),
        "ownership moved: {kubectl}"
    );
    // The fields both apply with the same value are shared.
    assert!(kubectl["fieldsV1"]["f:spec"]["f:selector"].is_object());
    assert!(scaler["fieldsV1"]["f:spec"]["f:selector"].is_object());
}

#[test]
fn fields_dropped_from_the_configuration_are_removed() {
    let Some(c) = Cluster::start() else { return };
    c.stdin_ok(&["apply", "--server-side", "-f", "-"], DEPLOY);
    let smaller = DEPLOY.replace(", tier: frontend", "");
    c.stdin_ok(&["apply", "--server-side", "-f", "-"], &smaller);
    let obj = get_deploy(&c);
    assert_eq!(obj["metadata"]["labels"]["app"], "web");
    assert!(obj["metadata"]["labels"]["tier"].is_null(), "{obj}");

    // A label another manager owns stays when the applier drops it.
    c.ok(&["label", "deploy", "web", "team=blue"]);
    let obj = get_deploy(&c);
    let label = entry(&obj, "kubectl-label", "Update").expect("kubectl-label entry");
    assert!(
        label["fieldsV1"]["f:metadata"]["f:labels"]["f:team"].is_object(),
        "{label}"
    );
    c.stdin_ok(&["apply", "--server-side", "-f", "-"], &smaller);
    assert_eq!(get_deploy(&c)["metadata"]["labels"]["team"], "blue");
}

#[test]
fn client_side_apply_migrates_to_server_side() {
    let Some(c) = Cluster::start() else { return };
    c.stdin_ok(&["apply", "-f", "-"], DEPLOY);
    let obj = get_deploy(&c);
    let csa = entry(&obj, "kubectl-client-side-apply", "Update").expect("client-side entry");
    assert!(csa["fieldsV1"]["f:spec"]["f:replicas"].is_object(), "{csa}");

    let changed = DEPLOY.replace("replicas: 2", "replicas: 3");
    let out = c.stdin_ok(&["apply", "--server-side", "-f", "-"], &changed);
    assert!(out.contains("serverside-applied"), "{out}");
    let obj = get_deploy(&c);
    assert_eq!(obj["spec"]["replicas"], 3);
    let ssa = entry(&obj, "kubectl", "Apply").expect("kubectl Apply entry");
    assert!(ssa["fieldsV1"]["f:spec"]["f:replicas"].is_object());
}

#[test]
fn dry_run_apply_stores_nothing_and_creates_with_defaults() {
    let Some(c) = Cluster::start() else { return };
    let out = c.stdin_ok(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        DEPLOY,
    );
    assert!(out.contains("server dry run"), "{out}");
    let missing = c.kubectl(&["get", "deploy", "web"]);
    assert!(!missing.status.success());

    c.stdin_ok(&["apply", "--server-side", "-f", "-"], DEPLOY);
    let before = get_deploy(&c);
    assert_eq!(before["metadata"]["generation"], 1);
    assert_eq!(before["spec"]["strategy"]["type"], "RollingUpdate");
    let out = c.stdin_ok(
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
            "-",
        ],
        &DEPLOY.replace("nginx:1.25", "nginx:1.26"),
    );
    let would = json(&out);
    assert_eq!(
        would["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    let after = get_deploy(&c);
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );
}

#[test]
fn apply_to_a_missing_namespace_is_refused() {
    let Some(c) = Cluster::start() else { return };
    let out = c.stdin(
        &["apply", "--server-side", "-f", "-"],
        &DEPLOY.replace("namespace: default", "namespace: nowhere"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("namespaces \"nowhere\" not found"), "{err}");
}
