//! The `meta/v1` `Status` object and the error constructors of
//! apimachinery's `api/errors` package.
//!
//! Every failed API request answers with a `Status` body whose `code` is also
//! the HTTP status. Clients parse `reason` and print `message`, so the
//! constructors reproduce apimachinery's wording exactly (`configmaps "x" not
//! found`, `Operation cannot be fulfilled on …`). Serialization follows the
//! Go struct's field order and `omitempty` rules, so the JSON matches a real
//! server's byte for byte. [`Status`] is also a Rust error type, letting
//! server code use `?` all the way to the HTTP boundary.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::gvk::{GroupKind, GroupResource};
use crate::validation::{FieldError, aggregate_message, go_quote};

/// `Operation cannot be fulfilled …` detail for a stale resourceVersion.
pub const OPTIMISTIC_LOCK_ERROR_MSG: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// One cause of a failure (`metav1.StatusCause`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCause {
    /// Machine-readable reason, e.g. `FieldValueRequired`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The field the cause is about, e.g. `spec.selector`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// `metav1.StatusDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// The object's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The resource (plural) or kind, depending on the error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The object's UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Causes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Suggested retry delay.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_after_seconds: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// Well-known `Status.reason` values (`metav1.StatusReason*`).
pub mod reason {
    /// 404.
    pub const NOT_FOUND: &str = "NotFound";
    /// 409 on create.
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    /// 409 on a stale write or an apply conflict.
    pub const CONFLICT: &str = "Conflict";
    /// 422.
    pub const INVALID: &str = "Invalid";
    /// 400.
    pub const BAD_REQUEST: &str = "BadRequest";
    /// 405.
    pub const METHOD_NOT_ALLOWED: &str = "MethodNotAllowed";
    /// 406.
    pub const NOT_ACCEPTABLE: &str = "NotAcceptable";
    /// 415.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UnsupportedMediaType";
    /// 413.
    pub const REQUEST_ENTITY_TOO_LARGE: &str = "RequestEntityTooLarge";
    /// 410.
    pub const GONE: &str = "Gone";
    /// 410 for a too-old resourceVersion or continue token.
    pub const EXPIRED: &str = "Expired";
    /// 403.
    pub const FORBIDDEN: &str = "Forbidden";
    /// 401.
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// 500.
    pub const INTERNAL_ERROR: &str = "InternalError";
    /// 504.
    pub const TIMEOUT: &str = "Timeout";
    /// 500 for a server-side timeout.
    pub const SERVER_TIMEOUT: &str = "ServerTimeout";
    /// 429.
    pub const TOO_MANY_REQUESTS: &str = "TooManyRequests";
    /// 503.
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
}

/// The `meta/v1` `Status` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Always `Status`.
    pub kind: String,
    /// Always `v1`.
    pub api_version: String,
    /// List metadata; `{}` in errors.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: i32,
}

impl Status {
    fn failure(code: i32, reason: &str, message: String, details: Option<StatusDetails>) -> Self {
        Self {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: Map::new(),
            status: "Failure".into(),
            message,
            reason: reason.into(),
            details,
            code,
        }
    }

    fn resource_details(resource: &GroupResource, name: &str) -> StatusDetails {
        StatusDetails {
            name: name.into(),
            group: resource.group.clone(),
            kind: resource.resource.clone(),
            ..Default::default()
        }
    }

    /// A `Success` status (the body of most DELETE responses), with details
    /// naming the deleted object.
    pub fn success(details: Option<StatusDetails>) -> Self {
        Self {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: Map::new(),
            status: "Success".into(),
            message: String::new(),
            reason: String::new(),
            details,
            code: 0,
        }
    }

    /// 404 `<resource> "<name>" not found`.
    pub fn not_found(resource: &GroupResource, name: &str) -> Self {
        Self::failure(
            404,
            reason::NOT_FOUND,
            format!("{resource} {} not found", go_quote(name)),
            Some(Self::resource_details(resource, name)),
        )
    }

    /// 404 for an unknown path: `the server could not find the requested resource`.
    pub fn not_found_path() -> Self {
        Self::failure(
            404,
            reason::NOT_FOUND,
            "the server could not find the requested resource".into(),
            Some(StatusDetails::default()),
        )
    }

    /// 409 `<resource> "<name>" already exists`.
    pub fn already_exists(resource: &GroupResource, name: &str) -> Self {
        Self::failure(
            409,
            reason::ALREADY_EXISTS,
            format!("{resource} {} already exists", go_quote(name)),
            Some(Self::resource_details(resource, name)),
        )
    }

