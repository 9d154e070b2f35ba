//! Errors of the sync engine. Every variant names the object (as a
//! [`ResourceKey`]) or the file/field it concerns, and messages that may echo
//! object content are passed through the [`crate::mask::Redactor`] before they
//! are stored, so a Secret value never reaches an error.

use crate::object::ResourceKey;

/// Errors of the sync engine.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A desired object lacks apiVersion, kind or metadata.name.
    #[error("invalid object {index}: {message}")]
    InvalidObject {
        /// Position in the desired list.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// The kind is not served by the cluster.
    #[error("{key}: the server could not find the requested resource ({api_version})")]
    UnknownKind {
        /// The object.
        key: ResourceKey,
        /// Its apiVersion.
        api_version: String,
    },
    /// The API server rejected a request.
    #[error("{verb} {key}: {message}")]
    Api {
        /// The verb (apply, delete, get, …).
        verb: &'static str,
        /// The object.
        key: ResourceKey,
        /// The (masked) server message.
        message: String,
        /// HTTP status code, when the server answered.
        code: Option<u16>,
    },
    /// A sync option string could not be parsed.
    #[error("sync option {option:?}: {message}")]
    Option {
        /// The option text.
        option: String,
        /// What is wrong.
        message: String,
    },
    /// An ignoreDifferences expression is malformed or too expensive.
    #[error("ignoreDifferences {expression:?}: {message}")]
    Ignore {
        /// The expression.
        expression: String,
        /// What is wrong.
        message: String,
    },
    /// Persisting or loading the operation state failed.
    #[error("persist operation state: {0}")]
    Persist(String),
    /// The operation exceeded its timeout.
    #[error("operation timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// Shared resource with FailOnSharedResource.
    #[error("{key} is part of applications {owner} and {app}")]
    SharedResource {
        /// The object.
        key: ResourceKey,
        /// The application that owns it.
        owner: String,
        /// This application.
        app: String,
    },
    /// A health script failed.
    #[error(transparent)]
    Health(#[from] crate::health::HealthError),
}
