//! The fleet benchmark: a thousand Applications on the embedded control
//! plane, from cold start to every one Synced and Healthy, then idle cost,
//! drift-heal latency and push-to-applied latency.
//!
//! The driver owns the fixture and the measurements; the systems under test
//! run as separate processes so their CPU time and memory are read from
//! `/proc` without the driver's own work mixed in:
//! - the control plane is `kedge cluster serve` (`--kedge PATH`) or, without
//!   it, this same binary re-executed as `fleet serve DIR`;
//! - the controller is `kedge controller` (`--controller kedge`, arguments
//!   from `--controller-args`, a template) or this binary re-executed as
//!   `fleet controller …`, which runs `Controller::run` from the library
//!   and serves `Controller::router` (push webhook, metrics).
//!
//! The fixture is `--repos` local Git repositories served over `file://`,
//! each with `--apps / --repos` application paths of `--objects` objects
//! (ConfigMaps, one Service, one Deployment with one replica that the
//! control plane's workload simulator makes Available), rendered through a
//! `kustomization.yaml`. Every Application syncs automatically with prune
//! and self-heal into a namespace per repository, created beforehand.
//!
//! Measurements, all observed through watches (never by polling the
//! controller): the time from the controller's start until every
//! Application reports `Synced` and `Healthy`; CPU time (utime+stime, and
//! the reaped children's, which are the controller's git processes) and
//! memory (VmRSS, VmHWM) of each process over an idle window; drift heal,
//! a merge patch of a managed ConfigMap field until the watch sees the Git
//! value back; push to applied, a commit to one application's path plus a
//! signed GitHub push webhook (or another `--trigger`) until the watch sees
//! the committed value live. Each trial has a deadline; trials that miss it
//! are counted, and a series stops early when its first three trials all
//! miss (the controller evidently lacks that trigger).
//!
//! `cargo run --release -p kedge-controller --example fleet -- [--apps N]
//! [--repos N] [--objects N] [--idle SECS] [--heal N] [--push N] …`; see
//! [`Args`] for every option.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kedge_controller::{Controller, ControllerConfig, application_resource};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::GroupVersionKind;
use kube::runtime::watcher;
use serde_json::{Value, json};

/// Command-line options of the benchmark run.
#[derive(Debug, Clone)]
struct Args {
    apps: usize,
    repos: usize,
    objects: usize,
    /// Seconds of the idle window.
    idle: u64,
    /// Seconds between convergence and the idle window.
    settle: u64,
    heal: usize,
    push: usize,
    /// Seconds allowed for the cold start.
    timeout: u64,
    /// Seconds without progress, once every app is Synced, after which the
    /// cold start stops waiting for health.
    stall: u64,
    /// Seconds allowed per heal or push trial.
    trial_timeout: u64,
    /// Work directory (repos, data, cache, logs); a temp dir when absent.
    work: Option<PathBuf>,
    /// The `kedge` binary for `kedge cluster serve` (and `kedge controller`).
    kedge: Option<PathBuf>,
    /// `inproc` (this binary, `Controller::run`) or `kedge`.
    controller: String,
    /// Arguments of `kedge` for the controller, with `{kubeconfig}`,
    /// `{cache}`, `{webhook}` (host:port), `{secret}` and `{namespace}`.
    controller_args: String,
    /// `webhook`, `refresh` (annotation) or `none` (wait for the poll).
    trigger: String,
    /// Resync period of the `inproc` controller, seconds.
    resync: u64,
    /// `RUST_LOG` / `KEDGE_LOG` of the child processes.
    log: String,
    seed: u64,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            apps: 1000,
            repos: 20,
            objects: 10,
            idle: 60,
            settle: 10,
            heal: 50,
            push: 30,
            timeout: 900,
            stall: 60,
            trial_timeout: 20,
            work: None,
            kedge: None,
            controller: "inproc".into(),
            // The secret goes through KEDGE_WEBHOOK_SECRET, not argv.
            controller_args: "controller --kubeconfig {kubeconfig} --namespace {namespace} \
                              --cache-dir {cache} --allow-file-repos --listen {webhook}"
                .into(),
            trigger: "webhook".into(),
            resync: 180,
            log: "warn".into(),
            seed: 42,
        }
    }
}

