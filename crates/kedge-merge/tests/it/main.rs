//! Integration tests of `kedge-merge`: one test binary per crate, one module per feature.
