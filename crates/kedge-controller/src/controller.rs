//! The Application reconciler and the machinery that decides when it runs.
//!
//! One reconciliation of an Application: check its project, resolve the
//! target revision in the Git cache, render the commit (or take the render
//! of the same repository, commit and source spec from the render cache),
//! compare the result with the cluster through the sync engine's
//! server-side dry run, and, when the sync policy or a requested operation
//! says so, sync. The status (sync, health, resources, conditions, operation
//! state, inventory, history) is written back to the Application; that
//! status is the only memory the controller has, so a restarted controller
//! continues where the last one stopped.
//!
//! Automated sync follows Argo CD: one attempt per revision; a revision whose
//! sync failed is not retried unless self-heal is on, and drift of an
//! already-synced revision is corrected only with self-heal. Repeated
//! self-heals of one application back off exponentially (2 s, 6 s, 18 s, …
//! up to 5 minutes by default) and the count resets once the application
//! stays in sync. An invalid commit (a render error) leaves the cluster and
//! `status.sync.revision` on the last good revision and records a
//! `ComparisonError` condition.
//!
//! A sync that reaches objects marked `Prune=confirm` pauses before
//! deleting them: the operation stays `Running` with a message naming
//! them, a `PruneConfirmationRequired` condition and an Event are recorded,
//! and nothing re-runs it (not even self-heal) until it is confirmed by a
//! `deletion-approved` annotation newer than the operation or by a
//! requested sync with `prune: true`. The same operation then resumes
//! from the engine state kept in `status.operationState.syncResult`.
//!
//! [`Controller::run`] drives reconciles through a rate-limited
//! [`WorkQueue`] served by `workers` concurrent workers (one application is
//! never reconciled twice at once). Triggers: the Application watch (spec,
//! operation, refresh and deletion-approved annotations and deletion
//! changes; status writes do not trigger), watches of the managed objects
//! ([`crate::live`]), Git polls per repository and push webhooks
//! ([`crate::triggers`]), and a rare full
//! resync. With leader election on, all of this runs only while the
//! controller holds the `kedge-controller` Lease ([`crate::leader`]).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, ObjectReference};
use kedge_git::{CacheConfig, CredentialStore, GitCache, RepoUrl, WebhookConfig};
use kedge_sync::{
    DELETION_APPROVED_ANNOTATIONS, Engine, HealthChecks, HealthCode, InventoryEntry, MemoryPersist,
    OperationPhase, Persist as _, ResourceKey, ResultCode, SyncOptions, SyncRequest,
    deletion_approved,
};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::clusters::{self, Destination, Destinations};
use crate::error::ControllerError;
use crate::leader::{LeaderElector, LeaseConfig};
use crate::live::{self, LiveIndex};
use crate::metrics::{AppInfoLabels, Metrics};
use crate::project;
use crate::queue::{RateLimit, WorkQueue};
use crate::render;
use crate::triggers::AppEntry;
use crate::types::{
    AppProjectSpec, Application, ApplicationStatus, Condition, GROUP, HealthStatusField,
    HistoryEntry, OperationStateField, REFRESH_ANNOTATION, RESOURCES_FINALIZER, ResourceStatus,
    VERSION,
};

/// Field manager of status writes.
pub const STATUS_MANAGER: &str = "kedge-controller";

/// Backoff of repeated self-heals of one application (Argo CD's
/// `selfHealBackoff`): the n-th heal within `max` of the previous one waits
/// `base * factor^(n-1)`, capped at `max`.
#[derive(Debug, Clone, Copy)]
pub struct HealBackoff {
    /// Wait before the second heal.
    pub base: Duration,
    /// Growth per further heal.
    pub factor: u32,
    /// Largest wait; heals further apart than this start over.
    pub max: Duration,
}

impl Default for HealBackoff {
    /// 2 s, factor 3, at most 5 minutes.
    fn default() -> Self {
        HealBackoff {
            base: Duration::from_secs(2),
            factor: 3,
            max: Duration::from_secs(300),
        }
    }
}

impl HealBackoff {
    /// The wait imposed after `attempts` recent heals (none after zero).
    pub fn delay(&self, attempts: u32) -> Duration {
        if attempts == 0 {
            return Duration::ZERO;
        }
        let mut d = self.base;
        for _ in 1..attempts {
            d = d.saturating_mul(self.factor);
            if d >= self.max {
                break;
            }
        }
        d.min(self.max)
    }
}

/// Controller settings.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Namespace of Applications, AppProjects, Secrets and the Lease.
    pub namespace: String,
    /// Git poll interval per repository (±10% jitter).
    pub resync: Duration,
    /// Full re-compare of every application (0: never).
    pub full_resync: Duration,
    /// Retry of an application blocked by a comparison or project error
    /// when nothing else triggers it.
    pub blocked_retry: Duration,
    /// Git cache directory.
    pub cache_dir: PathBuf,
    /// Allow `file://` repositories (local development and tests).
    pub allow_file_protocol: bool,
    /// Concurrent reconciles.
    pub workers: usize,
    /// Webhook secrets and limits.
    pub webhook: WebhookConfig,
    /// Run only while holding the `kedge-controller` Lease.
    pub leader_election: bool,
    /// Lease name, identity and timings.
    pub lease: LeaseConfig,
    /// Backoff of failed reconciles.
    pub error_backoff: RateLimit,
    /// Backoff of repeated self-heals.
    pub self_heal_backoff: HealBackoff,
    /// Coalescing window of live-object events.
    pub debounce: Duration,
}

impl ControllerConfig {
    /// Defaults: namespace `kedge`, Git poll every 3 minutes, full resync
    /// every hour, blocked applications retried every 3 minutes, 8 workers,
    /// no leader election, 75 ms debounce.
    pub fn new(cache_dir: impl Into<PathBuf>) -> ControllerConfig {
        ControllerConfig {
            namespace: crate::types::DEFAULT_NAMESPACE.to_string(),
            resync: Duration::from_secs(180),
            full_resync: Duration::from_secs(3600),
            blocked_retry: Duration::from_secs(180),
            cache_dir: cache_dir.into(),
            allow_file_protocol: false,
            workers: 8,
            webhook: WebhookConfig::default(),
            leader_election: false,
            lease: LeaseConfig::default(),
            error_backoff: RateLimit::default(),
            self_heal_backoff: HealBackoff::default(),
            debounce: Duration::from_millis(75),
        }
    }
}

/// The ApiResource of `Application`.
pub fn application_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, VERSION, "Application"),
        "applications",
    )
}

