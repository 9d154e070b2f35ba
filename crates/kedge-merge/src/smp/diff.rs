//! Computing strategic merge patches the way kubectl does for client-side
//! apply (apimachinery `diffMaps`, `CreateTwoWayMergePatch`,
//! `CreateThreeWayMergePatch`, `MergingMapsHaveConflicts`).
//!
//! List diffs sort both sides by the Go `%v` rendering of their keys and walk
//! them together, as apimachinery does, so the emitted `$patch: delete`
//! items and `$deleteFromPrimitiveList` values come in the same order.

use std::cmp::Ordering;
use std::collections::HashMap;

use kedge_schema::{Schema, TypeRef};
use serde_json::{Map, Value};

use super::apply::{
    self, KeyRepr, Kind, MergeOptions, Object, index_by_key, json_brief, key_repr, kind, merge_map,
    slice_element_kind,
};
use super::{
    DELETE_FROM_PRIMITIVE_LIST_PREFIX, DIRECTIVE_MARKER, Meta, Path, RETAIN_KEYS_DIRECTIVE,
    SET_ELEMENT_ORDER_PREFIX, SmpError,
};

#[derive(Clone, Copy, Default)]
struct DiffOptions {
    set_element_order: bool,
    ignore_changes_and_additions: bool,
    ignore_deletions: bool,
    build_retain_keys_directive: bool,
}

fn as_object(v: &Value, what: &'static str) -> Result<Object, SmpError> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(Map::new()),
        _ => Err(SmpError::BadJsonDoc { what }),
    }
}

/// Computes the patch that turns `original` into `modified` (with
/// `$setElementOrder` directives for merged lists, as kubectl sends them).
/// `null` stands for an empty document.
pub fn create_two_way_merge_patch(
    original: &Value,
    modified: &Value,
    schema: &Schema,
    ty: &TypeRef,
) -> Result<Value, SmpError> {
    let original = as_object(original, "original")?;
    let modified = as_object(modified, "modified")?;
    let opts = DiffOptions {
        set_element_order: true,
        ..DiffOptions::default()
    };
    diff_maps(
        &original,
        &modified,
        Meta::new(schema, ty),
        opts,
        Path::ROOT,
    )
    .map(Value::Object)
}

/// Computes kubectl's client-side apply patch: the changes from `current`
/// (the live object) to `modified` (the new configuration), without
/// deletions, plus the deletions from `original` (the last applied
/// configuration, from the `kubectl.kubernetes.io/last-applied-configuration`
/// annotation; `null` when there is none) to `modified`.
///
/// With `overwrite` false, a patch that would change a field that someone
/// else changed since `original` (relative to `current`) fails with
/// [`SmpError::Conflict`]; kubectl apply passes `true`.
pub fn create_three_way_merge_patch(
    original: &Value,
    modified: &Value,
    current: &Value,
    schema: &Schema,
    ty: &TypeRef,
    overwrite: bool,
) -> Result<Value, SmpError> {
    let original = as_object(original, "original")?;
    let modified = as_object(modified, "modified")?;
    let current = as_object(current, "current")?;
    let meta = Meta::new(schema, ty);

    let delta = diff_maps(
        &current,
        &modified,
        meta,
        DiffOptions {
            ignore_deletions: true,
            set_element_order: true,
            ..DiffOptions::default()
        },
        Path::ROOT,
    )?;
    let deletions = diff_maps(
        &original,
        &modified,
        meta,
        DiffOptions {
            set_element_order: true,
            ignore_changes_and_additions: true,
            ..DiffOptions::default()
        },
        Path::ROOT,
    )?;
    let patch = merge_map(deletions, delta, meta, MergeOptions::PATCHES, Path::ROOT)?;

    if !overwrite {
        let changed = diff_maps(
            &original,
            &current,
            meta,
            DiffOptions::default(),
            Path::ROOT,
        )?;
        if map_fields_have_conflicts(&patch, &changed, meta, Path::ROOT)? {
            return Err(SmpError::Conflict {
                patch: json_brief(&Value::Object(patch)),
                changed: json_brief(&Value::Object(changed)),
            });
        }
    }
    Ok(Value::Object(patch))
}

/// Whether two patches change some field differently (apimachinery
/// `MergingMapsHaveConflicts`).
pub fn merging_maps_have_conflicts(
    left: &Value,
    right: &Value,
    schema: &Schema,
    ty: &TypeRef,
) -> Result<bool, SmpError> {
    let (Value::Object(l), Value::Object(r)) = (left, right) else {
        return Ok(left != right);
    };
    map_fields_have_conflicts(l, r, Meta::new(schema, ty), Path::ROOT)
}

