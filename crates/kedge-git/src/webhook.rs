//! Push webhooks from GitHub, GitLab, Gitea, Gogs, Bitbucket Cloud and
//! Bitbucket Server.
//!
//! [`router`] serves `POST /api/webhook`. The provider is recognised by its
//! event header (`X-Gitea-Event` and `X-Gogs-Event` are checked before
//! `X-GitHub-Event`, which Gitea also sends; `X-Event-Key` with
//! `X-Hook-UUID` is Bitbucket Cloud, without it Bitbucket Server). The body
//! is read up to a cap (413 beyond), authenticated before it is parsed
//! (HMAC-SHA256 signatures, GitLab's token, Bitbucket Cloud's hook UUID; all
//! compared in constant time; 401 on mismatch; a provider without a
//! configured secret is accepted unauthenticated), then parsed into
//! [`PushEvent`]s (400 when malformed). Events other than pushes are
//! acknowledged with 202 and ignored. Handling never panics on input.
//! Accepted pushes go to a [`PushHandler`], which must not block: it
//! typically spawns the fetch and refresh.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::redact::Redacted;

/// Default body cap: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Secrets and limits of the webhook endpoint.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// GitHub's webhook secret (`X-Hub-Signature-256`).
    pub github_secret: Option<Redacted<String>>,
    /// GitLab's secret token (`X-Gitlab-Token`).
    pub gitlab_secret: Option<Redacted<String>>,
    /// Gitea's webhook secret (`X-Gitea-Signature`).
    pub gitea_secret: Option<Redacted<String>>,
    /// Gogs' webhook secret (`X-Gogs-Signature`).
    pub gogs_secret: Option<Redacted<String>>,
    /// Bitbucket Cloud hook UUID (`X-Hook-UUID`), braces optional.
    pub bitbucket_uuid: Option<Redacted<String>>,
    /// Bitbucket Server's webhook secret (`X-Hub-Signature`).
    pub bitbucket_server_secret: Option<Redacted<String>>,
    /// Largest accepted body.
    pub max_body_bytes: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            github_secret: None,
            gitlab_secret: None,
            gitea_secret: None,
            gogs_secret: None,
            bitbucket_uuid: None,
            bitbucket_server_secret: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The Git hosting product that sent a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub and GitHub Enterprise.
    GitHub,
    /// GitLab.
    GitLab,
    /// Gitea (and Forgejo).
    Gitea,
    /// Gogs.
    Gogs,
    /// Bitbucket Cloud.
    BitbucketCloud,
    /// Bitbucket Server / Data Center.
    BitbucketServer,
}

/// One pushed ref.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PushEvent {
    /// Who sent it.
    pub provider: Provider,
    /// Every clone/web URL form the payload gives for the repository.
    pub repo_urls: Vec<String>,
    /// The full ref (`refs/heads/main`, `refs/tags/v1.2.0`).
    pub git_ref: String,
    /// The short name of the ref (`main`, `v1.2.0`).
    pub revision: String,
    /// Commit before the push (`None` when the ref was created).
    pub before: Option<String>,
    /// Commit after the push (`None` when the ref was deleted).
    pub after: Option<String>,
    /// Paths added, modified or removed, when the payload lists them.
    pub changed_paths: Option<Vec<String>>,
}

/// Receives accepted pushes. Must return quickly (spawn the work).
pub trait PushHandler: Send + Sync + 'static {
    /// Called once per pushed ref.
    fn on_push(&self, event: PushEvent);
}

/// Why a request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No known provider event header.
    #[error("no recognised webhook event header")]
    UnknownProvider,
    /// Signature, token or UUID missing or wrong.
    #[error("{0:?} webhook: signature or token does not match")]
    Unauthorized(Provider),
    /// The payload is not the JSON shape of the event.
    #[error("{provider:?} webhook: malformed payload: {reason}")]
    Malformed { provider: Provider, reason: String },
    /// Body over the cap.
    #[error("webhook body exceeds {0} bytes")]
    TooLarge(usize),
}

