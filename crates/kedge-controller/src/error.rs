//! Errors of the controller. Every variant names the object, file or field
//! it is about; messages carry no secret values (Git errors are scrubbed by
//! kedge-git, sync errors masked by kedge-sync).

/// A controller error.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// Rendering the source failed.
    #[error("rendering {path}: {message}")]
    Render {
        /// File or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A Git operation failed.
    #[error("git: {0}")]
    Git(#[from] kedge_git::GitError),
    /// The sync engine failed.
    #[error("sync: {0}")]
    Sync(#[from] kedge_sync::SyncError),
    /// The Kubernetes API failed.
    #[error("{action} {object}: {source}")]
    Kube {
        /// What was attempted.
        action: &'static str,
        /// `kind namespace/name`.
        object: String,
        /// The client error.
        source: kube::Error,
    },
    /// An object does not have the expected shape.
    #[error("invalid {object}: {message}")]
    Invalid {
        /// `kind namespace/name`.
        object: String,
        /// What is wrong (names the field).
        message: String,
    },
    /// The project does not permit the application or one of its resources.
    #[error("{0}")]
    Forbidden(String),
    /// A task of the controller itself failed (panicked or was cancelled).
    #[error("internal: {0}")]
    Internal(String),
}
