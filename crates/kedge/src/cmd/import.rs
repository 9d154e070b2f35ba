//! `kedge import`: converts Argo CD Applications and AppProjects
//! (`argoproj.io/v1alpha1`, multi-document YAML, JSON or `List`s) to
//! Kedge's (`kedge.dev/v1alpha1`) and prints them, or creates them with
//! `--apply`.
//!
//! The conversion is kedge-controller's `from_argocd` (apiVersion, the
//! resources finalizer, the `argocd` namespace becoming `kedge`), plus the
//! clean-up `kubectl get -o yaml` output needs before it can be created
//! again: server-set metadata, `status` and a pending `operation` are
//! dropped. Other kinds are skipped with a note on stderr, so a whole
//! `argocd` namespace dump can be piped in.

use anyhow::bail;
use kedge_controller::types::{API_VERSION, from_argocd};
use serde_json::Value;

use super::client::{ClientArgs, Conn, api_error, create_json, replace_json, runtime};
use super::output::{EXIT_CODES_HELP, Format, out, print_objects, read_manifests, s};

#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub(crate) struct Args {
    #[command(flatten)]
    conn: ClientArgs,
    /// Manifest file, or `-` for standard input.
    file: String,
    /// Output format of the converted manifests (yaml or json).
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    output: Format,
    /// Create (or update) the converted objects in the cluster instead of printing them.
    #[arg(long)]
    apply: bool,
}

/// Converts one document; `None` for kinds that are not imported.
fn convert(doc: Value) -> Option<Value> {
    let mut v = from_argocd(doc);
    let kind = s(&v, "/kind").to_string();
    if s(&v, "/apiVersion") != API_VERSION || !matches!(kind.as_str(), "Application" | "AppProject")
    {
        return None;
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
        m.remove("operation");
    }
    if let Some(meta) = v["metadata"].as_object_mut() {
        for k in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(k);
        }
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    Some(v)
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut converted = Vec::new();
    for doc in read_manifests(&args.file)? {
        let label = format!(
            "{} {} {}",
            s(&doc, "/apiVersion"),
            s(&doc, "/kind"),
            s(&doc, "/metadata/name")
        );
        match convert(doc) {
            Some(v) => converted.push(v),
            None => eprintln!("skipping {label}: not an Argo CD Application or AppProject"),
        }
    }
    if converted.is_empty() {
        bail!("{}: no Application or AppProject to import", args.file);
    }
    if !args.apply {
        let format = match args.output {
            Format::Json => Format::Json,
            Format::Yaml | Format::Table | Format::Wide | Format::Name => Format::Yaml,
        };
        print_objects(format, &converted, true);
        return Ok(());
    }
    runtime()?.block_on(async move {
        let conn = args.conn.connect().await?;
        // Projects first: applications refer to them.
        converted.sort_by_key(|v| s(v, "/kind") != "AppProject");
        for v in converted {
            apply(&conn, v).await?;
        }
        Ok(())
    })
}

async fn apply(conn: &Conn, mut v: Value) -> anyhow::Result<()> {
    if s(&v, "/metadata/namespace").is_empty() {
        v["metadata"]["namespace"] = Value::String(conn.namespace.clone());
    }
    let ns = s(&v, "/metadata/namespace").to_string();
    let name = s(&v, "/metadata/name").to_string();
    let (api, what) = if s(&v, "/kind") == "AppProject" {
        (
            kube::api::Api::namespaced_with(
                conn.client.clone(),
                &ns,
                &kedge_controller::appproject_resource(),
            ),
            "project",
        )
    } else {
        (
            kube::api::Api::namespaced_with(
                conn.client.clone(),
                &ns,
                &kedge_controller::application_resource(),
            ),
            "application",
        )
    };
    match create_json(&api, &v).await {
        Ok(_) => out(&format!("{what} '{name}' created\n")),
        Err(kube::Error::Api(st)) if st.code == 409 => {
            let existing = api
                .get(&name)
                .await
                .map_err(|e| api_error(e, what, &name, &ns))?;
            let mut existing = serde_json::to_value(existing)?;
            existing["spec"] = v["spec"].clone();
            for field in ["labels", "annotations", "finalizers"] {
                if let Some(x) = v["metadata"].get(field) {
                    existing["metadata"][field] = x.clone();
                }
            }
            replace_json(&api, &name, &existing)
                .await
                .map_err(|e| api_error(e, what, &name, &ns))?;
            out(&format!("{what} '{name}' configured\n"));
        }
        Err(e) => return Err(api_error(e, what, &name, &ns)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_argocd_and_drops_server_fields() {
        let v = convert(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "a", "namespace": "argocd", "uid": "u", "resourceVersion": "5",
                         "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
            "spec": {"project": "default"},
            "status": {"sync": {"status": "Synced"}},
            "operation": {"sync": {}},
        }))
        .unwrap();
        assert_eq!(
            v,
            json!({
                "apiVersion": "kedge.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": "a", "namespace": "kedge",
                             "finalizers": ["resources-finalizer.kedge.dev"]},
                "spec": {"project": "default"},
            })
        );
        assert!(
            convert(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}))
                .is_none()
        );
        assert!(convert(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "x"}})).is_none());
    }
}
