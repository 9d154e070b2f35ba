//! Integration tests of `kedge-yaml`: one test binary per crate, one module per feature.
