//! Polling fallback: a watched repository is fetched on a jittered
//! interval and the listener hears about the new commit without a webhook.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use kedge_git::webhook::PushEvent;
use kedge_git::{FetchOutcome, GitError, PollConfig, RefreshListener, Refresher, RepoUrl};

use crate::support::{Upstream, cache};

struct Changes(tokio::sync::mpsc::UnboundedSender<Option<String>>);

impl RefreshListener for Changes {
    fn on_refreshed(
        &self,
        _repo: &RepoUrl,
        result: &Result<FetchOutcome, GitError>,
        push: Option<&PushEvent>,
    ) {
        assert!(push.is_none(), "polls carry no push event");
        if let Ok(outcome) = result {
            for u in outcome
                .updates
                .iter()
                .filter(|u| u.name == "refs/heads/main")
            {
                let _ = self.0.send(u.new.clone());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_notices_a_new_commit() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "polled")?;
    up.commit(&[("a", "1")], "one")?;
    let c = Arc::new(cache(tmp.path())?);
    let url = RepoUrl::parse(&up.file_url())?;
    c.fetch_repo(&url).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let refresher = Refresher::new(c.clone(), Arc::new(Changes(tx)));
    refresher.watch(url.clone());
    let new = up.commit(&[("a", "2")], "two")?;
    let poller = refresher.spawn_polling(PollConfig {
        interval: Duration::from_millis(100),
        jitter: Duration::from_millis(50),
    });
    let seen = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await?
        .context("listener closed")?;
    assert_eq!(seen.as_deref(), Some(new.as_str()));
    poller.abort();
    Ok(())
}
