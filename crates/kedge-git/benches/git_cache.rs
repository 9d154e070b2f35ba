//! Benchmarks of the Git layer up to the rendered objects, printed as
//! plain numbers:
//!
//! 1. cold clone + render of a generated 10,000-file repository (50
//!    Kustomize apps of 200 ConfigMaps under one root kustomization, 10,000
//!    objects out): `GitCache` fetch then the Kustomize renderer reading
//!    the commit through `ViewFileSystem` (no checkout), and the same
//!    through a materialised snapshot and `OsFileSystem`; against
//!    `git clone --bare`, `git clone` alone and (with `BENCH_KUBECTL=1`)
//!    `git clone` + `kubectl kustomize`, over file:// and git:// (git
//!    daemon on 127.0.0.1);
//! 2. 500 Kustomize applications over 5 repositories, all rendered once;
//!    then pushes that each touch one application's path, one at a time,
//!    each announced by a signed GitHub webhook through the router. The
//!    refresh listener matches the push's changed paths against every
//!    application of the repository (`PathMatcher`) and renders only the
//!    affected ones at the new commit. Reported: p50/p99/max of webhook
//!    receipt → that application's new render, how many applications each
//!    push re-rendered, and git processes spawned per push (the crate's
//!    own counter);
//! 3. the same 500 applications when one push per repository touches all
//!    of its 100 applications (fan-out).
//!
//! Run: `cargo bench -p kedge-git --bench git_cache [clone|webhook|fanout]`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use kedge_git::webhook::{self, PushEvent, WebhookConfig};
use kedge_git::{
    CacheConfig, CredentialStore, FetchOutcome, GitBackend as _, GitCache, GitError, PathMatcher,
    RefreshListener, Refresher, RepoUrl, ViewFileSystem,
};
use kedge_kustomize::{Kustomizer, OsFileSystem};
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

/// Renders `path` of `commit` through the view; returns the object count.
async fn render(cache: &GitCache, url: &RepoUrl, commit: &str, path: &str) -> usize {
    let view = cache.view(url, commit, path).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let fs = ViewFileSystem::new(view);
        Kustomizer::new()
            .build(&fs, &fs.app_dir())
            .unwrap()
            .objects
            .len()
    })
    .await
    .unwrap()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

