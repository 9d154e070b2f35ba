//! `kedge app …`: create, inspect, sync, wait for, roll back and delete
//! Applications, with argocd's flags and output.
//!
//! The Application resource is the whole interface: `create` and `set`
//! write its spec, `sync` and `rollback` write its `operation` field (which
//! the controller runs and clears), `get --refresh` sets the refresh
//! annotation (which the controller serves and removes), and `wait`, `sync`
//! and `rollback` follow the object through a watch rather than by polling.
//! The only command that does work of its own is `diff`, which renders the
//! source from Git and compares it with the cluster through kedge-sync's
//! server-side dry run, exactly as the controller does.
//!
//! Objects are handled as JSON so fields this version does not know
//! survive a `set`; the typed [`Application`] is used for reading.

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use kedge_controller::types::{
    API_VERSION, Application, REFRESH_ANNOTATION, RESOURCES_FINALIZER, from_argocd,
};
use kube::api::{DeleteParams, ListParams};
use kube::runtime::watcher;
use serde_json::{Map, Value, json};

use super::client::{ClientArgs, Conn, NotFound, api_error, create_json, replace_json, runtime};
use super::output::{
    EXIT_CODES_HELP, EXIT_DIFF_ERROR, EXIT_DIFFERENT, EXIT_FAILURE, EXIT_OK, Format, Table, exit,
    out, paint, print_objects, read_manifests, s, short_sha,
};

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
    /// Create an application from flags or a manifest (Kedge or Argo CD).
    Create(CreateArgs),
    /// List applications.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show an application: summary, conditions and resources.
    Get(GetArgs),
    /// Compare the live state with Git (exit 0 synced, 1 out of sync, 2 error).
    Diff(DiffArgs),
    /// Sync an application now (and wait for the result unless --async).
    Sync(SyncArgs),
    /// Wait until an application is healthy, synced and idle.
    Wait(WaitArgs),
    /// Show the deployment history.
    History(NameArg),
    /// Sync an application back to a revision of its history.
    Rollback(RollbackArgs),
    /// Delete applications (and, by default, their resources).
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
    /// Change an application's spec.
    Set(SetArgs),
}

/// Spec flags shared by `create` and `set`; only given flags change the spec.
#[derive(Debug, Default, clap::Args)]
struct SpecFlags {
    /// Repository URL.
    #[arg(long)]
    repo: Option<String>,
    /// Path inside the repository.
    #[arg(long)]
    path: Option<String>,
    /// Branch, tag, commit or HEAD.
    #[arg(long)]
    revision: Option<String>,
    /// Destination API server URL.
    #[arg(long)]
    dest_server: Option<String>,
    /// Destination cluster name (instead of --dest-server).
    #[arg(long)]
    dest_name: Option<String>,
    /// Destination namespace.
    #[arg(long)]
    dest_namespace: Option<String>,
    /// AppProject.
    #[arg(long)]
    project: Option<String>,
    /// `automated` (alias `auto`) or `none` (alias `manual`).
    #[arg(long, value_name = "automated|none")]
    sync_policy: Option<String>,
    /// Automated sync deletes resources no longer in Git.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    auto_prune: Option<bool>,
    /// Automated sync corrects drift of the live state.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    self_heal: Option<bool>,
    /// Automated sync may leave the application with no resources.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    allow_empty: Option<bool>,
    /// A sync option, e.g. CreateNamespace=true (repeatable).
    #[arg(long = "sync-option", value_name = "K=V")]
    sync_options: Vec<String>,
    /// Read subdirectories of a plain directory source.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    directory_recurse: Option<bool>,
    /// Kustomize name prefix.
    #[arg(long)]
    nameprefix: Option<String>,
    /// Kustomize name suffix.
    #[arg(long)]
    namesuffix: Option<String>,
    /// Kustomize image override, e.g. nginx=nginx:1.27 (repeatable).
    #[arg(long = "kustomize-image", value_name = "IMAGE")]
    kustomize_images: Vec<String>,
    /// How many history entries to keep.
    #[arg(long)]
    revision_history_limit: Option<u32>,
    /// A label of the Application, k=v (repeatable).
    #[arg(long = "label", short = 'l', value_name = "K=V")]
    labels: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// Application name (taken from the manifest with -f).
    name: Option<String>,
    /// A manifest file (`-` for stdin): kedge.dev/v1alpha1 or argoproj.io/v1alpha1.
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    #[command(flatten)]
    spec: SpecFlags,
    /// Update the spec when the application exists with a different one.
    #[arg(long)]
    upsert: bool,
    /// Add the resources finalizer (delete cascades to the resources).
    #[arg(long)]
    set_finalizer: bool,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
    /// Only applications of these projects (repeatable).
    #[arg(short = 'p', long = "project")]
    projects: Vec<String>,
    /// Label selector, e.g. team=a.
    #[arg(short = 'l', long)]
    selector: Option<String>,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// Application name.
    name: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
    /// Ask the controller to compare again first (fetching Git).
    #[arg(long)]
    refresh: bool,
    /// Like --refresh, also dropping cached Git and render state.
    #[arg(long)]
    hard_refresh: bool,
    /// Seconds to wait for a refresh.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// Application name.
    name: String,
    /// Compare against this revision instead of the target revision.
    #[arg(long)]
    revision: Option<String>,
}

