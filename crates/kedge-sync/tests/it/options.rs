//! Sync options: application level, per-resource annotations, strict parsing;
//! retry backoff.

use std::time::Duration;

use kedge_sync::options::{PropagationPolicy, Removal, SyncOptions};
use kedge_sync::{RetryPolicy, SyncError};
use serde_json::json;

#[test]
fn annotations_override_application_options() {
    let app = SyncOptions::parse([
        "Prune=false",
        "CreateNamespace=true",
        "ServerSideApply=true",
    ])
    .unwrap();
    assert_eq!(app.prune, Removal::Disabled);
    assert!(app.create_namespace);
    let obj = json!({"metadata": {"annotations": {
        "argocd.argoproj.io/sync-options": "Prune=confirm, PrunePropagationPolicy=orphan,Replace=true"}}});
    let o = app.for_object(&obj).unwrap();
    assert_eq!(o.prune, Removal::Confirm);
    assert_eq!(o.prune_propagation_policy, PropagationPolicy::Orphan);
    assert!(o.replace && o.create_namespace);
    // Kedge's annotation wins over Argo CD's.
    let obj = json!({"metadata": {"annotations": {
        "kedge.dev/sync-options": "Validate=false",
        "argocd.argoproj.io/sync-options": "Replace=true"}}});
    let o = app.for_object(&obj).unwrap();
    assert!(!o.validate && !o.replace);
}

#[test]
fn every_argo_cd_option_parses() {
    let all = [
        "Prune=confirm",
        "Delete=false",
        "Validate=false",
        "SkipDryRunOnMissingResource=true",
        "CreateNamespace=true",
        "PruneLast=true",
        "PrunePropagationPolicy=background",
        "ApplyOutOfSyncOnly=true",
        "ServerSideApply=false",
        "Replace=true",
        "Force=true",
        "FailOnSharedResource=true",
        "RespectIgnoreDifferences=true",
    ];
    let o = SyncOptions::parse(all).unwrap();
    let d = SyncOptions::default();
    assert_ne!(o.prune, d.prune);
    assert_ne!(o.delete, d.delete);
    assert_ne!(o.validate, d.validate);
    assert_ne!(
        o.skip_dry_run_on_missing_resource,
        d.skip_dry_run_on_missing_resource
    );
    assert_ne!(o.create_namespace, d.create_namespace);
    assert_ne!(o.prune_last, d.prune_last);
    assert_ne!(o.prune_propagation_policy, d.prune_propagation_policy);
    assert_ne!(o.apply_out_of_sync_only, d.apply_out_of_sync_only);
    assert_ne!(o.server_side_apply, d.server_side_apply);
    assert_ne!(o.replace, d.replace);
    assert_ne!(o.force, d.force);
    assert_ne!(o.fail_on_shared_resource, d.fail_on_shared_resource);
    assert_ne!(o.respect_ignore_differences, d.respect_ignore_differences);
}

#[test]
fn unknown_options_and_values_are_errors() {
    for bad in ["Prune=maybe", "Frobnicate=true", "Replace"] {
        match SyncOptions::parse([bad]) {
            Err(SyncError::Option { option, .. }) => assert_eq!(option, bad),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let r = RetryPolicy::default();
    let got: Vec<u64> = (0..8).map(|n| r.backoff(n).as_secs()).collect();
    assert_eq!(got, vec![5, 10, 20, 40, 80, 160, 180, 180]);
    let r = RetryPolicy {
        base: Duration::from_millis(100),
        factor: 3,
        max: Duration::from_secs(1),
        limit: 2,
    };
    assert_eq!(r.backoff(2), Duration::from_millis(900));
    assert_eq!(r.backoff(40), Duration::from_secs(1));
}
