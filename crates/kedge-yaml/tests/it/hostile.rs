//! Hostile inputs fail fast with a clear error: an alias bomb, an input over
//! the size limit, and nesting far deeper than the depth limit (block and
//! flow). Each test also bounds the time taken, loosely, so a regression to
//! exponential or quadratic behaviour shows.

use std::time::{Duration, Instant};

use kedge_yaml::{Error, Limits, parse_stream};

const FAST: Duration = Duration::from_secs(10);

#[test]
fn billion_laughs_is_refused() {
    let mut src = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        src.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let started = Instant::now();
    let err = parse_stream(&src, &Limits::default()).unwrap_err();
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert!(
        matches!(err, Error::AliasExpansion { limit: 100_000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("expanding aliases"), "{err}");
    assert!(err.line().is_some_and(|l| l >= 4), "{err}");
}

#[test]
fn alias_budget_counts_nodes_not_references() {
    // 10 aliases of a 1000-node sequence: 10,000 nodes expanded.
    let items = vec!["x"; 999].join(", ");
    let src = format!("a: &a [{items}]\nb: [{}]\n", ["*a"; 10].join(", "));
    let tight = Limits {
        max_alias_expansion: 9_999,
        ..Limits::default()
    };
    assert!(matches!(
        parse_stream(&src, &tight),
        Err(Error::AliasExpansion { .. })
    ));
    let enough = Limits {
        max_alias_expansion: 10_000,
        ..Limits::default()
    };
    let docs = parse_stream(&src, &enough).unwrap();
    let value = kedge_yaml::to_value(&docs[0]).unwrap();
    assert_eq!(value["b"].as_array().unwrap().len(), 10);
    assert_eq!(value["b"][9].as_array().unwrap().len(), 999);
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let src = "a: b\n".repeat(50 * 1024 * 1024 / 5);
    let started = Instant::now();
    let err = parse_stream(&src, &Limits::default()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        err,
        Error::TooLarge {
            size: src.len(),
            limit: 32 * 1024 * 1024
        }
    );
}

#[test]
fn deep_block_nesting_is_refused() {
    // 10,000 nested block sequences on one line, then 10,000 nested
    // mappings with a one-space indent step (about 50 MB would be needed
    // with two spaces, which the size limit refuses first).
    let seqs = format!("{}x\n", "- ".repeat(10_000));
    let mut maps = String::new();
    for d in 0..3_000 {
        maps.push_str(&" ".repeat(d));
        maps.push_str("k:\n");
    }
    for src in [seqs, maps] {
        let started = Instant::now();
        let err = parse_stream(&src, &Limits::default()).unwrap_err();
        assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
        assert!(matches!(err, Error::TooDeep { limit: 512, .. }), "{err}");
        assert!(err.to_string().contains("nesting deeper than"), "{err}");
    }
}

#[test]
fn deep_flow_nesting_is_refused() {
    for (open, close) in [("[", "]"), ("{a: ", "}")] {
        let src = format!("{}1{}", open.repeat(10_000), close.repeat(10_000));
        let started = Instant::now();
        let err = parse_stream(&src, &Limits::default()).unwrap_err();
        assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
        assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    }
}

#[test]
fn nesting_within_the_limit_is_accepted() {
    let src = format!("{}x\n", "- ".repeat(500));
    let docs = parse_stream(&src, &Limits::default()).unwrap();
    let value = kedge_yaml::to_value(&docs[0]).unwrap();
    let text = kedge_yaml::emit(&serde_json::json!({ "deep": value }));
    assert_eq!(text, format!("deep:\n{}x\n", "- ".repeat(500)));
}

#[test]
fn duplicate_keys_name_both_lines() {
    let err = parse_stream("a: 1\nb: 2\na: 3\n", &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "yaml: line 3: mapping key \"a\" already defined at line 1"
    );
}

#[test]
fn syntax_errors_carry_a_position() {
    let err = parse_stream("a: [1, 2\nb: c\n", &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::Syntax { .. }), "{err}");
    assert!(err.line().is_some() && err.column().is_some());
}

#[test]
fn positions_count_lines_across_documents() {
    let err = parse_stream("a: 1\n---\nb: 1\nb: 2\n", &Limits::default()).unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateKey {
            line: 4,
            column: 1,
            key: "b".to_string(),
            first_line: 3
        }
    );
    let docs = parse_stream("a: 1\n---\nb:\n  c: x\n", &Limits::default()).unwrap();
    assert_eq!(docs.len(), 2);
    let c = docs[1].get("b").and_then(|b| b.get("c")).unwrap();
    assert_eq!((c.span.line, c.span.column), (4, 6));
}

#[test]
fn unprintable_values_are_reported() {
    assert!(kedge_yaml::check_emittable(&serde_json::json!({"a": ["ok", "é\u{85}"]})).is_ok());
    assert!(matches!(
        kedge_yaml::check_emittable(&serde_json::json!({"a": ["x\u{7f}"]})),
        Err(Error::ControlCharacter { .. })
    ));
    assert!(matches!(
        kedge_yaml::check_emittable(&serde_json::json!({"k\u{85}": 1})),
        Err(Error::LineBreakInKey { .. })
    ));
    let docs = parse_stream("a: \"\\uFFFF\"\n", &Limits::default()).unwrap();
    let err = kedge_yaml::to_value(&docs[0]).unwrap_err();
    assert_eq!((err.line(), err.column()), (Some(1), Some(4)));
}
