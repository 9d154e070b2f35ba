//! Benchmarks of the Git layer, printed as plain numbers:
//!
//! 1. cold clone + full tree read of a generated 10,000-file repository
//!    through `GitCache` (fetch, ls-tree, every blob through the cat-file
//!    pool, pipelined per directory) against `git clone --bare` and `git clone` alone, over file://
//!    and git:// (git daemon on 127.0.0.1);
//! 2. 500 application paths over 5 repositories: after one push to each
//!    repository, a GitHub webhook per repository goes through the router;
//!    the refresh listener resolves `main` and reads every file of each
//!    application. Reported: p50/p99/max of webhook receipt → new tree read,
//!    and the number of git processes spawned (the crate's own counter).
//!
//! Run: `cargo bench -p kedge-git --bench git_cache`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use kedge_git::webhook::{self, PushEvent, WebhookConfig};
use kedge_git::{
    CacheConfig, CredentialStore, FetchOutcome, GitBackend as _, GitCache, GitError,
    RefreshListener, Refresher, RepoUrl,
};
use tower::ServiceExt as _;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .args(args)
        .output()
        .expect("spawn git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Writes a commit of `files` on `main` with fast-import (parent: current main).
fn import(bare: &Path, files: &[(String, String)], message: &str) -> String {
    if !bare.exists() {
        git(
            bare.parent().unwrap(),
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        );
    }
    let parent = Command::new("git")
        .env("GIT_DIR", bare)
        .args(["rev-parse", "--verify", "-q", "refs/heads/main"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let mut child = Command::new("git")
        .env("GIT_DIR", bare)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    {
        let mut w = std::io::BufWriter::new(child.stdin.take().unwrap());
        writeln!(
            w,
            "commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata {}\n{message}",
            message.len()
        )
        .unwrap();
        if let Some(p) = parent {
            writeln!(w, "from {p}").unwrap();
        }
        for (path, data) in files {
            writeln!(w, "M 100644 inline {path}\ndata {}\n{data}", data.len()).unwrap();
        }
    }
    assert!(child.wait().unwrap().success());
    git(bare, &["rev-parse", "refs/heads/main"])
}

struct Daemon(std::process::Child, u16);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn daemon(base: &Path) -> Daemon {
    for _ in 0..10 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("git")
            .args([
                "daemon",
                "--export-all",
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
                base.to_str().unwrap(),
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Daemon(child, port);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("git daemon did not start");
}

fn new_cache(dir: &Path) -> Arc<GitCache> {
    let mut cfg = CacheConfig::new(dir);
    cfg.allow_file_protocol = true;
    Arc::new(GitCache::new(cfg, CredentialStore::new()).unwrap())
}

async fn read_all(cache: &GitCache, url: &RepoUrl, commit: &str, path: &str) -> (usize, usize) {
    let view = cache.view(url, commit, path).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut files = 0;
        let mut bytes = 0;
        let mut stack = vec![String::new()];
        let mut batch: Vec<String> = Vec::new();
        while let Some(dir) = stack.pop() {
            for e in view
                .read_dir(if dir.is_empty() { "." } else { &dir })
                .unwrap()
            {
                let p = if dir.is_empty() {
                    e.name.clone()
                } else {
                    format!("{dir}/{}", e.name)
                };
                if e.kind == kedge_git::EntryKind::Dir {
                    stack.push(p);
                } else {
                    batch.push(p);
                }
            }
            // One pipelined exchange per directory.
            for data in view.read_files(&batch).unwrap() {
                bytes += data.len();
                files += 1;
            }
            batch.clear();
        }
        (files, bytes)
    })
    .await
    .unwrap()
}

async fn cold_clone(root: &Path) {
    println!("== cold clone + full tree read, 10,000 files");
    let files: Vec<(String, String)> = (0..10_000)
        .map(|i| {
            (
                format!("apps/app-{:02}/res-{:04}.yaml", i / 200, i),
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  key: value-{i}\n"),
            )
        })
        .collect();
    let bare = root.join("tenk.git");
    let sha = import(&bare, &files, "ten thousand");
    let d = daemon(root);
    for (label, url) in [
        ("file://", format!("file://{}", bare.display())),
        ("git://", format!("git://127.0.0.1:{}/tenk.git", d.1)),
    ] {
        let runs = 3;
        let mut ours = Vec::new();
        let mut bare_clone = Vec::new();
        let mut full_clone = Vec::new();
        for run in 0..runs {
            let dir = root.join(format!("c-{}-{run}", label.trim_end_matches("://")));
            let t = Instant::now();
            let cache = new_cache(&dir.join("cache"));
            let u = RepoUrl::parse(&url).unwrap();
            let got = cache.resolve(&u, "main", None).await.unwrap();
            assert_eq!(got, sha);
            let (n, _) = read_all(&cache, &u, &got, "").await;
            assert_eq!(n, 10_000);
            ours.push(t.elapsed());
            let spawned = cache.git_processes_spawned();
            if run == 0 {
                println!("   {label} GitCache: {spawned} git processes");
            }
            let t = Instant::now();
            git(
                root,
                &[
                    "clone",
                    "-q",
                    "--bare",
                    &url,
                    dir.join("b.git").to_str().unwrap(),
                ],
            );
            bare_clone.push(t.elapsed());
            let t = Instant::now();
            git(
                root,
                &["clone", "-q", &url, dir.join("w").to_str().unwrap()],
            );
            full_clone.push(t.elapsed());
        }
        let med = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        println!(
            "   {label} median of {runs}: GitCache fetch+ls-tree+read all = {:?}; git clone --bare = {:?}; git clone (with checkout) = {:?}",
            med(&mut ours),
            med(&mut bare_clone),
            med(&mut full_clone)
        );
    }
}

struct Timing {
    receipts: Mutex<Vec<(String, Instant)>>,
    done: Mutex<Vec<Duration>>,
    fetched: Mutex<Vec<Duration>>,
    apps: Vec<(RepoUrl, Vec<String>)>,
    cache: Arc<GitCache>,
    expect: Mutex<std::collections::HashMap<String, String>>,
    finished: tokio::sync::mpsc::UnboundedSender<()>,
}

struct Listener(Arc<Timing>);

impl RefreshListener for Listener {
    fn on_refreshed(
        &self,
        repo: &RepoUrl,
        result: &Result<FetchOutcome, GitError>,
        _push: Option<&PushEvent>,
    ) {
        let t = self.0.clone();
        let key = repo.key();
        let new = result.as_ref().expect("fetch").refs.heads["main"].clone();
        assert_eq!(t.expect.lock().unwrap().get(&key), Some(&new));
        let received = t
            .receipts
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, at)| *at)
            .unwrap();
        t.fetched.lock().unwrap().push(received.elapsed());
        let (url, paths) = t
            .apps
            .iter()
            .find(|(u, _)| u.key() == key)
            .cloned()
            .unwrap();
        for path in paths {
            let t = t.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let sha = t.cache.resolve(&url, "main", None).await.unwrap();
                let (n, _) = read_all(&t.cache, &url, &sha, &path).await;
                assert!(n >= 4);
                t.done.lock().unwrap().push(received.elapsed());
                let _ = t.finished.send(());
            });
        }
    }
}

