//! Vars (deprecated): `$(NAME)` references in the var-reference fields are
//! replaced by values read from objects, once, at the end of the build.

use serde_json::Value;

use crate::error::{Result, build_err};
use crate::fieldspec::{self, CreateKind, FieldSpec};
use crate::kustomization::Var;
use crate::resmap::ResMap;
use crate::resource::{Gvk, scalar_text};

use super::replacements::{lookup, split_dots};

fn expand_value(s: &str, vals: &[(String, Value)]) -> Value {
    if let Some(name) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
        && let Some((_, v)) = vals.iter().find(|(n, _)| n == name)
        && !v.is_string()
    {
        return v.clone();
    }
    Value::String(expand(s, vals))
}

fn expand(s: &str, vals: &[(String, Value)]) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            if b[i + 1] == b'$' {
                out.push('$');
                i += 2;
                continue;
            }
            if b[i + 1] == b'('
                && let Some(end) = s[i + 2..].find(')')
            {
                let name = &s[i + 2..i + 2 + end];
                if let Some((_, v)) = vals.iter().find(|(n, _)| n == name) {
                    out.push_str(&scalar_text(v));
                    i += 3 + end;
                    continue;
                }
            }
        }
        let ch = s[i..].chars().next().expect("char");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn target_gvk(t: &crate::kustomization::VarTarget) -> Gvk {
    let (group, version) = if !t.api_version.is_empty() {
        match t.api_version.rsplit_once('/') {
            Some((g, ver)) => (g.to_string(), ver.to_string()),
            None => (String::new(), t.api_version.clone()),
        }
    } else {
        (t.group.clone(), t.version.clone())
    };
    Gvk {
        group,
        version,
        kind: t.kind.clone(),
    }
}

/// Binds each var a kustomization declares to the one object it names
/// among that kustomization's objects (kustomize's `MergeVars`).
pub(crate) fn bind(m: &mut ResMap, vars: &[Var]) -> Result<()> {
    for v in vars {
        let t = &v.obj_ref;
        let gvk = target_gvk(t);
        let want = crate::resource::ResId {
            gvk: gvk.clone(),
            name: t.name.clone(),
            namespace: t.namespace.clone(),
        };
        let idx = m.matching_any_id_named(&t.name, |id| {
            id.gvk.is_selected_by(&gvk) && (t.namespace.is_empty() || id.ns_equals(&want))
        });
        if idx.len() > 1 {
            return Err(build_err(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                idx.len(),
                v.name
            )));
        }
        if let Some(&i) = idx.first() {
            m.list[i].ref_vars.push(v.name.clone());
        }
    }
    Ok(())
}

/// Resolves vars into the var-reference fields of every resource.
pub(crate) fn run(m: &mut ResMap, vars: &[Var], fss: &[FieldSpec]) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut vals = Vec::new();
    for v in vars {
        let idx: Vec<usize> = m
            .list
            .iter()
            .enumerate()
            .filter(|(_, r)| r.ref_vars.contains(&v.name))
            .map(|(i, _)| i)
            .collect();
        if idx.is_empty() {
            return Err(build_err(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.name
            )));
        }
        let fp = if v.field_ref.field_path.is_empty() {
            "metadata.name".to_string()
        } else {
            v.field_ref.field_path.clone()
        };
        let parts: Vec<String> = split_dots(&fp)
            .into_iter()
            .flat_map(|p| match p.find('[') {
                Some(i) if p.ends_with(']') && !p.starts_with('[') => {
                    vec![p[..i].to_string(), p[i + 1..p.len() - 1].to_string()]
                }
                _ => vec![p],
            })
            .collect();
        let val = lookup(&m.list[idx[0]].obj, &parts)
            .cloned()
            .ok_or_else(|| build_err(format!("field specified in var '{}' not found", v.name)))?;
        vals.push((v.name.clone(), val));
    }
    for r in &mut m.list {
        let gvk = r.gvk();
        for fs in fss {
            let mut set = |node: &mut Value| -> Result<()> {
                match node {
                    Value::String(s) => *node = expand_value(s, &vals),
                    Value::Array(items) => {
                        for it in items {
                            if let Value::String(s) = it {
                                *it = expand_value(s, &vals);
                            }
                        }
                    }
                    Value::Object(map) => {
                        for (_, it) in map.iter_mut() {
                            if let Value::String(s) = it {
                                *it = expand_value(s, &vals);
                            }
                        }
                    }
                    _ => {}
                }
                Ok(())
            };
            let fs = FieldSpec {
                create: false,
                ..fs.clone()
            };
            fieldspec::apply(&mut r.obj, &gvk, &fs, CreateKind::Scalar, &mut set)?;
        }
    }
    Ok(())
}
