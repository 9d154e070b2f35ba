//! Running `git`: the one place this crate spawns processes.
//!
//! Every call gets a scrubbed-down environment (only `PATH` inherited; a
//! private `HOME`; `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null`,
//! `GIT_TERMINAL_PROMPT=0`; protocol policy and safety settings passed as
//! `GIT_CONFIG_COUNT` pairs), runs in its own process group so a timeout can
//! kill git and every helper it started (`ssh`, `git-remote-https`,
//! `upload-pack`), and has its stdout and stderr captured up to fixed limits.
//! Each spawn increments a counter that benchmarks and tests read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};

use crate::error::GitError;
use crate::redact::scrub;

/// How much stderr is kept for error messages.
const STDERR_LIMIT: usize = 16 * 1024;

static GLOBAL_SPAWNS: AtomicU64 = AtomicU64::new(0);

/// Number of `git` processes this crate has started in this process.
pub fn git_processes_spawned() -> u64 {
    GLOBAL_SPAWNS.load(Ordering::Relaxed)
}

/// Settings shared by every call of one cache.
#[derive(Clone, Debug)]
pub(crate) struct ExecEnv {
    pub(crate) git: PathBuf,
    pub(crate) home: PathBuf,
    pub(crate) allow_file_protocol: bool,
    pub(crate) spawns: Arc<AtomicU64>,
}

/// One `git` invocation.
pub(crate) struct GitCall<'a> {
    pub(crate) repo: &'a str,
    pub(crate) args: Vec<OsString>,
    pub(crate) git_dir: Option<&'a Path>,
    pub(crate) cwd: Option<&'a Path>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) timeout: Duration,
    pub(crate) stdout_limit: usize,
}

