//! `kedge controller`: run the Application controller against a cluster.
//!
//! The cluster is reached through `--kubeconfig` when given, else through
//! kube's inference (in-cluster service account, then `$KUBECONFIG` or
//! `~/.kube/config`). The controller reconciles the Applications of
//! `--namespace` with leader election on the `kedge-controller` Lease
//! (unless `--no-leader-election`), and serves the push webhook, Prometheus
//! metrics and a health check on `--listen`. One line on stdout announces
//! readiness; SIGINT or SIGTERM stop it cleanly (the Lease is released).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kedge_controller::{Controller, ControllerConfig};
use kedge_git::Redacted;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Kubeconfig of the cluster (default: in-cluster, then $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Context of the kubeconfig to use.
    #[arg(long)]
    context: Option<String>,
    /// Namespace of Applications, AppProjects, Secrets and the Lease.
    #[arg(long, short = 'n', default_value = kedge_controller::types::DEFAULT_NAMESPACE)]
    namespace: String,
    /// Address of the webhook, metrics and health endpoints.
    #[arg(long, alias = "webhook-listen", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Git cache directory.
    #[arg(long, env = "KEDGE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Concurrent reconciles.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Git poll interval per repository (e.g. 3m, 90s, 1h).
    #[arg(long, default_value = "3m", value_parser = parse_duration)]
    resync: Duration,
    /// Full re-compare of every application (0 disables it).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    full_resync: Duration,
    /// Allow file:// repositories (local development).
    #[arg(long, alias = "allow-file-protocol")]
    allow_file_repos: bool,
    /// Reconcile without holding the kedge-controller Lease.
    #[arg(long)]
    no_leader_election: bool,
    /// Secret for every webhook provider that is not given its own.
    #[arg(long, env = "KEDGE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// GitHub webhook secret.
    #[arg(long, env = "KEDGE_GITHUB_SECRET", hide_env_values = true)]
    github_secret: Option<String>,
    /// GitLab webhook token.
    #[arg(long, env = "KEDGE_GITLAB_SECRET", hide_env_values = true)]
    gitlab_secret: Option<String>,
    /// Gitea webhook secret.
    #[arg(long, env = "KEDGE_GITEA_SECRET", hide_env_values = true)]
    gitea_secret: Option<String>,
    /// Gogs webhook secret.
    #[arg(long, env = "KEDGE_GOGS_SECRET", hide_env_values = true)]
    gogs_secret: Option<String>,
    /// Bitbucket Cloud hook UUID.
    #[arg(long, env = "KEDGE_BITBUCKET_UUID", hide_env_values = true)]
    bitbucket_uuid: Option<String>,
    /// Bitbucket Server webhook secret.
    #[arg(long, env = "KEDGE_BITBUCKET_SERVER_SECRET", hide_env_values = true)]
    bitbucket_server_secret: Option<String>,
}

/// `90s`, `3m`, `1h`, `500ms`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. 90s, 3m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("invalid duration unit in {s:?} (ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn secret(own: &Option<String>, shared: &Option<String>) -> Option<Redacted<String>> {
    own.clone()
        .or_else(|| shared.clone())
        .filter(|s| !s.is_empty())
        .map(Redacted::new)
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn client(args: &Args) -> anyhow::Result<kube::Client> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            let options = kube::config::KubeConfigOptions {
                context: args.context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| format!("loading kubeconfig {}", path.display()))?
        }
        None if args.context.is_some() => {
            let options = kube::config::KubeConfigOptions {
                context: args.context.clone(),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .context("loading the default kubeconfig")?
        }
        None => kube::Config::infer()
            .await
            .context("finding the cluster (in-cluster or kubeconfig)")?,
    };
    kube::Client::try_from(config).context("building the Kubernetes client")
}

fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kedge")
        .join("git")
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let client = client(&args).await?;
    let cache_dir = args.cache_dir.clone().unwrap_or_else(default_cache_dir);
    std::fs::create_dir_all(&cache_dir)
        .with_context(|| format!("creating the cache directory {}", cache_dir.display()))?;
    let mut cc = ControllerConfig::new(&cache_dir);
    cc.namespace = args.namespace.clone();
    cc.workers = args.workers.max(1);
    cc.resync = args.resync.max(Duration::from_secs(1));
    cc.full_resync = args.full_resync;
    cc.allow_file_protocol = args.allow_file_repos;
    cc.leader_election = !args.no_leader_election;
    let shared = &args.webhook_secret;
    cc.webhook.github_secret = secret(&args.github_secret, shared);
    cc.webhook.gitlab_secret = secret(&args.gitlab_secret, shared);
    cc.webhook.gitea_secret = secret(&args.gitea_secret, shared);
    cc.webhook.gogs_secret = secret(&args.gogs_secret, shared);
    cc.webhook.bitbucket_uuid = secret(&args.bitbucket_uuid, &None);
    cc.webhook.bitbucket_server_secret = secret(&args.bitbucket_server_secret, shared);
    let controller = Arc::new(
        Controller::new(client, cc)
            .with_context(|| format!("starting the controller (cache {})", cache_dir.display()))?,
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let router = controller.router();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
    });
    let mut run_stop = stop_rx.clone();
    let run = tokio::spawn(controller.clone().run(async move {
        let _ = run_stop.wait_for(|s| *s).await;
    }));
    let stop = super::signals()?;
    // One line on stdout that scripts (and tests) wait for.
    println!(
        "kedge controller ready (namespace {}, listening on {addr})",
        args.namespace
    );
    stop.await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(15), run).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("m").is_err());
    }
}
