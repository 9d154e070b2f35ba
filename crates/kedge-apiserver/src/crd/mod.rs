//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`).
//!
//! A CRD is validated and given its status (`acceptedNames`,
//! `storedVersions`, the NamesAccepted and Established conditions) in the
//! write pipeline itself, and the catalog is rebuilt from the stored CRDs
//! right after every CRD write ([`refresh`]), so the new resource is in
//! discovery, OpenAPI and routing before the write is answered. Each served
//! version becomes a catalog entry carrying a [`CustomResource`]: its
//! structural schema (pruning, defaulting, validation of custom objects in
//! [`admit`]), printer columns ([`table`]) and subresources.
//!
//! A background task ([`start`]) keeps the catalog in step with CRDs changed
//! by anything else (startup, garbage collection) and carries out CRD
//! deletion: the `customresourcecleanup.apiextensions.k8s.io` finalizer
//! stays until every object of the CRD is gone. It reacts to the store's
//! watch only.

mod columns;
mod regex;
mod schema;
mod validation;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::catalog::{Catalog, GroupInfo, ResourceInfo, SubresourceInfo};
use crate::object::{self, meta_mut};
use crate::registry;
use crate::server::Api;
use crate::status::{ApiError, Cause};

pub(crate) use columns::table;

/// The finalizer that holds a CRD until its objects are deleted.
pub(crate) const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// One `additionalPrinterColumns` entry.
#[derive(Debug, Clone)]
pub(crate) struct PrinterColumn {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) format: String,
    pub(crate) description: String,
    pub(crate) priority: i64,
    pub(crate) json_path: String,
}

/// The CRD facts of one served version of a custom resource.
#[derive(Debug, Clone)]
pub(crate) struct CustomResource {
    /// `spec.versions[].schema.openAPIV3Schema`, if any.
    pub(crate) schema: Option<Value>,
    /// Printer columns; empty means the default `NAME AGE`.
    pub(crate) columns: Vec<PrinterColumn>,
    /// Whether this is the storage version.
    pub(crate) storage: bool,
    /// The `/scale` subresource's paths, when it is enabled.
    pub(crate) scale: Option<ScalePaths>,
}

/// Where a custom resource keeps what its `Scale` shows, as JSON pointers
/// converted from the CRD's `.spec.replicas`-style paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScalePaths {
    pub(crate) spec_replicas: String,
    pub(crate) status_replicas: String,
    pub(crate) label_selector: Option<String>,
}

