//! One module per subcommand: each holds its clap `Args` and a `run` function.

pub(crate) mod app;
pub(crate) mod appdiff;
pub(crate) mod client;
pub(crate) mod cluster;
pub(crate) mod completion;
pub(crate) mod controller;
pub(crate) mod import;
pub(crate) mod install;
pub(crate) mod output;
pub(crate) mod proj;
pub(crate) mod render;
pub(crate) mod repo;
pub(crate) mod up;

use anyhow::Context as _;

/// Installs the SIGINT and SIGTERM handlers at once and returns a future
/// that resolves after the first of them: long-running commands call it
/// before announcing they are ready, so an early signal is never lost.
pub(crate) fn signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
