//! Bounded retention of materialised snapshots: least recently used first,
//! never one that is held or was used within the minimum idle time, and
//! snapshots left by an earlier cache are indexed and pruned too.

use std::time::Duration;

use anyhow::Result;
use kedge_git::RepoUrl;

use crate::support::{Upstream, cache_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_pruned_lru_keeping_those_in_use() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "snaps")?;
    let mut commits = Vec::new();
    for i in 0..5 {
        commits.push(up.commit(&[("app/cm.yaml", &format!("n: {i}\n"))], &format!("c{i}"))?);
    }
    let url = RepoUrl::parse(&up.file_url())?;
    let c = cache_with(tmp.path(), Default::default(), |cfg| {
        cfg.max_snapshots = 2;
        cfg.snapshot_min_idle = Duration::ZERO;
    })?;
    let held = c.materialize_snapshot(&url, &commits[0]).await?;
    assert_eq!(held.commit(), commits[0]);
    assert_eq!(
        std::fs::read_to_string(held.path().join("app/cm.yaml"))?,
        "n: 0\n"
    );
    let p1 = c.materialize(&url, &commits[1]).await?;
    let p2 = c.materialize(&url, &commits[2]).await?;
    // Over the limit: the oldest unheld one (c1) went, the held c0 stayed.
    assert!(held.path().is_dir());
    assert!(!p1.exists(), "{}", p1.display());
    assert!(p2.is_dir());
    assert_eq!(c.snapshot_count(), 2);
    let p3 = c.materialize(&url, &commits[3]).await?;
    assert!(!p2.exists() && p3.is_dir() && held.path().is_dir());

    // Released, c0 is the least recently used and goes next.
    let p0 = held.path().to_owned();
    drop(held);
    let p1 = c.materialize(&url, &commits[1]).await?;
    assert!(!p0.exists() && p1.is_dir() && p3.is_dir());
    assert_eq!(std::fs::read_to_string(p1.join("app/cm.yaml"))?, "n: 1\n");

    // Using c3 again makes c1 the least recently used.
    assert_eq!(c.materialize(&url, &commits[3]).await?, p3);
    let p4 = c.materialize(&url, &commits[4]).await?;
    assert!(!p1.exists() && p3.is_dir() && p4.is_dir());
    assert_eq!(c.snapshot_count(), 2);
    // No temporary trees are left next to the snapshots.
    let parent = p4.parent().unwrap();
    let names: Vec<String> = std::fs::read_dir(parent)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    assert_eq!(names.len(), 2, "{names:?}");

    // A new cache over the same directory finds them and prunes to its limit.
    drop(c);
    let c = cache_with(tmp.path(), Default::default(), |cfg| {
        cfg.max_snapshots = 1;
        cfg.snapshot_min_idle = Duration::ZERO;
    })?;
    assert_eq!(c.snapshot_count(), 2);
    let pruned = c.prune_snapshots();
    assert_eq!(pruned.len(), 1);
    assert_eq!(c.snapshot_count(), 1);
    assert_eq!([p3.exists(), p4.exists()].iter().filter(|e| **e).count(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recently_used_snapshots_outlive_the_limit() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "idle")?;
    let a = up.commit(&[("f", "a")], "a")?;
    let b = up.commit(&[("f", "b")], "b")?;
    let url = RepoUrl::parse(&up.file_url())?;
    let c = cache_with(tmp.path(), Default::default(), |cfg| {
        cfg.max_snapshots = 1;
        cfg.snapshot_min_idle = Duration::from_secs(3600);
    })?;
    // Paths from `materialize` (no lease) stay valid within the idle time.
    let pa = c.materialize(&url, &a).await?;
    let pb = c.materialize(&url, &b).await?;
    assert!(pa.is_dir() && pb.is_dir());
    assert!(c.prune_snapshots().is_empty());
    assert_eq!(c.snapshot_count(), 2);
    Ok(())
}
