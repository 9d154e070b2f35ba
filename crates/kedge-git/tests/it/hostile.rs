//! Hostile repositories: symlinks out of the repository, `..` paths,
//! symlink loops, submodules, LFS pointers, a 100 MB blob, render caps.

use std::time::{Duration, Instant};

use anyhow::Result;
use kedge_git::{CredentialStore, EntryKind, GitBackend as _, GitError, Limits, RepoUrl};

use crate::support::{Upstream, cache, cache_with, fast_import_with, git};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_and_dot_dot() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "evil")?;
    let sha = up.commit(
        &[
            ("shared/common.yaml", "common: true\n"),
            ("apps/web/kustomization.yaml", "resources: [../../shared]\n"),
            ("apps/web/passwd", "->/etc/passwd"),
            ("apps/web/escape", "->../../../etc/passwd"),
            ("apps/web/escape-dir", "->../../.."),
            ("apps/web/shared", "->../../shared"),
            ("apps/web/common.yaml", "->../../shared/common.yaml"),
            ("apps/web/loop-a", "->loop-b"),
            ("apps/web/loop-b", "->loop-a"),
            ("apps/linked", "->web"),
        ],
        "hostile",
    )?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    let v = c.view(&url, &sha, "apps/web").await?;

    // Out of the repository: refused, whatever the route.
    for p in [
        "passwd",
        "escape",
        "escape-dir/etc/passwd",
        "../../../etc/passwd",
        "/../etc/passwd",
        "../../..",
    ] {
        let err = v.read_file(p).unwrap_err();
        assert!(
            matches!(err, GitError::OutsideRepository { .. }),
            "{p}: {err}"
        );
        assert!(!v.exists(p), "{p}");
    }
    assert!(v.read_dir("escape-dir").is_err());
    assert!(matches!(
        v.read_files(&["kustomization.yaml", "passwd"]),
        Err(GitError::OutsideRepository { .. })
    ));
    let both = v.read_files(&["kustomization.yaml", "common.yaml"])?;
    assert_eq!(both[1], b"common: true\n");
    // Inside the repository but outside the app path: allowed.
    assert_eq!(v.read_to_string("common.yaml")?, "common: true\n");
    assert_eq!(v.read_to_string("shared/common.yaml")?, "common: true\n");
    assert_eq!(
        v.read_to_string("../../shared/common.yaml")?,
        "common: true\n"
    );
    assert_eq!(v.read_to_string("/shared/common.yaml")?, "common: true\n");
    assert!(v.is_dir("shared"));
    assert_eq!(v.realpath("shared/common.yaml")?, "shared/common.yaml");
    // `..` after a symlink climbs from the link's target (POSIX semantics).
    assert_eq!(
        v.realpath("shared/../apps/web/kustomization.yaml")?,
        "apps/web/kustomization.yaml"
    );
    assert!(matches!(
        v.realpath("missing/../kustomization.yaml"),
        Err(GitError::NotFound { .. })
    ));
    // Loops end.
    assert!(matches!(
        v.read_file("loop-a"),
        Err(GitError::SymlinkLoop { .. })
    ));
    // A base path that is itself a link inside the repo.
    let linked = c.view(&url, &sha, "apps/linked").await?;
    assert_eq!(linked.base(), "apps/web");
    assert!(linked.is_file("kustomization.yaml"));
    // read_dir reports links unresolved.
    let kinds: Vec<(String, EntryKind)> = v
        .read_dir(".")?
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    assert!(
        kinds.contains(&("passwd".into(), EntryKind::Symlink)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("kustomization.yaml".into(), EntryKind::File)),
        "{kinds:?}"
    );
    // A base outside the repository is refused.
    assert!(c.view(&url, &sha, "../..").await.is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submodules_and_lfs_pointers_are_refused() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "r")?;
    let first = up.commit(&[("app/a.yaml", "a: 1\n")], "one")?;
    up.write(&[(
        "app/big.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    )])?;
    git(&up.work, &["add", "app/big.bin"])?;
    git(
        &up.work,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{first},app/vendor"),
        ],
    )?;
    git(&up.work, &["commit", "-q", "-m", "submodule and lfs"])?;
    git(&up.work, &["push", "-q", "origin", "HEAD:main"])?;
    let sha = up.head_of("main")?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    let v = c.view(&url, &sha, "app").await?;
    let err = v.read_file("vendor/x.yaml").unwrap_err();
    assert!(matches!(err, GitError::Submodule { .. }), "{err}");
    assert!(err.to_string().contains("submodule"), "{err}");
    let names: Vec<String> = v.read_dir(".")?.into_iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        ["a.yaml", "big.bin"],
        "submodules are left out of listings"
    );
    let err = v.read_file("big.bin").unwrap_err();
    assert!(matches!(err, GitError::LfsPointer { .. }), "{err}");
    assert!(err.to_string().contains("LFS"), "{err}");
    Ok(())
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_blob_is_refused_fast_with_bounded_memory() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let bare = tmp.path().join("big.git");
    let files = std::iter::once(("app/ok.yaml".to_owned(), b"ok: true\n".to_vec()));
    let sha = fast_import_with(&bare, files, Some(("app/huge.yaml", 100 * 1024 * 1024)))?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&format!("file://{}", bare.display()))?;
    c.fetch(&url).await?;
    let v = c.view(&url, &sha, "app").await?;
    let before = vm_hwm_kib();
    let start = Instant::now();
    let err = v.read_file("huge.yaml").unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(
            err,
            GitError::FileTooLarge {
                size: 104857600,
                ..
            }
        ),
        "{err}"
    );
    assert!(took < Duration::from_secs(1), "refusal took {took:?}");
    if let (Some(b), Some(a)) = (before, vm_hwm_kib()) {
        assert!(
            a.saturating_sub(b) < 32 * 1024,
            "peak RSS grew by {} KiB",
            a - b
        );
    }
    assert_eq!(v.read_to_string("ok.yaml")?, "ok: true\n");
    eprintln!("100 MB blob refused in {took:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_render_cap_counts_every_read() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "r")?;
    let sha = up.commit(&[("a", "12345678"), ("b", "12345678")], "x")?;
    let c = cache_with(tmp.path(), CredentialStore::new(), |cfg| {
        cfg.limits = Limits {
            max_file_bytes: 8,
            max_render_bytes: 12,
        }
    })?;
    let url = RepoUrl::parse(&up.file_url())?;
    let v = c.view(&url, &sha, "").await?;
    assert_eq!(v.read_file("a")?.len(), 8);
    assert!(matches!(
        v.read_file("b"),
        Err(GitError::RenderTooLarge { .. })
    ));
    // A fresh view (a new render) starts from zero.
    let v2 = c.view(&url, &sha, "").await?;
    assert_eq!(v2.read_file("b")?.len(), 8);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_read_only_and_refuse_escaping_links() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "snap")?;
    let good = up.commit(
        &[
            ("shared/common.yaml", "common: true\n"),
            ("apps/web/k.yaml", "k: 1\n"),
            ("apps/web/common.yaml", "->../../shared/common.yaml"),
        ],
        "good",
    )?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    let dir = c.materialize(&url, &good).await?;
    assert_eq!(
        std::fs::read_to_string(dir.join("apps/web/common.yaml"))?,
        "common: true\n"
    );
    assert!(
        std::fs::symlink_metadata(dir.join("apps/web/common.yaml"))?
            .file_type()
            .is_symlink()
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(dir.join("apps/web/k.yaml"))?
            .permissions()
            .mode()
            & 0o777,
        0o444
    );
    assert_eq!(
        std::fs::metadata(dir.join("apps"))?.permissions().mode() & 0o777,
        0o555
    );
    // Asking again returns the same, untouched directory.
    assert_eq!(c.materialize(&url, &good).await?, dir);
    let evil = up.commit(&[("apps/web/passwd", "->/etc/passwd")], "evil")?;
    let err = c.materialize(&url, &evil).await.unwrap_err();
    assert!(matches!(err, GitError::OutsideRepository { .. }), "{err}");
    assert!(!dir.with_file_name(&evil).exists());
    Ok(())
}
