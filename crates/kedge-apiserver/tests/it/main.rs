//! Integration tests of `kedge-apiserver`: one test binary per crate, one module per feature.
