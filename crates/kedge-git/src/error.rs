//! The crate's error type. Every message is scrubbed of credentials when
//! it is built (see [`crate::redact::scrub`]), names the repository (by its
//! scrubbed URL), the revision or the path concerned, and is `Clone` so a
//! single-flight fetch can hand one failure to every waiter.

use std::path::PathBuf;
use std::time::Duration;

/// Errors of the Git layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitError {
    /// A repository URL could not be parsed or is refused.
    #[error("invalid repository URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// `git` could not be started.
    #[error("cannot run git {command}: {message}")]
    Spawn { command: String, message: String },
    /// `git` exited non-zero; `stderr` is scrubbed and truncated.
    #[error("git {command} failed for {repo} (exit {code:?}): {stderr}")]
    Command {
        repo: String,
        command: String,
        code: Option<i32>,
        stderr: String,
    },
    /// `git` ran longer than allowed and its process group was killed.
    #[error("git {command} for {repo} timed out after {timeout:?}")]
    Timeout {
        repo: String,
        command: String,
        timeout: Duration,
    },
    /// `git` printed more than the capture limit on stdout.
    #[error("git {command} for {repo} produced more than {limit} bytes of output")]
    OutputTooLarge {
        repo: String,
        command: String,
        limit: usize,
    },
    /// A revision names no branch, tag, commit or matching semver tag.
    #[error("revision {revision:?} not found in {repo}")]
    RevisionNotFound { repo: String, revision: String },
    /// A revision is ambiguous (short SHA matching several objects).
    #[error("revision {revision:?} is ambiguous in {repo}")]
    AmbiguousRevision { repo: String, revision: String },
    /// A semver constraint could not be parsed.
    #[error("invalid semver constraint {constraint:?}: {reason}")]
    InvalidConstraint { constraint: String, reason: String },
    /// A path does not exist at the commit.
    #[error("{path}: not found at {commit} in {repo}")]
    NotFound {
        repo: String,
        commit: String,
        path: String,
    },
    /// A path or symlink leaves the repository root.
    #[error("{path}: refused, resolves outside the repository ({reason})")]
    OutsideRepository { path: String, reason: String },
    /// A path is a directory where a file was expected, or the reverse.
    #[error("{path}: {reason}")]
    WrongKind { path: String, reason: String },
    /// A path is a submodule; submodules are not followed.
    #[error("{path}: is a git submodule, which Kedge does not follow")]
    Submodule { path: String },
    /// A file is a Git LFS pointer; LFS content is not fetched.
    #[error("{path}: is a Git LFS pointer; LFS objects are not supported")]
    LfsPointer { path: String },
    /// A file is larger than the per-file limit.
    #[error("{path}: {size} bytes exceeds the per-file limit of {limit} bytes")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    /// The total read by one render exceeds the per-render limit.
    #[error("{path}: reading it would exceed the per-render limit of {limit} bytes")]
    RenderTooLarge { path: String, limit: u64 },
    /// Symlinks nest deeper than the resolution limit (a loop).
    #[error("{path}: too many levels of symbolic links")]
    SymlinkLoop { path: String },
    /// A push was rejected and retries were exhausted, or a rebase conflicted.
    #[error("push to {repo} branch {branch} failed: {reason}")]
    Push {
        repo: String,
        branch: String,
        reason: String,
    },
    /// Local filesystem error in the cache or a scratch directory.
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// Output of git that does not have the expected shape.
    #[error("unexpected output of git {command}: {message}")]
    Protocol { command: String, message: String },
}

impl GitError {
    pub(crate) fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        GitError::Io {
            path: path.into(),
            message: crate::redact::scrub(&err.to_string()),
        }
    }
}

impl GitError {
    /// The closest `std::io::ErrorKind`, for filesystem adapters.
    pub fn io_kind(&self) -> std::io::ErrorKind {
        use std::io::ErrorKind as K;
        match self {
            GitError::NotFound { .. } | GitError::RevisionNotFound { .. } => K::NotFound,
            GitError::OutsideRepository { .. }
            | GitError::Submodule { .. }
            | GitError::LfsPointer { .. } => K::PermissionDenied,
            GitError::WrongKind { .. } => K::InvalidInput,
            GitError::FileTooLarge { .. } | GitError::RenderTooLarge { .. } => K::FileTooLarge,
            GitError::Timeout { .. } => K::TimedOut,
            _ => K::Other,
        }
    }
}

/// Lets a renderer's filesystem trait (which speaks `std::io`) forward
/// view errors with `?`; the message is kept, already scrubbed.
impl From<GitError> for std::io::Error {
    fn from(e: GitError) -> Self {
        std::io::Error::new(e.io_kind(), e)
    }
}
