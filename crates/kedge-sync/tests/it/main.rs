//! Integration tests of `kedge-sync`: one test binary per crate, one module
//! per feature. Pure parts are data-driven from `tests/fixtures/<feature>/`;
//! engine tests run against the embedded control plane started in-process
//! (real kube-rs client, real HTTP).

mod apply;
mod cluster;
mod confirm;
mod engine;
mod health;
mod ignore;
mod kill;
mod lua;
mod mask;
mod normalize;
mod options;
mod order;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `tests/fixtures/<feature>`.
pub(crate) fn fixtures(feature: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(feature)
}

/// The case directories of a feature, sorted.
pub(crate) fn cases(feature: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures(feature))
        .unwrap_or_else(|e| panic!("fixtures {feature}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures for {feature}");
    out
}

/// Every document of a YAML file.
pub(crate) fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_str_docs(&text)
}

/// Every document of a YAML text.
pub(crate) fn yaml_str_docs(text: &str) -> Vec<Value> {
    kedge_yaml::parse_stream(text, &kedge_yaml::Limits::default())
        .expect("valid YAML")
        .iter()
        .map(|n| kedge_yaml::to_value(n).expect("convertible YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The single document of a YAML file.
pub(crate) fn yaml(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(docs.len(), 1, "{}: expected one document", path.display());
    docs.remove(0)
}

/// A JSON file.
pub(crate) fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn case_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}
