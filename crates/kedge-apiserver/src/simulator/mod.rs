//! The workload simulator: what kwok does for a cluster without nodes. It
//! plays the controllers whose status clients wait for, reacting to the
//! store's watch (never polling) and writing through the status subresource
//! pipeline with its own field manager, `kedge-simulator`:
//! - Deployment → a ReplicaSet per pod template (named with the
//!   `pod-template-hash`, owned by the Deployment, older ones scaled to 0),
//!   revision annotations, and Deployment status with Available/Progressing;
//! - ReplicaSet, StatefulSet, DaemonSet (one virtual node) → ready replicas;
//! - Job → `succeeded` with SuccessCriteriaMet/Complete;
//! - PersistentVolumeClaim → a PersistentVolume `pvc-<uid>` provisioned
//!   for it (deleted with the claim), both Bound;
//! - LoadBalancer Service → ingress `127.0.0.1`.
//!
//! The annotation `kedge.dev/simulate` changes the outcome: `fail` makes a
//! Deployment exceed its progress deadline and a Job fail with
//! BackoffLimitExceeded; `progressing` keeps workloads unready (Jobs
//! active) forever. Status conditions keep their transition times while
//! they do not change, so a reconcile that changes nothing writes nothing.

mod status;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::catalog::ResourceInfo;
use crate::object::{self, meta_mut};
use crate::registry::{self, UpdateScope, WriteOptions};
use crate::server::Api;

/// The field manager of every simulator write.
pub(crate) const MANAGER: &str = "kedge-simulator";
/// The annotation that steers the outcome.
pub(crate) const ANNOTATION: &str = "kedge.dev/simulate";

/// What the annotation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeed,
    Fail,
    Progressing,
}

pub(crate) fn outcome(obj: &Value) -> Outcome {
    match obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION))
        .and_then(Value::as_str)
    {
        Some("fail") => Outcome::Fail,
        Some("progressing") => Outcome::Progressing,
        _ => Outcome::Succeed,
    }
}

const WATCHED: &[(&str, &str)] = &[
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("", "persistentvolumeclaims"),
    ("", "services"),
];

fn info_for(api: &Api, group: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
    api.catalog().resource(group, "v1", plural)
}

fn kind_of_key(key: &str) -> Option<(&'static str, &'static str)> {
    WATCHED.iter().copied().find(|(g, p)| {
        let group = if g.is_empty() { "core" } else { g };
        key.starts_with(&format!("/registry/{group}/{p}/"))
    })
}

/// Starts the simulator.
pub(crate) fn spawn(api: Arc<Api>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = api.shutdown.clone();
        loop {
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
                    tracing::warn!(error = %e, "simulator: list failed; retrying");
                    if backoff(&mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            let mut watcher = match api.store.watch_from("/registry/", list.revision) {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "simulator: watch failed; retrying");
                    if backoff(&mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            for kv in &list.items {
                if let Some(kind) = kind_of_key(&kv.key) {
                    reconcile(&api, kind, &kv.key).await;
                }
            }
            loop {
                let ev = tokio::select! {
                    ev = watcher.next() => ev,
                    _ = shutdown.changed() => return,
                };
                match ev {
                    Some(Ok(ev)) => {
                        if ev.kind != kedge_store::EventKind::Put {
                            if ev
                                .kv
                                .key
                                .starts_with("/registry/core/persistentvolumeclaims/")
                            {
                                release_volume(&api, &ev.kv.value).await;
                            }
                            owner_deployment(&api, &ev.kv.key, &ev.kv.value).await;
                            continue;
                        }
                        if let Some(kind) = kind_of_key(&ev.kv.key) {
                            reconcile(&api, kind, &ev.kv.key).await;
                        }
                        owner_deployment(&api, &ev.kv.key, &ev.kv.value).await;
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "simulator watch; restarting");
                        break;
                    }
                    None => return,
                }
            }
        }
    })
}

async fn reconcile(api: &Api, kind: (&str, &str), key: &str) {
    let Some(info) = info_for(api, kind.0, kind.1) else {
        return;
    };
    let Some(kv) = api.store.get(key) else { return };
    let Ok(obj) = registry::decode(&kv) else {
        return;
    };
    if object::meta_str(&obj, "deletionTimestamp").is_some() {
        return;
    }
    let result = match kind {
        ("apps", "deployments") => deployment(api, &info, key, &obj).await,
        ("apps", "replicasets") => write_status(api, &info, key, status::replica_set).await,
        ("apps", "statefulsets") => write_status(api, &info, key, status::stateful_set).await,
        ("apps", "daemonsets") => write_status(api, &info, key, status::daemon_set).await,
        ("batch", "jobs") => write_status(api, &info, key, status::job).await,
        ("", "persistentvolumeclaims") => bind_claim(api, &info, key, &obj).await,
        ("", "services") => write_status(api, &info, key, status::service).await,
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, %key, "simulator");
    }
}

