//! The renderer's filesystem over a read-only view of a commit.
//!
//! [`ViewFileSystem`] implements [`kedge_kustomize::FileSystem`] on top of a
//! [`RepoView`], so an overlay renders straight from the object store: no
//! checkout is written, and every read goes through the view's rules
//! (symlinks followed only inside the repository, submodules and LFS
//! pointers refused, per-file and per-render size caps). The repository
//! root is the filesystem root `/`: the renderer is given
//! [`ViewFileSystem::app_dir`] (`/<source path>`), and every path it derives
//! (`../base`, a resource file) is absolute from that root. `..` never
//! climbs above `/`, as on a real filesystem, and the view refuses anything
//! that would leave the repository through a symlink. View errors become
//! `io::Error`s whose kind follows the failure (`NotFound`,
//! `PermissionDenied` for paths leaving the repository, `InvalidData` for
//! size caps) and whose message names the path.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::GitError;
use crate::view::RepoView;

/// A [`kedge_kustomize::FileSystem`] reading one commit through a view.
#[derive(Debug)]
pub struct ViewFileSystem {
    view: RepoView,
}

impl ViewFileSystem {
    /// Wraps a view; its base becomes [`ViewFileSystem::app_dir`].
    pub fn new(view: RepoView) -> Self {
        Self { view }
    }

    /// The directory to hand to the renderer: the view's base as an
    /// absolute path (`/` is the repository root).
    pub fn app_dir(&self) -> PathBuf {
        Path::new("/").join(self.view.base())
    }

    /// The underlying view (commit, bytes read so far).
    pub fn view(&self) -> &RepoView {
        &self.view
    }

    /// The view path of a renderer path: absolute from the repository
    /// root, `.` and `..` applied lexically and clamped at the root.
    fn repo_path(path: &Path) -> io::Result<String> {
        let mut parts: Vec<String> = Vec::new();
        for c in path.components() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    parts.pop();
                }
                Component::Normal(s) => {
                    parts.push(s.to_str().map(str::to_owned).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("{}: path is not UTF-8", path.display()),
                        )
                    })?)
                }
            }
        }
        Ok(format!("/{}", parts.join("/")))
    }
}

/// Maps a view error to an `io::Error` of the matching kind.
fn io_error(e: GitError) -> io::Error {
    let kind = match &e {
        GitError::NotFound { .. } => io::ErrorKind::NotFound,
        GitError::OutsideRepository { .. } | GitError::Submodule { .. } => {
            io::ErrorKind::PermissionDenied
        }
        GitError::FileTooLarge { .. }
        | GitError::RenderTooLarge { .. }
        | GitError::LfsPointer { .. } => io::ErrorKind::InvalidData,
        GitError::WrongKind { .. } => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e.to_string())
}

impl kedge_kustomize::FileSystem for ViewFileSystem {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.view
            .read_file(&Self::repo_path(path)?)
            .map_err(io_error)
    }

    fn file_size(&self, path: &Path) -> io::Result<u64> {
        self.view
            .file_size(&Self::repo_path(path)?)
            .map_err(io_error)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let entries = self
            .view
            .read_dir(&Self::repo_path(path)?)
            .map_err(io_error)?;
        Ok(entries.into_iter().map(|e| e.name).collect())
    }

    fn is_dir(&self, path: &Path) -> bool {
        Self::repo_path(path).is_ok_and(|p| self.view.is_dir(&p))
    }

    fn exists(&self, path: &Path) -> bool {
        Self::repo_path(path).is_ok_and(|p| self.view.exists(&p))
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = Self::repo_path(path)?;
        if !self.view.exists(&p) {
            // Distinguish "missing" from "refused" for the message.
            self.view.realpath(&p).map_err(io_error)?;
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file or directory", path.display()),
            ));
        }
        let real = self.view.realpath(&p).map_err(io_error)?;
        Ok(Path::new("/").join(real))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_paths_are_absolute_and_clamped() {
        let p = |s: &str| ViewFileSystem::repo_path(Path::new(s)).unwrap();
        assert_eq!(p("/apps/web/../base/k.yaml"), "/apps/base/k.yaml");
        assert_eq!(p("/"), "/");
        assert_eq!(p("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(p("/a/./b/"), "/a/b");
    }
}
