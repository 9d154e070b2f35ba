//! The Kubernetes object model shared by every Kedge crate, in the spirit of
//! apimachinery: dynamic objects over `serde_json` (key order preserved),
//! group/version/kind identities, label and field selectors, name validation
//! and `meta/v1` `Status` errors. Pure: no IO.
