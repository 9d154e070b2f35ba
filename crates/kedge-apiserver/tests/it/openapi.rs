//! The published OpenAPI documents as kubectl uses them: `kubectl explain`
//! prints the real field descriptions (OpenAPI v3), `/openapi/v2` serves
//! Swagger 2.0 as JSON and protobuf, and kubectl 1.27, which validates
//! client-side from the v2 protobuf document, applies with validation on.

use std::path::PathBuf;

use crate::Cluster;

const KUBECTL_1_27: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";

const DEPLOY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
"#;

#[test]
fn explain_prints_field_descriptions() {
    let Some(c) = Cluster::start() else { return };
    let out = c.ok(&["explain", "deployment.spec.strategy"]);
    assert!(out.contains("KIND:       Deployment"), "{out}");
    assert!(
        out.contains("The deployment strategy to use to replace existing pods with new ones."),
        "{out}"
    );
    assert!(out.contains("rollingUpdate"), "{out}");
    let out = c.ok(&["explain", "configmap.data"]);
    assert!(
        out.contains("Data contains the configuration data."),
        "{out}"
    );
}

#[test]
fn openapi_v2_is_served_as_json_and_protobuf() {
    let Some(kubectl) = crate::kubectl_bin() else {
        return;
    };
    let c = Cluster::start_with(kubectl, |config| config.insecure_http = true);
    let doc = c.raw("/openapi/v2");
    assert_eq!(doc["swagger"], "2.0");
    let deployment = &doc["definitions"]["io.k8s.api.apps.v1.Deployment"];
    assert!(
        deployment["description"]
            .as_str()
            .is_some_and(|d| d.contains("declarative updates for Pods")),
        "{deployment}"
    );
    // The protobuf form, as a client asking for it receives it.
    let handle = c.handle();
    let addr = handle.local_addr();
    let token = handle.token().to_string();
    let bytes = c.rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "GET /openapi/v2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        out
    });
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "{}",
        &text[..text.len().min(300)]
    );
    assert!(
        text.contains("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
        "{}",
        &text[..text.len().min(300)]
    );
    assert!(text.contains("io.k8s.api.apps.v1.Deployment"));
}

#[test]
fn kubectl_1_27_applies_with_validation() {
    let bin = PathBuf::from(KUBECTL_1_27);
    if !bin.exists() {
        eprintln!("skipping: {KUBECTL_1_27} is not installed");
        return;
    }
    let c = Cluster::start_with(bin, |_| {});
    let out = c.stdin_ok(&["apply", "-f", "-"], DEPLOY);
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let bad = DEPLOY.replace("replicas: 1", "replicas: 1\n  replicaz: 2");
    let out = c.stdin(&["apply", "-f", "-"], &bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("replicaz"), "{err}");
}
