//! Per-resource storage strategy and the write pipelines shared by the
//! handlers and the built-in controllers: create (identity, defaulting,
//! validation, namespace checks), update (immutable metadata, status
//! handling, generation, finalizer-driven removal) and delete (finalizers,
//! deletionTimestamp, returned body). Every write goes through the store's
//! optimistic concurrency; the stored bytes carry their own resourceVersion.

use std::sync::Arc;

use bytes::Bytes;
use kedge_store::{KeyValue, Op, Revision};
use serde_json::{Map, Value, json};

use crate::catalog::ResourceInfo;
use crate::object::{self, meta_mut};
use crate::server::Api;
use crate::status::{ApiError, Cause, from_store};

/// Whether `metadata.generation` is maintained for the kind.
pub(crate) fn tracks_generation(info: &ResourceInfo) -> bool {
    if info.custom.is_some() {
        return true;
    }
    match info.group.as_str() {
        "apps" | "batch" | "autoscaling" | "policy" | "apiextensions.k8s.io" => true,
        "networking.k8s.io" => matches!(info.plural.as_str(), "ingresses" | "networkpolicies"),
        "admissionregistration.k8s.io" => true,
        "" => matches!(info.plural.as_str(), "replicationcontrollers"),
        _ => false,
    }
}

/// Kinds whose DELETE answers with the object instead of a `Status`.
pub(crate) fn returns_deleted_object(info: &ResourceInfo) -> bool {
    matches!(
        (info.group.as_str(), info.plural.as_str()),
        (
            "",
            "pods" | "namespaces" | "serviceaccounts" | "persistentvolumes"
        ) | ("storage.k8s.io", "storageclasses")
            | ("apiextensions.k8s.io", "customresourcedefinitions")
    )
}

fn name_errors(info: &ResourceInfo, name: &str) -> Vec<String> {
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "namespaces" | "services") => object::dns1123_label_errors(name),
        ("rbac.authorization.k8s.io", _) => object::path_segment_errors(name),
        _ => object::dns1123_subdomain_errors(name),
    }
}

/// Decodes stored bytes.
pub(crate) fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
    serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("decoding {}: {e}", kv.key)))
}

/// An encoder that stamps the revision into the object.
pub(crate) fn encoder(mut obj: Value) -> kedge_store::Encoder {
    Box::new(move |rev: Revision| {
        meta_mut(&mut obj).insert("resourceVersion".into(), Value::String(rev.to_string()));
        Bytes::from(serde_json::to_vec(&obj).unwrap_or_default())
    })
}

/// Serialises an object that is not stored (dry run).
pub(crate) fn encode_plain(obj: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(obj).unwrap_or_default())
}

/// Options common to writes.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteOptions {
    pub(crate) dry_run: bool,
    pub(crate) field_manager: Option<String>,
}

fn set_identity(obj: &mut Value, info: &ResourceInfo) {
    let root = obj.as_object_mut().expect("object");
    // apiVersion and kind first, as the real server writes them.
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(info.group_version()));
    out.insert("kind".into(), json!(info.kind));
    for (k, v) in std::mem::take(root) {
        if k != "apiVersion" && k != "kind" {
            out.insert(k, v);
        }
    }
    *root = out;
}

/// Checks body apiVersion/kind against the URL.
pub(crate) fn check_type(obj: &Value, info: &ResourceInfo) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is not a JSON object",
        ));
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if (!kind.is_empty() && kind != info.kind)
        || (!api_version.is_empty()
            && api_version != info.group_version()
            && !crate::crd::is_other_version(info, api_version))
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            info.group_version()
        )));
    }
    Ok(())
}

