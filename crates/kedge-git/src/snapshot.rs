//! Materialised snapshots: a read-only directory tree of one commit, for
//! tools that need real files (a Helm binary, a plugin).
//!
//! A snapshot is written from the commit's [`Tree`](crate::Tree) and the
//! object reader into a temporary directory, then renamed into place at
//! `<root>/snapshots/<repo>/<commit>`; the rename is atomic, so a snapshot
//! that exists is complete, and since it is named by commit and made
//! read-only (files 0444/0555, directories 0555) it never changes. Every
//! symlink is checked with the same rules as [`crate::RepoView`]: links that
//! resolve inside the repository are recreated with their relative
//! target, anything else fails the snapshot. Submodules are skipped with a
//! warning; LFS pointers and size limits fail it.
//!
//! Retention is bounded: an index records each snapshot's last use (a
//! logical clock for the LRU order, an `Instant` for idle time) and its
//! leases. [`GitCache::materialize_snapshot`] returns a [`Snapshot`] that
//! holds a lease until dropped; after each use, while more than
//! `max_snapshots` exist, the least recently used one that is neither
//! leased nor used within `snapshot_min_idle` is removed (renamed away
//! first, so a reader never sees half a tree under the commit's name).
//! Snapshots left by an earlier process are indexed on first use, aged by
//! their modification time. The lease is registered before the directory
//! is checked or written, so a snapshot being handed out is never pruned
//! underneath its caller.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::cache::GitCache;
use crate::error::GitError;
use crate::objects::EntryKind;
use crate::revision::is_full_sha;
use crate::url::RepoUrl;

/// A materialised snapshot, kept on disk while this value (or a clone) lives.
#[derive(Clone, Debug)]
pub struct Snapshot {
    path: PathBuf,
    commit: String,
    _lease: Arc<()>,
}

impl Snapshot {
    /// The read-only directory of the commit.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The commit it holds.
    pub fn commit(&self) -> &str {
        &self.commit
    }
}

impl AsRef<Path> for Snapshot {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

struct SnapshotEntry {
    /// Logical clock of the last use (LRU order without timestamp ties).
    seq: u64,
    last_used: Instant,
    /// Leases are clones of this `Arc`: in use while the count exceeds 1.
    lease: Arc<()>,
}

/// Every known snapshot directory with its last use and leases.
#[derive(Default)]
pub(crate) struct SnapshotIndex {
    entries: HashMap<PathBuf, SnapshotEntry>,
    clock: u64,
    scanned: bool,
}

impl SnapshotIndex {
    /// Indexes snapshots already on disk (once), aged by their mtime.
    fn scan(&mut self, root: &Path) {
        if std::mem::replace(&mut self.scanned, true) {
            return;
        }
        let now = Instant::now();
        for repo in std::fs::read_dir(root).into_iter().flatten().flatten() {
            for snap in std::fs::read_dir(repo.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = snap.file_name().to_string_lossy().into_owned();
                let path = snap.path();
                if name.starts_with('.') {
                    // A temporary tree of a crashed write or prune.
                    remove_read_only(&path);
                    continue;
                }
                if !is_full_sha(&name) || !path.is_dir() {
                    continue;
                }
                let age = snap
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .unwrap_or(Duration::ZERO);
                self.entries.entry(path).or_insert(SnapshotEntry {
                    seq: 0,
                    last_used: now.checked_sub(age).unwrap_or(now),
                    lease: Arc::new(()),
                });
            }
        }
    }

    /// Records a use of `path` and returns a lease on it.
    fn touch(&mut self, path: &Path) -> Arc<()> {
        self.clock += 1;
        let e = self
            .entries
            .entry(path.to_owned())
            .or_insert_with(|| SnapshotEntry {
                seq: 0,
                last_used: Instant::now(),
                lease: Arc::new(()),
            });
        e.seq = self.clock;
        e.last_used = Instant::now();
        e.lease.clone()
    }

    /// Takes out of the index the snapshots to delete: least recently used
    /// first, never leased ones or ones used within `min_idle`.
    fn evict(&mut self, max: usize, min_idle: Duration) -> Vec<PathBuf> {
        if self.entries.len() <= max {
            return Vec::new();
        }
        let mut candidates: Vec<(u64, Instant, PathBuf)> = self
            .entries
            .iter()
            .filter(|(_, e)| Arc::strong_count(&e.lease) == 1 && e.last_used.elapsed() >= min_idle)
            .map(|(p, e)| (e.seq, e.last_used, p.clone()))
            .collect();
        candidates.sort();
        let excess = self.entries.len() - max;
        let out: Vec<PathBuf> = candidates
            .into_iter()
            .take(excess)
            .map(|(_, _, p)| p)
            .collect();
        for p in &out {
            self.entries.remove(p);
        }
        out
    }
}

impl GitCache {
    /// The read-only snapshot directory of `commit`, written on first use.
    /// The path stays valid for at least `snapshot_min_idle` after the
    /// call; hold a [`Snapshot`] from [`GitCache::materialize_snapshot`]
    /// to keep it for longer.
    pub async fn materialize(&self, url: &RepoUrl, commit: &str) -> Result<PathBuf, GitError> {
        Ok(self.materialize_snapshot(url, commit).await?.path.clone())
    }

