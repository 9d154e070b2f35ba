//! Property tests of server-side apply: applying the same configuration
//! twice changes nothing; FieldsV1 encoding round-trips; the field set of a
//! merge covers the configuration's; set algebra behaves; and the FieldsV1
//! decoder never panics on arbitrary input.

use kedge_merge::ssa::{
    self, ApplyParams, FieldSet, Path, PathElement, ResetFields, TypedContext, UpdateParams,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::ssa_schema;

fn widget_spec() -> impl Strategy<Value = Value> {
    let item = (
        prop::sample::select(vec!["a", "b", "c", "d"]),
        prop::option::of(prop::sample::select(vec!["x", "y"])),
        prop::option::of(0i64..3),
    )
        .prop_map(|(name, value, weight)| {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            if let Some(v) = value {
                m.insert("value".into(), json!(v));
            }
            if let Some(w) = weight {
                m.insert("weight".into(), json!(w));
            }
            Value::Object(m)
        });
    (
        prop::option::of(prop::sample::select(vec!["red", "green", "blue"])),
        prop::option::of(0i64..4),
        prop::option::of(prop::sample::subsequence(
            vec!["t1", "t2", "t3", "t4"],
            0..4,
        )),
        prop::option::of(prop::collection::vec(item, 0..4)),
        prop::option::of(prop::collection::btree_map(
            prop::sample::select(vec!["k1", "k2", "k3"]),
            prop::sample::select(vec!["1", "2"]),
            0..3,
        )),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec!["p", "q"]),
            0..3,
        )),
        prop::option::of(prop::collection::btree_map(
            prop::sample::select(vec!["m", "n"]),
            prop::sample::select(vec![
                json!(1),
                json!("s"),
                json!({"deep": true}),
                json!([1, 2]),
            ]),
            0..3,
        )),
    )
        .prop_map(|(color, size, tags, items, selector, args, config)| {
            let mut spec = Map::new();
            if let Some(c) = color {
                spec.insert("color".into(), json!(c));
            }
            if let Some(s) = size {
                spec.insert("size".into(), json!(s));
            }
            if let Some(t) = tags {
                spec.insert("tags".into(), json!(t));
            }
            if let Some(mut items) = items {
                // Keys must be unique in an applied configuration.
                let mut seen = Vec::new();
                items.retain(|i| {
                    let n = i["name"].clone();
                    if seen.contains(&n) {
                        false
                    } else {
                        seen.push(n);
                        true
                    }
                });
                spec.insert("items".into(), Value::Array(items));
            }
            if let Some(s) = selector {
                spec.insert("selector".into(), json!(s));
            }
            if let Some(a) = args {
                spec.insert("args".into(), json!(a));
            }
            if let Some(c) = config {
                spec.insert("config".into(), json!(c));
            }
            Value::Object(spec)
        })
}

fn widget(spec: Value, labels: &[&str]) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), json!("w"));
    if !labels.is_empty() {
        let l: Map<String, Value> = labels.iter().map(|k| (k.to_string(), json!("v"))).collect();
        meta.insert("labels".into(), Value::Object(l));
    }
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta, "spec": spec})
}

