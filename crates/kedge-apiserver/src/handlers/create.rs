//! POST: create an object (201 with the stored object).

use http::Response;

use super::{Body, Ctx, bytes_response, with_warnings};
use crate::registry;
use crate::status::ApiError;

pub(crate) async fn create(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let opts = ctx.write_options()?;
    let obj = ctx.json_body()?;
    let warnings = crate::validation::check(&ctx.info, &obj, ctx.field_validation()?)?;
    if ctx.info.namespaced && ctx.namespace().is_none() {
        return Err(ApiError::method_not_allowed());
    }
    let written = registry::create(&ctx.api, &ctx.info, ctx.namespace(), obj, &opts).await?;
    Ok(with_warnings(
        bytes_response(201, "application/json", written.bytes),
        &warnings,
    ))
}
