//! Field paths and field sets, the vocabulary of field ownership.
//!
//! A [`PathElement`] names one step into an object: a struct field or map
//! key (`f:`), an item of an associative list by its key fields (`k:`), an
//! item of a set by its value (`v:`) or a list position (`i:`). A
//! [`FieldSet`] is a trie of paths: at every node, the sorted `members` are
//! the elements that are themselves in the set and the sorted `children`
//! lead to deeper paths. A node can be both (an owned list item that also has
//! owned fields), which FieldsV1 writes as `".": {}`. Elements sort as
//! structured-merge-diff sorts them (fields, then keys, then values, then
//! indices; values by type and then by value), and that order is the key
//! order of the serialised FieldsV1, which makes encoding deterministic and
//! byte-compatible with Kubernetes. All set operations are merges of sorted
//! vectors, so they cost time linear in the sizes of the sets.
//!
//! FieldsV1 decoding is bounded: nesting deeper than [`MAX_DEPTH`] and any
//! malformed element are errors, never panics.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use super::gojson;

/// Deepest FieldsV1 nesting accepted by the decoder.
pub const MAX_DEPTH: usize = 256;

/// An error decoding FieldsV1 or a path element.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldsV1Error {
    /// The text is not JSON.
    #[error("fieldsV1 is not valid JSON: {0}")]
    Json(String),
    /// A node is not a JSON object.
    #[error("fieldsV1 node at {path:?} is not an object")]
    NotAnObject {
        /// The FieldsV1 keys leading to the node.
        path: String,
    },
    /// A key is not a valid path element.
    #[error("invalid path element {key:?}: {reason}")]
    InvalidElement {
        /// The offending key.
        key: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Nesting is deeper than [`MAX_DEPTH`].
    #[error("fieldsV1 nesting exceeds {MAX_DEPTH} levels")]
    TooDeep,
}

/// One step of a field path.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A struct field or map key: `f:name`.
    Field(String),
    /// An associative-list item by its key fields, sorted by name: `k:{...}`.
    Key(Vec<(String, Value)>),
    /// A set item by value: `v:value`.
    Value(Value),
    /// A list position: `i:3`.
    Index(usize),
}

impl PathElement {
    /// A field element.
    pub fn field(name: impl Into<String>) -> Self {
        PathElement::Field(name.into())
    }

