//! The filesystem seen by the renderer. Builds never touch the disk directly:
//! everything goes through [`FileSystem`], which has an OS implementation
//! ([`OsFileSystem`]) and an in-memory one ([`MemFileSystem`]) for tests and
//! for trees held in memory (e.g. a Git checkout read from a pack). Paths are
//! absolute; `canonicalize` resolves `.`/`..` and symlinks so the load
//! restrictor can compare real locations.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Component, Path, PathBuf};

/// Read-only filesystem access used by a build.
pub trait FileSystem: Send + Sync {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The size of a file in bytes (without reading it).
    fn file_size(&self, path: &Path) -> io::Result<u64>;
    /// The entry names of a directory, sorted.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// True when the path exists and is a directory (following symlinks).
    fn is_dir(&self, path: &Path) -> bool;
    /// True when the path exists (following symlinks).
    fn exists(&self, path: &Path) -> bool;
    /// The absolute path with `.`/`..` and symlinks resolved.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFileSystem;

impl FileSystem for OsFileSystem {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            out.push(entry?.file_name().to_string_lossy().into_owned());
        }
        out.sort();
        Ok(out)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// Lexically normalises an absolute path (`a/./b/../c` → `a/c`).
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("/");
    }
    out
}

/// An in-memory filesystem: files, directories and symlinks.
#[derive(Debug, Default, Clone)]
pub struct MemFileSystem {
    files: BTreeMap<PathBuf, Vec<u8>>,
    dirs: BTreeSet<PathBuf>,
    links: BTreeMap<PathBuf, PathBuf>,
}

impl MemFileSystem {
    /// An empty filesystem holding only `/`.
    pub fn new() -> Self {
        let mut fs = Self::default();
        fs.dirs.insert(PathBuf::from("/"));
        fs
    }

    fn add_parents(&mut self, path: &Path) {
        let mut p = path.parent();
        while let Some(dir) = p {
            self.dirs.insert(dir.to_path_buf());
            p = dir.parent();
        }
    }

    /// Writes a file (creating parent directories).
    pub fn write(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) {
        let path = clean(path.as_ref());
        self.add_parents(&path);
        self.files.insert(path, content.into());
    }

    /// Creates a directory (and its parents).
    pub fn mkdir(&mut self, path: impl AsRef<Path>) {
        let path = clean(path.as_ref());
        self.add_parents(&path);
        self.dirs.insert(path);
    }

    /// Creates a symlink at `path` pointing to `target` (absolute or relative).
    pub fn symlink(&mut self, path: impl AsRef<Path>, target: impl AsRef<Path>) {
        let path = clean(path.as_ref());
        self.add_parents(&path);
        self.links.insert(path, target.as_ref().to_path_buf());
    }

    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        let mut resolved = PathBuf::from("/");
        let mut pending: Vec<PathBuf> = Vec::new();
        let mut hops = 0;
        let comps: Vec<_> = path
            .components()
            .map(|c| c.as_os_str().to_owned())
            .collect();
        for c in comps.into_iter().rev() {
            pending.push(PathBuf::from(c));
        }
        while let Some(c) = pending.pop() {
            let s = c.as_os_str();
            if s == "/" || s == "." {
                continue;
            }
            if s == ".." {
                resolved.pop();
                continue;
            }
            let next = resolved.join(&c);
            if let Some(target) = self.links.get(&next) {
                hops += 1;
                if hops > 40 {
                    return Err(io::Error::other("too many levels of symbolic links"));
                }
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                let parts: Vec<_> = target
                    .components()
                    .map(|c| c.as_os_str().to_owned())
                    .collect();
                for p in parts.into_iter().rev() {
                    pending.push(PathBuf::from(p));
                }
            } else {
                resolved = next;
            }
        }
        Ok(resolved)
    }

    fn not_found(path: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("open {}: no such file or directory", path.display()),
        )
    }
}

impl FileSystem for MemFileSystem {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let real = self.resolve(path)?;
        self.files
            .get(&real)
            .cloned()
            .ok_or_else(|| Self::not_found(path))
    }
    fn file_size(&self, path: &Path) -> io::Result<u64> {
        let real = self.resolve(path)?;
        self.files
            .get(&real)
            .map(|f| f.len() as u64)
            .ok_or_else(|| Self::not_found(path))
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let real = self.resolve(path)?;
        if !self.dirs.contains(&real) {
            return Err(Self::not_found(path));
        }
        let mut names = BTreeSet::new();
        let keys = self
            .files
            .keys()
            .chain(self.dirs.iter())
            .chain(self.links.keys());
        for k in keys {
            if k.parent() == Some(real.as_path())
                && let Some(n) = k.file_name()
            {
                names.insert(n.to_string_lossy().into_owned());
            }
        }
        Ok(names.into_iter().collect())
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.resolve(path)
            .map(|p| self.dirs.contains(&p))
            .unwrap_or(false)
    }
    fn exists(&self, path: &Path) -> bool {
        self.resolve(path)
            .map(|p| self.dirs.contains(&p) || self.files.contains_key(&p))
            .unwrap_or(false)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = self.resolve(path)?;
        if self.dirs.contains(&p) || self.files.contains_key(&p) {
            Ok(p)
        } else {
            Err(Self::not_found(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_fs_resolves_symlinks_and_dotdot() {
        let mut fs = MemFileSystem::new();
        fs.write("/a/b/f.yaml", "x");
        fs.symlink("/a/link", "b");
        fs.symlink("/a/abs", "/a/b/f.yaml");
        assert_eq!(fs.read(Path::new("/a/link/f.yaml")).unwrap(), b"x");
        assert_eq!(
            fs.canonicalize(Path::new("/a/abs")).unwrap(),
            PathBuf::from("/a/b/f.yaml")
        );
        assert_eq!(
            fs.canonicalize(Path::new("/a/b/../link/./f.yaml")).unwrap(),
            PathBuf::from("/a/b/f.yaml")
        );
        assert!(fs.is_dir(Path::new("/a/link")));
        assert_eq!(
            fs.read_dir(Path::new("/a")).unwrap(),
            vec!["abs", "b", "link"]
        );
    }
}
