//! CustomResourceDefinitions through the real kubectl: a CRD is served as
//! soon as it is accepted (discovery, OpenAPI, REST, printer columns, short
//! names, categories), custom objects are validated, pruned and defaulted by
//! their schema, `/status` and `/scale` work, and deleting the CRD deletes
//! its objects and stops serving them.

use std::path::PathBuf;

use serde_json::Value;

use crate::Cluster;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crd")
        .join(name);
    p.to_string_lossy().into_owned()
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn crd_lifecycle_with_kubectl() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    // Fill kubectl's discovery cache before the CRD exists.
    cluster.ok(&["get", "configmaps"]);
    cluster.ok(&["apply", "-f", &fixture("widgets-crd.yaml")]);

    let crd = json(&cluster.ok(&["get", "crd", "widgets.example.com", "-o", "json"]));
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    for kind in ["NamesAccepted", "Established"] {
        let c = conditions
            .iter()
            .find(|c| c["type"] == kind)
            .unwrap_or_else(|| panic!("{kind} missing: {crd}"));
        assert_eq!(c["status"], "True", "{kind}");
    }
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(crd["status"]["acceptedNames"]["listKind"], "WidgetList");
    assert_eq!(crd["status"]["storedVersions"], serde_json::json!(["v1"]));
    assert!(
        crd["metadata"]["finalizers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "customresourcecleanup.apiextensions.k8s.io")
    );

    // Discovery and OpenAPI serve the new group right away.
    let rl = cluster.raw("/apis/example.com/v1");
    let widgets = rl["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "widgets")
        .expect("widgets served");
    assert_eq!(widgets["shortNames"], serde_json::json!(["wd"]));
    assert!(
        rl["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "widgets/scale")
    );
    let index = cluster.raw("/openapi/v3");
    let url = index["paths"]["apis/example.com/v1"]["serverRelativeURL"]
        .as_str()
        .expect("openapi entry")
        .to_string();
    let doc = cluster.raw(&url);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let widget = schemas
        .values()
        .find(|s| s["x-kubernetes-group-version-kind"][0]["kind"] == "Widget")
        .expect("Widget schema");
    assert_eq!(
        widget["properties"]["spec"]["properties"]["size"]["maximum"],
        10
    );

    let explain = cluster.ok(&["explain", "widgets.spec.size"]);
    assert!(explain.contains("FIELD: size <integer>"), "{explain}");

    // A custom object: defaulted, unknown-preserving where declared.
    cluster.ok(&["apply", "-f", &fixture("widget.yaml")]);
    let w = json(&cluster.ok(&["get", "widget", "w1", "-o", "json"]));
    assert_eq!(w["spec"]["color"], "red", "default applied");
    assert_eq!(w["spec"]["extra"]["anything"], serde_json::json!([1, 2]));
    assert_eq!(w["metadata"]["generation"], 1);

    // Printer columns, short names and categories.
    let table = cluster.ok(&["get", "wd"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        vec!["NAME", "SIZE", "COLOR", "READY", "AGE"],
        "{table}"
    );
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], &["w1", "3", "red"], "{table}");
    assert!(
        row[3].ends_with('s') && row.len() == 4,
        "no READY value yet, AGE is an age: {table}"
    );
    let all = cluster.ok(&["get", "all"]);
    assert!(all.contains("widget.example.com/w1"), "{all}");

    // Status subresource: main writes keep status, /status writes only status.
    cluster.ok(&["patch", "widget", "w1", "--subresource=status", "--type=merge", "-p", r#"{"status":{"replicas":2,"conditions":[{"type":"Ready","status":"True"}]},"spec":{"size":9}}"#]);
    let w = json(&cluster.ok(&["get", "widget", "w1", "-o", "json"]));
    assert_eq!(w["status"]["replicas"], 2);
    assert_eq!(w["spec"]["size"], 3, "a status write does not change spec");
    let table = cluster.ok(&["get", "widgets"]);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row.get(3), Some(&"True"), "{table}");
    cluster.ok(&[
        "patch",
        "widget",
        "w1",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":7},"spec":{"size":4}}"#,
    ]);
    let w = json(&cluster.ok(&["get", "widget", "w1", "-o", "json"]));
    assert_eq!(
        (w["spec"]["size"].as_i64(), w["status"]["replicas"].as_i64()),
        (Some(4), Some(2))
    );

    // Scale subresource.
    cluster.ok(&["scale", "widget", "w1", "--replicas=5"]);
    let w = json(&cluster.ok(&["get", "widget", "w1", "-o", "json"]));
    assert_eq!(w["spec"]["replicas"], 5);

    // Deleting the CRD deletes its objects and stops serving it.
    cluster.ok(&["delete", "crd", "widgets.example.com", "--timeout=30s"]);
    assert!(
        cluster
            .kubectl(&[
                "get",
                "--raw",
                "/apis/example.com/v1/namespaces/default/widgets"
            ])
            .status
            .code()
            != Some(0)
    );
    let err = cluster.fails(&["get", "widgets"]);
    assert!(
        err.contains("the server doesn't have a resource type \"widgets\"")
            || err.contains("could not find the requested resource"),
        "{err}"
    );
    assert!(
        cluster
            .handle()
            .store()
            .get("/registry/example.com/widgets/default/w1")
            .is_none()
    );
}

#[test]
fn custom_objects_are_validated_and_pruned() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.ok(&["apply", "-f", &fixture("widgets-crd.yaml")]);

    let err = cluster.fails(&["apply", "-f", &fixture("widget-invalid.yaml")]);
    for want in [
        "spec.size: Invalid value: 99: spec.size in body should be less than or equal to 10",
        "spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\"",
        "spec.name: Invalid value: \"Not-Lower\": spec.name in body should match '^[a-z]+$'",
        "spec.name: Too long: may not be more than 8 bytes",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }

    let raw = cluster.stdin(&["create", "-f", "-", "--validate=false"], r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"typed"},"spec":{"size":"big"}}"#);
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(err.contains("spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\""), "{err}");
    let raw = cluster.stdin(
        &["create", "-f", "-", "--validate=false"],
        r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"req"},"spec":{}}"#,
    );
    assert!(String::from_utf8_lossy(&raw.stderr).contains("spec.size: Required value"));

    // Strict field validation (kubectl's default) reports unknown fields…
    let err = cluster.fails(&["apply", "-f", &fixture("widget-unknown.yaml")]);
    assert!(err.contains("unknown field \"spec.junk\""), "{err}");
    // … and without it they are pruned.
    cluster.ok(&[
        "apply",
        "--validate=false",
        "-f",
        &fixture("widget-unknown.yaml"),
    ]);
    let w = json(&cluster.ok(&["get", "widget", "w2", "-o", "json"]));
    assert!(w["spec"].get("junk").is_none(), "pruned: {w}");
    assert_eq!(w["spec"]["size"], 2);
}

