//! Built-in defaulting, data-driven: each `tests/fixtures/defaults/<case>/`
//! holds `input.json` (created through `kubectl create`) and
//! `expected.json`, the defaulted fields as a 1.33 server returns them. The
//! top-level keys of `expected.json` are compared (for `metadata`, only the
//! keys it lists). Placeholders stand for allocated values: `<clusterIP>`
//! (checked to be in 10.96.0.0/12), `<nodePort>` (30000-32767) and `<uid>`
//! (the object's uid).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde_json::Value;

use crate::Cluster;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/defaults")
}

fn read(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn in_service_cidr(ip: &str) -> bool {
    ip.parse::<Ipv4Addr>().is_ok_and(|a| {
        (u32::from_be_bytes([10, 96, 0, 0])..u32::from_be_bytes([10, 112, 0, 0]))
            .contains(&u32::from(a))
    })
}

/// Replaces placeholders in `expected` with the actual values, checking them.
fn resolve(expected: &mut Value, actual: &Value, uid: &str, case: &str, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e.iter_mut() {
                if let Some(av) = a.get(k) {
                    resolve(v, av, uid, case, &format!("{path}.{k}"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, (ev, av)) in e.iter_mut().zip(a).enumerate() {
                resolve(ev, av, uid, case, &format!("{path}[{i}]"));
            }
        }
        (e @ Value::String(_), a) => match e.as_str() {
            Some("<clusterIP>") => {
                let ip = a.as_str().unwrap_or_default();
                assert!(
                    in_service_cidr(ip),
                    "{case}: {path}: {ip} is not in 10.96.0.0/12"
                );
                *e = a.clone();
            }
            Some("<nodePort>") => {
                let port = a.as_i64().unwrap_or_default();
                assert!(
                    (30000..=32767).contains(&port),
                    "{case}: {path}: node port {port}"
                );
                *e = a.clone();
            }
            Some("<uid>") => *e = Value::String(uid.to_string()),
            _ => {}
        },
        _ => {}
    }
}

#[test]
fn fixtures_match_a_real_server() {
    let Some(kubectl) = crate::kubectl_bin() else {
        return;
    };
    let cluster = Cluster::start_with(kubectl, |c| c.simulator = false);
    cluster.stdin_ok(
        &["create", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"defaults"}}"#,
    );
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "fixtures missing");
    let mut failures = Vec::new();
    for dir in &cases {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read_to_string(dir.join("input.json")).unwrap();
        let out = cluster.stdin(
            &["create", "-n", "defaults", "-f", "-", "-o", "json"],
            &input,
        );
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let actual: Value = serde_json::from_slice(&out.stdout).unwrap();
        let uid = actual
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut expected = read(&dir.join("expected.json"));
        resolve(&mut expected, &actual, &uid, &case, "");
        for (key, want) in expected.as_object().unwrap() {
            let got = if key == "metadata" {
                let mut m = serde_json::Map::new();
                for k in want.as_object().unwrap().keys() {
                    m.insert(
                        k.clone(),
                        actual["metadata"].get(k).cloned().unwrap_or(Value::Null),
                    );
                }
                Value::Object(m)
            } else {
                actual.get(key).cloned().unwrap_or(Value::Null)
            };
            if &got != want {
                failures.push(format!(
                    "{case}: {key}\n  want {}\n  got  {}",
                    serde_json::to_string(want).unwrap(),
                    serde_json::to_string(&got).unwrap()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn replace_without_defaults_keeps_generation_and_allocations() {
    let Some(kubectl) = crate::kubectl_bin() else {
        return;
    };
    let cluster = Cluster::start_with(kubectl, |c| c.simulator = false);
    let deploy = std::fs::read_to_string(fixtures().join("deployment-minimal/input.json")).unwrap();
    cluster.stdin_ok(&["create", "-f", "-"], &deploy);
    cluster.stdin_ok(&["replace", "-f", "-"], &deploy);
    let d = cluster.raw("/apis/apps/v1/namespaces/default/deployments/web");
    assert_eq!(
        d["metadata"]["generation"], 1,
        "a replace that only drops defaults changes nothing"
    );
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);

    let svc = std::fs::read_to_string(fixtures().join("service-nodeport/input.json")).unwrap();
    cluster.stdin_ok(&["create", "-f", "-"], &svc);
    let before = cluster.raw("/api/v1/namespaces/default/services/np");
    cluster.stdin_ok(&["replace", "-f", "-"], &svc);
    let after = cluster.raw("/api/v1/namespaces/default/services/np");
    assert_eq!(before["spec"]["clusterIP"], after["spec"]["clusterIP"]);
    assert_eq!(
        before["spec"]["ports"][0]["nodePort"],
        after["spec"]["ports"][0]["nodePort"]
    );
}

#[test]
fn cluster_ips_are_unique_and_deterministic() {
    let Some(kubectl) = crate::kubectl_bin() else {
        return;
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let cluster = Cluster::start_with(kubectl.clone(), |c| c.simulator = false);
        let mut manifest = String::new();
        for i in 0..12 {
            manifest.push_str(&format!(
                "{{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{{\"name\":\"s{i}\"}},\"spec\":{{\"type\":\"NodePort\",\"ports\":[{{\"port\":80}}]}}}}\n"
            ));
        }
        cluster.stdin_ok(&["create", "-f", "-"], &manifest);
        let list = cluster.raw("/api/v1/namespaces/default/services");
        let mut ips: Vec<(String, String, i64)> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["metadata"]["name"].as_str().unwrap().to_string(),
                    s["spec"]["clusterIP"].as_str().unwrap().to_string(),
                    s["spec"]["ports"][0]["nodePort"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        ips.sort();
        let mut distinct: Vec<&String> = ips.iter().map(|(_, ip, _)| ip).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ips.len(), "cluster IPs are unique: {ips:?}");
        assert!(ips.iter().all(|(_, ip, _)| in_service_cidr(ip)));
        let mut ports: Vec<i64> = ips
            .iter()
            .filter(|(n, _, _)| n != "kubernetes")
            .map(|(_, _, p)| *p)
            .collect();
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), 12, "node ports are unique");
        runs.push(ips);
    }
    assert_eq!(
        runs[0], runs[1],
        "a fresh cluster allocates the same addresses"
    );
}
