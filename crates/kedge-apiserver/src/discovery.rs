//! Discovery documents: `/version`, legacy `/api`, `/api/v1`, `/apis`,
//! `/apis/{g}`, `/apis/{g}/{v}`, and aggregated discovery (`v2` and
//! `v2beta1`), chosen from the `Accept` header and answered with the exact
//! matching `Content-Type` (kubectl decides on the Content-Type alone).

use serde_json::{Map, Value, json};

use crate::catalog::{Catalog, ResourceInfo};

/// The Kubernetes level this server answers as.
pub(crate) const KUBE_MAJOR: &str = "1";
pub(crate) const KUBE_MINOR: &str = "33";
pub(crate) const GIT_VERSION: &str = "v1.33.0-kedge";

pub(crate) const AGG_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
pub(crate) const AGG_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Which discovery format a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Legacy,
    AggregatedV2,
    AggregatedV2Beta1,
}

/// Picks the first acceptable format in the client's order.
pub(crate) fn negotiate(accept: &str) -> Format {
    for entry in accept.split(',') {
        let params: Vec<&str> = entry.split(';').map(str::trim).collect();
        let media = params[0];
        let get = |k: &str| {
            params
                .iter()
                .find_map(|p| p.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
        };
        if media == "application/json"
            && get("g") == Some("apidiscovery.k8s.io")
            && get("as") == Some("APIGroupDiscoveryList")
        {
            match get("v") {
                Some("v2") => return Format::AggregatedV2,
                Some("v2beta1") => return Format::AggregatedV2Beta1,
                _ => continue,
            }
        }
        if (media == "application/json" && get("as").is_none())
            || media == "*/*"
            || media == "application/*"
        {
            return Format::Legacy;
        }
    }
    Format::Legacy
}

pub(crate) fn version() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "emulationMajor": KUBE_MAJOR,
        "emulationMinor": KUBE_MINOR,
        "minCompatibilityMajor": KUBE_MAJOR,
        "minCompatibilityMinor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": format!("{}/{}", std::env::consts::OS, match std::env::consts::ARCH { "x86_64" => "amd64", "aarch64" => "arm64", a => a }),
    })
}

pub(crate) fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(catalog: &Catalog, name: &str) -> Option<Value> {
    let g = catalog.groups.iter().find(|g| g.name == name)?;
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    Some(json!({"name": name, "versions": versions, "preferredVersion": preferred}))
}

