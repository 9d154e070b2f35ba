//! Field selectors against objects of built-in kinds and custom resources
//! (data-driven: `tests/fixtures/fields/cases.json`).

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use kedge_core::{FieldSelector, GroupVersion};
use kedge_schema::fields;
use serde_json::{Value, json};

#[test]
fn field_selector_fixtures() -> Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fields/cases.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().context("cases")? {
        let kind = case["kind"].as_str().context("kind")?;
        let (gv, k) = kind.rsplit_once('/').context("kind")?;
        let gvk = GroupVersion::parse(gv)?.with_kind(k);
        let selector = FieldSelector::parse(case["selector"].as_str().context("selector")?)?;
        let got = selector.try_matches(|label| fields::field_value(&gvk, &case["object"], label));
        let ok = match (&got, case.get("error")) {
            (Err(e), Some(want)) => e.to_string() == want.as_str().unwrap_or_default(),
            (Ok(m), None) => Some(*m) == case["matches"].as_bool(),
            _ => false,
        };
        if !ok {
            failures.push(format!("{kind} {}: {got:?}", case["selector"]));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn selectable_fields_listed() {
    let pod = GroupVersion::new("", "v1").with_kind("Pod");
    let labels = fields::selectable_fields(&pod);
    assert_eq!(
        &labels[..3],
        ["metadata.name", "metadata.namespace", "spec.nodeName"]
    );
    assert!(labels.contains(&"status.podIP"));
    let cm = GroupVersion::new("", "v1").with_kind("ConfigMap");
    assert_eq!(
        fields::selectable_fields(&cm),
        ["metadata.name", "metadata.namespace"]
    );
}

#[test]
fn custom_resource_selectable_fields() {
    let mut crd = crate::kubectl::widget_crd();
    crd["spec"]["versions"][0]["selectableFields"] = json!([{"jsonPath": ".spec.color"}]);
    assert_eq!(fields::crd_selectable_fields(&crd, "v1"), ["spec.color"]);
    let obj = json!({"metadata": {"name": "w"}, "spec": {"color": "red"}});
    let sel = FieldSelector::parse("spec.color=red,metadata.name=w").unwrap();
    assert!(
        sel.try_matches(|l| fields::custom_resource_field_value(&crd, "v1", &obj, l))
            .unwrap()
    );
    let sel = FieldSelector::parse("spec.size=3").unwrap();
    assert!(
        sel.try_matches(|l| fields::custom_resource_field_value(&crd, "v1", &obj, l))
            .is_err()
    );
}
