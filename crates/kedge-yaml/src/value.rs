//! Conversion of a node tree to JSON, as kustomize's YAML → map → JSON
//! round trip produces it.
//!
//! Scalars resolve like go-yaml v3 decoding into `interface{}` (explicit
//! tags honoured, quoted and block scalars are strings); then the JSON step:
//! integral floats become integers (Go prints them without a fraction and
//! the v2 reader types them back as ints), timestamps become RFC 3339
//! strings, and `.inf`/`.nan` are errors as `encoding/json` reports them.
//! Merge keys (`<<`) follow kyaml's de-anchoring, which kustomize runs on
//! every input: keys written in the mapping win, then the merged mappings in
//! order, the first one that defines a key winning; and every key spelled
//! `<<` is removed, even a quoted one.
//! Strings holding characters go-yaml v2 refuses to read back from the JSON
//! (DEL, C1 controls but NEL, U+FFFE, U+FFFF) are errors, as the build fails
//! on them. Folded (`>`) scalars go through the same go-yaml v3 write-and-read
//! round trip kyaml applies, whose writer adds a line break before
//! more-indented lines.

use serde_json::{Map, Number, Value};

use crate::error::Error;
use crate::float::go_format_g;
use crate::node::{Node, NodeValue, ScalarStyle};
use crate::resolve::{Resolved, parse_timestamp, resolve_plain};

/// Converts one node (usually a document root) to a JSON value.
pub fn to_value(node: &Node) -> Result<Value, Error> {
    convert(node)
}

fn convert(node: &Node) -> Result<Value, Error> {
    match &node.value {
        NodeValue::Scalar { text, style } => {
            let v = scalar(node, text, *style)?;
            if let Value::String(s) = &v {
                check_chars(node, s)?;
            }
            Ok(v)
        }
        NodeValue::Sequence(items) => items
            .iter()
            .map(convert)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        NodeValue::Mapping(entries) => mapping(entries).map(Value::Object),
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.value, NodeValue::Scalar { text, style: ScalarStyle::Plain } if text == "<<")
        && matches!(key.tag.as_deref(), None | Some("!") | Some("!!merge"))
}

fn mapping(entries: &[(Node, Node)]) -> Result<Map<String, Value>, Error> {
    let mut out = Map::with_capacity(entries.len());
    let mut merges = Vec::new();
    for (k, v) in entries {
        if is_merge_key(k) {
            merges.push(v);
            continue;
        }
        if k.as_scalar() == Some("<<") {
            continue;
        }
        let key = key_string(k)?;
        let value = convert(v)?;
        out.insert(key, value);
    }
    for m in merges {
        match &m.value {
            NodeValue::Mapping(inner) => merge_into(&mut out, mapping(inner)?),
            NodeValue::Sequence(items) => {
                for item in items {
                    match &item.value {
                        NodeValue::Mapping(inner) => merge_into(&mut out, mapping(inner)?),
                        _ => {
                            return Err(Error::BadMerge {
                                line: item.span.line,
                                column: item.span.column,
                            });
                        }
                    }
                }
            }
            NodeValue::Scalar { .. } => {
                return Err(Error::BadMerge {
                    line: m.span.line,
                    column: m.span.column,
                });
            }
        }
    }
    Ok(out)
}

fn merge_into(out: &mut Map<String, Value>, src: Map<String, Value>) {
    for (k, v) in src {
        if !out.contains_key(&k) {
            out.insert(k, v);
        }
    }
}

fn key_string(key: &Node) -> Result<String, Error> {
    let bad = |text: &str| Error::NonStringKey {
        line: key.span.line,
        column: key.span.column,
        key: text.to_string(),
    };
    match &key.value {
        NodeValue::Scalar { text, style } => match scalar(key, text, *style)? {
            Value::String(s) if !is_timestamp_scalar(key, text, *style) => {
                check_chars(key, &s)?;
                if s.contains('\u{85}') {
                    return Err(Error::LineBreakInKey {
                        line: key.span.line,
                        column: key.span.column,
                        key: s,
                    });
                }
                Ok(s)
            }
            _ => Err(bad(text)),
        },
        NodeValue::Sequence(_) => Err(bad("[...]")),
        NodeValue::Mapping(_) => Err(bad("{...}")),
    }
}

/// A plain untagged scalar that go-yaml types as a timestamp (a string
/// after conversion, but not a string key).
fn is_timestamp_scalar(node: &Node, text: &str, style: ScalarStyle) -> bool {
    style == ScalarStyle::Plain
        && matches!(node.tag.as_deref(), None | Some("!!timestamp"))
        && parse_timestamp(text).is_some()
}

fn unsupported(node: &Node, f: f64) -> Error {
    Error::UnsupportedValue {
        line: node.span.line,
        column: node.span.column,
        value: go_format_g(f),
    }
}