fn parse_args(argv: &[String]) -> Result<Args> {
    let mut a = Args::default();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .clone();
        let num = || -> Result<u64> {
            value
                .parse::<u64>()
                .with_context(|| format!("{flag} needs a number, got {value:?}"))
        };
        match flag.as_str() {
            "--apps" => a.apps = num()? as usize,
            "--repos" => a.repos = num()? as usize,
            "--objects" => a.objects = num()? as usize,
            "--idle" => a.idle = num()?,
            "--settle" => a.settle = num()?,
            "--heal" => a.heal = num()? as usize,
            "--push" => a.push = num()? as usize,
            "--timeout" => a.timeout = num()?,
            "--stall" => a.stall = num()?,
            "--trial-timeout" => a.trial_timeout = num()?,
            "--work" => a.work = Some(PathBuf::from(value)),
            "--kedge" => a.kedge = Some(PathBuf::from(value)),
            "--controller" => a.controller = value,
            "--controller-args" => a.controller_args = value,
            "--trigger" => a.trigger = value,
            "--resync" => a.resync = num()?,
            "--log" => a.log = value,
            "--seed" => a.seed = num()?,
            other => bail!("unknown option {other}"),
        }
    }
    if a.repos == 0 || a.apps % a.repos != 0 {
        bail!("--apps must be a multiple of --repos");
    }
    if a.objects < 3 {
        bail!("--objects must be at least 3 (ConfigMaps, a Service, a Deployment)");
    }
    if !matches!(a.controller.as_str(), "inproc" | "kedge") {
        bail!("--controller is inproc or kedge");
    }
    if a.controller == "kedge" && a.kedge.is_none() {
        bail!("--controller kedge needs --kedge PATH");
    }
    if !matches!(a.trigger.as_str(), "webhook" | "refresh" | "none") {
        bail!("--trigger is webhook, refresh or none");
    }
    Ok(a)
}

const APP_NAMESPACE: &str = "kedge";
const WEBHOOK_SECRET: &str = "fleet-bench-secret";

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    match argv.first().map(String::as_str) {
        Some("serve") => runtime.block_on(serve(argv.get(1).context("serve DATA_DIR")?)),
        Some("controller") => runtime.block_on(run_controller(&argv[1..])),
        _ => {
            let args = parse_args(&argv)?;
            runtime.block_on(bench(args))
        }
    }
}

// ---------------------------------------------------------------------------
// Child roles

/// `fleet serve DIR`: the embedded control plane, as `kedge cluster serve`.
async fn serve(data: &str) -> Result<()> {
    let config = kedge_apiserver::Config::new("127.0.0.1:0".parse()?, data);
    let handle = kedge_apiserver::ApiServer::start(config).await?;
    println!(
        "kedge control plane listening on {} (kubeconfig: {})",
        handle.local_addr(),
        handle.kubeconfig_path().display()
    );
    wait_for_term().await?;
    handle.shutdown().await;
    Ok(())
}

/// `fleet controller KUBECONFIG CACHE RESYNC_SECS WEBHOOK_ADDR`:
/// `Controller::run`, with `Controller::router` (webhook, metrics) served
/// on `WEBHOOK_ADDR`.
async fn run_controller(argv: &[String]) -> Result<()> {
    let [kubeconfig, cache, resync, webhook] = argv else {
        bail!("controller KUBECONFIG CACHE RESYNC_SECS WEBHOOK_ADDR");
    };
    let client = client_from(Path::new(kubeconfig)).await?;
    let mut cc = ControllerConfig::new(cache);
    cc.allow_file_protocol = true;
    cc.namespace = APP_NAMESPACE.into();
    cc.resync = Duration::from_secs(resync.parse()?);
    cc.webhook.github_secret = Some(kedge_git::Redacted::new(WEBHOOK_SECRET.to_string()));
    let controller = Arc::new(Controller::new(client, cc)?);
    let listener = tokio::net::TcpListener::bind(webhook.as_str())
        .await
        .with_context(|| format!("binding {webhook}"))?;
    let router = controller.router();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("webhook endpoint: {e}");
        }
    });
    controller
        .run(async {
            let _ = wait_for_term().await;
        })
        .await;
    Ok(())
}

async fn wait_for_term() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

async fn client_from(kubeconfig: &Path) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await?;
    Ok(kube::Client::try_from(cfg)?)
}

// ---------------------------------------------------------------------------
// Processes and /proc

