//! Service defaults and allocations: type, session affinity, traffic
//! policies, port protocol and target port, IP families, and the cluster IP
//! and node ports, allocated deterministically (FNV-1a of `namespace/name`,
//! then linear probing past addresses in use) so that a fresh cluster given
//! the same manifests hands out the same addresses.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::{child, set_default};
use crate::catalog::ResourceInfo;
use crate::server::Api;
use crate::status::{ApiError, Cause};

/// The service CIDR: 10.96.0.0/12.
const CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const CIDR_SIZE: u32 = 1 << 20;
/// The node port range 30000-32767.
const NODE_PORT_BASE: u32 = 30000;
const NODE_PORT_SIZE: u32 = 2768;

fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    h
}

fn service_type(spec: &Map<String, Value>) -> &str {
    spec.get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

/// The field defaults of a Service (no allocation).
pub(crate) fn service(root: &mut Map<String, Value>) {
    let Some(spec) = child(root, "spec") else {
        return;
    };
    if spec
        .get("type")
        .is_none_or(|t| t.as_str().is_none_or(str::is_empty))
    {
        spec.insert("type".into(), json!("ClusterIP"));
    }
    let ty = service_type(spec).to_string();
    set_default(spec, "sessionAffinity", json!("None"));
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP")
        && let Some(cip) = child(spec, "sessionAffinityConfig").and_then(|c| child(c, "clientIP"))
    {
        set_default(cip, "timeoutSeconds", json!(10800));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
            let empty_target = match p.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if empty_target && let Some(port) = p.get("port").cloned() {
                p.insert("targetPort".into(), port);
            }
        }
    }
    if ty == "ExternalName" {
        return;
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer") {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let selectorless = spec
        .get("selector")
        .is_none_or(|s| s.as_object().is_none_or(Map::is_empty));
    if headless {
        set_default(spec, "clusterIPs", json!(["None"]));
        if selectorless {
            set_default(spec, "ipFamilyPolicy", json!("RequireDualStack"));
            set_default(spec, "ipFamilies", json!(["IPv4", "IPv6"]));
        }
    }
    set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    set_default(spec, "ipFamilies", json!(["IPv4"]));
}

/// Copies a live Service's allocations into an update that omits them.
pub(crate) fn carry_allocations(info: &ResourceInfo, old: &Value, new: &mut Value) {
    if !(info.group.is_empty() && info.kind == "Service") {
        return;
    }
    let (Some(old_spec), Some(new_spec)) = (
        old.get("spec").and_then(Value::as_object),
        new.get_mut("spec").and_then(Value::as_object_mut),
    ) else {
        return;
    };
    if service_type(new_spec) == "ExternalName" {
        return;
    }
    for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        let empty = match new_spec.get(field) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if empty && let Some(v) = old_spec.get(field) {
            new_spec.insert(field.into(), v.clone());
        }
    }
    if matches!(service_type(new_spec), "NodePort" | "LoadBalancer") {
        let old_ports = old_spec
            .get("ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(Value::Array(ports)) = new_spec.get_mut("ports") {
            for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                    continue;
                }
                let same = old_ports.iter().find(|o| {
                    o.get("port") == p.get("port")
                        && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                            == p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                });
                if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                    p.insert("nodePort".into(), np.clone());
                }
            }
        }
    }
}

fn invalid(info: &ResourceInfo, name: &str, field: &str, message: String) -> ApiError {
    ApiError::invalid(
        info,
        name,
        vec![Cause {
            reason: "FieldValueInvalid",
            message,
            field: field.into(),
        }],
    )
}

