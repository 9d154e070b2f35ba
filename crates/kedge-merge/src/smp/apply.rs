//! Applying a strategic merge patch (apimachinery `mergeMap` and friends).
//!
//! The same code merges two patches into one when computing a three-way
//! patch: [`MergeOptions::PATCHES`] keeps `null`s and parallel directive
//! lists instead of executing them.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{
    DELETE_FROM_PRIMITIVE_LIST_PREFIX, DIRECTIVE_MARKER, Meta, Path, RETAIN_KEYS_DIRECTIVE,
    SET_ELEMENT_ORDER_PREFIX, SmpError,
};

pub(crate) type Object = Map<String, Value>;

/// How `merge_map` treats `null`s and parallel lists.
#[derive(Clone, Copy)]
pub(crate) struct MergeOptions {
    /// Execute `$deleteFromPrimitiveList` and `$retainKeys` (apply), or
    /// carry them over (merging two patches).
    pub(crate) merge_parallel_list: bool,
    /// Drop `null`s that have nothing to delete (apply), or keep them.
    pub(crate) ignore_unmatched_nulls: bool,
}

impl MergeOptions {
    pub(crate) const APPLY: MergeOptions = MergeOptions {
        merge_parallel_list: true,
        ignore_unmatched_nulls: true,
    };
    pub(crate) const PATCHES: MergeOptions = MergeOptions {
        merge_parallel_list: false,
        ignore_unmatched_nulls: false,
    };
}

/// The JSON type of a value, as Go's `reflect.TypeOf` distinguishes them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

pub(crate) fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// A hashable identity of a scalar with Go's `==` on decoded JSON
/// (numbers compare as floats).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) enum KeyRepr {
    Null,
    Bool(bool),
    Num(u64),
    Str(String),
    Other(String),
}

pub(crate) fn key_repr(v: &Value) -> KeyRepr {
    match v {
        Value::Null => KeyRepr::Null,
        Value::Bool(b) => KeyRepr::Bool(*b),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            KeyRepr::Num(if f == 0.0 { 0 } else { f.to_bits() })
        }
        Value::String(s) => KeyRepr::Str(s.clone()),
        other => KeyRepr::Other(other.to_string()),
    }
}

/// The merge key value of a list item (`null` when absent or not a map), or
/// the item itself for lists of primitives.
pub(crate) fn item_key(item: &Value, merge_key: Option<&str>) -> KeyRepr {
    match merge_key {
        Some(mk) => match item {
            Value::Object(m) => m.get(mk).map_or(KeyRepr::Null, key_repr),
            _ => KeyRepr::Null,
        },
        None => key_repr(item),
    }
}

/// First position of every key in `list`.
pub(crate) fn index_by_key(list: &[Value], merge_key: Option<&str>) -> HashMap<KeyRepr, usize> {
    let mut idx = HashMap::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        idx.entry(item_key(v, merge_key)).or_insert(i);
    }
    idx
}

pub(crate) fn json_brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        let mut end = 200;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

fn no_merge_key(path: Path<'_>, item: &Value, mk: &str) -> SmpError {
    SmpError::NoMergeKey {
        path: path.to_string(),
        item: json_brief(item),
        merge_key: mk.to_string(),
    }
}

fn bad_arg(path: Path<'_>, expected: &'static str, found: &Value) -> SmpError {
    SmpError::BadArgType {
        path: path.to_string(),
        expected,
        found: json_brief(found),
    }
}

