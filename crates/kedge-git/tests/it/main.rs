//! Integration tests of `kedge-git`: one test binary per crate, one module per feature.
