//! Discovery facts: the API groups and resources a Kubernetes 1.33 API
//! server serves, with the names, scope, verbs, short names, categories and
//! subresources clients rely on (`kubectl get deploy`, `kubectl get all`,
//! `kubectl scale`).
//!
//! The facts live in the hand-written `data/discovery-v1.33.json` (they are
//! not in the OpenAPI). [`ResourceInfo`] renders itself as the legacy
//! `APIResourceList` entries and as an aggregated-discovery (`apidiscovery/v2`)
//! resource, and can be derived from a CustomResourceDefinition so that
//! built-in and custom resources are served alike.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use kedge_core::{GroupResource, GroupVersion, GroupVersionKind, GroupVersionResource};

/// The eight verbs of a fully-featured resource.
pub const ALL_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// A subresource such as `status` or `scale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubresourceInfo {
    /// The subresource name (`status`, `scale`, `log`, …).
    pub name: String,
    /// Group of the kind served at the subresource.
    pub group: String,
    /// Version of the kind served at the subresource.
    pub version: String,
    /// The kind served (`Scale` for `scale`, the parent kind for `status`).
    pub kind: String,
    /// Verbs.
    pub verbs: Vec<String>,
}

impl SubresourceInfo {
    /// The GVK served at the subresource.
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::new(&self.group, &self.version, &self.kind)
    }
}

/// One served resource of one group version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; empty for the core group.
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Resource (plural) name, as in URLs.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// True for namespaced resources.
    pub namespaced: bool,
    /// Verbs.
    pub verbs: Vec<String>,
    /// Short names (`deploy`, `po`).
    pub short_names: Vec<String>,
    /// Categories (`all`, `api-extensions`).
    pub categories: Vec<String>,
    /// Subresources, sorted by name.
    pub subresources: Vec<SubresourceInfo>,
    /// The storage version hash, when known.
    pub storage_version_hash: Option<String>,
}

