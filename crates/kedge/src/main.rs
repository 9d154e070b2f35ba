//! The `kedge` binary: a thin command-line layer over the library crates.
//!
//! Each subcommand lives in its own module under `cmd/` with its clap `Args`
//! struct and a `run` function; this file only parses the command line, sets
//! up logging and dispatches. Errors are `anyhow` here and nowhere below.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod cmd;

/// Kedge: pull-mode GitOps delivery, from source commit to a healthy workload.
#[derive(Debug, Parser)]
#[command(name = "kedge", version, about, propagate_version = true)]
struct Cli {
    /// Log filter, e.g. `info` or `kedge_apiserver=debug`.
    #[arg(long, global = true, env = "KEDGE_LOG", default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the embedded control plane, the controller and an example app.
    Up(cmd::up::Args),
    /// Create, inspect, sync, roll back and delete Applications.
    App(cmd::app::Args),
    /// Register Git repositories and their credentials.
    Repo(cmd::repo::Args),
    /// Manage AppProjects.
    Proj(cmd::proj::Args),
    /// Run the Application controller against a cluster.
    Controller(cmd::controller::Args),
    /// Convert Argo CD Application and AppProject manifests to Kedge's.
    Import(cmd::import::Args),
    /// Render a Kustomize directory, like `kustomize build`.
    Render(cmd::render::Args),
    /// Run or manage clusters (`kedge cluster serve` starts the embedded control plane).
    Cluster(cmd::cluster::Args),
    /// Print the manifests that install Kedge (CRDs, RBAC, controller).
    Install(cmd::install::Args),
    /// Print shell completions.
    Completion(cmd::completion::Args),
    /// Print the version.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(args),
        Command::App(args) => cmd::app::run(args),
        Command::Repo(args) => cmd::repo::run(args),
        Command::Proj(args) => cmd::proj::run(args),
        Command::Controller(args) => cmd::controller::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Render(args) => cmd::render::run(args),
        Command::Cluster(args) => cmd::cluster::run(args),
        Command::Install(args) => cmd::install::run(args),
        Command::Completion(args) => cmd::completion::run(args, &mut Cli::command()),
        Command::Version => {
            println!("kedge {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
