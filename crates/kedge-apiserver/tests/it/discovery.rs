//! Discovery through kubectl: version, api-resources (aggregated and legacy),
//! and the documents' shapes.

use crate::{Cluster, kubectl_versions};

#[test]
fn version_reports_the_served_level() {
    let Some(c) = Cluster::start() else { return };
    let v = c.raw("/version");
    assert_eq!(v["major"], "1");
    assert_eq!(v["minor"], "33");
    let out = c.ok(&["version", "-o", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["serverVersion"]["gitVersion"], "v1.33.0-kedge");
}

#[test]
fn api_resources_lists_builtins_for_every_kubectl() {
    let versions = kubectl_versions();
    let Some(first) = versions.first().cloned() else {
        return;
    };
    let c = Cluster::start_with(first, |_| {});
    for bin in &versions {
        let out = c.kubectl_with(bin, &["api-resources", "--no-headers"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{bin:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for expected in [
            "deployments",
            "configmaps",
            "customresourcedefinitions",
            "horizontalpodautoscalers",
            "leases",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(expected)),
                "{bin:?} misses {expected}:\n{text}"
            );
        }
        let deploy = text
            .lines()
            .find(|l| l.starts_with("deployments "))
            .unwrap();
        assert!(
            deploy.contains("deploy")
                && deploy.contains("apps/v1")
                && deploy.contains("true")
                && deploy.contains("Deployment"),
            "{deploy}"
        );
    }
}

#[test]
fn legacy_documents_have_the_real_shapes() {
    let Some(c) = Cluster::start() else { return };
    let api = c.raw("/api");
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"][0], "v1");
    let v1 = c.raw("/api/v1");
    assert_eq!(v1["kind"], "APIResourceList");
    assert!(
        v1.get("apiVersion").is_none(),
        "the core list has no apiVersion"
    );
    let apps = c.raw("/apis/apps/v1");
    assert_eq!(apps["apiVersion"], "v1");
    let scale = apps["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deployments/scale")
        .unwrap();
    assert_eq!(scale["group"], "autoscaling");
    assert_eq!(scale["kind"], "Scale");
    let group = c.raw("/apis/autoscaling");
    assert_eq!(group["preferredVersion"]["version"], "v2");
    let index = c.raw("/openapi/v3");
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    let doc = c.raw(url);
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "Deployment"
    );
}
