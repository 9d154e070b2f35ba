//! The catalog of served resources: for every group/version, the resources
//! with their discovery data (plural, singular, scope, kind, verbs, short
//! names, categories, subresources, storage version hash).
//!
//! The built-in table below is the real API server's discovery data for the
//! 1.33 level, one line per resource. It stays private to this crate until
//! `kedge-schema` exposes the same data; the catalog is the single place
//! routing, discovery, OpenAPI and tables look resources up.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The eight verbs of a fully featured resource.
const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One subresource of a resource.
#[derive(Debug, Clone)]
pub(crate) struct SubresourceInfo {
    pub(crate) name: String,
    /// `(group, version, kind)` of the subresource's objects.
    pub(crate) kind: (String, String, String),
    pub(crate) verbs: Vec<String>,
}

/// One served resource of one group/version.
#[derive(Debug, Clone)]
pub(crate) struct ResourceInfo {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) plural: String,
    pub(crate) singular: String,
    pub(crate) namespaced: bool,
    pub(crate) kind: String,
    pub(crate) verbs: Vec<String>,
    pub(crate) short_names: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) subresources: Vec<SubresourceInfo>,
    pub(crate) storage_version_hash: Option<String>,
    /// The CRD facts of a custom resource (None for built-ins).
    pub(crate) custom: Option<Arc<crate::crd::CustomResource>>,
}