#[derive(Debug, clap::Args)]
struct SyncArgs {
    /// Application name.
    name: String,
    /// Sync to this revision instead of the target revision.
    #[arg(long)]
    revision: Option<String>,
    /// Delete resources no longer in Git.
    #[arg(long)]
    prune: bool,
    /// Compare only; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only these resources, GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (repeatable).
    #[arg(long = "resource", value_name = "GROUP:KIND:NAME")]
    resources: Vec<String>,
    /// Do not wait for the operation to finish.
    #[arg(long = "async")]
    async_: bool,
    /// Seconds to wait for the operation (0: no limit).
    #[arg(long, default_value_t = 0)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct WaitArgs {
    /// Application name.
    name: String,
    /// Wait for health Healthy.
    #[arg(long)]
    health: bool,
    /// Wait for sync status Synced.
    #[arg(long)]
    sync: bool,
    /// Wait until no operation is pending or running.
    #[arg(long)]
    operation: bool,
    /// Seconds to wait (0: no limit).
    #[arg(long, default_value_t = 0)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct NameArg {
    /// Application name.
    name: String,
    /// Output format (table, yaml or json).
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
}

#[derive(Debug, clap::Args)]
struct RollbackArgs {
    /// Application name.
    name: String,
    /// History ID (default: the deployment before the current one).
    id: Option<i64>,
    /// Delete resources the old revision does not declare.
    #[arg(long)]
    prune: bool,
    /// Do not wait for the operation to finish.
    #[arg(long = "async")]
    async_: bool,
    /// Seconds to wait for the operation (0: no limit).
    #[arg(long, default_value_t = 0)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct DeleteArgs {
    /// Application names.
    #[arg(required = true)]
    names: Vec<String>,
    /// Delete the application's resources too.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    cascade: bool,
    /// How resources are deleted with --cascade.
    #[arg(long, value_parser = ["foreground", "background"], default_value = "foreground")]
    propagation_policy: String,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Wait until the application is gone.
    #[arg(long)]
    wait: bool,
}

#[derive(Debug, clap::Args)]
struct SetArgs {
    /// Application name.
    name: String,
    #[command(flatten)]
    spec: SpecFlags,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let rt = runtime()?;
    let is_diff = matches!(args.command, Command::Diff(_));
    let result = rt.block_on(async move {
        let conn = args.conn.connect().await?;
        match args.command {
            Command::Create(a) => create(&conn, a).await,
            Command::List(a) => list(&conn, a).await,
            Command::Get(a) => get(&conn, a).await,
            Command::Diff(a) => diff(&conn, a).await,
            Command::Sync(a) => sync(&conn, a).await,
            Command::Wait(a) => wait(&conn, a).await,
            Command::History(a) => history(&conn, a).await,
            Command::Rollback(a) => rollback(&conn, a).await,
            Command::Delete(a) => delete(&conn, a).await,
            Command::Set(a) => set(&conn, a).await,
        }
    });
    match result {
        Ok(code) => {
            drop(rt);
            if code != EXIT_OK {
                exit(code);
            }
            Ok(())
        }
        Err(e) if is_diff => {
            eprintln!("Error: {e:#}");
            exit(EXIT_DIFF_ERROR)
        }
        Err(e) => Err(e),
    }
}

/// Sets `ptr` (a JSON pointer of object keys) in `v`, creating objects.
fn put(v: &mut Value, ptr: &str, value: Value) {
    let mut cur = v;
    let keys: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
    for (i, k) in keys.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let map = cur.as_object_mut().expect("object");
        if i + 1 == keys.len() {
            if value.is_null() {
                map.remove(*k);
            } else {
                map.insert((*k).to_string(), value);
            }
            return;
        }
        cur = map
            .entry((*k).to_string())
            .or_insert(Value::Object(Map::new()));
    }
}

fn split_kv(s: &str, what: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = s
        .split_once('=')
        .with_context(|| format!("{what} {s:?} is not K=V"))?;
    if k.is_empty() {
        bail!("{what} {s:?} has an empty key");
    }
    Ok((k.to_string(), v.to_string()))
}