impl<'a> GitCall<'a> {
    pub(crate) fn new<I, S>(repo: &'a str, args: I, timeout: Duration) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            repo,
            args: args.into_iter().map(Into::into).collect(),
            git_dir: None,
            cwd: None,
            env: Vec::new(),
            stdin: None,
            timeout,
            stdout_limit: 64 * 1024 * 1024,
        }
    }

    pub(crate) fn git_dir(mut self, dir: &'a Path) -> Self {
        self.git_dir = Some(dir);
        self
    }

    pub(crate) fn cwd(mut self, dir: &'a Path) -> Self {
        self.cwd = Some(dir);
        self
    }

    pub(crate) fn envs(mut self, vars: &[(String, String)]) -> Self {
        self.env.extend(vars.iter().cloned());
        self
    }

    pub(crate) fn stdout_limit(mut self, limit: usize) -> Self {
        self.stdout_limit = limit;
        self
    }

    fn name(&self) -> String {
        self.args
            .iter()
            .find(|a| !a.to_string_lossy().starts_with('-'))
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// What a finished call printed.
#[derive(Debug)]
pub(crate) struct GitOutput {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl GitOutput {
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl ExecEnv {
    /// The configuration every call carries, as `(key, value)` pairs.
    fn config_pairs(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("protocol.allow", "never"),
            ("protocol.https.allow", "always"),
            ("protocol.http.allow", "always"),
            ("protocol.ssh.allow", "always"),
            ("protocol.git.allow", "always"),
            (
                "protocol.file.allow",
                if self.allow_file_protocol {
                    "always"
                } else {
                    "never"
                },
            ),
            ("credential.helper", ""),
            ("core.hooksPath", "/dev/null"),
            ("core.fsmonitor", "false"),
            ("submodule.recurse", "false"),
            ("gc.auto", "0"),
            ("maintenance.auto", "false"),
            ("advice.detachedHead", "false"),
            ("init.defaultBranch", "main"),
            ("safe.directory", "*"),
            ("uploadpack.allowAnySHA1InWant", "true"),
        ]
    }

    /// Applies the controlled environment to a std or tokio command.
    pub(crate) fn environment(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = Vec::new();
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH".into(), path));
        }
        let set =
            |env: &mut Vec<(OsString, OsString)>, k: &str, v: &str| env.push((k.into(), v.into()));
        env.push(("HOME".into(), self.home.clone().into_os_string()));
        env.push((
            "XDG_CONFIG_HOME".into(),
            self.home.join(".config").into_os_string(),
        ));
        set(&mut env, "LANG", "C");
        set(&mut env, "LC_ALL", "C");
        set(&mut env, "GIT_CONFIG_NOSYSTEM", "1");
        set(&mut env, "GIT_CONFIG_GLOBAL", "/dev/null");
        set(&mut env, "GIT_TERMINAL_PROMPT", "0");
        set(&mut env, "GIT_ASKPASS", "/bin/false");
        set(&mut env, "SSH_ASKPASS", "/bin/false");
        set(
            &mut env,
            "GIT_SSH_COMMAND",
            "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes",
        );
        set(&mut env, "GIT_NO_REPLACE_OBJECTS", "1");
        set(&mut env, "GIT_OPTIONAL_LOCKS", "0");
        let pairs = self.config_pairs();
        set(&mut env, "GIT_CONFIG_COUNT", &pairs.len().to_string());
        for (i, (k, v)) in pairs.iter().enumerate() {
            set(&mut env, &format!("GIT_CONFIG_KEY_{i}"), k);
            set(&mut env, &format!("GIT_CONFIG_VALUE_{i}"), v);
        }
        env
    }

    pub(crate) fn count_spawn(&self) {
        self.spawns.fetch_add(1, Ordering::Relaxed);
        GLOBAL_SPAWNS.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a call to completion, or kills its process group on timeout.
    pub(crate) async fn run(&self, call: GitCall<'_>) -> Result<GitOutput, GitError> {
        let name = call.name();
        let mut cmd = tokio::process::Command::new(&self.git);
        cmd.env_clear();
        cmd.envs(self.environment());
        for (k, v) in &call.env {
            cmd.env(k, v);
        }
        if let Some(dir) = call.git_dir {
            cmd.env("GIT_DIR", dir);
        }
        cmd.current_dir(call.cwd.unwrap_or(&self.home));
        cmd.args(&call.args);
        cmd.stdin(if call.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped());
        cmd.stderr(Stdio::piped());
        cmd.process_group(0);
        cmd.kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| GitError::Spawn {
            command: name.clone(),
            message: scrub(&e.to_string()),
        })?;
        self.count_spawn();
        let pid = child.id();
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let input = call.stdin;
        let limit = call.stdout_limit;
        let work = async move {
            let feed = async move {
                if let (Some(mut w), Some(data)) = (stdin, input) {
                    // A child that exits early closes the pipe: not our error.
                    let _ = w.write_all(&data).await;
                }
            };
            let (_, out, err, status) = tokio::join!(
                feed,
                read_bounded(&mut stdout, limit),
                read_bounded(&mut stderr, STDERR_LIMIT),
                child.wait()
            );
            (out, err, status)
        };
        let (out, err, status) = match tokio::time::timeout(call.timeout, work).await {
            Ok(r) => r,
            Err(_) => {
                kill_group(pid);
                return Err(GitError::Timeout {
                    repo: scrub(call.repo),
                    command: name,
                    timeout: call.timeout,
                });
            }
        };
        let (stdout, overflow) = out;
        if overflow {
            kill_group(pid);
            return Err(GitError::OutputTooLarge {
                repo: scrub(call.repo),
                command: name,
                limit,
            });
        }
        let status = status.map_err(|e| GitError::Spawn {
            command: name,
            message: scrub(&e.to_string()),
        })?;
        Ok(GitOutput {
            code: status.code(),
            stdout,
            stderr: scrub(String::from_utf8_lossy(&err.0).trim()),
        })
    }

    /// Runs a call and turns a non-zero exit into [`GitError::Command`].
    pub(crate) async fn run_ok(&self, call: GitCall<'_>) -> Result<Vec<u8>, GitError> {
        let repo = scrub(call.repo);
        let name = call.name();
        let out = self.run(call).await?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Command {
                repo,
                command: name,
                code: out.code,
                stderr: out.stderr,
            })
        }
    }
}

/// Reads up to `limit` bytes, then drains and discards the rest; the flag
/// tells whether anything was discarded.
async fn read_bounded<R: AsyncRead + Unpin>(r: &mut R, limit: usize) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut overflow = false;
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if buf.len() + n <= limit {
                    buf.extend_from_slice(&chunk[..n]);
                } else {
                    let room = limit - buf.len();
                    buf.extend_from_slice(&chunk[..room]);
                    overflow = true;
                }
            }
        }
    }
    (buf, overflow)
}

/// Kills a process group (git and the helpers it started).
pub(crate) fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
