//! Pod spec defaults (`SetDefaults_PodSpec`, `SetDefaults_Container`,
//! probes, ports, volumes, env sources), shared by Pods and every pod
//! template; Pods additionally get what their strategy and the default
//! admission plugins add (service links, service account, priority,
//! not-ready/unreachable tolerations).

use serde_json::{Map, Value, json};

use super::{child, existing, set_default};

/// Defaults `spec.template.spec` of a workload-like `spec`.
pub(crate) fn template(spec: &mut Map<String, Value>) {
    if let Some(ps) = existing(spec, "template").and_then(|t| child(t, "spec")) {
        pod_spec(ps);
    }
}

/// Defaults a Pod.
pub(crate) fn pod(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    pod_spec(spec);
    set_default(spec, "enableServiceLinks", json!(true));
    set_default(spec, "serviceAccountName", json!("default"));
    let sa = spec
        .get("serviceAccountName")
        .cloned()
        .unwrap_or(json!("default"));
    set_default(spec, "serviceAccount", sa);
    set_default(spec, "priority", json!(0));
    set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if let Some(list) = tolerations.as_array_mut() {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let present = list.iter().any(|t| {
                t.get("key").and_then(Value::as_str) == Some(key)
                    && t.get("effect")
                        .and_then(Value::as_str)
                        .is_none_or(|e| e == "NoExecute")
            });
            if !present {
                list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
}

/// `SetDefaults_PodSpec` and everything nested in it.
pub(crate) fn pod_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        // Host networking exposes container ports on the host.
        for list in ["initContainers", "containers"] {
            if let Some(Value::Array(cs)) = spec.get_mut(list) {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(Value::Array(ports)) = c.get_mut("ports") {
                        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                            if let Some(cp) = p.get("containerPort").cloned() {
                                set_default(p, "hostPort", cp);
                            }
                        }
                    }
                }
            }
        }
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
    if let Some(Value::Array(vols)) = spec.get_mut("volumes") {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            volume(v);
        }
    }
}

/// `IfNotPresent` for a pinned tag or digest, `Always` for `:latest` or no tag.
pub(crate) fn image_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    // The tag follows the last ':' after the last '/' (a registry port is not a tag).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn container(c: &mut Map<String, Value>) {
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    set_default(c, "imagePullPolicy", json!(image_pull_policy(&image)));
    set_default(c, "resources", json!({}));
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = existing(c, probe) {
            set_default(p, "timeoutSeconds", json!(1));
            set_default(p, "periodSeconds", json!(10));
            set_default(p, "successThreshold", json!(1));
            set_default(p, "failureThreshold", json!(3));
            handler(p);
        }
    }
    if let Some(lc) = existing(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = existing(lc, hook) {
                handler(h);
            }
        }
    }
    if let Some(Value::Array(env)) = c.get_mut("env") {
        for e in env.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(fr) = existing(e, "valueFrom").and_then(|vf| existing(vf, "fieldRef")) {
                set_default(fr, "apiVersion", json!("v1"));
            }
        }
    }
}

fn handler(h: &mut Map<String, Value>) {
    if let Some(get) = existing(h, "httpGet") {
        set_default(get, "scheme", json!("HTTP"));
        set_default(get, "path", json!("/"));
    }
    if let Some(grpc) = existing(h, "grpc") {
        set_default(grpc, "service", json!(""));
    }
}

fn volume(v: &mut Map<String, Value>) {
    for source in ["configMap", "secret", "downwardAPI", "projected"] {
        if let Some(s) = existing(v, source) {
            set_default(s, "defaultMode", json!(420));
            if source == "downwardAPI"
                && let Some(Value::Array(items)) = s.get_mut("items")
            {
                for i in items.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(fr) = existing(i, "fieldRef") {
                        set_default(fr, "apiVersion", json!("v1"));
                    }
                }
            }
        }
    }
    if let Some(hp) = existing(v, "hostPath") {
        set_default(hp, "type", json!(""));
    }
    if let Some(iscsi) = existing(v, "iscsi") {
        set_default(iscsi, "iscsiInterface", json!("default"));
    }
}

#[cfg(test)]
mod tests {
    use super::image_pull_policy;

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:latest"), "Always");
        assert_eq!(image_pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(image_pull_policy("registry:5000/app"), "Always");
        assert_eq!(image_pull_policy("registry:5000/app:v1"), "IfNotPresent");
        assert_eq!(image_pull_policy("app@sha256:abcd"), "IfNotPresent");
    }
}
