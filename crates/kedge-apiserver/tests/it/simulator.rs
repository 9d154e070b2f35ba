//! The workload simulator through kubectl: `rollout status` and `wait`
//! succeed as on a real cluster, the Deployment controller's ReplicaSets
//! appear (pod-template-hash, owner reference, revisions), Jobs complete,
//! PVCs bind, LoadBalancers get an address; the `kedge.dev/simulate`
//! annotation makes workloads fail or stay progressing; the simulator can be
//! turned off.

use serde_json::Value;

use crate::Cluster;

pub(crate) const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
"#;

fn get(cluster: &Cluster, what: &str) -> Value {
    serde_json::from_str(&cluster.ok(&["get", what, "-o", "json"])).unwrap()
}

fn with_annotation(manifest: &str, value: &str) -> String {
    manifest.replacen(
        "metadata:\n  name:",
        &format!("metadata:\n  annotations: {{kedge.dev/simulate: {value}}}\n  name:"),
        1,
    )
}

#[test]
fn deployments_roll_out() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stdin_ok(&["apply", "-f", "-"], DEPLOYMENT);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    cluster.ok(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=30s",
    ]);

    let d = get(&cluster, "deployment/web");
    let s = &d["status"];
    assert_eq!(
        (
            s["replicas"].as_i64(),
            s["readyReplicas"].as_i64(),
            s["availableReplicas"].as_i64(),
            s["updatedReplicas"].as_i64()
        ),
        (Some(2), Some(2), Some(2), Some(2))
    );
    assert_eq!(s["observedGeneration"], d["metadata"]["generation"]);
    let progressing = s["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap();
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let d_full: Value = serde_json::from_str(&cluster.ok(&[
        "get",
        "deployment/web",
        "-o",
        "json",
        "--show-managed-fields",
    ]))
    .unwrap();
    let managers: Vec<&str> = d_full["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"kedge-simulator"), "{managers:?}");

    let rs_list = get(&cluster, "replicasets");
    let items = rs_list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let rs = &items[0];
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["uid"],
        d["metadata"]["uid"]
    );
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.status.readyReplicas}=2",
        &format!("replicaset/web-{hash}"),
        "--timeout=30s",
    ]);

    // A new template: a second ReplicaSet, the first scaled down.
    cluster.ok(&["set", "image", "deployment/web", "nginx=nginx:1.28"]);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}=2",
        "deployment/web",
        "--timeout=30s",
    ]);
    let rs_list = get(&cluster, "replicasets");
    let mut replicas: Vec<(i64, String)> = rs_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["spec"]["replicas"].as_i64().unwrap(),
                r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    replicas.sort();
    assert_eq!(replicas, vec![(0, "1".to_string()), (2, "2".to_string())]);

    // A deleted ReplicaSet is recreated by its Deployment.
    let current = get(&cluster, "replicasets")["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["spec"]["replicas"] == 2)
        .map(|r| {
            (
                r["metadata"]["name"].as_str().unwrap().to_string(),
                r["metadata"]["uid"].clone(),
            )
        })
        .unwrap();
    // `--wait=false`: kubectl's own deletion wait races with a controller
    // that recreates the object under the same name. It GETs the old
    // object (still terminating), then LISTs by name; when the replacement
    // already exists by then, it watches for a DELETED event that never
    // comes (and waits a week by default). A real cluster's Deployment
    // controller is slower, not different.
    cluster.ok(&[
        "delete",
        "replicaset",
        &current.0,
        "--cascade=orphan",
        "--wait=false",
    ]);
    let old_uid = current.1.as_str().unwrap().to_string();
    cluster.rt.block_on(async {
        let client = crate::kube_client::client(&cluster).await;
        let api: kube::Api<k8s_openapi::api::apps::v1::ReplicaSet> =
            kube::Api::namespaced(client, "default");
        let replaced = kube::runtime::wait::await_condition(
            api,
            &current.0,
            |rs: Option<&k8s_openapi::api::apps::v1::ReplicaSet>| {
                rs.is_some_and(|rs| {
                    rs.metadata.uid.as_deref() != Some(old_uid.as_str())
                        && rs.status.as_ref().and_then(|s| s.ready_replicas) == Some(2)
                })
            },
        );
        tokio::time::timeout(std::time::Duration::from_secs(30), replaced)
            .await
            .expect("a new, ready ReplicaSet within 30 s")
            .expect("await condition");
    });

    // Scaling goes through to the ReplicaSet and the status.
    cluster.ok(&["scale", "deployment/web", "--replicas=4"]);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.status.availableReplicas}=4",
        "deployment/web",
        "--timeout=30s",
    ]);

    // Undo goes back to the first template, whose ReplicaSet becomes revision 3.
    let history = cluster.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");
    cluster.ok(&["rollout", "undo", "deployment/web"]);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}=3",
        "deployment/web",
        "--timeout=30s",
    ]);
    let d = get(&cluster, "deployment/web");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    let rs_list = get(&cluster, "replicasets");
    let items = rs_list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the first ReplicaSet is reused");
    let first = items
        .iter()
        .find(|r| r["metadata"]["name"] == format!("web-{hash}"))
        .unwrap();
    assert_eq!(first["spec"]["replicas"], 4);
    assert_eq!(
        first["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
}

#[test]
fn other_workloads_become_ready() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stdin_ok(
        &["apply", "-f", "-"],
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: agent:1}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: perl:5.34.0}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
"#,
    );
    cluster.ok(&["rollout", "status", "statefulset/db", "--timeout=30s"]);
    cluster.ok(&["rollout", "status", "daemonset/agent", "--timeout=30s"]);
    cluster.ok(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=30s",
    ]);
    assert_eq!(get(&cluster, "job/pi")["status"]["succeeded"], 2);
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/data",
        "--timeout=30s",
    ]);
    let pvc = get(&cluster, "pvc/data");
    assert_eq!(pvc["status"]["capacity"]["storage"], "1Gi");
    let pv_name = format!("pvc-{}", pvc["metadata"]["uid"].as_str().unwrap());
    assert_eq!(pvc["spec"]["volumeName"], pv_name.as_str());
    let pv = get(&cluster, &format!("pv/{pv_name}"));
    assert_eq!(pv["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"]);
    assert_eq!(pv["spec"]["capacity"]["storage"], "1Gi");
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        &format!("pv/{pv_name}"),
        "--timeout=30s",
    ]);
    cluster.ok(&["delete", "pvc", "data"]);
    cluster.ok(&[
        "wait",
        "--for=delete",
        &format!("pv/{pv_name}"),
        "--timeout=30s",
    ]);
    cluster.ok(&[
        "wait",
        "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=127.0.0.1",
        "service/lb",
        "--timeout=30s",
    ]);
    assert_eq!(
        get(&cluster, "statefulset/db")["status"]["readyReplicas"],
        3
    );
}

