//! `kedge repo …`: register Git repositories and their credentials as
//! Secrets in Argo CD's format (see kedge-controller's `secrets` module),
//! which the controller reads when it fetches.
//!
//! Credentials enter through flags, standard input (`--password-stdin`) or
//! a key file, go straight into the Secret and are never printed: `list`
//! shows whether a repository has credentials, not what they are, and
//! errors name the repository URL only.

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use kedge_controller::secrets::{self, Repository, RepositoryKind};
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
    /// Register a repository (or, with --creds, a credential template for a URL prefix).
    Add(AddArgs),
    /// List registered repositories and credential templates.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Remove repositories (or, with --creds, credential templates) by URL.
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// Repository URL (a URL prefix with --creds).
    url: String,
    /// HTTPS username.
    #[arg(long)]
    username: Option<String>,
    /// HTTPS password or token (prefer --password-stdin: flags are visible to other users).
    #[arg(long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read the password or token from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// File holding an SSH private key.
    #[arg(long, value_name = "FILE")]
    ssh_private_key_path: Option<std::path::PathBuf>,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Project the repository belongs to.
    #[arg(long)]
    project: Option<String>,
    /// Repository type.
    #[arg(long = "type", default_value = "git")]
    type_: String,
    /// Skip TLS verification (HTTPS) or host key checking (SSH).
    #[arg(long)]
    insecure_skip_server_verification: bool,
    /// Register a credential template for every repository below URL.
    #[arg(long)]
    creds: bool,
    /// Replace an existing registration of the same URL.
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
    /// Repository URLs.
    #[arg(required = true)]
    urls: Vec<String>,
    /// Remove credential templates instead of repositories.
    #[arg(long)]
    creds: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    // Read the password before connecting: stdin is consumed once.
    let rt = runtime()?;
    rt.block_on(async move {
        match args.command {
            Command::Add(a) => {
                let repo = repository_from_flags(&a)?;
                let conn = args.conn.connect().await?;
                add(&conn, &a, repo).await
            }
            Command::List(a) => list(&args.conn.connect().await?, a).await,
            Command::Rm(a) => rm(&args.conn.connect().await?, a).await,
        }
    })
}

fn repository_from_flags(a: &AddArgs) -> anyhow::Result<Repository> {
    kedge_git::RepoUrl::parse(&a.url).with_context(|| format!("repository URL {:?}", a.url))?;
    let mut repo = Repository::new(&a.url);
    if a.creds {
        repo.kind = RepositoryKind::RepoCreds;
    }
    repo.name = a.name.clone().unwrap_or_default();
    repo.project = a.project.clone().unwrap_or_default();
    repo.type_ = a.type_.clone();
    repo.username = a.username.clone().unwrap_or_default();
    repo.insecure = a.insecure_skip_server_verification;
    if let Some(p) = &a.password {
        repo.password = Some(Redacted::secret(p.clone()));
    }
    if a.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        if p.is_empty() {
            bail!("--password-stdin: standard input holds no password");
        }
        repo.password = Some(Redacted::secret(p));
    }
    if let Some(path) = &a.ssh_private_key_path {
        let key = std::fs::read_to_string(path)
            .with_context(|| format!("reading the SSH private key {}", path.display()))?;
        if !key.contains("PRIVATE KEY") {
            bail!("{} does not hold a PEM private key", path.display());
        }
        repo.ssh_private_key = Some(Redacted::new(key));
    }
    if repo.password.is_some() && repo.ssh_private_key.is_some() {
        bail!("give either a password or an SSH private key, not both");
    }
    if repo.password.is_none() && !repo.username.is_empty() {
        bail!("--username needs --password or --password-stdin");
    }
    Ok(repo)
}

fn what(kind: RepositoryKind) -> &'static str {
    match kind {
        RepositoryKind::Repository => "repository",
        RepositoryKind::RepoCreds => "repository credentials",
    }
}

