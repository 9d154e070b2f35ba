//! Git triggers with the controller running: a signed GitHub push webhook
//! applies the pushed commit, an unsigned one is refused, and polling picks
//! up a new commit on its own, queueing only applications whose paths the
//! commit touched.

use std::time::Duration;

use serde_json::json;

use crate::self_heal::{app, synced_at};
use crate::support::{Env, Running, apply, eventually, http, serve};

const CM1: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: one\n";
const CM2: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: two\n";

async fn value(env: &Env, ns: &str) -> Option<String> {
    env.get("v1", "ConfigMap", ns, "a")
        .await
        .and_then(|cm| cm["data"]["v"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_github_push_applies_the_commit() {
    let env = Env::start_with(|cc| {
        cc.resync = Duration::from_secs(3600);
        cc.full_resync = Duration::ZERO;
        cc.webhook.github_secret = Some(kedge_git::Redacted::new("hook-secret".to_string()));
    })
    .await;
    let first = env.commit(&[("app/a.yaml", CM1)], "one");
    let _running = Running::start(&env.controller);
    let (addr, _server) = serve(env.controller.router()).await;
    apply(
        &env.client,
        &app("hooked", &env.repo_url(), "app", "hooked"),
    )
    .await;
    synced_at(&env, "hooked", &first).await;

    let second = env.commit(&[("app/a.yaml", CM2)], "two");
    let payload = json!({
        "ref": "refs/heads/main",
        "before": first,
        "after": second,
        "repository": {"clone_url": env.repo_url(), "html_url": env.repo_url()},
        "commits": [{"id": second, "added": [], "modified": ["app/a.yaml"], "removed": []}],
    })
    .to_string();

    // Wrong signature: refused, nothing fetched.
    let bad = format!(
        "sha256={}",
        kedge_git::webhook::sign("other", payload.as_bytes())
    );
    let (status, _) = http(
        addr,
        "POST",
        "/api/webhook",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &bad),
            ("Content-Type", "application/json"),
        ],
        payload.as_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(value(&env, "hooked").await.as_deref(), Some("one"));

    let good = format!(
        "sha256={}",
        kedge_git::webhook::sign("hook-secret", payload.as_bytes())
    );
    let (status, body) = http(
        addr,
        "POST",
        "/api/webhook",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &good),
            ("Content-Type", "application/json"),
        ],
        payload.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    synced_at(&env, "hooked", &second).await;
    assert_eq!(value(&env, "hooked").await.as_deref(), Some("two"));

    let (status, body) = http(addr, "GET", "/healthz", &[], b"").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
}

/// The count of a metric sample line (`name value`), 0 when absent.
pub(crate) fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_detects_a_new_commit_touching_the_app() {
    let env = Env::start_with(|cc| {
        cc.resync = Duration::from_millis(300);
        cc.full_resync = Duration::ZERO;
    })
    .await;
    let first = env.commit(&[("app/a.yaml", CM1)], "one");
    let _running = Running::start(&env.controller);
    apply(
        &env.client,
        &app("polled", &env.repo_url(), "app", "polled"),
    )
    .await;
    synced_at(&env, "polled", &first).await;

    // A commit under the app's path: applied by the poll alone.
    let second = env.commit(&[("app/a.yaml", CM2)], "two");
    synced_at(&env, "polled", &second).await;
    assert_eq!(value(&env, "polled").await.as_deref(), Some("two"));

    // Let the reconciles caused by the sync itself settle: wait for two
    // polls with no reconcile in between.
    let metrics = env.controller.metrics();
    let reconciles = |m: &str| sample(m, "kedge_app_reconcile_total{result=\"success\"}");
    let fetches = |m: &str| sample(m, "kedge_git_fetch_duration_seconds_count");
    let settled = eventually(30, "reconciles to settle", || async {
        let m1 = metrics.encode();
        let (r1, f1) = (reconciles(&m1), fetches(&m1));
        eventually(10, "two polls", || async {
            (fetches(&metrics.encode()) >= f1 + 2.0).then_some(())
        })
        .await;
        (reconciles(&metrics.encode()) == r1).then_some(r1)
    })
    .await;

    // A commit elsewhere in the repository: fetched by the next polls but
    // the application is not queued.
    let third = env.commit(&[("docs/readme.md", "docs\n")], "docs only");
    let f0 = fetches(&metrics.encode());
    eventually(10, "two more polls", || async {
        (fetches(&metrics.encode()) >= f0 + 2.0).then_some(())
    })
    .await;
    assert_eq!(
        reconciles(&metrics.encode()),
        settled,
        "unrelated commit queued the app"
    );
    let st = env.app("polled").await;
    assert_eq!(st["status"]["sync"]["revision"], second.as_str());
    assert_ne!(second, third);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revert_of_a_bad_commit_is_applied_by_the_poll() {
    let env = Env::start_with(|cc| {
        cc.resync = Duration::from_millis(300);
        cc.full_resync = Duration::ZERO;
        // Only the poll may bring the revert in.
        cc.blocked_retry = Duration::from_secs(3600);
    })
    .await;
    let good = env.commit(&[("app/a.yaml", CM1)], "one");
    let _running = Running::start(&env.controller);
    apply(
        &env.client,
        &app("reverted", &env.repo_url(), "app", "reverted"),
    )
    .await;
    synced_at(&env, "reverted", &good).await;

    // An invalid commit: the app keeps the last good revision with an error.
    env.commit(&[("app/a.yaml", "kind: [unclosed\n")], "broken");
    eventually(30, "comparison error", || async {
        let st = env.app("reverted").await;
        let conds = st["status"]["conditions"].as_array()?.clone();
        conds
            .iter()
            .any(|c| c["type"] == "ComparisonError")
            .then_some(())
    })
    .await;
    let st = env.app("reverted").await;
    assert_eq!(st["status"]["sync"]["revision"], good.as_str());

    // `git revert`: the tree equals the good commit's, no path differs
    // from the status revision, yet the app must move to the revert.
    crate::support::git(&env.repo, &["revert", "--no-edit", "HEAD"]);
    let revert = crate::support::git(&env.repo, &["rev-parse", "HEAD"]);
    synced_at(&env, "reverted", &revert).await;
    let st = env.app("reverted").await;
    assert!(
        !st["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "ComparisonError"),
        "{st:#}"
    );
    assert_eq!(value(&env, "reverted").await.as_deref(), Some("one"));
}
