//! Secret masking in diffs, from `fixtures/mask/<case>/`: no secret value
//! (raw or base64) appears in any rendered text; unchanged values mask the
//! same on both sides and changed values differently. Plus the redactor
//! over free text.

use base64::Engine as _;
use kedge_sync::diff::{DiffConfig, diff_resource};
use kedge_sync::mask::Redactor;
use kedge_sync::object::ResourceKey;
use serde_json::Value;

use crate::{case_name, cases, json, yaml, yaml_str_docs};

fn mask_of(yaml_text: &str, key: &str) -> String {
    let docs = yaml_str_docs(yaml_text);
    docs[0]["data"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn fixtures_never_show_secret_values() {
    for dir in cases("mask") {
        let name = case_name(&dir);
        let desired = yaml(&dir.join("desired.yaml"));
        let live = yaml(&dir.join("live.yaml"));
        let expected = json(&dir.join("expected.json"));
        let config = DiffConfig {
            sensitive_annotations: expected["sensitive"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
            ..DiffConfig::default()
        };
        let key = ResourceKey::of(&desired).unwrap();
        let d = diff_resource(&key, Some(desired), Some(live), &config).unwrap();
        let all = format!(
            "{}\n{}\n{}\n{}",
            d.desired,
            d.live,
            d.unified,
            serde_json::to_string(&d).unwrap()
        );
        for secret in expected["secrets"].as_array().unwrap() {
            let s = secret.as_str().unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(s);
            assert!(!all.contains(s), "{name}: {s:?} leaked:\n{all}");
            assert!(
                !all.contains(&b64),
                "{name}: base64 of {s:?} leaked:\n{all}"
            );
        }
        for k in expected["changed"].as_array().unwrap() {
            let k = k.as_str().unwrap();
            let (a, b) = (mask_of(&d.desired, k), mask_of(&d.live, k));
            assert!(
                a.chars().all(|c| c == '+') && a.len() >= 8,
                "{name}: {k} mask {a:?}"
            );
            assert_ne!(a, b, "{name}: changed {k} must mask differently");
        }
        for k in expected["unchanged"].as_array().unwrap() {
            let k = k.as_str().unwrap();
            let (a, b) = (mask_of(&d.desired, k), mask_of(&d.live, k));
            assert!(a.starts_with("++++++++"), "{name}: {k} mask {a:?}");
            assert_eq!(a, b, "{name}: unchanged {k} must mask identically");
        }
        let _ = expected["modified"].as_bool();
    }
}

#[test]
fn unchanged_secret_is_in_sync() {
    let dir = crate::fixtures("mask").join("unchanged");
    let desired = yaml(&dir.join("desired.yaml"));
    let mut live = yaml(&dir.join("live.yaml"));
    live.as_object_mut().unwrap().shift_remove("type");
    let key = ResourceKey::of(&desired).unwrap();
    let d = diff_resource(&key, Some(desired), Some(live), &DiffConfig::default()).unwrap();
    assert!(!d.modified, "{}", d.unified);
    assert_eq!(d.unified, "");
}

#[test]
fn redactor_replaces_raw_and_encoded_values() {
    let r = Redactor::new();
    let secret: Value = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"a": "aHVudGVyMg=="}, "stringData": {"b": "correct horse"}
    });
    r.learn(&secret, &[]);
    let text = "password hunter2 and aHVudGVyMg== and correct horse and Y29ycmVjdCBob3JzZQ==";
    let out = r.redact(text);
    for s in [
        "hunter2",
        "aHVudGVyMg==",
        "correct horse",
        "Y29ycmVjdCBob3JzZQ==",
    ] {
        assert!(!out.contains(s), "{out}");
    }
    assert!(out.starts_with("password ++++++++ and"), "{out}");
}
