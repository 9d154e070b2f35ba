//! Integration tests of `kedge-store`: one test binary per crate, one module per feature.
