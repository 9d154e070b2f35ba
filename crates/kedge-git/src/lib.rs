//! Git sources behind a small [`GitBackend`] trait implemented over the
//! real `git` CLI: a bare-repository cache shared by every application of
//! a repository ([`GitCache`]), revision resolution (branches, tags, SHAs,
//! `HEAD`, semver constraints), credentials that never reach argv or logs,
//! safe read-only views of a commit ([`RepoView`]) and immutable
//! materialised snapshots ([`GitCache::materialize`]), change detection
//! ([`PathMatcher`]), push webhooks ([`webhook::router`]), polling and
//! write-back. This crate is the only one in Kedge that spawns `git`.
//!
//! A renderer reads through [`RepoView`]: `read_file`, `read_dir`,
//! `is_dir`, `is_file`, `exists` and `realpath`, with paths relative to the
//! application's source path or absolute from the repository root. With
//! the default `kustomize` feature, [`ViewFileSystem`] adapts a view to
//! the Kustomize renderer's filesystem trait, so an overlay renders
//! straight from the object store without a checkout.

pub mod cache;
pub mod changes;
pub mod creds;
pub mod error;
mod exec;
#[cfg(feature = "kustomize")]
pub mod kustomize_fs;
pub mod objects;
pub mod redact;
pub mod refresh;
pub mod revision;
mod snapshot;
pub mod url;
pub mod view;
pub mod webhook;
pub mod writeback;

pub use cache::{CacheConfig, FetchOutcome, GitBackend, GitCache, RefTable, RefUpdate};
pub use changes::{MANIFEST_GENERATE_PATHS, PathMatcher};
pub use creds::{Credential, CredentialStore};
pub use error::GitError;
pub use exec::git_processes_spawned;
#[cfg(feature = "kustomize")]
pub use kustomize_fs::ViewFileSystem;
pub use objects::{Entry, EntryKind, Tree};
pub use redact::{Redacted, scrub};
pub use refresh::{PollConfig, RefreshListener, Refresher};
pub use revision::Constraint;
pub use snapshot::Snapshot;
pub use url::RepoUrl;
pub use view::{DirEntry, Limits, RepoView};
pub use webhook::{PushEvent, PushHandler, WebhookConfig};
pub use writeback::{CommitAuthor, FileChange, WriteBackOutcome, WriteBackRequest};
