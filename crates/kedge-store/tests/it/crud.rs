//! Create, get, update, delete and their conditions.

use kedge_store::{Op, StoreError};

use crate::{temp_store, text, val};

#[tokio::test]
async fn create_get_update_delete() {
    let (_dir, store) = temp_store();
    assert_eq!(store.current_revision(), 0);
    let a = store.create("/r/cm/ns/a", val("one")).await.unwrap();
    assert_eq!(a.mod_revision, 1);
    assert_eq!(a.create_revision, 1);
    assert_eq!(text(&a.value), "one@1");
    let got = store.get("/r/cm/ns/a").unwrap();
    assert_eq!(got, a);

    let b = store.update("/r/cm/ns/a", 1, val("two")).await.unwrap();
    assert_eq!((b.create_revision, b.mod_revision), (1, 2));
    assert_eq!(text(&store.get("/r/cm/ns/a").unwrap().value), "two@2");

    let t = store
        .delete("/r/cm/ns/a", Some(2), val("gone"))
        .await
        .unwrap();
    assert_eq!(t.mod_revision, 3);
    assert!(store.get("/r/cm/ns/a").is_none());
    assert_eq!(store.current_revision(), 3);

    // Re-create gets a new create revision.
    let c = store.create("/r/cm/ns/a", val("again")).await.unwrap();
    assert_eq!((c.create_revision, c.mod_revision), (4, 4));
}

#[tokio::test]
async fn conditions_fail_without_side_effects() {
    let (_dir, store) = temp_store();
    store.create("/k/a", val("a")).await.unwrap();
    assert!(matches!(
        store.create("/k/a", val("a")).await,
        Err(StoreError::AlreadyExists { key }) if key == "/k/a"
    ));
    assert!(matches!(
        store.update("/k/a", 7, val("b")).await,
        Err(StoreError::Conflict {
            expected: 7,
            actual: 1,
            ..
        })
    ));
    assert!(matches!(
        store.update("/k/missing", 1, val("b")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete("/k/a", Some(5), val("x")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.current_revision(), 1, "failed writes use no revision");
}

#[tokio::test]
async fn transactions_are_all_or_nothing() {
    let (_dir, store) = temp_store();
    store.create("/k/a", val("a")).await.unwrap();
    let failed = store
        .txn(vec![
            Op::Create {
                key: "/k/b".into(),
                value: val("b"),
            },
            Op::Delete {
                key: "/k/a".into(),
                expected: Some(99),
                value: val("x"),
            },
        ])
        .await;
    assert!(matches!(failed, Err(StoreError::Conflict { .. })));
    assert!(store.get("/k/b").is_none());
    assert!(store.get("/k/a").is_some());

    let ok = store
        .txn(vec![
            Op::Create {
                key: "/k/b".into(),
                value: val("b"),
            },
            Op::Delete {
                key: "/k/a".into(),
                expected: Some(1),
                value: val("x"),
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        ok.iter().map(|kv| kv.mod_revision).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(store.get("/k/a").is_none());
}

#[tokio::test]
async fn concurrent_writers_get_unique_revisions() {
    let (_dir, store) = temp_store();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.create(&format!("/k/{i:03}"), val("v"))
                .await
                .unwrap()
                .mod_revision
        }));
    }
    let mut revs = Vec::new();
    for t in tasks {
        revs.push(t.await.unwrap());
    }
    revs.sort();
    assert_eq!(revs, (1..=200).collect::<Vec<_>>());
    assert_eq!(store.count("/k/"), 200);
}
