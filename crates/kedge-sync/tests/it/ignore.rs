//! `ignoreDifferences` from `fixtures/ignore/<case>/`: rules, desired, live
//! and whether the resource is still out of sync; jq parsing and budget.

use kedge_sync::SyncError;
use kedge_sync::diff::{DiffConfig, diff_resource};
use kedge_sync::ignore::{JqPath, PathStep, ResourceIgnoreDifferences};
use kedge_sync::object::ResourceKey;
use serde_json::json;

use crate::{case_name, cases, json, yaml};

#[test]
fn fixtures_ignore_as_expected() {
    let mut failures = Vec::new();
    for dir in cases("ignore") {
        let rules: Vec<ResourceIgnoreDifferences> =
            serde_json::from_value(yaml(&dir.join("rules.yaml"))).unwrap();
        let desired = yaml(&dir.join("desired.yaml"));
        let live = yaml(&dir.join("live.yaml"));
        let expected = json(&dir.join("expected.json"))["modified"]
            .as_bool()
            .unwrap();
        let key = ResourceKey::of(&desired).unwrap();
        let config = DiffConfig {
            ignore: rules,
            ..DiffConfig::default()
        };
        let d = diff_resource(&key, Some(desired), Some(live), &config).unwrap();
        if d.modified != expected {
            failures.push(format!(
                "{}: modified={} diff:\n{}",
                case_name(&dir),
                d.modified,
                d.unified
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn jq_paths_enumerate_concrete_locations() {
    let v = json!({"spec": {"containers": [{"name": "a", "env": [1]}, {"name": "b", "env": [2, 3]}]},
                   "metadata": {"annotations": {"x.io/y": "1"}}});
    let p = JqPath::parse(".spec.containers[].env[1]").unwrap();
    assert_eq!(
        p.paths(&v).unwrap(),
        vec![vec![
            PathStep::Key("spec".into()),
            PathStep::Key("containers".into()),
            PathStep::Index(1),
            PathStep::Key("env".into()),
            PathStep::Index(1)
        ]]
    );
    let p = JqPath::parse(".metadata.annotations[\"x.io/y\"]").unwrap();
    assert_eq!(p.paths(&v).unwrap().len(), 1);
    let p = JqPath::parse(".spec.containers[] | select(.name != \"a\") | .env").unwrap();
    assert_eq!(p.paths(&v).unwrap().len(), 1);
}

#[test]
fn malformed_jq_is_an_error_naming_the_expression() {
    for bad in ["spec.x", ".spec[", ".a | select(.b ~ 1)", ".a | frobnicate"] {
        match JqPath::parse(bad) {
            Err(SyncError::Ignore { expression, .. }) => assert_eq!(expression, bad),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn jq_evaluation_is_bounded() {
    let big: Vec<_> = (0..400)
        .map(|i| json!({"items": (0..400).collect::<Vec<_>>(), "n": i}))
        .collect();
    let v = json!({"spec": {"list": big}});
    let p = JqPath::parse(".spec.list[].items[]").unwrap();
    match p.paths(&v) {
        Err(SyncError::Ignore { message, .. }) => assert!(message.contains("budget"), "{message}"),
        other => panic!(
            "expected a budget error, got {} paths",
            other.map(|p| p.len()).unwrap_or(0)
        ),
    }
}
