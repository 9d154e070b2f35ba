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
    parse_documents_mode(text, file, limits, true)
}

/// Parses a patch stream: like [`parse_documents`], but a `null` annotation
/// stays `null` (it deletes the annotation when merged).
pub(crate) fn parse_patches(text: &str, file: &str, limits: &Limits) -> Result<Vec<Value>> {
    parse_documents_mode(text, file, limits, false)
}

fn parse_documents_mode(
    text: &str,
    file: &str,
    limits: &Limits,
    resource_mode: bool,
) -> Result<Vec<Value>> {
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
        fix_annotations(node, &mut v, resource_mode);
        if let Some(items) = node.get("items") {
            if let (NodeValue::Sequence(item_nodes), Some(Value::Array(values))) =
                (&items.value, v.get_mut("items"))
            {
                for (n, val) in item_nodes.iter().zip(values.iter_mut()) {
                    fix_annotations(n, val, resource_mode);
                }
            }
        }
        out.push(v);
    }
    Ok(out)
}

/// Parses a single-document YAML text (a kustomization or config file).
pub(crate) fn parse_one(text: &str, file: &str, limits: &Limits) -> Result<Value> {
    let docs = parse_documents(text, file, limits)?;
    Ok(docs.into_iter().next().unwrap_or(Value::Null))
}

fn fix_annotations(node: &Node, v: &mut Value, resource_mode: bool) {
    let Some(ann_node) = node.get("metadata").and_then(|m| m.get("annotations")) else {
        return;
    };
    let NodeValue::Mapping(entries) = &ann_node.value else {
        return;
    };
    let Some(Value::Object(ann)) = v
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    else {
        return;
    };
    for (k, val) in entries {
        let (Some(key), NodeValue::Scalar { text, .. }) = (k.as_scalar(), &val.value) else {
            continue;
        };
        if val.is_null() && !resource_mode {
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
