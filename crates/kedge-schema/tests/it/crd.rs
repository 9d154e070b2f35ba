//! CRD `openAPIV3Schema` → type conversion, checked against expected type
//! summaries (`tests/fixtures/crd/<case>/{schema,expected}.json`).

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use kedge_schema::{ElementRelationship, ListType, ScalarKind, TypeDef, TypeRef, crd_schema_type};
use serde_json::{Map, Value, json};

/// A JSON summary of a type, following inline definitions only (named
/// references print as `ref:NAME`).
fn summary(ty: &TypeRef) -> Value {
    let def = match ty {
        TypeRef::Named(name) => return json!(format!("ref:{name}")),
        TypeRef::Inline(def) => def,
    };
    let rel = |r: ElementRelationship| match r {
        ElementRelationship::Granular => "granular",
        ElementRelationship::Atomic => "atomic",
    };
    match &**def {
        TypeDef::Scalar(k) => json!(match k {
            ScalarKind::String => "string",
            ScalarKind::Integer => "integer",
            ScalarKind::Number => "number",
            ScalarKind::Boolean => "boolean",
            ScalarKind::IntOrString => "int-or-string",
            ScalarKind::Quantity => "quantity",
        }),
        TypeDef::Untyped => json!("untyped"),
        TypeDef::Map(m) => {
            json!({"map": rel(m.element_relationship), "values": summary(&m.values)})
        }
        TypeDef::List(l) => {
            let mut out = Map::new();
            match &l.list_type {
                ListType::Atomic => {
                    out.insert("list".into(), json!("atomic"));
                }
                ListType::Set => {
                    out.insert("list".into(), json!("set"));
                }
                ListType::Map(keys) => {
                    out.insert("list".into(), json!("map"));
                    out.insert("keys".into(), json!(keys));
                }
            }
            out.insert("items".into(), summary(&l.items));
            Value::Object(out)
        }
        TypeDef::Struct(s) => {
            let mut out = Map::new();
            out.insert("struct".into(), json!(rel(s.element_relationship)));
            if !s.required.is_empty() {
                out.insert("required".into(), json!(s.required));
            }
            if s.preserve_unknown_fields {
                out.insert("preserveUnknownFields".into(), json!(true));
            }
            if s.embedded_resource {
                out.insert("embeddedResource".into(), json!(true));
            }
            let fields: Map<String, Value> = s
                .fields
                .iter()
                .map(|(k, f)| (k.clone(), summary(&f.ty)))
                .collect();
            out.insert("fields".into(), Value::Object(fields));
            Value::Object(out)
        }
    }
}

#[test]
fn crd_schema_fixtures() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crd");
    let mut count = 0;
    for entry in std::fs::read_dir(&root)? {
        let dir = entry?.path();
        let input: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("schema.json"))?)?;
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json"))?)?;
        let ty = crd_schema_type(&input).with_context(|| format!("{}", dir.display()))?;
        let got = summary(&ty);
        ensure!(
            got == expected,
            "{}:\n{}",
            dir.display(),
            serde_json::to_string_pretty(&got)?
        );
        count += 1;
    }
    ensure!(count >= 2);
    Ok(())
}

#[test]
fn crd_schema_errors_name_the_node() {
    let bad = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}}}}}});
    let err = crd_schema_type(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "schema node at openAPIV3Schema.spec.items: x-kubernetes-list-type map requires x-kubernetes-list-map-keys"
    );
    let no_schema = crd_schema_type(&Value::Null).unwrap();
    let TypeRef::Inline(def) = no_schema else {
        panic!("inline expected")
    };
    assert!(def.as_struct().unwrap().preserve_unknown_fields);
}

#[test]
fn crd_version_lookup() {
    let crd = crate::kubectl::widget_crd();
    let ty = kedge_schema::crd_version_type(&crd, "v1").unwrap().unwrap();
    let TypeRef::Inline(def) = ty else {
        panic!("inline expected")
    };
    let spec = &def.as_struct().unwrap().fields["spec"];
    let TypeRef::Inline(spec) = &spec.ty else {
        panic!("inline expected")
    };
    assert!(spec.as_struct().unwrap().fields.contains_key("size"));
    assert!(
        kedge_schema::crd_version_type(&crd, "v2")
            .unwrap()
            .is_none()
    );
}
