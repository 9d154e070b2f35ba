//! Pure status computations of the simulator: from a live object to the
//! status its controller would report once the (virtual) pods settled, or
//! to a failing or stuck status as the simulate annotation asks. Condition
//! times are carried over from the live status while a condition keeps its
//! status (and, for `lastUpdateTime`, its reason and message).

use serde_json::{Map, Value, json};

use super::{Outcome, outcome};
use crate::object;

fn int(obj: &Value, p: &str, default: i64) -> i64 {
    obj.pointer(p).and_then(Value::as_i64).unwrap_or(default)
}

fn generation(obj: &Value) -> i64 {
    int(obj, "/metadata/generation", 1)
}

/// Inserts `key: n` unless zero (Go's `omitempty` on counters).
fn counter(m: &mut Map<String, Value>, key: &str, n: i64) {
    if n != 0 {
        m.insert(key.into(), json!(n));
    }
}

fn old_condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// A condition; `with_update` adds `lastUpdateTime` (Deployments).
fn condition(
    obj: &Value,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    with_update: bool,
) -> Value {
    let now = object::now_rfc3339();
    let old = old_condition(obj, kind);
    let same_status = old.is_some_and(|c| c.get("status").and_then(Value::as_str) == Some(status));
    let same_all = same_status
        && old.is_some_and(|c| {
            c.get("reason").and_then(Value::as_str) == Some(reason)
                && c.get("message").and_then(Value::as_str) == Some(message)
        });
    let transition = match old {
        Some(c) if same_status => c.get("lastTransitionTime").cloned().unwrap_or(json!(now)),
        _ => json!(now),
    };
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("status".into(), json!(status));
    if with_update {
        let update = match old {
            Some(c) if same_all => c.get("lastUpdateTime").cloned().unwrap_or(json!(now)),
            _ => json!(now),
        };
        m.insert("lastUpdateTime".into(), update);
    }
    m.insert("lastTransitionTime".into(), transition);
    m.insert("reason".into(), json!(reason));
    m.insert("message".into(), json!(message));
    Value::Object(m)
}

/// Deployment status for the ReplicaSet `rs_name`.
pub(crate) fn deployment(d: &Value, rs_name: &str) -> Option<Value> {
    let replicas = int(d, "/spec/replicas", 1);
    let mut s = Map::new();
    s.insert("observedGeneration".into(), json!(generation(d)));
    counter(&mut s, "replicas", replicas);
    counter(&mut s, "updatedReplicas", replicas);
    let conditions = match outcome(d) {
        Outcome::Succeed => {
            counter(&mut s, "readyReplicas", replicas);
            counter(&mut s, "availableReplicas", replicas);
            vec![
                condition(
                    d,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    true,
                ),
                condition(
                    d,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                    true,
                ),
            ]
        }
        Outcome::Progressing => {
            counter(&mut s, "unavailableReplicas", replicas);
            vec![
                condition(
                    d,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    true,
                ),
                condition(
                    d,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{rs_name}\" is progressing."),
                    true,
                ),
            ]
        }
        Outcome::Fail => {
            counter(&mut s, "unavailableReplicas", replicas);
            vec![
                condition(
                    d,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    true,
                ),
                condition(
                    d,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                    true,
                ),
            ]
        }
    };
    s.insert("conditions".into(), Value::Array(conditions));
    Some(Value::Object(s))
}

/// ReplicaSet status.
pub(crate) fn replica_set(rs: &Value) -> Option<Value> {
    let replicas = int(rs, "/spec/replicas", 1);
    let mut s = Map::new();
    s.insert("replicas".into(), json!(replicas));
    counter(&mut s, "fullyLabeledReplicas", replicas);
    if outcome(rs) == Outcome::Succeed {
        counter(&mut s, "readyReplicas", replicas);
        counter(&mut s, "availableReplicas", replicas);
    }
    s.insert("observedGeneration".into(), json!(generation(rs)));
    Some(Value::Object(s))
}

/// StatefulSet status: every replica current, updated and (unless asked
/// otherwise) ready.
pub(crate) fn stateful_set(sts: &Value) -> Option<Value> {
    let replicas = int(sts, "/spec/replicas", 1);
    let name = object::name(sts);
    let hash = super::pod_template_hash(sts.pointer("/spec/template").unwrap_or(&Value::Null));
    let revision = format!("{name}-{hash}");
    let mut s = Map::new();
    s.insert("observedGeneration".into(), json!(generation(sts)));
    s.insert("replicas".into(), json!(replicas));
    if outcome(sts) == Outcome::Succeed {
        counter(&mut s, "readyReplicas", replicas);
        counter(&mut s, "availableReplicas", replicas);
    } else {
        s.insert("availableReplicas".into(), json!(0));
    }
    counter(&mut s, "currentReplicas", replicas);
    counter(&mut s, "updatedReplicas", replicas);
    s.insert("currentRevision".into(), json!(revision));
    s.insert("updateRevision".into(), json!(revision));
    s.insert("collisionCount".into(), json!(0));
    Some(Value::Object(s))
}