    /// 409 `Operation cannot be fulfilled on <resource> "<name>": <detail>`.
    pub fn conflict(resource: &GroupResource, name: &str, detail: &str) -> Self {
        Self::failure(
            409,
            reason::CONFLICT,
            format!(
                "Operation cannot be fulfilled on {resource} {}: {detail}",
                go_quote(name)
            ),
            Some(Self::resource_details(resource, name)),
        )
    }

    /// 409 for a stale `resourceVersion` (the optimistic-lock message).
    pub fn conflict_modified(resource: &GroupResource, name: &str) -> Self {
        Self::conflict(resource, name, OPTIMISTIC_LOCK_ERROR_MSG)
    }

    /// 409 for server-side apply conflicts (`NewApplyConflict`): the causes
    /// carry reason `FieldManagerConflict`.
    pub fn apply_conflict(causes: Vec<StatusCause>, message: &str) -> Self {
        Self::failure(
            409,
            reason::CONFLICT,
            message.into(),
            Some(StatusDetails {
                causes,
                ..Default::default()
            }),
        )
    }

    /// 422 `<Kind.group> "<name>" is invalid: <errors>`; details carry the
    /// kind (not the resource) and one cause per field error.
    pub fn invalid(kind: &GroupKind, name: &str, errors: &[FieldError]) -> Self {
        let causes = errors
            .iter()
            .map(|e| StatusCause {
                reason: e.kind.cause_type().into(),
                message: e.body(),
                field: e.field.clone(),
            })
            .collect();
        let message = match aggregate_message(errors) {
            None => format!("{kind} {} is invalid", go_quote(name)),
            Some(agg) => format!("{kind} {} is invalid: {agg}", go_quote(name)),
        };
        Self::failure(
            422,
            reason::INVALID,
            message,
            Some(StatusDetails {
                name: name.into(),
                group: kind.group.clone(),
                kind: kind.kind.clone(),
                causes,
                ..Default::default()
            }),
        )
    }

    /// 400 with the given message.
    pub fn bad_request(message: &str) -> Self {
        Self::failure(400, reason::BAD_REQUEST, message.into(), None)
    }

    /// 405 `<action> is not supported on resources of kind "<resource>"`.
    pub fn method_not_supported(resource: &GroupResource, action: &str) -> Self {
        Self::failure(
            405,
            reason::METHOD_NOT_ALLOWED,
            format!(
                "{action} is not supported on resources of kind {}",
                go_quote(&resource.to_string())
            ),
            Some(StatusDetails {
                group: resource.group.clone(),
                kind: resource.resource.clone(),
                ..Default::default()
            }),
        )
    }

    /// 406 `only the following media types are accepted: <types>`.
    pub fn not_acceptable(accepted: &[&str]) -> Self {
        Self::failure(
            406,
            reason::NOT_ACCEPTABLE,
            format!(
                "only the following media types are accepted: {}",
                accepted.join(", ")
            ),
            None,
        )
    }

