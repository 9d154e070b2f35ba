//! Turning pushes and polls into fetches and refresh notifications.
//!
//! A [`Refresher`] knows the repositories in use (registered with
//! [`Refresher::watch`]). As a [`PushHandler`] it matches each webhook push
//! against them by repository identity (any URL form of the payload),
//! spawns the (single-flight) fetch and tells its [`RefreshListener`] what
//! moved, so a burst of pushes to one repository costs one or two fetches
//! however many applications use it. [`Refresher::spawn_polling`] is the
//! fallback: every repository is fetched on an interval (3 minutes by
//! default) with random jitter so repositories do not fetch in lockstep.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rand::Rng as _;

use crate::cache::{FetchOutcome, GitCache};
use crate::error::GitError;
use crate::url::RepoUrl;
use crate::webhook::{PushEvent, PushHandler};

/// Receives the outcome of every fetch a [`Refresher`] makes.
pub trait RefreshListener: Send + Sync + 'static {
    /// A fetch of `repo` finished; `push` is the webhook event behind it
    /// (`None` for polls).
    fn on_refreshed(
        &self,
        repo: &RepoUrl,
        result: &Result<FetchOutcome, GitError>,
        push: Option<&PushEvent>,
    );
}

/// Polling settings.
#[derive(Clone, Copy, Debug)]
pub struct PollConfig {
    /// Base interval between fetches of one repository.
    pub interval: Duration,
    /// Largest random extra delay added to each interval.
    pub jitter: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(180),
            jitter: Duration::from_secs(30),
        }
    }
}

impl PollConfig {
    /// The next delay: `interval` plus a uniform random share of `jitter`.
    pub fn next_delay(&self) -> Duration {
        let extra = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_millis(rand::rng().random_range(0..=self.jitter.as_millis() as u64))
        };
        self.interval + extra
    }
}

/// Fetches watched repositories on pushes and polls.
pub struct Refresher {
    cache: Arc<GitCache>,
    listener: Arc<dyn RefreshListener>,
    repos: RwLock<Vec<RepoUrl>>,
}

impl Refresher {
    /// A refresher over `cache` reporting to `listener`.
    pub fn new(cache: Arc<GitCache>, listener: Arc<dyn RefreshListener>) -> Arc<Self> {
        Arc::new(Self {
            cache,
            listener,
            repos: RwLock::new(Vec::new()),
        })
    }

    /// Starts watching a repository (idempotent by cache key).
    pub fn watch(&self, repo: RepoUrl) {
        let mut repos = self.repos.write().unwrap_or_else(|e| e.into_inner());
        if !repos.iter().any(|r| r.key() == repo.key()) {
            repos.push(repo);
        }
    }

    /// Stops watching a repository.
    pub fn unwatch(&self, repo: &RepoUrl) {
        self.repos
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|r| r.key() != repo.key());
    }

    /// Watched repositories that a push names, by identity.
    pub fn matching(&self, event: &PushEvent) -> Vec<RepoUrl> {
        let ids: Vec<String> = event
            .repo_urls
            .iter()
            .filter_map(|u| RepoUrl::parse(u).ok())
            .map(|u| u.identity())
            .collect();
        self.repos
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|r| ids.contains(&r.identity()))
            .cloned()
            .collect()
    }

    /// Fetches one repository now and notifies the listener.
    pub async fn refresh(
        &self,
        repo: &RepoUrl,
        push: Option<&PushEvent>,
    ) -> Result<FetchOutcome, GitError> {
        let result = self.cache.fetch_repo(repo).await;
        if let Err(e) = &result {
            tracing::warn!(repo = %repo, error = %e, "refresh failed");
        }
        self.listener.on_refreshed(repo, &result, push);
        result
    }

    /// Polls every watched repository until the task is aborted. Each
    /// repository keeps its own jittered schedule.
    pub fn spawn_polling(self: &Arc<Self>, cfg: PollConfig) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            // Dropping the map (when this task is aborted) aborts every poller.
            let mut tasks: std::collections::HashMap<String, AbortOnDrop> = Default::default();
            loop {
                let repos = this.repos.read().unwrap_or_else(|e| e.into_inner()).clone();
                let keys: Vec<String> = repos.iter().map(RepoUrl::key).collect();
                tasks.retain(|k, _| keys.contains(k));
                for repo in repos {
                    tasks.entry(repo.key()).or_insert_with(|| {
                        let this = this.clone();
                        AbortOnDrop(tokio::spawn(async move {
                            loop {
                                tokio::time::sleep(cfg.next_delay()).await;
                                let _ = this.refresh(&repo, None).await;
                            }
                        }))
                    });
                }
                // Pick up newly watched repositories.
                tokio::time::sleep(cfg.interval.min(Duration::from_secs(10))).await;
            }
        })
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PushHandler for Refresher {
    fn on_push(&self, event: PushEvent) {
        let repos = self.matching(&event);
        if repos.is_empty() {
            tracing::debug!(urls = ?event.repo_urls, "push for an unwatched repository");
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("push received outside a tokio runtime");
            return;
        };
        let event = Arc::new(event);
        for repo in repos {
            let cache = self.cache.clone();
            let listener = self.listener.clone();
            let event = event.clone();
            handle.spawn(async move {
                let result = cache.fetch_repo(&repo).await;
                listener.on_refreshed(&repo, &result, Some(&event));
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range() {
        let cfg = PollConfig {
            interval: Duration::from_secs(180),
            jitter: Duration::from_secs(30),
        };
        for _ in 0..200 {
            let d = cfg.next_delay();
            assert!(d >= cfg.interval && d <= cfg.interval + cfg.jitter, "{d:?}");
        }
        let none = PollConfig {
            interval: Duration::from_secs(5),
            jitter: Duration::ZERO,
        };
        assert_eq!(none.next_delay(), Duration::from_secs(5));
    }
}
