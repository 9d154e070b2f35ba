//! One object in a build ([`Resource`]) and its identity ([`ResId`]).
//!
//! The object itself is a `serde_json::Value` map. What kustomize keeps in
//! `internal.config.kubernetes.io/*` build annotations (previous names,
//! name prefixes/suffixes, the generator's hash and merge behaviour) is held
//! here in typed fields instead, so it never leaks into the output and never
//! has to be parsed back from CSV strings.

use serde_json::{Map, Value};

use crate::scope;

/// Group, version and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Gvk {
    /// API group (empty for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl Gvk {
    /// Parses `apiVersion` and `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// The `apiVersion` string.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// True when `selector`'s non-empty fields all equal this GVK's.
    pub(crate) fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    /// True for kinds known to be cluster-scoped.
    pub fn is_cluster_scoped(&self) -> bool {
        scope::is_cluster_scoped(&self.group, &self.kind)
    }

    /// kustomize's `Gvk.String()`: `Kind.version.group` with empty parts dropped.
    pub(crate) fn display(&self) -> String {
        let mut s = self.kind.clone();
        if !self.version.is_empty() {
            s.push('.');
            s.push_str(&self.version);
        }
        if !self.group.is_empty() {
            s.push('.');
            s.push_str(&self.group);
        }
        s
    }

    /// The legacy sort key: `group_version_kind` with `~G`/`~V`/`~K` for empty parts.
    pub(crate) fn sort_string(&self) -> String {
        let g = if self.group.is_empty() {
            "~G"
        } else {
            &self.group
        };
        let v = if self.version.is_empty() {
            "~V"
        } else {
            &self.version
        };
        let k = if self.kind.is_empty() {
            "~K"
        } else {
            &self.kind
        };
        format!("{g}_{v}_{k}")
    }
}

/// The identity of a resource: GVK, name and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResId {
    /// Group, version, kind.
    pub gvk: Gvk,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (may be empty).
    pub namespace: String,
}

