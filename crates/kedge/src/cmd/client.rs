//! The connection every cluster-facing command shares: kubeconfig, context
//! and namespace flags, the client built from them, and typed access to
//! Applications, AppProjects and Secrets.
//!
//! Like `argocd --core`, the CLI talks to the Kubernetes API directly: the
//! Application and AppProject resources are the API, and the controller
//! does the work. The flags are `global`, so they may be written before or
//! after a subcommand (`kedge app -n team list` = `kedge app list -n team`).
//! Without `--kubeconfig` the usual rules apply (`KUBECONFIG`,
//! `~/.kube/config`, then the in-cluster service account).
//!
//! Errors that scripts match on are typed: [`NotFound`] for a missing
//! object (exit code 1 with kubectl's wording), everything else is an
//! `anyhow` chain naming the object.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context as _;
use kedge_controller::{application_resource, appproject_resource};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::Value;

/// Connection flags of every cluster-facing command.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ClientArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) context: Option<String>,
    /// Namespace of Kedge's applications, projects and secrets.
    #[arg(
        short = 'n',
        long,
        global = true,
        env = "KEDGE_NAMESPACE",
        default_value = kedge_controller::types::DEFAULT_NAMESPACE
    )]
    pub(crate) namespace: String,
}

/// A missing object, printed the way kubectl does.
#[derive(Debug)]
pub(crate) struct NotFound {
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) namespace: String,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} not found in namespace {:?}",
            self.kind, self.name, self.namespace
        )
    }
}

impl std::error::Error for NotFound {}

/// A single-threaded runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A connected client plus the namespace the command works in.
#[derive(Clone)]
pub(crate) struct Conn {
    pub(crate) client: kube::Client,
    pub(crate) namespace: String,
}

impl ClientArgs {
    /// Builds the client from the flags.
    pub(crate) async fn connect(&self) -> anyhow::Result<Conn> {
        let options = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .with_context(|| format!("reading kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .with_context(|| format!("loading kubeconfig {}", path.display()))?
            }
            None if self.context.is_some() => kube::Config::from_kubeconfig(&options)
                .await
                .context("loading the kubeconfig")?,
            None => kube::Config::infer()
                .await
                .context("finding a kubeconfig (set --kubeconfig or KUBECONFIG)")?,
        };
        let client = kube::Client::try_from(config).context("building the Kubernetes client")?;
        Ok(Conn {
            client,
            namespace: self.namespace.clone(),
        })
    }
}

impl Conn {
    /// Applications of the namespace.
    pub(crate) fn apps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &application_resource(),
        )
    }

    /// AppProjects of the namespace.
    pub(crate) fn projects(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &appproject_resource())
    }

    /// Secrets of the namespace.
    pub(crate) fn secrets(&self) -> Api<k8s_openapi::api::core::v1::Secret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn not_found(&self, kind: &'static str, name: &str) -> anyhow::Error {
        NotFound {
            kind,
            name: name.to_string(),
            namespace: self.namespace.clone(),
        }
        .into()
    }

    /// An Application as JSON, or [`NotFound`].
    pub(crate) async fn get_app(&self, name: &str) -> anyhow::Result<Value> {
        get_json(&self.apps(), name)
            .await
            .map_err(|e| api_error(e, "application", name, &self.namespace))?
            .ok_or_else(|| self.not_found("application", name))
    }

    /// An AppProject as JSON, or [`NotFound`].
    pub(crate) async fn get_project(&self, name: &str) -> anyhow::Result<Value> {
        get_json(&self.projects(), name)
            .await
            .map_err(|e| api_error(e, "project", name, &self.namespace))?
            .ok_or_else(|| self.not_found("project", name))
    }

    /// A merge patch of an Application.
    pub(crate) async fn patch_app(&self, name: &str, patch: Value) -> anyhow::Result<Value> {
        match self
            .apps()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(obj) => Ok(serde_json::to_value(obj)?),
            Err(kube::Error::Api(s)) if s.code == 404 => Err(self.not_found("application", name)),
            Err(e) => Err(api_error(e, "application", name, &self.namespace)),
        }
    }
}

async fn get_json(api: &Api<DynamicObject>, name: &str) -> Result<Option<Value>, kube::Error> {
    Ok(api
        .get_opt(name)
        .await?
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
}

/// An API error with the object it is about, the server's message first.
pub(crate) fn api_error(e: kube::Error, kind: &str, name: &str, namespace: &str) -> anyhow::Error {
    let message = match &e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    };
    // `*` stands for a list call.
    let subject = if name == "*" {
        format!("listing {kind} in namespace {namespace:?}")
    } else {
        format!("{kind} {name:?} in namespace {namespace:?}")
    };
    if is_missing_crd(&e) {
        return anyhow::anyhow!(
            "{subject}: the server does not know Kedge's resources; install them with `kedge install | kubectl apply -f -`"
        );
    }
    anyhow::anyhow!("{subject}: {message}")
}

fn is_missing_crd(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404 && s.message.contains("the server could not find the requested resource"))
}

/// Creates an object (given as JSON) through `api`.
pub(crate) async fn create_json(
    api: &Api<DynamicObject>,
    obj: &Value,
) -> Result<Value, kube::Error> {
    let dynamic: DynamicObject =
        serde_json::from_value(obj.clone()).map_err(kube::Error::SerdeError)?;
    let created = api.create(&PostParams::default(), &dynamic).await?;
    Ok(serde_json::to_value(created).unwrap_or(Value::Null))
}

/// Replaces an object (given as JSON, with `metadata.resourceVersion`).
pub(crate) async fn replace_json(
    api: &Api<DynamicObject>,
    name: &str,
    obj: &Value,
) -> Result<Value, kube::Error> {
    let dynamic: DynamicObject =
        serde_json::from_value(obj.clone()).map_err(kube::Error::SerdeError)?;
    let replaced = api.replace(name, &PostParams::default(), &dynamic).await?;
    Ok(serde_json::to_value(replaced).unwrap_or(Value::Null))
}
