//! Errors of the store. Conditions the API server maps to Kubernetes
//! statuses (exists, not found, conflict, compacted) are their own variants;
//! database failures name the database file.

use std::path::PathBuf;

use crate::Revision;

/// An error of the revision log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Create of a key that exists.
    #[error("key {key} already exists")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// Update or delete of a key that does not exist.
    #[error("key {key} not found")]
    NotFound {
        /// The key.
        key: String,
    },
    /// The key's revision is not the expected one.
    #[error("key {key} is at revision {actual}, not {expected}")]
    Conflict {
        /// The key.
        key: String,
        /// The revision the writer expected.
        expected: Revision,
        /// The key's current revision.
        actual: Revision,
    },
    /// The revision asked for has been compacted away.
    #[error("revision {requested} has been compacted (compacted up to {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The compaction revision.
        compacted: Revision,
    },
    /// The revision asked for is newer than the latest one.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The current revision.
        current: Revision,
    },
    /// A transaction writes the same key twice.
    #[error("key {key} appears twice in one transaction")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// SQLite failed.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A commit failed; every write of its batch was refused.
    #[error("database {path}: commit failed: {message}")]
    Commit {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// A file system error.
    #[error("database {path}: {source}")]
    Io {
        /// The database file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The store's writer has stopped.
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    pub(crate) fn sqlite(
        path: &std::path::Path,
    ) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}
