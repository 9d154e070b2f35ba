//! Server-side apply field management with structured-merge-diff semantics.
//!
//! [`fieldpath`] holds the vocabulary (path elements, field sets and their
//! FieldsV1 encoding), [`typed`] walks values with their schema (field sets,
//! merge, removal, comparison), and [`managedfields`] implements the two
//! write operations the API server calls: [`apply`] for
//! `application/apply-patch+yaml` and [`update`] for every other write,
//! reading and writing `metadata.managedFields`. All functions are pure and
//! take the request time as a parameter.
//!
//! The API server's use: for an apply, `apply(live, config, &ApplyParams {
//! manager, force, api_version, subresource, now, reset }, schema, ty)`;
//! [`ApplyError::Conflicts`] is a 409 whose message is the error's
//! `Display` and whose causes are [`Conflict::cause_message`] and
//! [`Conflict::field`]. For create, update and non-apply patches,
//! `update(old, new, &UpdateParams { .. }, schema, ty)` with the field
//! manager the server derived. [`ResetFields::for_write`] picks what an
//! endpoint resets (status on the main resource of a kind with `/status`,
//! everything but status on `/status`); both operations return the object
//! with that reset already applied.
//!
//! Cost: the re-apply of an unchanged configuration and small changes touch
//! only what the configuration covers and what changed: the merge reports
//! its own changes, stored FieldsV1 are decoded only when ownership moves
//! and written back verbatim when unchanged.

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
