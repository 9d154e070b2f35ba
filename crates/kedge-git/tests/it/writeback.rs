//! Write-back: commit and push through smart HTTP with basic auth, with a
//! clean identity, rebasing on a non-fast-forward rejection, never forcing.

use std::path::PathBuf;

use anyhow::Result;
use kedge_git::{
    Credential, CredentialStore, FileChange, GitError, RepoUrl, WriteBackOutcome, WriteBackRequest,
};

use crate::support::{HttpGit, PushHook, Upstream, cache_with, git};

async fn setup(
    hook: Option<PushHook>,
) -> Result<(
    tempfile::TempDir,
    Upstream,
    HttpGit,
    kedge_git::GitCache,
    RepoUrl,
)> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "runtime")?;
    up.commit(
        &[
            ("apps/web/image.yaml", "tag: v1\n"),
            ("apps/api/image.yaml", "tag: v1\n"),
        ],
        "init",
    )?;
    let http = HttpGit::start_with_hook(tmp.path(), Some(("bot", "push-token-77aa")), hook).await?;
    let mut creds = CredentialStore::new();
    creds.insert(
        &format!("http://127.0.0.1:{}", http.port),
        Credential::basic("bot", "push-token-77aa"),
    )?;
    let c = cache_with(tmp.path(), creds, |_| {})?;
    let url = RepoUrl::parse(&http.url("runtime"))?;
    Ok((tmp, up, http, c, url))
}

fn bump(path: &str, tag: &str) -> WriteBackRequest {
    WriteBackRequest::new(
        "main",
        format!("promote {path} to {tag}"),
        vec![FileChange::Write {
            path: path.to_owned(),
            content: format!("tag: {tag}\n").into_bytes(),
        }],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_and_push_with_a_clean_identity() -> Result<()> {
    let (_tmp, up, _http, c, url) = setup(None).await?;
    let out = c
        .write_back(&url, &bump("apps/web/image.yaml", "v2"))
        .await?;
    let WriteBackOutcome::Pushed { commit, attempts } = out else {
        panic!("expected a push, got {out:?}");
    };
    assert_eq!(attempts, 1);
    assert_eq!(up.head_of("main")?, commit);
    let who = git(
        &up.bare,
        &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "main"],
    )?;
    assert_eq!(
        who,
        "Kedge <kedge@localhost>|Kedge <kedge@localhost>|promote apps/web/image.yaml to v2"
    );
    assert_eq!(
        git(&up.bare, &["show", "main:apps/web/image.yaml"])?,
        "tag: v2"
    );
    // The same change again is a no-op.
    let again = c
        .write_back(&url, &bump("apps/web/image.yaml", "v2"))
        .await?;
    assert_eq!(
        again,
        WriteBackOutcome::Unchanged {
            commit: commit.clone()
        }
    );
    // Hostile paths are refused before anything is written.
    for bad in ["../x", "/etc/passwd", ".git/config"] {
        let err = c.write_back(&url, &bump(bad, "v3")).await.unwrap_err();
        assert!(
            matches!(err, GitError::OutsideRepository { .. }),
            "{bad}: {err}"
        );
    }
    // No worktree is left behind.
    let wt: PathBuf = _tmp.path().join("cache/worktrees");
    assert_eq!(std::fs::read_dir(wt)?.count(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_racing_push_is_rebased_not_overwritten() -> Result<()> {
    let tmp_holder = tempfile::tempdir()?;
    let other = tmp_holder.path().to_owned();
    // Someone else pushes to apps/api just before our push.
    let hook_dir = std::sync::Arc::new(std::sync::Mutex::new(None::<PathBuf>));
    let hd = hook_dir.clone();
    let hook: PushHook = Box::new(move || {
        let work: PathBuf = hd.lock().unwrap().clone().unwrap();
        std::fs::write(work.join("apps/api/image.yaml"), "tag: v9\n").unwrap();
        git(&work, &["commit", "-q", "-am", "someone else"]).unwrap();
        git(&work, &["push", "-q", "origin", "HEAD:main"]).unwrap();
    });
    let (_tmp, up, _http, c, url) = setup(Some(hook)).await?;
    *hook_dir.lock().unwrap() = Some(up.work.clone());
    let _ = other;
    let out = c
        .write_back(&url, &bump("apps/web/image.yaml", "v2"))
        .await?;
    let WriteBackOutcome::Pushed { commit, attempts } = out else {
        panic!("expected a push, got {out:?}");
    };
    assert_eq!(attempts, 2, "first push rejected, second after rebase");
    assert_eq!(up.head_of("main")?, commit);
    // Both changes survive: the other commit is our parent.
    assert_eq!(
        git(&up.bare, &["show", "main:apps/api/image.yaml"])?,
        "tag: v9"
    );
    assert_eq!(
        git(&up.bare, &["show", "main:apps/web/image.yaml"])?,
        "tag: v2"
    );
    assert_eq!(
        git(&up.bare, &["log", "-1", "--format=%s", "main~1"])?,
        "someone else"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_race_fails_without_forcing() -> Result<()> {
    let hook_dir = std::sync::Arc::new(std::sync::Mutex::new(None::<PathBuf>));
    let hd = hook_dir.clone();
    let hook: PushHook = Box::new(move || {
        let work: PathBuf = hd.lock().unwrap().clone().unwrap();
        std::fs::write(work.join("apps/web/image.yaml"), "tag: v7\n").unwrap();
        git(&work, &["commit", "-q", "-am", "conflicting"]).unwrap();
        git(&work, &["push", "-q", "origin", "HEAD:main"]).unwrap();
    });
    let (_tmp, up, _http, c, url) = setup(Some(hook)).await?;
    *hook_dir.lock().unwrap() = Some(up.work.clone());
    let err = c
        .write_back(&url, &bump("apps/web/image.yaml", "v2"))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Push { .. }), "{err}");
    assert!(err.to_string().contains("conflict"), "{err}");
    assert!(!err.to_string().contains("push-token-77aa"));
    // The other writer's commit is intact.
    assert_eq!(
        git(&up.bare, &["show", "main:apps/web/image.yaml"])?,
        "tag: v7"
    );
    Ok(())
}
