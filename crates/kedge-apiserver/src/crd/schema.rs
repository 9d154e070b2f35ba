//! Structural-schema handling of custom objects, in the API server's order:
//! prune unknown fields, apply `default`s, then validate (type, nullable,
//! required, enum, pattern, bounds, lengths, item and property counts).
//!
//! Errors name the field path the way the real server does
//! (`spec.replicas`, `spec.items[1].name`) and carry its messages, so
//! kubectl prints the same `is invalid:` lines.

use serde_json::{Map, Value};

use super::regex::Pattern;
use crate::status::Cause;

fn ext_bool(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Whether a schema node lets unknown fields through.
fn keeps_unknown(node: &Map<String, Value>) -> bool {
    ext_bool(node, "x-kubernetes-preserve-unknown-fields")
}

/// The unknown field paths of `value` under `schema` (for `fieldValidation=Strict`).
pub(crate) fn unknown_fields(
    schema: &Value,
    value: &Value,
    root: bool,
    path: &str,
    out: &mut Vec<String>,
) {
    let Some(node) = schema.as_object() else {
        return;
    };
    match value {
        Value::Object(obj) => {
            let props = node.get("properties").and_then(Value::as_object);
            let additional = node.get("additionalProperties");
            let embedded = root || ext_bool(node, "x-kubernetes-embedded-resource");
            for (k, v) in obj {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let field_path = join(path, k);
                if let Some(sub) = props.and_then(|p| p.get(k)) {
                    unknown_fields(sub, v, false, &field_path, out);
                } else if let Some(add) = additional.filter(|a| a.is_object()) {
                    unknown_fields(add, v, false, &field_path, out);
                } else if !keeps_unknown(node) && additional != Some(&Value::Bool(true)) {
                    out.push(field_path);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = node.get("items") {
                for (i, v) in items.iter().enumerate() {
                    unknown_fields(item_schema, v, false, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// Removes fields the schema does not know (unless preserved).
pub(crate) fn prune(schema: &Value, value: &mut Value, root: bool) {
    let Some(node) = schema.as_object() else {
        return;
    };
    match value {
        Value::Object(obj) => {
            let props = node.get("properties").and_then(Value::as_object);
            let additional = node.get("additionalProperties");
            let embedded = root || ext_bool(node, "x-kubernetes-embedded-resource");
            let keep_all = keeps_unknown(node) || additional == Some(&Value::Bool(true));
            obj.retain(|k, _| {
                (embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                    || props.is_some_and(|p| p.contains_key(k))
                    || additional.is_some_and(Value::is_object)
                    || keep_all
            });
            for (k, v) in obj.iter_mut() {
                // An object's own apiVersion, kind and metadata are never
                // pruned, even when the schema declares them.
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(sub) = props.and_then(|p| p.get(k)) {
                    prune(sub, v, false);
                } else if let Some(add) = additional.filter(|a| a.is_object()) {
                    prune(add, v, false);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = node.get("items") {
                for v in items {
                    prune(item_schema, v, false);
                }
            }
        }
        _ => {}
    }
}

/// Fills in `default`s of missing properties, recursively (never inside
/// the `metadata` of the object itself or of embedded resources).
pub(crate) fn default(schema: &Value, value: &mut Value, root: bool) {
    let Some(node) = schema.as_object() else {
        return;
    };
    let embedded = root || ext_bool(node, "x-kubernetes-embedded-resource");
    let own = |k: &str| embedded && matches!(k, "apiVersion" | "kind" | "metadata");
    match value {
        Value::Object(obj) => {
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if !own(k)
                        && !obj.contains_key(k)
                        && let Some(d) = sub.get("default")
                    {
                        obj.insert(k.clone(), d.clone());
                    }
                }
                for (k, v) in obj.iter_mut() {
                    if !own(k)
                        && let Some(sub) = props.get(k)
                    {
                        default(sub, v, false);
                    }
                }
            } else if let Some(add) = node.get("additionalProperties").filter(|a| a.is_object()) {
                for v in obj.values_mut() {
                    default(add, v, false);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = node.get("items") {
                for v in items {
                    default(item_schema, v, false);
                }
            }
        }
        _ => {}
    }
}

/// How the real server prints a value in messages.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Object(_) => "\"object\"".into(),
        Value::Array(_) => "\"array\"".into(),
        other => other.to_string(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        _ => true,
    }
}

fn cause(reason: &'static str, field: &str, message: String) -> Cause {
    Cause {
        reason,
        message,
        field: field.to_string(),
    }
}

fn invalid(field: &str, v: &Value, detail: String) -> Cause {
    cause(
        "FieldValueInvalid",
        field,
        format!("Invalid value: {}: {detail}", show(v)),
    )
}

/// Validates `value` against the schema node; appends causes.
pub(crate) fn validate(
    schema: &Value,
    value: &Value,
    root: bool,
    path: &str,
    out: &mut Vec<Cause>,
) {
    let Some(node) = schema.as_object() else {
        return;
    };
    let shown = if path.is_empty() { "<root>" } else { path };
    if value.is_null() {
        if ext_bool(node, "nullable") || root {
            return;
        }
        if let Some(ty) = node.get("type").and_then(Value::as_str) {
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!("Invalid value: \"null\": {shown} in body must be of type {ty}: \"null\""),
            ));
        }
        return;
    }
    if ext_bool(node, "x-kubernetes-int-or-string") {
        if !(value.is_string() || type_matches("integer", value)) {
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: {}: {shown} in body must be of type integer,string: {}",
                    show(value),
                    show(value)
                ),
            ));
            return;
        }
    } else if let Some(ty) = node.get("type").and_then(Value::as_str)
        && !type_matches(ty, value)
    {
        out.push(cause(
            "FieldValueTypeInvalid",
            path,
            format!(
                "Invalid value: \"{}\": {shown} in body must be of type {ty}: \"{}\"",
                type_name(value),
                type_name(value)
            ),
        ));
        return;
    }
    if let Some(Value::Array(options)) = node.get("enum")
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(show).collect();
        out.push(cause(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                show(value),
                list.join(", ")
            ),
        ));
    }
    match value {
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(max) = node.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                out.push(cause(
                    "FieldValueTooLong",
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(min) = node.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                out.push(invalid(
                    path,
                    value,
                    format!("{shown} in body should be at least {min} chars long"),
                ));
            }
            if let Some(p) = node.get("pattern").and_then(Value::as_str)
                && let Some(re) = Pattern::parse(p)
                && !re.is_match(s)
            {
                out.push(invalid(
                    path,
                    value,
                    format!("{shown} in body should match '{p}'"),
                ));
            }
        }
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            let excl_min = ext_bool(node, "exclusiveMinimum");
            let excl_max = ext_bool(node, "exclusiveMaximum");
            if let Some(min) = node.get("minimum").and_then(Value::as_f64)
                && (f < min || (excl_min && f == min))
            {
                let rel = if excl_min {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                out.push(invalid(
                    path,
                    value,
                    format!("{shown} in body should be {rel} {}", node["minimum"]),
                ));
            }
            if let Some(max) = node.get("maximum").and_then(Value::as_f64)
                && (f > max || (excl_max && f == max))
            {
                let rel = if excl_max {
                    "less than"
                } else {
                    "less than or equal to"
                };
                out.push(invalid(
                    path,
                    value,
                    format!("{shown} in body should be {rel} {}", node["maximum"]),
                ));
            }
            if let Some(m) = node.get("multipleOf").and_then(Value::as_f64)
                && m != 0.0
                && (f / m).fract() != 0.0
            {
                out.push(invalid(
                    path,
                    value,
                    format!(
                        "{shown} in body should be a multiple of {}",
                        node["multipleOf"]
                    ),
                ));
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(max) = node.get("maxItems").and_then(Value::as_u64)
                && n > max
            {
                out.push(cause(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {n}: must have at most {max} items"),
                ));
            }
            if let Some(min) = node.get("minItems").and_then(Value::as_u64)
                && n < min
            {
                out.push(invalid(
                    path,
                    value,
                    format!("{shown} in body should have at least {min} items"),
                ));
            }
            if let Some(item_schema) = node.get("items") {
                for (i, v) in items.iter().enumerate() {
                    validate(item_schema, v, false, &format!("{path}[{i}]"), out);
                }
            }
            let set = node.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set");
            if set || ext_bool(node, "uniqueItems") {
                for (i, v) in items.iter().enumerate() {
                    if items[..i].contains(v) {
                        out.push(cause(
                            "FieldValueDuplicate",
                            &format!("{path}[{i}]"),
                            format!("Duplicate value: {}", show(v)),
                        ));
                    }
                }
            }
        }
        Value::Object(obj) => {
            if let Some(Value::Array(required)) = node.get("required") {
                for r in required.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        out.push(cause(
                            "FieldValueRequired",
                            &join(path, r),
                            "Required value".into(),
                        ));
                    }
                }
            }
            let n = obj.len() as u64;
            if let Some(max) = node.get("maxProperties").and_then(Value::as_u64)
                && n > max
            {
                out.push(cause(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {n}: must have at most {max} items"),
                ));
            }
            if let Some(min) = node.get("minProperties").and_then(Value::as_u64)
                && n < min
            {
                out.push(invalid(
                    path,
                    value,
                    format!("{shown} in body should have at least {min} properties"),
                ));
            }
            let props = node.get("properties").and_then(Value::as_object);
            let additional = node.get("additionalProperties").filter(|a| a.is_object());
            let embedded = root || ext_bool(node, "x-kubernetes-embedded-resource");
            for (k, v) in obj {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(sub) = props.and_then(|p| p.get(k)) {
                    validate(sub, v, false, &join(path, k), out);
                } else if let Some(add) = additional {
                    validate(add, v, false, &join(path, k), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }}}})
    }

    #[test]
    fn declared_root_metadata_is_kept_whole() {
        let schema = json!({"type": "object", "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}, "labels": {"type": "object", "default": {"x": "y"}}}},
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}});
        let mut obj = json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a", "annotations": {"k": "v"}, "finalizers": ["f"]}, "spec": {"size": 1, "junk": 2}});
        prune(&schema, &mut obj, true);
        default(&schema, &mut obj, true);
        assert_eq!(
            obj["metadata"],
            json!({"name": "a", "annotations": {"k": "v"}, "finalizers": ["f"]})
        );
        assert_eq!(obj["spec"], json!({"size": 1}));
    }

    #[test]
    fn prune_default_validate() {
        let mut obj = json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a"}, "spec": {"size": 0, "junk": 1, "name": "ABCDEFG", "tags": ["a", "b", "c"], "extra": {"any": 1}}, "top": 1});
        let mut unknown = Vec::new();
        unknown_fields(&schema(), &obj, true, "", &mut unknown);
        assert_eq!(unknown, vec!["spec.junk".to_string(), "top".to_string()]);
        prune(&schema(), &mut obj, true);
        assert!(obj.get("top").is_none() && obj["spec"].get("junk").is_none());
        assert_eq!(obj["spec"]["extra"], json!({"any": 1}));
        default(&schema(), &mut obj, true);
        assert_eq!(obj["spec"]["color"], json!("red"));
        let mut causes = Vec::new();
        validate(&schema(), &obj, true, "", &mut causes);
        let fields: Vec<(&str, &str)> = causes
            .iter()
            .map(|c| (c.field.as_str(), c.reason))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("spec.size", "FieldValueInvalid"),
                ("spec.name", "FieldValueTooLong"),
                ("spec.name", "FieldValueInvalid"),
                ("spec.tags", "FieldValueTooMany"),
            ]
        );
        assert_eq!(
            causes[0].message,
            "Invalid value: 0: spec.size in body should be greater than or equal to 1"
        );
    }

    #[test]
    fn types_and_required() {
        let obj = json!({"spec": {"color": "green", "size": "big"}});
        let mut causes = Vec::new();
        validate(&schema(), &obj, true, "", &mut causes);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["spec.color", "spec.size"]);
        assert_eq!(
            causes[1].message,
            "Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
        );
        let mut causes = Vec::new();
        validate(&schema(), &json!({"spec": {}}), true, "", &mut causes);
        assert_eq!(causes[0].field, "spec.size");
        assert_eq!(causes[0].reason, "FieldValueRequired");
    }
}
