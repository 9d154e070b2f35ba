//! Reconciliation end to end: commit → applied, removed → pruned, drift →
//! healed, invalid commit → last good revision kept with a condition,
//! rollback to a history entry, project restrictions and app-of-apps.

use kedge_controller::Outcome;
use serde_json::{Value, json};

use crate::support::{Env, apply};

const CM_A: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  color: blue\n";
const CM_B: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  size: large\n";

fn app(name: &str, repo: &str, path: &str, ns: &str, project: &str) -> Value {
    json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "kedge"},
        "spec": {
            "project": project,
            "source": {"repoURL": repo, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                           "syncOptions": ["CreateNamespace=true"]}
        }
    })
}

async fn reconciled(env: &Env, name: &str) -> Value {
    let outcome = env.controller.reconcile(name).await.expect("reconcile");
    assert!(
        matches!(outcome, Outcome::Reconciled { .. }),
        "{name}: {outcome:?}"
    );
    env.app(name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitops_lifecycle() {
    let env = Env::start().await;
    let first = env.commit(
        &[("app/a.yaml", CM_A), ("app/b.yaml", CM_B)],
        "two config maps",
    );
    apply(
        &env.client,
        &app("demo", &env.repo_url(), "app", "demo", ""),
    )
    .await;

    // Commit → applied.
    let st = reconciled(&env, "demo").await;
    assert_eq!(st["status"]["sync"]["status"], "Synced", "{st:#}");
    assert_eq!(st["status"]["sync"]["revision"], first.as_str());
    assert_eq!(st["status"]["health"]["status"], "Healthy");
    let a = env
        .get("v1", "ConfigMap", "demo", "a")
        .await
        .expect("a applied");
    assert_eq!(a["data"]["color"], "blue");
    assert!(env.get("v1", "ConfigMap", "demo", "b").await.is_some());
    assert_eq!(st["status"]["history"].as_array().unwrap().len(), 1);

    // Commit removing a resource → pruned.
    let second = env.commit(&[("app/b.yaml", "")], "drop b");
    let st = reconciled(&env, "demo").await;
    assert_eq!(st["status"]["sync"]["revision"], second.as_str());
    assert!(
        env.get("v1", "ConfigMap", "demo", "b").await.is_none(),
        "b pruned"
    );
    assert_eq!(st["status"]["sync"]["status"], "Synced");

    // A kubectl-style edit of a managed field → healed.
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(env.client.clone(), "demo");
    cms.patch(
        "a",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": {"color": "red"}})),
    )
    .await
    .unwrap();
    assert_eq!(
        env.get("v1", "ConfigMap", "demo", "a").await.unwrap()["data"]["color"],
        "red"
    );
    let outcome = env.controller.reconcile("demo").await.unwrap();
    assert_eq!(outcome, Outcome::Reconciled { synced: true });
    assert_eq!(
        env.get("v1", "ConfigMap", "demo", "a").await.unwrap()["data"]["color"],
        "blue"
    );

    // An invalid commit → stays on the last good revision with a condition.
    env.commit(
        &[("app/broken.yaml", "kind: [unclosed\n  : - x\n")],
        "bad yaml",
    );
    let outcome = env.controller.reconcile("demo").await.unwrap();
    assert!(
        matches!(outcome, Outcome::Blocked(ref m) if m.contains("broken.yaml")),
        "{outcome:?}"
    );
    let st = env.app("demo").await;
    assert_eq!(st["status"]["sync"]["revision"], second.as_str());
    let conds = st["status"]["conditions"].as_array().expect("conditions");
    assert!(
        conds.iter().any(|c| c["type"] == "ComparisonError"
            && c["message"].as_str().unwrap().contains("broken.yaml")),
        "{conds:?}"
    );
    assert_eq!(
        env.get("v1", "ConfigMap", "demo", "a").await.unwrap()["data"]["color"],
        "blue"
    );

    // Revert → back in sync, condition cleared, b back.
    let fixed = env.commit(&[("app/broken.yaml", ""), ("app/b.yaml", CM_B)], "revert");
    let st = reconciled(&env, "demo").await;
    assert_eq!(st["status"]["sync"]["revision"], fixed.as_str());
    assert!(
        st["status"]
            .get("conditions")
            .is_none_or(|c| c.as_array().unwrap().is_empty()),
        "{st:#}"
    );
    assert!(env.get("v1", "ConfigMap", "demo", "b").await.is_some());

    // Rollback to history entry 1 (the commit that dropped b), manually.
    env.apps()
        .patch(
            "demo",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({
                "spec": {"syncPolicy": null},
                "operation": {"sync": {"revision": second, "prune": true}}
            })),
        )
        .await
        .unwrap();
    let st = reconciled(&env, "demo").await;
    assert_eq!(st["status"]["sync"]["revision"], second.as_str());
    assert!(
        env.get("v1", "ConfigMap", "demo", "b").await.is_none(),
        "rolled back"
    );
    assert!(
        st.get("operation").is_none_or(Value::is_null),
        "operation consumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_blocks_forbidden_namespace() {
    let env = Env::start().await;
    env.commit(&[("app/a.yaml", CM_A)], "cm");
    apply(
        &env.client,
        &json!({
            "apiVersion": "kedge.dev/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "team", "namespace": "kedge"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "team-*"}]}
        }),
    )
    .await;
    apply(
        &env.client,
        &app("bad", &env.repo_url(), "app", "kube-system", "team"),
    )
    .await;
    let outcome = env.controller.reconcile("bad").await.unwrap();
    assert!(
        matches!(outcome, Outcome::Blocked(ref m) if m.contains("kube-system")),
        "{outcome:?}"
    );
    let st = env.app("bad").await;
    assert_eq!(st["status"]["conditions"][0]["type"], "InvalidSpecError");
    assert!(
        env.get("v1", "ConfigMap", "kube-system", "a")
            .await
            .is_none()
    );
    apply(
        &env.client,
        &app("good", &env.repo_url(), "app", "team-a", "team"),
    )
    .await;
    reconciled(&env, "good").await;
    assert!(env.get("v1", "ConfigMap", "team-a", "a").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_of_apps() {
    let env = Env::start().await;
    let mut files = Vec::new();
    let mut children = Vec::new();
    for i in 0..3 {
        let mut child = app(
            &format!("child-{i}"),
            &env.repo_url(),
            "app",
            &format!("ns-{i}"),
            "",
        );
        child
            .as_object_mut()
            .unwrap()
            .get_mut("metadata")
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("namespace");
        children.push((
            format!("apps/child-{i}.json"),
            serde_json::to_string_pretty(&child).unwrap(),
        ));
    }
    for (p, c) in &children {
        files.push((p.as_str(), c.as_str()));
    }
    files.push(("app/a.yaml", CM_A));
    env.commit(&files, "parent and children");
    apply(
        &env.client,
        &app("parent", &env.repo_url(), "apps", "kedge", ""),
    )
    .await;
    let st = reconciled(&env, "parent").await;
    assert_eq!(st["status"]["sync"]["status"], "Synced", "{st:#}");
    for i in 0..3 {
        let name = format!("child-{i}");
        let st = reconciled(&env, &name).await;
        assert_eq!(st["status"]["sync"]["status"], "Synced");
        assert!(
            env.get("v1", "ConfigMap", &format!("ns-{i}"), "a")
                .await
                .is_some()
        );
    }
}