impl SpecFlags {
    /// Applies the given flags to an Application object.
    fn apply(&self, app: &mut Value) -> anyhow::Result<()> {
        let str_flags = [
            (&self.repo, "/spec/source/repoURL"),
            (&self.path, "/spec/source/path"),
            (&self.revision, "/spec/source/targetRevision"),
            (&self.dest_server, "/spec/destination/server"),
            (&self.dest_name, "/spec/destination/name"),
            (&self.dest_namespace, "/spec/destination/namespace"),
            (&self.project, "/spec/project"),
            (&self.nameprefix, "/spec/source/kustomize/namePrefix"),
            (&self.namesuffix, "/spec/source/kustomize/nameSuffix"),
        ];
        for (flag, ptr) in str_flags {
            if let Some(v) = flag {
                put(app, ptr, Value::String(v.clone()));
            }
        }
        if self.dest_server.is_some() && self.dest_name.is_none() {
            put(app, "/spec/destination/name", Value::Null);
        }
        if self.dest_name.is_some() && self.dest_server.is_none() {
            put(app, "/spec/destination/server", Value::Null);
        }
        if let Some(policy) = &self.sync_policy {
            match policy.as_str() {
                "automated" | "automatic" | "auto" => {
                    if app.pointer("/spec/syncPolicy/automated").is_none() {
                        put(app, "/spec/syncPolicy/automated", json!({}));
                    }
                }
                "none" | "manual" => put(app, "/spec/syncPolicy/automated", Value::Null),
                other => bail!("--sync-policy {other:?}: expected automated or none"),
            }
        }
        for (flag, field, name) in [
            (self.auto_prune, "prune", "--auto-prune"),
            (self.self_heal, "selfHeal", "--self-heal"),
            (self.allow_empty, "allowEmpty", "--allow-empty"),
        ] {
            if let Some(on) = flag {
                if app.pointer("/spec/syncPolicy/automated").is_none() {
                    bail!("{name} requires an automated sync policy (--sync-policy automated)");
                }
                put(
                    app,
                    &format!("/spec/syncPolicy/automated/{field}"),
                    if on { Value::Bool(true) } else { Value::Null },
                );
            }
        }
        if !self.sync_options.is_empty() {
            let mut opts: Vec<Value> = app
                .pointer("/spec/syncPolicy/syncOptions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for o in &self.sync_options {
                let (k, _) = split_kv(o, "--sync-option")?;
                opts.retain(|x| {
                    x.as_str()
                        .and_then(|s| s.split_once('='))
                        .is_none_or(|(xk, _)| xk != k)
                });
                opts.push(Value::String(o.clone()));
            }
            put(app, "/spec/syncPolicy/syncOptions", Value::Array(opts));
        }
        if let Some(r) = self.directory_recurse {
            put(app, "/spec/source/directory/recurse", Value::Bool(r));
        }
        if !self.kustomize_images.is_empty() {
            let mut images: Vec<Value> = app
                .pointer("/spec/source/kustomize/images")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for img in &self.kustomize_images {
                let name = image_name(img);
                images.retain(|x| x.as_str().map(image_name) != Some(name));
                images.push(Value::String(img.clone()));
            }
            put(app, "/spec/source/kustomize/images", Value::Array(images));
        }
        if let Some(n) = self.revision_history_limit {
            put(app, "/spec/revisionHistoryLimit", json!(n));
        }
        for l in &self.labels {
            let (k, v) = split_kv(l, "--label")?;
            put(app, &format!("/metadata/labels/{k}"), Value::String(v));
        }
        Ok(())
    }
}

/// The image name an override applies to (`name=new:tag` or `name:tag`).
fn image_name(spec: &str) -> &str {
    if let Some((name, _)) = spec.split_once('=') {
        return name;
    }
    let no_digest = spec.split('@').next().unwrap_or(spec);
    match no_digest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => no_digest,
    }
}

fn validate_spec(app: &Value) -> anyhow::Result<()> {
    let name = s(app, "/metadata/name");
    if name.is_empty() {
        bail!("an application needs a name");
    }
    if s(app, "/spec/source/repoURL").is_empty() {
        bail!("application {name:?}: --repo is required");
    }
    if s(app, "/spec/destination/server").is_empty() && s(app, "/spec/destination/name").is_empty()
    {
        bail!("application {name:?}: --dest-server or --dest-name is required");
    }
    if !s(app, "/spec/destination/server").is_empty()
        && !s(app, "/spec/destination/name").is_empty()
    {
        bail!("application {name:?}: give only one of --dest-server and --dest-name");
    }
    serde_json::from_value::<Application>(app.clone())
        .with_context(|| format!("application {name:?}: invalid spec"))?;
    Ok(())
}

async fn create(conn: &Conn, a: CreateArgs) -> anyhow::Result<i32> {
    let mut apps = Vec::new();
    if let Some(file) = &a.file {
        for doc in read_manifests(file)? {
            let doc = from_argocd(doc);
            if doc["kind"] != "Application" || doc["apiVersion"] != API_VERSION {
                bail!(
                    "{file}: expected Application ({API_VERSION} or argoproj.io/v1alpha1), found {} {}",
                    s(&doc, "/apiVersion"),
                    s(&doc, "/kind")
                );
            }
            apps.push(doc);
        }
        if apps.is_empty() {
            bail!("{file}: no Application found");
        }
        if a.name.is_some() && apps.len() > 1 {
            bail!("{file}: a NAME argument needs a file with one Application");
        }
    } else {
        apps.push(
            json!({"apiVersion": API_VERSION, "kind": "Application", "metadata": {}, "spec": {}}),
        );
    }
    for mut app in apps {
        if let Some(n) = &a.name {
            put(&mut app, "/metadata/name", Value::String(n.clone()));
        }
        put(
            &mut app,
            "/metadata/namespace",
            Value::String(conn.namespace.clone()),
        );
        for drop_field in ["status", "operation"] {
            if let Some(m) = app.as_object_mut() {
                m.remove(drop_field);
            }
        }
        if let Some(meta) = app["metadata"].as_object_mut() {
            for k in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "managedFields",
            ] {
                meta.remove(k);
            }
        }
        a.spec.apply(&mut app)?;
        if a.set_finalizer {
            let mut fins: Vec<Value> = app["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !fins.iter().any(|f| f == RESOURCES_FINALIZER) {
                fins.push(Value::String(RESOURCES_FINALIZER.to_string()));
            }
            put(&mut app, "/metadata/finalizers", Value::Array(fins));
        }
        validate_spec(&app)?;
        let name = s(&app, "/metadata/name").to_string();
        match create_json(&conn.apps(), &app).await {
            Ok(_) => out(&format!("application '{name}' created\n")),
            Err(kube::Error::Api(st)) if st.code == 409 => {
                let mut existing = conn.get_app(&name).await?;
                if existing["spec"] == app["spec"] && labels_included(&existing, &app) {
                    out(&format!("application '{name}' unchanged\n"));
                    continue;
                }
                if !a.upsert {
                    bail!(
                        "application {name:?} exists in namespace {:?} with a different spec; use --upsert to update it",
                        conn.namespace
                    );
                }
                existing["spec"] = app["spec"].clone();
                if let Some(labels) = app["metadata"]["labels"].as_object() {
                    for (k, v) in labels {
                        put(&mut existing, &format!("/metadata/labels/{k}"), v.clone());
                    }
                }
                if let Some(fins) = app["metadata"]["finalizers"].as_array() {
                    put(
                        &mut existing,
                        "/metadata/finalizers",
                        Value::Array(fins.clone()),
                    );
                }
                replace_json(&conn.apps(), &name, &existing)
                    .await
                    .map_err(|e| api_error(e, "application", &name, &conn.namespace))?;
                out(&format!("application '{name}' updated\n"));
            }
            Err(e) => return Err(api_error(e, "application", &name, &conn.namespace)),
        }
    }
    Ok(EXIT_OK)
}

