//! `Table` output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`)
//! with kubectl's usual columns for the common kinds and NAME/AGE (or NAME
//! and CREATED AT, like the real server's default) for everything else.
//! Rows carry `PartialObjectMetadata` by default (`includeObject=Metadata`),
//! which kubectl needs for `-A` and `--show-labels`.

use serde_json::{Value, json};

use crate::catalog::ResourceInfo;
use crate::handlers::Query;
use crate::object;

type Cell = fn(&Value) -> Value;

struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    priority: u8,
    description: &'static str,
    cell: Cell,
}

const fn col(name: &'static str, kind: &'static str, priority: u8, cell: Cell) -> Column {
    Column {
        name,
        kind,
        format: "",
        priority,
        description: "",
        cell,
    }
}

fn name_cell(o: &Value) -> Value {
    json!(object::name(o))
}

fn age_cell(o: &Value) -> Value {
    match object::meta_str(o, "creationTimestamp").and_then(object::age_seconds) {
        Some(s) => json!(object::human_duration(s)),
        None => json!("<unknown>"),
    }
}

fn created_at(o: &Value) -> Value {
    json!(object::meta_str(o, "creationTimestamp").unwrap_or(""))
}

fn int_at(o: &Value, p: &str) -> i64 {
    o.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

fn str_at<'a>(o: &'a Value, p: &str) -> &'a str {
    o.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn count_map(o: &Value, p: &str) -> usize {
    o.pointer(p)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

fn none_if_empty(s: String) -> Value {
    if s.is_empty() {
        json!("<none>")
    } else {
        json!(s)
    }
}

fn containers(o: &Value, p: &str) -> Vec<Value> {
    o.pointer(p)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn join_field(list: &[Value], field: &str) -> String {
    list.iter()
        .filter_map(|c| c.get(field).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(",")
}

fn selector_string(o: &Value, p: &str) -> Value {
    match o.pointer(p) {
        Some(s) if s.get("matchLabels").is_some() || s.get("matchExpressions").is_some() => {
            none_if_empty(crate::selector::LabelSelector::to_string_from_match_labels(
                s,
            ))
        }
        Some(Value::Object(m)) => none_if_empty(
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => json!("<none>"),
    }
}

fn service_ports(o: &Value) -> Value {
    let ports = containers(o, "/spec/ports");
    let s: Vec<String> = ports
        .iter()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) => format!("{port}:{np}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    none_if_empty(s.join(","))
}

fn columns(info: &ResourceInfo) -> Vec<Column> {
    let name = Column {
        name: "Name",
        kind: "string",
        format: "name",
        priority: 0,
        description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
        cell: name_cell,
    };
    let age = Column {
        name: "Age",
        kind: "string",
        format: "",
        priority: 0,
        description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
        cell: age_cell,
    };
    let mut cols = vec![name];
    let extra: Vec<Column> = match (info.group.as_str(), info.plural.as_str()) {
        ("", "namespaces") => vec![col("Status", "string", 0, |o| {
            json!(str_at(o, "/status/phase"))
        })],
        ("", "configmaps") => vec![col("Data", "integer", 0, |o| {
            json!(count_map(o, "/data") + count_map(o, "/binaryData"))
        })],
        ("", "secrets") => vec![
            col("Type", "string", 0, |o| json!(str_at(o, "/type"))),
            col("Data", "integer", 0, |o| json!(count_map(o, "/data"))),
        ],
        ("", "serviceaccounts") => vec![col("Secrets", "integer", 0, |o| {
            json!(containers(o, "/secrets").len())
        })],
        ("", "pods") => vec![
            col("Ready", "string", 0, |o| {
                let total = containers(o, "/spec/containers").len();
                let ready = containers(o, "/status/containerStatuses")
                    .iter()
                    .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                    .count();
                json!(format!("{ready}/{total}"))
            }),
            col("Status", "string", 0, |o| {
                if object::meta_str(o, "deletionTimestamp").is_some() {
                    return json!("Terminating");
                }
                let reason = str_at(o, "/status/reason");
                if !reason.is_empty() {
                    return json!(reason);
                }
                let phase = str_at(o, "/status/phase");
                json!(if phase.is_empty() { "Pending" } else { phase })
            }),
            col("Restarts", "string", 0, |o| {
                let n: i64 = containers(o, "/status/containerStatuses")
                    .iter()
                    .map(|c| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0))
                    .sum();
                json!(n.to_string())
            }),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
            col("IP", "string", 1, |o| {
                none_if_empty(str_at(o, "/status/podIP").to_string())
            }),
            col("Node", "string", 1, |o| {
                none_if_empty(str_at(o, "/spec/nodeName").to_string())
            }),
            col("Nominated Node", "string", 1, |o| {
                none_if_empty(str_at(o, "/status/nominatedNodeName").to_string())
            }),
            col("Readiness Gates", "string", 1, |_| json!("<none>")),
        ],
        ("apps", "deployments") => vec![
            col("Ready", "string", 0, |o| {
                json!(format!(
                    "{}/{}",
                    int_at(o, "/status/readyReplicas"),
                    o.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                ))
            }),
            col("Up-to-date", "integer", 0, |o| {
                json!(int_at(o, "/status/updatedReplicas"))
            }),
            col("Available", "integer", 0, |o| {
                json!(int_at(o, "/status/availableReplicas"))
            }),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
            col("Containers", "string", 1, |o| {
                json!(join_field(
                    &containers(o, "/spec/template/spec/containers"),
                    "name"
                ))
            }),
            col("Images", "string", 1, |o| {
                json!(join_field(
                    &containers(o, "/spec/template/spec/containers"),
                    "image"
                ))
            }),
            col("Selector", "string", 1, |o| {
                selector_string(o, "/spec/selector")
            }),
        ],
        ("apps", "replicasets") | ("", "replicationcontrollers") => vec![
            col("Desired", "integer", 0, |o| {
                json!(
                    o.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )
            }),
            col("Current", "integer", 0, |o| {
                json!(int_at(o, "/status/replicas"))
            }),
            col("Ready", "integer", 0, |o| {
                json!(int_at(o, "/status/readyReplicas"))
            }),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
            col("Containers", "string", 1, |o| {
                json!(join_field(
                    &containers(o, "/spec/template/spec/containers"),
                    "name"
                ))
            }),
            col("Images", "string", 1, |o| {
                json!(join_field(
                    &containers(o, "/spec/template/spec/containers"),
                    "image"
                ))
            }),
            col("Selector", "string", 1, |o| {
                selector_string(o, "/spec/selector")
            }),
        ],
        ("apps", "statefulsets") => vec![
            col("Ready", "string", 0, |o| {
                json!(format!(
                    "{}/{}",
                    int_at(o, "/status/readyReplicas"),
                    o.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                ))
            }),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
            col("Containers", "string", 1, |o| {
                json!(join_field(
                    &containers(o, "/spec/template/spec/containers"),
                    "name"
                ))
            }),
            col("Images", "string", 1, |o| {
                json!(join_field(
                    &containers(o, "/spec/template/spec/containers"),
                    "image"
                ))
            }),
        ],
        ("apps", "daemonsets") => vec![
            col("Desired", "integer", 0, |o| {
                json!(int_at(o, "/status/desiredNumberScheduled"))
            }),
            col("Current", "integer", 0, |o| {
                json!(int_at(o, "/status/currentNumberScheduled"))
            }),
            col("Ready", "integer", 0, |o| {
                json!(int_at(o, "/status/numberReady"))
            }),
            col("Up-to-date", "integer", 0, |o| {
                json!(int_at(o, "/status/updatedNumberScheduled"))
            }),
            col("Available", "integer", 0, |o| {
                json!(int_at(o, "/status/numberAvailable"))
            }),
            col("Node Selector", "string", 0, |o| {
                let s = o
                    .pointer("/spec/template/spec/nodeSelector")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(",")
                    });
                none_if_empty(s.unwrap_or_default())
            }),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
        ],
        ("", "services") => vec![
            col("Type", "string", 0, |o| {
                json!(match str_at(o, "/spec/type") {
                    "" => "ClusterIP",
                    t => t,
                })
            }),
            col("Cluster-IP", "string", 0, |o| {
                none_if_empty(str_at(o, "/spec/clusterIP").to_string())
            }),
            col("External-IP", "string", 0, |o| {
                let ips: Vec<String> = containers(o, "/spec/externalIPs")
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect();
                none_if_empty(ips.join(","))
            }),
            col("Port(s)", "string", 0, service_ports),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
            col("Selector", "string", 1, |o| {
                selector_string(o, "/spec/selector")
            }),
        ],
        ("batch", "jobs") => vec![
            col("Status", "string", 0, |o| {
                let conds = containers(o, "/status/conditions");
                let has = |t: &str| {
                    conds.iter().any(|c| {
                        c.get("type").and_then(Value::as_str) == Some(t)
                            && c.get("status").and_then(Value::as_str) == Some("True")
                    })
                };
                json!(if has("Complete") {
                    "Complete"
                } else if has("Failed") {
                    "Failed"
                } else {
                    "Running"
                })
            }),
            col("Completions", "string", 0, |o| {
                json!(format!(
                    "{}/{}",
                    int_at(o, "/status/succeeded"),
                    o.pointer("/spec/completions")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                ))
            }),
            col("Duration", "string", 0, |_| json!("")),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
        ],
        ("batch", "cronjobs") => vec![
            col("Schedule", "string", 0, |o| {
                json!(str_at(o, "/spec/schedule"))
            }),
            col("Timezone", "string", 0, |o| {
                none_if_empty(str_at(o, "/spec/timeZone").to_string())
            }),
            col("Suspend", "boolean", 0, |o| {
                json!(
                    o.pointer("/spec/suspend")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                )
            }),
            col("Active", "integer", 0, |o| {
                json!(containers(o, "/status/active").len())
            }),
            col("Last Schedule", "string", 0, |o| {
                match o
                    .pointer("/status/lastScheduleTime")
                    .and_then(Value::as_str)
                    .and_then(object::age_seconds)
                {
                    Some(s) => json!(object::human_duration(s)),
                    None => json!("<none>"),
                }
            }),
            Column {
                name: "Age",
                ..col("Age", "string", 0, age_cell)
            },
        ],
        ("", "events") => vec![],
        ("networking.k8s.io", "ingresses") => vec![
            col("Class", "string", 0, |o| {
                none_if_empty(str_at(o, "/spec/ingressClassName").to_string())
            }),
            col("Hosts", "string", 0, |o| {
                let hosts: Vec<String> = containers(o, "/spec/rules")
                    .iter()
                    .filter_map(|r| r.get("host").and_then(Value::as_str).map(String::from))
                    .collect();
                json!(if hosts.is_empty() {
                    "*".to_string()
                } else {
                    hosts.join(",")
                })
            }),
            col("Address", "string", 0, |_| json!("")),
            col("Ports", "string", 0, |o| {
                json!(if containers(o, "/spec/tls").is_empty() {
                    "80"
                } else {
                    "80, 443"
                })
            }),
        ],
        ("", "persistentvolumeclaims") => vec![
            col("Status", "string", 0, |o| {
                json!(match str_at(o, "/status/phase") {
                    "" => "Pending",
                    p => p,
                })
            }),
            col("Volume", "string", 0, |o| {
                json!(str_at(o, "/spec/volumeName"))
            }),
            col("Capacity", "string", 0, |o| {
                json!(str_at(o, "/status/capacity/storage"))
            }),
            col("Access Modes", "string", 0, |_| json!("")),
            col("StorageClass", "string", 0, |o| {
                none_if_empty(str_at(o, "/spec/storageClassName").to_string())
            }),
        ],
        ("rbac.authorization.k8s.io", "rolebindings")
        | ("rbac.authorization.k8s.io", "clusterrolebindings") => {
            vec![col("Role", "string", 0, |o| {
                json!(format!(
                    "{}/{}",
                    str_at(o, "/roleRef/kind"),
                    str_at(o, "/roleRef/name")
                ))
            })]
        }
        ("coordination.k8s.io", "leases") => vec![col("Holder", "string", 0, |o| {
            json!(str_at(o, "/spec/holderIdentity"))
        })],
        ("apiextensions.k8s.io", _) | ("rbac.authorization.k8s.io", _) => {
            vec![Column {
                name: "Created At",
                kind: "date",
                format: "",
                priority: 0,
                description: "Creation timestamp",
                cell: created_at,
            }]
        }
        _ => vec![],
    };
    if matches!((info.group.as_str(), info.plural.as_str()), ("", "events")) {
        return vec![
            col("Last Seen", "string", 0, |o| {
                let ts = o
                    .get("lastTimestamp")
                    .and_then(Value::as_str)
                    .or_else(|| o.get("eventTime").and_then(Value::as_str));
                match ts.and_then(object::age_seconds) {
                    Some(s) => json!(object::human_duration(s)),
                    None => json!("<unknown>"),
                }
            }),
            col("Type", "string", 0, |o| json!(str_at(o, "/type"))),
            col("Reason", "string", 0, |o| json!(str_at(o, "/reason"))),
            col("Object", "string", 0, |o| {
                json!(format!(
                    "{}/{}",
                    str_at(o, "/involvedObject/kind").to_lowercase(),
                    str_at(o, "/involvedObject/name")
                ))
            }),
            col("Message", "string", 0, |o| json!(str_at(o, "/message"))),
        ];
    }
    let has_age = extra
        .iter()
        .any(|c| c.name == "Age" || c.name == "Created At");
    cols.extend(extra);
    if !has_age {
        cols.push(age);
    }
    cols
}

/// Builds a Table of `objects`.
pub(crate) fn table(
    info: &ResourceInfo,
    objects: &[Value],
    resource_version: &str,
    query: &Query,
    continue_token: Option<&str>,
    single: bool,
) -> Value {
    if let Some(t) = crate::crd::table(info, objects, resource_version, query, continue_token) {
        return t;
    }
    let cols = columns(info);
    let defs: Vec<Value> = cols
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    let include = query.get("includeObject").unwrap_or("Metadata");
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = cols.iter().map(|c| (c.cell)(o)).collect();
            let mut row = json!({"cells": cells});
            match include {
                "None" => {}
                "Object" => row["object"] = o.clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
                    })
                }
            }
            row
        })
        .collect();
    let mut meta = json!({"resourceVersion": resource_version});
    if let Some(c) = continue_token {
        meta["continue"] = json!(c);
    }
    let _ = single;
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": defs,
        "rows": rows,
    })
}
