//! Shared test support: the `kedge` binary as a child process with its
//! stdout read line by line, `kubectl` and `git` helpers, a smart-HTTP Git
//! server (`git http-backend` as CGI behind axum on 127.0.0.1:0), the
//! embedded control plane in-process and polling with a deadline.
//!
//! Every process a test starts is owned by a guard whose `Drop` kills it
//! (and its process group), so a failing assertion never leaks one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a test waits for anything the controller does.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

/// The workspace root (`crates/kedge/../..`).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Whether `kubectl` can run here; prints why a test skips when not.
pub(crate) fn have_kubectl(test: &str) -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("{test}: skipped, kubectl is not installed");
    }
    ok
}

/// Runs `kubectl --kubeconfig K ARGS…`; returns stdout, fails on a non-zero exit.
pub(crate) fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .context("running kubectl")?;
    if !out.status.success() {
        bail!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `git ARGS…` in `dir` with a fixed identity and no user configuration.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Polls `check` until it returns `Some`, failing after `DEADLINE` with
/// `what` and the last observation.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, String>>,
{
    let deadline = Instant::now() + DEADLINE;
    let mut last;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(e) => last = e,
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last seen: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A `kedge` child process with its stdout lines on a channel; killed
/// (SIGKILL to its process group) on drop unless it already exited.
pub(crate) struct Kedge {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// Every stdout line read so far.
    pub(crate) seen: Vec<String>,
}

impl Kedge {
    /// Starts `kedge ARGS…` in its own process group.
    pub(crate) fn spawn(args: &[&str]) -> Result<Kedge> {
        use std::os::unix::process::CommandExt as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_kedge"))
            .args(args)
            .env("KEDGE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .context("starting kedge")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Kedge {
            child: Some(child),
            lines,
            seen: Vec::new(),
        })
    }

    /// Reads lines until one satisfies `pred` (returned), failing at the
    /// deadline or when the process closes its stdout.
    pub(crate) fn wait_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Ok(line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!(
                        "timed out waiting for {what}; output so far:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!(
                        "kedge exited before {what}; output:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// Sends `signal` to the process.
    pub(crate) fn signal(&self, signal: nix::sys::signal::Signal) -> Result<()> {
        let child = self.child.as_ref().context("already reaped")?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, signal).context("sending a signal")?;
        Ok(())
    }

    /// Waits (with the deadline) for the process to exit; returns its status
    /// and the rest of its stdout.
    pub(crate) fn wait_exit(&mut self) -> Result<ExitStatus> {
        let deadline = Instant::now() + DEADLINE;
        let child = self.child.as_mut().context("already reaped")?;
        loop {
            if let Some(status) = child.try_wait().context("waiting for kedge")? {
                self.child = None;
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("kedge did not exit; output:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Kedge {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Smart HTTP Git: `git http-backend` as CGI behind an axum server on
/// 127.0.0.1:0, serving the bare repositories under `root`. Stops on drop.
pub(crate) struct GitHttp {
    pub(crate) port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GitHttp {
    pub(crate) async fn start(root: &Path) -> Result<GitHttp> {
        let root = root.to_path_buf();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let root = root.clone();
            async move { cgi(&root, req).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(GitHttp { port, task })
    }

    /// The clone URL of `name.git`.
    pub(crate) fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}.git", self.port)
    }
}

/// One CGI exchange with `git http-backend` (RFC 3875: the request in
/// environment variables and stdin, headers then body on stdout).
async fn cgi(root: &Path, req: axum::extract::Request) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;
    use tokio::io::AsyncWriteExt as _;
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("HTTP_GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let Ok(mut child) = cmd.spawn() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(mut stdin) = child.stdin.take() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let Ok(out) = child.wait_with_output().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let _ = feed.await;
    let raw = out.stdout;
    let Some((end, sep)) = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
    else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut resp = axum::http::Response::builder().status(200);
    for line in String::from_utf8_lossy(&raw[..end]).lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("status") {
            let code = v
                .split(' ')
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .unwrap_or(500);
            resp = resp.status(code);
        } else {
            resp = resp.header(k, v);
        }
    }
    resp.body(axum::body::Body::from(raw[end + sep..].to_vec()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// A work tree whose `origin` is a bare repository served by [`GitHttp`].
pub(crate) struct Upstream {
    pub(crate) work: PathBuf,
    pub(crate) url: String,
}

impl Upstream {
    /// Creates `ROOT/NAME.git` (bare) and a work tree `WORK` pushing to it.
    pub(crate) fn new(root: &Path, work: &Path, name: &str, url: String) -> Result<Upstream> {
        let bare = root.join(format!("{name}.git"));
        std::fs::create_dir_all(&bare)?;
        git(&bare, &["init", "-q", "--bare", "-b", "main"])?;
        git(&bare, &["config", "http.receivepack", "true"])?;
        std::fs::create_dir_all(work)?;
        git(work, &["init", "-q", "-b", "main"])?;
        git(work, &["remote", "add", "origin", &url])?;
        Ok(Upstream {
            work: work.to_path_buf(),
            url,
        })
    }

    /// Writes files (empty content deletes one), commits, pushes over HTTP;
    /// returns the new commit.
    pub(crate) fn commit(&self, files: &[(&str, &str)], message: &str) -> Result<String> {
        for (path, content) in files {
            let file = self.work.join(path);
            if content.is_empty() {
                let _ = std::fs::remove_file(&file);
            } else {
                std::fs::create_dir_all(file.parent().context("parent")?)?;
                std::fs::write(&file, content)?;
            }
        }
        git(&self.work, &["add", "-A"])?;
        git(
            &self.work,
            &["commit", "-q", "--allow-empty", "-m", message],
        )?;
        self.push()
    }

    /// `git revert --no-edit HEAD` and push; returns the new commit.
    pub(crate) fn revert_head(&self) -> Result<String> {
        git(&self.work, &["revert", "--no-edit", "HEAD"])?;
        self.push()
    }

    fn push(&self) -> Result<String> {
        git(&self.work, &["push", "-q", "origin", "HEAD:main"])?;
        git(&self.work, &["rev-parse", "HEAD"])
    }
}
