//! Protobuf encoding of the Swagger 2.0 document, as served at
//! `/openapi/v2` to clients that ask for
//! `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (kubectl
//! 1.27 and 1.28 validate with it; they cannot read the JSON form).
//!
//! The message layout is gnostic's `openapi.v2.Document` (field numbers are
//! protocol facts). Only what Kubernetes documents use is encoded:
//! definitions (type, format, description, `$ref`, properties, items,
//! additionalProperties, required, enum, default, numeric and length
//! limits, vendor extensions), paths with their operations, parameters and
//! responses, and the info block. Vendor extension values and `default` /
//! `enum` values travel as YAML text; JSON is valid YAML, so the JSON
//! rendering is used. A tiny hand-written writer avoids a protobuf
//! dependency.

use serde_json::{Map, Value};

/// What clients put in `Accept` to ask for this encoding.
pub const OPENAPI_V2_PROTOBUF_ACCEPT: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The `Content-Type` to answer with (Go's MIME parser rejects the `@` form).
pub const OPENAPI_V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;

#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn string(&mut self, field: u32, s: &str) {
        if s.is_empty() {
            return;
        }
        self.key(field, LEN);
        self.varint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn boolean(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, VARINT);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.key(field, VARINT);
            self.varint(v as u64);
        }
    }

    fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.key(field, FIXED64);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A nested message, always written (even when empty).
    fn message(&mut self, field: u32, f: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        f(&mut inner);
        self.key(field, LEN);
        self.varint(inner.buf.len() as u64);
        self.buf.extend_from_slice(&inner.buf);
    }
}

fn get_str<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `Any { yaml = 2 }`.
fn any(w: &mut Writer, field: u32, value: &Value) {
    let text = serde_json::to_string(value).expect("JSON values serialize");
    w.message(field, |a| a.string(2, &text));
}

/// `repeated NamedAny vendor_extension` for the `x-` keys of a map.
fn vendor_extensions(w: &mut Writer, field: u32, m: &Map<String, Value>) {
    for (k, v) in m.iter().filter(|(k, _)| k.starts_with("x-")) {
        w.message(field, |n| {
            n.string(1, k);
            any(n, 2, v);
        });
    }
}

/// `Schema`.
fn schema(w: &mut Writer, node: &Value) {
    let Some(m) = node.as_object() else {
        return;
    };
    w.string(1, get_str(m, "$ref"));
    w.string(2, get_str(m, "format"));
    w.string(3, get_str(m, "title"));
    w.string(4, get_str(m, "description"));
    if let Some(d) = m.get("default") {
        any(w, 5, d);
    }
    let num = |k: &str| m.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let int = |k: &str| m.get(k).and_then(Value::as_i64).unwrap_or(0);
    let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
    w.double(6, num("multipleOf"));
    w.double(7, num("maximum"));
    w.boolean(8, flag("exclusiveMaximum"));
    w.double(9, num("minimum"));
    w.boolean(10, flag("exclusiveMinimum"));
    w.int64(11, int("maxLength"));
    w.int64(12, int("minLength"));
    w.string(13, get_str(m, "pattern"));
    w.int64(14, int("maxItems"));
    w.int64(15, int("minItems"));
    w.boolean(16, flag("uniqueItems"));
    w.int64(17, int("maxProperties"));
    w.int64(18, int("minProperties"));
    for r in m
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.string(19, r.as_str().unwrap_or_default());
    }
    for e in m
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        any(w, 20, e);
    }
    match m.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let b = *b;
            w.message(21, |a| {
                a.key(2, VARINT);
                a.varint(u64::from(b));
            });
        }
        Some(ap @ Value::Object(_)) => w.message(21, |a| a.message(1, |s| schema(s, ap))),
        _ => {}
    }
    match m.get("type") {
        Some(Value::String(t)) => w.message(22, |ti| ti.string(1, t)),
        Some(Value::Array(ts)) => w.message(22, |ti| {
            for t in ts {
                ti.string(1, t.as_str().unwrap_or_default());
            }
        }),
        _ => {}
    }
    if let Some(items) = m.get("items") {
        w.message(23, |ii| match items {
            Value::Array(list) => list.iter().for_each(|s| ii.message(1, |x| schema(x, s))),
            one => ii.message(1, |x| schema(x, one)),
        });
    }
    for s in m
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.message(24, |x| schema(x, s));
    }
    if let Some(Value::Object(props)) = m.get("properties") {
        w.message(25, |p| {
            for (name, s) in props {
                p.message(1, |n| {
                    n.string(1, name);
                    n.message(2, |x| schema(x, s));
                });
            }
        });
    }
    w.boolean(27, flag("readOnly"));
    if let Some(e) = m.get("example") {
        any(w, 30, e);
    }
    vendor_extensions(w, 31, m);
}