impl ResourceInfo {
    /// The GVK.
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::new(&self.group, &self.version, &self.kind)
    }

    /// The GVR.
    pub fn gvr(&self) -> GroupVersionResource {
        GroupVersionResource::new(&self.group, &self.version, &self.plural)
    }

    /// The group version.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::new(&self.group, &self.version)
    }

    /// The group resource (how error messages name it).
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// The rule `metadata.name` must follow.
    pub fn name_rule(&self) -> NameRule {
        NameRule::for_kind(&self.group, &self.kind)
    }

    /// The subresource called `name`.
    pub fn subresource(&self, name: &str) -> Option<&SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// True when the resource has a `status` subresource.
    pub fn has_status(&self) -> bool {
        self.subresource("status").is_some()
    }

    /// True when the resource has a `scale` subresource.
    pub fn has_scale(&self) -> bool {
        self.subresource("scale").is_some()
    }

    /// True when `verb` is allowed.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Whether `name` designates this resource as kubectl resolves it:
    /// plural, singular, short name or kind (case-insensitively), optionally
    /// qualified by `.group` or `.version.group` (`deployments.apps`,
    /// `deploy.apps`, `horizontalpodautoscalers.v1.autoscaling`).
    pub fn matches_name(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let matches_bare = |n: &str| {
            n == self.plural
                || n == self.singular
                || n == self.kind.to_ascii_lowercase()
                || self.short_names.iter().any(|s| s == n)
        };
        if matches_bare(&name) {
            return true;
        }
        if self.group.is_empty() {
            return false;
        }
        if let Some(bare) = name.strip_suffix(&format!(".{}.{}", self.version, self.group))
            && matches_bare(bare)
        {
            return true;
        }
        name.strip_suffix(&format!(".{}", self.group))
            .is_some_and(matches_bare)
    }

    /// The legacy discovery entries (`APIResourceList.resources`): the
    /// resource, then one entry per subresource.
    pub fn api_resources(&self) -> Vec<Value> {
        let mut entry = Map::new();
        entry.insert("name".into(), json!(self.plural));
        entry.insert("singularName".into(), json!(self.singular));
        entry.insert("namespaced".into(), json!(self.namespaced));
        entry.insert("kind".into(), json!(self.kind));
        entry.insert("verbs".into(), json!(self.verbs));
        if !self.short_names.is_empty() {
            entry.insert("shortNames".into(), json!(self.short_names));
        }
        if !self.categories.is_empty() {
            entry.insert("categories".into(), json!(self.categories));
        }
        if let Some(hash) = &self.storage_version_hash {
            entry.insert("storageVersionHash".into(), json!(hash));
        }
        let mut out = vec![Value::Object(entry)];
        for sub in &self.subresources {
            let mut e = Map::new();
            e.insert(
                "name".into(),
                json!(format!("{}/{}", self.plural, sub.name)),
            );
            e.insert("singularName".into(), json!(""));
            e.insert("namespaced".into(), json!(self.namespaced));
            if sub.group != self.group || sub.version != self.version {
                e.insert("group".into(), json!(sub.group));
                e.insert("version".into(), json!(sub.version));
            }
            e.insert("kind".into(), json!(sub.kind));
            e.insert("verbs".into(), json!(sub.verbs));
            out.push(Value::Object(e));
        }
        out
    }

    /// The aggregated discovery (`apidiscovery.k8s.io/v2`) resource entry.
    pub fn aggregated_resource(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("resource".into(), json!(self.plural));
        entry.insert(
            "responseKind".into(),
            json!({"group": "", "version": "", "kind": self.kind}),
        );
        entry.insert(
            "scope".into(),
            json!(if self.namespaced {
                "Namespaced"
            } else {
                "Cluster"
            }),
        );
        entry.insert("singularResource".into(), json!(self.singular));
        entry.insert("verbs".into(), json!(self.verbs));
        if !self.short_names.is_empty() {
            entry.insert("shortNames".into(), json!(self.short_names));
        }
        if !self.categories.is_empty() {
            entry.insert("categories".into(), json!(self.categories));
        }
        if !self.subresources.is_empty() {
            let subs: Vec<Value> = self
                .subresources
                .iter()
                .map(|s| {
                    let (group, version) = if s.group == self.group && s.version == self.version {
                        (String::new(), String::new())
                    } else {
                        (s.group.clone(), s.version.clone())
                    };
                    json!({"subresource": s.name,
                        "responseKind": {"group": group, "version": version, "kind": s.kind},
                        "verbs": s.verbs})
                })
                .collect();
            entry.insert("subresources".into(), Value::Array(subs));
        }
        Value::Object(entry)
    }

    /// The resources a CustomResourceDefinition object serves, one per
    /// served version (storage version first is *not* implied: spec order).
    pub fn from_crd(crd: &Value) -> Vec<ResourceInfo> {
        let spec = &crd["spec"];
        let names = &spec["names"];
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let group = s(&spec["group"]);
        let kind = s(&names["kind"]);
        let plural = s(&names["plural"]);
        let singular = match names["singular"].as_str() {
            Some(sing) if !sing.is_empty() => sing.to_string(),
            _ => kind.to_ascii_lowercase(),
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let mut out = Vec::new();
        for version in spec["versions"].as_array().into_iter().flatten() {
            if version["served"].as_bool() == Some(false) {
                continue;
            }
            let v = s(&version["name"]);
            let mut subresources = Vec::new();
            let subs = &version["subresources"];
            if subs.get("scale").is_some() {
                subresources.push(SubresourceInfo {
                    name: "scale".into(),
                    group: "autoscaling".into(),
                    version: "v1".into(),
                    kind: "Scale".into(),
                    verbs: vec!["get".into(), "patch".into(), "update".into()],
                });
            }
            if subs.get("status").is_some() {
                subresources.push(SubresourceInfo {
                    name: "status".into(),
                    group: group.clone(),
                    version: v.clone(),
                    kind: kind.clone(),
                    verbs: vec!["get".into(), "patch".into(), "update".into()],
                });
            }
            out.push(ResourceInfo {
                group: group.clone(),
                version: v,
                kind: kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                namespaced,
                verbs: ALL_VERBS.iter().map(|v| v.to_string()).collect(),
                short_names: strings(&names["shortNames"]),
                categories: strings(&names["categories"]),
                subresources,
                storage_version_hash: None,
            });
        }
        out
    }
}

/// The rule an object's `metadata.name` must follow for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// A DNS-1123 subdomain (most kinds, custom resources).
    DnsSubdomain,
    /// A DNS-1123 label (namespaces).
    DnsLabel,
    /// A DNS-1035 label (services).
    Dns1035Label,
    /// Any path segment: not `.`/`..`, no `/` or `%` (RBAC kinds).
    PathSegment,
}

