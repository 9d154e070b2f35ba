//! Test support: upstream repositories built with the real git CLI, and
//! real servers on 127.0.0.1 (git daemon, smart HTTP through
//! `git http-backend` as CGI with basic auth, sshd), each killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use kedge_git::{CacheConfig, CredentialStore, GitCache};

/// Runs git with a controlled environment in `dir`; returns stdout.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = git_cmd(dir).args(args).output().context("spawn git")?;
    if !out.status.success() {
        bail!(
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub(crate) fn git_cmd(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR");
    c
}

/// An upstream repository: a bare `<base>/<name>.git` that servers export,
/// and a working clone used to make commits and push them.
pub(crate) struct Upstream {
    pub(crate) bare: PathBuf,
    pub(crate) work: PathBuf,
}

impl Upstream {
    pub(crate) fn new(base: &Path, name: &str) -> Result<Self> {
        let bare = base.join(format!("{name}.git"));
        let work = base.join(format!("work-{name}"));
        std::fs::create_dir_all(&work)?;
        git(
            base,
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        )?;
        git(&bare, &["config", "http.receivepack", "true"])?;
        git(
            &bare,
            &["config", "uploadpack.allowReachableSHA1InWant", "true"],
        )?;
        git(&work, &["init", "-q", "-b", "main"])?;
        git(&work, &["remote", "add", "origin", bare.to_str().unwrap()])?;
        Ok(Self { bare, work })
    }

    /// Writes files (path, content) and symlinks (content "->target").
    pub(crate) fn write(&self, files: &[(&str, &str)]) -> Result<()> {
        for (path, content) in files {
            let p = self.work.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let _ = std::fs::remove_file(&p);
            match content.strip_prefix("->") {
                Some(target) => std::os::unix::fs::symlink(target, &p)?,
                None => std::fs::write(&p, content)?,
            }
        }
        Ok(())
    }

    /// Writes, commits everything and pushes `main`; returns the commit.
    pub(crate) fn commit(&self, files: &[(&str, &str)], message: &str) -> Result<String> {
        self.write(files)?;
        git(&self.work, &["add", "-A"])?;
        git(
            &self.work,
            &["commit", "-q", "--allow-empty", "-m", message],
        )?;
        git(&self.work, &["push", "-q", "-f", "origin", "HEAD:main"])?;
        git(&self.work, &["rev-parse", "HEAD"])
    }

    pub(crate) fn run(&self, args: &[&str]) -> Result<String> {
        git(&self.work, args)
    }

    pub(crate) fn head_of(&self, branch: &str) -> Result<String> {
        git(&self.bare, &["rev-parse", &format!("refs/heads/{branch}")])
    }

    pub(crate) fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }
}

/// A cache in a temporary directory with file:// allowed.
pub(crate) fn cache(dir: &Path) -> Result<GitCache> {
    cache_with(dir, CredentialStore::new(), |_| {})
}

pub(crate) fn cache_with(
    dir: &Path,
    creds: CredentialStore,
    tweak: impl FnOnce(&mut CacheConfig),
) -> Result<GitCache> {
    let mut cfg = CacheConfig::new(dir.join("cache"));
    cfg.allow_file_protocol = true;
    cfg.network_timeout = Duration::from_secs(60);
    tweak(&mut cfg);
    Ok(GitCache::new(cfg, creds)?)
}

/// A child process killed (with its process group) on drop.
pub(crate) struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something accepts TCP connections on `port`.
fn wait_listening(port: u16, child: &mut Child) -> Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(true);
        }
        if child.try_wait()?.is_some() {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("server on port {port} did not start listening")
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// `git daemon` exporting every repository under `base`.
pub(crate) struct GitDaemon {
    pub(crate) port: u16,
    _child: ChildGuard,
}

impl GitDaemon {
    pub(crate) fn start(base: &Path) -> Result<Self> {
        for _ in 0..10 {
            let port = free_port()?;
            let mut child = git_cmd(base)
                .args([
                    "daemon",
                    "--export-all",
                    "--reuseaddr",
                    "--listen=127.0.0.1",
                    &format!("--port={port}"),
                    &format!("--base-path={}", base.display()),
                    base.to_str().unwrap(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            if wait_listening(port, &mut child)? {
                return Ok(Self {
                    port,
                    _child: ChildGuard(child),
                });
            }
            // The port was taken between release and bind: try another.
        }
        bail!("git daemon could not bind a port")
    }

    pub(crate) fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.port)
    }
}

/// Smart HTTP: `git http-backend` as CGI behind an axum server, with
/// basic auth when `auth` is set. Counts requests.
pub(crate) struct HttpGit {
    pub(crate) port: u16,
    pub(crate) requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpGit {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs once, before the receive-pack advertisement is served.
pub(crate) type PushHook = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
struct HttpState {
    root: PathBuf,
    auth: Option<(String, String)>,
    requests: Arc<AtomicU64>,
    before_push: Arc<std::sync::Mutex<Option<PushHook>>>,
}

impl HttpGit {
    pub(crate) async fn start(root: &Path, auth: Option<(&str, &str)>) -> Result<Self> {
        Self::start_with_hook(root, auth, None).await
    }

    /// Like [`HttpGit::start`]; `before_push` runs once when a client
    /// first asks for the receive-pack advertisement (to race a push).
    pub(crate) async fn start_with_hook(
        root: &Path,
        auth: Option<(&str, &str)>,
        before_push: Option<PushHook>,
    ) -> Result<Self> {
        let state = HttpState {
            root: root.to_owned(),
            auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            requests: Arc::new(AtomicU64::new(0)),
            before_push: Arc::new(std::sync::Mutex::new(before_push)),
        };
        let requests = state.requests.clone();
        let app = axum::Router::new().fallback(cgi).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            port,
            requests,
            task,
        })
    }

    pub(crate) fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}.git", self.port)
    }
}

