//! Label and field selectors against data-driven fixtures: parse results and
//! errors (observed from kubectl 1.33, which embeds apimachinery's parser),
//! matching, metav1 `LabelSelector` conversion and field-selector escaping.

use std::collections::BTreeMap;

use anyhow::{Result, bail, ensure};
use kedge_core::selector::{FieldSelector, LabelSelector, Operator};
use serde_json::Value;

fn op_name(op: Operator) -> &'static str {
    match op {
        Operator::DoesNotExist => "DoesNotExist",
        Operator::Equals => "Equals",
        Operator::DoubleEquals => "DoubleEquals",
        Operator::In => "In",
        Operator::NotEquals => "NotEquals",
        Operator::NotIn => "NotIn",
        Operator::Exists => "Exists",
        Operator::GreaterThan => "GreaterThan",
        Operator::LessThan => "LessThan",
    }
}

#[test]
fn label_selector_parse_fixtures() -> Result<()> {
    let cases = crate::cases("selectors/label-parse")?;
    ensure!(cases.len() >= 30);
    let mut failures = Vec::new();
    for case in &cases {
        let selector = case["selector"].as_str().unwrap_or_default();
        let got = LabelSelector::parse(selector);
        match (&got, case.get("error")) {
            (Err(e), Some(want)) if e.to_string() == want.as_str().unwrap_or_default() => {}
            (Ok(sel), None) => {
                let reqs: Vec<Value> = sel
                    .requirements()
                    .iter()
                    .map(|r| {
                        serde_json::json!([
                            r.key(),
                            op_name(r.operator()),
                            r.values().collect::<Vec<_>>()
                        ])
                    })
                    .collect();
                if Value::Array(reqs.clone()) != case["requirements"] {
                    failures.push(format!("{selector:?}: got {reqs:?}"));
                }
                // The canonical form parses back to the same selector.
                let again = LabelSelector::parse(&sel.to_string())?;
                if &again != sel {
                    failures.push(format!("{selector:?}: {sel} does not round-trip"));
                }
            }
            (got, want) => failures.push(format!("{selector:?}: got {got:?}, want error {want:?}")),
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn label_selector_match_fixtures() -> Result<()> {
    let cases = crate::cases("selectors/label-match")?;
    let mut failures = Vec::new();
    for case in &cases {
        let selector = if let Some(s) = case.get("selector").and_then(Value::as_str) {
            LabelSelector::parse(s)
        } else {
            LabelSelector::from_metav1(&case["labelSelector"])
        };
        let selector = match (selector, case.get("error")) {
            (Err(e), Some(want)) => {
                if e.to_string() != want.as_str().unwrap_or_default() {
                    failures.push(format!("{case}: error {e}"));
                }
                continue;
            }
            (Ok(s), None) => s,
            (got, _) => {
                failures.push(format!("{case}: got {got:?}"));
                continue;
            }
        };
        let labels: BTreeMap<String, String> = serde_json::from_value(case["labels"].clone())?;
        let want = case["matches"].as_bool().unwrap_or_default();
        if selector.matches(&labels) != want {
            failures.push(format!("{case}: expected matches={want}"));
        }
        // The same answer through a JSON label map.
        let json_labels = case["labels"].as_object().cloned().unwrap_or_default();
        if selector.matches(&json_labels) != want {
            failures.push(format!("{case}: JSON labels disagree"));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn field_selector_fixtures() -> Result<()> {
    let cases = crate::cases("selectors/field")?;
    let mut failures = Vec::new();
    for case in &cases {
        let selector = case["selector"].as_str().unwrap_or_default();
        match (FieldSelector::parse(selector), case.get("error")) {
            (Err(e), Some(want)) => {
                if e.to_string() != want.as_str().unwrap_or_default() {
                    failures.push(format!("{selector:?}: error {e}"));
                }
            }
            (Ok(sel), None) => {
                if sel.to_string() != case["string"].as_str().unwrap_or_default() {
                    failures.push(format!("{selector:?}: string {sel}"));
                }
                let fields = case["fields"].as_object().cloned().unwrap_or_default();
                let got = sel.matches(|f| fields.get(f).and_then(Value::as_str));
                if got != case["matches"].as_bool().unwrap_or_default() {
                    failures.push(format!("{selector:?}: matches {got}"));
                }
            }
            (got, want) => failures.push(format!("{selector:?}: got {got:?}, want {want:?}")),
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn field_selector_unsupported_field() -> Result<()> {
    let sel = FieldSelector::parse("metadata.name=a,spec.nodeName=n")?;
    let obj = serde_json::json!({"metadata": {"name": "a"}});
    match sel.try_matches(|f| kedge_core::selector::object_meta_field(&obj, f)) {
        Err(e) => ensure!(e.to_string() == "field label not supported: spec.nodeName"),
        Ok(v) => bail!("expected an error, got {v}"),
    }
    let sel = FieldSelector::parse("metadata.name=a")?;
    ensure!(sel.try_matches(|f| kedge_core::selector::object_meta_field(&obj, f))?);
    ensure!(sel.requires_exact_match("metadata.name") == Some("a"));
    Ok(())
}

#[test]
fn escaping_round_trips() -> Result<()> {
    for value in ["plain", "a,b", "x=y", "back\\slash", ",=\\", ""] {
        let escaped = kedge_core::selector::escape_field_value(value);
        ensure!(kedge_core::selector::unescape_field_value(&escaped)? == value);
        let sel = FieldSelector::parse(&format!("f={escaped}"))?;
        ensure!(sel.requirements()[0].value == value, "{value:?}");
    }
    Ok(())
}

#[test]
fn metav1_round_trip() -> Result<()> {
    let sel = LabelSelector::parse("a,!b,c in (z),d notin (y,x),e=1,f==2")?;
    let json = sel.to_metav1()?;
    ensure!(
        json == serde_json::json!({"matchLabels": {"e": "1", "f": "2"},
            "matchExpressions": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "DoesNotExist"},
                {"key": "c", "operator": "In", "values": ["z"]}, {"key": "d", "operator": "NotIn", "values": ["x", "y"]}]}),
        "{json}"
    );
    let back = LabelSelector::from_metav1(&json)?;
    ensure!(
        back.to_string() == "a,!b,c in (z),d notin (x,y),e=1,f=2",
        "{back}"
    );
    // kubectl 1.33 `set selector` reports these conversions as errors.
    ensure!(
        LabelSelector::parse("a!=b")?
            .to_metav1()
            .unwrap_err()
            .to_string()
            == "\"!=\" is not a valid label selector operator"
    );
    ensure!(
        LabelSelector::parse("a<1")?
            .to_metav1()
            .unwrap_err()
            .to_string()
            == "\"lt\" isn't supported in label selectors"
    );
    Ok(())
}