impl WebhookError {
    fn status(&self) -> StatusCode {
        match self {
            WebhookError::UnknownProvider | WebhookError::Malformed { .. } => {
                StatusCode::BAD_REQUEST
            }
            WebhookError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            WebhookError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

/// What a valid request amounted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Pushed refs to hand to the handler.
    Push(Vec<PushEvent>),
    /// A valid event that is not a push (ping, issues, ...).
    Ignored { provider: Provider, event: String },
}

struct AppState {
    handler: Arc<dyn PushHandler>,
    config: WebhookConfig,
}

/// The webhook endpoint: `POST /api/webhook`.
pub fn router(handler: Arc<dyn PushHandler>, config: WebhookConfig) -> axum::Router {
    let limit = config.max_body_bytes;
    axum::Router::new()
        .route("/api/webhook", axum::routing::post(receive))
        // axum's own limit sits above ours so oversize bodies get our 413.
        .layer(axum::extract::DefaultBodyLimit::max(
            limit.saturating_add(1),
        ))
        .with_state(Arc::new(AppState { handler, config }))
}

async fn receive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let limit = state.config.max_body_bytes;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return reject(WebhookError::TooLarge(limit));
    }
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return reject(WebhookError::TooLarge(limit)),
    };
    match parse_request(&headers, &bytes, &state.config) {
        Ok(WebhookOutcome::Push(events)) => {
            let n = events.len();
            for ev in events {
                tracing::info!(provider = ?ev.provider, git_ref = %ev.git_ref, "webhook push");
                state.handler.on_push(ev);
            }
            (
                StatusCode::OK,
                axum::Json(serde_json::json!({ "pushes": n })),
            )
                .into_response()
        }
        Ok(WebhookOutcome::Ignored { provider, event }) => {
            tracing::debug!(?provider, %event, "webhook event ignored");
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({ "ignored": event })),
            )
                .into_response()
        }
        Err(e) => reject(e),
    }
}

