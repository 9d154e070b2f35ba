//! Fuzz-style property tests over HTTP: arbitrary bytes, arbitrary JSON
//! values and mutated valid objects go to the create, update and the four
//! patch paths (JSON patch, merge patch, strategic merge patch, apply
//! patch). None of these inputs makes a real API server fail with a 5xx
//! (they are decode, validation or conflict errors, all 4xx), so every
//! answer must be below 500 and, when it is an error, a `meta/v1` Status
//! whose `code` matches the HTTP status. The server must keep answering and
//! the probe ConfigMap's content may only change through a 2xx answer.
//!
//! `PROPTEST_CASES` raises the case count (default 48 per property, each
//! case is several requests).

use std::net::SocketAddr;

use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use serde_json::{Value, json};

use crate::bad_input::{assert_consistent, http, insecure_cluster};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

const PATCH_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-zA-Z0-9/._~ -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("apiVersion"),
            Just("kind"),
            Just("metadata"),
            Just("data"),
            Just("op"),
            Just("path"),
            Just("$patch"),
            Just("$retainKeys"),
            Just("/data/k"),
            Just("ConfigMap"),
            Just("v1"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("apiVersion".to_string()),
                        Just("kind".to_string()),
                        Just("metadata".to_string()),
                        Just("name".to_string()),
                        Just("labels".to_string()),
                        Just("data".to_string()),
                        Just("binaryData".to_string()),
                        Just("op".to_string()),
                        Just("path".to_string()),
                        Just("value".to_string()),
                        Just("from".to_string()),
                        Just("$patch".to_string()),
                        Just("$setElementOrder/data".to_string()),
                        Just("managedFields".to_string()),
                        Just("finalizers".to_string()),
                        "[a-z$/]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A valid ConfigMap with one part replaced by an arbitrary value.
fn arb_mutated_configmap() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("/apiVersion"),
            Just("/kind"),
            Just("/metadata"),
            Just("/metadata/name"),
            Just("/metadata/labels"),
            Just("/metadata/annotations"),
            Just("/metadata/resourceVersion"),
            Just("/metadata/managedFields"),
            Just("/metadata/finalizers"),
            Just("/data"),
            Just("/binaryData"),
            Just("/immutable"),
        ],
        arb_json(),
    )
        .prop_map(|(ptr, v)| {
            let mut cm = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "fuzz", "labels": {"a": "b"}, "annotations": {}, "resourceVersion": "", "managedFields": [], "ownerReferences": [], "finalizers": []},
                "data": {"k": "v"}, "binaryData": {}, "immutable": false
            });
            *cm.pointer_mut(ptr).unwrap() = v;
            cm
        })
}

/// Checks one answer: below 500, and a Status matching the code when an error.
///
/// The one 5xx a real server gives on these paths: a strategic merge patch
/// with an unknown `$patch` directive (`unknown patch type: X in map`) is
/// not among the errors apimachinery maps to 400/422, so it surfaces as a
/// 500 InternalError there too.
fn check(what: &str, code: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    let real_server_500 = what == "application/strategic-merge-patch+json"
        && code == 500
        && text.contains("unknown patch type:");
    prop_assert!(code < 500 || real_server_500, "{what}: {code}: {text}");
    if code >= 400 {
        let s: Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("{what}: {code}: not JSON ({e}): {text}")))?;
        prop_assert_eq!(&s["kind"], "Status", "{}: {}", what, text);
        prop_assert_eq!(&s["code"], &json!(code), "{}: {}", what, text);
    }
    Ok(())
}

/// Sends `body` everywhere a body is decoded (the strategic merge patch
/// path only when `smp`).
fn throw(addr: SocketAddr, body: &[u8], smp: bool) -> Result<(), TestCaseError> {
    let r = http(addr, "POST", CMS, Some("application/json"), body);
    check("create", r.code, &r.body)?;
    if r.code == 201 {
        // Accepted objects are cleaned up again so the store stays known.
        let name = serde_json::from_slice::<Value>(&r.body).unwrap()["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let f = http(
            addr,
            "PATCH",
            &format!("{CMS}/{name}"),
            Some("application/merge-patch+json"),
            br#"{"metadata":{"finalizers":null}}"#,
        );
        check("clear finalizers", f.code, &f.body)?;
        let d = http(addr, "DELETE", &format!("{CMS}/{name}"), None, b"");
        check("delete", d.code, &d.body)?;
    }
    let r = http(
        addr,
        "PUT",
        &format!("{CMS}/probe"),
        Some("application/json"),
        body,
    );
    check("update", r.code, &r.body)?;
    for ct in PATCH_TYPES {
        if ct == "application/strategic-merge-patch+json" && !smp {
            continue;
        }
        let path = if ct == "application/apply-patch+yaml" {
            format!("{CMS}/probe?fieldManager=fuzz&force=true")
        } else {
            format!("{CMS}/probe")
        };
        let r = http(addr, "PATCH", &path, Some(ct), body);
        check(ct, r.code, &r.body)?;
    }
    Ok(())
}

fn run(strategy: impl Strategy<Value = Vec<u8>>, smp: bool) {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    let probe = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}, "data": {"k": "v"}});
    let r = http(
        addr,
        "POST",
        CMS,
        Some("application/json"),
        probe.to_string().as_bytes(),
    );
    assert_eq!(r.code, 201);
    let mut runner = TestRunner::new(PropConfig {
        cases: cases(),
        failure_persistence: None,
        ..PropConfig::default()
    });
    runner
        .run(&strategy, |body| throw(addr, &body, smp))
        .unwrap_or_else(|e| panic!("{e}"));
    // The probe may have been patched by accepted inputs, never deleted.
    assert_consistent(addr, &["probe"]);
}

#[test]
fn arbitrary_bytes_never_5xx() {
    run(prop::collection::vec(any::<u8>(), 0..256), true);
}

#[test]
fn arbitrary_json_never_5xx() {
    run(arb_json().prop_map(|v| v.to_string().into_bytes()), false);
}

#[test]
fn mutated_objects_never_5xx() {
    run(
        arb_mutated_configmap().prop_map(|v| v.to_string().into_bytes()),
        false,
    );
}

#[test]
fn strategic_merge_arbitrary_json_never_5xx() {
    run(arb_json().prop_map(|v| v.to_string().into_bytes()), true);
}

#[test]
fn strategic_merge_mutated_objects_never_5xx() {
    run(
        arb_mutated_configmap().prop_map(|v| v.to_string().into_bytes()),
        true,
    );
}
