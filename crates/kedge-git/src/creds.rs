//! Credentials and how they reach `git` without touching argv or logs.
//!
//! A [`CredentialStore`] holds credentials keyed by URL prefix, like Argo
//! CD's repository credentials and credential templates: the longest
//! matching prefix (compared on normalised URLs, at `/` boundaries) wins, so
//! `https://git.example.com/team` serves every repository of that team and
//! an exact repository entry overrides it.
//!
//! HTTPS credentials are passed through `GIT_ASKPASS`: a fixed helper script
//! prints the username or password from environment variables of the `git`
//! process. SSH keys are written to a private temporary file (mode 0600,
//! deleted when the call ends) named in `GIT_SSH_COMMAND`, along with a
//! known_hosts file and `StrictHostKeyChecking=yes`. Secrets are
//! [`Redacted`] and registered with the scrubber.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::GitError;
use crate::redact::Redacted;
use crate::url::RepoUrl;

/// One credential.
#[derive(Clone, Debug)]
pub enum Credential {
    /// HTTPS basic auth or token (token as password; any username).
    Basic {
        username: String,
        password: Redacted<String>,
    },
    /// An SSH private key (OpenSSH PEM) with the known_hosts lines to trust.
    Ssh {
        private_key: Redacted<String>,
        /// known_hosts content; `None` uses the store's default.
        known_hosts: Option<String>,
        /// Accept any host key (tests only; logs a warning on use).
        insecure_ignore_host_key: bool,
    },
}

impl Credential {
    /// HTTPS basic auth; the password is registered with the scrubber.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credential::Basic {
            username: username.into(),
            password: Redacted::secret(password),
        }
    }

    /// An SSH key trusted against the given known_hosts content.
    pub fn ssh(private_key: impl Into<String>, known_hosts: Option<String>) -> Self {
        let key = private_key.into();
        // Register each key line: a leaked fragment is masked too.
        for line in key
            .lines()
            .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        {
            crate::redact::register_secret(line);
        }
        Credential::Ssh {
            private_key: Redacted::new(key),
            known_hosts,
            insecure_ignore_host_key: false,
        }
    }
}

/// Credentials keyed by normalised URL prefix.
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    entries: Vec<(String, Credential)>,
    /// known_hosts used by SSH credentials that bring none, and by SSH
    /// fetches without a credential.
    pub default_known_hosts: Option<String>,
}

impl CredentialStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a credential for every repository whose URL starts with
    /// `url_prefix` (a whole repository URL, or an org/host prefix).
    pub fn insert(&mut self, url_prefix: &str, credential: Credential) -> Result<(), GitError> {
        let key = prefix_key(url_prefix)?;
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, credential));
        Ok(())
    }

    /// The credential of the longest prefix matching `url`, else the basic
    /// auth embedded in the URL as given.
    pub fn lookup(&self, url: &RepoUrl) -> Option<Credential> {
        let key = url.key();
        self.entries
            .iter()
            .filter(|(prefix, _)| {
                key == *prefix
                    || (key.starts_with(prefix.as_str())
                        && (prefix.ends_with('/')
                            || key.as_bytes().get(prefix.len()) == Some(&b'/')))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, c)| c.clone())
            .or_else(|| {
                url.embedded_basic_auth()
                    .map(|(username, password)| Credential::Basic { username, password })
            })
    }
}

fn prefix_key(prefix: &str) -> Result<String, GitError> {
    // A bare host prefix such as `https://example.com` parses with an empty path.
    let url = RepoUrl::parse(prefix)?;
    Ok(url.key().trim_end_matches('/').to_owned())
}

