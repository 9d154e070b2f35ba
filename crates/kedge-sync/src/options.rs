//! Sync options as Argo CD spells them (`Prune=false`, `ServerSideApply=true`,
//! …), set for the whole application and overridden per resource by the
//! `kedge.dev/sync-options` or `argocd.argoproj.io/sync-options` annotation
//! (comma-separated). Parsing is strict: an unknown option or value is an
//! error naming the option, never silently ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SyncError;
use crate::object::annotation_any;

/// Per-resource sync options annotations, Kedge's first.
pub const SYNC_OPTIONS_ANNOTATIONS: [&str; 2] =
    ["kedge.dev/sync-options", "argocd.argoproj.io/sync-options"];

/// Whether pruning (or deleting) a resource is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Removal {
    /// Allowed.
    #[default]
    Allowed,
    /// Never (`=false`).
    Disabled,
    /// Only after confirmation (`=confirm`).
    Confirm,
}

/// Delete propagation for prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PropagationPolicy {
    /// Dependents are deleted first (Argo CD's default).
    #[default]
    Foreground,
    /// Dependents are deleted in the background.
    Background,
    /// Dependents are orphaned.
    Orphan,
}

impl PropagationPolicy {
    /// The API value.
    pub fn as_str(self) -> &'static str {
        match self {
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Orphan => "Orphan",
        }
    }
}

/// The effective sync options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOptions {
    /// `Prune=false|confirm`.
    pub prune: Removal,
    /// `Delete=false|confirm` (used when the application is deleted).
    pub delete: Removal,
    /// `Validate=false` turns off server field validation.
    pub validate: bool,
    /// `SkipDryRunOnMissingResource=true`.
    pub skip_dry_run_on_missing_resource: bool,
    /// `CreateNamespace=true`.
    pub create_namespace: bool,
    /// `PruneLast=true`.
    pub prune_last: bool,
    /// `PrunePropagationPolicy=foreground|background|orphan`.
    pub prune_propagation_policy: PropagationPolicy,
    /// `ApplyOutOfSyncOnly=true`.
    pub apply_out_of_sync_only: bool,
    /// `ServerSideApply=false` selects client-side apply (Kedge defaults to SSA).
    pub server_side_apply: bool,
    /// `Replace=true`.
    pub replace: bool,
    /// `Force=true`.
    pub force: bool,
    /// `FailOnSharedResource=true`.
    pub fail_on_shared_resource: bool,
    /// `RespectIgnoreDifferences=true`.
    pub respect_ignore_differences: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            prune: Removal::Allowed,
            delete: Removal::Allowed,
            validate: true,
            skip_dry_run_on_missing_resource: false,
            create_namespace: false,
            prune_last: false,
            prune_propagation_policy: PropagationPolicy::Foreground,
            apply_out_of_sync_only: false,
            server_side_apply: true,
            replace: false,
            force: false,
            fail_on_shared_resource: false,
            respect_ignore_differences: false,
        }
    }
}

/// Annotations on an Application that approve the deletions waiting for
/// confirmation (`Prune=confirm`, `Delete=confirm`); the value is the RFC
/// 3339 time of the approval.
pub const DELETION_APPROVED_ANNOTATIONS: [&str; 2] = [
    "kedge.dev/deletion-approved",
    "argocd.argoproj.io/deletion-approved",
];

/// Whether an approval given at `approved_at` (RFC 3339) confirms the
/// deletions of an operation started at `started_at`: as in Argo CD, only
/// an approval given after the operation started counts. Unparsable times
/// never approve.
pub fn deletion_approved(approved_at: &str, started_at: &str) -> bool {
    match (
        approved_at.trim().parse::<jiff::Timestamp>(),
        started_at.trim().parse::<jiff::Timestamp>(),
    ) {
        (Ok(a), Ok(s)) => a >= s,
        _ => false,
    }
}

fn parse_bool(option: &str, v: &str) -> Result<bool, SyncError> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SyncError::Option {
            option: option.to_string(),
            message: "expected true or false".into(),
        }),
    }
}

fn parse_removal(option: &str, v: &str) -> Result<Removal, SyncError> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(Removal::Allowed),
        "false" => Ok(Removal::Disabled),
        "confirm" => Ok(Removal::Confirm),
        _ => Err(SyncError::Option {
            option: option.to_string(),
            message: "expected true, false or confirm".into(),
        }),
    }
}

impl SyncOptions {
    /// Parses application-level options (`["Prune=false", "CreateNamespace=true"]`).
    pub fn parse<'a>(options: impl IntoIterator<Item = &'a str>) -> Result<SyncOptions, SyncError> {
        let mut o = SyncOptions::default();
        o.apply_all(options)?;
        Ok(o)
    }

    /// Applies options on top of these.
    pub fn apply_all<'a>(
        &mut self,
        options: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), SyncError> {
        for raw in options {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let Some((k, v)) = raw.split_once('=') else {
                return Err(SyncError::Option {
                    option: raw.to_string(),
                    message: "expected Name=value".into(),
                });
            };
            let (k, v) = (k.trim(), v.trim());
            match k {
                "Prune" => self.prune = parse_removal(raw, v)?,
                "Delete" => self.delete = parse_removal(raw, v)?,
                "Validate" => self.validate = parse_bool(raw, v)?,
                "SkipDryRunOnMissingResource" => {
                    self.skip_dry_run_on_missing_resource = parse_bool(raw, v)?
                }
                "CreateNamespace" => self.create_namespace = parse_bool(raw, v)?,
                "PruneLast" => self.prune_last = parse_bool(raw, v)?,
                "PrunePropagationPolicy" => {
                    self.prune_propagation_policy = match v.to_ascii_lowercase().as_str() {
                        "foreground" => PropagationPolicy::Foreground,
                        "background" => PropagationPolicy::Background,
                        "orphan" => PropagationPolicy::Orphan,
                        _ => {
                            return Err(SyncError::Option {
                                option: raw.to_string(),
                                message: "expected foreground, background or orphan".into(),
                            });
                        }
                    }
                }
                "ApplyOutOfSyncOnly" => self.apply_out_of_sync_only = parse_bool(raw, v)?,
                "ServerSideApply" => self.server_side_apply = parse_bool(raw, v)?,
                "Replace" => self.replace = parse_bool(raw, v)?,
                "Force" => self.force = parse_bool(raw, v)?,
                "FailOnSharedResource" => self.fail_on_shared_resource = parse_bool(raw, v)?,
                "RespectIgnoreDifferences" => self.respect_ignore_differences = parse_bool(raw, v)?,
                _ => {
                    return Err(SyncError::Option {
                        option: raw.to_string(),
                        message: "unknown sync option".into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// These options overridden by an object's sync-options annotation.
    pub fn for_object(&self, obj: &Value) -> Result<SyncOptions, SyncError> {
        let mut o = self.clone();
        if let Some(a) = annotation_any(obj, &SYNC_OPTIONS_ANNOTATIONS) {
            o.apply_all(a.split(','))?;
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_count_only_after_the_operation_started() {
        let start = "2026-01-02T10:00:00Z";
        assert!(deletion_approved("2026-01-02T10:00:05Z", start));
        assert!(deletion_approved("2026-01-02T10:00:00Z", start));
        assert!(!deletion_approved("2026-01-02T09:59:59Z", start));
        assert!(!deletion_approved("yesterday", start));
        assert!(!deletion_approved("2026-01-02T10:00:05Z", ""));
    }
}