async fn cold_clone(root: &Path) {
    println!("== cold clone + render, 10,000-file repository (10,000 objects)");
    let mut files: Vec<(String, String)> = (0..10_000)
        .map(|i| {
            (
                format!("apps/app-{:02}/res-{:04}.yaml", i / 200, i),
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  key: value-{i}\n"),
            )
        })
        .collect();
    for a in 0..50 {
        let mut k = String::from("resources:\n");
        for i in a * 200..(a + 1) * 200 {
            k.push_str(&format!("- res-{i:04}.yaml\n"));
        }
        files.push((format!("apps/app-{a:02}/kustomization.yaml"), k));
    }
    let mut k = String::from("labels:\n- pairs:\n    bench: tenk\nresources:\n");
    for a in 0..50 {
        k.push_str(&format!("- apps/app-{a:02}\n"));
    }
    files.push(("kustomization.yaml".into(), k));
    let bare = root.join("tenk.git");
    let sha = import(&bare, &files, "ten thousand");
    let d = daemon(root);
    // `kubectl kustomize` over 10,000 resources runs for many minutes:
    // opt in with BENCH_KUBECTL=1.
    let kubectl =
        std::env::var_os("BENCH_KUBECTL").is_some() && Path::new("/usr/bin/kubectl").exists();
    for (label, url) in [
        ("file://", format!("file://{}", bare.display())),
        ("git://", format!("git://127.0.0.1:{}/tenk.git", d.1)),
    ] {
        let runs = 3;
        let (mut view_t, mut snap_t, mut bare_t, mut clone_t, mut kubectl_t) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let dir = root.join(format!("c-{}-{run}", label.trim_end_matches("://")));
            let u = RepoUrl::parse(&url).unwrap();

            // Fetch + render through the view (no checkout).
            let t = Instant::now();
            let cache = new_cache(&dir.join("cache"));
            let got = cache.resolve(&u, "main", None).await.unwrap();
            assert_eq!(got, sha);
            assert_eq!(render(&cache, &u, &got, "").await, 10_000);
            view_t.push(t.elapsed());
            if run == 0 {
                println!(
                    "   {label} fetch + render via view: {} git processes",
                    cache.git_processes_spawned()
                );
            }

            // Fetch + materialise + render from disk (a fresh cache).
            let t = Instant::now();
            let cache = new_cache(&dir.join("cache2"));
            let got = cache.resolve(&u, "main", None).await.unwrap();
            let snap = cache.materialize_snapshot(&u, &got).await.unwrap();
            let p = snap.path().to_owned();
            let n = tokio::task::spawn_blocking(move || {
                Kustomizer::new()
                    .build(&OsFileSystem, &p)
                    .unwrap()
                    .objects
                    .len()
            })
            .await
            .unwrap();
            assert_eq!(n, 10_000);
            snap_t.push(t.elapsed());

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
            bare_t.push(t.elapsed());
            let t = Instant::now();
            let w = dir.join("w");
            git(root, &["clone", "-q", &url, w.to_str().unwrap()]);
            clone_t.push(t.elapsed());
            println!(
                "   {label} run {run}: view {:?}, snapshot {:?}, clone --bare {:?}, clone {:?}",
                view_t[run], snap_t[run], bare_t[run], clone_t[run]
            );
            if kubectl {
                let t = Instant::now();
                let out = Command::new("/usr/bin/kubectl")
                    .arg("kustomize")
                    .arg(&w)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert!(out.success());
                kubectl_t.push(t.elapsed() + clone_t[clone_t.len() - 1]);
            }
        }
        println!(
            "   {label} median of {runs}: fetch + render via view = {:?}; fetch + snapshot + render = {:?}; git clone --bare = {:?}; git clone = {:?}; git clone + kubectl kustomize = {}",
            median(&mut view_t),
            median(&mut snap_t),
            median(&mut bare_t),
            median(&mut clone_t),
            if kubectl_t.is_empty() {
                "n/a".to_string()
            } else {
                format!("{:?}", median(&mut kubectl_t))
            },
        );
    }
}

/// One application: its repository, source path and path matcher.
#[derive(Clone)]
struct App {
    url: RepoUrl,
    path: String,
    matcher: PathMatcher,
}

struct Timing {
    receipts: Mutex<HashMap<String, Instant>>,
    done: Mutex<Vec<Duration>>,
    /// Renders scheduled (counted before any is spawned).
    scheduled: std::sync::atomic::AtomicUsize,
    apps: Vec<App>,
    cache: Arc<GitCache>,
    expect: Mutex<HashMap<String, String>>,
    finished: tokio::sync::mpsc::UnboundedSender<String>,
}

struct Listener(Arc<Timing>);

impl RefreshListener for Listener {
    fn on_refreshed(
        &self,
        repo: &RepoUrl,
        result: &Result<FetchOutcome, GitError>,
        push: Option<&PushEvent>,
    ) {
        let t = self.0.clone();
        let key = repo.key();
        let new = result.as_ref().expect("fetch").refs.heads["main"].clone();
        assert_eq!(t.expect.lock().unwrap().get(&key), Some(&new));
        let received = t.receipts.lock().unwrap()[&key];
        let changed = push.and_then(|p| p.changed_paths.clone());
        let affected: Vec<App> = t
            .apps
            .iter()
            .filter(|a| a.url.key() == key && a.matcher.is_affected(changed.as_deref()))
            .cloned()
            .collect();
        t.scheduled
            .fetch_add(affected.len(), std::sync::atomic::Ordering::SeqCst);
        for app in affected {
            let t = t.clone();
            tokio::spawn(async move {
                let sha = t.cache.resolve(&app.url, "main", None).await.unwrap();
                let n = render(&t.cache, &app.url, &sha, &app.path).await;
                assert_eq!(n, 3);
                t.done.lock().unwrap().push(received.elapsed());
                let _ = t.finished.send(app.path.clone());
            });
        }
    }
}

