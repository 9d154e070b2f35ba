//! Integration tests of `kedge-schema`: one test binary per crate, one module per feature.

mod crd;
mod discovery;
mod fields;
mod kubectl;
mod openapi;
mod regenerate;
mod types;
