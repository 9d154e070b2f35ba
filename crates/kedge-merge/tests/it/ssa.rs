//! Data-driven server-side apply cases: every `tests/fixtures/ssa/<group>/<case>.yaml`
//! is a sequence of writes (apply, update, create) by managers, each with
//! the expected object, managed fields or conflict message.
//!
//! Case format:
//!
//! ```yaml
//! kind: Deployment            # root type (see ssa_schema.rs)
//! statusSubresource: true     # the kind has /status (main writes reset .status)
//! steps:
//!   - op: apply               # apply | update | create | set (store verbatim)
//!     manager: gitops
//!     force: false
//!     subresource: status     # optional
//!     object: {...}           # applied configuration, or the new object of an update
//!     merge: {...}            # update only: a JSON merge patch over the current object
//!     servedVersion: v1       # the resource's version (default: the object's apiVersion)
//!     expect:
//!       object: {...}         # the stored object without managedFields
//!       managedFields: [...]  # entries; `time` is compared only when given
//!       conflicts: "Apply failed with 1 conflict: ..."
//!       error: "metadata.managedFields must be nil"
//!       unchanged: true       # the stored object did not change at all
//! ```
//!
//! Step `n` (from 1) runs at `2026-01-01T00:00:0n`-style times, one second apart.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use kedge_merge::ssa::{self, ApplyError, ApplyParams, ResetFields, UpdateParams};
use serde_json::{Map, Value};

use super::ssa_schema;

pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssa")
}

pub(crate) fn load_yaml(text: &str) -> Result<Value> {
    let docs = kedge_yaml::parse_stream(text, &kedge_yaml::Limits::default())
        .map_err(|e| anyhow!("{e}"))?;
    let doc = docs.first().ok_or_else(|| anyhow!("empty document"))?;
    kedge_yaml::to_value(doc).map_err(|e| anyhow!("{e}"))
}

fn time_of(step: usize) -> String {
    format!(
        "2026-01-01T{:02}:{:02}:{:02}Z",
        step / 3600,
        (step / 60) % 60,
        step % 60
    )
}

