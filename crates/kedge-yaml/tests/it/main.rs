//! Integration tests of `kedge-yaml`: one test binary per crate, one module per feature.

mod conformance;
mod golden;
mod hostile;
mod perf;
mod props;

use std::path::PathBuf;

/// The crate's fixture directory.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Parse, convert and emit a stream the way `kustomize build` prints it.
pub(crate) fn render(src: &str) -> Result<String, kedge_yaml::Error> {
    let docs = kedge_yaml::parse_stream(src, &kedge_yaml::Limits::default())?;
    let values = docs
        .iter()
        .map(kedge_yaml::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(kedge_yaml::emit_documents(&values))
}

/// A short line diff for failure messages.
pub(crate) fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            out.push_str(&format!(
                "  line {}:\n    want {:?}\n    got  {:?}\n",
                i + 1,
                x,
                y
            ));
            if out.len() > 2000 {
                break;
            }
        }
    }
    if out.is_empty() && expected != actual {
        out.push_str("  (differs only in the final newline)\n");
    }
    out
}