    /// The snapshot of `commit`, written on first use and kept on disk
    /// while the returned value lives; then prunes the least recently used
    /// snapshots beyond `max_snapshots`.
    pub async fn materialize_snapshot(
        &self,
        url: &RepoUrl,
        commit: &str,
    ) -> Result<Snapshot, GitError> {
        if !is_full_sha(commit) {
            return Err(GitError::RevisionNotFound {
                repo: crate::redact::scrub(url.fetch_url()),
                revision: commit.to_owned(),
            });
        }
        let (_, git_dir) = self.repo_label_dir(url);
        let name = git_dir
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".git").to_owned())
            .unwrap_or_default();
        let root = self.snapshot_root();
        let parent = root.join(name);
        let dest = parent.join(commit);
        let lease = {
            let mut index = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
            index.scan(&root);
            index.touch(&dest)
        };
        let snapshot = Snapshot {
            path: dest.clone(),
            commit: commit.to_owned(),
            _lease: lease,
        };
        if !dest.is_dir() {
            std::fs::create_dir_all(&parent).map_err(|e| GitError::io(&parent, e))?;
            // The view enforces link and size rules; one view is one budget.
            let view = self.open_view(url, commit, "").await?;
            let dest2 = dest.clone();
            tokio::task::spawn_blocking(move || write_snapshot(&view, &parent, &dest2))
                .await
                .map_err(|e| GitError::Protocol {
                    command: "materialize".into(),
                    message: e.to_string(),
                })??;
        }
        let pruned = self.prune_snapshots();
        if !pruned.is_empty() {
            tracing::debug!(count = pruned.len(), "pruned materialised snapshots");
        }
        Ok(snapshot)
    }

    /// Removes the least recently used snapshots beyond `max_snapshots`
    /// that are neither held nor recently used; returns their paths.
    pub fn prune_snapshots(&self) -> Vec<PathBuf> {
        let root = self.snapshot_root();
        let victims = {
            let mut index = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
            index.scan(&root);
            index.evict(self.config().max_snapshots, self.config().snapshot_min_idle)
        };
        for v in &victims {
            let (Some(parent), Some(name)) = (v.parent(), v.file_name()) else {
                continue;
            };
            // Out of sight first: the commit's name never shows a partial tree.
            let doomed = parent.join(format!(".prune-{}", name.to_string_lossy()));
            match std::fs::rename(v, &doomed) {
                Ok(()) => remove_read_only(&doomed),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %v.display(), error = %e, "cannot prune snapshot");
                }
            }
        }
        victims
    }

    /// Number of snapshots currently indexed (on disk or being written).
    pub fn snapshot_count(&self) -> usize {
        let mut index = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        index.scan(&self.snapshot_root());
        index.entries.len()
    }

    fn snapshot_root(&self) -> PathBuf {
        self.config().root.join("snapshots")
    }
}

fn write_snapshot(
    view: &crate::view::RepoView,
    parent: &Path,
    dest: &Path,
) -> Result<(), GitError> {
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(parent)
        .map_err(|e| GitError::io(parent, e))?;
    let mut entries: Vec<(&str, EntryKind)> =
        view.tree().iter().map(|(p, e)| (p, e.kind)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut dirs = vec![tmp.path().to_owned()];
    for (path, kind) in entries {
        let target = tmp.path().join(path);
        match kind {
            EntryKind::Dir => {
                std::fs::create_dir_all(&target).map_err(|e| GitError::io(&target, e))?;
                dirs.push(target);
            }
            EntryKind::File | EntryKind::Executable => {
                let data = view.read_file(&format!("/{path}"))?;
                std::fs::write(&target, data).map_err(|e| GitError::io(&target, e))?;
                let mode = if kind == EntryKind::Executable {
                    0o555
                } else {
                    0o444
                };
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| GitError::io(&target, e))?;
            }
            EntryKind::Symlink => {
                // Refuses links leaving the repository (and loops).
                let resolved = view.realpath(&format!("/{path}"))?;
                let link_dir = Path::new(path).parent().unwrap_or(Path::new(""));
                let rel = relative_link(link_dir, Path::new(&resolved));
                std::os::unix::fs::symlink(&rel, &target).map_err(|e| GitError::io(&target, e))?;
            }
            EntryKind::Submodule => tracing::warn!(path, "snapshot skips git submodule"),
        }
    }
    for d in dirs.iter().rev() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555))
            .map_err(|e| GitError::io(d, e))?;
    }
    let tmp_path = tmp.keep();
    match std::fs::rename(&tmp_path, dest) {
        Ok(()) => Ok(()),
        // Someone else finished the same snapshot first: theirs stands.
        Err(_) if dest.is_dir() => {
            remove_read_only(&tmp_path);
            Ok(())
        }
        Err(e) => {
            remove_read_only(&tmp_path);
            Err(GitError::io(dest, e))
        }
    }
}

/// The relative path from directory `from` to `to` (both repo-relative).
fn relative_link(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Removes a read-only tree (restoring write permission first).
pub(crate) fn remove_read_only(path: &Path) {
    let mut stack = vec![path.to_owned()];
    while let Some(p) = stack.pop() {
        if let Ok(meta) = std::fs::symlink_metadata(&p)
            && meta.is_dir()
        {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                stack.push(e.path());
            }
        }
    }
    let _ = std::fs::remove_dir_all(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links() {
        assert_eq!(
            relative_link(Path::new("apps/web"), Path::new("shared/x")),
            PathBuf::from("../../shared/x")
        );
        assert_eq!(
            relative_link(Path::new("apps"), Path::new("apps/web")),
            PathBuf::from("web")
        );
        assert_eq!(
            relative_link(Path::new(""), Path::new("a")),
            PathBuf::from("a")
        );
        assert_eq!(
            relative_link(Path::new("a"), Path::new("a")),
            PathBuf::from(".")
        );
    }
}
