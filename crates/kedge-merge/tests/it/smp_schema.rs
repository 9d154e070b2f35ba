//! A hand-built schema with the patch strategies and merge keys of the
//! built-in kinds the patch fixtures use (Pod, workloads, Service,
//! ConfigMap, Secret, Node, ServiceAccount). Fields without a patch strategy
//! are left out: unknown fields merge like a JSON merge patch, which is what
//! apimachinery does for fields without a strategy.

use std::collections::BTreeMap;
use std::sync::Arc;

use kedge_schema::{
    Field, ListType, ListTypeDef, MapTypeDef, PatchStrategy, ScalarKind, Schema, StructType,
    TypeDef, TypeRef,
};

fn named(n: &str) -> TypeRef {
    TypeRef::Named(n.to_string())
}

fn inline(def: TypeDef) -> TypeRef {
    TypeRef::Inline(Arc::new(def))
}

fn plain(ty: TypeRef) -> Field {
    Field {
        ty,
        patch_strategy: PatchStrategy::default(),
        patch_merge_key: None,
    }
}

fn list_of(items: TypeRef) -> TypeRef {
    inline(TypeDef::List(ListTypeDef {
        items,
        list_type: ListType::Atomic,
    }))
}

/// A list merged by `key` (or as a set of primitives when `key` is None).
fn merged(items: TypeRef, key: Option<&str>, retain_keys: bool) -> Field {
    Field {
        ty: list_of(items),
        patch_strategy: PatchStrategy {
            merge: true,
            retain_keys,
            replace: false,
        },
        patch_merge_key: key.map(str::to_string),
    }
}

fn string() -> TypeRef {
    inline(TypeDef::Scalar(ScalarKind::String))
}

fn string_map() -> TypeRef {
    inline(TypeDef::Map(MapTypeDef {
        values: string(),
        element_relationship: Default::default(),
    }))
}

fn st(fields: Vec<(&str, Field)>) -> TypeDef {
    TypeDef::Struct(StructType {
        fields: fields
            .into_iter()
            .map(|(k, f)| (k.to_string(), f))
            .collect(),
        ..StructType::default()
    })
}

const CORE: &str = "io.k8s.api.core.v1.";
const APPS: &str = "io.k8s.api.apps.v1.";
const BATCH: &str = "io.k8s.api.batch.v1.";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// The OpenAPI definition name of a kind given as `apps/v1 Deployment`.
pub(crate) fn type_for(kind: &str) -> TypeRef {
    let (api_version, kind) = kind.split_once(' ').expect("kind is `<apiVersion> <Kind>`");
    let prefix = match api_version {
        "v1" => CORE,
        "apps/v1" => APPS,
        "batch/v1" => BATCH,
        other => panic!("no test schema for {other}"),
    };
    named(&format!("{prefix}{kind}"))
}