/// Merges `patch` into `original`.
pub(crate) fn merge_map(
    mut original: Object,
    mut patch: Object,
    meta: Meta<'_>,
    opts: MergeOptions,
    path: Path<'_>,
) -> Result<Object, SmpError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE_MARKER);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(SmpError::BadPatchType {
                path: path.to_string(),
                directive: json_brief(directive),
            }),
        };
    }

    apply_retain_keys_directive(&mut original, &mut patch, opts, path)?;
    merge_patch_into_original(&mut original, &mut patch, meta, opts, path)?;

    for (k, patch_v) in patch {
        let (key, is_delete_list) = if k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            if !opts.merge_parallel_list {
                original.insert(k, patch_v);
                continue;
            }
            let key = extract_key(&k, DELETE_FROM_PRIMITIVE_LIST_PREFIX).ok_or_else(|| {
                SmpError::BadPrimitiveList {
                    path: path.to_string(),
                    key: k.clone(),
                }
            })?;
            (key.to_string(), true)
        } else {
            (k, false)
        };
        let fpath = path.key(&key);

        if patch_v.is_null() {
            original.shift_remove(&key);
            if opts.ignore_unmatched_nulls {
                continue;
            }
        }

        let Some(orig_v) = original.get_mut(&key) else {
            if !is_delete_list {
                let mut v = patch_v;
                if opts.ignore_unmatched_nulls {
                    discard_null_values(&mut v);
                }
                if let Some(v) = remove_directives(v) {
                    original.insert(key, v);
                }
            }
            continue;
        };

        if kind(orig_v) != kind(&patch_v) {
            if !is_delete_list {
                let mut v = patch_v;
                if opts.ignore_unmatched_nulls {
                    discard_null_values(&mut v);
                }
                *orig_v = v;
            }
            continue;
        }

        match (std::mem::take(orig_v), patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                let fm = meta.lookup(&key);
                *orig_v = if fm.strategy.replace && !fm.strategy.merge {
                    Value::Object(p)
                } else {
                    Value::Object(merge_map(o, p, fm.sub, opts, fpath)?)
                };
            }
            (Value::Array(o), Value::Array(p)) => {
                let fm = meta.lookup_slice(&key);
                *orig_v = Value::Array(merge_slice_handler(
                    o,
                    p,
                    fm.sub,
                    fm.strategy.merge,
                    fm.merge_key,
                    is_delete_list,
                    opts,
                    fpath,
                )?);
            }
            (_, p) => *orig_v = p,
        }
    }
    Ok(original)
}

/// `prefix/key` → `key`; `None` when the key does not have that shape.
fn extract_key<'k>(k: &'k str, prefix: &str) -> Option<&'k str> {
    let (head, rest) = k.split_once('/')?;
    (head == prefix).then_some(rest)
}

/// Removes `null` values from maps, recursively (also inside lists).
pub(crate) fn discard_null_values(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            for v in m.values_mut() {
                discard_null_values(v);
            }
        }
        Value::Array(a) => {
            for v in a {
                discard_null_values(v);
            }
        }
        _ => {}
    }
}

/// Drops every map that carries a `$patch` directive (returns `None` when
/// `v` itself is such a map).
pub(crate) fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                if let Some(v) = remove_directives(v) {
                    out.insert(k, v);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

fn apply_retain_keys_directive(
    original: &mut Object,
    patch: &mut Object,
    opts: MergeOptions,
    path: Path<'_>,
) -> Result<(), SmpError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    if !opts.merge_parallel_list {
        match original.get(RETAIN_KEYS_DIRECTIVE) {
            Some(existing) if *existing != retain => {
                return Err(SmpError::BadRetainKeys {
                    path: path.to_string(),
                    detail: format!("{existing} and {retain} differ"),
                });
            }
            Some(_) => {}
            None => {
                original.insert(RETAIN_KEYS_DIRECTIVE.to_string(), retain);
            }
        }
        return Ok(());
    }
    let Value::Array(list) = &retain else {
        return Err(SmpError::BadRetainKeys {
            path: path.to_string(),
            detail: format!("$retainKeys must be a list, found {}", json_brief(&retain)),
        });
    };
    let keep: HashSet<KeyRepr> = list.iter().map(key_repr).collect();
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || k.starts_with(SET_ELEMENT_ORDER_PREFIX)
        {
            continue;
        }
        if !keep.contains(&KeyRepr::Str(k.clone())) {
            return Err(SmpError::BadRetainKeys {
                path: path.to_string(),
                detail: format!("the patch sets {k:?}, which $retainKeys does not list"),
            });
        }
    }
    original.retain(|k, _| keep.contains(&KeyRepr::Str(k.clone())));
    Ok(())
}

