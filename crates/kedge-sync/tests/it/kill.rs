//! A sync interrupted by killing the process that runs it: a child process
//! (this test binary, re-run on one ignored test) syncs three waves against
//! the embedded control plane of the parent, persisting the operation state
//! in a ConfigMap; once wave 0 is recorded complete the parent SIGKILLs it,
//! edits the wave-0 object, and resumes the same operation itself. Wave 0
//! is not re-applied, the later waves are, and the operation succeeds.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kedge_sync::engine::{Engine, SyncRequest};
use kedge_sync::state::{OperationPhase, SyncState};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::cluster::{Cluster, ConfigMapPersist};

const CHILD_ENV: &str = "KEDGE_SYNC_TEST_CHILD_KUBECONFIG";
const STATE: &str = "killed-op-state";

fn cm(name: &str, wave: i64) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "annotations": {"kedge.dev/sync-wave": wave.to_string()}},
           "data": {"k": name}})
}

fn request(slow: bool) -> SyncRequest {
    let mut ann = json!({"kedge.dev/sync-wave": "1"});
    if slow {
        ann["kedge.dev/simulate"] = json!("progressing");
    }
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "slow", "annotations": ann},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "slow"}},
                 "template": {"metadata": {"labels": {"app": "slow"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
    let mut r = SyncRequest::new(
        "killed",
        "op-1",
        "default",
        vec![cm("first", 0), dep, cm("last", 2)],
    );
    r.wave_timeout = Duration::from_secs(120);
    r
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child's side: runs the sync until it is killed. Only meaningful
/// when started by `a_killed_sync_process_is_resumed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "started as a child process by a_killed_sync_process_is_resumed"]
async fn child_runs_a_sync_until_killed() {
    let path = std::env::var(CHILD_ENV).expect("started by the parent test");
    let kubeconfig = kube::config::Kubeconfig::read_from(path).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    let persist = ConfigMapPersist::new(&client, "default", STATE);
    let st = Engine::new(client).sync(&request(true), &persist).await;
    panic!("the sync was expected to be killed, it ended with {st:?}");
}

fn saved_steps(cm: Option<&ConfigMap>) -> Vec<String> {
    cm.and_then(|c| c.data.as_ref())
        .and_then(|d| d.get("state"))
        .and_then(|s| serde_json::from_str::<SyncState>(s).ok())
        .map(|s| s.completed_steps)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_process_is_resumed() {
    let cluster = Cluster::start().await;
    let kubeconfig = cluster
        .handle
        .as_ref()
        .unwrap()
        .kubeconfig_path()
        .to_owned();
    let mut child = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "kill::child_runs_a_sync_until_killed",
            ])
            .env(CHILD_ENV, &kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    // Wait (watch-driven) until the child has recorded wave 0 as complete.
    tokio::time::timeout(
        Duration::from_secs(120),
        kube::runtime::wait::await_condition(cms.clone(), STATE, |c: Option<&ConfigMap>| {
            saved_steps(c).iter().any(|s| s == "Sync/0")
        }),
    )
    .await
    .expect("the child completes wave 0")
    .unwrap();
    // SIGKILL: no destructor, no final state write.
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    assert!(!status.success());
    let persist = ConfigMapPersist::new(&cluster.client, "default", STATE);
    let saved = kedge_sync::Persist::load(&persist).await.unwrap().unwrap();
    assert_eq!(saved.phase, OperationPhase::Running);
    assert_eq!(saved.completed_steps, vec!["Sync/0"]);
    assert!(
        cms.get_opt("last").await.unwrap().is_none(),
        "wave 2 ran early"
    );

    cms.patch(
        "first",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"k": "edited"}})),
    )
    .await
    .unwrap();
    let engine = Engine::new(cluster.client.clone());
    let st = engine.sync(&request(false), &persist).await.unwrap();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{st:#?}");
    assert_eq!(st.completed_steps, vec!["Sync/0", "Sync/1", "Sync/2"]);
    let first = cms.get("first").await.unwrap();
    assert_eq!(first.data.unwrap()["k"], "edited", "wave 0 was re-applied");
    assert!(cms.get_opt("last").await.unwrap().is_some());
}
