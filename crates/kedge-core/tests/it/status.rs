//! `meta/v1` Status constructors compared with the JSON bodies a real API
//! server sends (data-driven: `tests/fixtures/status/cases.json`).

use anyhow::{Context, Result, bail, ensure};
use kedge_core::validation::FieldError;
use kedge_core::{GroupKind, GroupResource, Status};
use serde_json::Value;

fn s<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key].as_str().unwrap_or_default()
}

fn strings(case: &Value, key: &str) -> Vec<String> {
    serde_json::from_value(case[key].clone()).unwrap_or_default()
}

fn field_error(e: &Value) -> Result<FieldError> {
    let field = s(e, "field");
    let detail = s(e, "detail");
    Ok(match s(e, "type") {
        "Required" => FieldError::required(field, detail),
        "Invalid" => FieldError::invalid(field, e["value"].clone(), detail),
        "Forbidden" => FieldError::forbidden(field, detail),
        other => bail!("unknown field error type {other}"),
    })
}

fn build(case: &Value) -> Result<Status> {
    let resource = GroupResource::new(s(case, "group"), s(case, "resource"));
    let types = strings(case, "types");
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    Ok(match s(case, "call") {
        "not_found" => Status::not_found(&resource, s(case, "name")),
        "not_found_path" => Status::not_found_path(),
        "already_exists" => Status::already_exists(&resource, s(case, "name")),
        "conflict_modified" => Status::conflict_modified(&resource, s(case, "name")),
        "invalid" => {
            let errors = case["errors"]
                .as_array()
                .context("errors")?
                .iter()
                .map(field_error)
                .collect::<Result<Vec<_>>>()?;
            Status::invalid(
                &GroupKind::new(s(case, "group"), s(case, "kind")),
                s(case, "name"),
                &errors,
            )
        }
        "bad_request" => Status::bad_request(s(case, "message")),
        "method_not_supported" => Status::method_not_supported(&resource, s(case, "action")),
        "not_acceptable" => Status::not_acceptable(&types),
        "unsupported_media_type" => Status::unsupported_media_type(&types),
        "request_entity_too_large" => Status::request_entity_too_large(s(case, "message")),
        "too_old_resource_version" => Status::too_old_resource_version(
            case["requested"].as_u64().context("requested")?,
            case["oldest"].as_u64().context("oldest")?,
        ),
        "gone" => Status::gone(s(case, "message")),
        "forbidden" => Status::forbidden(&resource, s(case, "name"), s(case, "detail")),
        "namespace_terminating" => {
            Status::namespace_terminating(&resource, s(case, "name"), s(case, "namespace"))
        }
        "unauthorized" => Status::unauthorized(s(case, "message")),
        "internal_error" => Status::internal_error(s(case, "message")),
        "timeout" => Status::timeout(
            s(case, "message"),
            case["retry"].as_i64().unwrap_or(0) as i32,
        ),
        other => bail!("unknown call {other}"),
    })
}

#[test]
fn status_fixtures() -> Result<()> {
    let cases = crate::cases("status")?;
    ensure!(cases.len() >= 15);
    let mut failures = Vec::new();
    for case in &cases {
        let status = build(case)?;
        let got = serde_json::to_string(&status)?;
        let want = serde_json::to_string(&case["expected"])?;
        if got != want {
            failures.push(format!("{}:\n got  {got}\n want {want}", s(case, "call")));
        }
        // The body parses back into the same Status.
        let back: Status = serde_json::from_str(&got)?;
        if back != status {
            failures.push(format!("{}: does not round-trip", s(case, "call")));
        }
        if status.http_code() as i64 != case["expected"]["code"].as_i64().unwrap_or(0) {
            failures.push(format!("{}: http code", s(case, "call")));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn status_helpers() {
    let s = Status::not_found(&GroupResource::new("", "pods"), "p");
    assert!(s.is_not_found() && !s.is_conflict());
    assert_eq!(s.to_string(), "pods \"p\" not found");
    let ok = Status::success(None).with_uid("u1");
    assert_eq!(ok.to_value()["details"]["uid"], "u1");
    assert_eq!(ok.to_value()["status"], "Success");
}
