//! Materialised snapshots: a read-only directory tree of one commit, for
//! tools that need real files (a Helm binary, a plugin).
//!
//! A snapshot is written from the commit's [`Tree`] and the object reader
//! into a temporary directory, then renamed into place at
//! `<root>/snapshots/<repo>/<commit>`; the rename is atomic, so a snapshot
//! that exists is complete, and since it is named by commit and made
//! read-only (files 0444/0555, directories 0555) it never changes. Every
//! symlink is checked with the same rules as [`crate::RepoView`]: links that
//! resolve inside the repository are recreated with their relative
//! target, anything else fails the snapshot. Submodules are skipped with a
//! warning; LFS pointers and size limits fail it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::cache::GitCache;
use crate::error::GitError;
use crate::objects::EntryKind;
use crate::revision::is_full_sha;
use crate::url::RepoUrl;

impl GitCache {
    /// The read-only snapshot directory of `commit`, written on first use.
    pub async fn materialize(&self, url: &RepoUrl, commit: &str) -> Result<PathBuf, GitError> {
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
        let parent = self.config().root.join("snapshots").join(name);
        let dest = parent.join(commit);
        if dest.is_dir() {
            return Ok(dest);
        }
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
        Ok(dest)
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
