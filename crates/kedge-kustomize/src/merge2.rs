//! Strategic merge the way kustomize applies it: kyaml's `merge2`, which is
//! not apimachinery's strategic merge patch.
//!
//! * A `null` in the patch deletes the field; `$patch: delete` deletes a map
//!   or a list item, `$patch: replace` replaces a map.
//! * Lists whose schema declares a patch merge key are merged by that key:
//!   the result holds the patch's items first, in patch order (merged with
//!   their counterparts), then the items only the destination has.
//! * Every other list is replaced by the patch's list, verbatim (directives
//!   inside it are kept). Custom resources have no schema, so all their
//!   lists are replaced.
//! * `$setElementOrder/...` and `$retainKeys` are not interpreted: they are
//!   copied into the result like any other field.

use serde_json::{Map, Value};

use crate::resource::Gvk;

/// A node of the (small) built-in schema that carries merge keys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SchemaType<'a> {
    /// A node of a custom OpenAPI schema (`openapi: path:`).
    Custom(&'a Value, &'a Map<String, Value>),
    /// The object root of a kind.
    Root(RootKind),
    ObjectMeta,
    WorkloadSpec,
    CronJobSpec,
    JobTemplateSpec,
    PodTemplateSpec,
    PodSpec,
    Container,
    ServiceSpec,
    /// No schema: maps merge, lists are replaced.
    Unknown,
}

/// The kinds with merge keys somewhere below them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootKind {
    Workload,
    CronJob,
    Pod,
    PodTemplate,
    Service,
    Other,
    None,
}

/// The schema root of a GVK (kyaml knows built-in kinds only).
pub(crate) fn root_for(gvk: &Gvk) -> SchemaType<'static> {
    let g = gvk.group.as_str();
    let k = match (g, gvk.kind.as_str()) {
        ("apps" | "extensions", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet") => {
            RootKind::Workload
        }
        ("batch", "Job") => RootKind::Workload,
        ("", "ReplicationController") => RootKind::Workload,
        ("batch", "CronJob") => RootKind::CronJob,
        ("", "Pod") => RootKind::Pod,
        ("", "PodTemplate") => RootKind::PodTemplate,
        ("", "Service") => RootKind::Service,
        (
            ""
            | "apps"
            | "batch"
            | "rbac.authorization.k8s.io"
            | "networking.k8s.io"
            | "policy"
            | "autoscaling"
            | "storage.k8s.io"
            | "apiextensions.k8s.io"
            | "scheduling.k8s.io"
            | "admissionregistration.k8s.io"
            | "coordination.k8s.io"
            | "discovery.k8s.io"
            | "certificates.k8s.io"
            | "node.k8s.io"
            | "apiregistration.k8s.io"
            | "extensions",
            _,
        ) => RootKind::Other,
        _ => RootKind::None,
    };
    SchemaType::Root(k)
}

/// The type of `field` under `t`, and the merge key if that field is a
/// merge-keyed list.
fn resolve<'a>(node: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    let mut cur = node;
    for _ in 0..32 {
        match cur
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/definitions/"))
            .and_then(|n| defs.get(n))
        {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur
}

/// A `$ref` a custom document leaves to the built-in schema (kustomize
/// adds custom definitions to the built-in ones).
fn builtin_ref<'a>(node: &Value, defs: &Map<String, Value>) -> Option<SchemaType<'a>> {
    let name = node
        .get("$ref")
        .and_then(Value::as_str)?
        .strip_prefix("#/definitions/")?;
    if defs.contains_key(name) {
        return None;
    }
    Some(match name {
        "io.k8s.api.core.v1.PodTemplateSpec" => SchemaType::PodTemplateSpec,
        "io.k8s.api.core.v1.PodSpec" => SchemaType::PodSpec,
        "io.k8s.api.core.v1.Container" => SchemaType::Container,
        "io.k8s.api.core.v1.ServiceSpec" => SchemaType::ServiceSpec,
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" => SchemaType::ObjectMeta,
        _ => SchemaType::Unknown,
    })
}

fn child<'a>(t: SchemaType<'a>, field: &str) -> (SchemaType<'a>, Option<&'a str>) {
    use SchemaType::*;
    if let Custom(node, defs) = t {
        let node = resolve(node, defs);
        let Some(prop) = node.get("properties").and_then(|p| p.get(field)) else {
            return (Unknown, None);
        };
        if let Some(t) = builtin_ref(prop, defs) {
            return (t, None);
        }
        let prop = resolve(prop, defs);
        let strategy = prop
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .unwrap_or("");
        let key = prop
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str);
        if let (Some(items), true) = (prop.get("items"), strategy.contains("merge")) {
            if let Some(t) = builtin_ref(items, defs) {
                return (t, key);
            }
            return (Custom(items, defs), key);
        }
        return (Custom(prop, defs), None);
    }
    match (t, field) {
        (Root(RootKind::None), _) => (Unknown, None),
        (Root(_), "metadata") => (ObjectMeta, None),
        (Root(RootKind::Workload), "spec") => (WorkloadSpec, None),
        (Root(RootKind::CronJob), "spec") => (CronJobSpec, None),
        (Root(RootKind::Pod), "spec") => (PodSpec, None),
        (Root(RootKind::PodTemplate), "template") => (PodTemplateSpec, None),
        (Root(RootKind::Service), "spec") => (ServiceSpec, None),
        (ObjectMeta, "ownerReferences") => (Unknown, Some("uid")),
        (WorkloadSpec, "template") => (PodTemplateSpec, None),
        (CronJobSpec, "jobTemplate") => (JobTemplateSpec, None),
        (JobTemplateSpec, "metadata") => (ObjectMeta, None),
        (JobTemplateSpec, "spec") => (WorkloadSpec, None),
        (PodTemplateSpec, "metadata") => (ObjectMeta, None),
        (PodTemplateSpec, "spec") => (PodSpec, None),
        (PodSpec, "containers" | "initContainers" | "ephemeralContainers") => {
            (Container, Some("name"))
        }
        (PodSpec, "volumes" | "imagePullSecrets") => (Unknown, Some("name")),
        (PodSpec, "hostAliases") => (Unknown, Some("ip")),
        (PodSpec, "topologySpreadConstraints") => (Unknown, Some("topologyKey")),
        (Container, "env") => (Unknown, Some("name")),
        (Container, "ports") => (Unknown, Some("containerPort")),
        (Container, "volumeMounts") => (Unknown, Some("mountPath")),
        (Container, "volumeDevices") => (Unknown, Some("devicePath")),
        (ServiceSpec, "ports") => (Unknown, Some("port")),
        _ => (Unknown, None),
    }
}

