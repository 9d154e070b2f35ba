//! The schema registry of built-in Kubernetes kinds (served level: 1.33):
//! scope, names, verbs, list and map types, patch strategies and merge keys,
//! and the OpenAPI documents served to clients. One data file, derived from
//! the published Kubernetes OpenAPI, feeds server-side apply, strategic merge
//! patch, the Kustomize renderer and the embedded API server. Pure: no IO.

pub mod types;

pub use types::{
    ElementRelationship, Field, ListType, ListTypeDef, MapTypeDef, PatchStrategy, ScalarKind,
    Schema, StructType, TypeDef, TypeRef,
};