fn scalar(node: &Node, text: &str, style: ScalarStyle) -> Result<Value, Error> {
    let tag = node.tag.as_deref();
    if matches!(style, ScalarStyle::Folded | ScalarStyle::Literal)
        && matches!(tag, None | Some("!") | Some("!!str"))
    {
        let value = if style == ScalarStyle::Folded {
            kyaml_folded_round_trip(text)
        } else {
            text.to_string()
        };
        // v3 writes such a value as a block scalar without an indentation
        // indicator, and its reader then refuses the leading tab.
        if value.starts_with('\t') && crate::emit::analyze_with(&value, true).block_allowed {
            return Err(Error::Syntax {
                line: node.span.line,
                column: node.span.column,
                message: "found a tab character where an indentation space is expected".to_string(),
            });
        }
        return Ok(Value::String(value));
    }
    let resolved = match tag {
        None if style != ScalarStyle::Plain => return Ok(Value::String(text.to_string())),
        None => resolve_plain(text),
        Some(t @ ("!!int" | "!!float" | "!!bool" | "!!timestamp")) => {
            let r = resolve_plain(text);
            let ok = matches!(
                (t, &r),
                ("!!int", Resolved::Int(_))
                    | ("!!float", Resolved::Float(_) | Resolved::Int(_))
                    | ("!!bool", Resolved::Bool(_))
                    | ("!!timestamp", Resolved::Timestamp(_))
            );
            if !ok {
                return Err(Error::BadTaggedValue {
                    line: node.span.line,
                    column: node.span.column,
                    text: text.to_string(),
                    tag: t.to_string(),
                });
            }
            r
        }
        Some("!!binary") => {
            // go-yaml v3 decodes the base64 into the string's bytes; Go's
            // JSON encoder then replaces invalid UTF-8.
            let bytes = decode_base64(text).ok_or_else(|| Error::BadTaggedValue {
                line: node.span.line,
                column: node.span.column,
                text: text.to_string(),
                tag: "!!binary".to_string(),
            })?;
            return Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        }
        Some("!!null") if style == ScalarStyle::Plain => match resolve_plain(text) {
            Resolved::Null => Resolved::Null,
            _ => Resolved::Str,
        },
        Some(_) => Resolved::Str,
    };
    Ok(match resolved {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => int_value(i),
        Resolved::Float(f) => float_value(f).ok_or_else(|| unsupported(node, f))?,
        Resolved::Timestamp(ts) => {
            // Go's Time.MarshalJSON refuses zone offsets of 24 hours or more.
            if ts.offset_seconds.unsigned_abs() >= 24 * 3600 {
                return Err(Error::UnsupportedValue {
                    line: node.span.line,
                    column: node.span.column,
                    value: format!("{text} (timezone hour outside of range [0,23])"),
                });
            }
            Value::String(ts.to_rfc3339())
        }
        Resolved::Str => Value::String(text.to_string()),
    })
}

/// Checks that kustomize could print this value: no string holds a
/// character go-yaml v2 refuses to read back, no key holds NEL. For values
/// built without [`to_value`] (which checks as it converts); the errors
/// carry no position (line and column 0).
pub fn check_emittable(value: &Value) -> Result<(), Error> {
    let bad = |s: &str| !all_v2_readable(s);
    let err = Error::ControlCharacter { line: 0, column: 0 };
    match value {
        Value::String(s) if bad(s) => Err(err),
        Value::Array(items) => items.iter().try_for_each(check_emittable),
        Value::Object(map) => {
            for (k, v) in map {
                if bad(k) {
                    return Err(err);
                }
                if k.contains('\u{85}') {
                    return Err(Error::LineBreakInKey {
                        line: 0,
                        column: 0,
                        key: k.clone(),
                    });
                }
                check_emittable(v)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether go-yaml v2's reader accepts every character of `text` raw (in
/// the JSON kustomize re-reads; characters below U+0020 arrive escaped).
/// It refuses DEL,
/// C1 controls but NEL (`C2 80..9F`), U+FFFE and U+FFFF (`EF BF BE/BF`).
fn all_v2_readable(text: &str) -> bool {
    let b = text.as_bytes();
    !b.iter().enumerate().any(|(i, &c)| match c {
        0x7F => true,
        0xC2 => b
            .get(i + 1)
            .is_some_and(|&n| (0x80..=0x9F).contains(&n) && n != 0x85),
        0xEF => b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)),
        _ => false,
    })
}

fn check_chars(node: &Node, text: &str) -> Result<(), Error> {
    if all_v2_readable(text) {
        Ok(())
    } else {
        Err(Error::ControlCharacter {
            line: node.span.line,
            column: node.span.column,
        })
    }
}

fn int_value(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::Number(Number::from(v))
    } else if let Ok(v) = u64::try_from(i) {
        Value::Number(Number::from(v))
    } else {
        Value::Number(Number::from_f64(i as f64).unwrap_or_else(|| Number::from(0)))
    }
}

/// A float as it comes back from Go's JSON encoding read by go-yaml v2.
///
/// `encoding/json` prints a float below 1e21 in `%f` form with the shortest
/// round-trip digits padded with zeros (2^63 prints as
/// `9223372036854776000`); go-yaml v2 then reads that text as an integer
/// when it fits 64 bits and as a float otherwise. `None` for infinities and
/// NaN, which JSON cannot carry.
pub(crate) fn float_value(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // Rust's Display prints exactly that shortest-digits %f form.
        let text = format!("{f}");
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Number(Number::from(i)));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Value::Number(Number::from(u)));
        }
    }
    Number::from_f64(f).map(Value::Number)
}

