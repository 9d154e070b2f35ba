//! Discovery facts: name resolution as kubectl does it (data-driven), group
//! order and preferred versions, verbs and subresources, CRD-derived entries.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use kedge_core::{GroupVersion, GroupVersionKind, GroupVersionResource};
use kedge_schema::{Registry, ResourceInfo};
use serde_json::{Value, json};

fn gvr_string(r: &ResourceInfo) -> String {
    format!("{}/{}", r.group_version(), r.plural)
}

#[test]
fn name_lookup_fixtures() -> Result<()> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/discovery/lookups.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let registry = Registry::builtin();
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().context("cases")? {
        let name = case["name"].as_str().context("name")?;
        let found = registry.lookup_preferred(name);
        let Some(want) = case.get("gvr").and_then(Value::as_str) else {
            if let Some(r) = found {
                failures.push(format!("{name}: unexpectedly found {}", gvr_string(r)));
            }
            continue;
        };
        let Some(r) = found else {
            failures.push(format!("{name}: not found"));
            continue;
        };
        if gvr_string(r) != want {
            failures.push(format!("{name}: {} != {want}", gvr_string(r)));
        }
        if let Some(kind) = case.get("kind").and_then(Value::as_str)
            && r.kind != kind
        {
            failures.push(format!("{name}: kind {}", r.kind));
        }
        if let Some(ns) = case.get("namespaced").and_then(Value::as_bool)
            && r.namespaced != ns
        {
            failures.push(format!("{name}: namespaced {}", r.namespaced));
        }
        if let Some(cats) = case.get("categories") {
            let want: Vec<String> = serde_json::from_value(cats.clone())?;
            if r.categories != want {
                failures.push(format!("{name}: categories {:?}", r.categories));
            }
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn groups_in_server_order() {
    let registry = Registry::builtin();
    let names: Vec<&str> = registry.groups().iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        &names[..8],
        [
            "",
            "apiregistration.k8s.io",
            "apps",
            "events.k8s.io",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "autoscaling",
            "batch"
        ]
    );
    let autoscaling = registry.group("autoscaling").unwrap();
    assert_eq!(autoscaling.versions, ["v2", "v1"]);
    assert_eq!(autoscaling.preferred_version(), "v2");
    assert_eq!(
        autoscaling.api_group(),
        json!({"name": "autoscaling",
            "versions": [{"groupVersion": "autoscaling/v2", "version": "v2"}, {"groupVersion": "autoscaling/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "autoscaling/v2", "version": "v2"}})
    );
    // Every resource's group version is a served one, and every served
    // group version has resources.
    let gvs = registry.group_versions();
    for r in registry.resources() {
        assert!(gvs.contains(&r.group_version()), "{}", gvr_string(r));
    }
    for gv in &gvs {
        assert!(registry.resources_in(gv).next().is_some(), "{gv}");
    }
}

#[test]
fn every_served_kind_has_a_schema() {
    let registry = Registry::builtin();
    for r in registry.resources() {
        assert!(registry.type_for(&r.gvk()).is_some(), "{}", r.gvk());
        for sub in &r.subresources {
            if matches!(sub.name.as_str(), "status" | "scale") {
                assert!(registry.type_for(&sub.gvk()).is_some(), "{}", sub.gvk());
            }
        }
    }
}

#[test]
fn verbs_and_subresources() -> Result<()> {
    let registry = Registry::builtin();
    let deploy = registry
        .resource_for_kind(&GroupVersionKind::new("apps", "v1", "Deployment"))
        .context("deployments")?;
    assert_eq!(deploy.verbs.len(), 8);
    let scale = deploy.subresource("scale").context("scale")?;
    assert_eq!(
        scale.gvk(),
        GroupVersionKind::new("autoscaling", "v1", "Scale")
    );
    assert_eq!(
        deploy.subresource("status").context("status")?.kind,
        "Deployment"
    );
    assert_eq!(deploy.storage_version_hash.as_deref(), Some("8aSe+NMegvE="));
    let ns = registry
        .resource_for_gvr(&GroupVersionResource::new("", "v1", "namespaces"))
        .context("namespaces")?;
    assert!(!ns.supports("deletecollection") && ns.supports("watch"));
    assert_eq!(
        ns.subresource("finalize").context("finalize")?.verbs,
        ["update"]
    );
    let entries = deploy.api_resources();
    assert_eq!(
        entries[0],
        json!({"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": ["deploy"], "categories": ["all"], "storageVersionHash": "8aSe+NMegvE="})
    );
    assert_eq!(
        entries[1],
        json!({"name": "deployments/scale", "singularName": "", "namespaced": true, "group": "autoscaling",
            "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    );
    assert_eq!(
        entries[2],
        json!({"name": "deployments/status", "singularName": "", "namespaced": true, "kind": "Deployment",
            "verbs": ["get", "patch", "update"]})
    );
    let agg = deploy.aggregated_resource();
    assert_eq!(agg["scope"], "Namespaced");
    assert_eq!(
        agg["subresources"][0]["responseKind"],
        json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
    );
    assert_eq!(
        agg["subresources"][1]["responseKind"],
        json!({"group": "", "version": "", "kind": "Deployment"})
    );
    let pods: Vec<&str> = registry
        .resources_in(&GroupVersion::new("", "v1"))
        .map(|r| r.plural.as_str())
        .collect();
    let mut sorted = pods.clone();
    sorted.sort();
    assert_eq!(pods, sorted, "legacy discovery lists resources by name");
    Ok(())
}

#[test]
fn crd_resources() {
    let crd = crate::kubectl::widget_crd();
    let infos = ResourceInfo::from_crd(&crd);
    assert_eq!(infos.len(), 1);
    let w = &infos[0];
    assert_eq!(gvr_string(w), "example.com/v1/widgets");
    assert!(
        w.matches_name("wd") && w.matches_name("widgets.example.com") && w.matches_name("Widget")
    );
    assert!(w.has_status() && w.has_scale());
    assert_eq!(w.categories, ["all"]);
    assert_eq!(w.api_resources().len(), 3);
}

#[test]
fn name_rules() {
    use kedge_schema::NameRule;
    let registry = Registry::builtin();
    let rule = |name: &str| registry.lookup_preferred(name).unwrap().name_rule();
    assert_eq!(rule("ns"), NameRule::DnsLabel);
    assert_eq!(rule("svc"), NameRule::Dns1035Label);
    assert_eq!(rule("clusterrole"), NameRule::PathSegment);
    assert_eq!(rule("cm"), NameRule::DnsSubdomain);
    assert!(rule("svc").validate("1web", false).len() == 1);
    assert!(
        rule("clusterrole")
            .validate("system:controller:x", false)
            .is_empty()
    );
    assert!(!rule("cm").validate("system:controller:x", false).is_empty());
    assert!(rule("ns").validate("team-", true).is_empty());
}

#[test]
fn version_priority_and_crd_groups() {
    let mut versions = vec![
        "v1alpha1",
        "foo",
        "v2",
        "v1beta1",
        "v1",
        "v10",
        "v1beta2",
        "bar",
        "v11alpha2",
    ];
    versions.sort_by(|a, b| kedge_schema::compare_version_priority(a, b));
    assert_eq!(
        versions,
        [
            "v10",
            "v2",
            "v1",
            "v1beta2",
            "v1beta1",
            "v11alpha2",
            "v1alpha1",
            "bar",
            "foo"
        ]
    );
    let mut crd = crate::kubectl::widget_crd();
    let v1 = crd["spec"]["versions"][0].clone();
    let mut beta = v1.clone();
    beta["name"] = json!("v1beta1");
    beta["storage"] = json!(false);
    crd["spec"]["versions"] = json!([beta, v1]);
    let mut other = crate::kubectl::widget_crd();
    other["spec"]["group"] = json!("aaa.example.org");
    let groups = kedge_schema::groups_with_crds(&[crd.clone(), other]);
    let tail: Vec<(&str, Vec<String>)> = groups[groups.len() - 2..]
        .iter()
        .map(|g| (g.name.as_str(), g.versions.clone()))
        .collect();
    assert_eq!(
        tail,
        [
            ("aaa.example.org", vec!["v1".to_string()]),
            ("example.com", vec!["v1".to_string(), "v1beta1".to_string()])
        ]
    );
    let list =
        kedge_schema::api_resource_list(&GroupVersion::new("example.com", "v1beta1"), &[crd])
            .unwrap();
    assert_eq!(list["resources"][0]["name"], "widgets");
    assert_eq!(list["apiVersion"], "v1");
    let core = kedge_schema::api_resource_list(&GroupVersion::new("", "v1"), &[]).unwrap();
    assert!(core.get("apiVersion").is_none());
    assert!(kedge_schema::api_resource_list(&GroupVersion::new("nope", "v1"), &[]).is_none());
    let agg = kedge_schema::aggregated_discovery(&[], true);
    assert_eq!(agg["items"].as_array().unwrap().len(), 1);
    assert!(agg["items"][0]["metadata"].get("name").is_none());
}