/// Handles every `$setElementOrder/<field>` of `patch`, merging the list it
/// names and putting the result in the requested order.
fn merge_patch_into_original(
    original: &mut Object,
    patch: &mut Object,
    meta: Meta<'_>,
    opts: MergeOptions,
    path: Path<'_>,
) -> Result<(), SmpError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let Some(order_v) = patch.shift_remove(&key) else {
            continue;
        };
        let bad = |detail: String| SmpError::BadSetElementOrder {
            path: path.to_string(),
            detail,
        };
        if !opts.merge_parallel_list {
            match original.get(&key) {
                Some(existing) if *existing != order_v => {
                    return Err(bad(format!("{key} differs between the two patches")));
                }
                Some(_) => {}
                None => {
                    original.insert(key.clone(), order_v.clone());
                }
            }
        }
        let Value::Array(order) = order_v else {
            return Err(bad(format!(
                "{key} must be a list, found {}",
                json_brief(&order_v)
            )));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER_PREFIX)
            .ok_or_else(|| bad(format!("{key:?} does not name a field")))?
            .to_string();
        let fpath = path.key(&field);

        let original_list = match original.get(&field) {
            Some(Value::Array(a)) => Some(a),
            Some(other) => return Err(bad_arg(fpath, "a list", other)),
            None => None,
        };
        let patch_list = match patch.get(&field) {
            Some(Value::Array(a)) => Some(a),
            Some(other) => return Err(bad_arg(fpath, "a list", other)),
            None => None,
        };
        let fm = meta.lookup_slice(&field);
        let mk = fm.merge_key;
        validate_patch_with_set_order_list(patch_list.map_or(&[][..], |v| v), &order, mk, fpath)?;

        let elem_kind = match slice_element_kind(
            original_list.map_or(&[][..], |v| v),
            patch_list.map_or(&[][..], |v| v),
            fpath,
        ) {
            Ok(k) => Some(k),
            Err(e) if original_list.is_some() || patch_list.is_some() => return Err(e),
            Err(_) => None,
        };
        let server_order = index_by_key(original_list.map_or(&[][..], |v| v), mk);

        // Take the live list out in place, so the field keeps its position.
        let taken = original.get_mut(&field).map(std::mem::take);
        let merged = match (taken, patch.shift_remove(&field)) {
            (Some(Value::Array(o)), None) => o,
            (None, Some(Value::Array(p))) => match remove_directives(Value::Array(p)) {
                Some(Value::Array(v)) => v,
                _ => Vec::new(),
            },
            (Some(Value::Array(o)), Some(Value::Array(p))) => {
                merge_slice_handler(o, p, fm.sub, fm.strategy.merge, mk, false, opts, fpath)?
            }
            _ => continue,
        };
        let both = match elem_kind {
            Some(elem_kind) => {
                let mk = if elem_kind == Kind::Object { mk } else { None };
                let order_idx = index_by_key(&order, mk);
                let (patch_items, server_only) =
                    partition_by_present(merged, &order_idx, mk, fpath)?;
                normalize_element_order(
                    patch_items,
                    server_only,
                    &order,
                    &order_idx,
                    &server_order,
                    mk,
                    elem_kind,
                    fpath,
                )?
            }
            // Both lists absent: nothing to order (handled above).
            None => merged,
        };
        match original.get_mut(&field) {
            Some(slot) => *slot = Value::Array(both),
            None => {
                original.insert(field, Value::Array(both));
            }
        }
    }
    Ok(())
}

/// Checks that the patch list follows the order of the `$setElementOrder` list.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    order: &[Value],
    mk: Option<&str>,
    path: Path<'_>,
) -> Result<(), SmpError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = match mk {
        Some(_) => {
            let mut v = Vec::with_capacity(patch_list.len());
            for item in patch_list {
                let Value::Object(m) = item else {
                    return Err(bad_arg(path, "a map", item));
                };
                if m.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some("delete") {
                    v.push(item);
                }
            }
            v
        }
        None => patch_list.iter().collect(),
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        if let Value::Object(m) = non_delete[pi]
            && m.contains_key(DIRECTIVE_MARKER)
        {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[pi], &order[oi], mk, path)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(SmpError::BadSetElementOrder {
            path: path.to_string(),
            detail: format!(
                "the order in the patch list {} doesn't match the $setElementOrder list {}",
                json_brief(&Value::Array(patch_list.to_vec())),
                json_brief(&Value::Array(order.to_vec()))
            ),
        });
    }
    Ok(())
}

fn merge_key_value_equal(
    l: &Value,
    r: &Value,
    mk: Option<&str>,
    path: Path<'_>,
) -> Result<bool, SmpError> {
    let Some(mk) = mk else {
        return Ok(key_repr(l) == key_repr(r));
    };
    let Value::Object(lm) = l else {
        return Err(bad_arg(path, "a map", l));
    };
    let Value::Object(rm) = r else {
        return Err(bad_arg(path, "a map", r));
    };
    let lk = lm.get(mk).ok_or_else(|| no_merge_key(path, l, mk))?;
    let rk = rm.get(mk).ok_or_else(|| no_merge_key(path, r, mk))?;
    Ok(key_repr(lk) == key_repr(rk))
}

