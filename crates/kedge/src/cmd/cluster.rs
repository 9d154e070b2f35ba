//! `kedge cluster …`: the embedded control plane and cluster registration.
//!
//! `kedge cluster serve` runs the embedded API server in the foreground until
//! SIGINT or SIGTERM, then shuts it down gracefully (open watches end, the
//! store's last writes are already durable).
//!
//! `kedge cluster add|list|rm` manage destination clusters as Secrets in
//! Argo CD's format (label `argocd.argoproj.io/secret-type: cluster`,
//! fields `name`, `server`, `config`), built and read by kedge-controller's
//! `secrets` module. Credentials come from flags or from a context of a
//! kubeconfig (`--from-context`); they are stored, never printed. The
//! global `--kubeconfig`/`--context` flags select the cluster Kedge runs
//! in, where the Secret is written.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use kedge_controller::secrets::{self, ClusterConfig, ClusterSecret};
use kedge_git::Redacted;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

use super::client::{ClientArgs, Conn, NotFound, runtime};
use super::output::{EXIT_CODES_HELP, Format, Table, out, print_objects};

#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub(crate) struct Args {
    #[command(flatten)]
    conn: ClientArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve the embedded kubectl-compatible control plane.
    Serve(ServeArgs),
    /// Register a destination cluster.
    Add(AddArgs),
    /// List destination clusters.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Remove destination clusters by name or server URL.
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// Cluster name (what `spec.destination.name` refers to).
    name: String,
    /// API server URL (taken from the kubeconfig context with --from-context).
    #[arg(long)]
    server: Option<String>,
    /// Bearer token (prefer --bearer-token-stdin: flags are visible to other users).
    #[arg(long, conflicts_with = "bearer_token_stdin")]
    bearer_token: Option<String>,
    /// Read the bearer token from the first line of standard input.
    #[arg(long)]
    bearer_token_stdin: bool,
    /// PEM file of the certificate authority.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Skip server certificate verification.
    #[arg(long)]
    insecure_skip_tls_verify: bool,
    /// Take server and credentials from this context of a kubeconfig.
    #[arg(long, value_name = "CONTEXT")]
    from_context: Option<String>,
    /// The kubeconfig of --from-context (default: --kubeconfig, $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    from_kubeconfig: Option<PathBuf>,
    /// Namespaces the cluster is limited to (repeatable).
    #[arg(long = "namespace-limit", value_name = "NS")]
    namespaces: Vec<String>,
    /// Project the cluster belongs to.
    #[arg(long)]
    project: Option<String>,
    /// Replace an existing registration of the same server.
    #[arg(long)]
    upsert: bool,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Output format (table, wide, json, yaml, name).
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
}

#[derive(Debug, clap::Args)]
struct RmArgs {
    /// Cluster names or server URLs.
    #[arg(required = true)]
    clusters: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Data directory: database, certificates, token and the kubeconfig.
    #[arg(long)]
    data: PathBuf,
    /// Serve plain HTTP instead of HTTPS (loopback addresses only).
    #[arg(long)]
    insecure_http: bool,
    /// Do not run the workload simulator (no status for Deployments, Jobs, …).
    #[arg(long)]
    no_simulator: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Serve(serve) => run_serve(serve),
        Command::Add(a) => {
            let cluster = cluster_from_flags(&a, &args.conn)?;
            runtime()?.block_on(async {
                let conn = args.conn.connect().await?;
                add(&conn, &a, cluster).await
            })
        }
        Command::List(a) => runtime()?.block_on(async {
            let conn = args.conn.connect().await?;
            list(&conn, a).await
        }),
        Command::Rm(a) => runtime()?.block_on(async {
            let conn = args.conn.connect().await?;
            rm(&conn, a).await
        }),
    }
}

fn read_stdin_line(what: &str) -> anyhow::Result<String> {
    use std::io::BufRead as _;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from standard input"))?;
    let v = line.trim_end_matches(['\n', '\r']).to_string();
    if v.is_empty() {
        bail!("standard input holds no {what}");
    }
    Ok(v)
}

