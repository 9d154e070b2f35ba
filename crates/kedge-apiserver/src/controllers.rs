//! The built-in controllers a node-less cluster still needs:
//! - bootstrap of a fresh cluster: the `default`, `kube-system`,
//!   `kube-public` and `kube-node-lease` namespaces and the `kubernetes`
//!   Service;
//! - per namespace, the `default` ServiceAccount and the `kube-root-ca.crt`
//!   ConfigMap;
//! - namespace termination: a namespace with a deletionTimestamp is emptied
//!   (objects with finalizers get a deletionTimestamp and are waited for),
//!   then removed.
//!
//! The controller reacts to namespace events and to explicit wake-ups from
//! the handlers, and re-checks terminating namespaces twice a second.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::object;
use crate::registry::{self, WriteOptions};
use crate::server::Api;
use crate::status::ApiError;

const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

async fn ensure(
    api: &Api,
    group: &str,
    plural: &str,
    namespace: Option<&str>,
    obj: Value,
) -> Result<(), ApiError> {
    let catalog = api.catalog();
    let Some(info) = catalog.resource(group, "v1", plural) else {
        return Ok(());
    };
    if api
        .store
        .get(&info.key(namespace, object::name(&obj)))
        .is_some()
    {
        return Ok(());
    }
    let opts = WriteOptions {
        dry_run: false,
        field_manager: Some("kube-controller-manager".into()),
    };
    match registry::create(api, &info, namespace, obj, &opts).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 || e.code == 403 || e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates what a fresh cluster has.
pub(crate) async fn bootstrap(api: &Arc<Api>) -> Result<(), ApiError> {
    for ns in SYSTEM_NAMESPACES {
        ensure(
            api,
            "",
            "namespaces",
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await?;
    }
    ensure(
        api,
        "",
        "services",
        Some("default"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.1",
                "clusterIPs": ["10.96.0.1"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "None",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            },
        }),
    )
    .await?;
    for ns in SYSTEM_NAMESPACES {
        namespace_defaults(api, ns).await?;
    }
    Ok(())
}

async fn namespace_defaults(api: &Api, ns: &str) -> Result<(), ApiError> {
    ensure(
        api,
        "",
        "serviceaccounts",
        Some(ns),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}),
    )
    .await?;
    ensure(
        api,
        "",
        "configmaps",
        Some(ns),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": api.ca_pem},
        }),
    )
    .await
}

/// Runs the namespace controller until the server stops.
pub(crate) fn spawn(api: Arc<Api>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let catalog = api.catalog();
        let Some(ns_info) = catalog.resource("", "v1", "namespaces") else {
            return;
        };
        let prefix = ns_info.key_prefix();
        let mut shutdown = api.shutdown.clone();
        loop {
            let mut watcher = match api.store.watch_from(&prefix, api.store.current_revision()) {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "namespace controller: watch failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let terminating = match reconcile(&api, &prefix).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "namespace controller");
                    true
                }
            };
            let tick = if terminating {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(30)
            };
            tokio::select! {
                _ = watcher.next() => {}
                _ = api.namespace_wakeup.notified() => {}
                _ = tokio::time::sleep(tick) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

/// One pass over all namespaces; returns whether any is terminating.
async fn reconcile(api: &Api, prefix: &str) -> Result<bool, ApiError> {
    let list = api
        .store
        .list(kedge_store::ListOptions {
            prefix: prefix.to_string(),
            ..Default::default()
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut terminating = false;
    for kv in list.items {
        let ns = registry::decode(&kv)?;
        let name = object::name(&ns).to_string();
        if object::meta_str(&ns, "deletionTimestamp").is_some() {
            terminating = true;
            terminate(api, &kv, &ns, &name).await?;
        } else {
            namespace_defaults(api, &name).await?;
        }
    }
    Ok(terminating)
}

/// Empties a terminating namespace; removes it once nothing is left.
async fn terminate(
    api: &Api,
    kv: &Arc<kedge_store::KeyValue>,
    ns: &Value,
    name: &str,
) -> Result<(), ApiError> {
    let catalog = api.catalog();
    let mut prefixes: Vec<String> = catalog
        .all()
        .filter(|r| r.namespaced)
        .map(|r| r.list_prefix(Some(name)))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let mut remaining = 0usize;
    for prefix in prefixes {
        let list = api
            .store
            .list(kedge_store::ListOptions {
                prefix,
                ..Default::default()
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        if list.items.is_empty() {
            continue;
        }
        remaining += list.items.len();
        let mut items = Vec::new();
        for kv in list.items {
            let obj = registry::decode(&kv)?;
            items.push((kv, obj));
        }
        let ops = registry::delete_ops(&items);
        if !ops.is_empty() {
            // A conflict means someone wrote meanwhile: the next pass retries.
            let _ = api.store.txn(ops).await;
        }
    }
    if remaining > 0 {
        return Ok(());
    }
    // Content is gone: drop the `kubernetes` finalizer and the namespace.
    if !object::finalizers(ns).is_empty() {
        let spec_finalizers = ns
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if spec_finalizers > 0 {
            let mut new = ns.clone();
            new["spec"]["finalizers"] = json!([]);
            let _ = api
                .store
                .update(&kv.key, kv.mod_revision, registry::encoder(new))
                .await;
        }
        return Ok(());
    }
    let mut tombstone = ns.clone();
    tombstone["spec"]["finalizers"] = json!([]);
    let _ = api
        .store
        .delete(&kv.key, Some(kv.mod_revision), registry::encoder(tombstone))
        .await;
    Ok(())
}
