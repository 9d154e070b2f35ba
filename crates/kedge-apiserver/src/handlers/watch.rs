//! WATCH: newline-delimited `{"type","object"}` events over a chunked
//! response. Start points: the current state as synthetic ADDED events
//! (`resourceVersion` unset or `0`, or `sendInitialEvents=true` followed by
//! the `k8s.io/initial-events-end` bookmark), or history after a given
//! resourceVersion (an `ERROR` event with a 410 `Expired` Status when it is
//! compacted). Selectors apply to both the old and the new state, so an
//! object that stops matching is reported as DELETED and one that starts
//! matching as ADDED. Bookmarks every minute with `allowWatchBookmarks`,
//! `timeoutSeconds` ends the stream, as does server shutdown. Table
//! watches wrap every object as a one-row Table.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use kedge_store::{EventKind, ListOptions, Revision, StoreError};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::list::Filters;
use super::{Body, Ctx};
use crate::catalog::ResourceInfo;
use crate::registry;
use crate::selector::FieldSelector;
use crate::status::{ApiError, from_store};

/// Interval between bookmarks.
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);
/// The default stream length when the client sets no timeout.
const DEFAULT_TIMEOUT: u64 = 1800;

fn event_line(kind: &str, object: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn bookmark(info: &ResourceInfo, rev: Revision, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rev.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj = json!({"kind": info.kind, "apiVersion": info.group_version(), "metadata": meta});
    event_line("BOOKMARK", &serde_json::to_vec(&obj).unwrap_or_default())
}

fn error_event(err: &ApiError) -> Bytes {
    event_line(
        "ERROR",
        &serde_json::to_vec(&err.to_status()).unwrap_or_default(),
    )
}

/// Renders events for one watch (JSON or Table rows).
struct Renderer {
    info: Arc<ResourceInfo>,
    filters: Filters,
    table: Option<crate::handlers::Query>,
    columns_sent: bool,
}

impl Renderer {
    fn object_bytes(&mut self, raw: &Bytes, decoded: Option<&Value>) -> Bytes {
        let Some(query) = &self.table else {
            return crate::crd::convert(&self.info, raw);
        };
        let obj = match decoded {
            Some(v) => v.clone(),
            None => serde_json::from_slice(raw).unwrap_or_default(),
        };
        let rv = crate::object::meta_str(&obj, "resourceVersion")
            .unwrap_or("")
            .to_string();
        let mut t = crate::table::table(&self.info, &[obj], &rv, query, None, false);
        if self.columns_sent {
            t["columnDefinitions"] = Value::Null;
            if let Some(m) = t.as_object_mut() {
                m.remove("columnDefinitions");
            }
        }
        self.columns_sent = true;
        Bytes::from(serde_json::to_vec(&t).unwrap_or_default())
    }

    /// The line for a store event, or None when filtered out.
    fn event(&mut self, ev: &kedge_store::Event) -> Option<Bytes> {
        if self.filters.is_empty() {
            let kind = match (ev.kind, &ev.prev) {
                (EventKind::Delete, _) => "DELETED",
                (EventKind::Put, None) => "ADDED",
                (EventKind::Put, Some(_)) => "MODIFIED",
            };
            let obj = self.object_bytes(&ev.kv.value, None);
            return Some(event_line(kind, &obj));
        }
        // Label, name and namespace selectors decide from the bytes; other
        // field selectors need the decoded objects.
        let raw = (
            self.filters.matches_raw(&ev.kv.value),
            ev.prev.as_ref().map(|p| self.filters.matches_raw(&p.value)),
        );
        let (new, new_matches, prev_matches) = match raw {
            (Some(n), None) => (None, n, false),
            (Some(n), Some(Some(p))) => (None, n, p),
            _ => {
                let new: Value = serde_json::from_slice(&ev.kv.value).ok()?;
                let new_matches = self.filters.matches(&new);
                let prev_matches = ev
                    .prev
                    .as_ref()
                    .and_then(|p| serde_json::from_slice::<Value>(&p.value).ok())
                    .is_some_and(|p| self.filters.matches(&p));
                (Some(new), new_matches, prev_matches)
            }
        };
        let kind = match ev.kind {
            EventKind::Delete if new_matches || prev_matches => "DELETED",
            EventKind::Delete => return None,
            EventKind::Put => match (new_matches, prev_matches) {
                (true, true) => "MODIFIED",
                (true, false) => "ADDED",
                (false, true) => "DELETED",
                (false, false) => return None,
            },
        };
        let obj = self.object_bytes(&ev.kv.value, new.as_ref());
        Some(event_line(kind, &obj))
    }
}

pub(crate) async fn watch(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let mut filters = Filters::parse(&ctx)?;
    if ctx.path.legacy_watch
        && let Some(name) = &ctx.path.name
    {
        let mut combined = format!("metadata.name={name}");
        if let Some(fs) = ctx.query.get("fieldSelector").filter(|s| !s.is_empty()) {
            combined.push(',');
            combined.push_str(fs);
        }
        filters.fields = FieldSelector::parse(&combined, &ctx.info)?;
    }
    let rv = ctx.query.get("resourceVersion").unwrap_or("").to_string();
    let send_initial = ctx.query.flag("sendInitialEvents");
    let bookmarks = ctx.query.flag("allowWatchBookmarks");
    if send_initial && (ctx.query.get("resourceVersionMatch") != Some("NotOlderThan") || !bookmarks)
    {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled and allowWatchBookmarks is set to true and resourceVersionMatch is set to NotOlderThan",
        ));
    }
    let timeout = match ctx.query.get("timeoutSeconds").filter(|s| !s.is_empty()) {
        Some(t) => t.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("timeoutSeconds: Invalid value: \"{t}\""))
        })?,
        None => DEFAULT_TIMEOUT,
    };
    let prefix = ctx.info.list_prefix(ctx.namespace());
    let store = ctx.api.store.clone();
    let (initial, start_rev): (Vec<Arc<kedge_store::KeyValue>>, Revision) =
        if send_initial || rv.is_empty() || rv == "0" {
            let list = store
                .list(ListOptions {
                    prefix: prefix.clone(),
                    ..Default::default()
                })
                .await
                .map_err(|e| from_store(e, &ctx.info, ""))?;
            (list.items, list.revision)
        } else {
            let n: Revision = rv.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "resourceVersion: Invalid value: \"{rv}\": must be a non-negative integer"
                ))
            })?;
            (Vec::new(), n)
        };
    let watcher = store.watch_from(&prefix, start_rev);
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut renderer = Renderer {
        info: ctx.info.clone(),
        filters,
        table: ctx.wants_table().then(|| ctx.query.clone()),
        columns_sent: false,
    };
    let info = ctx.info.clone();
    let mut shutdown = ctx.api.shutdown.clone();
    tokio::spawn(async move {
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                let _ = tx.send(error_event(&from_store(e, &info, ""))).await;
                return;
            }
        };
        for kv in &initial {
            let line = if renderer.filters.is_empty() {
                let obj = renderer.object_bytes(&kv.value, None);
                Some(event_line("ADDED", &obj))
            } else {
                let v: Value = match registry::decode(kv) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                renderer.filters.matches(&v).then(|| {
                    let obj = renderer.object_bytes(&kv.value, Some(&v));
                    event_line("ADDED", &obj)
                })
            };
            if let Some(line) = line
                && tx.send(line).await.is_err()
            {
                return;
            }
        }
        if send_initial && tx.send(bookmark(&info, start_rev, true)).await.is_err() {
            return;
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        loop {
            tokio::select! {
                ev = watcher.next() => match ev {
                    Some(Ok(ev)) => {
                        if let Some(line) = renderer.event(&ev)
                            && tx.send(line).await.is_err() {
                                return;
                            }
                    }
                    Some(Err(e)) => {
                        let err = match e {
                            StoreError::Compacted { .. } => from_store(e, &info, ""),
                            other => ApiError::internal(other.to_string()),
                        };
                        let _ = tx.send(error_event(&err)).await;
                        return;
                    }
                    None => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(bookmark(&info, watcher.progress(), false)).await.is_err() {
                        return;
                    }
                }
                _ = &mut deadline => {
                    if bookmarks {
                        let _ = tx.send(bookmark(&info, watcher.progress(), false)).await;
                    }
                    return;
                }
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let body: Body = StreamBody::new(stream).boxed_unsync();
    Ok(Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("Cache-Control", "no-cache, private")
        .body(body)
        .expect("valid response"))
}
