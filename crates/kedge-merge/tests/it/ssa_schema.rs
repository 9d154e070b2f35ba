//! A small hand-built schema for the server-side apply tests: Deployment,
//! ConfigMap, Service and a custom `Widget`, with the list and map types of
//! the real built-in kinds (containers keyed by name, ports by
//! containerPort+protocol, finalizers as a set, selectors and owner
//! references atomic …). The fixture corpus also runs against the real
//! registry, which keeps this schema honest.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use kedge_schema::{
    ElementRelationship, Field, ListType, ListTypeDef, MapTypeDef, PatchStrategy, ScalarKind,
    Schema, StructType, TypeDef, TypeRef,
};

fn named(n: &str) -> TypeRef {
    TypeRef::Named(n.to_string())
}

fn inline(def: TypeDef) -> TypeRef {
    TypeRef::Inline(Arc::new(def))
}

fn string() -> TypeRef {
    inline(TypeDef::Scalar(ScalarKind::String))
}

fn int() -> TypeRef {
    inline(TypeDef::Scalar(ScalarKind::Integer))
}

fn boolean() -> TypeRef {
    inline(TypeDef::Scalar(ScalarKind::Boolean))
}

fn int_or_string() -> TypeRef {
    inline(TypeDef::Scalar(ScalarKind::IntOrString))
}

fn untyped() -> TypeRef {
    inline(TypeDef::Untyped)
}

fn map_of(values: TypeRef) -> TypeRef {
    inline(TypeDef::Map(MapTypeDef {
        values,
        element_relationship: ElementRelationship::Granular,
    }))
}

fn list(items: TypeRef, list_type: ListType) -> TypeRef {
    inline(TypeDef::List(ListTypeDef { items, list_type }))
}

fn keyed(items: TypeRef, keys: &[&str]) -> TypeRef {
    list(
        items,
        ListType::Map(keys.iter().map(|k| k.to_string()).collect()),
    )
}

fn strukt(fields: Vec<(&str, TypeRef)>) -> TypeDef {
    TypeDef::Struct(StructType {
        fields: fields
            .into_iter()
            .map(|(n, ty)| {
                (
                    n.to_string(),
                    Field {
                        ty,
                        patch_strategy: PatchStrategy::default(),
                        patch_merge_key: None,
                    },
                )
            })
            .collect(),
        ..StructType::default()
    })
}

fn atomic_struct(fields: Vec<(&str, TypeRef)>) -> TypeDef {
    match strukt(fields) {
        TypeDef::Struct(mut st) => {
            st.element_relationship = ElementRelationship::Atomic;
            TypeDef::Struct(st)
        }
        other => other,
    }
}

/// The root type names of the test kinds.
pub(crate) const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";
pub(crate) const CONFIGMAP: &str = "io.k8s.api.core.v1.ConfigMap";
pub(crate) const SERVICE: &str = "io.k8s.api.core.v1.Service";
pub(crate) const WIDGET: &str = "com.example.v1.Widget";

