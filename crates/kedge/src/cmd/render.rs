//! `kedge render DIR`: the Kustomize renderer on the command line.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The kustomization directory to build.
    dir: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::bail!("rendering {} is not available yet", args.dir.display())
}