impl ResId {
    /// The namespace used for comparisons: `default` for an empty namespace of a
    /// namespaced kind, a sentinel for cluster-scoped kinds.
    pub(crate) fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            "_non_namespaceable_"
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`.
    pub(crate) fn equals(&self, other: &ResId) -> bool {
        self.gvk == other.gvk
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }

    /// kustomize's `IsNsEquals`.
    pub(crate) fn ns_equals(&self, other: &ResId) -> bool {
        self.effective_namespace() == other.effective_namespace()
    }

    /// kustomize's `ResId.String()`, e.g. `Deployment.v1.apps/x.[noNs]`.
    pub(crate) fn display(&self) -> String {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        format!("{}/{}.{}", self.gvk.display(), self.name, ns)
    }
}

/// How a generated resource combines with an existing one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Behavior {
    /// Must not exist yet.
    #[default]
    Create,
    /// Replace the existing object.
    Replace,
    /// Merge data into the existing object.
    Merge,
}

/// One object plus the build-time metadata kustomize tracks for it.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// The object.
    pub(crate) obj: Value,
    /// Earlier (namespace, name, kind) triples, oldest first.
    pub(crate) prev: Vec<(String, String, String)>,
    /// Name prefixes applied, innermost first.
    pub(crate) prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub(crate) suffixes: Vec<String>,
    /// Generated with a content-hash name suffix still to add.
    pub(crate) needs_hash: bool,
    /// Generator behaviour (generated resources only).
    pub(crate) behavior: Behavior,
    /// Where the resource came from (for `buildMetadata: [originAnnotations]`).
    pub(crate) origin: Option<String>,
    /// Vars bound to this object by the kustomization that declared them.
    pub(crate) ref_vars: Vec<String>,
    /// Transformers that ran over it: (kustomization file, plugin kind).
    pub(crate) transformations: Vec<(String, String)>,
    /// Groups of field paths that share one YAML node in kustomize (a label
    /// value created at several places by one transformer). Writing one of
    /// them in place changes all of them, and so it must here.
    pub(crate) links: Vec<Vec<Vec<String>>>,
}

impl Resource {
    pub(crate) fn new(obj: Value) -> Resource {
        Resource {
            obj,
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            origin: None,
            transformations: Vec::new(),
            ref_vars: Vec::new(),
            links: Vec::new(),
        }
    }

    pub(crate) fn map(&self) -> Option<&Map<String, Value>> {
        self.obj.as_object()
    }

    fn str_at(&self, path: &[&str]) -> &str {
        let mut cur = &self.obj;
        for p in path {
            match cur.get(p) {
                Some(v) => cur = v,
                None => return "",
            }
        }
        cur.as_str().unwrap_or("")
    }

    pub(crate) fn name(&self) -> &str {
        self.str_at(&["metadata", "name"])
    }
    pub(crate) fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"])
    }
    pub(crate) fn kind(&self) -> &str {
        self.str_at(&["kind"])
    }
    pub(crate) fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"])
    }

    pub(crate) fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    pub(crate) fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }

    /// Previous ids, oldest first (kustomize's `PrevIds`).
    pub(crate) fn prev_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.prev
            .iter()
            .map(|(ns, name, kind)| ResId {
                gvk: Gvk {
                    kind: kind.clone(),
                    ..gvk.clone()
                },
                name: name.clone(),
                namespace: ns.clone(),
            })
            .collect()
    }

    /// The original id: the first previous id, or the current one.
    pub(crate) fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// True when the current id equals `id` (kustomize's `ResId.Equals`),
    /// without building the current id.
    pub(crate) fn cur_id_equals(&self, id: &ResId) -> bool {
        if self.name() != id.name || self.kind() != id.gvk.kind {
            return false;
        }
        let gvk = self.gvk();
        if gvk != id.gvk {
            return false;
        }
        let ns = self.namespace();
        if ns == id.namespace {
            return true;
        }
        let me = ResId {
            gvk,
            name: String::new(),
            namespace: ns.to_string(),
        };
        me.ns_equals(id)
    }

    /// Records the current id as a previous id (kustomize's `StorePreviousId`).
    pub(crate) fn store_previous_id(&mut self) {
        let id = self.cur_id();
        let ns = id.effective_namespace().to_string();
        self.prev.push((ns, id.name, id.gvk.kind));
    }

    pub(crate) fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = self.obj.as_object_mut().expect("resource is a map");
        let md = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !md.is_object() {
            *md = Value::Object(Map::new());
        }
        md.as_object_mut().expect("metadata is a map")
    }

    pub(crate) fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    pub(crate) fn set_namespace(&mut self, ns: &str) {
        if ns.is_empty() {
            self.metadata_mut().remove("namespace");
        } else {
            self.metadata_mut()
                .insert("namespace".into(), Value::String(ns.to_string()));
        }
    }

    pub(crate) fn set_kind(&mut self, kind: &str) {
        if let Some(o) = self.obj.as_object_mut() {
            o.insert("kind".into(), Value::String(kind.to_string()));
        }
    }

    /// A string map under `metadata` (labels or annotations).
    pub(crate) fn string_map(&self, field: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(Value::Object(m)) = self.obj.get("metadata").and_then(|m| m.get(field)) {
            for (k, v) in m {
                out.push((k.clone(), map_entry_text(v)));
            }
        }
        out
    }

    pub(crate) fn set_string_map(&mut self, field: &str, entries: Vec<(String, String)>) {
        let mut m = Map::new();
        for (k, v) in entries {
            m.insert(k, Value::String(v));
        }
        self.metadata_mut().insert(field.into(), Value::Object(m));
    }

    pub(crate) fn labels(&self) -> Vec<(String, String)> {
        self.string_map("labels")
    }
    pub(crate) fn annotations(&self) -> Vec<(String, String)> {
        self.string_map("annotations")
    }
}

/// The text of a label or annotation value as kyaml reads a string map: the
/// node's scalar value, so a mapping or a sequence (which a replacement
/// can create, e.g. at `metadata.annotations.example.com/x`) reads as "".
pub(crate) fn map_entry_text(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => String::new(),
        other => scalar_text(other),
    }
}

/// The text of a scalar as kustomize would read it from a string map.
pub(crate) fn scalar_text(v: &Value) -> String {
    if let Some(t) = crate::untagged::text(v) {
        return t.to_string();
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The value at a concrete path (object keys, array indexes).
pub(crate) fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(m) => m.get(p)?,
            Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Mutable access to the value at a concrete path.
pub(crate) fn get_path_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(p)?,
            Value::Array(a) => a.get_mut(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

impl Resource {
    /// Values at every linked path, for [`Resource::propagate_links`].
    pub(crate) fn link_snapshot(&self) -> Vec<Vec<Option<Value>>> {
        if self.links.is_empty() {
            return Vec::new();
        }
        self.links
            .iter()
            .map(|g| g.iter().map(|p| get_path(&self.obj, p).cloned()).collect())
            .collect()
    }

    /// After an in-place edit: a linked path whose value changed passes the
    /// new value to the other (still present) paths of its group.
    pub(crate) fn propagate_links(&mut self, before: &[Vec<Option<Value>>]) {
        if self.links.is_empty() {
            return;
        }
        let links = std::mem::take(&mut self.links);
        for (gi, group) in links.iter().enumerate() {
            let mut changed: Option<Value> = None;
            for (pi, p) in group.iter().enumerate() {
                let now = get_path(&self.obj, p);
                let was = before
                    .get(gi)
                    .and_then(|g| g.get(pi))
                    .and_then(|v| v.as_ref());
                if let (Some(n), Some(w)) = (now, was)
                    && n != w
                    && n.is_string()
                {
                    changed = Some(n.clone());
                }
            }
            if let Some(v) = changed {
                for p in group {
                    if let Some(slot) = get_path_mut(&mut self.obj, p) {
                        *slot = v.clone();
                    }
                }
            }
        }
        self.links = links;
    }
}
