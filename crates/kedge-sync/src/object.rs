//! Object helpers over `serde_json::Value`: the identity of a resource
//! ([`ResourceKey`], group/kind/namespace/name, as Argo CD keys resources, so
//! the version never makes two keys differ) and annotation accessors that
//! read Kedge's annotation and Argo CD's equivalent.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// group/kind/namespace/name of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct ResourceKey {
    /// API group ("" for core).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace ("" for cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceKey {
    /// The key of an object, or None when kind or name is missing.
    pub fn of(obj: &Value) -> Option<ResourceKey> {
        let kind = obj.get("kind")?.as_str()?.to_string();
        let name = obj.pointer("/metadata/name")?.as_str()?.to_string();
        let group = group_of(obj.get("apiVersion").and_then(Value::as_str).unwrap_or(""));
        let namespace = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Some(ResourceKey {
            group,
            kind,
            namespace,
            name,
        })
    }

    /// `group/kind` (`/kind` for the core group is written `kind`).
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}/{}", self.group, self.kind)
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.group, self.kind)?;
        if !self.namespace.is_empty() {
            write!(f, " {}/{}", self.namespace, self.name)
        } else {
            write!(f, " {}", self.name)
        }
    }
}

/// The group of an apiVersion (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((g, _)) => g.to_string(),
        None => String::new(),
    }
}

/// An annotation value.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// The first of several annotations that is set (Kedge's name first).
pub fn annotation_any<'a>(obj: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| annotation(obj, k))
}

/// Sets an annotation, creating the map when needed.
pub fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let ann = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if !ann.is_object() {
        *ann = Value::Object(Default::default());
    }
    ann.as_object_mut()
        .expect("object")
        .insert(key.to_string(), Value::String(value.to_string()));
}

/// The kind of an object.
pub fn kind_of(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}
