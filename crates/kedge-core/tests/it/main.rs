//! Integration tests of `kedge-core`: one test binary per crate, one module per feature.

mod gvk_object;
mod properties;
mod selectors;
mod status;
mod time;
mod validation;

use std::path::PathBuf;

/// Reads `tests/fixtures/<feature>/cases.json` and returns its `cases`.
pub(crate) fn cases(feature: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(feature)
        .join("cases.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)?;
    Ok(doc["cases"].as_array().cloned().unwrap_or_default())
}
