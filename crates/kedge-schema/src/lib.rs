//! The schema registry of built-in Kubernetes kinds (served level: 1.33):
//! scope, names, verbs, list and map types, patch strategies and merge keys,
//! and the OpenAPI documents served to clients. One data file, derived from
//! the published Kubernetes OpenAPI, feeds server-side apply, strategic merge
//! patch, the Kustomize renderer and the embedded API server. Pure: no IO.
//!
//! Entry points: [`Registry::builtin`] (types, kinds, discovery),
//! [`crd_schema_type`] (a CRD's schema as a type) and the [`openapi`]
//! document builders.

pub mod convert;
pub mod discovery;
pub mod fields;
pub mod openapi;
mod openapi_pb;
pub mod registry;
pub mod types;

pub use convert::{OBJECT_META, SchemaError, crd_schema_type, crd_version_type};
pub use discovery::{
    ALL_VERBS, ApiGroupInfo, NameRule, ResourceInfo, SubresourceInfo, aggregated_discovery,
    api_group_list, api_resource_list, compare_version_priority, groups_with_crds,
};
pub use openapi::{
    openapi_v2, openapi_v3_group_version, openapi_v3_group_versions, openapi_v3_index,
    openapi_v3_path_key,
};
pub use openapi_pb::{
    OPENAPI_V2_PROTOBUF_ACCEPT, OPENAPI_V2_PROTOBUF_CONTENT_TYPE, openapi_v2_protobuf,
};
pub use registry::{KUBERNETES_VERSION, Registry};
pub use types::{
    ElementRelationship, Field, ListType, ListTypeDef, MapTypeDef, PatchStrategy, ScalarKind,
    Schema, StructType, TypeDef, TypeRef,
};