    /// A key element; the fields are sorted by name.
    pub fn key(mut fields: Vec<(String, Value)>) -> Self {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    /// The FieldsV1 key of this element (`f:x`, `k:{"name":"a"}`, `v:"x"`, `i:0`).
    pub fn to_key_string(&self) -> String {
        let mut out = String::new();
        match self {
            PathElement::Field(name) => {
                out.push_str("f:");
                out.push_str(name);
            }
            PathElement::Key(fields) => {
                out.push_str("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    gojson::write_string(&mut out, name);
                    out.push(':');
                    gojson::write_value(&mut out, value, true);
                }
                out.push('}');
            }
            PathElement::Value(value) => {
                out.push_str("v:");
                gojson::write_value(&mut out, value, true);
            }
            PathElement::Index(i) => {
                out.push_str("i:");
                out.push_str(&i.to_string());
            }
        }
        out
    }

    /// Parses a FieldsV1 key.
    pub fn parse(key: &str) -> Result<Self, FieldsV1Error> {
        let invalid = |reason: &str| FieldsV1Error::InvalidElement {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        let (kind, rest) = key
            .split_at_checked(2)
            .ok_or_else(|| invalid("too short"))?;
        match kind {
            "f:" => Ok(PathElement::Field(rest.to_string())),
            "k:" => {
                // A sorted map straight away: no hashing, already in key order.
                let map: std::collections::BTreeMap<String, Value> =
                    serde_json::from_str(rest).map_err(|e| invalid(&e.to_string()))?;
                if map.is_empty() {
                    return Err(invalid("key has no fields"));
                }
                Ok(PathElement::Key(map.into_iter().collect()))
            }
            "v:" => {
                let value: Value =
                    serde_json::from_str(rest).map_err(|e| invalid(&e.to_string()))?;
                Ok(PathElement::Value(value))
            }
            "i:" => rest
                .parse::<usize>()
                .map(PathElement::Index)
                .map_err(|e| invalid(&e.to_string())),
            _ => Err(invalid("unknown prefix")),
        }
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        use PathElement::*;
        fn rank(pe: &PathElement) -> u8 {
            match pe {
                Field(_) => 0,
                Key(_) => 1,
                Value(_) => 2,
                Index(_) => 3,
            }
        }
        match (self, other) {
            (Field(a), Field(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Key(a), Key(b)) => compare_field_lists(a, b),
            (Value(a), Value(b)) => compare_values(a, b),
            (Index(a), Index(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

impl fmt::Display for PathElement {
    /// The human form used in conflict messages: `.name`, `[name="x"]`,
    /// `[="value"]`, `[3]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                f.write_str("[")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{name}={}", value_to_display(value))?;
                }
                f.write_str("]")
            }
            PathElement::Value(value) => write!(f, "[={}]", value_to_display(value)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A value as Go's `value.ToString` prints it: strings quoted, numbers and
/// booleans bare, lists and maps spelled out.
fn value_to_display(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            let mut s = String::new();
            gojson::write_number(&mut s, n);
            s
        }
        Value::String(s) => {
            let mut out = String::new();
            go_quote(&mut out, s);
            out
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_to_display).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}={}", value_to_display(&map[k])))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Go's `%q`: like JSON but without HTML escaping, `\a\b\f\v` short forms
/// and `\x` for other control bytes.
fn go_quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Orders values as structured-merge-diff does: numbers (compared
/// numerically across ints and floats), then strings, booleans, lists, maps
/// and null last.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => {
                let (fx, fy) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                fx.partial_cmp(&fy).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (i, j) in x.iter().zip(y.iter()) {
                let c = compare_values(i, j);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xk: Vec<&String> = x.keys().collect();
            let mut yk: Vec<&String> = y.keys().collect();
            xk.sort();
            yk.sort();
            for (i, j) in xk.iter().zip(yk.iter()) {
                let c = i.cmp(j);
                if c != Ordering::Equal {
                    return c;
                }
                let c = compare_values(&x[*i], &y[*j]);
                if c != Ordering::Equal {
                    return c;
                }
            }
            xk.len().cmp(&yk.len())
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_field_lists(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((an, av), (bn, bv)) in a.iter().zip(b.iter()) {
        let c = an.as_bytes().cmp(bn.as_bytes());
        if c != Ordering::Equal {
            return c;
        }
        let c = compare_values(av, bv);
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// Deep equality with numbers compared numerically (`1 == 1.0`) and maps
/// compared regardless of key order.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i == j
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(i, j)| values_equal(i, j))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A path: a sequence of elements from the object root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// Builds a path of field names, e.g. `Path::fields(&["spec", "replicas"])`.
    pub fn fields(names: &[&str]) -> Self {
        Path(names.iter().map(|n| PathElement::field(*n)).collect())
    }
}

impl fmt::Display for Path {
    /// `.spec.template.spec.containers[name="nginx"].image`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

/// A set of field paths, stored as a trie.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: Vec<PathElement>,
    children: Vec<(PathElement, FieldSet)>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// A set of the given paths.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Self {
        let mut set = FieldSet::new();
        for p in paths {
            set.insert(&p.0);
        }
        set
    }

    /// The elements that are members at this level, sorted.
    pub fn members(&self) -> &[PathElement] {
        &self.members
    }

    /// The children at this level, sorted by element.
    pub fn children(&self) -> &[(PathElement, FieldSet)] {
        &self.children
    }

    /// True when the set holds no path. (Children are never empty: every
    /// operation drops the ones it empties.)
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// The number of paths in the set.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.iter().map(|(_, c)| c.len()).sum::<usize>()
    }

    /// Adds a path; its parents are not added as members. The empty path
    /// (the root) is ignored.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => self.insert_member(last.clone()),
            [first, rest @ ..] => self.child_mut(first).insert(rest),
        }
    }

    /// Adds `pe` as a member at this level.
    pub fn insert_member(&mut self, pe: PathElement) {
        if let Err(pos) = self.members.binary_search(&pe) {
            self.members.insert(pos, pe);
        }
    }

    /// The child set under `pe`, created if missing; the caller must leave
    /// it non-empty.
    pub(crate) fn child_mut(&mut self, pe: &PathElement) -> &mut FieldSet {
        let pos = match self.children.binary_search_by(|(e, _)| e.cmp(pe)) {
            Ok(pos) => pos,
            Err(pos) => {
                self.children.insert(pos, (pe.clone(), FieldSet::new()));
                pos
            }
        };
        &mut self.children[pos].1
    }

    /// The child set under `pe`, if any.
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children
            .binary_search_by(|(e, _)| e.cmp(pe))
            .ok()
            .map(|pos| &self.children[pos].1)
    }

    /// True when `pe` is a member at this level.
    pub fn has_member(&self, pe: &PathElement) -> bool {
        self.members.binary_search(pe).is_ok()
    }

    /// True when the exact path is in the set.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.has_member(last),
            [first, rest @ ..] => self.child(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// True when the set has the path or any path below it.
    pub fn has_prefix(&self, path: &[PathElement]) -> bool {
        match path {
            [] => !self.is_empty(),
            [last] => self.has_member(last) || self.child(last).is_some_and(|c| !c.is_empty()),
            [first, rest @ ..] => self.child(first).is_some_and(|c| c.has_prefix(rest)),
        }
    }

    /// True when every path of `self` is in `other`.
    pub fn is_subset_of(&self, other: &FieldSet) -> bool {
        self.members.iter().all(|m| other.has_member(m))
            && self
                .children
                .iter()
                .all(|(pe, c)| other.child(pe).is_some_and(|o| c.is_subset_of(o)))
    }

    /// Removes one path (not the paths below it), dropping children it
    /// leaves empty.
    pub(crate) fn remove_path(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                if let Ok(pos) = self.members.binary_search(last) {
                    self.members.remove(pos);
                }
            }
            [first, rest @ ..] => {
                if let Ok(pos) = self.children.binary_search_by(|(e, _)| e.cmp(first)) {
                    self.children[pos].1.remove_path(rest);
                    if self.children[pos].1.is_empty() {
                        self.children.remove(pos);
                    }
                }
            }
        }
    }

    /// Keeps, at the top level, only the elements `keep` accepts (with
    /// everything below them).
    pub(crate) fn retain_top_in_place(&mut self, keep: impl Fn(&PathElement) -> bool) {
        self.members.retain(|m| keep(m));
        self.children.retain(|(pe, _)| keep(pe));
    }

    /// Adds members and children built unsorted, then sorts and dedups.
    pub(crate) fn from_unsorted(
        mut members: Vec<PathElement>,
        mut children: Vec<(PathElement, FieldSet)>,
    ) -> Self {
        if !members.is_sorted() {
            members.sort();
        }
        members.dedup();
        children.retain(|(_, c)| !c.is_empty());
        if !children.is_sorted_by(|a, b| a.0 <= b.0) {
            children.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let mut merged: Vec<(PathElement, FieldSet)> = Vec::with_capacity(children.len());
        for (pe, set) in children {
            match merged.last_mut() {
                Some((last, existing)) if *last == pe => *existing = existing.union(&set),
                _ => merged.push((pe, set)),
            }
        }
        FieldSet {
            members,
            children: merged,
        }
    }

    /// The paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            members: merge_sorted(&self.members, &other.members, |_, _| true, true, true),
            children: merge_children(&self.children, &other.children, |a, b| match (a, b) {
                (Some(a), Some(b)) => Some(a.union(b)),
                (Some(a), None) => Some(a.clone()),
                (None, Some(b)) => Some(b.clone()),
                (None, None) => None,
            }),
        }
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            members: merge_sorted(&self.members, &other.members, |_, _| true, false, false),
            children: merge_children(&self.children, &other.children, |a, b| match (a, b) {
                (Some(a), Some(b)) => Some(a.intersection(b)),
                _ => None,
            }),
        }
    }

    /// The paths of `self` that are not in `other` (path by path: a member
    /// of `other` does not remove the paths below it).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            members: merge_sorted(&self.members, &other.members, |_, _| false, true, false),
            children: merge_children(&self.children, &other.children, |a, b| match (a, b) {
                (Some(a), Some(b)) => Some(a.difference(b)),
                (Some(a), None) => Some(a.clone()),
                _ => None,
            }),
        }
    }

    /// The paths of `self` that are neither in `other` nor below a member of
    /// `other`.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = merge_sorted(&self.members, &other.members, |_, _| false, true, false);
        let mut children = Vec::with_capacity(self.children.len());
        for (pe, set) in &self.children {
            if other.has_member(pe) {
                continue;
            }
            let rest = match other.child(pe) {
                Some(o) => set.recursive_difference(o),
                None => set.clone(),
            };
            if !rest.is_empty() {
                children.push((pe.clone(), rest));
            }
        }
        FieldSet { members, children }
    }

    /// Only the leaf paths: members that are not also parents of other paths.
    pub fn leaves(&self) -> FieldSet {
        let members = self
            .members
            .iter()
            .filter(|m| self.child(m).is_none_or(|c| c.is_empty()))
            .cloned()
            .collect();
        let children = self
            .children
            .iter()
            .map(|(pe, c)| (pe.clone(), c.leaves()))
            .filter(|(_, c)| !c.is_empty())
            .collect();
        FieldSet { members, children }
    }

    /// Every path, in structured-merge-diff's iteration order: the members
    /// of a level, then the paths under each child in order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::with_capacity(self.len());
        let mut prefix = Vec::new();
        self.collect_paths(&mut prefix, &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(Path(p));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Encodes the set as a FieldsV1 JSON object.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.to_fields_v1_map(false))
    }

    fn to_fields_v1_map(&self, include_self: bool) -> Map<String, Value> {
        let mut map = Map::new();
        if include_self && !self.is_empty() {
            map.insert(".".to_string(), Value::Object(Map::new()));
        }
        self.walk_ordered(|pe, kind| {
            let node = match kind {
                Node::Member => Map::new(),
                Node::Child(c) => c.to_fields_v1_map(false),
                Node::Both(c) => c.to_fields_v1_map(true),
            };
            map.insert(pe.to_key_string(), Value::Object(node));
        });
        map
    }

    /// Encodes the set as FieldsV1 text, byte for byte as the Kubernetes API
    /// server writes it.
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::new();
        self.write_fields_v1(&mut out, false);
        out
    }

    fn write_fields_v1(&self, out: &mut String, include_self: bool) {
        out.push('{');
        let mut first = true;
        if include_self && !self.is_empty() {
            out.push_str("\".\":{}");
            first = false;
        }
        self.walk_ordered(|pe, kind| {
            if !first {
                out.push(',');
            }
            first = false;
            gojson::write_string(out, &pe.to_key_string());
            out.push(':');
            match kind {
                Node::Member => out.push_str("{}"),
                Node::Child(c) => c.write_fields_v1(out, false),
                Node::Both(c) => c.write_fields_v1(out, true),
            }
        });
        out.push('}');
    }

    fn walk_ordered<'a>(&'a self, mut f: impl FnMut(&'a PathElement, Node<'a>)) {
        let (mut mi, mut ci) = (0, 0);
        let (m, c) = (&self.members, &self.children);
        while mi < m.len() || ci < c.len() {
            if ci >= c.len() || (mi < m.len() && m[mi] < c[ci].0) {
                f(&m[mi], Node::Member);
                mi += 1;
            } else if mi < m.len() && m[mi] == c[ci].0 {
                if c[ci].1.is_empty() {
                    f(&m[mi], Node::Member);
                } else {
                    f(&c[ci].0, Node::Both(&c[ci].1));
                }
                mi += 1;
                ci += 1;
            } else {
                if !c[ci].1.is_empty() {
                    f(&c[ci].0, Node::Child(&c[ci].1));
                }
                ci += 1;
            }
        }
    }

    /// True when `raw` is exactly this set's FieldsV1 encoding (keys in
    /// canonical order), checked without decoding `raw`.
    pub fn matches_fields_v1(&self, raw: &Value) -> bool {
        self.matches_node(raw, false)
    }

    fn matches_node(&self, raw: &Value, include_self: bool) -> bool {
        let Value::Object(map) = raw else {
            return false;
        };
        let mut entries = map.iter();
        if include_self && !self.is_empty() {
            match entries.next() {
                Some((k, v)) if k == "." && v.as_object().is_some_and(Map::is_empty) => {}
                _ => return false,
            }
        }
        let mut ok = true;
        let mut count = 0;
        self.walk_ordered(|pe, kind| {
            if !ok {
                return;
            }
            count += 1;
            let Some((key, value)) = entries.next() else {
                ok = false;
                return;
            };
            let key_ok = match pe {
                PathElement::Field(name) => key.strip_prefix("f:") == Some(name.as_str()),
                other => *key == other.to_key_string(),
            };
            ok = key_ok
                && match kind {
                    Node::Member => value.as_object().is_some_and(Map::is_empty),
                    Node::Child(c) => c.matches_node(value, false),
                    Node::Both(c) => c.matches_node(value, true),
                };
        });
        ok && entries.next().is_none()
    }

    /// Decodes a FieldsV1 JSON object.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, FieldsV1Error> {
        let (set, _) = Self::decode_node(value, 0)?;
        Ok(set)
    }

    /// Decodes FieldsV1 text.
    pub fn from_fields_v1_str(text: &str) -> Result<FieldSet, FieldsV1Error> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| FieldsV1Error::Json(e.to_string()))?;
        Self::from_fields_v1(&value)
    }

    fn decode_node(value: &Value, depth: usize) -> Result<(FieldSet, bool), FieldsV1Error> {
        if depth > MAX_DEPTH {
            return Err(FieldsV1Error::TooDeep);
        }
        let Value::Object(map) = value else {
            return Err(FieldsV1Error::NotAnObject {
                path: String::new(),
            });
        };
        let mut is_self = false;
        let mut members = Vec::new();
        let mut children = Vec::new();
        for (key, child) in map {
            if key == "." {
                is_self = true;
                continue;
            }
            let pe = PathElement::parse(key)?;
            let (set, child_self) = match Self::decode_node(child, depth + 1) {
                Ok(r) => r,
                Err(FieldsV1Error::NotAnObject { path }) => {
                    // Build the trail only on the way out of an error.
                    return Err(FieldsV1Error::NotAnObject {
                        path: format!("{key}/{path}"),
                    });
                }
                Err(e) => return Err(e),
            };
            let empty = set.is_empty();
            if empty || child_self {
                if empty {
                    members.push(pe);
                    continue;
                }
                members.push(pe.clone());
            }
            children.push((pe, set));
        }
        Ok((FieldSet::from_unsorted(members, children), is_self))
    }
}