/// Base64 of bytes, through the Kubernetes byte-string codec.
fn b64(bytes: Vec<u8>) -> String {
    serde_json::to_value(k8s_openapi::ByteString(bytes))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn cluster_from_flags(a: &AddArgs, conn: &ClientArgs) -> anyhow::Result<ClusterSecret> {
    let mut c = ClusterSecret {
        name: a.name.clone(),
        namespaces: a.namespaces.clone(),
        project: a.project.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(ctx) = &a.from_context {
        from_kubeconfig(
            &mut c,
            a.from_kubeconfig.as_ref().or(conn.kubeconfig.as_ref()),
            ctx,
        )?;
    }
    if let Some(server) = &a.server {
        c.server = server.clone();
    }
    if c.server.is_empty() {
        bail!(
            "cluster {:?}: --server or --from-context is required",
            a.name
        );
    }
    if !c.server.starts_with("https://") && !c.server.starts_with("http://") {
        bail!(
            "cluster {:?}: --server {:?} is not an http(s) URL",
            a.name,
            c.server
        );
    }
    if let Some(t) = &a.bearer_token {
        c.config.bearer_token = Some(Redacted::secret(t.clone()));
    }
    if a.bearer_token_stdin {
        c.config.bearer_token = Some(Redacted::secret(read_stdin_line("bearer token")?));
    }
    if let Some(path) = &a.ca_file {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if !String::from_utf8_lossy(&pem).contains("BEGIN CERTIFICATE") {
            bail!("{} holds no PEM certificate", path.display());
        }
        c.config.tls_client_config.ca_data = b64(pem);
    }
    if a.insecure_skip_tls_verify {
        c.config.tls_client_config.insecure = true;
    }
    Ok(c)
}

/// Fills server and credentials from a kubeconfig context.
fn from_kubeconfig(
    c: &mut ClusterSecret,
    path: Option<&PathBuf>,
    context: &str,
) -> anyhow::Result<()> {
    let kc = match path {
        Some(p) => kube::config::Kubeconfig::read_from(p)
            .with_context(|| format!("reading kubeconfig {}", p.display()))?,
        None => kube::config::Kubeconfig::read().context("reading the kubeconfig")?,
    };
    let ctx = kc
        .contexts
        .iter()
        .find(|x| x.name == context)
        .and_then(|x| x.context.clone())
        .with_context(|| format!("context {context:?} not found in the kubeconfig"))?;
    let cluster = kc
        .clusters
        .iter()
        .find(|x| x.name == ctx.cluster)
        .and_then(|x| x.cluster.clone())
        .with_context(|| format!("cluster {:?} of context {context:?} not found", ctx.cluster))?;
    c.server = cluster.server.clone().unwrap_or_default();
    let tls = &mut c.config.tls_client_config;
    tls.insecure = cluster.insecure_skip_tls_verify.unwrap_or(false);
    tls.server_name = cluster.tls_server_name.clone().unwrap_or_default();
    if let Some(data) = &cluster.certificate_authority_data {
        tls.ca_data = data.clone();
    } else if let Some(file) = &cluster.certificate_authority {
        tls.ca_data = b64(std::fs::read(file).with_context(|| format!("reading {file}"))?);
    }
    let Some(user) = ctx.user.as_ref() else {
        return Ok(());
    };
    let auth = kc
        .auth_infos
        .iter()
        .find(|x| &x.name == user)
        .and_then(|x| x.auth_info.clone())
        .with_context(|| format!("user {user:?} of context {context:?} not found"))?;
    // The secret fields are only reachable through serialisation.
    let v: Value = serde_json::to_value(&auth).unwrap_or(Value::Null);
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(t) = field("token") {
        c.config.bearer_token = Some(Redacted::secret(t));
    }
    if let Some(u) = field("username") {
        c.config.username = u;
    }
    if let Some(p) = field("password") {
        c.config.password = Some(Redacted::secret(p));
    }
    if let Some(d) = field("client-certificate-data") {
        c.config.tls_client_config.cert_data = d;
    } else if let Some(f) = field("client-certificate") {
        c.config.tls_client_config.cert_data =
            b64(std::fs::read(&f).with_context(|| format!("reading {f}"))?);
    }
    if let Some(d) = field("client-key-data") {
        c.config.tls_client_config.key_data = Some(Redacted::secret(d));
    } else if let Some(f) = field("client-key") {
        c.config.tls_client_config.key_data = Some(Redacted::secret(b64(
            std::fs::read(&f).with_context(|| format!("reading {f}"))?
        )));
    }
    Ok(())
}

async fn add(conn: &Conn, a: &AddArgs, mut cluster: ClusterSecret) -> anyhow::Result<()> {
    let existing = secrets::list_clusters(&conn.client, &conn.namespace)
        .await?
        .into_iter()
        .find(|c| {
            c.server.trim_end_matches('/') == cluster.server.trim_end_matches('/')
                || c.name == cluster.name
        });
    if let Some(e) = &existing {
        if !a.upsert {
            bail!(
                "cluster {:?} ({}) is already registered (Secret {}); use --upsert to replace it",
                e.name,
                e.server,
                e.secret_name
            );
        }
        cluster.secret_name = e.secret_name.clone();
    }
    let manifest = secrets::cluster_secret(&conn.namespace, &cluster);
    let mut secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(manifest)?;
    let name = secret.metadata.name.clone().unwrap_or_default();
    let api = conn.secrets();
    let result = if existing.is_some() {
        secret.metadata.resource_version = api
            .get(&name)
            .await
            .ok()
            .and_then(|s| s.metadata.resource_version);
        api.replace(&name, &PostParams::default(), &secret).await
    } else {
        api.create(&PostParams::default(), &secret).await
    };
    result.map_err(|e| {
        anyhow::anyhow!(
            "saving cluster {:?} as Secret {name}: {}",
            cluster.name,
            match e {
                kube::Error::Api(s) => s.message,
                other => other.to_string(),
            }
        )
    })?;
    out(&format!("Cluster '{}' added\n", cluster.server));
    Ok(())
}

fn auth_kind(c: &ClusterConfig) -> &'static str {
    if c.bearer_token.is_some() {
        "token"
    } else if c.tls_client_config.key_data.is_some() {
        "client-cert"
    } else if c.password.is_some() {
        "basic"
    } else {
        "none"
    }
}

async fn list(conn: &Conn, a: ListArgs) -> anyhow::Result<()> {
    let clusters = secrets::list_clusters(&conn.client, &conn.namespace).await?;
    let has_in_cluster = clusters
        .iter()
        .any(|c| c.server == secrets::IN_CLUSTER_SERVER);
    if !matches!(a.output, Format::Table | Format::Wide) {
        let items: Vec<Value> = clusters
            .iter()
            .map(|c| {
                json!({
                    "kind": "Cluster",
                    "metadata": {"name": c.name},
                    "name": c.name,
                    "server": c.server,
                    "namespaces": c.namespaces,
                    "project": c.project,
                    "secret": c.secret_name,
                    "auth": auth_kind(&c.config),
                    "insecure": c.config.tls_client_config.insecure,
                })
            })
            .collect();
        print_objects(a.output, &items, false);
        return Ok(());
    }
    let mut t = Table::new(&["SERVER", "NAME", "AUTH", "NAMESPACES", "PROJECT", "SECRET"]);
    if !has_in_cluster {
        t.row(vec![
            secrets::IN_CLUSTER_SERVER.to_string(),
            "in-cluster".into(),
            "local".into(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    for c in &clusters {
        t.row(vec![
            c.server.clone(),
            c.name.clone(),
            auth_kind(&c.config).into(),
            c.namespaces.join(","),
            c.project.clone(),
            c.secret_name.clone(),
        ]);
    }
    out(&t.render());
    Ok(())
}

async fn rm(conn: &Conn, a: RmArgs) -> anyhow::Result<()> {
    let clusters = secrets::list_clusters(&conn.client, &conn.namespace).await?;
    for want in &a.clusters {
        let Some(c) = clusters.iter().find(|c| {
            c.name == *want || c.server.trim_end_matches('/') == want.trim_end_matches('/')
        }) else {
            return Err(NotFound {
                kind: "cluster",
                name: want.clone(),
                namespace: conn.namespace.clone(),
            }
            .into());
        };
        conn.secrets()
            .delete(&c.secret_name, &DeleteParams::default())
            .await
            .map_err(|e| anyhow::anyhow!("deleting Secret {}: {e}", c.secret_name))?;
        out(&format!("Cluster '{want}' removed\n"));
    }
    Ok(())
}

fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut config = kedge_apiserver::Config::new(args.listen, &args.data);
        config.insecure_http = args.insecure_http;
        config.simulator = !args.no_simulator;
        let handle = kedge_apiserver::ApiServer::start(config)
            .await
            .with_context(|| format!("starting the control plane in {}", args.data.display()))?;
        let stop = super::signals()?;
        // One line on stdout that scripts (and tests) wait for.
        println!(
            "kedge control plane listening on {} (kubeconfig: {})",
            handle.local_addr(),
            handle.kubeconfig_path().display()
        );
        stop.await;
        handle.shutdown().await;
        Ok(())
    })
}
