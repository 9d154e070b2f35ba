//! Namespace lifecycle: system namespaces and defaults on a fresh cluster,
//! per-namespace defaults, termination that empties the namespace (waiting
//! for finalizers) and refuses new content.

use crate::Cluster;

#[test]
fn fresh_cluster_has_system_namespaces_and_defaults() {
    let Some(c) = Cluster::start() else { return };
    let out = c.ok(&["get", "ns", "-o", "name"]);
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(out.contains(&format!("namespace/{ns}")), "{out}");
    }
    assert_eq!(
        c.ok(&["get", "svc", "kubernetes", "-o", "name"]).trim(),
        "service/kubernetes"
    );
    assert_eq!(
        c.ok(&["get", "sa", "default", "-n", "kube-system", "-o", "name"])
            .trim(),
        "serviceaccount/default"
    );
    let ns = c.raw("/api/v1/namespaces/default");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "default"
    );
    assert_eq!(ns["status"]["phase"], "Active");
    let err = c.fails(&["delete", "ns", "default"]);
    assert!(err.contains("forbidden"), "{err}");
}

#[test]
fn namespace_lifecycle() {
    let Some(c) = Cluster::start() else { return };
    c.stdin_ok(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
    );
    // Defaults appear (kubectl wait uses a watch, no sleeps).
    c.ok(&[
        "wait",
        "--for=create",
        "sa/default",
        "-n",
        "team",
        "--timeout=20s",
    ]);
    c.ok(&[
        "wait",
        "--for=create",
        "cm/kube-root-ca.crt",
        "-n",
        "team",
        "--timeout=20s",
    ]);
    let held = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: team, finalizers: [example.com/hold]}\n";
    c.stdin_ok(&["create", "-f", "-"], held);
    c.stdin_ok(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: free, namespace: team}\n",
    );

    c.ok(&["delete", "ns", "team", "--wait=false"]);
    let ns = c.raw("/api/v1/namespaces/team");
    assert_eq!(ns["status"]["phase"], "Terminating");
    // New content is refused while terminating.
    let out = c.stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late, namespace: team}\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("because it is being terminated"), "{err}");
    // Objects without finalizers go; the held one waits with a deletionTimestamp.
    c.ok(&[
        "wait",
        "--for=delete",
        "cm/free",
        "-n",
        "team",
        "--timeout=20s",
    ]);
    let held_obj = c.raw("/api/v1/namespaces/team/configmaps/held");
    assert!(held_obj["metadata"]["deletionTimestamp"].is_string());
    // Dropping the finalizer lets everything finish.
    c.ok(&[
        "patch",
        "cm",
        "held",
        "-n",
        "team",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    c.ok(&["wait", "--for=delete", "ns/team", "--timeout=30s"]);
    assert!(c.fails(&["get", "ns", "team"]).contains("not found"));
}
