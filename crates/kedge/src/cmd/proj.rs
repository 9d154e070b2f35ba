//! `kedge proj …`: manage AppProjects, the boundaries of what applications
//! may deploy (source repositories, destinations, resource kinds).
//!
//! Flags mirror argocd's: `--src URL`, `--dest SERVER,NAMESPACE`,
//! `--allow-cluster-resource GROUP/KIND` (the core group is empty:
//! `/Namespace`) and their deny and namespaced counterparts. The project
//! is plain JSON on the way in and out, so fields this version does not
//! know are kept by `add-source` and `add-destination`.

use anyhow::{Context as _, bail};
use kedge_controller::types::{API_VERSION, from_argocd};
use kube::api::{DeleteParams, ListParams};
use serde_json::{Value, json};

use super::client::{ClientArgs, Conn, api_error, create_json, replace_json, runtime};
use super::output::{EXIT_CODES_HELP, Format, Table, out, print_objects, read_manifests, s};

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
    /// Create a project from flags or a manifest (Kedge or Argo CD).
    Create(CreateArgs),
    /// List projects.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show a project.
    Get(GetArgs),
    /// Delete projects.
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
    /// Allow a source repository.
    AddSource(AddSourceArgs),
    /// Allow a destination.
    AddDestination(AddDestinationArgs),
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// Project name (taken from the manifest with -f).
    name: Option<String>,
    /// A manifest file (`-` for stdin): kedge.dev/v1alpha1 or argoproj.io/v1alpha1.
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// Description.
    #[arg(long)]
    description: Option<String>,
    /// Allowed source repository URL or glob (repeatable).
    #[arg(long = "src", value_name = "URL")]
    sources: Vec<String>,
    /// Allowed destination SERVER,NAMESPACE (repeatable).
    #[arg(long = "dest", value_name = "SERVER,NAMESPACE")]
    destinations: Vec<String>,
    /// Allowed cluster-scoped kind GROUP/KIND (repeatable).
    #[arg(long = "allow-cluster-resource", value_name = "GROUP/KIND")]
    allow_cluster: Vec<String>,
    /// Denied cluster-scoped kind GROUP/KIND (repeatable).
    #[arg(long = "deny-cluster-resource", value_name = "GROUP/KIND")]
    deny_cluster: Vec<String>,
    /// Allowed namespaced kind GROUP/KIND (repeatable; none given: all).
    #[arg(long = "allow-namespaced-resource", value_name = "GROUP/KIND")]
    allow_namespaced: Vec<String>,
    /// Denied namespaced kind GROUP/KIND (repeatable).
    #[arg(long = "deny-namespaced-resource", value_name = "GROUP/KIND")]
    deny_namespaced: Vec<String>,
    /// Replace the spec of an existing project.
    #[arg(long)]
    upsert: bool,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// Project name.
    name: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
}

#[derive(Debug, clap::Args)]
struct DeleteArgs {
    /// Project names.
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct AddSourceArgs {
    /// Project name.
    name: String,
    /// Repository URL or glob.
    url: String,
}

#[derive(Debug, clap::Args)]
struct AddDestinationArgs {
    /// Project name.
    name: String,
    /// API server URL (or a cluster name with --by-name).
    server: String,
    /// Namespace (glob).
    #[arg(value_name = "NAMESPACE")]
    dest_namespace: String,
    /// SERVER is a cluster name.
    #[arg(long)]
    by_name: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let conn = args.conn.connect().await?;
        match args.command {
            Command::Create(a) => create(&conn, a).await,
            Command::List(a) => list(&conn, a).await,
            Command::Get(a) => get(&conn, a).await,
            Command::Delete(a) => delete(&conn, a).await,
            Command::AddSource(a) => add_source(&conn, a).await,
            Command::AddDestination(a) => add_destination(&conn, a).await,
        }
    })
}

fn group_kind(spec: &str, flag: &str) -> anyhow::Result<Value> {
    let (group, kind) = spec
        .rsplit_once('/')
        .with_context(|| format!("{flag} {spec:?}: expected GROUP/KIND (core group: /KIND)"))?;
    if kind.is_empty() {
        bail!("{flag} {spec:?}: the kind is empty");
    }
    Ok(json!({"group": group, "kind": kind}))
}

