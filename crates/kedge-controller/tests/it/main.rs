//! Integration tests of the Application controller against the embedded
//! control plane and real `git` repositories.

mod reconcile;
mod support;
mod types;