/// RFC 7386 merge patch (test helper for `merge:` steps).
fn merge_patch(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut out = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    out.shift_remove(k);
                } else {
                    let cur = out.get(k).cloned().unwrap_or(Value::Null);
                    out.insert(k.clone(), merge_patch(&cur, v));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn strip_managed(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(Value::Object(meta)) = v.get_mut("metadata") {
        meta.remove("managedFields");
    }
    v
}

fn managed_fields(v: &Value) -> Vec<Value> {
    v.get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Runs one case file; returns the number of steps checked.
///
/// With `builtin`, built-in kinds use the real schema registry instead of
/// the hand-built test schema (the results must be the same).
pub(crate) fn run_case(path: &Path, builtin: bool) -> Result<usize> {
    let text = std::fs::read_to_string(path)?;
    let case = load_yaml(&text)?;
    let kind = case["kind"].as_str().context("kind")?;
    let has_status = case["statusSubresource"].as_bool().unwrap_or(false);
    let (schema, ty) = if builtin {
        let registry = kedge_schema::Registry::builtin();
        let api_version = match kind {
            "Deployment" => "apps/v1",
            _ => "v1",
        };
        let gvk = kedge_core::GroupVersionKind::from_api_version_kind(api_version, kind)?;
        let ty = registry
            .type_for(&gvk)
            .with_context(|| format!("no built-in type for {kind}"))?;
        (registry.schema().clone(), ty)
    } else {
        (ssa_schema::schema(), ssa_schema::root(kind))
    };
    let steps = case["steps"].as_array().context("steps")?;
    let mut current: Option<Value> = None;
    let mut checked = 0;
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let now = time_of(n);
        let op = step["op"].as_str().context("op")?;
        let manager = step["manager"].as_str().unwrap_or("");
        let subresource = step["subresource"].as_str().unwrap_or("");
        let reset = ResetFields::for_write(subresource, has_status);
        let object = match (&step["object"], &step["merge"]) {
            (Value::Null, Value::Null) => bail!("step {n}: no object"),
            (Value::Null, patch) => {
                merge_patch(current.as_ref().context("merge without object")?, patch)
            }
            (obj, _) => obj.clone(),
        };
        let api_version = step["servedVersion"]
            .as_str()
            .or_else(|| object["apiVersion"].as_str())
            .or_else(|| current.as_ref().and_then(|c| c["apiVersion"].as_str()))
            .unwrap_or("v1")
            .to_string();
        let before = current.clone();
        if op == "set" {
            current = Some(object);
            continue;
        }
        let outcome: Result<Value, ApplyError> = match op {
            "apply" => ssa::apply(
                current.as_ref(),
                &object,
                &ApplyParams {
                    manager,
                    force: step["force"].as_bool().unwrap_or(false),
                    api_version: &api_version,
                    subresource,
                    now: &now,
                    reset,
                },
                &schema,
                &ty,
            ),
            "update" | "create" => {
                let old = if op == "create" {
                    None
                } else {
                    current.as_ref()
                };
                let new = reset.reset_object(old, &object);
                Ok(ssa::update(
                    old,
                    &new,
                    &UpdateParams {
                        manager,
                        api_version: &api_version,
                        subresource,
                        now: &now,
                        reset,
                    },
                    &schema,
                    &ty,
                ))
            }
            other => bail!("step {n}: unknown op {other}"),
        };
        let expect = &step["expect"];
        match outcome {
            Ok(obj) => {
                if let Some(msg) = expect["conflicts"].as_str() {
                    bail!(
                        "step {n}: expected conflicts {msg:?}, got success:\n{}",
                        pretty(&obj)
                    );
                }
                let obj = if op == "apply" {
                    reset.reset_object(before.as_ref(), &obj)
                } else {
                    obj
                };
                current = Some(obj);
            }
            Err(ApplyError::Conflicts(c)) => {
                let got = ssa::conflicts_message(&c);
                match expect["conflicts"].as_str() {
                    Some(want) if want == got => {
                        checked += 1;
                        continue;
                    }
                    Some(want) => bail!("step {n}: conflicts\n  want: {want}\n   got: {got}"),
                    None => bail!("step {n}: unexpected conflicts: {got}"),
                }
            }
            Err(e) => {
                if let Some(want) = expect["error"].as_str() {
                    if e.to_string() == want {
                        checked += 1;
                        continue;
                    }
                    bail!("step {n}: error\n  want: {want}\n   got: {e}");
                }
                bail!("step {n}: unexpected error: {e}")
            }
        }
        let cur = current.as_ref().expect("set above");
        if expect["unchanged"].as_bool() == Some(true) {
            let same = before
                .as_ref()
                .is_some_and(|b| ssa::same_ignoring_times(b, cur) && b == cur);
            if !same {
                bail!(
                    "step {n}: expected no change\nbefore:\n{}\nafter:\n{}",
                    pretty(before.as_ref().unwrap_or(&Value::Null)),
                    pretty(cur)
                );
            }
            checked += 1;
        }
        if !expect["object"].is_null() {
            let got = strip_managed(cur);
            if got != expect["object"] {
                bail!(
                    "step {n}: object\nwant:\n{}\ngot:\n{}",
                    pretty(&expect["object"]),
                    pretty(&got)
                );
            }
            // Key order matters for what clients see: compare serialised.
            let (w, g) = (
                serde_json::to_string(&expect["object"])?,
                serde_json::to_string(&got)?,
            );
            if w != g {
                bail!("step {n}: object key order\nwant: {w}\n got: {g}");
            }
            checked += 1;
        }
        if let Some(want) = expect["managedFields"].as_array() {
            let got = managed_fields(cur);
            let normalized: Vec<Value> = got
                .iter()
                .zip(want.iter().chain(std::iter::repeat(&Value::Null)))
                .map(|(g, w)| {
                    let mut g = g.clone();
                    if w.get("time").is_none()
                        && let Value::Object(o) = &mut g
                    {
                        o.remove("time");
                    }
                    g
                })
                .collect();
            if normalized != *want {
                bail!(
                    "step {n}: managedFields\nwant:\n{}\ngot:\n{}",
                    pretty(&Value::Array(want.clone())),
                    pretty(&Value::Array(normalized))
                );
            }
            // FieldsV1 must be byte-compatible: re-encode and compare text.
            for entry in &got {
                let fields = &entry["fieldsV1"];
                let set = ssa::FieldSet::from_fields_v1(fields)?;
                if set.to_fields_v1_string() != serde_json::to_string(fields)? {
                    bail!("step {n}: fieldsV1 text differs from the canonical encoding");
                }
            }
            checked += 1;
        }
    }
    Ok(checked)
}

fn case_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![fixtures_dir()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fixture_corpus() {
    let files = case_files();
    assert!(
        files.len() >= 20,
        "expected a corpus of cases, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut steps = 0;
    for f in &files {
        match run_case(f, false) {
            Ok(n) if n > 0 => steps += n,
            Ok(_) => failures.push(format!("{}: checks nothing", f.display())),
            Err(e) => failures.push(format!("{}: {e:#}", f.display())),
        }
    }
    println!(
        "ssa fixtures: {} cases, {} checks, {} failed",
        files.len(),
        steps,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// The same corpus against the real built-in schemas (custom-resource cases
/// excepted): the hand-built test schema must not hide a difference.
#[test]
fn fixture_corpus_builtin_schema() {
    let files = case_files();
    let mut failures = Vec::new();
    let mut ran = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if text.contains("kind: Widget") {
            continue;
        }
        ran += 1;
        if let Err(e) = run_case(f, true) {
            failures.push(format!("{}: {e:#}", f.display()));
        }
    }
    println!(
        "ssa fixtures (built-in schema): {ran} cases, {} failed",
        failures.len()
    );
    assert!(ran >= 20, "too few built-in cases: {ran}");
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
