//! The label transformer (`commonLabels` and `labels:`): sets each pair on
//! every map the field specs reach, creating maps where a spec says so.

use serde_json::{Map, Value};

use crate::error::{Result, build_err};
use crate::fieldspec::{self, CreateKind, FieldSpec};
use crate::resmap::ResMap;

/// Sets `pairs` at every field spec of every resource.
pub(crate) fn set_map_entries(
    m: &mut ResMap,
    pairs: &[(String, String)],
    fss: &[FieldSpec],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in &mut m.list {
        let gvk = r.gvk();
        for fs in fss {
            let mut set = |v: &mut Value| -> Result<()> {
                if v.is_null() {
                    *v = Value::Object(Map::new());
                }
                let Value::Object(map) = v else {
                    return Err(build_err(format!(
                        "wrong node kind: expected MappingNode but got a scalar or sequence at '{}'",
                        fs.path
                    )));
                };
                for (k, val) in pairs {
                    map.insert(k.clone(), Value::String(val.clone()));
                }
                Ok(())
            };
            fieldspec::apply(&mut r.obj, &gvk, fs, CreateKind::Map, &mut set)?;
        }
    }
    Ok(())
}
