//! Dynamic Kubernetes objects over `serde_json`.
//!
//! Kedge keeps objects as plain JSON (`serde_json::Value` / `Map`, key order
//! preserved through the workspace's `preserve_order` feature) so that
//! unknown fields, custom resources and byte-stable output come for free.
//! [`ObjectExt`] adds typed accessors for `apiVersion`, `kind` and the
//! `metadata` fields every object carries, plus setters that create
//! `metadata` on demand. Getters never allocate and return `None` for absent
//! or mistyped fields; setters on a `Value` that is not an object first turn
//! it into an empty object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::gvk::{GroupVersionKind, ObjectKey};

/// `metadata.ownerReferences[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// API version of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner.
    pub uid: String,
    /// True when the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// True when foreground deletion of the owner waits for this dependent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

fn str_field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// Typed accessors over a dynamic object. Implemented for
/// `serde_json::Map<String, Value>` and `serde_json::Value`.
pub trait ObjectExt {
    /// The object as a map, if it is one.
    fn as_object_map(&self) -> Option<&Map<String, Value>>;
    /// The object as a mutable map, turning a non-object into `{}` first.
    fn as_object_map_mut(&mut self) -> &mut Map<String, Value>;

    /// `apiVersion`.
    fn api_version(&self) -> Option<&str> {
        self.as_object_map()
            .and_then(|m| str_field(m, "apiVersion"))
    }
    /// `kind`.
    fn kind(&self) -> Option<&str> {
        self.as_object_map().and_then(|m| str_field(m, "kind"))
    }
    /// The GVK from `apiVersion` and `kind`; `None` when either is missing
    /// or the `apiVersion` does not parse.
    fn gvk(&self) -> Option<GroupVersionKind> {
        GroupVersionKind::from_api_version_kind(self.api_version()?, self.kind()?).ok()
    }
    /// The object's identity (kind, namespace, name); `None` without a GVK.
    fn object_key(&self) -> Option<ObjectKey> {
        Some(ObjectKey::new(
            self.gvk()?,
            self.namespace().unwrap_or(""),
            self.name().unwrap_or(""),
        ))
    }
    /// `metadata`, if present and an object.
    fn metadata(&self) -> Option<&Map<String, Value>> {
        self.as_object_map()
            .and_then(|m| m.get("metadata"))
            .and_then(Value::as_object)
    }
    /// A string field of `metadata`.
    fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata().and_then(|m| str_field(m, key))
    }
    /// `metadata.name`.
    fn name(&self) -> Option<&str> {
        self.metadata_str("name")
    }
    /// `metadata.generateName`.
    fn generate_name(&self) -> Option<&str> {
        self.metadata_str("generateName")
    }
    /// `metadata.namespace`.
    fn namespace(&self) -> Option<&str> {
        self.metadata_str("namespace")
    }
    /// `metadata.uid`.
    fn uid(&self) -> Option<&str> {
        self.metadata_str("uid")
    }
    /// `metadata.resourceVersion`.
    fn resource_version(&self) -> Option<&str> {
        self.metadata_str("resourceVersion")
    }
    /// `metadata.generation`.
    fn generation(&self) -> Option<i64> {
        self.metadata()
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64)
    }
    /// `metadata.creationTimestamp`.
    fn creation_timestamp(&self) -> Option<&str> {
        self.metadata_str("creationTimestamp")
    }
    /// `metadata.deletionTimestamp`.
    fn deletion_timestamp(&self) -> Option<&str> {
        self.metadata_str("deletionTimestamp")
    }
    /// `metadata.labels` (an empty map when absent).
    fn labels(&self) -> &Map<String, Value> {
        self.metadata()
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| empty_map())
    }
    /// One label.
    fn label(&self, key: &str) -> Option<&str> {
        self.labels().get(key).and_then(Value::as_str)
    }
    /// `metadata.annotations` (an empty map when absent).
    fn annotations(&self) -> &Map<String, Value> {
        self.metadata()
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| empty_map())
    }
    /// One annotation.
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations().get(key).and_then(Value::as_str)
    }
    /// `metadata.finalizers` (string items only).
    fn finalizers(&self) -> Vec<&str> {
        self.metadata()
            .and_then(|m| m.get("finalizers"))
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
    /// `metadata.ownerReferences` (items that do not parse are skipped).
    fn owner_references(&self) -> Vec<OwnerReference> {
        self.metadata()
            .and_then(|m| m.get("ownerReferences"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| serde_json::from_value(item.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
    /// `metadata.managedFields` entries (empty when absent).
    fn managed_fields(&self) -> &[Value] {
        self.metadata()
            .and_then(|m| m.get("managedFields"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    /// `metadata.deletionGracePeriodSeconds`.
    fn deletion_grace_period_seconds(&self) -> Option<i64> {
        self.metadata()
            .and_then(|m| m.get("deletionGracePeriodSeconds"))
            .and_then(Value::as_i64)
    }
    /// The owner reference with `controller: true`, if any.
    fn controller_reference(&self) -> Option<OwnerReference> {
        self.owner_references()
            .into_iter()
            .find(|r| r.controller == Some(true))
    }

    /// `metadata`, created as `{}` when absent or not an object.
    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let map = self.as_object_map_mut();
        let entry = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        entry
            .as_object_mut()
            .expect("metadata was just made an object")
    }
    /// `metadata.labels`, created when absent.
    fn labels_mut(&mut self) -> &mut Map<String, Value> {
        child_map_mut(self.metadata_mut(), "labels")
    }
    /// `metadata.annotations`, created when absent.
    fn annotations_mut(&mut self) -> &mut Map<String, Value> {
        child_map_mut(self.metadata_mut(), "annotations")
    }
    /// Sets `apiVersion`.
    fn set_api_version(&mut self, api_version: &str) {
        self.as_object_map_mut()
            .insert("apiVersion".into(), Value::String(api_version.into()));
    }
    /// Sets `kind`.
    fn set_kind(&mut self, kind: &str) {
        self.as_object_map_mut()
            .insert("kind".into(), Value::String(kind.into()));
    }
    /// Sets `apiVersion` and `kind`.
    fn set_gvk(&mut self, gvk: &GroupVersionKind) {
        self.set_api_version(&gvk.api_version());
        self.set_kind(&gvk.kind);
    }
    /// Sets a string field of `metadata`; `None` removes it.
    fn set_metadata_str(&mut self, key: &str, value: Option<&str>) {
        let meta = self.metadata_mut();
        match value {
            Some(v) => {
                meta.insert(key.into(), Value::String(v.into()));
            }
            None => {
                meta.shift_remove(key);
            }
        }
    }
    /// Sets `metadata.name`.
    fn set_name(&mut self, name: &str) {
        self.set_metadata_str("name", Some(name));
    }
    /// Sets or removes `metadata.generateName`.
    fn set_generate_name(&mut self, generate_name: Option<&str>) {
        self.set_metadata_str("generateName", generate_name);
    }
    /// Sets or removes `metadata.namespace`.
    fn set_namespace(&mut self, namespace: Option<&str>) {
        self.set_metadata_str("namespace", namespace);
    }
    /// Sets or removes `metadata.uid`.
    fn set_uid(&mut self, uid: Option<&str>) {
        self.set_metadata_str("uid", uid);
    }
    /// Sets or removes `metadata.resourceVersion`.
    fn set_resource_version(&mut self, resource_version: Option<&str>) {
        self.set_metadata_str("resourceVersion", resource_version);
    }
    /// Sets or removes `metadata.creationTimestamp`.
    fn set_creation_timestamp(&mut self, timestamp: Option<&str>) {
        self.set_metadata_str("creationTimestamp", timestamp);
    }
    /// Sets or removes `metadata.deletionTimestamp`.
    fn set_deletion_timestamp(&mut self, timestamp: Option<&str>) {
        self.set_metadata_str("deletionTimestamp", timestamp);
    }
    /// Sets or removes `metadata.generation`.
    fn set_generation(&mut self, generation: Option<i64>) {
        let meta = self.metadata_mut();
        match generation {
            Some(g) => {
                meta.insert("generation".into(), Value::from(g));
            }
            None => {
                meta.shift_remove("generation");
            }
        }
    }
    /// Sets one label.
    fn set_label(&mut self, key: &str, value: &str) {
        self.labels_mut()
            .insert(key.into(), Value::String(value.into()));
    }
    /// Removes one label (and an emptied `labels` map); returns the old value.
    fn remove_label(&mut self, key: &str) -> Option<Value> {
        remove_child_key(self.metadata_mut(), "labels", key)
    }
    /// Sets one annotation.
    fn set_annotation(&mut self, key: &str, value: &str) {
        self.annotations_mut()
            .insert(key.into(), Value::String(value.into()));
    }
    /// Removes one annotation (and an emptied `annotations` map); returns the old value.
    fn remove_annotation(&mut self, key: &str) -> Option<Value> {
        remove_child_key(self.metadata_mut(), "annotations", key)
    }
    /// Replaces `metadata.finalizers`; an empty list removes the field.
    fn set_finalizers(&mut self, finalizers: &[&str]) {
        let meta = self.metadata_mut();
        if finalizers.is_empty() {
            meta.shift_remove("finalizers");
        } else {
            meta.insert(
                "finalizers".into(),
                Value::Array(finalizers.iter().map(|f| Value::from(*f)).collect()),
            );
        }
    }
    /// Replaces `metadata.managedFields`; an empty list removes the field.
    fn set_managed_fields(&mut self, entries: Vec<Value>) {
        let meta = self.metadata_mut();
        if entries.is_empty() {
            meta.shift_remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
    /// Replaces `metadata.ownerReferences`; an empty list removes the field.
    fn set_owner_references(&mut self, refs: &[OwnerReference]) {
        let meta = self.metadata_mut();
        if refs.is_empty() {
            meta.shift_remove("ownerReferences");
        } else {
            let value = serde_json::to_value(refs).expect("owner references serialize");
            meta.insert("ownerReferences".into(), value);
        }
    }
}

fn child_map_mut<'a>(meta: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = meta.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry
        .as_object_mut()
        .expect("child was just made an object")
}

fn remove_child_key(meta: &mut Map<String, Value>, child: &str, key: &str) -> Option<Value> {
    let map = meta.get_mut(child)?.as_object_mut()?;
    let old = map.shift_remove(key);
    if map.is_empty() {
        meta.shift_remove(child);
    }
    old
}

impl ObjectExt for Map<String, Value> {
    fn as_object_map(&self) -> Option<&Map<String, Value>> {
        Some(self)
    }
    fn as_object_map_mut(&mut self) -> &mut Map<String, Value> {
        self
    }
}

impl ObjectExt for Value {
    fn as_object_map(&self) -> Option<&Map<String, Value>> {
        self.as_object()
    }
    fn as_object_map_mut(&mut self) -> &mut Map<String, Value> {
        if !self.is_object() {
            *self = Value::Object(Map::new());
        }
        self.as_object_mut().expect("value was just made an object")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_metadata() {
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "x", "labels": {"app": "web"},
                "finalizers": ["a", "b"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u", "controller": true}]}});
        assert_eq!(obj.name(), Some("web"));
        assert_eq!(obj.gvk().unwrap().to_string(), "apps/v1, Kind=Deployment");
        assert_eq!(obj.label("app"), Some("web"));
        assert_eq!(obj.finalizers(), vec!["a", "b"]);
        assert_eq!(obj.controller_reference().unwrap().uid, "u");
        obj.set_annotation("k", "v");
        obj.remove_label("app");
        obj.set_resource_version(Some("7"));
        assert_eq!(
            obj["metadata"],
            json!({"name": "web", "namespace": "x", "finalizers": ["a", "b"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u", "controller": true}],
                "annotations": {"k": "v"}, "resourceVersion": "7"})
        );
        let keys: Vec<_> = obj["metadata"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys[0], "name");
        assert_eq!(keys.last().unwrap(), "resourceVersion");
    }

    #[test]
    fn creates_metadata_on_demand() {
        let mut obj = Value::Null;
        obj.set_name("a");
        obj.set_label("k", "v");
        assert_eq!(
            obj,
            json!({"metadata": {"name": "a", "labels": {"k": "v"}}})
        );
        assert!(Value::Null.labels().is_empty());
    }
}
