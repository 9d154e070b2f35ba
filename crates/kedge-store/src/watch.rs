//! Watchers: history replay from the log, then live events.
//!
//! A watcher subscribes to the broadcast channel while holding the state's
//! read lock, so it knows the exact revision `until` after which the channel
//! carries every event. Events in `(after, until]` are read from the log in
//! pages. If the watcher falls behind the channel (lagged), it re-subscribes
//! the same way and reads the gap from the log, so it never skips an event.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};

use crate::{Event, Revision, Shared, StoreError, db};

/// Rows read from the log per history page.
const HISTORY_PAGE: i64 = 2048;

/// A stream of events under a prefix, in revision order.
pub struct Watcher {
    shared: Arc<Shared>,
    prefix: String,
    /// Every event with a revision up to this one has been delivered or skipped.
    seen: Revision,
    /// History up to this revision has to be read from the log …
    until: Revision,
    /// … and has been read up to this one.
    fetched: Revision,
    backlog: VecDeque<Arc<Event>>,
    rx: broadcast::Receiver<Arc<Event>>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("prefix", &self.prefix)
            .field("seen", &self.seen)
            .finish()
    }
}

impl Watcher {
    pub(crate) fn start(
        shared: Arc<Shared>,
        prefix: String,
        after: Revision,
    ) -> Result<Watcher, StoreError> {
        let (rx, current, compacted) = {
            let state = shared.state.read().unwrap_or_else(|e| e.into_inner());
            (
                shared.events.subscribe(),
                state.revision,
                state.compact_revision,
            )
        };
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        if after > current {
            return Err(StoreError::FutureRevision {
                requested: after,
                current,
            });
        }
        Ok(Watcher {
            shared,
            prefix,
            seen: after,
            until: current,
            fetched: after,
            backlog: VecDeque::new(),
            rx,
        })
    }

    /// The revision up to which this watcher has seen every event (for bookmarks).
    pub fn progress(&self) -> Revision {
        if self.backlog.is_empty() && self.fetched >= self.until {
            let state = self.shared.state.read().unwrap_or_else(|e| e.into_inner());
            if self.rx.is_empty() {
                return state.revision.max(self.seen.max(self.fetched));
            }
        }
        self.seen
    }

    /// The next event; `None` when the store is gone. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Arc<Event>, StoreError>> {
        loop {
            if let Some(ev) = self.backlog.pop_front() {
                self.seen = ev.revision();
                return Some(Ok(ev));
            }
            if self.fetched < self.until {
                if let Err(e) = self.fill_history().await {
                    return Some(Err(e));
                }
                continue;
            }
            self.seen = self.seen.max(self.fetched);
            match self.rx.recv().await {
                Ok(ev) => {
                    if ev.revision() <= self.seen {
                        continue;
                    }
                    self.seen = ev.revision();
                    if ev.kv.key.starts_with(&self.prefix) {
                        return Some(Ok(ev));
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let state = self.shared.state.read().unwrap_or_else(|e| e.into_inner());
                    self.rx = self.shared.events.subscribe();
                    self.until = state.revision;
                    self.fetched = self.seen;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    async fn fill_history(&mut self) -> Result<(), StoreError> {
        let compacted = self
            .shared
            .state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .compact_revision;
        if self.fetched < compacted {
            return Err(StoreError::Compacted {
                requested: self.fetched,
                compacted,
            });
        }
        let shared = self.shared.clone();
        let prefix = self.prefix.clone();
        let after = self.fetched;
        let until = self.until.min(after.saturating_add(HISTORY_PAGE));
        let events = tokio::task::spawn_blocking(move || {
            let conn = shared.reader.lock().unwrap_or_else(|e| e.into_inner());
            db::history(&conn, &shared.path, &prefix, after, until)
        })
        .await
        .map_err(|_| StoreError::Closed)??;
        let compacted = self
            .shared
            .state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .compact_revision;
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        self.backlog.extend(events);
        self.fetched = until;
        Ok(())
    }
}