#[test]
fn simulate_annotation_drives_failures() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stdin_ok(&["apply", "-f", "-"], &with_annotation(DEPLOYMENT, "fail"));
    let out = cluster.kubectl(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exceeded its progress deadline"), "{err}");
    let d = get(&cluster, "deployment/web");
    let progressing = d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap();
    assert_eq!(
        (
            progressing["status"].as_str(),
            progressing["reason"].as_str()
        ),
        (Some("False"), Some("ProgressDeadlineExceeded"))
    );

    // Removing the annotation lets it succeed.
    cluster.ok(&["annotate", "deployment/web", "kedge.dev/simulate-"]);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);

    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: bad\nspec:\n  backoffLimit: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox:1.36}]\n";
    cluster.stdin_ok(&["apply", "-f", "-"], &with_annotation(job, "fail"));
    cluster.ok(&["wait", "--for=condition=failed", "job/bad", "--timeout=30s"]);
    let j = get(&cluster, "job/bad");
    assert_eq!(j["status"]["failed"], 2);
    assert!(
        j["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] != "Complete")
    );
}

#[test]
fn simulate_progressing_never_becomes_available() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.stdin_ok(
        &["apply", "-f", "-"],
        &with_annotation(DEPLOYMENT, "progressing"),
    );
    cluster.ok(&[
        "wait",
        "--for=condition=Available=False",
        "deployment/web",
        "--timeout=30s",
    ]);
    let out = cluster.kubectl(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=2s",
    ]);
    assert!(
        !out.status.success(),
        "a progressing deployment is never Available"
    );
    let d = get(&cluster, "deployment/web");
    assert_eq!(d["status"]["unavailableReplicas"], 2);
    assert!(d["status"].get("readyReplicas").is_none());
}

#[test]
fn simulator_can_be_switched_off() {
    let Some(kubectl) = crate::kubectl_bin() else {
        return;
    };
    let cluster = Cluster::start_with(kubectl, |c| c.simulator = false);
    cluster.stdin_ok(&["apply", "-f", "-"], DEPLOYMENT);
    let out = cluster.kubectl(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=2s",
    ]);
    assert!(!out.status.success());
    assert!(
        get(&cluster, "deployment/web")
            .get("status")
            .is_none_or(|s| s.get("conditions").is_none())
    );
    assert!(
        get(&cluster, "replicasets")["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
