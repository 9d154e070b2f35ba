//! Garbage collection and deletion propagation, driven by the store's watch.
//!
//! The collector keeps an in-memory graph of every object's uid and
//! `ownerReferences` (built from one list, then kept current from the watch
//! of `/registry/`). On each event it:
//! - deletes dependents whose owners are all gone (background propagation,
//!   and dependents created with dangling owner references), and drops the
//!   dangling references of dependents that still have a live owner;
//! - for an owner being deleted with the `foregroundDeletion` finalizer,
//!   deletes its dependents (in the foreground too) and removes the
//!   finalizer once no dependent with `blockOwnerDeletion` is left;
//! - for an owner being deleted with the `orphan` finalizer, removes the
//!   owner's references from its dependents, then the finalizer.
//!
//! [`prepare_delete`] turns a DELETE's `propagationPolicy` (or the legacy
//! `orphanDependents`) into those finalizers before the object is marked
//! deleted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::catalog::ResourceInfo;
use crate::object::{self, meta_mut};
use crate::registry::{self, WriteOptions};
use crate::server::Api;
use crate::status::ApiError;

/// The finalizer of foreground deletion.
pub(crate) const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer of orphaning deletion.
pub(crate) const ORPHAN: &str = "orphan";

const MANAGER: &str = "kube-controller-manager";

/// A DELETE's propagation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// Reads the policy from the `DeleteOptions` body or the query.
pub(crate) fn propagation(
    body: &[u8],
    query_policy: Option<&str>,
    query_orphan: Option<&str>,
) -> Propagation {
    let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let policy = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or(query_policy);
    match policy {
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(_) => Propagation::Background,
        None => {
            let orphan = opts
                .get("orphanDependents")
                .and_then(Value::as_bool)
                .or(query_orphan.map(|q| q == "true"));
            if orphan == Some(true) {
                Propagation::Orphan
            } else {
                Propagation::Background
            }
        }
    }
}

