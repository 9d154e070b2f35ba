//! Change detection: paths changed between commits and whether an
//! application (source path + manifest-generate-paths) is affected.

use anyhow::Result;
use kedge_git::{GitBackend as _, PathMatcher, RepoUrl};

use crate::support::{Upstream, cache};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_paths_drive_the_matcher() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "mono")?;
    let a = up.commit(
        &[
            ("apps/web/k.yaml", "w: 1\n"),
            ("apps/api/k.yaml", "a: 1\n"),
            ("base/common.yaml", "c: 1\n"),
            ("docs/README.md", "x\n"),
        ],
        "a",
    )?;
    up.run(&["mv", "docs/README.md", "docs/GUIDE.md"])?;
    let b = up.commit(
        &[
            ("apps/api/k.yaml", "a: 2\n"),
            ("base/common.yaml", "c: 2\n"),
        ],
        "b",
    )?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    c.fetch(&url).await?;
    let mut changed = c.changed_paths(&url, &a, &b).await?;
    changed.sort();
    assert_eq!(
        changed,
        [
            "apps/api/k.yaml",
            "base/common.yaml",
            "docs/GUIDE.md",
            "docs/README.md"
        ]
    );
    let web = PathMatcher::new("apps/web", None)?;
    let web_with_base = PathMatcher::new("apps/web", Some(".;../../base"))?;
    let api = PathMatcher::new("apps/api", None)?;
    let docs_glob = PathMatcher::new("apps/web", Some("/docs/*.md"))?;
    assert!(!web.is_affected(Some(&changed[..])));
    assert!(web_with_base.is_affected(Some(&changed[..])));
    assert!(api.is_affected(Some(&changed[..])));
    assert!(docs_glob.is_affected(Some(&changed[..])));
    assert!(c.changed_paths(&url, &b, &b).await?.is_empty());
    Ok(())
}
