//! JSON patch and JSON merge patch against kubectl: the fixtures under
//! `tests/fixtures/jsonpatch/` hold what `kubectl patch --local --type json`
//! (or `--type merge`) produced, errors included; JSON patch error messages
//! must match the server's word for word.

use anyhow::Result;
use kedge_merge::jsonpatch::{
    JsonPatchError, JsonPatchLimits, apply_json_patch, apply_json_patch_with_limits,
};
use kedge_merge::mergepatch::{create_merge_patch, merge_patch};
use serde_json::json;

use crate::smp::{check_cases, load_cases};

#[test]
fn json_patch_matches_kubectl() -> Result<()> {
    let cases: Vec<_> = load_cases("jsonpatch")?
        .into_iter()
        .filter(|c| c.ty == "json")
        .collect();
    assert!(cases.len() > 40, "only {} JSON patch fixtures", cases.len());
    let n = check_cases(&cases, true, |c| apply_json_patch(&c.original, &c.patch));
    println!("{n} JSON patch fixtures agree with kubectl");
    Ok(())
}

#[test]
fn merge_patch_matches_kubectl() -> Result<()> {
    let cases: Vec<_> = load_cases("jsonpatch")?
        .into_iter()
        .filter(|c| c.ty == "merge")
        .collect();
    assert!(
        cases.len() > 10,
        "only {} merge patch fixtures",
        cases.len()
    );
    let n = check_cases(&cases, false, |c| merge_patch(&c.original, &c.patch));
    println!("{n} merge patch fixtures agree with kubectl");
    Ok(())
}
