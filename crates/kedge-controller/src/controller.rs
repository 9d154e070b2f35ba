//! The Application reconciler.
//!
//! One reconciliation of an Application: check its project, resolve the
//! target revision in the Git cache, render the commit, compare the result
//! with the cluster through the sync engine's server-side dry run, and, when
//! the sync policy or a requested operation says so, sync. The status
//! (sync, health, resources, conditions, operation state, inventory,
//! history) is written back to the Application; that status is the only
//! memory the controller has, so a restarted controller continues where the
//! last one stopped.
//!
//! Automated sync follows Argo CD: one attempt per revision; a revision whose
//! sync failed is not retried unless self-heal is on, and drift of an
//! already-synced revision is corrected only with self-heal. An invalid
//! commit (a render error) leaves the cluster and `status.sync.revision` on
//! the last good revision and records a `ComparisonError` condition.
//!
//! Triggers: a watch on Applications (spec, operation, refresh annotation
//! and deletion changes), and a periodic resync of every application (the
//! Git poll, also the self-heal check of drifted live objects).

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, ObjectReference};
use kedge_git::{CacheConfig, CredentialStore, GitCache, RepoUrl};
use kedge_sync::{
    Engine, HealthChecks, HealthCode, InventoryEntry, MemoryPersist, OperationPhase, ResourceKey,
    ResultCode, SyncOptions, SyncRequest,
};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::runtime::watcher;
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::error::ControllerError;
use crate::project;
use crate::render;
use crate::types::{
    AppProjectSpec, Application, ApplicationStatus, Condition, GROUP, HealthStatusField,
    HistoryEntry, OperationStateField, REFRESH_ANNOTATION, RESOURCES_FINALIZER, ResourceStatus,
    VERSION,
};

/// Field manager of status writes.
pub const STATUS_MANAGER: &str = "kedge-controller";

/// Controller settings.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Namespace of Applications and AppProjects.
    pub namespace: String,
    /// Periodic resync (Git poll and drift check).
    pub resync: Duration,
    /// Git cache directory.
    pub cache_dir: PathBuf,
    /// Allow `file://` repositories (local development and tests).
    pub allow_file_protocol: bool,
}

impl ControllerConfig {
    /// Defaults: namespace `kedge`, resync every 3 minutes.
    pub fn new(cache_dir: impl Into<PathBuf>) -> ControllerConfig {
        ControllerConfig {
            namespace: crate::types::DEFAULT_NAMESPACE.to_string(),
            resync: Duration::from_secs(180),
            cache_dir: cache_dir.into(),
            allow_file_protocol: false,
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

/// The Application controller.
pub struct Controller {
    client: kube::Client,
    config: ControllerConfig,
    cache: GitCache,
    engine: Engine,
    health: HealthChecks,
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
            engine: Engine::new(client.clone()),
            client,
            config,
            cache,
            health: HealthChecks::new(),
        })
    }

