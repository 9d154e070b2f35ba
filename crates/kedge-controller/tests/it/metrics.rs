//! `GET /metrics`: every family after a reconcile and a sync.

use std::time::Duration;

use crate::self_heal::{app, synced_at};
use crate::support::{Env, Running, apply, eventually, http, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_exposes_the_families() {
    let env = Env::start_with(|cc| {
        cc.resync = Duration::from_secs(3600);
        cc.full_resync = Duration::ZERO;
    })
    .await;
    let sha = env.commit(
        &[(
            "app/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
        )],
        "one",
    );
    let _running = Running::start(&env.controller);
    let (addr, _server) = serve(env.controller.router()).await;
    apply(
        &env.client,
        &app("measured", &env.repo_url(), "app", "measured"),
    )
    .await;
    synced_at(&env, "measured", &sha).await;

    let info = "kedge_app_info{name=\"measured\",project=\"default\",sync_status=\"Synced\",health_status=\"Healthy\"} 1";
    let body = eventually(30, "app info series", || async {
        let (status, body) = http(addr, "GET", "/metrics", &[], b"").await;
        assert_eq!(status, 200);
        body.contains(info).then_some(body)
    })
    .await;
    for needle in [
        "# TYPE kedge_app_reconcile counter",
        "kedge_app_reconcile_total{result=\"success\"}",
        "# TYPE kedge_app_reconcile_duration_seconds histogram",
        "kedge_app_reconcile_duration_seconds_bucket{le=",
        "kedge_app_sync_total{phase=\"Succeeded\"} 1",
        "# TYPE kedge_app_info gauge",
        "kedge_git_fetch_duration_seconds_count",
        "# TYPE kedge_workqueue_depth gauge",
        "kedge_live_watches 1",
    ] {
        assert!(body.contains(needle), "missing {needle} in\n{body}");
    }
    let fetches = crate::git_triggers::sample(&body, "kedge_git_fetch_duration_seconds_count");
    assert!(fetches >= 1.0, "{body}");
}
