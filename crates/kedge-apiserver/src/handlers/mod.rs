//! Request handlers: this module parses what every handler needs (query
//! parameters, content negotiation, request bodies) and dispatches a routed
//! request to one module per verb (`get`, `list`, `create`, `update`,
//! `patch`, `delete`, `watch`, `scale`). Responses are JSON bytes; stored
//! objects are served as stored, without re-encoding.

mod create;
mod delete;
mod get;
mod list;
mod patch;
mod scale;
mod update;
mod watch;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::discovery::{self, Format};
use crate::router::{self, ResourcePath, Route};
use crate::server::Api;
use crate::status::ApiError;
use crate::{openapi, registry};

/// The response body type: full bodies and watch streams.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub(crate) fn bytes_response(
    code: u16,
    content_type: &str,
    bytes: impl Into<Bytes>,
) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(http::header::CONTENT_TYPE, content_type)
        .header("Cache-Control", "no-cache, private")
        .body(full(bytes))
        .expect("valid response")
}

pub(crate) fn json_response(code: u16, value: &Value) -> Response<Body> {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

/// Adds `Warning: 299 - "…"` headers, as the real server reports warnings.
pub(crate) fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = http::HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            resp.headers_mut().append(http::header::WARNING, v);
        }
    }
    resp
}

pub(crate) fn error_response(err: &ApiError) -> Response<Body> {
    json_response(err.code, &err.to_status())
}

/// Query parameters; tolerates empty components (`?&a=b`) as kube-rs sends them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(Vec<(String, String)>);

fn decode_component(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub(crate) fn parse(q: Option<&str>) -> Query {
        Query(
            q.unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode_component(k), decode_component(v)),
                    None => (decode_component(p), String::new()),
                })
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }

    /// `dryRun`: only `All` is legal.
    pub(crate) fn dry_run(&self) -> Result<bool, ApiError> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(k, _)| k == "dryRun")
            .map(|(_, v)| v.as_str())
            .collect();
        match values.as_slice() {
            [] => Ok(false),
            vals if vals.iter().all(|v| *v == "All") => Ok(true),
            vals => Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: \"{}\": supported values: \"All\"",
                vals.iter()
                    .find(|v| **v != "All")
                    .copied()
                    .unwrap_or_default()
            ))),
        }
    }
}

/// Everything a resource handler gets.
pub(crate) struct Ctx {
    pub(crate) api: Arc<Api>,
    pub(crate) info: Arc<ResourceInfo>,
    pub(crate) path: ResourcePath,
    pub(crate) query: Query,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Ctx {
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.path.namespace.as_deref()
    }

    pub(crate) fn name(&self) -> &str {
        self.path.name.as_deref().unwrap_or("")
    }

    pub(crate) fn accept(&self) -> &str {
        self.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Whether the client asked for `Table` output before anything else it accepts.
    pub(crate) fn wants_table(&self) -> bool {
        for entry in self.accept().split(',') {
            let e = entry.replace(' ', "");
            if e.contains("as=Table") && e.contains("g=meta.k8s.io") {
                return true;
            }
            if e.starts_with("application/json")
                || e.starts_with("*/*")
                || e.starts_with("application/yaml")
            {
                return false;
            }
        }
        false
    }

    /// The field manager: the parameter, else the User-Agent prefix.
    pub(crate) fn field_manager(&self) -> Option<String> {
        if let Some(m) = self.query.get("fieldManager").filter(|m| !m.is_empty()) {
            return Some(m.to_string());
        }
        let ua = self
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())?;
        let prefix = ua.split('/').next().unwrap_or(ua).trim();
        (!prefix.is_empty()).then(|| prefix.chars().take(128).collect())
    }

    /// The `fieldValidation` level (Warn when absent).
    pub(crate) fn field_validation(&self) -> Result<crate::validation::Level, ApiError> {
        crate::validation::Level::parse(self.query.get("fieldValidation"))
    }

    pub(crate) fn write_options(&self) -> Result<registry::WriteOptions, ApiError> {
        let manager = self.field_manager();
        if manager.as_ref().is_some_and(|m| m.len() > 128) {
            return Err(ApiError::bad_request(
                "fieldManager: Too long: may not be longer than 128",
            ));
        }
        Ok(registry::WriteOptions {
            dry_run: self.query.dry_run()?,
            field_manager: manager,
        })
    }

