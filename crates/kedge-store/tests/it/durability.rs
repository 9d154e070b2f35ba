//! Reopening a database restores the state, the revision and the history.

use kedge_store::{ListOptions, Store};

use crate::{text, val};

#[tokio::test]
async fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = Store::open(&path).unwrap();
        store.create("/d/a", val("a")).await.unwrap();
        store.create("/d/b", val("b")).await.unwrap();
        store.update("/d/a", 1, val("a2")).await.unwrap();
        store.delete("/d/b", None, val("gone")).await.unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.current_revision(), 4);
    assert_eq!(text(&store.get("/d/a").unwrap().value), "a2@3");
    assert!(store.get("/d/b").is_none());
    let list = store
        .list(ListOptions {
            prefix: "/d/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    // History is still there for watches.
    let mut w = store.watch_from("/d/", 0).unwrap();
    let mut revs = Vec::new();
    for _ in 0..4 {
        revs.push(w.next().await.unwrap().unwrap().kv.mod_revision);
    }
    assert_eq!(revs, vec![1, 2, 3, 4]);
    // New writes continue the revision sequence.
    assert_eq!(
        store.create("/d/c", val("c")).await.unwrap().mod_revision,
        5
    );
}