/// The ApiResource of `AppProject`.
pub fn appproject_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, VERSION, "AppProject"),
        "appprojects",
    )
}

/// Rendered manifests by (repository, commit, source spec), bounded.
#[derive(Default)]
struct RenderCache {
    map: HashMap<String, Arc<Vec<Value>>>,
    order: VecDeque<String>,
}

const RENDER_CACHE_ENTRIES: usize = 4096;

impl RenderCache {
    fn get(&self, key: &str) -> Option<Arc<Vec<Value>>> {
        self.map.get(key).cloned()
    }

    fn insert(&mut self, key: String, value: Arc<Vec<Value>>) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
            while self.order.len() > RENDER_CACHE_ENTRIES {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct HealState {
    attempts: u32,
    last: Instant,
}

/// How one reconcile runs and what it leaves for its caller.
#[derive(Debug, Default)]
struct Pass {
    /// Fetch the repository unless a fetch started after this instant.
    fetch_after: Option<Instant>,
    /// Apply the self-heal backoff.
    heal_backoff: bool,
    /// Reconcile again after this delay.
    requeue: Option<Duration>,
}

/// The Application controller.
pub struct Controller {
    client: kube::Client,
    pub(crate) config: ControllerConfig,
    pub(crate) cache: Arc<GitCache>,
    destinations: Arc<Destinations>,
    credentials_loaded: AtomicBool,
    health: HealthChecks,
    pub(crate) queue: Arc<WorkQueue<String>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) live: Arc<LiveIndex>,
    /// What the Application watch last saw, per application.
    pub(crate) apps: Mutex<HashMap<String, AppEntry>>,
    /// Applications whose next reconcile fetches first (trigger time).
    pending_fetch: Mutex<HashMap<String, Instant>>,
    /// Start of the last successful fetch per repository key.
    fetched_at: Mutex<HashMap<String, Instant>>,
    renders: Mutex<RenderCache>,
    resources: Mutex<HashMap<(String, String, String), (ApiResource, bool)>>,
    namespaces: Mutex<HashSet<(String, String)>>,
    heals: Mutex<HashMap<String, HealState>>,
    leading: AtomicBool,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("config", &self.config)
            .finish()
    }
}

