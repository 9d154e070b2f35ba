//! Patches: `patchesStrategicMerge`, `patches` (strategic merge or JSON 6902,
//! inline or from a file, with or without a target) and `patchesJson6902`.
//!
//! A strategic-merge patch without a target applies to the one resource whose
//! current or previous id equals the patch's id; with a target it applies to
//! every selected resource, and the patch's own name is ignored. Names,
//! namespaces and kinds are restored after merging unless the patch's
//! options allow changing them. A patch that reduces an object to nothing
//! (`$patch: delete`) removes it from the build.

use serde_json::{Map, Value};

use crate::error::{Result, build_err};
use crate::kustomization::{Patch, Selector};
use crate::merge2;
use crate::resmap::ResMap;
use crate::resource::{ResId, Resource};

/// A parsed patch.
pub(crate) enum Parsed {
    /// Strategic-merge patch documents.
    Smp(Vec<Value>),
    /// JSON 6902 operations.
    Json(Vec<Value>),
}

/// Decides whether a parsed patch text is JSON 6902 (a list of operations).
pub(crate) fn classify(docs: Vec<Value>) -> Parsed {
    if docs.len() == 1 && docs[0].is_array() {
        let ops = docs.into_iter().next().and_then(|d| match d {
            Value::Array(a) => Some(a),
            _ => None,
        });
        return Parsed::Json(ops.unwrap_or_default());
    }
    Parsed::Smp(docs)
}

fn patch_id(p: &Value) -> ResId {
    let r = Resource::new(p.clone());
    r.cur_id()
}

/// Applies one strategic-merge patch document to resource `i`. Returns false
/// when the resource was deleted.
fn apply_smp_to(
    r: &mut Resource,
    patch: &Value,
    allow_name_change: bool,
    allow_kind_change: bool,
    custom: Option<&merge2::CustomSchema>,
) -> Result<bool> {
    let name = r.name().to_string();
    let ns = r.namespace().to_string();
    let kind = r.kind().to_string();
    if allow_name_change || allow_kind_change {
        r.store_previous_id();
    }
    let mut p = patch.clone();
    // The patch takes the resource's group/version (kind kept for allowKindChange).
    if let Value::Object(pm) = &mut p {
        pm.insert(
            "apiVersion".into(),
            Value::String(r.api_version().to_string()),
        );
    }
    let gvk = r.gvk();
    let schema = custom
        .and_then(|c| c.root_for(&gvk))
        .unwrap_or_else(|| merge2::root_for(&gvk));
    match merge2::merge(Some(&r.obj), &p, schema) {
        None => return Ok(false),
        Some(v) => {
            if v.as_object().is_none_or(Map::is_empty) {
                return Ok(false);
            }
            r.obj = v;
            merge2::normalize_walked(&mut r.obj, schema);
        }
    }
    if !allow_kind_change {
        r.set_kind(&kind);
    }
    if !allow_name_change {
        r.set_name(&name);
    }
    r.set_namespace(&ns);
    Ok(true)
}

fn opt_bool(opts: &Map<String, Value>, k: &str) -> bool {
    opts.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// Applies strategic-merge patch documents, by id or to a selection.
pub(crate) fn apply_smp(
    m: &mut ResMap,
    docs: &[Value],
    target: Option<&Selector>,
    options: &Map<String, Value>,
    custom: Option<&merge2::CustomSchema>,
) -> Result<()> {
    let allow_name = opt_bool(options, "allowNameChange");
    let allow_kind = opt_bool(options, "allowKindChange");
    for doc in docs {
        let selected: Vec<usize> = match target {
            None => {
                let id = patch_id(doc);
                let i = m.get_by_id(&id).map_err(|e| {
                    build_err(format!(
                        "{e}; failed to find unique target for patch {}",
                        id.display()
                    ))
                })?;
                vec![i]
            }
            Some(sel) => m.select(sel)?,
        };
        let mut removed = Vec::new();
        for i in selected {
            let before = m.list[i].link_snapshot();
            if !apply_smp_to(&mut m.list[i], doc, allow_name, allow_kind, custom)? {
                removed.push(i);
            } else {
                m.list[i].propagate_links(&before);
            }
        }
        for i in removed.into_iter().rev() {
            m.list.remove(i);
        }
    }
    Ok(())
}

/// Applies JSON 6902 operations to every selected resource.
pub(crate) fn apply_json(
    m: &mut ResMap,
    ops: &[Value],
    target: Option<&Selector>,
    store_prev: bool,
) -> Result<()> {
    let Some(sel) = target else {
        return Err(build_err("must specify a target for JSON patch"));
    };
    for i in m.select(sel)? {
        let r = &mut m.list[i];
        if store_prev {
            r.store_previous_id();
        }
        let mut doc = r.obj.clone();
        crate::untagged::resolve_all(&mut doc);
        json6902(&mut doc, ops)?;
        r.obj = doc;
        r.links.clear();
    }
    Ok(())
}

fn unescape(tok: &str) -> String {
    tok.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(build_err(format!("invalid JSON pointer {path:?}")));
    };
    Ok(rest.split('/').map(unescape).collect())
}

