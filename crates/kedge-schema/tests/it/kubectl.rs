//! End-to-end checks with the real `kubectl`: a minimal HTTP server on
//! 127.0.0.1 serves discovery and the OpenAPI documents built by this crate
//! (and echoes dry-run creates), then `kubectl explain` and `kubectl create
//! --dry-run=server` run against it. The request log shows whether kubectl
//! found the `fieldValidation` parameter (it then sends
//! `fieldValidation=Strict`). Skipped when the kubectl binaries are absent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result, ensure};
use kedge_core::GroupVersion;
use kedge_schema::openapi;
use serde_json::{Value, json};

const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

fn kubectl(version: &str) -> Option<PathBuf> {
    let path = Path::new(KUBECTL_DIR).join(format!("kubectl.{version}"));
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} not found", path.display());
        None
    }
}

pub(crate) fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"], "categories": ["all"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "schema": {"openAPIV3Schema": {"type": "object", "description": "A widget of the example API.",
                    "properties": {"spec": {"type": "object", "description": "Desired widget.",
                        "properties": {"size": {"type": "integer", "description": "How big the widget is."},
                            "replicas": {"type": "integer"},
                            "color": {"type": "string", "description": "Paint colour."}}},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})
}

/// How the canned server deviates from a real one.
#[derive(Debug, Clone, Copy, Default)]
struct Options {
    /// Answer aggregated discovery when the client asks for it.
    aggregated: bool,
    /// Drop the `fieldValidation` parameters from `/openapi/v2` and serve no
    /// OpenAPI v3, so old kubectl validates client-side from the v2 models.
    client_side_validation: bool,
}

/// Serves one canned world: built-in discovery plus the given CRDs.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    fn start(crds: Vec<Value>) -> Result<Self> {
        Self::start_with(crds, Options::default())
    }

    fn start_with(crds: Vec<Value>, options: Options) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let crds = Arc::new(crds);
        let handle = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (log3, crds2) = (log2.clone(), crds.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &crds2, &log3, options);
                });
            }
        });
        Ok(Self {
            port,
            stop,
            log,
            handle: Some(handle),
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn serve(
    stream: TcpStream,
    crds: &[Value],
    log: &Mutex<Vec<String>>,
    options: Options,
) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut length = 0usize;
    let mut accept = String::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("accept") {
                accept = v.trim().to_string();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    log.lock().unwrap().push(format!("{method} {target}"));
    let (path, _query) = target.split_once('?').unwrap_or((&target, ""));
    let (code, content_type, bytes) =
        if options.client_side_validation && path.starts_with("/openapi/v3") {
            let status = kedge_core::Status::not_found_path().to_value();
            (404, "application/json", serde_json::to_vec(&status)?)
        } else if path == "/openapi/v2" {
            let mut doc = openapi::openapi_v2(crds);
            if options.client_side_validation {
                strip_field_validation(&mut doc);
            }
            (
                200,
                openapi::OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
                openapi::openapi_v2_protobuf(&doc),
            )
        } else if options.aggregated
            && (path == "/api" || path == "/apis")
            && accept.split(',').any(|a| a.trim() == AGGREGATED_V2)
        {
            let doc = kedge_schema::aggregated_discovery(crds, path == "/api");
            (200, AGGREGATED_V2, serde_json::to_vec(&doc)?)
        } else {
            let (code, value) = route(&method, path, &body, crds);
            (code, "application/json", serde_json::to_vec(&value)?)
        };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {code} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    )?;
    stream.write_all(&bytes)?;
    Ok(())
}

fn strip_field_validation(doc: &mut Value) {
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                params.retain(|p| p["name"] != "fieldValidation");
            }
        }
    }
}

