//! Property tests: emitting then parsing gives the value back (single
//! documents, and streams whatever spelling their `---` separators and line
//! ends take), emitting is deterministic and independent of key insertion
//! order, and no input makes the parser (or the pipeline after it) panic. 256 cases per property by
//! default; `KEDGE_PROPTEST_CASES` asks for more.

use kedge_yaml::{Limits, emit, emit_documents, parse_stream, to_value};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Characters that exercise quoting, folding and escaping. Left out: NEL
/// and the characters kustomize cannot print (they do not round-trip by
/// design), and U+2028/U+2029, which go-yaml writes as line breaks inside
/// quoted scalars while a YAML 1.2 reader keeps them as content.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => proptest::char::range('a', 'z'),
        3 => Just(' '),
        1 => proptest::sample::select(vec![
            ':', '#', '-', '?', '\'', '"', '\\', '\n', '\t', '\r', '[', ']', '{', '}', ',', '&',
            '*', '!', '|', '>', '%', '@', '`', '.', '0', '1', '9', '_', '+', 'e', 'x', '~',
            '\u{0}', '\u{1b}', '\u{a0}', 'é', '日', '\u{feff}', '\u{fffd}', '🚀',
        ]),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(tricky_char(), 0..12).prop_map(|v| v.into_iter().collect()),
        1 => proptest::collection::vec(tricky_char(), 60..200).prop_map(|v| v.into_iter().collect()),
        1 => proptest::sample::select(vec![
            "yes", "no", "on", "off", "y", "n", "true", "null", "~", "", "0755", "0x1F", "1e3",
            "1_000", "12:30", "2024-01-01", ".inf", "-.5", "<<x", "- x", "---", "...",
        ])
        .prop_map(str::to_string),
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>()
            .prop_filter("finite, non-integral", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(|f| Number::from_f64(f).expect("finite")),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        tricky_string().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((tricky_string(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn document() -> impl Strategy<Value = Value> {
    proptest::collection::vec((tricky_string(), json_value()), 0..6)
        .prop_map(|entries| Value::Object(entries.into_iter().collect()))
}

/// The same value with every object's keys in reverse insertion order.
fn reversed(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m.iter().rev() {
                out.insert(k.clone(), reversed(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("KEDGE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)))]

    #[test]
    fn emit_then_parse_round_trips(doc in document()) {
        let text = emit(&doc);
        let docs = parse_stream(&text, &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(docs.len(), 1, "{}", text);
        let back = to_value(&docs[0]).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &doc, "{}", text);
        // Emitting kustomize's own output again changes nothing.
        prop_assert_eq!(emit(&back), text);
    }

    #[test]
    fn streams_round_trip_with_any_separator_spelling(
        docs in proptest::collection::vec(document(), 1..5),
        seps in proptest::collection::vec(
            proptest::sample::select(vec!["---", "--- # note", "---\t# a: b", "---   ", "---#"]),
            4,
        ),
        crlf in any::<bool>(),
    ) {
        let text = emit_documents(&docs);
        // Respell each separator line the way hand-written streams do.
        let mut respelled = String::new();
        for (i, part) in text.split("\n---\n").enumerate() {
            if i > 0 {
                respelled.push('\n');
                respelled.push_str(seps[(i - 1) % seps.len()]);
                respelled.push('\n');
            }
            respelled.push_str(part);
        }
        if crlf {
            respelled = respelled.replace('\n', "\r\n");
        }
        let parsed = parse_stream(&respelled, &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{respelled}")))?;
        let back = parsed
            .iter()
            .map(to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e}\n{respelled}")))?;
        prop_assert_eq!(&back, &docs, "{}", respelled);
    }

    #[test]
    fn emit_is_deterministic_and_ignores_insertion_order(doc in document()) {
        let once = emit(&doc);
        prop_assert_eq!(&emit(&doc.clone()), &once);
        prop_assert_eq!(&emit(&reversed(&doc)), &once);
        prop_assert!(once.ends_with('\n'));
    }

    #[test]
    fn parser_never_panics_on_text(src in proptest::collection::vec(
        prop_oneof![
            6 => tricky_char(),
            1 => proptest::sample::select(vec!['\n', ' ', ' ', '-', ':', '&', '*', '!', '<', '%']),
            1 => any::<char>(),
        ], 0..200).prop_map(|v| v.into_iter().collect::<String>())) {
        if let Ok(docs) = parse_stream(&src, &Limits::default()) {
            for d in &docs {
                if let Ok(v) = to_value(d) {
                    let _ = emit(&v);
                }
            }
        }
    }

    #[test]
    fn parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let src = String::from_utf8_lossy(&bytes);
        if let Ok(docs) = parse_stream(&src, &Limits::default()) {
            for d in &docs {
                let _ = to_value(d);
            }
        }
    }
}
