//! Normalisation fixtures: `input.yaml` normalised equals `expected.yaml`
//! (`options.json` sets `compareStatus`).

use kedge_sync::normalize::{NormalizeOptions, normalize};

use crate::{case_name, cases, json, yaml};

#[test]
fn fixtures_normalize_as_expected() {
    let mut failures = Vec::new();
    for dir in cases("normalize") {
        let mut obj = yaml(&dir.join("input.yaml"));
        let expected = yaml(&dir.join("expected.yaml"));
        let mut opts = NormalizeOptions::default();
        if dir.join("options.json").exists() {
            opts.compare_status = json(&dir.join("options.json"))["compareStatus"] == true;
        }
        normalize(&mut obj, &opts);
        if obj != expected {
            failures.push(format!(
                "{}: got {}",
                case_name(&dir),
                serde_json::to_string_pretty(&obj).unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