/// What one reconciliation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do (deleted or finalized).
    Gone,
    /// Compared; synced when `synced`.
    Reconciled {
        /// A sync operation ran.
        synced: bool,
    },
    /// Stopped by an error recorded as a condition.
    Blocked(String),
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Controller {
    /// A controller over `client`.
    pub fn new(
        client: kube::Client,
        config: ControllerConfig,
    ) -> Result<Controller, ControllerError> {
        let mut cc = CacheConfig::new(&config.cache_dir);
        cc.allow_file_protocol = config.allow_file_protocol;
        let cache = GitCache::new(cc, CredentialStore::new())?;
        Ok(Controller {
            destinations: Arc::new(Destinations::new(
                client.clone(),
                Engine::new(client.clone()),
                &config.namespace,
            )),
            credentials_loaded: AtomicBool::new(false),
            client,
            queue: Arc::new(WorkQueue::new(config.error_backoff)),
            config,
            cache: Arc::new(cache),
            health: HealthChecks::new(),
            metrics: Arc::new(Metrics::new()),
            live: Arc::new(LiveIndex::default()),
            apps: Mutex::new(HashMap::new()),
            pending_fetch: Mutex::new(HashMap::new()),
            fetched_at: Mutex::new(HashMap::new()),
            renders: Mutex::new(RenderCache::default()),
            resources: Mutex::new(HashMap::new()),
            namespaces: Mutex::new(HashSet::new()),
            heals: Mutex::new(HashMap::new()),
            leading: AtomicBool::new(false),
        })
    }

    /// The controller's settings.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// The controller's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The shared Git cache (credentials are set through it).
    pub fn git_cache(&self) -> &Arc<GitCache> {
        &self.cache
    }

    /// Whether this controller is reconciling now (it holds the Lease, or
    /// leader election is off and [`Controller::run`] is running).
    pub fn is_leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Queues a reconcile of `name` (as a refresh: it fetches first).
    pub fn enqueue(&self, name: &str) {
        lock(&self.pending_fetch)
            .entry(name.to_string())
            .or_insert_with(Instant::now);
        self.queue.add(name.to_string());
        self.metrics.workqueue_depth.set(self.queue.len() as i64);
    }

    pub(crate) fn apps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.config.namespace,
            &application_resource(),
        )
    }

    /// Runs until `shutdown` resolves. With leader election, reconciles
    /// only while holding the Lease, and releases it on shutdown.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        if !self.config.leader_election {
            let _leading = Leading::set(&self.leading);
            tokio::select! {
                _ = &mut shutdown => {}
                _ = self.clone().run_active() => {}
            }
            return;
        }
        let elector = LeaderElector::new(
            self.client.clone(),
            &self.config.namespace,
            self.config.lease.clone(),
        );
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = elector.acquire() => {}
            }
            let leading = Leading::set(&self.leading);
            let stop = tokio::select! {
                _ = &mut shutdown => true,
                _ = elector.hold() => false,
                _ = self.clone().run_active() => true,
            };
            drop(leading);
            if stop {
                elector.release().await;
                return;
            }
            info!(identity = %elector.identity(), "lost leadership; reconciling stopped");
        }
    }

    /// The reconciling machinery; every task stops when this is dropped.
    async fn run_active(self: Arc<Self>) {
        // Work held by a previous term (aborted mid-reconcile) is redone
        // from the fresh Application list.
        self.queue.reset();
        lock(&self.apps).clear();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..self.config.workers.max(1) {
            tasks.spawn(self.clone().worker());
        }
        tasks.spawn(live::run_watches(live::WatchContext {
            client: self.client.clone(),
            index: self.live.clone(),
            queue: self.queue.clone(),
            metrics: self.metrics.clone(),
            debounce: self.config.debounce,
        }));
        tasks.spawn(self.clone().poll_repositories());
        if !self.config.full_resync.is_zero() {
            tasks.spawn(self.clone().full_resyncs());
        }
        tasks.spawn(self.clone().watch_applications());
        tasks.spawn(self.clone().retry_failing_on_secret_changes());
        tasks.spawn(clusters::watch_secrets(
            self.client.clone(),
            self.config.namespace.clone(),
            self.cache.clone(),
            self.destinations.clone(),
        ));
        // Runs until dropped (every task loops forever).
        while tasks.join_next().await.is_some() {}
    }

    async fn watch_applications(self: Arc<Self>) {
        let stream = watcher(self.apps(), watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let mut listed: HashSet<String> = HashSet::new();
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Apply(obj)) => self.observe_app(&obj),
                Ok(watcher::Event::InitApply(obj)) => {
                    listed.insert(obj.metadata.name.clone().unwrap_or_default());
                    self.observe_app(&obj);
                }
                Ok(watcher::Event::Delete(obj)) => {
                    self.forget_app(obj.metadata.name.as_deref().unwrap_or(""));
                }
                Ok(watcher::Event::Init) => listed.clear(),
                Ok(watcher::Event::InitDone) => {
                    let gone: Vec<String> = lock(&self.apps)
                        .keys()
                        .filter(|n| !listed.contains(*n))
                        .cloned()
                        .collect();
                    for name in gone {
                        self.forget_app(&name);
                    }
                }
                Err(e) => warn!(error = %e, "application watch"),
            }
        }
    }

    fn observe_app(&self, obj: &DynamicObject) {
        let Some(name) = obj.metadata.name.clone() else {
            return;
        };
        let entry = AppEntry::of(obj);
        let trigger = {
            let mut apps = lock(&self.apps);
            let changed = apps
                .get(&name)
                .is_none_or(|old| old.fingerprint != entry.fingerprint);
            apps.insert(name.clone(), entry);
            changed
        };
        if trigger {
            debug!(app = %name, "application changed");
            self.enqueue(&name);
        }
    }

    fn forget_app(&self, name: &str) {
        lock(&self.apps).remove(name);
        lock(&self.heals).remove(name);
        lock(&self.pending_fetch).remove(name);
        self.live.remove_app(name);
        self.metrics.remove_app(name);
    }

    async fn worker(self: Arc<Self>) {
        while let Some(name) = self.queue.get().await {
            self.metrics.workqueue_depth.set(self.queue.len() as i64);
            let fetch_after = lock(&self.pending_fetch).remove(&name);
            let mut pass = Pass {
                fetch_after,
                heal_backoff: true,
                requeue: None,
            };
            let start = Instant::now();
            let result = self.reconcile_pass(&name, &mut pass).await;
            let seconds = start.elapsed().as_secs_f64();
            match result {
                Ok(outcome) => {
                    self.queue.forget(&name);
                    let label = match &outcome {
                        Outcome::Blocked(_) => "blocked",
                        _ => "success",
                    };
                    self.metrics.reconciled(label, seconds);
                    debug!(app = %name, ?outcome, seconds, "reconciled");
                    if let Outcome::Blocked(_) = outcome {
                        // Retried at the poll rate (a new commit or a project
                        // change may unblock it sooner through other triggers).
                        pass.requeue = Some(pass.requeue.unwrap_or(self.config.blocked_retry));
                    }
                    if let Some(after) = pass.requeue {
                        self.queue.add_after(name.clone(), after);
                    }
                }
                Err(e) => {
                    self.metrics.reconciled("error", seconds);
                    if let Some(t) = fetch_after {
                        lock(&self.pending_fetch).entry(name.clone()).or_insert(t);
                    }
                    let delay = self.queue.add_rate_limited(name.clone());
                    warn!(app = %name, error = %e, retry_in = ?delay, "reconcile failed");
                }
            }
            self.queue.done(&name);
        }
    }

    /// After credentials or clusters change, retries the applications whose
    /// status shows an error (they may have been waiting for exactly that).
    async fn retry_failing_on_secret_changes(self: Arc<Self>) {
        loop {
            self.destinations.changed.notified().await;
            let failing: Vec<String> = lock(&self.apps)
                .iter()
                .filter(|(_, a)| a.failing)
                .map(|(n, _)| n.clone())
                .collect();
            for name in failing {
                self.enqueue(&name);
            }
        }
    }

    async fn full_resyncs(self: Arc<Self>) {
        let every = self.config.full_resync;
        loop {
            tokio::time::sleep(jittered(every)).await;
            let names: Vec<String> = lock(&self.apps).keys().cloned().collect();
            info!(apps = names.len(), "full resync");
            for name in names {
                self.queue.add(name);
            }
            self.metrics.workqueue_depth.set(self.queue.len() as i64);
        }
    }

    /// Fetches `url`, timing it and remembering when it started.
    pub(crate) async fn fetch(
        &self,
        url: &RepoUrl,
    ) -> Result<kedge_git::FetchOutcome, ControllerError> {
        let start = Instant::now();
        let result = self.cache.fetch_repo(url).await;
        self.metrics
            .git_fetch_duration
            .observe(start.elapsed().as_secs_f64());
        let outcome = result?;
        let mut at = lock(&self.fetched_at);
        let slot = at.entry(url.key()).or_insert(start);
        if *slot < start {
            *slot = start;
        }
        Ok(outcome)
    }

    fn fetched_since(&self, url: &RepoUrl, t: Instant) -> bool {
        lock(&self.fetched_at)
            .get(&url.key())
            .is_some_and(|at| *at >= t)
    }

    /// Copies the cached render of one commit to another that did not
    /// touch the application's paths.
    pub(crate) fn alias_render(&self, url: &RepoUrl, from: &str, to: &str, render_key: &str) {
        let mut renders = lock(&self.renders);
        if let Some(r) = renders.get(&render_cache_key(url, from, render_key)) {
            renders.insert(render_cache_key(url, to, render_key), r);
        }
    }

    /// Reconciles one application by name (fetching its repository first).
    pub async fn reconcile(&self, name: &str) -> Result<Outcome, ControllerError> {
        let mut pass = Pass {
            fetch_after: Some(Instant::now()),
            heal_backoff: false,
            requeue: None,
        };
        self.reconcile_pass(name, &mut pass).await
    }

    async fn reconcile_pass(
        &self,
        name: &str,
        pass: &mut Pass,
    ) -> Result<Outcome, ControllerError> {
        let outcome = self.reconcile_inner(name, pass).await?;
        if outcome == Outcome::Gone {
            self.live.remove_app(name);
            self.metrics.remove_app(name);
            lock(&self.heals).remove(name);
        }
        Ok(outcome)
    }

    async fn reconcile_inner(
        &self,
        name: &str,
        pass: &mut Pass,
    ) -> Result<Outcome, ControllerError> {
        let api = self.apps();
        let Some(obj) = api
            .get_opt(name)
            .await
            .map_err(|e| kube_err("get", name, e))?
        else {
            return Ok(Outcome::Gone);
        };
        let raw = serde_json::to_value(&obj).unwrap_or_default();
        let app: Application =
            serde_json::from_value(raw.clone()).map_err(|e| ControllerError::Invalid {
                object: format!("Application {name}"),
                message: e.to_string(),
            })?;
        let mut status = app.status.clone().unwrap_or_default();
        if obj.metadata.deletion_timestamp.is_some() {
            return self.finalize(&app, &status).await;
        }
        let operation = raw.get("operation").cloned().filter(|o| !o.is_null());
        let result = self
            .compare_and_sync(&app, &mut status, operation.as_ref(), pass)
            .await;
        status.reconciled_at = now();
        let outcome = match result {
            Ok(synced) => {
                status
                    .conditions
                    .retain(|c| c.type_ != "ComparisonError" && c.type_ != "InvalidSpecError");
                Outcome::Reconciled { synced }
            }
            Err(e) => {
                let (kind, reason) = match &e {
                    ControllerError::Forbidden(_) => ("InvalidSpecError", "InvalidSpec"),
                    _ => ("ComparisonError", "ComparisonError"),
                };
                let message = e.to_string();
                // The namespace may be gone: check it again next time.
                lock(&self.namespaces).clear();
                set_condition(&mut status, kind, &message);
                self.event(&app, "Warning", reason, &message).await;
                Outcome::Blocked(message)
            }
        };
        if operation.is_some() {
            api.patch(
                name,
                &PatchParams::default(),
                &Patch::Json::<()>(json_patch::Patch(vec![json_patch::PatchOperation::Remove(
                    json_patch::RemoveOperation {
                        path: json_patch::jsonptr::PointerBuf::parse("/operation")
                            .unwrap_or_default(),
                    },
                )])),
            )
            .await
            .map_err(|e| kube_err("clear operation of", name, e))?;
        }
        if app.annotation(REFRESH_ANNOTATION).is_some() {
            // A refresh request is served once.
            api.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {REFRESH_ANNOTATION: null}}})),
            )
            .await
            .map_err(|e| kube_err("clear refresh annotation of", name, e))?;
        }
        if status_changed(app.status.as_ref(), &status, self.config.resync) {
            self.write_status(name, &status).await?;
        }
        self.metrics.set_app_info(AppInfoLabels {
            name: name.to_string(),
            project: if app.spec.project.is_empty() {
                "default".to_string()
            } else {
                app.spec.project.clone()
            },
            sync_status: status.sync.status.clone(),
            health_status: status.health.status.clone(),
        });
        Ok(outcome)
    }

    async fn write_status(
        &self,
        name: &str,
        status: &ApplicationStatus,
    ) -> Result<(), ControllerError> {
        // The status subresource, owned by the controller's own field
        // manager through server-side apply.
        let patch = json!({
            "apiVersion": crate::types::API_VERSION,
            "kind": "Application",
            "metadata": {"name": name, "namespace": self.config.namespace},
            "status": status,
        });
        self.apps()
            .patch_status(
                name,
                &PatchParams::apply(STATUS_MANAGER).force(),
                &Patch::Apply(patch),
            )
            .await
            .map_err(|e| kube_err("update status of", name, e))?;
        Ok(())
    }

    async fn project(&self, name: &str) -> Result<AppProjectSpec, ControllerError> {
        let name = if name.is_empty() { "default" } else { name };
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &self.config.namespace,
            &appproject_resource(),
        );
        match api
            .get_opt(name)
            .await
            .map_err(|e| kube_err("get AppProject", name, e))?
        {
            Some(p) => serde_json::from_value(p.data.get("spec").cloned().unwrap_or_default())
                .map_err(|e| ControllerError::Invalid {
                    object: format!("AppProject {name}"),
                    message: e.to_string(),
                }),
            None if name == "default" => Ok(AppProjectSpec {
                source_repos: vec!["*".into()],
                destinations: vec![crate::types::ApplicationDestination {
                    server: "*".into(),
                    name: "*".into(),
                    namespace: "*".into(),
                }],
                cluster_resource_whitelist: vec![crate::types::GroupKind {
                    group: "*".into(),
                    kind: "*".into(),
                }],
                ..Default::default()
            }),
            None => Err(ControllerError::Forbidden(format!(
                "AppProject {name} does not exist"
            ))),
        }
    }

    /// Resolves, renders, compares and (maybe) syncs; returns whether it synced.
    async fn compare_and_sync(
        &self,
        app: &Application,
        status: &mut ApplicationStatus,
        operation: Option<&Value>,
        pass: &mut Pass,
    ) -> Result<bool, ControllerError> {
        let spec = &app.spec;
        let proj = self.project(&spec.project).await?;
        if !project::repo_permitted(&proj, &spec.source.repo_url) {
            return Err(ControllerError::Forbidden(format!(
                "repository {} is not permitted in project {}",
                kedge_git::scrub(&spec.source.repo_url),
                if spec.project.is_empty() {
                    "default"
                } else {
                    &spec.project
                }
            )));
        }
        let dest_ns = spec.destination.namespace.clone();
        if !project::destination_permitted(&proj, &spec.destination, &dest_ns) {
            return Err(ControllerError::Forbidden(format!(
                "destination namespace {dest_ns} is not permitted in project {}",
                if spec.project.is_empty() {
                    "default"
                } else {
                    &spec.project
                }
            )));
        }
        let dest = self.destinations.resolve(&spec.destination).await?;
        self.ensure_credentials().await;
        let url = RepoUrl::parse(&spec.source.repo_url)?;
        let refresh = app.annotation(REFRESH_ANNOTATION);
        if refresh == Some("hard") {
            self.cache.invalidate_repo(&url);
        }
        // Fetch on refresh requests and spec changes; poll- and
        // watch-triggered reconciles use the refs of the last fetch.
        let stale = pass
            .fetch_after
            .is_some_and(|t| !self.fetched_since(&url, t));
        if refresh.is_some() || stale {
            self.fetch(&url).await?;
        } else {
            self.cache.refs(&url).await?;
        }
        let op_sync = operation.and_then(|o| o.get("sync"));
        let op_revision = op_sync
            .and_then(|s| s.get("revision"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let target = op_revision.unwrap_or(if spec.source.target_revision.is_empty() {
            "HEAD"
        } else {
            &spec.source.target_revision
        });
        let sha = self.cache.resolve_revision(&url, target, None).await?;
        let cache_key = render_cache_key(&url, &sha, &AppEntry::render_key(spec));
        let cached = lock(&self.renders).get(&cache_key);
        let desired: Vec<Value> = match cached {
            Some(d) => (*d).clone(),
            None => {
                // Kustomize sources render straight from the object store;
                // plain directories (and overrides) from a snapshot.
                let rendered = match self.open_view(&url, &sha, &spec.source).await {
                    Some(view) => {
                        let source = spec.source.clone();
                        tokio::task::spawn_blocking(move || {
                            render::render_view(&kedge_git::ViewFileSystem::new(view), &source)
                        })
                        .await
                        .map_err(|e| ControllerError::Render {
                            path: spec.source.path.clone(),
                            message: e.to_string(),
                        })?
                    }
                    None => None,
                };
                let rendered = match rendered {
                    Some(r) => r,
                    None => {
                        let checkout = self.cache.materialize(&url, &sha).await?;
                        let source = spec.source.clone();
                        tokio::task::spawn_blocking(move || render::render(&checkout, &source))
                            .await
                            .map_err(|e| ControllerError::Render {
                                path: spec.source.path.clone(),
                                message: e.to_string(),
                            })?
                    }
                };
                let mut desired = rendered.map_err(|e| match e {
                    ControllerError::Render { path, message } => ControllerError::Render {
                        path: format!("{path} at {}", short(&sha)),
                        message,
                    },
                    other => other,
                })?;
                if self.default_namespaces(&dest, &mut desired, &dest_ns).await {
                    lock(&self.renders).insert(cache_key, Arc::new(desired.clone()));
                }
                desired
            }
        };
        let violations = project::check_resources(&proj, &spec.destination, &desired);
        if !violations.is_empty() {
            return Err(ControllerError::Forbidden(violations.join("; ")));
        }
        let policy = spec.sync_policy.clone().unwrap_or_default();
        let auto = policy.automated.clone();
        let options = SyncOptions::parse(policy.sync_options.iter().map(String::as_str))?;
        let sync_id = format!("{}-{}", app.name(), short(&sha));
        let mut req = SyncRequest::new(app.name(), &sync_id, &dest_ns, desired.clone());
        req.revision = sha.clone();
        req.options = options;
        req.inventory = status.inventory.clone();
        req.prune = op_sync
            .and_then(|s| s.get("prune"))
            .and_then(Value::as_bool)
            .unwrap_or(auto.as_ref().is_some_and(|a| a.prune));
        req.allow_empty = auto.as_ref().is_some_and(|a| a.allow_empty);
        req.wave_timeout = Duration::from_secs(120);

        if policy
            .sync_options
            .iter()
            .any(|o| o == "CreateNamespace=true")
            && !dest_ns.is_empty()
        {
            self.ensure_namespace(&dest, &dest_ns).await?;
        }
        // Watch what this reconcile may touch before touching it, so events
        // it causes (a workload's status settling) find their owner.
        if dest.local {
            self.live
                .set_app(app.name(), managed_set(&desired, &status.inventory));
        }
        let diffs = engine_diff(&dest.engine, &req).await?;
        let out_of_sync = diffs
            .iter()
            .any(|d| d.modified || d.missing || d.extraneous);
        let last_attempt = status
            .operation_state
            .as_ref()
            .map(|o| o.sync_revision.clone());
        let dry_run = op_sync
            .and_then(|s| s.get("dryRun"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut should_sync = if op_sync.is_some() {
            !dry_run
        } else if let Some(a) = &auto {
            out_of_sync && (last_attempt.as_deref() != Some(sha.as_str()) || a.self_heal)
        } else {
            false
        };
        // A sync of this revision paused by `Prune=confirm` resumes only once
        // confirmed (the approval annotation, or a requested sync with
        // pruning); until then nothing re-runs it.
        let paused = paused_sync(status, &sha, &sync_id);
        let confirmed = paused
            .as_ref()
            .is_some_and(|p| prune_confirmed(app, op_sync, &p.started_at));
        let mut resume: Option<kedge_sync::SyncState> = None;
        if let Some(p) = paused {
            if confirmed {
                should_sync = !dry_run;
                req.prune = true;
                req.prune_confirmed = true;
                resume = Some(p);
            } else if op_sync.is_none() {
                should_sync = false;
            }
        }
        let self_heal =
            op_sync.is_none() && resume.is_none() && last_attempt.as_deref() == Some(sha.as_str());
        if !out_of_sync {
            self.heal_settled(app.name());
        } else if should_sync && self_heal {
            match self.heal_wait(app.name(), pass.heal_backoff) {
                Some(wait) => {
                    debug!(app = app.name(), ?wait, "self-heal backing off");
                    should_sync = false;
                    pass.requeue = Some(wait);
                }
                None => self.heal_record(app.name()),
            }
        }
        let mut synced = false;
        let mut post_sync: Option<Vec<kedge_sync::ResourceDiff>> = None;
        if should_sync {
            if self_heal {
                self.event(
                    app,
                    "Normal",
                    "SelfHeal",
                    &format!("live state drifted; re-syncing {}", short(&sha)),
                )
                .await;
            }
            self.event(
                app,
                "Normal",
                "OperationStarted",
                &format!("sync to {}", short(&sha)),
            )
            .await;
            if resume.is_some() {
                self.event(
                    app,
                    "Normal",
                    "PruneConfirmed",
                    &format!("pruning confirmed; resuming sync to {}", short(&sha)),
                )
                .await;
            }
            let state = engine_sync(&dest.engine, &req, resume).await?;
            synced = true;
            post_sync = after_sync(&diffs, &state);
            let phase = format!("{:?}", state.phase);
            self.metrics.synced(&phase);
            status.operation_state = Some(OperationStateField {
                phase: phase.clone(),
                message: state.message.clone(),
                sync_revision: sha.clone(),
                started_at: state.started_at.clone(),
                finished_at: state.finished_at.clone(),
                sync_result: serde_json::to_value(&state).ok(),
            });
            // The inventory: what the sync applied plus what it could not prune.
            let mut inv: BTreeSet<InventoryEntry> = BTreeSet::new();
            for r in &state.resources {
                if r.hook_phase.is_none()
                    && matches!(
                        r.status,
                        ResultCode::Synced | ResultCode::PruneSkipped | ResultCode::SyncFailed
                    )
                {
                    inv.insert(InventoryEntry {
                        api_version: r.version.clone(),
                        key: r.key.clone(),
                    });
                }
            }
            if state.phase != OperationPhase::Succeeded {
                // Keep what earlier syncs applied as prune candidates too.
                inv.extend(status.inventory.iter().cloned());
            }
            status.inventory = inv.into_iter().collect();
            if !state.needs_confirmation() {
                status
                    .conditions
                    .retain(|c| c.type_ != PRUNE_CONFIRMATION_CONDITION);
            }
            if state.needs_confirmation() {
                let msg = format!("sync to {} paused: {}", short(&sha), state.message);
                set_condition(status, PRUNE_CONFIRMATION_CONDITION, &msg);
                self.event(app, "Normal", PRUNE_CONFIRMATION_CONDITION, &msg)
                    .await;
            } else if state.phase == OperationPhase::Succeeded {
                let id = status.history.last().map(|h| h.id + 1).unwrap_or(0);
                let mut source = spec.source.clone();
                if let Some(r) = op_revision {
                    source.target_revision = r.to_string();
                }
                status.history.push(HistoryEntry {
                    id,
                    revision: sha.clone(),
                    deployed_at: now(),
                    source,
                });
                let limit = spec.revision_history_limit.unwrap_or(10) as usize;
                if status.history.len() > limit {
                    let drop = status.history.len() - limit;
                    status.history.drain(..drop);
                }
                status.conditions.retain(|c| c.type_ != "SyncError");
                self.event(
                    app,
                    "Normal",
                    "OperationCompleted",
                    &format!("sync to {} succeeded", short(&sha)),
                )
                .await;
            } else {
                let msg = format!("sync to {} {phase}: {}", short(&sha), state.message);
                set_condition(status, "SyncError", &msg);
                self.event(app, "Warning", "OperationFailed", &msg).await;
            }
        }
        // Compare again after a sync for status, unless the sync result
        // alone tells the new state.
        let diffs = match (synced, post_sync) {
            (true, Some(after)) => after,
            (true, None) => {
                req.inventory = status.inventory.clone();
                engine_diff(&dest.engine, &req).await?
            }
            (false, _) => diffs,
        };
        let mut codes = Vec::new();
        status.resources.clear();
        for d in &diffs {
            let health = if d.missing || d.live.is_empty() {
                Some(HealthCode::Missing)
            } else {
                // The diff's live state is normalised (no status): kinds
                // whose health reads the status are read again.
                let live = match status_bearing(&d.key) {
                    true => {
                        self.live_object(&dest, &d.key, &desired, &status.inventory)
                            .await
                    }
                    false => None,
                };
                live.or_else(|| {
                    render::parse_manifests(&d.live)
                        .ok()
                        .and_then(|docs| docs.into_iter().next())
                })
                .and_then(|live| self.health.assess(&live).ok().flatten())
                .map(|h| h.status)
            };
            if let Some(h) = &health
                && !d.extraneous
            {
                codes.push(*h);
            }
            status.resources.push(ResourceStatus {
                group: d.key.group.clone(),
                kind: d.key.kind.clone(),
                namespace: d.key.namespace.clone(),
                name: d.key.name.clone(),
                status: if d.modified || d.missing || d.extraneous {
                    "OutOfSync"
                } else {
                    "Synced"
                }
                .into(),
                health: health.map(|h| HealthStatusField {
                    status: code_str(h),
                    message: String::new(),
                }),
            });
        }
        let out_of_sync = diffs
            .iter()
            .any(|d| d.modified || d.missing || d.extraneous);
        // What the live watches look after: the desired set and the inventory.
        let managed = managed_set(&desired, &status.inventory);
        if dest.local {
            self.live.set_app(app.name(), managed);
        } else {
            // Live watches cover the controller's own cluster; other
            // clusters rely on polls and the full resync.
            self.live.remove_app(app.name());
        }
        status.sync.status = if out_of_sync { "OutOfSync" } else { "Synced" }.into();
        status.sync.revision = sha;
        status.health = HealthStatusField {
            status: code_str(kedge_sync::aggregate(codes.iter())),
            message: String::new(),
        };
        Ok(synced)
    }

    /// A view of the source directory of `source` at `sha` when it may be
    /// rendered from one (no `..`, no Kustomize overrides); `None` sends
    /// the render to a snapshot, which reports any error itself.
    async fn open_view(
        &self,
        url: &RepoUrl,
        sha: &str,
        source: &crate::types::ApplicationSource,
    ) -> Option<kedge_git::RepoView> {
        let rel = source.path.trim_matches('/');
        let rel = if rel == "." { "" } else { rel };
        if rel.split('/').any(|c| c == "..")
            || source
                .kustomize
                .as_ref()
                .is_some_and(|k| *k != Default::default())
        {
            return None;
        }
        match self.cache.open_view(url, sha, rel).await {
            Ok(view) => Some(view),
            Err(e) => {
                debug!(error = %e, "no view of the source; rendering a snapshot");
                None
            }
        }
    }

    /// The resource of a kind and whether it is namespaced, from discovery
    /// (cached once found).
    async fn api_resource(
        &self,
        dest: &Destination,
        api_version: &str,
        kind: &str,
    ) -> Option<(ApiResource, bool)> {
        let key = (
            dest.server.clone(),
            api_version.to_string(),
            kind.to_string(),
        );
        if let Some(found) = lock(&self.resources).get(&key) {
            return Some(found.clone());
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = kube::discovery::pinned_kind(&dest.client, &gvk)
            .await
            .ok()?;
        let found = (ar, caps.scope == kube::discovery::Scope::Namespaced);
        lock(&self.resources).insert(key, found.clone());
        Some(found)
    }

    /// Loads repository credentials once before the first fetch (later
    /// changes arrive through the Secret watch).
    async fn ensure_credentials(&self) {
        if self.credentials_loaded.swap(true, Ordering::SeqCst) {
            return;
        }
        match clusters::load_credentials(&self.client, &self.config.namespace, &self.cache).await {
            Ok(n) => debug!(credentials = n, "repository credentials loaded"),
            Err(e) => {
                self.credentials_loaded.store(false, Ordering::SeqCst);
                warn!(error = %e, "loading repository credentials");
            }
        }
    }

    /// The live object of `key` (for health), found through the apiVersion
    /// it is declared or was applied with.
    async fn live_object(
        &self,
        dest: &Destination,
        key: &ResourceKey,
        desired: &[Value],
        inventory: &[InventoryEntry],
    ) -> Option<Value> {
        let api_version = desired
            .iter()
            .find(|o| ResourceKey::of(o).as_ref() == Some(key))
            .and_then(|o| o.get("apiVersion")?.as_str().map(str::to_string))
            .or_else(|| {
                inventory
                    .iter()
                    .find(|e| &e.key == key)
                    .map(|e| e.api_version.clone())
            })?;
        let (ar, _) = self.api_resource(dest, &api_version, &key.kind).await?;
        let api: Api<DynamicObject> = if key.namespace.is_empty() {
            Api::all_with(dest.client.clone(), &ar)
        } else {
            Api::namespaced_with(dest.client.clone(), &key.namespace, &ar)
        };
        let obj = api.get_opt(&key.name).await.ok()??;
        serde_json::to_value(obj).ok()
    }

    /// Creates the destination namespace (`CreateNamespace=true`) before the
    /// server-side dry run that compares against it.
    async fn ensure_namespace(
        &self,
        dest: &Destination,
        name: &str,
    ) -> Result<(), ControllerError> {
        let seen = (dest.server.clone(), name.to_string());
        if lock(&self.namespaces).contains(&seen) {
            return Ok(());
        }
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(dest.client.clone());
        let result = self.create_namespace(&api, name).await;
        if result.is_ok() {
            lock(&self.namespaces).insert(seen);
        }
        result
    }

    async fn create_namespace(
        &self,
        api: &Api<k8s_openapi::api::core::v1::Namespace>,
        name: &str,
    ) -> Result<(), ControllerError> {
        if api
            .get_opt(name)
            .await
            .map_err(|e| kube_err("get Namespace", name, e))?
            .is_some()
        {
            return Ok(());
        }
        let ns: k8s_openapi::api::core::v1::Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).unwrap_or_default();
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(kube_err("create Namespace", name, e)),
        }
    }

    /// Sets the destination namespace on namespaced objects without one;
    /// false when a kind's scope had to be guessed (not served yet).
    async fn default_namespaces(
        &self,
        dest: &Destination,
        objects: &mut [Value],
        namespace: &str,
    ) -> bool {
        let mut scopes = std::collections::BTreeMap::new();
        for (api_version, kind) in render::unnamespaced_kinds(objects) {
            let namespaced = self
                .api_resource(dest, &api_version, &kind)
                .await
                .map(|(_, namespaced)| namespaced);
            scopes.insert((api_version, kind), namespaced);
        }
        render::set_default_namespaces(objects, namespace, &scopes)
    }

    /// Deletion: cascade through the finalizer, then release the object.
    async fn finalize(
        &self,
        app: &Application,
        status: &ApplicationStatus,
    ) -> Result<Outcome, ControllerError> {
        let fins: Vec<String> = app
            .metadata
            .get("finalizers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let Some(ours) = fins.iter().find(|f| {
            f.as_str() == RESOURCES_FINALIZER || f.starts_with(&format!("{RESOURCES_FINALIZER}/"))
        }) else {
            return Ok(Outcome::Gone);
        };
        let mut req = SyncRequest::new(
            app.name(),
            &format!("{}-delete", app.name()),
            &app.spec.destination.namespace,
            Vec::new(),
        );
        req.prune = true;
        req.allow_empty = true;
        req.inventory = status.inventory.clone();
        if ours.ends_with("/background") {
            req.options = SyncOptions::parse(["PrunePropagationPolicy=background"])?;
        } else {
            req.options = SyncOptions::parse(["PrunePropagationPolicy=foreground"])?;
        }
        let dest = self.destinations.resolve(&app.spec.destination).await?;
        let state = engine_sync(&dest.engine, &req, None).await?;
        if state.phase != OperationPhase::Succeeded {
            let msg = format!("deleting resources: {}", state.message);
            self.event(app, "Warning", "DeletionFailed", &msg).await;
            return Ok(Outcome::Blocked(msg));
        }
        let rest: Vec<&String> = fins.iter().filter(|f| *f != ours).collect();
        self.apps()
            .patch(
                app.name(),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": rest}})),
            )
            .await
            .map_err(|e| kube_err("remove finalizer of", app.name(), e))?;
        Ok(Outcome::Gone)
    }

    /// Records a Kubernetes Event about the application (best effort).
    async fn event(&self, app: &Application, type_: &str, reason: &str, message: &str) {
        let ns = app.namespace().to_string();
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let ts = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now());
        let ev = Event {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                generate_name: Some(format!("{}.", app.name())),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some(crate::types::API_VERSION.into()),
                kind: Some("Application".into()),
                name: Some(app.name().into()),
                namespace: Some(ns),
                uid: app
                    .metadata
                    .get("uid")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(type_.into()),
            first_timestamp: Some(ts.clone()),
            last_timestamp: Some(ts),
            count: Some(1),
            reporting_component: Some("kedge-controller".into()),
            source: Some(k8s_openapi::api::core::v1::EventSource {
                component: Some("kedge-controller".into()),
                host: None,
            }),
            ..Default::default()
        };
        if let Err(e) = api.create(&PostParams::default(), &ev).await {
            warn!(error = %e, "recording event");
        }
        info!(app = app.name(), reason, message, "event");
    }
}

