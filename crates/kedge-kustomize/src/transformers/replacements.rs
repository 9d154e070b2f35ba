//! Replacements: copy a value from one field of a source object into fields
//! of target objects.
//!
//! Paths are dot-separated with `[key=value]` list selectors (a dot inside
//! brackets does not split). A scalar target keeps its type and only takes
//! the value's text; a created field (or a non-scalar target) takes the
//! value as it is, with a created scalar typed from its text. Delimiter
//! options split a source value or splice into a target value.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Result, build_err};
use crate::resmap::ResMap;
use crate::resource::{Gvk, ResId, Resource, scalar_text};
use crate::selector::LabelSelector;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Options {
    delimiter: String,
    index: i64,
    create: bool,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Sel {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    label_selector: String,
    annotation_selector: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Source {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    field_path: String,
    options: Option<Options>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Target {
    select: Option<Sel>,
    reject: Vec<Sel>,
    field_paths: Vec<String>,
    options: Option<Options>,
}

/// One replacement.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Replacement {
    source: Option<Source>,
    targets: Vec<Target>,
}

impl Replacement {
    pub(crate) fn from_value(v: &Value) -> Result<Replacement> {
        serde_json::from_value(v.clone())
            .map_err(|e| build_err(format!("invalid replacement: {e}")))
    }
}

fn gvk_of(group: &str, version: &str, kind: &str) -> Gvk {
    Gvk {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
    }
}

/// kustomize's `ResId.IsSelectedBy` (exact matching).
fn selected_by(id: &ResId, gvk: &Gvk, name: &str, namespace: &str) -> bool {
    (name.is_empty() || name == id.name)
        && (namespace.is_empty()
            || ResId {
                gvk: id.gvk.clone(),
                name: String::new(),
                namespace: namespace.to_string(),
            }
            .ns_equals(id))
        && id.gvk.is_selected_by(gvk)
}

fn ids(r: &Resource) -> Vec<ResId> {
    let mut v = vec![r.cur_id()];
    v.extend(r.prev_ids());
    v
}

/// Splits a replacement path on dots outside brackets.
pub(crate) fn split_dots(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn bracket(part: &str) -> Option<(&str, &str)> {
    let inner = part.strip_prefix('[')?.strip_suffix(']')?;
    inner.split_once('=')
}

/// Looks a path up (no creation).
pub(crate) fn lookup<'a>(node: &'a Value, parts: &[String]) -> Option<&'a Value> {
    let mut cur = node;
    for p in parts {
        cur = match bracket(p) {
            Some((k, v)) => {
                let items = cur.as_array()?;
                if k.is_empty() {
                    items.iter().find(|it| scalar_text(it) == v)?
                } else {
                    items
                        .iter()
                        .find(|it| it.get(k).map(scalar_text).as_deref() == Some(v))?
                }
            }
            None => match cur {
                Value::Object(m) => m.get(p.as_str())?,
                Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
                _ => return None,
            },
        };
    }
    Some(cur)
}

/// Collects the nodes at `parts`, creating missing ones when `create`.
/// Created leaf nodes are marked by returning `true` alongside.
fn find_targets<'a>(
    node: &'a mut Value,
    parts: &[String],
    create: bool,
    out: &mut Vec<(&'a mut Value, bool)>,
    created: bool,
) -> Result<()> {
    let Some((p, rest)) = parts.split_first() else {
        out.push((node, created));
        return Ok(());
    };
    let next_is_seq = rest.first().is_some_and(|n| bracket(n).is_some());
    if let Some((k, v)) = bracket(p) {
        if node.is_null() && create {
            *node = Value::Array(Vec::new());
        }
        let Value::Array(items) = node else {
            return Ok(());
        };
        let matching: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| {
                if k.is_empty() {
                    scalar_text(it) == v
                } else {
                    it.get(k).map(scalar_text).as_deref() == Some(v)
                }
            })
            .map(|(i, _)| i)
            .collect();
        if matching.is_empty() {
            if !create || k.is_empty() {
                return Ok(());
            }
            let mut m = Map::new();
            m.insert(k.to_string(), Value::String(v.to_string()));
            items.push(Value::Object(m));
            let last = items.last_mut().expect("pushed");
            return find_targets(last, rest, create, out, true);
        }
        let mut rest_items: Vec<&'a mut Value> = Vec::new();
        for (i, it) in items.iter_mut().enumerate() {
            if matching.contains(&i) {
                rest_items.push(it);
            }
        }
        for it in rest_items {
            find_targets(it, rest, create, out, created)?;
        }
        return Ok(());
    }
    if p == "*" {
        match node {
            Value::Array(items) => {
                for it in items.iter_mut() {
                    find_targets(it, rest, create, out, created)?;
                }
            }
            Value::Object(m) => {
                for (_, it) in m.iter_mut() {
                    find_targets(it, rest, create, out, created)?;
                }
            }
            _ => {}
        }
        return Ok(());
    }
    if node.is_null() && create {
        *node = Value::Object(Map::new());
    }
    match node {
        Value::Object(m) => {
            let mut was_created = created;
            if !m.contains_key(p.as_str()) {
                if !create {
                    return Ok(());
                }
                let v = if rest.is_empty() {
                    Value::Null
                } else if next_is_seq {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                };
                m.insert(p.clone(), v);
                was_created = true;
            }
            let child = m.get_mut(p.as_str()).expect("present");
            find_targets(child, rest, create, out, was_created)
        }
        Value::Array(items) => match p.parse::<usize>() {
            Ok(i) => match items.get_mut(i) {
                Some(it) => find_targets(it, rest, create, out, created),
                None => Ok(()),
            },
            Err(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

fn set_field(
    opts: Option<&Options>,
    target: &mut Value,
    created: bool,
    value: &Value,
) -> Result<()> {
    let mut value = value.clone();
    if let Some(o) = opts.filter(|o| !o.delimiter.is_empty()) {
        if !is_scalar(target) {
            return Err(build_err(
                "delimiter option can only be used with scalar nodes",
            ));
        }
        let cur = if target.is_null() && created {
            String::new()
        } else {
            scalar_text(target)
        };
        let mut parts: Vec<String> = cur.split(o.delimiter.as_str()).map(String::from).collect();
        let v = scalar_text(&value);
        if o.index < 0 {
            parts.insert(0, v);
        } else if o.index as usize >= parts.len() {
            parts.push(v);
        } else {
            parts[o.index as usize] = v;
        }
        value = Value::String(parts.join(&o.delimiter));
    }
    if created && target.is_null() && is_scalar(&value) {
        *target = crate::untagged::make(&scalar_text(&value));
        return Ok(());
    }
    if is_scalar(target) && !created {
        let text = scalar_text(&value);
        *target = match target {
            Value::String(_) if crate::untagged::text(target).is_some() => {
                crate::untagged::make(&text)
            }
            Value::String(_) => Value::String(text),
            _ => crate::untagged::typed(&text),
        };
    } else {
        *target = value;
    }
    Ok(())
}

fn id_matches(id: &ResId, s: &Sel) -> Result<bool> {
    let gvk = gvk_of(&s.group, &s.version, &s.kind);
    Ok(selected_by(id, &gvk, &s.name, &s.namespace))
}

fn meta_matches(r: &Resource, s: &Sel) -> Result<bool> {
    if !s.label_selector.is_empty()
        && !LabelSelector::parse(&s.label_selector)?.matches(&r.labels())
    {
        return Ok(false);
    }
    if !s.annotation_selector.is_empty()
        && !LabelSelector::parse(&s.annotation_selector)?.matches(&r.annotations())
    {
        return Ok(false);
    }
    Ok(true)
}

/// kustomize's target test: some id of the object is selected (names
/// match exactly) and no id of it is rejected.
fn is_target(r: &Resource, select: &Sel, reject: &[Sel]) -> Result<bool> {
    if !meta_matches(r, select)? {
        return Ok(false);
    }
    let all = ids(r);
    let mut selected = false;
    for id in &all {
        if id_matches(id, select)? {
            selected = true;
            break;
        }
    }
    if !selected {
        return Ok(false);
    }
    for rj in reject {
        let has_id = !(rj.group.is_empty()
            && rj.version.is_empty()
            && rj.kind.is_empty()
            && rj.name.is_empty()
            && rj.namespace.is_empty());
        if has_id {
            for id in &all {
                if id_matches(id, rj)? {
                    return Ok(false);
                }
            }
        } else if (!rj.label_selector.is_empty() || !rj.annotation_selector.is_empty())
            && meta_matches(r, rj)?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Applies replacements in order.
pub(crate) fn run(m: &mut ResMap, reps: &[Replacement]) -> Result<()> {
    for rep in reps {
        let Some(src) = &rep.source else {
            return Err(build_err(
                "replacements must specify a source and at least one target",
            ));
        };
        let gvk = gvk_of(&src.group, &src.version, &src.kind);
        let mut found: Option<usize> = None;
        for (i, r) in m.list.iter().enumerate() {
            if ids(r)
                .iter()
                .any(|id| selected_by(id, &gvk, &src.name, &src.namespace))
            {
                if found.is_some() {
                    return Err(build_err(format!(
                        "more than one match for source {}",
                        gvk.display()
                    )));
                }
                found = Some(i);
            }
        }
        let Some(si) = found else {
            return Err(build_err(format!(
                "nothing selected by {}/{}",
                gvk.display(),
                src.name
            )));
        };
        let fp = if src.field_path.is_empty() {
            "metadata.name"
        } else {
            &src.field_path
        };
        let value = lookup(&m.list[si].obj, &split_dots(fp))
            .filter(|v| !v.is_null())
            .cloned()
            .ok_or_else(|| {
                build_err(format!(
                    "fieldPath `{fp}` is missing for replacement source {}",
                    m.list[si].cur_id().display()
                ))
            })?;
        let value = match &src.options {
            Some(o) if !o.delimiter.is_empty() => {
                let text = scalar_text(&value);
                let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
                if o.index < 0 || o.index as usize >= parts.len() {
                    return Err(build_err(format!(
                        "options.index {} is out of bounds for value {text}",
                        o.index
                    )));
                }
                Value::String(parts[o.index as usize].to_string())
            }
            _ => value,
        };
        for t in &rep.targets {
            let Some(sel) = &t.select else {
                return Err(build_err("target must specify resources to select"));
            };
            let paths: Vec<String> = if t.field_paths.is_empty() {
                vec!["metadata.name".into()]
            } else {
                t.field_paths.clone()
            };
            for i in 0..m.list.len() {
                if !is_target(&m.list[i], sel, &t.reject)? {
                    continue;
                }
                let create = t.options.as_ref().is_some_and(|o| o.create);
                for fp in &paths {
                    let parts = split_dots(fp);
                    let before = m.list[i].link_snapshot();
                    let mut targets = Vec::new();
                    find_targets(&mut m.list[i].obj, &parts, create, &mut targets, false)?;
                    if targets.is_empty() {
                        return Err(build_err(if create {
                            format!("unable to find or create field {fp:?} in replacement target")
                        } else {
                            format!("unable to find field {fp:?} in replacement target")
                        }));
                    }
                    for (node, created) in targets {
                        set_field(t.options.as_ref(), node, created, &value)?;
                    }
                    m.list[i].propagate_links(&before);
                }
            }
        }
    }
    Ok(())
}