/// Adds the finalizer of a foreground or orphan deletion to the live object
/// (before the delete marks it), as the real server does on DELETE.
pub(crate) async fn prepare_delete(
    api: &Api,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    body: &[u8],
    query_policy: Option<&str>,
    query_orphan: Option<&str>,
    dry_run: bool,
) -> Result<(), ApiError> {
    let finalizer = match propagation(body, query_policy, query_orphan) {
        Propagation::Background => return Ok(()),
        Propagation::Foreground => FOREGROUND,
        Propagation::Orphan => ORPHAN,
    };
    if dry_run {
        return Ok(());
    }
    let key = info.key(namespace, name);
    for _ in 0..16 {
        let Some(kv) = api.store.get(&key) else {
            return Ok(());
        };
        let live = registry::decode(&kv)?;
        if object::meta_str(&live, "deletionTimestamp").is_some()
            || object::finalizers(&live).iter().any(|f| f == finalizer)
        {
            return Ok(());
        }
        let mut new = live.clone();
        let m = meta_mut(&mut new);
        let list = m.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(a) = list.as_array_mut() {
            a.retain(|f| f.as_str() != Some(FOREGROUND) && f.as_str() != Some(ORPHAN));
            a.push(json!(finalizer));
        }
        let opts = WriteOptions {
            dry_run: false,
            field_manager: None,
        };
        match registry::commit_update(api, info, &key, &live, &kv, new, &opts).await {
            Ok(_) => return Ok(()),
            Err(kedge_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(crate::status::from_store(e, info, name)),
        }
    }
    Err(ApiError::conflict(info, name))
}

#[derive(Debug, Clone)]
struct OwnerRef {
    uid: String,
    block: bool,
}

#[derive(Debug, Clone)]
struct Node {
    uid: String,
    owners: Vec<OwnerRef>,
    deleting: bool,
}

/// The ownership graph.
#[derive(Debug, Default)]
struct Graph {
    nodes: HashMap<String, Node>,
    by_uid: HashMap<String, String>,
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    fn remove(&mut self, key: &str) {
        if let Some(old) = self.nodes.remove(key) {
            if self.by_uid.get(&old.uid).is_some_and(|k| k == key) {
                self.by_uid.remove(&old.uid);
            }
            for o in &old.owners {
                if let Some(set) = self.dependents.get_mut(&o.uid) {
                    set.remove(key);
                    if set.is_empty() {
                        self.dependents.remove(&o.uid);
                    }
                }
            }
        }
    }

    fn put(&mut self, key: &str, obj: &Value) {
        self.remove(key);
        let uid = object::meta_str(obj, "uid").unwrap_or_default().to_string();
        let owners: Vec<OwnerRef> = obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                Some(OwnerRef {
                    uid: r.get("uid")?.as_str()?.to_string(),
                    block: r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true),
                })
            })
            .collect();
        for o in &owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(key.to_string());
        }
        self.by_uid.insert(uid.clone(), key.to_string());
        let deleting = object::meta_str(obj, "deletionTimestamp").is_some();
        self.nodes.insert(
            key.to_string(),
            Node {
                uid,
                owners,
                deleting,
            },
        );
    }

    fn exists(&self, uid: &str) -> bool {
        self.by_uid.contains_key(uid)
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// Finds the resource, namespace and name of a storage key.
fn locate(api: &Api, key: &str) -> Option<(Arc<ResourceInfo>, Option<String>, String)> {
    let catalog = api.catalog();
    let mut best: Option<Arc<ResourceInfo>> = None;
    for info in catalog.all() {
        if key.starts_with(&info.key_prefix()) {
            let prefer = best.as_ref().is_none_or(|b| {
                b.key_prefix().len() < info.key_prefix().len()
                    || (info.custom.as_ref().is_some_and(|c| c.storage)
                        && b.key_prefix() == info.key_prefix())
            });
            if prefer {
                best = Some(info.clone());
            }
        }
    }
    let info = best?;
    let rest = &key[info.key_prefix().len()..];
    if info.namespaced {
        let (ns, name) = rest.split_once('/')?;
        Some((info, Some(ns.to_string()), name.to_string()))
    } else {
        Some((info, None, rest.to_string()))
    }
}

/// Starts the collector.
pub(crate) fn spawn(api: Arc<Api>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = api.shutdown.clone();
        loop {
            let mut graph = Graph::default();
            let list = match api
                .store
                .list(kedge_store::ListOptions {
                    prefix: "/registry/".into(),
                    ..Default::default()
                })
                .await
            {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collector: list failed; retrying");
                    if backoff(&mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            let mut watcher = match api.store.watch_from("/registry/", list.revision) {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collector: watch failed; retrying");
                    if backoff(&mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            let mut pending: Vec<String> = Vec::new();
            for kv in &list.items {
                if let Ok(obj) = serde_json::from_slice::<Value>(&kv.value) {
                    graph.put(&kv.key, &obj);
                    pending.push(kv.key.clone());
                }
            }
            for key in pending {
                attempt(&api, &graph, &key).await;
            }
            loop {
                let ev = tokio::select! {
                    ev = watcher.next() => ev,
                    _ = shutdown.changed() => return,
                };
                let ev = match ev {
                    Some(Ok(ev)) => ev,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "garbage collector watch; rebuilding");
                        break;
                    }
                    None => return,
                };
                let key = ev.kv.key.clone();
                match ev.kind {
                    kedge_store::EventKind::Put => {
                        let Ok(obj) = serde_json::from_slice::<Value>(&ev.kv.value) else {
                            continue;
                        };
                        graph.put(&key, &obj);
                        attempt(&api, &graph, &key).await;
                        // An owner that changed may unblock foreground deletions above it.
                        let owners: Vec<String> = graph
                            .nodes
                            .get(&key)
                            .map(|n| n.owners.iter().map(|o| o.uid.clone()).collect())
                            .unwrap_or_default();
                        for o in owners {
                            if let Some(k) = graph.by_uid.get(&o).cloned()
                                && graph.nodes.get(&k).is_some_and(|n| n.deleting)
                            {
                                attempt(&api, &graph, &k).await;
                            }
                        }
                    }
                    kedge_store::EventKind::Delete => {
                        let uid = graph.nodes.get(&key).map(|n| n.uid.clone());
                        let owners: Vec<String> = graph
                            .nodes
                            .get(&key)
                            .map(|n| n.owners.iter().map(|o| o.uid.clone()).collect())
                            .unwrap_or_default();
                        graph.remove(&key);
                        if let Some(uid) = uid {
                            for dep in graph.dependents_of(&uid) {
                                attempt(&api, &graph, &dep).await;
                            }
                        }
                        for o in owners {
                            if let Some(k) = graph.by_uid.get(&o).cloned()
                                && graph.nodes.get(&k).is_some_and(|n| n.deleting)
                            {
                                attempt(&api, &graph, &k).await;
                            }
                        }
                    }
                }
            }
        }
    })
}

/// Everything the collector may have to do about one object.
async fn attempt(api: &Api, graph: &Graph, key: &str) {
    let Some(node) = graph.nodes.get(key) else {
        return;
    };
    let Some(kv) = api.store.get(key) else { return };
    let Ok(obj) = registry::decode(&kv) else {
        return;
    };
    if object::meta_str(&obj, "uid") != Some(node.uid.as_str()) {
        return;
    }
    let finalizers = object::finalizers(&obj);
    if node.deleting && finalizers.iter().any(|f| f == ORPHAN) {
        orphan(api, graph, &node.uid).await;
        remove_finalizer(api, key, ORPHAN).await;
        return;
    }
    if node.deleting && finalizers.iter().any(|f| f == FOREGROUND) {
        let deps = graph.dependents_of(&node.uid);
        let mut blocking = 0;
        for dep in &deps {
            let Some(d) = graph.nodes.get(dep) else {
                continue;
            };
            if d.owners.iter().any(|o| o.uid == node.uid && o.block) {
                blocking += 1;
            }
            if !d.deleting {
                delete_object(api, dep, &d.uid, graph.dependents.contains_key(&d.uid)).await;
            }
        }
        if blocking == 0 {
            remove_finalizer(api, key, FOREGROUND).await;
        }
        return;
    }
    if node.owners.is_empty() || node.deleting {
        return;
    }
    let dangling: Vec<&OwnerRef> = node
        .owners
        .iter()
        .filter(|o| !graph.exists(&o.uid))
        .collect();
    if dangling.is_empty() {
        return;
    }
    if dangling.len() == node.owners.len() {
        // With a foreground-deleting owner gone, the dependent goes too.
        delete_object(api, key, &node.uid, false).await;
    } else {
        let gone: HashSet<String> = dangling.iter().map(|o| o.uid.clone()).collect();
        drop_owner_refs(api, key, &gone).await;
    }
}

async fn orphan(api: &Api, graph: &Graph, owner_uid: &str) {
    let gone: HashSet<String> = [owner_uid.to_string()].into();
    for dep in graph.dependents_of(owner_uid) {
        drop_owner_refs(api, &dep, &gone).await;
    }
}

async fn delete_object(api: &Api, key: &str, uid: &str, foreground: bool) {
    let Some((info, ns, name)) = locate(api, key) else {
        return;
    };
    if foreground {
        let _ = prepare_delete(
            api,
            &info,
            ns.as_deref(),
            &name,
            br#"{"propagationPolicy":"Foreground"}"#,
            None,
            None,
            false,
        )
        .await;
    }
    match registry::delete(
        api,
        &info,
        ns.as_deref(),
        &name,
        (Some(uid.to_string()), None),
        false,
    )
    .await
    {
        Ok(_) => {}
        Err(e) if e.code == 404 || e.code == 409 => {}
        Err(e) => tracing::warn!(error = %e, %key, "garbage collector: delete failed"),
    }
}

async fn update(api: &Api, key: &str, change: impl Fn(&mut Value) -> bool) {
    let Some((info, _, _)) = locate(api, key) else {
        return;
    };
    for _ in 0..16 {
        let Some(kv) = api.store.get(key) else { return };
        let Ok(live) = registry::decode(&kv) else {
            return;
        };
        let mut new = live.clone();
        if !change(&mut new) {
            return;
        }
        let opts = WriteOptions {
            dry_run: false,
            field_manager: Some(MANAGER.into()),
        };
        match registry::commit_update(api, &info, key, &live, &kv, new, &opts).await {
            Ok(_) => return,
            Err(kedge_store::StoreError::Conflict { .. }) => continue,
            Err(e) => {
                tracing::warn!(error = %e, %key, "garbage collector: update failed");
                return;
            }
        }
    }
}

async fn remove_finalizer(api: &Api, key: &str, finalizer: &str) {
    update(api, key, |obj| {
        let m = meta_mut(obj);
        let Some(Value::Array(list)) = m.get_mut("finalizers") else {
            return false;
        };
        let before = list.len();
        list.retain(|f| f.as_str() != Some(finalizer));
        let changed = list.len() != before;
        if list.is_empty() {
            m.remove("finalizers");
        }
        changed
    })
    .await;
}

async fn drop_owner_refs(api: &Api, key: &str, gone: &HashSet<String>) {
    update(api, key, |obj| {
        let m = meta_mut(obj);
        let Some(Value::Array(refs)) = m.get_mut("ownerReferences") else {
            return false;
        };
        let before = refs.len();
        refs.retain(|r| {
            r.get("uid")
                .and_then(Value::as_str)
                .is_none_or(|u| !gone.contains(u))
        });
        let changed = refs.len() != before;
        if refs.is_empty() {
            m.remove("ownerReferences");
        }
        changed
    })
    .await;
}

/// Waits a second before a retry after a store error; true on shutdown.
async fn backoff(shutdown: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_from_body_or_query() {
        assert_eq!(
            propagation(br#"{"propagationPolicy":"Foreground"}"#, None, None),
            Propagation::Foreground
        );
        assert_eq!(propagation(b"", Some("Orphan"), None), Propagation::Orphan);
        assert_eq!(
            propagation(br#"{"orphanDependents":true}"#, None, None),
            Propagation::Orphan
        );
        assert_eq!(propagation(b"{}", None, None), Propagation::Background);
    }

    #[test]
    fn graph_tracks_dependents() {
        let mut g = Graph::default();
        g.put("/a", &json!({"metadata": {"uid": "1"}}));
        g.put("/b", &json!({"metadata": {"uid": "2", "ownerReferences": [{"uid": "1", "blockOwnerDeletion": true}]}}));
        assert_eq!(g.dependents_of("1"), vec!["/b".to_string()]);
        g.put("/b", &json!({"metadata": {"uid": "2"}}));
        assert!(g.dependents_of("1").is_empty());
        g.remove("/a");
        assert!(!g.exists("1"));
    }
}
