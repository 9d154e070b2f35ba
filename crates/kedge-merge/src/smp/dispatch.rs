//! One entry point for the API server's `PATCH` handler: picks JSON patch,
//! JSON merge patch or strategic merge patch by content type, and maps
//! every failure to the HTTP status and message the real server answers
//! with (including 415 for a strategic merge patch without a schema, which
//! is how the server treats custom resources).

use kedge_schema::{Schema, TypeRef};
use serde_json::Value;

use super::{STRATEGIC_MERGE_PATCH_UNSUPPORTED_MESSAGE, SmpError, strategic_merge_patch_owned};
use crate::jsonpatch::{self, JsonPatchError, JsonPatchLimits};
use crate::mergepatch::{self, MergePatchError};

/// The patch content types handled here (server-side apply's
/// `application/apply-patch+yaml` is not one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
}

impl PatchType {
    /// The type for a `Content-Type` header value (parameters ignored).
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        match content_type.split(';').next().map(str::trim) {
            Some("application/json-patch+json") => Some(PatchType::Json),
            Some("application/merge-patch+json") => Some(PatchType::Merge),
            Some("application/strategic-merge-patch+json") => Some(PatchType::Strategic),
            _ => None,
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
        }
    }
}

/// A failed patch, with the status the API server answers with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// A JSON patch failed (400, 413 or 422).
    #[error(transparent)]
    Json(#[from] JsonPatchError),
    /// A JSON merge patch failed (400).
    #[error(transparent)]
    Merge(#[from] MergePatchError),
    /// A strategic merge patch failed (400, 409, 422 or 500).
    #[error(transparent)]
    Strategic(#[from] SmpError),
    /// A strategic merge patch for a type without a schema: a custom
    /// resource or an aggregated type (415).
    #[error("{}", STRATEGIC_MERGE_PATCH_UNSUPPORTED_MESSAGE)]
    StrategicUnsupported,
}

impl PatchError {
    /// The HTTP status code of the server's answer.
    pub fn status_code(&self) -> u16 {
        match self {
            PatchError::Json(e) => e.status_code(),
            PatchError::Merge(_) => 400,
            PatchError::Strategic(e) => e.status_code(),
            PatchError::StrategicUnsupported => 415,
        }
    }
}

/// Applies a patch of `patch_type` to `original`. `schema` is the schema and
/// type of a built-in kind, `None` for custom resources (for which a
/// strategic merge patch is refused with 415, as the real server does).
pub fn apply_patch(
    patch_type: PatchType,
    original: &Value,
    patch: &Value,
    schema: Option<(&Schema, &TypeRef)>,
) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => Ok(jsonpatch::apply_json_patch_with_limits(
            original,
            patch,
            &JsonPatchLimits::default(),
        )?),
        PatchType::Merge => Ok(mergepatch::merge_patch(original, patch)?),
        PatchType::Strategic => {
            let (schema, ty) = schema.ok_or(PatchError::StrategicUnsupported)?;
            Ok(strategic_merge_patch_owned(
                original.clone(),
                patch.clone(),
                schema,
                ty,
            )?)
        }
    }
}
