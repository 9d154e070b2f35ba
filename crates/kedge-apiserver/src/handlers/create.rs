//! POST: create an object (201 with the stored object).

use http::Response;

use super::{Body, Ctx, bytes_response};
use crate::registry;
use crate::status::ApiError;

pub(crate) async fn create(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let opts = ctx.write_options()?;
    let obj = ctx.json_body()?;
    if ctx.info.namespaced && ctx.namespace().is_none() {
        return Err(ApiError::method_not_allowed());
    }
    let written = registry::create(&ctx.api, &ctx.info, ctx.namespace(), obj, &opts).await?;
    Ok(bytes_response(201, "application/json", written.bytes))
}
