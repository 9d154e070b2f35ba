//! Data-driven fixtures: `tests/fixtures/<feature>/<case>/input/` is built
//! and compared byte for byte with `expected.yaml`, which
//! `tests/fixtures/generate.sh` produced with `kubectl kustomize`.

use std::path::{Path, PathBuf};

use kedge_kustomize::{Kustomizer, OsFileSystem};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for feature in std::fs::read_dir(&root).expect("fixtures dir") {
        let feature = feature.unwrap().path();
        if !feature.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&feature).unwrap() {
            let case = case.unwrap().path();
            if case.join("expected.yaml").is_file() {
                out.push(case);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fixtures_match_kubectl_byte_for_byte() {
    let all = cases();
    assert!(all.len() >= 8, "expected fixtures, found {}", all.len());
    let mut failed = Vec::new();
    for case in &all {
        let want = std::fs::read_to_string(case.join("expected.yaml")).unwrap();
        match Kustomizer::new().build(&OsFileSystem, &case.join("input")) {
            Ok(r) if r.to_yaml() == want => {}
            Ok(r) => failed.push(format!(
                "{}: output differs:\n{}",
                case.display(),
                r.to_yaml()
            )),
            Err(e) => failed.push(format!("{}: {e}", case.display())),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
