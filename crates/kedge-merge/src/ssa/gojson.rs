//! JSON text exactly as Go's `encoding/json` (and apimachinery's
//! standard-library-compatible jsoniter) writes it: HTML characters and the
//! two JavaScript line separators escaped as `\u00XX`/`\u2028`, control
//! characters as `\n`, `\r`, `\t` or `\u00XX`, floats in the shortest form
//! with Go's exponent rules, and object keys either in the value's own order
//! or sorted (as Go marshals `map[string]any`). FieldsV1 keys (`k:`/`v:`)
//! and the `last-applied-configuration` annotation must match these bytes.

use serde_json::{Number, Value};

/// Appends `s` as a quoted JSON string with Go's escaping.
pub(crate) fn write_string(out: &mut String, s: &str) {
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

/// Appends a number the way Go formats an `int64` or a `float64`.
pub(crate) fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        write_float(out, f);
    }
}

fn write_float(out: &mut String, f: f64) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: strconv 'e' with the shortest precision, then `e-07` → `e-7`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                out.push_str(mantissa);
                out.push('e');
                if exp.starts_with('-') {
                    out.push_str(exp);
                } else {
                    out.push('+');
                    out.push_str(exp);
                }
            }
            None => out.push_str(&s),
        }
    } else {
        out.push_str(&format!("{f}"));
    }
}

/// Appends `v` as compact JSON; with `sort_keys`, object keys are sorted
/// bytewise as Go sorts `map[string]any` keys.
pub(crate) fn write_value(out: &mut String, v: &Value, sort_keys: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, sort_keys);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort_keys {
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            }
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v, sort_keys);
            }
            out.push('}');
        }
    }
}

/// `v` as compact JSON with sorted keys (Go's `json.Marshal` of unstructured data).
pub(crate) fn to_string_sorted(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, true);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_like_go() {
        let mut s = String::new();
        write_string(&mut s, "a<b>&\"\\\n\u{1}\u{2028}é");
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"\\\n\u0001\u2028é""#);
    }

    #[test]
    fn floats_like_go() {
        let cases = [
            (1.5, "1.5"),
            (1.0, "1"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (123456.0, "123456"),
            (0.000001, "0.000001"),
        ];
        for (f, want) in cases {
            let mut s = String::new();
            write_float(&mut s, f);
            assert_eq!(s, want, "{f}");
        }
    }

    #[test]
    fn sorted_objects() {
        let v = json!({"b": 1, "a": [true, null, "x"], "c": {"z": 1, "y": 2}});
        assert_eq!(
            to_string_sorted(&v),
            r#"{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}"#
        );
    }
}