/// A child process, terminated (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds of a process: (own utime+stime, reaped children's).
fn cpu_seconds(pid: u32, ticks: f64) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let get = |i: usize| f.get(i).copied().unwrap_or(0.0);
    // After the command: field 3 (state) is index 0, so utime (14) is 11.
    ((get(11) + get(12)) / ticks, (get(13) + get(14)) / ticks)
}

/// (VmRSS, VmHWM) in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

// ---------------------------------------------------------------------------
// Fixture: Git repositories

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=fleet",
            "-c",
            "user.email=fleet@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn repo_name(r: usize) -> String {
    format!("repo-{r:02}")
}

fn app_dir(a: usize) -> String {
    format!("apps/a{a:03}")
}

fn app_name(r: usize, a: usize) -> String {
    format!("r{r:02}-a{a:03}")
}

fn dest_namespace(r: usize) -> String {
    format!("fleet-{r:02}")
}

/// The ConfigMaps file of one app; `value` is the first ConfigMap's
/// `data.value`, the field heal and push trials watch.
fn configmaps_yaml(a: usize, count: usize, value: &str) -> String {
    let mut s = String::new();
    for i in 0..count {
        let v = if i == 0 {
            value.to_string()
        } else {
            format!("static-{i}")
        };
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a{a:03}-cm-{i}\n  \
             labels:\n    app: a{a:03}\ndata:\n  value: \"{v}\"\n  settings: |\n    \
             level=info\n    replicas=1\n"
        ));
    }
    s
}

fn write_app(repo: &Path, a: usize, objects: usize, value: &str) -> Result<()> {
    let dir = repo.join(app_dir(a));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n\
         - configmaps.yaml\n- service.yaml\n- deployment.yaml\n",
    )?;
    std::fs::write(
        dir.join("configmaps.yaml"),
        configmaps_yaml(a, objects - 2, value),
    )?;
    std::fs::write(
        dir.join("service.yaml"),
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: a{a:03}\nspec:\n  selector:\n    \
             app: a{a:03}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
        ),
    )?;
    std::fs::write(
        dir.join("deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a{a:03}\nspec:\n  \
             replicas: 1\n  selector:\n    matchLabels:\n      app: a{a:03}\n  template:\n    \
             metadata:\n      labels:\n        app: a{a:03}\n    spec:\n      containers:\n      \
             - name: app\n        image: registry.example.invalid/app:1.0.0\n        ports:\n        \
             - containerPort: 8080\n"
        ),
    )?;
    Ok(())
}

fn create_repos(root: &Path, repos: usize, per_repo: usize, objects: usize) -> Result<()> {
    for r in 0..repos {
        let dir = root.join(repo_name(r));
        std::fs::create_dir_all(&dir)?;
        git(&dir, &["init", "-q", "-b", "main"])?;
        for a in 0..per_repo {
            write_app(&dir, a, objects, "v0")?;
        }
        git(&dir, &["add", "-A"])?;
        git(&dir, &["commit", "-q", "-m", "fleet"])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Cluster setup

async fn apply_value(client: &kube::Client, obj: &Value) -> Result<()> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (ar, caps) =
        kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(g, v, kind)).await?;
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        name,
        &PatchParams::apply("fleet").force(),
        &Patch::Apply(obj),
    )
    .await
    .with_context(|| format!("applying {kind} {name}"))?;
    Ok(())
}

async fn install(client: &kube::Client) -> Result<()> {
    for m in kedge_controller::crd::install_manifests(APP_NAMESPACE, "kedge:bench") {
        // The controller runs outside the cluster here.
        if m["kind"] == "Deployment" {
            continue;
        }
        apply_value(client, &m).await?;
        if m["kind"] == "CustomResourceDefinition" {
            let deadline = Instant::now() + Duration::from_secs(30);
            while kube::discovery::pinned_kind(
                client,
                &GroupVersionKind::gvk(
                    m["spec"]["group"].as_str().unwrap_or_default(),
                    "v1alpha1",
                    m["spec"]["names"]["kind"].as_str().unwrap_or_default(),
                ),
            )
            .await
            .is_err()
            {
                if Instant::now() > deadline {
                    bail!("CRD {} never served", m["metadata"]["name"]);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Ok(())
}

fn application(repos_root: &Path, r: usize, a: usize) -> Value {
    json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": app_name(r, a), "namespace": APP_NAMESPACE},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": format!("file://{}", repos_root.join(repo_name(r)).display()),
                "targetRevision": "main",
                "path": app_dir(a),
            },
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": dest_namespace(r),
            },
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}},
        },
    })
}