fn reject(e: WebhookError) -> Response {
    tracing::warn!(error = %e, "webhook rejected");
    (e.status(), e.to_string()).into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Recognises, authenticates and parses one webhook request.
pub fn parse_request(
    headers: &HeaderMap,
    body: &[u8],
    cfg: &WebhookConfig,
) -> Result<WebhookOutcome, WebhookError> {
    if body.len() > cfg.max_body_bytes {
        return Err(WebhookError::TooLarge(cfg.max_body_bytes));
    }
    let (provider, event) = if let Some(e) = header(headers, "x-gitea-event") {
        (Provider::Gitea, e)
    } else if let Some(e) = header(headers, "x-gogs-event") {
        (Provider::Gogs, e)
    } else if let Some(e) = header(headers, "x-github-event") {
        (Provider::GitHub, e)
    } else if let Some(e) = header(headers, "x-gitlab-event") {
        (Provider::GitLab, e)
    } else if let Some(e) = header(headers, "x-event-key") {
        let cloud = headers.contains_key("x-hook-uuid")
            || header(headers, "user-agent").is_some_and(|u| u.starts_with("Bitbucket-Webhooks"));
        (
            if cloud {
                Provider::BitbucketCloud
            } else {
                Provider::BitbucketServer
            },
            e,
        )
    } else {
        return Err(WebhookError::UnknownProvider);
    };
    authenticate(provider, headers, body, cfg)?;
    let is_push = match provider {
        Provider::GitHub | Provider::Gitea | Provider::Gogs => event == "push",
        Provider::GitLab => matches!(event, "Push Hook" | "Tag Push Hook" | "System Hook"),
        Provider::BitbucketCloud => event == "repo:push",
        Provider::BitbucketServer => event == "repo:refs_changed",
    };
    if !is_push {
        return Ok(WebhookOutcome::Ignored {
            provider,
            event: event.to_owned(),
        });
    }
    let malformed = |reason: &str| WebhookError::Malformed {
        provider,
        reason: reason.to_owned(),
    };
    let v: Value =
        serde_json::from_slice(body).map_err(|e| malformed(&format!("invalid JSON: {e}")))?;
    if !v.is_object() {
        return Err(malformed("payload is not a JSON object"));
    }
    if provider == Provider::GitLab
        && event == "System Hook"
        && v["object_kind"] != "push"
        && v["object_kind"] != "tag_push"
    {
        return Ok(WebhookOutcome::Ignored {
            provider,
            event: event.to_owned(),
        });
    }
    let events = match provider {
        Provider::GitHub | Provider::Gitea | Provider::Gogs | Provider::GitLab => {
            parse_simple(provider, &v)?
        }
        Provider::BitbucketCloud => parse_bitbucket_cloud(&v)?,
        Provider::BitbucketServer => parse_bitbucket_server(&v)?,
    };
    Ok(WebhookOutcome::Push(events))
}

fn authenticate(
    provider: Provider,
    h: &HeaderMap,
    body: &[u8],
    cfg: &WebhookConfig,
) -> Result<(), WebhookError> {
    let deny = Err(WebhookError::Unauthorized(provider));
    let ok = match provider {
        Provider::GitHub => match &cfg.github_secret {
            None => true,
            Some(s) => header(h, "x-hub-signature-256")
                .and_then(|sig| sig.strip_prefix("sha256="))
                .is_some_and(|sig| hmac_matches(s.expose(), body, sig)),
        },
        Provider::Gitea => match &cfg.gitea_secret {
            None => true,
            Some(s) => header(h, "x-gitea-signature")
                .is_some_and(|sig| hmac_matches(s.expose(), body, sig)),
        },
        Provider::Gogs => match &cfg.gogs_secret {
            None => true,
            Some(s) => {
                header(h, "x-gogs-signature").is_some_and(|sig| hmac_matches(s.expose(), body, sig))
            }
        },
        Provider::GitLab => match &cfg.gitlab_secret {
            None => true,
            Some(s) => header(h, "x-gitlab-token")
                .is_some_and(|t| ct_eq(t.as_bytes(), s.expose().as_bytes())),
        },
        Provider::BitbucketCloud => match &cfg.bitbucket_uuid {
            None => true,
            Some(u) => header(h, "x-hook-uuid").is_some_and(|got| {
                let norm = |x: &str| {
                    x.trim_matches(|c| c == '{' || c == '}')
                        .to_ascii_lowercase()
                };
                ct_eq(norm(got).as_bytes(), norm(u.expose()).as_bytes())
            }),
        },
        Provider::BitbucketServer => match &cfg.bitbucket_server_secret {
            None => true,
            Some(s) => header(h, "x-hub-signature")
                .and_then(|sig| sig.strip_prefix("sha256="))
                .is_some_and(|sig| hmac_matches(s.expose(), body, sig)),
        },
    };
    if ok { Ok(()) } else { deny }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn hmac_matches(secret: &str, body: &[u8], hex_sig: &str) -> bool {
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// HMAC-SHA256 of `body` under `secret`, lower-case hex (for senders and tests).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn short_ref(r: &str) -> String {
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .unwrap_or(r)
        .to_owned()
}

fn sha(v: &Value) -> Option<String> {
    v.as_str()
        .filter(|s| !s.is_empty() && !s.bytes().all(|b| b == b'0'))
        .map(str::to_owned)
}

fn push_url(urls: &mut Vec<String>, v: &Value) {
    if let Some(s) = v.as_str().filter(|s| !s.is_empty())
        && !urls.iter().any(|u| u == s)
    {
        urls.push(s.to_owned());
    }
}

/// GitHub, GitLab, Gitea and Gogs share the push shape: `ref`, `before`,
/// `after`, `commits[].{added,modified,removed}` and repository URLs.
fn parse_simple(provider: Provider, v: &Value) -> Result<Vec<PushEvent>, WebhookError> {
    let malformed = |reason: &str| WebhookError::Malformed {
        provider,
        reason: reason.to_owned(),
    };
    let git_ref = v["ref"]
        .as_str()
        .ok_or_else(|| malformed("missing \"ref\""))?;
    let mut urls = Vec::new();
    let repo = &v["repository"];
    for k in [
        "clone_url",
        "ssh_url",
        "git_url",
        "html_url",
        "url",
        "git_http_url",
        "git_ssh_url",
        "homepage",
    ] {
        push_url(&mut urls, &repo[k]);
    }
    let project = &v["project"];
    for k in [
        "git_http_url",
        "git_ssh_url",
        "http_url",
        "ssh_url",
        "web_url",
    ] {
        push_url(&mut urls, &project[k]);
    }
    if urls.is_empty() {
        return Err(malformed("no repository URL"));
    }
    let changed_paths = v["commits"].as_array().map(|commits| {
        let mut paths: Vec<String> = Vec::new();
        for c in commits.iter().chain(std::iter::once(&v["head_commit"])) {
            for k in ["added", "modified", "removed"] {
                for p in c[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !paths.iter().any(|x| x == p) {
                        paths.push(p.to_owned());
                    }
                }
            }
        }
        paths
    });
    Ok(vec![PushEvent {
        provider,
        repo_urls: urls,
        git_ref: git_ref.to_owned(),
        revision: short_ref(git_ref),
        before: sha(&v["before"]),
        after: sha(&v["after"]),
        changed_paths,
    }])
}

fn parse_bitbucket_cloud(v: &Value) -> Result<Vec<PushEvent>, WebhookError> {
    let provider = Provider::BitbucketCloud;
    let malformed = |reason: &str| WebhookError::Malformed {
        provider,
        reason: reason.to_owned(),
    };
    let repo = &v["repository"];
    let full_name = repo["full_name"]
        .as_str()
        .ok_or_else(|| malformed("missing repository.full_name"))?;
    let html = repo["links"]["html"]["href"].as_str().unwrap_or("");
    let host = html
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|h| !h.is_empty())
        .unwrap_or("bitbucket.org");
    let mut urls = Vec::new();
    push_url(&mut urls, &Value::from(html));
    push_url(
        &mut urls,
        &Value::from(format!("https://{host}/{full_name}.git")),
    );
    push_url(
        &mut urls,
        &Value::from(format!("git@{host}:{full_name}.git")),
    );
    let changes = v["push"]["changes"]
        .as_array()
        .ok_or_else(|| malformed("missing push.changes"))?;
    let mut out = Vec::new();
    for ch in changes {
        let side = if ch["new"].is_object() {
            &ch["new"]
        } else {
            &ch["old"]
        };
        let name = side["name"]
            .as_str()
            .ok_or_else(|| malformed("change without a ref name"))?;
        let prefix = if side["type"] == "tag" {
            "refs/tags/"
        } else {
            "refs/heads/"
        };
        out.push(PushEvent {
            provider,
            repo_urls: urls.clone(),
            git_ref: format!("{prefix}{name}"),
            revision: name.to_owned(),
            before: sha(&ch["old"]["target"]["hash"]),
            after: sha(&ch["new"]["target"]["hash"]),
            changed_paths: None,
        });
    }
    Ok(out)
}

fn parse_bitbucket_server(v: &Value) -> Result<Vec<PushEvent>, WebhookError> {
    let provider = Provider::BitbucketServer;
    let malformed = |reason: &str| WebhookError::Malformed {
        provider,
        reason: reason.to_owned(),
    };
    let clones = v["repository"]["links"]["clone"]
        .as_array()
        .ok_or_else(|| malformed("missing repository.links.clone"))?;
    let mut urls = Vec::new();
    for c in clones {
        push_url(&mut urls, &c["href"]);
    }
    if urls.is_empty() {
        return Err(malformed("no clone URL"));
    }
    let changes = v["changes"]
        .as_array()
        .ok_or_else(|| malformed("missing changes"))?;
    let mut out = Vec::new();
    for ch in changes {
        let git_ref = ch["refId"]
            .as_str()
            .or_else(|| ch["ref"]["id"].as_str())
            .ok_or_else(|| malformed("change without refId"))?;
        out.push(PushEvent {
            provider,
            repo_urls: urls.clone(),
            git_ref: git_ref.to_owned(),
            revision: short_ref(git_ref),
            before: sha(&ch["fromHash"]),
            after: sha(&ch["toHash"]),
            changed_paths: None,
        });
    }
    Ok(out)
}
