//! PATCH of an object or its `/status`: JSON merge patch (RFC 7386), JSON
//! patch (RFC 6902), strategic merge patch for built-in kinds (through
//! `kedge-merge` with the built-in schema; 415 for other kinds) and
//! server-side apply (`kedge_merge::ssa::apply`: field ownership in
//! `metadata.managedFields`, 409 on conflicts unless `force=true`; an apply
//! to a missing object creates it through the create pipeline). Non-apply
//! patches record `Update` ownership of the fields they change. A
//! resourceVersion in the result is a precondition (409 when stale).

use http::Response;
use serde_json::Value;

use super::{Body, Ctx, bytes_response, parse_json, with_warnings};
use crate::object;
use crate::registry::{self, Recording, UpdateScope};
use crate::status::{ApiError, from_store};

#[derive(Debug, Clone, Copy, PartialEq)]
enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

/// RFC 7386 merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn patch_type(ctx: &Ctx) -> Result<PatchType, ApiError> {
    let ct = ctx
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchType::Apply),
        other => Err(ApiError::unsupported_media_type(
            other,
            &[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
            ],
        )),
    }
}

fn apply_patch(
    kind: PatchType,
    current: &Value,
    body: &[u8],
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    match kind {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut out = current.clone();
            json_patch::patch(&mut out, &ops).map_err(|e| {
                ApiError::new(422, "Invalid", e.to_string()).with_details(serde_json::json!({}))
            })?;
            Ok(out)
        }
        PatchType::Strategic => {
            let patch = parse_json(body, &ctx.info)?;
            let registry = kedge_schema::Registry::builtin();
            let gvk = kedge_core::GroupVersionKind::new(
                ctx.info.group.clone(),
                ctx.info.version.clone(),
                ctx.info.kind.clone(),
            );
            let Some(ty) = registry.type_for(&gvk) else {
                return Err(ApiError::unsupported_media_type(
                    "application/strategic-merge-patch+json",
                    &[
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/apply-patch+yaml",
                    ],
                ));
            };
            kedge_merge::strategic_merge_patch(current, &patch, registry.schema(), &ty).map_err(
                |e| match e.status_code() {
                    400 => ApiError::new(400, "BadRequest", e.to_string()),
                    409 => ApiError::new(409, "Conflict", e.to_string()),
                    // Values of the wrong type (a list where a map belongs,
                    // mixed list elements): the merged map cannot become the
                    // Go object, which the real server reports as 422.
                    _ => ApiError::invalid_patch(body, &e.to_string()),
                },
            )
        }
        _ => {
            let patch = parse_json(body, &ctx.info)?;
            let mut out = current.clone();
            merge_patch(&mut out, &patch);
            Ok(out)
        }
    }
}

/// Server-side apply of `config` over `live` (absent on create) to
/// `subresource`, with the request's field manager and `force`.
fn server_side_apply(
    ctx: &Ctx,
    live: Option<&Value>,
    config: &Value,
    subresource: &str,
) -> Result<Value, ApiError> {
    use kedge_merge::ssa::{ApplyError, ApplyParams};
    let manager = ctx.query.get("fieldManager").unwrap_or_default();
    let force = match ctx.query.get("force") {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "force: Invalid value: \"{other}\": must be true or false"
            )));
        }
    };
    let api_version = ctx.info.group_version();
    let now = object::now_rfc3339();
    let params = ApplyParams {
        manager,
        force,
        api_version: &api_version,
        subresource,
        now: &now,
        reset: registry::managed::reset_for(&ctx.info, subresource),
    };
    let registry = kedge_schema::Registry::builtin();
    let ty = registry::managed::type_of(&ctx.info);
    let name = ctx.name();
    let mut result = kedge_merge::ssa::apply(live, config, &params, registry.schema(), &ty);
    if let (Err(ApplyError::ManagedFields(_)), Some(live)) = (&result, live) {
        // Undecodable stored managed fields are reset, as the API server
        // does, instead of failing every later apply.
        let mut reset = live.clone();
        if let Some(m) = reset.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        result = kedge_merge::ssa::apply(Some(&reset), config, &params, registry.schema(), &ty);
    }
    result.map_err(|e| match &e {
        ApplyError::Conflicts(conflicts) => {
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "reason": "FieldManagerConflict",
                        "message": c.cause_message(),
                        "field": c.field(),
                    })
                })
                .collect();
            ApiError::new(409, "Conflict", e.to_string()).with_details(serde_json::json!({
                "name": name,
                "group": ctx.info.group,
                "kind": ctx.info.plural,
                "causes": causes,
            }))
        }
        ApplyError::ManagedFieldsInConfig | ApplyError::VersionMismatch { .. } => {
            ApiError::bad_request(e.to_string())
        }
        ApplyError::Invalid(_) => ApiError::new(422, "Invalid", e.to_string()),
        ApplyError::ManagedFields(_) => ApiError::internal(e.to_string()),
    })
}

