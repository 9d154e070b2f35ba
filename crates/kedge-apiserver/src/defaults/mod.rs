//! Defaulting of built-in kinds, as a 1.33 API server fills in what clients
//! leave out (the `SetDefaults_*` functions of the Kubernetes API types plus
//! the registry strategies' `PrepareForCreate` touches kubectl shows).
//!
//! Defaulting is a pure function of the object ([`apply`]) except for the
//! Service allocators: cluster IPs come from 10.96.0.0/12 and node ports from
//! 30000-32767, both chosen deterministically from a hash of the object's
//! namespace and name and probed linearly past addresses already in use
//! ([`allocate`], which reads the live Services). Updates keep what was
//! allocated ([`carry_allocations`]) before defaulting again, so a `PUT`
//! that omits defaulted fields changes nothing.
//!
//! Pod specs are defaulted wherever they are embedded: Pods, pod templates
//! of workloads and CronJob job templates.

mod pod;
mod service;

use serde_json::{Map, Value, json};

pub(crate) use service::{allocate, carry_allocations};

/// Sets `obj[key]` to `value` unless present (and not null).
pub(crate) fn set_default(obj: &mut Map<String, Value>, key: &str, value: Value) {
    if obj.get(key).is_none_or(Value::is_null) {
        obj.insert(key.to_string(), value);
    }
}

/// The object at `key`, created empty when missing.
pub(crate) fn child<'a>(
    obj: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let v = obj.entry(key.to_string()).or_insert_with(|| json!({}));
    if v.is_null() {
        *v = json!({});
    }
    v.as_object_mut()
}

/// The object at `key`, if it exists.
fn existing<'a>(obj: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    obj.get_mut(key).and_then(Value::as_object_mut)
}

/// Applies the built-in defaults of `group`/`kind` to `obj` in place.
/// Unknown kinds are left alone.
pub(crate) fn apply(group: &str, kind: &str, obj: &mut Value) {
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .map(String::from);
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("apps", "Deployment") => deployment(root),
        ("apps", "ReplicaSet") => {
            if let Some(spec) = child(root, "spec") {
                set_default(spec, "replicas", json!(1));
                pod::template(spec);
            }
        }
        ("apps", "StatefulSet") => stateful_set(root),
        ("apps", "DaemonSet") => daemon_set(root),
        ("batch", "Job") => job(root, uid.as_deref(), &name),
        ("batch", "CronJob") => cron_job(root),
        ("", "ReplicationController") => replication_controller(root),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if root.get("apiVersion").and_then(Value::as_str) == Some("autoscaling/v2") {
                hpa_v2(root);
            } else if let Some(spec) = child(root, "spec") {
                set_default(spec, "minReplicas", json!(1));
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            set_default(root, "reclaimPolicy", json!("Delete"));
            set_default(root, "volumeBindingMode", json!("Immediate"));
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            set_default(root, "preemptionPolicy", json!("PreemptLowerPriority"));
        }
        ("", "Endpoints") => {
            if let Some(Value::Array(subsets)) = root.get_mut("subsets") {
                for ss in subsets.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(Value::Array(ports)) = ss.get_mut("ports") {
                        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                            set_default(p, "protocol", json!("TCP"));
                        }
                    }
                }
            }
        }
        ("", "PodTemplate") => pod::template(root),
        ("", "Pod") => pod::pod(root),
        ("", "Service") => service::service(root),
        ("", "Secret")
            if root
                .get("type")
                .is_none_or(|t| t.as_str().is_none_or(str::is_empty)) =>
        {
            root.insert("type".into(), json!("Opaque"));
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = child(root, "spec") {
                set_default(spec, "volumeMode", json!("Filesystem"));
            }
            if let Some(status) = child(root, "status") {
                set_default(status, "phase", json!("Pending"));
            }
        }
        ("", "PersistentVolume") => {
            if let Some(spec) = child(root, "spec") {
                set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                set_default(spec, "volumeMode", json!("Filesystem"));
            }
            if let Some(status) = child(root, "status") {
                set_default(status, "phase", json!("Pending"));
            }
        }
        ("", "Namespace") => {
            let m = child(root, "metadata");
            if let Some(labels) = m.and_then(|m| child(m, "labels")) {
                labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => network_policy(root),
        ("networking.k8s.io", "Ingress") => {
            // Ingress has no field defaults; nothing to do.
        }
        ("policy", "PodDisruptionBudget") => {}
        _ => {}
    }
}

/// `SetDefaults_ReplicationController`: selector and labels from the
/// template's labels.
fn replication_controller(root: &mut Map<String, Value>) {
    let template_labels = root
        .get("spec")
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .cloned()
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()));
    if let Some(labels) = &template_labels
        && let Some(m) = child(root, "metadata")
        && m.get("labels")
            .is_none_or(|l| l.as_object().is_none_or(Map::is_empty))
    {
        m.insert("labels".into(), labels.clone());
    }
    let Some(spec) = child(root, "spec") else {
        return;
    };
    if let Some(labels) = template_labels
        && spec
            .get("selector")
            .is_none_or(|l| l.as_object().is_none_or(Map::is_empty))
    {
        spec.insert("selector".into(), labels);
    }
    set_default(spec, "replicas", json!(1));
    pod::template(spec);
}

