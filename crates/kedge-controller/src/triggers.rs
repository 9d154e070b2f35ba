//! Git triggers: per-repository polling, push webhooks, and the HTTP
//! endpoints of the controller.
//!
//! Polling is per repository, not per application: every `resync` (±10%
//! jitter) each repository in use is fetched once (single-flight in the Git
//! cache). When the fetch moved no ref, nothing else happens, so an idle
//! fleet costs one `git fetch` per repository per interval and no API
//! calls. When refs moved, every application of the repository has its
//! target revision resolved against the new refs (a map lookup); only
//! applications whose resolved commit differs from the one in their status
//! are considered, and of those only the ones whose watched paths (source
//! path plus `manifest-generate-paths`, through kedge-git's
//! [`PathMatcher`]) the change touched are queued, plus every application
//! whose status shows an error (its last attempt was a newer, failing
//! commit, so even a revert must be applied). For the others the render
//! of the old commit is reused for the new one, so their next reconcile
//! (self-heal, full resync) does not render again.
//!
//! A push webhook ([`Controller::router`], `POST /api/webhook`) does the
//! same at once for the repositories the payload names, using the payload's
//! changed paths when it lists them. The router also serves `GET /metrics`
//! (Prometheus text format) and `GET /healthz`.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use futures::StreamExt;
use kedge_git::{PathMatcher, PushEvent, PushHandler, RepoUrl};
use kube::api::DynamicObject;
use tracing::{debug, info, warn};

use crate::controller::{Controller, fingerprint, jittered, lock};
use crate::types::{Application, ApplicationSpec};

/// What the Application watch knows about one application.
#[derive(Debug, Clone)]
pub(crate) struct AppEntry {
    pub(crate) url: Option<RepoUrl>,
    pub(crate) target: String,
    pub(crate) path: String,
    pub(crate) generate_paths: Option<String>,
    /// `status.sync.revision`.
    pub(crate) revision: String,
    /// The status carries an error condition (the last comparison or sync
    /// of a newer commit failed, so `revision` is not what was last tried).
    pub(crate) failing: bool,
    pub(crate) render_key: String,
    pub(crate) fingerprint: String,
}

impl AppEntry {
    pub(crate) fn of(obj: &DynamicObject) -> AppEntry {
        let app: Application = serde_json::to_value(obj)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        AppEntry {
            url: RepoUrl::parse(&app.spec.source.repo_url).ok(),
            target: if app.spec.source.target_revision.is_empty() {
                "HEAD".to_string()
            } else {
                app.spec.source.target_revision.clone()
            },
            path: app.spec.source.path.clone(),
            generate_paths: app
                .annotation(kedge_git::MANIFEST_GENERATE_PATHS)
                .map(str::to_string),
            revision: app
                .status
                .as_ref()
                .map(|s| s.sync.revision.clone())
                .unwrap_or_default(),
            failing: app
                .status
                .as_ref()
                .is_some_and(|s| s.conditions.iter().any(|c| c.type_.ends_with("Error"))),
            render_key: AppEntry::render_key(&app.spec),
            fingerprint: fingerprint(obj),
        }
    }

    /// What, besides repository and commit, a render depends on.
    pub(crate) fn render_key(spec: &ApplicationSpec) -> String {
        format!(
            "{}\0{}",
            serde_json::to_string(&spec.source).unwrap_or_default(),
            spec.destination.namespace
        )
    }
}

impl Controller {
    /// Polls every repository in use, each `resync` ±10%.
    pub(crate) async fn poll_repositories(self: Arc<Self>) {
        loop {
            tokio::time::sleep(jittered(self.config.resync)).await;
            let repos = self.repositories();
            debug!(repositories = repos.len(), "polling repositories");
            futures::stream::iter(repos)
                .for_each_concurrent(4, |url| {
                    let this = self.clone();
                    async move { this.refresh_repo(&url, None).await }
                })
                .await;
        }
    }

    /// Distinct repositories of the known applications.
    fn repositories(&self) -> Vec<RepoUrl> {
        let mut seen = std::collections::HashSet::new();
        lock(&self.apps)
            .values()
            .filter_map(|a| a.url.clone())
            .filter(|u| seen.insert(u.key()))
            .collect()
    }