#[test]
fn invalid_crds_are_rejected() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let err = cluster.fails(&["apply", "-f", &fixture("crd-two-storage.yaml")]);
    assert!(
        err.contains("must have exactly one version marked as storage version"),
        "{err}"
    );
    let err = String::from_utf8_lossy(
        &cluster
            .stdin(
                &["create", "-f", "-"],
                r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"things.example.com"},"spec":{"group":"example.com","scope":"Global","names":{"plural":"things","kind":"Thing"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"properties":{}}}}}}]}}"#,
            )
            .stderr,
    )
    .into_owned();
    assert!(
        err.contains("spec.scope: Unsupported value: \"Global\""),
        "{err}"
    );
    assert!(
        err.contains(
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value"
        ),
        "{err}"
    );
    assert!(
        cluster.raw("/apis")["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "example.com")
    );
}

#[test]
fn versions_are_served_with_none_conversion() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.ok(&["apply", "-f", &fixture("gadgets-two-versions.yaml")]);
    let group = cluster.raw("/apis/example.org");
    assert_eq!(
        group["preferredVersion"]["version"], "v1",
        "GA before beta: {group}"
    );
    assert_eq!(group["versions"][1]["version"], "v1beta1");
    cluster.stdin_ok(
        &["create", "-f", "-"],
        r#"{"apiVersion":"example.org/v1beta1","kind":"Gadget","metadata":{"name":"g"},"spec":{}}"#,
    );
    let v1 = cluster.raw("/apis/example.org/v1/gadgets/g");
    assert_eq!(v1["apiVersion"], "example.org/v1");
    let beta = cluster.raw("/apis/example.org/v1beta1/gadgets/g");
    assert_eq!(beta["apiVersion"], "example.org/v1beta1");
    assert_eq!(beta["metadata"]["uid"], v1["metadata"]["uid"]);
    let list = cluster.raw("/apis/example.org/v1/gadgets");
    assert_eq!(list["items"][0]["apiVersion"], "example.org/v1");
    // An update through the other version is accepted and defaulted by its schema.
    cluster.ok(&[
        "patch",
        "gadgets.v1.example.org",
        "g",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"x":"y"}}}"#,
    ]);
    let v1 = cluster.raw("/apis/example.org/v1/gadgets/g");
    assert_eq!(v1["metadata"]["labels"]["x"], "y");
    assert_eq!(v1["spec"]["mode"], "auto");
}

