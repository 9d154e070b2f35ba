//! Built-in health rules, one function per kind, following Argo CD's
//! gitops-engine rules (Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod,
//! Job, PersistentVolumeClaim, Service, Ingress, HorizontalPodAutoscaler,
//! APIService) plus CronJob, CustomResourceDefinition and Kedge's own
//! Application (`applications.kedge.dev`, read from `status.health`, for
//! app-of-apps waves).

use serde_json::Value;

use super::{HealthCode, HealthStatus};

fn int(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn condition<'a>(v: &'a Value, ty: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
}

fn condition_true(v: &Value, ty: &str) -> bool {
    condition(v, ty).is_some_and(|c| c.get("status").and_then(Value::as_str) == Some("True"))
}

fn observed_stale(v: &Value) -> bool {
    let generation = int(v, "/metadata/generation");
    let observed = int(v, "/status/observedGeneration");
    generation > observed
}

fn h(code: HealthCode, msg: impl Into<String>) -> Option<HealthStatus> {
    Some(HealthStatus::new(code, msg))
}

/// The built-in health of an object, or None when the kind has no rule.
pub fn health(group: &str, kind: &str, obj: &Value) -> Option<HealthStatus> {
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => statefulset(obj),
        ("apps" | "extensions", "DaemonSet") => daemonset(obj),
        ("apps" | "extensions", "ReplicaSet") => replicaset(obj),
        ("", "Pod") => pod(obj),
        ("batch", "Job") => job(obj),
        ("batch", "CronJob") => cronjob(obj),
        ("", "PersistentVolumeClaim") => pvc(obj),
        ("", "Service") => service(obj),
        ("networking.k8s.io" | "extensions", "Ingress") => ingress(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(obj),
        ("apiregistration.k8s.io", "APIService") => apiservice(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(obj),
        ("kedge.dev", "Application") => application(obj),
        _ => None,
    }
}

fn deployment(d: &Value) -> Option<HealthStatus> {
    if d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return h(HealthCode::Suspended, "Deployment is paused");
    }
    if observed_stale(d) {
        return h(
            HealthCode::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    if condition(d, "Progressing").is_some_and(|c| {
        c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
    }) {
        return h(
            HealthCode::Degraded,
            format!(
                "Deployment {:?} exceeded its progress deadline",
                str_at(d, "/metadata/name")
            ),
        );
    }
    let replicas = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let updated = int(d, "/status/updatedReplicas");
    let total = int(d, "/status/replicas");
    let available = int(d, "/status/availableReplicas");
    if updated < replicas {
        return h(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated..."
            ),
        );
    }
    if total > updated {
        return h(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                total - updated
            ),
        );
    }
    if available < updated {
        return h(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    h(HealthCode::Healthy, "")
}

fn statefulset(s: &Value) -> Option<HealthStatus> {
    if int(s, "/status/observedGeneration") == 0 || observed_stale(s) {
        return h(
            HealthCode::Progressing,
            "Waiting for statefulset spec update to be observed...",
        );
    }
    let replicas = s
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let ready = int(s, "/status/readyReplicas");
    if ready < replicas {
        return h(
            HealthCode::Progressing,
            format!("Waiting for {} pods to be ready...", replicas - ready),
        );
    }
    let strategy = str_at(s, "/spec/updateStrategy/type");
    if strategy == "RollingUpdate"
        && let Some(partition) = s
            .pointer("/spec/updateStrategy/rollingUpdate/partition")
            .and_then(Value::as_i64)
    {
        let updated = int(s, "/status/updatedReplicas");
        if updated < replicas - partition {
            return h(
                HealthCode::Progressing,
                format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                    replicas - partition
                ),
            );
        }
        return h(
            HealthCode::Healthy,
            format!("partitioned roll out complete: {updated} new pods have been updated..."),
        );
    }
    if strategy == "OnDelete" {
        return h(
            HealthCode::Healthy,
            "statefulset has OnDelete update strategy",
        );
    }
    let update = str_at(s, "/status/updateRevision");
    let current = str_at(s, "/status/currentRevision");
    if update != current {
        return h(
            HealthCode::Progressing,
            format!(
                "waiting for statefulset rolling update to complete {} pods at revision {update}...",
                int(s, "/status/updatedReplicas")
            ),
        );
    }
    h(
        HealthCode::Healthy,
        format!(
            "statefulset rolling update complete {} pods at revision {current}...",
            int(s, "/status/currentReplicas")
        ),
    )
}

fn daemonset(d: &Value) -> Option<HealthStatus> {
    if observed_stale(d) {
        return h(
            HealthCode::Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    if str_at(d, "/spec/updateStrategy/type") == "OnDelete" {
        return h(
            HealthCode::Healthy,
            "daemon set has OnDelete update strategy",
        );
    }
    let desired = int(d, "/status/desiredNumberScheduled");
    let updated = int(d, "/status/updatedNumberScheduled");
    let available = int(d, "/status/numberAvailable");
    if updated < desired {
        return h(
            HealthCode::Progressing,
            format!(
                "Waiting for daemon set {:?} rollout to finish: {updated} out of {desired} new pods have been updated...",
                str_at(d, "/metadata/name")
            ),
        );
    }
    if available < desired {
        return h(
            HealthCode::Progressing,
            format!(
                "Waiting for daemon set {:?} rollout to finish: {available} of {desired} updated pods are available...",
                str_at(d, "/metadata/name")
            ),
        );
    }
    h(HealthCode::Healthy, "")
}

fn replicaset(r: &Value) -> Option<HealthStatus> {
    if observed_stale(r) {
        return h(
            HealthCode::Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    if let Some(c) = condition(r, "ReplicaFailure")
        && c.get("status").and_then(Value::as_str) == Some("True")
    {
        return h(
            HealthCode::Degraded,
            c.get("message").and_then(Value::as_str).unwrap_or(""),
        );
    }
    let replicas = r
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let available = int(r, "/status/availableReplicas");
    if available < replicas {
        return h(
            HealthCode::Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {replicas} new replicas are available..."
            ),
        );
    }
    h(HealthCode::Healthy, "")
}

fn pod(p: &Value) -> Option<HealthStatus> {
    let restart = p
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always");
    let phase = str_at(p, "/status/phase");
    let message = str_at(p, "/status/message").to_string();
    let statuses: Vec<&Value> = ["/status/initContainerStatuses", "/status/containerStatuses"]
        .iter()
        .filter_map(|ptr| p.pointer(ptr).and_then(Value::as_array))
        .flatten()
        .collect();
    if restart == "Always"
        || crate::object::annotation(p, "argocd.argoproj.io/ignore-restart-policy") == Some("true")
    {
        for s in &statuses {
            let reason = str_at(s, "/state/waiting/reason");
            if reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")
            {
                return h(
                    HealthCode::Degraded,
                    str_at(s, "/state/waiting/message").to_string(),
                );
            }
        }
    }
    match phase {
        "Pending" => h(HealthCode::Progressing, message),
        "Succeeded" => h(HealthCode::Healthy, message),
        "Failed" => {
            if !message.is_empty() {
                return h(HealthCode::Degraded, message);
            }
            for s in &statuses {
                if let Some(t) = s.pointer("/state/terminated") {
                    let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
                    if code != 0 {
                        let msg = t.get("message").and_then(Value::as_str).unwrap_or("");
                        let reason = t.get("reason").and_then(Value::as_str).unwrap_or("");
                        return h(
                            HealthCode::Degraded,
                            if !msg.is_empty() {
                                msg.to_string()
                            } else {
                                format!(
                                    "container {:?} failed with exit code {code} ({reason})",
                                    str_at(s, "/name")
                                )
                            },
                        );
                    }
                }
            }
            h(HealthCode::Degraded, "")
        }
        "Running" => {
            if restart != "Always" {
                return h(HealthCode::Progressing, message);
            }
            if condition_true(p, "Ready") {
                return h(HealthCode::Healthy, message);
            }
            if statuses
                .iter()
                .any(|s| s.pointer("/lastState/terminated").is_some())
            {
                return h(HealthCode::Degraded, message);
            }
            h(HealthCode::Progressing, message)
        }
        _ => h(HealthCode::Unknown, message),
    }
}

fn job(j: &Value) -> Option<HealthStatus> {
    if let Some(c) = condition(j, "Failed")
        && c.get("status").and_then(Value::as_str) == Some("True")
    {
        return h(
            HealthCode::Degraded,
            c.get("message")
                .and_then(Value::as_str)
                .unwrap_or("Job failed"),
        );
    }
    if condition_true(j, "Suspended") {
        return h(HealthCode::Suspended, "Job is suspended");
    }
    if condition_true(j, "Complete") {
        return h(HealthCode::Healthy, "Job completed");
    }
    h(HealthCode::Progressing, "Job is running")
}

fn cronjob(c: &Value) -> Option<HealthStatus> {
    if c.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return h(HealthCode::Suspended, "CronJob is suspended");
    }
    let active = c
        .pointer("/status/active")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if active > 0 {
        return h(
            HealthCode::Progressing,
            format!("{active} jobs are running"),
        );
    }
    let last = str_at(c, "/status/lastScheduleTime");
    let ok = str_at(c, "/status/lastSuccessfulTime");
    if !last.is_empty() && (ok.is_empty() || ok < last) {
        return h(
            HealthCode::Degraded,
            "the last scheduled job did not succeed",
        );
    }
    h(HealthCode::Healthy, "")
}

fn pvc(p: &Value) -> Option<HealthStatus> {
    match str_at(p, "/status/phase") {
        "Lost" => h(HealthCode::Degraded, ""),
        "Pending" => h(HealthCode::Progressing, ""),
        "Bound" => h(HealthCode::Healthy, ""),
        _ => h(HealthCode::Unknown, ""),
    }
}

fn lb_ingress(v: &Value) -> bool {
    v.pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn service(s: &Value) -> Option<HealthStatus> {
    if str_at(s, "/spec/type") == "LoadBalancer" && !lb_ingress(s) {
        return h(
            HealthCode::Progressing,
            "Waiting for the load balancer address",
        );
    }
    h(HealthCode::Healthy, "")
}

fn ingress(i: &Value) -> Option<HealthStatus> {
    if lb_ingress(i) {
        h(HealthCode::Healthy, "")
    } else {
        h(HealthCode::Progressing, "")
    }
}

fn hpa(a: &Value) -> Option<HealthStatus> {
    let conditions: Vec<Value> = match a.pointer("/status/conditions").and_then(Value::as_array) {
        Some(c) => c.clone(),
        None => crate::object::annotation(a, "autoscaling.alpha.kubernetes.io/conditions")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default(),
    };
    for c in &conditions {
        let ty = str_at(c, "/type");
        let status = str_at(c, "/status");
        let reason = str_at(c, "/reason");
        let msg = str_at(c, "/message");
        let degraded = (ty == "AbleToScale"
            && status == "False"
            && (reason == "FailedGetScale" || reason == "FailedUpdateScale"))
            || (ty == "ScalingActive" && status == "False" && reason.starts_with("Failed"));
        if degraded {
            return h(HealthCode::Degraded, msg);
        }
    }
    for c in &conditions {
        let ty = str_at(c, "/type");
        let status = str_at(c, "/status");
        if (ty == "ScalingActive" || ty == "AbleToScale" || ty == "ScalingLimited")
            && status == "True"
        {
            return h(HealthCode::Healthy, str_at(c, "/message"));
        }
    }
    h(HealthCode::Progressing, "Waiting to Autoscale")
}

fn apiservice(a: &Value) -> Option<HealthStatus> {
    match condition(a, "Available") {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => {
            h(HealthCode::Healthy, str_at(c, "/message"))
        }
        Some(c) => h(HealthCode::Progressing, str_at(c, "/message")),
        None => h(HealthCode::Progressing, "Waiting to be processed"),
    }
}

fn crd(c: &Value) -> Option<HealthStatus> {
    if let Some(n) = condition(c, "NamesAccepted")
        && n.get("status").and_then(Value::as_str) == Some("False")
    {
        return h(HealthCode::Degraded, str_at(n, "/message"));
    }
    if condition_true(c, "Established") {
        return h(HealthCode::Healthy, "");
    }
    h(
        HealthCode::Progressing,
        "Waiting for the CustomResourceDefinition to be established",
    )
}

fn application(a: &Value) -> Option<HealthStatus> {
    let status = str_at(a, "/status/health/status");
    let Some(code) = HealthCode::parse(status) else {
        return h(
            HealthCode::Progressing,
            "Waiting for the application to report health",
        );
    };
    // A child application that is Missing or Unknown does not hold its parent back.
    let code = match code {
        HealthCode::Missing | HealthCode::Unknown => HealthCode::Healthy,
        c => c,
    };
    h(code, str_at(a, "/status/health/message"))
}
