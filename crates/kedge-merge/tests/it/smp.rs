//! Strategic merge patch against kubectl: every fixture under
//! `tests/fixtures/smp/<group>/<case>.yaml` holds an original object, a
//! patch and what `kubectl patch --local --type strategic` produced (or its
//! error); `tests/fixtures/smp/regenerate.py` rewrites them. Plus directed
//! tests of the patch creation used by client-side apply.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kedge_merge::smp::{
    self, SmpError, create_three_way_merge_patch, create_two_way_merge_patch, strategic_merge_patch,
};
use serde_json::{Value, json};

use crate::smp_schema::{schema, type_for};

/// One fixture file.
pub(crate) struct Case {
    pub(crate) path: PathBuf,
    pub(crate) kind: String,
    pub(crate) ty: String,
    pub(crate) original: Value,
    pub(crate) patch: Value,
    pub(crate) expected: Option<Value>,
    pub(crate) error: Option<String>,
}

fn fixtures_dir(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(which)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = entry?.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Loads every case under `tests/fixtures/<which>`.
pub(crate) fn load_cases(which: &str) -> Result<Vec<Case>> {
    let mut files = Vec::new();
    collect(&fixtures_dir(which), &mut files)?;
    files.sort();
    let mut cases = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let docs = kedge_yaml::parse_stream(&text, &kedge_yaml::Limits::default())
            .with_context(|| format!("parsing {}", path.display()))?;
        let v = kedge_yaml::to_value(docs.first().context("empty fixture")?)?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        cases.push(Case {
            kind: s("kind").with_context(|| format!("{}: no kind", path.display()))?,
            ty: s("type").unwrap_or_else(|| "strategic".to_string()),
            original: v.get("original").cloned().context("no original")?,
            patch: v.get("patch").cloned().context("no patch")?,
            expected: v.get("expected").cloned(),
            error: s("error"),
            path,
        });
    }
    Ok(cases)
}