fn diff_maps(
    original: &Object,
    modified: &Object,
    meta: Meta<'_>,
    opts: DiffOptions,
    path: Path<'_>,
) -> Result<Object, SmpError> {
    let mut patch = Map::new();
    let mut retain_keys: Vec<Value> = Vec::new();

    for (key, modified_v) in modified {
        if opts.build_retain_keys_directive && !modified_v.is_null() {
            retain_keys.push(Value::String(key.clone()));
        }
        let Some(original_v) = original.get(key) else {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_v.clone());
            }
            continue;
        };
        let fpath = path.key(key);
        if key == DIRECTIVE_MARKER {
            match (original_v.as_str(), modified_v.as_str()) {
                (Some(o), Some(m)) => {
                    if o != m {
                        patch.insert(key.clone(), modified_v.clone());
                    }
                    continue;
                }
                _ => {
                    return Err(SmpError::BadPatchType {
                        path: fpath.to_string(),
                        directive: json_brief(modified_v),
                    });
                }
            }
        }
        if kind(original_v) != kind(modified_v) {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_v.clone());
            }
            continue;
        }
        match (original_v, modified_v) {
            (Value::Object(o), Value::Object(m)) => {
                let fm = meta.lookup(key);
                let sub_opts = DiffOptions {
                    build_retain_keys_directive: fm.strategy.retain_keys,
                    ..opts
                };
                if fm.strategy.replace && !fm.strategy.merge {
                    if !opts.ignore_changes_and_additions {
                        patch.insert(key.clone(), modified_v.clone());
                    }
                } else {
                    let p = diff_maps(o, m, fm.sub, sub_opts, fpath)?;
                    if !p.is_empty() {
                        patch.insert(key.clone(), Value::Object(p));
                    }
                }
            }
            (Value::Array(o), Value::Array(m)) => {
                let fm = meta.lookup_slice(key);
                if fm.strategy.merge {
                    let sub_opts = DiffOptions {
                        build_retain_keys_directive: fm.strategy.retain_keys,
                        ..opts
                    };
                    let (add, delete, order) =
                        diff_lists(o, m, fm.sub, fm.merge_key, sub_opts, fpath)?;
                    if !add.is_empty() {
                        patch.insert(key.clone(), Value::Array(add));
                    }
                    if !delete.is_empty() {
                        patch.insert(
                            format!("{DELETE_FROM_PRIMITIVE_LIST_PREFIX}/{key}"),
                            Value::Array(delete),
                        );
                    }
                    if !order.is_empty() {
                        patch.insert(
                            format!("{SET_ELEMENT_ORDER_PREFIX}/{key}"),
                            Value::Array(order),
                        );
                    }
                } else {
                    replace_if_not_equal(key, original_v, modified_v, &mut patch, opts);
                }
            }
            _ => replace_if_not_equal(key, original_v, modified_v, &mut patch, opts),
        }
    }

    if !opts.ignore_deletions {
        for key in original.keys() {
            if !modified.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }

    if !retain_keys.is_empty()
        && (!patch.is_empty() || has_additional_new_field(original, modified))
    {
        sort_scalars(&mut retain_keys);
        patch.insert(RETAIN_KEYS_DIRECTIVE.to_string(), Value::Array(retain_keys));
    }
    Ok(patch)
}

fn replace_if_not_equal(
    key: &str,
    original: &Value,
    modified: &Value,
    patch: &mut Object,
    opts: DiffOptions,
) {
    if opts.ignore_changes_and_additions || values_equal(original, modified) {
        return;
    }
    patch.insert(key.to_string(), modified.clone());
}

/// Deep equality with numbers compared as floats (as decoded JSON in Go).
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn has_additional_new_field(original: &Object, modified: &Object) -> bool {
    original
        .iter()
        .any(|(k, v)| !v.is_null() && !modified.contains_key(k))
}

/// Go's `fmt.Sprintf("%v", v)` for decoded JSON values, used to sort keys.
fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => go_fmt_float(n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

/// `%v` of a float64: shortest digits, exponent form when the decimal
/// exponent is below -4 or at least 21.
fn go_fmt_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..21).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

fn sort_scalars(v: &mut [Value]) {
    v.sort_by_cached_key(go_fmt);
}

