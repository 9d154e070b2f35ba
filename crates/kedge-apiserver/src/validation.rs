//! Field validation (`fieldValidation=Strict|Warn|Ignore`): unknown fields
//! of built-in kinds, found by walking the object against the kind's type in
//! `kedge-schema`. Strict refuses the request with the real server's 400
//! message; Warn (the default) reports each field in a `Warning` header.
//! Whatever the level, a value whose JSON type does not fit the field's Go
//! type (a number where a string belongs, a string for `metadata`) is the
//! real server's 400 `cannot unmarshal`, since Go's decoder fails there.

use serde_json::Value;

use kedge_schema::{Registry, ScalarKind, Schema, TypeDef, TypeRef};

use crate::catalog::ResourceInfo;
use crate::status::ApiError;

/// The requested validation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Ignore,
    Warn,
    Strict,
}

impl Level {
    pub(crate) fn parse(value: Option<&str>) -> Result<Level, ApiError> {
        match value.unwrap_or("") {
            "" | "Warn" => Ok(Level::Warn),
            "Strict" => Ok(Level::Strict),
            "Ignore" => Ok(Level::Ignore),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

fn walk(schema: &Schema, ty: &TypeRef, value: &Value, path: &str, out: &mut Vec<String>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match schema.resolve(ty) {
        Some(TypeDef::Struct(st)) => {
            let Some(obj) = value.as_object() else { return };
            if st.preserve_unknown_fields {
                return;
            }
            for (k, v) in obj {
                match st.fields.get(k) {
                    Some(f) => walk(schema, &f.ty, v, &join(k), out),
                    None => out.push(join(k)),
                }
            }
        }
        Some(TypeDef::List(l)) => {
            if let Some(items) = value.as_array() {
                for (i, item) in items.iter().enumerate() {
                    walk(schema, &l.items, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Some(TypeDef::Map(m)) => {
            if let Some(obj) = value.as_object() {
                for (k, v) in obj {
                    walk(schema, &m.values, v, &join(k), out);
                }
            }
        }
        _ => {}
    }
}

/// What Go's decoder calls a JSON value in its errors.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The Go type name of a schema type, as decode errors print it.
fn go_type(schema: &Schema, ty: &TypeRef) -> String {
    match schema.resolve(ty) {
        Some(TypeDef::Struct(_)) => {
            let name = ty.name().unwrap_or("struct");
            let mut parts = name.rsplit('.');
            let short = parts.next().unwrap_or(name);
            match parts.next() {
                Some(version) => format!("{version}.{short}"),
                None => short.to_string(),
            }
        }
        Some(TypeDef::List(l)) => format!("[]{}", go_type(schema, &l.items)),
        Some(TypeDef::Map(m)) => format!("map[string]{}", go_type(schema, &m.values)),
        Some(TypeDef::Scalar(ScalarKind::String)) => "string".into(),
        Some(TypeDef::Scalar(ScalarKind::Integer)) => "int64".into(),
        Some(TypeDef::Scalar(ScalarKind::Number)) => "float64".into(),
        Some(TypeDef::Scalar(ScalarKind::Boolean)) => "bool".into(),
        _ => "interface {}".into(),
    }
}

/// The first value whose JSON type cannot be decoded into the field's Go
/// type, as `(path, json kind, go type)`. `null` decodes into anything.
fn mistyped(
    schema: &Schema,
    ty: &TypeRef,
    value: &Value,
    path: &str,
) -> Option<(String, &'static str, String)> {
    if value.is_null() {
        return None;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    let bad = || Some((path.to_string(), json_kind(value), go_type(schema, ty)));
    match schema.resolve(ty)? {
        TypeDef::Struct(st) => {
            let Some(obj) = value.as_object() else {
                return bad();
            };
            for (k, v) in obj {
                if let Some(f) = st.fields.get(k)
                    && let Some(found) = mistyped(schema, &f.ty, v, &join(k))
                {
                    return Some(found);
                }
            }
            None
        }
        TypeDef::List(l) => {
            let Some(items) = value.as_array() else {
                return bad();
            };
            items
                .iter()
                .find_map(|item| mistyped(schema, &l.items, item, path))
        }
        TypeDef::Map(m) => {
            let Some(obj) = value.as_object() else {
                return bad();
            };
            obj.values()
                .find_map(|v| mistyped(schema, &m.values, v, path))
        }
        TypeDef::Scalar(kind) => {
            let ok = match kind {
                ScalarKind::String => value.is_string(),
                ScalarKind::Integer => value.is_i64() || value.is_u64(),
                ScalarKind::Number => value.is_number(),
                ScalarKind::Boolean => value.is_boolean(),
                ScalarKind::IntOrString | ScalarKind::Quantity => {
                    value.is_string() || value.is_number()
                }
            };
            if ok { None } else { bad() }
        }
        _ => None,
    }
}

/// Refuses a built-in object whose values do not fit the kind's Go types,
/// with the real server's 400 (`json: cannot unmarshal …`).
pub(crate) fn check_types(info: &ResourceInfo, obj: &Value) -> Result<(), ApiError> {
    let registry = Registry::builtin();
    let gvk = kedge_core::GroupVersionKind::new(
        info.group.clone(),
        info.version.clone(),
        info.kind.clone(),
    );
    let Some(ty) = registry.type_for(&gvk) else {
        return Ok(());
    };
    match mistyped(registry.schema(), &ty, obj, "") {
        None => Ok(()),
        Some((path, json, go)) => Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: json: cannot unmarshal {json} into Go struct field {kind}.{path} of type {go}",
            kind = info.kind,
            version = info.version,
        ))),
    }
}

/// Unknown fields of a built-in object (empty for kinds without a schema).
pub(crate) fn unknown_fields(info: &ResourceInfo, obj: &Value) -> Vec<String> {
    let registry = Registry::builtin();
    let gvk = kedge_core::GroupVersionKind::new(
        info.group.clone(),
        info.version.clone(),
        info.kind.clone(),
    );
    let Some(ty) = registry.type_for(&gvk) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(registry.schema(), &ty, obj, "", &mut out);
    out
}

/// Checks `obj` at `level`: an error under Strict, warnings under Warn.
pub(crate) fn check(
    info: &ResourceInfo,
    obj: &Value,
    level: Level,
) -> Result<Vec<String>, ApiError> {
    check_types(info, obj)?;
    if level == Level::Ignore {
        return Ok(Vec::new());
    }
    let unknown = unknown_fields(info, obj);
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    if level == Level::Strict {
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
            info.kind,
            info.version,
            info.kind,
            listed.join(", ")
        )));
    }
    Ok(listed)
}
