//! The renderer's error type. Every variant names the file, object or field
//! involved; the `Display` text follows kustomize's wording where callers (and
//! users) are likely to compare it, e.g. `accumulating resources: ...` and
//! `security; file '...' is not in or below '...'`.

use std::path::PathBuf;

/// Everything that can make a build fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// The load restrictor refused a path.
    #[error("security; file '{path}' is not in or below '{root}'")]
    Restricted {
        /// The refused path.
        path: PathBuf,
        /// The kustomization root it had to stay in.
        root: PathBuf,
    },
    /// A per-file or per-build size limit was exceeded.
    #[error("{what} exceeds the limit of {limit} bytes ({path})")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A YAML document could not be parsed or converted.
    #[error("MalformedYAMLError: {message} in File: {file}")]
    Yaml {
        /// The file (or inline text description).
        file: String,
        /// The parser's message.
        message: String,
    },
    /// The kustomization file is invalid.
    #[error("invalid Kustomization: {0}")]
    InvalidKustomization(String),
    /// No kustomization file in a directory.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{0}'"
    )]
    MissingKustomization(PathBuf),
    /// A kustomization root is visited twice on one path.
    #[error("cycle detected: candidate root '{candidate}' contains visited root '{visited}'")]
    Cycle {
        /// The root about to be entered.
        candidate: PathBuf,
        /// The root already on the stack.
        visited: PathBuf,
    },
    /// A remote base was requested but no remote loader is configured.
    #[error("remote resource '{0}' cannot be loaded: no remote loader is configured")]
    Remote(String),
    /// `helmCharts` were used without helm support.
    #[error("{0}")]
    Helm(String),
    /// Context wrapper, e.g. `accumulating resources from 'x': ...`.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<Error>,
    },
    /// Any other build failure, with kustomize's message text.
    #[error("{0}")]
    Build(String),
}

impl Error {
    /// Wraps this error with a context prefix.
    pub(crate) fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

/// Shorthand for a plain build error.
pub(crate) fn build_err(msg: impl Into<String>) -> Error {
    Error::Build(msg.into())
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