/// Merges `patch` into `dest`. `None` means the result is deleted.
pub(crate) fn merge(dest: Option<&Value>, patch: &Value, t: SchemaType<'_>) -> Option<Value> {
    match patch {
        Value::Null => None,
        Value::Object(pm) => {
            let mut pm = pm;
            let stripped;
            match pm.get("$patch").and_then(Value::as_str) {
                Some("delete") => return None,
                Some("replace") => {
                    let mut m = pm.clone();
                    m.remove("$patch");
                    return Some(Value::Object(m));
                }
                Some(_) => {
                    let mut m = pm.clone();
                    m.remove("$patch");
                    stripped = m;
                    pm = &stripped;
                }
                None => {}
            }
            let mut out = match dest {
                Some(Value::Object(dm)) => dm.clone(),
                _ => Map::new(),
            };
            for (k, pv) in pm {
                let (ct, key) = child(t, k);
                let merged = match (key, pv) {
                    (Some(key), Value::Array(items)) => {
                        let d = out.get(k).and_then(Value::as_array);
                        Some(merge_keyed_list(d, items, key, ct))
                    }
                    _ => merge(out.get(k), pv, ct),
                };
                match merged {
                    Some(v) => {
                        out.insert(k.clone(), v);
                    }
                    None => {
                        out.remove(k);
                    }
                }
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

fn key_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn merge_keyed_list(
    dest: Option<&Vec<Value>>,
    patch: &[Value],
    key: &str,
    t: SchemaType<'_>,
) -> Value {
    let empty = Vec::new();
    let dest = dest.unwrap_or(&empty);
    // kyaml pairs items by key value and rebuilds the list through a map from
    // key value to item, so when the destination holds the same key twice
    // (possible after JSON patches rename items) the last duplicate wins,
    // verbatim: the patch item was merged into the first one and is lost.
    let dest_keys: Vec<Option<String>> = dest.iter().map(|d| key_of(d, key)).collect();
    // key value -> (first index, last index) in the destination.
    let mut span: std::collections::HashMap<&str, (usize, usize)> = Default::default();
    for (i, kv) in dest_keys.iter().enumerate() {
        if let Some(kv) = kv {
            span.entry(kv.as_str())
                .and_modify(|s| s.1 = i)
                .or_insert((i, i));
        }
    }
    let mut out = Vec::with_capacity(dest.len() + patch.len());
    let mut seen: std::collections::HashSet<String> = Default::default();
    for p in patch {
        let Some(kv) = key_of(p, key) else {
            out.push(p.clone());
            continue;
        };
        if !seen.insert(kv.clone()) {
            continue;
        }
        let found = span.get(kv.as_str()).copied();
        let Some(v) = merge(found.map(|(first, _)| &dest[first]), p, t) else {
            continue;
        };
        match found {
            Some((first, last)) if first != last => out.push(dest[last].clone()),
            _ => out.push(v),
        }
    }
    for (d, kv) in dest.iter().zip(&dest_keys) {
        match kv {
            Some(kv) if seen.contains(kv) => {}
            Some(kv) => {
                let last = span.get(kv.as_str()).map_or(0, |s| s.1);
                out.push(dest[last].clone());
                seen.insert(kv.clone());
            }
            None => out.push(d.clone()),
        }
    }
    Value::Array(out)
}

/// Applies merge2's treatment of untagged scalars to every node a merge
/// walks: maps and merge-keyed lists (other lists are taken whole).
pub(crate) fn normalize_walked(v: &mut Value, t: SchemaType<'_>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let (ct, key) = child(t, k);
                match x {
                    Value::Array(items) => {
                        if key.is_some() {
                            for it in items.iter_mut() {
                                normalize_walked(it, ct);
                            }
                        }
                    }
                    _ => normalize_walked(x, ct),
                }
            }
        }
        other => crate::untagged::after_merge(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_put_patch_items_first() {
        let dest = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a"},
            {"name": "b", "env": [{"name": "X"}, {"name": "Y", "value": "y"}]}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "b", "env": [{"name": "Y", "value": "y2"}, {"name": "Z"}]},
            {"name": "c"}
        ], "tolerations": [{"$patch": "replace"}]}}}});
        let gvk = Gvk::from_api_version("apps/v1", "Deployment");
        let out = merge(Some(&dest), &patch, root_for(&gvk)).unwrap();
        let c = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["name"], "b");
        assert_eq!(c[1]["name"], "c");
        assert_eq!(c[2]["name"], "a");
        assert_eq!(
            c[0]["env"],
            json!([{"name": "Y", "value": "y2"}, {"name": "Z"}, {"name": "X"}])
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["tolerations"],
            json!([{"$patch": "replace"}])
        );
    }

    /// Duplicate merge keys, with the results `kubectl kustomize` prints.
    #[test]
    fn duplicate_keys_keep_the_last_destination_item() {
        let gvk = Gvk::from_api_version("apps/v1", "Deployment");
        let run = |dest: Value, patch: Value| {
            let wrap = |c: Value| json!({"spec": {"template": {"spec": {"containers": c}}}});
            let out = merge(Some(&wrap(dest)), &wrap(patch), root_for(&gvk)).unwrap();
            out["spec"]["template"]["spec"]["containers"].clone()
        };
        let p = |k: &str, v: i64| json!({"name": "p", k: v});
        let q = |k: &str, v: i64| json!({"name": "q", k: v});
        let r = |k: &str, v: i64| json!({"name": "r", k: v});
        // The patched item is the last duplicate, unmerged.
        assert_eq!(
            run(json!([p("a", 1), p("b", 2)]), json!([p("c", 3)])),
            json!([p("b", 2)])
        );
        assert_eq!(
            run(json!([p("a", 1), q("q", 1), p("b", 2)]), json!([p("c", 3)])),
            json!([p("b", 2), q("q", 1)])
        );
        // Duplicates the patch does not name collapse at the first position.
        assert_eq!(
            run(
                json!([p("a", 1), q("q", 1), p("b", 2), r("r", 1)]),
                json!([r("c", 3)])
            ),
            json!([{"name": "r", "r": 1, "c": 3}, p("b", 2), q("q", 1)])
        );
        // A delete removes every duplicate.
        assert_eq!(
            run(
                json!([p("a", 1), p("b", 2)]),
                json!([{"name": "p", "$patch": "delete"}])
            ),
            json!([])
        );
        // Duplicates in the patch: the first one counts.
        assert_eq!(
            run(json!([p("a", 1)]), json!([p("c", 3), p("d", 4)])),
            json!([{"name": "p", "a": 1, "c": 3}])
        );
        assert_eq!(
            run(json!([p("a", 1), p("b", 2)]), json!([p("c", 3), p("d", 4)])),
            json!([p("b", 2)])
        );
    }
}

/// A custom OpenAPI document (`openapi: path:`): definitions keyed by name,
/// and which definition describes each group/version/kind.
#[derive(Debug, Default)]
pub(crate) struct CustomSchema {
    defs: Map<String, Value>,
    roots: Vec<(Gvk, String)>,
}

impl CustomSchema {
    pub(crate) fn from_value(doc: &Value) -> CustomSchema {
        let defs = doc
            .get("definitions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut roots = Vec::new();
        for (name, d) in &defs {
            if let Some(Value::Array(gvks)) = d.get("x-kubernetes-group-version-kind") {
                for g in gvks {
                    let s = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    roots.push((
                        Gvk {
                            group: s("group"),
                            version: s("version"),
                            kind: s("kind"),
                        },
                        name.clone(),
                    ));
                }
            }
        }
        CustomSchema { defs, roots }
    }

    /// The schema root for `gvk`, if this document describes it.
    pub(crate) fn root_for(&self, gvk: &Gvk) -> Option<SchemaType<'_>> {
        let name = &self.roots.iter().find(|(g, _)| g == gvk)?.1;
        Some(SchemaType::Custom(self.defs.get(name)?, &self.defs))
    }
}