/// `ParametersItem` for one parameter object.
fn parameter(w: &mut Writer, p: &Map<String, Value>) {
    w.message(1, |param| {
        if get_str(p, "in") == "body" {
            param.message(1, |b| {
                b.string(1, get_str(p, "description"));
                b.string(2, get_str(p, "name"));
                b.string(3, "body");
                b.boolean(
                    4,
                    p.get("required").and_then(Value::as_bool).unwrap_or(false),
                );
                if let Some(s) = p.get("schema") {
                    b.message(5, |x| schema(x, s));
                }
            });
            return;
        }
        let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        let unique = p
            .get("uniqueItems")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        param.message(2, |nb| match get_str(p, "in") {
            "path" => nb.message(4, |q| {
                q.boolean(1, required);
                q.string(2, "path");
                q.string(3, get_str(p, "description"));
                q.string(4, get_str(p, "name"));
                q.string(5, get_str(p, "type"));
                q.string(6, get_str(p, "format"));
                q.boolean(19, unique);
            }),
            location @ ("query" | "header") => {
                let field = if location == "query" { 3 } else { 1 };
                nb.message(field, |q| {
                    q.boolean(1, required);
                    q.string(2, location);
                    q.string(3, get_str(p, "description"));
                    q.string(4, get_str(p, "name"));
                    if location == "query" {
                        q.string(6, get_str(p, "type"));
                        q.string(7, get_str(p, "format"));
                        q.boolean(20, unique);
                    } else {
                        q.string(5, get_str(p, "type"));
                        q.string(6, get_str(p, "format"));
                        q.boolean(19, unique);
                    }
                });
            }
            _ => {}
        });
    });
}

/// `Operation`.
fn operation(w: &mut Writer, op: &Map<String, Value>) {
    let strings = |k: &str| -> Vec<&str> {
        op.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    for t in strings("tags") {
        w.string(1, t);
    }
    w.string(2, get_str(op, "summary"));
    w.string(3, get_str(op, "description"));
    w.string(5, get_str(op, "operationId"));
    for p in strings("produces") {
        w.string(6, p);
    }
    for c in strings("consumes") {
        w.string(7, c);
    }
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = p.as_object() {
            w.message(8, |x| parameter(x, p));
        }
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        w.message(9, |rs| {
            for (code, r) in responses {
                rs.message(1, |n| {
                    n.string(1, code);
                    n.message(2, |rv| {
                        rv.message(1, |resp| {
                            let r = r.as_object();
                            resp.string(1, r.map(|r| get_str(r, "description")).unwrap_or(""));
                            if let Some(s) = r.and_then(|r| r.get("schema")) {
                                resp.message(2, |si| si.message(1, |x| schema(x, s)));
                            }
                        });
                    });
                });
            }
        });
    }
    for s in strings("schemes") {
        w.string(10, s);
    }
    vendor_extensions(w, 13, op);
}

/// Encodes a Swagger 2.0 JSON document (as built by
/// [`openapi_v2`](crate::openapi::openapi_v2)) as an `openapi.v2.Document`
/// protobuf message.
pub fn openapi_v2_protobuf(doc: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    let Some(d) = doc.as_object() else {
        return w.buf;
    };
    w.string(1, get_str(d, "swagger"));
    if let Some(Value::Object(info)) = d.get("info") {
        w.message(2, |i| {
            i.string(1, get_str(info, "title"));
            i.string(2, get_str(info, "version"));
        });
    }
    if let Some(Value::Object(paths)) = d.get("paths") {
        w.message(8, |ps| {
            for (path, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                ps.message(2, |n| {
                    n.string(1, path);
                    n.message(2, |pi| {
                        for (field, verb) in [
                            (2, "get"),
                            (3, "put"),
                            (4, "post"),
                            (5, "delete"),
                            (8, "patch"),
                        ] {
                            if let Some(Value::Object(op)) = item.get(verb) {
                                pi.message(field, |o| operation(o, op));
                            }
                        }
                        for p in item
                            .get("parameters")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(p) = p.as_object() {
                                pi.message(9, |x| parameter(x, p));
                            }
                        }
                    });
                });
            }
        });
    }
    if let Some(Value::Object(defs)) = d.get("definitions") {
        w.message(9, |ds| {
            for (name, s) in defs {
                ds.message(1, |n| {
                    n.string(1, name);
                    n.message(2, |x| schema(x, s));
                });
            }
        });
    }
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_known_bytes() {
        // swagger = "2.0" (field 1), info { title = "K" } (field 2).
        let doc = json!({"swagger": "2.0", "info": {"title": "K"}});
        assert_eq!(
            openapi_v2_protobuf(&doc),
            vec![0x0a, 3, b'2', b'.', b'0', 0x12, 3, 0x0a, 1, b'K']
        );
        let mut w = Writer::default();
        w.varint(300);
        assert_eq!(w.buf, vec![0xac, 0x02]);
    }
}
