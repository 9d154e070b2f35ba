//! OpenAPI documents, rendered by `kedge-schema` from the published
//! Kubernetes definitions plus the stored CustomResourceDefinitions:
//! `/openapi/v2` (Swagger 2.0 as JSON, or protobuf when the client's
//! `Accept` asks for it, as kubectl 1.27/1.28 do for client-side
//! validation), the `/openapi/v3` index (a content hash per group/version)
//! and the per-group/version OpenAPI 3.0 documents `kubectl explain` reads.
//!
//! Rendering the full documents costs milliseconds to tens of
//! milliseconds, so each one is serialised once per catalog and cached in
//! it: the catalog is rebuilt whenever a CRD changes, which drops the
//! cached documents with it. The CRDs are read from the store the first
//! time a catalog serves a document.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use kedge_core::GroupVersion;
use serde_json::Value;

/// The encoded documents of one catalog, each built on first use.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    crds: Vec<Value>,
    v2_json: OnceLock<Bytes>,
    v2_protobuf: OnceLock<Bytes>,
    v3_index: OnceLock<Bytes>,
    v3: Mutex<BTreeMap<(String, String), Option<Bytes>>>,
}

impl Documents {
    /// The documents of the built-in kinds and `crds`.
    pub(crate) fn new(crds: Vec<Value>) -> Documents {
        Documents {
            crds,
            ..Documents::default()
        }
    }

    /// `/openapi/v2` as JSON.
    pub(crate) fn v2_json(&self) -> Bytes {
        self.v2_json
            .get_or_init(|| {
                let doc = kedge_schema::openapi_v2(&self.crds);
                Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
            })
            .clone()
    }

    /// `/openapi/v2` as an `openapi.v2.Document` protobuf message.
    pub(crate) fn v2_protobuf(&self) -> Bytes {
        self.v2_protobuf
            .get_or_init(|| {
                let doc = kedge_schema::openapi_v2(&self.crds);
                Bytes::from(kedge_schema::openapi_v2_protobuf(&doc))
            })
            .clone()
    }

    /// The `/openapi/v3` index.
    pub(crate) fn v3_index(&self) -> Bytes {
        self.v3_index
            .get_or_init(|| {
                let doc = kedge_schema::openapi_v3_index_for(&self.crds);
                Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
            })
            .clone()
    }

    /// The OpenAPI 3.0 document of one group/version, if served.
    pub(crate) fn v3_group_version(&self, group: &str, version: &str) -> Option<Bytes> {
        let key = (group.to_string(), version.to_string());
        if let Some(cached) = self.v3.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return cached.clone();
        }
        let gv = GroupVersion::new(group, version);
        let bytes = kedge_schema::openapi_v3_group_version(&gv, &self.crds)
            .map(|doc| Bytes::from(serde_json::to_vec(&doc).unwrap_or_default()));
        self.v3
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, bytes.clone());
        bytes
    }
}

/// Whether an `Accept` header asks for the protobuf encoding of `/openapi/v2`.
pub(crate) fn wants_protobuf(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or("").trim();
        media == kedge_schema::OPENAPI_V2_PROTOBUF_ACCEPT
            || media == kedge_schema::OPENAPI_V2_PROTOBUF_CONTENT_TYPE
            || media == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    })
}

/// The documents of the current catalog, reading the stored CRDs the first
/// time the catalog serves one.
pub(crate) async fn documents(api: &crate::server::Api) -> std::sync::Arc<Documents> {
    let catalog = api.catalog();
    if let Some(docs) = catalog.openapi.get() {
        return docs.clone();
    }
    let prefix = catalog
        .resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .map(|info| info.key_prefix())
        .unwrap_or_default();
    let crds = match api
        .store
        .list(kedge_store::ListOptions {
            prefix,
            ..Default::default()
        })
        .await
    {
        Ok(list) => list
            .items
            .iter()
            .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing CRDs for the OpenAPI documents");
            Vec::new()
        }
    };
    catalog
        .openapi
        .get_or_init(|| std::sync::Arc::new(Documents::new(crds)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_accept_is_recognised() {
        assert!(wants_protobuf(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        ));
        assert!(wants_protobuf(
            "application/json;q=0.9, application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        ));
        assert!(!wants_protobuf("application/json, */*"));
    }

    #[test]
    fn group_version_documents_are_cached_and_absent_ones_are_none() {
        let docs = Documents::new(Vec::new());
        let a = docs.v3_group_version("apps", "v1").expect("apps/v1");
        let b = docs.v3_group_version("apps", "v1").expect("apps/v1");
        assert_eq!(a.as_ptr(), b.as_ptr(), "served from the cache");
        assert!(docs.v3_group_version("nothing.example", "v1").is_none());
        let doc: Value = serde_json::from_slice(&a).unwrap();
        let strategy = &doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentStrategy"];
        assert!(
            strategy["description"]
                .as_str()
                .is_some_and(|d| d.contains("replace existing pods")),
            "{strategy}"
        );
    }
}
