//! Scale: a repository of 100,000 files still fetches, lists and reads;
//! timings are printed (run with --nocapture to see them).

use std::time::Instant;

use anyhow::Result;
use kedge_git::{GitBackend as _, RepoUrl};

use crate::support::{cache, fast_import};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_of_100k_files() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let bare = tmp.path().join("huge.git");
    let t = Instant::now();
    let files = (0..100_000).map(|i| {
        (
            format!("apps/app-{:03}/res-{:03}.yaml", i / 1000, i % 1000),
            format!("kind: ConfigMap\nmetadata:\n  name: cm-{i}\n").into_bytes(),
        )
    });
    let sha = fast_import(&bare, files)?;
    let built = t.elapsed();
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&format!("file://{}", bare.display()))?;
    let t = Instant::now();
    assert_eq!(c.resolve(&url, "main", None).await?, sha);
    let fetched = t.elapsed();
    let t = Instant::now();
    let view = c.view(&url, &sha, "apps/app-042").await?;
    let listed = t.elapsed();
    assert_eq!(view.tree().len(), 100_000 + 100 + 1);
    let t = Instant::now();
    let entries = view.read_dir(".")?;
    assert_eq!(entries.len(), 1000);
    let mut total = 0;
    for e in &entries {
        total += view.read_file(&e.name)?.len();
    }
    let read = t.elapsed();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let t = Instant::now();
    let bulk = view.read_files(&names)?;
    let read_bulk = t.elapsed();
    assert_eq!(bulk.len(), 1000);
    assert_eq!(bulk.iter().map(Vec::len).sum::<usize>(), total);
    assert_eq!(bulk[7], view.read_file("res-007.yaml")?);
    assert_eq!(
        view.read_to_string("res-007.yaml")?,
        "kind: ConfigMap\nmetadata:\n  name: cm-42007\n"
    );
    eprintln!(
        "100k files: fast-import {built:?}, fetch+resolve {fetched:?}, ls-tree+parse {listed:?}, \
         read 1000 files ({total} bytes) {read:?}, pipelined {read_bulk:?}"
    );
    Ok(())
}
