//! Test support: the embedded control plane in a temp dir with the Kedge
//! CRDs installed, a real git work tree served over `file://`, and a
//! controller whose reconciles the tests call directly (no timing involved),
//! or which runs in the background ([`Running`]) for the trigger tests.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kedge_apiserver::{ApiServer, Config, Handle};
use kedge_controller::{Controller, ControllerConfig, application_resource};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::Value;

pub(crate) struct Env {
    pub(crate) handle: Option<Handle>,
    pub(crate) client: kube::Client,
    pub(crate) controller: Arc<Controller>,
    pub(crate) repo: PathBuf,
    pub(crate) _dir: tempfile::TempDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(h.shutdown());
        }
    }
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Env {
    pub(crate) async fn start() -> Env {
        Env::start_with(|_| {}).await
    }

    /// The environment with the controller's settings adjusted by `tune`.
    pub(crate) async fn start_with(tune: impl FnOnce(&mut ControllerConfig)) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        let handle = ApiServer::start(config).await.expect("server starts");
        let kubeconfig =
            kube::config::Kubeconfig::read_from(handle.kubeconfig_path()).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("client config");
        let client = kube::Client::try_from(cfg).expect("client");
        for m in kedge_controller::crd::install_manifests("kedge", "kedge:test") {
            apply(&client, &m).await;
            if m["kind"] == "CustomResourceDefinition" {
                wait_for_resource(&client, &m).await;
            }
        }
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        let mut cc = ControllerConfig::new(dir.path().join("cache"));
        cc.allow_file_protocol = true;
        tune(&mut cc);
        let controller = Arc::new(Controller::new(client.clone(), cc).expect("controller"));
        Env {
            handle: Some(handle),
            client,
            controller,
            repo,
            _dir: dir,
        }
    }

    /// A second controller against the same cluster (own Git cache).
    pub(crate) fn controller(&self, tune: impl FnOnce(&mut ControllerConfig)) -> Arc<Controller> {
        let cache = tempfile::tempdir_in(self._dir.path())
            .expect("cache dir")
            .keep();
        let mut cc = ControllerConfig::new(cache);
        cc.allow_file_protocol = true;
        tune(&mut cc);
        Arc::new(Controller::new(self.client.clone(), cc).expect("controller"))
    }

    pub(crate) fn repo_url(&self) -> String {
        format!("file://{}", self.repo.display())
    }

    /// Writes files (path, content; empty content deletes) and commits; returns the SHA.
    pub(crate) fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            let p = self.repo.join(path);
            if content.is_empty() {
                let _ = std::fs::remove_file(&p);
            } else {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, content).unwrap();
            }
        }
        git(&self.repo, &["add", "-A"]);
        git(
            &self.repo,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(&self.repo, &["rev-parse", "HEAD"])
    }

    pub(crate) fn apps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), "kedge", &application_resource())
    }

    pub(crate) async fn app(&self, name: &str) -> Value {
        serde_json::to_value(self.apps().get(name).await.expect("application")).unwrap()
    }

    pub(crate) async fn get(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Option<Value> {
        let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let (ar, _) =
            kube::discovery::pinned_kind(&self.client, &GroupVersionKind::gvk(g, v, kind))
                .await
                .expect("kind known");
        let api: Api<DynamicObject> = if ns.is_empty() {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), ns, &ar)
        };
        api.get_opt(name)
            .await
            .expect("get")
            .map(|o| serde_json::to_value(o).unwrap())
    }
}

pub(crate) async fn apply(client: &kube::Client, obj: &Value) {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(g, v, kind);
    let (ar, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .expect("kind known");
    let name = obj["metadata"]["name"].as_str().unwrap();
    let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(obj),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
}

async fn wait_for_resource(client: &kube::Client, crd: &Value) {
    let group = crd["spec"]["group"].as_str().unwrap();
    let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap();
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1alpha1", kind), plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if api.list(&Default::default()).await.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "CRD {plural} never served");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A controller running in the background; dropping it stops the run
/// (aborted, as a crashed process would stop).
pub(crate) struct Running {
    task: Option<tokio::task::JoinHandle<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    pub(crate) fn start(controller: &Arc<Controller>) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(controller.clone().run(async move {
            let _ = rx.await;
        }));
        Running {
            task: Some(task),
            stop: Some(tx),
        }
    }

    /// Graceful stop: the run returns (releasing its Lease).
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Polls `check` until it returns Some, failing after `secs` seconds.
pub(crate) async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Serves `router` on an ephemeral loopback port until the returned guard drops.
pub(crate) async fn serve(router: axum::Router) -> (std::net::SocketAddr, AbortOnDrop) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, AbortOnDrop(task))
}

pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
pub(crate) async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
