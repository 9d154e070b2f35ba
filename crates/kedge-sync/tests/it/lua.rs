//! Lua health scripts in Argo CD's conventions, from
//! `fixtures/lua/<case>/{health.lua,object.yaml,expected.json}`; scripts
//! that escape the sandbox, loop forever or allocate without bound fail
//! with a clear error.

use std::time::Instant;

use kedge_sync::health::lua::LuaHealthCheck;
use kedge_sync::health::{HealthCode, HealthError};

use crate::{case_name, cases, json, yaml};

#[test]
fn corpus_evaluates_as_expected() {
    let dirs = cases("lua");
    assert!(dirs.len() >= 20, "the corpus has {} scripts", dirs.len());
    let mut failures = Vec::new();
    for dir in dirs {
        let name = case_name(&dir);
        let script = std::fs::read_to_string(dir.join("health.lua")).unwrap();
        let obj = yaml(&dir.join("object.yaml"));
        let expected = json(&dir.join("expected.json"));
        let started = Instant::now();
        let got = LuaHealthCheck::new(&name, &script).and_then(|c| c.evaluate(&obj));
        let ok = match (&got, expected.get("error").and_then(|e| e.as_str())) {
            (Ok(h), None) => {
                HealthCode::parse(expected["status"].as_str().unwrap()) == Some(h.status)
                    && expected["message"].as_str().unwrap_or("") == h.message
            }
            (Err(HealthError::Script { .. }), Some("script")) => true,
            (Err(HealthError::InstructionLimit { .. }), Some("instructions")) => true,
            (Err(HealthError::MemoryLimit { .. }), Some("memory")) => true,
            (Err(HealthError::InvalidResult { .. }), Some("result")) => true,
            _ => false,
        };
        assert!(
            started.elapsed().as_secs() < 20,
            "{name} ran for {:?}",
            started.elapsed()
        );
        if !ok {
            failures.push(format!("{name}: got {got:?}, expected {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn limit_errors_are_worded_clearly() {
    let obj = serde_json::json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let looping = LuaHealthCheck::new("example.io/Widget", "while true do end")
        .unwrap()
        .with_limits(100_000, 8 << 20);
    let e = looping.evaluate(&obj).unwrap_err().to_string();
    assert_eq!(
        e,
        "health script for example.io/Widget: instruction limit of 100000 exceeded"
    );
    let hungry = LuaHealthCheck::new(
        "example.io/Widget",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
    )
    .unwrap()
    .with_limits(u64::MAX, 1 << 20);
    let e = hungry.evaluate(&obj).unwrap_err().to_string();
    assert_eq!(
        e,
        "health script for example.io/Widget: memory limit of 1048576 bytes exceeded"
    );
}

#[test]
fn syntax_errors_are_reported_at_registration() {
    let e = LuaHealthCheck::new("example.io/Widget", "return {status = ").unwrap_err();
    assert!(matches!(e, HealthError::Script { .. }), "{e}");
}

/// `fixtures/lua-config/argocd-cm.yaml` (an Argo CD `argocd-cm` with
/// per-kind keys and the older block) assessed against `cases.yaml`.
#[test]
fn argocd_cm_health_customizations_load() {
    use kedge_sync::HealthChecks;

    let dir = crate::fixtures("lua-config");
    let cm = yaml(&dir.join("argocd-cm.yaml"));
    let data: Vec<(&str, &str)> = cm["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let checks = HealthChecks::from_config_map(data.iter().copied()).unwrap();
    let cases = crate::yaml_docs(&dir.join("cases.yaml"));
    assert_eq!(cases.len(), 7);
    for case in cases {
        let got = checks
            .assess(&case["object"])
            .unwrap()
            .expect("a rule applies");
        assert_eq!(
            (Some(got.status), got.message.as_str()),
            (
                HealthCode::parse(case["status"].as_str().unwrap()),
                case["message"].as_str().unwrap()
            ),
            "{}",
            case["object"]["metadata"]["name"]
        );
    }

    // A broken script fails the whole configuration, naming its kind.
    let e = HealthChecks::from_config_map([(
        "resource.customizations.health.example.io_Gadget",
        "return {status = ",
    )])
    .unwrap_err()
    .to_string();
    assert!(e.contains("example.io/Gadget"), "{e}");
    let e =
        HealthChecks::from_config_map([("resource.customizations", "- not a map\n")]).unwrap_err();
    assert!(matches!(e, HealthError::Config { .. }), "{e}");
    let e = HealthChecks::from_config_map([("resource.customizations.health.example.io_", "x")])
        .unwrap_err();
    assert!(matches!(e, HealthError::Config { .. }), "{e}");
}
