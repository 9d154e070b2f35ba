//! Integration tests of `kedge-kustomize`: one test binary per crate, one module per feature.
