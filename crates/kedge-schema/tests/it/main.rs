//! Integration tests of `kedge-schema`: one test binary per crate, one module per feature.

mod kubectl;
mod types;