async fn create_applications(client: &kube::Client, args: &Args, repos_root: &Path) -> Result<()> {
    let per_repo = args.apps / args.repos;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), APP_NAMESPACE, &application_resource());
    let objs: Vec<Value> = (0..args.repos)
        .flat_map(|r| (0..per_repo).map(move |a| (r, a)))
        .map(|(r, a)| application(repos_root, r, a))
        .collect();
    futures::stream::iter(objs)
        .map(|v| {
            let api = api.clone();
            async move {
                let obj: DynamicObject = serde_json::from_value(v)?;
                api.create(&PostParams::default(), &obj).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Application fleet state, from a watch

#[derive(Default)]
struct FleetState {
    ready: HashMap<String, bool>,
    synced: HashMap<String, bool>,
    /// "sync/health" of each app, for the summary when health is not reached.
    states: HashMap<String, String>,
    /// First time each app was seen Synced+Healthy, since the controller start.
    first_ready: HashMap<String, Duration>,
}

fn app_ready(obj: &DynamicObject) -> (bool, bool) {
    let status = obj.data.get("status");
    let synced = status
        .and_then(|s| s.pointer("/sync/status"))
        .and_then(Value::as_str)
        == Some("Synced");
    let healthy = status
        .and_then(|s| s.pointer("/health/status"))
        .and_then(Value::as_str)
        == Some("Healthy");
    (synced, healthy)
}

struct FleetWatch {
    state: Arc<std::sync::Mutex<FleetState>>,
    /// Application watch events seen (writes to Applications).
    events: Arc<AtomicU64>,
    ready: Arc<AtomicUsize>,
    synced: Arc<AtomicUsize>,
    notify: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FleetWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn watch_fleet(client: &kube::Client, start: Arc<std::sync::OnceLock<Instant>>) -> FleetWatch {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), APP_NAMESPACE, &application_resource());
    let state = Arc::new(std::sync::Mutex::new(FleetState::default()));
    let events = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    let synced_count = Arc::new(AtomicUsize::new(0));
    let notify = Arc::new(tokio::sync::Notify::new());
    let (s, e, rd, sc, n) = (
        state.clone(),
        events.clone(),
        ready.clone(),
        synced_count.clone(),
        notify.clone(),
    );
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(ev) = stream.next().await {
            let obj = match ev {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
                Ok(_) => continue,
                Err(err) => {
                    eprintln!("application watch: {err}");
                    continue;
                }
            };
            e.fetch_add(1, Ordering::Relaxed);
            let name = obj.metadata.name.clone().unwrap_or_default();
            let (synced, healthy) = app_ready(&obj);
            let mut st = s.lock().unwrap_or_else(|p| p.into_inner());
            st.ready.insert(name.clone(), synced && healthy);
            st.synced.insert(name.clone(), synced);
            let status = obj.data.get("status");
            let field = |p: &str| {
                status
                    .and_then(|s| s.pointer(p))
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_string()
            };
            let summary = format!("{}/{}", field("/sync/status"), field("/health/status"));
            st.states.insert(name.clone(), summary);
            if synced && healthy && !st.first_ready.contains_key(&name) {
                let since = start.get().map(Instant::elapsed).unwrap_or_default();
                st.first_ready.insert(name.clone(), since);
            }
            let count = st.ready.values().filter(|r| **r).count();
            let synced_now = st.synced.values().filter(|r| **r).count();
            drop(st);
            rd.store(count, Ordering::Relaxed);
            sc.store(synced_now, Ordering::Relaxed);
            n.notify_waiters();
        }
    });
    FleetWatch {
        state,
        events,
        ready,
        synced: synced_count,
        notify,
        task,
    }
}

// ---------------------------------------------------------------------------
// Trials

