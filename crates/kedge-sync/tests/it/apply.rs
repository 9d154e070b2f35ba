//! Client-side apply (`ServerSideApply=false`) of built-in kinds against
//! the real `kubectl apply`: the same three steps (create, an out-of-band
//! change, a new revision that drops a container and an env var) in two
//! namespaces give the same live spec and the same last-applied
//! configuration. And a diff before `CreateNamespace` has created the
//! destination namespace compares against nothing instead of failing,
//! without writing.

use std::path::Path;
use std::process::Command;

use k8s_openapi::api::core::v1::Namespace;
use kedge_sync::engine::{Engine, SyncRequest};
use kedge_sync::state::{MemoryPersist, OperationPhase};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::cluster::Cluster;

const KUBECTL: &str = "/usr/bin/kubectl";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn deployment(image: &str, sidecar: bool, extra_env: bool) -> Value {
    let mut env = vec![json!({"name": "MODE", "value": "web"})];
    if extra_env {
        env.push(json!({"name": "DEBUG", "value": "1"}));
    }
    let mut containers = vec![json!({
        "name": "app", "image": image, "env": env,
        "ports": [{"containerPort": 8080, "name": "http"}]
    })];
    if sidecar {
        containers.push(json!({"name": "sidecar", "image": "example.com/proxy:1"}));
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": containers}}}})
}

fn kubectl_apply(kubeconfig: &Path, ns: &str, obj: &Value, dir: &Path) {
    let file = dir.join("obj.json");
    std::fs::write(&file, serde_json::to_vec_pretty(obj).unwrap()).unwrap();
    let out = Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", "-n", ns, "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The parts both tools must agree on.
fn comparable(live: &DynamicObject) -> (Value, Value, Value) {
    let v = serde_json::to_value(live).unwrap();
    let mut last: Value =
        serde_json::from_str(v["metadata"]["annotations"][LAST_APPLIED].as_str().unwrap()).unwrap();
    // Only the namespace and Kedge's tracking annotation differ by design.
    if let Some(m) = last["metadata"].as_object_mut() {
        m.remove("namespace");
        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
            a.retain(|k, _| !k.starts_with("kedge.dev/") && !k.starts_with("argocd.argoproj.io/"));
            if a.is_empty() {
                m.remove("annotations");
            }
        }
    }
    (v["spec"].clone(), v["metadata"]["labels"].clone(), last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_matches_kubectl_apply() {
    if !Path::new(KUBECTL).exists() {
        println!("skipping: {KUBECTL} not installed");
        return;
    }
    let cluster = Cluster::start_with(false).await;
    let kubeconfig = cluster
        .handle
        .as_ref()
        .unwrap()
        .kubeconfig_path()
        .to_owned();
    let tmp = tempfile::tempdir().unwrap();
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    for ns in ["by-kubectl", "by-kedge"] {
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .unwrap();
    }
    let engine = Engine::new(cluster.client.clone());
    let ar = ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&());
    let api =
        |ns: &str| -> Api<DynamicObject> { Api::namespaced_with(cluster.client.clone(), ns, &ar) };
    let sync = |obj: Value, id: &str| {
        let mut req = SyncRequest::new("csa", id, "by-kedge", vec![obj]);
        req.options = kedge_sync::SyncOptions::parse(["ServerSideApply=false"]).unwrap();
        req
    };

    // 1. Create.
    let v1 = deployment("example.com/web:1", true, true);
    kubectl_apply(&kubeconfig, "by-kubectl", &v1, tmp.path());
    let st = engine
        .sync(&sync(v1, "op-1"), &MemoryPersist::default())
        .await
        .unwrap();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{st:#?}");
    let (a, b) = (
        api("by-kubectl").get("web").await.unwrap(),
        api("by-kedge").get("web").await.unwrap(),
    );
    assert_eq!(comparable(&a), comparable(&b));

    // 2. Someone else adds an env var and a label (strategic merge).
    let theirs = json!({"metadata": {"labels": {"team": "theirs"}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "INJECTED", "value": "yes"}]}]}}}});
    for ns in ["by-kubectl", "by-kedge"] {
        api(ns)
            .patch("web", &PatchParams::default(), &Patch::Strategic(&theirs))
            .await
            .unwrap();
    }

    // 3. A new revision: new image, no sidecar, DEBUG dropped.
    let v2 = deployment("example.com/web:2", false, false);
    kubectl_apply(&kubeconfig, "by-kubectl", &v2, tmp.path());
    let st = engine
        .sync(&sync(v2, "op-2"), &MemoryPersist::default())
        .await
        .unwrap();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{st:#?}");
    let (a, b) = (
        api("by-kubectl").get("web").await.unwrap(),
        api("by-kedge").get("web").await.unwrap(),
    );
    let (spec, labels, last) = comparable(&b);
    assert_eq!((spec.clone(), labels.clone(), last), comparable(&a));
    // What that means, spelled out: three-way semantics on a merge-keyed list.
    let containers = spec["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{spec}");
    assert_eq!(containers[0]["image"], "example.com/web:2");
    let env: Vec<&str> = containers[0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"MODE") && env.contains(&"INJECTED") && !env.contains(&"DEBUG"),
        "{env:?}"
    );
    assert_eq!(labels["team"], "theirs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_before_create_namespace_compares_against_nothing() {
    let cluster = Cluster::start_with(false).await;
    let engine = Engine::new(cluster.client.clone());
    let mut req = SyncRequest::new(
        "fresh",
        "op-1",
        "not-yet",
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}}),
            deployment("example.com/web:1", false, false),
        ],
    );
    req.options = kedge_sync::SyncOptions::parse(["CreateNamespace=true"]).unwrap();
    let before = cluster.revision();
    let diffs = engine.diff(&req).await.unwrap();
    assert_eq!(cluster.revision(), before, "a diff must not write");
    assert_eq!(diffs.len(), 2);
    for d in &diffs {
        assert!(d.modified && d.missing, "{}", d.key);
        assert_eq!(d.key.namespace, "not-yet");
    }
    // Without CreateNamespace the missing namespace is an error.
    req.options = Default::default();
    assert!(engine.diff(&req).await.is_err());
    req.options = kedge_sync::SyncOptions::parse(["CreateNamespace=true"]).unwrap();
    let st = engine.sync(&req, &MemoryPersist::default()).await.unwrap();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{st:#?}");
    let diffs = engine.diff(&req).await.unwrap();
    assert!(diffs.iter().all(|d| !d.modified), "{diffs:#?}");
}
