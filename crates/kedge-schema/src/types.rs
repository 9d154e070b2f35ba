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

impl PatchStrategy {
    /// Parses `x-kubernetes-patch-strategy` (`merge`, `retainKeys`,
    /// `merge,retainKeys`, `replace`); unknown words are ignored.
    pub fn parse(s: &str) -> Self {
        let mut out = Self::default();
        for word in s.split(',').map(str::trim) {
            match word {
                "merge" => out.merge = true,
                "retainKeys" => out.retain_keys = true,
                "replace" => out.replace = true,
                _ => {}
            }
        }
        out
    }

    /// True when no strategy is set.
    pub fn is_empty(&self) -> bool {
        !self.merge && !self.retain_keys && !self.replace
    }
}

impl std::fmt::Display for PatchStrategy {
    /// The extension's spelling, e.g. `merge,retainKeys`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut words = Vec::new();
        if self.merge {
            words.push("merge");
        }
        if self.retain_keys {
            words.push("retainKeys");
        }
        if self.replace {
            words.push("replace");
        }
        f.write_str(&words.join(","))
    }
}

impl Field {
    /// A field of the given type with no patch strategy.
    pub fn new(ty: TypeRef) -> Self {
        Self {
            ty,
            patch_strategy: PatchStrategy::default(),
            patch_merge_key: None,
        }
    }
}

impl TypeRef {
    /// An inline definition.
    pub fn inline(def: TypeDef) -> Self {
        Self::Inline(Arc::new(def))
    }

    /// A named definition.
    pub fn named(name: impl Into<String>) -> Self {
        Self::Named(name.into())
    }

    /// The name, for a named reference.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Named(name) => Some(name),
            Self::Inline(_) => None,
        }
    }
}

impl TypeDef {
    /// The struct, if this is one.
    pub fn as_struct(&self) -> Option<&StructType> {
        match self {
            Self::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&ListTypeDef> {
        match self {
            Self::List(l) => Some(l),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&MapTypeDef> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The scalar kind, if this is one.
    pub fn as_scalar(&self) -> Option<ScalarKind> {
        match self {
            Self::Scalar(s) => Some(*s),
            _ => None,
        }
    }
}

impl Schema {
    /// The field `name` of the struct `ty` resolves to.
    pub fn field<'a>(&'a self, ty: &'a TypeRef, name: &str) -> Option<&'a Field> {
        self.resolve(ty)?.as_struct()?.fields.get(name)
    }

    /// Follows a path of field names from `ty`, stepping through list items
    /// and map values transparently: `["spec", "template", "spec", "containers"]`.
    pub fn field_path<'a>(&'a self, ty: &'a TypeRef, path: &[&str]) -> Option<&'a Field> {
        let (last, init) = path.split_last()?;
        let mut current = ty;
        for name in init {
            current = &self.field(self.element_type(current), name)?.ty;
        }
        self.field(self.element_type(current), last)
    }

    /// The element type of a list or the value type of a map; the type itself otherwise.
    pub fn element_type<'a>(&'a self, ty: &'a TypeRef) -> &'a TypeRef {
        match self.resolve(ty) {
            Some(TypeDef::List(l)) => &l.items,
            Some(TypeDef::Map(m)) => &m.values,
            _ => ty,
        }
    }
}