async fn add(conn: &Conn, a: &AddArgs, repo: Repository) -> anyhow::Result<()> {
    // An existing registration of the same URL keeps its Secret name.
    let existing = secrets::list_repositories(&conn.client, &conn.namespace)
        .await?
        .into_iter()
        .find(|r| r.kind == repo.kind && same_url(&r.url, &repo.url));
    let mut repo = repo;
    if let Some(e) = &existing {
        if !a.upsert {
            bail!(
                "{} {:?} is already registered (Secret {}); use --upsert to replace it",
                what(repo.kind),
                repo.url,
                e.secret_name
            );
        }
        repo.secret_name = e.secret_name.clone();
    }
    let manifest = secrets::repository_secret(&conn.namespace, &repo);
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(manifest)?;
    let api = conn.secrets();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let result = if existing.is_some() {
        let mut s = secret;
        s.metadata.resource_version = api
            .get(&name)
            .await
            .ok()
            .and_then(|c| c.metadata.resource_version);
        api.replace(&name, &PostParams::default(), &s).await
    } else {
        api.create(&PostParams::default(), &secret).await
    };
    // The API error never contains Secret data; name the URL only.
    result.map_err(|e| {
        anyhow::anyhow!(
            "saving {} {:?} as Secret {name}: {}",
            what(repo.kind),
            repo.url,
            match e {
                kube::Error::Api(s) => s.message,
                other => other.to_string(),
            }
        )
    })?;
    out(&format!("{} '{}' added\n", what(repo.kind), repo.url));
    Ok(())
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// What `list -o json|yaml` shows of a repository: everything but secrets.
fn public_view(r: &Repository) -> Value {
    json!({
        "kind": match r.kind { RepositoryKind::Repository => "Repository", RepositoryKind::RepoCreds => "RepoCreds" },
        "metadata": {"name": r.secret_name},
        "url": r.url,
        "name": r.name,
        "type": r.type_,
        "project": r.project,
        "username": r.username,
        "insecure": r.insecure,
        "hasCredentials": r.password.is_some() || r.ssh_private_key.is_some(),
    })
}

async fn list(conn: &Conn, a: ListArgs) -> anyhow::Result<()> {
    let repos = secrets::list_repositories(&conn.client, &conn.namespace).await?;
    if !matches!(a.output, Format::Table | Format::Wide) {
        let items: Vec<Value> = repos.iter().map(public_view).collect();
        print_objects(a.output, &items, false);
        return Ok(());
    }
    let mut t = Table::new(&[
        "TYPE", "NAME", "REPO", "INSECURE", "CREDS", "PROJECT", "SECRET",
    ]);
    for r in &repos {
        let creds = match (&r.password, &r.ssh_private_key) {
            (_, Some(_)) => "ssh",
            (Some(_), None) => "https",
            _ => "none",
        };
        let type_ = match r.kind {
            RepositoryKind::Repository => r.type_.clone(),
            RepositoryKind::RepoCreds => format!("{} (template)", r.type_),
        };
        t.row(vec![
            type_,
            r.name.clone(),
            r.url.clone(),
            r.insecure.to_string(),
            creds.to_string(),
            r.project.clone(),
            r.secret_name.clone(),
        ]);
    }
    out(&t.render());
    Ok(())
}

async fn rm(conn: &Conn, a: RmArgs) -> anyhow::Result<()> {
    let kind = if a.creds {
        RepositoryKind::RepoCreds
    } else {
        RepositoryKind::Repository
    };
    let repos = secrets::list_repositories(&conn.client, &conn.namespace).await?;
    for url in &a.urls {
        let Some(r) = repos
            .iter()
            .find(|r| r.kind == kind && same_url(&r.url, url))
        else {
            return Err(NotFound {
                kind: what(kind),
                name: url.clone(),
                namespace: conn.namespace.clone(),
            }
            .into());
        };
        conn.secrets()
            .delete(&r.secret_name, &DeleteParams::default())
            .await
            .map_err(|e| anyhow::anyhow!("deleting Secret {}: {e}", r.secret_name))?;
        out(&format!("{} '{url}' removed\n", what(kind)));
    }
    Ok(())
}
