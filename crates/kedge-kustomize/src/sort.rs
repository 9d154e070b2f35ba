//! Output order. `legacy` (kubectl's default): kinds in `orderFirst` first,
//! then all other kinds, then `orderLast`; ties between GVKs broken by the
//! `group_version_kind` string (`~G`/`~V`/`~K` for empty parts); within a
//! GVK by `<gvk>|<namespace or ~X>|<name or ~N>`. `fifo` keeps input order.

use crate::kustomization::SortOptions;
use crate::resource::Resource;

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts resources in place according to the top kustomization's options.
pub(crate) fn sort(list: &mut [Resource], opts: Option<&SortOptions>) {
    if opts.is_some_and(|o| o.order == "fifo") {
        return;
    }
    let (first, last): (Vec<String>, Vec<String>) =
        match opts.and_then(|o| o.legacy_sort_options.as_ref()) {
            Some(l) => (l.order_first.clone(), l.order_last.clone()),
            None => (
                ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
                ORDER_LAST.iter().map(|s| s.to_string()).collect(),
            ),
        };
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        if let Some(i) = last.iter().position(|k| k == kind) {
            return i as i64 + 1;
        }
        0
    };
    let mut keyed: Vec<(i64, String, String, usize)> = list
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r.cur_id();
            let g = id.gvk.sort_string();
            let ns = if id.namespace.is_empty() {
                "~X"
            } else {
                &id.namespace
            };
            let name = if id.name.is_empty() { "~N" } else { &id.name };
            let full = format!("{g}|{ns}|{name}");
            (rank(&id.gvk.kind), g, full, i)
        })
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    let order: Vec<usize> = keyed.into_iter().map(|k| k.3).collect();
    let mut taken: Vec<Option<Resource>> = list
        .iter_mut()
        .map(|r| Some(std::mem::replace(r, Resource::new(serde_json::Value::Null))))
        .collect();
    for (dst, src) in order.into_iter().enumerate() {
        list[dst] = taken[src].take().expect("each index once");
    }
}
