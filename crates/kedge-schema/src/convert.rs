//! Conversion of OpenAPI v3 schema nodes into the merge type model.
//!
//! One converter serves both sources: the built-in definitions (compact
//! OpenAPI nodes in `data/types-v1.33.json`, with `$ref` naming other
//! definitions) and the structural `openAPIV3Schema` of a
//! CustomResourceDefinition. The rules follow kube-openapi's `schemaconv`
//! (which feeds structured-merge-diff):
//!
//! * `type: object` with `properties` is a struct (`x-kubernetes-map-type`
//!   atomic makes it one value); with `additionalProperties` a map;
//! * `type: array` is a list whose SSA type comes from
//!   `x-kubernetes-list-type` / `x-kubernetes-list-map-keys`, or, for
//!   built-ins without it, from the patch strategy (`merge` with a merge key is
//!   a map keyed by it, `merge` alone a set), and is atomic otherwise;
//! * `x-kubernetes-int-or-string` and `oneOf: [string, integer]` are
//!   int-or-string, `oneOf: [string, number]` is a quantity;
//! * nodes that allow anything (`x-kubernetes-preserve-unknown-fields`
//!   without properties, built-in objects without properties such as
//!   `RawExtension` and `FieldsV1`, schema-less nodes) are untyped.
//!
//! For custom resources the root's `apiVersion` and `kind` are strings and
//! `metadata` is `ObjectMeta` whatever the CRD says (the API server only lets
//! a CRD restrict `name` and `generateName`); the same holds for nested
//! `x-kubernetes-embedded-resource` objects.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

use crate::types::{
    ElementRelationship, Field, ListType, ListTypeDef, MapTypeDef, PatchStrategy, ScalarKind,
    StructType, TypeDef, TypeRef,
};

/// The definition name of `ObjectMeta`.
pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// A schema that cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A node that must be a JSON object is something else.
    #[error("schema node at {path} is not an object")]
    NotAnObject {
        /// JSON path of the node.
        path: String,
    },
    /// `x-kubernetes-list-type: map` without `x-kubernetes-list-map-keys`.
    #[error(
        "schema node at {path}: x-kubernetes-list-type map requires x-kubernetes-list-map-keys"
    )]
    MissingMapKeys {
        /// JSON path of the node.
        path: String,
    },
    /// An unknown `x-kubernetes-list-type` or `x-kubernetes-map-type`.
    #[error("schema node at {path}: unsupported {extension} {value:?}")]
    UnsupportedExtension {
        /// JSON path of the node.
        path: String,
        /// The extension.
        extension: &'static str,
        /// Its value.
        value: String,
    },
}

struct Scalars {
    string: TypeRef,
    integer: TypeRef,
    number: TypeRef,
    boolean: TypeRef,
    int_or_string: TypeRef,
    quantity: TypeRef,
    untyped: TypeRef,
}

static SCALARS: LazyLock<Scalars> = LazyLock::new(|| Scalars {
    string: TypeRef::inline(TypeDef::Scalar(ScalarKind::String)),
    integer: TypeRef::inline(TypeDef::Scalar(ScalarKind::Integer)),
    number: TypeRef::inline(TypeDef::Scalar(ScalarKind::Number)),
    boolean: TypeRef::inline(TypeDef::Scalar(ScalarKind::Boolean)),
    int_or_string: TypeRef::inline(TypeDef::Scalar(ScalarKind::IntOrString)),
    quantity: TypeRef::inline(TypeDef::Scalar(ScalarKind::Quantity)),
    untyped: TypeRef::inline(TypeDef::Untyped),
});

/// The shared inline string type.
pub fn string_type() -> TypeRef {
    SCALARS.string.clone()
}

/// The shared inline untyped type.
pub fn untyped_type() -> TypeRef {
    SCALARS.untyped.clone()
}

/// Which source a node comes from: the rules differ slightly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Built-in definitions (`$ref` allowed, objects without properties are untyped).
    Builtin,
    /// A CRD's structural schema (objects without properties are empty structs).
    CustomResource,
}

pub(crate) struct Converter {
    pub(crate) source: Source,
}

fn ext_str<'a>(node: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Value::as_str)
}