/// The schema.
pub(crate) fn schema() -> Schema {
    let mut t: BTreeMap<String, TypeDef> = BTreeMap::new();
    let c = |n: &str| named(&format!("{CORE}{n}"));
    let conditions = || merged(named("Condition"), Some("type"), false);
    t.insert(
        META.to_string(),
        st(vec![
            ("labels", plain(string_map())),
            ("annotations", plain(string_map())),
            ("finalizers", merged(string(), None, false)),
            (
                "ownerReferences",
                merged(named("OwnerReference"), Some("uid"), false),
            ),
        ]),
    );
    t.insert(
        format!("{CORE}PodSpec"),
        st(vec![
            ("containers", merged(c("Container"), Some("name"), false)),
            (
                "initContainers",
                merged(c("Container"), Some("name"), false),
            ),
            (
                "ephemeralContainers",
                merged(c("Container"), Some("name"), false),
            ),
            ("volumes", merged(c("Volume"), Some("name"), true)),
            (
                "imagePullSecrets",
                merged(c("LocalObjectReference"), Some("name"), false),
            ),
            ("hostAliases", merged(c("HostAlias"), Some("ip"), false)),
            (
                "topologySpreadConstraints",
                merged(c("TopologySpreadConstraint"), Some("topologyKey"), false),
            ),
            (
                "schedulingGates",
                merged(c("PodSchedulingGate"), Some("name"), false),
            ),
            (
                "resourceClaims",
                merged(c("PodResourceClaim"), Some("name"), true),
            ),
            ("tolerations", plain(list_of(c("Toleration")))),
            ("nodeSelector", plain(string_map())),
        ]),
    );
    t.insert(
        format!("{CORE}Container"),
        st(vec![
            (
                "ports",
                merged(c("ContainerPort"), Some("containerPort"), false),
            ),
            ("env", merged(c("EnvVar"), Some("name"), false)),
            (
                "volumeMounts",
                merged(c("VolumeMount"), Some("mountPath"), false),
            ),
            (
                "volumeDevices",
                merged(c("VolumeDevice"), Some("devicePath"), false),
            ),
        ]),
    );
    let template = |name: &str, t: &mut BTreeMap<String, TypeDef>| {
        t.insert(
            name.to_string(),
            st(vec![
                ("metadata", plain(named(META))),
                ("spec", plain(c("PodSpec"))),
            ]),
        );
    };
    template(&format!("{CORE}PodTemplateSpec"), &mut t);
    let object = |spec: Option<TypeRef>, status: Option<TypeRef>| {
        let mut f = vec![("metadata", plain(named(META)))];
        if let Some(s) = spec {
            f.push(("spec", plain(s)));
        }
        if let Some(s) = status {
            f.push(("status", plain(s)));
        }
        st(f)
    };
    t.insert(
        format!("{CORE}PodStatus"),
        st(vec![
            ("conditions", conditions()),
            ("podIPs", merged(c("PodIP"), Some("ip"), false)),
            ("hostIPs", merged(c("HostIP"), Some("ip"), false)),
        ]),
    );
    t.insert(
        format!("{CORE}Pod"),
        object(Some(c("PodSpec")), Some(c("PodStatus"))),
    );
    let with_conditions = st(vec![("conditions", conditions())]);
    t.insert("WorkloadStatus".to_string(), with_conditions);
    let template_spec = st(vec![("template", plain(c("PodTemplateSpec")))]);
    for kind in ["StatefulSet", "DaemonSet", "ReplicaSet"] {
        t.insert(format!("{APPS}{kind}Spec"), template_spec.clone());
        t.insert(
            format!("{APPS}{kind}"),
            object(
                Some(named(&format!("{APPS}{kind}Spec"))),
                Some(named("WorkloadStatus")),
            ),
        );
    }
    t.insert(
        format!("{APPS}DeploymentSpec"),
        st(vec![
            ("template", plain(c("PodTemplateSpec"))),
            (
                "strategy",
                Field {
                    ty: named(&format!("{APPS}DeploymentStrategy")),
                    patch_strategy: PatchStrategy {
                        merge: false,
                        retain_keys: true,
                        replace: false,
                    },
                    patch_merge_key: None,
                },
            ),
        ]),
    );
    t.insert(
        format!("{APPS}Deployment"),
        object(
            Some(named(&format!("{APPS}DeploymentSpec"))),
            Some(named("WorkloadStatus")),
        ),
    );
    t.insert(format!("{BATCH}JobSpec"), template_spec);
    t.insert(
        format!("{BATCH}Job"),
        object(
            Some(named(&format!("{BATCH}JobSpec"))),
            Some(named("WorkloadStatus")),
        ),
    );
    t.insert(
        format!("{BATCH}JobTemplateSpec"),
        st(vec![
            ("metadata", plain(named(META))),
            ("spec", plain(named(&format!("{BATCH}JobSpec")))),
        ]),
    );
    t.insert(
        format!("{BATCH}CronJobSpec"),
        st(vec![(
            "jobTemplate",
            plain(named(&format!("{BATCH}JobTemplateSpec"))),
        )]),
    );
    t.insert(
        format!("{BATCH}CronJob"),
        object(Some(named(&format!("{BATCH}CronJobSpec"))), None),
    );
    t.insert(
        format!("{CORE}ServiceSpec"),
        st(vec![
            ("ports", merged(c("ServicePort"), Some("port"), false)),
            ("selector", plain(string_map())),
        ]),
    );
    t.insert(
        format!("{CORE}Service"),
        object(Some(c("ServiceSpec")), Some(named("WorkloadStatus"))),
    );
    t.insert(
        format!("{CORE}ConfigMap"),
        st(vec![
            ("metadata", plain(named(META))),
            ("data", plain(string_map())),
            ("binaryData", plain(string_map())),
        ]),
    );
    t.insert(
        format!("{CORE}Secret"),
        st(vec![
            ("metadata", plain(named(META))),
            ("data", plain(string_map())),
            ("stringData", plain(string_map())),
        ]),
    );
    t.insert(
        format!("{CORE}NodeStatus"),
        st(vec![
            ("conditions", conditions()),
            ("addresses", merged(c("NodeAddress"), Some("type"), false)),
        ]),
    );
    t.insert(format!("{CORE}Node"), object(None, Some(c("NodeStatus"))));
    t.insert(
        format!("{CORE}ServiceAccount"),
        st(vec![
            ("metadata", plain(named(META))),
            ("secrets", merged(c("ObjectReference"), Some("name"), false)),
            (
                "imagePullSecrets",
                plain(list_of(c("LocalObjectReference"))),
            ),
        ]),
    );
    for leaf in [
        "Volume",
        "LocalObjectReference",
        "HostAlias",
        "TopologySpreadConstraint",
        "PodSchedulingGate",
        "PodResourceClaim",
        "Toleration",
        "ContainerPort",
        "EnvVar",
        "VolumeMount",
        "VolumeDevice",
        "PodIP",
        "HostIP",
        "ServicePort",
        "NodeAddress",
        "ObjectReference",
    ] {
        t.insert(format!("{CORE}{leaf}"), st(vec![]));
    }
    t.insert(format!("{APPS}DeploymentStrategy"), st(vec![]));
    t.insert("Condition".to_string(), st(vec![]));
    t.insert("OwnerReference".to_string(), st(vec![]));
    Schema { types: t }
}