/// Runs `apply` on every case and reports all mismatches at once.
pub(crate) fn check_cases<E: std::fmt::Display>(
    cases: &[Case],
    compare_errors: bool,
    apply: impl Fn(&Case) -> Result<Value, E>,
) -> usize {
    let mut failures = Vec::new();
    for case in cases {
        let got = apply(case);
        let name = case
            .path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&case.path)
            .display();
        match (&got, &case.expected, &case.error) {
            (Ok(v), Some(want), _) if v == want => {}
            (Ok(v), Some(want), _) => failures.push(format!(
                "{name}: result differs\n  want {}\n  got  {}",
                serde_json::to_string(want).unwrap_or_default(),
                serde_json::to_string(v).unwrap_or_default()
            )),
            (Err(e), _, Some(want)) => {
                if compare_errors && e.to_string() != *want {
                    failures.push(format!("{name}: error differs\n  want {want}\n  got  {e}"));
                }
            }
            (Err(e), _, None) => failures.push(format!("{name}: unexpected error: {e}")),
            (Ok(v), None, want) => failures.push(format!(
                "{name}: expected error {want:?}, got {}",
                serde_json::to_string(v).unwrap_or_default()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn strategic_merge_patch_matches_kubectl() -> Result<()> {
    let schema = schema();
    let cases = load_cases("smp")?;
    assert!(
        cases.len() > 500,
        "only {} strategic merge patch fixtures",
        cases.len()
    );
    let n = check_cases(&cases, false, |c| {
        assert_eq!(c.ty, "strategic", "{}", c.path.display());
        strategic_merge_patch(&c.original, &c.patch, &schema, &type_for(&c.kind))
    });
    println!("{n} strategic merge patch fixtures agree with kubectl");
    Ok(())
}

#[test]
fn strategic_merge_patch_with_builtin_registry_matches_kubectl() -> Result<()> {
    let registry = kedge_schema::Registry::builtin();
    let cases = load_cases("smp")?;
    let n = check_cases(&cases, false, |c| {
        let (api_version, kind) = c
            .kind
            .split_once(' ')
            .expect("kind is `<apiVersion> <Kind>`");
        let gvk =
            kedge_core::GroupVersionKind::from_api_version_kind(api_version, kind).expect("gvk");
        let ty = registry
            .type_for(&gvk)
            .unwrap_or_else(|| panic!("no built-in type for {gvk:?}"));
        strategic_merge_patch(&c.original, &c.patch, registry.schema(), &ty)
    });
    println!("{n} strategic merge patch fixtures agree with kubectl using the built-in registry");
    Ok(())
}

/// Client-side apply against kubectl: each fixture under
/// `tests/fixtures/smp-apply/` holds the live object, the last applied
/// configuration, the new configuration (with kubectl's new annotation) and
/// the strategic merge patch `kubectl apply` sent for them (recorded by
/// `tests/fixtures/smp-apply/regenerate.py` with a throwaway local server).
fn check_apply_cases(
    schema: &kedge_schema::Schema,
    ty_of: impl Fn(&str) -> kedge_schema::TypeRef,
) -> Result<usize> {
    let mut files = Vec::new();
    collect(&fixtures_dir("smp-apply"), &mut files)?;
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)?;
        let docs = kedge_yaml::parse_stream(&text, &kedge_yaml::Limits::default())?;
        let case = kedge_yaml::to_value(docs.first().context("empty fixture")?)?;
        let kind = case["kind"].as_str().context("kind")?;
        let name = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path)
            .display()
            .to_string();
        if case["type"] == "merge" {
            // Custom resources: kubectl sends a three-way JSON merge patch.
            let got = kedge_merge::mergepatch::create_three_way_merge_patch(
                &case["original"],
                &case["modified"],
                &case["current"],
            )?;
            if got != case["patch"] {
                failures.push(format!(
                    "{name}: merge patch differs\n  want {}\n  got  {}",
                    serde_json::to_string(&case["patch"])?,
                    serde_json::to_string(&got)?
                ));
            }
            continue;
        }
        let ty = ty_of(kind);
        if case.get("command").is_some() {
            // `kubectl set …`: a two-way patch between round trips of the live object.
            let got = create_two_way_merge_patch(&case["original"], &case["modified"], schema, &ty);
            match got {
                Ok(p) if p == case["patch"] => {
                    let applied = strategic_merge_patch(&case["original"], &p, schema, &ty)?;
                    if applied != case["modified"] {
                        failures.push(format!(
                            "{name}: the two-way patch does not yield the modified object"
                        ));
                    }
                }
                Ok(p) => failures.push(format!(
                    "{name}: two-way patch differs\n  want {}\n  got  {}",
                    serde_json::to_string(&case["patch"])?,
                    serde_json::to_string(&p)?
                )),
                Err(e) => failures.push(format!("{name}: {e}")),
            }
            continue;
        }
        let got = create_three_way_merge_patch(
            &case["original"],
            &case["modified"],
            &case["current"],
            schema,
            &ty,
            true,
        );
        match got {
            Ok(p) if p == case["patch"] => {
                // The patch must apply to the live object and yield the configuration's fields.
                let applied = strategic_merge_patch(&case["current"], &p, schema, &ty)
                    .with_context(|| format!("{name}: applying the patch"))?;
                if applied["spec"] != case["modified"]["spec"]
                    && case["modified"].get("spec").is_some()
                {
                    let drifted = case["current"]["spec"] != case["original"]["spec"];
                    if !drifted {
                        failures.push(format!(
                            "{name}: applying the patch does not yield the configured spec"
                        ));
                    }
                }
            }
            Ok(p) => failures.push(format!(
                "{name}: patch differs\n  want {}\n  got  {}",
                serde_json::to_string(&case["patch"])?,
                serde_json::to_string(&p)?
            )),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    Ok(files.len())
}

#[test]
fn three_way_patch_matches_kubectl_apply() -> Result<()> {
    let n = check_apply_cases(&schema(), type_for)?;
    assert!(n > 100, "only {n} client-side apply fixtures");
    println!("{n} client-side apply patches agree with kubectl");
    Ok(())
}

#[test]
fn three_way_patch_with_builtin_registry_matches_kubectl_apply() -> Result<()> {
    let registry = kedge_schema::Registry::builtin();
    let n = check_apply_cases(registry.schema(), |kind| {
        let (api_version, kind) = kind.split_once(' ').expect("kind is `<apiVersion> <Kind>`");
        let gvk =
            kedge_core::GroupVersionKind::from_api_version_kind(api_version, kind).expect("gvk");
        registry.type_for(&gvk).expect("built-in kind")
    })?;
    println!("{n} client-side apply patches agree with kubectl using the built-in registry");
    Ok(())
}

#[test]
fn errors_name_the_field_path() -> Result<()> {
    let schema = schema();
    let ty = type_for("apps/v1 Deployment");
    let original = json!({"metadata": {"labels": {"app": "a"}}, "spec": {
        "strategy": {"type": "RollingUpdate"},
        "template": {"spec": {"containers": [{"name": "a", "image": "x"}], "volumes": []}},
    }});
    let cases = [
        (
            json!({"spec": {"template": {"spec": {"containers": [{"image": "y"}]}}}}),
            ".spec.template.spec.containers[0]",
            "merge key: name",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}}),
            ".spec.template.spec.containers",
            "merging lists cannot yet be specified",
        ),
        (
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
            ".spec.strategy",
            "retainKeys",
        ),
        (
            json!({"spec": {"template": {"spec": {"volumes": [["a"]]}}}}),
            ".spec.template.spec.volumes",
            "lists of lists",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [["a"]]}}}}),
            ".spec.template.spec.containers",
            "not identical",
        ),
        (
            json!({"metadata": {"labels": {"$patch": "merge"}}}),
            ".metadata.labels",
            "unknown patch type",
        ),
        (
            json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "b"}]}}}}),
            ".spec.template.spec",
            "setElementOrder",
        ),
    ];
    for (patch, path, what) in cases {
        let err =
            strategic_merge_patch(&original, &patch, &schema, &ty).expect_err("patch must fail");
        let msg = err.to_string();
        assert!(msg.starts_with(path), "{msg:?} should start with {path:?}");
        assert!(msg.contains(what), "{msg:?} should mention {what:?}");
    }
    let err =
        strategic_merge_patch(&original, &json!([1]), &schema, &ty).expect_err("not an object");
    assert_eq!(err, SmpError::BadJsonDoc { what: "patch" });
    assert_eq!(err.status_code(), 400);
    Ok(())
}

