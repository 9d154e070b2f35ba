//! Protobuf request bodies: kubectl ≥ 1.32 sends the objects of its
//! generator commands (`kubectl create namespace|configmap|secret|…`) as
//! `application/vnd.kubernetes.protobuf`. Each generator runs twice: once
//! for real (protobuf body) in one namespace, and once rendered client-side
//! (`--dry-run=client -o json`) and created from that JSON in another. The
//! two stored objects must be the same apart from identity and timestamps,
//! so the JSON path is the oracle for the protobuf decoder.

use std::path::PathBuf;

use serde_json::Value;

use crate::Cluster;

fn kubectl_1_33() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/lib/google-cloud-sdk/bin/kubectl.1.33");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} is not installed", p.display());
        None
    }
}

/// The generator invocations: (resource to read back, name, create args).
const GENERATORS: &[(&str, &str, &[&str])] = &[
    (
        "configmap",
        "cm",
        &[
            "configmap",
            "cm",
            "--from-literal=a=b",
            "--from-literal=empty=",
        ],
    ),
    (
        "secret",
        "generic",
        &[
            "secret",
            "generic",
            "generic",
            "--from-literal=k=v",
            "--type=Opaque",
        ],
    ),
    (
        "secret",
        "registry",
        &[
            "secret",
            "docker-registry",
            "registry",
            "--docker-server=r.example",
            "--docker-username=u",
            "--docker-password=p",
        ],
    ),
    (
        "deployment",
        "web",
        &[
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--port=8080",
            "--replicas=3",
            "--",
            "nginx",
            "-g",
            "daemon off;",
        ],
    ),
    (
        "service",
        "svc",
        &[
            "service",
            "nodeport",
            "svc",
            "--tcp=80:http",
            "--tcp=443:8443",
        ],
    ),
    ("serviceaccount", "robot", &["serviceaccount", "robot"]),
    (
        "job",
        "once",
        &["job", "once", "--image=busybox", "--", "echo", "hi"],
    ),
    (
        "cronjob",
        "tick",
        &[
            "cronjob",
            "tick",
            "--image=busybox",
            "--schedule=*/5 * * * *",
        ],
    ),
    (
        "role",
        "reader",
        &[
            "role",
            "reader",
            "--verb=get,list",
            "--resource=pods,configmaps",
        ],
    ),
    (
        "rolebinding",
        "reader",
        &[
            "rolebinding",
            "reader",
            "--role=reader",
            "--user=alice",
            "--group=devs",
        ],
    ),
    (
        "ingress",
        "ing",
        &[
            "ingress",
            "ing",
            "--class=nginx",
            "--rule=foo.example/bar*=svc:http,tls=cert",
        ],
    ),
    (
        "poddisruptionbudget",
        "pdb",
        &[
            "poddisruptionbudget",
            "pdb",
            "--selector=app=web",
            "--min-available=50%",
        ],
    ),
    (
        "resourcequota",
        "quota",
        &["quota", "quota", "--hard=cpu=1500m,memory=1Gi,pods=10"],
    ),
];

/// The object without what differs between two creations.
fn comparable(v: Value) -> Value {
    // The uid also appears in generated labels (a Job's selector).
    let uid = v["metadata"]["uid"]
        .as_str()
        .unwrap_or("no uid")
        .to_string();
    let text = v.to_string().replace(&uid, "UID");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let meta = v["metadata"].as_object_mut().expect("metadata");
    for k in [
        "namespace",
        "uid",
        "creationTimestamp",
        "resourceVersion",
        "managedFields",
        "annotations",
    ] {
        meta.remove(k);
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    // Allocated per Service.
    if let Some(spec) = v["spec"].as_object_mut()
        && spec.contains_key("clusterIP")
    {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
        for port in spec
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            port.as_object_mut().map(|p| p.remove("nodePort"));
        }
    }
    v
}

#[test]
fn generator_bodies_decode_like_their_json() {
    let Some(bin) = kubectl_1_33() else {
        return;
    };
    let cluster = Cluster::start_with(bin.clone(), |c| c.simulator = false);
    let run = |args: &[&str]| {
        let out = cluster.kubectl_with(&bin, args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    // The namespace itself is a protobuf create, and the request says so.
    let out = run(&["create", "namespace", "pb", "-v=8"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("application/vnd.kubernetes.protobuf"),
        "kubectl 1.33 no longer sends protobuf: {log}"
    );
    run(&["create", "namespace", "js"]);
    let ns: Value =
        serde_json::from_slice(&run(&["get", "namespace", "pb", "-o", "json"]).stdout).unwrap();
    assert_eq!(ns["metadata"]["name"], "pb");
    assert_eq!(ns["status"]["phase"], "Active");

    let mut failures = Vec::new();
    for (resource, name, args) in GENERATORS {
        // Flags go first: a generator's arguments may end with `-- command`.
        let mut pb = vec!["create", "-n", "pb"];
        pb.extend_from_slice(args);
        run(&pb);

        let mut render = vec!["create", "-n", "js", "--dry-run=client", "-o", "json"];
        render.extend_from_slice(args);
        let rendered = String::from_utf8(run(&render).stdout).unwrap();
        let out = cluster.stdin(&["create", "-f", "-"], &rendered);
        assert!(
            out.status.success(),
            "create from JSON {rendered}: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let get = |ns: &str| -> Value {
            serde_json::from_slice(&run(&["get", resource, name, "-n", ns, "-o", "json"]).stdout)
                .unwrap()
        };
        let (from_pb, from_json) = (comparable(get("pb")), comparable(get("js")));
        if from_pb != from_json {
            failures.push(format!(
                "{resource}/{name}:\n protobuf: {from_pb}\n     json: {from_json}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_protobuf_is_a_bad_request() {
    let cluster = crate::bad_input::insecure_cluster();
    let addr = cluster.handle().local_addr();
    let path = "/api/v1/namespaces/default/configmaps";
    let ct = Some("application/vnd.kubernetes.protobuf");
    // Envelope: typeMeta {apiVersion "v1", kind "ConfigMap"}, raw = a
    // metadata field whose length runs past the end.
    let mut truncated = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x03\x0a\x09x".to_vec();
    let cases: [(&str, &[u8]); 3] = [
        ("no magic", br#"{"apiVersion":"v1"}"#),
        ("truncated", &truncated),
        (
            "unknown kind",
            b"k8s\0\x0a\x0a\x0a\x02v1\x12\x04Nope\x12\x00",
        ),
    ];
    for (what, body) in cases {
        let r = crate::bad_input::http(addr, "POST", path, ct, body);
        assert_eq!(r.code, 400, "{what}: {}", r.text());
        assert_eq!(r.json()["reason"], "BadRequest", "{what}");
    }
    // The same envelope with a complete metadata {name: "x"} is created.
    truncated.truncate(truncated.len() - 4);
    truncated.extend_from_slice(b"\x05\x0a\x03\x0a\x01x");
    let r = crate::bad_input::http(addr, "POST", path, ct, &truncated);
    assert_eq!(r.code, 201, "{}", r.text());
    assert_eq!(r.json()["metadata"]["name"], "x");
}
