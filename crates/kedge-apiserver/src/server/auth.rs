//! Bearer-token authentication.
//!
//! One admin token, generated on first start and kept in `DIR/token` (mode
//! 0600). Every request needs it except the paths a real API server serves
//! to anonymous users through the `system:public-info-viewer` role:
//! `/healthz`, `/livez`, `/readyz` (and their sub-checks) and `/version`.
//! Over plain HTTP (loopback only) kubectl never sends credentials, so a
//! request without an `Authorization` header is trusted there; a wrong token
//! is still refused.

use std::path::Path;

use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::Error;

pub(crate) fn load_or_create_token(dir: &Path) -> Result<String, Error> {
    let path = dir.join("token");
    if path.exists() {
        let token = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let token = token.trim().to_string();
        if !token.is_empty() {
            return Ok(token);
        }
    }
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    super::write_private(&path, format!("{token}\n").as_bytes())?;
    Ok(token)
}

/// Whether the path is readable without credentials.
pub(crate) fn is_public(path: &str) -> bool {
    path == "/version"
        || ["/healthz", "/livez", "/readyz"]
            .iter()
            .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// Outcome of checking a request's credentials.
pub(crate) fn authenticate(header: Option<&str>, token: &str, trust_anonymous: bool) -> bool {
    match header {
        None => trust_anonymous,
        Some(h) => {
            let Some(given) = h.strip_prefix("Bearer ").map(str::trim) else {
                return false;
            };
            given.as_bytes().ct_eq(token.as_bytes()).into()
        }
    }
}
