//! OpenAPI documents: structure that clients rely on (every `$ref`
//! resolves, kinds carry `x-kubernetes-group-version-kind`, PATCH operations
//! declare `fieldValidation` and the right patch content types), CRD
//! publication, index hashes, and build time.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use kedge_core::GroupVersion;
use kedge_schema::Registry;
use kedge_schema::openapi::{self, BUILTIN_PATCH_TYPES, CUSTOM_RESOURCE_PATCH_TYPES};
use serde_json::{Value, json};

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                // `$ref` is also a property name (in JSONSchemaProps).
                if let (true, Some(r)) = (k == "$ref", x.as_str()) {
                    out.push(r.to_string());
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn check_refs(doc: &Value, prefix: &str, defs: &Value) -> Result<()> {
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    ensure!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix(prefix)
            .with_context(|| format!("bad ref {r}"))?;
        ensure!(defs.get(name).is_some(), "dangling ref {r}");
    }
    Ok(())
}

/// The PATCH operation for a GVK, as kubectl's verifier finds it.
fn patch_op<'a>(doc: &'a Value, gvk: &Value) -> Option<&'a Value> {
    doc["paths"]
        .as_object()?
        .values()
        .filter_map(|p| p.get("patch"))
        .find(|op| op["x-kubernetes-group-version-kind"] == *gvk)
}

fn has_field_validation(op: &Value) -> bool {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
}

#[test]
fn every_builtin_v3_document_is_consistent() -> Result<()> {
    let registry = Registry::builtin();
    for gv in registry.group_versions() {
        let doc = openapi::openapi_v3_group_version(&gv, &[]).with_context(|| format!("{gv}"))?;
        ensure!(doc["openapi"] == "3.0.0");
        let schemas = &doc["components"]["schemas"];
        check_refs(&doc, "#/components/schemas/", schemas).with_context(|| format!("{gv}"))?;
        for r in registry.resources_in(&gv) {
            let gvk = json!({"group": r.group, "kind": r.kind, "version": r.version});
            let def = registry.definition_name(&r.gvk()).context("definition")?;
            ensure!(
                schemas[def]["x-kubernetes-group-version-kind"]
                    .as_array()
                    .is_some_and(|a| a.contains(&gvk)),
                "{def} lacks its GVK"
            );
            if !r.supports("patch") {
                continue;
            }
            let op = patch_op(&doc, &gvk).with_context(|| format!("no PATCH for {gvk}"))?;
            ensure!(has_field_validation(op), "{gvk}: no fieldValidation");
            let types: Vec<&String> = op["requestBody"]["content"]
                .as_object()
                .context("content")?
                .keys()
                .collect();
            ensure!(types == BUILTIN_PATCH_TYPES, "{gvk}: {types:?}");
        }
    }
    ensure!(
        openapi::openapi_v3_group_version(&GroupVersion::new("example.com", "v1"), &[]).is_none()
    );
    Ok(())
}

#[test]
fn crd_v3_document() -> Result<()> {
    let crd = crate::kubectl::widget_crd();
    let gv = GroupVersion::new("example.com", "v1");
    let doc = openapi::openapi_v3_group_version(&gv, std::slice::from_ref(&crd)).context("doc")?;
    let schemas = &doc["components"]["schemas"];
    check_refs(&doc, "#/components/schemas/", schemas)?;
    let widget = &schemas["com.example.v1.Widget"];
    ensure!(
        widget["x-kubernetes-group-version-kind"]
            == json!([{"group": "example.com", "kind": "Widget", "version": "v1"}])
    );
    ensure!(
        widget["properties"]["metadata"]["allOf"][0]["$ref"]
            == "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    ensure!(
        widget["properties"]["spec"]["properties"]["size"]["description"]
            == "How big the widget is."
    );
    ensure!(
        schemas["com.example.v1.WidgetList"]["properties"]["items"]["items"]["$ref"]
            == "#/components/schemas/com.example.v1.Widget"
    );
    let gvk = json!({"group": "example.com", "kind": "Widget", "version": "v1"});
    let op = patch_op(&doc, &gvk).context("patch")?;
    ensure!(has_field_validation(op));
    let types: Vec<&String> = op["requestBody"]["content"]
        .as_object()
        .context("content")?
        .keys()
        .collect();
    ensure!(types == CUSTOM_RESOURCE_PATCH_TYPES, "{types:?}");
    ensure!(
        doc["paths"]
            .get("/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status")
            .is_some()
    );
    let scale =
        &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/scale"]["patch"];
    ensure!(
        scale["x-kubernetes-group-version-kind"]
            == json!({"group": "autoscaling", "kind": "Scale", "version": "v1"})
    );
    ensure!(schemas.get("io.k8s.api.autoscaling.v1.Scale").is_some());
    Ok(())
}