impl NameRule {
    /// The rule of a kind, as the API server's validation applies it:
    /// namespaces need DNS labels, services DNS-1035 labels, RBAC roles and
    /// bindings only path segments, and every other kind DNS subdomains.
    pub fn for_kind(group: &str, kind: &str) -> Self {
        match (group, kind) {
            ("", "Namespace") => Self::DnsLabel,
            ("", "Service") => Self::Dns1035Label,
            (
                "rbac.authorization.k8s.io",
                "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
            ) => Self::PathSegment,
            _ => Self::DnsSubdomain,
        }
    }

    /// The matching validator of `kedge_core::validation`.
    pub fn validator(self) -> kedge_core::validation::NameValidator {
        use kedge_core::validation as v;
        match self {
            Self::DnsSubdomain => v::name_is_dns_subdomain,
            Self::DnsLabel => v::name_is_dns_label,
            Self::Dns1035Label => v::name_is_dns1035_label,
            Self::PathSegment => v::name_is_path_segment,
        }
    }

    /// Validates a name (`prefix` for a `generateName`), returning
    /// apimachinery's messages.
    pub fn validate(self, name: &str, prefix: bool) -> Vec<String> {
        (self.validator())(name, prefix)
    }
}

/// An API group with its versions in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiGroupInfo {
    /// The group name; empty for the core group.
    pub name: String,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
}