fn ext_bool(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The node's `type`, ignoring `null` in a type list.
fn node_type(node: &Map<String, Value>) -> Option<&str> {
    match node.get("type")? {
        Value::String(s) => Some(s),
        Value::Array(items) => {
            let mut non_null = items
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null");
            let first = non_null.next()?;
            non_null.next().is_none().then_some(first)
        }
        _ => None,
    }
}

fn ref_name(r: &str) -> &str {
    r.rsplit('/').next().unwrap_or(r)
}

fn map_type(node: &Map<String, Value>, path: &str) -> Result<ElementRelationship, SchemaError> {
    match ext_str(node, "x-kubernetes-map-type") {
        None | Some("granular") => Ok(ElementRelationship::Granular),
        Some("atomic") => Ok(ElementRelationship::Atomic),
        Some(other) => Err(SchemaError::UnsupportedExtension {
            path: path.to_string(),
            extension: "x-kubernetes-map-type",
            value: other.to_string(),
        }),
    }
}

/// The SSA list type of an array node (`getListElementRelationship`).
pub(crate) fn list_type(node: &Map<String, Value>, path: &str) -> Result<ListType, SchemaError> {
    match ext_str(node, "x-kubernetes-list-type") {
        Some("atomic") => return Ok(ListType::Atomic),
        Some("set") => return Ok(ListType::Set),
        Some("map") => {
            let keys: Vec<String> = node
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|ks| {
                    ks.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            if keys.is_empty() {
                return Err(SchemaError::MissingMapKeys {
                    path: path.to_string(),
                });
            }
            return Ok(ListType::Map(keys));
        }
        Some(other) => {
            return Err(SchemaError::UnsupportedExtension {
                path: path.to_string(),
                extension: "x-kubernetes-list-type",
                value: other.to_string(),
            });
        }
        None => {}
    }
    if let Some(strategy) = ext_str(node, "x-kubernetes-patch-strategy")
        && PatchStrategy::parse(strategy).merge
    {
        return Ok(match ext_str(node, "x-kubernetes-patch-merge-key") {
            Some(key) => ListType::Map(vec![key.to_string()]),
            None => ListType::Set,
        });
    }
    Ok(ListType::Atomic)
}

impl Converter {
    /// Converts one node.
    pub(crate) fn convert(&self, value: &Value, path: &str) -> Result<TypeRef, SchemaError> {
        let node = match value {
            Value::Object(node) => node,
            // `additionalProperties: true` and friends.
            Value::Bool(_) => return Ok(untyped_type()),
            _ => {
                return Err(SchemaError::NotAnObject {
                    path: path.to_string(),
                });
            }
        };
        if let Some(r) = ext_str(node, "$ref") {
            return Ok(TypeRef::Named(ref_name(r).to_string()));
        }
        if let Some(all_of) = node.get("allOf").and_then(Value::as_array)
            && let [single] = all_of.as_slice()
            && let Some(r) = single.get("$ref").and_then(Value::as_str)
        {
            return Ok(TypeRef::Named(ref_name(r).to_string()));
        }
        if ext_bool(node, "x-kubernetes-int-or-string") {
            return Ok(SCALARS.int_or_string.clone());
        }
        if let Some(one_of) = node.get("oneOf").and_then(Value::as_array) {
            let types: Vec<&str> = one_of
                .iter()
                .filter_map(|v| v.as_object().and_then(node_type))
                .collect();
            return Ok(if types.contains(&"integer") && types.contains(&"string") {
                SCALARS.int_or_string.clone()
            } else if types.contains(&"number") && types.contains(&"string") {
                SCALARS.quantity.clone()
            } else {
                untyped_type()
            });
        }
        let preserve = ext_bool(node, "x-kubernetes-preserve-unknown-fields");
        let embedded = ext_bool(node, "x-kubernetes-embedded-resource");
        match node_type(node) {
            Some("string") => Ok(if ext_str(node, "format") == Some("int-or-string") {
                SCALARS.int_or_string.clone()
            } else {
                SCALARS.string.clone()
            }),
            Some("integer") => Ok(SCALARS.integer.clone()),
            Some("number") => Ok(SCALARS.number.clone()),
            Some("boolean") => Ok(SCALARS.boolean.clone()),
            Some("array") => {
                let items = match node.get("items") {
                    Some(items) => self.convert(items, &format!("{path}.items"))?,
                    None => untyped_type(),
                };
                Ok(TypeRef::inline(TypeDef::List(ListTypeDef {
                    items,
                    list_type: list_type(node, path)?,
                })))
            }
            Some("object") | None => self.convert_object(node, path, preserve, embedded),
            Some(_) => Ok(untyped_type()),
        }
    }

    fn convert_object(
        &self,
        node: &Map<String, Value>,
        path: &str,
        preserve: bool,
        embedded: bool,
    ) -> Result<TypeRef, SchemaError> {
        let properties = node.get("properties").and_then(Value::as_object);
        let additional = node.get("additionalProperties");
        let has_properties = properties.is_some_and(|p| !p.is_empty());
        if !has_properties && !embedded {
            match additional {
                Some(Value::Bool(false)) | None => {}
                Some(Value::Bool(true)) => {
                    return Ok(TypeRef::inline(TypeDef::Map(MapTypeDef {
                        values: untyped_type(),
                        element_relationship: map_type(node, path)?,
                    })));
                }
                Some(values) => {
                    let values = self.convert(values, &format!("{path}.additionalProperties"))?;
                    return Ok(TypeRef::inline(TypeDef::Map(MapTypeDef {
                        values,
                        element_relationship: map_type(node, path)?,
                    })));
                }
            }
            let untyped = preserve
                || self.source == Source::Builtin
                || node_type(node).is_none() && properties.is_none();
            if untyped {
                return Ok(untyped_type());
            }
        }
        let def = self.struct_def(node, path, preserve, embedded)?;
        Ok(TypeRef::inline(TypeDef::Struct(def)))
    }

    /// Converts an object node with properties into a struct.
    pub(crate) fn struct_def(
        &self,
        node: &Map<String, Value>,
        path: &str,
        preserve: bool,
        embedded: bool,
    ) -> Result<StructType, SchemaError> {
        let mut fields = BTreeMap::new();
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (name, prop) in properties {
                let field_path = format!("{path}.{name}");
                let ty = self.convert(prop, &field_path)?;
                let prop_map = prop.as_object();
                let patch_strategy = prop_map
                    .and_then(|p| ext_str(p, "x-kubernetes-patch-strategy"))
                    .map(PatchStrategy::parse)
                    .unwrap_or_default();
                let patch_merge_key = prop_map
                    .and_then(|p| ext_str(p, "x-kubernetes-patch-merge-key"))
                    .map(String::from);
                fields.insert(
                    name.clone(),
                    Field {
                        ty,
                        patch_strategy,
                        patch_merge_key,
                    },
                );
            }
        }
        if embedded {
            add_object_fields(&mut fields);
        }
        let required = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(StructType {
            fields,
            element_relationship: map_type(node, path)?,
            preserve_unknown_fields: preserve,
            embedded_resource: embedded,
            required,
        })
    }
}

/// Forces `apiVersion`, `kind` (strings) and `metadata` (`ObjectMeta`) into a
/// struct's fields, as the API server does for every object.
pub(crate) fn add_object_fields(fields: &mut BTreeMap<String, Field>) {
    fields.insert("apiVersion".into(), Field::new(string_type()));
    fields.insert("kind".into(), Field::new(string_type()));
    fields.insert("metadata".into(), Field::new(TypeRef::named(OBJECT_META)));
}

/// Converts a CRD version's `schema.openAPIV3Schema` into a type: a struct
/// whose `apiVersion` and `kind` are strings and whose `metadata` is
/// `ObjectMeta`. `Value::Null` (no schema) gives a struct that preserves
/// unknown fields.
pub fn crd_schema_type(open_api_v3_schema: &Value) -> Result<TypeRef, SchemaError> {
    let converter = Converter {
        source: Source::CustomResource,
    };
    let empty = Map::new();
    let node = match open_api_v3_schema {
        Value::Null => &empty,
        Value::Object(node) => node,
        _ => {
            return Err(SchemaError::NotAnObject {
                path: "openAPIV3Schema".into(),
            });
        }
    };
    let preserve =
        open_api_v3_schema.is_null() || ext_bool(node, "x-kubernetes-preserve-unknown-fields");
    let mut def = converter.struct_def(node, "openAPIV3Schema", preserve, false)?;
    add_object_fields(&mut def.fields);
    Ok(TypeRef::Inline(Arc::new(TypeDef::Struct(def))))
}

/// The type of one served version of a CustomResourceDefinition object
/// (`spec.versions[name=version].schema.openAPIV3Schema`); `Ok(None)` when
/// the CRD does not have that version.
pub fn crd_version_type(crd: &Value, version: &str) -> Result<Option<TypeRef>, SchemaError> {
    let Some(v) = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"].as_str() == Some(version))
    else {
        return Ok(None);
    };
    crd_schema_type(&v["schema"]["openAPIV3Schema"]).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_types_follow_schemaconv() {
        let n =
            json!({"x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"});
        assert_eq!(
            list_type(n.as_object().unwrap(), "x").unwrap(),
            ListType::Map(vec!["name".into()])
        );
        let n = json!({"x-kubernetes-patch-strategy": "merge"});
        assert_eq!(
            list_type(n.as_object().unwrap(), "x").unwrap(),
            ListType::Set
        );
        let n = json!({"x-kubernetes-list-type": "map"});
        assert!(list_type(n.as_object().unwrap(), "x").is_err());
    }
}