/// `.spec.replicas` → `/spec/replicas` (the CRD API only allows dotted
/// field paths here).
fn pointer_of(path: &str) -> String {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn is_crd(info: &ResourceInfo) -> bool {
    info.group == "apiextensions.k8s.io" && info.plural == "customresourcedefinitions"
}

/// Kubernetes version priority: GA > beta > alpha, then by numbers; others
/// last, alphabetically.
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(v: &str) -> (u8, i64, i64, String) {
        let parse = |s: &str| -> Option<(i64, u8, i64)> {
            let rest = s.strip_prefix('v')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major: i64 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            if tail.is_empty() {
                return Some((major, 3, 0));
            }
            let (level, num) = if let Some(n) = tail.strip_prefix("beta") {
                (2, n)
            } else if let Some(n) = tail.strip_prefix("alpha") {
                (1, n)
            } else {
                return None;
            };
            Some((major, level, num.parse().ok()?))
        };
        match parse(v) {
            Some((major, level, minor)) => (level, major, minor, String::new()),
            None => (0, 0, 0, v.to_string()),
        }
    }
    let (ka, kb) = (key(a), key(b));
    kb.0.cmp(&ka.0)
        .then(kb.1.cmp(&ka.1))
        .then(kb.2.cmp(&ka.2))
        .then(ka.3.cmp(&kb.3))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The catalog entries of one stored CRD, in version priority order.
fn resources_of(crd: &Value) -> Vec<ResourceInfo> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let group = spec["group"].as_str().unwrap_or_default().to_string();
    let kind = names["kind"].as_str().unwrap_or_default().to_string();
    let plural = names["plural"].as_str().unwrap_or_default().to_string();
    let singular = names["singular"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut out = Vec::new();
    for v in spec["versions"].as_array().into_iter().flatten() {
        if v["served"].as_bool() == Some(false) {
            continue;
        }
        let version = v["name"].as_str().unwrap_or_default().to_string();
        let mut subresources = Vec::new();
        if v.pointer("/subresources/status").is_some() {
            subresources.push(SubresourceInfo {
                name: "status".into(),
                kind: (group.clone(), version.clone(), kind.clone()),
                verbs: vec!["get".into(), "patch".into(), "update".into()],
            });
        }
        if v.pointer("/subresources/scale").is_some() {
            subresources.push(SubresourceInfo {
                name: "scale".into(),
                kind: ("autoscaling".into(), "v1".into(), "Scale".into()),
                verbs: vec!["get".into(), "patch".into(), "update".into()],
            });
        }
        let columns = v["additionalPrinterColumns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| PrinterColumn {
                name: c["name"].as_str().unwrap_or_default().to_string(),
                kind: c["type"].as_str().unwrap_or("string").to_string(),
                format: c["format"].as_str().unwrap_or_default().to_string(),
                description: c["description"].as_str().unwrap_or_default().to_string(),
                priority: c["priority"].as_i64().unwrap_or(0),
                json_path: c["jsonPath"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        out.push(ResourceInfo {
            group: group.clone(),
            version: version.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            kind: kind.clone(),
            verbs: [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            subresources,
            storage_version_hash: None,
            custom: Some(Arc::new(CustomResource {
                schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                columns,
                storage: v["storage"].as_bool() == Some(true),
                scale: v.pointer("/subresources/scale").map(|sc| ScalePaths {
                    spec_replicas: pointer_of(
                        sc["specReplicasPath"].as_str().unwrap_or(".spec.replicas"),
                    ),
                    status_replicas: pointer_of(
                        sc["statusReplicasPath"]
                            .as_str()
                            .unwrap_or(".status.replicas"),
                    ),
                    label_selector: sc["labelSelectorPath"].as_str().map(pointer_of),
                }),
            })),
        });
    }
    out.sort_by(|a, b| version_order(&a.version, &b.version));
    out
}

/// The built-in catalog plus every stored CRD's resources.
pub(crate) fn build_catalog(crds: &[Value]) -> Catalog {
    let mut catalog = Catalog::builtin();
    let mut sorted: Vec<&Value> = crds.iter().collect();
    sorted.sort_by_key(|c| object::name(c).to_string());
    for crd in sorted {
        if !validation::is_established(crd) {
            continue;
        }
        for info in resources_of(crd) {
            let key = (info.group.clone(), info.version.clone());
            if catalog
                .group_version(&info.group, &info.version)
                .is_some_and(|rs| {
                    rs.iter()
                        .any(|r| r.plural == info.plural && r.custom.is_none())
                })
            {
                continue;
            }
            match catalog.groups.iter_mut().find(|g| g.name == info.group) {
                Some(g) => {
                    if !g.versions.contains(&info.version) {
                        g.versions.push(info.version.clone());
                        g.versions.sort_by(|a, b| version_order(a, b));
                    }
                }
                None => catalog.groups.push(GroupInfo {
                    name: info.group.clone(),
                    versions: vec![info.version.clone()],
                }),
            }
            let list = catalog.resources.entry(key).or_default();
            list.retain(|r| r.plural != info.plural);
            list.push(Arc::new(info));
        }
    }
    catalog
}

/// Whether the CRD serving `info` is still stored. The catalog is rebuilt
/// just after a CRD's final deletion commits; checking the store (an
/// in-memory lookup) closes that window, so a custom resource is never
/// served once a client has seen its CRD deleted.
pub(crate) fn still_defined(api: &Api, info: &ResourceInfo) -> bool {
    info.custom.is_none()
        || api
            .store
            .get(&format!("{}{}.{}", crd_prefix(), info.plural, info.group))
            .is_some()
}

fn crd_prefix() -> &'static str {
    "/registry/apiextensions.k8s.io/customresourcedefinitions/"
}

/// Rebuilds the served catalog from the stored CRDs.
pub(crate) async fn refresh(api: &Api) {
    let list = match api
        .store
        .list(kedge_store::ListOptions {
            prefix: crd_prefix().to_string(),
            ..Default::default()
        })
        .await
    {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "listing CRDs");
            return;
        }
    };
    let crds: Vec<Value> = list
        .items
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect();
    let catalog = Arc::new(build_catalog(&crds));
    *api.catalog.write().unwrap_or_else(|e| e.into_inner()) = catalog;
}

/// Refreshes the catalog after a successful write of a CRD through the API.
pub(crate) async fn after_write(api: &Api, info: &ResourceInfo) {
    if is_crd(info) {
        refresh(api).await;
    }
}

/// The `fieldValidation=Strict` check of a request body for a custom
/// resource: unknown fields are a 400, as the real server's strict decoder
/// reports them.
pub(crate) fn check_field_validation(
    info: &ResourceInfo,
    mode: Option<&str>,
    body: &[u8],
) -> Result<(), ApiError> {
    if mode != Some("Strict") {
        return Ok(());
    }
    let Some(custom) = &info.custom else {
        return Ok(());
    };
    let Some(schema) = &custom.schema else {
        return Ok(());
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    if !value.is_object() {
        return Ok(());
    }
    let mut unknown = Vec::new();
    schema::unknown_fields(schema, &value, true, "", &mut unknown);
    if unknown.is_empty() {
        return Ok(());
    }
    let fields: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    Err(ApiError::bad_request(format!(
        "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
        info.kind,
        info.version,
        info.kind,
        fields.join(", ")
    )))
}

/// Admission of a write of `info` (create or update; `old` is the live
/// object of an update): CRDs are validated and get their defaults and
/// status; custom objects are pruned, defaulted and validated against their
/// version's schema. Other kinds pass.
pub(crate) fn admit(
    info: &ResourceInfo,
    old: Option<&Value>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    if is_crd(info) {
        validation::default_crd(obj);
        let causes = validation::validate_crd(obj, old);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info, object::name(obj), causes));
        }
        validation::set_status(obj, old);
        if old.is_none() {
            let m = meta_mut(obj);
            let list = m.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(a) = list.as_array_mut()
                && !a.iter().any(|f| f.as_str() == Some(CLEANUP_FINALIZER))
            {
                a.push(json!(CLEANUP_FINALIZER));
            }
        }
        return Ok(());
    }
    let Some(custom) = &info.custom else {
        return Ok(());
    };
    let Some(schema) = &custom.schema else {
        return Ok(());
    };
    schema::prune(schema, obj, true);
    schema::default(schema, obj, true);
    let mut causes: Vec<Cause> = Vec::new();
    schema::validate(schema, obj, true, "", &mut causes);
    if !causes.is_empty() {
        return Err(ApiError::invalid(info, object::name(obj), causes));
    }
    Ok(())
}

