//! File loading for one kustomization root, with kustomize's load
//! restrictions and this crate's size limits.
//!
//! With [`LoadRestrictor::RootOnly`] (the default) a file must resolve, after
//! following symlinks, to a location in or below the kustomization root;
//! directories (bases) may live anywhere, as in kustomize. Remote bases are
//! delegated to a [`RemoteLoader`]; without one they fail with a clear error.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs::{FileSystem, clean};

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// Files must be in or below the kustomization root (kustomize's default).
    #[default]
    RootOnly,
    /// Any file may be read.
    None,
}

impl std::str::FromStr for LoadRestrictor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "LoadRestrictionsRootOnly" | "rootOnly" | "RootOnly" => Ok(LoadRestrictor::RootOnly),
            "LoadRestrictionsNone" | "none" | "None" => Ok(LoadRestrictor::None),
            other => Err(format!(
                "unknown load restrictor {other:?}: use LoadRestrictionsRootOnly or LoadRestrictionsNone"
            )),
        }
    }
}

/// Fetches remote bases (Git URLs) into a directory the filesystem can read.
pub trait RemoteLoader: Send + Sync {
    /// Makes `url` available locally and returns the directory to build.
    fn fetch(&self, url: &str) -> std::result::Result<PathBuf, String>;
}

/// Renders `helmCharts` entries (kustomize runs `helm template`).
pub trait HelmRunner: Send + Sync {
    /// Returns the rendered manifests of one chart entry.
    fn template(
        &self,
        chart: &serde_json::Value,
        globals: Option<&serde_json::Value>,
        root: &Path,
    ) -> std::result::Result<String, String>;
}

/// Bounds on what one build may read.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest single file, in bytes.
    pub max_file_bytes: u64,
    /// Total bytes read by one build.
    pub max_total_bytes: u64,
    /// Deepest nesting of kustomization directories.
    pub max_depth: usize,
    /// YAML parser limits.
    pub yaml: kedge_yaml::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 16 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024,
            max_depth: 64,
            yaml: kedge_yaml::Limits {
                max_bytes: 16 * 1024 * 1024,
                max_depth: 256,
                max_alias_expansion: 100_000,
                max_documents: 100_000,
            },
        }
    }
}

/// State shared by every loader of one build.
pub(crate) struct BuildCtx<'a> {
    pub(crate) fs: &'a dyn FileSystem,
    pub(crate) restrictor: LoadRestrictor,
    pub(crate) limits: &'a Limits,
    pub(crate) remote: Option<&'a dyn RemoteLoader>,
    pub(crate) helm: Option<&'a dyn HelmRunner>,
    pub(crate) total: Cell<u64>,
    pub(crate) warnings: RefCell<Vec<String>>,
    /// Canonical roots currently being built (cycle detection).
    pub(crate) stack: RefCell<Vec<PathBuf>>,
    /// The canonical root of the top-level build.
    pub(crate) top: RefCell<PathBuf>,
    /// `buildMetadata: [originAnnotations]` on the top kustomization.
    pub(crate) origins: Cell<bool>,
    /// `buildMetadata: [transformerAnnotations]` on the top kustomization.
    pub(crate) transformer_notes: Cell<bool>,
    /// The OpenAPI schema chosen by the first kustomization that sets
    /// `openapi:` (outermost first, as in kustomize): `Some(None)` for a
    /// built-in version, `Some(Some(..))` for a custom document.
    pub(crate) openapi: RefCell<Option<Option<std::rc::Rc<crate::merge2::CustomSchema>>>>,
}

impl BuildCtx<'_> {
    /// The custom schema in effect, if any.
    pub(crate) fn schema(&self) -> Option<std::rc::Rc<crate::merge2::CustomSchema>> {
        self.openapi.borrow().clone().flatten()
    }

    /// `path` relative to the top-level build root (`../base/x.yaml`).
    pub(crate) fn rel_to_top(&self, path: &Path) -> String {
        let top = self.top.borrow();
        let a: Vec<_> = top.components().collect();
        let b: Vec<_> = path.components().collect();
        let common = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
        let mut out = PathBuf::new();
        for _ in common..a.len() {
            out.push("..");
        }
        for c in &b[common..] {
            out.push(c.as_os_str());
        }
        out.to_string_lossy().into_owned()
    }

    pub(crate) fn warn(&self, w: String) {
        let mut ws = self.warnings.borrow_mut();
        if !ws.contains(&w) {
            ws.push(w);
        }
    }
}

