//! Property tests of the patch algorithms: patches computed from two objects
//! turn the first into the second, the empty patch is the identity, and no
//! input (arbitrary JSON, directives included) makes any function panic.

use kedge_merge::jsonpatch::apply_json_patch;
use kedge_merge::mergepatch::{create_merge_patch, merge_patch};
use kedge_merge::smp::{
    create_three_way_merge_patch, create_two_way_merge_patch, strategic_merge_patch,
};
use kedge_schema::TypeRef;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::smp_schema::{schema, type_for};

fn pod_type() -> TypeRef {
    type_for("v1 Pod")
}

/// A list of maps with unique merge keys drawn from `keys`.
fn keyed_list(
    key: &'static str,
    keys: &'static [&'static str],
    fields: &'static [&'static str],
) -> impl Strategy<Value = Vec<Value>> {
    proptest::sample::subsequence(keys.to_vec(), 0..=keys.len())
        .prop_shuffle()
        .prop_flat_map(move |names| {
            let n = names.len();
            (
                Just(names),
                proptest::collection::vec(
                    proptest::collection::btree_map(
                        proptest::sample::select(fields.to_vec()),
                        "[a-c]{1,2}",
                        0..3,
                    ),
                    n,
                ),
            )
        })
        .prop_map(move |(names, extras)| {
            names
                .into_iter()
                .zip(extras)
                .map(|(name, extra)| {
                    let mut m = Map::new();
                    m.insert(key.to_string(), json!(name));
                    for (k, v) in extra {
                        m.insert(k.to_string(), json!(v));
                    }
                    Value::Object(m)
                })
                .collect()
        })
}

/// A sorted set of strings. apimachinery sorts the original of a merged
/// primitive list in place before checking it for an order change, so a
/// pure reordering of an unsorted list is not in a two-way patch; sorted
/// sets keep the round trip exact.
fn string_set(items: &'static [&'static str]) -> impl Strategy<Value = Vec<Value>> {
    proptest::sample::subsequence(items.to_vec(), 0..=items.len())
        .prop_map(|v| v.into_iter().map(|s| json!(s)).collect())
}

fn string_map() -> impl Strategy<Value = Value> {
    proptest::collection::btree_map("[a-d]", "[x-z]{1,2}", 0..4).prop_map(|m| json!(m))
}

fn container() -> impl Strategy<Value = Map<String, Value>> {
    (
        keyed_list("name", &["A", "B", "C", "D"], &["value", "note"]),
        proptest::option::of("[a-z]{1,3}"),
        proptest::option::of(proptest::collection::vec("[a-c]", 0..3)),
        proptest::option::of(string_map()),
        keyed_list("mountPath", &["/a", "/b", "/c"], &["name", "subPath"]),
    )
        .prop_map(|(env, image, args, limits, mounts)| {
            let mut c = Map::new();
            if !env.is_empty() {
                c.insert("env".into(), Value::Array(env));
            }
            if let Some(i) = image {
                c.insert("image".into(), json!(i));
            }
            if let Some(a) = args {
                c.insert("args".into(), json!(a));
            }
            if let Some(l) = limits {
                c.insert("resources".into(), json!({"limits": l}));
            }
            if !mounts.is_empty() {
                c.insert("volumeMounts".into(), Value::Array(mounts));
            }
            c
        })
}

/// Pod-like objects that exercise every list strategy.
fn pod() -> impl Strategy<Value = Value> {
    (
        proptest::sample::subsequence(vec!["app", "side", "init", "log"], 0..=4).prop_shuffle(),
        proptest::collection::vec(container(), 4),
        string_set(&["f/a", "f/b", "f/c", "f/d"]),
        proptest::option::of(string_map()),
        keyed_list(
            "name",
            &["v1", "v2", "v3"],
            &["emptyDir", "hostPath", "secret"],
        ),
        proptest::option::of(0u32..5),
        proptest::option::of(proptest::collection::vec(string_map(), 0..3)),
    )
        .prop_map(
            |(names, containers, finalizers, labels, volumes, replicas, tolerations)| {
                let mut meta = Map::new();
                meta.insert("name".into(), json!("p"));
                if !finalizers.is_empty() {
                    meta.insert("finalizers".into(), Value::Array(finalizers));
                }
                if let Some(l) = labels {
                    meta.insert("labels".into(), l);
                }
                let mut spec = Map::new();
                let cs: Vec<Value> = names
                    .into_iter()
                    .zip(containers)
                    .map(|(n, mut c)| {
                        c.insert("name".into(), json!(n));
                        Value::Object(c)
                    })
                    .collect();
                if !cs.is_empty() {
                    spec.insert("containers".into(), Value::Array(cs));
                }
                if !volumes.is_empty() {
                    spec.insert("volumes".into(), Value::Array(volumes));
                }
                if let Some(r) = replicas {
                    spec.insert("priority".into(), json!(r));
                }
                if let Some(t) = tolerations {
                    spec.insert("tolerations".into(), json!(t));
                }
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
            },
        )
}