/// Waits until the ConfigMap's `data.value` equals `want`, watching from
/// `rv`; `None` on the deadline.
async fn wait_value(
    api: &Api<ConfigMap>,
    name: &str,
    rv: &str,
    want: &str,
    deadline: tokio::time::Instant,
) -> Result<Option<Instant>> {
    let wp = WatchParams::default().fields(&format!("metadata.name={name}"));
    let mut rv = rv.to_string();
    loop {
        let mut stream = api.watch(&wp, &rv).await?.boxed();
        loop {
            let next = match tokio::time::timeout_at(deadline, stream.try_next()).await {
                Err(_) => return Ok(None),
                Ok(n) => n?,
            };
            let Some(ev) = next else { break };
            if let WatchEvent::Added(cm) | WatchEvent::Modified(cm) = ev {
                if let Some(v) = cm.metadata.resource_version.clone() {
                    rv = v;
                }
                let value = cm.data.as_ref().and_then(|d| d.get("value"));
                if cm.metadata.name.as_deref() == Some(name)
                    && value.map(String::as_str) == Some(want)
                {
                    return Ok(Some(Instant::now()));
                }
            }
        }
    }
}

/// A small deterministic generator (xorshift64*), enough to pick apps.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Outcome of a series of trials.
#[derive(Default)]
struct Series {
    latencies: Vec<Duration>,
    missed: usize,
    run: usize,
    stopped_early: bool,
}

impl Series {
    fn record(&mut self, r: Option<Duration>) {
        self.run += 1;
        match r {
            Some(d) => self.latencies.push(d),
            None => self.missed += 1,
        }
    }

    /// True when the first three trials all missed.
    fn hopeless(&self) -> bool {
        self.run >= 3 && self.latencies.is_empty()
    }

    fn summary(&self, timeout: u64) -> String {
        let mut l = self.latencies.clone();
        l.sort();
        if l.is_empty() {
            return format!(
                "no trial completed within {timeout} s ({} run{})",
                self.run,
                if self.stopped_early {
                    ", stopped early"
                } else {
                    ""
                }
            );
        }
        // Missed trials count as the deadline for the percentiles.
        let mut all = l.clone();
        all.extend(std::iter::repeat_n(
            Duration::from_secs(timeout),
            self.missed,
        ));
        all.sort();
        format!(
            "p50 {} p99 {} min {} max {} (n={} missed={}{})",
            secs(percentile(&all, 0.50)),
            secs(percentile(&all, 0.99)),
            secs(l[0]),
            secs(*l.last().unwrap_or(&Duration::ZERO)),
            self.run,
            self.missed,
            if self.missed > 0 {
                format!(", missed counted as {timeout} s")
            } else {
                String::new()
            }
        )
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

async fn heal_trial(
    client: &kube::Client,
    r: usize,
    a: usize,
    timeout: u64,
) -> Result<Option<Duration>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &dest_namespace(r));
    let name = format!("a{a:03}-cm-0");
    let cm = api.get(&name).await?;
    let original = cm
        .data
        .as_ref()
        .and_then(|d| d.get("value"))
        .cloned()
        .context("managed ConfigMap without data.value")?;
    let rv = cm.metadata.resource_version.clone().unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let start = Instant::now();
    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"value": "drifted"}})),
        )
        .await?;
    let prv = patched.metadata.resource_version.unwrap_or(rv);
    Ok(wait_value(&api, &name, &prv, &original, deadline)
        .await?
        .map(|t| t - start))
}

struct PushCtx<'a> {
    client: &'a kube::Client,
    repos_root: &'a Path,
    objects: usize,
    trigger: &'a str,
    webhook: Option<std::net::SocketAddr>,
    timeout: u64,
}

async fn push_trial(cx: &PushCtx<'_>, r: usize, a: usize, n: usize) -> Result<Option<Duration>> {
    let api: Api<ConfigMap> = Api::namespaced(cx.client.clone(), &dest_namespace(r));
    let name = format!("a{a:03}-cm-0");
    let rv = api
        .get(&name)
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let repo = cx.repos_root.join(repo_name(r));
    let before = git(&repo, &["rev-parse", "HEAD"])?;
    let value = format!("push-{n}");
    let path = format!("{}/configmaps.yaml", app_dir(a));
    std::fs::write(repo.join(&path), configmaps_yaml(a, cx.objects - 2, &value))?;
    git(&repo, &["commit", "-q", "-am", &format!("push {n}")])?;
    let after = git(&repo, &["rev-parse", "HEAD"])?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(cx.timeout);
    let start = Instant::now();
    let apps: Api<DynamicObject> =
        Api::namespaced_with(cx.client.clone(), APP_NAMESPACE, &application_resource());
    match cx.trigger {
        "webhook" => {
            let url = format!("file://{}", repo.display());
            let body = json!({
                "ref": "refs/heads/main",
                "before": before,
                "after": after,
                "repository": {"clone_url": url, "html_url": url, "name": repo_name(r)},
                "commits": [{"id": after, "modified": [path]}],
                "head_commit": {"id": after, "modified": [path]},
            })
            .to_string();
            let addr = cx.webhook.context("no webhook address")?;
            post_webhook(addr, &body).await?;
        }
        "refresh" => {
            apps.patch(
                &app_name(r, a),
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"annotations": {"kedge.dev/refresh": "normal"}}}),
                ),
            )
            .await?;
        }
        _ => {}
    }
    let done = wait_value(&api, &name, &rv, &value, deadline).await?;
    if cx.trigger == "refresh" {
        apps.patch(
            &app_name(r, a),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"kedge.dev/refresh": null}}})),
        )
        .await?;
    }
    Ok(done.map(|t| t - start))
}

