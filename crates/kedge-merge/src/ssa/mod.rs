//! Server-side apply field management with structured-merge-diff semantics.
//!
//! [`fieldpath`] holds the vocabulary (path elements, field sets and their
//! FieldsV1 encoding), [`typed`] walks values with their schema (field sets,
//! merge, removal, comparison), and [`managedfields`] implements the two
//! write operations the API server calls: [`apply`] for
//! `application/apply-patch+yaml` and [`update`] for every other write,
//! reading and writing `metadata.managedFields`. All functions are pure and
//! take the request time as a parameter.

pub mod fieldpath;
pub(crate) mod gojson;
pub mod managedfields;
pub mod typed;

pub use fieldpath::{FieldSet, FieldsV1Error, Path, PathElement};
pub use managedfields::{
    ANCIENT_CHANGES, ApplyError, ApplyParams, BEFORE_FIRST_APPLY, Conflict,
    LAST_APPLIED_ANNOTATION, ManagedFieldsEntry, ManagedFieldsError, ManagerId, Operation,
    ResetFields, UpdateParams, applied_field_set, apply, conflicts_message, decode_managed_fields,
    encode_managed_fields, same_ignoring_times, update,
};
pub use typed::{Comparison, TypedContext, TypedError};
