//! `kedge import`: convert Argo CD Application and AppProject manifests.
//!
//! Not built yet: the command refuses to run.

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("this command is not available in this build yet")
}
