//! The merge type model of built-in kinds, checked against data-driven facts
//! (`tests/fixtures/types/builtin/fields.json`): list types and keys, patch
//! strategies and merge keys, map and struct granularity, scalar kinds.

use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use kedge_core::{GroupVersion, GroupVersionKind};
use kedge_schema::{ElementRelationship, ListType, Registry, ScalarKind, TypeDef};
use serde_json::Value;

fn fixtures(feature: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(feature)
}

fn parse_kind(s: &str) -> Result<GroupVersionKind> {
    let (gv, kind) = s
        .rsplit_once('/')
        .context("kind must be GROUP/VERSION/KIND")?;
    Ok(GroupVersion::parse(gv)?.with_kind(kind))
}

fn relationship(r: ElementRelationship) -> &'static str {
    match r {
        ElementRelationship::Granular => "granular",
        ElementRelationship::Atomic => "atomic",
    }
}

fn scalar_name(k: ScalarKind) -> &'static str {
    match k {
        ScalarKind::String => "string",
        ScalarKind::Integer => "integer",
        ScalarKind::Number => "number",
        ScalarKind::Boolean => "boolean",
        ScalarKind::IntOrString => "int-or-string",
        ScalarKind::Quantity => "quantity",
    }
}

fn check_case(case: &Value) -> Result<()> {
    let registry = Registry::builtin();
    let schema = registry.schema();
    let gvk = parse_kind(case["kind"].as_str().context("kind")?)?;
    let root = registry
        .type_for(&gvk)
        .with_context(|| format!("no type for {gvk}"))?;
    let path: Vec<&str> = case["path"]
        .as_array()
        .context("path")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let field = schema
        .field_path(&root, &path)
        .with_context(|| format!("no field {path:?}"))?;
    let def = schema.resolve(&field.ty).context("dangling type")?;
    if let Some(strategy) = case.get("strategy").and_then(Value::as_str) {
        ensure!(
            field.patch_strategy.to_string() == strategy,
            "patch strategy {} != {strategy}",
            field.patch_strategy
        );
    }
    let merge_key = case.get("mergeKey").and_then(Value::as_str);
    if case.get("strategy").is_some() {
        ensure!(
            field.patch_merge_key.as_deref() == merge_key,
            "merge key {:?} != {merge_key:?}",
            field.patch_merge_key
        );
    }
    if let Some(list) = case.get("list").and_then(Value::as_str) {
        let TypeDef::List(l) = def else {
            bail!("not a list: {def:?}")
        };
        match (&l.list_type, list) {
            (ListType::Atomic, "atomic") | (ListType::Set, "set") => {}
            (ListType::Map(keys), "map") => {
                let want: Vec<&str> = case["keys"]
                    .as_array()
                    .context("keys")?
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                ensure!(keys == &want, "keys {keys:?} != {want:?}");
            }
            (got, want) => bail!("list type {got:?} != {want}"),
        }
    }
    if let Some(map) = case.get("map").and_then(Value::as_str) {
        let TypeDef::Map(m) = def else {
            bail!("not a map: {def:?}")
        };
        ensure!(relationship(m.element_relationship) == map, "map type");
        if let Some(values) = case.get("values").and_then(Value::as_str) {
            let v = schema.resolve(&m.values).context("values")?;
            ensure!(
                v.as_scalar().map(scalar_name) == Some(values),
                "map values {v:?} != {values}"
            );
        }
    }
    if let Some(rel) = case.get("struct").and_then(Value::as_str) {
        let s = def
            .as_struct()
            .with_context(|| format!("not a struct: {def:?}"))?;
        ensure!(
            relationship(s.element_relationship) == rel,
            "struct relationship {:?} != {rel}",
            s.element_relationship
        );
    }
    if let Some(scalar) = case.get("scalar").and_then(Value::as_str) {
        ensure!(
            def.as_scalar().map(scalar_name) == Some(scalar),
            "scalar {def:?} != {scalar}"
        );
    }
    if case.get("untyped").is_some() {
        ensure!(matches!(def, TypeDef::Untyped), "not untyped: {def:?}");
    }
    Ok(())
}

#[test]
fn builtin_field_facts() -> Result<()> {
    let text = std::fs::read_to_string(fixtures("types/builtin").join("fields.json"))?;
    let cases: Vec<Value> = serde_json::from_str(&text)?;
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = check_case(case) {
            failures.push(format!("{} {}: {e:#}", case["kind"], case["path"]));
        }
    }
    ensure!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    ensure!(cases.len() > 50);
    Ok(())
}

#[test]
fn every_reference_resolves() {
    let schema = Registry::builtin().schema();
    fn walk(schema: &kedge_schema::Schema, ty: &kedge_schema::TypeRef, dangling: &mut Vec<String>) {
        match ty {
            kedge_schema::TypeRef::Named(n) => {
                if !schema.types.contains_key(n) {
                    dangling.push(n.clone());
                }
            }
            kedge_schema::TypeRef::Inline(def) => walk_def(schema, def, dangling),
        }
    }
    fn walk_def(schema: &kedge_schema::Schema, def: &TypeDef, dangling: &mut Vec<String>) {
        match def {
            TypeDef::Struct(s) => s
                .fields
                .values()
                .for_each(|f| walk(schema, &f.ty, dangling)),
            TypeDef::List(l) => walk(schema, &l.items, dangling),
            TypeDef::Map(m) => walk(schema, &m.values, dangling),
            TypeDef::Scalar(_) | TypeDef::Untyped => {}
        }
    }
    let mut dangling = Vec::new();
    for def in schema.types.values() {
        walk_def(schema, def, &mut dangling);
    }
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
    assert!(schema.types.len() > 600);
}

#[test]
fn kinds_map_to_their_definitions() {
    let r = Registry::builtin();
    let cases = [
        ("apps", "v1", "Deployment", "io.k8s.api.apps.v1.Deployment"),
        ("", "v1", "ConfigMap", "io.k8s.api.core.v1.ConfigMap"),
        (
            "autoscaling",
            "v1",
            "Scale",
            "io.k8s.api.autoscaling.v1.Scale",
        ),
        (
            "",
            "v1",
            "Status",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        ),
    ];
    for (g, v, k, name) in cases {
        let gvk = GroupVersionKind::new(g, v, k);
        assert_eq!(r.definition_name(&gvk), Some(name), "{gvk}");
    }
    assert!(
        r.type_for(&GroupVersionKind::new("example.com", "v1", "Widget"))
            .is_none()
    );
}

#[test]
fn label_selector_is_atomic_and_object_meta_granular() {
    let schema = Registry::builtin().schema();
    let ls = schema.types["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]
        .as_struct()
        .unwrap();
    assert_eq!(ls.element_relationship, ElementRelationship::Atomic);
    let om = schema.types[kedge_schema::OBJECT_META].as_struct().unwrap();
    assert_eq!(om.element_relationship, ElementRelationship::Granular);
    assert!(om.fields.contains_key("managedFields"));
}
