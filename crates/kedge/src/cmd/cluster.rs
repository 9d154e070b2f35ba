//! `kedge cluster …`: the embedded control plane and cluster registration.

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve the embedded kubectl-compatible control plane.
    Serve,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Serve => anyhow::bail!("the embedded control plane is not available yet"),
    }
}