    fn apps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.config.namespace,
            &application_resource(),
        )
    }

    /// Runs until `shutdown` resolves: watch-driven and periodic reconciles.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let stream = watcher(self.apps(), watcher::Config::default());
        let mut stream = std::pin::pin!(stream);
        let mut tick = tokio::time::interval(self.config.resync);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Last seen trigger fingerprint per app: status writes alone do not
        // retrigger a reconcile.
        let mut seen: HashMap<String, String> = HashMap::new();
        loop {
            let names: Vec<String> = tokio::select! {
                _ = &mut shutdown => return,
                _ = tick.tick() => match self.apps().list(&ListParams::default()).await {
                    Ok(list) => list.items.iter().filter_map(|o| o.metadata.name.clone()).collect(),
                    Err(e) => { warn!(error = %e, "listing applications"); Vec::new() }
                },
                ev = stream.next() => match ev {
                    Some(Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj))) => {
                        let name = obj.metadata.name.clone().unwrap_or_default();
                        let fp = fingerprint(&obj);
                        if seen.get(&name) == Some(&fp) { Vec::new() } else {
                            seen.insert(name.clone(), fp);
                            vec![name]
                        }
                    }
                    Some(Ok(watcher::Event::Delete(obj))) => {
                        seen.remove(obj.metadata.name.as_deref().unwrap_or(""));
                        Vec::new()
                    }
                    Some(Ok(_)) => Vec::new(),
                    Some(Err(e)) => { warn!(error = %e, "application watch"); Vec::new() }
                    None => return,
                },
            };
            for name in names {
                match self.reconcile(&name).await {
                    Ok(outcome) => info!(app = %name, ?outcome, "reconciled"),
                    Err(e) => warn!(app = %name, error = %e, "reconcile failed"),
                }
            }
        }
    }

    /// Reconciles one application by name.
    pub async fn reconcile(&self, name: &str) -> Result<Outcome, ControllerError> {
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
            .compare_and_sync(&app, &mut status, operation.as_ref())
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
        self.write_status(name, &status).await?;
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
        let url = RepoUrl::parse(&spec.source.repo_url)?;
        let hard = app.annotation(REFRESH_ANNOTATION) == Some("hard");
        if hard {
            self.cache.invalidate_repo(&url);
        }
        self.cache.fetch_repo(&url).await?;
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
        let checkout = self.cache.materialize(&url, &sha).await?;
        let mut desired = render::render(&checkout, &spec.source).map_err(|e| match e {
            ControllerError::Render { path, message } => ControllerError::Render {
                path: format!("{path} at {}", short(&sha)),
                message,
            },
            other => other,
        })?;
        self.default_namespaces(&mut desired, &dest_ns).await;
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
            self.ensure_namespace(&dest_ns).await?;
        }
        let diffs = self.engine.diff(&req).await?;
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
        let should_sync = if op_sync.is_some() {
            !dry_run
        } else if let Some(a) = &auto {
            out_of_sync && (last_attempt.as_deref() != Some(sha.as_str()) || a.self_heal)
        } else {
            false
        };
        let mut synced = false;
        if should_sync {
            if last_attempt.as_deref() == Some(sha.as_str()) && op_sync.is_none() {
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
            let persist = MemoryPersist::default();
            let state = self.engine.sync(&req, &persist).await?;
            synced = true;
            let phase = format!("{:?}", state.phase);
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
            if state.phase == OperationPhase::Succeeded {
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
        // Compare (again after a sync) for status.
        let diffs = if synced {
            req.inventory = status.inventory.clone();
            self.engine.diff(&req).await?
        } else {
            diffs
        };
        let mut codes = Vec::new();
        status.resources.clear();
        for d in &diffs {
            let health = if d.missing || d.live.is_empty() {
                Some(HealthCode::Missing)
            } else {
                render::parse_manifests(&d.live)
                    .ok()
                    .and_then(|docs| docs.into_iter().next())
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
        status.sync.status = if out_of_sync { "OutOfSync" } else { "Synced" }.into();
        status.sync.revision = sha;
        status.health = HealthStatusField {
            status: code_str(kedge_sync::aggregate(codes.iter())),
            message: String::new(),
        };
        Ok(synced)
    }

    /// Creates the destination namespace (`CreateNamespace=true`) before the
    /// server-side dry run that compares against it.
    async fn ensure_namespace(&self, name: &str) -> Result<(), ControllerError> {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
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

    /// Sets the destination namespace on namespaced objects without one.
    async fn default_namespaces(&self, objects: &mut [Value], namespace: &str) {
        let mut scope: HashMap<(String, String), bool> = HashMap::new();
        for obj in objects.iter_mut() {
            if obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
            {
                continue;
            }
            let api_version = obj
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let kind = obj
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let key = (api_version.clone(), kind.clone());
            let namespaced = match scope.get(&key) {
                Some(n) => *n,
                None => {
                    let (group, version) =
                        api_version.rsplit_once('/').unwrap_or(("", &api_version));
                    let gvk = GroupVersionKind::gvk(group, version, &kind);
                    let n = match kube::discovery::pinned_kind(&self.client, &gvk).await {
                        Ok((_, caps)) => caps.scope == kube::discovery::Scope::Namespaced,
                        // Unknown kinds (a CRD of this same sync) are taken as namespaced.
                        Err(_) => kind != "CustomResourceDefinition" && kind != "Namespace",
                    };
                    scope.insert(key, n);
                    n
                }
            };
            if namespaced
                && !namespace.is_empty()
                && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(namespace.to_string()));
            }
        }
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
        let state = self.engine.sync(&req, &MemoryPersist::default()).await?;
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

fn fingerprint(obj: &DynamicObject) -> String {
    format!(
        "{:?}|{:?}|{:?}|{}",
        obj.metadata.generation,
        obj.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REFRESH_ANNOTATION)),
        obj.metadata.deletion_timestamp,
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
