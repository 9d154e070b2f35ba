//! The OpenAPI documents the API server publishes: `/openapi/v3` (an index),
//! `/openapi/v3/{api/v1 | apis/G/V}` (OpenAPI 3.0 per group version) and
//! `/openapi/v2` (Swagger 2.0, everything).
//!
//! Clients read them for three things, and the documents are shaped for those
//! (see the notes on kubectl in the control-plane research):
//!
//! * `kubectl apply`/`create` look for the `PATCH` operation tagged with the
//!   kind's `x-kubernetes-group-version-kind` and check that it declares the
//!   `fieldValidation` query parameter (then they let the server validate);
//!   kubectl's OpenAPI-v3 patch path also checks whether that operation
//!   consumes `application/strategic-merge-patch+json`, so built-in kinds list
//!   the four patch types and custom resources only three;
//! * `kubectl explain` finds the schema by `x-kubernetes-group-version-kind`
//!   in `components.schemas` and follows `$ref`/`allOf`, printing
//!   descriptions (kept in a separate data file, loaded on first use);
//! * kubectl 1.27/1.28 validate client-side from the v2 definitions.
//!
//! Documents are rendered from the compact definitions of
//! [`Registry`] plus the CustomResourceDefinitions passed
//! in: each group-version document carries the schemas reachable from its
//! kinds (closure over `$ref`) and the paths of its resources. A document
//! costs a few milliseconds; servers cache it and key caches with
//! [`document_hash`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use kedge_core::GroupVersion;

pub use crate::openapi_pb::{
    OPENAPI_V2_PROTOBUF_ACCEPT, OPENAPI_V2_PROTOBUF_CONTENT_TYPE, openapi_v2_protobuf,
};

use crate::discovery::ResourceInfo;
use crate::registry::{KUBERNETES_VERSION, Registry};

const DESCRIPTIONS_JSON: &str = include_str!("../data/descriptions-v1.33.json");

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";
const OBJECT_META_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_META_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The patch content types of built-in kinds.
pub const BUILTIN_PATCH_TYPES: [&str; 4] = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// The patch content types of custom resources (no strategic merge patch).
pub const CUSTOM_RESOURCE_PATCH_TYPES: [&str; 3] = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
];

struct Docs {
    /// definition → (description, field → description)
    by_definition: HashMap<String, (String, Map<String, Value>)>,
}

static DOCS: LazyLock<Docs> = LazyLock::new(|| {
    let mut root: Map<String, Value> =
        serde_json::from_str(DESCRIPTIONS_JSON).expect("embedded descriptions are valid JSON");
    let mut by_definition = HashMap::new();
    if let Some(Value::Object(descriptions)) = root.remove("descriptions") {
        for (name, entry) in descriptions {
            if let Value::Array(mut parts) = entry
                && parts.len() == 2
            {
                let fields = match parts.pop() {
                    Some(Value::Object(f)) => f,
                    _ => Map::new(),
                };
                let description = parts.pop().and_then(|d| d.as_str().map(String::from));
                by_definition.insert(name, (description.unwrap_or_default(), fields));
            }
        }
    }
    Docs { by_definition }
});

/// Which OpenAPI dialect to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Dialect {
    V2,
    V3,
}

impl Dialect {
    fn ref_prefix(self) -> &'static str {
        match self {
            Dialect::V2 => "#/definitions/",
            Dialect::V3 => "#/components/schemas/",
        }
    }

    fn reference(self, name: &str) -> Value {
        json!({ "$ref": format!("{}{name}", self.ref_prefix()) })
    }
}

/// The index key of a group version: `api/v1` or `apis/apps/v1`.
pub fn openapi_v3_path_key(gv: &GroupVersion) -> String {
    if gv.group.is_empty() {
        format!("api/{}", gv.version)
    } else {
        format!("apis/{}/{}", gv.group, gv.version)
    }
}

/// The `/openapi/v3` index for the given group versions and their document
/// hashes: `{"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=H"}}}`.
pub fn openapi_v3_index(entries: &[(GroupVersion, String)]) -> Value {
    let mut paths = Map::new();
    for (gv, hash) in entries {
        let key = openapi_v3_path_key(gv);
        paths.insert(
            key.clone(),
            json!({ "serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}") }),
        );
    }
    json!({ "paths": paths })
}

