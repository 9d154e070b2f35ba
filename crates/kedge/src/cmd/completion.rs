//! `kedge completion SHELL`: shell completion scripts generated from the clap
//! definition, so they never drift from the real flags.

use clap_complete::Shell;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell to generate completions for.
    shell: Shell,
}

pub(crate) fn run(args: Args, cmd: &mut clap::Command) -> anyhow::Result<()> {
    clap_complete::generate(args.shell, cmd, "kedge", &mut std::io::stdout());
    Ok(())
}