/// DaemonSet status on one virtual node.
pub(crate) fn daemon_set(ds: &Value) -> Option<Value> {
    let ready = outcome(ds) == Outcome::Succeed;
    let mut s = Map::new();
    s.insert("currentNumberScheduled".into(), json!(1));
    s.insert("numberMisscheduled".into(), json!(0));
    s.insert("desiredNumberScheduled".into(), json!(1));
    s.insert("numberReady".into(), json!(if ready { 1 } else { 0 }));
    s.insert("observedGeneration".into(), json!(generation(ds)));
    s.insert("updatedNumberScheduled".into(), json!(1));
    if ready {
        s.insert("numberAvailable".into(), json!(1));
    } else {
        s.insert("numberUnavailable".into(), json!(1));
    }
    Some(Value::Object(s))
}

/// Job status: complete, failed, or active forever.
pub(crate) fn job(j: &Value) -> Option<Value> {
    if j.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let now = object::now_rfc3339();
    let start = j
        .pointer("/status/startTime")
        .cloned()
        .unwrap_or(json!(now));
    let completions = int(j, "/spec/completions", 1);
    let parallelism = int(j, "/spec/parallelism", 1);
    let mut s = Map::new();
    s.insert("startTime".into(), start);
    match outcome(j) {
        Outcome::Succeed => {
            let done = j
                .pointer("/status/completionTime")
                .cloned()
                .unwrap_or(json!(now));
            s.insert("completionTime".into(), done);
            s.insert("succeeded".into(), json!(completions));
            s.insert("ready".into(), json!(0));
            s.insert("terminating".into(), json!(0));
            s.insert("uncountedTerminatedPods".into(), json!({}));
            s.insert(
                "conditions".into(),
                json!([
                    condition(
                        j,
                        "SuccessCriteriaMet",
                        "True",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                        false
                    ),
                    condition(
                        j,
                        "Complete",
                        "True",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                        false
                    ),
                ]),
            );
        }
        Outcome::Fail => {
            let backoff = int(j, "/spec/backoffLimit", 6);
            s.insert("failed".into(), json!(backoff + 1));
            s.insert("ready".into(), json!(0));
            s.insert("terminating".into(), json!(0));
            s.insert("uncountedTerminatedPods".into(), json!({}));
            s.insert(
                "conditions".into(),
                json!([
                    condition(
                        j,
                        "FailureTarget",
                        "True",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        false
                    ),
                    condition(
                        j,
                        "Failed",
                        "True",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        false
                    ),
                ]),
            );
        }
        Outcome::Progressing => {
            s.insert("active".into(), json!(parallelism.min(completions).max(1)));
            s.insert("ready".into(), json!(0));
            s.insert("terminating".into(), json!(0));
            s.insert("uncountedTerminatedPods".into(), json!({}));
        }
    }
    Some(Value::Object(s))
}

/// PersistentVolumeClaim status: Bound with the requested size.
pub(crate) fn pvc(c: &Value) -> Option<Value> {
    if outcome(c) != Outcome::Succeed {
        return Some(json!({"phase": "Pending"}));
    }
    let mut s = Map::new();
    s.insert("phase".into(), json!("Bound"));
    s.insert(
        "accessModes".into(),
        c.pointer("/spec/accessModes")
            .cloned()
            .unwrap_or(json!(["ReadWriteOnce"])),
    );
    if let Some(storage) = c.pointer("/spec/resources/requests/storage") {
        s.insert("capacity".into(), json!({"storage": storage}));
    }
    Some(Value::Object(s))
}

/// LoadBalancer Service status: one ingress on the loopback address.
pub(crate) fn service(svc: &Value) -> Option<Value> {
    if svc.pointer("/spec/type").and_then(Value::as_str) != Some("LoadBalancer") {
        return None;
    }
    if outcome(svc) != Outcome::Succeed {
        return Some(json!({"loadBalancer": {}}));
    }
    Some(json!({"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_status_keeps_times() {
        let d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 3}});
        let s = deployment(&d, "web-abc").unwrap();
        assert_eq!(s["availableReplicas"], json!(3));
        assert_eq!(s["observedGeneration"], json!(2));
        let mut d2 = d.clone();
        d2["status"] = s.clone();
        assert_eq!(deployment(&d2, "web-abc").unwrap(), s);
    }

    #[test]
    fn failing_job() {
        let j = json!({"metadata": {"annotations": {"kedge.dev/simulate": "fail"}}, "spec": {"backoffLimit": 2}});
        let s = job(&j).unwrap();
        assert_eq!(s["failed"], json!(3));
        assert_eq!(s["conditions"][1]["type"], json!("Failed"));
    }

    #[test]
    fn zero_replicas_omit_counters() {
        let s = replica_set(&json!({"spec": {"replicas": 0}})).unwrap();
        assert_eq!(s, json!({"replicas": 0, "observedGeneration": 1}));
    }
}