async fn cgi(
    axum::extract::State(st): axum::extract::State<HttpState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use base64::Engine as _;
    use tokio::io::AsyncWriteExt as _;
    st.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let mut user = String::new();
    if let Some((u, p)) = &st.auth {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        );
        let given = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return (
                http::StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Basic realm=\"git\"")],
                "unauthorized",
            )
                .into_response();
        }
        user = u.clone();
    }
    if parts.uri.query() == Some("service=git-receive-pack") {
        let hook = st.before_push.lock().unwrap().take();
        if let Some(hook) = hook {
            let _ = tokio::task::spawn_blocking(hook).await;
        }
    }
    let body = match axum::body::to_bytes(body, 512 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return http::StatusCode::BAD_REQUEST.into_response(),
    };
    let h = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &st.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", h("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", h("content-encoding"))
        .env("HTTP_GIT_PROTOCOL", h("git-protocol"))
        .env("REMOTE_USER", &user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let Ok(mut child) = cmd.spawn() else {
        return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut stdin = child.stdin.take().unwrap();
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = match child.wait_with_output().await {
        Ok(o) => o,
        Err(_) => return http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let _ = feed.await;
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, sep)) = split else {
        return http::StatusCode::BAD_GATEWAY.into_response();
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut resp = http::Response::builder().status(200);
    for line in head.lines() {
        if let Some((k, v)) = line.split_once(':') {
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
    }
    resp.body(axum::body::Body::from(raw[end + sep..].to_vec()))
        .unwrap_or_else(|_| http::StatusCode::BAD_GATEWAY.into_response())
}

/// An unprivileged-port sshd accepting one generated client key.
pub(crate) struct Sshd {
    pub(crate) port: u16,
    pub(crate) client_key: String,
    pub(crate) known_hosts: String,
    pub(crate) user: String,
    _child: ChildGuard,
}

impl Sshd {
    /// Starts sshd, or returns `None` (with a message) where it cannot run.
    pub(crate) fn start(dir: &Path) -> Result<Option<Self>> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !sshd.exists() || Command::new("ssh-keygen").arg("-?").output().is_err() {
            eprintln!("skipping SSH test: /usr/sbin/sshd or ssh-keygen is missing");
            return Ok(None);
        }
        let user = Command::new("id").arg("-un").output()?;
        let user = String::from_utf8_lossy(&user.stdout).trim().to_owned();
        let d = dir.join("sshd");
        std::fs::create_dir_all(&d)?;
        for (name, kind) in [("host", "ed25519"), ("client", "ed25519")] {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-f"])
                .arg(d.join(name))
                .output()?;
            if !out.status.success() {
                bail!("ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        std::fs::copy(d.join("client.pub"), d.join("authorized_keys"))?;
        let _ = std::fs::create_dir_all("/run/sshd");
        for _ in 0..10 {
            let port = free_port()?;
            let config = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {ak}\nPidFile {pid}\n\
                 StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel ERROR\n\
                 SetEnv PATH={path}\n",
                host = d.join("host").display(),
                ak = d.join("authorized_keys").display(),
                pid = d.join("sshd.pid").display(),
                path = std::env::var("PATH").unwrap_or_default(),
            );
            let cfg = d.join("sshd_config");
            std::fs::write(&cfg, config)?;
            let check = Command::new(sshd).arg("-t").arg("-f").arg(&cfg).output()?;
            if !check.status.success() {
                eprintln!(
                    "skipping SSH test: sshd cannot run here: {}",
                    String::from_utf8_lossy(&check.stderr).trim()
                );
                return Ok(None);
            }
            let mut child = Command::new(sshd)
                .args(["-D", "-e", "-f"])
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            if wait_listening(port, &mut child)? {
                let host_pub = std::fs::read_to_string(d.join("host.pub"))?;
                let mut f = host_pub.split_whitespace();
                let known_hosts = format!(
                    "[127.0.0.1]:{port} {} {}\n",
                    f.next().unwrap_or(""),
                    f.next().unwrap_or("")
                );
                return Ok(Some(Self {
                    port,
                    client_key: std::fs::read_to_string(d.join("client"))?,
                    known_hosts,
                    user,
                    _child: ChildGuard(child),
                }));
            }
        }
        eprintln!("skipping SSH test: sshd did not start");
        Ok(None)
    }

    pub(crate) fn url(&self, bare: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            bare.display()
        )
    }
}

/// Builds a bare repository with `git fast-import`: `files` are
/// `(path, content)`; returns the commit of `main`.
pub(crate) fn fast_import(
    bare: &Path,
    files: impl Iterator<Item = (String, Vec<u8>)>,
) -> Result<String> {
    fast_import_with(bare, files, None)
}

/// Like [`fast_import`], plus one file of `size` zero bytes streamed in
/// chunks (never held in memory).
pub(crate) fn fast_import_with(
    bare: &Path,
    files: impl Iterator<Item = (String, Vec<u8>)>,
    big: Option<(&str, u64)>,
) -> Result<String> {
    use std::io::Write as _;
    if !bare.exists() {
        git(
            bare.parent().unwrap(),
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        )?;
    }
    let mut child = git_cmd(bare)
        .args(["fast-import", "--quiet", "--force"])
        .env("GIT_DIR", bare)
        .stdin(Stdio::piped())
        .spawn()?;
    {
        let mut w = std::io::BufWriter::new(child.stdin.take().unwrap());
        writeln!(
            w,
            "commit refs/heads/main\ncommitter Test <test@example.com> 1700000000 +0000\ndata 6\nimport"
        )?;
        for (path, data) in files {
            writeln!(w, "M 100644 inline {path}\ndata {}", data.len())?;
            w.write_all(&data)?;
            writeln!(w)?;
        }
        if let Some((path, size)) = big {
            writeln!(w, "M 100644 inline {path}\ndata {size}")?;
            let chunk = vec![0u8; 1 << 20];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                w.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            writeln!(w)?;
        }
        w.flush()?;
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("fast-import failed");
    }
    git(bare, &["rev-parse", "refs/heads/main"])
}
