//! Secret hygiene. Credentials live in [`Redacted`] wrappers whose `Debug`
//! and `Display` print a placeholder, and every message that leaves this
//! crate (errors, logs, captured `git` stderr) passes through [`scrub`],
//! which removes URL userinfo (`https://user:pass@host`) and any registered
//! secret value. Scrubbing is textual and deliberately conservative: it is
//! the last line of defence, not the only one (secrets never reach argv).

use std::fmt;
use std::sync::{OnceLock, RwLock};

/// The placeholder printed instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// A value that must never be printed. `Debug` and `Display` show
/// [`REDACTED`]; the inner value is reachable only through [`Redacted::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself; call sites are easy to audit by this name.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl Redacted<String> {
    /// Wraps a string secret and registers it with [`scrub`], so that any
    /// message containing it later is masked even if it leaked by accident.
    pub fn secret(value: impl Into<String>) -> Self {
        let value = value.into();
        register_secret(&value);
        Self(value)
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Redacted<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Redacted)
    }
}

fn registry() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

/// Registers a secret value that [`scrub`] masks wherever it appears.
/// Values shorter than four bytes are not registered (masking them would
/// mangle ordinary text and they offer no protection anyway).
pub fn register_secret(value: &str) {
    if value.len() < 4 {
        return;
    }
    let mut secrets = registry().write().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_owned());
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Removes credentials from a message: the userinfo of every URL
/// (`scheme://user:pass@host` becomes `scheme://<redacted>@host`) and every
/// value registered with [`register_secret`].
pub fn scrub(message: &str) -> String {
    let mut out = strip_userinfo(message);
    let secrets = registry().read().unwrap_or_else(|e| e.into_inner());
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// Replaces `user[:password]@` after every `://` with `<redacted>@`.
fn strip_userinfo(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // The authority ends at the first '/', whitespace, quote or end.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"' || c == '>')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_removed_from_every_url() {
        let msg = "fatal: unable to access 'https://bob:hunter2@example.com/x.git/': \
                   also http://tok@h:8080/y and ssh://git@h/z";
        let s = scrub(msg);
        assert!(!s.contains("hunter2"), "{s}");
        assert!(!s.contains("bob"), "{s}");
        assert!(s.contains("https://<redacted>@example.com/x.git/"), "{s}");
        assert!(s.contains("http://<redacted>@h:8080/y"), "{s}");
        assert!(s.contains("ssh://<redacted>@h/z"), "{s}");
    }

    #[test]
    fn registered_secrets_are_masked() {
        let r = Redacted::secret("s3cr3t-value-xyz");
        assert_eq!(format!("{r:?} {r}"), "<redacted> <redacted>");
        assert_eq!(
            scrub("token s3cr3t-value-xyz here"),
            "token <redacted> here"
        );
    }

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(scrub("no url here: a@b"), "no url here: a@b");
    }
}
