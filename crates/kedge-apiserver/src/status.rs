//! API errors as `meta/v1` `Status` bodies with the real server's codes,
//! reasons and message formats (see the error table in the control-plane
//! research notes). Every failing request ends here.

use serde_json::{Map, Value, json};

use crate::catalog::ResourceInfo;

/// One cause of an `Invalid` error.
#[derive(Debug, Clone)]
pub(crate) struct Cause {
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) field: String,
}

/// A request failure, rendered as a `Status`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

fn details(name: &str, info: &ResourceInfo) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !info.group.is_empty() {
        d.insert("group".into(), json!(info.group));
    }
    d.insert("kind".into(), json!(info.plural));
    Value::Object(d)
}

impl ApiError {
    pub(crate) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub(crate) fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub(crate) fn not_found(info: &ResourceInfo, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", info.qualified()),
        )
        .with_details(details(name, info))
    }

    pub(crate) fn namespace_not_found(name: &str) -> ApiError {
        ApiError::new(404, "NotFound", format!("namespaces \"{name}\" not found"))
            .with_details(json!({"name": name, "kind": "namespaces"}))
    }

    pub(crate) fn not_found_path() -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub(crate) fn already_exists(info: &ResourceInfo, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", info.qualified()),
        )
        .with_details(details(name, info))
    }

    pub(crate) fn conflict(info: &ResourceInfo, name: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                info.qualified()
            ),
        )
        .with_details(details(name, info))
    }

    pub(crate) fn conflict_message(info: &ResourceInfo, name: &str, message: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {message}",
                info.qualified()
            ),
        )
        .with_details(details(name, info))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub(crate) fn invalid(info: &ResourceInfo, name: &str, causes: Vec<Cause>) -> ApiError {
        let summary: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let message = match summary.len() {
            0 => format!("{} \"{name}\" is invalid", info.qualified_kind()),
            1 => format!(
                "{} \"{name}\" is invalid: {}",
                info.qualified_kind(),
                summary[0]
            ),
            _ => format!(
                "{} \"{name}\" is invalid: [{}]",
                info.qualified_kind(),
                summary.join(", ")
            ),
        };
        let mut d = Map::new();
        d.insert("name".into(), json!(name));
        if !info.group.is_empty() {
            d.insert("group".into(), json!(info.group));
        }
        d.insert("kind".into(), json!(info.kind));
        d.insert(
            "causes".into(),
            Value::Array(
                causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect(),
            ),
        );
        ApiError::new(422, "Invalid", message).with_details(Value::Object(d))
    }

    /// A patch whose result does not decode into the kind's Go type, as
    /// the real server reports it: `"" is invalid: patch: Invalid value`.
    pub(crate) fn invalid_patch(patch: &[u8], why: &str) -> ApiError {
        let shown = String::from_utf8_lossy(&patch[..patch.len().min(1024)]).into_owned();
        let message = format!("Invalid value: \"{shown}\": {why}");
        ApiError::new(422, "Invalid", format!(" \"\" is invalid: patch: {message}")).with_details(
            json!({"causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]}),
        )
    }

    pub(crate) fn forbidden(info: &ResourceInfo, name: &str, why: &str) -> ApiError {
        ApiError::new(
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", info.qualified()),
        )
        .with_details(details(name, info))
    }

    pub(crate) fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub(crate) fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
        .with_details(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": content_type}]}))
    }

    pub(crate) fn too_large() -> ApiError {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            "the request entity is too large",
        )
    }

    pub(crate) fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    pub(crate) fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub(crate) fn timeout(message: impl Into<String>) -> ApiError {
        ApiError::new(504, "Timeout", message)
    }

    /// The `Status` object.
    pub(crate) fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        m.insert("reason".into(), json!(self.reason));
        if let Some(d) = &self.details {
            m.insert("details".into(), d.clone());
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }
}

/// The `Status` of a successful delete.
pub(crate) fn success_delete(info: &ResourceInfo, name: &str, uid: &str) -> Value {
    let mut d = details(name, info);
    if let Some(m) = d.as_object_mut() {
        m.insert("uid".into(), json!(uid));
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}

/// Maps a store error on one object to its API error.
pub(crate) fn from_store(
    err: kedge_store::StoreError,
    info: &ResourceInfo,
    name: &str,
) -> ApiError {
    use kedge_store::StoreError as E;
    match err {
        E::AlreadyExists { .. } => ApiError::already_exists(info, name),
        E::NotFound { .. } => ApiError::not_found(info, name),
        E::Conflict { .. } => ApiError::conflict(info, name),
        E::Compacted { requested, compacted } => {
            ApiError::expired(format!("too old resource version: {requested} ({compacted})"))
        }
        E::FutureRevision { requested, current } => ApiError::timeout(format!(
            "Too large resource version: {requested}, current: {current}"
        ))
        .with_details(json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1})),
        other => ApiError::internal(other.to_string()),
    }
}
