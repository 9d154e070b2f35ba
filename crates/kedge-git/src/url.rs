//! Repository URLs and their normalised cache key.
//!
//! Users spell one repository many ways: `https://GitHub.com/Org/Repo.git/`,
//! `https://github.com/Org/Repo`, `git@github.com:Org/Repo.git`,
//! `ssh://git@github.com/Org/Repo`. [`RepoUrl`] keeps the URL git is given
//! (with any userinfo password removed, so it can be logged and put on
//! argv) and derives two normalised forms: the [`RepoUrl::key`] that names
//! the bare cache (scheme and host lower-cased, `.git` suffix and trailing
//! slashes removed, scp-like SSH rewritten as `ssh://`, userinfo dropped)
//! and the scheme-independent [`RepoUrl::identity`] (`host/path`) used to
//! match webhook payloads, which list a repository under several URL forms.

use std::fmt;

use crate::error::GitError;

/// A parsed repository URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RepoUrl {
    /// The URL handed to git, userinfo removed.
    fetch_url: String,
    /// Userinfo found in the URL as given (`user`, `user:password`).
    user: Option<String>,
    password: Option<crate::redact::Redacted<String>>,
    scheme: String,
    /// `host[:port]`, lower-cased; empty for `file://`.
    host: String,
    /// Path without leading/trailing slashes and `.git` suffix.
    path: String,
}

impl RepoUrl {
    /// Parses `https://`, `http://`, `ssh://`, `git://`, `file://` URLs,
    /// scp-like `user@host:path`, and absolute local paths (as `file://`).
    pub fn parse(input: &str) -> Result<Self, GitError> {
        let bad = |why: &str| GitError::InvalidUrl {
            url: crate::redact::scrub(input),
            reason: why.to_owned(),
        };
        let input = input.trim();
        if input.is_empty() {
            return Err(bad("empty URL"));
        }
        if input.starts_with('-') || input.contains("::") || input.chars().any(|c| c.is_control()) {
            return Err(bad(
                "URL starts with '-', names a transport helper or contains control characters",
            ));
        }
        if input.starts_with('/') {
            return Self::parse(&format!("file://{input}"));
        }
        if let Some((scheme, rest)) = input.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if !matches!(scheme.as_str(), "https" | "http" | "ssh" | "git" | "file") {
                return Err(bad(
                    "unsupported scheme (want https, http, ssh, git or file)",
                ));
            }
            if scheme == "file" {
                if !rest.starts_with('/') {
                    return Err(bad("file URL must be absolute"));
                }
                let path = trim_path(rest);
                return Ok(Self {
                    fetch_url: format!("file://{rest}"),
                    user: None,
                    password: None,
                    scheme,
                    host: String::new(),
                    path,
                });
            }
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let (userinfo, hostport) = match authority.rfind('@') {
                Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
                None => (None, authority),
            };
            if hostport.is_empty() {
                return Err(bad("missing host"));
            }
            let (user, password) = split_userinfo(userinfo);
            let host = hostport.to_ascii_lowercase();
            let fetch_url = match &user {
                Some(u) if scheme == "ssh" => format!("{scheme}://{u}@{host}{path}"),
                _ => format!("{scheme}://{host}{path}"),
            };
            return Ok(Self {
                fetch_url,
                user,
                password,
                scheme,
                host,
                path: trim_path(path),
            });
        }
        // scp-like: [user@]host:path (no slash before the colon).
        if let Some((before, path)) = input.split_once(':')
            && !before.contains('/')
            && !before.is_empty()
            && !path.is_empty()
        {
            let (user, hostpart) = match before.rfind('@') {
                Some(i) => (Some(before[..i].to_owned()), &before[i + 1..]),
                None => (None, before),
            };
            let host = hostpart.to_ascii_lowercase();
            let fetch_url = match &user {
                Some(u) => format!("{u}@{host}:{path}"),
                None => format!("{host}:{path}"),
            };
            return Ok(Self {
                fetch_url,
                user,
                password: None,
                scheme: "ssh".into(),
                host,
                path: trim_path(path),
            });
        }
        Err(bad("not a URL, scp-like address or absolute path"))
    }

    /// The URL to hand to git (never contains a password).
    pub fn fetch_url(&self) -> &str {
        &self.fetch_url
    }

    /// The normalised key naming the bare cache of this repository.
    pub fn key(&self) -> String {
        if self.scheme == "file" {
            format!("file:///{}", self.path)
        } else {
            format!("{}://{}/{}", self.scheme, self.host, self.path)
        }
    }

    /// Scheme- and user-independent identity, `host/path` lower-cased, used
    /// to decide whether two URLs name the same repository (webhooks).
    pub fn identity(&self) -> String {
        let host = self.host.split(':').next().unwrap_or_default();
        format!("{host}/{}", self.path).to_ascii_lowercase()
    }

    /// Whether `other` names the same repository as `self`, whatever the
    /// scheme, user, port, case or `.git` suffix.
    pub fn same_repo(&self, other: &RepoUrl) -> bool {
        self.identity() == other.identity()
    }

    /// `https`, `http`, `ssh`, `git` or `file`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The user named in the URL (`git` in `git@host:org/repo`).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Basic-auth credentials embedded in the URL as given, if any.
    pub(crate) fn embedded_basic_auth(&self) -> Option<(String, crate::redact::Redacted<String>)> {
        match (&self.user, &self.password) {
            (Some(u), Some(p)) if self.scheme.starts_with("http") => Some((u.clone(), p.clone())),
            _ => None,
        }
    }
}