pub(crate) fn api_group_list(catalog: &Catalog) -> Value {
    let groups: Vec<Value> = catalog
        .groups
        .iter()
        .filter_map(|g| group_entry(catalog, &g.name))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub(crate) fn api_group(catalog: &Catalog, name: &str) -> Option<Value> {
    let mut entry = group_entry(catalog, name)?;
    let obj = entry.as_object_mut()?;
    let mut out = Map::new();
    out.insert("kind".into(), json!("APIGroup"));
    out.insert("apiVersion".into(), json!("v1"));
    out.append(obj);
    Some(Value::Object(out))
}

fn legacy_resource(info: &ResourceInfo) -> Vec<Value> {
    let mut out = Vec::new();
    let mut r = Map::new();
    r.insert("name".into(), json!(info.plural));
    r.insert("singularName".into(), json!(info.singular));
    r.insert("namespaced".into(), json!(info.namespaced));
    r.insert("kind".into(), json!(info.kind));
    r.insert("verbs".into(), json!(info.verbs));
    if !info.short_names.is_empty() {
        r.insert("shortNames".into(), json!(info.short_names));
    }
    if !info.categories.is_empty() {
        r.insert("categories".into(), json!(info.categories));
    }
    if let Some(h) = &info.storage_version_hash {
        r.insert("storageVersionHash".into(), json!(h));
    }
    out.push(Value::Object(r));
    for sub in &info.subresources {
        let mut s = Map::new();
        s.insert(
            "name".into(),
            json!(format!("{}/{}", info.plural, sub.name)),
        );
        s.insert("singularName".into(), json!(""));
        s.insert("namespaced".into(), json!(info.namespaced));
        if sub.kind.0 != info.group || sub.kind.1 != info.version {
            s.insert("group".into(), json!(sub.kind.0));
            s.insert("version".into(), json!(sub.kind.1));
        }
        s.insert("kind".into(), json!(sub.kind.2));
        s.insert("verbs".into(), json!(sub.verbs));
        out.push(Value::Object(s));
    }
    out
}

pub(crate) fn api_resource_list(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let resources = catalog.group_version(group, version)?;
    let items: Vec<Value> = resources.iter().flat_map(|r| legacy_resource(r)).collect();
    let mut m = Map::new();
    m.insert("kind".into(), json!("APIResourceList"));
    if group.is_empty() {
        m.insert("groupVersion".into(), json!(version));
    } else {
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("groupVersion".into(), json!(format!("{group}/{version}")));
    }
    m.insert("resources".into(), Value::Array(items));
    Some(Value::Object(m))
}

fn aggregated_resource(info: &ResourceInfo) -> Value {
    let mut r = Map::new();
    r.insert("resource".into(), json!(info.plural));
    r.insert(
        "responseKind".into(),
        json!({"group": "", "version": "", "kind": info.kind}),
    );
    r.insert(
        "scope".into(),
        json!(if info.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }),
    );
    r.insert("singularResource".into(), json!(info.singular));
    r.insert("verbs".into(), json!(info.verbs));
    if !info.short_names.is_empty() {
        r.insert("shortNames".into(), json!(info.short_names));
    }
    if !info.categories.is_empty() {
        r.insert("categories".into(), json!(info.categories));
    }
    if !info.subresources.is_empty() {
        let subs: Vec<Value> = info
            .subresources
            .iter()
            .map(|s| {
                let (g, v) = if s.kind.0 == info.group && s.kind.1 == info.version {
                    (String::new(), String::new())
                } else {
                    (s.kind.0.clone(), s.kind.1.clone())
                };
                json!({"subresource": s.name, "responseKind": {"group": g, "version": v, "kind": s.kind.2}, "verbs": s.verbs})
            })
            .collect();
        r.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(r)
}

fn aggregated_version(catalog: &Catalog, group: &str, version: &str) -> Value {
    let resources: Vec<Value> = catalog
        .group_version(group, version)
        .unwrap_or_default()
        .iter()
        .map(|r| aggregated_resource(r))
        .collect();
    json!({"version": version, "resources": resources, "freshness": "Current"})
}

/// The aggregated document for `/api` (`core = true`) or `/apis`.
pub(crate) fn aggregated(catalog: &Catalog, core: bool, format: Format) -> Value {
    let api_version = match format {
        Format::AggregatedV2Beta1 => "apidiscovery.k8s.io/v2beta1",
        _ => "apidiscovery.k8s.io/v2",
    };
    let items: Vec<Value> = if core {
        vec![
            json!({"metadata": {"creationTimestamp": null}, "versions": [aggregated_version(catalog, "", "v1")]}),
        ]
    } else {
        catalog
            .groups
            .iter()
            .map(|g| {
                let versions: Vec<Value> =
                    g.versions.iter().map(|v| aggregated_version(catalog, &g.name, v)).collect();
                json!({"metadata": {"name": g.name, "creationTimestamp": null}, "versions": versions})
            })
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_client_order() {
        assert_eq!(
            negotiate(&format!("{AGG_V2},{AGG_V2BETA1},application/json")),
            Format::AggregatedV2
        );
        assert_eq!(
            negotiate(&format!("{AGG_V2BETA1},application/json")),
            Format::AggregatedV2Beta1
        );
        assert_eq!(negotiate("application/json, */*"), Format::Legacy);
        assert_eq!(negotiate(""), Format::Legacy);
    }
}