/// Environment and temporary files giving one `git` call its credential.
/// Dropping it deletes the key files.
#[derive(Default)]
pub(crate) struct AuthEnv {
    pub(crate) vars: Vec<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl AuthEnv {
    /// Builds the environment for `url`. `scratch` is a private directory
    /// (mode 0700) for key files; `askpass` the helper script.
    pub(crate) fn prepare(
        url: &RepoUrl,
        credential: Option<&Credential>,
        default_known_hosts: Option<&str>,
        scratch: &Path,
        askpass: &Path,
    ) -> Result<Self, GitError> {
        let mut env = AuthEnv::default();
        let is_ssh = url.scheme() == "ssh";
        match credential {
            Some(Credential::Basic { username, password }) if !is_ssh => {
                env.vars
                    .push(("GIT_ASKPASS".into(), askpass.display().to_string()));
                env.vars
                    .push(("KEDGE_GIT_USERNAME".into(), username.clone()));
                env.vars
                    .push(("KEDGE_GIT_PASSWORD".into(), password.expose().clone()));
            }
            Some(Credential::Ssh {
                private_key,
                known_hosts,
                insecure_ignore_host_key,
            }) if is_ssh => {
                let dir = tempfile::Builder::new()
                    .prefix("ssh-")
                    .tempdir_in(scratch)
                    .map_err(|e| GitError::io(scratch, e))?;
                let key_path = dir.path().join("key");
                let mut key = private_key.expose().clone();
                if !key.ends_with('\n') {
                    key.push('\n');
                }
                write_private(&key_path, key.as_bytes())?;
                let kh = known_hosts.as_deref().or(default_known_hosts).unwrap_or("");
                let kh_path = dir.path().join("known_hosts");
                write_private(&kh_path, kh.as_bytes())?;
                if *insecure_ignore_host_key {
                    tracing::warn!(repo = %url, "SSH host key checking disabled for this credential");
                }
                env.vars.push((
                    "GIT_SSH_COMMAND".into(),
                    ssh_command(Some(&key_path), &kh_path, *insecure_ignore_host_key),
                ));
                env._dir = Some(dir);
            }
            _ if is_ssh => {
                let dir = tempfile::Builder::new()
                    .prefix("ssh-")
                    .tempdir_in(scratch)
                    .map_err(|e| GitError::io(scratch, e))?;
                let kh_path = dir.path().join("known_hosts");
                write_private(&kh_path, default_known_hosts.unwrap_or("").as_bytes())?;
                env.vars
                    .push(("GIT_SSH_COMMAND".into(), ssh_command(None, &kh_path, false)));
                env._dir = Some(dir);
            }
            _ => {}
        }
        Ok(env)
    }
}

fn ssh_command(key: Option<&Path>, known_hosts: &Path, insecure: bool) -> String {
    let mut cmd = String::from("ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes");
    if let Some(key) = key {
        cmd.push_str(&format!(" -i {}", shell_quote(key)));
    }
    cmd.push_str(&format!(
        " -o UserKnownHostsFile={}",
        shell_quote(known_hosts)
    ));
    cmd.push_str(" -o GlobalKnownHostsFile=/dev/null");
    if insecure {
        cmd.push_str(" -o StrictHostKeyChecking=no");
    } else {
        cmd.push_str(" -o StrictHostKeyChecking=yes");
    }
    cmd
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

pub(crate) fn write_private(path: &Path, data: &[u8]) -> Result<(), GitError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| GitError::io(path, e))?;
    f.write_all(data).map_err(|e| GitError::io(path, e))
}

/// Writes the askpass helper into `dir` and returns its path. Git calls it
/// with a prompt such as `Username for 'https://host': `.
pub(crate) fn install_askpass(dir: &Path) -> Result<PathBuf, GitError> {
    let path = dir.join("askpass.sh");
    let script = "#!/bin/sh\ncase \"$1\" in\n  Username*|username*) printf '%s\\n' \"$KEDGE_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$KEDGE_GIT_PASSWORD\" ;;\nesac\n";
    std::fs::write(&path, script).map_err(|e| GitError::io(&path, e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| GitError::io(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_at_segment_boundaries() {
        let mut s = CredentialStore::new();
        s.insert(
            "https://git.example.com/team",
            Credential::basic("team", "pw-team-1234"),
        )
        .unwrap();
        s.insert(
            "https://git.example.com/team/special.git",
            Credential::basic("special", "pw-special-1234"),
        )
        .unwrap();
        s.insert(
            "https://git.example.com",
            Credential::basic("host", "pw-host-1234"),
        )
        .unwrap();
        let user = |u: &str| match s.lookup(&RepoUrl::parse(u).unwrap()) {
            Some(Credential::Basic { username, .. }) => username,
            other => format!("{other:?}"),
        };
        assert_eq!(user("https://git.example.com/team/a"), "team");
        assert_eq!(user("https://GIT.example.com/team/special"), "special");
        assert_eq!(user("https://git.example.com/teamx/a"), "host");
        assert_eq!(user("https://other.example.com/team/a"), "None");
    }
}
