//! Lists: prefixes, pagination and older snapshots.

use kedge_store::{ListOptions, StoreError};

use crate::{temp_store, text, val};

#[tokio::test]
async fn list_prefix_and_pages() {
    let (_dir, store) = temp_store();
    for i in 0..7 {
        store
            .create(&format!("/r/cm/ns/{i}"), val("v"))
            .await
            .unwrap();
    }
    store.create("/r/cm/other/x", val("v")).await.unwrap();
    store.create("/r/cmx/ns/y", val("v")).await.unwrap();

    let all = store
        .list(ListOptions {
            prefix: "/r/cm/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 8);
    assert_eq!(all.revision, 9);

    let mut keys = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .list(ListOptions {
                prefix: "/r/cm/ns/".into(),
                revision: Some(9),
                start_after: start.clone(),
                limit: 3,
            })
            .await
            .unwrap();
        keys.extend(page.items.iter().map(|kv| kv.key.clone()));
        if !page.more {
            break;
        }
        assert!(page.remaining.unwrap() > 0);
        start = page.items.last().map(|kv| kv.key.clone());
    }
    assert_eq!(
        keys,
        (0..7).map(|i| format!("/r/cm/ns/{i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn list_at_older_revision_is_a_consistent_snapshot() {
    let (_dir, store) = temp_store();
    store.create("/k/a", val("a1")).await.unwrap();
    store.create("/k/b", val("b1")).await.unwrap();
    let snapshot = store.current_revision();
    store.update("/k/a", 1, val("a2")).await.unwrap();
    store.delete("/k/b", None, val("gone")).await.unwrap();
    store.create("/k/c", val("c1")).await.unwrap();

    let old = store
        .list(ListOptions {
            prefix: "/k/".into(),
            revision: Some(snapshot),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<String> = old.items.iter().map(|kv| text(&kv.value)).collect();
    assert_eq!(got, vec!["a1@1", "b1@2"]);

    let now = store
        .list(ListOptions {
            prefix: "/k/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<String> = now.items.iter().map(|kv| text(&kv.value)).collect();
    assert_eq!(got, vec!["a2@3", "c1@5"]);

    assert!(matches!(
        store
            .list(ListOptions {
                prefix: "/k/".into(),
                revision: Some(99),
                ..Default::default()
            })
            .await,
        Err(StoreError::FutureRevision { .. })
    ));
}
