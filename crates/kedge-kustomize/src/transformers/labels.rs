//! The label transformer (`commonLabels` and `labels:`): sets each pair on
//! every map the field specs reach, creating maps where a spec says so.
//!
//! kustomize creates one YAML node per label and inserts that same node at
//! every place it adds the label; a later in-place write to one of those
//! places shows up at all of them. Those places are recorded as linked
//! paths on the resource (see [`crate::resource::Resource::links`]).

use serde_json::{Map, Value};

use crate::error::{Result, build_err};
use crate::fieldspec::{CreateKind, FieldSpec, collect_paths, split_path};
use crate::resmap::ResMap;
use crate::resource::{Resource, get_path_mut};

/// Sets `pairs` at every field spec of every resource.
pub(crate) fn set_map_entries(
    m: &mut ResMap,
    pairs: &[(String, String)],
    fss: &[FieldSpec],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in &mut m.list {
        set_on_resource(r, pairs, fss)?;
    }
    Ok(())
}

fn set_on_resource(r: &mut Resource, pairs: &[(String, String)], fss: &[FieldSpec]) -> Result<()> {
    let gvk = r.gvk();
    let mut maps: Vec<Vec<String>> = Vec::new();
    for fs in fss {
        if !gvk.is_selected_by(&fs.gvk) {
            continue;
        }
        let path = split_path(&fs.path);
        let create = if fs.create {
            Some(CreateKind::Map)
        } else {
            None
        };
        let mut found = Vec::new();
        collect_paths(&mut r.obj, &path, create, &mut Vec::new(), &mut found).map_err(|e| {
            build_err(format!(
                "considering field '{}' of object {}: {e}",
                fs.path,
                gvk.display()
            ))
        })?;
        for f in found {
            if !maps.contains(&f) {
                maps.push(f);
            }
        }
    }
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in sorted {
        let before = r.link_snapshot();
        let mut created: Vec<Vec<String>> = Vec::new();
        for mp in &maps {
            let Some(node) = get_path_mut(&mut r.obj, mp) else {
                continue;
            };
            if node.is_null() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else {
                return Err(build_err(format!(
                    "wrong node kind: expected MappingNode at '{}' of {}",
                    mp.join("/"),
                    gvk.display()
                )));
            };
            let existed = map.contains_key(k);
            map.insert(k.clone(), Value::String(v.clone()));
            if !existed {
                let mut p = mp.clone();
                p.push(k.clone());
                created.push(p);
            }
        }
        r.propagate_links(&before);
        if created.len() > 1 {
            r.links.push(created);
        }
    }
    Ok(())
}
