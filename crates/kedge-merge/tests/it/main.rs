//! Integration tests of `kedge-merge`: one test binary per crate, one module per feature.
mod jsonpatch;
mod smp;
mod smp_props;
mod smp_schema;
mod ssa;
mod ssa_props;
mod ssa_schema;
