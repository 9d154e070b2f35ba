//! The sync engine over kube-rs: plans tasks from desired objects, diffs them
//! against the cluster by dry-run server-side apply, applies them step by
//! step (phase, then wave; kind order and name inside a wave), waits for
//! health between steps with watches (never a fixed sleep), runs hooks,
//! prunes what Git no longer declares, and persists the operation state
//! after every step through [`Persist`].
//!
//! Steps are `PreSync/<wave>`, `Sync/<wave>`, `Prune`, `PostSync/<wave>` and
//! `PruneLast`: objects Git dropped are deleted only once the new Sync-phase
//! objects are healthy (reverse kind order), and objects marked
//! `PruneLast=true` after PostSync. A step recorded as completed is never run
//! again when an interrupted operation is resumed with the same sync id.
//!
//! Every message that leaves the engine (results, errors, log lines) goes
//! through the engine's [`Redactor`], which knows every Secret value of the
//! desired objects and of the live Secrets it read.
//!
//! Requests that do not depend on each other run concurrently, bounded by
//! [`Engine::with_concurrency`] (8 by default): live reads while planning,
//! the dry runs of a diff or of the validation pass, and the applies of
//! one step that share a kind rank (objects of a lower rank, such as
//! Namespaces and CRDs, are always applied before a higher rank starts;
//! hooks are applied one at a time). Results are recorded in the
//! deterministic kind/name order whatever the completion order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, ValidationDirective,
};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};
use kube::runtime::watcher;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::diff::{DiffConfig, ResourceDiff, diff_resource};
use crate::error::SyncError;
use crate::health::{HealthChecks, HealthCode, HealthStatus};
use crate::mask::{LAST_APPLIED, Redactor};
use crate::object::{ResourceKey, annotation, group_of, kind_of, set_annotation};
use crate::options::{PropagationPolicy, Removal, SyncOptions};
use crate::order::{
    HookDeletePolicy, HookKind, SyncPhase, hook_delete_policies, hook_kind, kind_rank, sync_wave,
};
use crate::state::{
    HookPhase, OperationPhase, Persist, ResourceResult, ResultCode, RetryPolicy, SyncState,
};
use crate::tracking::{TRACKING_ANNOTATIONS, owner_app, tracking_id};

/// The field manager of every Kedge write.
pub const FIELD_MANAGER: &str = "kedge";

/// Requests in flight at once by default (see [`Engine::with_concurrency`]).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// An object the application applied before (its inventory entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryEntry {
    /// apiVersion used to reach it.
    pub api_version: String,
    /// Its key.
    pub key: ResourceKey,
}

/// What [`Engine::delete_application`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Objects deleted (deletion requested).
    pub deleted: Vec<ResourceKey>,
    /// Objects left alone, with the reason (`Delete=false`, owned by
    /// another application, already gone).
    pub skipped: Vec<(ResourceKey, String)>,
    /// Objects marked `Delete=confirm` that wait for confirmation; when
    /// non-empty nothing was deleted.
    pub awaiting_confirmation: Vec<ResourceKey>,
}

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// Application name (tracking ids, shared-resource checks).
    pub app: String,
    /// Operation id: resuming uses the same id; generateName hooks are named from it.
    pub sync_id: String,
    /// Git revision (recorded only).
    pub revision: String,
    /// Desired objects as rendered.
    pub desired: Vec<Value>,
    /// Namespace for namespaced objects without one.
    pub namespace: String,
    /// Application-level options.
    pub options: SyncOptions,
    /// Whether pruning is enabled for this operation.
    pub prune: bool,
    /// Allow an empty render to prune everything.
    pub allow_empty: bool,
    /// `Prune=confirm` / `Delete=confirm` confirmation was given.
    pub prune_confirmed: bool,
    /// Objects applied by earlier syncs (prune candidates come from here).
    pub inventory: Vec<InventoryEntry>,
    /// Comparison settings.
    pub diff: DiffConfig,
    /// Labels and annotations of a namespace created by `CreateNamespace=true`.
    pub managed_namespace_metadata: Option<Value>,
    /// Whole-operation timeout (the operation is really stopped).
    pub timeout: Option<Duration>,
    /// How long to wait for one step to become healthy.
    pub wave_timeout: Duration,
    /// Retries of a failed operation.
    pub retry: Option<RetryPolicy>,
}

