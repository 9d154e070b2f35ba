//! The control plane's storage: a kine-style revision log in SQLite. Every
//! write gets the next global revision (the resourceVersion); reads, lists,
//! watches from a revision and compaction are served from the log.
//!
//! Design:
//! - One table `log` holds one row per write (`rev` is the revision, also the
//!   primary key). A delete writes a tombstone row. The latest row of every key
//!   is mirrored in memory (`BTreeMap`), so `get` and `list` at the latest
//!   revision never touch SQLite; lists at an older revision (consistent
//!   pagination) and watch history replay query the log.
//! - A single writer thread owns the write connection and batches every
//!   request waiting in its queue into one SQLite transaction (group commit):
//!   one fsync acknowledges many writes. Conditions (exists, expected
//!   revision) are checked against the in-memory state plus the batch's own
//!   overlay, so a failing request never spoils the others of its batch.
//! - Values are encoded by the caller *in the writer thread* once the revision
//!   is known ([`Encoder`]), so the stored bytes can carry their own
//!   resourceVersion and be served as-is.
//! - Live events go through a `tokio::sync::broadcast` channel; a watcher
//!   that lags behind falls back to reading the log, so no event is lost.
//! - Compaction removes superseded rows and tombstones at or below a
//!   revision; reads and watches from older revisions fail with
//!   [`StoreError::Compacted`].

mod db;
mod error;
mod watch;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use tokio::sync::{broadcast, oneshot};

pub use error::StoreError;
pub use watch::Watcher;

/// A global, monotonically increasing revision: the resourceVersion.
pub type Revision = i64;

/// Produces the stored bytes of a value once its revision is known.
pub type Encoder = Box<dyn FnOnce(Revision) -> Bytes + Send>;

/// One stored version of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key, e.g. `/registry/core/configmaps/default/x`.
    pub key: String,
    /// The revision at which the key was (last) created.
    pub create_revision: Revision,
    /// The revision of this write (for a tombstone: of the delete).
    pub mod_revision: Revision,
    /// The encoded value (for a tombstone: what the encoder produced).
    pub value: Bytes,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Created or updated.
    Put,
    /// Deleted; the event's `kv` is the tombstone.
    Delete,
}

/// One change, in revision order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// The new state (or the tombstone of a delete).
    pub kv: Arc<KeyValue>,
    /// The previous state, when there was one and it is still retained.
    pub prev: Option<Arc<KeyValue>>,
}

impl Event {
    /// The revision of this event.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// One write of a transaction.
pub enum Op {
    /// Create a key that must not exist.
    Create {
        /// The key.
        key: String,
        /// Encodes the value.
        value: Encoder,
    },
    /// Replace the value of an existing key whose revision must be `expected`.
    Update {
        /// The key.
        key: String,
        /// The mod revision the key must have.
        expected: Revision,
        /// Encodes the value.
        value: Encoder,
    },
    /// Delete an existing key (whose revision must be `expected` when given).
    Delete {
        /// The key.
        key: String,
        /// The mod revision the key must have, if any.
        expected: Option<Revision>,
        /// Encodes the tombstone (the value carried by the delete event).
        value: Encoder,
    },
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Create { key, .. } => write!(f, "Create({key})"),
            Op::Update { key, expected, .. } => write!(f, "Update({key}@{expected})"),
            Op::Delete { key, expected, .. } => write!(f, "Delete({key}@{expected:?})"),
        }
    }
}

impl Op {
    pub(crate) fn key(&self) -> &str {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Delete { key, .. } => key,
        }
    }
}

/// Options of [`Store::list`].
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Only keys starting with this prefix.
    pub prefix: String,
    /// The snapshot revision; `None` is the latest.
    pub revision: Option<Revision>,
    /// Only keys strictly after this one (pagination).
    pub start_after: Option<String>,
    /// At most this many items (0 = no limit).
    pub limit: usize,
}

/// The result of [`Store::list`].
#[derive(Debug, Clone)]
pub struct ListResult {
    /// Matching items in key order.
    pub items: Vec<Arc<KeyValue>>,
    /// The snapshot revision the list was read at.
    pub revision: Revision,
    /// Whether more items follow the last one returned.
    pub more: bool,
    /// How many items follow (when known).
    pub remaining: Option<usize>,
}

pub(crate) struct State {
    pub(crate) current: BTreeMap<String, Arc<KeyValue>>,
    pub(crate) revision: Revision,
    pub(crate) compact_revision: Revision,
}

pub(crate) struct Shared {
    pub(crate) state: RwLock<State>,
    pub(crate) events: broadcast::Sender<Arc<Event>>,
    pub(crate) reader: Mutex<rusqlite::Connection>,
    pub(crate) path: PathBuf,
}

/// The revision log. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    writer: std::sync::mpsc::Sender<writer::Request>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.shared.path)
            .finish()
    }
}

