//! Strategic merge patch with apimachinery semantics: what the Kubernetes API
//! server does for `application/strategic-merge-patch+json`, and what kubectl
//! computes for client-side apply.
//!
//! Design: documents are `serde_json` values. Patch metadata (strategy and
//! merge key of every field) comes from a [`kedge_schema::Schema`]; a
//! `Meta` cursor walks the schema next to the document, so no lookup table
//! is built up front. Merging consumes owned trees (the public functions
//! clone their inputs once at the top) and list merges index items by merge
//! key, so a merge is linear in the size of its inputs. The algorithms follow
//! apimachinery's `strategicpatch` package step by step, including its
//! ordering rules: without `$setElementOrder`, items present in the patch
//! come first in patch order, interleaved with the remaining live items by
//! their live order (so new items end up in front of the list).
//!
//! Fields that the schema does not know, and everything below a
//! [`TypeDef::Untyped`] type, merge like a JSON merge patch (maps recurse,
//! `null` deletes, lists replace); directives are still honoured there.
//!
//! Entry points: [`strategic_merge_patch`] applies a patch (the API server's
//! `PATCH`); [`create_two_way_merge_patch`] and
//! [`create_three_way_merge_patch`] compute what kubectl sends for
//! `kubectl set …` and client-side apply (with the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation as the
//! original); [`apply_patch`] dispatches on the patch content type for the
//! API server and maps every failure to the server's HTTP status.
//!
//! The result is the merged JSON, as apimachinery produces it before the
//! server decodes it into its typed object: a server should still prune
//! unknown fields and validate, as it does after every write. (Like
//! apimachinery, `$patch: replace` hands its map over unprocessed.)
//!
//! Custom resources: the real API server answers 415 to a strategic merge
//! patch on a custom resource (and on aggregated types). This module cannot
//! know what kind a caller is patching, so that decision belongs to the
//! caller: pass no schema to [`apply_patch`] for a custom resource (it then
//! answers [`PatchError::StrategicUnsupported`], status 415, with
//! [`STRATEGIC_MERGE_PATCH_UNSUPPORTED_MESSAGE`]), or call
//! [`strategic_merge_patch`] only for built-in kinds. Client-side apply of
//! a custom resource uses
//! [`crate::mergepatch::create_three_way_merge_patch`], as kubectl does.
//!
//! Conformance: the test corpus compares every result with kubectl 1.32
//! (`kubectl patch --local`, and patches recorded from `kubectl apply` and
//! `kubectl set` against a throwaway local server).

mod apply;
mod diff;
mod dispatch;

use std::fmt;

use kedge_schema::{PatchStrategy, Schema, TypeDef, TypeRef};
use serde_json::{Map, Value};

pub use diff::{
    create_three_way_merge_patch, create_two_way_merge_patch, merging_maps_have_conflicts,
};
pub use dispatch::{PatchError, PatchType, apply_patch};

/// The key of the `$patch` directive.
pub const DIRECTIVE_MARKER: &str = "$patch";
/// The key of the `$retainKeys` directive.
pub const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
/// The prefix of `$deleteFromPrimitiveList/<field>` keys.
pub const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
/// The prefix of `$setElementOrder/<field>` keys.
pub const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

/// The message of the real server's 415 answer to a strategic merge patch on
/// a custom resource (the server adds nothing else to the Status).
pub const STRATEGIC_MERGE_PATCH_UNSUPPORTED_MESSAGE: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// An error from applying or computing a strategic merge patch. Every
/// variant names the field path (`.spec.template.spec.containers[1]`) where
/// the problem was found; [`SmpError::status_code`] tells which HTTP status
/// the API server answers with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmpError {
    /// The original document or the patch is not a JSON object.
    #[error("invalid JSON document: the {what} is not a JSON object")]
    BadJsonDoc {
        /// `original`, `patch`, `modified` or `current`.
        what: &'static str,
    },
    /// A `$patch` value that is not valid where it appears.
    #[error("{path}: unknown patch type: {directive} in map")]
    BadPatchType {
        /// Where.
        path: String,
        /// The offending directive value, as JSON.
        directive: String,
    },
    /// `$patch: merge` as a list element.
    #[error("{path}: merging lists cannot yet be specified in the patch")]
    MergeDirectiveInList {
        /// Where.
        path: String,
    },
    /// `$retainKeys` is not a list, or the patch sets a field it does not name.
    #[error("{path}: invalid patch format of retainKeys: {detail}")]
    BadRetainKeys {
        /// Where.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A malformed `$setElementOrder` directive.
    #[error("{path}: invalid patch format of setElementOrder list: {detail}")]
    BadSetElementOrder {
        /// Where.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A malformed `$deleteFromPrimitiveList` directive key.
    #[error("{path}: invalid patch format of primitive list: {key:?}")]
    BadPrimitiveList {
        /// Where.
        path: String,
        /// The directive key.
        key: String,
    },
    /// A list item lacks the merge key of its list.
    #[error("{path}: map {item} does not contain declared merge key: {merge_key}")]
    NoMergeKey {
        /// Where.
        path: String,
        /// The item, as JSON.
        item: String,
        /// The merge key.
        merge_key: String,
    },
    /// A merged list holds lists.
    #[error("{path}: lists of lists are not supported")]
    ListOfLists {
        /// Where.
        path: String,
    },
    /// A merged list mixes element types (or holds `null`).
    #[error("{path}: list element types are not identical")]
    MixedElementTypes {
        /// Where.
        path: String,
    },
    /// A list of maps with the merge strategy but no merge key in the schema.
    #[error("{path}: cannot merge lists of maps without a merge key")]
    NoMergeKeyInSchema {
        /// Where.
        path: String,
    },
    /// A value has a different type than the directive or schema needs.
    #[error("{path}: expected {expected}, found {found}")]
    BadArgType {
        /// Where.
        path: String,
        /// The type needed.
        expected: &'static str,
        /// The value found, as JSON.
        found: String,
    },
    /// A three-way patch conflicts with changes made to the live object.
    #[error(
        "the patch {patch} conflicts with changes made by another client to the live object: {changed}"
    )]
    Conflict {
        /// The computed patch, as JSON.
        patch: String,
        /// The changes from the original to the live object, as JSON.
        changed: String,
    },
}

