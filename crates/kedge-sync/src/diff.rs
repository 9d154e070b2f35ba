//! The comparison of one resource: normalise both sides, drop ignored
//! fields, mask secrets, then render each side as YAML and compute a unified
//! diff (`similar`). The result says whether the resource is out of sync and
//! carries only masked text, so it can be logged, stored and shown.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use similar::TextDiff;

use crate::error::SyncError;
use crate::ignore::{ResourceIgnoreDifferences, apply_ignore_differences};
use crate::mask::mask_pair;
use crate::normalize::{NormalizeOptions, normalize};
use crate::object::ResourceKey;

/// Settings of a comparison.
#[derive(Debug, Clone, Default)]
pub struct DiffConfig {
    /// Normalisation options.
    pub normalize: NormalizeOptions,
    /// `ignoreDifferences` rules.
    pub ignore: Vec<ResourceIgnoreDifferences>,
    /// Annotations whose values are masked like Secret data.
    pub sensitive_annotations: Vec<String>,
}

/// The comparison of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    /// The resource.
    pub key: ResourceKey,
    /// Whether desired and live differ after normalisation.
    pub modified: bool,
    /// Declared in Git but absent from the cluster.
    pub missing: bool,
    /// In the cluster but no longer declared (a prune candidate).
    pub extraneous: bool,
    /// Masked, normalised desired state as YAML ("" when absent).
    pub desired: String,
    /// Masked, normalised live state as YAML ("" when absent).
    pub live: String,
    /// Unified diff from live to desired ("" when equal).
    pub unified: String,
}

/// Compares a desired object (the server's dry-run result, or the rendered
/// object) with the live one. Both are taken by value and normalised here.
pub fn diff_resource(
    key: &ResourceKey,
    desired: Option<Value>,
    live: Option<Value>,
    config: &DiffConfig,
) -> Result<ResourceDiff, SyncError> {
    let mut desired = desired;
    let mut live = live;
    apply_ignore_differences(&config.ignore, key, desired.as_mut(), live.as_mut())?;
    for v in [desired.as_mut(), live.as_mut()].into_iter().flatten() {
        normalize(v, &config.normalize);
    }
    let modified = desired != live;
    mask_pair(
        desired.as_mut(),
        live.as_mut(),
        &config.sensitive_annotations,
    );
    let d = desired.as_ref().map(to_yaml).unwrap_or_default();
    let l = live.as_ref().map(to_yaml).unwrap_or_default();
    let unified = if modified {
        TextDiff::from_lines(&l, &d)
            .unified_diff()
            .context_radius(3)
            .header(&format!("live/{key}"), &format!("desired/{key}"))
            .to_string()
    } else {
        String::new()
    };
    Ok(ResourceDiff {
        key: key.clone(),
        modified,
        missing: live.is_none() && desired.is_some(),
        extraneous: desired.is_none() && live.is_some(),
        desired: d,
        live: l,
        unified,
    })
}

/// Renders a value as block YAML (strings quoted when plain style would
/// change their meaning). Used for diffs only; not a general emitter.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0, false);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain_ok = !s.is_empty()
                && !s.contains([
                    '\n', ':', '#', '"', '\'', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>',
                    '%', '@', '`',
                ])
                && !s.starts_with([' ', '-', '?'])
                && !s.ends_with(' ')
                && serde_json::from_str::<Value>(s).is_err()
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off"
                );
            if plain_ok {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        other => other.to_string(),
    }
}

fn write_value(out: &mut String, v: &Value, indent: usize, in_seq: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, c)) in m.iter().enumerate() {
                if !(in_seq && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&scalar(&Value::String(k.clone())));
                out.push(':');
                write_child(out, c, indent);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, c) in a.iter().enumerate() {
                if !(in_seq && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match c {
                    Value::Object(m) if !m.is_empty() => write_value(out, c, indent + 2, true),
                    Value::Array(x) if !x.is_empty() => {
                        out.push('\n');
                        write_value(out, c, indent + 2, false)
                    }
                    _ => {
                        out.push_str(&empty_or_scalar(c));
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            out.push_str(&empty_or_scalar(v));
            out.push('\n');
        }
    }
}

fn empty_or_scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        _ => scalar(v),
    }
}

fn write_child(out: &mut String, c: &Value, indent: usize) {
    match c {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_value(out, c, indent + 2, false);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_value(out, c, indent, false);
        }
        _ => {
            out.push(' ');
            out.push_str(&empty_or_scalar(c));
            out.push('\n');
        }
    }
}
