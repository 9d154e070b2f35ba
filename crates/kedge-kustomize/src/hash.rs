//! The generator name suffix: the first 10 hex digits of SHA-256 over Go's
//! `json.Marshal` of a small map (sorted keys, HTML-escaped `<`, `>`, `&`),
//! with `0→g 1→h 3→k a→m e→t` so the suffix never looks like a number.
//! kustomize v5.5 always hashes an empty name (a path-lookup quirk), so only
//! the kind, data and type count.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `s` as a Go `encoding/json` string literal.
pub(crate) fn go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go `json.Marshal` of a JSON value with map keys sorted.
pub(crate) fn go_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(out, it);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(out, k);
                out.push(':');
                go_json(out, &m[*k]);
            }
            out.push('}');
        }
    }
}

fn encode(digest: &[u8]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

fn text_map(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::Object(m) => Some(Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), Value::String(crate::resource::scalar_text(x))))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// The hash suffix of a generated ConfigMap or Secret (or any other object).
pub(crate) fn resource_hash(obj: &Value) -> String {
    let mut obj = obj.clone();
    for f in ["data", "binaryData", "stringData"] {
        if let Some(m) = text_map(obj.get(f)) {
            obj[f] = m;
        }
    }
    let obj = &obj;
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut m = serde_json::Map::new();
    // A missing data field hashes as the empty string, as in kustomize.
    let empty = || Value::String(String::new());
    match kind {
        "ConfigMap" => {
            m.insert("kind".into(), Value::String("ConfigMap".into()));
            m.insert("name".into(), Value::String(String::new()));
            m.insert(
                "data".into(),
                obj.get("data").cloned().unwrap_or_else(empty),
            );
            if obj.get("immutable") == Some(&Value::Bool(true)) {
                m.insert("immutable".into(), Value::Bool(true));
            }
            if let Some(Value::Object(b)) = obj.get("binaryData")
                && !b.is_empty()
            {
                m.insert("binaryData".into(), Value::Object(b.clone()));
            }
        }
        "Secret" => {
            m.insert("kind".into(), Value::String("Secret".into()));
            m.insert("name".into(), Value::String(String::new()));
            m.insert(
                "type".into(),
                obj.get("type")
                    .cloned()
                    .unwrap_or(Value::String(String::new())),
            );
            m.insert(
                "data".into(),
                obj.get("data").cloned().unwrap_or_else(empty),
            );
            if obj.get("immutable") == Some(&Value::Bool(true)) {
                m.insert("immutable".into(), Value::Bool(true));
            }
            if let Some(Value::Object(b)) = obj.get("stringData")
                && !b.is_empty()
            {
                m.insert("stringData".into(), Value::Object(b.clone()));
            }
        }
        _ => {
            let mut s = String::new();
            go_json(&mut s, obj);
            return encode(&Sha256::digest(s.as_bytes()));
        }
    }
    let mut s = String::new();
    go_json(&mut s, &Value::Object(m));
    encode(&Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let mut s = String::new();
        go_json_string(&mut s, "a<b>&\"\n\u{1}é");
        assert_eq!(s, "\"a\\u003cb\\u003e\\u0026\\\"\\n\\u0001é\"");
    }
}
