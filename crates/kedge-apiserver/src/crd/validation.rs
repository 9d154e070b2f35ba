//! Validation, defaulting and status of CustomResourceDefinition objects:
//! names, scope, versions (exactly one storage version), structural schemas
//! (every node typed, object root), immutable scope; `singular`/`listKind`
//! and conversion defaults; `acceptedNames`, `storedVersions` and the
//! NamesAccepted/Established conditions (transition times kept while a
//! condition does not change).

use serde_json::{Map, Value, json};

use super::regex::Pattern;
use crate::object;
use crate::status::Cause;

fn cause(reason: &'static str, field: &str, message: impl Into<String>) -> Cause {
    Cause {
        reason,
        message: message.into(),
        field: field.to_string(),
    }
}

fn dns_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && object::dns1123_label_errors(s).is_empty()
}

/// `SetDefaults_CustomResourceDefinition` and friends.
pub(crate) fn default_crd(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if names
            .get("singular")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            && !kind.is_empty()
        {
            names.insert("singular".into(), json!(kind.to_ascii_lowercase()));
        }
        if names
            .get("listKind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            && !kind.is_empty()
        {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    if spec.get("conversion").is_none_or(Value::is_null) {
        spec.insert("conversion".into(), json!({"strategy": "None"}));
    }
}

/// Structural-schema checks of one node.
fn structural(node: &Value, path: &str, root: bool, out: &mut Vec<Cause>) {
    let Some(m) = node.as_object() else {
        out.push(cause(
            "FieldValueInvalid",
            path,
            "Invalid value: must be an object",
        ));
        return;
    };
    let preserve = m
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    let int_or_string = m.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    if root && ty != "object" {
        out.push(cause(
            "FieldValueInvalid",
            &format!("{path}.type"),
            format!("Invalid value: \"{ty}\": must be object at the root"),
        ));
    }
    if ty.is_empty() && !preserve && !int_or_string {
        out.push(cause(
            "FieldValueRequired",
            &format!("{path}.type"),
            "Required value: must not be empty for specified object fields",
        ));
    }
    if !ty.is_empty()
        && !matches!(
            ty,
            "object" | "array" | "string" | "integer" | "number" | "boolean"
        )
    {
        out.push(cause(
            "FieldValueNotSupported",
            &format!("{path}.type"),
            format!("Unsupported value: \"{ty}\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\""),
        ));
    }
    if ty == "array" && m.get("items").is_none() {
        out.push(cause(
            "FieldValueRequired",
            &format!("{path}.items"),
            "Required value: must be specified",
        ));
    }
    if let Some(p) = m.get("pattern").and_then(Value::as_str)
        && Pattern::parse(p).is_none()
        && p.contains("(?")
    {
        out.push(cause(
            "FieldValueInvalid",
            &format!("{path}.pattern"),
            format!("Invalid value: \"{p}\": must be a valid regular expression"),
        ));
    }
    if m.get("properties").is_some()
        && m.get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
    {
        out.push(cause(
            "FieldValueForbidden",
            &format!("{path}.additionalProperties"),
            "Forbidden: additionalProperties and properties are mutual exclusive",
        ));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            structural(v, &format!("{path}.properties[{k}]"), false, out);
        }
    }
    if let Some(items) = m.get("items") {
        structural(items, &format!("{path}.items"), false, out);
    }
    if let Some(add) = m.get("additionalProperties").filter(|a| a.is_object()) {
        structural(add, &format!("{path}.additionalProperties"), false, out);
    }
}

/// Validates a CRD (`old` is the live object on update).
pub(crate) fn validate_crd(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    let group = spec["group"].as_str().unwrap_or("");
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or("");
    let kind = names["kind"].as_str().unwrap_or("");
    let name = object::name(obj);
    if !plural.is_empty() && !group.is_empty() && name != format!("{plural}.{group}") {
        out.push(cause(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if group.is_empty() {
        out.push(cause("FieldValueRequired", "spec.group", "Required value"));
    } else if !group.contains('.') {
        out.push(cause(
            "FieldValueInvalid",
            "spec.group",
            format!("Invalid value: \"{group}\": should be a domain with at least one dot"),
        ));
    } else if !object::dns1123_subdomain_errors(group).is_empty() {
        out.push(cause("FieldValueInvalid", "spec.group", format!("Invalid value: \"{group}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")));
    }
    if plural.is_empty() {
        out.push(cause(
            "FieldValueRequired",
            "spec.names.plural",
            "Required value",
        ));
    } else if !dns_label(plural) {
        out.push(cause("FieldValueInvalid", "spec.names.plural", format!("Invalid value: \"{plural}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")));
    }
    if let Some(s) = names["singular"]
        .as_str()
        .filter(|s| !s.is_empty() && !dns_label(s))
    {
        out.push(cause("FieldValueInvalid", "spec.names.singular", format!("Invalid value: \"{s}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")));
    }
    if kind.is_empty() {
        out.push(cause(
            "FieldValueRequired",
            "spec.names.kind",
            "Required value",
        ));
    }
    if (kind.is_empty() || kind == names["listKind"].as_str().unwrap_or("")) && !kind.is_empty() {
        out.push(cause(
            "FieldValueInvalid",
            "spec.names.listKind",
            format!("Invalid value: \"{kind}\": kind and listKind may not be the same"),
        ));
    }
    for (i, s) in names["shortNames"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let s = s.as_str().unwrap_or("");
        if !dns_label(s) {
            out.push(cause("FieldValueInvalid", &format!("spec.names.shortNames[{i}]"), format!("Invalid value: \"{s}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")));
        }
    }
    match spec["scope"].as_str() {
        Some("Cluster" | "Namespaced") => {}
        Some(other) => out.push(cause(
            "FieldValueNotSupported",
            "spec.scope",
            format!(
                "Unsupported value: \"{other}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        )),
        None => out.push(cause("FieldValueRequired", "spec.scope", "Required value")),
    }
    if let Some(old) = old {
        let old_scope = old.pointer("/spec/scope").and_then(Value::as_str);
        if old_scope.is_some() && old_scope != spec["scope"].as_str() {
            out.push(cause(
                "FieldValueInvalid",
                "spec.scope",
                format!(
                    "Invalid value: \"{}\": field is immutable",
                    spec["scope"].as_str().unwrap_or("")
                ),
            ));
        }
        let old_group = old.pointer("/spec/group").and_then(Value::as_str);
        if old_group.is_some() && old_group != Some(group) {
            out.push(cause(
                "FieldValueInvalid",
                "spec.group",
                format!("Invalid value: \"{group}\": field is immutable"),
            ));
        }
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        out.push(cause(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have exactly one version marked as storage version",
        ));
    } else {
        let storage = versions
            .iter()
            .filter(|v| v["storage"].as_bool() == Some(true))
            .count();
        if storage != 1 {
            out.push(cause(
                "FieldValueInvalid",
                "spec.versions",
                format!(
                    "Invalid value: {}: must have exactly one version marked as storage version",
                    json!(
                        versions
                            .iter()
                            .map(|v| v["name"].clone())
                            .collect::<Vec<_>>()
                    )
                ),
            ));
        }
        let mut seen = Vec::new();
        for (i, v) in versions.iter().enumerate() {
            let vn = v["name"].as_str().unwrap_or("");
            let path = format!("spec.versions[{i}]");
            if !dns_label(vn) {
                out.push(cause("FieldValueInvalid", &format!("{path}.name"), format!("Invalid value: \"{vn}\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")));
            }
            if seen.contains(&vn) {
                out.push(cause(
                    "FieldValueDuplicate",
                    &format!("{path}.name"),
                    format!("Duplicate value: \"{vn}\""),
                ));
            }
            seen.push(vn);
            match v.pointer("/schema/openAPIV3Schema") {
                None | Some(Value::Null) => {
                    out.push(cause(
                        "FieldValueRequired",
                        &format!("{path}.schema.openAPIV3Schema"),
                        "Required value: schemas are required",
                    ));
                }
                Some(s) => structural(s, &format!("{path}.schema.openAPIV3Schema"), true, &mut out),
            }
            for (j, c) in v["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let cp = format!("{path}.additionalPrinterColumns[{j}]");
                if c["name"].as_str().is_none_or(str::is_empty) {
                    out.push(cause(
                        "FieldValueRequired",
                        &format!("{cp}.name"),
                        "Required value",
                    ));
                }
                match c["type"].as_str() {
                    Some("integer" | "number" | "string" | "boolean" | "date") => {}
                    Some(t) => out.push(cause("FieldValueNotSupported", &format!("{cp}.type"), format!("Unsupported value: \"{t}\": supported values: \"boolean\", \"date\", \"integer\", \"number\", \"string\""))),
                    None => out.push(cause("FieldValueRequired", &format!("{cp}.type"), "Required value")),
                }
                if c["jsonPath"].as_str().is_none_or(str::is_empty) {
                    out.push(cause(
                        "FieldValueRequired",
                        &format!("{cp}.JSONPath"),
                        "Required value",
                    ));
                }
            }
        }
    }
    out
}

fn condition(kind: &str, reason: &str, message: &str, old: &[Value], now: &str) -> Value {
    let time = old
        .iter()
        .find(|c| c["type"].as_str() == Some(kind) && c["status"].as_str() == Some("True"))
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(now)
        .to_string();
    json!({"type": kind, "status": "True", "lastTransitionTime": time, "reason": reason, "message": message})
}

/// Sets `status` from the spec: accepted names, stored versions, conditions.
pub(crate) fn set_status(obj: &mut Value, old: Option<&Value>) {
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    let names = spec["names"].as_object().cloned().unwrap_or_default();
    let mut accepted = Map::new();
    for k in [
        "plural",
        "singular",
        "shortNames",
        "kind",
        "listKind",
        "categories",
    ] {
        if let Some(v) = names.get(k) {
            accepted.insert(k.into(), v.clone());
        }
    }
    let old_status = old
        .and_then(|o| o.get("status"))
        .cloned()
        .unwrap_or(json!({}));
    let old_conditions = old_status["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut stored: Vec<Value> = old_status["storedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(storage) = spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["storage"].as_bool() == Some(true))
        && !stored.contains(&storage["name"])
    {
        stored.push(storage["name"].clone());
    }
    let now = object::now_rfc3339();
    let mut conditions = vec![
        condition(
            "NamesAccepted",
            "NoConflicts",
            "no conflicts found",
            &old_conditions,
            &now,
        ),
        condition(
            "Established",
            "InitialNamesAccepted",
            "the initial names have been accepted",
            &old_conditions,
            &now,
        ),
    ];
    if object::meta_str(obj, "deletionTimestamp").is_some() {
        conditions.push(condition(
            "Terminating",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
            &old_conditions,
            &now,
        ));
    }
    obj["status"] =
        json!({"conditions": conditions, "acceptedNames": accepted, "storedVersions": stored});
}

fn names_of(crd: &Value) -> (Vec<String>, Vec<String>) {
    // (resource names: plural, singular, short names; kind names: kind, listKind)
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let s = |k: &str| names[k].as_str().unwrap_or("").to_string();
    let mut resources = vec![s("plural"), s("singular")];
    resources.extend(
        names["shortNames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from),
    );
    resources.retain(|n| !n.is_empty());
    let mut kinds = vec![s("kind"), s("listKind")];
    kinds.retain(|n| !n.is_empty());
    (resources, kinds)
}

/// The first name of `crd` already taken by one of `earlier` (CRDs of the
/// same group accepted before it): `(reason, message)` as the naming
/// controller reports it.
pub(crate) fn name_conflict(crd: &Value, earlier: &[&Value]) -> Option<(&'static str, String)> {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let (mut taken_resources, mut taken_kinds) = (Vec::new(), Vec::new());
    for other in earlier {
        let (r, k) = names_of(other);
        taken_resources.extend(r);
        taken_kinds.extend(k);
    }
    let check = |field: &str, taken: &[String]| {
        names[field]
            .as_str()
            .filter(|n| !n.is_empty() && taken.iter().any(|t| t == n))
            .map(String::from)
    };
    if let Some(n) = check("plural", &taken_resources) {
        return Some(("PluralConflict", format!("\"{n}\" is already in use")));
    }
    if let Some(n) = check("singular", &taken_resources) {
        return Some(("SingularConflict", format!("\"{n}\" is already in use")));
    }
    for short in names["shortNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if taken_resources.iter().any(|t| t == short) {
            return Some((
                "ShortNamesConflict",
                format!("\"{short}\" is already in use"),
            ));
        }
    }
    if let Some(n) = check("kind", &taken_kinds) {
        return Some(("KindConflict", format!("\"{n}\" is already in use")));
    }
    if let Some(n) = check("listKind", &taken_kinds) {
        return Some(("ListKindConflict", format!("\"{n}\" is already in use")));
    }
    None
}

/// Marks a CRD's names as not accepted (and the CRD as not established).
pub(crate) fn reject_names(obj: &mut Value, reason: &str, message: &str) {
    let now = object::now_rfc3339();
    let old: Vec<Value> = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let cond = |kind: &str, reason: &str, message: &str| {
        let time = old
            .iter()
            .find(|c| c["type"].as_str() == Some(kind) && c["status"].as_str() == Some("False"))
            .and_then(|c| c["lastTransitionTime"].as_str())
            .unwrap_or(&now)
            .to_string();
        json!({"type": kind, "status": "False", "lastTransitionTime": time, "reason": reason, "message": message})
    };
    let conditions = vec![
        cond("NamesAccepted", reason, message),
        cond("Established", "NotAccepted", "not all names are accepted"),
    ];
    let stored = obj
        .pointer("/status/storedVersions")
        .cloned()
        .unwrap_or(json!([]));
    obj["status"] = json!({"conditions": conditions, "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored});
}

/// Whether the CRD is established (served).
pub(crate) fn is_established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_none_or(|cs| {
            cs.iter()
                .find(|c| c["type"].as_str() == Some("Established"))
                .is_none_or(|c| c["status"].as_str() == Some("True"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}}]}})
    }

    #[test]
    fn valid_crd_gets_defaults_and_status() {
        let mut c = crd();
        default_crd(&mut c);
        assert!(validate_crd(&c, None).is_empty());
        set_status(&mut c, None);
        assert_eq!(c["spec"]["names"]["listKind"], json!("WidgetList"));
        assert_eq!(c["status"]["acceptedNames"]["singular"], json!("widget"));
        assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
        assert_eq!(c["status"]["conditions"][1]["type"], json!("Established"));
    }

    #[test]
    fn invalid_crds() {
        let mut c = crd();
        c["metadata"]["name"] = json!("widget.example.com");
        c["spec"]["versions"][0]["storage"] = json!(false);
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = json!({});
        default_crd(&mut c);
        let fields: Vec<String> = validate_crd(&c, None)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "metadata.name",
                "spec.versions",
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].type",
            ]
        );
    }
}
