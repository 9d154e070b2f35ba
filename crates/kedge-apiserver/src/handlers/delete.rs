//! DELETE of one object and of a collection. `DeleteOptions` may come in
//! the body or the query: preconditions, `propagationPolicy`,
//! `gracePeriodSeconds`, `dryRun`. Objects with finalizers (and namespaces)
//! get a deletionTimestamp and stay until their finalizers are gone.

use http::Response;
use serde_json::{Value, json};

use super::list::{Filters, read_page};
use super::{Body, Ctx, bytes_response, json_response};
use crate::registry::{self, Deleted};
use crate::status::{self, ApiError};

struct DeleteOptions {
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

fn options(ctx: &Ctx) -> Result<DeleteOptions, ApiError> {
    let body: Value = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&ctx.body)
            .map_err(|e| ApiError::bad_request(format!("DeleteOptions: {e}")))?
    };
    let policy = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| ctx.query.get("propagationPolicy"));
    if let Some(p) = policy
        && !matches!(p, "Orphan" | "Background" | "Foreground")
    {
        return Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            ),
        ));
    }
    let body_dry_run = body
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("All")));
    let pre = body.get("preconditions");
    Ok(DeleteOptions {
        uid: pre
            .and_then(|p| p.get("uid"))
            .and_then(Value::as_str)
            .map(String::from),
        resource_version: pre
            .and_then(|p| p.get("resourceVersion"))
            .and_then(Value::as_str)
            .map(String::from),
        dry_run: ctx.query.dry_run()? || body_dry_run,
    })
}

pub(crate) async fn delete(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let opts = options(ctx)?;
    let name = ctx.name();
    crate::gc::prepare_delete(
        &ctx.api,
        &ctx.info,
        ctx.namespace(),
        name,
        &ctx.body,
        ctx.query.get("propagationPolicy"),
        ctx.query.get("orphanDependents"),
        opts.dry_run,
    )
    .await?;
    let result = registry::delete(
        &ctx.api,
        &ctx.info,
        ctx.namespace(),
        name,
        (opts.uid, opts.resource_version),
        opts.dry_run,
    )
    .await?;
    match result {
        Deleted::Pending(bytes) => Ok(bytes_response(200, "application/json", bytes)),
        Deleted::Gone(bytes, obj) => {
            if registry::returns_deleted_object(&ctx.info) {
                Ok(bytes_response(200, "application/json", bytes))
            } else {
                let uid = crate::object::meta_str(&obj, "uid").unwrap_or_default();
                Ok(json_response(
                    200,
                    &status::success_delete(&ctx.info, name, uid),
                ))
            }
        }
    }
}

pub(crate) async fn delete_collection(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let opts = options(ctx)?;
    let filters = Filters::parse(ctx)?;
    let page = read_page(ctx, &filters, true).await?;
    let mut items = Vec::new();
    for obj in page.decoded.unwrap_or_default() {
        let name = crate::object::name(&obj).to_string();
        let ns = crate::object::namespace(&obj).map(String::from);
        match registry::delete(
            &ctx.api,
            &ctx.info,
            ns.as_deref(),
            &name,
            (None, None),
            opts.dry_run,
        )
        .await
        {
            Ok(Deleted::Gone(bytes, _) | Deleted::Pending(bytes)) => {
                if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                    items.push(v);
                }
            }
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", ctx.info.kind),
            "apiVersion": ctx.info.group_version(),
            "metadata": {"resourceVersion": ctx.api.store.current_revision().to_string()},
            "items": items,
        }),
    ))
}