/// The common element type of two lists; lists of lists, mixed types and
/// `null` elements are errors, and so are two empty lists.
pub(crate) fn slice_element_kind(
    a: &[Value],
    b: &[Value],
    path: Path<'_>,
) -> Result<Kind, SmpError> {
    let mut prev: Option<Kind> = None;
    for v in a.iter().chain(b) {
        let k = kind(v);
        match prev {
            None => {
                if k == Kind::Array {
                    return Err(SmpError::ListOfLists {
                        path: path.to_string(),
                    });
                }
                if k == Kind::Null {
                    return Err(SmpError::MixedElementTypes {
                        path: path.to_string(),
                    });
                }
                prev = Some(k);
            }
            Some(p) if p != k => {
                return Err(SmpError::MixedElementTypes {
                    path: path.to_string(),
                });
            }
            Some(_) => {}
        }
    }
    prev.ok_or_else(|| SmpError::BadArgType {
        path: path.to_string(),
        expected: "a non-empty list",
        found: "[]".to_string(),
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: Meta<'_>,
    merge: bool,
    mk: Option<&str>,
    is_delete_list: bool,
    opts: MergeOptions,
    path: Path<'_>,
) -> Result<Vec<Value>, SmpError> {
    if merge || is_delete_list {
        merge_slice(original, patch, meta, mk, opts, is_delete_list, path)
    } else {
        Ok(patch)
    }
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: Meta<'_>,
    mk: Option<&str>,
    opts: MergeOptions,
    is_delete_list: bool,
    path: Path<'_>,
) -> Result<Vec<Value>, SmpError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let elem_kind = slice_element_kind(&original, &patch, path)?;
    if elem_kind != Kind::Object {
        if opts.merge_parallel_list && is_delete_list {
            let del: HashSet<KeyRepr> = patch.iter().map(key_repr).collect();
            return Ok(original
                .into_iter()
                .filter(|v| !del.contains(&key_repr(v)))
                .collect());
        }
        let server_order = index_by_key(&original, None);
        let patch_order = index_by_key(&patch, None);
        let mut seen = HashSet::with_capacity(original.len() + patch.len());
        let mut merged = Vec::with_capacity(original.len() + patch.len());
        for v in original.into_iter().chain(patch.iter().cloned()) {
            if seen.insert(key_repr(&v)) {
                merged.push(v);
            }
        }
        let (patch_items, server_only) = partition_by_present(merged, &patch_order, None, path)?;
        return normalize_element_order(
            patch_items,
            server_only,
            &patch,
            &patch_order,
            &server_order,
            None,
            elem_kind,
            path,
        );
    }

    let Some(mk) = mk else {
        return Err(SmpError::NoMergeKeyInSchema {
            path: path.to_string(),
        });
    };

    // Special elements: `$patch: delete|replace` items.
    let mut patch_plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    let mut deletes: HashSet<KeyRepr> = HashSet::new();
    for (i, item) in patch.into_iter().enumerate() {
        let Value::Object(m) = &item else {
            unreachable_kind(&item)
        };
        match m.get(DIRECTIVE_MARKER) {
            None => patch_plain.push(item),
            Some(d) => match d.as_str() {
                Some("delete") => match m.get(mk) {
                    Some(k) => {
                        deletes.insert(key_repr(k));
                    }
                    None => return Err(no_merge_key(path.index(i), &item, mk)),
                },
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(SmpError::MergeDirectiveInList {
                        path: path.to_string(),
                    });
                }
                _ => {
                    return Err(SmpError::BadPatchType {
                        path: path.index(i).to_string(),
                        directive: json_brief(d),
                    });
                }
            },
        }
    }
    let (mut original, patch) = if replace {
        (patch_plain, Vec::new())
    } else {
        let original = if deletes.is_empty() {
            original
        } else {
            original
                .into_iter()
                .filter(|v| match v {
                    Value::Object(m) => m.get(mk).is_none_or(|k| !deletes.contains(&key_repr(k))),
                    _ => true,
                })
                .collect()
        };
        (original, patch_plain)
    };
    let server_order = index_by_key(&original, Some(mk));
    let patch_order = index_by_key(&patch, Some(mk));

    // Merge items that match by key, append the others.
    let mut by_key = server_order.clone();
    for (i, item) in patch.into_iter().enumerate() {
        let Value::Object(pm) = item else {
            unreachable_kind(&item)
        };
        let Some(kv) = pm.get(mk) else {
            return Err(no_merge_key(path.index(i), &Value::Object(pm), mk));
        };
        let kr = key_repr(kv);
        match by_key.get(&kr) {
            Some(&at) => {
                let target = &mut original[at];
                let Value::Object(om) = std::mem::take(target) else {
                    return Err(bad_arg(path.index(at), "a map", target));
                };
                *target = Value::Object(merge_map(om, pm, meta, opts, path.index(at))?);
            }
            None => {
                by_key.insert(kr, original.len());
                original.push(Value::Object(pm));
            }
        }
    }

    let (patch_items, server_only) = partition_by_present(original, &patch_order, Some(mk), path)?;
    normalize_element_order(
        patch_items,
        server_only,
        &[],
        &patch_order,
        &server_order,
        Some(mk),
        Kind::Object,
        path,
    )
}