impl ResourceInfo {
    /// `apps/v1`, or `v1` for the core group.
    pub(crate) fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `configmaps` for the core group (as in error messages).
    pub(crate) fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps`, or `ConfigMap` (as in validation messages).
    pub(crate) fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub(crate) fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    pub(crate) fn subresource(&self, name: &str) -> Option<&SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    pub(crate) fn has_status(&self) -> bool {
        self.subresource("status").is_some()
    }

    /// The storage key prefix of all objects of this resource.
    pub(crate) fn key_prefix(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        format!("/registry/{group}/{}/", self.plural)
    }

    /// The storage key prefix within one namespace (or of the whole resource).
    pub(crate) fn list_prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{ns}/", self.key_prefix()),
            _ => self.key_prefix(),
        }
    }

    /// The storage key of one object.
    pub(crate) fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{ns}/{name}", self.key_prefix()),
            _ => format!("{}{name}", self.key_prefix()),
        }
    }
}

/// One group with its versions in preference order.
#[derive(Debug, Clone)]
pub(crate) struct GroupInfo {
    pub(crate) name: String,
    pub(crate) versions: Vec<String>,
}

/// All served groups and resources.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    /// Groups in discovery order (the core group is not listed here).
    pub(crate) groups: Vec<GroupInfo>,
    /// Resources per `(group, version)` in discovery order.
    pub(crate) resources: BTreeMap<(String, String), Vec<Arc<ResourceInfo>>>,
    /// Encoded OpenAPI documents, built on first use (the catalog is immutable).
    pub(crate) openapi: std::sync::OnceLock<Arc<crate::openapi::Documents>>,
}

impl Catalog {
    /// The built-in resources of the 1.33 level.
    pub(crate) fn builtin() -> Catalog {
        let mut catalog = Catalog::default();
        for line in BUILTIN.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let info = parse_line(line);
            if !info.group.is_empty() {
                match catalog.groups.iter_mut().find(|g| g.name == info.group) {
                    Some(g) => {
                        if !g.versions.contains(&info.version) {
                            g.versions.push(info.version.clone());
                        }
                    }
                    None => catalog.groups.push(GroupInfo {
                        name: info.group.clone(),
                        versions: vec![info.version.clone()],
                    }),
                }
            }
            catalog
                .resources
                .entry((info.group.clone(), info.version.clone()))
                .or_default()
                .push(Arc::new(info));
        }
        catalog
    }

    /// The resources of a group/version, if served.
    pub(crate) fn group_version(&self, group: &str, version: &str) -> Option<&[Arc<ResourceInfo>]> {
        self.resources
            .get(&(group.to_string(), version.to_string()))
            .map(Vec::as_slice)
    }

    /// Looks a resource up by its plural name.
    pub(crate) fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceInfo>> {
        self.group_version(group, version)?
            .iter()
            .find(|r| r.plural == plural)
            .cloned()
    }

    /// Every resource of every group/version.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> {
        self.resources.values().flatten()
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Parses `gv|plural|singular|ns|Kind|verbs|shortNames|categories|subresources|hash`.
fn parse_line(line: &str) -> ResourceInfo {
    let f: Vec<&str> = line.split('|').map(str::trim).collect();
    let (group, version) = match f[0].split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), f[0].to_string()),
    };
    let verbs = match f[5] {
        "ALL" => ALL_VERBS.iter().map(|s| s.to_string()).collect(),
        "ALL-dc" => ALL_VERBS
            .iter()
            .filter(|v| **v != "deletecollection")
            .map(|s| s.to_string())
            .collect(),
        other => split_list(other),
    };
    let subresources = f[8]
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            // name[=group/version/Kind][@verb,verb]
            let (head, verbs) = match s.split_once('@') {
                Some((h, v)) => (h, split_list(v)),
                None => (s, vec!["get".into(), "patch".into(), "update".into()]),
            };
            let (name, kind) = match head.split_once('=') {
                Some((n, k)) => {
                    let parts: Vec<&str> = k.split('/').collect();
                    let (g, v, kd) = if parts.len() == 3 {
                        (
                            parts[0].to_string(),
                            parts[1].to_string(),
                            parts[2].to_string(),
                        )
                    } else {
                        (String::new(), parts[0].to_string(), parts[1].to_string())
                    };
                    (n.to_string(), (g, v, kd))
                }
                None => (
                    head.to_string(),
                    (group.clone(), version.clone(), f[4].to_string()),
                ),
            };
            SubresourceInfo { name, kind, verbs }
        })
        .collect();
    ResourceInfo {
        group,
        version,
        plural: f[1].to_string(),
        singular: f[2].to_string(),
        namespaced: f[3] == "yes",
        kind: f[4].to_string(),
        verbs,
        short_names: split_list(f[6]),
        categories: split_list(f[7]),
        subresources,
        storage_version_hash: (!f[9].is_empty()).then(|| f[9].to_string()),
        custom: None,
    }
}

/// gv | plural | singular | namespaced | Kind | verbs | shortNames | categories | subresources | hash
const BUILTIN: &str = r#"
v1|bindings|binding|yes|Binding|create||||
v1|componentstatuses|componentstatus|no|ComponentStatus|get,list|cs|||
v1|configmaps|configmap|yes|ConfigMap|ALL|cm|||qFsyl6wFWjQ=
v1|endpoints|endpoints|yes|Endpoints|ALL|ep|||fWeeMqaN/OA=
v1|events|event|yes|Event|ALL|ev|||r2yiGXH7wu8=
v1|limitranges|limitrange|yes|LimitRange|ALL|limits|||EBKMFVe6cwo=
v1|namespaces|namespace|no|Namespace|ALL-dc|ns||finalize@update;status|Q3oi5N2YM8M=
v1|nodes|node|no|Node|ALL|no||proxy=v1/NodeProxyOptions@create,delete,get,patch,update;status|XwShjMxG9Fs=
v1|persistentvolumeclaims|persistentvolumeclaim|yes|PersistentVolumeClaim|ALL|pvc||status|QWTyNDq0dC4=
v1|persistentvolumes|persistentvolume|no|PersistentVolume|ALL|pv||status|HN/zwEC+JgM=
v1|pods|pod|yes|Pod|ALL|po|all|attach=v1/PodAttachOptions@create,get;binding=v1/Binding@create;ephemeralcontainers;eviction=policy/v1/Eviction@create;exec=v1/PodExecOptions@create,get;log@get;portforward=v1/PodPortForwardOptions@create,get;proxy=v1/PodProxyOptions@create,delete,get,patch,update;status|xPOwRZ+Yhw8=
v1|podtemplates|podtemplate|yes|PodTemplate|ALL||||LIXB2x4IFpk=
v1|replicationcontrollers|replicationcontroller|yes|ReplicationController|ALL|rc|all|scale=autoscaling/v1/Scale;status|Jond2If31h0=
v1|resourcequotas|resourcequota|yes|ResourceQuota|ALL|quota||status|8uhSgffRX6w=
v1|secrets|secret|yes|Secret|ALL||||S6u1pOWzb84=
v1|serviceaccounts|serviceaccount|yes|ServiceAccount|ALL|sa||token=authentication.k8s.io/v1/TokenRequest@create|pbx9ZvyFpBE=
v1|services|service|yes|Service|ALL|svc|all|proxy=v1/ServiceProxyOptions@create,delete,get,patch,update;status|0/CO1lhkEBI=
apiregistration.k8s.io/v1|apiservices|apiservice|no|APIService|ALL||api-extensions|status|
apps/v1|controllerrevisions|controllerrevision|yes|ControllerRevision|ALL||||85nkx63pcBU=
apps/v1|daemonsets|daemonset|yes|DaemonSet|ALL|ds|all|status|dd7pWHUlMKQ=
apps/v1|deployments|deployment|yes|Deployment|ALL|deploy|all|scale=autoscaling/v1/Scale;status|8aSe+NMegvE=
apps/v1|replicasets|replicaset|yes|ReplicaSet|ALL|rs|all|scale=autoscaling/v1/Scale;status|P1RzHs8/mWQ=
apps/v1|statefulsets|statefulset|yes|StatefulSet|ALL|sts|all|scale=autoscaling/v1/Scale;status|H+vl74LkKdo=
events.k8s.io/v1|events|event|yes|Event|ALL|ev|||r2yiGXH7wu8=
authentication.k8s.io/v1|selfsubjectreviews|selfsubjectreview|no|SelfSubjectReview|create||||
authentication.k8s.io/v1|tokenreviews|tokenreview|no|TokenReview|create||||
authorization.k8s.io/v1|localsubjectaccessreviews|localsubjectaccessreview|yes|LocalSubjectAccessReview|create||||
authorization.k8s.io/v1|selfsubjectaccessreviews|selfsubjectaccessreview|no|SelfSubjectAccessReview|create||||
authorization.k8s.io/v1|selfsubjectrulesreviews|selfsubjectrulesreview|no|SelfSubjectRulesReview|create||||
authorization.k8s.io/v1|subjectaccessreviews|subjectaccessreview|no|SubjectAccessReview|create||||
autoscaling/v2|horizontalpodautoscalers|horizontalpodautoscaler|yes|HorizontalPodAutoscaler|ALL|hpa|all|status|qwQve8ut294=
autoscaling/v1|horizontalpodautoscalers|horizontalpodautoscaler|yes|HorizontalPodAutoscaler|ALL|hpa|all|status|qwQve8ut294=
batch/v1|cronjobs|cronjob|yes|CronJob|ALL|cj|all|status|sd5LIXh4Fjs=
batch/v1|jobs|job|yes|Job|ALL||all|status|mudhfqk/qZY=
certificates.k8s.io/v1|certificatesigningrequests|certificatesigningrequest|no|CertificateSigningRequest|ALL|csr||approval;status|
networking.k8s.io/v1|ingressclasses|ingressclass|no|IngressClass|ALL||||l/iqIbDgFyQ=
networking.k8s.io/v1|ingresses|ingress|yes|Ingress|ALL|ing||status|39NQlfNR+bo=
networking.k8s.io/v1|networkpolicies|networkpolicy|yes|NetworkPolicy|ALL|netpol|||YpfwF18m1G8=
policy/v1|poddisruptionbudgets|poddisruptionbudget|yes|PodDisruptionBudget|ALL|pdb||status|EVWiDmWqyJw=
rbac.authorization.k8s.io/v1|clusterrolebindings|clusterrolebinding|no|ClusterRoleBinding|ALL||||48tpQ8gZHFc=
rbac.authorization.k8s.io/v1|clusterroles|clusterrole|no|ClusterRole|ALL||||bYE5ZWDrJ44=
rbac.authorization.k8s.io/v1|rolebindings|rolebinding|yes|RoleBinding|ALL||||eGsCzGH6b1g=
rbac.authorization.k8s.io/v1|roles|role|yes|Role|ALL||||7FuwZcIIItM=
storage.k8s.io/v1|csidrivers|csidriver|no|CSIDriver|ALL||||hL6j/rwBV5w=
storage.k8s.io/v1|csinodes|csinode|no|CSINode|ALL||||Pe62DkZtjuo=
storage.k8s.io/v1|csistoragecapacities|csistoragecapacity|yes|CSIStorageCapacity|ALL||||xeVl+2Ly1kE=
storage.k8s.io/v1|storageclasses|storageclass|no|StorageClass|ALL|sc|||K+m6uJwbjGY=
storage.k8s.io/v1|volumeattachments|volumeattachment|no|VolumeAttachment|ALL|||status|tJx/ezt6UDU=
admissionregistration.k8s.io/v1|mutatingwebhookconfigurations|mutatingwebhookconfiguration|no|MutatingWebhookConfiguration|ALL||api-extensions||Sqi0GUgDaX0=
admissionregistration.k8s.io/v1|validatingadmissionpolicies|validatingadmissionpolicy|no|ValidatingAdmissionPolicy|ALL||api-extensions|status|
admissionregistration.k8s.io/v1|validatingadmissionpolicybindings|validatingadmissionpolicybinding|no|ValidatingAdmissionPolicyBinding|ALL||api-extensions||
admissionregistration.k8s.io/v1|validatingwebhookconfigurations|validatingwebhookconfiguration|no|ValidatingWebhookConfiguration|ALL||api-extensions||B0wHjQmsGNk=
apiextensions.k8s.io/v1|customresourcedefinitions|customresourcedefinition|no|CustomResourceDefinition|ALL|crd,crds|api-extensions|status|jfWCUB31mvA=
scheduling.k8s.io/v1|priorityclasses|priorityclass|no|PriorityClass|ALL|pc|||
coordination.k8s.io/v1|leases|lease|yes|Lease|ALL||||gqkMMb/YqFM=
node.k8s.io/v1|runtimeclasses|runtimeclass|no|RuntimeClass|ALL||||
discovery.k8s.io/v1|endpointslices|endpointslice|yes|EndpointSlice|ALL||||Nx3SIv6I0mE=
"#;