fn validate(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = object::name(obj);
    if name.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired",
            message: "Required value: name or generateName is required".into(),
            field: "metadata.name".into(),
        });
    } else {
        for e in name_errors(info, name) {
            causes.push(Cause {
                reason: "FieldValueInvalid",
                message: format!("Invalid value: \"{name}\": {e}"),
                field: "metadata.name".into(),
            });
        }
    }
    for field in ["labels", "annotations"] {
        if let Some(v) = object::meta(obj).and_then(|m| m.get(field)) {
            match v.as_object() {
                Some(m) => {
                    let mut size = 0;
                    for (k, val) in m {
                        if field == "labels" && !val.is_string() {
                            causes.push(Cause {
                                reason: "FieldValueInvalid",
                                message: "Invalid value: must be a string".into(),
                                field: format!("metadata.labels.{k}"),
                            });
                        }
                        let value = val.as_str().unwrap_or_default();
                        // Key errors show the key, value errors the value.
                        let mut errs: Vec<(&str, String)> = object::qualified_name_errors(k)
                            .into_iter()
                            .map(|e| (k.as_str(), e))
                            .collect();
                        if field == "labels" {
                            errs.extend(
                                object::label_value_errors(value)
                                    .into_iter()
                                    .map(|e| (value, e)),
                            );
                        }
                        size += k.len() + value.len();
                        for (shown, e) in errs {
                            causes.push(Cause {
                                reason: "FieldValueInvalid",
                                message: format!("Invalid value: \"{shown}\": {e}"),
                                field: format!("metadata.{field}"),
                            });
                        }
                    }
                    if field == "annotations" && size > 256 * 1024 {
                        causes.push(Cause {
                            reason: "FieldValueTooLong",
                            message: "Too long: must have at most 262144 bytes".into(),
                            field: "metadata.annotations".into(),
                        });
                    }
                }
                None if !v.is_null() => causes.push(Cause {
                    reason: "FieldValueInvalid",
                    message: "Invalid value: must be an object".into(),
                    field: format!("metadata.{field}"),
                }),
                None => {}
            }
        }
    }
    if info.group.is_empty() && matches!(info.plural.as_str(), "configmaps" | "secrets") {
        causes.extend(data_causes(info, obj));
    }
    causes
}

/// ConfigMap and Secret data: valid keys, no key in both `data` and
/// `binaryData`, and at most 1 MiB in total.
fn data_causes(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    const MAX: usize = 1024 * 1024;
    let mut causes = Vec::new();
    let mut size = 0;
    let fields: &[&str] = if info.plural == "configmaps" {
        &["data", "binaryData"]
    } else {
        &["data"]
    };
    for field in fields {
        let Some(map) = obj.get(*field).and_then(Value::as_object) else {
            continue;
        };
        for (k, v) in map {
            for e in object::config_key_errors(k) {
                causes.push(Cause {
                    reason: "FieldValueInvalid",
                    message: format!("Invalid value: \"{k}\": {e}"),
                    field: format!("{field}[{k}]"),
                });
            }
            if *field == "binaryData" && obj.get("data").and_then(|d| d.get(k)).is_some() {
                causes.push(Cause {
                    reason: "FieldValueInvalid",
                    message: format!(
                        "Invalid value: \"{k}\": duplicate of key present in binaryData"
                    ),
                    field: format!("data[{k}]"),
                });
            }
            let s = v.as_str().unwrap_or_default();
            size += k.len()
                + if info.plural == "secrets" || *field == "binaryData" {
                    // base64 on the wire; the limit counts decoded bytes
                    s.len() / 4 * 3
                } else {
                    s.len()
                };
        }
    }
    if size > MAX {
        causes.push(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: must have at most {MAX} bytes"),
            field: "data".into(),
        });
    }
    causes
}

fn default_object(info: &ResourceInfo, obj: &mut Value) {
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "namespaces") => {
            let name = object::name(obj).to_string();
            let m = meta_mut(obj);
            let labels = m.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            let root = obj.as_object_mut().expect("object");
            let spec = root.entry("spec").or_insert_with(|| json!({}));
            if spec.get("finalizers").is_none() {
                spec["finalizers"] = json!(["kubernetes"]);
            }
            if root.get("status").and_then(|s| s.get("phase")).is_none() {
                root.insert("status".into(), json!({"phase": "Active"}));
            }
        }
        ("", "secrets") => {
            let root = obj.as_object_mut().expect("object");
            if root.get("type").is_none_or(|t| t.as_str() == Some("")) {
                root.insert("type".into(), json!("Opaque"));
            }
            // stringData is merged into data and never stored.
            if let Some(Value::Object(sd)) = root.remove("stringData") {
                use base64::Engine;
                let data = root.entry("data").or_insert_with(|| json!({}));
                if let Some(d) = data.as_object_mut() {
                    for (k, v) in sd {
                        let s = v.as_str().unwrap_or_default();
                        d.insert(
                            k,
                            json!(base64::engine::general_purpose::STANDARD.encode(s)),
                        );
                    }
                }
            }
        }
        ("", "pods") => {
            let root = obj.as_object_mut().expect("object");
            if root.get("status").and_then(|s| s.get("phase")).is_none() {
                root.insert(
                    "status".into(),
                    json!({"phase": "Pending", "qosClass": "BestEffort"}),
                );
            }
        }
        _ => {}
    }
}

