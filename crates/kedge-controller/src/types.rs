//! The `Application` and `AppProject` resources (`kedge.dev/v1alpha1`).
//!
//! The spec mirrors Argo CD's Application field for field, so a manifest
//! written for `argoproj.io/v1alpha1` converts by changing its apiVersion
//! ([`from_argocd`]). The types are plain serde structs over the camelCase
//! wire format; unknown fields are kept by the API server (the CRD schema
//! preserves them) and ignored here. The CRD manifests themselves are built
//! in code by [`crd`](crate::crd), next to these types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// API group of Kedge's resources.
pub const GROUP: &str = "kedge.dev";
/// API version of Kedge's resources.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of Kedge's resources.
pub const API_VERSION: &str = "kedge.dev/v1alpha1";
/// Finalizer requesting cascade deletion of an application's resources.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.kedge.dev";
/// Annotation asking for a refresh (`normal` or `hard`).
pub const REFRESH_ANNOTATION: &str = "kedge.dev/refresh";
/// Default namespace of applications, projects and secrets.
pub const DEFAULT_NAMESPACE: &str = "kedge";

/// An Application: a source in Git deployed to a destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// `kedge.dev/v1alpha1`.
    #[serde(default)]
    pub api_version: String,
    /// `Application`.
    #[serde(default)]
    pub kind: String,
    /// Object metadata (kept as JSON).
    #[serde(default)]
    pub metadata: Value,
    /// Desired state.
    #[serde(default)]
    pub spec: ApplicationSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationStatus>,
}

impl Application {
    /// A new application with the given name and namespace.
    pub fn new(name: &str, namespace: &str, spec: ApplicationSpec) -> Application {
        Application {
            api_version: API_VERSION.to_string(),
            kind: "Application".to_string(),
            metadata: serde_json::json!({"name": name, "namespace": namespace}),
            spec,
            status: None,
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> &str {
        self.metadata
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .get("annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }
}

/// `spec` of an Application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// AppProject name (`default` when empty).
    #[serde(default)]
    pub project: String,
    /// Where the manifests come from.
    #[serde(default)]
    pub source: ApplicationSource,
    /// Where they go.
    #[serde(default)]
    pub destination: ApplicationDestination,
    /// Automation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Fields ignored when comparing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<Value>,
    /// How many history entries to keep (10 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<u32>,
    /// Free-form information shown to users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<Value>,
}

/// `spec.source`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// Repository URL.
    #[serde(rename = "repoURL", default)]
    pub repo_url: String,
    /// Branch, tag, SHA or `HEAD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_revision: String,
    /// Directory inside the repository.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Plain-directory options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
    /// Kustomize options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeSource>,
}

/// `spec.source.directory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySource {
    /// Read subdirectories too.
    #[serde(default)]
    pub recurse: bool,
    /// Glob (or `{a,b}` list of globs) of files to read.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub include: String,
    /// Glob (or `{a,b}` list of globs) of files to skip.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exclude: String,
}

/// `spec.source.kustomize`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSource {
    /// Prefix for every name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_prefix: String,
    /// Suffix for every name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_suffix: String,
    /// Image overrides (`name=newName:tag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Labels added to every object.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub common_labels: serde_json::Map<String, Value>,
    /// Annotations added to every object.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub common_annotations: serde_json::Map<String, Value>,
    /// Namespace set on every namespaced object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Replica overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<Value>,
    /// Extra patches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Value>,
    /// Extra components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
}

/// `spec.destination`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// API server URL (`https://kubernetes.default.svc` is the local cluster).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server: String,
    /// Cluster name (alternative to `server`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Target namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// `spec.syncPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Automated sync; absent means manual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<AutomatedSync>,
    /// `Name=value` options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Retry of failed syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
}

/// `spec.syncPolicy.automated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomatedSync {
    /// Delete what Git no longer declares.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune: bool,
    /// Re-sync when the live state drifts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_heal: bool,
    /// Allow a sync that leaves no resources.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_empty: bool,
}

