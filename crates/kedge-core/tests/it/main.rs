//! Integration tests of `kedge-core`: one test binary per crate, one module per feature.