/// Namespaced writes need an existing, non-terminating namespace.
pub(crate) fn check_namespace(
    api: &Api,
    info: &ResourceInfo,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    let catalog = api.catalog();
    let Some(ns_info) = catalog.resource("", "v1", "namespaces") else {
        return Ok(());
    };
    let Some(kv) = api.store.get(&ns_info.key(None, namespace)) else {
        return Err(ApiError::namespace_not_found(namespace));
    };
    let ns = decode(&kv)?;
    if object::meta_str(&ns, "deletionTimestamp").is_some()
        || ns
            .get("status")
            .and_then(|s| s.get("phase"))
            .and_then(Value::as_str)
            == Some("Terminating")
    {
        let mut err = ApiError::forbidden(
            info,
            name,
            &format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
        );
        if let Some(Value::Object(d)) = err.details.as_mut() {
            d.insert(
                "causes".into(),
                json!([{"reason": "NamespaceTerminating", "message": format!("namespace {namespace} is being terminated"), "field": "metadata.namespace"}]),
            );
        }
        return Err(err);
    }
    Ok(())
}

/// The outcome of a write: the stored (or dry-run) object bytes.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub(crate) bytes: Bytes,
}

/// Creates an object in `namespace` (None for cluster-scoped kinds).
pub(crate) async fn create(
    api: &Api,
    info: &ResourceInfo,
    namespace: Option<&str>,
    obj: Value,
    opts: &WriteOptions,
) -> Result<Written, ApiError> {
    create_recorded(api, info, namespace, obj, opts, Recording::Update("")).await
}

/// How a write records its field manager in `metadata.managedFields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recording<'a> {
    /// A non-apply write to the named subresource (`""` for the main resource).
    Update(&'a str),
    /// The object already carries the managed fields of a server-side apply.
    Applied,
}

/// [`create`] with an explicit managed-fields [`Recording`].
pub(crate) async fn create_recorded(
    api: &Api,
    info: &ResourceInfo,
    namespace: Option<&str>,
    mut obj: Value,
    opts: &WriteOptions,
    recording: Recording<'_>,
) -> Result<Written, ApiError> {
    check_type(&obj, info)?;
    set_identity(&mut obj, info);
    {
        let m = meta_mut(&mut obj);
        if info.namespaced {
            if let Some(ns) = namespace {
                match m.get("namespace").and_then(Value::as_str) {
                    Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                    _ => {
                        m.insert("namespace".into(), json!(ns));
                    }
                }
            }
        } else {
            m.remove("namespace");
        }
        let has_name = m
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !has_name
            && let Some(prefix) = m
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
        {
            let generated = format!("{prefix}{}", object::random_suffix());
            m.insert("name".into(), json!(generated));
        }
        for server_owned in [
            "uid",
            "creationTimestamp",
            "resourceVersion",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.remove(server_owned);
        }
        m.insert("uid".into(), json!(object::new_uid()));
        m.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
        if tracks_generation(info) {
            m.insert("generation".into(), json!(1));
        }
        if m.get("managedFields")
            .is_some_and(|v| v.as_array().is_some_and(Vec::is_empty))
        {
            m.remove("managedFields");
        }
    }
    if info.has_status() && info.plural != "namespaces" {
        obj.as_object_mut().expect("object").remove("status");
    }
    let name = object::name(&obj).to_string();
    let causes = validate(info, &obj);
    if !causes.is_empty() {
        return Err(ApiError::invalid(info, &name, causes));
    }
    if info.namespaced {
        let ns = namespace.ok_or_else(|| {
            ApiError::bad_request("a namespace is required for namespaced resources")
        })?;
        check_namespace(api, info, ns, &name)?;
    }
    default_object(info, &mut obj);
    crate::defaults::apply(&info.group, &info.kind, &mut obj);
    crate::defaults::allocate(api, info, &mut obj).await?;
    crate::crd::admit(info, None, &mut obj)?;
    if let Recording::Update(sub) = recording {
        obj = managed::record(None, obj, info, opts.field_manager.as_deref(), sub);
    }
    if opts.dry_run {
        return Ok(Written {
            bytes: encode_plain(&obj),
        });
    }
    let key = info.key(namespace, &name);
    let kv = api
        .store
        .create(&key, encoder(obj))
        .await
        .map_err(|e| from_store(e, info, &name))?;
    Ok(Written {
        bytes: kv.value.clone(),
    })
}

