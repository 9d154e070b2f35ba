//! Runs the shared conformance corpus (kubectl-generated expectations)
//! through the library and fails below a pass-rate floor. Skips with a
//! message when the corpus is not present next to the workspace.

use std::path::{Path, PathBuf};

use kedge_kustomize::{Kustomizer, OsFileSystem};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/kustomize")
}

struct Tally {
    total: usize,
    exact: usize,
    failures: Vec<String>,
}

fn run_cases(dir: &Path) -> Tally {
    let mut t = Tally {
        total: 0,
        exact: 0,
        failures: Vec::new(),
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    cases.sort();
    let k = Kustomizer::new();
    for case in cases {
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap())
                .unwrap();
        if let Some(dirs) = meta["empty_dirs"].as_array()
            && dirs
                .iter()
                .filter_map(|d| d.as_str())
                .any(|d| !case.join(d).is_dir())
        {
            continue;
        }
        let build = case.join(meta["build_dir"].as_str().unwrap());
        let want_ok = meta["kubectl_exit"] == 0;
        t.total += 1;
        let got = k.build(&OsFileSystem, &build);
        let ok = match (&got, want_ok) {
            (Ok(r), true) => {
                let want = std::fs::read_to_string(case.join("expected.yaml")).unwrap();
                r.to_yaml() == want
            }
            (Err(_), false) => true,
            _ => false,
        };
        if ok {
            t.exact += 1;
        } else {
            t.failures
                .push(case.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    t
}

fn check(name: &str, floor: f64) {
    let dir = corpus_root().join(name);
    if !dir.is_dir() {
        eprintln!(
            "skipping: conformance corpus not found at {}",
            dir.display()
        );
        return;
    }
    let t = run_cases(&dir);
    let rate = t.exact as f64 / t.total.max(1) as f64;
    eprintln!(
        "{name}: {}/{} byte-exact ({:.1}%); failing: {:?}",
        t.exact,
        t.total,
        rate * 100.0,
        t.failures
    );
    assert!(t.total > 0, "no cases found in {name}");
    assert!(
        rate >= floor,
        "{name}: byte-exact rate {rate:.3} below the floor {floor}"
    );
}

#[test]
fn generated_cases_all_pass() {
    check("cases-gen-dev", 1.0);
}

#[test]
fn krusty_cases_above_floor() {
    check("cases-krusty", 0.99);
}
