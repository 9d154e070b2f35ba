//! JSON merge patch (RFC 7386) as the Kubernetes API server applies it for
//! `application/merge-patch+json`, and merge-patch creation as kubectl
//! computes it for custom resources (two-way and three-way).
//!
//! Design: the merge consumes owned trees; `null` in a patch deletes a key,
//! and `null`s inside values that are added (not merged) are pruned, as the
//! server's JSON patch library does. Lists are always replaced.

use serde_json::{Map, Value};

type Object = Map<String, Value>;

/// An error from a merge patch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergePatchError {
    /// The patch is `null` or a scalar (the server answers 400).
    #[error("Invalid JSON Patch: a merge patch must be an object or a list, found {found}")]
    BadPatch {
        /// The JSON type found.
        found: &'static str,
    },
    /// Two documents of different JSON types were compared.
    #[error("Mismatched JSON Documents: {detail}")]
    MismatchedDocuments {
        /// Which types.
        detail: String,
    },
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Applies a JSON merge patch to `doc`.
pub fn merge_patch(doc: &Value, patch: &Value) -> Result<Value, MergePatchError> {
    merge_patch_owned(doc.clone(), patch.clone())
}

/// [`merge_patch`] on owned values.
pub fn merge_patch_owned(doc: Value, patch: Value) -> Result<Value, MergePatchError> {
    match patch {
        Value::Object(p) => match doc {
            Value::Object(mut d) => {
                merge_objects(&mut d, p);
                Ok(Value::Object(d))
            }
            _ => {
                let mut p = Value::Object(p);
                prune_nulls(&mut p);
                Ok(p)
            }
        },
        Value::Array(a) => {
            let mut p = Value::Array(a);
            prune_nulls(&mut p);
            Ok(p)
        }
        other => Err(MergePatchError::BadPatch {
            found: type_name(&other),
        }),
    }
}

fn merge_objects(doc: &mut Object, patch: Object) {
    for (k, v) in patch {
        if v.is_null() {
            doc.shift_remove(&k);
            continue;
        }
        match doc.get_mut(&k) {
            None | Some(Value::Null) => {
                let mut v = v;
                prune_nulls(&mut v);
                doc.insert(k, v);
            }
            Some(cur) => match (cur, v) {
                (Value::Object(c), Value::Object(p)) => merge_objects(c, p),
                (cur @ Value::Object(_), v) => *cur = v,
                (cur, mut v) => {
                    prune_nulls(&mut v);
                    *cur = v;
                }
            },
        }
    }
}

/// Drops `null` members of maps, recursively; `null` list elements stay.
fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Computes the merge patch that turns `original` into `modified`: added and
/// changed fields, and `null` for removed ones. Both must be objects, or both
/// lists (a changed list is replaced whole).
pub fn create_merge_patch(original: &Value, modified: &Value) -> Result<Value, MergePatchError> {
    match (original, modified) {
        (Value::Object(o), Value::Object(m)) => Ok(Value::Object(diff_objects(o, m, true))),
        (Value::Array(_), Value::Array(m)) => Ok(if original == modified {
            Value::Array(Vec::new())
        } else {
            Value::Array(m.clone())
        }),
        _ => Err(MergePatchError::MismatchedDocuments {
            detail: format!(
                "original is {}, modified is {}",
                type_name(original),
                type_name(modified)
            ),
        }),
    }
}

fn diff_objects(a: &Object, b: &Object, deletions: bool) -> Object {
    let mut out = Map::new();
    for (k, bv) in b {
        match a.get(k) {
            None => {
                out.insert(k.clone(), bv.clone());
            }
            Some(Value::Object(ao)) => match bv {
                Value::Object(bo) => {
                    let d = diff_objects(ao, bo, deletions);
                    if !d.is_empty() {
                        out.insert(k.clone(), Value::Object(d));
                    }
                }
                _ => {
                    out.insert(k.clone(), bv.clone());
                }
            },
            Some(av) => {
                if !json_equal(av, bv) {
                    out.insert(k.clone(), bv.clone());
                }
            }
        }
    }
    if deletions {
        for k in a.keys() {
            if !b.contains_key(k) {
                out.insert(k.clone(), Value::Null);
            }
        }
    }
    out
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// kubectl's three-way JSON merge patch for client-side apply of custom
/// resources: the additions and changes from `current` (live) to `modified`
/// (new configuration), plus `null` for every field that was in `original`
/// (the last applied configuration) and is gone from `modified`.
pub fn create_three_way_merge_patch(
    original: &Value,
    modified: &Value,
    current: &Value,
) -> Result<Value, MergePatchError> {
    let empty = Map::new();
    let obj = |v: &Value, what: &str| -> Result<Object, MergePatchError> {
        match v {
            Value::Object(m) => Ok(m.clone()),
            Value::Null => Ok(empty.clone()),
            other => Err(MergePatchError::MismatchedDocuments {
                detail: format!("{what} is {}, not an object", type_name(other)),
            }),
        }
    };
    let original = obj(original, "original")?;
    let modified = obj(modified, "modified")?;
    let current = obj(current, "current")?;
    let additions = diff_objects(&current, &modified, false);
    let deletions = only_deletions(&original, &modified);
    let mut patch = deletions;
    merge_patches(&mut patch, additions);
    Ok(Value::Object(patch))
}

/// The `null`s of the patch from `a` to `b` (nested maps only).
fn only_deletions(a: &Object, b: &Object) -> Object {
    let mut out = Map::new();
    for (k, av) in a {
        match (av, b.get(k)) {
            (_, None) => {
                out.insert(k.clone(), Value::Null);
            }
            (Value::Object(ao), Some(Value::Object(bo))) => {
                let d = only_deletions(ao, bo);
                if !d.is_empty() {
                    out.insert(k.clone(), Value::Object(d));
                }
            }
            _ => {}
        }
    }
    out
}

/// Merges patch `b` into patch `a`, keeping `null`s.
fn merge_patches(a: &mut Object, b: Object) {
    for (k, bv) in b {
        match (a.get_mut(&k), bv) {
            (Some(Value::Object(ao)), Value::Object(bo)) => merge_patches(ao, bo),
            (_, bv) => {
                a.insert(k, bv);
            }
        }
    }
}