/// The group versions that have an OpenAPI v3 document: every built-in one,
/// then those served by the given CRDs.
pub fn openapi_v3_group_versions(crds: &[Value]) -> Vec<GroupVersion> {
    let mut out = Registry::builtin().group_versions();
    for crd in crds {
        for version in served_versions(crd) {
            let gv = GroupVersion::new(crd_group(crd), version["name"].as_str().unwrap_or(""));
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
    }
    out
}

/// A stable content hash of a document (upper-case hex SHA-512 of its JSON,
/// as the real server's `hash=` parameter).
pub fn document_hash(doc: &Value) -> String {
    let bytes = serde_json::to_vec(doc).expect("JSON values serialize");
    let digest = Sha512::digest(&bytes);
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

/// A hash that changes whenever [`openapi_v3_group_version`]'s document for
/// `gv` changes, computed from its inputs without rendering anything: the
/// served Kubernetes version, this crate's version and data, and the specs of
/// the CRDs serving in `gv`. Lets a server answer `/openapi/v3` cheaply.
pub fn openapi_v3_input_hash(gv: &GroupVersion, crds: &[Value]) -> String {
    let mut hasher = Sha512::new();
    for part in [
        KUBERNETES_VERSION,
        env!("CARGO_PKG_VERSION"),
        &crate::registry::data_fingerprint(),
        &gv.to_string(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for (crd, _) in crd_versions_in(crds, gv) {
        hasher.update(serde_json::to_vec(&crd["spec"]).expect("JSON values serialize"));
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The `/openapi/v3` index of everything served (built-in group versions
/// and those of `crds`), keyed by [`openapi_v3_input_hash`].
pub fn openapi_v3_index_for(crds: &[Value]) -> Value {
    let entries: Vec<(GroupVersion, String)> = openapi_v3_group_versions(crds)
        .into_iter()
        .map(|gv| {
            let hash = openapi_v3_input_hash(&gv, crds);
            (gv, hash)
        })
        .collect();
    openapi_v3_index(&entries)
}

/// The OpenAPI 3.0 document of one group version: its built-in resources
/// and the served versions of `crds` in that group version. `None` when
/// nothing is served there.
pub fn openapi_v3_group_version(gv: &GroupVersion, crds: &[Value]) -> Option<Value> {
    let registry = Registry::builtin();
    let custom: Vec<(&Value, &Value)> = crd_versions_in(crds, gv);
    let has_builtin = registry.resources_in(gv).next().is_some();
    if custom.is_empty() {
        if !has_builtin {
            return None;
        }
        // Built-in documents never change: render each once.
        let mut cache = V3_BUILTIN.lock().unwrap_or_else(|e| e.into_inner());
        let doc = cache.entry(gv.clone()).or_insert_with(|| build_v3(gv, &[]));
        return Some(doc.clone());
    }
    Some(build_v3(gv, &custom))
}

static V3_BUILTIN: LazyLock<Mutex<HashMap<GroupVersion, Value>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static V2_BUILTIN: LazyLock<Value> = LazyLock::new(|| {
    let mut builder = Builder::new(Dialect::V2);
    for resource in Registry::builtin().resources() {
        builder.add_builtin_resource(resource);
    }
    builder.finish_v2()
});

fn build_v3(gv: &GroupVersion, custom: &[(&Value, &Value)]) -> Value {
    let mut builder = Builder::new(Dialect::V3);
    for resource in Registry::builtin().resources_in(gv) {
        builder.add_builtin_resource(resource);
    }
    for (crd, version) in custom {
        builder.add_crd_version(crd, version);
    }
    builder.finish_v3()
}

/// The Swagger 2.0 document of everything served: built-in kinds and the
/// given CRDs. The built-in part is rendered once and reused.
pub fn openapi_v2(crds: &[Value]) -> Value {
    let mut doc = V2_BUILTIN.clone();
    if crds.is_empty() {
        return doc;
    }
    let mut builder = Builder::new(Dialect::V2);
    for crd in crds {
        for version in served_versions(crd) {
            builder.add_crd_version(crd, version);
        }
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.extend(builder.paths);
    }
    if let Some(definitions) = doc["definitions"].as_object_mut() {
        definitions.extend(builder.custom);
    }
    doc
}

fn crd_group(crd: &Value) -> &str {
    crd["spec"]["group"].as_str().unwrap_or("")
}

fn served_versions(crd: &Value) -> impl Iterator<Item = &Value> {
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool() != Some(false))
}

fn crd_versions_in<'a>(crds: &'a [Value], gv: &GroupVersion) -> Vec<(&'a Value, &'a Value)> {
    let mut out = Vec::new();
    for crd in crds {
        if crd_group(crd) != gv.group {
            continue;
        }
        for version in served_versions(crd) {
            if version["name"].as_str() == Some(gv.version.as_str()) {
                out.push((crd, version));
            }
        }
    }
    out
}

/// The schema name a real server gives a custom resource kind:
/// reversed group, version, kind (`com.example.v1.Widget`).
pub fn crd_definition_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

/// `OperationId` part for a group: `Core`, `Apps`, `RbacAuthorization`, `ExampleCom`.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed.split(['.', '-']).map(capitalize).collect()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Tag for a group version: `core_v1`, `apps_v1`, `rbacAuthorization_v1`.
fn tag(group: &str, version: &str) -> String {
    let camel = group_camel(group);
    let mut chars = camel.chars();
    let lower: String = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("{lower}_{version}")
}

struct Builder {
    dialect: Dialect,
    paths: Map<String, Value>,
    /// Built-in definitions to include (closure computed at the end).
    roots: BTreeSet<String>,
    /// Rendered custom resource schemas.
    custom: Map<String, Value>,
}

/// What a path operates on.
struct Target<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    /// Schema reference name of the object type at the path.
    schema: String,
    /// Schema of its list type.
    list_schema: String,
    /// GVK group/version/kind for the extension (may differ for subresources).
    gvk: Value,
    patch_types: &'a [&'a str],
}

impl Builder {
    fn new(dialect: Dialect) -> Self {
        let mut roots = BTreeSet::new();
        for name in ["DeleteOptions", "Status", "Patch", "ObjectMeta", "ListMeta"] {
            roots.insert(format!("{META}.{name}"));
        }
        Self {
            dialect,
            paths: Map::new(),
            roots,
            custom: Map::new(),
        }
    }

    fn add_builtin_resource(&mut self, resource: &ResourceInfo) {
        let registry = Registry::builtin();
        let Some(kind_def) = registry.definition_name(&resource.gvk()) else {
            return;
        };
        let list_gvk = kedge_core::GroupVersionKind::new(
            &resource.group,
            &resource.version,
            format!("{}List", resource.kind),
        );
        let list_def = registry
            .definition_name(&list_gvk)
            .unwrap_or(kind_def)
            .to_string();
        self.roots.insert(kind_def.to_string());
        self.roots.insert(list_def.clone());
        let target = Target {
            group: &resource.group,
            version: &resource.version,
            kind: &resource.kind,
            schema: kind_def.to_string(),
            list_schema: list_def,
            gvk: json!({"group": resource.group, "kind": resource.kind, "version": resource.version}),
            patch_types: &BUILTIN_PATCH_TYPES,
        };
        self.add_paths(resource, &target);
        for sub in &resource.subresources {
            if !matches!(sub.name.as_str(), "status" | "scale") {
                continue;
            }
            let Some(sub_def) = registry.definition_name(&sub.gvk()) else {
                continue;
            };
            self.roots.insert(sub_def.to_string());
            let sub_target = Target {
                group: &resource.group,
                version: &resource.version,
                kind: &resource.kind,
                schema: sub_def.to_string(),
                list_schema: String::new(),
                gvk: json!({"group": sub.group, "kind": sub.kind, "version": sub.version}),
                patch_types: &BUILTIN_PATCH_TYPES,
            };
            self.add_subresource_paths(resource, &sub.name, &sub.verbs, &sub_target);
        }
    }

    fn add_crd_version(&mut self, crd: &Value, version: &Value) {
        let infos = ResourceInfo::from_crd(crd);
        let Some(name) = version["name"].as_str() else {
            return;
        };
        let Some(resource) = infos.iter().find(|r| r.version == name) else {
            return;
        };
        let schema_name = crd_definition_name(&resource.group, name, &resource.kind);
        let list_name = format!("{schema_name}List");
        let gvk = json!({"group": resource.group, "kind": resource.kind, "version": name});
        let schema = self.crd_object_schema(&version["schema"]["openAPIV3Schema"], &gvk);
        self.custom.insert(schema_name.clone(), schema);
        let list = self.list_schema(&resource.kind, &schema_name, &resource.group, name);
        self.custom.insert(list_name.clone(), list);
        let target = Target {
            group: &resource.group,
            version: name,
            kind: &resource.kind,
            schema: schema_name.clone(),
            list_schema: list_name,
            gvk: gvk.clone(),
            patch_types: &CUSTOM_RESOURCE_PATCH_TYPES,
        };
        self.add_paths(resource, &target);
        for sub in &resource.subresources {
            let (sub_schema, sub_gvk) = if sub.name == "scale" {
                let scale = "io.k8s.api.autoscaling.v1.Scale".to_string();
                self.roots.insert(scale.clone());
                (
                    scale,
                    json!({"group": "autoscaling", "kind": "Scale", "version": "v1"}),
                )
            } else {
                (schema_name.clone(), gvk.clone())
            };
            let sub_target = Target {
                group: &resource.group,
                version: name,
                kind: &resource.kind,
                schema: sub_schema,
                list_schema: String::new(),
                gvk: sub_gvk,
                patch_types: &CUSTOM_RESOURCE_PATCH_TYPES,
            };
            self.add_subresource_paths(resource, &sub.name, &sub.verbs, &sub_target);
        }
    }

    /// A CRD's schema as published: `apiVersion`, `kind` and `metadata`
    /// (a reference to ObjectMeta) added, the GVK extension set.
    fn crd_object_schema(&self, schema: &Value, gvk: &Value) -> Value {
        let mut node = match schema {
            Value::Object(m) => m.clone(),
            _ => {
                let mut m = Map::new();
                m.insert("type".into(), json!("object"));
                m.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
                m
            }
        };
        if self.dialect == Dialect::V2 {
            node = scrub_v2(&Value::Object(node))
                .as_object()
                .cloned()
                .unwrap_or_default();
        }
        let mut props = match node.remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        let mut ordered = Map::new();
        ordered.insert(
            "apiVersion".into(),
            json!({"description": API_VERSION_DESCRIPTION, "type": "string"}),
        );
        ordered.insert(
            "kind".into(),
            json!({"description": KIND_DESCRIPTION, "type": "string"}),
        );
        ordered.insert(
            "metadata".into(),
            self.described_ref(&format!("{META}.ObjectMeta"), OBJECT_META_DESCRIPTION),
        );
        props.remove("apiVersion");
        props.remove("kind");
        props.remove("metadata");
        ordered.extend(props);
        node.insert("type".into(), json!("object"));
        node.insert("properties".into(), Value::Object(ordered));
        node.insert("x-kubernetes-group-version-kind".into(), json!([gvk]));
        Value::Object(node)
    }

    fn described_ref(&self, name: &str, description: &str) -> Value {
        match self.dialect {
            Dialect::V3 => json!({
                "allOf": [self.dialect.reference(name)],
                "description": description,
            }),
            Dialect::V2 => {
                let mut r = self.dialect.reference(name);
                r["description"] = json!(description);
                r
            }
        }
    }

    fn list_schema(&self, kind: &str, item_schema: &str, group: &str, version: &str) -> Value {
        json!({
            "description": format!("{kind}List is a list of {kind}"),
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
                "items": {
                    "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", kind.to_ascii_lowercase()),
                    "type": "array",
                    "items": self.dialect.reference(item_schema),
                },
                "kind": {"description": KIND_DESCRIPTION, "type": "string"},
                "metadata": self.described_ref(&format!("{META}.ListMeta"), LIST_META_DESCRIPTION),
            },
            "x-kubernetes-group-version-kind": [{"group": group, "kind": format!("{kind}List"), "version": version}],
        })
    }

    fn prefix(group: &str, version: &str) -> String {
        GroupVersion::new(group, version).url_prefix()
    }

    fn add_paths(&mut self, resource: &ResourceInfo, t: &Target<'_>) {
        let prefix = Self::prefix(t.group, t.version);
        let op_group = format!("{}{}", group_camel(t.group), capitalize(t.version));
        let tags = json!([tag(t.group, t.version)]);
        let scope = if resource.namespaced {
            "Namespaced"
        } else {
            ""
        };
        let collection = if resource.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", resource.plural)
        } else {
            format!("{prefix}/{}", resource.plural)
        };
        let mut scope_params = vec![];
        if resource.namespaced {
            scope_params.push(self.path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            ));
        }
        scope_params.push(self.query_param("pretty", "string", "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."));

        let mut coll = Map::new();
        if resource.supports("list") {
            coll.insert(
                "get".into(),
                self.operation(
                    &format!("list{op_group}{scope}{}", t.kind),
                    &format!("list or watch objects of kind {}", t.kind),
                    &tags,
                    "list",
                    &t.gvk,
                    self.list_params(),
                    None,
                    &[("200", &t.list_schema)],
                ),
            );
        }
        if resource.supports("create") {
            coll.insert(
                "post".into(),
                self.operation(
                    &format!("create{op_group}{scope}{}", t.kind),
                    &format!("create a {}", t.kind),
                    &tags,
                    "post",
                    &t.gvk,
                    self.write_params(false),
                    Some(self.body(&t.schema, &["application/json", "application/yaml"])),
                    &[("200", &t.schema), ("201", &t.schema), ("202", &t.schema)],
                ),
            );
        }
        if resource.supports("deletecollection") {
            coll.insert(
                "delete".into(),
                self.operation(
                    &format!("deletecollection{op_group}{scope}{}", t.kind),
                    &format!("delete collection of {}", t.kind),
                    &tags,
                    "deletecollection",
                    &t.gvk,
                    self.delete_params(true),
                    Some(self.body(&format!("{META}.DeleteOptions"), &["application/json"])),
                    &[("200", &format!("{META}.Status"))],
                ),
            );
        }
        if !coll.is_empty() {
            coll.insert("parameters".into(), Value::Array(scope_params.clone()));
            self.paths.insert(collection.clone(), Value::Object(coll));
        }

        let mut item = Map::new();
        if resource.supports("get") {
            item.insert(
                "get".into(),
                self.operation(
                    &format!("read{op_group}{scope}{}", t.kind),
                    &format!("read the specified {}", t.kind),
                    &tags,
                    "get",
                    &t.gvk,
                    vec![],
                    None,
                    &[("200", &t.schema)],
                ),
            );
        }
        if resource.supports("update") {
            item.insert(
                "put".into(),
                self.operation(
                    &format!("replace{op_group}{scope}{}", t.kind),
                    &format!("replace the specified {}", t.kind),
                    &tags,
                    "put",
                    &t.gvk,
                    self.write_params(false),
                    Some(self.body(&t.schema, &["application/json", "application/yaml"])),
                    &[("200", &t.schema), ("201", &t.schema)],
                ),
            );
        }
        if resource.supports("patch") {
            item.insert(
                "patch".into(),
                self.operation(
                    &format!("patch{op_group}{scope}{}", t.kind),
                    &format!("partially update the specified {}", t.kind),
                    &tags,
                    "patch",
                    &t.gvk,
                    self.write_params(true),
                    Some(self.body(&format!("{META}.Patch"), t.patch_types)),
                    &[("200", &t.schema), ("201", &t.schema)],
                ),
            );
        }
        if resource.supports("delete") {
            item.insert(
                "delete".into(),
                self.operation(
                    &format!("delete{op_group}{scope}{}", t.kind),
                    &format!("delete a {}", t.kind),
                    &tags,
                    "delete",
                    &t.gvk,
                    self.delete_params(false),
                    Some(self.body(&format!("{META}.DeleteOptions"), &["application/json"])),
                    &[
                        ("200", &format!("{META}.Status")),
                        ("202", &format!("{META}.Status")),
                    ],
                ),
            );
        }
        if !item.is_empty() {
            let mut params = vec![self.path_param("name", &format!("name of the {}", t.kind))];
            params.extend(scope_params.iter().cloned());
            item.insert("parameters".into(), Value::Array(params));
            self.paths
                .insert(format!("{collection}/{{name}}"), Value::Object(item));
        }

        if resource.namespaced && resource.supports("list") {
            let mut all = Map::new();
            all.insert(
                "get".into(),
                self.operation(
                    &format!("list{op_group}{}ForAllNamespaces", t.kind),
                    &format!("list or watch objects of kind {}", t.kind),
                    &tags,
                    "list",
                    &t.gvk,
                    self.list_params(),
                    None,
                    &[("200", &t.list_schema)],
                ),
            );
            all.insert(
                "parameters".into(),
                json!([self.query_param(
                    "pretty",
                    "string",
                    "If 'true', then the output is pretty printed."
                )]),
            );
            self.paths
                .insert(format!("{prefix}/{}", resource.plural), Value::Object(all));
        }
    }

    fn add_subresource_paths(
        &mut self,
        resource: &ResourceInfo,
        sub: &str,
        verbs: &[String],
        t: &Target<'_>,
    ) {
        let prefix = Self::prefix(t.group, t.version);
        let op_group = format!("{}{}", group_camel(t.group), capitalize(t.version));
        let tags = json!([tag(t.group, t.version)]);
        let scope = if resource.namespaced {
            "Namespaced"
        } else {
            ""
        };
        let suffix = capitalize(sub);
        let path = if resource.namespaced {
            format!(
                "{prefix}/namespaces/{{namespace}}/{}/{{name}}/{sub}",
                resource.plural
            )
        } else {
            format!("{prefix}/{}/{{name}}/{sub}", resource.plural)
        };
        let has = |v: &str| verbs.iter().any(|x| x == v);
        let mut item = Map::new();
        if has("get") {
            item.insert(
                "get".into(),
                self.operation(
                    &format!("read{op_group}{scope}{}{suffix}", t.kind),
                    &format!("read {sub} of the specified {}", t.kind),
                    &tags,
                    "get",
                    &t.gvk,
                    vec![],
                    None,
                    &[("200", &t.schema)],
                ),
            );
        }
        if has("update") {
            item.insert(
                "put".into(),
                self.operation(
                    &format!("replace{op_group}{scope}{}{suffix}", t.kind),
                    &format!("replace {sub} of the specified {}", t.kind),
                    &tags,
                    "put",
                    &t.gvk,
                    self.write_params(false),
                    Some(self.body(&t.schema, &["application/json", "application/yaml"])),
                    &[("200", &t.schema), ("201", &t.schema)],
                ),
            );
        }
        if has("patch") {
            item.insert(
                "patch".into(),
                self.operation(
                    &format!("patch{op_group}{scope}{}{suffix}", t.kind),
                    &format!("partially update {sub} of the specified {}", t.kind),
                    &tags,
                    "patch",
                    &t.gvk,
                    self.write_params(true),
                    Some(self.body(&format!("{META}.Patch"), t.patch_types)),
                    &[("200", &t.schema), ("201", &t.schema)],
                ),
            );
        }
        if item.is_empty() {
            return;
        }
        let mut params = vec![self.path_param("name", &format!("name of the {}", t.kind))];
        if resource.namespaced {
            params.push(self.path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            ));
        }
        params.push(self.query_param(
            "pretty",
            "string",
            "If 'true', then the output is pretty printed.",
        ));
        item.insert("parameters".into(), Value::Array(params));
        self.paths.insert(path, Value::Object(item));
    }

    fn param_schema(&self, ty: &str, mut param: Map<String, Value>) -> Value {
        match self.dialect {
            Dialect::V3 => {
                param.insert("schema".into(), json!({"type": ty, "uniqueItems": true}));
            }
            Dialect::V2 => {
                param.insert("type".into(), json!(ty));
                param.insert("uniqueItems".into(), json!(true));
            }
        }
        Value::Object(param)
    }

    fn query_param(&self, name: &str, ty: &str, description: &str) -> Value {
        let mut p = Map::new();
        p.insert("name".into(), json!(name));
        p.insert("in".into(), json!("query"));
        p.insert("description".into(), json!(description));
        self.param_schema(ty, p)
    }

    fn path_param(&self, name: &str, description: &str) -> Value {
        let mut p = Map::new();
        p.insert("name".into(), json!(name));
        p.insert("in".into(), json!("path"));
        p.insert("description".into(), json!(description));
        p.insert("required".into(), json!(true));
        self.param_schema("string", p)
    }

    fn list_params(&self) -> Vec<Value> {
        [
            ("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
            ("continue", "string", "The continue option should be set when retrieving more results from the server."),
            ("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
            ("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
            ("limit", "integer", "limit is a maximum number of responses to return for a list call."),
            ("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from."),
            ("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
            ("sendInitialEvents", "boolean", "`sendInitialEvents=true` may be set together with `watch=true`: the stream begins with synthetic events for the current state, then a bookmark annotated \"k8s.io/initial-events-end\"."),
            ("timeoutSeconds", "integer", "Timeout for the list/watch call."),
            ("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
        ]
        .iter()
        .map(|(n, t, d)| self.query_param(n, t, d))
        .collect()
    }

    fn write_params(&self, patch: bool) -> Vec<Value> {
        let mut out = vec![
            self.query_param("dryRun", "string", "When present, indicates that modifications should not be persisted. The only valid value is: All"),
            self.query_param("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes."),
            self.query_param("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict."),
        ];
        if patch {
            out.push(self.query_param("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."));
        }
        out
    }

    fn delete_params(&self, collection: bool) -> Vec<Value> {
        let mut out = vec![
            self.query_param("dryRun", "string", "When present, indicates that modifications should not be persisted. The only valid value is: All"),
            self.query_param("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."),
            self.query_param("propagationPolicy", "string", "Whether and how garbage collection will be performed: Orphan, Background or Foreground."),
        ];
        if collection {
            out.extend(self.list_params());
        }
        out
    }

    fn body(&self, schema: &str, content_types: &[&str]) -> (Value, Vec<String>) {
        let content: Map<String, Value> = content_types
            .iter()
            .map(|ct| {
                (
                    ct.to_string(),
                    json!({"schema": self.dialect.reference(schema)}),
                )
            })
            .collect();
        match self.dialect {
            Dialect::V3 => (json!({"content": content, "required": true}), vec![]),
            Dialect::V2 => (
                json!({"name": "body", "in": "body", "required": true, "schema": self.dialect.reference(schema)}),
                content_types.iter().map(|s| s.to_string()).collect(),
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &self,
        operation_id: &str,
        description: &str,
        tags: &Value,
        action: &str,
        gvk: &Value,
        mut parameters: Vec<Value>,
        body: Option<(Value, Vec<String>)>,
        responses: &[(&str, &String)],
    ) -> Value {
        let mut op = Map::new();
        op.insert("tags".into(), tags.clone());
        op.insert("description".into(), json!(description));
        op.insert("operationId".into(), json!(operation_id));
        let produces = ["application/json", "application/yaml"];
        let mut consumes = Vec::new();
        match (self.dialect, body) {
            (Dialect::V3, Some((request_body, _))) => {
                op.insert("requestBody".into(), request_body);
            }
            (Dialect::V2, Some((param, types))) => {
                parameters.insert(0, param);
                consumes = types;
            }
            (_, None) => {}
        }
        if !parameters.is_empty() {
            op.insert("parameters".into(), Value::Array(parameters));
        }
        let mut resp = Map::new();
        for (code, schema) in responses {
            let text = match *code {
                "201" => "Created",
                "202" => "Accepted",
                _ => "OK",
            };
            let r = match self.dialect {
                Dialect::V3 => {
                    let content: Map<String, Value> = produces
                        .iter()
                        .map(|ct| {
                            (
                                ct.to_string(),
                                json!({"schema": self.dialect.reference(schema)}),
                            )
                        })
                        .collect();
                    json!({"description": text, "content": content})
                }
                Dialect::V2 => {
                    json!({"description": text, "schema": self.dialect.reference(schema)})
                }
            };
            resp.insert(code.to_string(), r);
        }
        resp.insert("401".into(), json!({"description": "Unauthorized"}));
        op.insert("responses".into(), Value::Object(resp));
        if self.dialect == Dialect::V2 {
            if !consumes.is_empty() {
                op.insert("consumes".into(), json!(consumes));
            }
            op.insert("produces".into(), json!(produces));
            op.insert("schemes".into(), json!(["https"]));
        }
        op.insert("x-kubernetes-action".into(), json!(action));
        op.insert("x-kubernetes-group-version-kind".into(), gvk.clone());
        Value::Object(op)
    }

    /// The built-in definitions reachable from the roots (and from custom
    /// resource schemas, which reference ObjectMeta and ListMeta).
    fn closure(&self) -> BTreeSet<String> {
        let registry = Registry::builtin();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = self.roots.iter().cloned().collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(node) = registry.definition(&name) {
                collect_refs(node, &mut stack);
            }
        }
        seen
    }

    fn schemas(&self) -> Map<String, Value> {
        let registry = Registry::builtin();
        let mut out = Map::new();
        for name in self.closure() {
            if let Some(node) = registry.definition(&name) {
                out.insert(name.clone(), self.render_definition(&name, node));
            }
        }
        for (name, schema) in &self.custom {
            out.insert(name.clone(), schema.clone());
        }
        out
    }

    /// A built-in definition rendered with descriptions; each is rendered
    /// once per dialect and then cloned.
    fn render_definition(&self, name: &str, node: &Value) -> Value {
        static RENDERED: LazyLock<Mutex<HashMap<(Dialect, String), Value>>> =
            LazyLock::new(|| Mutex::new(HashMap::new()));
        let key = (self.dialect, name.to_string());
        if let Some(v) = RENDERED.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return v.clone();
        }
        let rendered = self.render_definition_uncached(name, node);
        RENDERED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, rendered.clone());
        rendered
    }

    fn render_definition_uncached(&self, name: &str, node: &Value) -> Value {
        let docs = DOCS.by_definition.get(name);
        let mut out = self.render(node, docs.map(|d| d.0.as_str()), docs.map(|d| &d.1));
        // Well-known scalar definitions get the shapes clients expect.
        if let Some(obj) = out.as_object_mut() {
            match name {
                "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
                    obj.insert("format".into(), json!("int-or-string"));
                    if self.dialect == Dialect::V2 {
                        obj.remove("oneOf");
                        obj.insert("type".into(), json!("string"));
                    }
                }
                "io.k8s.apimachinery.pkg.api.resource.Quantity" if self.dialect == Dialect::V2 => {
                    obj.remove("oneOf");
                    obj.insert("type".into(), json!("string"));
                }
                _ => {}
            }
        }
        out
    }

    /// Renders a compact node with descriptions in the dialect's shape.
    fn render(
        &self,
        node: &Value,
        description: Option<&str>,
        field_docs: Option<&Map<String, Value>>,
    ) -> Value {
        let Value::Object(node) = node else {
            return node.clone();
        };
        let description = description.filter(|d| !d.is_empty());
        if let Some(Value::String(target)) = node.get("$ref") {
            let extensions: Vec<(&String, &Value)> = node
                .iter()
                .filter(|(k, _)| k.starts_with("x-kubernetes-"))
                .collect();
            if description.is_none() && extensions.is_empty() {
                return self.dialect.reference(target);
            }
            let mut out = Map::new();
            match self.dialect {
                Dialect::V3 => {
                    out.insert("allOf".into(), json!([self.dialect.reference(target)]));
                }
                Dialect::V2 => {
                    out.insert(
                        "$ref".into(),
                        json!(format!("{}{target}", self.dialect.ref_prefix())),
                    );
                }
            }
            if let Some(d) = description {
                out.insert("description".into(), json!(d));
            }
            for (k, v) in extensions {
                out.insert(k.clone(), v.clone());
            }
            return Value::Object(out);
        }
        let mut out = Map::new();
        if let Some(d) = description {
            out.insert("description".into(), json!(d));
        }
        for (key, value) in node {
            match key.as_str() {
                "properties" => {
                    let mut props = Map::new();
                    for (field, prop) in value.as_object().into_iter().flatten() {
                        let doc = field_docs
                            .and_then(|f| f.get(field))
                            .and_then(Value::as_str);
                        props.insert(field.clone(), self.render(prop, doc, None));
                    }
                    out.insert("properties".into(), Value::Object(props));
                }
                "items" => {
                    out.insert("items".into(), self.render(value, None, None));
                }
                "additionalProperties" if value.is_object() => {
                    out.insert(key.clone(), self.render(value, None, None));
                }
                "oneOf" => {
                    let items: Vec<Value> = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|v| self.render(v, None, None))
                        .collect();
                    out.insert(key.clone(), Value::Array(items));
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        Value::Object(out)
    }

    fn finish_v3(self) -> Value {
        let schemas = self.schemas();
        json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
            "paths": self.paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}
                }
            }
        })
    }

    fn finish_v2(self) -> Value {
        // The v2 document carries every built-in definition.
        let registry = Registry::builtin();
        let mut definitions = Map::new();
        for (name, node) in registry.definitions() {
            definitions.insert(name.clone(), self.render_definition(name, node));
        }
        for (name, schema) in &self.custom {
            definitions.insert(name.clone(), schema.clone());
        }
        json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
            "paths": self.paths,
            "definitions": definitions,
            "securityDefinitions": {
                "BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}
            },
            "security": [{"BearerToken": []}]
        })
    }
}