fn route(method: &str, path: &str, body: &[u8], crds: &[Value]) -> (u16, Value) {
    let not_found = (404, kedge_core::Status::not_found_path().to_value());
    if method == "POST" {
        let mut obj: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        obj["metadata"]["uid"] = json!("4b7c1d0e-0000-4000-8000-000000000001");
        return (201, obj);
    }
    match path {
        "/version" => (
            200,
            json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0"}),
        ),
        "/api" => (
            200,
            json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        "/apis" => (200, kedge_schema::api_group_list(crds)),
        "/openapi/v3" => {
            let entries: Vec<(GroupVersion, String)> = openapi::openapi_v3_group_versions(crds)
                .into_iter()
                .map(|gv| (gv, "H".to_string()))
                .collect();
            (200, openapi::openapi_v3_index(&entries))
        }
        _ => {
            if let Some(key) = path.strip_prefix("/openapi/v3/") {
                let gv = match key.split('/').collect::<Vec<_>>().as_slice() {
                    ["api", v] => GroupVersion::new("", *v),
                    ["apis", g, v] => GroupVersion::new(*g, *v),
                    _ => return not_found,
                };
                return match openapi::openapi_v3_group_version(&gv, crds) {
                    Some(doc) => (200, doc),
                    None => not_found,
                };
            }
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            let gv = match segments.as_slice() {
                ["api", v] => GroupVersion::new("", *v),
                ["apis", g, v] => GroupVersion::new(*g, *v),
                _ => return not_found,
            };
            match kedge_schema::api_resource_list(&gv, crds) {
                Some(list) => (200, list),
                None => not_found,
            }
        }
    }
}

fn run(kubectl: &Path, server: &Server, args: &[&str], dir: &Path) -> Result<String> {
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n")?;
    let out = Command::new(kubectl)
        .arg(format!("--server={}", server.url()))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .arg("--request-timeout=60s")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running kubectl")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(
        out.status.success(),
        "kubectl {args:?} failed: {stdout}\n{stderr}\nrequests: {:?}",
        server.requests()
    );
    Ok(stdout)
}

#[test]
fn kubectl_explain_reads_v3_documents() -> Result<()> {
    let Some(kubectl) = kubectl("1.33") else {
        return Ok(());
    };
    let server = Server::start(vec![widget_crd()])?;
    let dir = tempfile::tempdir()?;
    let out = run(
        &kubectl,
        &server,
        &["explain", "deployment.spec.strategy"],
        dir.path(),
    )?;
    ensure!(out.contains("The deployment strategy to use"), "{out}");
    ensure!(out.contains("rollingUpdate"), "{out}");
    let out = run(
        &kubectl,
        &server,
        &["explain", "pods.spec.containers.ports"],
        dir.path(),
    )?;
    ensure!(out.contains("containerPort"), "{out}");
    let out = run(&kubectl, &server, &["explain", "widgets.spec"], dir.path())?;
    ensure!(out.contains("How big the widget is."), "{out}");
    Ok(())
}

#[test]
fn kubectl_create_sends_strict_field_validation() -> Result<()> {
    // 1.33 finds the parameter in OpenAPI v3; 1.27 and 1.28 in the protobuf v2.
    for version in ["1.33", "1.28", "1.27"] {
        let Some(kubectl) = kubectl(version) else {
            continue;
        };
        create_dry_run(&kubectl).with_context(|| format!("kubectl {version}"))?;
    }
    Ok(())
}

#[test]
fn kubectl_1_27_explains_from_protobuf_v2() -> Result<()> {
    let Some(kubectl) = kubectl("1.27") else {
        return Ok(());
    };
    let server = Server::start(vec![widget_crd()])?;
    let dir = tempfile::tempdir()?;
    let out = run(
        &kubectl,
        &server,
        &["explain", "deployment.spec.strategy"],
        dir.path(),
    )?;
    ensure!(out.contains("The deployment strategy to use"), "{out}");
    ensure!(out.contains("rollingUpdate"), "{out}");
    ensure!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /openapi/v2")),
        "{:?}",
        server.requests()
    );
    let out = run(&kubectl, &server, &["explain", "widgets.spec"], dir.path())?;
    ensure!(out.contains("How big the widget is."), "{out}");
    Ok(())
}

fn create_dry_run(kubectl: &Path) -> Result<()> {
    let server = Server::start(vec![widget_crd()])?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("objects.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: x\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: x\nspec:\n  size: 3\n",
    )?;
    let out = run(
        kubectl,
        &server,
        &["create", "-f", "objects.yaml", "--dry-run=server"],
        dir.path(),
    )?;
    ensure!(out.contains("deployment.apps/web created"), "{out}");
    ensure!(out.contains("widget.example.com/w1 created"), "{out}");
    let posts: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("POST"))
        .collect();
    ensure!(posts.len() == 2, "{posts:?}");
    for post in &posts {
        ensure!(post.contains("fieldValidation=Strict"), "{posts:?}");
    }
    Ok(())
}