fn labels_included(existing: &Value, wanted: &Value) -> bool {
    wanted["metadata"]["labels"].as_object().is_none_or(|m| {
        m.iter()
            .all(|(k, v)| existing["metadata"]["labels"][k] == *v)
    })
}

async fn list(conn: &Conn, a: ListArgs) -> anyhow::Result<i32> {
    let mut lp = ListParams::default();
    if let Some(sel) = &a.selector {
        lp = lp.labels(sel);
    }
    let list = conn
        .apps()
        .list(&lp)
        .await
        .map_err(|e| api_error(e, "applications", "*", &conn.namespace))?;
    let mut items: Vec<Value> = list
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .filter(|v| a.projects.is_empty() || a.projects.iter().any(|p| p == project_of(v)))
        .collect();
    items.sort_by(|x, y| s(x, "/metadata/name").cmp(s(y, "/metadata/name")));
    if !matches!(a.output, Format::Table | Format::Wide) {
        print_objects(a.output, &items, false);
        return Ok(EXIT_OK);
    }
    let wide = a.output == Format::Wide;
    let mut headers = vec![
        "NAME",
        "CLUSTER",
        "NAMESPACE",
        "PROJECT",
        "STATUS",
        "HEALTH",
        "SYNCPOLICY",
        "CONDITIONS",
        "REPO",
        "PATH",
        "TARGET",
    ];
    if wide {
        headers.extend(["REVISION", "AGE"]);
    }
    let mut t = Table::new(&headers).status_columns(&["STATUS", "HEALTH"]);
    for v in &items {
        let mut row = vec![
            s(v, "/metadata/name").to_string(),
            cluster_of(v).to_string(),
            s(v, "/spec/destination/namespace").to_string(),
            project_of(v).to_string(),
            or_unknown(s(v, "/status/sync/status")),
            or_unknown(s(v, "/status/health/status")),
            sync_policy_of(v),
            conditions_of(v),
            s(v, "/spec/source/repoURL").to_string(),
            s(v, "/spec/source/path").to_string(),
            or_default(s(v, "/spec/source/targetRevision"), "HEAD"),
        ];
        if wide {
            row.push(short_sha(s(v, "/status/sync/revision")).to_string());
            row.push(age(s(v, "/metadata/creationTimestamp")));
        }
        t.row(row);
    }
    if t.is_empty() && a.output == Format::Table {
        eprintln!("No applications found in namespace {:?}.", conn.namespace);
        return Ok(EXIT_OK);
    }
    out(&t.render());
    Ok(EXIT_OK)
}

fn project_of(v: &Value) -> &str {
    let p = s(v, "/spec/project");
    if p.is_empty() { "default" } else { p }
}

fn cluster_of(v: &Value) -> &str {
    let server = s(v, "/spec/destination/server");
    if server.is_empty() {
        s(v, "/spec/destination/name")
    } else {
        server
    }
}

fn or_unknown(x: &str) -> String {
    or_default(x, "Unknown")
}

fn or_default(x: &str, d: &str) -> String {
    if x.is_empty() {
        d.to_string()
    } else {
        x.to_string()
    }
}

fn sync_policy_of(v: &Value) -> String {
    match v.pointer("/spec/syncPolicy/automated") {
        Some(a) if a.is_object() => {
            let mut p = "Auto".to_string();
            if a["prune"] == true {
                p.push_str("-Prune");
            }
            p
        }
        _ => "Manual".to_string(),
    }
}

fn conditions_of(v: &Value) -> String {
    let types: Vec<&str> = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(|c| c["type"].as_str()).collect())
        .unwrap_or_default();
    if types.is_empty() {
        "<none>".into()
    } else {
        types.join(",")
    }
}

fn age(ts: &str) -> String {
    let Ok(t) = ts.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - t.as_second()).max(0);
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        7200..172_800 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

async fn get(conn: &Conn, a: GetArgs) -> anyhow::Result<i32> {
    let mut app = conn.get_app(&a.name).await?;
    if a.refresh || a.hard_refresh {
        app = refresh(conn, &a.name, a.hard_refresh, a.timeout).await?;
    }
    if !matches!(a.output, Format::Table | Format::Wide) {
        print_objects(a.output, &[app], true);
        return Ok(EXIT_OK);
    }
    out(&summary(&app, &conn.namespace));
    Ok(EXIT_OK)
}

