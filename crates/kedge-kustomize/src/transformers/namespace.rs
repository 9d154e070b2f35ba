//! The namespace transformer: sets `metadata.namespace` on namespaced
//! objects, renames `Namespace` objects, sets the namespace of RoleBinding /
//! ClusterRoleBinding subjects named `default`, and follows the configured
//! field specs. Every object's previous id is recorded first.

use serde_json::Value;

use crate::error::{Result, build_err};
use crate::fieldspec::{self, CreateKind, FieldSpec};
use crate::resmap::ResMap;

/// Applies `namespace` to every resource.
pub(crate) fn run(m: &mut ResMap, namespace: &str, fss: &[FieldSpec]) -> Result<()> {
    if namespace.is_empty() {
        return Ok(());
    }
    for i in 0..m.list.len() {
        let r = &mut m.list[i];
        if r.map().is_none_or(|o| o.is_empty()) {
            continue;
        }
        r.store_previous_id();
        let gvk = r.gvk();
        if !gvk.is_cluster_scoped() {
            r.set_namespace(namespace);
        }
        if (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects")
        {
            for s in subjects {
                if let Value::Object(sm) = s
                    && sm.get("name").and_then(Value::as_str) == Some("default")
                {
                    sm.insert("namespace".into(), Value::String(namespace.into()));
                }
            }
        }
        for fs in fss {
            let mut set = |v: &mut Value| -> Result<()> {
                *v = Value::String(namespace.to_string());
                Ok(())
            };
            fieldspec::apply(&mut r.obj, &gvk, fs, CreateKind::Scalar, &mut set)?;
        }
    }
    let mut seen = std::collections::HashSet::new();
    for r in &m.list {
        if r.map().is_none_or(|o| o.is_empty()) {
            continue;
        }
        let id = r.cur_id();
        let key = (
            id.gvk.clone(),
            id.name.clone(),
            id.effective_namespace().to_string(),
        );
        if !seen.insert(key) {
            return Err(build_err(format!(
                "namespace transformation produces ID conflict: {}",
                id.display()
            )));
        }
    }
    Ok(())
}
