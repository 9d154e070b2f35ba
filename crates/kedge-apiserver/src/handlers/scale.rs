//! The `/scale` subresource: an `autoscaling/v1` `Scale` view of
//! `spec.replicas`, `status.replicas` and the label selector of workloads,
//! and of custom resources at their CRD's `specReplicasPath`,
//! `statusReplicasPath` and `labelSelectorPath`.
//! Writes (PUT, merge/strategic/JSON patch) change the parent's
//! `spec.replicas` and answer with the new `Scale`.

use http::Response;
use serde_json::{Value, json};

use super::{Body, Ctx, json_response, parse_json};
use crate::registry::{self, UpdateScope};
use crate::selector::LabelSelector;
use crate::status::{ApiError, from_store};

/// Where the parent keeps replicas and selector: the CRD's scale paths for
/// custom resources, `spec.replicas`/`status.replicas`/`spec.selector` for
/// built-in workloads.
fn custom_paths(info: &crate::catalog::ResourceInfo) -> Option<&crate::crd::ScalePaths> {
    info.custom.as_ref().and_then(|c| c.scale.as_ref())
}

fn scale_of(info: &crate::catalog::ResourceInfo, obj: &Value) -> Value {
    let Some(paths) = custom_paths(info) else {
        return builtin_scale_of(obj);
    };
    let int_at = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let selector = paths
        .label_selector
        .as_deref()
        .and_then(|p| obj.pointer(p))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut status = serde_json::Map::new();
    status.insert("replicas".into(), json!(int_at(&paths.status_replicas)));
    if !selector.is_empty() {
        status.insert("selector".into(), json!(selector));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta(obj),
        "spec": {"replicas": int_at(&paths.spec_replicas)},
        "status": status,
    })
}

fn scale_meta(obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or(json!({}));
    let mut m = serde_json::Map::new();
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

/// Sets `value` at the JSON pointer `path`, creating objects on the way.
fn set_at(obj: &mut Value, path: &str, value: Value) {
    let mut cur = obj;
    let parts: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let map = cur.as_object_mut().expect("object");
        if i + 1 == parts.len() {
            map.insert(part.clone(), value);
            return;
        }
        cur = map.entry(part.clone()).or_insert_with(|| json!({}));
    }
}

fn builtin_scale_of(obj: &Value) -> Value {
    let m = scale_meta(obj);
    let spec_replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let status_replicas = obj
        .pointer("/status/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let selector = obj
        .pointer("/spec/selector")
        .map(|s| {
            if s.get("matchLabels").is_some() || s.get("matchExpressions").is_some() {
                LabelSelector::to_string_from_match_labels(s)
            } else {
                // ReplicationController: a plain map.
                s.as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            }
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": m,
        "spec": {"replicas": spec_replicas},
        "status": {"replicas": status_replicas, "selector": selector},
    })
}

pub(crate) fn get(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let key = ctx.info.key(ctx.namespace(), ctx.name());
    let kv = ctx
        .api
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&ctx.info, ctx.name()))?;
    Ok(json_response(
        200,
        &scale_of(&ctx.info, &registry::decode(&kv)?),
    ))
}

async fn write(
    ctx: &Ctx,
    change: impl Fn(&Value) -> Result<Value, ApiError>,
) -> Result<Response<Body>, ApiError> {
    let opts = ctx.write_options()?;
    let name = ctx.name().to_string();
    let key = ctx.info.key(ctx.namespace(), &name);
    for _ in 0..16 {
        let kv = ctx
            .api
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(&ctx.info, &name))?;
        let old = registry::decode(&kv)?;
        let new_scale = change(&scale_of(&ctx.info, &old))?;
        if let Some(rv) = new_scale
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && !rv.is_empty()
            && rv != kv.mod_revision.to_string()
        {
            return Err(ApiError::conflict(&ctx.info, &name));
        }
        let replicas = new_scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
                ),
            ));
        }
        let mut updated = old.clone();
        match custom_paths(&ctx.info) {
            Some(paths) => set_at(&mut updated, &paths.spec_replicas, json!(replicas)),
            None => updated["spec"]["replicas"] = json!(replicas),
        }
        let new = registry::prepare_update(&ctx.info, &old, updated, UpdateScope::Main)?;
        let recording = registry::Recording::Update("scale");
        match registry::commit_recorded(&ctx.api, &ctx.info, &key, &old, &kv, new, &opts, recording)
            .await
        {
            Ok(w) => {
                let obj: Value = serde_json::from_slice(&w.bytes).unwrap_or_default();
                return Ok(json_response(200, &scale_of(&ctx.info, &obj)));
            }
            Err(kedge_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(from_store(e, &ctx.info, &name)),
        }
    }
    Err(ApiError::conflict(&ctx.info, &name))
}

pub(crate) async fn update(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let body = parse_json(&ctx.body, &ctx.info)?;
    write(ctx, |_| Ok(body.clone())).await
}

pub(crate) async fn patch(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let ct = ctx
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = ctx.body.clone();
    let info = ctx.info.clone();
    write(ctx, move |scale| {
        let mut out = scale.clone();
        if ct.starts_with("application/json-patch+json") {
            let ops: json_patch::Patch = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut out, &ops)
                .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
        } else {
            let p = parse_json(&body, &info)?;
            super::patch::merge_patch(&mut out, &p);
        }
        Ok(out)
    })
    .await
}