/// Arbitrary JSON with keys that include the strategic merge directives.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(|n| json!(n)),
        prop_oneof![
            Just("replace".to_string()),
            Just("delete".to_string()),
            Just("merge".to_string()),
            "[a-c]{0,2}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        let key = prop_oneof![
            Just("$patch".to_string()),
            Just("$retainKeys".to_string()),
            Just("$setElementOrder/containers".to_string()),
            Just("$deleteFromPrimitiveList/finalizers".to_string()),
            Just("$deleteFromPrimitiveList".to_string()),
            Just("containers".to_string()),
            Just("name".to_string()),
            Just("metadata".to_string()),
            Just("finalizers".to_string()),
            Just("spec".to_string()),
            Just("env".to_string()),
            Just("volumes".to_string()),
            "[a-c]{1,2}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn two_way_patch_turns_original_into_modified(a in pod(), b in pod()) {
        let schema = schema();
        let ty = pod_type();
        let patch = create_two_way_merge_patch(&a, &b, &schema, &ty).unwrap();
        let got = strategic_merge_patch(&a, &patch, &schema, &ty).unwrap();
        prop_assert_eq!(&got, &b, "patch {}", patch);
        if a == b {
            prop_assert_eq!(patch, json!({}));
        }
    }

    #[test]
    fn two_way_patch_round_trip_with_builtin_registry(a in pod(), b in pod()) {
        let registry = kedge_schema::Registry::builtin();
        let gvk = kedge_core::GroupVersionKind::from_api_version_kind("v1", "Pod").unwrap();
        let ty = registry.type_for(&gvk).unwrap();
        let patch = create_two_way_merge_patch(&a, &b, registry.schema(), &ty).unwrap();
        let got = strategic_merge_patch(&a, &patch, registry.schema(), &ty).unwrap();
        prop_assert_eq!(&got, &b, "patch {}", patch);
    }

    #[test]
    fn three_way_patch_from_unchanged_live_object_gives_modified(a in pod(), b in pod()) {
        let schema = schema();
        let ty = pod_type();
        let patch = create_three_way_merge_patch(&a, &b, &a, &schema, &ty, true).unwrap();
        let got = strategic_merge_patch(&a, &patch, &schema, &ty).unwrap();
        prop_assert_eq!(&got, &b, "patch {}", patch);
    }

    #[test]
    fn three_way_patch_keeps_fields_set_only_on_the_live_object(a in pod(), b in pod(), extra in string_map()) {
        let schema = schema();
        let ty = pod_type();
        let mut live = a.clone();
        live["metadata"]["annotations"] = extra.clone();
        live["status"] = json!({"phase": "Running"});
        let patch = create_three_way_merge_patch(&a, &b, &live, &schema, &ty, true).unwrap();
        let got = strategic_merge_patch(&live, &patch, &schema, &ty).unwrap();
        prop_assert_eq!(&got["status"], &json!({"phase": "Running"}));
        prop_assert_eq!(&got["spec"], &b["spec"]);
        let annotations = got["metadata"].get("annotations").cloned().unwrap_or(json!({}));
        let want = if extra == json!({}) && b["metadata"].get("annotations").is_none() && a["metadata"].get("annotations").is_none() { annotations.clone() } else { extra.clone() };
        prop_assert_eq!(annotations, want);
    }

    #[test]
    fn empty_patch_is_the_identity(a in pod()) {
        let schema = schema();
        let got = strategic_merge_patch(&a, &json!({}), &schema, &pod_type()).unwrap();
        prop_assert_eq!(got, a);
    }

    #[test]
    fn empty_patch_is_the_identity_on_arbitrary_objects(a in any_json()) {
        prop_assume!(a.is_object());
        let got = strategic_merge_patch(&a, &json!({}), &schema(), &pod_type()).unwrap();
        prop_assert_eq!(got, a);
    }

    #[test]
    fn merge_patch_round_trip(a in pod(), b in pod()) {
        let patch = create_merge_patch(&a, &b).unwrap();
        prop_assert_eq!(merge_patch(&a, &patch).unwrap(), b);
    }

    #[test]
    fn no_panics_on_arbitrary_input(a in any_json(), p in any_json(), c in any_json()) {
        let schema = schema();
        let ty = pod_type();
        let wrapped = json!({"spec": p.clone(), "metadata": c.clone()});
        let _ = strategic_merge_patch(&a, &p, &schema, &ty);
        let _ = strategic_merge_patch(&json!({"spec": a.clone(), "metadata": a.clone()}), &wrapped, &schema, &ty);
        let _ = create_two_way_merge_patch(&a, &p, &schema, &ty);
        let _ = create_three_way_merge_patch(&a, &p, &c, &schema, &ty, false);
        let _ = create_three_way_merge_patch(&wrapped, &a, &p, &schema, &ty, true);
        let _ = merge_patch(&a, &p);
        let _ = create_merge_patch(&a, &p);
        let _ = apply_json_patch(&a, &p);
    }

    #[test]
    fn no_panics_on_arbitrary_json_patches(
        a in any_json(),
        ops in proptest::collection::vec(
            (
                proptest::sample::select(vec!["add", "remove", "replace", "move", "copy", "test", "x"]),
                proptest::sample::select(vec!["", "/", "/a", "/a/0", "/a/-", "/b/c", "/a/~1", "/-1", "/a/99", "x"]),
                any_json(),
            ),
            0..6,
        )
    ) {
        let patch: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, value)| json!({"op": op, "path": path, "from": "/a", "value": value}))
            .collect();
        let before = a.clone();
        if apply_json_patch(&a, &Value::Array(patch)).is_err() {
            prop_assert_eq!(a, before);
        }
    }
}