/// Replaces the status computed from the live object, when it changes.
async fn write_status(
    api: &Api,
    info: &ResourceInfo,
    key: &str,
    compute: fn(&Value) -> Option<Value>,
) -> Result<(), String> {
    write_status_with(api, info, key, compute).await
}

/// Writes the main object (metadata/spec) when `change` alters it.
async fn write_main(
    api: &Api,
    info: &ResourceInfo,
    key: &str,
    change: impl Fn(&mut Value),
) -> Result<Option<Value>, String> {
    for _ in 0..16 {
        let Some(kv) = api.store.get(key) else {
            return Ok(None);
        };
        let old = registry::decode(&kv).map_err(|e| e.to_string())?;
        let mut new = old.clone();
        change(&mut new);
        if new == old {
            return Ok(Some(old));
        }
        let new = registry::prepare_update(info, &old, new, UpdateScope::Main)
            .map_err(|e| e.to_string())?;
        let opts = WriteOptions {
            dry_run: false,
            field_manager: Some(MANAGER.into()),
        };
        match registry::commit_update(api, info, key, &old, &kv, new, &opts).await {
            Ok(w) => return Ok(serde_json::from_slice(&w.bytes).ok()),
            Err(kedge_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("too many conflicts".into())
}

/// Writes `v` with sorted keys and without nulls, so that equal templates
/// hash alike whatever client encoded them (Go clients add
/// `creationTimestamp: null` and use struct field order).
fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k)
                .collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(serde_json::to_string(k).unwrap_or_default().as_bytes());
                out.push(b':');
                canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out);
            }
            out.push(b']');
        }
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

/// `rand.SafeEncodeString` of the FNV-32a hash of the pod template (in a
/// canonical encoding; the `pod-template-hash` label itself is left out).
pub(crate) fn pod_template_hash(template: &Value) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    let mut bytes = Vec::new();
    canonical(&t, &mut bytes);
    let mut h: u32 = 0x811c9dc5;
    for b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    h.to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

fn owned_by(obj: &Value, uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
        })
}

