//! Installing Kedge into the embedded control plane and registering the
//! example Application.
//!
//! Everything here is idempotent so `kedge up` can run again on the same
//! data: the CRDs are server-side applied (a newer binary updates their
//! schema), while the `kedge` namespace, the `default` AppProject and the
//! example Application are only created when absent, so changes made to them
//! with kubectl or the CLI are kept across restarts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kedge_controller::{application_resource, appproject_resource};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::{Value, json};

/// Field manager of the CRDs `kedge up` applies.
const MANAGER: &str = "kedge-up";

/// A client for the kubeconfig the control plane wrote.
pub(crate) async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading {}", kubeconfig.display()))?;
    kube::Client::try_from(cfg).context("building the Kubernetes client")
}

/// Installs the CRDs, the namespace and the `default` AppProject.
pub(crate) async fn install(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
    let namespaces: Api<DynamicObject> = Api::all_with(client.clone(), &namespace_resource());
    create_if_absent(
        &namespaces,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
    )
    .await?;
    let crds: Api<DynamicObject> = Api::all_with(client.clone(), &crd_resource());
    for crd in [
        kedge_controller::crd::application_crd(),
        kedge_controller::crd::appproject_crd(),
    ] {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        crds.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("applying CustomResourceDefinition {name}"))?;
    }
    wait_served(client, namespace, &application_resource()).await?;
    wait_served(client, namespace, &appproject_resource()).await?;
    let projects: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &appproject_resource());
    create_if_absent(
        &projects,
        &kedge_controller::crd::default_project(namespace),
    )
    .await?;
    Ok(())
}

/// The example Application: automated sync with prune and self-heal, its
/// namespace created on demand.
pub(crate) fn example_application(
    name: &str,
    namespace: &str,
    repo_url: &str,
    path: &str,
    destination: &str,
) -> Value {
    json!({
        "apiVersion": kedge_controller::types::API_VERSION,
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    })
}

/// Creates `app` unless an Application of that name exists; true when created.
pub(crate) async fn register(
    client: &kube::Client,
    namespace: &str,
    app: &Value,
) -> anyhow::Result<bool> {
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &application_resource());
    create_if_absent(&apps, app).await
}

async fn create_if_absent(api: &Api<DynamicObject>, obj: &Value) -> anyhow::Result<bool> {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if api
        .get_opt(name)
        .await
        .with_context(|| format!("reading {kind} {name}"))?
        .is_some()
    {
        return Ok(false);
    }
    let typed: DynamicObject =
        serde_json::from_value(obj.clone()).with_context(|| format!("building {kind} {name}"))?;
    match api.create(&PostParams::default(), &typed).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e).with_context(|| format!("creating {kind} {name}")),
    }
}

/// Waits until a just-applied CRD's resource is served (the catalog is
/// rebuilt asynchronously after a CRD write).
async fn wait_served(
    client: &kube::Client,
    namespace: &str,
    resource: &ApiResource,
) -> anyhow::Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match api.list(&ListParams::default().limit(1)).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                bail!("{} never became available: {e}", resource.plural)
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn namespace_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Namespace"), "namespaces")
}

fn crd_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    )
}