fn unreachable_kind(v: &Value) -> ! {
    // slice_element_kind established that every element is a map
    panic!("list element is not a map after the element type check: {v}")
}

/// Splits `items` into those whose key is in `present` and the others.
fn partition_by_present(
    items: Vec<Value>,
    present: &HashMap<KeyRepr, usize>,
    mk: Option<&str>,
    path: Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>), SmpError> {
    let mut inside = Vec::with_capacity(items.len());
    let mut outside = Vec::new();
    for (i, v) in items.into_iter().enumerate() {
        let k = match mk {
            Some(mk) => match &v {
                Value::Object(m) => match m.get(mk) {
                    Some(k) => key_repr(k),
                    None => return Err(no_merge_key(path.index(i), &v, mk)),
                },
                other => return Err(bad_arg(path.index(i), "a map", other)),
            },
            None => key_repr(&v),
        };
        if present.contains_key(&k) {
            inside.push(v);
        } else {
            outside.push(v);
        }
    }
    Ok((inside, outside))
}

/// Sorts `patch` by `patch_order`, `server_only` by `server_order`, then
/// interleaves them keeping both relative orders (apimachinery
/// `normalizeElementOrder`).
#[allow(clippy::too_many_arguments)]
fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order_list: &[Value],
    patch_order: &HashMap<KeyRepr, usize>,
    server_order: &HashMap<KeyRepr, usize>,
    mk: Option<&str>,
    elem_kind: Kind,
    path: Path<'_>,
) -> Result<Vec<Value>, SmpError> {
    let mk = if elem_kind == Kind::Object { mk } else { None };
    if let Some(mk) = mk {
        for (i, item) in patch.iter().chain(patch_order_list).enumerate() {
            match item {
                Value::Object(m) if m.contains_key(mk) => {}
                Value::Object(_) => return Err(no_merge_key(path.index(i), item, mk)),
                other => return Err(bad_arg(path.index(i), "a map", other)),
            }
        }
    }
    let patch = sort_by_order(patch, patch_order, mk, elem_kind);
    let server_only = sort_by_order(server_only, server_order, mk, elem_kind);

    // Interleave: take a server-only item first only when both are in the
    // live list and it comes earlier there.
    let mut out = Vec::with_capacity(patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch.into_iter().peekable();
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.next()),
            (None, Some(_)) => out.extend(right.next()),
            (Some(l), Some(r)) => {
                let li = server_order.get(&item_key(l, mk));
                let ri = server_order.get(&item_key(r, mk));
                match (li, ri) {
                    (Some(li), Some(ri)) if li < ri => out.extend(left.next()),
                    _ => out.extend(right.next()),
                }
            }
        }
    }
    Ok(out)
}

/// Go's `normalizeSliceOrder`: `$patch: delete` items go last; the others
/// are stably sorted by their position in `order`. Items missing from
/// `order` follow Go's comparator (which reports them as "less").
fn sort_by_order(
    items: Vec<Value>,
    order: &HashMap<KeyRepr, usize>,
    mk: Option<&str>,
    elem_kind: Kind,
) -> Vec<Value> {
    let (mut keep, deletes): (Vec<Value>, Vec<Value>) = if elem_kind == Kind::Object {
        items
            .into_iter()
            .partition(|v| v.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some("delete"))
    } else {
        (items, Vec::new())
    };
    let mut pos: Vec<(Option<usize>, Value)> = keep
        .drain(..)
        .map(|v| (order.get(&item_key(&v, mk)).copied(), v))
        .collect();
    if pos.iter().all(|(p, _)| p.is_some()) {
        pos.sort_by_key(|(p, _)| *p);
    } else {
        let less = |a: Option<usize>, b: Option<usize>| match (a, b) {
            (Some(a), Some(b)) => a < b,
            _ => true,
        };
        for i in 1..pos.len() {
            let mut j = i;
            while j > 0 && less(pos[j].0, pos[j - 1].0) {
                pos.swap(j, j - 1);
                j -= 1;
            }
        }
    }
    let mut out: Vec<Value> = pos.into_iter().map(|(_, v)| v).collect();
    out.extend(deletes);
    out
}
