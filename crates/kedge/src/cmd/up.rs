//! `kedge up`: the embedded control plane, the controller and an example app in one process.
//!
//! Not built yet: the command refuses to run.

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("this command is not available in this build yet")
}