    fn content_type(&self) -> String {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// Decodes an object body: JSON, YAML or Kubernetes protobuf.
    pub(crate) fn json_body(&self) -> Result<Value, ApiError> {
        let ct = self.content_type();
        match ct.as_str() {
            "application/json" | "" | "*/*" => parse_json(&self.body, &self.info),
            "application/yaml" => parse_yaml(&self.body, &self.info),
            crate::protobuf::PROTOBUF => crate::protobuf::decode_object(&self.body).map_err(|e| {
                ApiError::bad_request(format!(
                    "{} in version \"{}\" cannot be handled as a {}: {e}",
                    self.info.kind, self.info.version, self.info.kind
                ))
            }),
            _ => Err(ApiError::unsupported_media_type(
                &ct,
                &[
                    "application/json",
                    "application/yaml",
                    crate::protobuf::PROTOBUF,
                ],
            )),
        }
    }
}

pub(crate) fn parse_json(body: &[u8], info: &ResourceInfo) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the body of the request was empty"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {e}",
            info.kind, info.version, info.kind
        ))
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: the body is not a JSON object",
            info.kind, info.version, info.kind
        )));
    }
    Ok(value)
}

/// Decodes a YAML object body (one document) the way `sigs.k8s.io/yaml`
/// does: YAML to JSON, then the JSON rules.
pub(crate) fn parse_yaml(body: &[u8], info: &ResourceInfo) -> Result<Value, ApiError> {
    let cannot = |why: String| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {why}",
            info.kind, info.version, info.kind
        ))
    };
    let text = std::str::from_utf8(body).map_err(|e| cannot(e.to_string()))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("the body of the request was empty"));
    }
    let limits = kedge_yaml::Limits {
        max_bytes: 3 * 1024 * 1024 + 1024,
        max_depth: 128,
        max_alias_expansion: 10_000,
        max_documents: 2,
    };
    let docs = kedge_yaml::parse_stream(text, &limits).map_err(|e| cannot(e.to_string()))?;
    let Some(doc) = docs.first() else {
        return Err(ApiError::bad_request("the body of the request was empty"));
    };
    let value = kedge_yaml::to_value(doc).map_err(|e| cannot(e.to_string()))?;
    if !value.is_object() {
        return Err(cannot("the body is not a YAML mapping".into()));
    }
    Ok(value)
}

fn method_not_allowed() -> Response<Body> {
    error_response(&ApiError::method_not_allowed())
}

/// Handles one request (already authenticated, body collected).
pub(crate) async fn handle(api: Arc<Api>, req: Request<Bytes>) -> Response<Body> {
    let catalog = api.catalog();
    let (parts, body) = req.into_parts();
    let route = router::route(parts.uri.path(), &catalog);
    let accept = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_get = parts.method == Method::GET || parts.method == Method::HEAD;
    let discovery_doc = |value: Option<Value>| match value {
        Some(v) => json_response(200, &v),
        None => error_response(&ApiError::not_found_path()),
    };
    match route {
        Route::Resource(path) => {
            let Some(info) = catalog.resource(&path.group, &path.version, &path.resource) else {
                return error_response(&ApiError::not_found_path());
            };
            if !crate::crd::still_defined(&api, &info) {
                return error_response(&ApiError::not_found_path());
            }
            if path.namespace.is_some() && !info.namespaced {
                return error_response(&ApiError::not_found_path());
            }
            let ctx = Ctx {
                api,
                info,
                query: Query::parse(parts.uri.query()),
                headers: parts.headers,
                body,
                path,
            };
            let (hook_api, hook_info) = (ctx.api.clone(), ctx.info.clone());
            let resp = match resource(ctx, &parts.method).await {
                Ok(resp) => resp,
                Err(e) => error_response(&e),
            };
            if !is_get {
                crate::crd::after_write(&hook_api, &hook_info).await;
            }
            resp
        }
        _ if !is_get => method_not_allowed(),
        Route::Version => json_response(200, &discovery::version()),
        Route::Health => bytes_response(200, "text/plain; charset=utf-8", "ok"),
        Route::Api => match discovery::negotiate(accept) {
            Format::Legacy => json_response(200, &discovery::api_versions(&api.server_address)),
            f => aggregated_response(&discovery::aggregated(&catalog, true, f), f),
        },
        Route::Apis => match discovery::negotiate(accept) {
            Format::Legacy => json_response(200, &discovery::api_group_list(&catalog)),
            f => aggregated_response(&discovery::aggregated(&catalog, false, f), f),
        },
        Route::ApiVersion => discovery_doc(discovery::api_resource_list(&catalog, "", "v1")),
        Route::Group(g) => discovery_doc(discovery::api_group(&catalog, &g)),
        Route::GroupVersion(g, v) => discovery_doc(discovery::api_resource_list(&catalog, &g, &v)),
        Route::OpenApiV2 => {
            let docs = openapi::documents(&api).await;
            if openapi::wants_protobuf(accept) {
                bytes_response(
                    200,
                    kedge_schema::OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
                    docs.v2_protobuf(),
                )
            } else {
                bytes_response(200, "application/json", docs.v2_json())
            }
        }
        Route::OpenApiV3 => bytes_response(
            200,
            "application/json",
            openapi::documents(&api).await.v3_index(),
        ),
        Route::OpenApiV3Doc(g, v) => {
            match openapi::documents(&api).await.v3_group_version(&g, &v) {
                Some(doc) => bytes_response(200, "application/json", doc),
                None => error_response(&ApiError::not_found_path()),
            }
        }
        Route::NotFound => error_response(&ApiError::not_found_path()),
    }
}

