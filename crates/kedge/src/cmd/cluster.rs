//! `kedge cluster …`: the embedded control plane and cluster registration.
//!
//! `kedge cluster serve` runs the embedded API server in the foreground until
//! SIGINT or SIGTERM, then shuts it down gracefully (open watches end, the
//! store's last writes are already durable).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve the embedded kubectl-compatible control plane.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Data directory: database, certificates, token and the kubeconfig.
    #[arg(long)]
    data: PathBuf,
    /// Serve plain HTTP instead of HTTPS (loopback addresses only).
    #[arg(long)]
    insecure_http: bool,
    /// Do not run the workload simulator (no status for Deployments, Jobs, …).
    #[arg(long)]
    no_simulator: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Serve(serve) => run_serve(serve),
    }
}

fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut config = kedge_apiserver::Config::new(args.listen, &args.data);
        config.insecure_http = args.insecure_http;
        config.simulator = !args.no_simulator;
        let handle = kedge_apiserver::ApiServer::start(config)
            .await
            .with_context(|| format!("starting the control plane in {}", args.data.display()))?;
        // One line on stdout that scripts (and tests) wait for.
        println!(
            "kedge control plane listening on {} (kubeconfig: {})",
            handle.local_addr(),
            handle.kubeconfig_path().display()
        );
        wait_for_signal().await?;
        handle.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
