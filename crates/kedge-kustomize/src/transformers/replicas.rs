//! The replica count transformer (`replicas:`): sets `spec.replicas` of the
//! named workloads (matched by current or previous name).

use serde_json::Value;

use crate::error::{Result, build_err};
use crate::fieldspec::{self, CreateKind, FieldSpec};
use crate::kustomization::Replica;
use crate::resmap::ResMap;

/// Applies every `replicas:` entry.
pub(crate) fn run(m: &mut ResMap, replicas: &[Replica], fss: &[FieldSpec]) -> Result<()> {
    for rep in replicas {
        let mut found = false;
        for fs in fss {
            let idx = m.matching_any_id_named(&rep.name, |id| {
                id.name == rep.name && id.gvk.is_selected_by(&fs.gvk)
            });
            if idx.is_empty() {
                continue;
            }
            found = true;
            for i in idx {
                let r = &mut m.list[i];
                let gvk = r.gvk();
                let mut set = |v: &mut Value| -> Result<()> {
                    *v = Value::from(rep.count);
                    Ok(())
                };
                fieldspec::apply(&mut r.obj, &gvk, fs, CreateKind::Scalar, &mut set)?;
            }
        }
        if !found {
            let gvks: Vec<String> = fss.iter().map(|f| f.gvk.display()).collect();
            return Err(build_err(format!(
                "resource with name {} does not match a config with the following GVK [{}]",
                rep.name,
                gvks.join(" ")
            )));
        }
    }
    Ok(())
}