/// Runs the CRD controller: an initial catalog build (before the server
/// answers), then catalog refreshes and CRD cleanup on every CRD event.
pub(crate) async fn start(api: Arc<Api>) -> tokio::task::JoinHandle<()> {
    refresh(&api).await;
    let start_rev = api.store.current_revision();
    tokio::spawn(async move {
        let mut shutdown = api.shutdown.clone();
        let mut rev = start_rev;
        // Deletions pending at startup.
        cleanup_all(&api).await;
        loop {
            let mut watcher = match api.store.watch_from(crd_prefix(), rev) {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "CRD controller: watch failed, restarting from now");
                    rev = api.store.current_revision();
                    refresh(&api).await;
                    continue;
                }
            };
            loop {
                let ev = tokio::select! {
                    ev = watcher.next() => ev,
                    _ = shutdown.changed() => return,
                };
                match ev {
                    Some(Ok(ev)) => {
                        rev = ev.revision();
                        if let Ok(crd) = serde_json::from_slice::<Value>(&ev.kv.value) {
                            accept_names(
                                &api,
                                crd.pointer("/spec/group")
                                    .and_then(Value::as_str)
                                    .unwrap_or(""),
                            )
                            .await;
                        }
                        refresh(&api).await;
                        if ev.kind == kedge_store::EventKind::Put
                            && let Ok(crd) = serde_json::from_slice::<Value>(&ev.kv.value)
                            && object::meta_str(&crd, "deletionTimestamp").is_some()
                        {
                            cleanup(&api, &crd).await;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "CRD controller watch");
                        break;
                    }
                    None => return,
                }
            }
        }
    })
}

/// The naming controller: within a group, CRDs are considered in creation
/// order; one whose names collide with an earlier accepted CRD's gets
/// NamesAccepted=False and is not served, and is accepted again once the
/// collision is gone.
async fn accept_names(api: &Api, group: &str) {
    if group.is_empty() {
        return;
    }
    let Ok(list) = api
        .store
        .list(kedge_store::ListOptions {
            prefix: crd_prefix().to_string(),
            ..Default::default()
        })
        .await
    else {
        return;
    };
    let mut crds: Vec<(std::sync::Arc<kedge_store::KeyValue>, Value)> = list
        .items
        .into_iter()
        .filter_map(|kv| registry::decode(&kv).ok().map(|v| (kv, v)))
        .filter(|(_, v)| v.pointer("/spec/group").and_then(Value::as_str) == Some(group))
        .collect();
    crds.sort_by_key(|(kv, v)| (kv.create_revision, object::name(v).to_string()));
    let catalog = api.catalog();
    let Some(info) = catalog.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return;
    };
    let mut accepted: Vec<&Value> = Vec::new();
    for (kv, crd) in &crds {
        if object::meta_str(crd, "deletionTimestamp").is_some() {
            accepted.push(crd);
            continue;
        }
        let mut desired = crd.clone();
        match validation::name_conflict(crd, &accepted) {
            Some((reason, message)) => validation::reject_names(&mut desired, reason, &message),
            None => {
                validation::set_status(&mut desired, Some(crd));
                accepted.push(crd);
            }
        }
        if desired.get("status") == crd.get("status") {
            continue;
        }
        let Ok(new) = registry::prepare_update(&info, crd, desired, registry::UpdateScope::Status)
        else {
            continue;
        };
        let opts = registry::WriteOptions {
            dry_run: false,
            field_manager: Some("kube-apiserver".into()),
        };
        let _ = registry::commit_update(api, &info, &kv.key, crd, kv, new, &opts).await;
    }
}