impl ApiGroupInfo {
    /// The preferred version.
    pub fn preferred_version(&self) -> &str {
        self.versions
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The `APIGroup` JSON (`/apis/{group}` and `/apis` entries), without
    /// `kind`/`apiVersion`.
    pub fn api_group(&self) -> Value {
        let gv = |v: &str| json!({"groupVersion": format!("{}/{}", self.name, v), "version": v});
        json!({
            "name": self.name,
            "versions": self.versions.iter().map(|v| gv(v)).collect::<Vec<_>>(),
            "preferredVersion": gv(self.preferred_version()),
        })
    }
}

#[derive(Deserialize)]
struct RawDiscovery {
    groups: Vec<RawGroup>,
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
struct RawGroup {
    name: String,
    versions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResource {
    gv: String,
    name: String,
    singular: String,
    namespaced: bool,
    kind: String,
    verbs: Value,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    storage_version_hash: Option<String>,
    #[serde(default)]
    subresources: Vec<RawSubresource>,
}

#[derive(Deserialize)]
struct RawSubresource {
    name: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    verbs: Vec<String>,
}

/// Parses the discovery data file.
pub(crate) fn parse(text: &str) -> Result<(Vec<ApiGroupInfo>, Vec<ResourceInfo>), String> {
    let raw: RawDiscovery = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let groups = raw
        .groups
        .into_iter()
        .map(|g| ApiGroupInfo {
            name: g.name,
            versions: g.versions,
        })
        .collect();
    let mut resources = Vec::new();
    for r in raw.resources {
        let gv = GroupVersion::parse(&r.gv).map_err(|e| e.to_string())?;
        let verbs = match &r.verbs {
            Value::String(s) if s == "ALL" => ALL_VERBS.iter().map(|v| v.to_string()).collect(),
            Value::Array(vs) => vs
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            other => return Err(format!("resource {}: bad verbs {other}", r.name)),
        };
        let subresources = r
            .subresources
            .into_iter()
            .map(|s| SubresourceInfo {
                name: s.name,
                group: s.group.unwrap_or_else(|| gv.group.clone()),
                version: s.version.unwrap_or_else(|| gv.version.clone()),
                kind: s.kind.unwrap_or_else(|| r.kind.clone()),
                verbs: s.verbs,
            })
            .collect();
        resources.push(ResourceInfo {
            group: gv.group,
            version: gv.version,
            kind: r.kind,
            plural: r.name,
            singular: r.singular,
            namespaced: r.namespaced,
            verbs,
            short_names: r.short_names,
            categories: r.categories,
            subresources,
            storage_version_hash: r.storage_version_hash,
        });
    }
    Ok((groups, resources))
}

/// Compares two version names by Kubernetes version priority, highest first
/// (`v2` < `v1` < `v1beta2` < `v1beta1` < `v1alpha1` < `foo`): GA before beta
/// before alpha, higher numbers first, names that do not look like
/// Kubernetes versions last and alphabetically.
pub fn compare_version_priority(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(v: &str) -> Option<(u64, u8, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: u64 = rest[..digits_end].parse().ok()?;
        if major == 0 {
            return None;
        }
        let tail = &rest[digits_end..];
        if tail.is_empty() {
            return Some((major, 2, 0));
        }
        let (stage, num) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n)
        } else {
            return None;
        };
        let minor: u64 = num.parse().ok()?;
        (minor > 0).then_some((major, stage, minor))
    }
    match (parse(a), parse(b)) {
        (Some((ma, sa, na)), Some((mb, sb, nb))) => sb.cmp(&sa).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The groups served with the given CRDs: the built-in groups in server
/// order, then CRD groups sorted by name, each with its served versions in
/// version priority order.
pub fn groups_with_crds(crds: &[Value]) -> Vec<ApiGroupInfo> {
    let mut groups: Vec<ApiGroupInfo> = crate::Registry::builtin().groups().to_vec();
    let mut custom: Vec<ApiGroupInfo> = Vec::new();
    for crd in crds {
        for r in ResourceInfo::from_crd(crd) {
            let target = match groups.iter_mut().find(|g| g.name == r.group) {
                Some(g) => g,
                None => match custom.iter_mut().find(|g| g.name == r.group) {
                    Some(g) => g,
                    None => {
                        custom.push(ApiGroupInfo {
                            name: r.group.clone(),
                            versions: Vec::new(),
                        });
                        custom.last_mut().expect("just pushed")
                    }
                },
            };
            if !target.versions.contains(&r.version) {
                target.versions.push(r.version.clone());
                target
                    .versions
                    .sort_by(|a, b| compare_version_priority(a, b));
            }
        }
    }
    custom.sort_by(|a, b| a.name.cmp(&b.name));
    groups.extend(custom);
    groups
}

/// The resources served in one group version, built-in then custom.
pub fn resources_in_with_crds(gv: &GroupVersion, crds: &[Value]) -> Vec<ResourceInfo> {
    let mut out: Vec<ResourceInfo> = crate::Registry::builtin()
        .resources_in(gv)
        .cloned()
        .collect();
    for crd in crds {
        out.extend(
            ResourceInfo::from_crd(crd)
                .into_iter()
                .filter(|r| r.group_version() == *gv),
        );
    }
    out
}

/// `/apis` (`APIGroupList`) with the built-in groups and the CRDs' groups.
pub fn api_group_list(crds: &[Value]) -> Value {
    let groups: Vec<Value> = groups_with_crds(crds)
        .iter()
        .filter(|g| !g.name.is_empty())
        .map(ApiGroupInfo::api_group)
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/api/v1` or `/apis/{group}/{version}` (`APIResourceList`); `None` when
/// the group version is not served. The core group's list has no
/// `apiVersion`, as on a real server.
pub fn api_resource_list(gv: &GroupVersion, crds: &[Value]) -> Option<Value> {
    let served = groups_with_crds(crds)
        .iter()
        .any(|g| g.name == gv.group && g.versions.contains(&gv.version));
    if !served {
        return None;
    }
    let resources: Vec<Value> = resources_in_with_crds(gv, crds)
        .iter()
        .flat_map(ResourceInfo::api_resources)
        .collect();
    let mut list = Map::new();
    list.insert("kind".into(), json!("APIResourceList"));
    if !gv.group.is_empty() {
        list.insert("apiVersion".into(), json!("v1"));
    }
    list.insert("groupVersion".into(), json!(gv.to_string()));
    list.insert("resources".into(), Value::Array(resources));
    Some(Value::Object(list))
}

/// The aggregated discovery document (`apidiscovery.k8s.io/v2`
/// `APIGroupDiscoveryList`) of `/api` (`legacy = true`, the core group only,
/// an item without a name) or `/apis` (every other group, CRDs included).
/// Serve it with `Content-Type:
/// application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`
/// when the client's `Accept` asks for exactly that.
pub fn aggregated_discovery(crds: &[Value], legacy: bool) -> Value {
    let items: Vec<Value> = groups_with_crds(crds)
        .iter()
        .filter(|g| g.name.is_empty() == legacy)
        .map(|g| {
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|v| {
                    let gv = GroupVersion::new(&g.name, v);
                    let resources: Vec<Value> = resources_in_with_crds(&gv, crds)
                        .iter()
                        .map(ResourceInfo::aggregated_resource)
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let mut metadata = Map::new();
            if !g.name.is_empty() {
                metadata.insert("name".into(), json!(g.name));
            }
            metadata.insert("creationTimestamp".into(), Value::Null);
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}