impl SyncRequest {
    /// A request with default settings.
    pub fn new(app: &str, sync_id: &str, namespace: &str, desired: Vec<Value>) -> SyncRequest {
        SyncRequest {
            app: app.to_string(),
            sync_id: sync_id.to_string(),
            revision: String::new(),
            desired,
            namespace: namespace.to_string(),
            options: SyncOptions::default(),
            prune: false,
            allow_empty: false,
            prune_confirmed: false,
            inventory: Vec::new(),
            diff: DiffConfig::default(),
            managed_namespace_metadata: None,
            timeout: None,
            wave_timeout: Duration::from_secs(300),
            retry: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Resolved {
    ar: ApiResource,
    namespaced: bool,
}

#[derive(Debug, Clone)]
struct Task {
    obj: Value,
    key: ResourceKey,
    api_version: String,
    phase: SyncPhase,
    wave: i64,
    hook: bool,
    delete_policies: Vec<HookDeletePolicy>,
    options: SyncOptions,
    resolved: Option<Resolved>,
    live: Option<Value>,
    predicted: Option<Value>,
    /// The kind is defined by a CRD of this same sync.
    crd_in_sync: bool,
}

#[derive(Debug, Clone)]
struct PruneTask {
    key: ResourceKey,
    api_version: String,
    resolved: Resolved,
    live: Value,
    options: SyncOptions,
}

struct Plan {
    tasks: Vec<Task>,
    prunes: Vec<PruneTask>,
    skipped_prunes: Vec<ResourceResult>,
}

/// The sync engine bound to one cluster.
#[derive(Clone)]
pub struct Engine {
    client: kube::Client,
    resources: Arc<Mutex<HashMap<(String, String), Resolved>>>,
    health: Arc<HealthChecks>,
    redactor: Redactor,
    concurrency: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("health", &self.health)
            .finish()
    }
}

fn api_message(e: &kube::Error) -> (Option<u16>, String) {
    match e {
        kube::Error::Api(s) => (Some(s.code), s.message.clone()),
        other => (None, other.to_string()),
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// Boxes a batch of futures before they are polled concurrently: the boxed
/// futures are `Send` on their own, so the engine's futures stay `Send`
/// (a `buffered` stream over a closure that borrows is not provably `Send`
/// to the compiler).
fn boxed<'a, T, F>(futures: impl Iterator<Item = F>) -> Vec<futures::future::BoxFuture<'a, T>>
where
    F: std::future::Future<Output = T> + Send + 'a,
{
    futures
        .map(|f| Box::pin(f) as futures::future::BoxFuture<'a, T>)
        .collect()
}

fn step_name(phase: SyncPhase, wave: i64) -> String {
    format!("{}/{wave}", phase.as_str())
}

impl Engine {
    /// An engine over a client with only built-in health rules.
    pub fn new(client: kube::Client) -> Engine {
        Engine::with_health(client, HealthChecks::new())
    }

    /// An engine with custom health checks.
    pub fn with_health(client: kube::Client, health: HealthChecks) -> Engine {
        Engine {
            client,
            resources: Arc::new(Mutex::new(HashMap::new())),
            health: Arc::new(health),
            redactor: Redactor::new(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Bounds the requests the engine has in flight at once (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Engine {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The redactor that masks every secret value the engine saw.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    fn api_err(&self, verb: &'static str, key: &ResourceKey, e: &kube::Error) -> SyncError {
        let (code, message) = api_message(e);
        SyncError::Api {
            verb,
            key: key.clone(),
            message: self.redactor.redact(&message),
            code,
        }
    }

    /// Resolves apiVersion/kind through discovery (cached; misses are not
    /// cached, so a CRD applied in this sync becomes visible).
    async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resolved>, kube::Error> {
        let cache_key = (api_version.to_string(), kind.to_string());
        if let Some(r) = self.resources.lock().expect("cache").get(&cache_key) {
            return Ok(Some(r.clone()));
        }
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        let gvk = GroupVersionKind::gvk(&group, &version, kind);
        match kube::discovery::pinned_kind(&self.client, &gvk).await {
            Ok((ar, caps)) => {
                let r = Resolved {
                    ar,
                    namespaced: caps.scope == Scope::Namespaced,
                };
                self.resources
                    .lock()
                    .expect("cache")
                    .insert(cache_key, r.clone());
                Ok(Some(r))
            }
            Err(kube::Error::Discovery(_)) => Ok(None),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn api(&self, r: &Resolved, namespace: &str) -> Api<DynamicObject> {
        if r.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &r.ar)
        } else {
            Api::all_with(self.client.clone(), &r.ar)
        }
    }

    async fn get_live(&self, r: &Resolved, key: &ResourceKey) -> Result<Option<Value>, SyncError> {
        let obj = self
            .api(r, &key.namespace)
            .get_opt(&key.name)
            .await
            .map_err(|e| self.api_err("get", key, &e))?;
        let v = obj.map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
        if let Some(v) = &v {
            self.redactor.learn(v, &[]);
        }
        Ok(v)
    }

    fn patch_params(options: &SyncOptions, dry_run: bool) -> PatchParams {
        let mut pp = PatchParams::apply(FIELD_MANAGER).force();
        pp.dry_run = dry_run;
        pp.field_validation = Some(if options.validate {
            ValidationDirective::Strict
        } else {
            ValidationDirective::Ignore
        });
        pp
    }

    /// Plans the tasks: hooks split by phase, namespaces defaulted, tracking
    /// ids set, kinds resolved, live objects read, prune candidates found.
    async fn plan(&self, req: &SyncRequest) -> Result<Plan, SyncError> {
        let crd_kinds: BTreeMap<(String, String), bool> = req
            .desired
            .iter()
            .filter(|o| kind_of(o) == "CustomResourceDefinition")
            .filter_map(|o| {
                Some((
                    (
                        o.pointer("/spec/group")?.as_str()?.to_string(),
                        o.pointer("/spec/names/kind")?.as_str()?.to_string(),
                    ),
                    o.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster"),
                ))
            })
            .collect();
        let mut tasks = Vec::new();
        for (index, raw) in req.desired.iter().enumerate() {
            self.redactor.learn(raw, &req.diff.sensitive_annotations);
            let api_version = raw
                .get("apiVersion")
                .and_then(Value::as_str)
                .ok_or_else(|| SyncError::InvalidObject {
                    index,
                    message: "apiVersion is required".into(),
                })?
                .to_string();
            let kind = kind_of(raw).to_string();
            if kind.is_empty() {
                return Err(SyncError::InvalidObject {
                    index,
                    message: "kind is required".into(),
                });
            }
            let (phases, hook) = match hook_kind(raw) {
                HookKind::Skip => continue,
                HookKind::None => (vec![SyncPhase::Sync], false),
                HookKind::Hook(p) => (p, true),
            };
            let options = req.options.for_object(raw)?;
            let resolved = self
                .resolve(&api_version, &kind)
                .await
                .map_err(|e| SyncError::Api {
                    verb: "discover",
                    key: ResourceKey::of(raw).unwrap_or_default(),
                    message: api_message(&e).1,
                    code: api_message(&e).0,
                })?;
            let group = group_of(&api_version);
            let crd_scope = crd_kinds.get(&(group.clone(), kind.clone())).copied();
            let namespaced = resolved
                .as_ref()
                .map(|r| r.namespaced)
                .or(crd_scope)
                .unwrap_or(true);
            for phase in phases {
                let mut obj = raw.clone();
                let meta = obj
                    .get_mut("metadata")
                    .and_then(Value::as_object_mut)
                    .ok_or_else(|| SyncError::InvalidObject {
                        index,
                        message: "metadata is required".into(),
                    })?;
                if namespaced {
                    if meta
                        .get("namespace")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        meta.insert("namespace".into(), Value::String(req.namespace.clone()));
                    }
                } else {
                    meta.remove("namespace");
                }
                if hook
                    && !meta.contains_key("name")
                    && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
                {
                    let short: String = req
                        .sync_id
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(7)
                        .collect::<String>()
                        .to_ascii_lowercase();
                    let name = format!("{prefix}{short}-{}", phase.as_str().to_ascii_lowercase());
                    meta.insert("name".into(), Value::String(name));
                    meta.remove("generateName");
                }
                let key = ResourceKey::of(&obj).ok_or_else(|| SyncError::InvalidObject {
                    index,
                    message: "metadata.name is required".into(),
                })?;
                set_annotation(
                    &mut obj,
                    TRACKING_ANNOTATIONS[0],
                    &tracking_id(&req.app, &key),
                );
                tasks.push(Task {
                    wave: sync_wave(&obj),
                    delete_policies: if hook {
                        hook_delete_policies(&obj)
                    } else {
                        vec![]
                    },
                    obj,
                    key,
                    api_version: api_version.clone(),
                    phase,
                    hook,
                    options: options.clone(),
                    resolved: resolved.clone(),
                    live: None,
                    predicted: None,
                    crd_in_sync: crd_scope.is_some(),
                });
            }
        }
        // Live state of the non-hook tasks.
        let lives: Vec<Result<Option<Value>, SyncError>> =
            futures::stream::iter(boxed(tasks.iter().map(|t| async move {
                match &t.resolved {
                    Some(r) if !t.hook => self.get_live(r, &t.key).await,
                    _ => Ok(None),
                }
            })))
            .buffered(self.concurrency)
            .collect()
            .await;
        for (t, live) in tasks.iter_mut().zip(lives) {
            t.live = live?;
        }
        // Prune candidates from the inventory.
        let desired_keys: BTreeSet<ResourceKey> = tasks
            .iter()
            .filter(|t| !t.hook)
            .map(|t| t.key.clone())
            .collect();
        let mut prunes = Vec::new();
        let mut skipped_prunes = Vec::new();
        let mut seen = BTreeSet::new();
        for entry in &req.inventory {
            if desired_keys.contains(&entry.key) || !seen.insert(entry.key.clone()) {
                continue;
            }
            let Some(resolved) = self
                .resolve(&entry.api_version, &entry.key.kind)
                .await
                .map_err(|e| self.api_err("discover", &entry.key, &e))?
            else {
                continue;
            };
            let Some(live) = self.get_live(&resolved, &entry.key).await? else {
                continue;
            };
            if !matches!(hook_kind(&live), HookKind::None) {
                continue;
            }
            let skip = |message: String| ResourceResult {
                key: entry.key.clone(),
                version: entry.api_version.clone(),
                sync_phase: SyncPhase::Sync.as_str().into(),
                wave: sync_wave(&live),
                status: ResultCode::PruneSkipped,
                hook_phase: None,
                health: None,
                message,
            };
            match owner_app(&live) {
                Some(owner) if owner == req.app => {}
                Some(owner) => {
                    warn!(resource = %entry.key, owner = %owner, "SharedResource: not pruning an object owned by another application");
                    skipped_prunes.push(skip(format!("ignored (owned by application {owner:?})")));
                    continue;
                }
                None => {
                    skipped_prunes.push(skip("ignored (not tracked by this application)".into()));
                    continue;
                }
            }
            let options = req.options.for_object(&live)?;
            prunes.push(PruneTask {
                key: entry.key.clone(),
                api_version: entry.api_version.clone(),
                resolved,
                live,
                options,
            });
        }
        Ok(Plan {
            tasks,
            prunes,
            skipped_prunes,
        })
    }

    /// Dry-run server-side apply of a task; None when the kind is unknown
    /// and its dry run may be skipped.
    async fn dry_run(&self, t: &Task) -> Result<Option<Value>, SyncError> {
        let Some(r) = &t.resolved else {
            if t.crd_in_sync || t.options.skip_dry_run_on_missing_resource {
                return Ok(None);
            }
            return Err(SyncError::UnknownKind {
                key: t.key.clone(),
                api_version: t.api_version.clone(),
            });
        };
        let api = self.api(r, &t.key.namespace);
        let pp = Engine::patch_params(&t.options, true);
        let out = api
            .patch(&t.key.name, &pp, &Patch::Apply(&t.obj))
            .await
            .map_err(|e| self.api_err("apply (dry run)", &t.key, &e))?;
        Ok(Some(serde_json::to_value(out).unwrap_or(Value::Null)))
    }

    /// Deletes the objects of a deleted application (its inventory), as
    /// the cascading finalizer does: only objects that still carry this
    /// application's tracking id; `Delete=false` (application options or
    /// the object's sync-options annotation) keeps an object; when any
    /// object is marked `Delete=confirm` and `confirmed` is false nothing
    /// is deleted and those objects are reported as awaiting confirmation.
    /// Deletions use the `PrunePropagationPolicy` option and are not waited
    /// for.
    pub async fn delete_application(
        &self,
        app: &str,
        inventory: &[InventoryEntry],
        options: &SyncOptions,
        confirmed: bool,
    ) -> Result<DeleteOutcome, SyncError> {
        let mut out = DeleteOutcome::default();
        let mut doomed = Vec::new();
        let mut seen = BTreeSet::new();
        for entry in inventory {
            if !seen.insert(entry.key.clone()) {
                continue;
            }
            let Some(r) = self
                .resolve(&entry.api_version, &entry.key.kind)
                .await
                .map_err(|e| self.api_err("discover", &entry.key, &e))?
            else {
                out.skipped
                    .push((entry.key.clone(), "kind no longer served".into()));
                continue;
            };
            let Some(live) = self.get_live(&r, &entry.key).await? else {
                out.skipped.push((entry.key.clone(), "already gone".into()));
                continue;
            };
            match owner_app(&live) {
                Some(owner) if owner == app => {}
                Some(owner) => {
                    out.skipped
                        .push((entry.key.clone(), format!("owned by application {owner:?}")));
                    continue;
                }
                None => {
                    out.skipped
                        .push((entry.key.clone(), "not tracked by this application".into()));
                    continue;
                }
            }
            let o = options.for_object(&live)?;
            match o.delete {
                Removal::Disabled => {
                    out.skipped.push((entry.key.clone(), "Delete=false".into()));
                }
                Removal::Confirm if !confirmed => {
                    out.awaiting_confirmation.push(entry.key.clone());
                }
                _ => doomed.push((entry.key.clone(), r, o.prune_propagation_policy)),
            }
        }
        if !out.awaiting_confirmation.is_empty() {
            return Ok(out);
        }
        for (key, r, policy) in doomed {
            let dp = DeleteParams {
                propagation_policy: Some(match policy {
                    PropagationPolicy::Foreground => kube::api::PropagationPolicy::Foreground,
                    PropagationPolicy::Background => kube::api::PropagationPolicy::Background,
                    PropagationPolicy::Orphan => kube::api::PropagationPolicy::Orphan,
                }),
                ..DeleteParams::default()
            };
            match self.api(&r, &key.namespace).delete(&key.name, &dp).await {
                Ok(_) => {
                    info!(resource = %key, app, "deleted with its application");
                    out.deleted.push(key);
                }
                Err(e) if is_not_found(&e) => out.skipped.push((key, "already gone".into())),
                Err(e) => return Err(self.api_err("delete", &key, &e)),
            }
        }
        Ok(out)
    }

    /// Server-side diff of every non-hook desired object against the
    /// cluster, plus the prune candidates as extraneous. Issues no writes.
    pub async fn diff(&self, req: &SyncRequest) -> Result<Vec<ResourceDiff>, SyncError> {
        let plan = self.plan(req).await?;
        let mut out = Vec::new();
        let diffed: Vec<&Task> = plan.tasks.iter().filter(|t| !t.hook).collect();
        // A namespace that CreateNamespace will create does not exist yet:
        // its objects are compared as rendered instead of by dry run.
        let missing_namespace = req.options.create_namespace
            && !req.namespace.is_empty()
            && !self.namespace_exists(&req.namespace).await?;
        let dry_runs: Vec<Result<Option<Value>, SyncError>> =
            futures::stream::iter(boxed(diffed.iter().map(|t| async move {
                if missing_namespace && t.key.namespace == req.namespace {
                    return Ok(None);
                }
                self.dry_run(t).await
            })))
            .buffered(self.concurrency)
            .collect()
            .await;
        for (t, dry_run) in diffed.into_iter().zip(dry_runs) {
            let predicted = match dry_run {
                Ok(p) => p.unwrap_or_else(|| t.obj.clone()),
                Err(SyncError::UnknownKind { .. }) => t.obj.clone(),
                Err(e) => return Err(e),
            };
            out.push(diff_resource(
                &t.key,
                Some(predicted),
                t.live.clone(),
                &req.diff,
            )?);
        }
        for p in &plan.prunes {
            out.push(diff_resource(
                &p.key,
                None,
                Some(p.live.clone()),
                &req.diff,
            )?);
        }
        Ok(out)
    }

    /// Runs (or resumes) a sync, retrying a failed operation with backoff
    /// when the request has a retry policy, and stopping it at the timeout.
    pub async fn sync<P: Persist>(
        &self,
        req: &SyncRequest,
        persist: &P,
    ) -> Result<SyncState, SyncError> {
        let mut attempt = 0u32;
        loop {
            let state = self.sync_once(req, persist).await?;
            let Some(retry) = &req.retry else {
                return Ok(state);
            };
            if state.phase != OperationPhase::Failed || attempt >= retry.limit {
                return Ok(state);
            }
            let delay = retry.backoff(attempt);
            attempt += 1;
            info!(app = %req.app, attempt, ?delay, "retrying failed sync");
            tokio::time::sleep(delay).await;
            // A new attempt starts over (completed steps are kept, so applied
            // waves are not redone; failed ones are).
            let mut s = state;
            s.phase = OperationPhase::Running;
            s.retry_count = attempt;
            s.finished_at.clear();
            persist.save(&s).await?;
        }
    }

    async fn sync_once<P: Persist>(
        &self,
        req: &SyncRequest,
        persist: &P,
    ) -> Result<SyncState, SyncError> {
        let Some(timeout) = req.timeout else {
            return self.run(req, persist).await;
        };
        match tokio::time::timeout(timeout, self.run(req, persist)).await {
            Ok(r) => r,
            Err(_) => {
                let mut st = persist.load().await?.unwrap_or_default();
                st.sync_id = req.sync_id.clone();
                st.phase = OperationPhase::Failed;
                st.message = format!("operation timed out after {timeout:?}");
                st.finished_at = now();
                persist.save(&st).await?;
                warn!(app = %req.app, "{}", st.message);
                Ok(st)
            }
        }
    }

    async fn fail<P: Persist>(
        &self,
        st: &mut SyncState,
        persist: &P,
        phase: OperationPhase,
        message: String,
    ) -> Result<(), SyncError> {
        st.phase = phase;
        st.message = self.redactor.redact(&message);
        st.finished_at = now();
        warn!(sync = %st.sync_id, message = %st.message, "sync failed");
        persist.save(st).await
    }

    async fn run<P: Persist>(
        &self,
        req: &SyncRequest,
        persist: &P,
    ) -> Result<SyncState, SyncError> {
        let mut st = match persist.load().await? {
            Some(s) if s.sync_id == req.sync_id => {
                if s.phase.is_completed() {
                    return Ok(s);
                }
                info!(sync = %s.sync_id, completed = ?s.completed_steps, "resuming sync");
                s
            }
            _ => SyncState {
                sync_id: req.sync_id.clone(),
                revision: req.revision.clone(),
                phase: OperationPhase::Running,
                started_at: now(),
                ..SyncState::default()
            },
        };
        persist.save(&st).await?;

        if req.options.create_namespace
            && !req.namespace.is_empty()
            && let Err(e) = self.ensure_namespace(req).await
        {
            self.fail(&mut st, persist, OperationPhase::Failed, e.to_string())
                .await?;
            return Ok(st);
        }

        let mut plan = match self.plan(req).await {
            Ok(p) => p,
            Err(e) => {
                self.fail(&mut st, persist, OperationPhase::Error, e.to_string())
                    .await?;
                return Ok(st);
            }
        };

        // Validate everything by dry run before anything is applied.
        let mut invalid = Vec::new();
        let validated: Vec<Option<Result<Option<Value>, SyncError>>> =
            futures::stream::iter(boxed(plan.tasks.iter().map(|t| async move {
                if t.phase == SyncPhase::Sync && !t.hook {
                    Some(self.dry_run(t).await)
                } else {
                    None
                }
            })))
            .buffered(self.concurrency)
            .collect()
            .await;
        for (t, outcome) in plan.tasks.iter_mut().zip(validated) {
            let Some(outcome) = outcome else {
                continue;
            };
            match outcome {
                Ok(p) => t.predicted = p,
                Err(e) => {
                    invalid.push(e.to_string());
                    st.record(ResourceResult {
                        key: t.key.clone(),
                        version: t.api_version.clone(),
                        sync_phase: t.phase.as_str().into(),
                        wave: t.wave,
                        status: ResultCode::SyncFailed,
                        hook_phase: None,
                        health: None,
                        message: self.redactor.redact(&e.to_string()),
                    });
                }
            }
        }
        if !invalid.is_empty() {
            let msg = format!(
                "one or more synchronization tasks are not valid: {}",
                invalid.join("; ")
            );
            self.fail(&mut st, persist, OperationPhase::Failed, msg)
                .await?;
            return Ok(st);
        }

        // Shared resources.
        for t in plan.tasks.iter().filter(|t| !t.hook) {
            if let Some(owner) = t.live.as_ref().and_then(owner_app)
                && owner != req.app
            {
                let e = SyncError::SharedResource {
                    key: t.key.clone(),
                    owner: owner.clone(),
                    app: req.app.clone(),
                };
                if t.options.fail_on_shared_resource {
                    self.fail(&mut st, persist, OperationPhase::Failed, e.to_string())
                        .await?;
                    return Ok(st);
                }
                warn!(resource = %t.key, owner = %owner, "SharedResource: {e}");
            }
        }

        // An empty render never prunes everything.
        let non_hooks = plan.tasks.iter().filter(|t| !t.hook).count();
        if req.prune && non_hooks == 0 && !plan.prunes.is_empty() && !req.allow_empty {
            let msg = format!(
                "refusing to prune all {} resources: the render is empty and allowEmpty is false",
                plan.prunes.len()
            );
            self.fail(&mut st, persist, OperationPhase::Failed, msg)
                .await?;
            return Ok(st);
        }
        for r in plan.skipped_prunes.drain(..) {
            st.record(r);
        }

        // Steps.
        let mut groups: BTreeMap<(SyncPhase, i64), Vec<usize>> = BTreeMap::new();
        for (i, t) in plan.tasks.iter().enumerate() {
            if t.phase != SyncPhase::SyncFail {
                groups.entry((t.phase, t.wave)).or_default().push(i);
            }
        }
        let group_keys: Vec<(SyncPhase, i64)> = groups.keys().copied().collect();
        let mut prune_done = false;
        let (prune_now, prune_last): (Vec<PruneTask>, Vec<PruneTask>) = plan
            .prunes
            .iter()
            .cloned()
            .partition(|p| !p.options.prune_last);
        for (gi, gk) in group_keys.iter().enumerate() {
            if gk.0 > SyncPhase::Sync && !prune_done {
                prune_done = true;
                if !self
                    .prune_step(req, &mut st, persist, "Prune", &prune_now)
                    .await?
                {
                    return Ok(st);
                }
            }
            let name = step_name(gk.0, gk.1);
            if st.completed_steps.contains(&name) {
                debug!(step = %name, "step already completed");
                continue;
            }
            let idx = &groups[gk];
            let last = gi + 1 == group_keys.len();
            let ok = self
                .run_step(req, &mut plan.tasks, idx, &mut st, last)
                .await?;
            if !ok {
                self.run_sync_fail(req, &mut plan.tasks, &mut st).await?;
                let msg = format!("step {name} failed");
                self.fail(&mut st, persist, OperationPhase::Failed, msg)
                    .await?;
                return Ok(st);
            }
            st.completed_steps.push(name);
            persist.save(&st).await?;
        }
        if !prune_done
            && !self
                .prune_step(req, &mut st, persist, "Prune", &prune_now)
                .await?
        {
            return Ok(st);
        }
        if !self
            .prune_step(req, &mut st, persist, "PruneLast", &prune_last)
            .await?
        {
            return Ok(st);
        }
        st.phase = OperationPhase::Succeeded;
        st.message = "successfully synced (all tasks run)".into();
        st.finished_at = now();
        persist.save(&st).await?;
        info!(sync = %st.sync_id, "sync succeeded");
        Ok(st)
    }

    /// Whether a namespace exists in the cluster.
    async fn namespace_exists(&self, name: &str) -> Result<bool, SyncError> {
        let key = ResourceKey {
            kind: "Namespace".into(),
            name: name.to_string(),
            ..ResourceKey::default()
        };
        let Some(r) = self
            .resolve("v1", "Namespace")
            .await
            .map_err(|e| self.api_err("discover", &key, &e))?
        else {
            return Ok(true);
        };
        Ok(self.get_live(&r, &key).await?.is_some())
    }

    async fn ensure_namespace(&self, req: &SyncRequest) -> Result<(), SyncError> {
        let key = ResourceKey {
            kind: "Namespace".into(),
            name: req.namespace.clone(),
            ..ResourceKey::default()
        };
        let r = self
            .resolve("v1", "Namespace")
            .await
            .map_err(|e| self.api_err("discover", &key, &e))?
            .ok_or_else(|| SyncError::UnknownKind {
                key: key.clone(),
                api_version: "v1".into(),
            })?;
        let live = self.get_live(&r, &key).await?;
        let mut ns =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": req.namespace}});
        if let Some(m) = &req.managed_namespace_metadata {
            for f in ["labels", "annotations"] {
                if let Some(v) = m.get(f) {
                    ns["metadata"][f] = v.clone();
                }
            }
        }
        let up_to_date = live.as_ref().is_some_and(|l| {
            ["labels", "annotations"].iter().all(|f| {
                ns["metadata"]
                    .get(*f)
                    .and_then(Value::as_object)
                    .is_none_or(|want| {
                        want.iter()
                            .all(|(k, v)| l["metadata"][*f].get(k) == Some(v))
                    })
            })
        });
        if up_to_date {
            return Ok(());
        }
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        self.api(&r, "")
            .patch(&req.namespace, &pp, &Patch::Apply(&ns))
            .await
            .map_err(|e| self.api_err("apply", &key, &e))?;
        info!(namespace = %req.namespace, "created namespace");
        Ok(())
    }

    /// Applies one object according to its options; returns the result.
    async fn apply_task(
        &self,
        t: &Task,
        ignore: &[crate::ignore::ResourceIgnoreDifferences],
    ) -> Result<Value, SyncError> {
        let r = match &t.resolved {
            Some(r) => r.clone(),
            None => self
                .resolve(&t.api_version, &t.key.kind)
                .await
                .map_err(|e| self.api_err("discover", &t.key, &e))?
                .ok_or_else(|| SyncError::UnknownKind {
                    key: t.key.clone(),
                    api_version: t.api_version.clone(),
                })?,
        };
        let api = self.api(&r, &t.key.namespace);
        // Plain server-side apply needs no live object: skip the read.
        let needs_live = t.options.replace
            || !t.options.server_side_apply
            || (t.options.respect_ignore_differences && !ignore.is_empty());
        let live = if t.hook || !needs_live {
            None
        } else {
            self.get_live(&r, &t.key).await?
        };
        let to_value = |o: DynamicObject| serde_json::to_value(o).unwrap_or(Value::Null);
        let pp_post = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        let obj: DynamicObject =
            serde_json::from_value(t.obj.clone()).map_err(|e| SyncError::InvalidObject {
                index: 0,
                message: format!("{}: {e}", t.key),
            })?;
        if t.options.replace {
            if t.options.force && live.is_some() {
                self.delete_and_wait(&r, &t.key, PropagationPolicy::Foreground)
                    .await?;
                return api
                    .create(&pp_post, &obj)
                    .await
                    .map(to_value)
                    .map_err(|e| self.api_err("create", &t.key, &e));
            }
            return match live {
                None => api
                    .create(&pp_post, &obj)
                    .await
                    .map(to_value)
                    .map_err(|e| self.api_err("create", &t.key, &e)),
                Some(l) => {
                    let mut o = obj;
                    o.metadata.resource_version = l
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .map(String::from);
                    api.replace(&t.key.name, &pp_post, &o)
                        .await
                        .map(to_value)
                        .map_err(|e| self.api_err("replace", &t.key, &e))
                }
            };
        }
        let mut desired = t.obj.clone();
        if t.options.respect_ignore_differences
            && let Some(l) = &live
        {
            crate::ignore::respect_ignore_differences(ignore, &t.key, &mut desired, l)?;
        }
        if !t.options.server_side_apply {
            return self
                .client_side_apply(&api, &r, t, &desired, live, obj)
                .await;
        }
        let pp = Engine::patch_params(&t.options, false);
        api.patch(&t.key.name, &pp, &Patch::Apply(&desired))
            .await
            .map(to_value)
            .map_err(|e| self.api_err("apply", &t.key, &e))
    }

    /// kubectl-style client-side apply: the last-applied annotation and a
    /// three-way patch (strategic for built-in kinds, JSON merge otherwise).
    async fn client_side_apply(
        &self,
        api: &Api<DynamicObject>,
        r: &Resolved,
        t: &Task,
        desired: &Value,
        live: Option<Value>,
        obj: DynamicObject,
    ) -> Result<Value, SyncError> {
        let mut modified = desired.clone();
        if let Some(a) = modified
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            a.shift_remove(LAST_APPLIED);
        }
        let last_applied = serde_json::to_string(&modified).unwrap_or_default();
        set_annotation(&mut modified, LAST_APPLIED, &last_applied);
        let to_value = |o: DynamicObject| serde_json::to_value(o).unwrap_or(Value::Null);
        let Some(live) = live else {
            let mut o = obj;
            o.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(LAST_APPLIED.into(), last_applied);
            let pp = PostParams {
                field_manager: Some("kubectl-client-side-apply".into()),
                ..PostParams::default()
            };
            return api
                .create(&pp, &o)
                .await
                .map(to_value)
                .map_err(|e| self.api_err("create", &t.key, &e));
        };
        let original: Value = annotation(&live, LAST_APPLIED)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null);
        let gvk = kedge_core::GroupVersionKind {
            group: r.ar.group.clone(),
            version: r.ar.version.clone(),
            kind: r.ar.kind.clone(),
        };
        let registry = kedge_schema::Registry::builtin();
        let (patch, strategic) = match registry.type_for(&gvk) {
            Some(ty) => (
                kedge_merge::create_three_way_merge_patch(
                    &original,
                    &modified,
                    &live,
                    registry.schema(),
                    &ty,
                    true,
                )
                .map_err(|e| SyncError::Api {
                    verb: "patch",
                    key: t.key.clone(),
                    message: self.redactor.redact(&e.to_string()),
                    code: None,
                })?,
                true,
            ),
            None => (
                kedge_merge::mergepatch::create_three_way_merge_patch(&original, &modified, &live)
                    .map_err(|e| SyncError::Api {
                        verb: "patch",
                        key: t.key.clone(),
                        message: self.redactor.redact(&e.to_string()),
                        code: None,
                    })?,
                false,
            ),
        };
        if patch.as_object().is_some_and(|m| m.is_empty()) {
            return Ok(live);
        }
        let pp = PatchParams {
            field_manager: Some("kubectl-client-side-apply".into()),
            field_validation: Some(if t.options.validate {
                ValidationDirective::Strict
            } else {
                ValidationDirective::Ignore
            }),
            ..PatchParams::default()
        };
        let res = if strategic {
            api.patch(&t.key.name, &pp, &Patch::Strategic(&patch)).await
        } else {
            api.patch(&t.key.name, &pp, &Patch::Merge(&patch)).await
        };
        match res {
            Ok(o) => Ok(to_value(o)),
            Err(e) if t.options.force && matches!(api_message(&e).0, Some(409 | 422)) => {
                self.delete_and_wait(r, &t.key, PropagationPolicy::Foreground)
                    .await?;
                let mut o = obj;
                o.metadata
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert(LAST_APPLIED.into(), last_applied);
                api.create(&PostParams::default(), &o)
                    .await
                    .map(to_value)
                    .map_err(|e| self.api_err("create", &t.key, &e))
            }
            Err(e) => Err(self.api_err("patch", &t.key, &e)),
        }
    }

    async fn delete_and_wait(
        &self,
        r: &Resolved,
        key: &ResourceKey,
        policy: PropagationPolicy,
    ) -> Result<(), SyncError> {
        let api = self.api(r, &key.namespace);
        let dp = DeleteParams {
            propagation_policy: Some(match policy {
                PropagationPolicy::Foreground => kube::api::PropagationPolicy::Foreground,
                PropagationPolicy::Background => kube::api::PropagationPolicy::Background,
                PropagationPolicy::Orphan => kube::api::PropagationPolicy::Orphan,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&key.name, &dp).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(self.api_err("delete", key, &e)),
        }
        self.wait_gone(r, key).await
    }

    /// Waits (watch-driven) until an object no longer exists: deletions
    /// with finalizers or foreground propagation finish asynchronously.
    async fn wait_gone(&self, r: &Resolved, key: &ResourceKey) -> Result<(), SyncError> {
        let api = self.api(r, &key.namespace);
        let mut stream = watcher(api.clone(), watcher::Config::default()).boxed();
        loop {
            match api.get_opt(&key.name).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {}
                Err(e) => return Err(self.api_err("get", key, &e)),
            }
            // Any event may be the one that removed it; re-check after each.
            loop {
                match stream.try_next().await {
                    Ok(Some(watcher::Event::Delete(o)))
                        if o.metadata.name.as_deref() == Some(&key.name) =>
                    {
                        return Ok(());
                    }
                    Ok(Some(watcher::Event::Apply(o)))
                        if o.metadata.name.as_deref() == Some(&key.name) =>
                    {
                        break;
                    }
                    Ok(Some(watcher::Event::InitDone)) => break,
                    Ok(Some(_)) => {}
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        return Err(SyncError::Api {
                            verb: "watch",
                            key: key.clone(),
                            message: e.to_string(),
                            code: None,
                        });
                    }
                }
            }
        }
    }

    /// Runs one step; returns false when it failed.
    async fn run_step(
        &self,
        req: &SyncRequest,
        tasks: &mut [Task],
        idx: &[usize],
        st: &mut SyncState,
        last: bool,
    ) -> Result<bool, SyncError> {
        let mut order: Vec<usize> = idx.to_vec();
        order.sort_by(|a, b| {
            let (x, y) = (&tasks[*a], &tasks[*b]);
            (
                kind_rank(&x.key.kind),
                &x.key.kind,
                &x.key.name,
                &x.key.namespace,
            )
                .cmp(&(
                    kind_rank(&y.key.kind),
                    &y.key.kind,
                    &y.key.name,
                    &y.key.namespace,
                ))
        });
        let mut ok = true;
        let mut waits = Vec::new();
        let tasks_ro: &[Task] = tasks;
        let mut pos = 0;
        while pos < order.len() {
            // A chunk: one hook alone, or the non-hook tasks of one kind rank.
            let first = &tasks_ro[order[pos]];
            let mut end = pos + 1;
            if !first.hook {
                let rank = kind_rank(&first.key.kind);
                while end < order.len()
                    && !tasks_ro[order[end]].hook
                    && kind_rank(&tasks_ro[order[end]].key.kind) == rank
                {
                    end += 1;
                }
            }
            let chunk = &order[pos..end];
            pos = end;
            let mut to_apply = Vec::with_capacity(chunk.len());
            for &i in chunk {
                let t = &tasks_ro[i];
                // Hooks: delete the previous instance first (BeforeHookCreation).
                if t.hook
                    && t.delete_policies
                        .contains(&HookDeletePolicy::BeforeHookCreation)
                    && let Some(r) = &t.resolved
                {
                    self.delete_and_wait(r, &t.key, PropagationPolicy::Background)
                        .await?;
                }
                if !t.hook
                    && t.options.apply_out_of_sync_only
                    && t.live.is_some()
                    && let Some(pred) = &t.predicted
                {
                    let d = diff_resource(&t.key, Some(pred.clone()), t.live.clone(), &req.diff)?;
                    if !d.modified {
                        to_apply.push((i, None));
                        continue;
                    }
                }
                to_apply.push((i, Some(())));
            }
            let applied: Vec<(usize, Option<Result<Value, SyncError>>)> =
                futures::stream::iter(boxed(to_apply.into_iter().map(|(i, apply)| async move {
                    match apply {
                        Some(()) => (
                            i,
                            Some(self.apply_task(&tasks_ro[i], &req.diff.ignore).await),
                        ),
                        None => (i, None),
                    }
                })))
                .buffered(self.concurrency)
                .collect()
                .await;
            for (i, outcome) in applied {
                let t = &tasks_ro[i];
                match outcome {
                    None => {
                        st.record(self.result(t, ResultCode::Synced, None, "unchanged".into()));
                    }
                    Some(Ok(_)) => {
                        info!(resource = %t.key, phase = t.phase.as_str(), wave = t.wave, "applied");
                        let hook_phase = t.hook.then_some(HookPhase::Running);
                        let msg = if t.hook { "hook created" } else { "applied" };
                        st.record(self.result(t, ResultCode::Synced, hook_phase, msg.into()));
                        if t.key.kind == "CustomResourceDefinition" {
                            self.wait_crd_established(t).await?;
                        }
                        if (t.hook || !last)
                            && let Some(r) = self.task_resolved(t).await?
                            && (t.hook || self.health.assess(&t.obj).ok().flatten().is_some())
                        {
                            waits.push((i, r));
                        }
                    }
                    Some(Err(e)) => {
                        ok = false;
                        let msg = self.redactor.redact(&e.to_string());
                        warn!(resource = %t.key, error = %msg, "apply failed");
                        let hook_phase = t.hook.then_some(HookPhase::Error);
                        st.record(self.result(t, ResultCode::SyncFailed, hook_phase, msg));
                    }
                }
            }
        }
        if !ok {
            return Ok(false);
        }
        // Wait for health (hooks: completion).
        let outcomes = self.wait_health(tasks, &waits, req.wave_timeout).await?;
        for (i, h) in outcomes {
            let t = &tasks[i];
            let good = h.status == HealthCode::Healthy;
            let hook_phase = if t.hook {
                Some(if good {
                    HookPhase::Succeeded
                } else {
                    HookPhase::Failed
                })
            } else {
                None
            };
            let mut r = self.result(
                t,
                if good || t.hook {
                    ResultCode::Synced
                } else {
                    ResultCode::SyncFailed
                },
                hook_phase,
                self.redactor.redact(&h.message),
            );
            r.health = Some(h.status);
            st.record(r);
            if !good {
                ok = false;
            }
            if t.hook {
                let policy = if good {
                    HookDeletePolicy::HookSucceeded
                } else {
                    HookDeletePolicy::HookFailed
                };
                if t.delete_policies.contains(&policy)
                    && let Some(r) = self.task_resolved(t).await?
                {
                    self.delete_and_wait(&r, &t.key, PropagationPolicy::Background)
                        .await?;
                }
            }
        }
        Ok(ok)
    }

    async fn task_resolved(&self, t: &Task) -> Result<Option<Resolved>, SyncError> {
        match &t.resolved {
            Some(r) => Ok(Some(r.clone())),
            None => self
                .resolve(&t.api_version, &t.key.kind)
                .await
                .map_err(|e| self.api_err("discover", &t.key, &e)),
        }
    }

    fn result(
        &self,
        t: &Task,
        status: ResultCode,
        hook_phase: Option<HookPhase>,
        message: String,
    ) -> ResourceResult {
        ResourceResult {
            key: t.key.clone(),
            version: t.api_version.clone(),
            sync_phase: t.phase.as_str().into(),
            wave: t.wave,
            status,
            hook_phase,
            health: None,
            message,
        }
    }

    /// Waits until an applied CRD is Established, then forgets cached
    /// discovery so its kinds resolve.
    async fn wait_crd_established(&self, t: &Task) -> Result<(), SyncError> {
        let Some(r) = self.task_resolved(t).await? else {
            return Ok(());
        };
        let api = self.api(&r, "");
        let cond = |o: Option<&DynamicObject>| {
            o.is_some_and(|o| {
                let v = serde_json::to_value(o).unwrap_or(Value::Null);
                v.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Established" && c["status"] == "True")
                    })
            })
        };
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            kube::runtime::wait::await_condition(api, &t.key.name, cond),
        )
        .await;
        if waited.is_err() {
            warn!(resource = %t.key, "CRD not established after 30s");
        }
        self.resources.lock().expect("cache").clear();
        Ok(())
    }

    /// Watches the objects until each is healthy (hooks: finished) or
    /// failed, or the timeout passes. One watch per resource type and
    /// namespace.
    async fn wait_health(
        &self,
        tasks: &[Task],
        waits: &[(usize, Resolved)],
        timeout: Duration,
    ) -> Result<Vec<(usize, HealthStatus)>, SyncError> {
        let mut groups: BTreeMap<
            (String, String, String, String),
            (Resolved, BTreeMap<String, usize>),
        > = BTreeMap::new();
        for (i, r) in waits {
            let t = &tasks[*i];
            let k = (
                r.ar.group.clone(),
                r.ar.version.clone(),
                r.ar.plural.clone(),
                t.key.namespace.clone(),
            );
            groups
                .entry(k)
                .or_insert_with(|| (r.clone(), BTreeMap::new()))
                .1
                .insert(t.key.name.clone(), *i);
        }
        let results = Arc::new(Mutex::new(BTreeMap::<usize, HealthStatus>::new()));
        let futs = groups.into_iter().map(|((_, _, _, ns), (r, names))| {
            let results = results.clone();
            let api = self.api(&r, &ns);
            async move {
                let mut pending = names;
                let mut stream = watcher(api, watcher::Config::default()).boxed();
                while !pending.is_empty() {
                    let ev = match stream.try_next().await {
                        Ok(Some(ev)) => ev,
                        Ok(None) => break,
                        Err(e) => {
                            debug!(error = %e, "watch error; the watcher retries");
                            continue;
                        }
                    };
                    let (obj, deleted) = match ev {
                        watcher::Event::Apply(o) | watcher::Event::InitApply(o) => (o, false),
                        watcher::Event::Delete(o) => (o, true),
                        _ => continue,
                    };
                    let Some(name) = obj.metadata.name.clone() else {
                        continue;
                    };
                    let Some(&i) = pending.get(&name) else {
                        continue;
                    };
                    let t = &tasks[i];
                    let h = if deleted {
                        HealthStatus::new(
                            HealthCode::Missing,
                            format!("{} is missing, it might have been deleted", t.key),
                        )
                    } else {
                        let v = serde_json::to_value(&obj).unwrap_or(Value::Null);
                        match self.health.assess(&v) {
                            Ok(Some(h)) => h,
                            Ok(None) => HealthStatus::new(HealthCode::Healthy, ""),
                            Err(e) => HealthStatus::new(HealthCode::Unknown, e.to_string()),
                        }
                    };
                    let done = match h.status {
                        HealthCode::Healthy | HealthCode::Degraded | HealthCode::Missing => true,
                        HealthCode::Unknown => t.hook,
                        HealthCode::Suspended | HealthCode::Progressing => false,
                    };
                    if done {
                        pending.remove(&name);
                    }
                    results.lock().expect("results").insert(i, h);
                }
            }
        });
        let all = futures::future::join_all(futs);
        let timed_out = tokio::time::timeout(timeout, all).await.is_err();
        let mut out: Vec<(usize, HealthStatus)> = Vec::new();
        let results = results.lock().expect("results").clone();
        for (i, _) in waits {
            let h = results.get(i).cloned().unwrap_or_default();
            let finished = matches!(
                h.status,
                HealthCode::Healthy | HealthCode::Degraded | HealthCode::Missing
            ) || (tasks[*i].hook && h.status == HealthCode::Unknown);
            if !finished && timed_out {
                out.push((
                    *i,
                    HealthStatus::new(
                        HealthCode::Progressing,
                        format!(
                            "timed out after {timeout:?} waiting for healthy state of {}: {}",
                            tasks[*i].key, h.message
                        ),
                    ),
                ));
            } else {
                out.push((*i, h));
            }
        }
        Ok(out)
    }

    /// Runs the SyncFail hooks after a failed step (failures are recorded,
    /// not escalated).
    async fn run_sync_fail(
        &self,
        req: &SyncRequest,
        tasks: &mut [Task],
        st: &mut SyncState,
    ) -> Result<(), SyncError> {
        let idx: Vec<usize> = tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.phase == SyncPhase::SyncFail)
            .map(|(i, _)| i)
            .collect();
        if idx.is_empty() {
            return Ok(());
        }
        info!(count = idx.len(), "running SyncFail hooks");
        self.run_step(req, tasks, &idx, st, false).await?;
        Ok(())
    }

    /// Deletes prune candidates in reverse kind order; returns false when
    /// the operation was failed (and saved).
    async fn prune_step<P: Persist>(
        &self,
        req: &SyncRequest,
        st: &mut SyncState,
        persist: &P,
        name: &str,
        prunes: &[PruneTask],
    ) -> Result<bool, SyncError> {
        if prunes.is_empty() || st.completed_steps.iter().any(|s| s == name) {
            return Ok(true);
        }
        // Prune=confirm: pause the whole step until the caller confirms.
        let unconfirmed: Vec<ResourceKey> = prunes
            .iter()
            .filter(|p| req.prune && p.options.prune == Removal::Confirm && !req.prune_confirmed)
            .map(|p| p.key.clone())
            .collect();
        if !unconfirmed.is_empty() {
            st.message = format!(
                "waiting for pruning confirmation of {} resource(s): {}",
                unconfirmed.len(),
                unconfirmed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            info!(sync = %st.sync_id, step = name, "{}", st.message);
            st.awaiting_confirmation = unconfirmed;
            persist.save(st).await?;
            return Ok(false);
        }
        st.awaiting_confirmation.clear();
        let mut order: Vec<&PruneTask> = prunes.iter().collect();
        order.sort_by(|a, b| {
            (sync_wave(&b.live), kind_rank(&b.key.kind), &b.key.name).cmp(&(
                sync_wave(&a.live),
                kind_rank(&a.key.kind),
                &a.key.name,
            ))
        });
        let mut failed = false;
        let mut deleted = Vec::new();
        for p in order {
            let mut result = ResourceResult {
                key: p.key.clone(),
                version: p.api_version.clone(),
                sync_phase: SyncPhase::Sync.as_str().into(),
                wave: sync_wave(&p.live),
                status: ResultCode::PruneSkipped,
                hook_phase: None,
                health: None,
                message: String::new(),
            };
            if !req.prune {
                result.message = "ignored (requires pruning)".into();
            } else if p.options.prune == Removal::Disabled {
                result.message = "ignored (no prune)".into();
            } else {
                let api = self.api(&p.resolved, &p.key.namespace);
                let dp = DeleteParams {
                    propagation_policy: Some(match p.options.prune_propagation_policy {
                        PropagationPolicy::Foreground => kube::api::PropagationPolicy::Foreground,
                        PropagationPolicy::Background => kube::api::PropagationPolicy::Background,
                        PropagationPolicy::Orphan => kube::api::PropagationPolicy::Orphan,
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(&p.key.name, &dp).await {
                    Ok(_) => {
                        info!(resource = %p.key, "pruned");
                        result.status = ResultCode::Pruned;
                        result.message = "pruned".into();
                        deleted.push(p);
                    }
                    Err(e) if is_not_found(&e) => {
                        result.status = ResultCode::Pruned;
                        result.message = "already gone".into();
                    }
                    Err(e) => {
                        failed = true;
                        result.status = ResultCode::SyncFailed;
                        result.message = self.api_err("delete", &p.key, &e).to_string();
                    }
                }
            }
            st.record(result);
        }
        // Pruned objects still terminating are waited for (bounded).
        let gone = futures::future::try_join_all(
            deleted.iter().map(|p| self.wait_gone(&p.resolved, &p.key)),
        );
        match tokio::time::timeout(req.wave_timeout, gone).await {
            Ok(r) => {
                r?;
            }
            Err(_) => {
                failed = true;
                st.message = format!(
                    "timed out after {:?} waiting for pruned resources to be deleted",
                    req.wave_timeout
                );
            }
        }
        if failed {
            self.fail(
                st,
                persist,
                OperationPhase::Failed,
                format!("step {name} failed"),
            )
            .await?;
            return Ok(false);
        }
        st.completed_steps.push(name.to_string());
        persist.save(st).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod send_check {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Callers spawn the engine's futures on multi-threaded runtimes.
    #[allow(dead_code)]
    fn engine_futures_are_send(engine: &Engine, req: &SyncRequest) {
        let persist = crate::state::MemoryPersist::default();
        assert_send(&engine.diff(req));
        assert_send(&engine.sync(req, &persist));
        assert_send(&engine.delete_application("app", &[], &req.options, false));
    }
}
