//! The annotations transformer (`commonAnnotations`): the label
//! transformer's map setting, over the annotation field specs.

use crate::error::Result;
use crate::fieldspec::FieldSpec;
use crate::resmap::ResMap;

/// Sets `pairs` as annotations at every field spec.
pub(crate) fn run(m: &mut ResMap, pairs: &[(String, String)], fss: &[FieldSpec]) -> Result<()> {
    super::labels::set_map_entries(m, pairs, fss)
}