#[test]
fn new_items_go_first_and_set_element_order_wins() -> Result<()> {
    let schema = schema();
    let ty = type_for("v1 Pod");
    let original = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
    let patch = json!({"spec": {"containers": [{"name": "c"}]}});
    let got = strategic_merge_patch(&original, &patch, &schema, &ty)?;
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "c"}, {"name": "a"}, {"name": "b"}])
    );
    let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "containers": [{"name": "c"}]}});
    let got = strategic_merge_patch(&original, &patch, &schema, &ty)?;
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    );
    // Fields keep their position in the object.
    let original = json!({"spec": {"containers": [{"name": "a"}], "dnsPolicy": "None", "volumes": [{"name": "v"}]}});
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "a"}],
        "containers": [{"name": "a", "image": "i"}],
    }});
    let got = strategic_merge_patch(&original, &patch, &schema, &ty)?;
    let keys: Vec<&String> = got["spec"].as_object().context("spec")?.keys().collect();
    assert_eq!(keys, ["containers", "dnsPolicy", "volumes"]);
    Ok(())
}

#[test]
fn large_lists_merge_by_key() -> Result<()> {
    let schema = schema();
    let ty = type_for("v1 Pod");
    let n = 5_000;
    let env: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("E{i}"), "value": "old"}))
        .collect();
    let original = json!({"spec": {"containers": [{"name": "a", "env": env}]}});
    let updates: Vec<Value> = (0..n)
        .rev()
        .step_by(2)
        .map(|i| json!({"name": format!("E{i}"), "value": "new"}))
        .collect();
    let patch = json!({"spec": {"containers": [{"name": "a", "env": updates}]}});
    let got = strategic_merge_patch(&original, &patch, &schema, &ty)?;
    let env = got["spec"]["containers"][0]["env"]
        .as_array()
        .context("env")?;
    assert_eq!(env.len(), n);
    // apimachinery's interleaving: a live item goes before a patched one when
    // it comes earlier in the live list, patched items keep the patch order.
    // With the patch in reverse order, every untouched item comes first.
    let untouched = (0..n)
        .step_by(2)
        .map(|i| json!({"name": format!("E{i}"), "value": "old"}));
    let patched = (0..n)
        .rev()
        .step_by(2)
        .map(|i| json!({"name": format!("E{i}"), "value": "new"}));
    let want: Vec<Value> = untouched.chain(patched).collect();
    assert!(env == &want, "unexpected order");
    let modified = got.clone();
    let back = create_two_way_merge_patch(&original, &modified, &schema, &ty)?;
    assert_eq!(
        strategic_merge_patch(&original, &back, &schema, &ty)?,
        modified
    );
    Ok(())
}