/// Capacity of the live event channel; slower watchers re-read the log.
const EVENT_CHANNEL_CAPACITY: usize = 16 * 1024;

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let write_conn = db::open(&path)?;
        db::init_schema(&write_conn, &path)?;
        let loaded = db::load_state(&write_conn, &path)?;
        let reader = db::open(&path)?;
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        let shared = Arc::new(Shared {
            state: RwLock::new(loaded),
            events,
            reader: Mutex::new(reader),
            path: path.clone(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let writer_shared = shared.clone();
        std::thread::Builder::new()
            .name("kedge-store-writer".into())
            .spawn(move || writer::run(write_conn, rx, writer_shared))
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Store { shared, writer: tx })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The latest revision (0 for an empty store).
    pub fn current_revision(&self) -> Revision {
        self.read_state().revision
    }

    /// Revisions below this one have been compacted away.
    pub fn compact_revision(&self) -> Revision {
        self.read_state().compact_revision
    }

    /// The latest value of `key`.
    pub fn get(&self, key: &str) -> Option<Arc<KeyValue>> {
        self.read_state().current.get(key).cloned()
    }

    /// How many keys start with `prefix` at the latest revision.
    pub fn count(&self, prefix: &str) -> usize {
        let state = self.read_state();
        state
            .current
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .count()
    }

    /// Lists keys under a prefix, at the latest or an older revision.
    pub async fn list(&self, opts: ListOptions) -> Result<ListResult, StoreError> {
        {
            let state = self.read_state();
            let at = opts.revision.unwrap_or(state.revision);
            if at > state.revision {
                return Err(StoreError::FutureRevision {
                    requested: at,
                    current: state.revision,
                });
            }
            if at < state.compact_revision {
                return Err(StoreError::Compacted {
                    requested: at,
                    compacted: state.compact_revision,
                });
            }
            if at == state.revision {
                return Ok(list_memory(&state, &opts, at));
            }
        }
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let conn = shared.reader.lock().unwrap_or_else(|e| e.into_inner());
            let result = db::list_at(&conn, &shared.path, &opts)?;
            // A compaction may have run while we read: re-check.
            let compacted = shared
                .state
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .compact_revision;
            let at = opts.revision.unwrap_or_default();
            if at < compacted {
                return Err(StoreError::Compacted {
                    requested: at,
                    compacted,
                });
            }
            Ok(result)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Runs the operations atomically: all succeed (each gets its own, consecutive
    /// revision) or none is applied. Returns one key-value per operation.
    pub async fn txn(&self, ops: Vec<Op>) -> Result<Vec<Arc<KeyValue>>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(writer::Request::Txn { ops, reply })
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Creates `key`; fails with [`StoreError::AlreadyExists`].
    pub async fn create(&self, key: &str, value: Encoder) -> Result<Arc<KeyValue>, StoreError> {
        let mut out = self
            .txn(vec![Op::Create {
                key: key.to_string(),
                value,
            }])
            .await?;
        Ok(out.remove(0))
    }

    /// Updates `key` if its revision is `expected`; fails with [`StoreError::Conflict`].
    pub async fn update(
        &self,
        key: &str,
        expected: Revision,
        value: Encoder,
    ) -> Result<Arc<KeyValue>, StoreError> {
        let mut out = self
            .txn(vec![Op::Update {
                key: key.to_string(),
                expected,
                value,
            }])
            .await?;
        Ok(out.remove(0))
    }

    /// Deletes `key` (checking its revision when `expected` is given); returns the tombstone.
    pub async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
        value: Encoder,
    ) -> Result<Arc<KeyValue>, StoreError> {
        let mut out = self
            .txn(vec![Op::Delete {
                key: key.to_string(),
                expected,
                value,
            }])
            .await?;
        Ok(out.remove(0))
    }

    /// Removes history at or below `revision` (keeping the state at `revision`).
    /// Reads and watches from older revisions then fail with [`StoreError::Compacted`].
    pub async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(writer::Request::Compact { revision, reply })
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Watches keys under `prefix` for every event with a revision greater
    /// than `after`: history from the log first, then live events.
    pub fn watch_from(&self, prefix: &str, after: Revision) -> Result<Watcher, StoreError> {
        watch::Watcher::start(self.shared.clone(), prefix.to_string(), after)
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared.state.read().unwrap_or_else(|e| e.into_inner())
    }
}

fn list_memory(state: &State, opts: &ListOptions, at: Revision) -> ListResult {
    let start = match &opts.start_after {
        Some(s) if s.as_str() >= opts.prefix.as_str() => std::ops::Bound::Excluded(s.clone()),
        _ => std::ops::Bound::Included(opts.prefix.clone()),
    };
    let mut iter = state
        .current
        .range((start, std::ops::Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(&opts.prefix));
    let mut items = Vec::new();
    let mut more = false;
    let mut remaining = None;
    for (_, kv) in iter.by_ref() {
        if opts.limit > 0 && items.len() == opts.limit {
            more = true;
            remaining = Some(1);
            break;
        }
        items.push(kv.clone());
    }
    if more {
        remaining = remaining.map(|n| n + iter.count());
    }
    ListResult {
        items,
        revision: at,
        more,
        remaining,
    }
}

/// The end (exclusive) of the key range of a prefix: the prefix followed by
/// the greatest code point, which sorts after every key under the prefix.
pub(crate) fn prefix_end(prefix: &str) -> String {
    let mut end = String::with_capacity(prefix.len() + 4);
    end.push_str(prefix);
    end.push(char::MAX);
    end
}
