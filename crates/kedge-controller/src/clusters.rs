//! Destination clusters and repository credentials from the Secrets of the
//! controller namespace ([`crate::secrets`] reads their Argo CD format).
//!
//! `spec.destination` resolves to a [`Destination`]: a client and a sync
//! engine. The in-cluster destination (`https://kubernetes.default.svc`,
//! the name `in-cluster`, or nothing at all) is the controller's own client;
//! any other server or name must be a registered cluster Secret, whose
//! client and engine are built once and reused until that Secret changes.
//! The registry is loaded on first use and reloaded, together with the Git
//! credentials, whenever a labelled Secret changes (a watch per label,
//! coalesced so a burst of Secret writes costs one reload).
//!
//! Credential reloads add and replace entries in the Git cache; a removed
//! repository Secret keeps its credential until the controller restarts
//! (the cache offers no removal).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kedge_git::GitCache;
use kedge_sync::Engine;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use crate::controller::lock;
use crate::error::ControllerError;
use crate::secrets::{self, ClusterSecret, IN_CLUSTER_SERVER, RepositoryKind};
use crate::types::ApplicationDestination;

/// The in-cluster destination's name.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// A resolved destination cluster.
#[derive(Clone)]
pub struct Destination {
    /// Server URL (`https://kubernetes.default.svc` in-cluster).
    pub server: String,
    /// Whether it is the controller's own cluster.
    pub local: bool,
    /// Client of the cluster.
    pub client: kube::Client,
    /// Sync engine bound to it.
    pub engine: Engine,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("server", &self.server)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Registry {
    clusters: Vec<ClusterSecret>,
    built: HashMap<String, Destination>,
}

/// Registered clusters and their clients.
pub(crate) struct Destinations {
    local: Destination,
    namespace: String,
    registry: std::sync::Mutex<Registry>,
    loaded: AtomicBool,
    pub(crate) changed: Notify,
}

impl Destinations {
    pub(crate) fn new(client: kube::Client, engine: Engine, namespace: &str) -> Destinations {
        Destinations {
            local: Destination {
                server: IN_CLUSTER_SERVER.to_string(),
                local: true,
                client,
                engine,
            },
            namespace: namespace.to_string(),
            registry: std::sync::Mutex::new(Registry::default()),
            loaded: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    /// Resolves `spec.destination`.
    pub(crate) async fn resolve(
        &self,
        dest: &ApplicationDestination,
    ) -> Result<Destination, ControllerError> {
        let server = dest.server.trim_end_matches('/');
        if server == IN_CLUSTER_SERVER
            || (server.is_empty() && (dest.name.is_empty() || dest.name == IN_CLUSTER_NAME))
        {
            return Ok(self.local.clone());
        }
        if !self.loaded.load(Ordering::SeqCst) {
            self.reload().await?;
        }
        let mut reg = lock(&self.registry);
        let Some(cluster) = reg
            .clusters
            .iter()
            .find(|c| {
                if server.is_empty() {
                    c.name == dest.name
                } else {
                    c.server.trim_end_matches('/') == server
                }
            })
            .cloned()
        else {
            return Err(ControllerError::Invalid {
                object: "spec.destination".to_string(),
                message: format!(
                    "cluster {} is not registered (no cluster Secret in namespace {})",
                    if server.is_empty() {
                        &dest.name
                    } else {
                        server
                    },
                    self.namespace
                ),
            });
        };
        if cluster.server.trim_end_matches('/') == IN_CLUSTER_SERVER {
            return Ok(self.local.clone());
        }
        if let Some(d) = reg.built.get(&cluster.server) {
            return Ok(d.clone());
        }
        let client = secrets::cluster_client(&cluster)?;
        let d = Destination {
            server: cluster.server.clone(),
            local: false,
            engine: Engine::new(client.clone()),
            client,
        };
        reg.built.insert(cluster.server.clone(), d.clone());
        Ok(d)
    }

    /// Reads the cluster Secrets again; clients of changed clusters are
    /// rebuilt on next use.
    pub(crate) async fn reload(&self) -> Result<(), ControllerError> {
        let clusters = secrets::list_clusters(&self.local.client, &self.namespace).await?;
        let mut reg = lock(&self.registry);
        let keep: Vec<String> = reg
            .built
            .keys()
            .filter(|server| {
                let old = reg.clusters.iter().find(|c| &c.server == *server);
                let new = clusters.iter().find(|c| &c.server == *server);
                old.is_some() && old == new
            })
            .cloned()
            .collect();
        reg.built.retain(|k, _| keep.contains(k));
        reg.clusters = clusters;
        self.loaded.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Loads repository credentials into the Git cache (templates first, so an
/// exact repository entry wins over a template of the same URL).
pub(crate) async fn load_credentials(
    client: &kube::Client,
    namespace: &str,
    cache: &GitCache,
) -> Result<usize, ControllerError> {
    let mut repos = secrets::list_repositories(client, namespace).await?;
    repos.sort_by_key(|r| r.kind == RepositoryKind::Repository);
    let mut n = 0;
    for repo in &repos {
        if let Some(cred) = repo.credential() {
            match cache.set_credential(&repo.url, cred) {
                Ok(()) => n += 1,
                Err(e) => {
                    warn!(secret = %repo.secret_name, error = %e, "skipping repository secret")
                }
            }
        }
    }
    Ok(n)
}

/// Watches the labelled Secrets and reloads credentials and clusters after
/// each burst of changes, until dropped.
pub(crate) async fn watch_secrets(
    client: kube::Client,
    namespace: String,
    cache: Arc<GitCache>,
    destinations: Arc<Destinations>,
) {
    let wake = Arc::new(Notify::new());
    let mut watchers = Vec::new();
    for label in [
        secrets::ARGOCD_SECRET_TYPE_LABEL,
        secrets::KEDGE_SECRET_TYPE_LABEL,
    ] {
        let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
        let wake = wake.clone();
        watchers.push(AbortOnDrop(tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default().labels(label)).default_backoff();
            let mut stream = std::pin::pin!(stream);
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_))
                    | Ok(watcher::Event::InitDone) => wake.notify_one(),
                    Ok(_) => {}
                    Err(e) => debug!(error = %e, "secret watch"),
                }
            }
        })));
    }
    loop {
        wake.notified().await;
        // Coalesce a burst of Secret writes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        match load_credentials(&client, &namespace, &cache).await {
            Ok(n) => info!(credentials = n, "repository credentials loaded"),
            Err(e) => warn!(error = %e, "loading repository credentials"),
        }
        match destinations.reload().await {
            Ok(()) => destinations.changed.notify_waiters(),
            Err(e) => warn!(error = %e, "loading cluster secrets"),
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