impl Controller {
    /// How long a self-heal of `app` must wait (None: heal now).
    fn heal_wait(&self, app: &str, apply_backoff: bool) -> Option<Duration> {
        if !apply_backoff {
            return None;
        }
        let heals = lock(&self.heals);
        let st = heals.get(app)?;
        let backoff = self.config.self_heal_backoff;
        let elapsed = st.last.elapsed();
        if elapsed >= backoff.max {
            return None;
        }
        let wait = backoff.delay(st.attempts);
        (elapsed < wait).then(|| wait - elapsed)
    }

    /// Counts a self-heal; heals further apart than the cap start over.
    fn heal_record(&self, app: &str) {
        let max = self.config.self_heal_backoff.max;
        let mut heals = lock(&self.heals);
        let st = heals.entry(app.to_string()).or_insert(HealState {
            attempts: 0,
            last: Instant::now(),
        });
        if st.last.elapsed() >= max {
            st.attempts = 0;
        }
        st.attempts += 1;
        st.last = Instant::now();
    }

    /// The app is in sync: once it stayed so past its current backoff, the
    /// heal count starts over.
    fn heal_settled(&self, app: &str) {
        let backoff = self.config.self_heal_backoff;
        let mut heals = lock(&self.heals);
        if let Some(st) = heals.get(app)
            && st.last.elapsed() >= backoff.delay(st.attempts)
        {
            heals.remove(app);
        }
    }
}

