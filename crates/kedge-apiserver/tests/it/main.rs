//! Integration tests of `kedge-apiserver`: the server runs in-process on
//! 127.0.0.1:0 and is driven with the real `kubectl` binaries (and raw
//! requests through `kubectl get --raw`). One module per feature.

mod bad_input;
mod crd;
mod crud;
mod defaults;
mod discovery;
mod fuzz_decode;
mod gc;
mod kube_client;
mod kubectl_matrix;
mod namespaces;
mod openapi;
mod protobuf;
mod simulator;
mod ssa;
mod tls_auth;
mod watch;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kedge_apiserver::{ApiServer, Config, Handle};

/// The kubectl binaries to test against, when present.
pub(crate) fn kubectl_versions() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for v in [
        "/usr/bin/kubectl",
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.30",
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
    ] {
        if Path::new(v).exists() {
            out.push(PathBuf::from(v));
        }
    }
    out
}

/// The default kubectl, or None (the test then prints why it is skipped).
pub(crate) fn kubectl_bin() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/kubectl");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: kubectl is not installed");
        None
    }
}

/// A running server in a temporary data directory; shut down on drop.
pub(crate) struct Cluster {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) handle: Option<Handle>,
    pub(crate) kubectl: PathBuf,
}

impl Cluster {
    pub(crate) fn start() -> Option<Cluster> {
        let kubectl = kubectl_bin()?;
        Some(Cluster::start_with(kubectl, |_| {}))
    }

    pub(crate) fn start_with(kubectl: PathBuf, tweak: impl FnOnce(&mut Config)) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        tweak(&mut config);
        let handle = rt
            .block_on(ApiServer::start(config))
            .expect("server starts");
        Cluster {
            dir,
            rt,
            handle: Some(handle),
            kubectl,
        }
    }

    pub(crate) fn handle(&self) -> &Handle {
        self.handle.as_ref().expect("running")
    }

    pub(crate) fn kubeconfig(&self) -> &Path {
        self.handle().kubeconfig_path()
    }

    /// Runs kubectl (`bin`) against this cluster.
    pub(crate) fn kubectl_with(&self, bin: &Path, args: &[&str]) -> Output {
        Command::new(bin)
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .expect("run kubectl")
    }

    pub(crate) fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(&self.kubectl, args)
    }

    /// Runs kubectl and returns stdout, failing the test on a non-zero exit.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl expecting failure; returns stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `kubectl get --raw PATH` parsed as JSON.
    pub(crate) fn raw(&self, path: &str) -> serde_json::Value {
        let out = self.ok(&["get", "--raw", path]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{path}: {e}: {out}"))
    }

    /// Applies a manifest given as text through `kubectl <verb> -f -`.
    pub(crate) fn stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().expect("kubectl output")
    }

    pub(crate) fn stdin_ok(&self, args: &[&str], input: &str) -> String {
        let out = self.stdin(args, input);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rt.block_on(h.shutdown());
        }
    }
}