/// `spec.syncPolicy.retry`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Attempts (negative: unlimited).
    #[serde(default)]
    pub limit: i64,
    /// Backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// `spec.syncPolicy.retry.backoff`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// First delay, e.g. `5s`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub duration: String,
    /// Multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// Upper bound, e.g. `3m`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_duration: String,
}

/// `status` of an Application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Comparison result.
    #[serde(default)]
    pub sync: SyncStatus,
    /// Aggregated health.
    #[serde(default)]
    pub health: HealthStatusField,
    /// Managed resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// Conditions (errors and warnings); always written, so a cleared list
    /// replaces the old one.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The last (or current) operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationStateField>,
    /// Objects applied by past syncs (prune candidates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<kedge_sync::InventoryEntry>,
    /// Successful syncs, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// RFC 3339 time of the last reconciliation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reconciled_at: String,
}

/// `status.sync`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// `Synced`, `OutOfSync` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// The commit compared against.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
}

/// `status.health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatusField {
    /// `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing`, `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Explanation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// One managed resource in `status.resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// API group.
    #[serde(default)]
    pub group: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `Synced` or `OutOfSync`.
    #[serde(default)]
    pub status: String,
    /// Health, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatusField>,
}

/// A condition in `status.conditions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `ComparisonError`, `SyncError`, `InvalidSpecError`, …
    #[serde(rename = "type")]
    pub type_: String,
    /// Explanation.
    pub message: String,
    /// RFC 3339 time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_transition_time: String,
}

/// `status.operationState`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStateField {
    /// `Running`, `Succeeded`, `Failed`, `Error`, `Terminating`.
    pub phase: String,
    /// Explanation.
    #[serde(default)]
    pub message: String,
    /// Revision synced.
    #[serde(default)]
    pub sync_revision: String,
    /// Start time.
    #[serde(default)]
    pub started_at: String,
    /// Finish time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub finished_at: String,
    /// Full engine state (resumable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<Value>,
}

/// One `status.history` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Sequence number.
    pub id: i64,
    /// Commit deployed.
    pub revision: String,
    /// When it finished.
    pub deployed_at: String,
    /// The source used.
    pub source: ApplicationSource,
}

/// An AppProject: what applications of the project may deploy, and where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Allowed repository URLs (globs, `*` for any).
    #[serde(default)]
    pub source_repos: Vec<String>,
    /// Allowed destinations.
    #[serde(default)]
    pub destinations: Vec<ApplicationDestination>,
    /// Cluster-scoped kinds allowed (`group`/`kind` globs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_whitelist: Vec<GroupKind>,
    /// Cluster-scoped kinds denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_blacklist: Vec<GroupKind>,
    /// Namespaced kinds allowed (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_whitelist: Vec<GroupKind>,
    /// Namespaced kinds denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_blacklist: Vec<GroupKind>,
}

/// A group/kind pair of a project's allow and deny lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupKind {
    /// API group glob.
    #[serde(default)]
    pub group: String,
    /// Kind glob.
    #[serde(default)]
    pub kind: String,
}

/// Converts an Argo CD Application or AppProject manifest to Kedge's
/// (`argoproj.io/v1alpha1` → `kedge.dev/v1alpha1`; the Argo CD finalizer
/// becomes Kedge's). Other objects are returned unchanged.
pub fn from_argocd(mut obj: Value) -> Value {
    let is_argo = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("argoproj.io/"));
    let kind_ok = matches!(
        obj.get("kind").and_then(Value::as_str),
        Some("Application" | "AppProject")
    );
    if !(is_argo && kind_ok) {
        return obj;
    }
    obj["apiVersion"] = Value::String(API_VERSION.to_string());
    if let Some(fins) = obj
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    {
        for f in fins.iter_mut() {
            if let Some(s) = f.as_str()
                && (s == "resources-finalizer.argocd.argoproj.io"
                    || s.starts_with("resources-finalizer.argocd.argoproj.io/"))
            {
                *f = Value::String(s.replace("argocd.argoproj.io", "kedge.dev"));
            }
        }
    }
    if let Some(ns) = obj.pointer_mut("/metadata/namespace")
        && ns.as_str() == Some("argocd")
    {
        *ns = Value::String(DEFAULT_NAMESPACE.to_string());
    }
    obj
}