/// The spec-like content: everything but metadata and status.
fn spec_of(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Which part of the object an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpdateScope {
    Main,
    Status,
}

/// Merges an incoming full object over the live one according to the scope and
/// the kind's strategy. Returns the object to store.
pub(crate) fn prepare_update(
    info: &ResourceInfo,
    old: &Value,
    mut new: Value,
    scope: UpdateScope,
) -> Result<Value, ApiError> {
    check_type(&new, info)?;
    set_identity(&mut new, info);
    let mut result = match scope {
        UpdateScope::Main => {
            if info.has_status() {
                let root = new.as_object_mut().expect("object");
                match old.get("status") {
                    Some(s) => {
                        root.insert("status".into(), s.clone());
                    }
                    None => {
                        root.remove("status");
                    }
                }
            }
            new
        }
        UpdateScope::Status => {
            let mut r = old.clone();
            let root = r.as_object_mut().expect("object");
            match new.get("status") {
                Some(s) => {
                    root.insert("status".into(), s.clone());
                }
                None => {
                    root.remove("status");
                }
            }
            r
        }
    };
    let old_meta = object::meta(old).cloned().unwrap_or_default();
    {
        let m = meta_mut(&mut result);
        for keep in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "generation",
        ] {
            match old_meta.get(keep) {
                Some(v) => {
                    m.insert(keep.into(), v.clone());
                }
                None => {
                    m.remove(keep);
                }
            }
        }
        if m.get("managedFields")
            .is_some_and(|v| v.as_array().is_some_and(Vec::is_empty))
            || m.get("managedFields").is_none()
        {
            match old_meta.get("managedFields") {
                Some(v) => {
                    m.insert("managedFields".into(), v.clone());
                }
                None => {
                    m.remove("managedFields");
                }
            }
        }
    }
    if info.plural == "namespaces" && info.group.is_empty() {
        // The name label is immutable; spec.finalizers change only through /finalize.
        let name = object::name(old).to_string();
        let m = meta_mut(&mut result);
        let labels = m.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
        if scope == UpdateScope::Main
            && let Some(spec) = old.get("spec")
        {
            result["spec"] = spec.clone();
        }
    }
    if scope == UpdateScope::Main {
        crate::defaults::carry_allocations(info, old, &mut result);
        crate::defaults::apply(&info.group, &info.kind, &mut result);
        crate::crd::admit(info, Some(old), &mut result)?;
    } else if info.custom.is_some() {
        // A custom resource's status is pruned, defaulted and validated by
        // its schema like the rest of the object.
        crate::crd::admit(info, Some(old), &mut result)?;
    }
    if tracks_generation(info) && scope == UpdateScope::Main && spec_of(old) != spec_of(&result) {
        let g = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        meta_mut(&mut result).insert("generation".into(), json!(g));
    }
    // A deleting object may not gain finalizers.
    if old_meta.get("deletionTimestamp").is_some() {
        let old_f = object::finalizers(old);
        let added: Vec<String> = object::finalizers(&result)
            .into_iter()
            .filter(|f| !old_f.contains(f))
            .collect();
        if !added.is_empty() {
            return Err(ApiError::invalid(
                info,
                object::name(old),
                vec![Cause {
                    reason: "FieldValueForbidden",
                    message:
                        "Forbidden: no new finalizers can be added if the object is being deleted"
                            .into(),
                    field: "metadata.finalizers".into(),
                }],
            ));
        }
    }
    let causes = validate(info, &result);
    if !causes.is_empty() {
        return Err(ApiError::invalid(info, object::name(&result), causes));
    }
    Ok(result)
}

/// Stores `new` over the live `old` (at `old_rev`). An object being deleted
/// whose finalizers became empty is removed instead. A write that changes
/// nothing is not stored (no new resourceVersion).
pub(crate) async fn commit_update(
    api: &Api,
    info: &ResourceInfo,
    key: &str,
    old: &Value,
    old_kv: &Arc<KeyValue>,
    new: Value,
    opts: &WriteOptions,
) -> Result<Written, kedge_store::StoreError> {
    commit_recorded(
        api,
        info,
        key,
        old,
        old_kv,
        new,
        opts,
        Recording::Update(""),
    )
    .await
}