fn get_mut<'a>(doc: &'a mut Value, toks: &[String]) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => {
                let i: usize = t.parse().ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn get<'a>(doc: &'a Value, toks: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Value, toks: &[String], val: Value, path: &str) -> Result<()> {
    let Some((last, parent)) = toks.split_last() else {
        *doc = val;
        return Ok(());
    };
    let missing = || {
        build_err(format!(
            "add operation does not apply: doc is missing path: \"{path}\""
        ))
    };
    match get_mut(doc, parent).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(last.clone(), val);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(val);
                return Ok(());
            }
            let i: usize = last.parse().map_err(|_| missing())?;
            if i > a.len() {
                return Err(build_err(format!(
                    "add operation does not apply: doc is missing path: \"{path}\""
                )));
            }
            a.insert(i, val);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove(doc: &mut Value, toks: &[String], path: &str) -> Result<Value> {
    let missing = || {
        build_err(format!(
            "remove operation does not apply: doc is missing path: \"{path}\""
        ))
    };
    let Some((last, parent)) = toks.split_last() else {
        return Err(missing());
    };
    match get_mut(doc, parent).ok_or_else(missing)? {
        Value::Object(m) => m.shift_remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= a.len() {
                return Err(missing());
            }
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

/// Applies RFC 6902 operations in order.
pub(crate) fn json6902(doc: &mut Value, ops: &[Value]) -> Result<()> {
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let toks = split_pointer(path)?;
        match kind {
            "add" => {
                let v = op.get("value").cloned().unwrap_or(Value::Null);
                add(doc, &toks, v, path)?;
            }
            "remove" => {
                remove(doc, &toks, path)?;
            }
            "replace" => {
                let v = op.get("value").cloned().unwrap_or(Value::Null);
                let slot = get_mut(doc, &toks).ok_or_else(|| {
                    build_err(format!(
                        "replace operation does not apply: doc is missing key: {path}: missing value"
                    ))
                })?;
                *slot = v;
            }
            "move" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or("");
                let v = remove(doc, &split_pointer(from)?, from)?;
                add(doc, &toks, v, path)?;
            }
            "copy" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or("");
                let v = get(doc, &split_pointer(from)?).cloned().ok_or_else(|| {
                    build_err(format!(
                        "copy operation does not apply: doc is missing from path: {from}"
                    ))
                })?;
                add(doc, &toks, v, path)?;
            }
            "test" => {
                let want = op.get("value").cloned().unwrap_or(Value::Null);
                if get(doc, &toks) != Some(&want) {
                    return Err(build_err(format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            other => return Err(build_err(format!("Unexpected kind: {other}"))),
        }
    }
    Ok(())
}

/// Validates a `patches:` entry's shape.
pub(crate) fn check_entry(p: &Patch) -> Result<()> {
    if p.path.is_empty() && p.patch.is_empty() {
        return Err(build_err("must specify one of patch and path"));
    }
    if !p.path.is_empty() && !p.patch.is_empty() {
        return Err(build_err("patch and path can't be set at the same time"));
    }
    Ok(())
}
