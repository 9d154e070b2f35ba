//! Schema-aware operations on values: the field set of a value, the merge of
//! an applied configuration into a live object, the removal of a field set
//! from a value, and the comparison of two values into added, modified and
//! removed fields.
//!
//! Every walk resolves the schema node for the value at hand into a
//! [`Shape`]: a struct (named fields), a granular map, an associative list
//! (by key fields), a set, or an atom (a scalar, or anything atomic, which is
//! owned as one leaf). `TypeDef::Untyped`, dangling references and fields
//! unknown to a struct are *deduced*: objects behave as granular maps whose
//! values are deduced again, lists and scalars are atoms. A value whose JSON
//! type disagrees with its schema is treated as an atom, so live objects
//! written by older code never make these walks fail.
//!
//! The rules follow structured-merge-diff: in a field set, leaves are
//! members, map entries that are not named struct fields are members as
//! well (so `labels.app` is owned), null and empty-object entries are
//! members, and list items are always members in addition to their own
//! fields. Comparison records, besides changed leaves, every container node
//! that appears or disappears, which is where the `".": {}` of FieldsV1 come
//! from.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::{Map, Value};

use kedge_schema::{ElementRelationship, ListType, Schema, TypeDef, TypeRef};

use super::fieldpath::{FieldSet, PathElement, values_equal};

/// A schema paired with the root type of the values being walked.
///
/// Named references are resolved once per context and remembered by the
/// address of the reference, so a walk never searches the schema's type
/// table twice for the same field.
#[derive(Debug, Clone)]
pub struct TypedContext<'s> {
    /// All named types.
    pub schema: &'s Schema,
    /// The type of the root value (e.g. `io.k8s.api.apps.v1.Deployment`).
    pub root: &'s TypeRef,
    resolved: RefCell<HashMap<usize, Option<&'s TypeDef>, BuildHasherDefault<AddrHasher>>>,
}

/// A hasher for addresses: they are already well spread but aligned, so
/// drop the low bits and mix once.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = ((n as u64) >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// An error in an applied configuration found while walking it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypedError {
    /// An item of an associative list lacks one of the list's key fields.
    #[error(
        "{path}: associative list with keys has an element that omits key field {key:?} (and doesn't have default value)"
    )]
    MissingKey {
        /// The list's path.
        path: String,
        /// The missing key field.
        key: String,
    },
    /// An item of an associative list is not an object.
    #[error("{path}: associative list with keys has an element that is not a map")]
    ItemNotAMap {
        /// The list's path.
        path: String,
    },
    /// Two items of a list have the same key or value.
    #[error("{path}: duplicate entries for key {key}")]
    Duplicate {
        /// The list's path.
        path: String,
        /// The duplicated element.
        key: String,
    },
}

impl TypedError {
    fn prefixed(self, prefix: &str) -> Self {
        match self {
            TypedError::MissingKey { path, key } => TypedError::MissingKey {
                path: format!("{prefix}{path}"),
                key,
            },
            TypedError::ItemNotAMap { path } => TypedError::ItemNotAMap {
                path: format!("{prefix}{path}"),
            },
            TypedError::Duplicate { path, key } => TypedError::Duplicate {
                path: format!("{prefix}{path}"),
                key,
            },
        }
    }
}

fn keys_of<'a>(shape: Shape<'a>) -> &'a [String] {
    match shape {
        Shape::ListMap(keys, _) => keys,
        _ => &[],
    }
}