#[test]
fn v2_document() -> Result<()> {
    let crd = crate::kubectl::widget_crd();
    let doc = openapi::openapi_v2(std::slice::from_ref(&crd));
    ensure!(doc["swagger"] == "2.0");
    let defs = &doc["definitions"];
    check_refs(&doc, "#/definitions/", defs)?;
    ensure!(
        defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
            == json!({"type": "string", "format": "int-or-string"})
    );
    ensure!(defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string");
    ensure!(
        defs["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]["x-kubernetes-patch-strategy"]
            == "retainKeys"
    );
    ensure!(
        defs["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]["$ref"]
            == "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
    );
    for gvk in [
        json!({"group": "apps", "kind": "Deployment", "version": "v1"}),
        json!({"group": "example.com", "kind": "Widget", "version": "v1"}),
    ] {
        let op = patch_op(&doc, &gvk).with_context(|| format!("{gvk}"))?;
        ensure!(has_field_validation(op));
        ensure!(op["parameters"][0]["in"] == "body");
    }
    Ok(())
}

#[test]
fn index_and_hashes() -> Result<()> {
    let mut crd = crate::kubectl::widget_crd();
    let gvs = openapi::openapi_v3_group_versions(std::slice::from_ref(&crd));
    ensure!(gvs.first() == Some(&GroupVersion::new("", "v1")));
    ensure!(gvs.last() == Some(&GroupVersion::new("example.com", "v1")));
    let gv = GroupVersion::new("example.com", "v1");
    let h1 = openapi::document_hash(
        &openapi::openapi_v3_group_version(&gv, std::slice::from_ref(&crd)).context("doc")?,
    );
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["weight"] =
        json!({"type": "integer"});
    let h2 = openapi::document_hash(
        &openapi::openapi_v3_group_version(&gv, std::slice::from_ref(&crd)).context("doc")?,
    );
    ensure!(h1 != h2 && h1.len() == 128);
    let index = openapi::openapi_v3_index(&[
        (gv.clone(), h1.clone()),
        (GroupVersion::new("", "v1"), "X".into()),
    ]);
    ensure!(
        index["paths"]["apis/example.com/v1"]["serverRelativeURL"]
            == format!("/openapi/v3/apis/example.com/v1?hash={h1}")
    );
    ensure!(index["paths"]["api/v1"]["serverRelativeURL"] == "/openapi/v3/api/v1?hash=X");
    Ok(())
}

#[test]
fn input_hashes_follow_crd_changes() -> Result<()> {
    let mut crd = crate::kubectl::widget_crd();
    let gv = GroupVersion::new("example.com", "v1");
    let apps = GroupVersion::new("apps", "v1");
    let h1 = openapi::openapi_v3_input_hash(&gv, std::slice::from_ref(&crd));
    let apps1 = openapi::openapi_v3_input_hash(&apps, std::slice::from_ref(&crd));
    ensure!(h1 == openapi::openapi_v3_input_hash(&gv, std::slice::from_ref(&crd)));
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["weight"] =
        json!({"type": "integer"});
    let h2 = openapi::openapi_v3_input_hash(&gv, std::slice::from_ref(&crd));
    ensure!(h1 != h2, "the CRD's group version must get a new hash");
    ensure!(apps1 == openapi::openapi_v3_input_hash(&apps, std::slice::from_ref(&crd)));
    let index = openapi::openapi_v3_index_for(std::slice::from_ref(&crd));
    ensure!(
        index["paths"]["apis/example.com/v1"]["serverRelativeURL"]
            == format!("/openapi/v3/apis/example.com/v1?hash={h2}")
    );
    ensure!(
        index["paths"].as_object().context("paths")?.len()
            == Registry::builtin().group_versions().len() + 1
    );
    Ok(())
}

#[test]
fn build_time() -> Result<()> {
    let registry = Registry::builtin();
    let crd = crate::kubectl::widget_crd();
    let mut times = Vec::new();
    for round in ["first", "second"] {
        let start = Instant::now();
        for gv in registry.group_versions() {
            openapi::openapi_v3_group_version(&gv, &[]).context("doc")?;
        }
        let v3 = start.elapsed();
        let start = Instant::now();
        let gv = GroupVersion::new("example.com", "v1");
        openapi::openapi_v3_group_version(&gv, std::slice::from_ref(&crd)).context("crd doc")?;
        let crd_doc = start.elapsed();
        let start = Instant::now();
        let _ = openapi::openapi_v2(std::slice::from_ref(&crd));
        let v2 = start.elapsed();
        println!(
            "{round}: all built-in v3 documents {v3:?}; a CRD v3 document {crd_doc:?}; v2 document {v2:?}"
        );
        times.push(v3);
    }
    ensure!(
        times[1] <= times[0] * 2,
        "cached documents are not faster: {times:?}"
    );
    Ok(())
}