/// Loads files relative to one kustomization root.
#[derive(Clone)]
pub(crate) struct Loader {
    /// The canonical root directory.
    pub(crate) root: PathBuf,
}

/// True for resource strings kustomize treats as remote.
pub(crate) fn looks_remote(s: &str) -> bool {
    s.starts_with("https://")
        || s.starts_with("http://")
        || s.starts_with("git@")
        || s.starts_with("ssh://")
        || s.starts_with("git::")
        || s.starts_with("github.com/")
        || s.starts_with("gitlab.com/")
        || s.starts_with("bitbucket.org/")
}

impl Loader {
    pub(crate) fn new(ctx: &BuildCtx<'_>, dir: &Path) -> Result<Loader> {
        let root = ctx.fs.canonicalize(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        if !ctx.fs.is_dir(&root) {
            return Err(Error::Build(format!(
                "must build at directory: not a valid directory: '{}'",
                root.display()
            )));
        }
        Ok(Loader { root })
    }

    /// The absolute (lexically cleaned) path of `rel`.
    pub(crate) fn join(&self, rel: &str) -> PathBuf {
        let p = Path::new(rel);
        if p.is_absolute() {
            clean(p)
        } else {
            clean(&self.root.join(p))
        }
    }

    /// A loader for a sub-directory (a base or component).
    pub(crate) fn sub(&self, ctx: &BuildCtx<'_>, rel: &str) -> Result<Loader> {
        let path = self.join(rel);
        if !ctx.fs.is_dir(&path) {
            if looks_remote(rel) {
                let remote = ctx.remote.ok_or_else(|| Error::Remote(rel.to_string()))?;
                let dir = remote
                    .fetch(rel)
                    .map_err(|e| Error::Build(format!("fetching remote resource '{rel}': {e}")))?;
                return Loader::new(ctx, &dir);
            }
            return Err(Error::Build(format!(
                "must build at directory: not a valid directory: evalsymlink failure on '{}' : lstat {}: no such file or directory",
                path.display(),
                path.display()
            )));
        }
        let l = Loader::new(ctx, &path)?;
        for visited in ctx.stack.borrow().iter() {
            if visited.starts_with(&l.root) {
                return Err(Error::Cycle {
                    candidate: l.root.clone(),
                    visited: visited.clone(),
                });
            }
        }
        Ok(l)
    }

    /// Reads a file as UTF-8 text, enforcing the restrictor and size limits.
    pub(crate) fn load(&self, ctx: &BuildCtx<'_>, rel: &str) -> Result<String> {
        let path = self.join(rel);
        let bytes = self.load_bytes(ctx, rel)?;
        String::from_utf8(bytes).map_err(|_| Error::Io {
            path,
            message: "file is not valid UTF-8".into(),
        })
    }

    /// Reads a file's bytes, enforcing the restrictor and size limits.
    pub(crate) fn load_bytes(&self, ctx: &BuildCtx<'_>, rel: &str) -> Result<Vec<u8>> {
        let path = self.join(rel);
        let real = ctx.fs.canonicalize(&path).map_err(|e| Error::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if ctx.restrictor == LoadRestrictor::RootOnly && !real.starts_with(&self.root) {
            return Err(Error::Restricted {
                path: real,
                root: self.root.clone(),
            });
        }
        if ctx.fs.is_dir(&real) {
            return Err(Error::Io {
                path,
                message: "is a directory".into(),
            });
        }
        let size = ctx.fs.file_size(&real).map_err(|e| Error::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if size > ctx.limits.max_file_bytes {
            return Err(Error::TooLarge {
                what: "file",
                path,
                limit: ctx.limits.max_file_bytes,
            });
        }
        let total = ctx.total.get() + size;
        if total > ctx.limits.max_total_bytes {
            return Err(Error::TooLarge {
                what: "total input of the build",
                path,
                limit: ctx.limits.max_total_bytes,
            });
        }
        ctx.total.set(total);
        ctx.fs.read(&real).map_err(|e| Error::Io {
            path,
            message: e.to_string(),
        })
    }

    /// True when `rel` names an existing file or directory.
    pub(crate) fn exists(&self, ctx: &BuildCtx<'_>, rel: &str) -> bool {
        ctx.fs.exists(&self.join(rel))
    }

    pub(crate) fn is_dir(&self, ctx: &BuildCtx<'_>, rel: &str) -> bool {
        ctx.fs.is_dir(&self.join(rel))
    }
}
