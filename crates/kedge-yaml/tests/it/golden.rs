//! The emitter golden corpus: every `fixtures/emit/<case>/input.yaml` must
//! render to the bytes `kubectl kustomize` printed for it (`expected.yaml`),
//! or fail where kustomize failed (`expected.err`).

use std::fs;

use kedge_yaml::Error;

use crate::{diff, fixtures, render};

#[test]
fn emit_golden_corpus() {
    let dir = fixtures().join("emit");
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .expect("fixtures/emit exists")
        .map(|e| e.expect("dir entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() > 50, "golden corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let input = fs::read_to_string(case.join("input.yaml")).expect("input.yaml");
        let got = render(&input);
        if let Ok(expected) = fs::read_to_string(case.join("expected.yaml")) {
            match got {
                Ok(out) if out == expected => {}
                Ok(out) => failures.push(format!("{name}:\n{}", diff(&expected, &out))),
                Err(e) => failures.push(format!("{name}: unexpected error {e}")),
            }
        } else {
            let expected = fs::read_to_string(case.join("expected.err")).expect("expected.err");
            match got {
                Ok(out) => failures.push(format!(
                    "{name}: kustomize failed ({}) but we printed:\n{out}",
                    expected.trim()
                )),
                Err(e) if !same_failure(&expected, &e) => failures.push(format!(
                    "{name}: kustomize failed with ({}) but we failed with: {e}",
                    expected.trim()
                )),
                Err(_) => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Whether our error is the kind of failure kustomize reported.
fn same_failure(kustomize: &str, ours: &Error) -> bool {
    match ours {
        Error::UnsupportedValue { .. } => {
            kustomize.contains("json: unsupported value") || kustomize.contains("MarshalJSON")
        }
        Error::NonStringKey { .. } => {
            kustomize.contains("json: unsupported type")
                || kustomize.contains("mapping key")
                || kustomize.contains("invalid map key")
        }
        Error::BadMerge { .. } => kustomize.contains("map merge requires"),
        Error::BadSeparator { .. } => kustomize.contains("invalid document separator"),
        Error::DuplicateKey { .. } => kustomize.contains("already defined"),
        Error::ControlCharacter { .. } => kustomize.contains("control characters are not allowed"),
        Error::LineBreakInKey { .. } => kustomize.contains("did not find expected"),
        Error::Syntax { .. } | Error::UnknownAnchor { .. } => {
            kustomize.contains("MalformedYAMLError") || kustomize.contains("found a tab character")
        }
        _ => false,
    }
}