#[test]
fn conflicts_are_reported_without_overwrite() -> Result<()> {
    let schema = schema();
    let ty = type_for("apps/v1 Deployment");
    let original = json!({"spec": {"replicas": 2}});
    let modified = json!({"spec": {"replicas": 3}});
    let current = json!({"spec": {"replicas": 5}});
    let err = create_three_way_merge_patch(&original, &modified, &current, &schema, &ty, false)
        .expect_err("replicas changed on both sides");
    assert!(matches!(err, SmpError::Conflict { .. }), "{err}");
    assert_eq!(err.status_code(), 409);
    let patch = create_three_way_merge_patch(&original, &modified, &current, &schema, &ty, true)?;
    assert_eq!(patch, json!({"spec": {"replicas": 3}}));
    // The same change on both sides is no conflict.
    let patch = create_three_way_merge_patch(&original, &modified, &modified, &schema, &ty, false)?;
    assert_eq!(patch, json!({}));
    assert!(!smp::merging_maps_have_conflicts(
        &json!({"a": 1}),
        &json!({"b": 2}),
        &schema,
        &ty
    )?);
    Ok(())
}

/// Timing of a typical Deployment merge and of patch creation. Ignored by
/// default; run `cargo test --release -p kedge-merge --test it -- --ignored smp::timing --nocapture`.
#[test]
#[ignore = "timing report, not a check"]
fn timing() -> Result<()> {
    let registry = kedge_schema::Registry::builtin();
    let gvk = kedge_core::GroupVersionKind::from_api_version_kind("apps/v1", "Deployment")?;
    let ty = registry.type_for(&gvk).context("Deployment")?;
    let schema = registry.schema();
    let case = load_cases("smp")?
        .into_iter()
        .find(|c| {
            c.path
                .ends_with("containers/deployment-update-and-add.yaml")
        })
        .context("fixture")?;
    let n = 20_000u32;
    let time = |label: &str, f: &dyn Fn()| {
        let start = std::time::Instant::now();
        for _ in 0..n {
            f();
        }
        println!(
            "{label}: {:.2} µs",
            start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        );
    };
    time("baseline: clone of the original and the patch", &|| {
        std::hint::black_box((case.original.clone(), case.patch.clone()));
    });
    time("strategic merge of a Deployment (clone + merge)", &|| {
        strategic_merge_patch(&case.original, &case.patch, schema, &ty).expect("merge");
    });
    let modified = strategic_merge_patch(&case.original, &case.patch, schema, &ty)?;
    time("two-way patch of a Deployment", &|| {
        create_two_way_merge_patch(&case.original, &modified, schema, &ty).expect("diff");
    });
    time("three-way patch of a Deployment", &|| {
        create_three_way_merge_patch(&case.original, &modified, &case.original, schema, &ty, true)
            .expect("diff");
    });
    Ok(())
}

#[test]
fn patch_dispatch_by_content_type() -> Result<()> {
    use kedge_merge::{PatchError, PatchType, apply_patch};
    let schema = schema();
    let ty = type_for("v1 ConfigMap");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let t = PatchType::from_content_type("application/strategic-merge-patch+json; charset=utf-8");
    assert_eq!(t, Some(PatchType::Strategic));
    assert_eq!(
        PatchType::from_content_type("application/apply-patch+yaml"),
        None
    );
    let got = apply_patch(
        PatchType::Strategic,
        &cm,
        &json!({"data": {"b": "2"}}),
        Some((&schema, &ty)),
    )?;
    assert_eq!(got["data"], json!({"a": "1", "b": "2"}));
    let err =
        apply_patch(PatchType::Strategic, &cm, &json!({"data": {}}), None).expect_err("no schema");
    assert_eq!(err, PatchError::StrategicUnsupported);
    assert_eq!(err.status_code(), 415);
    assert!(
        err.to_string()
            .starts_with("the body of the request was in an unknown format")
    );
    let got = apply_patch(PatchType::Merge, &cm, &json!({"data": {"a": null}}), None)?;
    assert_eq!(got["data"], json!({}));
    let err = apply_patch(
        PatchType::Json,
        &cm,
        &json!([{"op": "test", "path": "/data/a", "value": "2"}]),
        None,
    )
    .expect_err("test fails");
    assert_eq!(err.status_code(), 422);
    assert_eq!(err.to_string(), "testing value /data/a failed: test failed");
    let err = apply_patch(PatchType::Merge, &cm, &json!(null), None).expect_err("null patch");
    assert_eq!(err.status_code(), 400);
    Ok(())
}