fn app_files(r: usize, a: usize, version: usize) -> Vec<(String, String)> {
    let dir = format!("apps/app-{a:03}");
    let name = format!("r{r}-a{a}");
    vec![
        (
            format!("{dir}/kustomization.yaml"),
            format!(
                "namePrefix: {name}-\nlabels:\n- pairs:\n    app: {name}\n  includeSelectors: true\nresources:\n- deployment.yaml\n- service.yaml\nconfigMapGenerator:\n- name: settings\n  files:\n  - config.yaml\n"
            ),
        ),
        (
            format!("{dir}/deployment.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        envFrom:\n        - configMapRef:\n            name: settings\n".to_string(),
        ),
        (
            format!("{dir}/service.yaml"),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n".to_string(),
        ),
        (
            format!("{dir}/config.yaml"),
            format!("repo: {r}\napp: {a}\nversion: {version}\n"),
        ),
    ]
}

/// Five repositories of 100 applications (plus 2,000 unrelated files each),
/// every application rendered once; returns the apps and the cache.
async fn setup_500(root: &Path, daemon_port: u16, tag: &str) -> (Vec<App>, Arc<GitCache>) {
    let mut apps = Vec::new();
    for r in 0..5 {
        let bare = root.join(format!("{tag}-{r}.git"));
        let mut files = Vec::new();
        for a in 0..100 {
            files.extend(app_files(r, a, 1));
        }
        for i in 0..2000 {
            files.push((format!("other/file-{i}.txt"), format!("filler {i}\n")));
        }
        import(&bare, &files, "init");
        let url = RepoUrl::parse(&format!("git://127.0.0.1:{daemon_port}/{tag}-{r}.git")).unwrap();
        for a in 0..100 {
            let path = format!("apps/app-{a:03}");
            apps.push(App {
                url: url.clone(),
                matcher: PathMatcher::new(&path, None).unwrap(),
                path,
            });
        }
    }
    let cache = new_cache(&root.join(format!("{tag}-cache")));
    let t = Instant::now();
    for app in &apps {
        let sha = cache.resolve(&app.url, "main", None).await.unwrap();
        assert_eq!(render(&cache, &app.url, &sha, &app.path).await, 3);
    }
    println!(
        "   initial render of 500 apps (5 cold fetches included): {:?}",
        t.elapsed()
    );
    (apps, cache)
}

fn push_body(url: &RepoUrl, new: &str, changed: &[String]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "ref": "refs/heads/main", "before": "", "after": new,
        "repository": { "clone_url": url.fetch_url(), "html_url": "https://example.invalid/bench" },
        "commits": [{ "added": [], "removed": [], "modified": changed }]
    }))
    .unwrap()
}

