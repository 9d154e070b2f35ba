//! The embedded control plane for engine tests: started in-process on
//! 127.0.0.1:0 in a temporary data directory, reached through a real
//! kube-rs client built from its kubeconfig; shut down when dropped. Also a
//! ConfigMap-backed [`Persist`] and a global tracing capture.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use k8s_openapi::api::core::v1::ConfigMap;
use kedge_apiserver::{ApiServer, Config, Handle};
use kedge_sync::SyncError;
use kedge_sync::state::{Persist, SyncState};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

/// A running server; its tasks stop when the test runtime ends, and the
/// data directory is removed on drop.
pub(crate) struct Cluster {
    pub(crate) handle: Option<Handle>,
    pub(crate) client: kube::Client,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub(crate) async fn start() -> Cluster {
        Cluster::start_with(true).await
    }

    pub(crate) async fn start_with(simulator: bool) -> Cluster {
        capture();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.simulator = simulator;
        let handle = ApiServer::start(config).await.expect("server starts");
        let kubeconfig =
            kube::config::Kubeconfig::read_from(handle.kubeconfig_path()).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("client config");
        let client = kube::Client::try_from(cfg).expect("client");
        Cluster {
            handle: Some(handle),
            client,
            _dir: dir,
        }
    }

    pub(crate) fn revision(&self) -> String {
        format!(
            "{:?}",
            self.handle.as_ref().unwrap().store().current_revision()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            // Shut down in the background of the (still running) runtime.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(h.shutdown());
            }
        }
    }
}

/// Operation state in a ConfigMap (`data.state`), as the controller keeps it
/// in the Application's status.
pub(crate) struct ConfigMapPersist {
    api: Api<ConfigMap>,
    name: String,
    /// Called with every saved state (tests interrupt syncs from here).
    pub(crate) on_save: Mutex<Option<Box<dyn Fn(&SyncState) + Send + Sync>>>,
}

impl ConfigMapPersist {
    pub(crate) fn new(client: &kube::Client, namespace: &str, name: &str) -> ConfigMapPersist {
        ConfigMapPersist {
            api: Api::namespaced(client.clone(), namespace),
            name: name.to_string(),
            on_save: Mutex::new(None),
        }
    }
}

impl Persist for ConfigMapPersist {
    async fn load(&self) -> Result<Option<SyncState>, SyncError> {
        let cm = self
            .api
            .get_opt(&self.name)
            .await
            .map_err(|e| SyncError::Persist(e.to_string()))?;
        let Some(text) = cm
            .and_then(|c| c.data)
            .and_then(|d| d.get("state").cloned())
        else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| SyncError::Persist(e.to_string()))
    }

    async fn save(&self, state: &SyncState) -> Result<(), SyncError> {
        let body = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": self.name},
            "data": {"state": serde_json::to_string(state).unwrap()}
        });
        self.api
            .patch(
                &self.name,
                &PatchParams::apply("kedge-test").force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|e| SyncError::Persist(e.to_string()))?;
        if let Some(f) = self.on_save.lock().unwrap().as_ref() {
            f(state);
        }
        Ok(())
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static CAPTURE: OnceLock<Buffer> = OnceLock::new();

/// Installs (once) a global subscriber capturing `kedge_sync` logs at
/// debug level.
pub(crate) fn capture() {
    CAPTURE.get_or_init(|| {
        let buf = Buffer::default();
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("kedge_sync=debug"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        buf
    });
}

/// Everything logged so far.
pub(crate) fn captured_logs() -> String {
    String::from_utf8_lossy(&CAPTURE.get().expect("capture installed").0.lock().unwrap())
        .into_owned()
}
