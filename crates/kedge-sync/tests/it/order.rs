//! Task ordering: phase, wave, kind order, name — from fixtures.

use kedge_sync::order::{
    HookKind, KIND_ORDER, SyncPhase, hook_kind, kind_rank, sort_for_apply, sync_wave,
};

use crate::{case_name, cases, yaml_docs};

#[test]
fn fixtures_sort_as_expected() {
    let mut failures = Vec::new();
    for dir in cases("order") {
        let objs = yaml_docs(&dir.join("input.yaml"));
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        let got: String = sort_for_apply(&objs)
            .into_iter()
            .map(|i| {
                let o = &objs[i];
                let phase = match hook_kind(o) {
                    HookKind::Hook(p) => *p.iter().min().unwrap(),
                    _ => SyncPhase::Sync,
                };
                format!(
                    "{} {} {}/{}\n",
                    phase.as_str(),
                    sync_wave(o),
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        if got != expected {
            failures.push(format!(
                "{}:\n--- got\n{got}--- expected\n{expected}",
                case_name(&dir)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_kinds_rank_after_every_known_kind() {
    assert_eq!(kind_rank("Namespace"), 0);
    assert_eq!(kind_rank("APIService"), KIND_ORDER.len() - 1);
    assert!(kind_rank("Widget") > kind_rank("APIService"));
}

#[test]
fn helm_crd_install_is_not_a_hook() {
    let o = serde_json::json!({"metadata": {"annotations": {"helm.sh/hook": "crd-install"}}});
    assert_eq!(hook_kind(&o), HookKind::None);
    let o = serde_json::json!({"metadata": {"annotations": {"helm.sh/hook": "post-install,post-upgrade"}}});
    assert_eq!(hook_kind(&o), HookKind::Hook(vec![SyncPhase::PostSync]));
}