/// How a value is treated at one point of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape<'s> {
    /// Known fields; unknown fields are deduced.
    Struct(&'s kedge_schema::StructType),
    /// A granular map whose values have one type.
    Map(&'s TypeRef),
    /// A granular map of deduced values.
    Deduced,
    /// A list whose items are keyed by these fields.
    ListMap(&'s [String], &'s TypeRef),
    /// A list whose scalar items are owned by value.
    Set(&'s TypeRef),
    /// One leaf.
    Atom,
}

/// The type of a child under a granular parent, and whether it is a named
/// struct field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ChildType<'s> {
    Typed(&'s TypeRef, bool),
    Deduced,
}

impl<'s> TypedContext<'s> {
    /// A context over `schema` with root type `root`.
    pub fn new(schema: &'s Schema, root: &'s TypeRef) -> Self {
        TypedContext {
            schema,
            root,
            resolved: RefCell::new(HashMap::default()),
        }
    }

    fn resolve(&self, ty: &'s TypeRef) -> Option<&'s TypeDef> {
        match ty {
            TypeRef::Inline(def) => Some(def),
            TypeRef::Named(name) => {
                let key = name as *const String as usize;
                if let Some(hit) = self.resolved.borrow().get(&key) {
                    return *hit;
                }
                let def = self.schema.resolve(ty);
                self.resolved.borrow_mut().insert(key, def);
                def
            }
        }
    }

    pub(crate) fn root_child(&self) -> ChildType<'s> {
        ChildType::Typed(self.root, true)
    }

    /// The shape of `value` (or of the pair when merging) at type `ty`.
    pub(crate) fn shape(&self, ty: ChildType<'s>, value: &Value) -> Shape<'s> {
        let def = match ty {
            ChildType::Deduced => None,
            ChildType::Typed(t, _) => self.resolve(t),
        };
        match def {
            None | Some(TypeDef::Untyped) => match value {
                Value::Object(_) => Shape::Deduced,
                _ => Shape::Atom,
            },
            Some(TypeDef::Struct(st)) => {
                if st.element_relationship == ElementRelationship::Atomic
                    || !matches!(value, Value::Object(_) | Value::Null)
                {
                    Shape::Atom
                } else {
                    Shape::Struct(st)
                }
            }
            Some(TypeDef::Map(m)) => {
                if m.element_relationship == ElementRelationship::Atomic
                    || !matches!(value, Value::Object(_) | Value::Null)
                {
                    Shape::Atom
                } else {
                    Shape::Map(&m.values)
                }
            }
            Some(TypeDef::List(l)) => {
                if !matches!(value, Value::Array(_) | Value::Null) {
                    return Shape::Atom;
                }
                match &l.list_type {
                    ListType::Atomic => Shape::Atom,
                    ListType::Set => Shape::Set(&l.items),
                    ListType::Map(keys) if keys.is_empty() => Shape::Set(&l.items),
                    ListType::Map(keys) => Shape::ListMap(keys, &l.items),
                }
            }
            Some(TypeDef::Scalar(_)) => Shape::Atom,
        }
    }

    /// The type of the field `key` of a granular node.
    pub(crate) fn child_type(&self, shape: Shape<'s>, key: &str) -> ChildType<'s> {
        match shape {
            Shape::Struct(st) => match st.fields.get(key) {
                Some(field) => ChildType::Typed(&field.ty, true),
                None => ChildType::Deduced,
            },
            Shape::Map(values) => ChildType::Typed(values, false),
            _ => ChildType::Deduced,
        }
    }

    /// The field set of `value`.
    pub fn to_field_set(&self, value: &Value) -> FieldSet {
        self.set_of(self.root_child(), value, false)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// The field set of an applied configuration, rejecting list items
    /// without their keys and duplicate items.
    pub fn to_field_set_strict(&self, value: &Value) -> Result<FieldSet, TypedError> {
        Ok(self
            .set_of(self.root_child(), value, true)?
            .unwrap_or_default())
    }

    /// The set of a value below its own path, or `None` when the value is a
    /// leaf (and so is owned as a member by its parent). With `strict`,
    /// keyed items must have their keys and no item may repeat; an error's
    /// path is built on the way out.
    fn set_of(
        &self,
        ty: ChildType<'s>,
        value: &Value,
        strict: bool,
    ) -> Result<Option<FieldSet>, TypedError> {
        let shape = self.shape(ty, value);
        match (shape, value) {
            (Shape::Struct(_) | Shape::Map(_) | Shape::Deduced, Value::Object(map)) => {
                if map.is_empty() {
                    return Ok(None);
                }
                let mut members = Vec::new();
                let mut children = Vec::new();
                for (k, v) in map {
                    let cty = self.child_type(shape, k);
                    let named = matches!(cty, ChildType::Typed(_, true));
                    let sub = self
                        .set_of(cty, v, strict)
                        .map_err(|e| e.prefixed(&format!(".{k}")))?;
                    let pe = PathElement::Field(k.clone());
                    match sub {
                        None => members.push(pe),
                        Some(set) => {
                            if !named {
                                members.push(pe.clone());
                            }
                            children.push((pe, set));
                        }
                    }
                }
                Ok(Some(FieldSet::from_unsorted(members, children)))
            }
            (Shape::ListMap(_, item_ty) | Shape::Set(item_ty), Value::Array(items)) => {
                // An empty associative list or set owns nothing (it is not a
                // leaf either: a named field holding it is not a member).
                if items.is_empty() {
                    return Ok(Some(FieldSet::new()));
                }
                let mut members: Vec<PathElement> = Vec::with_capacity(items.len());
                let mut children = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if strict && let Shape::ListMap(..) = shape {
                        let Some(obj) = item.as_object() else {
                            return Err(TypedError::ItemNotAMap {
                                path: String::new(),
                            });
                        };
                        for key in keys_of(shape) {
                            if !obj.contains_key(key) && key_default(key).is_none() {
                                return Err(TypedError::MissingKey {
                                    path: String::new(),
                                    key: key.clone(),
                                });
                            }
                        }
                    }
                    let pe = list_item_element(shape, i, item);
                    if strict && members.contains(&pe) {
                        return Err(TypedError::Duplicate {
                            path: String::new(),
                            key: pe.to_string(),
                        });
                    }
                    if let Some(set) = self
                        .set_of(ChildType::Typed(item_ty, false), item, strict)
                        .map_err(|e| e.prefixed(&pe.to_string()))?
                    {
                        children.push((pe.clone(), set));
                    }
                    members.push(pe);
                }
                Ok(Some(FieldSet::from_unsorted(members, children)))
            }
            _ => Ok(None),
        }
    }

    /// Merges `config` into `live`: where the configuration has a value it
    /// wins, granular maps and structs merge key by key, associative lists
    /// and sets merge by item, atoms are replaced.
    pub fn merge(&self, live: &Value, config: &Value) -> Value {
        let mut out = live.clone();
        self.merge_into(self.root_child(), &mut out, config);
        out
    }

    fn merge_into(&self, ty: ChildType<'s>, target: &mut Value, rhs: &Value) {
        let shape = self.shape(ty, rhs);
        match (shape, &mut *target, rhs) {
            (
                Shape::Struct(_) | Shape::Map(_) | Shape::Deduced,
                Value::Object(l),
                Value::Object(r),
            ) if !(l.is_empty() && r.is_empty()) => {
                for (k, rv) in r {
                    match l.get_mut(k) {
                        Some(lv) => self.merge_into(self.child_type(shape, k), lv, rv),
                        None => {
                            l.insert(k.clone(), rv.clone());
                        }
                    }
                }
            }
            (
                Shape::ListMap(_, item_ty) | Shape::Set(item_ty),
                Value::Array(l),
                Value::Array(r),
            ) if !(l.is_empty() && r.is_empty()) => {
                if same_items(shape, l, r) {
                    // The usual re-apply: the same items in the same order.
                    let item = ChildType::Typed(item_ty, false);
                    for (lv, rv) in l.iter_mut().zip(r) {
                        self.merge_into(item, lv, rv);
                    }
                } else {
                    let merged = self.merge_list(shape, item_ty, l, r);
                    *target = merged;
                }
            }
            (_, t, _) => {
                if !values_equal(t, rhs) {
                    *t = rhs.clone();
                }
            }
        }
    }

    /// Merges `config` into `target` in place and returns what changed, as
    /// [`TypedContext::compare`] of the old and new target would (added and
    /// modified; a merge removes nothing). Unchanged parts are not compared.
    pub(crate) fn merge_root_into(&self, target: &mut Value, config: &Value) {
        self.merge_into(self.root_child(), target, config);
    }

    pub(crate) fn merge_root_diff(&self, target: &mut Value, config: &Value) -> Comparison {
        self.merge_diff(self.root_child(), target, config).1
    }

    /// [`TypedContext::merge`], also returning what the merge changed (equal
    /// to comparing `live` with the result).
    pub fn merge_with_diff(&self, live: &Value, config: &Value) -> (Value, Comparison) {
        let mut out = live.clone();
        let diff = self.merge_root_diff(&mut out, config);
        (out, diff)
    }

    /// Returns whether the node itself is a modified leaf, and the changes
    /// below it.
    fn merge_diff(&self, ty: ChildType<'s>, target: &mut Value, rhs: &Value) -> (bool, Comparison) {
        let shape = self.shape(ty, rhs);
        let mut out = Comparison::default();
        match (shape, &mut *target, rhs) {
            (
                Shape::Struct(_) | Shape::Map(_) | Shape::Deduced,
                Value::Object(l),
                Value::Object(r),
            ) if !(l.is_empty() && r.is_empty()) => {
                for (k, rv) in r {
                    let cty = self.child_type(shape, k);
                    match l.get_mut(k) {
                        Some(lv) => {
                            let (modified, sub) = self.merge_diff(cty, lv, rv);
                            out.record_merged(|| PathElement::Field(k.clone()), modified, sub);
                        }
                        None => {
                            let mut sub = Comparison::default();
                            let leaf = self.compare_node(cty, None, Some(rv), &mut sub);
                            out.record(|| PathElement::Field(k.clone()), leaf, None, Some(rv), sub);
                            l.insert(k.clone(), rv.clone());
                        }
                    }
                }
                (false, out)
            }
            (
                Shape::ListMap(_, item_ty) | Shape::Set(item_ty),
                Value::Array(l),
                Value::Array(r),
            ) if !(l.is_empty() && r.is_empty()) && same_items(shape, l, r) => {
                let item = ChildType::Typed(item_ty, false);
                for (i, (lv, rv)) in l.iter_mut().zip(r).enumerate() {
                    let (modified, sub) = self.merge_diff(item, lv, rv);
                    out.record_merged(|| list_item_element(shape, i, rv), modified, sub);
                }
                (false, out)
            }
            (
                Shape::ListMap(_, item_ty) | Shape::Set(item_ty),
                Value::Array(l),
                Value::Array(r),
            ) if !(l.is_empty() && r.is_empty()) => {
                let merged = Value::Array(self.merge_list_items(shape, item_ty, l, r));
                let old = std::mem::replace(target, merged);
                let leaf = self.compare_node(ty, Some(&old), Some(target), &mut out);
                (leaf && !values_equal(&old, target), out)
            }
            (_, t, _) => {
                if values_equal(t, rhs) {
                    return (false, out);
                }
                let old = std::mem::replace(t, rhs.clone());
                let leaf = self.compare_node(ty, Some(&old), Some(t), &mut out);
                (leaf, out)
            }
        }
    }

    fn merge_item(&self, item: ChildType<'s>, l: &Value, r: &Value) -> Value {
        let mut v = l.clone();
        self.merge_into(item, &mut v, r);
        v
    }

    /// Merges two associative lists or sets. Items only in `lhs` keep their
    /// place; items in both take the order of `rhs`; items only in `rhs`
    /// come where `rhs` puts them relative to the shared ones.
    fn merge_list(
        &self,
        shape: Shape<'s>,
        item_ty: &'s TypeRef,
        l: &[Value],
        r: &[Value],
    ) -> Value {
        Value::Array(self.merge_list_items(shape, item_ty, l, r))
    }

    fn merge_list_items(
        &self,
        shape: Shape<'s>,
        item_ty: &'s TypeRef,
        l: &[Value],
        r: &[Value],
    ) -> Vec<Value> {
        let lpe: Vec<PathElement> = l
            .iter()
            .enumerate()
            .map(|(i, v)| list_item_element(shape, i, v))
            .collect();
        let rpe: Vec<PathElement> = r
            .iter()
            .enumerate()
            .map(|(i, v)| list_item_element(shape, i, v))
            .collect();
        let find = |pes: &[PathElement], pe: &PathElement| pes.iter().position(|p| p == pe);
        // Shared elements in the order of the right-hand side.
        let mut shared: std::collections::VecDeque<usize> = rpe
            .iter()
            .enumerate()
            .filter(|(_, pe)| find(&lpe, pe).is_some())
            .map(|(i, _)| i)
            .collect();
        let mut merged_r = vec![false; r.len()];
        let mut out = Vec::with_capacity(l.len().max(r.len()));
        let item = ChildType::Typed(item_ty, false);
        let (mut li, mut ri) = (0, 0);
        while li < l.len() || ri < r.len() {
            if li < l.len() && ri < r.len() {
                if lpe[li] == rpe[ri] {
                    out.push(self.merge_item(item, &l[li], &r[ri]));
                    merged_r[ri] = true;
                    li += 1;
                    ri += 1;
                    shared.retain(|&s| s != ri - 1);
                    continue;
                }
                let in_r = find(&rpe, &lpe[li]);
                if let (Some(_), Some(&next)) = (in_r, shared.front())
                    && rpe[next] != lpe[li]
                {
                    li += 1;
                    continue;
                }
            }
            if li < l.len() {
                match find(&rpe, &lpe[li]) {
                    None => {
                        out.push(l[li].clone());
                        li += 1;
                        continue;
                    }
                    Some(j) if merged_r[j] => {
                        li += 1;
                        continue;
                    }
                    Some(_) => {}
                }
            }
            if ri < r.len() {
                merged_r[ri] = true;
                match find(&lpe, &rpe[ri]) {
                    Some(j) => out.push(self.merge_item(item, &l[j], &r[ri])),
                    None => out.push(r[ri].clone()),
                }
                shared.retain(|&s| s != ri);
                ri += 1;
            } else {
                // Only shared left-hand items remain whose right-hand
                // counterpart was merged already.
                li += 1;
            }
        }
        out
    }

    /// Removes every path of `set` from `value`. A member removes the field,
    /// map entry or list item with everything below it; a child recurses.
    /// With `drop_emptied`, containers emptied by the removal disappear;
    /// otherwise they become `null` (which is how structured-merge-diff
    /// leaves them, and what the pruning steps observe).
    pub fn remove(&self, value: &Value, set: &FieldSet, drop_emptied: bool) -> Value {
        self.remove_node(self.root_child(), value, set, drop_emptied)
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    fn remove_node(
        &self,
        ty: ChildType<'s>,
        value: &Value,
        set: &FieldSet,
        drop_emptied: bool,
    ) -> Option<Value> {
        let shape = self.shape(ty, value);
        match (shape, value) {
            (Shape::Struct(_) | Shape::Map(_) | Shape::Deduced, Value::Object(map))
                if !map.is_empty() =>
            {
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map {
                    let pe = PathElement::Field(k.clone());
                    if set.has_member(&pe) {
                        continue;
                    }
                    match set.child(&pe) {
                        Some(sub) => {
                            match self.remove_node(self.child_type(shape, k), v, sub, drop_emptied)
                            {
                                Some(nv) => {
                                    out.insert(k.clone(), nv);
                                }
                                None if drop_emptied => {}
                                None => {
                                    out.insert(k.clone(), Value::Null);
                                }
                            }
                        }
                        None => {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                }
                (!out.is_empty()).then_some(Value::Object(out))
            }
            (Shape::ListMap(_, item_ty) | Shape::Set(item_ty), Value::Array(items))
                if !items.is_empty() =>
            {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let pe = list_item_element(shape, i, item);
                    if set.has_member(&pe) {
                        continue;
                    }
                    match set.child(&pe) {
                        Some(sub) => {
                            if let Some(nv) = self.remove_node(
                                ChildType::Typed(item_ty, false),
                                item,
                                sub,
                                drop_emptied,
                            ) {
                                out.push(nv);
                            }
                        }
                        None => out.push(item.clone()),
                    }
                }
                (!out.is_empty()).then_some(Value::Array(out))
            }
            _ => Some(value.clone()),
        }
    }

    /// Compares `lhs` (old) with `rhs` (new).
    pub fn compare(&self, lhs: &Value, rhs: &Value) -> Comparison {
        let mut c = Comparison::default();
        self.compare_node(self.root_child(), Some(lhs), Some(rhs), &mut c);
        c
    }

    /// Compares below one node; the returned comparison is relative to it.
    /// Returns `true` when the node is a leaf (the caller records it).
    fn compare_node(
        &self,
        ty: ChildType<'s>,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        out: &mut Comparison,
    ) -> bool {
        let probe = match (rhs, lhs) {
            (Some(v), _) | (None, Some(v)) => v,
            (None, None) => return true,
        };
        let shape = self.shape(ty, probe);
        // If one side is a container and the other is not, compare as a leaf.
        let lshape = lhs.map(|l| self.shape(ty, l));
        if let Some(ls) = lshape
            && std::mem::discriminant(&ls) != std::mem::discriminant(&shape)
        {
            return true;
        }
        match shape {
            Shape::Struct(_) | Shape::Map(_) | Shape::Deduced => {
                let l = lhs.and_then(Value::as_object);
                let r = rhs.and_then(Value::as_object);
                if l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty) {
                    return true;
                }
                let empty = Map::new();
                let (l, r) = (l.unwrap_or(&empty), r.unwrap_or(&empty));
                let visit =
                    |k: &String, lv: Option<&Value>, rv: Option<&Value>, out: &mut Comparison| {
                        let mut sub = Comparison::default();
                        let leaf = self.compare_node(self.child_type(shape, k), lv, rv, &mut sub);
                        out.record(|| PathElement::Field(k.clone()), leaf, lv, rv, sub);
                    };
                for (k, lv) in l {
                    visit(k, Some(lv), r.get(k), out);
                }
                for (k, rv) in r {
                    if !l.contains_key(k) {
                        visit(k, None, Some(rv), out);
                    }
                }
                false
            }
            Shape::ListMap(_, item_ty) | Shape::Set(item_ty) => {
                let l = lhs.and_then(Value::as_array);
                let r = rhs.and_then(Value::as_array);
                if l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty) {
                    return true;
                }
                let empty = Vec::new();
                let (l, r) = (l.unwrap_or(&empty), r.unwrap_or(&empty));
                let item = ChildType::Typed(item_ty, false);
                if same_items(shape, l, r) {
                    for (i, (lv, rv)) in l.iter().zip(r).enumerate() {
                        let mut sub = Comparison::default();
                        let leaf = self.compare_node(item, Some(lv), Some(rv), &mut sub);
                        out.record(
                            || list_item_element(shape, i, rv),
                            leaf,
                            Some(lv),
                            Some(rv),
                            sub,
                        );
                    }
                    return false;
                }
                let lpe: Vec<PathElement> = l
                    .iter()
                    .enumerate()
                    .map(|(i, v)| list_item_element(shape, i, v))
                    .collect();
                let rpe: Vec<PathElement> = r
                    .iter()
                    .enumerate()
                    .map(|(i, v)| list_item_element(shape, i, v))
                    .collect();
                let mut done: Vec<&PathElement> = Vec::new();
                for (i, pe) in lpe.iter().enumerate() {
                    if done.contains(&pe) {
                        continue;
                    }
                    done.push(pe);
                    let rv = rpe.iter().position(|p| p == pe).map(|j| &r[j]);
                    let mut sub = Comparison::default();
                    let leaf = self.compare_node(item, Some(&l[i]), rv, &mut sub);
                    out.record(|| pe.clone(), leaf, Some(&l[i]), rv, sub);
                }
                for (j, pe) in rpe.iter().enumerate() {
                    if done.contains(&pe) {
                        continue;
                    }
                    done.push(pe);
                    let mut sub = Comparison::default();
                    let leaf = self.compare_node(item, None, Some(&r[j]), &mut sub);
                    out.record(|| pe.clone(), leaf, None, Some(&r[j]), sub);
                }
                false
            }
            Shape::Atom => true,
        }
    }

    /// Adds, for every named struct field that has children in `set`, the
    /// field itself as a member (structured-merge-diff's
    /// `EnsureNamedFieldsAreMembers`), so that pruning sees struct fields as
    /// owned containers.
    pub(crate) fn ensure_named_fields_are_members(
        &self,
        set: &FieldSet,
        value: &Value,
    ) -> FieldSet {
        self.ensure_named(self.root_child(), set, Some(value))
    }

    fn ensure_named(&self, ty: ChildType<'s>, set: &FieldSet, value: Option<&Value>) -> FieldSet {
        let probe = value.unwrap_or(&Value::Null);
        let shape = self.shape(ty, probe);
        let mut members: Vec<PathElement> = set.members().to_vec();
        let mut children = Vec::with_capacity(set.children().len());
        for (pe, child) in set.children() {
            let (cty, cval) = match (shape, pe) {
                (Shape::Struct(st), PathElement::Field(name)) => {
                    if st.fields.contains_key(name) {
                        members.push(pe.clone());
                    }
                    (
                        self.child_type(shape, name),
                        value.and_then(|v| v.get(name)),
                    )
                }
                (Shape::Map(_) | Shape::Deduced, PathElement::Field(name)) => (
                    self.child_type(shape, name),
                    value.and_then(|v| v.get(name)),
                ),
                (Shape::ListMap(_, item_ty) | Shape::Set(item_ty), _) => {
                    let item = value.and_then(Value::as_array).and_then(|items| {
                        items
                            .iter()
                            .enumerate()
                            .find(|(i, it)| list_item_element(shape, *i, it) == *pe)
                            .map(|(_, it)| it)
                    });
                    (ChildType::Typed(item_ty, false), item)
                }
                _ => (ChildType::Deduced, None),
            };
            children.push((pe.clone(), self.ensure_named(cty, child, cval)));
        }
        FieldSet::from_unsorted(members, children)
    }
}

/// The difference between two values, as field sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Paths present only in the new value.
    pub added: FieldSet,
    /// Leaf paths present in both with different values.
    pub modified: FieldSet,
    /// Paths present only in the old value.
    pub removed: FieldSet,
}

impl Comparison {
    /// True when the values are equal.
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }

    /// Records a merged node: a modified leaf, and the changes below it.
    fn record_merged(&mut self, pe: impl FnOnce() -> PathElement, modified: bool, sub: Comparison) {
        if !modified && sub.is_same() {
            return;
        }
        let pe = pe();
        if modified {
            self.modified.insert_member(pe.clone());
        }
        if !sub.added.is_empty() {
            *self.added.child_mut(&pe) = sub.added;
        }
        if !sub.modified.is_empty() {
            *self.modified.child_mut(&pe) = sub.modified;
        }
        if !sub.removed.is_empty() {
            *self.removed.child_mut(&pe) = sub.removed;
        }
    }

    fn record(
        &mut self,
        pe: impl FnOnce() -> PathElement,
        leaf: bool,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        sub: Comparison,
    ) {
        let member = match (lhs, rhs) {
            (None, Some(_)) => Some(&mut self.added),
            (Some(_), None) => Some(&mut self.removed),
            (Some(l), Some(r)) if leaf && !values_equal(l, r) => Some(&mut self.modified),
            _ => None,
        };
        if member.is_none() && sub.is_same() {
            // Nothing here: no path element is even built.
            return;
        }
        let pe = pe();
        if let Some(set) = member {
            set.insert_member(pe.clone());
        }
        if !sub.added.is_empty() {
            *self.added.child_mut(&pe) = sub.added;
        }
        if !sub.modified.is_empty() {
            *self.modified.child_mut(&pe) = sub.modified;
        }
        if !sub.removed.is_empty() {
            *self.removed.child_mut(&pe) = sub.removed;
        }
    }
}

/// The default value of a list-map key field that items may omit. The
/// built-in schemas default `protocol` to `TCP` in every keyed port list
/// (container, service and endpoint ports).
pub(crate) fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::String("TCP".to_string()))
}

