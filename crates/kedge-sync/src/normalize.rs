//! Normalisation of objects before they are compared, so that noise never
//! shows as drift: server-owned metadata (managedFields, resourceVersion,
//! uid, generation, creationTimestamp, selfLink), `status` (unless the
//! comparison is asked to include it), Secret `stringData` folded into
//! base64 `data` as the API server does, the rules of aggregated
//! ClusterRoles (owned by the aggregation controller), empty label and
//! annotation maps, and Kedge's own tracking annotation is kept (it is part
//! of what Kedge applies).

use base64::Engine as _;
use serde_json::{Map, Value};

/// What normalisation keeps.
#[derive(Debug, Clone, Default)]
pub struct NormalizeOptions {
    /// Compare `status` too (Argo CD's `ignoreResourceStatusField: none`).
    pub compare_status: bool,
    /// Keep the rules of aggregated ClusterRoles.
    pub compare_aggregated_rules: bool,
}

const SERVER_METADATA: [&str; 7] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionGracePeriodSeconds",
];

/// Normalises an object in place.
pub fn normalize(obj: &mut Value, opts: &NormalizeOptions) {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if !opts.compare_status {
        map.remove("status");
    }
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in SERVER_METADATA {
            meta.remove(k);
        }
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove(crate::mask::LAST_APPLIED);
        }
        for k in ["annotations", "labels"] {
            if meta
                .get(k)
                .is_some_and(|v| v.is_null() || v.as_object().is_some_and(Map::is_empty))
            {
                meta.remove(k);
            }
        }
    }
    if kind == "Secret" && api_version == "v1" {
        fold_string_data(map);
    }
    if kind == "ClusterRole"
        && !opts.compare_aggregated_rules
        && map.contains_key("aggregationRule")
    {
        map.remove("rules");
    }
    if (kind == "ClusterRole" || kind == "Role")
        && map
            .get("rules")
            .is_some_and(|r| r.is_null() || r.as_array().is_some_and(Vec::is_empty))
    {
        map.remove("rules");
    }
}

/// Folds `stringData` into `data` (base64), as the API server does on write.
fn fold_string_data(map: &mut Map<String, Value>) {
    let Some(Value::Object(sd)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    let data = data.as_object_mut().expect("object");
    for (k, v) in sd {
        let s = match v {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        data.insert(
            k,
            Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
        );
    }
    if data.is_empty() {
        map.remove("data");
    }
}