/// Returns (patch list, parallel deletion list, `$setElementOrder` list).
fn diff_lists(
    original: &[Value],
    modified: &[Value],
    meta: Meta<'_>,
    mk: Option<&str>,
    opts: DiffOptions,
    path: Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>, Vec<Value>), SmpError> {
    if original.is_empty() {
        if modified.is_empty() || opts.ignore_changes_and_additions {
            return Ok(Default::default());
        }
        return Ok((modified.to_vec(), Vec::new(), Vec::new()));
    }
    let elem_kind = slice_element_kind(original, modified, path)?;
    match elem_kind {
        Kind::Object => {
            let Some(mk) = mk else {
                return Err(SmpError::NoMergeKeyInSchema {
                    path: path.to_string(),
                });
            };
            let (patch_list, delete_list) =
                diff_lists_of_maps(original, modified, meta, mk, opts, path)?;
            let modified_order = index_by_key(modified, Some(mk));
            let mut patch_list = sort_by_position(patch_list, &modified_order, Some(mk));
            let order_same = original.len() == modified.len()
                && original
                    .iter()
                    .zip(modified)
                    .all(|(o, m)| apply::item_key(o, Some(mk)) == apply::item_key(m, Some(mk)));
            patch_list.extend(delete_list);
            let mut order = Vec::new();
            if opts.set_element_order
                && ((!opts.ignore_changes_and_additions && (!patch_list.is_empty() || !order_same))
                    || (!opts.ignore_deletions && !patch_list.is_empty()))
            {
                order.reserve(modified.len());
                for (i, m) in modified.iter().enumerate() {
                    let Value::Object(mm) = m else {
                        return Err(SmpError::BadArgType {
                            path: path.index(i).to_string(),
                            expected: "a map",
                            found: json_brief(m),
                        });
                    };
                    let mut one = Map::new();
                    one.insert(mk.to_string(), mm.get(mk).cloned().unwrap_or(Value::Null));
                    order.push(Value::Object(one));
                }
            }
            Ok((patch_list, Vec::new(), order))
        }
        _ => {
            let (add, delete) = diff_lists_of_scalars(original, modified, opts);
            let modified_order = index_by_key(modified, None);
            let add = sort_by_position(add, &modified_order, None);
            // apimachinery sorts the original list in place before this
            // comparison, so an unsorted but unchanged list still reports an
            // order change.
            let mut original_sorted = original.to_vec();
            sort_scalars(&mut original_sorted);
            let mut order = Vec::new();
            if opts.set_element_order
                && ((!opts.ignore_deletions && !delete.is_empty())
                    || (!opts.ignore_changes_and_additions
                        && !values_equal_list(&original_sorted, modified)))
            {
                order = modified.to_vec();
            }
            Ok((add, delete, order))
        }
    }
}

fn values_equal_list(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_equal(x, y))
}

/// Stable sort by position in `order` (every item is found there).
fn sort_by_position(
    items: Vec<Value>,
    order: &HashMap<KeyRepr, usize>,
    mk: Option<&str>,
) -> Vec<Value> {
    let mut pos: Vec<(usize, Value)> = items
        .into_iter()
        .map(|v| {
            (
                order
                    .get(&apply::item_key(&v, mk))
                    .copied()
                    .unwrap_or(usize::MAX),
                v,
            )
        })
        .collect();
    pos.sort_by_key(|(p, _)| *p);
    pos.into_iter().map(|(_, v)| v).collect()
}

fn diff_lists_of_maps(
    original: &[Value],
    modified: &[Value],
    meta: Meta<'_>,
    mk: &str,
    opts: DiffOptions,
    path: Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>), SmpError> {
    let keyed = |list: &[Value]| -> Result<Vec<(String, usize)>, SmpError> {
        let mut v = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let Value::Object(m) = item else {
                return Err(SmpError::BadArgType {
                    path: path.index(i).to_string(),
                    expected: "a map",
                    found: json_brief(item),
                });
            };
            let Some(k) = m.get(mk) else {
                return Err(SmpError::NoMergeKey {
                    path: path.index(i).to_string(),
                    item: json_brief(item),
                    merge_key: mk.to_string(),
                });
            };
            v.push((go_fmt(k), i));
        }
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    };
    let os = keyed(original)?;
    let ms = keyed(modified)?;
    let mut patch = Vec::with_capacity(modified.len());
    let mut deletions = Vec::new();
    let (mut oi, mut mi) = (0, 0);
    loop {
        let o = os.get(oi);
        let m = ms.get(mi);
        let ord = match (o, m) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ok, _)), Some((mkey, _))) => ok.cmp(mkey),
        };
        match ord {
            Ordering::Equal => {
                let (Value::Object(oe), Value::Object(me)) =
                    (&original[o.unwrap().1], &modified[m.unwrap().1])
                else {
                    unreachable!("checked to be maps above")
                };
                let mi_idx = m.unwrap().1;
                let mut p = diff_maps(oe, me, meta, opts, path.index(mi_idx))?;
                if !p.is_empty() {
                    p.insert(mk.to_string(), me.get(mk).cloned().unwrap_or(Value::Null));
                    patch.push(Value::Object(p));
                }
                oi += 1;
                mi += 1;
            }
            Ordering::Greater => {
                if !opts.ignore_changes_and_additions {
                    patch.push(modified[m.unwrap().1].clone());
                }
                mi += 1;
            }
            Ordering::Less => {
                if !opts.ignore_deletions {
                    let Value::Object(oe) = &original[o.unwrap().1] else {
                        unreachable!("checked above")
                    };
                    let mut d = Map::new();
                    d.insert(
                        DIRECTIVE_MARKER.to_string(),
                        Value::String("delete".to_string()),
                    );
                    d.insert(mk.to_string(), oe.get(mk).cloned().unwrap_or(Value::Null));
                    deletions.push(Value::Object(d));
                }
                oi += 1;
            }
        }
    }
    Ok((patch, deletions))
}

