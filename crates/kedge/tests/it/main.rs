//! Integration tests of `kedge`: one test binary per crate, one module per feature.

mod cli;
mod cluster_durability;
mod e2e;
mod support;
mod up;
