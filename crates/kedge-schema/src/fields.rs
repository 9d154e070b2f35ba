//! Field selectors per kind: which field labels a Kubernetes 1.33 server
//! accepts in `fieldSelector` for each built-in kind, and how each label's
//! value is read from a dynamic object.
//!
//! Every kind supports `metadata.name` and `metadata.namespace` (the latter
//! reads as empty for cluster-scoped objects). Some kinds add their own
//! labels, with values computed as the server's `ToSelectableFields` does:
//! booleans and counters print as `true`/`false` and decimal integers and
//! default to `false`/`0` when absent; `status.successful` of a Job reads
//! `.status.succeeded`; an Event's `source` is `.source.component`, or
//! `.reportingComponent` when that is empty. Custom resources add the
//! `selectableFields` their CRD version declares. [`field_value`] plugs
//! straight into `kedge_core::FieldSelector::try_matches`.

use serde_json::Value;

use kedge_core::GroupVersionKind;
use kedge_core::selector::FieldNotSupported;

/// How a field label's value is derived.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A string at a dotted path; absent reads as "".
    Text(&'static str),
    /// A boolean at a dotted path; absent reads as "false".
    Bool(&'static str),
    /// An integer at a dotted path; absent reads as "0".
    Int(&'static str),
    /// The first item's `ip` of a list at a dotted path.
    FirstIp(&'static str),
    /// Event `source`: `.source.component`, else `.reportingComponent`.
    EventOrigin,
}

const POD_FIELDS: &[(&str, Source)] = &[
    ("spec.nodeName", Source::Text("spec.nodeName")),
    ("spec.restartPolicy", Source::Text("spec.restartPolicy")),
    ("spec.schedulerName", Source::Text("spec.schedulerName")),
    (
        "spec.serviceAccountName",
        Source::Text("spec.serviceAccountName"),
    ),
    ("spec.hostNetwork", Source::Bool("spec.hostNetwork")),
    ("status.phase", Source::Text("status.phase")),
    ("status.podIP", Source::FirstIp("status.podIPs")),
    (
        "status.nominatedNodeName",
        Source::Text("status.nominatedNodeName"),
    ),
];

const EVENT_FIELDS: &[(&str, Source)] = &[
    ("involvedObject.kind", Source::Text("involvedObject.kind")),
    (
        "involvedObject.namespace",
        Source::Text("involvedObject.namespace"),
    ),
    ("involvedObject.name", Source::Text("involvedObject.name")),
    ("involvedObject.uid", Source::Text("involvedObject.uid")),
    (
        "involvedObject.apiVersion",
        Source::Text("involvedObject.apiVersion"),
    ),
    (
        "involvedObject.resourceVersion",
        Source::Text("involvedObject.resourceVersion"),
    ),
    (
        "involvedObject.fieldPath",
        Source::Text("involvedObject.fieldPath"),
    ),
    ("reason", Source::Text("reason")),
    ("reportingComponent", Source::Text("reportingComponent")),
    ("source", Source::EventOrigin),
    ("type", Source::Text("type")),
];

fn kind_fields(gvk: &GroupVersionKind) -> &'static [(&'static str, Source)] {
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("", "Pod") => POD_FIELDS,
        ("", "Event") => EVENT_FIELDS,
        ("", "Namespace") => &[("status.phase", Source::Text("status.phase"))],
        ("", "Node") => &[("spec.unschedulable", Source::Bool("spec.unschedulable"))],
        ("", "Secret") => &[("type", Source::Text("type"))],
        ("", "Service") => &[
            ("spec.clusterIP", Source::Text("spec.clusterIP")),
            ("spec.type", Source::Text("spec.type")),
        ],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => {
            &[("status.replicas", Source::Int("status.replicas"))]
        }
        ("batch", "Job") => &[("status.successful", Source::Int("status.succeeded"))],
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            &[("spec.signerName", Source::Text("spec.signerName"))]
        }
        _ => &[],
    }
}

/// The field labels a built-in kind accepts in field selectors, the two
/// metadata labels first.
pub fn selectable_fields(gvk: &GroupVersionKind) -> Vec<&'static str> {
    let mut out = vec!["metadata.name", "metadata.namespace"];
    out.extend(kind_fields(gvk).iter().map(|(label, _)| *label));
    out
}

fn at_path<'a>(object: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(object, |v, key| v.as_object()?.get(key))
}

fn scalar_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The value of a field label of a built-in kind's object, or
/// [`FieldNotSupported`] for a label the kind does not accept.
pub fn field_value(
    gvk: &GroupVersionKind,
    object: &Value,
    label: &str,
) -> Result<Option<String>, FieldNotSupported> {
    match label {
        "metadata.name" => return Ok(Some(scalar_text(at_path(object, "metadata.name")))),
        "metadata.namespace" => {
            return Ok(Some(scalar_text(at_path(object, "metadata.namespace"))));
        }
        _ => {}
    }
    let (_, source) = kind_fields(gvk)
        .iter()
        .find(|(l, _)| *l == label)
        .ok_or(FieldNotSupported)?;
    Ok(Some(match *source {
        Source::Text(path) => scalar_text(at_path(object, path)),
        Source::Bool(path) => at_path(object, path)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string(),
        Source::Int(path) => at_path(object, path)
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string(),
        Source::FirstIp(path) => at_path(object, path)
            .and_then(Value::as_array)
            .and_then(|ips| ips.first())
            .map(|ip| scalar_text(ip.get("ip")))
            .unwrap_or_default(),
        Source::EventOrigin => {
            let component = scalar_text(at_path(object, "source.component"));
            if component.is_empty() {
                scalar_text(at_path(object, "reportingComponent"))
            } else {
                component
            }
        }
    }))
}

/// The field labels a CRD version declares in `selectableFields`
/// (`jsonPath: .spec.color` → `spec.color`).
pub fn crd_selectable_fields(crd: &Value, version: &str) -> Vec<String> {
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["name"].as_str() == Some(version))
        .flat_map(|v| {
            v["selectableFields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|f| {
            f["jsonPath"]
                .as_str()
                .map(|p| p.trim_start_matches('.').to_string())
        })
        .collect()
}

/// The value of a field label of a custom resource: `metadata.name`,
/// `metadata.namespace` or one of the CRD version's `selectableFields`.
pub fn custom_resource_field_value(
    crd: &Value,
    version: &str,
    object: &Value,
    label: &str,
) -> Result<Option<String>, FieldNotSupported> {
    if matches!(label, "metadata.name" | "metadata.namespace") {
        return Ok(Some(scalar_text(at_path(object, label))));
    }
    if crd_selectable_fields(crd, version)
        .iter()
        .any(|f| f == label)
    {
        return Ok(Some(scalar_text(at_path(object, label))));
    }
    Err(FieldNotSupported)
}