async fn cleanup_all(api: &Api) {
    let Ok(list) = api
        .store
        .list(kedge_store::ListOptions {
            prefix: crd_prefix().to_string(),
            ..Default::default()
        })
        .await
    else {
        return;
    };
    for kv in list.items {
        if let Ok(crd) = serde_json::from_slice::<Value>(&kv.value)
            && object::meta_str(&crd, "deletionTimestamp").is_some()
        {
            cleanup(api, &crd).await;
        }
    }
}

/// Deletes the objects of a deleting CRD; removes the cleanup finalizer
/// once none is left (which removes the CRD when it was the last one).
/// Objects with finalizers of their own are waited for: their updates are
/// not CRD events, so the custom resources' prefix is watched meanwhile.
async fn cleanup(api: &Api, crd: &Value) {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let plural = crd
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if group.is_empty() || plural.is_empty() {
        return;
    }
    let prefix = format!("/registry/{group}/{plural}/");
    let crd_name = object::name(crd).to_string();
    let mut shutdown = api.shutdown.clone();
    loop {
        let Ok(list) = api
            .store
            .list(kedge_store::ListOptions {
                prefix: prefix.clone(),
                ..Default::default()
            })
            .await
        else {
            return;
        };
        let mut watcher = match api.store.watch_from(&prefix, list.revision) {
            Ok(w) => w,
            Err(_) => return,
        };
        if list.items.is_empty() {
            break;
        }
        let mut items = Vec::new();
        for kv in list.items {
            if let Ok(obj) = registry::decode(&kv) {
                items.push((kv, obj));
            }
        }
        let ops = registry::delete_ops(&items);
        if !ops.is_empty() {
            let _ = api.store.txn(ops).await;
            continue;
        }
        tokio::select! {
            _ = watcher.next() => {}
            _ = shutdown.changed() => return,
        }
    }
    let catalog = api.catalog();
    let Some(info) = catalog.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return;
    };
    let key = info.key(None, &crd_name);
    for _ in 0..16 {
        let Some(kv) = api.store.get(&key) else {
            return;
        };
        let Ok(live) = registry::decode(&kv) else {
            return;
        };
        if !object::finalizers(&live)
            .iter()
            .any(|f| f == CLEANUP_FINALIZER)
        {
            return;
        }
        let mut new = live.clone();
        if let Some(Value::Array(f)) = meta_mut(&mut new).get_mut("finalizers") {
            f.retain(|v| v.as_str() != Some(CLEANUP_FINALIZER));
        }
        let opts = registry::WriteOptions {
            dry_run: false,
            field_manager: Some("kube-apiserver".into()),
        };
        match registry::commit_update(api, &info, &key, &live, &kv, new, &opts).await {
            Ok(_) => {
                refresh(api).await;
                return;
            }
            Err(kedge_store::StoreError::Conflict { .. }) => continue,
            Err(e) => {
                tracing::warn!(error = %e, crd = %crd_name, "removing the CRD cleanup finalizer");
                return;
            }
        }
    }
}

/// `None` conversion between the served versions of a custom resource: an
/// object stored under another version is served with the requested
/// `apiVersion` (everything else is the same). Other resources pass as-is.
pub(crate) fn convert(info: &ResourceInfo, raw: &bytes::Bytes) -> bytes::Bytes {
    if info.custom.is_none() {
        return raw.clone();
    }
    let want = info.group_version();
    let Ok(mut obj) = serde_json::from_slice::<Value>(raw) else {
        return raw.clone();
    };
    if obj.get("apiVersion").and_then(Value::as_str) == Some(want.as_str()) {
        return raw.clone();
    }
    obj["apiVersion"] = json!(want);
    bytes::Bytes::from(serde_json::to_vec(&obj).unwrap_or_default())
}

/// Whether `api_version` names another served version of the same custom
/// resource (writes through one version may carry an object read from
/// another).
pub(crate) fn is_other_version(info: &ResourceInfo, api_version: &str) -> bool {
    info.custom.is_some()
        && api_version
            .split_once('/')
            .is_some_and(|(g, _)| g == info.group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut v = vec![
            "v1alpha1", "v1", "foo", "v2beta1", "v2", "v1beta2", "v1beta1", "bar",
        ];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(
            v,
            vec![
                "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "bar", "foo"
            ]
        );
    }
}
