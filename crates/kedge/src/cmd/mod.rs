//! One module per subcommand: each holds its clap `Args` and a `run` function.

pub(crate) mod cluster;
pub(crate) mod completion;
pub(crate) mod install;
pub(crate) mod render;
