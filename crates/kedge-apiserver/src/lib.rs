//! The embedded, kubectl-compatible Kubernetes API server: a cluster without
//! nodes that speaks the Kubernetes REST API over the SQLite store.
//!
//! Layout: `server` (TLS, authentication, kubeconfig, connection handling,
//! routing to handlers), `router` (URL → request kind), `catalog` (served
//! resources), `discovery` and `openapi` (documents), `handlers` (one module
//! per verb), `registry` (per-resource strategy: defaulting, validation,
//! status handling, generation), `table` (kubectl's `as=Table` output),
//! `controllers` (namespace lifecycle and per-namespace defaults),
//! `validation` (unknown fields under `fieldValidation`),
//! `selector`, `status` (errors as `Status`), `protobuf` (protobuf request
//! bodies) and `object` (helpers).
//!
//! Start it in-process with [`ApiServer::start`]; `kedge cluster serve` is a
//! thin wrapper around it.

mod catalog;
mod controllers;
mod crd;
mod defaults;
mod discovery;
mod gc;
mod handlers;
mod object;
mod openapi;
mod protobuf;
mod registry;
mod router;
mod selector;
mod server;
mod simulator;
mod status;
mod table;
mod validation;

use std::path::{Path, PathBuf};

pub use server::{ApiServer, Config, Handle};

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file in the data directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] kedge_store::StoreError),
    /// Certificates or TLS setup failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The configuration is not acceptable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Binding the listen address failed.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
