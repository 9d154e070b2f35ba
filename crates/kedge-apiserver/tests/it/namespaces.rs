//! Namespace lifecycle.
