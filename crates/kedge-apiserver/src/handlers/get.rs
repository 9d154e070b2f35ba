//! GET of one object (also `/status`): served from the store's memory
//! index as stored bytes, or as a one-row Table.

use http::Response;

use super::{Body, Ctx, bytes_response, json_response};
use crate::registry;
use crate::status::ApiError;

pub(crate) fn get(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let key = ctx.info.key(ctx.namespace(), ctx.name());
    let Some(kv) = ctx.api.store.get(&key) else {
        return Err(ApiError::not_found(&ctx.info, ctx.name()));
    };
    if ctx.wants_table() {
        let obj = registry::decode(&kv)?;
        let table = crate::table::table(
            &ctx.info,
            &[obj],
            &kv.mod_revision.to_string(),
            &ctx.query,
            None,
            true,
        );
        return Ok(json_response(200, &table));
    }
    Ok(bytes_response(
        200,
        "application/json",
        crate::crd::convert(&ctx.info, &kv.value),
    ))
}