/// Allocates the cluster IP and node ports of a Service being created
/// (after [`service`] defaulting). Other kinds are left alone.
pub(crate) async fn allocate(
    api: &Api,
    info: &ResourceInfo,
    obj: &mut Value,
) -> Result<(), ApiError> {
    if !(info.group.is_empty() && info.kind == "Service") {
        return Ok(());
    }
    let list = api
        .store
        .list(kedge_store::ListOptions {
            prefix: info.key_prefix(),
            ..Default::default()
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut used_ips: HashSet<Ipv4Addr> = HashSet::new();
    let mut used_ports: HashSet<u32> = HashSet::new();
    used_ips.insert(Ipv4Addr::from(CIDR_BASE + 1));
    used_ips.insert(Ipv4Addr::from(CIDR_BASE + 10));
    for kv in &list.items {
        let Ok(svc) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        for ip in svc
            .pointer("/spec/clusterIPs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(Ok(a)) = ip.as_str().map(str::parse::<Ipv4Addr>) {
                used_ips.insert(a);
            }
        }
        for p in svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(np) = p.get("nodePort").and_then(Value::as_u64) {
                used_ports.insert(np as u32);
            }
        }
    }
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let seed = fnv1a(&format!("{ns}/{name}"));
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let ty = service_type(spec).to_string();
    if ty == "ExternalName" {
        return Ok(());
    }
    let requested = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if requested != "None" {
        let ip = if requested.is_empty() {
            let start = seed % (CIDR_SIZE - 2);
            (0..CIDR_SIZE - 2)
                .map(|i| Ipv4Addr::from(CIDR_BASE + 1 + (start + i) % (CIDR_SIZE - 2)))
                .find(|a| !used_ips.contains(a))
                .ok_or_else(|| ApiError::internal("the service IP range is full"))?
        } else {
            let ip: Ipv4Addr = requested.parse().map_err(|_| {
                invalid(info, &name, "spec.clusterIPs[0]", format!("Invalid value: \"{requested}\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
            })?;
            let n = u32::from(ip);
            if !(CIDR_BASE..CIDR_BASE + CIDR_SIZE).contains(&n) {
                return Err(invalid(
                    info,
                    &name,
                    "spec.clusterIPs",
                    format!(
                        "Invalid value: []string{{\"{requested}\"}}: failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
                    ),
                ));
            }
            if used_ips.contains(&ip) && requested != "10.96.0.1" {
                return Err(invalid(
                    info,
                    &name,
                    "spec.clusterIPs",
                    format!(
                        "Invalid value: []string{{\"{requested}\"}}: failed to allocate IP {requested}: provided IP is already allocated"
                    ),
                ));
            }
            ip
        };
        spec.insert("clusterIP".into(), json!(ip.to_string()));
        spec.insert("clusterIPs".into(), json!([ip.to_string()]));
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer")
        && spec
            .get("allocateLoadBalancerNodePorts")
            .and_then(Value::as_bool)
            != Some(false)
    {
        let mut next = seed % NODE_PORT_SIZE;
        if let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(np) = p
                    .get("nodePort")
                    .and_then(Value::as_u64)
                    .filter(|n| *n != 0)
                {
                    if used_ports.contains(&(np as u32)) {
                        return Err(invalid(
                            info,
                            &name,
                            "spec.ports[0].nodePort",
                            format!("Invalid value: {np}: provided port is already allocated"),
                        ));
                    }
                    used_ports.insert(np as u32);
                    continue;
                }
                let port = (0..NODE_PORT_SIZE)
                    .map(|i| NODE_PORT_BASE + (next + i) % NODE_PORT_SIZE)
                    .find(|p| !used_ports.contains(p))
                    .ok_or_else(|| ApiError::internal("the node port range is full"))?;
                used_ports.insert(port);
                next = (port - NODE_PORT_BASE + 1) % NODE_PORT_SIZE;
                p.insert("nodePort".into(), json!(port));
            }
        }
    }
    if ty == "LoadBalancer"
        && spec.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local")
        && spec.get("healthCheckNodePort").is_none_or(Value::is_null)
    {
        let port = (0..NODE_PORT_SIZE)
            .map(|i| NODE_PORT_BASE + (seed.rotate_left(7) % NODE_PORT_SIZE + i) % NODE_PORT_SIZE)
            .find(|p| !used_ports.contains(p))
            .ok_or_else(|| ApiError::internal("the node port range is full"))?;
        spec.insert("healthCheckNodePort".into(), json!(port));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_selectorless_is_dual_stack() {
        let mut s = json!({"spec": {"clusterIP": "None", "ports": [{"port": 80}]}});
        service(s.as_object_mut().unwrap());
        assert_eq!(s["spec"]["ipFamilyPolicy"], json!("RequireDualStack"));
        assert_eq!(s["spec"]["ports"][0]["targetPort"], json!(80));
    }

    #[test]
    fn external_name_has_no_ip_families() {
        let mut s = json!({"spec": {"type": "ExternalName", "externalName": "example.com"}});
        service(s.as_object_mut().unwrap());
        assert!(s["spec"].get("ipFamilies").is_none());
        assert_eq!(s["spec"]["sessionAffinity"], json!("None"));
    }
}
