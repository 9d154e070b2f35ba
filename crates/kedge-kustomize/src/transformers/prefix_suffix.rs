//! The prefix and suffix transformers: prepend/append to `metadata.name`
//! (and any configured name fields), recording the previous id and the
//! prefix/suffix so name references can be fixed later. CRDs, APIServices
//! and Namespaces keep their names.

use serde_json::Value;

use crate::error::Result;
use crate::fieldspec::{self, CreateKind, FieldSpec};
use crate::resmap::ResMap;
use crate::resource::{Gvk, scalar_text};

fn skipped(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// Adds `affix` as a prefix (`is_prefix`) or suffix to every resource.
pub(crate) fn run(m: &mut ResMap, affix: &str, is_prefix: bool, fss: &[FieldSpec]) -> Result<()> {
    if affix.is_empty() {
        return Ok(());
    }
    for r in &mut m.list {
        let org = r.org_id();
        if skipped(&org.gvk) {
            continue;
        }
        for fs in fss {
            if !org.gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                if is_prefix {
                    r.prefixes.push(affix.to_string());
                } else {
                    r.suffixes.push(affix.to_string());
                }
                r.store_previous_id();
            }
            let gvk = r.gvk();
            let mut set = |v: &mut Value| -> Result<()> {
                let cur = scalar_text(v);
                *v = Value::String(if is_prefix {
                    format!("{affix}{cur}")
                } else {
                    format!("{cur}{affix}")
                });
                Ok(())
            };
            fieldspec::apply(&mut r.obj, &gvk, fs, CreateKind::Scalar, &mut set)?;
        }
    }
    Ok(())
}
