//! Watch-driven self-heal: watches of the live objects Applications manage.
//!
//! [`LiveIndex`] maps every managed object, by (group, kind, namespace,
//! name), to the Application that manages it. It is rebuilt per application
//! after each reconcile from the desired set and the inventory, and it
//! counts the (apiVersion, kind) pairs in use. The watch manager
//! ([`run_watches`]) keeps exactly one kube-runtime watcher per pair in use,
//! starting and stopping them as the set changes.
//!
//! Each watcher remembers the `resourceVersion` it last saw per object and
//! enqueues the owning Application (debounced through the work queue's
//! delayed add, so a burst of events costs one reconcile) whenever an owned
//! object changes in any way, status included (health moves from
//! Progressing to Healthy without a spec change), is created or deleted.
//! After a (re)list, objects whose version differs from the last one seen,
//! or that disappeared during the gap, enqueue their owners too, so nothing
//! is missed across watch restarts; on a watcher's first list that is every
//! owned object of the kind, which also covers changes made between a
//! reconcile and the start of the watch.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kedge_sync::ResourceKey;
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::Notify;
use tracing::{debug, warn};

use crate::metrics::Metrics;
use crate::queue::WorkQueue;

/// `(apiVersion, kind)` of a watched kind.
pub(crate) type Gvk = (String, String);

#[derive(Default)]
struct Inner {
    by_app: HashMap<String, Vec<(String, ResourceKey)>>,
    owners: HashMap<ResourceKey, String>,
    kinds: HashMap<Gvk, usize>,
}

/// Managed object → owning Application, and the kinds in use.
#[derive(Default)]
pub(crate) struct LiveIndex {
    inner: Mutex<Inner>,
    /// Signalled when the set of kinds changes.
    pub(crate) changed: Notify,
}

impl LiveIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces what `app` manages.
    pub(crate) fn set_app(&self, app: &str, entries: Vec<(String, ResourceKey)>) {
        let mut inner = self.lock();
        let mut kinds_changed = false;
        if let Some(old) = inner.by_app.remove(app) {
            kinds_changed |= remove_entries(&mut inner, app, &old);
        }
        let mut unique: Vec<(String, ResourceKey)> = Vec::with_capacity(entries.len());
        let mut seen = HashSet::new();
        for (api_version, key) in entries {
            if seen.insert(key.clone()) {
                unique.push((api_version, key));
            }
        }
        for (api_version, key) in &unique {
            inner.owners.insert(key.clone(), app.to_string());
            let n = inner
                .kinds
                .entry((api_version.clone(), key.kind.clone()))
                .or_insert(0);
            kinds_changed |= *n == 0;
            *n += 1;
        }
        inner.by_app.insert(app.to_string(), unique);
        drop(inner);
        if kinds_changed {
            self.changed.notify_one();
        }
    }

    /// Forgets `app`.
    pub(crate) fn remove_app(&self, app: &str) {
        let mut inner = self.lock();
        if let Some(old) = inner.by_app.remove(app)
            && remove_entries(&mut inner, app, &old)
        {
            drop(inner);
            self.changed.notify_one();
        }
    }

    /// The application managing `key`.
    pub(crate) fn owner(&self, key: &ResourceKey) -> Option<String> {
        self.lock().owners.get(key).cloned()
    }

    /// The kinds in use.
    pub(crate) fn kinds(&self) -> Vec<Gvk> {
        self.lock().kinds.keys().cloned().collect()
    }
}

fn remove_entries(inner: &mut Inner, app: &str, old: &[(String, ResourceKey)]) -> bool {
    let mut kinds_changed = false;
    for (api_version, key) in old {
        if inner.owners.get(key).map(String::as_str) == Some(app) {
            inner.owners.remove(key);
        }
        let gvk = (api_version.clone(), key.kind.clone());
        if let Some(n) = inner.kinds.get_mut(&gvk) {
            *n -= 1;
            if *n == 0 {
                inner.kinds.remove(&gvk);
                kinds_changed = true;
            }
        }
    }
    kinds_changed
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a watcher needs to enqueue owners.
#[derive(Clone)]
pub(crate) struct WatchContext {
    pub(crate) client: kube::Client,
    pub(crate) index: Arc<LiveIndex>,
    pub(crate) queue: Arc<WorkQueue<String>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) debounce: Duration,
}