/// [`commit_update`] with an explicit managed-fields [`Recording`].
#[allow(clippy::too_many_arguments)]
pub(crate) async fn commit_recorded(
    api: &Api,
    info: &ResourceInfo,
    key: &str,
    old: &Value,
    old_kv: &Arc<KeyValue>,
    mut new: Value,
    opts: &WriteOptions,
    recording: Recording<'_>,
) -> Result<Written, kedge_store::StoreError> {
    // Compare without resourceVersion / managedFields timestamps.
    let mut cmp_new = new.clone();
    let mut cmp_old = old.clone();
    for o in [&mut cmp_new, &mut cmp_old] {
        meta_mut(o).remove("resourceVersion");
    }
    if cmp_new == cmp_old || kedge_merge::ssa::same_ignoring_times(&cmp_new, &cmp_old) {
        return Ok(Written {
            bytes: old_kv.value.clone(),
        });
    }
    if let Recording::Update(sub) = recording {
        new = managed::record(Some(old), new, info, opts.field_manager.as_deref(), sub);
    }
    let remove = object::meta_str(&new, "deletionTimestamp").is_some()
        && object::finalizers(&new).is_empty();
    if opts.dry_run {
        return Ok(Written {
            bytes: encode_plain(&new),
        });
    }
    let kv = if remove {
        api.store
            .delete(key, Some(old_kv.mod_revision), encoder(new))
            .await?
    } else {
        api.store
            .update(key, old_kv.mod_revision, encoder(new))
            .await?
    };
    Ok(Written {
        bytes: kv.value.clone(),
    })
}

/// What a delete did.
#[derive(Debug)]
pub(crate) enum Deleted {
    /// Removed; the tombstone (object with the delete's resourceVersion).
    Gone(Bytes, Value),
    /// Finalizers pending: the object now carries a deletionTimestamp.
    Pending(Bytes),
}

/// Deletes an object, honouring finalizers and preconditions.
pub(crate) async fn delete(
    api: &Api,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    preconditions: (Option<String>, Option<String>),
    dry_run: bool,
) -> Result<Deleted, ApiError> {
    let key = info.key(namespace, name);
    for _attempt in 0..16 {
        let Some(kv) = api.store.get(&key) else {
            return Err(ApiError::not_found(info, name));
        };
        let obj = decode(&kv)?;
        if let Some(uid) = &preconditions.0
            && object::meta_str(&obj, "uid") != Some(uid.as_str())
        {
            return Err(ApiError::conflict_message(
                info,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    object::meta_str(&obj, "uid").unwrap_or_default()
                ),
            ));
        }
        if let Some(rv) = &preconditions.1
            && *rv != kv.mod_revision.to_string()
        {
            return Err(ApiError::conflict_message(
                info,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    kv.mod_revision
                ),
            ));
        }
        let is_namespace = info.group.is_empty() && info.plural == "namespaces";
        if is_namespace && matches!(name, "default" | "kube-system" | "kube-public") {
            return Err(ApiError::forbidden(
                info,
                name,
                "this namespace may not be deleted",
            ));
        }
        let pending = !object::finalizers(&obj).is_empty() || is_namespace;
        if pending {
            if object::meta_str(&obj, "deletionTimestamp").is_some() {
                // A repeated delete changes nothing.
                return Ok(Deleted::Pending(kv.value.clone()));
            }
            let mut new = obj.clone();
            {
                let m = meta_mut(&mut new);
                m.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
                if tracks_generation(info) {
                    let g = m.get("generation").and_then(Value::as_i64).unwrap_or(0) + 1;
                    m.insert("generation".into(), json!(g));
                }
            }
            if is_namespace {
                new["status"] = json!({"phase": "Terminating"});
            }
            if dry_run {
                return Ok(Deleted::Pending(encode_plain(&new)));
            }
            match api.store.update(&key, kv.mod_revision, encoder(new)).await {
                Ok(kv) => {
                    if is_namespace {
                        api.namespace_wakeup.notify_one();
                    }
                    return Ok(Deleted::Pending(kv.value.clone()));
                }
                Err(kedge_store::StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(from_store(e, info, name)),
            }
        }
        if dry_run {
            return Ok(Deleted::Gone(kv.value.clone(), obj));
        }
        match api
            .store
            .delete(&key, Some(kv.mod_revision), encoder(obj.clone()))
            .await
        {
            Ok(t) => return Ok(Deleted::Gone(t.value.clone(), obj)),
            Err(kedge_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(from_store(e, info, name)),
        }
    }
    Err(ApiError::conflict(info, name))
}