fn revision_of(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `maxSurge` resolved against the replica count (rounding up).
fn max_surge(deploy: &Value, replicas: i64) -> i64 {
    let v = deploy
        .pointer("/spec/strategy/rollingUpdate/maxSurge")
        .cloned()
        .unwrap_or(json!("25%"));
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => (replicas * p + 99) / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

async fn deployment(
    api: &Api,
    info: &ResourceInfo,
    key: &str,
    deploy: &Value,
) -> Result<(), String> {
    if deploy.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let Some(rs_info) = info_for(api, "apps", "replicasets") else {
        return Ok(());
    };
    let ns = object::namespace(deploy).unwrap_or("default").to_string();
    let name = object::name(deploy).to_string();
    let uid = object::meta_str(deploy, "uid")
        .unwrap_or_default()
        .to_string();
    let template = deploy
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let hash = pod_template_hash(&template);
    let replicas = deploy
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let rs_name = format!("{name}-{hash}");

    let list = api
        .store
        .list(kedge_store::ListOptions {
            prefix: rs_info.list_prefix(Some(&ns)),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let owned: Vec<Value> = list
        .items
        .iter()
        .filter_map(|kv| registry::decode(kv).ok())
        .filter(|rs| owned_by(rs, &uid))
        .collect();
    let max_rev = owned.iter().map(revision_of).max().unwrap_or(0);
    let current = owned.iter().find(|rs| object::name(rs) == rs_name);
    let revision = match current {
        Some(rs) if revision_of(rs) == max_rev && max_rev > 0 => max_rev,
        _ => max_rev + 1,
    };
    let annotations = |rs: &mut Value, replicas: i64, revision: i64| {
        let m = meta_mut(rs);
        let a = m.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = a.as_object_mut() {
            a.insert(
                "deployment.kubernetes.io/desired-replicas".into(),
                json!(replicas.to_string()),
            );
            a.insert(
                "deployment.kubernetes.io/max-replicas".into(),
                json!((replicas + max_surge(deploy, replicas)).to_string()),
            );
            a.insert(
                "deployment.kubernetes.io/revision".into(),
                json!(revision.to_string()),
            );
            match deploy
                .pointer("/metadata/annotations")
                .and_then(|d| d.get(ANNOTATION))
            {
                Some(v) => {
                    a.insert(ANNOTATION.into(), v.clone());
                }
                None => {
                    a.remove(ANNOTATION);
                }
            }
        }
    };
    let rs_key = rs_info.key(Some(&ns), &rs_name);
    if current.is_none() {
        let mut labels: Map<String, Value> = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        labels.insert("pod-template-hash".into(), json!(hash));
        let mut selector = deploy
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or(json!({}));
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let mut rs_template = template.clone();
        rs_template["metadata"]["labels"] = Value::Object(labels.clone());
        let mut rs = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": ns,
                "labels": labels,
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                    "uid": uid,
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
        });
        if let Some(m) = deploy.pointer("/spec/minReadySeconds") {
            rs["spec"]["minReadySeconds"] = m.clone();
        }
        annotations(&mut rs, replicas, revision);
        let opts = WriteOptions {
            dry_run: false,
            field_manager: Some(MANAGER.into()),
        };
        match registry::create(api, &rs_info, Some(&ns), rs, &opts).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e.to_string()),
        }
    } else {
        write_main(api, &rs_info, &rs_key, |rs| {
            rs["spec"]["replicas"] = json!(replicas);
            annotations(rs, replicas, revision);
        })
        .await?;
    }
    for old in owned.iter().filter(|rs| object::name(rs) != rs_name) {
        if old.pointer("/spec/replicas").and_then(Value::as_i64) != Some(0) {
            let k = rs_info.key(Some(&ns), object::name(old));
            write_main(api, &rs_info, &k, |rs| rs["spec"]["replicas"] = json!(0)).await?;
        }
    }
    // The revision annotation on the Deployment.
    if write_main(api, info, key, |d| {
        let m = meta_mut(d);
        let a = m.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = a.as_object_mut() {
            a.insert(
                "deployment.kubernetes.io/revision".into(),
                json!(revision.to_string()),
            );
        }
    })
    .await?
    .is_none()
    {
        return Ok(());
    }
    let rs_name_for_status = rs_name.clone();
    write_status_with(api, info, key, move |d| {
        status::deployment(d, &rs_name_for_status)
    })
    .await
}

