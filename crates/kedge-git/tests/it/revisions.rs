//! Revision resolution: branches, tags (annotated ones peeled), SHAs,
//! `HEAD`, semver constraints; and upstream history rewrites: a
//! force-pushed branch, a deleted branch, a moved tag.

use anyhow::Result;
use kedge_git::{GitBackend as _, GitError, RepoUrl};

use crate::support::{Upstream, cache};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_shas_and_semver() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "r")?;
    let c1 = up.commit(&[("f", "1")], "c1")?;
    up.run(&["tag", "-a", "-m", "release", "v1.2.3"])?;
    let c2 = up.commit(&[("f", "2")], "c2")?;
    up.run(&["tag", "v1.2.10"])?;
    up.run(&["tag", "-a", "-m", "annotated", "v1.3.0"])?;
    let c3 = up.commit(&[("f", "3")], "c3")?;
    up.run(&["tag", "v2.0.0"])?;
    up.run(&["tag", "2.5.0"])?;
    up.run(&["branch", "feature", &c1])?;
    up.run(&["push", "-q", "origin", "--tags", "feature"])?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    let r = |rev: &'static str, prefix: Option<&'static str>| {
        let (c, url) = (&c, &url);
        async move { c.resolve(url, rev, prefix).await }
    };
    assert_eq!(r("main", None).await?, c3);
    assert_eq!(r("refs/heads/feature", None).await?, c1);
    assert_eq!(r("feature", None).await?, c1);
    assert_eq!(r("HEAD", None).await?, c3);
    assert_eq!(r("", None).await?, c3);
    // Annotated tags resolve to the commit, not the tag object.
    assert_eq!(r("v1.2.3", None).await?, c1);
    assert_eq!(r("refs/tags/v1.3.0", None).await?, c2);
    assert_eq!(r("v1.2.10", None).await?, c2);
    let c1_static: &'static str = Box::leak(c1.clone().into_boxed_str());
    assert_eq!(r(c1_static, None).await?, c1);
    let short: &'static str = Box::leak(c1[..8].to_owned().into_boxed_str());
    assert_eq!(r(short, None).await?, c1);
    // Semver over tags, with and without a tag prefix.
    assert_eq!(r("1.2.*", Some("v")).await?, c2);
    assert_eq!(r("1.2.x", Some("v")).await?, c2);
    assert_eq!(r("~1.2", Some("v")).await?, c2);
    assert_eq!(r("^1.2", Some("v")).await?, c2);
    assert_eq!(r(">=1.0 <2.0", Some("v")).await?, c2);
    assert_eq!(r(">=1.0 <3.0", Some("v")).await?, c3);
    assert_eq!(r(">=2.1", None).await?, c3, "2.5.0 has no prefix");
    assert!(matches!(
        r(">=3.0", Some("v")).await,
        Err(GitError::RevisionNotFound { .. })
    ));
    assert!(matches!(
        r("no-such-branch", None).await,
        Err(GitError::RevisionNotFound { .. })
    ));
    assert!(matches!(
        r("deadbeefdeadbeef", None).await,
        Err(GitError::RevisionNotFound { .. })
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_push_delete_and_moved_tag() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "r")?;
    let base = up.commit(&[("f", "base")], "base")?;
    let old = up.commit(&[("f", "old")], "old")?;
    up.run(&["tag", "-a", "-m", "t", "stable"])?;
    up.run(&["branch", "doomed"])?;
    up.run(&["push", "-q", "origin", "--tags", "doomed"])?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    assert_eq!(c.resolve(&url, "main", None).await?, old);
    assert_eq!(c.resolve(&url, "stable", None).await?, old);
    assert_eq!(c.resolve(&url, "doomed", None).await?, old);

    // Rewrite history: main is reset and force-pushed, the tag moves, the branch goes.
    up.run(&["reset", "-q", "--hard", &base])?;
    let rewritten = up.commit(&[("f", "rewritten")], "rewritten")?;
    up.run(&["tag", "-f", "-a", "-m", "moved", "stable"])?;
    up.run(&["push", "-q", "-f", "origin", "refs/tags/stable"])?;
    up.run(&["push", "-q", "origin", "--delete", "doomed"])?;

    // Until a fetch (or invalidation + fetch) the cached answers stand.
    assert_eq!(c.resolve(&url, "main", None).await?, old);
    let outcome = c.fetch(&url).await?;
    let names: Vec<&str> = outcome.updates.iter().map(|u| u.name.as_str()).collect();
    assert!(names.contains(&"refs/heads/main"), "{names:?}");
    assert!(names.contains(&"refs/heads/doomed"), "{names:?}");
    assert!(names.contains(&"refs/tags/stable"), "{names:?}");
    assert_eq!(c.resolve(&url, "main", None).await?, rewritten);
    assert_eq!(c.resolve(&url, "stable", None).await?, rewritten);
    assert!(matches!(
        c.resolve(&url, "doomed", None).await,
        Err(GitError::RevisionNotFound { .. })
    ));
    // The old commit is still readable by SHA (it is in the cache).
    let view = c.view(&url, &old, "").await?;
    assert_eq!(view.read_to_string("f")?, "old");
    let view = c.view(&url, &rewritten, "/").await?;
    assert_eq!(view.read_to_string("/f")?, "rewritten");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_invalidation_drops_cached_resolutions() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "r")?;
    let first = up.commit(&[("f", "1")], "1")?;
    up.run(&["tag", "v1.0.0"])?;
    up.run(&["push", "-q", "origin", "--tags"])?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    assert_eq!(c.resolve(&url, "^1", Some("v")).await?, first);
    let second = up.commit(&[("f", "2")], "2")?;
    up.run(&["tag", "v1.1.0"])?;
    up.run(&["push", "-q", "origin", "--tags"])?;
    // Cached until something changes.
    assert_eq!(c.resolve(&url, "^1", Some("v")).await?, first);
    c.invalidate(&url);
    assert_eq!(
        c.resolve(&url, "^1", Some("v")).await?,
        first,
        "invalidation alone does not fetch"
    );
    c.fetch(&url).await?;
    assert_eq!(c.resolve(&url, "^1", Some("v")).await?, second);
    Ok(())
}