/// Go's `base64.StdEncoding.DecodeString`: padded standard alphabet, line
/// breaks ignored.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut pad = 0;
    let mut count = 0usize;
    for c in text.bytes() {
        let v = match c {
            b'\r' | b'\n' => continue,
            b'=' => {
                pad += 1;
                count += 1;
                continue;
            }
            _ if pad > 0 => return None,
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        count += 1;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if !count.is_multiple_of(4) || pad > 2 {
        return None;
    }
    Some(out)
}

/// What a folded (`>`) scalar becomes after kyaml writes it out with go-yaml
/// v3 and reads it back, as kustomize does before converting a resource.
///
/// v3's folded writer decides whether a line break needs an extra blank
/// line by looking at the *start of the whole value* instead of the text
/// after the break. So when the value starts with a non-blank character,
/// every break after a line that does not start with a blank gets a blank
/// line, which adds a newline before more-indented lines; when the value
/// starts with a blank, no break gets one, which folds normal lines into
/// spaces. Reading the written text back applies YAML folding. Values that
/// v3 writes double-quoted instead come back unchanged.
pub(crate) fn kyaml_folded_round_trip(value: &str) -> String {
    if !value.contains('\n') || value.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return value.to_string();
    }
    // v3 writes the value folded only when block style can carry it (no
    // trailing space, no space before a break, no special character);
    // otherwise double-quoted, which reads back exactly.
    if !crate::emit::analyze_with(value, true).block_allowed {
        return value.to_string();
    }
    // The writer: the value's lines as written (content after indentation;
    // an empty string is an empty line).
    let after_breaks = value.trim_start_matches('\n');
    let extra = !(after_breaks.is_empty() || after_breaks.starts_with([' ', '\t']));
    let mut lines: Vec<&str> = Vec::new();
    let mut breaks = true;
    let mut leading_spaces = true;
    let mut line_start = 0;
    for (i, c) in value.char_indices() {
        if c == '\n' {
            if breaks {
                lines.push("");
            } else {
                lines.push(&value[line_start..i]);
                if !leading_spaces && extra {
                    lines.push("");
                }
            }
            breaks = true;
        } else if breaks {
            leading_spaces = c == ' ' || c == '\t';
            line_start = i;
            breaks = false;
        }
    }
    let unterminated = !breaks;
    if unterminated {
        lines.push(&value[line_start..]);
    }
    // The chomping indicator the writer chose from the value.
    let trailing = value.len() - value.trim_end_matches('\n').len();
    let keep = trailing >= 2 || (trailing == 1 && value.len() == 1);
    let strip = trailing == 0;
    // The reader (libyaml's block scalar folding).
    let mut out = String::with_capacity(value.len());
    let mut leading_break = "";
    let mut trailing_breaks = 0usize;
    let mut leading_blank = false;
    for line in lines {
        if line.is_empty() {
            trailing_breaks += 1;
            continue;
        }
        let trailing_blank = line.starts_with([' ', '\t']);
        if leading_break == "\n" && !leading_blank && !trailing_blank {
            if trailing_breaks == 0 {
                out.push(' ');
            }
        } else {
            out.push_str(leading_break);
        }
        out.extend(std::iter::repeat_n('\n', trailing_breaks));
        trailing_breaks = 0;
        leading_blank = trailing_blank;
        out.push_str(line);
        leading_break = "\n";
    }
    if unterminated {
        // The last line had no break of its own: nothing to chomp.
        return out;
    }
    if !strip {
        out.push_str(leading_break);
    }
    if keep {
        out.extend(std::iter::repeat_n('\n', trailing_breaks));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::kyaml_folded_round_trip as rt;

    #[test]
    fn folded_round_trip() {
        assert_eq!(rt("a b\nc\n"), "a b\nc\n");
        assert_eq!(rt("a\n  indented\nb\n"), "a\n\n  indented\nb\n");
        assert_eq!(rt("a\n"), "a\n");
        assert_eq!(rt("a"), "a");
        assert_eq!(rt("a\n\n"), "a\n\n\n");
        assert_eq!(rt(" lead\nnext\n"), " lead\nnext\n");
        assert_eq!(rt(" lead\nnext\nmore\n"), " lead\nnext more\n");
    }

    #[test]
    fn base64() {
        assert_eq!(super::decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(super::decode_base64("aGVs\nbG8h").unwrap(), b"hello!");
        assert!(super::decode_base64("aGVsbG8").is_none());
        assert!(super::decode_base64("a=GV").is_none());
    }
}
