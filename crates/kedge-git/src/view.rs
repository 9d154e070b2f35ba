//! A read-only filesystem view of `(repository, commit, subpath)`.
//!
//! This is what a renderer reads: `read_file`, `read_dir`, `is_dir`,
//! `exists` and `realpath`, over the immutable [`Tree`] of one commit, with
//! blob contents from the repository's object reader. Paths are `/`
//! separated; a relative path is taken from the view's base (the
//! application's source path) and an absolute one from the repository root.
//! Resolution is lexical and symlink-aware, component by component:
//! symlinks whose targets stay inside the repository are followed (an
//! overlay may link to a sibling directory outside its own path), while an
//! absolute target, a `..` that climbs above the repository root, a loop,
//! a submodule or an LFS pointer is refused with an error naming the path.
//! Each file is capped (`max_file_bytes`) before it is read, and the
//! total read through one view is capped (`max_render_bytes`): one view
//! serves one render.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::GitError;
use crate::objects::{EntryKind, ObjectReader, Tree};

/// Size limits applied by every view.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest single file a view returns.
    pub max_file_bytes: u64,
    /// Largest total a single view returns across all reads.
    pub max_render_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 16 * 1024 * 1024,
            max_render_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Symlink hops allowed while resolving one path (as Linux' MAXSYMLINKS).
const MAX_SYMLINK_HOPS: usize = 40;
/// Symlink targets longer than this are refused.
const MAX_SYMLINK_TARGET: u64 = 4096;
/// Git LFS pointer files start with this line.
const LFS_POINTER_PREFIX: &[u8] = b"version https://git-lfs.github.com/spec/";

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (no slashes).
    pub name: String,
    /// What it is in the tree (symlinks are reported as such, unresolved).
    pub kind: EntryKind,
}

/// A filesystem view of one commit, rooted for path resolution at `base`.
pub struct RepoView {
    repo: String,
    tree: Arc<Tree>,
    objects: Arc<ObjectReader>,
    base: String,
    limits: Limits,
    read_total: AtomicU64,
}

impl std::fmt::Debug for RepoView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoView")
            .field("repo", &self.repo)
            .field("commit", &self.tree.commit())
            .field("base", &self.base)
            .finish()
    }
}

impl RepoView {
    pub(crate) fn new(
        repo: String,
        tree: Arc<Tree>,
        objects: Arc<ObjectReader>,
        base: &str,
        limits: Limits,
    ) -> Result<Self, GitError> {
        let mut view = Self {
            repo,
            tree,
            objects,
            base: String::new(),
            limits,
            read_total: AtomicU64::new(0),
        };
        let base = view.realpath(&format!("/{}", base.trim_start_matches('/')))?;
        if !view.tree.is_dir(&base) {
            return Err(GitError::NotFound {
                repo: view.repo.clone(),
                commit: view.tree.commit().to_owned(),
                path: base,
            });
        }
        view.base = base;
        Ok(view)
    }

    /// The commit this view reads.
    pub fn commit(&self) -> &str {
        self.tree.commit()
    }

    /// The view's base directory, repository-relative (`""` is the root).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The tree listing behind the view.
    pub fn tree(&self) -> &Arc<Tree> {
        &self.tree
    }

    /// Bytes returned by this view so far.
    pub fn bytes_read(&self) -> u64 {
        self.read_total.load(Ordering::Relaxed)
    }

    /// Resolves `path` (relative to the base, or absolute from the
    /// repository root) to a repository-relative path with every symlink
    /// followed. The final component need not exist.
    pub fn realpath(&self, path: &str) -> Result<String, GitError> {
        self.resolve(path, true)
    }