/// Builds the store operations that remove several objects at once (used by
/// namespace cleanup); objects with finalizers get a deletionTimestamp instead.
pub(crate) fn delete_ops(items: &[(Arc<KeyValue>, Value)]) -> Vec<Op> {
    items
        .iter()
        .filter_map(|(kv, obj)| {
            if object::finalizers(obj).is_empty() {
                Some(Op::Delete {
                    key: kv.key.clone(),
                    expected: Some(kv.mod_revision),
                    value: encoder(obj.clone()),
                })
            } else if object::meta_str(obj, "deletionTimestamp").is_none() {
                let mut new = obj.clone();
                let m = meta_mut(&mut new);
                m.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
                Some(Op::Update {
                    key: kv.key.clone(),
                    expected: kv.mod_revision,
                    value: encoder(new),
                })
            } else {
                None
            }
        })
        .collect()
}

pub(crate) mod managed {
    //! Field ownership of non-apply writes through `kedge-merge`'s
    //! structured-merge-diff implementation: every create, update and
    //! non-apply patch records an `Update` entry for its field manager with
    //! the fields it changed, typed by the kind's schema (the built-in
    //! definitions, or the CRD's converted `openAPIV3Schema` for custom
    //! resources; kinds without a schema are treated as untyped objects).

    use kedge_merge::ssa::{ResetFields, UpdateParams};
    use kedge_schema::TypeRef;
    use serde_json::Value;

    use crate::catalog::ResourceInfo;
    use crate::object;

    /// The type of `info`'s objects for field management.
    pub(crate) fn type_of(info: &ResourceInfo) -> TypeRef {
        if let Some(custom) = &info.custom {
            let schema = custom.schema.clone().unwrap_or(Value::Null);
            if let Ok(ty) = kedge_schema::crd_schema_type(&schema) {
                return ty;
            }
        } else {
            let gvk = kedge_core::GroupVersionKind::new(
                info.group.clone(),
                info.version.clone(),
                info.kind.clone(),
            );
            if let Some(ty) = kedge_schema::Registry::builtin().type_for(&gvk) {
                return ty;
            }
        }
        match kedge_schema::crd_schema_type(&Value::Null) {
            Ok(ty) => ty,
            // Converting the empty schema cannot fail; anything goes.
            Err(_) => TypeRef::Inline(std::sync::Arc::new(kedge_schema::TypeDef::Untyped)),
        }
    }

    /// The reset rule of a write to `subresource` of `info`.
    pub(crate) fn reset_for(info: &ResourceInfo, subresource: &str) -> ResetFields {
        ResetFields::for_write(subresource, info.has_status())
    }

    /// Records `manager`'s non-apply write of `new` over `old` (absent on
    /// create) to `subresource`; without a manager nothing is recorded.
    pub(crate) fn record(
        old: Option<&Value>,
        new: Value,
        info: &ResourceInfo,
        manager: Option<&str>,
        subresource: &str,
    ) -> Value {
        let Some(manager) = manager else { return new };
        let registry = kedge_schema::Registry::builtin();
        let ty = type_of(info);
        let api_version = info.group_version();
        let now = object::now_rfc3339();
        // The status rule already ran in `prepare_update`; the merge only
        // decides which recorded fields are reset.
        let reset = if info.plural == "namespaces" && info.group.is_empty() {
            ResetFields::None
        } else {
            reset_for(info, subresource)
        };
        let params = UpdateParams {
            manager,
            api_version: &api_version,
            subresource,
            now: &now,
            reset,
        };
        let mut out = kedge_merge::ssa::update(old, &new, &params, registry.schema(), &ty);
        if reset == ResetFields::Status {
            // Keep what `prepare_update` chose for the status (defaults of
            // a create, such as a pod's phase).
            let root = out.as_object_mut().expect("object");
            match new.get("status") {
                Some(s) => {
                    root.insert("status".into(), s.clone());
                }
                None => {
                    root.remove("status");
                }
            }
        }
        out
    }
}
