//! Compaction: history below the compaction revision is gone, and reads or
//! watches that need it fail with `Compacted`.

use kedge_store::{ListOptions, StoreError};

use crate::{temp_store, text, val};

#[tokio::test]
async fn compaction_expires_old_reads_and_keeps_state() {
    let (dir, store) = temp_store();
    store.create("/c/a", val("a1")).await.unwrap(); // 1
    store.update("/c/a", 1, val("a2")).await.unwrap(); // 2
    store.create("/c/b", val("b")).await.unwrap(); // 3
    store.delete("/c/b", None, val("gone")).await.unwrap(); // 4
    store.update("/c/a", 2, val("a3")).await.unwrap(); // 5
    store.compact(4).await.unwrap();
    assert_eq!(store.compact_revision(), 4);

    assert!(matches!(
        store.watch_from("/c/", 2),
        Err(StoreError::Compacted {
            requested: 2,
            compacted: 4
        })
    ));
    assert!(matches!(
        store
            .list(ListOptions {
                prefix: "/c/".into(),
                revision: Some(3),
                ..Default::default()
            })
            .await,
        Err(StoreError::Compacted { .. })
    ));
    // The state at the compaction revision is still readable.
    let at4 = store
        .list(ListOptions {
            prefix: "/c/".into(),
            revision: Some(4),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        at4.items
            .iter()
            .map(|kv| text(&kv.value))
            .collect::<Vec<_>>(),
        vec!["a2@2"]
    );
    // Watching from the compaction revision replays what follows.
    let mut w = store.watch_from("/c/", 4).unwrap();
    assert_eq!(text(&w.next().await.unwrap().unwrap().kv.value), "a3@5");

    drop(w);
    drop(store);
    let reopened = kedge_store::Store::open(dir.path().join("state.db")).unwrap();
    assert_eq!(reopened.compact_revision(), 4);
    assert_eq!(reopened.current_revision(), 5);
}