/// Sets the refresh annotation and waits for the controller to serve it.
async fn refresh(conn: &Conn, name: &str, hard: bool, timeout: u64) -> anyhow::Result<Value> {
    let kind = if hard { "hard" } else { "normal" };
    conn.patch_app(
        name,
        json!({"metadata": {"annotations": {REFRESH_ANNOTATION: kind}}}),
    )
    .await?;
    let done = watch_until(conn, name, timeout, |app| {
        app.pointer(&format!(
            "/metadata/annotations/{}",
            REFRESH_ANNOTATION.replace('/', "~1")
        ))
        .is_none()
    })
    .await;
    match done {
        Ok(v) => Ok(v),
        Err(WaitError::Timeout(_)) => bail!(
            "timed out after {timeout}s waiting for the controller to refresh application {name:?} (is a controller running?)"
        ),
        Err(WaitError::Other(e)) => Err(e),
    }
}

fn summary(app: &Value, namespace: &str) -> String {
    let mut o = String::new();
    let field =
        |o: &mut String, k: &str, v: &str| o.push_str(&format!("{:<20}{v}\n", format!("{k}:")));
    field(
        &mut o,
        "Name",
        &format!("{namespace}/{}", s(app, "/metadata/name")),
    );
    field(&mut o, "Project", project_of(app));
    field(&mut o, "Server", s(app, "/spec/destination/server"));
    if !s(app, "/spec/destination/name").is_empty() {
        field(&mut o, "Cluster", s(app, "/spec/destination/name"));
    }
    field(&mut o, "Namespace", s(app, "/spec/destination/namespace"));
    field(&mut o, "Repo", s(app, "/spec/source/repoURL"));
    field(
        &mut o,
        "Target",
        &or_default(s(app, "/spec/source/targetRevision"), "HEAD"),
    );
    field(&mut o, "Path", s(app, "/spec/source/path"));
    let policy = match app.pointer("/spec/syncPolicy/automated") {
        Some(a) if a.is_object() => {
            let mut extras = Vec::new();
            if a["prune"] == true {
                extras.push("Prune");
            }
            if a["selfHeal"] == true {
                extras.push("SelfHeal");
            }
            if extras.is_empty() {
                "Automated".to_string()
            } else {
                format!("Automated ({})", extras.join(", "))
            }
        }
        _ => "Manual".to_string(),
    };
    field(&mut o, "Sync Policy", &policy);
    let sync = or_unknown(s(app, "/status/sync/status"));
    let rev = s(app, "/status/sync/revision");
    let target = or_default(s(app, "/spec/source/targetRevision"), "HEAD");
    let sync_line = if rev.is_empty() {
        paint(&sync)
    } else {
        format!(
            "{} {} {target} ({})",
            paint(&sync),
            if sync == "Synced" { "to" } else { "from" },
            short_sha(rev)
        )
    };
    field(&mut o, "Sync Status", &sync_line);
    let health = or_unknown(s(app, "/status/health/status"));
    let hmsg = s(app, "/status/health/message");
    field(
        &mut o,
        "Health Status",
        &if hmsg.is_empty() {
            paint(&health)
        } else {
            format!("{} ({hmsg})", paint(&health))
        },
    );
    if let Some(op) = app
        .pointer("/status/operationState")
        .filter(|v| v.is_object())
    {
        o.push('\n');
        field(&mut o, "Operation", "Sync");
        field(&mut o, "Sync Revision", s(op, "/syncRevision"));
        field(&mut o, "Phase", &paint(s(op, "/phase")));
        field(&mut o, "Start", s(op, "/startedAt"));
        field(&mut o, "Finished", s(op, "/finishedAt"));
        field(&mut o, "Message", s(op, "/message"));
    }
    let conditions = app
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !conditions.is_empty() {
        o.push('\n');
        let mut t = Table::new(&["CONDITION", "MESSAGE", "LAST TRANSITION"]);
        for c in &conditions {
            t.row(vec![
                s(c, "/type").to_string(),
                s(c, "/message").to_string(),
                s(c, "/lastTransitionTime").to_string(),
            ]);
        }
        o.push_str(&t.render());
    }
    let resources = app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    o.push('\n');
    let mut t = Table::new(&["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH"])
        .status_columns(&["STATUS", "HEALTH"]);
    for r in &resources {
        t.row(vec![
            s(r, "/group").to_string(),
            s(r, "/kind").to_string(),
            s(r, "/namespace").to_string(),
            s(r, "/name").to_string(),
            s(r, "/status").to_string(),
            s(r, "/health/status").to_string(),
        ]);
    }
    o.push_str(&t.render());
    o
}

/// Why a watch ended without its condition.
enum WaitError {
    /// The time ran out; the last state seen.
    Timeout(Option<Value>),
    /// The application vanished or the API failed.
    Other(anyhow::Error),
}

