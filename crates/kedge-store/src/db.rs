//! SQL of the revision log: schema, loading the latest state at open,
//! lists at an older revision, history for watches, and compaction.
//!
//! Table `log(rev, key, create_rev, prev_rev, deleted, value)`: `rev` is the
//! primary key, an index on `(key, rev)` serves "latest row per key at or
//! below a revision". Table `meta(name, value)` keeps the current and the
//! compaction revisions.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{
    Event, EventKind, KeyValue, ListOptions, ListResult, Revision, State, StoreError, prefix_end,
};

pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(StoreError::sqlite(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(StoreError::sqlite(path))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(StoreError::sqlite(path))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(StoreError::sqlite(path))?;
    Ok(conn)
}

pub(crate) fn init_schema(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS log (
            rev INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            create_rev INTEGER NOT NULL,
            prev_rev INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            value BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
        CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT OR IGNORE INTO meta(name, value) VALUES ('revision', 0), ('compact_revision', 0);",
    )
    .map_err(StoreError::sqlite(path))
}

fn meta(conn: &Connection, path: &Path, name: &str) -> Result<Revision, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(StoreError::sqlite(path))
    .map(Option::unwrap_or_default)
}

pub(crate) fn load_state(conn: &Connection, path: &Path) -> Result<State, StoreError> {
    let mut revision = meta(conn, path, "revision")?;
    let compact_revision = meta(conn, path, "compact_revision")?;
    let max_rev: Option<Revision> = conn
        .query_row("SELECT MAX(rev) FROM log", [], |r| r.get(0))
        .map_err(StoreError::sqlite(path))?;
    revision = revision.max(max_rev.unwrap_or_default());
    let mut stmt = conn
        .prepare(
            "SELECT l.key, l.create_rev, l.rev, l.value FROM log l
             JOIN (SELECT key, MAX(rev) AS m FROM log GROUP BY key) x ON l.rev = x.m
             WHERE l.deleted = 0",
        )
        .map_err(StoreError::sqlite(path))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(KeyValue {
                key: r.get(0)?,
                create_revision: r.get(1)?,
                mod_revision: r.get(2)?,
                value: Bytes::from(r.get::<_, Vec<u8>>(3)?),
            })
        })
        .map_err(StoreError::sqlite(path))?;
    let mut current = std::collections::BTreeMap::new();
    for row in rows {
        let kv = row.map_err(StoreError::sqlite(path))?;
        current.insert(kv.key.clone(), Arc::new(kv));
    }
    Ok(State {
        current,
        revision,
        compact_revision,
    })
}

pub(crate) fn list_at(
    conn: &Connection,
    path: &Path,
    opts: &ListOptions,
) -> Result<ListResult, StoreError> {
    let at = opts.revision.unwrap_or(Revision::MAX);
    let end = prefix_end(&opts.prefix);
    let start = match &opts.start_after {
        Some(s) if s.as_str() >= opts.prefix.as_str() => s.clone(),
        _ => String::new(),
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT l.key, l.create_rev, l.rev, l.value FROM log l
             JOIN (SELECT key, MAX(rev) AS m FROM log
                   WHERE key >= ?1 AND key < ?2 AND key > ?3 AND rev <= ?4 GROUP BY key) x
             ON l.rev = x.m
             WHERE l.deleted = 0 ORDER BY l.key",
        )
        .map_err(StoreError::sqlite(path))?;
    let rows = stmt
        .query_map(params![opts.prefix, end, start, at], |r| {
            Ok(KeyValue {
                key: r.get(0)?,
                create_revision: r.get(1)?,
                mod_revision: r.get(2)?,
                value: Bytes::from(r.get::<_, Vec<u8>>(3)?),
            })
        })
        .map_err(StoreError::sqlite(path))?;
    let mut items = Vec::new();
    let mut more = false;
    let mut extra = 0usize;
    for row in rows {
        let kv = row.map_err(StoreError::sqlite(path))?;
        if opts.limit > 0 && items.len() == opts.limit {
            more = true;
            extra += 1;
            continue;
        }
        items.push(Arc::new(kv));
    }
    Ok(ListResult {
        items,
        revision: opts.revision.unwrap_or_default(),
        more,
        remaining: more.then_some(extra),
    })
}

/// Events with `after < rev <= until` under `prefix`, in revision order.
pub(crate) fn history(
    conn: &Connection,
    path: &Path,
    prefix: &str,
    after: Revision,
    until: Revision,
) -> Result<Vec<Arc<Event>>, StoreError> {
    let end = prefix_end(prefix);
    let mut stmt = conn
        .prepare_cached(
            "SELECT l.key, l.create_rev, l.rev, l.deleted, l.value,
                    p.create_rev, p.rev, p.value
             FROM log l LEFT JOIN log p ON p.rev = l.prev_rev AND l.prev_rev > 0
             WHERE l.rev > ?1 AND l.rev <= ?2 AND l.key >= ?3 AND l.key < ?4
             ORDER BY l.rev",
        )
        .map_err(StoreError::sqlite(path))?;
    let rows = stmt
        .query_map(params![after, until, prefix, end], |r| {
            let key: String = r.get(0)?;
            let kv = KeyValue {
                key: key.clone(),
                create_revision: r.get(1)?,
                mod_revision: r.get(2)?,
                value: Bytes::from(r.get::<_, Vec<u8>>(4)?),
            };
            let deleted: i64 = r.get(3)?;
            let prev_rev: Option<Revision> = r.get(6)?;
            let prev = match prev_rev {
                Some(rev) => Some(Arc::new(KeyValue {
                    key,
                    create_revision: r.get(5)?,
                    mod_revision: rev,
                    value: Bytes::from(r.get::<_, Vec<u8>>(7)?),
                })),
                None => None,
            };
            Ok(Event {
                kind: if deleted != 0 {
                    EventKind::Delete
                } else {
                    EventKind::Put
                },
                kv: Arc::new(kv),
                prev,
            })
        })
        .map_err(StoreError::sqlite(path))?;
    rows.map(|r| r.map(Arc::new).map_err(StoreError::sqlite(path)))
        .collect()
}

/// Deletes rows superseded at or below `revision` and tombstones at or below it.
pub(crate) fn compact(
    conn: &mut Connection,
    path: &Path,
    revision: Revision,
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(StoreError::sqlite(path))?;
    tx.execute(
        "DELETE FROM log WHERE rev < ?1 AND EXISTS
           (SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= ?1)",
        [revision],
    )
    .map_err(StoreError::sqlite(path))?;
    tx.execute(
        "DELETE FROM log WHERE rev <= ?1 AND deleted = 1",
        [revision],
    )
    .map_err(StoreError::sqlite(path))?;
    tx.execute(
        "UPDATE meta SET value = MAX(value, ?1) WHERE name = 'compact_revision'",
        [revision],
    )
    .map_err(StoreError::sqlite(path))?;
    tx.commit().map_err(StoreError::sqlite(path))
}
