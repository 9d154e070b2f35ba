//! Install manifests built in code: the `applications.kedge.dev` and
//! `appprojects.kedge.dev` CRDs, the controller's RBAC and Deployment.
//!
//! The CRD schemas name the top-level fields the controller reads (so
//! `kubectl explain` and validation see them) and preserve unknown fields
//! below `spec` and `status`, which keeps manifests written for newer Argo CD
//! versions accepted. `kedge install` prints [`install_manifests`], so the
//! installed schema and the code cannot drift apart.

use serde_json::{Value, json};

use crate::types::{DEFAULT_NAMESPACE, GROUP, VERSION};

fn open_object(description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

fn crd(kind: &str, plural: &str, short: &[&str], spec: Value, columns: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{GROUP}")},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": format!("{kind}List"),
                "plural": plural,
                "singular": kind.to_lowercase(),
                "shortNames": short,
            },
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "spec": spec,
                        "status": open_object("Observed state, written by the controller."),
                        "operation": open_object("A requested operation (sync, rollback)."),
                    },
                }},
            }],
        },
    })
}

/// The `applications.kedge.dev` CRD.
pub fn application_crd() -> Value {
    let spec = json!({
        "type": "object",
        "description": "An application: a source in Git deployed to a destination.",
        "required": ["source", "destination"],
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "project": {"type": "string"},
            "source": {
                "type": "object",
                "required": ["repoURL"],
                "x-kubernetes-preserve-unknown-fields": true,
                "properties": {
                    "repoURL": {"type": "string"},
                    "targetRevision": {"type": "string"},
                    "path": {"type": "string"},
                    "directory": open_object("Plain YAML/JSON directory options."),
                    "kustomize": open_object("Kustomize options."),
                },
            },
            "destination": {
                "type": "object",
                "properties": {
                    "server": {"type": "string"},
                    "name": {"type": "string"},
                    "namespace": {"type": "string"},
                },
            },
            "syncPolicy": open_object("Automation: automated{prune,selfHeal,allowEmpty}, syncOptions, retry."),
            "ignoreDifferences": {"type": "array", "items": open_object("Ignored fields.")},
            "revisionHistoryLimit": {"type": "integer"},
            "info": {"type": "array", "items": open_object("Information.")},
        },
    });
    let columns = json!([
        {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
        {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
        {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]);
    crd(
        "Application",
        "applications",
        &["app", "apps"],
        spec,
        columns,
    )
}

/// The `appprojects.kedge.dev` CRD.
pub fn appproject_crd() -> Value {
    let spec = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "sourceRepos": {"type": "array", "items": {"type": "string"}},
            "destinations": {"type": "array", "items": open_object("server|name, namespace")},
        },
    });
    let columns =
        json!([{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]);
    crd(
        "AppProject",
        "appprojects",
        &["appproj", "appprojs"],
        spec,
        columns,
    )
}

/// The `default` project: any repository, any destination.
pub fn default_project(namespace: &str) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": "AppProject",
        "metadata": {"name": "default", "namespace": namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    })
}

/// Everything `kedge install` applies: namespace, CRDs, RBAC, Deployment.
pub fn install_manifests(namespace: &str, image: &str) -> Vec<Value> {
    let sa = "kedge-controller";
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        application_crd(),
        appproject_crd(),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": sa, "namespace": namespace}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": sa},
               "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                         {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": sa},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": sa},
               "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}]}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": sa, "namespace": namespace,
                     "labels": {"app.kubernetes.io/name": sa}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": sa}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": sa}},
                "spec": {
                    "serviceAccountName": sa,
                    "containers": [{
                        "name": "controller",
                        "image": image,
                        "args": ["controller", "--namespace", namespace,
                                 "--listen", "0.0.0.0:8080",
                                 "--cache-dir", "/var/cache/kedge"],
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        "volumeMounts": [{"name": "cache", "mountPath": "/var/cache/kedge"}],
                    }],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                },
            },
        }}),
        default_project(namespace),
    ]
}

/// Default namespace for [`install_manifests`].
pub fn default_install_namespace() -> &'static str {
    DEFAULT_NAMESPACE
}