// Thin wrappers naming the engine calls of a reconcile.
async fn engine_diff(
    engine: &Engine,
    req: &SyncRequest,
) -> Result<Vec<kedge_sync::ResourceDiff>, ControllerError> {
    Ok(engine.diff(req).await?)
}

async fn engine_sync(
    engine: &Engine,
    req: &SyncRequest,
    resume: Option<kedge_sync::SyncState>,
) -> Result<kedge_sync::SyncState, ControllerError> {
    let persist = MemoryPersist::default();
    if let Some(state) = &resume {
        persist.save(state).await?;
    }
    Ok(engine.sync(req, &persist).await?)
}

/// Condition of an Application whose sync waits for `Prune=confirm`
/// deletions to be confirmed.
pub const PRUNE_CONFIRMATION_CONDITION: &str = "PruneConfirmationRequired";

/// The engine state of a sync of `sha` (operation `sync_id`) paused until
/// pruning is confirmed, from the stored operation state.
fn paused_sync(
    status: &ApplicationStatus,
    sha: &str,
    sync_id: &str,
) -> Option<kedge_sync::SyncState> {
    let op = status.operation_state.as_ref()?;
    if op.sync_revision != sha {
        return None;
    }
    let state: kedge_sync::SyncState = serde_json::from_value(op.sync_result.clone()?).ok()?;
    (state.sync_id == sync_id && state.needs_confirmation()).then_some(state)
}

