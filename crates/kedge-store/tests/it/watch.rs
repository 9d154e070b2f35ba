//! Watches: history replay, then live events, filtered by prefix.

use kedge_store::{EventKind, StoreError};

use crate::{temp_store, text, val};

#[tokio::test]
async fn watch_replays_history_then_streams_live() {
    let (_dir, store) = temp_store();
    store.create("/w/a", val("a")).await.unwrap(); // 1
    store.create("/x/z", val("z")).await.unwrap(); // 2 (other prefix)
    store.update("/w/a", 1, val("a2")).await.unwrap(); // 3
    let mut w = store.watch_from("/w/", 1).unwrap();
    store.delete("/w/a", None, val("dead")).await.unwrap(); // 4
    store.create("/w/b", val("b")).await.unwrap(); // 5

    let mut got = Vec::new();
    for _ in 0..3 {
        let ev = w.next().await.unwrap().unwrap();
        got.push((ev.kind, ev.kv.mod_revision, text(&ev.kv.value)));
    }
    assert_eq!(
        got,
        vec![
            (EventKind::Put, 3, "a2@3".to_string()),
            (EventKind::Delete, 4, "dead@4".to_string()),
            (EventKind::Put, 5, "b@5".to_string()),
        ]
    );
    assert_eq!(w.progress(), 5);
}

#[tokio::test]
async fn history_events_carry_the_previous_value() {
    let (_dir, store) = temp_store();
    store.create("/w/a", val("a")).await.unwrap();
    store.update("/w/a", 1, val("b")).await.unwrap();
    let mut w = store.watch_from("/w/", 0).unwrap();
    let first = w.next().await.unwrap().unwrap();
    assert!(first.prev.is_none());
    let second = w.next().await.unwrap().unwrap();
    assert_eq!(text(&second.prev.as_ref().unwrap().value), "a@1");
}

#[tokio::test]
async fn many_watchers_see_every_event_in_order() {
    let (_dir, store) = temp_store();
    let mut watchers: Vec<_> = (0..20)
        .map(|_| store.watch_from("/m/", 0).unwrap())
        .collect();
    for i in 0..100 {
        store.create(&format!("/m/{i}"), val("v")).await.unwrap();
    }
    for w in &mut watchers {
        for rev in 1..=100 {
            assert_eq!(w.next().await.unwrap().unwrap().kv.mod_revision, rev);
        }
    }
}

#[tokio::test]
async fn watch_from_the_future_is_refused() {
    let (_dir, store) = temp_store();
    assert!(matches!(
        store.watch_from("/", 5),
        Err(StoreError::FutureRevision { .. })
    ));
}
