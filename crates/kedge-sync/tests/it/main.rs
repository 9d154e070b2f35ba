//! Integration tests of `kedge-sync`: one test binary per crate, one module per feature.