/// Watches one application until `done` holds for it (checked on the
/// current state first). `timeout` 0 waits without limit.
async fn watch_until(
    conn: &Conn,
    name: &str,
    timeout: u64,
    mut done: impl FnMut(&Value) -> bool,
) -> Result<Value, WaitError> {
    let mut last: Option<Value> = None;
    let fut = async {
        let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut stream = std::pin::pin!(watcher(conn.apps(), cfg));
        let mut seen_any = false;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                    seen_any = true;
                    let v = serde_json::to_value(obj).unwrap_or(Value::Null);
                    last = Some(v.clone());
                    if done(&v) {
                        return Ok(v);
                    }
                }
                Ok(watcher::Event::InitDone) if !seen_any => {
                    return Err(WaitError::Other(
                        NotFound {
                            kind: "application",
                            name: name.to_string(),
                            namespace: conn.namespace.clone(),
                        }
                        .into(),
                    ));
                }
                Ok(watcher::Event::Delete(_)) => {
                    return Err(WaitError::Other(anyhow::anyhow!(
                        "application {name:?} was deleted"
                    )));
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(WaitError::Other(anyhow::anyhow!(
                        "watching application {name:?}: {e}"
                    )));
                }
            }
        }
        Err(WaitError::Other(anyhow::anyhow!(
            "watch of application {name:?} ended"
        )))
    };
    if timeout == 0 {
        return fut.await;
    }
    match tokio::time::timeout(Duration::from_secs(timeout), fut).await {
        Ok(r) => r,
        Err(_) => Err(WaitError::Timeout(last)),
    }
}

fn progress_line(app: &Value) -> String {
    format!(
        "sync {}, health {}, operation {}",
        or_unknown(s(app, "/status/sync/status")),
        or_unknown(s(app, "/status/health/status")),
        if app.get("operation").is_some_and(|o| !o.is_null()) {
            "pending".to_string()
        } else {
            or_default(s(app, "/status/operationState/phase"), "none")
        }
    )
}

async fn wait(conn: &Conn, a: WaitArgs) -> anyhow::Result<i32> {
    let all = !(a.health || a.sync || a.operation);
    let (health, sync, operation) = (a.health || all, a.sync || all, a.operation || all);
    let tty = std::io::stderr().is_terminal();
    let mut shown = String::new();
    let r = watch_until(conn, &a.name, a.timeout, |app| {
        if tty {
            let line = progress_line(app);
            if line != shown {
                eprintln!("{}: {line}", a.name);
                shown = line;
            }
        }
        (!health || s(app, "/status/health/status") == "Healthy")
            && (!sync || s(app, "/status/sync/status") == "Synced")
            && (!operation || operation_idle(app))
    })
    .await;
    match r {
        Ok(app) => {
            out(&format!(
                "application '{}': {}\n",
                a.name,
                progress_line(&app)
            ));
            Ok(EXIT_OK)
        }
        Err(WaitError::Timeout(last)) => {
            let mut wanted = Vec::new();
            if health {
                wanted.push("health Healthy");
            }
            if sync {
                wanted.push("sync Synced");
            }
            if operation {
                wanted.push("no operation");
            }
            eprintln!(
                "Error: timed out after {}s waiting for application {:?} to reach {}; last seen: {}",
                a.timeout,
                a.name,
                wanted.join(", "),
                last.as_ref()
                    .map(progress_line)
                    .unwrap_or_else(|| "nothing".into())
            );
            Ok(EXIT_FAILURE)
        }
        Err(WaitError::Other(e)) => Err(e),
    }
}

fn operation_idle(app: &Value) -> bool {
    app.get("operation").is_none_or(Value::is_null)
        && s(app, "/status/operationState/phase") != "Running"
}

fn parse_resource(spec: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = spec.splitn(3, ':').collect();
    let [group, kind, rest] = parts[..] else {
        bail!("--resource {spec:?}: expected GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME");
    };
    if kind.is_empty() || rest.is_empty() {
        bail!("--resource {spec:?}: expected GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME");
    }
    let (namespace, name) = rest.split_once('/').unwrap_or(("", rest));
    let mut r = json!({"group": group, "kind": kind, "name": name});
    if !namespace.is_empty() {
        r["namespace"] = Value::String(namespace.to_string());
    }
    Ok(r)
}

async fn sync(conn: &Conn, a: SyncArgs) -> anyhow::Result<i32> {
    let app = conn.get_app(&a.name).await?;
    let mut op = json!({"prune": a.prune});
    if let Some(r) = &a.revision {
        op["revision"] = Value::String(r.clone());
    }
    if a.dry_run {
        op["dryRun"] = Value::Bool(true);
    }
    if !a.resources.is_empty() {
        op["resources"] = Value::Array(
            a.resources
                .iter()
                .map(|r| parse_resource(r))
                .collect::<anyhow::Result<_>>()?,
        );
    }
    run_operation(conn, &a.name, &app, op, a.async_, a.timeout).await
}