#[test]
fn custom_objects_follow_namespaces_and_hold_their_crd() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.ok(&["apply", "-f", &fixture("widgets-crd.yaml")]);
    cluster.stdin_ok(
        &["create", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}"#,
    );
    cluster.ok(&["apply", "-n", "team", "-f", &fixture("widget.yaml")]);
    // Deleting the namespace deletes its custom objects.
    cluster.ok(&["delete", "namespace", "team", "--timeout=30s"]);
    assert!(
        cluster
            .handle()
            .store()
            .get("/registry/example.com/widgets/team/w1")
            .is_none()
    );

    // A custom object with a finalizer keeps its CRD terminating until released.
    cluster.stdin_ok(
        &["create", "-f", "-"],
        r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"held","finalizers":["example.com/hold"]},"spec":{"size":1}}"#,
    );
    cluster.ok(&["delete", "crd", "widgets.example.com", "--wait=false"]);
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.metadata.deletionGracePeriodSeconds}=0",
        "widget/held",
        "--timeout=30s",
    ]);
    let crd: Value = json(&cluster.ok(&["get", "crd", "widgets.example.com", "-o", "json"]));
    assert!(crd["metadata"]["deletionTimestamp"].is_string(), "{crd}");
    cluster.ok(&[
        "patch",
        "widget",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    cluster.ok(&[
        "wait",
        "--for=delete",
        "crd/widgets.example.com",
        "--timeout=30s",
    ]);
}

#[test]
fn conflicting_names_are_not_accepted_until_free() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.ok(&["apply", "-f", &fixture("widgets-crd.yaml")]);
    let gizmos = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"gizmos.example.com"},
        "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"gizmos","singular":"gizmo","kind":"Widget","shortNames":["gz"]},
        "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}"#;
    cluster.stdin_ok(&["create", "-f", "-"], gizmos);
    cluster.ok(&[
        "wait",
        "--for=condition=NamesAccepted=False",
        "crd/gizmos.example.com",
        "--timeout=30s",
    ]);
    let crd = json(&cluster.ok(&["get", "crd", "gizmos.example.com", "-o", "json"]));
    let names = crd["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "NamesAccepted")
        .unwrap()
        .clone();
    assert_eq!(names["reason"], "KindConflict");
    assert_eq!(names["message"], "\"Widget\" is already in use");
    let established = crd["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Established")
        .unwrap()
        .clone();
    assert_eq!(established["status"], "False");
    let rl = cluster.raw("/apis/example.com/v1");
    assert!(
        rl["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"] != "gizmos"),
        "{rl}"
    );
    // Once the earlier CRD is gone, the names are free.
    cluster.ok(&["delete", "crd", "widgets.example.com", "--timeout=30s"]);
    cluster.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/gizmos.example.com",
        "--timeout=30s",
    ]);
    let rl = cluster.raw("/apis/example.com/v1");
    assert!(
        rl["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "gizmos"),
        "{rl}"
    );
}

#[test]
fn scale_follows_the_crd_paths_and_root_metadata_is_kept() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.ok(&["apply", "-f", &fixture("pools-scale-paths.yaml")]);
    cluster.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/pools.example.net",
        "--timeout=30s",
    ]);
    cluster.stdin_ok(
        &["create", "-f", "-"],
        r#"{"apiVersion":"example.net/v1","kind":"Pool","metadata":{"name":"p","labels":{"tier":"db"},"annotations":{"note":"kept"}},"spec":{"size":2}}"#,
    );
    // Declared root metadata is not pruned down to its declared `name`.
    let p = json(&cluster.ok(&["get", "pool", "p", "-o", "json"]));
    assert_eq!(p["metadata"]["labels"]["tier"], "db", "{p}");
    assert_eq!(p["metadata"]["annotations"]["note"], "kept", "{p}");

    cluster.ok(&[
        "patch",
        "pool",
        "p",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"running":2,"selector":"app=pool"}}"#,
    ]);
    // Status writes are validated and pruned by the schema too.
    let bad = cluster.fails(&[
        "patch",
        "pool",
        "p",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"running":"many"}}"#,
    ]);
    assert!(bad.contains("status.running"), "{bad}");
    cluster.ok(&[
        "patch",
        "pool",
        "p",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"junk":true}}"#,
    ]);
    let p = json(&cluster.ok(&["get", "pool", "p", "-o", "json"]));
    assert!(p["status"].get("junk").is_none(), "{p}");
    let scale = cluster.raw("/apis/example.net/v1/namespaces/default/pools/p/scale");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 2, "{scale}");
    assert_eq!(scale["status"]["replicas"], 2, "{scale}");
    assert_eq!(scale["status"]["selector"], "app=pool", "{scale}");

    cluster.ok(&["scale", "pool", "p", "--replicas=5"]);
    let p = json(&cluster.ok(&["get", "pool", "p", "-o", "json"]));
    assert_eq!(p["spec"]["size"], 5, "{p}");
    assert!(p["spec"].get("replicas").is_none(), "{p}");
    assert_eq!(p["status"]["running"], 2, "{p}");
}
