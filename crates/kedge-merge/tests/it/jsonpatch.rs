//! JSON patch and JSON merge patch against kubectl: the fixtures under
//! `tests/fixtures/jsonpatch/` hold what `kubectl patch --local --type json`
//! (or `--type merge`) produced, errors included; JSON patch error messages
//! must match the server's word for word.

use anyhow::Result;
use kedge_merge::jsonpatch::{
    JsonPatchError, JsonPatchLimits, apply_json_patch, apply_json_patch_with_limits,
};
use kedge_merge::mergepatch::{create_merge_patch, merge_patch};
use serde_json::json;

use crate::smp::{check_cases, load_cases};

#[test]
fn json_patch_matches_kubectl() -> Result<()> {
    let cases: Vec<_> = load_cases("jsonpatch")?
        .into_iter()
        .filter(|c| c.ty == "json")
        .collect();
    assert!(cases.len() > 40, "only {} JSON patch fixtures", cases.len());
    let n = check_cases(&cases, true, |c| apply_json_patch(&c.original, &c.patch));
    println!("{n} JSON patch fixtures agree with kubectl");
    Ok(())
}

#[test]
fn merge_patch_matches_kubectl() -> Result<()> {
    let cases: Vec<_> = load_cases("jsonpatch")?
        .into_iter()
        .filter(|c| c.ty == "merge")
        .collect();
    assert!(
        cases.len() > 10,
        "only {} merge patch fixtures",
        cases.len()
    );
    let n = check_cases(&cases, false, |c| merge_patch(&c.original, &c.patch));
    println!("{n} merge patch fixtures agree with kubectl");
    Ok(())
}

#[test]
fn operation_count_is_bounded() {
    let doc = json!({"a": []});
    let ops: Vec<_> = (0..10_001)
        .map(|_| json!({"op": "add", "path": "/a/-", "value": 1}))
        .collect();
    let err = apply_json_patch(&doc, &json!(ops)).expect_err("too many operations");
    assert_eq!(
        err,
        JsonPatchError::TooManyOperations {
            max: 10_000,
            got: 10_001
        }
    );
    assert_eq!(err.status_code(), 413);
    assert_eq!(
        err.to_string(),
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
    let ok: Vec<_> = (0..10_000)
        .map(|_| json!({"op": "add", "path": "/a/-", "value": 1}))
        .collect();
    let out = apply_json_patch(&doc, &json!(ok)).expect("within the bound");
    assert_eq!(out["a"].as_array().map(Vec::len), Some(10_000));
}

#[test]
fn patch_size_and_copy_growth_are_bounded() {
    let limits = JsonPatchLimits {
        max_operations: 100,
        max_patch_bytes: 64,
        max_copy_bytes: 40,
    };
    let doc = json!({"a": "0123456789"});
    let big = json!([{"op": "add", "path": "/b", "value": "x".repeat(100)}]);
    let err = apply_json_patch_with_limits(&doc, &big, &limits).expect_err("patch too large");
    assert!(
        matches!(err, JsonPatchError::TooLarge { max: 64, .. }),
        "{err}"
    );
    assert_eq!(err.status_code(), 413);
    // Each copy adds 12 bytes ("0123456789" quoted): the fourth crosses 40.
    let copies = |n: usize| {
        json!(
            (0..n)
                .map(|i| json!({"op": "copy", "from": "/a", "path": format!("/c{i}")}))
                .collect::<Vec<_>>()
        )
    };
    let roomy = JsonPatchLimits {
        max_patch_bytes: 1024,
        ..limits
    };
    assert!(apply_json_patch_with_limits(&doc, &copies(3), &roomy).is_ok());
    let err = apply_json_patch_with_limits(
        &doc,
        &copies(4),
        &JsonPatchLimits {
            max_patch_bytes: 1024,
            ..limits
        },
    )
    .expect_err("copies grow the document too much");
    assert_eq!(
        err.to_string(),
        "Unable to complete the copy, the accumulated size increase of copy is 48, exceeding the limit 40"
    );
    assert_eq!(err.status_code(), 422);
}

#[test]
fn failed_patches_change_nothing_and_name_the_path() {
    let doc = json!({"spec": {"replicas": 1}});
    let patch = json!([
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "test", "path": "/spec/replicas", "value": 1}
    ]);
    let err = apply_json_patch(&doc, &patch).expect_err("the test sees the replaced value");
    assert_eq!(
        err.to_string(),
        "testing value /spec/replicas failed: test failed"
    );
    assert_eq!(err.status_code(), 422);
    assert_eq!(doc, json!({"spec": {"replicas": 1}}));
    let err = apply_json_patch(&doc, &json!({"op": "add"})).expect_err("not a list");
    assert_eq!(err.status_code(), 400);
}

#[test]
fn merge_patch_creation() {
    let a = json!({"a": 1, "b": {"c": 2, "d": [1, 2]}, "e": "x"});
    let b = json!({"a": 1, "b": {"c": 3, "d": [1, 2]}, "f": true});
    let p = create_merge_patch(&a, &b).expect("objects");
    assert_eq!(p, json!({"b": {"c": 3}, "e": null, "f": true}));
    assert_eq!(merge_patch(&a, &p).expect("object patch"), b);
    assert!(create_merge_patch(&a, &json!([1])).is_err());
    assert!(merge_patch(&a, &json!(5)).is_err());
}
