//! Webhooks: recorded payload shapes of every provider, replayed through
//! the router (valid, wrong secret, malformed, oversized, other events),
//! and an end-to-end push → fetch → refresh over a real socket.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use http_body_util::BodyExt as _;
use kedge_git::webhook::{self, PushEvent, PushHandler, WebhookConfig};
use kedge_git::{FetchOutcome, GitError, Redacted, RefreshListener, Refresher, RepoUrl};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::ServiceExt as _;

use crate::support::{HttpGit, Upstream, cache};

const GITHUB: &str = "gh-secret-0123";
const GITLAB: &str = "gl-token-0123";
const GITEA: &str = "gitea-secret-0123";
const GOGS: &str = "gogs-secret-0123";
const BB_UUID: &str = "{82b4e0d5-3e9c-4c43-8f8b-2d5b1f0a7c11}";
const BBS: &str = "bbs-secret-0123";

fn config() -> WebhookConfig {
    WebhookConfig {
        github_secret: Some(Redacted::secret(GITHUB)),
        gitlab_secret: Some(Redacted::secret(GITLAB)),
        gitea_secret: Some(Redacted::secret(GITEA)),
        gogs_secret: Some(Redacted::secret(GOGS)),
        bitbucket_uuid: Some(Redacted::new(BB_UUID.to_owned())),
        bitbucket_server_secret: Some(Redacted::secret(BBS)),
        ..WebhookConfig::default()
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<PushEvent>>);

impl PushHandler for Recorder {
    fn on_push(&self, event: PushEvent) {
        self.0.lock().unwrap().push(event);
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhook")
}

fn secret_of(provider: &str) -> &'static str {
    match provider {
        "github" => GITHUB,
        "gitlab" => GITLAB,
        "gitea" => GITEA,
        "gogs" => GOGS,
        "bitbucket-cloud" => BB_UUID,
        "bitbucket-server" => BBS,
        other => panic!("unknown provider {other}"),
    }
}

/// Builds the request of a fixture: the body (padded when asked), and the
/// headers with `{{hmac}}`/`{{secret}}` filled in with the right secret, or
/// a wrong one when the case says so.
fn request(provider: &str, case: &Value) -> Result<http::Request<axum::body::Body>> {
    let mut body = match &case["body_raw"] {
        Value::String(s) => s.clone().into_bytes(),
        _ => serde_json::to_vec(&case["body"])?,
    };
    if let Some(n) = case["pad_body_to"].as_u64() {
        body.resize(n as usize, b' ');
    }
    let secret = if case["sign_with"] == "wrong" {
        "not-the-secret"
    } else {
        secret_of(provider)
    };
    let mut req = http::Request::builder().method("POST").uri("/api/webhook");
    for (k, v) in case["headers"].as_object().context("headers")? {
        let v = v
            .as_str()
            .context("header value")?
            .replace("{{hmac}}", &webhook::sign(secret, &body))
            .replace("{{secret}}", secret);
        req = req.header(k.as_str(), v);
    }
    Ok(req.body(axum::body::Body::from(body))?)
}

#[tokio::test]
async fn recorded_payloads_of_every_provider() -> Result<()> {
    let mut cases = 0;
    let mut providers: Vec<_> = std::fs::read_dir(fixtures())?.collect::<Result<_, _>>()?;
    providers.sort_by_key(|e| e.file_name());
    for p in providers {
        let provider = p.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(p.path())?.collect::<Result<_, _>>()?;
        files.sort_by_key(|e| e.file_name());
        for f in files {
            let case: Value = serde_json::from_slice(&std::fs::read(f.path())?)?;
            let name = format!("{provider}/{}", f.file_name().to_string_lossy());
            let recorder = Arc::new(Recorder::default());
            let app = webhook::router(recorder.clone(), config());
            let resp = app.oneshot(request(&provider, &case)?).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            assert_eq!(
                Some(u64::from(status)),
                case["expect"]["status"].as_u64(),
                "{name}: {}",
                String::from_utf8_lossy(&body)
            );
            let got = serde_json::to_value(&*recorder.0.lock().unwrap())?;
            let want = case["expect"]
                .get("events")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            assert_eq!(got, want, "{name}");
            // No secret ever appears in a response.
            let text = String::from_utf8_lossy(&body);
            assert!(!text.contains(secret_of(&provider)), "{name}: {text}");
            cases += 1;
        }
    }
    assert_eq!(cases, 30, "6 providers x 5 cases");
    Ok(())
}

#[tokio::test]
async fn unknown_senders_and_unsigned_requests() -> Result<()> {
    let recorder = Arc::new(Recorder::default());
    let app = webhook::router(recorder.clone(), config());
    let req = http::Request::post("/api/webhook").body(axum::body::Body::from("{}"))?;
    assert_eq!(app.clone().oneshot(req).await?.status(), 400);
    // A configured secret makes the signature mandatory.
    let req = http::Request::post("/api/webhook")
        .header("X-GitHub-Event", "push")
        .body(axum::body::Body::from("{}"))?;
    assert_eq!(app.clone().oneshot(req).await?.status(), 401);
    // Garbage signature header: 401, not a panic.
    let req = http::Request::post("/api/webhook")
        .header("X-GitHub-Event", "push")
        .header("X-Hub-Signature-256", "sha256=zz!!")
        .body(axum::body::Body::from("{}"))?;
    assert_eq!(app.clone().oneshot(req).await?.status(), 401);
    // Without a configured secret the provider is accepted unauthenticated.
    let open = webhook::router(recorder.clone(), WebhookConfig::default());
    let body = r#"{"ref":"refs/heads/main","before":"a","after":"b","repository":{"clone_url":"https://h/x.git"}}"#;
    let req = http::Request::post("/api/webhook")
        .header("X-GitHub-Event", "push")
        .body(axum::body::Body::from(body))?;
    assert_eq!(open.clone().oneshot(req).await?.status(), 200);
    // Valid JSON of the wrong shape is a 400.
    let req = http::Request::post("/api/webhook")
        .header("X-GitHub-Event", "push")
        .body(axum::body::Body::from("[1,2,3]"))?;
    assert_eq!(open.oneshot(req).await?.status(), 400);
    assert_eq!(recorder.0.lock().unwrap().len(), 1);
    Ok(())
}

struct Notify(tokio::sync::mpsc::UnboundedSender<(String, Result<FetchOutcome, GitError>)>);

impl RefreshListener for Notify {
    fn on_refreshed(
        &self,
        repo: &RepoUrl,
        result: &Result<FetchOutcome, GitError>,
        _push: Option<&PushEvent>,
    ) {
        let _ = self.0.send((repo.key(), result.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_webhook_fetches_and_notifies() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "runtime")?;
    up.commit(&[("apps/web/k.yaml", "v: 1\n")], "one")?;
    let http = HttpGit::start(tmp.path(), None).await?;
    let c = Arc::new(cache(tmp.path())?);
    let url = RepoUrl::parse(&http.url("runtime"))?;
    c.fetch_repo(&url).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let refresher = Refresher::new(c.clone(), Arc::new(Notify(tx)));
    refresher.watch(url.clone());
    let app = webhook::router(refresher.clone(), config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let new = up.commit(&[("apps/web/k.yaml", "v: 2\n")], "two")?;
    // The payload names the repository by another spelling of its URL.
    let body = serde_json::to_vec(&serde_json::json!({
        "ref": "refs/heads/main", "before": "0", "after": new,
        "repository": { "clone_url": format!("http://127.0.0.1:{}/runtime", http.port) },
        "commits": [{ "added": [], "removed": [], "modified": ["apps/web/k.yaml"] }]
    }))?;
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let head = format!(
        "POST /api/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n\
         X-Hub-Signature-256: sha256={}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        webhook::sign(GITHUB, &body),
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(&body).await?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).await?;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let (key, result) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await?
        .context("listener")?;
    assert_eq!(key, url.key());
    let outcome = result?;
    assert_eq!(outcome.refs.heads["main"], new);
    assert!(
        outcome
            .updates
            .iter()
            .any(|u| u.name == "refs/heads/main" && u.new.as_deref() == Some(&new))
    );
    server.abort();
    Ok(())
}
