//! `kedge app …`: create, inspect, sync, roll back and delete Applications.
//!
//! Not built yet: the command refuses to run.

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("this command is not available in this build yet")
}
