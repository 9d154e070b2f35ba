//! Field validation (`fieldValidation=Strict|Warn|Ignore`): unknown fields
//! of built-in kinds, found by walking the object against the kind's type in
//! `kedge-schema`. Strict refuses the request with the real server's 400
//! message; Warn (the default) reports each field in a `Warning` header.

use serde_json::Value;

use kedge_schema::{Registry, Schema, TypeDef, TypeRef};

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