    /// 415 `the body of the request was in an unknown format - accepted media types include: <types>`.
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Self::failure(
            415,
            reason::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
            None,
        )
    }

    /// 413 `Request entity too large: <message>`.
    pub fn request_entity_too_large(message: &str) -> Self {
        Self::failure(
            413,
            reason::REQUEST_ENTITY_TOO_LARGE,
            format!("Request entity too large: {message}"),
            None,
        )
    }

    /// 410 reason `Gone`.
    pub fn gone(message: &str) -> Self {
        Self::failure(410, reason::GONE, message.into(), None)
    }

    /// 410 reason `Expired` (`NewResourceExpired`).
    pub fn expired(message: &str) -> Self {
        Self::failure(410, reason::EXPIRED, message.into(), None)
    }

    /// 410 `too old resource version: <requested> (<oldest>)`, as sent on watches.
    pub fn too_old_resource_version(requested: u64, oldest: u64) -> Self {
        Self::expired(&format!("too old resource version: {requested} ({oldest})"))
    }

    /// 403 `<resource> "<name>" is forbidden: <detail>` (the resource and
    /// name parts are dropped when empty).
    pub fn forbidden(resource: &GroupResource, name: &str, detail: &str) -> Self {
        let message = if resource.is_empty() {
            format!("forbidden: {detail}")
        } else if name.is_empty() {
            format!("{resource} is forbidden: {detail}")
        } else {
            format!("{resource} {} is forbidden: {detail}", go_quote(name))
        };
        Self::failure(
            403,
            reason::FORBIDDEN,
            message,
            Some(Self::resource_details(resource, name)),
        )
    }

    /// 403 for a create in a namespace that is being deleted (the
    /// `NamespaceLifecycle` admission answer), with a `NamespaceTerminating`
    /// cause on `metadata.namespace`.
    pub fn namespace_terminating(resource: &GroupResource, name: &str, namespace: &str) -> Self {
        Self::forbidden(
            resource,
            name,
            &format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
        )
        .with_cause(StatusCause {
            reason: "NamespaceTerminating".into(),
            message: format!("namespace {namespace} is being terminated"),
            field: "metadata.namespace".into(),
        })
    }

    /// 401 with the message, or `not authorized` when empty.
    pub fn unauthorized(message: &str) -> Self {
        let message = if message.is_empty() {
            "not authorized"
        } else {
            message
        };
        Self::failure(401, reason::UNAUTHORIZED, message.into(), None)
    }

    /// 500 `Internal error occurred: <detail>`, with the detail as a cause.
    pub fn internal_error(detail: &str) -> Self {
        Self::failure(
            500,
            reason::INTERNAL_ERROR,
            format!("Internal error occurred: {detail}"),
            Some(StatusDetails {
                causes: vec![StatusCause {
                    message: detail.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        )
    }

    /// 504 `Timeout: <message>`.
    pub fn timeout(message: &str, retry_after_seconds: i32) -> Self {
        Self::failure(
            504,
            reason::TIMEOUT,
            format!("Timeout: {message}"),
            Some(StatusDetails {
                retry_after_seconds,
                ..Default::default()
            }),
        )
    }

    /// 500 reason `ServerTimeout` (`NewServerTimeout`).
    pub fn server_timeout(
        resource: &GroupResource,
        operation: &str,
        retry_after_seconds: i32,
    ) -> Self {
        Self::failure(
            500,
            reason::SERVER_TIMEOUT,
            format!(
                "The {operation} operation against {resource} could not be completed at this time, please try again."
            ),
            Some(StatusDetails {
                name: operation.into(),
                group: resource.group.clone(),
                kind: resource.resource.clone(),
                retry_after_seconds,
                ..Default::default()
            }),
        )
    }

    /// 429 `Too many requests: <message>`.
    pub fn too_many_requests(message: &str, retry_after_seconds: i32) -> Self {
        Self::failure(
            429,
            reason::TOO_MANY_REQUESTS,
            format!("Too many requests: {message}"),
            Some(StatusDetails {
                retry_after_seconds,
                ..Default::default()
            }),
        )
    }

    /// 503 with the given message.
    pub fn service_unavailable(message: &str) -> Self {
        Self::failure(503, reason::SERVICE_UNAVAILABLE, message.into(), None)
    }

    /// Adds a cause (builder style).
    pub fn with_cause(mut self, cause: StatusCause) -> Self {
        self.details
            .get_or_insert_with(Default::default)
            .causes
            .push(cause);
        self
    }

    /// Sets `details.uid` (builder style).
    pub fn with_uid(mut self, uid: &str) -> Self {
        self.details.get_or_insert_with(Default::default).uid = uid.into();
        self
    }

    /// The JSON body.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("Status serializes")
    }

    /// The HTTP status code (500 when unset).
    pub fn http_code(&self) -> u16 {
        u16::try_from(self.code)
            .ok()
            .filter(|c| (100..600).contains(c))
            .unwrap_or(500)
    }

    /// True when the reason is `NotFound`.
    pub fn is_not_found(&self) -> bool {
        self.reason == reason::NOT_FOUND
    }

    /// True when the reason is `AlreadyExists`.
    pub fn is_already_exists(&self) -> bool {
        self.reason == reason::ALREADY_EXISTS
    }

    /// True when the reason is `Conflict`.
    pub fn is_conflict(&self) -> bool {
        self.reason == reason::CONFLICT
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Status {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn not_found_json_matches_server() {
        let s = Status::not_found(&GroupResource::new("", "configmaps"), "x");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"configmaps"},"code":404}"#
        );
    }

    #[test]
    fn invalid_has_causes() {
        let s = Status::invalid(
            &GroupKind::new("apps", "Deployment"),
            "bad",
            &[FieldError::required("spec.selector", "")],
        );
        assert_eq!(
            s.message,
            "Deployment.apps \"bad\" is invalid: spec.selector: Required value"
        );
        assert_eq!(
            s.to_value()["details"],
            json!({"name": "bad", "group": "apps", "kind": "Deployment",
                "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"}]})
        );
    }
}