#[test]
fn kubectl_api_resources_lists_builtin_and_custom_kinds() -> Result<()> {
    let Some(kubectl) = kubectl("1.33") else {
        return Ok(());
    };
    let server = Server::start(vec![widget_crd()])?;
    let dir = tempfile::tempdir()?;
    let out = run(
        &kubectl,
        &server,
        &["api-resources", "-o", "wide"],
        dir.path(),
    )?;
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let find = |name: &str, api_version: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&name) && r.contains(&api_version))
            .cloned()
    };
    let expect = [
        ("pods", "v1", "po", "true", "Pod", "all"),
        (
            "deployments",
            "apps/v1",
            "deploy",
            "true",
            "Deployment",
            "all",
        ),
        ("namespaces", "v1", "ns", "false", "Namespace", ""),
        (
            "customresourcedefinitions",
            "apiextensions.k8s.io/v1",
            "crd,crds",
            "false",
            "CustomResourceDefinition",
            "api-extensions",
        ),
        (
            "horizontalpodautoscalers",
            "autoscaling/v2",
            "hpa",
            "true",
            "HorizontalPodAutoscaler",
            "all",
        ),
        ("widgets", "example.com/v1", "wd", "true", "Widget", "all"),
    ];
    for (name, api_version, short, namespaced, kind, category) in expect {
        let row = find(name, api_version).with_context(|| format!("no row for {name}:\n{out}"))?;
        ensure!(
            row[1] == short && row[2] == api_version && row[3] == namespaced && row[4] == kind,
            "{row:?}"
        );
        if !category.is_empty() {
            ensure!(row.last() == Some(&category), "{row:?}");
        }
    }
    // Only the preferred autoscaling version is listed.
    ensure!(
        find("horizontalpodautoscalers", "autoscaling/v1").is_none(),
        "{out}"
    );
    Ok(())
}

#[test]
fn kubectl_reads_aggregated_discovery() -> Result<()> {
    let Some(kubectl) = kubectl("1.33") else {
        return Ok(());
    };
    let server = Server::start_with(
        vec![widget_crd()],
        Options {
            aggregated: true,
            ..Options::default()
        },
    )?;
    let dir = tempfile::tempdir()?;
    let out = run(&kubectl, &server, &["api-resources"], dir.path())?;
    ensure!(out.lines().any(|l| l.starts_with("widgets ")), "{out}");
    ensure!(out.lines().any(|l| l.starts_with("deployments ")), "{out}");
    let requests = server.requests();
    ensure!(
        !requests
            .iter()
            .any(|r| r.starts_with("GET /api/v1") || r.starts_with("GET /apis/apps/v1")),
        "kubectl fell back to legacy discovery: {requests:?}"
    );
    Ok(())
}

#[test]
fn kubectl_1_27_validates_client_side_from_protobuf_models() -> Result<()> {
    let Some(kubectl) = kubectl("1.27") else {
        return Ok(());
    };
    let server = Server::start_with(
        vec![widget_crd()],
        Options {
            client_side_validation: true,
            ..Options::default()
        },
    )?;
    let dir = tempfile::tempdir()?;
    let deployment = |extra: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: x\nspec:\n  replicas: 2\n{extra}  selector:\n    matchLabels: {{app: web}}\n  strategy:\n    rollingUpdate: {{maxSurge: 25%, maxUnavailable: 1}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        ports:\n        - containerPort: 80\n        resources:\n          limits: {{cpu: 1, memory: 64Mi}}\n"
        )
    };
    std::fs::write(dir.path().join("good.yaml"), deployment(""))?;
    std::fs::write(dir.path().join("bad.yaml"), deployment("  replicaz: 3\n"))?;
    let out = run(
        &kubectl,
        &server,
        &["create", "-f", "good.yaml", "--dry-run=server"],
        dir.path(),
    )?;
    ensure!(out.contains("deployment.apps/web created"), "{out}");
    let err = run(
        &kubectl,
        &server,
        &["create", "-f", "bad.yaml", "--dry-run=server"],
        dir.path(),
    )
    .expect_err("an unknown field must fail validation");
    let message = format!("{err:#}");
    ensure!(message.contains("unknown field \"replicaz\""), "{message}");
    ensure!(
        message.contains("io.k8s.api.apps.v1.DeploymentSpec"),
        "{message}"
    );
    Ok(())
}
