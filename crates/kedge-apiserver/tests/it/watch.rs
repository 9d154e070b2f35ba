//! Watches through raw requests: initial events, resume from a
//! resourceVersion, selectors, bookmarks with sendInitialEvents, and 410
//! after compaction.

use serde_json::Value;

use crate::Cluster;

fn events(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn create_cm(c: &Cluster, name: &str, labels: &str) {
    c.stdin_ok(&["create", "-f", "-"], &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default, labels: {{{labels}}}}}\n"));
}

#[test]
fn watch_resumes_from_a_resource_version() {
    let Some(c) = Cluster::start() else { return };
    create_cm(&c, "w1", "app: a");
    let list = c.raw("/api/v1/namespaces/default/configmaps");
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    create_cm(&c, "w2", "app: b");
    c.ok(&["label", "cm", "w2", "app=a", "--overwrite"]);
    c.ok(&["delete", "cm", "w1"]);
    let out = c.ok(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1"
        ),
    ]);
    let evs = events(&out);
    let kinds: Vec<(&str, &str)> = evs
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![("ADDED", "w2"), ("MODIFIED", "w2"), ("DELETED", "w1")]
    );
    let rvs: Vec<u64> = evs
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");

    // With a label selector, w2 starting to match is an ADDED event.
    let out = c.ok(&["get", "--raw", &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&labelSelector=app%3Da&timeoutSeconds=1")]);
    let kinds: Vec<(String, String)> = events(&out)
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().into(),
                e["object"]["metadata"]["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ADDED".to_string(), "w2".to_string()),
            ("DELETED".into(), "w1".into())
        ]
    );
}

#[test]
fn initial_events_end_with_a_bookmark() {
    let Some(c) = Cluster::start() else { return };
    create_cm(&c, "i1", "x: z");
    let out = c.ok(&["get", "--raw", "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=0&timeoutSeconds=1"]);
    let evs = events(&out);
    let added: Vec<&str> = evs
        .iter()
        .filter(|e| e["type"] == "ADDED")
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        added.contains(&"i1") && added.contains(&"kube-root-ca.crt"),
        "{added:?}"
    );
    let end = evs
        .iter()
        .position(|e| {
            e["type"] == "BOOKMARK"
                && e["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"
        })
        .expect("initial-events-end bookmark");
    assert!(evs[..end].iter().all(|e| e["type"] == "ADDED"));
    let err = c.fails(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true",
    ]);
    assert!(err.contains("sendInitialEvents"), "{err}");
}

#[test]
fn compacted_history_gives_410_expired() {
    let Some(c) = Cluster::start() else { return };
    create_cm(&c, "old", "a: b");
    let rv = c.raw("/api/v1/namespaces/default/configmaps")["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    c.ok(&["label", "cm", "old", "a=c", "--overwrite"]);
    c.ok(&["label", "cm", "old", "a=d", "--overwrite"]);
    let store = c.handle().store().clone();
    let target = store.current_revision();
    c.rt.block_on(store.compact(target)).unwrap();
    let out = c.ok(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={}&timeoutSeconds=1",
            rv - 1
        ),
    ]);
    let evs = events(&out);
    assert_eq!(evs.len(), 1, "{out}");
    assert_eq!(evs[0]["type"], "ERROR");
    assert_eq!(evs[0]["object"]["code"], 410);
    assert_eq!(evs[0]["object"]["reason"], "Expired");
    // A consistent list at the compacted revision is gone too.
    let err = c.fails(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/default/configmaps?resourceVersion={}&resourceVersionMatch=Exact",
            rv - 1
        ),
    ]);
    assert!(
        err.contains("too old resource version")
            || err.contains("Expired")
            || err.contains("410")
            || err.contains("Gone"),
        "{err}"
    );
}

#[test]
fn kubectl_get_watch_prints_table_rows() {
    let Some(c) = Cluster::start() else { return };
    create_cm(&c, "t1", "a: b");
    let mut child = std::process::Command::new(&c.kubectl)
        .arg("--kubeconfig")
        .arg(c.kubeconfig())
        .args(["get", "cm", "-w", "--request-timeout=60s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let guard = Kill(child);
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    // Header and the existing rows come from the initial LIST.
    while let Some(Ok(line)) = lines.next() {
        seen.push(line.clone());
        if line.starts_with("t1 ") {
            break;
        }
    }
    assert!(
        seen[0].starts_with("NAME") && seen[0].contains("DATA"),
        "{seen:?}"
    );
    create_cm(&c, "t2", "a: b");
    let mut got_t2 = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("t2 ") {
            got_t2 = true;
            break;
        }
    }
    assert!(got_t2, "the watch printed the new row");
    drop(guard);
}