/// Whether the deletions of an operation started at `started_at` are
/// confirmed: an approval annotation given since, or a requested sync
/// with pruning.
fn prune_confirmed(app: &Application, op_sync: Option<&Value>, started_at: &str) -> bool {
    let requested = op_sync
        .and_then(|s| s.get("prune"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    requested
        || DELETION_APPROVED_ANNOTATIONS
            .iter()
            .filter_map(|a| app.annotation(a))
            .any(|at| deletion_approved(at, started_at))
}

/// What the live watches look after for one app: its desired set and its
/// inventory, with the apiVersion of each.
fn managed_set(desired: &[Value], inventory: &[InventoryEntry]) -> Vec<(String, ResourceKey)> {
    let mut managed: Vec<(String, ResourceKey)> = desired
        .iter()
        .filter_map(|o| {
            let key = ResourceKey::of(o)?;
            let api_version = o.get("apiVersion")?.as_str()?.to_string();
            Some((api_version, key))
        })
        .collect();
    managed.extend(
        inventory
            .iter()
            .map(|e| (e.api_version.clone(), e.key.clone())),
    );
    managed
}

/// Whether a status differs from the stored one in more than
/// `reconciledAt`, or the stored `reconciledAt` is older than `fresh`
/// (so watchers of the Application are not woken by idle reconciles).
fn status_changed(
    old: Option<&ApplicationStatus>,
    new: &ApplicationStatus,
    fresh: Duration,
) -> bool {
    let Some(old) = old else {
        return true;
    };
    let Ok(at) = old.reconciled_at.parse::<jiff::Timestamp>() else {
        return true;
    };
    let age = jiff::Timestamp::now().duration_since(at);
    if age.is_negative() || age.unsigned_abs() >= fresh {
        return true;
    }
    let mut a = old.clone();
    a.reconciled_at.clear();
    let mut b = new.clone();
    b.reconciled_at.clear();
    a != b
}

/// The comparison after a sync that succeeded for every resource: what it
/// applied now matches the dry run, what it pruned is gone. `None` (compare
/// again) when any resource failed, was skipped or is unaccounted for.
fn after_sync(
    before: &[kedge_sync::ResourceDiff],
    state: &kedge_sync::SyncState,
) -> Option<Vec<kedge_sync::ResourceDiff>> {
    if state.phase != OperationPhase::Succeeded {
        return None;
    }
    let results: HashMap<&ResourceKey, ResultCode> = state
        .resources
        .iter()
        .filter(|r| r.hook_phase.is_none())
        .map(|r| (&r.key, r.status))
        .collect();
    let mut out = Vec::with_capacity(before.len());
    for d in before {
        match (results.get(&d.key), d.extraneous) {
            (Some(ResultCode::Synced), false) => {
                let mut now = d.clone();
                now.modified = false;
                now.missing = false;
                now.live = now.desired.clone();
                now.unified.clear();
                out.push(now);
            }
            (Some(ResultCode::Pruned), true) => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Whether the health of a kind reads its status (built-in workloads and
/// every custom resource).
fn status_bearing(key: &ResourceKey) -> bool {
    match key.group.as_str() {
        "" => matches!(
            key.kind.as_str(),
            "Pod" | "Service" | "PersistentVolumeClaim" | "ReplicationController"
        ),
        "apps" | "batch" | "autoscaling" | "networking.k8s.io" | "apiregistration.k8s.io" => true,
        g => !g.ends_with(".k8s.io") && g != "policy",
    }
}

/// Marks the controller as reconciling until dropped (also when the run
/// future itself is dropped).
struct Leading<'a>(&'a AtomicBool);

impl<'a> Leading<'a> {
    fn set(flag: &'a AtomicBool) -> Leading<'a> {
        flag.store(true, Ordering::SeqCst);
        Leading(flag)
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The render cache key of an application's source at a commit.
pub(crate) fn render_cache_key(url: &RepoUrl, sha: &str, render_key: &str) -> String {
    format!("{}\0{sha}\0{render_key}", url.key())
}

/// `base` ±10%.
pub(crate) fn jittered(base: Duration) -> Duration {
    use rand::Rng as _;
    let f: f64 = rand::rng().random_range(0.9..=1.1);
    base.mul_f64(f)
}

pub(crate) fn fingerprint(obj: &DynamicObject) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{}",
        obj.metadata.generation,
        obj.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REFRESH_ANNOTATION)),
        obj.metadata.deletion_timestamp,
        obj.metadata.annotations.as_ref().map(|a| {
            DELETION_APPROVED_ANNOTATIONS
                .iter()
                .map(|k| a.get(*k).map(String::as_str).unwrap_or(""))
                .collect::<Vec<_>>()
        }),
        obj.data
            .get("operation")
            .map(|o| o.to_string())
            .unwrap_or_default(),
    )
}

fn set_condition(status: &mut ApplicationStatus, type_: &str, message: &str) {
    if let Some(c) = status.conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.message != message {
            c.message = message.to_string();
            c.last_transition_time = now();
        }
        return;
    }
    status.conditions.push(Condition {
        type_: type_.to_string(),
        message: message.to_string(),
        last_transition_time: now(),
    });
}

fn code_str(code: HealthCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{code:?}"))
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn kube_err(action: &'static str, name: &str, source: kube::Error) -> ControllerError {
    ControllerError::Kube {
        action,
        object: name.to_string(),
        source,
    }
}

/// `ResourceKey` re-exported for status consumers.
pub type Key = ResourceKey;
