//! Ordering of sync tasks: phase (PreSync, Sync, PostSync, SyncFail), then
//! wave (`kedge.dev/sync-wave` or `argocd.argoproj.io/sync-wave`), then kind
//! order (Argo CD's list, unknown kinds last), then name. Hook annotations
//! (Kedge's, Argo CD's, and Helm's mapped as Argo CD maps them) decide the
//! phase; a resource without one is in the Sync phase.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object::{annotation, annotation_any};

/// Wave annotations, Kedge's first.
pub const SYNC_WAVE_ANNOTATIONS: [&str; 2] =
    ["kedge.dev/sync-wave", "argocd.argoproj.io/sync-wave"];
/// Hook annotations, Kedge's first.
pub const HOOK_ANNOTATIONS: [&str; 2] = ["kedge.dev/hook", "argocd.argoproj.io/hook"];
/// Hook delete policy annotations, Kedge's first.
pub const HOOK_DELETE_POLICY_ANNOTATIONS: [&str; 2] = [
    "kedge.dev/hook-delete-policy",
    "argocd.argoproj.io/hook-delete-policy",
];

/// Argo CD's kind order for applying (pruning uses it reversed).
pub const KIND_ORDER: [&str; 35] = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Position of a kind in [`KIND_ORDER`]; unknown kinds sort last.
pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// A sync phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SyncPhase {
    /// Before the resources.
    PreSync,
    /// With the resources.
    Sync,
    /// After all resources are healthy.
    PostSync,
    /// When the sync failed.
    SyncFail,
}

impl SyncPhase {
    /// The name used in annotations and results.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncPhase::PreSync => "PreSync",
            SyncPhase::Sync => "Sync",
            SyncPhase::PostSync => "PostSync",
            SyncPhase::SyncFail => "SyncFail",
        }
    }
}

/// What a hook annotation says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookKind {
    /// Not a hook: an ordinary resource of the Sync phase.
    None,
    /// `Skip`: never applied.
    Skip,
    /// A hook of these phases.
    Hook(Vec<SyncPhase>),
}

/// A hook delete policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookDeletePolicy {
    /// Delete the previous hook before creating the new one (default).
    BeforeHookCreation,
    /// Delete when the hook succeeded.
    HookSucceeded,
    /// Delete when the hook failed.
    HookFailed,
}

/// Reads the hook annotations of an object (Kedge's, Argo CD's, then Helm's).
pub fn hook_kind(obj: &Value) -> HookKind {
    if let Some(a) = annotation_any(obj, &HOOK_ANNOTATIONS) {
        let mut phases = Vec::new();
        let mut skip = false;
        for p in a.split(',').map(str::trim) {
            match p {
                "PreSync" => phases.push(SyncPhase::PreSync),
                "Sync" => phases.push(SyncPhase::Sync),
                "PostSync" => phases.push(SyncPhase::PostSync),
                "SyncFail" => phases.push(SyncPhase::SyncFail),
                "Skip" => skip = true,
                _ => {}
            }
        }
        if phases.is_empty() {
            return if skip { HookKind::Skip } else { HookKind::None };
        }
        return HookKind::Hook(phases);
    }
    if let Some(h) = annotation(obj, "helm.sh/hook") {
        let mut phases = Vec::new();
        for p in h.split(',').map(str::trim) {
            let phase = match p {
                "pre-install" | "pre-upgrade" => SyncPhase::PreSync,
                "post-install" | "post-upgrade" => SyncPhase::PostSync,
                _ => continue,
            };
            if !phases.contains(&phase) {
                phases.push(phase);
            }
        }
        if h.split(',').any(|p| p.trim() == "crd-install") {
            return HookKind::None;
        }
        if !phases.is_empty() {
            return HookKind::Hook(phases);
        }
    }
    HookKind::None
}

/// The delete policies of a hook (Helm's `hook-delete-policy` mapped).
pub fn hook_delete_policies(obj: &Value) -> Vec<HookDeletePolicy> {
    let mut out = Vec::new();
    let raw = annotation_any(obj, &HOOK_DELETE_POLICY_ANNOTATIONS)
        .or_else(|| annotation(obj, "helm.sh/hook-delete-policy"));
    if let Some(raw) = raw {
        for p in raw.split(',').map(str::trim) {
            let p = match p {
                "BeforeHookCreation" | "before-hook-creation" => {
                    HookDeletePolicy::BeforeHookCreation
                }
                "HookSucceeded" | "hook-succeeded" => HookDeletePolicy::HookSucceeded,
                "HookFailed" | "hook-failed" => HookDeletePolicy::HookFailed,
                _ => continue,
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        out.push(HookDeletePolicy::BeforeHookCreation);
    }
    out
}

/// The wave of an object (`helm.sh/hook-weight` for Helm hooks); 0 when
/// absent or not an integer.
pub fn sync_wave(obj: &Value) -> i64 {
    annotation_any(obj, &SYNC_WAVE_ANNOTATIONS)
        .or_else(|| annotation(obj, "helm.sh/hook-weight"))
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0)
}

/// The sort key of a task: phase, wave, kind rank, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderKey {
    /// Phase.
    pub phase: SyncPhase,
    /// Wave.
    pub wave: i64,
    /// Rank in [`KIND_ORDER`].
    pub kind_rank: usize,
    /// Kind (orders unknown kinds among themselves).
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

/// The order key of an object in a phase.
pub fn order_key(obj: &Value, phase: SyncPhase) -> OrderKey {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    OrderKey {
        phase,
        wave: sync_wave(obj),
        kind_rank: kind_rank(&kind),
        name: obj
            .pointer("/metadata/name")
            .or_else(|| obj.pointer("/metadata/generateName"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        namespace: obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        kind,
    }
}

/// Sorts objects of the Sync phase (hooks included, each in its first phase)
/// into apply order, returning their indices.
pub fn sort_for_apply(objs: &[Value]) -> Vec<usize> {
    let mut keyed: Vec<(OrderKey, usize)> = objs
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let phase = match hook_kind(o) {
                HookKind::Skip => return None,
                HookKind::None => SyncPhase::Sync,
                HookKind::Hook(p) => *p.iter().min()?,
            };
            Some((order_key(o, phase), i))
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, i)| i).collect()
}