fn diff_lists_of_scalars(
    original: &[Value],
    modified: &[Value],
    opts: DiffOptions,
) -> (Vec<Value>, Vec<Value>) {
    fn sorted(l: &[Value]) -> Vec<(String, &Value)> {
        let mut v: Vec<(String, &Value)> = l.iter().map(|x| (go_fmt(x), x)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
    let os = sorted(original);
    let ms = sorted(modified);
    let mut add = Vec::new();
    let mut del: Vec<Value> = Vec::new();
    let (mut oi, mut mi) = (0, 0);
    loop {
        let ord = match (os.get(oi), ms.get(mi)) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(o), Some(m)) => o.0.cmp(&m.0),
        };
        match ord {
            Ordering::Equal => {
                oi += 1;
                mi += 1;
            }
            Ordering::Less => {
                if !opts.ignore_deletions {
                    del.push(os[oi].1.clone());
                }
                oi += 1;
            }
            Ordering::Greater => {
                if !opts.ignore_changes_and_additions {
                    add.push(ms[mi].1.clone());
                }
                mi += 1;
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    del.retain(|v| seen.insert(key_repr(v)));
    (add, del)
}

fn map_fields_have_conflicts(
    left: &Object,
    right: &Object,
    meta: Meta<'_>,
    path: Path<'_>,
) -> Result<bool, SmpError> {
    for (key, lv) in left {
        if key == DIRECTIVE_MARKER || key == RETAIN_KEYS_DIRECTIVE {
            continue;
        }
        let Some(rv) = right.get(key) else { continue };
        let fm = match lv {
            Value::Array(_) => meta.lookup_slice(key),
            _ => meta.lookup(key),
        };
        let replace = fm.strategy.replace && !fm.strategy.merge;
        if fields_have_conflicts(
            lv,
            rv,
            fm.sub,
            replace,
            fm.strategy.merge,
            fm.merge_key,
            path.key(key),
        )? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[allow(clippy::fn_params_excessive_bools)]
fn fields_have_conflicts(
    left: &Value,
    right: &Value,
    meta: Meta<'_>,
    replace: bool,
    merge: bool,
    mk: Option<&str>,
    path: Path<'_>,
) -> Result<bool, SmpError> {
    match left {
        Value::Object(l) => {
            let Value::Object(r) = right else {
                return Ok(true);
            };
            let lm = l.get(DIRECTIVE_MARKER);
            let rm = r.get(DIRECTIVE_MARKER);
            if (lm.is_some() || rm.is_some()) && lm != rm {
                return Ok(true);
            }
            if replace {
                return Ok(false);
            }
            map_fields_have_conflicts(l, r, meta, path)
        }
        Value::Array(l) => {
            let Value::Array(r) = right else {
                return Ok(true);
            };
            if l.is_empty() && r.is_empty() {
                return Ok(false);
            }
            let elem_kind = slice_element_kind(l, r, path)?;
            if merge {
                if elem_kind != Kind::Object {
                    return Ok(false);
                }
                let Some(mk) = mk else {
                    return Err(SmpError::NoMergeKeyInSchema {
                        path: path.to_string(),
                    });
                };
                fn by_key<'v>(list: &'v [Value], mk: &str) -> HashMap<KeyRepr, &'v Value> {
                    list.iter()
                        .map(|v| (apply::item_key(v, Some(mk)), v))
                        .collect()
                }
                let lmap = by_key(l, mk);
                let rmap = by_key(r, mk);
                for (k, lv) in &lmap {
                    if let Some(rv) = rmap.get(k)
                        && fields_have_conflicts(lv, rv, meta, false, false, None, path)?
                    {
                        return Ok(true);
                    }
                }
                return Ok(false);
            }
            if l.len() != r.len() {
                return Ok(true);
            }
            let (mut l, mut r) = (l.clone(), r.clone());
            if elem_kind != Kind::Object {
                for v in [&mut l, &mut r] {
                    sort_scalars(v);
                    let mut seen = std::collections::HashSet::new();
                    v.retain(|x| seen.insert(key_repr(x)));
                }
            }
            for (i, (a, b)) in l.iter().zip(&r).enumerate() {
                if fields_have_conflicts(a, b, meta, false, false, None, path.index(i))? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => Ok(!values_equal(left, right)),
    }
}