    /// Fetches `url` and queues the applications whose target moved in a
    /// way that touches their paths.
    pub(crate) async fn refresh_repo(&self, url: &RepoUrl, push: Option<&PushEvent>) {
        let outcome = match self.fetch(url).await {
            Ok(o) => o,
            Err(e) => {
                warn!(repo = %url, error = %e, "fetching repository");
                return;
            }
        };
        if outcome.updates.is_empty() && push.is_none() {
            return;
        }
        let apps: Vec<(String, crate::triggers::AppEntry)> = lock(&self.apps)
            .iter()
            .filter(|(_, a)| a.url.as_ref().is_some_and(|u| u.same_repo(url)))
            .map(|(n, a)| (n.clone(), a.clone()))
            .collect();
        let mut queued = 0usize;
        for (name, app) in apps {
            let sha = match self.cache.resolve_revision(url, &app.target, None).await {
                Ok(sha) => sha,
                Err(e) => {
                    debug!(app = %name, error = %e, "resolving after fetch");
                    self.queue.add(name);
                    queued += 1;
                    continue;
                }
            };
            if sha == app.revision {
                continue;
            }
            // A failing app is always retried on a new commit: a revert of
            // a bad commit restores the tree of the last good one, so no
            // path differs from `revision` although the app must recover.
            if app.failing || self.touches(url, &app, &sha, push).await {
                self.queue.add(name);
                queued += 1;
            } else {
                debug!(app = %name, commit = %sha, "commit does not touch the application's paths");
                self.alias_render(url, &app.revision, &sha, &app.render_key);
            }
        }
        self.metrics.workqueue_depth.set(self.queue.len() as i64);
        if queued > 0 {
            info!(repo = %url, applications = queued, "new commits queued applications");
        }
    }

    /// Whether the change from the app's last commit to `sha` touches its
    /// watched paths (true when that cannot be told cheaply).
    async fn touches(
        &self,
        url: &RepoUrl,
        app: &AppEntry,
        sha: &str,
        push: Option<&PushEvent>,
    ) -> bool {
        if !kedge_git::revision::is_full_sha(&app.revision) {
            return true;
        }
        let Ok(matcher) = PathMatcher::new(&app.path, app.generate_paths.as_deref()) else {
            return true;
        };
        // The push's own list is exact when it spans the same two commits.
        if let Some(p) = push
            && p.before.as_deref() == Some(app.revision.as_str())
            && p.after.as_deref() == Some(sha)
            && let Some(paths) = &p.changed_paths
        {
            return matcher.is_affected(Some(paths.as_slice()));
        }
        match self.cache.diff_paths(url, &app.revision, sha).await {
            Ok(paths) => matcher.is_affected(Some(paths.as_slice())),
            Err(_) => true,
        }
    }

    /// The HTTP endpoints: `POST /api/webhook`, `GET /metrics`, `GET /healthz`.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        let hook = kedge_git::webhook::router(
            Arc::new(PushTrigger(self.clone())),
            self.config.webhook.clone(),
        );
        let this = self.clone();
        hook.route(
            "/metrics",
            axum::routing::get(move || {
                let this = this.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        this.metrics.encode(),
                    )
                        .into_response()
                }
            }),
        )
        .route("/healthz", axum::routing::get(|| async { "ok" }))
    }
}

/// Webhook pushes → fetch and queue.
struct PushTrigger(Arc<Controller>);

impl PushHandler for PushTrigger {
    fn on_push(&self, event: PushEvent) {
        let ids: Vec<String> = event
            .repo_urls
            .iter()
            .filter_map(|u| RepoUrl::parse(u).ok())
            .map(|u| u.identity())
            .collect();
        let repos: Vec<RepoUrl> = self
            .0
            .repositories()
            .into_iter()
            .filter(|r| ids.contains(&r.identity()))
            .collect();
        if repos.is_empty() {
            debug!(urls = ?event.repo_urls, "push for a repository no application uses");
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.0.clone();
        handle.spawn(async move {
            for url in repos {
                this.refresh_repo(&url, Some(&event)).await;
            }
        });
    }
}