/// Writes a sync operation and, unless `async_`, follows it to the end.
async fn run_operation(
    conn: &Conn,
    name: &str,
    app: &Value,
    sync: Value,
    async_: bool,
    timeout: u64,
) -> anyhow::Result<i32> {
    if app.get("operation").is_some_and(|o| !o.is_null()) {
        bail!("another operation is already in progress on application {name:?}");
    }
    let started = jiff::Timestamp::now().as_second();
    let dry_run = sync["dryRun"] == true;
    conn.patch_app(
        name,
        json!({"operation": {"sync": sync, "initiatedBy": {"username": "kedge-cli"}}}),
    )
    .await?;
    if async_ {
        out(&format!("application '{name}': sync requested\n"));
        return Ok(EXIT_OK);
    }
    let tty = std::io::stderr().is_terminal();
    let deadline = (timeout > 0).then(|| std::time::Instant::now() + Duration::from_secs(timeout));
    let remaining = || {
        deadline.map_or(0, |d| {
            d.saturating_duration_since(std::time::Instant::now())
                .as_secs()
                .max(1)
        })
    };
    let timed_out = || {
        eprintln!("Error: timed out after {timeout}s waiting for the sync of application {name:?}");
        Ok(EXIT_FAILURE)
    };
    // Phase 1: the controller takes the operation (and clears the field).
    let mut shown = String::new();
    let cleared = watch_until(conn, name, remaining(), |v| {
        if tty {
            let line = progress_line(v);
            if line != shown {
                eprintln!("{name}: {line}");
                shown = line;
            }
        }
        v.get("operation").is_none_or(Value::is_null)
    })
    .await;
    let cleared = match cleared {
        Ok(v) => v,
        Err(WaitError::Timeout(_)) => return timed_out(),
        Err(WaitError::Other(e)) => return Err(e),
    };
    // Phase 2: the status write that follows the clear. A sync that ran
    // leaves an operation state started after the request; a reconcile that
    // changed nothing (a blocked comparison seen before, a dry run) writes
    // no status, so a short quiet period means the status stands.
    let fresh = |v: &Value| {
        ts(s(v, "/status/operationState/startedAt")) >= started
            && !s(v, "/status/operationState/finishedAt").is_empty()
    };
    let app = if !dry_run && fresh(&cleared) {
        cleared
    } else {
        let before = cleared.get("status").cloned().unwrap_or(Value::Null);
        let quiet = if deadline.is_some() {
            remaining().min(10)
        } else {
            10
        };
        match watch_until(conn, name, quiet, |v| {
            v.get("status").cloned().unwrap_or(Value::Null) != before
        })
        .await
        {
            Ok(v) => v,
            Err(WaitError::Timeout(last)) => last.unwrap_or(cleared),
            Err(WaitError::Other(e)) => return Err(e),
        }
    };
    let failed_condition = blocking_condition(&app);
    let op_phase = s(&app, "/status/operationState/phase");
    let op_fresh = ts(s(&app, "/status/operationState/startedAt")) >= started;
    out(&summary(&app, &conn.namespace));
    if let Some(c) = failed_condition {
        eprintln!(
            "Error: sync of application {name:?} failed: {}: {}",
            s(&c, "/type"),
            s(&c, "/message")
        );
        return Ok(EXIT_FAILURE);
    }
    if !dry_run && op_fresh && op_phase != "Succeeded" {
        eprintln!(
            "Error: sync of application {name:?} {op_phase}: {}",
            s(&app, "/status/operationState/message")
        );
        return Ok(EXIT_FAILURE);
    }
    Ok(EXIT_OK)
}

/// A condition that stops comparison and sync (the controller's
/// `ComparisonError` or `InvalidSpecError`).
fn blocking_condition(app: &Value) -> Option<Value> {
    app.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| {
                    matches!(
                        c["type"].as_str(),
                        Some("ComparisonError" | "InvalidSpecError")
                    )
                })
                .cloned()
        })
}

fn ts(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .unwrap_or(i64::MIN)
}

async fn history(conn: &Conn, a: NameArg) -> anyhow::Result<i32> {
    let app = conn.get_app(&a.name).await?;
    let entries = app
        .pointer("/status/history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !matches!(a.output, Format::Table | Format::Wide) {
        let v = Value::Array(entries);
        match a.output {
            Format::Json => out(&format!("{}\n", serde_json::to_string_pretty(&v)?)),
            _ => out(&kedge_yaml::emit(&v)),
        }
        return Ok(EXIT_OK);
    }
    let mut t = Table::new(&["ID", "DATE", "REVISION", "PATH"]);
    for e in &entries {
        t.row(vec![
            e["id"].as_i64().map(|i| i.to_string()).unwrap_or_default(),
            s(e, "/deployedAt").to_string(),
            format!(
                "{} ({})",
                or_default(s(e, "/source/targetRevision"), "HEAD"),
                short_sha(s(e, "/revision"))
            ),
            s(e, "/source/path").to_string(),
        ]);
    }
    out(&t.render());
    Ok(EXIT_OK)
}

async fn rollback(conn: &Conn, a: RollbackArgs) -> anyhow::Result<i32> {
    let app = conn.get_app(&a.name).await?;
    if app
        .pointer("/spec/syncPolicy/automated")
        .is_some_and(Value::is_object)
    {
        bail!(
            "rollback of application {:?} refused: automated sync is enabled (disable it with `kedge app set {} --sync-policy none`)",
            a.name,
            a.name
        );
    }
    let entries = app
        .pointer("/status/history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let entry = match a.id {
        Some(id) => entries
            .iter()
            .find(|e| e["id"].as_i64() == Some(id))
            .with_context(|| format!("application {:?} has no history entry {id}", a.name))?,
        None => {
            if entries.len() < 2 {
                bail!(
                    "application {:?} has no previous deployment to roll back to",
                    a.name
                );
            }
            &entries[entries.len() - 2]
        }
    };
    let revision = s(entry, "/revision").to_string();
    if revision.is_empty() {
        bail!("history entry of application {:?} has no revision", a.name);
    }
    let op = json!({"revision": revision, "prune": a.prune});
    run_operation(conn, &a.name, &app, op, a.async_, a.timeout).await
}

