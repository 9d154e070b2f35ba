//! LIST: `limit`/`continue` pagination over a consistent snapshot,
//! `resourceVersion`/`resourceVersionMatch`, label and field selectors, and
//! Table output. Unfiltered JSON lists splice the stored bytes of every item
//! into the response without decoding them.

use base64::Engine;
use http::Response;
use kedge_store::{ListOptions, Revision};
use serde_json::{Value, json};

use super::{Body, Ctx, bytes_response, json_response};
use crate::registry;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, from_store};

/// Store page size while filtering.
const SCAN_PAGE: usize = 1000;

/// Selectors and filters of a list or watch request.
pub(crate) struct Filters {
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
}

impl Filters {
    pub(crate) fn parse(ctx: &Ctx) -> Result<Filters, ApiError> {
        Ok(Filters {
            labels: LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or(""))?,
            fields: FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or(""), &ctx.info)?,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    /// Decides from the stored bytes without decoding the whole object,
    /// when the selectors only look at labels, name and namespace; None
    /// when the object has to be decoded.
    pub(crate) fn matches_raw(&self, raw: &[u8]) -> Option<bool> {
        if !self.fields.is_metadata_only() {
            return None;
        }
        let meta = crate::selector::RawMeta::parse(raw)?;
        Some(self.labels.matches_raw(&meta) && self.fields.matches_raw(&meta))
    }
}

fn encode_continue(rev: Revision, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rev, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(token: &str) -> Result<(Revision, String), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(token))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rev = v.get("rv").and_then(Value::as_i64).ok_or_else(bad)?;
    let start = v
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(bad)?
        .to_string();
    Ok((rev, start))
}

/// The snapshot revision a list reads at (None = latest).
pub(crate) fn list_revision(ctx: &Ctx, limit: usize) -> Result<Option<Revision>, ApiError> {
    let rv = ctx.query.get("resourceVersion").unwrap_or("");
    let matching = ctx.query.get("resourceVersionMatch").unwrap_or("");
    if rv.is_empty() || rv == "0" {
        if matching == "Exact" {
            return Err(ApiError::bad_request(
                "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
        return Ok(None);
    }
    let n: Revision = rv.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "resourceVersion: Invalid value: \"{rv}\": must be a non-negative integer"
        ))
    })?;
    let current = ctx.api.store.current_revision();
    if n > current {
        return Err(from_store(
            kedge_store::StoreError::FutureRevision {
                requested: n,
                current,
            },
            &ctx.info,
            "",
        ));
    }
    match matching {
        "Exact" => Ok(Some(n)),
        "NotOlderThan" => Ok(None),
        "" if limit > 0 => Ok(Some(n)),
        "" => Ok(None),
        other => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

/// One page of matching items.
pub(crate) struct Page {
    pub(crate) items: Vec<std::sync::Arc<kedge_store::KeyValue>>,
    pub(crate) decoded: Option<Vec<Value>>,
    pub(crate) revision: Revision,
    pub(crate) continue_token: Option<String>,
    pub(crate) remaining: Option<usize>,
}

pub(crate) async fn read_page(
    ctx: &Ctx,
    filters: &Filters,
    need_decoded: bool,
) -> Result<Page, ApiError> {
    let limit: usize = match ctx.query.get("limit") {
        Some(l) if !l.is_empty() => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("limit: Invalid value: \"{l}\"")))?,
        _ => 0,
    };
    let prefix = ctx.info.list_prefix(ctx.namespace());
    let (mut revision, mut start) = match ctx.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rev, start) = decode_continue(token)?;
            if rev < ctx.api.store.compact_revision() {
                return Err(ApiError::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                ));
            }
            (Some(rev), Some(start))
        }
        None => (list_revision(ctx, limit)?, None),
    };
    let mut items = Vec::new();
    let mut decoded = Vec::new();
    let mut more;
    let mut remaining;
    loop {
        let page_limit = if limit == 0 {
            0
        } else if filters.is_empty() {
            limit
        } else {
            limit.max(SCAN_PAGE)
        };
        let result = ctx
            .api
            .store
            .list(ListOptions {
                prefix: prefix.clone(),
                revision,
                start_after: start.clone(),
                limit: page_limit,
            })
            .await
            .map_err(|e| from_store(e, &ctx.info, ""))?;
        revision = Some(result.revision);
        more = result.more;
        remaining = result.remaining;
        let count = result.items.len();
        let mut consumed = 0;
        for kv in result.items {
            consumed += 1;
            if filters.is_empty() && !need_decoded {
                start = Some(kv.key.clone());
                items.push(kv);
            } else if let Some(m) = (!need_decoded)
                .then(|| filters.matches_raw(&kv.value))
                .flatten()
            {
                start = Some(kv.key.clone());
                if m {
                    items.push(kv);
                }
            } else {
                let obj = registry::decode(&kv)?;
                start = Some(kv.key.clone());
                if filters.matches(&obj) {
                    items.push(kv);
                    if need_decoded {
                        decoded.push(obj);
                    }
                }
            }
            if limit > 0 && items.len() == limit {
                break;
            }
        }
        if consumed < count {
            more = true;
            remaining = None;
        }
        if !more || (limit > 0 && items.len() >= limit) || limit == 0 {
            break;
        }
    }
    if !filters.is_empty() {
        remaining = None;
    }
    let revision = revision.unwrap_or_else(|| ctx.api.store.current_revision());
    let continue_token =
        (more && limit > 0).then(|| encode_continue(revision, start.as_deref().unwrap_or("")));
    Ok(Page {
        items,
        decoded: need_decoded.then_some(decoded),
        revision,
        continue_token,
        remaining: if continue_token_some(more, limit) {
            remaining
        } else {
            None
        },
    })
}

fn continue_token_some(more: bool, limit: usize) -> bool {
    more && limit > 0
}

pub(crate) async fn list(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let filters = Filters::parse(ctx)?;
    let table = ctx.wants_table();
    let page = read_page(ctx, &filters, table).await?;
    if table {
        let objs = page.decoded.unwrap_or_default();
        let t = crate::table::table(
            &ctx.info,
            &objs,
            &page.revision.to_string(),
            &ctx.query,
            page.continue_token.as_deref(),
            false,
        );
        return Ok(json_response(200, &t));
    }
    let mut meta = serde_json::Map::new();
    meta.insert("resourceVersion".into(), json!(page.revision.to_string()));
    if let Some(c) = &page.continue_token {
        meta.insert("continue".into(), json!(c));
        if let Some(r) = page.remaining {
            meta.insert("remainingItemCount".into(), json!(r));
        }
    }
    let head = json!({
        "kind": format!("{}List", ctx.info.kind),
        "apiVersion": ctx.info.group_version(),
        "metadata": meta,
    });
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    out.pop(); // the closing brace
    let size: usize = page.items.iter().map(|kv| kv.value.len() + 1).sum();
    out.reserve(size + 16);
    out.extend_from_slice(b",\"items\":[");
    for (i, kv) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&crate::crd::convert(&ctx.info, &kv.value));
    }
    out.extend_from_slice(b"]}");
    Ok(bytes_response(200, "application/json", out))
}