/// Builds the schema.
pub(crate) fn schema() -> Schema {
    let mut t: BTreeMap<String, TypeDef> = BTreeMap::new();
    t.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".into(),
        strukt(vec![
            ("name", string()),
            ("generateName", string()),
            ("namespace", string()),
            ("uid", string()),
            ("resourceVersion", string()),
            ("generation", int()),
            ("creationTimestamp", string()),
            ("deletionTimestamp", string()),
            ("labels", map_of(string())),
            ("annotations", map_of(string())),
            ("finalizers", list(string(), ListType::Set)),
            (
                "ownerReferences",
                keyed(
                    inline(atomic_struct(vec![
                        ("apiVersion", string()),
                        ("kind", string()),
                        ("name", string()),
                        ("uid", string()),
                        ("controller", boolean()),
                        ("blockOwnerDeletion", boolean()),
                    ])),
                    &["uid"],
                ),
            ),
            ("managedFields", list(untyped(), ListType::Atomic)),
        ]),
    );
    let meta = || named("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    t.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector".into(),
        atomic_struct(vec![
            ("matchLabels", map_of(string())),
            ("matchExpressions", list(untyped(), ListType::Atomic)),
        ]),
    );
    t.insert(
        "io.k8s.api.core.v1.Container".into(),
        strukt(vec![
            ("name", string()),
            ("image", string()),
            ("imagePullPolicy", string()),
            ("command", list(string(), ListType::Atomic)),
            ("args", list(string(), ListType::Atomic)),
            ("workingDir", string()),
            (
                "ports",
                keyed(
                    inline(strukt(vec![
                        ("name", string()),
                        ("containerPort", int()),
                        ("hostPort", int()),
                        ("protocol", string()),
                    ])),
                    &["containerPort", "protocol"],
                ),
            ),
            (
                "env",
                keyed(
                    inline(strukt(vec![
                        ("name", string()),
                        ("value", string()),
                        ("valueFrom", untyped()),
                    ])),
                    &["name"],
                ),
            ),
            ("envFrom", list(untyped(), ListType::Atomic)),
            (
                "resources",
                inline(strukt(vec![
                    ("limits", map_of(int_or_string())),
                    ("requests", map_of(int_or_string())),
                ])),
            ),
            (
                "volumeMounts",
                keyed(
                    inline(strukt(vec![
                        ("name", string()),
                        ("mountPath", string()),
                        ("readOnly", boolean()),
                        ("subPath", string()),
                    ])),
                    &["mountPath"],
                ),
            ),
            ("livenessProbe", untyped()),
            ("readinessProbe", untyped()),
            (
                "securityContext",
                inline(strukt(vec![
                    ("runAsUser", int()),
                    ("runAsNonRoot", boolean()),
                    ("readOnlyRootFilesystem", boolean()),
                ])),
            ),
        ]),
    );
    t.insert(
        "io.k8s.api.core.v1.Volume".into(),
        strukt(vec![
            ("name", string()),
            (
                "configMap",
                inline(strukt(vec![
                    ("name", string()),
                    ("items", list(untyped(), ListType::Atomic)),
                    ("defaultMode", int()),
                ])),
            ),
            (
                "emptyDir",
                inline(strukt(vec![("medium", string()), ("sizeLimit", string())])),
            ),
            ("secret", inline(strukt(vec![("secretName", string())]))),
        ]),
    );
    t.insert(
        "io.k8s.api.core.v1.PodSpec".into(),
        strukt(vec![
            (
                "containers",
                keyed(named("io.k8s.api.core.v1.Container"), &["name"]),
            ),
            (
                "initContainers",
                keyed(named("io.k8s.api.core.v1.Container"), &["name"]),
            ),
            (
                "volumes",
                keyed(named("io.k8s.api.core.v1.Volume"), &["name"]),
            ),
            ("nodeSelector", map_of(string())),
            ("serviceAccountName", string()),
            ("restartPolicy", string()),
            ("terminationGracePeriodSeconds", int()),
            ("tolerations", list(untyped(), ListType::Atomic)),
            (
                "imagePullSecrets",
                keyed(inline(strukt(vec![("name", string())])), &["name"]),
            ),
            (
                "topologySpreadConstraints",
                keyed(
                    inline(strukt(vec![
                        ("maxSkew", int()),
                        ("topologyKey", string()),
                        ("whenUnsatisfiable", string()),
                        (
                            "labelSelector",
                            named("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
                        ),
                    ])),
                    &["topologyKey", "whenUnsatisfiable"],
                ),
            ),
        ]),
    );
    t.insert(
        "io.k8s.api.core.v1.PodTemplateSpec".into(),
        strukt(vec![
            ("metadata", meta()),
            ("spec", named("io.k8s.api.core.v1.PodSpec")),
        ]),
    );
    t.insert(
        "io.k8s.api.apps.v1.DeploymentSpec".into(),
        strukt(vec![
            ("replicas", int()),
            (
                "selector",
                named("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
            ),
            ("template", named("io.k8s.api.core.v1.PodTemplateSpec")),
            (
                "strategy",
                inline(strukt(vec![
                    ("type", string()),
                    (
                        "rollingUpdate",
                        inline(strukt(vec![
                            ("maxSurge", int_or_string()),
                            ("maxUnavailable", int_or_string()),
                        ])),
                    ),
                ])),
            ),
            ("minReadySeconds", int()),
            ("revisionHistoryLimit", int()),
            ("paused", boolean()),
        ]),
    );
    let condition = || {
        keyed(
            inline(strukt(vec![
                ("type", string()),
                ("status", string()),
                ("reason", string()),
                ("message", string()),
                ("lastTransitionTime", string()),
            ])),
            &["type"],
        )
    };
    t.insert(
        DEPLOYMENT.into(),
        strukt(vec![
            ("apiVersion", string()),
            ("kind", string()),
            ("metadata", meta()),
            ("spec", named("io.k8s.api.apps.v1.DeploymentSpec")),
            (
                "status",
                inline(strukt(vec![
                    ("observedGeneration", int()),
                    ("replicas", int()),
                    ("readyReplicas", int()),
                    ("availableReplicas", int()),
                    ("conditions", condition()),
                ])),
            ),
        ]),
    );
    t.insert(
        CONFIGMAP.into(),
        strukt(vec![
            ("apiVersion", string()),
            ("kind", string()),
            ("metadata", meta()),
            ("data", map_of(string())),
            ("binaryData", map_of(string())),
            ("immutable", boolean()),
        ]),
    );
    t.insert(
        SERVICE.into(),
        strukt(vec![
            ("apiVersion", string()),
            ("kind", string()),
            ("metadata", meta()),
            (
                "spec",
                inline(strukt(vec![
                    ("type", string()),
                    ("clusterIP", string()),
                    (
                        "selector",
                        inline(TypeDef::Map(MapTypeDef {
                            values: string(),
                            element_relationship: ElementRelationship::Atomic,
                        })),
                    ),
                    (
                        "ports",
                        keyed(
                            inline(strukt(vec![
                                ("name", string()),
                                ("port", int()),
                                ("targetPort", int_or_string()),
                                ("protocol", string()),
                                ("nodePort", int()),
                            ])),
                            &["port", "protocol"],
                        ),
                    ),
                ])),
            ),
            ("status", inline(strukt(vec![("loadBalancer", untyped())]))),
        ]),
    );
    // A custom resource: a structural schema with a preserved free-form part.
    t.insert(
        WIDGET.into(),
        strukt(vec![
            ("apiVersion", string()),
            ("kind", string()),
            ("metadata", meta()),
            (
                "spec",
                inline(strukt(vec![
                    ("color", string()),
                    ("size", int()),
                    ("tags", list(string(), ListType::Set)),
                    ("sizes", list(int(), ListType::Set)),
                    ("args", list(string(), ListType::Atomic)),
                    (
                        "items",
                        keyed(
                            inline(strukt(vec![
                                ("name", string()),
                                ("value", string()),
                                ("weight", int()),
                            ])),
                            &["name"],
                        ),
                    ),
                    (
                        "selector",
                        inline(TypeDef::Map(MapTypeDef {
                            values: string(),
                            element_relationship: ElementRelationship::Atomic,
                        })),
                    ),
                    ("config", untyped()),
                ])),
            ),
            (
                "status",
                inline(strukt(vec![
                    ("phase", string()),
                    ("observedGeneration", int()),
                    ("conditions", condition()),
                ])),
            ),
        ]),
    );
    Schema { types: t }
}

/// The root type of a kind used in fixtures.
pub(crate) fn root(kind: &str) -> TypeRef {
    let name = match kind {
        "Deployment" => DEPLOYMENT,
        "ConfigMap" => CONFIGMAP,
        "Service" => SERVICE,
        "Widget" => WIDGET,
        other => panic!("unknown kind {other}"),
    };
    named(name)
}
