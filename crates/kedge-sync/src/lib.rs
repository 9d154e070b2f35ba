//! The sync engine: diff desired against live objects, apply in waves with
//! hooks, prune what Git no longer declares, and assess health.
//!
//! Pure parts (no IO): [`order`] (phases, waves, kind order, hooks),
//! [`options`] (Argo CD sync options), [`normalize`], [`mask`] (secret
//! masking and redaction), [`ignore`] (`ignoreDifferences` with a bounded jq
//! subset), [`diff`] (unified diffs), [`health`] (built-in rules, Lua
//! checks, aggregation), [`tracking`] and [`state`] (the persisted operation
//! state). [`engine`] drives a cluster through kube-rs.

pub mod diff;
pub mod engine;
pub mod error;
pub mod health;
pub mod ignore;
pub mod mask;
pub mod normalize;
pub mod object;
pub mod options;
pub mod order;
pub mod state;
pub mod tracking;

pub use diff::{DiffConfig, ResourceDiff, diff_resource};
pub use engine::{
    DEFAULT_CONCURRENCY, DeleteOutcome, Engine, FIELD_MANAGER, InventoryEntry, SyncRequest,
};
pub use error::SyncError;
pub use health::{HealthChecks, HealthCode, HealthStatus, aggregate};
pub use ignore::ResourceIgnoreDifferences;
pub use mask::Redactor;
pub use normalize::NormalizeOptions;
pub use object::ResourceKey;
pub use options::{DELETION_APPROVED_ANNOTATIONS, SyncOptions, deletion_approved};
pub use order::SyncPhase;
pub use state::{
    MemoryPersist, OperationPhase, Persist, ResourceResult, ResultCode, RetryPolicy, SyncState,
};
