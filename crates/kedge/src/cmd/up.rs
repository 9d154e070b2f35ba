//! `kedge up`: the embedded control plane, the controller and an example
//! application in one process.
//!
//! The steps, each idempotent so a second run on the same data directory
//! resumes instead of starting over: start the control plane (its database,
//! certificates and kubeconfig live in the data directory), install the CRDs,
//! the `kedge` namespace and the `default` AppProject, start the controller
//! (which may read `file://` repositories) with its webhook and metrics
//! endpoints, create the example runtime repo as a local Git repository
//! unless one is there, register the `guestbook-dev` Application unless it
//! exists, and follow it until it is Synced and Healthy. Then it prints what
//! to try and runs until SIGINT or SIGTERM, when the controller stops, the
//! HTTP endpoints close and the control plane shuts down (exit status 0).
//!
//! The lines on stdout are meant for people; the ones tests read are stable:
//! `control plane: …`, `webhook: …`, the per-status progress lines and
//! `<app> is Synced and Healthy at <commit>`.

mod bootstrap;
mod example;
mod progress;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use kedge_controller::{Controller, ControllerConfig};

use self::example::RepoState;

/// Namespace of Applications and AppProjects.
const NAMESPACE: &str = kedge_controller::types::DEFAULT_NAMESPACE;
/// The example Application.
const APP: &str = "guestbook-dev";
/// Its destination namespace.
const APP_NAMESPACE: &str = "guestbook-dev";
/// Its path in the runtime repo.
const APP_PATH: &str = "overlays/dev";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Data directory (control plane database, certificates, kubeconfig, Git
    /// cache and the example repo). Default: $XDG_DATA_HOME/kedge or
    /// ~/.local/share/kedge.
    #[arg(long, env = "KEDGE_DATA")]
    data: Option<PathBuf>,
    /// Address of the Kubernetes API (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Address of the controller's webhook and metrics endpoints (port 0
    /// picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    webhook_listen: SocketAddr,
    /// Do not create the example repo and Application.
    #[arg(long)]
    no_example: bool,
    /// Git poll interval, in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    poll: u64,
    /// How long to wait for the example to become Synced and Healthy, in seconds.
    #[arg(long, default_value_t = 180, value_name = "SECONDS")]
    wait: u64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(up(args))
}

async fn up(args: Args) -> anyhow::Result<()> {
    let mut stop = std::pin::pin!(super::signals()?);
    let data = data_dir(args.data.as_deref())?;
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let data = data
        .canonicalize()
        .with_context(|| format!("resolving {}", data.display()))?;
    say(&format!("kedge up: data in {}", data.display()));

    // The webhook port first: a clash is reported before anything starts.
    let webhook = tokio::net::TcpListener::bind(args.webhook_listen)
        .await
        .map_err(|e| bind_error(e, args.webhook_listen, "--webhook-listen"))?;
    let webhook_addr = webhook.local_addr().context("webhook listener address")?;

    let mut config = kedge_apiserver::Config::new(args.listen, &data);
    config.simulator = true;
    let server = match kedge_apiserver::ApiServer::start(config).await {
        Ok(h) => h,
        Err(kedge_apiserver::Error::Bind { addr, source }) => {
            return Err(bind_error(source, addr, "--listen"));
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("starting the control plane in {}", data.display()));
        }
    };
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    say(&format!(
        "control plane: https://{} (kubeconfig {})",
        server.local_addr(),
        kubeconfig.display()
    ));

    let result = serve(&args, &data, &kubeconfig, webhook, webhook_addr, &mut stop).await;
    server.shutdown().await;
    match &result {
        Ok(()) => say("kedge up: stopped"),
        Err(_) => say("kedge up: stopped after an error"),
    }
    result
}

