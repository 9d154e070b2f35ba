//! The comparison behind `kedge app diff`: the controller's pipeline run
//! from the CLI, read-only.
//!
//! The source is fetched into a per-user Git cache (`$XDG_CACHE_HOME/kedge`
//! or `~/.cache/kedge`) with the credentials of the repository Secrets,
//! rendered with kedge-controller's renderer, namespaced like the
//! controller does (namespaced kinds without a namespace get the
//! destination's), and compared with kedge-sync's server-side dry-run diff
//! against the destination cluster (the local one, or a registered cluster
//! Secret matching `spec.destination`). Nothing is written to any cluster.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use kedge_controller::types::Application;
use kedge_controller::{render, secrets};
use kedge_git::{CacheConfig, GitCache, RepoUrl};
use kedge_sync::{Engine, ResourceDiff, SyncOptions, SyncRequest};
use kube::core::GroupVersionKind;
use serde_json::Value;

use super::client::Conn;

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kedge").join("git")
}

/// The destination client: the local cluster, or a registered one.
async fn destination(conn: &Conn, app: &Application) -> anyhow::Result<kube::Client> {
    let d = &app.spec.destination;
    if d.server == secrets::IN_CLUSTER_SERVER || (d.server.is_empty() && d.name == "in-cluster") {
        return Ok(conn.client.clone());
    }
    let clusters = secrets::list_clusters(&conn.client, &conn.namespace)
        .await
        .unwrap_or_default();
    let found = clusters.iter().find(|c| {
        (!d.server.is_empty() && c.server.trim_end_matches('/') == d.server.trim_end_matches('/'))
            || (d.server.is_empty() && !d.name.is_empty() && c.name == d.name)
    });
    match found {
        Some(c) => Ok(secrets::cluster_client(c)?),
        // Like the controller: an unregistered destination is the local cluster.
        None => Ok(conn.client.clone()),
    }
}

/// Renders the application's source at `revision` (default: its target)
/// and diffs it against the destination.
pub(crate) async fn compute(
    conn: &Conn,
    app: &Value,
    revision: Option<&str>,
) -> anyhow::Result<Vec<ResourceDiff>> {
    let app: Application =
        serde_json::from_value(app.clone()).context("reading the application")?;
    let spec = &app.spec;
    let creds = match secrets::load_credentials(&conn.client, &conn.namespace).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "reading repository secrets; continuing without credentials");
            kedge_git::CredentialStore::new()
        }
    };
    let mut cc = CacheConfig::new(cache_dir());
    cc.allow_file_protocol = true;
    let cache = GitCache::new(cc, creds).context("opening the Git cache")?;
    let url = RepoUrl::parse(&spec.source.repo_url)
        .with_context(|| format!("application {:?}: spec.source.repoURL", app.name()))?;
    cache.fetch_repo(&url).await?;
    let target = revision.unwrap_or(if spec.source.target_revision.is_empty() {
        "HEAD"
    } else {
        &spec.source.target_revision
    });
    let sha = cache.resolve_revision(&url, target, None).await?;
    let checkout = cache.materialize(&url, &sha).await?;
    let source = spec.source.clone();
    let mut desired = tokio::task::spawn_blocking(move || render::render(&checkout, &source))
        .await
        .context("rendering")??;
    let client = destination(conn, &app).await?;
    let dest_ns = spec.destination.namespace.clone();
    default_namespaces(&client, &mut desired, &dest_ns).await;
    let policy = spec.sync_policy.clone().unwrap_or_default();
    let mut req = SyncRequest::new(
        app.name(),
        &format!("{}-diff", app.name()),
        &dest_ns,
        desired,
    );
    req.revision = sha;
    req.options = SyncOptions::parse(policy.sync_options.iter().map(String::as_str))?;
    req.inventory = app
        .status
        .as_ref()
        .map(|s| s.inventory.clone())
        .unwrap_or_default();
    Ok(Engine::new(client).diff(&req).await?)
}

/// Sets the destination namespace on namespaced objects without one, with
/// the controller's rule.
async fn default_namespaces(client: &kube::Client, objects: &mut [Value], namespace: &str) {
    if namespace.is_empty() {
        return;
    }
    let mut scopes = BTreeMap::new();
    for (api_version, kind) in render::unnamespaced_kinds(objects) {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let gvk = GroupVersionKind::gvk(group, version, &kind);
        let namespaced = kube::discovery::pinned_kind(client, &gvk)
            .await
            .ok()
            .map(|(_, caps)| caps.scope == kube::discovery::Scope::Namespaced);
        scopes.insert((api_version, kind), namespaced);
    }
    render::set_default_namespaces(objects, namespace, &scopes);
}
