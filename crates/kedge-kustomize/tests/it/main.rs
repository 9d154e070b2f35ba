//! Integration tests of `kedge-kustomize`: one test binary per crate, one module per feature.

mod corpus;
mod differential;
mod fixtures;
mod hostile;
mod memfs;
