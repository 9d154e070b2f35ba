//! Integration tests of `kedge-controller`: one test binary per crate, one module per feature.