fn aggregated_response(doc: &Value, format: Format) -> Response<Body> {
    let ct = match format {
        Format::AggregatedV2Beta1 => discovery::AGG_V2BETA1,
        _ => discovery::AGG_V2,
    };
    bytes_response(200, ct, serde_json::to_vec(doc).unwrap_or_default())
}

async fn resource(ctx: Ctx, method: &Method) -> Result<Response<Body>, ApiError> {
    let has_name = ctx.path.name.is_some();
    let sub = ctx.path.subresource.clone();
    // An unknown subresource is an unknown path (`POST
    // /api/v1/namespaces/default/nosuchresources` names no resource), 404
    // whatever the method.
    if let Some(s) = &sub
        && ctx.info.subresource(s).is_none()
    {
        return Err(ApiError::not_found_path());
    }
    let verb = match (method.as_str(), has_name) {
        ("GET" | "HEAD", false) if ctx.path.legacy_watch || ctx.query.flag("watch") => "watch",
        ("GET" | "HEAD", false) => "list",
        ("GET" | "HEAD", true) if ctx.path.legacy_watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("POST", false) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return Err(ApiError::method_not_allowed()),
    };
    if let Some(s) = &sub {
        let Some(info) = ctx.info.subresource(s) else {
            return Err(ApiError::not_found_path());
        };
        let ok = match verb {
            "get" => info.verbs.iter().any(|v| v == "get"),
            "update" => info.verbs.iter().any(|v| v == "update"),
            "patch" => info.verbs.iter().any(|v| v == "patch"),
            _ => false,
        };
        if !ok || !matches!(s.as_str(), "status" | "scale" | "finalize") {
            return Err(ApiError::method_not_allowed());
        }
        return match (s.as_str(), verb) {
            ("scale", "get") => scale::get(&ctx),
            ("scale", "update") => scale::update(&ctx).await,
            ("scale", "patch") => scale::patch(&ctx).await,
            (_, "get") => get::get(&ctx),
            (_, "update") => update::update(&ctx).await,
            (_, "patch") => patch::patch(&ctx).await,
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    if !ctx.info.has_verb(verb) {
        return Err(ApiError::method_not_allowed());
    }
    if matches!(verb, "create" | "update" | "patch") {
        crate::crd::check_field_validation(&ctx.info, ctx.query.get("fieldValidation"), &ctx.body)?;
    }
    match verb {
        "get" => get::get(&ctx),
        "list" => list::list(&ctx).await,
        "watch" => watch::watch(ctx).await,
        "create" => create::create(&ctx).await,
        "update" => update::update(&ctx).await,
        "patch" => patch::patch(&ctx).await,
        "delete" => delete::delete(&ctx).await,
        "deletecollection" => delete::delete_collection(&ctx).await,
        _ => Err(ApiError::method_not_allowed()),
    }
}
