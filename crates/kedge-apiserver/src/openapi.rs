//! OpenAPI documents: the `/openapi/v3` index with a content hash per
//! group/version, and a per-group/version OpenAPI 3.0 document.
//!
//! Until `kedge-schema` ships the full published schemas, each document is
//! built from the catalog: one path per resource and operation, every PATCH
//! tagged with `x-kubernetes-group-version-kind` and declaring the
//! `fieldValidation` query parameter (what kubectl looks for to send
//! `fieldValidation=Strict` instead of validating client-side), and one
//! open schema per kind. `/openapi/v2` (protobuf) is not served: kubectl
//! 1.29+ falls back without it.

use serde_json::{Map, Value, json};

use crate::catalog::{Catalog, ResourceInfo};

fn gvk(info: &ResourceInfo) -> Value {
    json!({"group": info.group, "version": info.version, "kind": info.kind})
}

fn schema_name(info: &ResourceInfo) -> String {
    let group = if info.group.is_empty() {
        "core".to_string()
    } else {
        info.group.replace('.', "_")
    };
    format!("io.k8s.api.{group}.{}.{}", info.version, info.kind)
}

fn base_path(info: &ResourceInfo) -> String {
    if info.group.is_empty() {
        format!("/api/{}", info.version)
    } else {
        format!("/apis/{}/{}", info.group, info.version)
    }
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(info: &ResourceInfo, action: &str, id: &str, with_validation: bool) -> Value {
    let mut params = vec![param("dryRun"), param("fieldManager")];
    if with_validation {
        params.push(json!({
            "name": "fieldValidation",
            "in": "query",
            "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
            "schema": {"type": "string", "uniqueItems": true},
        }));
    }
    let schema_ref = json!({"$ref": format!("#/components/schemas/{}", schema_name(info))});
    json!({
        "operationId": id,
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema_ref}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(info),
    })
}

/// The document of one group/version.
pub(crate) fn document(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let resources = catalog.group_version(group, version)?;
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for info in resources {
        let base = base_path(info);
        let scope = if info.namespaced {
            "/namespaces/{namespace}"
        } else {
            ""
        };
        let collection = format!("{base}{scope}/{}", info.plural);
        let item = format!("{collection}/{{name}}");
        let mut item_ops = Map::new();
        let mut coll_ops = Map::new();
        let id = format!("{}{}", info.kind, info.version);
        if info.has_verb("get") {
            item_ops.insert(
                "get".into(),
                operation(info, "get", &format!("read{id}"), false),
            );
        }
        if info.has_verb("update") {
            item_ops.insert(
                "put".into(),
                operation(info, "put", &format!("replace{id}"), true),
            );
        }
        if info.has_verb("patch") {
            item_ops.insert(
                "patch".into(),
                operation(info, "patch", &format!("patch{id}"), true),
            );
        }
        if info.has_verb("delete") {
            item_ops.insert(
                "delete".into(),
                operation(info, "delete", &format!("delete{id}"), false),
            );
        }
        if info.has_verb("list") {
            coll_ops.insert(
                "get".into(),
                operation(info, "list", &format!("list{id}"), false),
            );
        }
        if info.has_verb("create") {
            coll_ops.insert(
                "post".into(),
                operation(info, "post", &format!("create{id}"), true),
            );
        }
        if !item_ops.is_empty() {
            paths.insert(item, Value::Object(item_ops));
        }
        if !coll_ops.is_empty() {
            paths.insert(collection.clone(), Value::Object(coll_ops));
        }
        for sub in &info.subresources {
            if sub.name == "status" || sub.name == "scale" {
                let mut ops = Map::new();
                for (verb, method) in [("get", "get"), ("update", "put"), ("patch", "patch")] {
                    if sub.verbs.iter().any(|v| v == verb) {
                        let mut op = operation(
                            info,
                            method,
                            &format!("{verb}{id}{}", sub.name),
                            verb != "get",
                        );
                        if sub.name == "scale" {
                            op["x-kubernetes-group-version-kind"] =
                                json!({"group": "autoscaling", "version": "v1", "kind": "Scale"});
                        }
                        ops.insert(method.into(), op);
                    }
                }
                paths.insert(
                    format!("{collection}/{{name}}/{}", sub.name),
                    Value::Object(ops),
                );
            }
        }
        if let Some(schema) = crate::crd::openapi_schema(info) {
            schemas.insert(schema_name(info), schema);
            continue;
        }
        schemas.insert(
            schema_name(info),
            json!({
                "description": format!("{} of {}", info.kind, info.group_version()),
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [gvk(info)],
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::GIT_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {
                "fieldValidation": {
                    "name": "fieldValidation",
                    "in": "query",
                    "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
                    "schema": {"type": "string", "uniqueItems": true},
                }
            }
        }
    }))
}

/// FNV-1a over the document bytes, as the cache-busting hash in the index.
fn hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016X}")
}

/// The encoded documents of one catalog.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    pub(crate) index: bytes::Bytes,
    pub(crate) by_group_version: std::collections::BTreeMap<(String, String), bytes::Bytes>,
}

/// The documents of a catalog, built once: the `/openapi/v3` index (with a
/// content hash per group/version) and every group/version document.
pub(crate) fn documents(catalog: &Catalog) -> std::sync::Arc<Documents> {
    catalog
        .openapi
        .get_or_init(|| {
            let mut paths = Map::new();
            let mut by_group_version = std::collections::BTreeMap::new();
            for (group, version) in catalog.resources.keys() {
                let Some(doc) = document(catalog, group, version) else { continue };
                let bytes = serde_json::to_vec(&doc).unwrap_or_default();
                let key = if group.is_empty() {
                    format!("api/{version}")
                } else {
                    format!("apis/{group}/{version}")
                };
                paths.insert(
                    key.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", hash(&bytes))}),
                );
                by_group_version.insert((group.clone(), version.clone()), bytes::Bytes::from(bytes));
            }
            let index = bytes::Bytes::from(serde_json::to_vec(&json!({"paths": paths})).unwrap_or_default());
            std::sync::Arc::new(Documents { index, by_group_version })
        })
        .clone()
}
