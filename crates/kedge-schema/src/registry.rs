//! The registry of built-in kinds: the merge type model of every definition,
//! the GVK → definition index and the discovery facts.
//!
//! The data is embedded at compile time (`include_str!`) and parsed once, on
//! first use, behind a `LazyLock`; [`Registry::builtin`] hands out the
//! `'static` instance. Parsing and converting the ~700 definitions takes a
//! few milliseconds. The compact definition nodes are kept as JSON too: the
//! OpenAPI documents are rendered from them (see [`crate::openapi`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

use kedge_core::{GroupVersion, GroupVersionKind, GroupVersionResource};

use crate::convert::{Converter, Source};
use crate::discovery::{self, ApiGroupInfo, ResourceInfo};
use crate::types::{Schema, StructType, TypeDef, TypeRef};

/// The Kubernetes release whose API the registry serves.
pub const KUBERNETES_VERSION: &str = "v1.33.0";

const TYPES_JSON: &str = include_str!("../data/types-v1.33.json");
const DISCOVERY_JSON: &str = include_str!("../data/discovery-v1.33.json");

/// A short fingerprint of the embedded data (sizes and a sample of bytes),
/// cheap to compute, for cache keys that must change with the data.
pub(crate) fn data_fingerprint() -> String {
    let sample = |s: &str| -> u64 {
        s.bytes()
            .step_by(97)
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
    };
    format!(
        "{}:{:x}:{}:{:x}",
        TYPES_JSON.len(),
        sample(TYPES_JSON),
        DISCOVERY_JSON.len(),
        sample(DISCOVERY_JSON)
    )
}

/// The built-in schema registry.
#[derive(Debug)]
pub struct Registry {
    schema: Schema,
    definitions: Map<String, Value>,
    kinds: HashMap<GroupVersionKind, String>,
    groups: Vec<ApiGroupInfo>,
    resources: Vec<ResourceInfo>,
}

static BUILTIN: LazyLock<Registry> = LazyLock::new(|| {
    Registry::from_data(TYPES_JSON, DISCOVERY_JSON).expect("embedded schema data is valid")
});

