//! Untagged scalars: kustomize's replacements create new fields as YAML
//! nodes without a tag, holding only the copied text. Such a node is typed
//! from its text when the object is printed (`.5` prints as `0.5`), but a
//! later strategic merge over the object quotes it when YAML 1.1 would read
//! it as a non-string (`.5` then prints as `".5"`). The renderer keeps such
//! values as strings behind a marker character until one of those two
//! things happens.

use serde_json::Value;

const MARK: char = '\u{1}';

/// An untagged scalar holding `text`.
pub(crate) fn make(text: &str) -> Value {
    let mut s = String::with_capacity(text.len() + 1);
    s.push(MARK);
    s.push_str(text);
    Value::String(s)
}

/// The text of an untagged scalar, if `v` is one.
pub(crate) fn text(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => s.strip_prefix(MARK),
        _ => None,
    }
}

/// The value of `text` read as a plain YAML scalar.
pub(crate) fn typed(text: &str) -> Value {
    match kedge_yaml::resolve_plain(text) {
        kedge_yaml::Resolved::Null => Value::Null,
        kedge_yaml::Resolved::Bool(b) => Value::Bool(b),
        kedge_yaml::Resolved::Str => Value::String(text.to_string()),
        _ => {
            let doc = format!("v: {text}\n");
            kedge_yaml::parse_stream(&doc, &kedge_yaml::Limits::default())
                .ok()
                .and_then(|n| n.into_iter().next())
                .and_then(|n| kedge_yaml::to_value(&n).ok())
                .and_then(|v| v.get("v").cloned())
                .unwrap_or_else(|| Value::String(text.to_string()))
        }
    }
}

/// True when YAML 1.1 (go-yaml v2) would read `text` as something other
/// than a string.
fn nonstring_yaml11(text: &str) -> bool {
    const BOOLS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];
    if BOOLS.contains(&text) {
        return true;
    }
    if !matches!(kedge_yaml::resolve_plain(text), kedge_yaml::Resolved::Str) {
        return true;
    }
    // YAML 1.1 floats such as `1.`, `.5e3` and base-60 numbers.
    let t = text.trim_start_matches(['+', '-']);
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | ':' | 'e' | 'E' | '+' | '-'))
        && t.chars().any(|c| c.is_ascii_digit())
        && (t.contains('.') || t.contains(':'))
}

/// What a strategic merge does to an untagged scalar it walks over.
pub(crate) fn after_merge(v: &mut Value) {
    if let Some(t) = text(v)
        && nonstring_yaml11(t)
    {
        *v = Value::String(t.to_string());
    }
}

/// Replaces every untagged scalar by its typed value (printing, JSON patches).
pub(crate) fn resolve_all(v: &mut Value) {
    match v {
        Value::String(_) => {
            if let Some(t) = text(v) {
                *v = typed(t);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(resolve_all),
        Value::Object(m) => m.iter_mut().for_each(|(_, x)| resolve_all(x)),
        _ => {}
    }
}
