//! Name references: after names changed (prefix, suffix, hash, patches),
//! rewrite every field that refers to an object by its old name.
//!
//! For each referrer field (from the `nameReference` configuration), the
//! candidate referrals are sieved the way kustomize does: objects the
//! referrer could see (same namespace, cluster-scoped, or a RoleBinding's
//! subject namespaces), whose previous names include the old name and whose
//! previous ids match the referral GVK (and a `roleRef`'s kind), then by
//! namespace, then by matching name prefixes/suffixes. A unique survivor
//! gives the new name (and, for `{name, namespace}` maps, the namespace).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::error::{Result, build_err};
use crate::fieldspec::{self, FieldSpec, NameBackRef, split_path};
use crate::resmap::ResMap;
use crate::resource::{Gvk, ResId, Resource};

struct Cand {
    cur: ResId,
    cur_ns: String,
    cluster: bool,
    org: ResId,
    prev: Vec<ResId>,
    name: String,
    namespace: String,
    kind: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Cand {
    fn of(r: &Resource) -> Cand {
        let cur = r.cur_id();
        Cand {
            cur_ns: cur.effective_namespace().to_string(),
            cluster: cur.gvk.is_cluster_scoped(),
            cur,
            org: r.org_id(),
            prev: r.prev_ids(),
            name: r.name().to_string(),
            namespace: r.namespace().to_string(),
            kind: r.kind().to_string(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }
}

struct Referrer {
    cur: ResId,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    role_ref: Option<Gvk>,
    rb_namespaces: HashSet<String>,
}

fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() > b.len() { (b, a) } else { (a, b) };
    let diff = long.len() - short.len();
    if short.is_empty() {
        return diff == 0;
    }
    (0..short.len()).all(|i| long[i + diff] == short[i])
}

fn ps_equal(c: &Cand, r: &Referrer, allow_empty: bool) -> bool {
    if allow_empty {
        let pe = c.prefixes.is_empty() || r.prefixes.is_empty();
        let se = c.suffixes.is_empty() || r.suffixes.is_empty();
        (pe || same_ending(&c.prefixes, &r.prefixes))
            && (se || same_ending(&c.suffixes, &r.suffixes))
    } else {
        same_ending(&c.prefixes, &r.prefixes) && same_ending(&c.suffixes, &r.suffixes)
    }
}

struct Ctx<'a> {
    cands: &'a [Cand],
    by_prev_name: &'a HashMap<String, Vec<usize>>,
    is_visible: &'a [bool],
    visible: &'a [usize],
    referrer: &'a Referrer,
    target: &'a Gvk,
    role_ref_path: bool,
}

impl Ctx<'_> {
    fn select(&self, old: &str, pool: Option<&[usize]>) -> Result<Option<usize>> {
        let c = self.cands;
        let Some(named) = self.by_prev_name.get(old) else {
            return Ok(None);
        };
        let mut v: Vec<usize> = named
            .iter()
            .copied()
            .filter(|&i| match pool {
                None => self.is_visible[i],
                Some(p) => p.contains(&i),
            })
            .filter(|&i| {
                c[i].prev
                    .iter()
                    .any(|id| id.gvk.is_selected_by(self.target))
            })
            .collect();
        if self.role_ref_path
            && let Some(g) = &self.referrer.role_ref
        {
            v.retain(|&i| c[i].prev.iter().any(|id| id.gvk.is_selected_by(g)));
        }
        let rc = &self.referrer.cur;
        if !rc.gvk.is_cluster_scoped() {
            v.retain(|&i| {
                c[i].cur.gvk.is_cluster_scoped()
                    || c[i].kind == "ServiceAccount"
                    || rc.ns_equals(&c[i].cur)
            });
        }
        if v.len() == 1 {
            return Ok(Some(v[0]));
        }
        v.retain(|&i| ps_equal(&c[i], self.referrer, true));
        if v.len() == 1 {
            return Ok(Some(v[0]));
        }
        v.retain(|&i| ps_equal(&c[i], self.referrer, false));
        if v.len() == 1 {
            return Ok(Some(v[0]));
        }
        if v.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = v.iter().map(|&i| c[i].cur.display()).collect();
        Err(build_err(format!(
            "found multiple possible referrals: [{}]",
            ids.join(" ")
        )))
    }

