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