async fn post(router: &axum::Router, secret: &str, body: Vec<u8>) {
    let req = http::Request::post("/api/webhook")
        .header("X-GitHub-Event", "push")
        .header(
            "X-Hub-Signature-256",
            format!("sha256={}", webhook::sign(secret, &body)),
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let _ = resp.into_body().collect().await;
}

struct Harness {
    timing: Arc<Timing>,
    router: axum::Router,
    rx: tokio::sync::mpsc::UnboundedReceiver<String>,
    _refresher: Arc<Refresher>,
}

const SECRET: &str = "bench-secret-1234";

fn harness(apps: &[App], cache: &Arc<GitCache>) -> Harness {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let timing = Arc::new(Timing {
        receipts: Mutex::new(HashMap::new()),
        done: Mutex::new(Vec::new()),
        scheduled: Default::default(),
        apps: apps.to_vec(),
        cache: cache.clone(),
        expect: Mutex::new(HashMap::new()),
        finished: tx,
    });
    let refresher = Refresher::new(cache.clone(), Arc::new(Listener(timing.clone())));
    for app in apps {
        refresher.watch(app.url.clone());
    }
    let router = webhook::router(
        refresher.clone(),
        WebhookConfig {
            github_secret: Some(kedge_git::Redacted::secret(SECRET)),
            ..Default::default()
        },
    );
    Harness {
        timing,
        router,
        rx,
        _refresher: refresher,
    }
}

/// Pushes touching one application each, one at a time.
async fn webhook_single(root: &Path) {
    println!(
        "== 500 apps over 5 repositories; pushes touching one app's path, webhook -> that app's new render"
    );
    let d = daemon(root);
    let (apps, cache) = setup_500(root, d.1, "one").await;
    let mut h = harness(&apps, &cache);
    let pushes = 40;
    let mut per_push_spawns = Vec::new();
    let mut rendered_per_push = Vec::new();
    for i in 0..pushes {
        let r = i % 5;
        let a = (i * 37) % 100;
        let url = &apps[r * 100 + a].url;
        let bare = root.join(format!("one-{r}.git"));
        let files = vec![(
            format!("apps/app-{a:03}/config.yaml"),
            format!("repo: {r}\napp: {a}\nversion: {}\n", i + 2),
        )];
        let new = import(&bare, &files, "bump one app");
        h.timing
            .expect
            .lock()
            .unwrap()
            .insert(url.key(), new.clone());
        let changed: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
        let body = push_body(url, &new, &changed);
        let spawned = cache.git_processes_spawned();
        let scheduled = h.timing.scheduled.load(std::sync::atomic::Ordering::SeqCst);
        h.timing
            .receipts
            .lock()
            .unwrap()
            .insert(url.key(), Instant::now());
        post(&h.router, SECRET, body).await;
        let path = tokio::time::timeout(Duration::from_secs(60), h.rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(path, format!("apps/app-{a:03}"));
        per_push_spawns.push(cache.git_processes_spawned() - spawned);
        // The listener counts what it schedules before spawning any render.
        let n = h.timing.scheduled.load(std::sync::atomic::Ordering::SeqCst) - scheduled;
        assert_eq!(n, 1, "push {i} re-rendered {n} apps");
        rendered_per_push.push(n);
    }
    let mut d = h.timing.done.lock().unwrap().clone();
    d.sort();
    println!(
        "   {pushes} pushes: webhook receipt -> new render p50 = {:?}, p99 = {:?}, max = {:?}",
        percentile(&d, 0.50),
        percentile(&d, 0.99),
        d[d.len() - 1]
    );
    println!(
        "   apps re-rendered per push: min {} max {}; git processes per push: min {} max {} (total {})",
        rendered_per_push.iter().min().unwrap(),
        rendered_per_push.iter().max().unwrap(),
        per_push_spawns.iter().min().unwrap(),
        per_push_spawns.iter().max().unwrap(),
        per_push_spawns.iter().sum::<u64>()
    );
}

/// One push per repository touching all of its 100 applications.
async fn webhook_fanout(root: &Path) {
    println!("== 500 apps over 5 repositories; one push per repository touching all its apps");
    let d = daemon(root);
    let (apps, cache) = setup_500(root, d.1, "fan").await;
    let mut h = harness(&apps, &cache);
    let mut bodies = Vec::new();
    for r in 0..5 {
        let url = &apps[r * 100].url;
        let bare = root.join(format!("fan-{r}.git"));
        let files: Vec<(String, String)> = (0..100)
            .map(|a| {
                (
                    format!("apps/app-{a:03}/config.yaml"),
                    format!("repo: {r}\napp: {a}\nversion: 2\n"),
                )
            })
            .collect();
        let new = import(&bare, &files, "bump");
        h.timing
            .expect
            .lock()
            .unwrap()
            .insert(url.key(), new.clone());
        let changed: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
        bodies.push((url.key(), push_body(url, &new, &changed)));
    }
    let spawned_before = cache.git_processes_spawned();
    let start = Instant::now();
    for (key, body) in bodies {
        h.timing
            .receipts
            .lock()
            .unwrap()
            .insert(key, Instant::now());
        post(&h.router, SECRET, body).await;
    }
    for _ in 0..500 {
        tokio::time::timeout(Duration::from_secs(120), h.rx.recv())
            .await
            .unwrap()
            .unwrap();
    }
    let total = start.elapsed();
    let spawned = cache.git_processes_spawned() - spawned_before;
    let mut d = h.timing.done.lock().unwrap().clone();
    d.sort();
    println!(
        "   500 apps: webhook receipt -> new render p50 = {:?}, p99 = {:?}, max = {:?}; all done in {total:?}; git processes spawned: {spawned}",
        percentile(&d, 0.50),
        percentile(&d, 0.99),
        d[d.len() - 1]
    );
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    rt.block_on(async {
        if wants("clone") {
            cold_clone(&root).await;
        }
        if wants("webhook") {
            webhook_single(&root).await;
        }
        if wants("fanout") {
            webhook_fanout(&root).await;
        }
    });
}
