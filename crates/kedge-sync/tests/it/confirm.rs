//! Deletions that wait for confirmation: `Prune=confirm` pauses a sync
//! (phase Running, the objects listed) until it is resumed with the
//! confirmation, and `Delete=confirm` holds back the deletion of a deleted
//! application's objects; `Delete=false` and other applications' objects
//! are never deleted.

use k8s_openapi::api::core::v1::ConfigMap;
use kedge_sync::engine::{Engine, InventoryEntry, SyncRequest};
use kedge_sync::object::ResourceKey;
use kedge_sync::state::{MemoryPersist, OperationPhase, ResultCode};
use kedge_sync::{SyncOptions, deletion_approved};
use kube::api::Api;
use serde_json::{Value, json};

use crate::cluster::Cluster;

fn cm(name: &str, sync_options: Option<&str>) -> Value {
    let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name}, "data": {"k": name}});
    if let Some(opts) = sync_options {
        o["metadata"]["annotations"] = json!({"argocd.argoproj.io/sync-options": opts});
    }
    o
}

fn entry(name: &str) -> InventoryEntry {
    InventoryEntry {
        api_version: "v1".into(),
        key: ResourceKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: "default".into(),
            name: name.into(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_confirm_pauses_the_sync_until_confirmed() {
    let cluster = Cluster::start_with(false).await;
    let engine = Engine::new(cluster.client.clone());
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    let st = engine
        .sync(
            &SyncRequest::new(
                "conf",
                "op-1",
                "default",
                vec![cm("a", None), cm("b", Some("Prune=confirm")), cm("c", None)],
            ),
            &MemoryPersist::default(),
        )
        .await
        .unwrap();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{st:#?}");

    let mut req = SyncRequest::new("conf", "op-2", "default", vec![cm("a", None)]);
    req.prune = true;
    req.inventory = vec![entry("a"), entry("b"), entry("c")];
    let persist = MemoryPersist::default();
    let st = engine.sync(&req, &persist).await.unwrap();
    assert_eq!(st.phase, OperationPhase::Running, "{st:#?}");
    assert!(st.needs_confirmation());
    assert_eq!(
        st.awaiting_confirmation
            .iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>(),
        vec!["b"]
    );
    assert!(st.message.contains("confirmation"), "{}", st.message);
    // Nothing of the paused step was deleted.
    for n in ["a", "b", "c"] {
        assert!(cms.get_opt(n).await.unwrap().is_some(), "{n}");
    }
    // An approval given before the operation started does not count.
    assert!(!deletion_approved("2000-01-01T00:00:00Z", &st.started_at));
    assert!(deletion_approved(
        &jiff::Timestamp::now().to_string(),
        &st.started_at
    ));

    // Syncing again unconfirmed stays paused; confirmed, it resumes.
    let st = engine.sync(&req, &persist).await.unwrap();
    assert!(st.needs_confirmation(), "{st:#?}");
    req.prune_confirmed = true;
    let st = engine.sync(&req, &persist).await.unwrap();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{st:#?}");
    assert!(!st.needs_confirmation());
    assert_eq!(
        st.completed_steps.iter().filter(|s| *s == "Sync/0").count(),
        1,
        "{:?}",
        st.completed_steps
    );
    for (n, code) in [("b", ResultCode::Pruned), ("c", ResultCode::Pruned)] {
        assert_eq!(
            st.result(&entry(n).key).map(|r| r.status),
            Some(code),
            "{n}"
        );
        assert!(cms.get_opt(n).await.unwrap().is_none(), "{n}");
    }
    assert!(cms.get_opt("a").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_confirm_holds_back_application_deletion() {
    let cluster = Cluster::start_with(false).await;
    let engine = Engine::new(cluster.client.clone());
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    for (app, objs) in [
        (
            "gone",
            vec![
                cm("x", None),
                cm("y", Some("Delete=confirm")),
                cm("z", Some("Delete=false")),
            ],
        ),
        ("other", vec![cm("theirs", None)]),
    ] {
        let st = engine
            .sync(
                &SyncRequest::new(app, "op-1", "default", objs),
                &MemoryPersist::default(),
            )
            .await
            .unwrap();
        assert_eq!(st.phase, OperationPhase::Succeeded, "{st:#?}");
    }
    let inventory = vec![
        entry("x"),
        entry("y"),
        entry("z"),
        entry("theirs"),
        entry("never-existed"),
    ];
    let options = SyncOptions::default();
    let out = engine
        .delete_application("gone", &inventory, &options, false)
        .await
        .unwrap();
    assert_eq!(out.awaiting_confirmation, vec![entry("y").key]);
    assert!(out.deleted.is_empty());
    for n in ["x", "y", "z", "theirs"] {
        assert!(cms.get_opt(n).await.unwrap().is_some(), "{n}");
    }

    let out = engine
        .delete_application("gone", &inventory, &options, true)
        .await
        .unwrap();
    assert_eq!(out.deleted, vec![entry("x").key, entry("y").key]);
    let skipped: Vec<(&str, &str)> = out
        .skipped
        .iter()
        .map(|(k, why)| (k.name.as_str(), why.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("z", "Delete=false"),
            ("theirs", "owned by application \"other\""),
            ("never-existed", "already gone"),
        ]
    );
    for (n, exists) in [("x", false), ("y", false), ("z", true), ("theirs", true)] {
        assert_eq!(cms.get_opt(n).await.unwrap().is_some(), exists, "{n}");
    }

    // Application-level Delete=false keeps everything.
    let out = engine
        .delete_application(
            "other",
            &[entry("theirs")],
            &SyncOptions::parse(["Delete=false"]).unwrap(),
            true,
        )
        .await
        .unwrap();
    assert!(out.deleted.is_empty(), "{out:?}");
    assert!(cms.get_opt("theirs").await.unwrap().is_some());
}