/// True when two lists of a keyed or set shape hold items with the same
/// keys (or values) in the same order, so they pair up by position.
fn same_items(shape: Shape<'_>, l: &[Value], r: &[Value]) -> bool {
    if l.len() != r.len() {
        return false;
    }
    match shape {
        Shape::ListMap(keys, _) => l.iter().zip(r).all(|(a, b)| {
            let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
                return false;
            };
            keys.iter().all(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => values_equal(x, y),
                (x, y) => {
                    let d = key_default(k);
                    match (x.or(d.as_ref()), y.or(d.as_ref())) {
                        (Some(x), Some(y)) => values_equal(x, y),
                        _ => false,
                    }
                }
            })
        }),
        Shape::Set(_) => l.iter().zip(r).all(|(a, b)| values_equal(a, b)),
        _ => false,
    }
}

/// The path element of a list item: its key fields for an associative list,
/// its value for a set, its index otherwise (or when the item is malformed).
pub(crate) fn list_item_element(shape: Shape<'_>, index: usize, item: &Value) -> PathElement {
    match shape {
        Shape::ListMap(keys, _) => {
            let Some(obj) = item.as_object() else {
                return PathElement::Index(index);
            };
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                match obj.get(key).cloned().or_else(|| key_default(key)) {
                    Some(v) => fields.push((key.clone(), v)),
                    None => return PathElement::Index(index),
                }
            }
            PathElement::key(fields)
        }
        Shape::Set(_) => PathElement::Value(item.clone()),
        _ => PathElement::Index(index),
    }
}
