//! The ordered list of resources of a build (kustomize's `ResMap`): appending
//! with id-conflict checks, absorbing generator output (create / merge /
//! replace), lookups by current or any previous id, and target selection.

use std::collections::HashSet;

use regex::Regex;
use serde_json::Value;

use crate::error::{Result, build_err};
use crate::kustomization::Selector;
use crate::resource::{Behavior, ResId, Resource};
use crate::selector::LabelSelector;

/// A current id as borrowed parts: group, version, kind, name and the
/// effective namespace (`ResId.Equals` compares exactly these).
type IdKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

fn id_key(r: &Resource) -> IdKey<'_> {
    let (group, version) = r
        .api_version()
        .rsplit_once('/')
        .unwrap_or(("", r.api_version()));
    let kind = r.kind();
    let ns = if crate::scope::is_cluster_scoped(group, kind) {
        "_non_namespaceable_"
    } else if r.namespace().is_empty() {
        "default"
    } else {
        r.namespace()
    };
    (group, version, kind, r.name(), ns)
}

/// Resources in input (depth-first) order.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResMap {
    pub(crate) list: Vec<Resource>,
}

impl ResMap {
    /// Appends, refusing a second resource with the same current id.
    pub(crate) fn append(&mut self, res: Resource) -> Result<()> {
        let id = res.cur_id();
        if self.list.iter().any(|r| r.cur_id_equals(&id)) {
            return Err(build_err(format!(
                "may not add resource with an already registered id: {}",
                id.display()
            )));
        }
        self.list.push(res);
        Ok(())
    }

    /// Appends a batch, refusing any resource whose current id is already
    /// registered (or repeated within the batch). Ids are compared as
    /// borrowed strings (group, version, kind, name, effective namespace),
    /// so checking a large map allocates nothing per resource.
    pub(crate) fn append_all(&mut self, other: Vec<Resource>) -> Result<()> {
        let clash = {
            let mut seen: HashSet<IdKey<'_>> =
                HashSet::with_capacity(self.list.len() + other.len());
            seen.extend(self.list.iter().map(id_key));
            other.iter().position(|r| !seen.insert(id_key(r)))
        };
        if let Some(j) = clash {
            return Err(build_err(format!(
                "may not add resource with an already registered id: {}",
                other[j].cur_id().display()
            )));
        }
        self.list.extend(other);
        Ok(())
    }