fn split_userinfo(
    userinfo: Option<&str>,
) -> (Option<String>, Option<crate::redact::Redacted<String>>) {
    match userinfo {
        None => (None, None),
        Some(ui) => match ui.split_once(':') {
            Some((u, p)) => (Some(u.to_owned()), Some(crate::redact::Redacted::secret(p))),
            None => (Some(ui.to_owned()), None),
        },
    }
}

fn trim_path(path: &str) -> String {
    let p = path.trim_matches('/');
    let p = p.strip_suffix(".git").unwrap_or(p);
    p.trim_end_matches('/').to_owned()
}

impl std::hash::Hash for RepoUrl {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.fetch_url.hash(state);
    }
}

impl fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fetch_url)
    }
}

impl fmt::Debug for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepoUrl({})", self.fetch_url)
    }
}

impl std::str::FromStr for RepoUrl {
    type Err = GitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        RepoUrl::parse(s).unwrap().key()
    }

    #[test]
    fn spellings_of_one_repo_share_a_key() {
        let k = key("https://github.com/Org/Repo");
        assert_eq!(k, "https://github.com/Org/Repo");
        assert_eq!(key("HTTPS://GitHub.COM/Org/Repo.git"), k);
        assert_eq!(key("https://github.com/Org/Repo/"), k);
        assert_eq!(key("https://user:pw@github.com/Org/Repo.git/"), k);
        assert_eq!(
            key("git@github.com:Org/Repo.git"),
            "ssh://github.com/Org/Repo"
        );
        assert_eq!(
            key("ssh://git@GitHub.com/Org/Repo"),
            "ssh://github.com/Org/Repo"
        );
        assert_eq!(key("/srv/git/a.git"), "file:///srv/git/a");
    }

    #[test]
    fn identity_ignores_scheme() {
        let a = RepoUrl::parse("git@github.com:org/repo.git").unwrap();
        let b = RepoUrl::parse("https://GITHUB.com/org/repo").unwrap();
        assert!(a.same_repo(&b));
        let c = RepoUrl::parse("https://github.com/org/other").unwrap();
        assert!(!a.same_repo(&c));
    }

    #[test]
    fn password_never_reaches_fetch_url() {
        let u = RepoUrl::parse("https://bob:tok3n-secret@h.example/x.git").unwrap();
        assert_eq!(u.fetch_url(), "https://h.example/x.git");
        assert!(!format!("{u:?}").contains("tok3n"));
        assert!(u.embedded_basic_auth().is_some());
    }

    #[test]
    fn hostile_urls_are_refused() {
        assert!(RepoUrl::parse("--upload-pack=evil").is_err());
        assert!(RepoUrl::parse("ext::sh -c evil").is_err());
        assert!(RepoUrl::parse("").is_err());
    }
}
