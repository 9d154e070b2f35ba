//! The bridge to `kedge-yaml`: YAML text to JSON values as kustomize reads
//! them, and JSON values back to kustomize's output text.
//!
//! Scalars are typed like kustomize's YAML → JSON round trip, with one
//! exception kustomize makes by accident: every object's
//! `metadata.annotations` are read back and rewritten as strings while the
//! build annotations are cleaned up, so annotation values keep their source
//! text (`0755` stays `"0755"`). A `null` annotation stays `null`, which is
//! what a strategic-merge patch uses to delete one.

use kedge_yaml::{Limits, Node, NodeValue};
use serde_json::Value;

use crate::error::{Error, Result};

/// Parses a multi-document stream into JSON values, dropping empty documents.
pub(crate) fn parse_documents(text: &str, file: &str, limits: &Limits) -> Result<Vec<Value>> {
    parse_documents_mode(text, file, limits, Mode::Resource)
}

/// Parses a patch stream: like [`parse_documents`], but a `null` annotation
/// stays `null` (it deletes the annotation when merged).
pub(crate) fn parse_patches(text: &str, file: &str, limits: &Limits) -> Result<Vec<Value>> {
    parse_documents_mode(text, file, limits, Mode::Patch)
}

/// Parses a strategic-merge patch that kustomize copies through its string
/// maps first (`patchesStrategicMerge`, targeted `patches`): labels and
/// annotations become the text of their values, `null` included.
pub(crate) fn parse_patches_string_meta(
    text: &str,
    file: &str,
    limits: &Limits,
) -> Result<Vec<Value>> {
    parse_documents_mode(text, file, limits, Mode::StringMeta)
}

/// How metadata string maps are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Annotations become text (a resource read from a file).
    Resource,
    /// Annotations become text, except `null` which stays `null`.
    Patch,
    /// Labels and annotations become text.
    StringMeta,
}

fn parse_documents_mode(text: &str, file: &str, limits: &Limits, mode: Mode) -> Result<Vec<Value>> {
    let nodes = kedge_yaml::parse_stream(text, limits).map_err(|e| Error::Yaml {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let mut v = kedge_yaml::to_value(node).map_err(|e| Error::Yaml {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        if v.is_null() {
            continue;
        }
        fix_meta(node, &mut v, mode);
        if let Some(items) = node.get("items")
            && let (NodeValue::Sequence(item_nodes), Some(Value::Array(values))) =
                (&items.value, v.get_mut("items"))
        {
            for (n, val) in item_nodes.iter().zip(values.iter_mut()) {
                fix_meta(n, val, mode);
            }
        }
        out.push(v);
    }
    Ok(out)
}

const DUP: &str = "__kedge_duplicate_key_";

/// Parses a single-document YAML text (a kustomization or config file).
///
/// kustomize reads these through go-yaml v2, where a repeated mapping key
/// is not an error: the last one wins. The earlier key is renamed out of
/// the way and dropped after parsing.
pub(crate) fn parse_one(text: &str, file: &str, limits: &Limits) -> Result<Value> {
    let mut text = text.to_string();
    for attempt in 0..64 {
        match kedge_yaml::parse_stream(&text, limits) {
            Err(kedge_yaml::Error::DuplicateKey {
                key, first_line, ..
            }) => {
                let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
                let Some(line) = lines.get_mut(first_line.saturating_sub(1)) else {
                    break;
                };
                let Some(pos) = line.find(&format!("{key}:")) else {
                    break;
                };
                line.replace_range(pos..pos + key.len(), &format!("{DUP}{attempt}"));
                text = lines.join("\n");
            }
            _ => break,
        }
    }
    let docs = parse_documents(&text, file, limits)?;
    let mut v = docs.into_iter().next().unwrap_or(Value::Null);
    if text.contains(DUP) {
        drop_dups(&mut v);
    }
    Ok(v)
}

fn drop_dups(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with(DUP));
            m.iter_mut().for_each(|(_, x)| drop_dups(x));
        }
        Value::Array(a) => a.iter_mut().for_each(drop_dups),
        _ => {}
    }
}

fn fix_meta(node: &Node, v: &mut Value, mode: Mode) {
    fix_string_map(node, v, "annotations", mode != Mode::Patch);
    if mode == Mode::StringMeta {
        fix_string_map(node, v, "labels", true);
    }
}

fn fix_string_map(node: &Node, v: &mut Value, field: &str, null_as_text: bool) {
    let Some(ann_node) = node.get("metadata").and_then(|m| m.get(field)) else {
        return;
    };
    let NodeValue::Mapping(entries) = &ann_node.value else {
        return;
    };
    let Some(Value::Object(ann)) = v.get_mut("metadata").and_then(|m| m.get_mut(field)) else {
        return;
    };
    for (k, val) in entries {
        let (Some(key), NodeValue::Scalar { text, .. }) = (k.as_scalar(), &val.value) else {
            continue;
        };
        if val.is_null() && !null_as_text {
            continue;
        }
        if let Some(slot) = ann.get_mut(key) {
            *slot = Value::String(text.clone());
        }
    }
}

/// Prints documents exactly as `kustomize build` does.
pub(crate) fn emit(docs: &[Value]) -> String {
    kedge_yaml::emit_documents(docs)
}