fn params<'a>(manager: &'a str, force: bool, now: &'a str) -> ApplyParams<'a> {
    ApplyParams {
        manager,
        force,
        api_version: "example.com/v1",
        subresource: "",
        now,
        reset: ResetFields::None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Applying the same configuration a second time changes neither the
    /// object nor its managed fields, whatever other managers did before.
    #[test]
    fn apply_is_idempotent(
        first in widget_spec(),
        other in widget_spec(),
        mine in widget_spec(),
        by_update in any::<bool>(),
        labels in prop::sample::subsequence(vec!["l1", "l2"], 0..2),
    ) {
        let schema = ssa_schema::schema();
        let ty = ssa_schema::root("Widget");
        let live = ssa::apply(None, &widget(first, &[]), &params("first", true, "2026-01-01T00:00:01Z"), &schema, &ty).unwrap();
        let live = if by_update {
            let mut new = live.clone();
            new["spec"] = other;
            ssa::update(Some(&live), &new, &UpdateParams {
                manager: "editor",
                api_version: "example.com/v1",
                subresource: "",
                now: "2026-01-01T00:00:02Z",
                reset: ResetFields::None,
            }, &schema, &ty)
        } else {
            ssa::apply(Some(&live), &widget(other, &[]), &params("other", true, "2026-01-01T00:00:02Z"), &schema, &ty).unwrap()
        };
        let config = widget(mine, &labels);
        let once = ssa::apply(Some(&live), &config, &params("me", true, "2026-01-01T00:00:03Z"), &schema, &ty).unwrap();
        let twice = ssa::apply(Some(&once), &config, &params("me", false, "2026-01-01T00:00:04Z"), &schema, &ty).unwrap();
        prop_assert!(ssa::same_ignoring_times(&once, &twice), "once: {once}\ntwice: {twice}");
        prop_assert_eq!(&once, &twice);
    }

    /// The field set of merge(live, config) covers the field set of config.
    #[test]
    fn merge_covers_config(live in widget_spec(), config in widget_spec()) {
        let schema = ssa_schema::schema();
        let ty = ssa_schema::root("Widget");
        let ctx = TypedContext::new(&schema, &ty);
        let (live, config) = (widget(live, &["a"]), widget(config, &["b"]));
        let merged = ctx.merge(&live, &config);
        let missing = ctx.to_field_set(&config).difference(&ctx.to_field_set(&merged));
        // The one exception: an empty object in the configuration is owned
        // as a member, but merged into a non-empty live object it is not a
        // leaf any more.
        for p in missing.paths() {
            let at = p.0.iter().try_fold(&config, |v, pe| match pe {
                PathElement::Field(f) => v.get(f),
                _ => None,
            });
            prop_assert!(
                at.is_some_and(|v| v.as_object().is_some_and(Map::is_empty)),
                "missing {}", p
            );
        }
        // And comparing a value with itself finds nothing.
        prop_assert!(ctx.compare(&merged, &merged).is_same());
        // The merge's own account of its changes is the comparison's.
        let (merged2, diff) = ctx.merge_with_diff(&live, &config);
        prop_assert_eq!(&merged2, &merged);
        prop_assert_eq!(diff, ctx.compare(&live, &merged));
    }

    /// A field set survives FieldsV1 encoding and decoding, as JSON values
    /// and as text.
    #[test]
    fn fields_v1_round_trip(paths in prop::collection::vec(path_strategy(), 0..12)) {
        let set = FieldSet::from_paths(&paths);
        let encoded = set.to_fields_v1();
        let decoded = FieldSet::from_fields_v1(&encoded).unwrap();
        prop_assert_eq!(&decoded, &set);
        let text = set.to_fields_v1_string();
        let again = FieldSet::from_fields_v1_str(&text).unwrap();
        prop_assert_eq!(&again, &set);
        prop_assert_eq!(again.to_fields_v1_string(), text.clone());
        // serde_json prints the same bytes unless a key has HTML characters
        // (which Go escapes and serde_json does not).
        let plain = serde_json::to_string(&encoded).unwrap();
        if !plain.contains(['<', '>', '&']) {
            prop_assert_eq!(plain, text);
        }
        for p in &paths {
            prop_assert!(set.has(&p.0));
        }
        prop_assert!(set.matches_fields_v1(&encoded));
    }

    /// Recognising a stored FieldsV1 without decoding agrees with decoding.
    #[test]
    fn fields_v1_matches_agrees(a in prop::collection::vec(path_strategy(), 0..6), b in prop::collection::vec(path_strategy(), 0..6)) {
        let (sa, sb) = (FieldSet::from_paths(&a), FieldSet::from_paths(&b));
        prop_assert_eq!(sa.matches_fields_v1(&sb.to_fields_v1()), sa == sb);
    }

    /// Basic set algebra over paths.
    #[test]
    fn set_algebra(a in prop::collection::vec(path_strategy(), 0..8), b in prop::collection::vec(path_strategy(), 0..8)) {
        let (sa, sb) = (FieldSet::from_paths(&a), FieldSet::from_paths(&b));
        let union = sa.union(&sb);
        let inter = sa.intersection(&sb);
        let diff = sa.difference(&sb);
        for p in union.paths() {
            prop_assert!(sa.has(&p.0) || sb.has(&p.0));
        }
        for p in a.iter().chain(b.iter()) {
            prop_assert!(union.has(&p.0));
        }
        for p in inter.paths() {
            prop_assert!(sa.has(&p.0) && sb.has(&p.0));
        }
        for p in diff.paths() {
            prop_assert!(sa.has(&p.0) && !sb.has(&p.0));
        }
        prop_assert_eq!(diff.len() + inter.len(), sa.len());
        prop_assert_eq!(union.difference(&sb), diff);
        prop_assert!(sa.difference(&sa).is_empty());
    }

    /// The decoder returns errors, never panics, on arbitrary text.
    #[test]
    fn fields_v1_decoder_is_total(text in ".{0,64}") {
        let _ = FieldSet::from_fields_v1_str(&text);
        let _ = PathElement::parse(&text);
    }

    /// … and on arbitrary JSON objects with plausible keys.
    #[test]
    fn fields_v1_decoder_on_json(v in json_strategy()) {
        if let Ok(set) = FieldSet::from_fields_v1(&v) {
            let again = FieldSet::from_fields_v1(&set.to_fields_v1()).unwrap();
            prop_assert_eq!(again, set);
        }
    }
}

fn element_strategy() -> impl Strategy<Value = PathElement> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "spec", "x.y", "<&>", "q\"t"])
            .prop_map(PathElement::field),
        (prop::sample::select(vec!["n1", "n2"]), 0i64..3).prop_map(|(n, p)| PathElement::key(
            vec![
                ("name".to_string(), json!(n)),
                ("port".to_string(), json!(p)),
            ]
        )),
        prop::sample::select(vec![json!("v"), json!(2), json!(true), json!(1.5)])
            .prop_map(PathElement::Value),
        (0usize..3).prop_map(PathElement::Index),
    ]
}

fn path_strategy() -> impl Strategy<Value = Path> {
    prop::collection::vec(element_strategy(), 1..5).prop_map(Path)
}

fn json_strategy() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "f:a",
        "f:b",
        ".",
        "k:{\"a\":1}",
        "k:[]",
        "v:1",
        "v:",
        "i:0",
        "i:x",
        "zz",
        "k:{}",
    ]);
    let leaf = prop_oneof![Just(json!({})), Just(json!(1)), Just(json!(null))];
    leaf.prop_recursive(4, 32, 4, move |inner| {
        prop::collection::btree_map(key.clone(), inner, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    })
}
