//! Re-emitting real `kustomize build` outputs: every `expected.yaml` of the
//! shared kustomize conformance corpus, parsed and emitted again, must come
//! back byte for byte (kustomize output is a fixed point of the pipeline).
//! Skipped when the shared corpus is not beside the workspace.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{diff, render};

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/kustomize");
    root.is_dir().then_some(root)
}

fn expected_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n == "expected.yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn reemit_kustomize_outputs() {
    let Some(root) = corpus() else {
        println!("skipped: no shared kustomize conformance corpus beside the workspace");
        return;
    };
    let files = expected_files(&root);
    assert!(
        !files.is_empty(),
        "no expected.yaml under {}",
        root.display()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("read expected.yaml");
        match render(&text) {
            Ok(out) if out == text => {}
            Ok(out) => failures.push(format!("{}:\n{}", file.display(), diff(&text, &out))),
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} kustomize outputs do not re-emit identically:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