/// A GitHub push event, signed, over plain HTTP/1.1.
async fn post_webhook(addr: std::net::SocketAddr, body: &str) -> Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let sig = kedge_git::webhook::sign(WEBHOOK_SECRET, body.as_bytes());
    let req = format!(
        "POST /api/webhook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: push\r\nX-GitHub-Delivery: fleet\r\nX-Hub-Signature-256: sha256={sig}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await?;
    let head = String::from_utf8_lossy(&resp);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        bail!(
            "webhook answered {}",
            head.lines().next().unwrap_or("nothing")
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The run

fn spawn_logged(mut cmd: Command, name: &'static str, log: &Path) -> Result<Proc> {
    let err = std::fs::File::create(log)?;
    cmd.stderr(err);
    let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
    Ok(Proc { name, child })
}

fn start_server(args: &Args, work: &Path) -> Result<(Proc, PathBuf)> {
    let data = work.join("data");
    let mut cmd = match &args.kedge {
        Some(k) => {
            let mut c = Command::new(k);
            c.args(["cluster", "serve", "--listen", "127.0.0.1:0", "--data"])
                .arg(&data);
            c
        }
        None => {
            let mut c = Command::new(std::env::current_exe()?);
            c.arg("serve").arg(&data);
            c
        }
    };
    cmd.stdout(Stdio::piped())
        .env("RUST_LOG", &args.log)
        .env("KEDGE_LOG", &args.log);
    let mut proc = spawn_logged(cmd, "control plane", &work.join("server.log"))?;
    let stdout = proc.child.stdout.take().context("server stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let kubeconfig = line
        .split("(kubeconfig: ")
        .nth(1)
        .and_then(|s| s.strip_suffix(")\n").or(s.strip_suffix(')')))
        .with_context(|| format!("unexpected server line {line:?}"))?;
    Ok((proc, PathBuf::from(kubeconfig)))
}

fn start_controller(
    args: &Args,
    work: &Path,
    kubeconfig: &Path,
    webhook: std::net::SocketAddr,
) -> Result<Proc> {
    let cache = work.join("cache");
    let mut cmd = if args.controller == "kedge" {
        let mut c = Command::new(args.kedge.as_ref().context("--kedge")?);
        for a in args.controller_args.split_whitespace() {
            c.arg(
                a.replace("{kubeconfig}", &kubeconfig.display().to_string())
                    .replace("{cache}", &cache.display().to_string())
                    .replace("{webhook}", &webhook.to_string())
                    .replace("{secret}", WEBHOOK_SECRET)
                    .replace("{namespace}", APP_NAMESPACE),
            );
        }
        c
    } else {
        let mut c = Command::new(std::env::current_exe()?);
        c.arg("controller")
            .arg(kubeconfig)
            .arg(&cache)
            .arg(args.resync.to_string())
            .arg(webhook.to_string());
        c
    };
    cmd.env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", &args.log)
        .env("KEDGE_LOG", &args.log)
        .env("KEDGE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .stdout(Stdio::null());
    spawn_logged(cmd, "controller", &work.join("controller.log"))
}

fn line(key: &str, value: impl std::fmt::Display) {
    println!("{key:<28} {value}");
}

async fn bench(args: Args) -> Result<()> {
    let tmp;
    let work = match &args.work {
        Some(w) => {
            std::fs::create_dir_all(w)?;
            w.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let ticks = clock_ticks();
    let per_repo = args.apps / args.repos;
    let repos_root = work.join("repos");
    let t = Instant::now();
    create_repos(&repos_root, args.repos, per_repo, args.objects)?;
    eprintln!(
        "fixture: {} repos x {} apps x {} objects in {:.1}s",
        args.repos,
        per_repo,
        args.objects,
        t.elapsed().as_secs_f64()
    );
    line(
        "fixture",
        format!(
            "{} apps, {} repos, {} objects/app ({} objects)",
            args.apps,
            args.repos,
            args.objects,
            args.apps * args.objects
        ),
    );

    let (server, kubeconfig) = start_server(&args, &work)?;
    let client = client_from(&kubeconfig).await?;
    install(&client).await?;
    let ns_api: Api<Namespace> = Api::all(client.clone());
    for r in 0..args.repos {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": dest_namespace(r)}}))?;
        ns_api.create(&PostParams::default(), &ns).await?;
    }
    let t = Instant::now();
    create_applications(&client, &args, &repos_root).await?;
    eprintln!(
        "created {} Applications in {:.1}s",
        args.apps,
        t.elapsed().as_secs_f64()
    );

    let start_at = Arc::new(std::sync::OnceLock::new());
    let fleet = watch_fleet(&client, start_at.clone());
    let webhook = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let (server_cpu0, _) = cpu_seconds(server.pid(), ticks);
    let start = Instant::now();
    let _ = start_at.set(start);
    let controller = start_controller(&args, &work, &kubeconfig, webhook)?;
    line(
        "server_pid / controller_pid",
        format!("{} / {}", server.pid(), controller.pid()),
    );

    // Cold start.
    let deadline = start + Duration::from_secs(args.timeout);
    let mut last_print = Instant::now();
    let mut all_synced: Option<Duration> = None;
    let mut progress = (0, 0, Instant::now());
    let mut stalled = false;
    let converged = loop {
        let ready = fleet.ready.load(Ordering::Relaxed);
        let synced = fleet.synced.load(Ordering::Relaxed);
        if synced >= args.apps && all_synced.is_none() {
            all_synced = Some(start.elapsed());
        }
        if ready >= args.apps {
            break Some(start.elapsed());
        }
        if (ready, synced) != (progress.0, progress.1) {
            progress = (ready, synced, Instant::now());
        } else if all_synced.is_some() && progress.2.elapsed() > Duration::from_secs(args.stall) {
            stalled = true;
            break None;
        }
        if Instant::now() > deadline {
            break None;
        }
        if last_print.elapsed() > Duration::from_secs(5) {
            last_print = Instant::now();
            let (c, cc) = cpu_seconds(controller.pid(), ticks);
            eprintln!(
                "  {:>5.0}s synced {synced} ready {ready}/{} (controller cpu {c:.1}s + git {cc:.1}s)",
                start.elapsed().as_secs_f64(),
                args.apps
            );
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), fleet.notify.notified()).await;
    };
    let (ctl_cpu, ctl_git) = cpu_seconds(controller.pid(), ticks);
    let (srv_cpu, _) = cpu_seconds(server.pid(), ticks);
    let ready_count = fleet.ready.load(Ordering::Relaxed);
    let synced_count = fleet.synced.load(Ordering::Relaxed);
    match all_synced {
        Some(d) => line("cold_start_all_synced", secs(d)),
        None => line(
            "cold_start_all_synced",
            format!("NOT REACHED ({synced_count}/{} Synced)", args.apps),
        ),
    }
    match converged {
        Some(d) => line("cold_start_all_ready", secs(d)),
        None => line(
            "cold_start_all_ready",
            format!(
                "NOT REACHED after {:.0} s ({ready_count}/{} Synced+Healthy{})",
                start.elapsed().as_secs_f64(),
                args.apps,
                if stalled {
                    format!("; no progress for {} s after all were Synced", args.stall)
                } else {
                    String::new()
                }
            ),
        ),
    }
    {
        let st = fleet.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut states: std::collections::BTreeMap<&str, usize> = Default::default();
        for v in st.states.values() {
            *states.entry(v.as_str()).or_default() += 1;
        }
        line(
            "cold_start_end_states",
            states
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        let mut firsts: Vec<Duration> = st.first_ready.values().copied().collect();
        firsts.sort();
        if !firsts.is_empty() {
            line(
                "cold_start_app_ready",
                format!(
                    "first {} p50 {} p99 {} ({} apps)",
                    secs(firsts[0]),
                    secs(percentile(&firsts, 0.5)),
                    secs(percentile(&firsts, 0.99)),
                    firsts.len()
                ),
            );
        }
    }
    line(
        "cold_start_cpu",
        format!(
            "controller {ctl_cpu:.1}s + git children {ctl_git:.1}s, control plane {:.1}s",
            srv_cpu - server_cpu0
        ),
    );
    let (crss, chwm) = memory_mib(controller.pid());
    let (srss, shwm) = memory_mib(server.pid());
    line(
        "cold_start_memory",
        format!(
            "controller rss {crss:.0} MiB hwm {chwm:.0} MiB, control plane rss {srss:.0} MiB hwm {shwm:.0} MiB"
        ),
    );

    // Idle.
    if args.idle > 0 {
        tokio::time::sleep(Duration::from_secs(args.settle)).await;
        let ev0 = fleet.events.load(Ordering::Relaxed);
        let c0 = cpu_seconds(controller.pid(), ticks);
        let s0 = cpu_seconds(server.pid(), ticks);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.idle)).await;
        let wall = t0.elapsed().as_secs_f64();
        let c1 = cpu_seconds(controller.pid(), ticks);
        let s1 = cpu_seconds(server.pid(), ticks);
        let ev1 = fleet.events.load(Ordering::Relaxed);
        let pct = |a: f64, b: f64| 100.0 * (b - a) / wall;
        let ctl = pct(c0.0, c1.0);
        let git_pct = pct(c0.1, c1.1);
        let srv = pct(s0.0, s1.0);
        line(
            "idle_cpu_pct_of_core",
            format!(
                "controller {ctl:.2}% + git {git_pct:.2}%, control plane {srv:.2}%, sum {:.2}% (over {wall:.0} s)",
                ctl + git_pct + srv
            ),
        );
        let (crss, chwm) = memory_mib(controller.pid());
        let (srss, shwm) = memory_mib(server.pid());
        line(
            "idle_rss_mib",
            format!(
                "controller {crss:.0} (hwm {chwm:.0}), control plane {srss:.0} (hwm {shwm:.0}), sum {:.0}",
                crss + srss
            ),
        );
        line(
            "idle_application_writes",
            format!("{} in {wall:.0} s", ev1 - ev0),
        );
    }

    // Drift heal.
    let mut rng = Rng(args.seed.max(1));
    if args.heal > 0 {
        let mut s = Series::default();
        for i in 0..args.heal {
            let (r, a) = (rng.below(args.repos), rng.below(per_repo));
            let res = heal_trial(&client, r, a, args.trial_timeout).await?;
            s.record(res);
            eprintln!("  heal {i}: {}", res.map(secs).unwrap_or("missed".into()));
            if s.hopeless() {
                s.stopped_early = true;
                break;
            }
        }
        line("heal_latency", s.summary(args.trial_timeout));
    }

    // Push to applied.
    if args.push > 0 {
        let cx = PushCtx {
            client: &client,
            repos_root: &repos_root,
            objects: args.objects,
            trigger: &args.trigger,
            webhook: Some(webhook),
            timeout: args.trial_timeout,
        };
        let mut s = Series::default();
        for i in 0..args.push {
            let (r, a) = (rng.below(args.repos), rng.below(per_repo));
            let res = match push_trial(&cx, r, a, i).await {
                Ok(res) => res,
                Err(e) => {
                    eprintln!("  push {i}: {e:#}");
                    None
                }
            };
            s.record(res);
            eprintln!("  push {i}: {}", res.map(secs).unwrap_or("missed".into()));
            if s.hopeless() {
                s.stopped_early = true;
                break;
            }
        }
        line(
            &format!("push_to_applied ({})", args.trigger),
            s.summary(args.trial_timeout),
        );
    }
    let (crss, chwm) = memory_mib(controller.pid());
    let (srss, shwm) = memory_mib(server.pid());
    line(
        "final_memory_mib",
        format!(
            "controller rss {crss:.0} hwm {chwm:.0}, control plane rss {srss:.0} hwm {shwm:.0}"
        ),
    );
    drop(fleet);
    drop(controller);
    drop(server);
    Ok(())
}
