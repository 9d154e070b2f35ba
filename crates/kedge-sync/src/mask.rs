//! Secret masking. Two tools keep Secret values out of every diff, log, event
//! and error:
//!
//! - [`mask_pair`] rewrites a desired/live pair before it is diffed: every
//!   value under a Secret's `data`/`stringData` (and every annotation listed as
//!   sensitive, plus `kubectl.kubernetes.io/last-applied-configuration` of a
//!   Secret) becomes a run of `+`; equal values get equal runs and different
//!   values different runs (8, 9, 10, … characters), so a diff still shows
//!   *whether* a value changed, as Argo CD does.
//! - [`Redactor`] remembers every secret value it saw (raw and base64) and
//!   replaces it in free text (server messages, log lines) before they leave
//!   the engine.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use serde_json::Value;

use crate::object::kind_of;

/// Annotation whose value embeds the whole object (and so its data).
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn is_secret(obj: &Value) -> bool {
    kind_of(obj) == "Secret"
        && obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v == "v1")
}

struct Masker {
    masks: BTreeMap<String, String>,
}

impl Masker {
    fn mask(&mut self, v: &Value) -> Value {
        let key = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let n = self.masks.len();
        Value::String(
            self.masks
                .entry(key)
                .or_insert_with(|| "+".repeat(8 + n))
                .clone(),
        )
    }
}

fn mask_map(m: &mut Masker, obj: &mut Value, field: &str) {
    if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
        for v in map.values_mut() {
            *v = m.mask(v);
        }
    }
}

fn mask_annotations(m: &mut Masker, obj: &mut Value, sensitive: &[String], secret: bool) {
    if let Some(ann) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        for (k, v) in ann.iter_mut() {
            if sensitive.iter().any(|s| s == k) || (secret && k == LAST_APPLIED) {
                *v = m.mask(v);
            }
        }
    }
}

/// Masks a desired/live pair in place (either may be absent). Values are
/// compared after Secret `stringData` was folded into `data` by
/// normalisation, so an unchanged value masks identically on both sides.
pub fn mask_pair(desired: Option<&mut Value>, live: Option<&mut Value>, sensitive: &[String]) {
    let mut m = Masker {
        masks: BTreeMap::new(),
    };
    for obj in [desired, live].into_iter().flatten() {
        let secret = is_secret(obj);
        if secret {
            mask_map(&mut m, obj, "data");
            mask_map(&mut m, obj, "stringData");
        }
        mask_annotations(&mut m, obj, sensitive, secret);
    }
}

/// Masks a single object (for logs and events).
pub fn mask_object(obj: &mut Value, sensitive: &[String]) {
    mask_pair(Some(obj), None, sensitive);
}

/// Replaces known secret values in free text. Cheap to clone; shared by the
/// engine and everything that formats messages.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<Vec<String>>>,
}

/// Values shorter than this are not redacted from free text (they would
/// mangle ordinary words); diffs mask every value regardless of length.
const MIN_REDACT_LEN: usize = 3;

impl Redactor {
    /// A redactor that knows no values yet.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Remembers the secret values of an object (Secret data, stringData,
    /// sensitive annotations), raw and base64-encoded or decoded.
    pub fn learn(&self, obj: &Value, sensitive: &[String]) {
        let mut found = Vec::new();
        if is_secret(obj) {
            for field in ["data", "stringData"] {
                if let Some(map) = obj.get(field).and_then(Value::as_object) {
                    for v in map.values().filter_map(Value::as_str) {
                        found.push(v.to_string());
                        let b64 = base64::engine::general_purpose::STANDARD;
                        if field == "data" {
                            if let Ok(raw) = b64.decode(v)
                                && let Ok(s) = String::from_utf8(raw)
                            {
                                found.push(s);
                            }
                        } else {
                            found.push(b64.encode(v));
                        }
                    }
                }
            }
            if let Some(v) = crate::object::annotation(obj, LAST_APPLIED) {
                found.push(v.to_string());
            }
        }
        if let Some(ann) = obj
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
        {
            for (k, v) in ann {
                if sensitive.iter().any(|s| s == k)
                    && let Some(v) = v.as_str()
                {
                    found.push(v.to_string());
                }
            }
        }
        found.retain(|v| v.len() >= MIN_REDACT_LEN);
        if found.is_empty() {
            return;
        }
        let mut values = self.values.write().expect("redactor lock");
        for v in found {
            // JSON-escaped forms appear in server messages too.
            let escaped = serde_json::to_string(&v).unwrap_or_default();
            let escaped = escaped.trim_matches('"').to_string();
            for candidate in [v, escaped] {
                if !values.contains(&candidate) {
                    values.push(candidate);
                }
            }
        }
        // Longest first, so a value containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// The text with every known value replaced by `++++++++`.
    pub fn redact(&self, text: &str) -> String {
        let values = self.values.read().expect("redactor lock");
        let mut out = text.to_string();
        for v in values.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "++++++++");
            }
        }
        out
    }
}