fn destination(spec: &str) -> anyhow::Result<Value> {
    let (server, namespace) = spec
        .split_once(',')
        .with_context(|| format!("--dest {spec:?}: expected SERVER,NAMESPACE"))?;
    if server.is_empty() || namespace.is_empty() {
        bail!("--dest {spec:?}: expected SERVER,NAMESPACE");
    }
    if server.contains("://") || server == "*" {
        Ok(json!({"server": server, "namespace": namespace}))
    } else {
        Ok(json!({"name": server, "namespace": namespace}))
    }
}

fn push_all(obj: &mut Value, field: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    let spec = &mut obj["spec"];
    if !spec[field].is_array() {
        spec[field] = json!([]);
    }
    let arr = spec[field].as_array_mut().expect("array");
    for i in items {
        if !arr.contains(&i) {
            arr.push(i);
        }
    }
}

async fn create(conn: &Conn, a: CreateArgs) -> anyhow::Result<()> {
    let mut proj = match &a.file {
        Some(file) => {
            let docs = read_manifests(file)?;
            let [doc] = &docs[..] else {
                bail!(
                    "{file}: expected one AppProject, found {} documents",
                    docs.len()
                );
            };
            let doc = from_argocd(doc.clone());
            if doc["kind"] != "AppProject" || doc["apiVersion"] != API_VERSION {
                bail!("{file}: expected an AppProject");
            }
            doc
        }
        None => json!({"apiVersion": API_VERSION, "kind": "AppProject", "metadata": {},
                       "spec": {"sourceRepos": [], "destinations": []}}),
    };
    if let Some(n) = &a.name {
        proj["metadata"]["name"] = Value::String(n.clone());
    }
    let name = s(&proj, "/metadata/name").to_string();
    if name.is_empty() {
        bail!("a project needs a name");
    }
    proj["metadata"]["namespace"] = Value::String(conn.namespace.clone());
    if let Some(m) = proj["metadata"].as_object_mut() {
        for k in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            m.remove(k);
        }
    }
    if let Some(d) = &a.description {
        proj["spec"]["description"] = Value::String(d.clone());
    }
    push_all(
        &mut proj,
        "sourceRepos",
        a.sources.iter().map(|s| Value::String(s.clone())).collect(),
    );
    push_all(
        &mut proj,
        "destinations",
        a.destinations
            .iter()
            .map(|d| destination(d))
            .collect::<anyhow::Result<_>>()?,
    );
    for (flags, field, flag) in [
        (
            &a.allow_cluster,
            "clusterResourceWhitelist",
            "--allow-cluster-resource",
        ),
        (
            &a.deny_cluster,
            "clusterResourceBlacklist",
            "--deny-cluster-resource",
        ),
        (
            &a.allow_namespaced,
            "namespaceResourceWhitelist",
            "--allow-namespaced-resource",
        ),
        (
            &a.deny_namespaced,
            "namespaceResourceBlacklist",
            "--deny-namespaced-resource",
        ),
    ] {
        let items = flags
            .iter()
            .map(|g| group_kind(g, flag))
            .collect::<anyhow::Result<_>>()?;
        push_all(&mut proj, field, items);
    }
    serde_json::from_value::<kedge_controller::types::AppProjectSpec>(proj["spec"].clone())
        .with_context(|| format!("project {name:?}: invalid spec"))?;
    match create_json(&conn.projects(), &proj).await {
        Ok(_) => out(&format!("project '{name}' created\n")),
        Err(kube::Error::Api(st)) if st.code == 409 => {
            let mut existing = conn.get_project(&name).await?;
            if existing["spec"] == proj["spec"] {
                out(&format!("project '{name}' unchanged\n"));
                return Ok(());
            }
            if !a.upsert {
                bail!(
                    "project {name:?} exists in namespace {:?} with a different spec; use --upsert to update it",
                    conn.namespace
                );
            }
            existing["spec"] = proj["spec"].clone();
            replace_json(&conn.projects(), &name, &existing)
                .await
                .map_err(|e| api_error(e, "project", &name, &conn.namespace))?;
            out(&format!("project '{name}' updated\n"));
        }
        Err(e) => return Err(api_error(e, "project", &name, &conn.namespace)),
    }
    Ok(())
}

fn join_gk(v: &Value, field: &str) -> String {
    let items: Vec<String> = v["spec"][field]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| format!("{}/{}", s(g, "/group"), s(g, "/kind")))
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        "<none>".into()
    } else {
        items.join(",")
    }
}