async fn delete(conn: &Conn, a: DeleteArgs) -> anyhow::Result<i32> {
    for name in &a.names {
        let app = conn.get_app(name).await?;
        if !a.yes && std::io::stdin().is_terminal() {
            let what = if a.cascade {
                " and all its resources"
            } else {
                ""
            };
            eprint!("Delete application '{name}'{what}? [y/n] ");
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                eprintln!("application '{name}' not deleted");
                continue;
            }
        }
        let mut fins: Vec<String> = app["metadata"]["finalizers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        fins.retain(|f| {
            f != RESOURCES_FINALIZER && !f.starts_with(&format!("{RESOURCES_FINALIZER}/"))
        });
        if a.cascade {
            fins.push(if a.propagation_policy == "background" {
                format!("{RESOURCES_FINALIZER}/background")
            } else {
                RESOURCES_FINALIZER.to_string()
            });
        }
        conn.patch_app(name, json!({"metadata": {"finalizers": fins}}))
            .await?;
        // The finalizer carries the propagation policy to the controller.
        match conn.apps().delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(api_error(e, "application", name, &conn.namespace)),
        }
        if a.wait {
            let r = kube::runtime::wait::await_condition(
                conn.apps(),
                name,
                kube::runtime::wait::conditions::is_deleted(
                    app["metadata"]["uid"].as_str().unwrap_or(""),
                ),
            )
            .await;
            r.with_context(|| format!("waiting for application {name:?} to be deleted"))?;
        }
        out(&format!("application '{name}' deleted\n"));
    }
    Ok(EXIT_OK)
}

async fn set(conn: &Conn, a: SetArgs) -> anyhow::Result<i32> {
    // Retry on a conflicting concurrent write (the controller writes status).
    for attempt in 0..5 {
        let mut app = conn.get_app(&a.name).await?;
        a.spec.apply(&mut app)?;
        validate_spec(&app)?;
        match replace_json(&conn.apps(), &a.name, &app).await {
            Ok(_) => {
                out(&format!("application '{}' updated\n", a.name));
                return Ok(EXIT_OK);
            }
            Err(kube::Error::Api(st)) if st.code == 409 && attempt < 4 => continue,
            Err(e) => return Err(api_error(e, "application", &a.name, &conn.namespace)),
        }
    }
    bail!("application {:?}: too many conflicting updates", a.name)
}

async fn diff(conn: &Conn, a: DiffArgs) -> anyhow::Result<i32> {
    let app = conn.get_app(&a.name).await?;
    let diffs = super::appdiff::compute(conn, &app, a.revision.as_deref()).await?;
    let mut different = false;
    for d in diffs
        .iter()
        .filter(|d| d.modified || d.missing || d.extraneous)
    {
        different = true;
        let k = &d.key;
        let what = if d.missing {
            " (missing from the cluster)"
        } else if d.extraneous {
            " (no longer in Git)"
        } else {
            ""
        };
        out(&format!(
            "===== {}/{} {}/{} ======{what}\n",
            k.group, k.kind, k.namespace, k.name
        ));
        out(&d.unified);
        if !d.unified.ends_with('\n') && !d.unified.is_empty() {
            out("\n");
        }
    }
    Ok(if different { EXIT_DIFFERENT } else { EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_of_overrides() {
        assert_eq!(image_name("nginx=nginx:1.27"), "nginx");
        assert_eq!(image_name("nginx:1.27"), "nginx");
        assert_eq!(
            image_name("registry:5000/team/app:v1"),
            "registry:5000/team/app"
        );
        assert_eq!(
            image_name("registry:5000/team/app"),
            "registry:5000/team/app"
        );
        assert_eq!(image_name("app@sha256:abc"), "app");
    }

    #[test]
    fn resources_parse_like_argocd() {
        assert_eq!(
            parse_resource("apps:Deployment:web").unwrap(),
            json!({"group": "apps", "kind": "Deployment", "name": "web"})
        );
        assert_eq!(
            parse_resource(":ConfigMap:ns1/a").unwrap(),
            json!({"group": "", "kind": "ConfigMap", "name": "a", "namespace": "ns1"})
        );
        assert!(parse_resource("Deployment:web").is_err());
        assert!(parse_resource("apps::web").is_err());
    }

    #[test]
    fn spec_flags_change_only_what_is_given() {
        let mut app = json!({"spec": {
            "source": {"repoURL": "r", "path": "p", "kustomize": {"images": ["nginx=nginx:1"]}},
            "destination": {"name": "c", "namespace": "n"},
            "syncPolicy": {"automated": {"prune": true}, "syncOptions": ["A=1", "B=2"]},
        }});
        let flags = SpecFlags {
            dest_server: Some("https://s".into()),
            self_heal: Some(true),
            auto_prune: Some(false),
            sync_options: vec!["A=3".into()],
            kustomize_images: vec!["nginx=nginx:2".into(), "redis:7".into()],
            ..Default::default()
        };
        flags.apply(&mut app).unwrap();
        assert_eq!(
            app["spec"],
            json!({
                "source": {"repoURL": "r", "path": "p",
                           "kustomize": {"images": ["nginx=nginx:2", "redis:7"]}},
                "destination": {"namespace": "n", "server": "https://s"},
                "syncPolicy": {"automated": {"selfHeal": true}, "syncOptions": ["B=2", "A=3"]},
            })
        );
        let off = SpecFlags {
            sync_policy: Some("none".into()),
            ..Default::default()
        };
        off.apply(&mut app).unwrap();
        assert!(app.pointer("/spec/syncPolicy/automated").is_none());
        let bad = SpecFlags {
            sync_policy: Some("sometimes".into()),
            ..Default::default()
        };
        assert!(bad.apply(&mut app).is_err());
    }
}