enum Node<'a> {
    Member,
    Child(&'a FieldSet),
    Both(&'a FieldSet),
}

/// Merges two sorted vectors: `keep_both` decides on equal elements,
/// `keep_left`/`keep_right` on elements of only one side.
fn merge_sorted(
    a: &[PathElement],
    b: &[PathElement],
    keep_both: impl Fn(&PathElement, &PathElement) -> bool,
    keep_left: bool,
    keep_right: bool,
) -> Vec<PathElement> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j >= b.len() || (i < a.len() && a[i] < b[j]) {
            if keep_left {
                out.push(a[i].clone());
            }
            i += 1;
        } else if i >= a.len() || b[j] < a[i] {
            if keep_right {
                out.push(b[j].clone());
            }
            j += 1;
        } else {
            if keep_both(&a[i], &b[j]) {
                out.push(a[i].clone());
            }
            i += 1;
            j += 1;
        }
    }
    out
}

fn merge_children(
    a: &[(PathElement, FieldSet)],
    b: &[(PathElement, FieldSet)],
    f: impl Fn(Option<&FieldSet>, Option<&FieldSet>) -> Option<FieldSet>,
) -> Vec<(PathElement, FieldSet)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    let mut push = |pe: &PathElement, set: Option<FieldSet>| {
        if let Some(set) = set.filter(|s| !s.is_empty()) {
            out.push((pe.clone(), set));
        }
    };
    while i < a.len() || j < b.len() {
        if j >= b.len() || (i < a.len() && a[i].0 < b[j].0) {
            push(&a[i].0, f(Some(&a[i].1), None));
            i += 1;
        } else if i >= a.len() || b[j].0 < a[i].0 {
            push(&b[j].0, f(None, Some(&b[j].1)));
            j += 1;
        } else {
            push(&a[i].0, f(Some(&a[i].1), Some(&b[j].1)));
            i += 1;
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(n: &str) -> PathElement {
        PathElement::field(n)
    }

    #[test]
    fn element_order_and_keys() {
        let k = PathElement::key(vec![
            ("protocol".into(), json!("TCP")),
            ("containerPort".into(), json!(80)),
        ]);
        assert_eq!(
            k.to_key_string(),
            r#"k:{"containerPort":80,"protocol":"TCP"}"#
        );
        assert!(f("z") < k);
        assert!(k < PathElement::Value(json!("a")));
        assert!(PathElement::Value(json!(1)) < PathElement::Value(json!("a")));
        assert!(PathElement::Value(json!("a")) < PathElement::Index(0));
        assert_eq!(PathElement::parse(&k.to_key_string()).unwrap(), k);
    }

    #[test]
    fn display_paths() {
        let p = Path(vec![
            f("spec"),
            f("containers"),
            PathElement::key(vec![("name".into(), json!("nginx"))]),
            f("image"),
        ]);
        assert_eq!(p.to_string(), r#".spec.containers[name="nginx"].image"#);
        let v = Path(vec![
            f("metadata"),
            f("finalizers"),
            PathElement::Value(json!("x")),
        ]);
        assert_eq!(v.to_string(), r#".metadata.finalizers[="x"]"#);
    }

    #[test]
    fn set_operations() {
        let mut a = FieldSet::new();
        a.insert(&[f("a"), f("b")]);
        a.insert(&[f("a"), f("c")]);
        a.insert(&[f("x")]);
        let mut b = FieldSet::new();
        b.insert(&[f("a"), f("c")]);
        b.insert(&[f("y")]);
        assert_eq!(a.union(&b).len(), 4);
        assert_eq!(a.intersection(&b).paths(), vec![Path::fields(&["a", "c"])]);
        let d = a.difference(&b);
        assert_eq!(
            d.paths(),
            vec![Path::fields(&["x"]), Path::fields(&["a", "b"])]
        );
        let mut top = FieldSet::new();
        top.insert(&[f("a")]);
        assert_eq!(a.difference(&top).len(), 3);
        assert_eq!(
            a.recursive_difference(&top).paths(),
            vec![Path::fields(&["x"])]
        );
        assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn fields_v1_round_trip_with_self() {
        let text = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}}}}"#;
        let set = FieldSet::from_fields_v1_str(text).unwrap();
        assert_eq!(set.len(), 5);
        assert_eq!(set.to_fields_v1_string(), text);
        assert_eq!(serde_json::to_string(&set.to_fields_v1()).unwrap(), text);
    }

    #[test]
    fn decoder_rejects_garbage() {
        assert!(FieldSet::from_fields_v1_str("[]").is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"q:x":{}}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"k:[1]":{}}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"f:a":1}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"i:-1":{}}"#).is_err());
        let deep = "{\"f:a\":".repeat(300) + &"}".repeat(300);
        assert!(FieldSet::from_fields_v1_str(&deep).is_err());
    }
}