fn destinations_of(v: &Value) -> String {
    let items: Vec<String> = v["spec"]["destinations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    let target = if s(d, "/server").is_empty() {
                        s(d, "/name")
                    } else {
                        s(d, "/server")
                    };
                    format!("{target},{}", s(d, "/namespace"))
                })
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        "<none>".into()
    } else {
        items.join(";")
    }
}

fn sources_of(v: &Value) -> String {
    let items: Vec<&str> = v["spec"]["sourceRepos"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "<none>".into()
    } else {
        items.join(",")
    }
}

async fn list(conn: &Conn, a: ListArgs) -> anyhow::Result<()> {
    let list = conn
        .projects()
        .list(&ListParams::default())
        .await
        .map_err(|e| api_error(e, "projects", "*", &conn.namespace))?;
    let mut items: Vec<Value> = list
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .collect();
    items.sort_by(|x, y| s(x, "/metadata/name").cmp(s(y, "/metadata/name")));
    if !matches!(a.output, Format::Table | Format::Wide) {
        print_objects(a.output, &items, false);
        return Ok(());
    }
    let mut t = Table::new(&[
        "NAME",
        "DESCRIPTION",
        "DESTINATIONS",
        "SOURCES",
        "CLUSTER-RESOURCE-WHITELIST",
        "NAMESPACE-RESOURCE-BLACKLIST",
    ]);
    for v in &items {
        t.row(vec![
            s(v, "/metadata/name").to_string(),
            s(v, "/spec/description").to_string(),
            destinations_of(v),
            sources_of(v),
            join_gk(v, "clusterResourceWhitelist"),
            join_gk(v, "namespaceResourceBlacklist"),
        ]);
    }
    out(&t.render());
    Ok(())
}

async fn get(conn: &Conn, a: GetArgs) -> anyhow::Result<()> {
    let v = conn.get_project(&a.name).await?;
    if !matches!(a.output, Format::Table | Format::Wide) {
        print_objects(a.output, &[v], true);
        return Ok(());
    }
    let mut o = String::new();
    for (k, val) in [
        ("Name", s(&v, "/metadata/name").to_string()),
        ("Description", s(&v, "/spec/description").to_string()),
        ("Destinations", destinations_of(&v)),
        ("Repositories", sources_of(&v)),
        (
            "Allowed Cluster Resources",
            join_gk(&v, "clusterResourceWhitelist"),
        ),
        (
            "Denied Cluster Resources",
            join_gk(&v, "clusterResourceBlacklist"),
        ),
        (
            "Allowed Namespaced Resources",
            join_gk(&v, "namespaceResourceWhitelist"),
        ),
        (
            "Denied Namespaced Resources",
            join_gk(&v, "namespaceResourceBlacklist"),
        ),
    ] {
        o.push_str(&format!("{:<30}{val}\n", format!("{k}:")));
    }
    out(&o);
    Ok(())
}

async fn delete(conn: &Conn, a: DeleteArgs) -> anyhow::Result<()> {
    for name in &a.names {
        conn.get_project(name).await?;
        conn.projects()
            .delete(name, &DeleteParams::default())
            .await
            .map_err(|e| api_error(e, "project", name, &conn.namespace))?;
        out(&format!("project '{name}' deleted\n"));
    }
    Ok(())
}

async fn update(conn: &Conn, name: &str, change: impl Fn(&mut Value)) -> anyhow::Result<()> {
    for attempt in 0..5 {
        let mut v = conn.get_project(name).await?;
        change(&mut v);
        match replace_json(&conn.projects(), name, &v).await {
            Ok(_) => {
                out(&format!("project '{name}' updated\n"));
                return Ok(());
            }
            Err(kube::Error::Api(st)) if st.code == 409 && attempt < 4 => continue,
            Err(e) => return Err(api_error(e, "project", name, &conn.namespace)),
        }
    }
    bail!("project {name:?}: too many conflicting updates")
}

async fn add_source(conn: &Conn, a: AddSourceArgs) -> anyhow::Result<()> {
    let url = a.url.clone();
    update(conn, &a.name, move |v| {
        push_all(v, "sourceRepos", vec![Value::String(url.clone())])
    })
    .await
}

async fn add_destination(conn: &Conn, a: AddDestinationArgs) -> anyhow::Result<()> {
    let d = if a.by_name {
        json!({"name": a.server, "namespace": a.dest_namespace})
    } else {
        json!({"server": a.server, "namespace": a.dest_namespace})
    };
    update(conn, &a.name, move |v| {
        push_all(v, "destinations", vec![d.clone()])
    })
    .await
}