async fn webhook_fanout(root: &Path) {
    println!("== 500 app paths over 5 repositories, one push each, webhook -> new tree read");
    let d = daemon(root);
    let mut apps = Vec::new();
    for r in 0..5 {
        let bare = root.join(format!("fan-{r}.git"));
        let mut files = Vec::new();
        for a in 0..100 {
            for f in [
                "kustomization.yaml",
                "deployment.yaml",
                "service.yaml",
                "config.yaml",
            ] {
                files.push((
                    format!("apps/app-{a:03}/{f}"),
                    format!("# repo {r} app {a} {f}\nv: 1\n"),
                ));
            }
        }
        for i in 0..2000 {
            files.push((format!("other/file-{i}.txt"), format!("filler {i}\n")));
        }
        import(&bare, &files, "init");
        let url = RepoUrl::parse(&format!("git://127.0.0.1:{}/fan-{r}.git", d.1)).unwrap();
        apps.push((
            url,
            (0..100)
                .map(|a| format!("apps/app-{a:03}"))
                .collect::<Vec<_>>(),
        ));
    }
    let cache = new_cache(&root.join("fan-cache"));
    // Warm: every app rendered once at the first commit.
    for (url, paths) in &apps {
        let sha = cache.resolve(url, "main", None).await.unwrap();
        for p in paths {
            read_all(&cache, url, &sha, p).await;
        }
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let timing = Arc::new(Timing {
        receipts: Mutex::new(Vec::new()),
        done: Mutex::new(Vec::new()),
        fetched: Mutex::new(Vec::new()),
        apps: apps.clone(),
        cache: cache.clone(),
        expect: Mutex::new(Default::default()),
        finished: tx,
    });
    let refresher = Refresher::new(cache.clone(), Arc::new(Listener(timing.clone())));
    for (url, _) in &apps {
        refresher.watch(url.clone());
    }
    let secret = "bench-secret-1234";
    let router = webhook::router(
        refresher.clone(),
        WebhookConfig {
            github_secret: Some(kedge_git::Redacted::secret(secret)),
            ..Default::default()
        },
    );
    // One push to every repository: every app changes.
    let mut bodies = Vec::new();
    for (r, (url, _)) in apps.iter().enumerate() {
        let bare = root.join(format!("fan-{r}.git"));
        let files: Vec<(String, String)> = (0..100)
            .map(|a| {
                (
                    format!("apps/app-{a:03}/config.yaml"),
                    format!("# repo {r} app {a}\nv: 2\n"),
                )
            })
            .collect();
        let new = import(&bare, &files, "bump");
        timing.expect.lock().unwrap().insert(url.key(), new.clone());
        let body = serde_json::to_vec(&serde_json::json!({
            "ref": "refs/heads/main", "before": "", "after": new,
            "repository": { "clone_url": url.fetch_url(), "html_url": format!("https://example.invalid/fan-{r}") },
            "commits": [{ "added": [], "removed": [], "modified": files.iter().map(|f| f.0.clone()).collect::<Vec<_>>() }]
        }))
        .unwrap();
        bodies.push((url.key(), body));
    }
    let spawned_before = cache.git_processes_spawned();
    let start = Instant::now();
    for (key, body) in bodies {
        let req = http::Request::post("/api/webhook")
            .header("X-GitHub-Event", "push")
            .header(
                "X-Hub-Signature-256",
                format!("sha256={}", webhook::sign(secret, &body)),
            )
            .body(axum::body::Body::from(body))
            .unwrap();
        timing.receipts.lock().unwrap().push((key, Instant::now()));
        let resp = router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let _ = resp.into_body().collect().await;
    }
    for _ in 0..500 {
        tokio::time::timeout(Duration::from_secs(120), rx.recv())
            .await
            .unwrap()
            .unwrap();
    }
    let total = start.elapsed();
    let spawned = cache.git_processes_spawned() - spawned_before;
    let mut d = timing.done.lock().unwrap().clone();
    d.sort();
    let pct = |p: f64| {
        d[((d.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(d.len() - 1)]
    };
    println!(
        "   500 apps: webhook receipt -> new tree read p50 = {:?}, p99 = {:?}, max = {:?}; all done in {total:?}",
        pct(0.50),
        pct(0.99),
        d[d.len() - 1]
    );
    let mut f = timing.fetched.lock().unwrap().clone();
    f.sort();
    println!("   webhook receipt -> fetch done, per repository: {f:?}");
    println!("   git processes spawned for 5 pushes x 100 apps: {spawned}");
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    rt.block_on(async {
        if only.as_deref().is_none_or(|o| "clone".contains(o)) {
            cold_clone(&root).await;
        }
        if only.as_deref().is_none_or(|o| "webhook".contains(o)) {
            webhook_fanout(&root).await;
        }
    });
}