    /// Indexes of resources whose current or any previous id matches `f`,
    /// restricted up front to those whose current or a previous name is
    /// `name` (cheap to test).
    pub(crate) fn matching_any_id_named(
        &self,
        name: &str,
        f: impl Fn(&ResId) -> bool,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, r) in self.list.iter().enumerate() {
            if r.name() != name && !r.prev.iter().any(|p| p.1 == name) {
                continue;
            }
            if f(&r.cur_id()) || r.prev_ids().iter().any(&f) {
                out.push(i);
            }
        }
        out
    }

    /// kustomize's `GetById`: exactly one match by any id.
    pub(crate) fn get_by_id(&self, id: &ResId) -> Result<usize> {
        let m = self.matching_any_id_named(&id.name, |x| x.equals(id));
        match m.len() {
            1 => Ok(m[0]),
            0 => Err(build_err(format!("no matches for Id {}", id.display()))),
            _ => Err(build_err(format!(
                "multiple matches for Id {}",
                id.display()
            ))),
        }
    }

    /// Adds generator output with its behaviour (kustomize's `AbsorbAll`).
    pub(crate) fn absorb(&mut self, mut res: Resource) -> Result<()> {
        let id = res.cur_id();
        let matches = self.matching_any_id_named(&id.name, |x| x.equals(&id));
        match matches.len() {
            0 => match res.behavior {
                Behavior::Merge | Behavior::Replace => Err(build_err(format!(
                    "id {} does not exist; cannot merge or replace",
                    id.display()
                ))),
                Behavior::Create => self.append(res),
            },
            1 => {
                let old = &self.list[matches[0]];
                match res.behavior {
                    Behavior::Replace => copy_merge_meta(&mut res, old),
                    Behavior::Merge => {
                        copy_merge_meta(&mut res, old);
                        merge_data(&mut res, old, "data");
                        merge_data(&mut res, old, "binaryData");
                    }
                    Behavior::Create => {
                        return Err(build_err(format!(
                            "id {} exists; behavior must be merge or replace",
                            id.display()
                        )));
                    }
                }
                self.list[matches[0]] = res;
                Ok(())
            }
            _ => Err(build_err(format!(
                "found multiple objects that could accept merge of {}",
                id.display()
            ))),
        }
    }

    /// Resources selected by a patch/replacement target.
    pub(crate) fn select(&self, sel: &Selector) -> Result<Vec<usize>> {
        let name_re = anchored(&sel.name)?;
        let ns_re = anchored(&sel.namespace)?;
        let labels = if sel.label_selector.is_empty() {
            None
        } else {
            Some(LabelSelector::parse(&sel.label_selector)?)
        };
        let anns = if sel.annotation_selector.is_empty() {
            None
        } else {
            Some(LabelSelector::parse(&sel.annotation_selector)?)
        };
        let mut out = Vec::new();
        for (i, r) in self.list.iter().enumerate() {
            let cur = r.cur_id();
            let org = r.org_id();
            let ns_ok = ns_re.as_ref().is_none_or(|re| {
                re.is_match(org.effective_namespace()) || re.is_match(cur.effective_namespace())
            });
            let name_ok = name_re
                .as_ref()
                .is_none_or(|re| re.is_match(&org.name) || re.is_match(&cur.name));
            let g = &cur.gvk;
            let id_ok = ns_ok
                && name_ok
                && (sel.group.is_empty() || sel.group == g.group)
                && (sel.version.is_empty() || sel.version == g.version)
                && (sel.kind.is_empty() || sel.kind == g.kind);
            if !id_ok {
                continue;
            }
            if let Some(ls) = &labels
                && !ls.matches(&r.labels())
            {
                continue;
            }
            if let Some(a) = &anns
                && !a.matches(&r.annotations())
            {
                continue;
            }
            out.push(i);
        }
        Ok(out)
    }
}

fn anchored(pat: &str) -> Result<Option<Regex>> {
    if pat.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pat})$"))
        .map(Some)
        .map_err(|e| build_err(format!("invalid regex {pat:?}: {e}")))
}

/// kustomize's `CopyMergeMetaDataFieldsFrom`: labels and annotations are
/// merged (the new object's win), name, namespace and build metadata come
/// from the old object.
fn copy_merge_meta(res: &mut Resource, old: &Resource) {
    let mut labels = old.labels();
    merge_pairs(&mut labels, res.labels());
    if !labels.is_empty() {
        res.set_string_map("labels", labels);
    }
    let mut anns = old.annotations();
    merge_pairs(&mut anns, res.annotations());
    if !anns.is_empty() {
        res.set_string_map("annotations", anns);
    }
    res.set_name(old.name());
    res.set_namespace(old.namespace());
    res.prev = old.prev.clone();
    res.prefixes = old.prefixes.clone();
    res.suffixes = old.suffixes.clone();
    res.needs_hash = old.needs_hash && res.needs_hash;
    if res.behavior == Behavior::Merge {
        res.origin = old.origin.clone();
    }
    res.transformations = old.transformations.clone();
    res.ref_vars = old.ref_vars.clone();
    res.behavior = old.behavior;
}

fn merge_pairs(base: &mut Vec<(String, String)>, over: Vec<(String, String)>) {
    for (k, v) in over {
        match base.iter_mut().find(|(bk, _)| *bk == k) {
            Some(slot) => slot.1 = v,
            None => base.push((k, v)),
        }
    }
}

fn merge_data(res: &mut Resource, old: &Resource, field: &str) {
    let Some(Value::Object(old_data)) = old.obj.get(field) else {
        return;
    };
    let obj = res.obj.as_object_mut().expect("map");
    let mut merged = old_data.clone();
    if let Some(Value::Object(new_data)) = obj.get(field) {
        for (k, v) in new_data {
            merged.insert(k.clone(), v.clone());
        }
    }
    obj.insert(field.to_string(), Value::Object(merged));
}