/// `autoscaling/v2` defaults: one replica minimum, 80% CPU when no metric
/// is given, and the scaling rules of a behavior that is given.
fn hpa_v2(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    set_default(spec, "minReplicas", json!(1));
    if spec
        .get("metrics")
        .is_none_or(|m| m.as_array().is_none_or(Vec::is_empty))
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    if let Some(behavior) = existing(spec, "behavior") {
        if let Some(up) = child(behavior, "scaleUp") {
            set_default(up, "stabilizationWindowSeconds", json!(0));
            set_default(up, "selectPolicy", json!("Max"));
            set_default(
                up,
                "policies",
                json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]),
            );
        }
        if let Some(down) = child(behavior, "scaleDown") {
            set_default(down, "selectPolicy", json!("Max"));
            set_default(
                down,
                "policies",
                json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
            );
        }
    }
}

fn revision_history(spec: &mut Map<String, Value>) {
    set_default(spec, "revisionHistoryLimit", json!(10));
}

fn deployment(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(strategy) = child(spec, "strategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(strategy, "rollingUpdate")
        {
            set_default(ru, "maxUnavailable", json!("25%"));
            set_default(ru, "maxSurge", json!("25%"));
        }
    }
    revision_history(spec);
    set_default(spec, "progressDeadlineSeconds", json!(600));
    pod::template(spec);
}

fn stateful_set(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(us) = child(spec, "updateStrategy") {
        set_default(us, "type", json!("RollingUpdate"));
        if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(us, "rollingUpdate")
        {
            set_default(ru, "partition", json!(0));
        }
    }
    revision_history(spec);
    if let Some(p) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        set_default(p, "whenDeleted", json!("Retain"));
        set_default(p, "whenScaled", json!("Retain"));
    }
    pod::template(spec);
    if let Some(Value::Array(claims)) = spec.get_mut("volumeClaimTemplates") {
        for claim in claims.iter_mut().filter_map(Value::as_object_mut) {
            set_default(claim, "apiVersion", json!("v1"));
            set_default(claim, "kind", json!("PersistentVolumeClaim"));
            if let Some(s) = child(claim, "spec") {
                set_default(s, "volumeMode", json!("Filesystem"));
            }
            if let Some(s) = child(claim, "status") {
                set_default(s, "phase", json!("Pending"));
            }
        }
    }
}

fn daemon_set(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    if let Some(us) = child(spec, "updateStrategy") {
        set_default(us, "type", json!("RollingUpdate"));
        if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(us, "rollingUpdate")
        {
            set_default(ru, "maxUnavailable", json!(1));
            set_default(ru, "maxSurge", json!(0));
        }
    }
    revision_history(spec);
    pod::template(spec);
}

/// The labels the Job strategy adds to selector and template on create.
fn job_labels(uid: &str, name: &str) -> [(&'static str, String); 4] {
    [
        ("batch.kubernetes.io/controller-uid", uid.to_string()),
        ("batch.kubernetes.io/job-name", name.to_string()),
        ("controller-uid", uid.to_string()),
        ("job-name", name.to_string()),
    ]
}

fn job(root: &mut Map<String, Value>, uid: Option<&str>, name: &str) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    let indexed = spec.get("completionMode").and_then(Value::as_str) == Some("Indexed");
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    set_default(
        spec,
        "backoffLimit",
        json!(if indexed && spec.get("backoffLimitPerIndex").is_some() {
            2147483647
        } else {
            6
        }),
    );
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let pod_failure_policy = spec.get("podFailurePolicy").is_some_and(|p| !p.is_null());
    set_default(
        spec,
        "podReplacementPolicy",
        json!(if pod_failure_policy {
            "Failed"
        } else {
            "TerminatingOrFailed"
        }),
    );
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    if uid.is_some() {
        set_default(spec, "manualSelector", json!(false));
    }
    if let (Some(uid), false) = (uid, manual) {
        let labels = job_labels(uid, name);
        if let Some(sel) = child(spec, "selector")
            && let Some(ml) = child(sel, "matchLabels")
        {
            ml.insert(labels[0].0.into(), json!(labels[0].1));
        }
        if let Some(tl) = child(spec, "template")
            .and_then(|t| child(t, "metadata"))
            .and_then(|m| child(m, "labels"))
        {
            for (k, v) in &labels {
                set_default(tl, k, json!(v));
            }
        }
    }
    pod::template(spec);
}

fn cron_job(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(js) = existing(spec, "jobTemplate").and_then(|jt| existing(jt, "spec")) {
        pod::template(js);
    }
}

fn network_policy(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    for dir in ["ingress", "egress"] {
        if let Some(Value::Array(rules)) = spec.get_mut(dir) {
            for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(Value::Array(ports)) = rule.get_mut("ports") {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        set_default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
    if spec
        .get("policyTypes")
        .is_none_or(|p| p.as_array().is_none_or(Vec::is_empty))
    {
        let mut types = vec![json!("Ingress")];
        if spec.get("egress").is_some_and(|e| !e.is_null()) {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_strategy_defaults_only_for_rolling_update() {
        let mut d = json!({"spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": []}}}});
        apply("apps", "Deployment", &mut d);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(d["spec"]["replicas"], json!(1));
    }

    #[test]
    fn job_selector_uses_uid() {
        let mut j = json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}});
        apply("batch", "Job", &mut j);
        assert_eq!(
            j["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            json!("u-1")
        );
        assert_eq!(
            j["spec"]["template"]["metadata"]["labels"]["job-name"],
            json!("pi")
        );
        assert_eq!(
            j["spec"]["template"]["spec"]["restartPolicy"],
            json!("Never")
        );
    }
}