impl SmpError {
    /// The HTTP status the API server answers with: 400 for malformed
    /// documents and directives, 422 for lists of lists, 409 for conflicts,
    /// and 500 for everything else (as apimachinery does).
    pub fn status_code(&self) -> u16 {
        match self {
            SmpError::BadJsonDoc { .. }
            | SmpError::BadRetainKeys { .. }
            | SmpError::BadSetElementOrder { .. }
            | SmpError::BadPrimitiveList { .. } => 400,
            SmpError::ListOfLists { .. } => 422,
            SmpError::Conflict { .. } => 409,
            _ => 500,
        }
    }
}

/// Applies a strategic merge patch to `original`, reading patch strategies
/// and merge keys from `ty` in `schema`. Both documents must be JSON objects.
pub fn strategic_merge_patch(
    original: &Value,
    patch: &Value,
    schema: &Schema,
    ty: &TypeRef,
) -> Result<Value, SmpError> {
    strategic_merge_patch_owned(original.clone(), patch.clone(), schema, ty)
}

/// [`strategic_merge_patch`] on owned values (no copy of the inputs).
pub fn strategic_merge_patch_owned(
    original: Value,
    patch: Value,
    schema: &Schema,
    ty: &TypeRef,
) -> Result<Value, SmpError> {
    let original = match original {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => return Err(SmpError::BadJsonDoc { what: "original" }),
    };
    let Value::Object(patch) = patch else {
        return Err(SmpError::BadJsonDoc { what: "patch" });
    };
    let meta = Meta::new(schema, ty);
    apply::merge_map(
        original,
        patch,
        meta,
        apply::MergeOptions::APPLY,
        Path::ROOT,
    )
    .map(Value::Object)
}

/// A cursor into the schema: the type of the value being merged, if known.
#[derive(Clone, Copy)]
pub(crate) struct Meta<'a> {
    schema: &'a Schema,
    def: Option<&'a TypeDef>,
}

/// What the schema says about one field.
#[derive(Clone, Copy)]
pub(crate) struct FieldMeta<'a> {
    /// The field's type (for a slice lookup: the element type).
    pub(crate) sub: Meta<'a>,
    pub(crate) strategy: PatchStrategy,
    pub(crate) merge_key: Option<&'a str>,
}

impl<'a> Meta<'a> {
    pub(crate) fn new(schema: &'a Schema, ty: &'a TypeRef) -> Self {
        Meta {
            schema,
            def: schema.resolve(ty),
        }
    }

    fn none(self) -> FieldMeta<'a> {
        FieldMeta {
            sub: Meta {
                schema: self.schema,
                def: None,
            },
            strategy: PatchStrategy::default(),
            merge_key: None,
        }
    }

    /// Metadata of the field `key` of a map-like value.
    pub(crate) fn lookup(self, key: &str) -> FieldMeta<'a> {
        match self.def {
            Some(TypeDef::Struct(s)) => match s.fields.get(key) {
                Some(f) => FieldMeta {
                    sub: Meta {
                        schema: self.schema,
                        def: self.schema.resolve(&f.ty),
                    },
                    strategy: f.patch_strategy,
                    merge_key: f.patch_merge_key.as_deref(),
                },
                None => self.none(),
            },
            Some(TypeDef::Map(m)) => FieldMeta {
                sub: Meta {
                    schema: self.schema,
                    def: self.schema.resolve(&m.values),
                },
                strategy: PatchStrategy::default(),
                merge_key: None,
            },
            _ => self.none(),
        }
    }

    /// Metadata of the list field `key`: `sub` is the element type.
    pub(crate) fn lookup_slice(self, key: &str) -> FieldMeta<'a> {
        let mut f = self.lookup(key);
        f.sub.def = match f.sub.def {
            Some(TypeDef::List(l)) => self.schema.resolve(&l.items),
            _ => None,
        };
        f
    }
}

/// A field path for error messages, built on the stack while recursing.
#[derive(Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };

    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
        }
    }

    pub(crate) fn index(&'a self, i: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            p.fmt(f)?;
        }
        match self.seg {
            Seg::Root => {
                if self.parent.is_none() {
                    f.write_str(".")?;
                }
                Ok(())
            }
            Seg::Key(k) => {
                if self.parent.is_some_and(|p| p.parent.is_none()) {
                    f.write_str(k)
                } else {
                    write!(f, ".{k}")
                }
            }
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}