    fn set_scalar(&self, node: &mut Value) -> Result<()> {
        let Value::String(old) = node else {
            return Ok(());
        };
        if let Some(i) = self.select(old, None)?
            && self.cands[i].name != *old
        {
            *node = Value::String(self.cands[i].name.clone());
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<()> {
        let Value::Object(m) = node else {
            return Ok(());
        };
        let Some(name) = m.get("name") else {
            return Err(build_err("path config error; no 'name' field in node"));
        };
        let Value::String(old) = name else {
            return Ok(());
        };
        let old = old.clone();
        if matches!(m.get("namespace"), Some(Value::Null))
            || m.get("namespace").and_then(Value::as_str) == Some("")
        {
            return Err(build_err(format!(
                "Invalid Input: namespace is blank for resource {:?}",
                self.referrer.cur.display()
            )));
        }
        let pool: Option<Vec<usize>> = match m.get("namespace").and_then(Value::as_str) {
            None => None,
            Some(ns) => {
                let by_org: Vec<usize> = self
                    .visible
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let e = self.cands[i].org.effective_namespace();
                        e != "_non_namespaceable_" && e == ns
                    })
                    .collect();
                Some(if !by_org.is_empty() {
                    by_org
                } else {
                    self.visible
                        .iter()
                        .copied()
                        .filter(|&i| {
                            let e = self.cands[i].cur.effective_namespace();
                            e != "_non_namespaceable_" && e == ns
                        })
                        .collect()
                })
            }
        };
        let Some(i) = self.select(&old, pool.as_deref())? else {
            return Ok(());
        };
        let c = &self.cands[i];
        if c.name == old && c.namespace.is_empty() {
            return Ok(());
        }
        m.insert("name".into(), Value::String(c.name.clone()));
        if !c.namespace.is_empty() {
            m.insert("namespace".into(), Value::String(c.namespace.clone()));
        }
        Ok(())
    }

    fn set(&self, node: &mut Value) -> Result<()> {
        match node {
            Value::Null => Ok(()),
            Value::String(_) => self.set_scalar(node),
            Value::Object(_) => self.set_mapping(node),
            Value::Array(items) => {
                for it in items {
                    match it {
                        Value::String(_) => self.set_scalar(it)?,
                        Value::Object(_) => self.set_mapping(it)?,
                        _ => {}
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn role_ref_gvk(r: &Resource) -> Option<Gvk> {
    let rr = r.obj.get("roleRef")?;
    let g = rr.get("apiGroup").and_then(Value::as_str)?;
    let k = rr.get("kind").and_then(Value::as_str)?;
    Some(Gvk {
        group: g.to_string(),
        version: String::new(),
        kind: k.to_string(),
    })
}

fn rb_namespaces(r: &Resource) -> HashSet<String> {
    let mut out = HashSet::new();
    if r.kind() != "RoleBinding" {
        return out;
    }
    if let Some(Value::Array(subjects)) = r.obj.get("subjects") {
        for s in subjects {
            if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && let Some(ns) = s.get("namespace").and_then(Value::as_str)
            {
                out.insert(ns.to_string());
            }
        }
    }
    out
}

/// Fixes every name reference in the build.
pub(crate) fn run(m: &mut ResMap, backrefs: &[NameBackRef]) -> Result<()> {
    let cands: Vec<Cand> = m.list.iter().map(Cand::of).collect();
    let mut by_prev_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in cands.iter().enumerate() {
        let mut names: Vec<&str> = c.prev.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            by_prev_name.entry(n.to_string()).or_default().push(i);
        }
    }
    for ri in 0..m.list.len() {
        let gvk = m.list[ri].gvk();
        let mut todo: Vec<(&Gvk, &FieldSpec)> = Vec::new();
        for b in backrefs {
            for fs in &b.field_specs {
                if gvk.is_selected_by(&fs.gvk) {
                    todo.push((&b.gvk, fs));
                }
            }
        }
        if todo.is_empty() {
            continue;
        }
        let r = &m.list[ri];
        let referrer = Referrer {
            cur: r.cur_id(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            role_ref: role_ref_gvk(r),
            rb_namespaces: rb_namespaces(r),
        };
        let visible: Vec<usize> = if referrer.cur.gvk.is_cluster_scoped() {
            (0..cands.len()).collect()
        } else {
            let rns = referrer.cur.effective_namespace().to_string();
            (0..cands.len())
                .filter(|&i| {
                    let c = &cands[i];
                    c.cluster
                        || c.cur_ns == rns
                        || (!referrer.rb_namespaces.is_empty()
                            && referrer.rb_namespaces.contains(&c.namespace))
                })
                .collect()
        };
        let mut is_visible = vec![false; cands.len()];
        for &i in &visible {
            is_visible[i] = true;
        }
        for (target, fs) in todo {
            let ctx = Ctx {
                cands: &cands,
                by_prev_name: &by_prev_name,
                is_visible: &is_visible,
                visible: &visible,
                referrer: &referrer,
                target,
                role_ref_path: fs.path.ends_with("roleRef/name"),
            };
            let path = split_path(&fs.path);
            let mut set = |v: &mut Value| ctx.set(v);
            fieldspec::walk(&mut m.list[ri].obj, &path, None, &mut set).map_err(|e| {
                build_err(format!(
                    "updating name reference in '{}' field of '{}': {e}",
                    fs.path,
                    referrer.cur.display()
                ))
            })?;
        }
    }
    Ok(())
}
