//! The type model that drives merging: a small structured-merge-diff-like
//! schema. Every built-in kind (and every CRD, converted from its structural
//! OpenAPI schema) resolves to a [`TypeRef`] naming a [`TypeDef`] in a
//! [`Schema`]. Server-side apply reads list/map types, strategic merge patch
//! reads patch strategies and merge keys; both come from the same data.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A reference to a type: a name in [`Schema::types`], or an inline definition.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    /// A named definition, e.g. `io.k8s.api.core.v1.PodSpec`.
    Named(String),
    /// An anonymous definition (CRD schemas, inline maps and lists).
    Inline(Arc<TypeDef>),
}

/// One type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    /// A struct-like map with known fields.
    Struct(StructType),
    /// A list with its SSA list type.
    List(ListTypeDef),
    /// A map with arbitrary string keys (e.g. `labels`, `data`).
    Map(MapTypeDef),
    /// A scalar: string, integer, number, boolean, int-or-string …
    Scalar(ScalarKind),
    /// Anything (`x-kubernetes-preserve-unknown-fields` without properties,
    /// `RawExtension`, `JSON`): deduced at runtime — maps granular, lists atomic.
    Untyped,
}

/// A struct type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructType {
    /// Fields by JSON name, in declaration order of the source schema.
    pub fields: BTreeMap<String, Field>,
    /// `x-kubernetes-map-type`: granular (default) or atomic.
    pub element_relationship: ElementRelationship,
    /// `x-kubernetes-preserve-unknown-fields: true`: unknown fields are kept
    /// (and treated as [`TypeDef::Untyped`]) instead of pruned or rejected.
    pub preserve_unknown_fields: bool,
    /// `x-kubernetes-embedded-resource: true`.
    pub embedded_resource: bool,
    /// Fields listed in `required`.
    pub required: Vec<String>,
}

/// A field of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's type.
    pub ty: TypeRef,
    /// `x-kubernetes-patch-strategy`, parsed.
    pub patch_strategy: PatchStrategy,
    /// `x-kubernetes-patch-merge-key`.
    pub patch_merge_key: Option<String>,
}

/// `x-kubernetes-patch-strategy` of a field: `merge`, `replace`, `retainKeys`
/// or `merge,retainKeys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PatchStrategy {
    /// `merge`: lists merge by `patch_merge_key` (or as sets of primitives).
    pub merge: bool,
    /// `retainKeys`: union fields not present in the patch are cleared.
    pub retain_keys: bool,
    /// `replace`: explicitly replaced.
    pub replace: bool,
}

/// A list type.
#[derive(Debug, Clone, PartialEq)]
pub struct ListTypeDef {
    /// The element type.
    pub items: TypeRef,
    /// `x-kubernetes-list-type` (atomic when absent).
    pub list_type: ListType,
}

/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ListType {
    /// The list is one value (default).
    #[default]
    Atomic,
    /// Scalar items owned by value.
    Set,
    /// Items keyed by `x-kubernetes-list-map-keys`.
    Map(Vec<String>),
}

/// A map with arbitrary keys.
#[derive(Debug, Clone, PartialEq)]
pub struct MapTypeDef {
    /// The value type.
    pub values: TypeRef,
    /// `x-kubernetes-map-type`.
    pub element_relationship: ElementRelationship,
}

/// `x-kubernetes-map-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElementRelationship {
    /// Each key is its own field (default).
    #[default]
    Granular,
    /// The whole map is one value.
    Atomic,
}

/// Scalar kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// `type: string` (also `format: byte`, `date-time`, …).
    String,
    /// `type: integer`.
    Integer,
    /// `type: number`.
    Number,
    /// `type: boolean`.
    Boolean,
    /// `x-kubernetes-int-or-string` / `IntOrString`.
    IntOrString,
    /// `Quantity` and other string-or-number scalars.
    Quantity,
}

/// A set of named types.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Definitions by name.
    pub types: BTreeMap<String, TypeDef>,
}

impl Schema {
    /// Resolves a reference to its definition; `None` for a dangling name.
    pub fn resolve<'a>(&'a self, ty: &'a TypeRef) -> Option<&'a TypeDef> {
        match ty {
            TypeRef::Named(name) => self.types.get(name),
            TypeRef::Inline(def) => Some(def),
        }
    }
}