pub(crate) async fn patch(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let kind = patch_type(ctx)?;
    let mut opts = ctx.write_options()?;
    if kind == PatchType::Apply {
        if ctx.query.get("fieldManager").is_none_or(str::is_empty) {
            return Err(ApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
    } else if ctx.query.get("force").is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
        ));
    }
    let name = ctx.name().to_string();
    let key = ctx.info.key(ctx.namespace(), &name);
    let scope = if ctx.path.subresource.as_deref() == Some("status") {
        UpdateScope::Status
    } else {
        UpdateScope::Main
    };
    for _ in 0..16 {
        let Some(kv) = ctx.api.store.get(&key) else {
            if kind == PatchType::Apply && scope == UpdateScope::Main {
                let config = parse_json(&ctx.body, &ctx.info)?;
                let mut obj = server_side_apply(ctx, None, &config, "")?;
                if object::name(&obj) != name {
                    return Err(ApiError::bad_request(format!(
                        "the name of the object ({}) does not match the name on the URL ({name})",
                        object::name(&obj)
                    )));
                }
                if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                opts.field_manager = ctx.query.get("fieldManager").map(String::from);
                let w = registry::create_recorded(
                    &ctx.api,
                    &ctx.info,
                    ctx.namespace(),
                    obj,
                    &opts,
                    Recording::Applied,
                )
                .await?;
                return Ok(bytes_response(201, "application/json", w.bytes));
            }
            return Err(ApiError::not_found(&ctx.info, &name));
        };
        let old = registry::decode(&kv)?;
        let patched = if kind == PatchType::Apply {
            let config = parse_json(&ctx.body, &ctx.info)?;
            let sub = if scope == UpdateScope::Status {
                "status"
            } else {
                ""
            };
            let mut applied = server_side_apply(ctx, Some(&old), &config, sub)?;
            // The merge result carries the live resourceVersion: not a
            // precondition unless the configuration sets one.
            if object::meta_str(&config, "resourceVersion").is_none()
                && let Some(m) = applied.get_mut("metadata").and_then(Value::as_object_mut)
            {
                m.remove("resourceVersion");
            }
            applied
        } else {
            apply_patch(kind, &old, &ctx.body, ctx)?
        };
        crate::validation::check_types(&ctx.info, &patched)
            .map_err(|e| ApiError::invalid_patch(&ctx.body, &e.message))?;
        let warnings = crate::validation::check(&ctx.info, &patched, ctx.field_validation()?)?;
        let rv = object::meta_str(&patched, "resourceVersion").unwrap_or("");
        let precondition = !rv.is_empty() && rv != kv.mod_revision.to_string();
        if precondition {
            return Err(ApiError::conflict(&ctx.info, &name));
        }
        let carried_rv = object::meta_str(&patched, "resourceVersion").is_some()
            && object::meta_str(&patched, "resourceVersion")
                != object::meta_str(&old, "resourceVersion");
        if object::name(&patched) != name {
            return Err(ApiError::bad_request(
                "metadata.name: the name of the object does not match the name on the URL",
            ));
        }
        let new = registry::prepare_update(&ctx.info, &old, patched, scope)?;
        let recording = match (kind, scope) {
            (PatchType::Apply, _) => Recording::Applied,
            (_, UpdateScope::Status) => Recording::Update("status"),
            _ => Recording::Update(""),
        };
        match registry::commit_recorded(&ctx.api, &ctx.info, &key, &old, &kv, new, &opts, recording)
            .await
        {
            Ok(w) => {
                return Ok(with_warnings(
                    bytes_response(200, "application/json", w.bytes),
                    &warnings,
                ));
            }
            Err(kedge_store::StoreError::Conflict { .. }) if !carried_rv => continue,
            Err(e) => return Err(from_store(e, &ctx.info, &name)),
        }
    }
    Err(ApiError::conflict(&ctx.info, &name))
}
