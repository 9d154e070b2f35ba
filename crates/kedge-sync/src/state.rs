//! The operation state of a sync: a serialisable state machine the caller
//! stores in the cluster (the controller in the Application's
//! `status.operationState`, tests in a ConfigMap) through the [`Persist`]
//! trait. The engine saves it after every step (each phase/wave group), so a
//! process killed mid-sync resumes from the first incomplete step and never
//! re-applies a completed wave; a state that is already terminal is reported
//! as is.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SyncError;
use crate::health::HealthCode;
use crate::object::ResourceKey;

/// The phase of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OperationPhase {
    /// Running (or interrupted and resumable).
    #[default]
    Running,
    /// Being terminated.
    Terminating,
    /// Finished with a failed resource or hook.
    Failed,
    /// Finished with an error of the engine itself.
    Error,
    /// Finished successfully.
    Succeeded,
}

impl OperationPhase {
    /// Whether the operation is over.
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            OperationPhase::Failed | OperationPhase::Error | OperationPhase::Succeeded
        )
    }
}

/// The outcome for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultCode {
    /// Applied.
    Synced,
    /// Applying failed.
    SyncFailed,
    /// Deleted because Git no longer declares it.
    Pruned,
    /// Not pruned (disabled, needs confirmation, or owned by another app).
    PruneSkipped,
}

/// The phase of a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookPhase {
    /// Created, not finished.
    Running,
    /// Completed successfully.
    Succeeded,
    /// Completed unsuccessfully.
    Failed,
    /// Could not be created.
    Error,
}

/// The result for one resource or hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    /// The resource.
    pub key: ResourceKey,
    /// The apiVersion used.
    pub version: String,
    /// Sync phase ("PreSync", "Sync", …).
    pub sync_phase: String,
    /// Wave.
    pub wave: i64,
    /// Outcome.
    pub status: ResultCode,
    /// Hook phase (hooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<HookPhase>,
    /// Health at completion, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCode>,
    /// Masked message.
    #[serde(default)]
    pub message: String,
}

/// The persisted state of one sync operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// The operation id (also names generateName hooks).
    pub sync_id: String,
    /// The Git revision being synced.
    pub revision: String,
    /// Phase.
    pub phase: OperationPhase,
    /// Masked message.
    pub message: String,
    /// Steps (`<phase>/<wave>`) fully completed.
    pub completed_steps: Vec<String>,
    /// Per-resource results.
    pub resources: Vec<ResourceResult>,
    /// Attempts made so far (retries).
    pub retry_count: u32,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 finish time ("" while running).
    pub finished_at: String,
    /// Objects whose deletion waits for confirmation (`Prune=confirm`):
    /// while non-empty the operation is paused (phase `Running`) and
    /// resumes when synced again with the same id and
    /// `SyncRequest::prune_confirmed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awaiting_confirmation: Vec<ResourceKey>,
}

impl SyncState {
    /// Records (or replaces) the result of a resource in a step.
    pub fn record(&mut self, r: ResourceResult) {
        if let Some(old) = self
            .resources
            .iter_mut()
            .find(|x| x.key == r.key && x.sync_phase == r.sync_phase)
        {
            *old = r;
        } else {
            self.resources.push(r);
        }
    }

    /// Whether the operation is paused until pruning is confirmed.
    pub fn needs_confirmation(&self) -> bool {
        self.phase == OperationPhase::Running && !self.awaiting_confirmation.is_empty()
    }

    /// The result of a resource, if any.
    pub fn result(&self, key: &ResourceKey) -> Option<&ResourceResult> {
        self.resources.iter().find(|r| &r.key == key)
    }
}

/// Where the operation state lives. Implementations write it somewhere that
/// survives the process (the Application's status; a ConfigMap in tests).
pub trait Persist: Send + Sync {
    /// The stored state, if any.
    fn load(&self) -> impl Future<Output = Result<Option<SyncState>, SyncError>> + Send;
    /// Stores the state.
    fn save(&self, state: &SyncState) -> impl Future<Output = Result<(), SyncError>> + Send;
}

/// A [`Persist`] that keeps the state in memory (dry runs, tests of pure
/// parts).
#[derive(Debug, Default)]
pub struct MemoryPersist {
    state: std::sync::Mutex<Option<SyncState>>,
}

impl Persist for MemoryPersist {
    async fn load(&self) -> Result<Option<SyncState>, SyncError> {
        Ok(self.state.lock().expect("state lock").clone())
    }
    async fn save(&self, state: &SyncState) -> Result<(), SyncError> {
        *self.state.lock().expect("state lock") = Some(state.clone());
        Ok(())
    }
}

/// Retry with exponential backoff: `base × factor^n`, capped at `max`, at
/// most `limit` retries (Argo CD's defaults: 5 s, ×2, 3 min).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub limit: u32,
    /// First delay.
    pub base: Duration,
    /// Growth factor.
    pub factor: u32,
    /// Delay cap.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            limit: 5,
            base: Duration::from_secs(5),
            factor: 2,
            max: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `n` (0-based).
    pub fn backoff(&self, n: u32) -> Duration {
        let mult = u64::from(self.factor).saturating_pow(n);
        let ms = (self.base.as_millis() as u64).saturating_mul(mult);
        Duration::from_millis(ms).min(self.max)
    }
}
