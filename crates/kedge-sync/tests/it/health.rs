//! Built-in health rules from fixtures, and Argo CD's aggregation order.

use kedge_sync::health::{HealthChecks, HealthCode, aggregate};
use serde_json::Value;

use crate::{case_name, cases, json, yaml};

#[test]
fn fixtures_assess_as_expected() {
    let checks = HealthChecks::new();
    let mut failures = Vec::new();
    for dir in cases("health") {
        let obj = yaml(&dir.join("object.yaml"));
        let expected = json(&dir.join("expected.json"));
        let got = checks.assess(&obj).expect("built-in rules never fail");
        let ok = match (&got, &expected["status"]) {
            (None, Value::Null) => true,
            (Some(h), Value::String(s)) => {
                HealthCode::parse(s) == Some(h.status)
                    && expected
                        .get("message")
                        .is_none_or(|m| m.as_str() == Some(h.message.as_str()))
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: got {got:?}, expected {expected}",
                case_name(&dir)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn aggregation_follows_argo_cd_order() {
    use HealthCode::*;
    assert_eq!(aggregate(&[]), Healthy);
    assert_eq!(aggregate(&[Healthy, Suspended]), Suspended);
    assert_eq!(aggregate(&[Suspended, Progressing, Healthy]), Progressing);
    assert_eq!(aggregate(&[Progressing, Missing]), Missing);
    assert_eq!(aggregate(&[Missing, Degraded, Progressing]), Degraded);
    assert_eq!(aggregate(&[Degraded, Unknown]), Unknown);
}

#[test]
fn wildcard_lua_checks_apply_when_no_exact_check_exists() {
    let mut checks = HealthChecks::new();
    checks
        .add_lua(
            "*.example.com",
            "*",
            "return {status = \"Suspended\", message = \"wildcard\"}",
        )
        .unwrap();
    checks
        .add_lua(
            "db.example.com",
            "Cluster",
            "return {status = \"Degraded\", message = \"exact\"}",
        )
        .unwrap();
    let obj = |api: &str, kind: &str| serde_json::json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}});
    let h = checks
        .assess(&obj("db.example.com/v1", "Cluster"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.status, h.message.as_str()),
        (HealthCode::Degraded, "exact")
    );
    let h = checks
        .assess(&obj("cache.example.com/v1", "Redis"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.status, h.message.as_str()),
        (HealthCode::Suspended, "wildcard")
    );
    // A built-in kind outside the wildcard keeps its built-in rule.
    let h = checks.assess(&obj("batch/v1", "Job")).unwrap().unwrap();
    assert_eq!(h.status, HealthCode::Progressing);
    // A Lua check overrides a built-in rule for its group/kind.
    checks
        .add_lua("batch", "Job", "return {status = \"Healthy\"}")
        .unwrap();
    let h = checks.assess(&obj("batch/v1", "Job")).unwrap().unwrap();
    assert_eq!(h.status, HealthCode::Healthy);
}