    fn resolve(&self, path: &str, follow_last: bool) -> Result<String, GitError> {
        if path.contains('\0') {
            return Err(GitError::OutsideRepository {
                path: path.escape_default().to_string(),
                reason: "NUL byte in path".into(),
            });
        }
        let mut pending: VecDeque<String> = VecDeque::new();
        if !path.starts_with('/') {
            pending.extend(
                self.base
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        }
        pending.extend(path.split('/').filter(|c| !c.is_empty()).map(str::to_owned));
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0usize;
        while let Some(comp) = pending.pop_front() {
            match comp.as_str() {
                "." => continue,
                ".." => {
                    if resolved.pop().is_none() {
                        return Err(GitError::OutsideRepository {
                            path: path.to_owned(),
                            reason: "'..' climbs above the repository root".into(),
                        });
                    }
                    continue;
                }
                _ => {}
            }
            resolved.push(comp);
            let current = resolved.join("/");
            let Some(entry) = self.tree.get(&current) else {
                if pending.is_empty() {
                    break;
                }
                return Err(self.not_found(&current));
            };
            match entry.kind {
                EntryKind::Symlink if follow_last || !pending.is_empty() => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(GitError::SymlinkLoop {
                            path: path.to_owned(),
                        });
                    }
                    let target = self.link_target(&current, &entry.oid, entry.size)?;
                    if target.starts_with('/') {
                        return Err(GitError::OutsideRepository {
                            path: current,
                            reason: format!("symlink to absolute path {target:?}"),
                        });
                    }
                    resolved.pop();
                    for c in target.split('/').rev().filter(|c| !c.is_empty()) {
                        pending.push_front(c.to_owned());
                    }
                }
                EntryKind::Submodule => return Err(GitError::Submodule { path: current }),
                EntryKind::File | EntryKind::Executable if !pending.is_empty() => {
                    return Err(GitError::WrongKind {
                        path: current,
                        reason: "not a directory".into(),
                    });
                }
                _ => {}
            }
        }
        Ok(resolved.join("/"))
    }

    fn link_target(&self, path: &str, oid: &str, size: u64) -> Result<String, GitError> {
        if size > MAX_SYMLINK_TARGET {
            return Err(GitError::FileTooLarge {
                path: path.to_owned(),
                size,
                limit: MAX_SYMLINK_TARGET,
            });
        }
        let (_, data) = self
            .objects
            .read(oid, Some(size), MAX_SYMLINK_TARGET, path)?;
        String::from_utf8(data).map_err(|_| GitError::OutsideRepository {
            path: path.to_owned(),
            reason: "symlink target is not UTF-8".into(),
        })
    }

    fn not_found(&self, path: &str) -> GitError {
        GitError::NotFound {
            repo: self.repo.clone(),
            commit: self.tree.commit().to_owned(),
            path: path.to_owned(),
        }
    }

    /// Reads a file, following symlinks that stay inside the repository.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, GitError> {
        let real = self.realpath(path)?;
        let entry = self.tree.get(&real).ok_or_else(|| self.not_found(&real))?;
        match entry.kind {
            EntryKind::File | EntryKind::Executable => {}
            EntryKind::Dir => {
                return Err(GitError::WrongKind {
                    path: real,
                    reason: "is a directory".into(),
                });
            }
            EntryKind::Submodule => return Err(GitError::Submodule { path: real }),
            EntryKind::Symlink => return Err(GitError::SymlinkLoop { path: real }),
        }
        if entry.size > self.limits.max_file_bytes {
            return Err(GitError::FileTooLarge {
                path: real,
                size: entry.size,
                limit: self.limits.max_file_bytes,
            });
        }
        let total = self.read_total.fetch_add(entry.size, Ordering::Relaxed) + entry.size;
        if total > self.limits.max_render_bytes {
            return Err(GitError::RenderTooLarge {
                path: real,
                limit: self.limits.max_render_bytes,
            });
        }
        let (_, data) = self.objects.read(
            &entry.oid,
            Some(entry.size),
            self.limits.max_file_bytes,
            &real,
        )?;
        if data.len() < 1024 && data.starts_with(LFS_POINTER_PREFIX) {
            return Err(GitError::LfsPointer { path: real });
        }
        Ok(data)
    }

    /// The size of a file in bytes, from the tree listing (nothing is read).
    pub fn file_size(&self, path: &str) -> Result<u64, GitError> {
        let real = self.realpath(path)?;
        match self.tree.get(&real) {
            Some(e) if matches!(e.kind, EntryKind::File | EntryKind::Executable) => Ok(e.size),
            Some(e) if e.kind == EntryKind::Submodule => Err(GitError::Submodule { path: real }),
            Some(_) => Err(GitError::WrongKind {
                path: real,
                reason: "is a directory".into(),
            }),
            None => Err(self.not_found(&real)),
        }
    }

    /// Reads several files in one pipelined exchange with git (for
    /// preloading a whole application directory). Every check of
    /// [`RepoView::read_file`] applies to each path, before anything is read.
    pub fn read_files<S: AsRef<str>>(&self, paths: &[S]) -> Result<Vec<Vec<u8>>, GitError> {
        let mut wanted: Vec<(&str, u64)> = Vec::with_capacity(paths.len());
        let mut total = 0u64;
        let mut last = String::new();
        for p in paths {
            let real = self.realpath(p.as_ref())?;
            let entry = self.tree.get(&real).ok_or_else(|| self.not_found(&real))?;
            match entry.kind {
                EntryKind::File | EntryKind::Executable => {}
                EntryKind::Submodule => return Err(GitError::Submodule { path: real }),
                _ => {
                    return Err(GitError::WrongKind {
                        path: real,
                        reason: "is not a file".into(),
                    });
                }
            }
            if entry.size > self.limits.max_file_bytes {
                return Err(GitError::FileTooLarge {
                    path: real,
                    size: entry.size,
                    limit: self.limits.max_file_bytes,
                });
            }
            total += entry.size;
            wanted.push((&entry.oid, entry.size));
            last = real;
        }
        let before = self.read_total.fetch_add(total, Ordering::Relaxed);
        if before + total > self.limits.max_render_bytes {
            return Err(GitError::RenderTooLarge {
                path: last,
                limit: self.limits.max_render_bytes,
            });
        }
        let data = self.objects.read_many(&wanted, &self.base)?;
        for (d, p) in data.iter().zip(paths) {
            if d.len() < 1024 && d.starts_with(LFS_POINTER_PREFIX) {
                return Err(GitError::LfsPointer {
                    path: self.realpath(p.as_ref())?,
                });
            }
        }
        Ok(data)
    }

    /// Reads a file as UTF-8 text.
    pub fn read_to_string(&self, path: &str) -> Result<String, GitError> {
        let data = self.read_file(path)?;
        String::from_utf8(data).map_err(|_| GitError::WrongKind {
            path: path.to_owned(),
            reason: "is not valid UTF-8".into(),
        })
    }

    /// Lists a directory (after following symlinks to it), sorted by name.
    /// Submodules are left out with a warning.
    pub fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, GitError> {
        let real = self.realpath(path)?;
        let names = self
            .tree
            .children(&real)
            .ok_or_else(|| match self.tree.get(&real) {
                Some(_) => GitError::WrongKind {
                    path: real.clone(),
                    reason: "not a directory".into(),
                },
                None => self.not_found(&real),
            })?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let full = if real.is_empty() {
                name.to_string()
            } else {
                format!("{real}/{name}")
            };
            let kind = self
                .tree
                .get(&full)
                .map(|e| e.kind)
                .unwrap_or(EntryKind::Dir);
            if kind == EntryKind::Submodule {
                tracing::warn!(path = %full, "skipping git submodule");
                continue;
            }
            out.push(DirEntry {
                name: name.to_string(),
                kind,
            });
        }
        Ok(out)
    }

    /// Whether `path` resolves to a directory inside the repository.
    pub fn is_dir(&self, path: &str) -> bool {
        self.realpath(path).is_ok_and(|p| self.tree.is_dir(&p))
    }

    /// Whether `path` resolves to a regular file inside the repository.
    pub fn is_file(&self, path: &str) -> bool {
        self.realpath(path).is_ok_and(|p| {
            self.tree
                .get(&p)
                .is_some_and(|e| matches!(e.kind, EntryKind::File | EntryKind::Executable))
        })
    }

    /// Whether `path` resolves to anything inside the repository.
    pub fn exists(&self, path: &str) -> bool {
        self.realpath(path)
            .is_ok_and(|p| p.is_empty() || self.tree.get(&p).is_some())
    }
}
