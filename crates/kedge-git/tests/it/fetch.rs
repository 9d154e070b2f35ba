//! Fetching over file://, git:// (git daemon) and smart HTTP with basic
//! auth; one cache per normalised URL; single-flight refreshes; timeouts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use kedge_git::{CredentialStore, GitBackend as _, GitError, RepoUrl};

use crate::support::{GitDaemon, HttpGit, Upstream, cache, cache_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_serves_the_same_tree() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "app")?;
    let sha = up.commit(
        &[
            ("apps/web/kustomization.yaml", "resources: [deploy.yaml]\n"),
            ("apps/web/deploy.yaml", "kind: Deployment\n"),
        ],
        "init",
    )?;
    let daemon = GitDaemon::start(tmp.path())?;
    let http = HttpGit::start(tmp.path(), Some(("alice", "http-pass-4242"))).await?;
    let mut creds = CredentialStore::new();
    creds.insert(
        &format!("http://127.0.0.1:{}", http.port),
        kedge_git::Credential::basic("alice", "http-pass-4242"),
    )?;
    let c = cache_with(tmp.path(), creds, |_| {})?;
    for url in [up.file_url(), daemon.url("app"), http.url("app")] {
        let url = RepoUrl::parse(&url)?;
        let got = c.resolve(&url, "main", None).await?;
        assert_eq!(got, sha, "{url}");
        let view = c.view(&url, &got, "apps/web").await?;
        assert_eq!(view.read_to_string("deploy.yaml")?, "kind: Deployment\n");
        let names: Vec<String> = view.read_dir(".")?.into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["deploy.yaml", "kustomization.yaml"]);
    }
    assert!(http.requests.load(std::sync::atomic::Ordering::Relaxed) >= 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_spellings_share_one_bare_repository() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let c = cache(tmp.path())?;
    let a = RepoUrl::parse("https://GitHub.com/Org/Repo.git/")?;
    let b = RepoUrl::parse("https://user:pw-xyz-123@github.com/Org/Repo")?;
    let d = RepoUrl::parse("git@github.com:Org/Repo.git")?;
    assert_eq!(c.repo_dir(&a), c.repo_dir(&b));
    assert_ne!(c.repo_dir(&a), c.repo_dir(&d));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_coalesce() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "app")?;
    up.commit(&[("a.yaml", "a: 1\n")], "one")?;
    let http = HttpGit::start(tmp.path(), None).await?;
    let c = Arc::new(cache(tmp.path())?);
    let url = RepoUrl::parse(&http.url("app"))?;
    c.fetch_repo(&url).await?;
    let new = up.commit(&[("a.yaml", "a: 2\n")], "two")?;
    let spawned = c.git_processes_spawned();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let c = c.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move { c.fetch_repo(&url).await }));
    }
    for t in tasks {
        // Every caller observes a fetch that started after it asked.
        assert_eq!(t.await??.refs.heads["main"], new);
    }
    // 32 callers, at most two fetch rounds of (fetch + for-each-ref).
    let used = c.git_processes_spawned() - spawned;
    assert!(
        used <= 4,
        "{used} git processes for 32 concurrent refreshes"
    );
    assert!(used >= 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_of_different_commits_run_in_parallel() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "app")?;
    let mut shas = Vec::new();
    for i in 0..6 {
        shas.push(up.commit(&[("app/v.yaml", &format!("v: {i}\n"))], "c")?);
    }
    let c = Arc::new(cache(tmp.path())?);
    let url = RepoUrl::parse(&up.file_url())?;
    c.fetch_repo(&url).await?;
    let mut tasks = Vec::new();
    for (i, sha) in shas.iter().enumerate() {
        let (c, url, sha) = (c.clone(), url.clone(), sha.clone());
        tasks.push(tokio::spawn(async move {
            let view = c.open_view(&url, &sha, "app").await?;
            tokio::task::spawn_blocking(move || {
                (0..50)
                    .map(|_| view.read_to_string("v.yaml"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| anyhow::anyhow!(e))?
            .map(|v| (i, v))
            .map_err(anyhow::Error::from)
        }));
    }
    for t in tasks {
        let (i, reads) = t.await??;
        assert!(reads.iter().all(|r| *r == format!("v: {i}\n")));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_protocol_is_refused_unless_allowed() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "app")?;
    up.commit(&[("a", "1")], "one")?;
    let c = cache_with(tmp.path(), CredentialStore::new(), |cfg| {
        cfg.allow_file_protocol = false
    })?;
    let err = c
        .fetch_repo(&RepoUrl::parse(&up.file_url())?)
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Command { .. }), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_times_out_and_is_killed() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let c = cache_with(tmp.path(), CredentialStore::new(), |cfg| {
        cfg.network_timeout = Duration::from_millis(800)
    })?;
    let start = Instant::now();
    let err = c
        .fetch_repo(&RepoUrl::parse(&format!("git://127.0.0.1:{port}/x.git"))?)
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Timeout { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    drop(listener);
    Ok(())
}
