//! Watch-driven self-heal: with the controller running, an edit of a
//! managed field is reverted without anyone calling `reconcile`, repeated
//! heals back off, and status-only changes of a managed workload (its
//! health) reach the Application.

use std::time::{Duration, Instant};

use kedge_controller::HealBackoff;
use serde_json::json;

use crate::support::{Env, Running, apply, eventually};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  color: blue\n";

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n";

pub(crate) fn app(name: &str, repo: &str, path: &str, ns: &str) -> serde_json::Value {
    json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "kedge"},
        "spec": {
            "source": {"repoURL": repo, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                           "syncOptions": ["CreateNamespace=true"]}
        }
    })
}

/// Waits until `name` is Synced at `sha`.
pub(crate) async fn synced_at(env: &Env, name: &str, sha: &str) {
    eventually(60, &format!("{name} synced at {sha}"), || async {
        let st = env.apps().get_opt(name).await.ok().flatten()?;
        let st = serde_json::to_value(st).ok()?;
        (st["status"]["sync"]["status"] == "Synced" && st["status"]["sync"]["revision"] == sha)
            .then_some(())
    })
    .await;
}

async fn color(env: &Env) -> Option<String> {
    env.get("v1", "ConfigMap", "heal", "a")
        .await
        .and_then(|cm| cm["data"]["color"].as_str().map(str::to_string))
}

async fn edit(env: &Env, value: &str) {
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(env.client.clone(), "heal");
    cms.patch(
        "a",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": {"color": value}})),
    )
    .await
    .expect("edit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_of_a_managed_field_is_reverted_by_the_watch() {
    let env = Env::start_with(|cc| {
        cc.resync = Duration::from_secs(3600);
        cc.full_resync = Duration::ZERO;
        cc.self_heal_backoff = HealBackoff {
            base: Duration::from_secs(1),
            factor: 3,
            max: Duration::from_secs(60),
        };
    })
    .await;
    let sha = env.commit(&[("app/a.yaml", CM)], "config map");
    let _running = Running::start(&env.controller);
    apply(&env.client, &app("heal", &env.repo_url(), "app", "heal")).await;
    synced_at(&env, "heal", &sha).await;
    assert_eq!(color(&env).await.as_deref(), Some("blue"));

    // First drift: healed at once.
    let t0 = Instant::now();
    edit(&env, "red").await;
    eventually(20, "first heal", || async {
        (color(&env).await.as_deref() == Some("blue")).then_some(())
    })
    .await;
    let first = t0.elapsed();
    println!("self-heal latency: {first:?}");
    assert!(first < Duration::from_secs(5), "heal took {first:?}");

    // Second drift right after: healed only once the backoff (1 s) passed.
    let t1 = Instant::now();
    edit(&env, "green").await;
    eventually(30, "second heal", || async {
        (color(&env).await.as_deref() == Some("blue")).then_some(())
    })
    .await;
    let second = t1.elapsed();
    println!("second self-heal after {second:?}");
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "second heal ignored the backoff"
    );
    synced_at(&env, "heal", &sha).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_health_reaches_the_application_without_a_reconcile_call() {
    let env = Env::start_with(|cc| {
        cc.resync = Duration::from_secs(3600);
        cc.full_resync = Duration::ZERO;
    })
    .await;
    let sha = env.commit(&[("web/deploy.yaml", DEPLOY)], "deployment");
    let _running = Running::start(&env.controller);
    apply(&env.client, &app("web", &env.repo_url(), "web", "web")).await;
    synced_at(&env, "web", &sha).await;
    // The simulator rolls the Deployment out by status updates only; the
    // Deployment watch carries them to the Application.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = env.app("web").await;
        if st["status"]["health"]["status"] == "Healthy" {
            break;
        }
        if Instant::now() > deadline {
            let d = env.get("apps/v1", "Deployment", "web", "web").await;
            panic!("never healthy: {:#} {d:#?}", st["status"]);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deploy = env
        .get("apps/v1", "Deployment", "web", "web")
        .await
        .expect("deployment");
    assert_eq!(deploy["status"]["readyReplicas"], 2, "{deploy:#}");
}
