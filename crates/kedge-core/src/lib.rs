//! The Kubernetes object model shared by every Kedge crate, in the spirit of
//! apimachinery: dynamic objects over `serde_json` (key order preserved),
//! group/version/kind identities, label and field selectors, name validation
//! and `meta/v1` `Status` errors. Pure: no IO.

pub mod gvk;
pub mod object;
pub mod selector;
pub mod status;
pub mod time;
pub mod validation;

pub use gvk::{
    GroupKind, GroupResource, GroupVersion, GroupVersionKind, GroupVersionResource, ObjectKey,
    ParseGroupVersionError,
};
pub use object::{ObjectExt, OwnerReference};
pub use selector::{FieldSelector, LabelSelector, Labels, SelectorError};
pub use status::{Status, StatusCause, StatusDetails};
pub use time::{MicroTime, Time};
pub use validation::FieldError;