fn collect_refs(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(s) = v.as_str() {
                        out.push(s.rsplit('/').next().unwrap_or(s).to_string());
                    }
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Drops OpenAPI v3 constructs that Swagger 2.0 lacks (`nullable`, `oneOf`,
/// `anyOf`, `not`), as the real server does when publishing CRDs in v2;
/// int-or-string nodes lose their type.
fn scrub_v2(node: &Value) -> Value {
    match node {
        Value::Object(map) => {
            let mut out = Map::new();
            let int_or_string = map
                .get("x-kubernetes-int-or-string")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            for (k, v) in map {
                match k.as_str() {
                    "nullable" | "oneOf" | "anyOf" | "not" => {}
                    "type" if int_or_string => {}
                    "properties" | "definitions" | "patternProperties" => {
                        let inner: Map<String, Value> = v
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(pk, pv)| (pk.clone(), scrub_v2(pv)))
                            .collect();
                        out.insert(k.clone(), Value::Object(inner));
                    }
                    "items" | "additionalProperties" => {
                        out.insert(k.clone(), scrub_v2(v));
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(group_camel(""), "Core");
        assert_eq!(
            group_camel("rbac.authorization.k8s.io"),
            "RbacAuthorization"
        );
        assert_eq!(group_camel("example.com"), "ExampleCom");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
        assert_eq!(
            crd_definition_name("example.com", "v1", "Widget"),
            "com.example.v1.Widget"
        );
    }
}
