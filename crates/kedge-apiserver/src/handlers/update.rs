//! PUT of an object or its `/status` (and a namespace's `/finalize`):
//! optimistic concurrency on the body's resourceVersion (409 when stale; an
//! empty one means "unconditional" and is retried on races).

use http::Response;
use serde_json::Value;

use super::{Body, Ctx, bytes_response, with_warnings};
use crate::object;
use crate::registry::{self, UpdateScope};
use crate::status::{ApiError, from_store};

pub(crate) async fn update(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let opts = ctx.write_options()?;
    let body = ctx.json_body()?;
    let warnings = crate::validation::check(&ctx.info, &body, ctx.field_validation()?)?;
    let name = ctx.name().to_string();
    let body_name = object::name(&body);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let (Some(ns), Some(body_ns)) = (ctx.namespace(), object::namespace(&body))
        && !body_ns.is_empty()
        && body_ns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let precondition = object::meta_str(&body, "resourceVersion")
        .filter(|s| !s.is_empty())
        .map(String::from);
    let key = ctx.info.key(ctx.namespace(), &name);
    let sub = ctx.path.subresource.as_deref();
    for _ in 0..16 {
        let Some(kv) = ctx.api.store.get(&key) else {
            return Err(ApiError::not_found(&ctx.info, &name));
        };
        if let Some(rv) = &precondition
            && *rv != kv.mod_revision.to_string()
        {
            return Err(ApiError::conflict(&ctx.info, &name));
        }
        let old = registry::decode(&kv)?;
        let mut incoming = body.clone();
        if let Some(m) = incoming.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("name".into(), Value::String(name.clone()));
        }
        let new = match sub {
            Some("finalize") => finalize(&old, &incoming),
            Some("status") => {
                registry::prepare_update(&ctx.info, &old, incoming, UpdateScope::Status)?
            }
            _ => registry::prepare_update(&ctx.info, &old, incoming, UpdateScope::Main)?,
        };
        let recording = registry::Recording::Update(match sub {
            Some("status") => "status",
            _ => "",
        });
        match registry::commit_recorded(&ctx.api, &ctx.info, &key, &old, &kv, new, &opts, recording)
            .await
        {
            Ok(w) => {
                if ctx.info.plural == "namespaces" {
                    ctx.api.namespace_wakeup.notify_one();
                }
                return Ok(with_warnings(
                    bytes_response(200, "application/json", w.bytes),
                    &warnings,
                ));
            }
            Err(kedge_store::StoreError::Conflict { .. }) if precondition.is_none() => continue,
            Err(e) => return Err(from_store(e, &ctx.info, &name)),
        }
    }
    Err(ApiError::conflict(&ctx.info, &name))
}

/// `/finalize` replaces only `spec.finalizers` of a namespace.
fn finalize(old: &Value, incoming: &Value) -> Value {
    let mut new = old.clone();
    let finalizers = incoming
        .get("spec")
        .and_then(|s| s.get("finalizers"))
        .cloned()
        .unwrap_or(Value::Array(vec![]));
    new["spec"]["finalizers"] = finalizers;
    new
}