/// Everything after the control plane is up; returns when `stop` fires.
async fn serve(
    args: &Args,
    data: &Path,
    kubeconfig: &Path,
    webhook: tokio::net::TcpListener,
    webhook_addr: SocketAddr,
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> anyhow::Result<()> {
    let client = bootstrap::client(kubeconfig).await?;
    bootstrap::install(&client, NAMESPACE)
        .await
        .context("installing the Kedge CRDs and the default project")?;
    say(&format!(
        "installed: CRDs applications.kedge.dev and appprojects.kedge.dev, namespace {NAMESPACE}, AppProject default"
    ));

    let mut cc = ControllerConfig::new(data.join("cache").join("git"));
    cc.namespace = NAMESPACE.to_string();
    cc.allow_file_protocol = true;
    cc.resync = Duration::from_secs(args.poll.max(1));
    let controller =
        Arc::new(Controller::new(client.clone(), cc).context("starting the controller")?);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let until_stopped = move |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let controller_task = tokio::spawn(controller.clone().run(until_stopped(stop_rx.clone())));
    let router = controller.router();
    let http_task = tokio::spawn({
        let shutdown = until_stopped(stop_rx.clone());
        async move {
            axum::serve(webhook, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
    });
    say(&format!(
        "controller: running (polls Git every {}s); webhook: http://{webhook_addr}/api/webhook, metrics: http://{webhook_addr}/metrics",
        args.poll.max(1)
    ));

    let outcome = tokio::select! {
        r = bring_up_example(args, data, kubeconfig, &client, webhook_addr) => r.map(|()| false),
        _ = stop.as_mut() => {
            say("kedge up: interrupted, stopping");
            Ok(true)
        }
    };
    let interrupted = match outcome {
        Ok(stopped) => stopped,
        Err(e) => {
            let _ = stop_tx.send(true);
            let _ = controller_task.await;
            let _ = http_task.await;
            return Err(e);
        }
    };
    if !interrupted {
        say("Press Ctrl-C to stop; `kedge up` again resumes from the same data.");
        stop.as_mut().await;
        say("kedge up: stopping");
    }
    let _ = stop_tx.send(true);
    controller_task.await.context("the controller task")?;
    http_task
        .await
        .context("the webhook server task")?
        .context("serving the webhook endpoints")?;
    Ok(())
}

/// Creates the example repo and Application, follows it and prints what to try.
async fn bring_up_example(
    args: &Args,
    data: &Path,
    kubeconfig: &Path,
    client: &kube::Client,
    webhook_addr: SocketAddr,
) -> anyhow::Result<()> {
    let kube_env = format!("export KUBECONFIG={}", kubeconfig.display());
    if args.no_example {
        say("");
        say("Ready (no example). Try:");
        say(&format!("  {kube_env}"));
        say("  kubectl get namespaces");
        say("  kedge app list");
        return Ok(());
    }
    let repo = data.join("repos").join(example::NAME);
    let state = example::ensure_repo(&repo)?;
    match &state {
        RepoState::Created { commit } => say(&format!(
            "runtime repo: {} (created from the bundled example, commit {})",
            repo.display(),
            progress::short(commit)
        )),
        RepoState::Existing { head } => say(&format!(
            "runtime repo: {} (already there, left untouched{})",
            repo.display(),
            head.as_deref()
                .map(|h| format!(", HEAD {}", progress::short(h)))
                .unwrap_or_default()
        )),
    }
    let repo_url = format!("file://{}", repo.display());
    let app = bootstrap::example_application(APP, NAMESPACE, &repo_url, APP_PATH, APP_NAMESPACE);
    let created = bootstrap::register(client, NAMESPACE, &app)
        .await
        .with_context(|| format!("registering Application {APP}"))?;
    say(&format!(
        "application: {APP} ({}; {repo_url} path {APP_PATH} → namespace {APP_NAMESPACE}, automated sync with prune and self-heal)",
        if created {
            "created"
        } else {
            "already registered"
        }
    ));
    say(&format!("waiting for {APP} to be Synced and Healthy…"));
    let timeout = Duration::from_secs(args.wait);
    match progress::wait_ready(client, NAMESPACE, APP, timeout).await {
        Ok(summary) => say(&format!(
            "{APP} is Synced and Healthy at {}",
            summary.revision
        )),
        Err(summary) => say(&format!(
            "{APP} is not Synced and Healthy after {}s ({}); the controller keeps trying, see `kubectl describe application {APP} -n {NAMESPACE}`",
            args.wait,
            summary.line(APP).trim()
        )),
    }
    let webhook = format!("http://{webhook_addr}/api/webhook");
    let lines = [
        String::new(),
        "Try it (in another terminal):".to_string(),
        format!("  {kube_env}"),
        format!("  kubectl get all -n {APP_NAMESPACE}"),
        "  kedge app list".to_string(),
        format!("  kedge app get {APP}"),
        String::new(),
        "Change the app through Git; the controller polls the repo:".to_string(),
        format!("  cd {}", repo.display()),
        "  sed -i 's/count: 1/count: 2/' overlays/dev/kustomization.yaml".to_string(),
        "  git commit -am 'dev: two replicas'".to_string(),
        format!("  kedge app get {APP} --refresh     # compare now instead of at the next poll"),
        "or send the push webhook a Git host would:".to_string(),
        format!(
            "  curl -X POST {webhook} -H 'X-GitHub-Event: push' -H 'Content-Type: application/json' \\\n      -d '{{\"ref\":\"refs/heads/main\",\"repository\":{{\"clone_url\":\"{repo_url}\"}}}}'"
        ),
        String::new(),
        "Drift is healed: change a managed field and watch it come back:".to_string(),
        format!("  kubectl scale deployment/dev-guestbook -n {APP_NAMESPACE} --replicas=5"),
        format!("  kubectl edit configmap/dev-guestbook-content -n {APP_NAMESPACE}"),
        format!("  kubectl get deployment/dev-guestbook -n {APP_NAMESPACE} -w"),
        String::new(),
        format!(
            "History and rollback: kedge app history {APP}; kedge app rollback {APP} ID (after `kedge app set {APP} --sync-policy none`)"
        ),
    ];
    for line in lines {
        say(&line);
    }
    Ok(())
}

/// `--data`, else `$XDG_DATA_HOME/kedge`, else `~/.local/share/kedge`.
fn data_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("kedge"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/kedge")),
        None => bail!("neither --data, $XDG_DATA_HOME nor $HOME is set: pass --data DIR"),
    }
}

fn bind_error(source: std::io::Error, addr: SocketAddr, flag: &str) -> anyhow::Error {
    if source.kind() == std::io::ErrorKind::AddrInUse {
        anyhow::anyhow!(
            "port {} ({addr}) is already in use, perhaps by another `kedge up`; choose another with {flag} {}:PORT",
            addr.port(),
            addr.ip()
        )
    } else {
        anyhow::Error::new(source).context(format!("listening on {addr} ({flag})"))
    }
}

/// One line on stdout, flushed at once (stdout may be a pipe).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
