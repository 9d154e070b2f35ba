//! A native Kustomize renderer with `kustomize build` (v5.5) semantics and
//! byte-identical output. Pure: files come through a filesystem trait and
//! remote bases through a loader trait; it never touches the network.
//!
//! ```no_run
//! use kedge_kustomize::{Kustomizer, OsFileSystem};
//! let out = Kustomizer::new().build(&OsFileSystem, std::path::Path::new("overlays/prod")).unwrap();
//! print!("{}", out.to_yaml());
//! ```
//!
//! Each build owns its state (no globals, no locks), so many overlays can
//! render in parallel on one [`Kustomizer`].

mod error;
mod fieldspec;
pub mod fs;
mod generators;
mod hash;
pub mod kustomization;
mod loader;
mod merge2;
mod plugins;
mod resmap;
pub mod resource;
mod scope;
mod selector;
mod sort;
mod target;
mod transformers;
mod untagged;
mod yaml;

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::Arc;

pub use error::{Error, Result};
pub use fs::{FileSystem, MemFileSystem, OsFileSystem};
pub use loader::{HelmRunner, Limits, LoadRestrictor, RemoteLoader};
use serde_json::Value;

/// Build options (kustomize's command-line flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which files kustomizations may read.
    pub load_restrictor: LoadRestrictor,
    /// Size and depth limits.
    pub limits: Limits,
}

/// A renderer configuration; cheap to share across threads.
#[derive(Clone, Default)]
pub struct Kustomizer {
    options: Options,
    remote: Option<Arc<dyn RemoteLoader>>,
    helm: Option<Arc<dyn HelmRunner>>,
}

/// The result of a build.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The output objects, in output order.
    pub objects: Vec<Value>,
    /// Warnings kubectl prints on stderr (deprecated fields).
    pub warnings: Vec<String>,
}

impl Rendered {
    /// The exact text `kubectl kustomize` prints.
    pub fn to_yaml(&self) -> String {
        yaml::emit(&self.objects)
    }

    /// The objects as a JSON `List`.
    pub fn to_json(&self) -> String {
        let list = serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": self.objects,
        });
        let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
        s.push('\n');
        s
    }
}

impl std::fmt::Debug for Kustomizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kustomizer")
            .field("options", &self.options)
            .field("remote", &self.remote.is_some())
            .field("helm", &self.helm.is_some())
            .finish()
    }
}

impl Kustomizer {
    /// A renderer with default options (root-only loading, no remote, no helm).
    pub fn new() -> Kustomizer {
        Kustomizer::default()
    }

    /// Sets the build options.
    pub fn with_options(mut self, options: Options) -> Kustomizer {
        self.options = options;
        self
    }

    /// Enables remote bases through `loader`.
    pub fn with_remote_loader(mut self, loader: Arc<dyn RemoteLoader>) -> Kustomizer {
        self.remote = Some(loader);
        self
    }

    /// Enables `helmCharts` through `runner`.
    pub fn with_helm_runner(mut self, runner: Arc<dyn HelmRunner>) -> Kustomizer {
        self.helm = Some(runner);
        self
    }

    /// Builds the kustomization in `dir` (an absolute path in `fs`).
    pub fn build(&self, fs: &dyn FileSystem, dir: &Path) -> Result<Rendered> {
        let ctx = loader::BuildCtx {
            fs,
            restrictor: self.options.load_restrictor,
            limits: &self.options.limits,
            remote: self.remote.as_deref(),
            helm: self.helm.as_deref(),
            total: Cell::new(0),
            warnings: RefCell::new(Vec::new()),
            stack: RefCell::new(Vec::new()),
            top: RefCell::new(std::path::PathBuf::new()),
            origins: Cell::new(false),
            transformer_notes: Cell::new(false),
            openapi: RefCell::new(None),
        };
        let objects = target::build(&ctx, dir)?;
        Ok(Rendered {
            objects,
            warnings: ctx.warnings.into_inner(),
        })
    }
}
