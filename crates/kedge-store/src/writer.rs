//! The single writer thread with group commit.
//!
//! It blocks for one request, drains whatever else is queued (up to
//! [`MAX_BATCH`]), validates each transaction against the in-memory state plus
//! the batch overlay, writes all accepted rows in one SQLite transaction,
//! commits (one fsync), then publishes the new state and events and answers
//! every request. Nothing is acknowledged before its commit is durable.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use crate::{Event, EventKind, KeyValue, Op, Revision, Shared, StoreError, db};

/// The most requests committed together.
const MAX_BATCH: usize = 1024;

pub(crate) enum Request {
    Txn {
        ops: Vec<Op>,
        reply: oneshot::Sender<Result<Vec<Arc<KeyValue>>, StoreError>>,
    },
    Compact {
        revision: Revision,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

struct Row {
    kv: Arc<KeyValue>,
    prev_rev: Revision,
    deleted: bool,
}

struct Accepted {
    reply: oneshot::Sender<Result<Vec<Arc<KeyValue>>, StoreError>>,
    results: Vec<Arc<KeyValue>>,
}

pub(crate) fn run(mut conn: Connection, rx: Receiver<Request>, shared: Arc<Shared>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        let mut txns = Vec::new();
        for req in batch {
            match req {
                Request::Txn { ops, reply } => txns.push((ops, reply)),
                Request::Compact { revision, reply } => {
                    // Commit the writes queued before the compaction first.
                    commit_batch(&mut conn, &shared, std::mem::take(&mut txns));
                    let _ = reply.send(compact(&mut conn, &shared, revision));
                }
            }
        }
        commit_batch(&mut conn, &shared, txns);
    }
}

fn compact(conn: &mut Connection, shared: &Shared, revision: Revision) -> Result<(), StoreError> {
    let current = shared
        .state
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .revision;
    let revision = revision.min(current);
    db::compact(conn, &shared.path, revision)?;
    let mut state = shared.state.write().unwrap_or_else(|e| e.into_inner());
    state.compact_revision = state.compact_revision.max(revision);
    Ok(())
}

type Txn = (
    Vec<Op>,
    oneshot::Sender<Result<Vec<Arc<KeyValue>>, StoreError>>,
);

fn commit_batch(conn: &mut Connection, shared: &Shared, txns: Vec<Txn>) {
    if txns.is_empty() {
        return;
    }
    let (mut next_rev, mut overlay): (Revision, HashMap<String, Option<Arc<KeyValue>>>) = {
        let state = shared.state.read().unwrap_or_else(|e| e.into_inner());
        (state.revision, HashMap::new())
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut events: Vec<Arc<Event>> = Vec::new();
    let mut accepted: Vec<Accepted> = Vec::new();
    {
        let state = shared.state.read().unwrap_or_else(|e| e.into_inner());
        for (ops, reply) in txns {
            let lookup = |overlay: &HashMap<String, Option<Arc<KeyValue>>>, key: &str| match overlay
                .get(key)
            {
                Some(v) => v.clone(),
                None => state.current.get(key).cloned(),
            };
            // Validate every op first; a failing transaction changes nothing.
            let mut seen = std::collections::HashSet::new();
            let mut failure = None;
            for op in &ops {
                if !seen.insert(op.key().to_string()) {
                    failure = Some(StoreError::DuplicateKey {
                        key: op.key().to_string(),
                    });
                    break;
                }
                let existing = lookup(&overlay, op.key());
                let check = match (op, &existing) {
                    (Op::Create { key, .. }, Some(_)) => {
                        Err(StoreError::AlreadyExists { key: key.clone() })
                    }
                    (Op::Update { key, .. } | Op::Delete { key, .. }, None) => {
                        Err(StoreError::NotFound { key: key.clone() })
                    }
                    (Op::Update { key, expected, .. }, Some(kv))
                    | (
                        Op::Delete {
                            key,
                            expected: Some(expected),
                            ..
                        },
                        Some(kv),
                    ) if kv.mod_revision != *expected => Err(StoreError::Conflict {
                        key: key.clone(),
                        expected: *expected,
                        actual: kv.mod_revision,
                    }),
                    _ => Ok(()),
                };
                if let Err(e) = check {
                    failure = Some(e);
                    break;
                }
            }
            if let Some(e) = failure {
                let _ = reply.send(Err(e));
                continue;
            }
            let mut results = Vec::with_capacity(ops.len());
            for op in ops {
                next_rev += 1;
                let rev = next_rev;
                let existing = lookup(&overlay, op.key());
                let (key, value, deleted) = match op {
                    Op::Create { key, value } | Op::Update { key, value, .. } => {
                        (key, value, false)
                    }
                    Op::Delete { key, value, .. } => (key, value, true),
                };
                let create_revision = existing.as_ref().map_or(rev, |p| p.create_revision);
                let kv = Arc::new(KeyValue {
                    key: key.clone(),
                    create_revision,
                    mod_revision: rev,
                    value: value(rev),
                });
                rows.push(Row {
                    kv: kv.clone(),
                    prev_rev: existing.as_ref().map(|p| p.mod_revision).unwrap_or(0),
                    deleted,
                });
                events.push(Arc::new(Event {
                    kind: if deleted {
                        EventKind::Delete
                    } else {
                        EventKind::Put
                    },
                    kv: kv.clone(),
                    prev: existing,
                }));
                overlay.insert(key, if deleted { None } else { Some(kv.clone()) });
                results.push(kv);
            }
            accepted.push(Accepted { reply, results });
        }
    }
    if accepted.is_empty() {
        return;
    }
    if let Err(e) = write_rows(conn, &shared.path, &rows, next_rev) {
        let message = e.to_string();
        tracing::error!(error = %message, "store commit failed");
        for a in accepted {
            let _ = a.reply.send(Err(StoreError::Commit {
                path: shared.path.clone(),
                message: message.clone(),
            }));
        }
        return;
    }
    {
        let mut state = shared.state.write().unwrap_or_else(|e| e.into_inner());
        for (key, value) in overlay {
            match value {
                Some(kv) => {
                    state.current.insert(key, kv);
                }
                None => {
                    state.current.remove(&key);
                }
            }
        }
        state.revision = next_rev;
        // Sent under the write lock: a watcher that subscribes while holding the
        // read lock sees exactly the events after the revision it read.
        for ev in events {
            let _ = shared.events.send(ev);
        }
    }
    for a in accepted {
        let _ = a.reply.send(Ok(a.results));
    }
}

fn write_rows(
    conn: &mut Connection,
    path: &std::path::Path,
    rows: &[Row],
    revision: Revision,
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(StoreError::sqlite(path))?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO log(rev, key, create_rev, prev_rev, deleted, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(StoreError::sqlite(path))?;
        for row in rows {
            stmt.execute(params![
                row.kv.mod_revision,
                row.kv.key,
                row.kv.create_revision,
                row.prev_rev,
                row.deleted as i64,
                row.kv.value.as_ref(),
            ])
            .map_err(StoreError::sqlite(path))?;
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE name = 'revision'",
            [revision],
        )
        .map_err(StoreError::sqlite(path))?;
    }
    tx.commit().map_err(StoreError::sqlite(path))
}