async fn write_status_with(
    api: &Api,
    info: &ResourceInfo,
    key: &str,
    compute: impl Fn(&Value) -> Option<Value>,
) -> Result<(), String> {
    for _ in 0..16 {
        let Some(kv) = api.store.get(key) else {
            return Ok(());
        };
        let old = registry::decode(&kv).map_err(|e| e.to_string())?;
        if object::meta_str(&old, "deletionTimestamp").is_some() {
            return Ok(());
        }
        let Some(status) = compute(&old) else {
            return Ok(());
        };
        if old.get("status") == Some(&status) {
            return Ok(());
        }
        let mut new = old.clone();
        new["status"] = status;
        let scope = if info.has_status() {
            UpdateScope::Status
        } else {
            UpdateScope::Main
        };
        let new = registry::prepare_update(info, &old, new, scope).map_err(|e| e.to_string())?;
        let opts = WriteOptions {
            dry_run: false,
            field_manager: Some(MANAGER.into()),
        };
        match registry::commit_update(api, info, key, &old, &kv, new, &opts).await {
            Ok(_) => return Ok(()),
            Err(kedge_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("too many conflicts".into())
}

/// A change to a ReplicaSet (including its deletion) re-runs its owning
/// Deployment, which recreates or rescales it as the controller would.
async fn owner_deployment(api: &Api, key: &str, value: &[u8]) {
    if !key.starts_with("/registry/apps/replicasets/") {
        return;
    }
    let Ok(rs) = serde_json::from_slice::<Value>(value) else {
        return;
    };
    let Some(owner) = rs
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        })
    else {
        return;
    };
    if owner.get("kind").and_then(Value::as_str) != Some("Deployment") {
        return;
    }
    let (Some(name), Some(ns)) = (
        owner.get("name").and_then(Value::as_str),
        object::namespace(&rs),
    ) else {
        return;
    };
    let Some(info) = info_for(api, "apps", "deployments") else {
        return;
    };
    let key = info.key(Some(ns), name);
    let Some(kv) = api.store.get(&key) else {
        return;
    };
    if registry::decode(&kv)
        .ok()
        .and_then(|d| object::meta_str(&d, "uid").map(String::from))
        .as_deref()
        != owner.get("uid").and_then(Value::as_str)
    {
        return;
    }
    reconcile(api, ("apps", "deployments"), &key).await;
}

/// The annotation marking volumes the simulator provisioned.
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";

/// Provisions and binds a volume for a claim, like a dynamic provisioner
/// and the PV controller: the PersistentVolume `pvc-<uid>` with the claim's
/// size and access modes, `spec.volumeName` and the bind annotations on the
/// claim, and both statuses Bound.
async fn bind_claim(
    api: &Api,
    info: &ResourceInfo,
    key: &str,
    claim: &Value,
) -> Result<(), String> {
    if outcome(claim) != Outcome::Succeed {
        return write_status(api, info, key, status::pvc).await;
    }
    let Some(pv_info) = info_for(api, "", "persistentvolumes") else {
        return Ok(());
    };
    let uid = object::meta_str(claim, "uid")
        .unwrap_or_default()
        .to_string();
    let pv_name = match claim.pointer("/spec/volumeName").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("pvc-{uid}"),
    };
    let pv_key = pv_info.key(None, &pv_name);
    if api.store.get(&pv_key).is_none() && claim.pointer("/spec/volumeName").is_none() {
        let mut spec = json!({
            "accessModes": claim.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "capacity": {"storage": claim.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"))},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": object::name(claim),
                "namespace": object::namespace(claim).unwrap_or("default"),
                "uid": uid,
            },
            "hostPath": {"path": format!("/var/lib/kedge/volumes/{pv_name}")},
            "persistentVolumeReclaimPolicy": "Delete",
            "volumeMode": claim.pointer("/spec/volumeMode").cloned().unwrap_or(json!("Filesystem")),
        });
        if let Some(sc) = claim.pointer("/spec/storageClassName") {
            spec["storageClassName"] = sc.clone();
        }
        let pv = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {PROVISIONED_BY: MANAGER}},
            "spec": spec,
        });
        let opts = WriteOptions {
            dry_run: false,
            field_manager: Some(MANAGER.into()),
        };
        match registry::create(api, &pv_info, None, pv, &opts).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if api.store.get(&pv_key).is_some() {
        write_status_with(api, &pv_info, &pv_key, |_| Some(json!({"phase": "Bound"}))).await?;
    }
    let name = pv_name.clone();
    write_main(api, info, key, move |c| {
        if c.pointer("/spec/volumeName").is_none() {
            c["spec"]["volumeName"] = json!(name);
        }
        let m = meta_mut(c);
        let a = m.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = a.as_object_mut() {
            a.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
            a.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
        }
    })
    .await?;
    write_status(api, info, key, status::pvc).await
}

/// Deletes the volume provisioned for a deleted claim (reclaim policy Delete).
async fn release_volume(api: &Api, tombstone: &[u8]) {
    let Ok(claim) = serde_json::from_slice::<Value>(tombstone) else {
        return;
    };
    let Some(uid) = object::meta_str(&claim, "uid") else {
        return;
    };
    let Some(pv_info) = info_for(api, "", "persistentvolumes") else {
        return;
    };
    let name = format!("pvc-{uid}");
    let Some(kv) = api.store.get(&pv_info.key(None, &name)) else {
        return;
    };
    let Ok(pv) = registry::decode(&kv) else {
        return;
    };
    let ours = pv
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(PROVISIONED_BY))
        .and_then(Value::as_str)
        == Some(MANAGER);
    let delete = pv
        .pointer("/spec/persistentVolumeReclaimPolicy")
        .and_then(Value::as_str)
        == Some("Delete");
    if ours && delete {
        let _ = registry::delete(
            api,
            &pv_info,
            None,
            &name,
            (object::meta_str(&pv, "uid").map(String::from), None),
            false,
        )
        .await;
    }
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
    fn template_hash_is_stable_and_safe() {
        let t = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let h = pod_template_hash(&t);
        assert_eq!(h, pod_template_hash(&t.clone()));
        assert!(
            h.bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
        );
        let mut t2 = t.clone();
        t2["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert_ne!(h, pod_template_hash(&t2));
        let go = json!({"spec": {"containers": [{"image": "nginx", "name": "c"}]}, "metadata": {"creationTimestamp": null, "labels": {"app": "web"}}});
        assert_eq!(
            h,
            pod_template_hash(&go),
            "key order and nulls do not matter"
        );
    }

    #[test]
    fn surge_rounds_up() {
        let d = json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%"}}}});
        assert_eq!(max_surge(&d, 3), 1);
        assert_eq!(max_surge(&d, 8), 2);
    }
}
