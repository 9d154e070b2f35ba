//! Name validation against data-driven fixtures with apimachinery's exact
//! messages, plus object-meta name checks.

use anyhow::{Result, ensure};
use kedge_core::validation::{self, FieldError};
use serde_json::Value;

fn run_rule(rule: &str, value: &str, prefix: bool) -> Vec<String> {
    match rule {
        "dns1123Subdomain" => validation::is_dns1123_subdomain(value),
        "dns1123Label" => validation::is_dns1123_label(value),
        "dns1035Label" => validation::is_dns1035_label(value),
        "qualifiedName" => validation::is_qualified_name(value),
        "labelValue" => validation::is_valid_label_value(value),
        "pathSegment" => validation::is_valid_path_segment_name(value),
        "dnsSubdomainName" => validation::name_is_dns_subdomain(value, prefix),
        "dnsLabelName" => validation::name_is_dns_label(value, prefix),
        "dns1035Name" => validation::name_is_dns1035_label(value, prefix),
        other => vec![format!("unknown rule {other}")],
    }
}

#[test]
fn name_rule_fixtures() -> Result<()> {
    let cases = crate::cases("validation/names")?;
    ensure!(cases.len() >= 25);
    let mut failures = Vec::new();
    for case in &cases {
        let value = match case.get("repeat").and_then(Value::as_array) {
            Some(r) => r[0]
                .as_str()
                .unwrap_or_default()
                .repeat(r[1].as_u64().unwrap_or(0) as usize),
            None => case["value"].as_str().unwrap_or_default().to_string(),
        };
        let rule = case["rule"].as_str().unwrap_or_default();
        let prefix = case["prefix"].as_bool().unwrap_or(false);
        let got = run_rule(rule, &value, prefix);
        let want: Vec<String> = serde_json::from_value(case["errors"].clone())?;
        if got != want {
            failures.push(format!("{rule} {value:?}: got {got:?}"));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn object_meta_names() {
    let errs = validation::validate_object_meta_names(
        None,
        None,
        Some("x"),
        true,
        validation::name_is_dns_subdomain,
    );
    assert_eq!(
        errs,
        vec![FieldError::required(
            "metadata.name",
            "name or generateName is required"
        )]
    );
    assert_eq!(
        errs[0].to_string(),
        "metadata.name: Required value: name or generateName is required"
    );
    let errs = validation::validate_object_meta_names(
        Some("a"),
        None,
        Some("x"),
        false,
        validation::name_is_dns_subdomain,
    );
    assert_eq!(
        errs[0].to_string(),
        "metadata.namespace: Forbidden: not allowed on this type"
    );
    let errs = validation::validate_object_meta_names(
        Some("web"),
        Some("web-"),
        Some("Bad"),
        true,
        validation::name_is_dns_subdomain,
    );
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "metadata.namespace");
    assert_eq!(validation::generated_name("web-", "x7k2q"), "web-x7k2q");
}