impl Registry {
    /// The registry of Kubernetes 1.33's built-in kinds.
    pub fn builtin() -> &'static Registry {
        &BUILTIN
    }

    fn from_data(types_json: &str, discovery_json: &str) -> Result<Self, String> {
        let mut root: Map<String, Value> =
            serde_json::from_str(types_json).map_err(|e| format!("types data: {e}"))?;
        let definitions = match root.remove("definitions") {
            Some(Value::Object(defs)) => defs,
            _ => return Err("types data: no definitions".into()),
        };
        let converter = Converter {
            source: Source::Builtin,
        };
        let mut types = std::collections::BTreeMap::new();
        let mut kinds = HashMap::new();
        for (name, node) in &definitions {
            let def = converter
                .convert(node, name)
                .map_err(|e| format!("definition {name}: {e}"))?;
            let def = match def {
                TypeRef::Inline(def) => Arc::unwrap_or_clone(def),
                TypeRef::Named(target) => {
                    return Err(format!("definition {name} is only a reference to {target}"));
                }
            };
            types.insert(name.clone(), def);
            for gvk in node
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let g = gvk["group"].as_str().unwrap_or_default();
                let v = gvk["version"].as_str().unwrap_or_default();
                let k = gvk["kind"].as_str().unwrap_or_default();
                // Only definitions that declare exactly one GVK are that
                // kind's schema (DeleteOptions, WatchEvent, … declare many).
                let declared = node["x-kubernetes-group-version-kind"]
                    .as_array()
                    .map_or(0, Vec::len);
                let key = GroupVersionKind::new(g, v, k);
                if declared == 1 || !kinds.contains_key(&key) {
                    kinds.insert(key, name.clone());
                }
            }
        }
        apply_reference_overrides(&definitions, &mut types);
        let (groups, resources) =
            discovery::parse(discovery_json).map_err(|e| format!("discovery data: {e}"))?;
        Ok(Self {
            schema: Schema { types },
            definitions,
            kinds,
            groups,
            resources,
        })
    }

    /// The schema of every built-in definition.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The type of a built-in kind (e.g. `apps/v1 Deployment` →
    /// `io.k8s.api.apps.v1.Deployment`); `None` for unknown kinds.
    pub fn type_for(&self, gvk: &GroupVersionKind) -> Option<TypeRef> {
        self.kinds.get(gvk).map(|name| TypeRef::Named(name.clone()))
    }

    /// The definition name of a built-in kind.
    pub fn definition_name(&self, gvk: &GroupVersionKind) -> Option<&str> {
        self.kinds.get(gvk).map(String::as_str)
    }

    /// Every built-in kind with a schema.
    pub fn kinds(&self) -> impl Iterator<Item = (&GroupVersionKind, &str)> {
        self.kinds.iter().map(|(k, v)| (k, v.as_str()))
    }

    /// The compact OpenAPI node of a definition (no descriptions).
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.definitions.get(name)
    }

    /// All compact definition nodes, by name.
    pub fn definitions(&self) -> &Map<String, Value> {
        &self.definitions
    }

    /// API groups in `/apis` order (the core group, named `""`, first),
    /// versions in preference order.
    pub fn groups(&self) -> &[ApiGroupInfo] {
        &self.groups
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&ApiGroupInfo> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Every served group version, in discovery order.
    pub fn group_versions(&self) -> Vec<GroupVersion> {
        self.groups
            .iter()
            .flat_map(|g| g.versions.iter().map(|v| GroupVersion::new(&g.name, v)))
            .collect()
    }

    /// Every served resource.
    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }

    /// The resources of one group version, in discovery order.
    pub fn resources_in(&self, gv: &GroupVersion) -> impl Iterator<Item = &ResourceInfo> {
        let gv = gv.clone();
        self.resources
            .iter()
            .filter(move |r| r.group == gv.group && r.version == gv.version)
    }

    /// The resource serving a kind.
    pub fn resource_for_kind(&self, gvk: &GroupVersionKind) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == gvk.group && r.version == gvk.version && r.kind == gvk.kind)
    }

    /// The resource at a group/version/resource.
    pub fn resource_for_gvr(&self, gvr: &GroupVersionResource) -> Option<&ResourceInfo> {
        self.resources
            .iter()
            .find(|r| r.group == gvr.group && r.version == gvr.version && r.plural == gvr.resource)
    }

    /// Resources named `name` (plural, singular, short name or kind, optionally
    /// qualified as `NAME.GROUP` or `NAME.VERSION.GROUP`), groups in discovery
    /// order and each group's preferred version first, as kubectl resolves
    /// `kubectl get NAME`.
    pub fn lookup(&self, name: &str) -> Vec<&ResourceInfo> {
        let mut found: Vec<(usize, usize, &ResourceInfo)> = self
            .resources
            .iter()
            .filter(|r| r.matches_name(name))
            .map(|r| {
                let group_index = self
                    .groups
                    .iter()
                    .position(|g| g.name == r.group)
                    .unwrap_or(usize::MAX);
                let version_index = self.groups.get(group_index).map_or(usize::MAX, |g| {
                    g.versions
                        .iter()
                        .position(|v| *v == r.version)
                        .unwrap_or(usize::MAX)
                });
                (version_index, group_index, r)
            })
            .collect();
        found.sort_by_key(|(v, g, _)| (*g, *v));
        found.into_iter().map(|(_, _, r)| r).collect()
    }

    /// The preferred-version resource called `name` (see [`Registry::lookup`]).
    pub fn lookup_preferred(&self, name: &str) -> Option<&ResourceInfo> {
        self.lookup(name).into_iter().next()
    }
}

/// Fields that `$ref` a definition but override its `x-kubernetes-map-type`
/// (e.g. `PersistentVolumeSpec.claimRef`, granular over the atomic
/// `ObjectReference`) get an inline copy of the target with the override.
fn apply_reference_overrides(
    definitions: &Map<String, Value>,
    types: &mut std::collections::BTreeMap<String, TypeDef>,
) {
    let mut overrides = Vec::new();
    for (name, node) in definitions {
        for (field, prop) in node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let (Some(target), Some(map_type)) = (
                prop.get("$ref").and_then(Value::as_str),
                prop.get("x-kubernetes-map-type").and_then(Value::as_str),
            ) else {
                continue;
            };
            overrides.push((
                name.clone(),
                field.clone(),
                target.to_string(),
                map_type == "atomic",
            ));
        }
    }
    for (name, field, target, atomic) in overrides {
        let Some(TypeDef::Struct(target_def)) = types.get(&target) else {
            continue;
        };
        let mut copy: StructType = target_def.clone();
        copy.element_relationship = if atomic {
            crate::types::ElementRelationship::Atomic
        } else {
            crate::types::ElementRelationship::Granular
        };
        if let Some(TypeDef::Struct(owner)) = types.get_mut(&name)
            && let Some(f) = owner.fields.get_mut(&field)
        {
            f.ty = TypeRef::inline(TypeDef::Struct(copy));
        }
    }
}
