//! Deletion and garbage collection through kubectl: finalizers hold objects
//! with a deletionTimestamp; background, foreground and orphan propagation;
//! dependents of missing owners are collected. Every wait is kubectl's own
//! watch-based `wait --for=delete` or a condition, never a sleep.

use serde_json::{Value, json};

use crate::Cluster;

fn uid(cluster: &Cluster, kind: &str, name: &str) -> String {
    let v: Value = serde_json::from_str(&cluster.ok(&["get", kind, name, "-o", "json"])).unwrap();
    v["metadata"]["uid"].as_str().unwrap().to_string()
}

fn dependent(name: &str, owner: &str, owner_uid: &str, block: bool, finalizers: &[&str]) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "finalizers": finalizers,
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": owner_uid, "blockOwnerDeletion": block}],
        },
        "data": {"k": "v"},
    })
    .to_string()
}

fn owner(cluster: &Cluster, name: &str) -> String {
    cluster.stdin_ok(
        &["create", "-f", "-"],
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}).to_string(),
    );
    uid(cluster, "configmap", name)
}

fn get(cluster: &Cluster, name: &str) -> Value {
    serde_json::from_str(&cluster.ok(&["get", "configmap", name, "-o", "json"])).unwrap()
}

#[test]
fn background_deletes_dependents_after_the_owner() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let u = owner(&cluster, "bg-owner");
    cluster.stdin_ok(
        &["create", "-f", "-"],
        &dependent("bg-dep", "bg-owner", &u, false, &[]),
    );
    cluster.ok(&["delete", "configmap", "bg-owner"]);
    cluster.ok(&["wait", "--for=delete", "configmap/bg-dep", "--timeout=30s"]);
}

#[test]
fn foreground_waits_for_blocking_dependents() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let u = owner(&cluster, "fg-owner");
    cluster.stdin_ok(
        &["create", "-f", "-"],
        &dependent("fg-dep", "fg-owner", &u, true, &["example.com/hold"]),
    );
    cluster.ok(&[
        "delete",
        "configmap",
        "fg-owner",
        "--cascade=foreground",
        "--wait=false",
    ]);
    // The dependent is being deleted but held by its finalizer …
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.metadata.deletionGracePeriodSeconds}=0",
        "configmap/fg-dep",
        "--timeout=30s",
    ]);
    assert!(get(&cluster, "fg-dep")["metadata"]["deletionTimestamp"].is_string());
    // … so the owner stays, marked, with the foreground finalizer.
    let o = get(&cluster, "fg-owner");
    assert!(o["metadata"]["deletionTimestamp"].is_string(), "{o}");
    assert_eq!(o["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    // Releasing the dependent lets both go.
    cluster.ok(&[
        "patch",
        "configmap",
        "fg-dep",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    cluster.ok(&[
        "wait",
        "--for=delete",
        "configmap/fg-dep",
        "configmap/fg-owner",
        "--timeout=30s",
    ]);
}

#[test]
fn orphan_keeps_dependents_without_owner_references() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let u = owner(&cluster, "or-owner");
    cluster.stdin_ok(
        &["create", "-f", "-"],
        &dependent("or-dep", "or-owner", &u, true, &[]),
    );
    cluster.ok(&["delete", "configmap", "or-owner", "--cascade=orphan"]);
    cluster.ok(&[
        "wait",
        "--for=delete",
        "configmap/or-owner",
        "--timeout=30s",
    ]);
    let dep = get(&cluster, "or-dep");
    assert!(dep["metadata"].get("ownerReferences").is_none(), "{dep}");
    assert!(dep["metadata"].get("deletionTimestamp").is_none());

    // The legacy orphanDependents option means the same.
    let u = owner(&cluster, "or-owner2");
    cluster.stdin_ok(
        &["create", "-f", "-"],
        &dependent("or-dep2", "or-owner2", &u, false, &[]),
    );
    let status = cluster.ok(&[
        "delete",
        "--raw",
        "/api/v1/namespaces/default/configmaps/or-owner2?orphanDependents=true",
    ]);
    assert!(status.contains("or-owner2"), "{status}");
    cluster.ok(&[
        "wait",
        "--for=delete",
        "configmap/or-owner2",
        "--timeout=30s",
    ]);
    assert!(
        get(&cluster, "or-dep2")["metadata"]
            .get("ownerReferences")
            .is_none()
    );
}

#[test]
fn dependents_of_missing_owners_are_collected() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stdin_ok(
        &["create", "-f", "-"],
        &dependent(
            "orphaned",
            "ghost",
            "00000000-0000-0000-0000-000000000000",
            false,
            &[],
        ),
    );
    cluster.ok(&[
        "wait",
        "--for=delete",
        "configmap/orphaned",
        "--timeout=30s",
    ]);
    // With one live owner left, only the dangling reference is dropped.
    let u = owner(&cluster, "alive");
    let two = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "00000000-0000-0000-0000-000000000001"},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "alive", "uid": u},
    ]}});
    cluster.stdin_ok(&["create", "-f", "-"], &two.to_string());
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.metadata.ownerReferences[0].name}=alive",
        "configmap/two",
        "--timeout=30s",
    ]);
    assert_eq!(
        get(&cluster, "two")["metadata"]["ownerReferences"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn finalizers_hold_objects_until_removed() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stdin_ok(&["create", "-f", "-"], r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/keep"]}}"#);
    cluster.ok(&["delete", "configmap", "held", "--wait=false"]);
    let held = get(&cluster, "held");
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    let err = cluster.fails(&[
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/keep","example.com/more"]}}"#,
    ]);
    assert!(
        err.contains("no new finalizers can be added if the object is being deleted"),
        "{err}"
    );
    cluster.ok(&[
        "patch",
        "configmap",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    cluster.ok(&["wait", "--for=delete", "configmap/held", "--timeout=30s"]);
}

#[test]
fn deleting_a_deployment_collects_its_replicasets() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stdin_ok(&["apply", "-f", "-"], crate::simulator::DEPLOYMENT);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    let rs = cluster.ok(&["get", "rs", "-l", "app=web", "-o", "name"]);
    let rs = rs.trim().to_string();
    assert!(rs.starts_with("replicaset.apps/web-"), "{rs}");
    cluster.ok(&["delete", "deployment", "web", "--cascade=foreground"]);
    let left = cluster.ok(&["get", "rs", "-l", "app=web", "-o", "name"]);
    assert!(
        left.trim().is_empty(),
        "foreground deletion returns after the ReplicaSet is gone: {left}"
    );
}
