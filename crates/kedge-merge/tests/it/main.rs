//! Integration tests of `kedge-merge`: one test binary per crate, one module per feature.
mod ssa;
mod ssa_props;
mod ssa_schema;
