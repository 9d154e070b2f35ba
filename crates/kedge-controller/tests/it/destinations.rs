//! Destination clusters: an unregistered server blocks the application with
//! a condition naming it; once a cluster Secret registers it (here the
//! embedded server under its own URL, CA and token), the running controller
//! reloads the registry and deploys through that cluster's client.

use std::time::Duration;

use kedge_controller::Outcome;
use kedge_controller::secrets::{self, ClusterConfig, ClusterSecret, TlsClientConfig};
use kedge_git::Redacted;
use serde_json::json;

use crate::support::{Env, Running, apply, eventually};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\ndata:\n  k: v\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_cluster_destination_needs_a_cluster_secret() {
    let env = Env::start_with(|cc| {
        cc.resync = Duration::from_secs(3600);
        cc.full_resync = Duration::ZERO;
    })
    .await;
    let handle = env.handle.as_ref().unwrap();
    let kc = kube::config::Kubeconfig::read_from(handle.kubeconfig_path()).unwrap();
    let cluster = kc.clusters[0].cluster.clone().unwrap();
    let server = cluster.server.clone().unwrap();
    let sha = env.commit(&[("remote/cm.yaml", CM)], "remote");
    let app = json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "far", "namespace": "kedge"},
        "spec": {
            "source": {"repoURL": env.repo_url(), "targetRevision": "main", "path": "remote"},
            "destination": {"name": "edge-1", "namespace": "far"},
            "syncPolicy": {"automated": {"prune": true},
                           "syncOptions": ["CreateNamespace=true"]}
        }
    });
    apply(&env.client, &app).await;

    // Not registered: blocked, with the cluster named.
    match env.controller.reconcile("far").await.expect("reconcile") {
        Outcome::Blocked(msg) => assert!(msg.contains("edge-1"), "{msg}"),
        other => panic!("expected blocked, got {other:?}"),
    }
    let st = env.app("far").await;
    let cond = &st["status"]["conditions"][0];
    assert_eq!(cond["type"], "ComparisonError", "{st:#}");
    assert!(env.get("v1", "ConfigMap", "far", "remote").await.is_none());

    // Registered while the controller runs: the Secret watch reloads the
    // registry and the next reconcile deploys through the new client.
    let _running = Running::start(&env.controller);
    let edge = ClusterSecret {
        name: "edge-1".into(),
        server: server.clone(),
        config: ClusterConfig {
            bearer_token: Some(Redacted::secret(handle.token().to_string())),
            tls_client_config: TlsClientConfig {
                ca_data: cluster
                    .certificate_authority_data
                    .clone()
                    .unwrap_or_default(),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    apply(&env.client, &secrets::cluster_secret("kedge", &edge)).await;
    // Ask for a refresh so the blocked app is reconciled now.
    env.apps()
        .patch(
            "far",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"annotations": {"kedge.dev/refresh": "normal"}}}),
            ),
        )
        .await
        .unwrap();
    eventually(30, "far synced", || async {
        let st = env.app("far").await;
        (st["status"]["sync"]["status"] == "Synced" && st["status"]["sync"]["revision"] == sha)
            .then_some(())
    })
    .await;
    let cm = env
        .get("v1", "ConfigMap", "far", "remote")
        .await
        .expect("deployed through the registered cluster");
    assert_eq!(cm["data"]["k"], "v");
    let st = env.app("far").await;
    assert!(
        st["status"]["conditions"].as_array().unwrap().is_empty(),
        "{st:#}"
    );
}