/// Keeps one watcher per kind in use until the future is dropped.
pub(crate) async fn run_watches(ctx: WatchContext) {
    let mut tasks: HashMap<Gvk, AbortOnDrop> = HashMap::new();
    loop {
        let changed = ctx.index.changed.notified();
        let wanted: HashSet<Gvk> = ctx.index.kinds().into_iter().collect();
        tasks.retain(|k, _| wanted.contains(k));
        let mut unresolved = false;
        for gvk in wanted {
            if tasks.contains_key(&gvk) {
                continue;
            }
            let (api_version, kind) = &gvk;
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            let target = GroupVersionKind::gvk(group, version, kind);
            match kube::discovery::pinned_kind(&ctx.client, &target).await {
                Ok((ar, _)) => {
                    debug!(api_version = %api_version, kind = %kind, "watching managed kind");
                    let ctx2 = ctx.clone();
                    let handle = tokio::spawn(watch_kind(ctx2, ar));
                    tasks.insert(gvk.clone(), AbortOnDrop(handle));
                }
                Err(e) => {
                    // A CRD not served yet: try again shortly.
                    debug!(api_version = %api_version, kind = %kind, error = %e, "kind not served");
                    unresolved = true;
                }
            }
        }
        ctx.metrics.live_watches.set(tasks.len() as i64);
        if unresolved {
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        } else {
            changed.await;
        }
    }
}

fn key_of(ar: &kube::discovery::ApiResource, obj: &DynamicObject) -> ResourceKey {
    ResourceKey {
        group: ar.group.clone(),
        kind: ar.kind.clone(),
        namespace: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
    }
}

async fn watch_kind(ctx: WatchContext, ar: kube::discovery::ApiResource) {
    let api: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &ar);
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut versions: HashMap<ResourceKey, String> = HashMap::new();
    let mut listed: HashSet<ResourceKey> = HashSet::new();
    let mut changed: Vec<ResourceKey> = Vec::new();
    let enqueue = |key: &ResourceKey| {
        if let Some(app) = ctx.index.owner(key) {
            debug!(app = %app, kind = %key.kind, name = %key.name, "managed object changed");
            ctx.queue.add_after(app, ctx.debounce);
        }
    };
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(watcher::Event::Apply(obj)) => {
                let key = key_of(&ar, &obj);
                let rv = obj.metadata.resource_version.clone().unwrap_or_default();
                if versions.insert(key.clone(), rv.clone()).as_ref() != Some(&rv) {
                    enqueue(&key);
                }
            }
            Ok(watcher::Event::Delete(obj)) => {
                let key = key_of(&ar, &obj);
                versions.remove(&key);
                enqueue(&key);
            }
            Ok(watcher::Event::Init) => {
                listed.clear();
                changed.clear();
            }
            Ok(watcher::Event::InitApply(obj)) => {
                let key = key_of(&ar, &obj);
                let rv = obj.metadata.resource_version.clone().unwrap_or_default();
                listed.insert(key.clone());
                if versions.insert(key.clone(), rv.clone()).as_ref() != Some(&rv) {
                    changed.push(key);
                }
            }
            Ok(watcher::Event::InitDone) => {
                for key in changed.drain(..) {
                    enqueue(&key);
                }
                let gone: Vec<ResourceKey> = versions
                    .keys()
                    .filter(|k| !listed.contains(*k))
                    .cloned()
                    .collect();
                for key in gone {
                    versions.remove(&key);
                    enqueue(&key);
                }
                listed.clear();
            }
            Err(e) => warn!(kind = %ar.kind, error = %e, "live object watch"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &str, name: &str) -> ResourceKey {
        ResourceKey {
            group: String::new(),
            kind: kind.into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    #[test]
    fn index_tracks_owners_and_kinds() {
        let idx = LiveIndex::default();
        idx.set_app(
            "a",
            vec![
                ("v1".into(), key("ConfigMap", "x")),
                ("v1".into(), key("ConfigMap", "x")),
                ("v1".into(), key("Service", "y")),
            ],
        );
        idx.set_app("b", vec![("v1".into(), key("ConfigMap", "z"))]);
        assert_eq!(idx.owner(&key("ConfigMap", "x")).as_deref(), Some("a"));
        assert_eq!(idx.owner(&key("ConfigMap", "z")).as_deref(), Some("b"));
        let mut kinds = idx.kinds();
        kinds.sort();
        assert_eq!(
            kinds,
            vec![
                ("v1".to_string(), "ConfigMap".to_string()),
                ("v1".to_string(), "Service".to_string())
            ]
        );
        // a drops its Service: the kind is no longer watched.
        idx.set_app("a", vec![("v1".into(), key("ConfigMap", "x"))]);
        assert_eq!(idx.kinds().len(), 1);
        assert_eq!(idx.owner(&key("Service", "y")), None);
        idx.remove_app("a");
        assert_eq!(idx.owner(&key("ConfigMap", "x")), None);
        assert_eq!(idx.kinds().len(), 1, "b still manages a ConfigMap");
        idx.remove_app("b");
        assert!(idx.kinds().is_empty());
    }
}
