//! Integration tests of `kedge`: one test binary per crate, one module per feature.

mod cluster_durability;
mod support;
mod up;
mod e2e;
mod cli;
