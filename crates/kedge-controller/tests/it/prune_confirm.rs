//! `Prune=confirm`: a sync that would delete a confirm-marked object pauses
//! (operation `Running`, a `PruneConfirmationRequired` condition naming the
//! object, an Event) and is not re-run until confirmed, either by the
//! deletion-approved annotation or by a requested sync with pruning; the
//! same sync then resumes and prunes.

use k8s_openapi::api::core::v1::Event;
use kedge_controller::Outcome;
use kedge_controller::controller::PRUNE_CONFIRMATION_CONDITION;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::self_heal::app;
use crate::support::{Env, apply};

const KEEP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  k: v\n";

fn guarded(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/sync-options: Prune=confirm\ndata:\n  k: v\n"
    )
}

async fn reconcile(env: &Env, synced: bool) -> Value {
    let outcome = env.controller.reconcile("guard").await.expect("reconcile");
    assert_eq!(outcome, Outcome::Reconciled { synced }, "{outcome:?}");
    env.app("guard").await
}

fn condition<'a>(st: &'a Value, type_: &str) -> Option<&'a Value> {
    st["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Asserts the sync of `sha` is paused waiting for `name`, which still exists.
async fn assert_paused(env: &Env, st: &Value, sha: &str, name: &str) {
    let op = &st["status"]["operationState"];
    assert_eq!(op["phase"], "Running", "{op:#}");
    assert_eq!(op["syncRevision"], sha);
    let message = op["message"].as_str().unwrap_or_default();
    assert!(message.contains(name), "{message}");
    let cond = condition(st, PRUNE_CONFIRMATION_CONDITION).expect("condition");
    assert!(
        cond["message"].as_str().unwrap_or_default().contains(name),
        "{cond:#}"
    );
    assert!(condition(st, "SyncError").is_none(), "{st:#}");
    assert!(env.get("v1", "ConfigMap", "guard", name).await.is_some());
    assert_eq!(st["status"]["sync"]["status"], "OutOfSync");
}

async fn assert_resumed(env: &Env, st: &Value, sha: &str, name: &str) {
    let op = &st["status"]["operationState"];
    assert_eq!(op["phase"], "Succeeded", "{op:#}");
    assert_eq!(op["syncRevision"], sha);
    assert!(env.get("v1", "ConfigMap", "guard", name).await.is_none());
    assert!(
        condition(st, PRUNE_CONFIRMATION_CONDITION).is_none(),
        "{st:#}"
    );
    assert_eq!(st["status"]["sync"]["status"], "Synced", "{st:#}");
    assert!(env.get("v1", "ConfigMap", "guard", "keep").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_confirm_pauses_until_approved_or_requested() {
    let env = Env::start().await;
    let first = env.commit(
        &[
            ("app/keep.yaml", KEEP),
            ("app/x.yaml", &guarded("x")),
            ("app/y.yaml", &guarded("y")),
        ],
        "three config maps",
    );
    apply(&env.client, &app("guard", &env.repo_url(), "app", "guard")).await;
    let st = reconcile(&env, true).await;
    assert_eq!(st["status"]["sync"]["revision"], first.as_str());
    assert!(env.get("v1", "ConfigMap", "guard", "x").await.is_some());

    // Removing x: the automated sync pauses before deleting it.
    let second = env.commit(&[("app/x.yaml", "")], "drop x");
    let st = reconcile(&env, true).await;
    assert_paused(&env, &st, &second, "x").await;
    let started = st["status"]["operationState"]["startedAt"].clone();
    let events: kube::Api<Event> = kube::Api::namespaced(env.client.clone(), "kedge");
    let list = events.list(&ListParams::default()).await.expect("events");
    assert!(
        list.items.iter().any(|e| {
            e.reason.as_deref() == Some(PRUNE_CONFIRMATION_CONDITION)
                && e.message.as_deref().unwrap_or_default().contains("x")
        }),
        "no {PRUNE_CONFIRMATION_CONDITION} event"
    );

    // Not confirmed: later reconciles leave the paused sync alone (self-heal
    // on, still out of sync, yet no new attempt).
    let st = reconcile(&env, false).await;
    assert_paused(&env, &st, &second, "x").await;
    assert_eq!(st["status"]["operationState"]["startedAt"], started);

    // An approval older than the operation does not count.
    env.apps()
        .patch(
            "guard",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "argocd.argoproj.io/deletion-approved": "2000-01-01T00:00:00Z"}}})),
        )
        .await
        .expect("annotate");
    let st = reconcile(&env, false).await;
    assert_paused(&env, &st, &second, "x").await;

    // Approved now: the same sync resumes and prunes x.
    let now = jiff::Timestamp::now().to_string();
    env.apps()
        .patch(
            "guard",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "argocd.argoproj.io/deletion-approved": now}}})),
        )
        .await
        .expect("annotate");
    let st = reconcile(&env, true).await;
    assert_resumed(&env, &st, &second, "x").await;
    assert_eq!(st["status"]["operationState"]["startedAt"], started);

    // Removing y: paused again (the old approval is withdrawn); a
    // requested sync with pruning confirms.
    env.apps()
        .patch(
            "guard",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "argocd.argoproj.io/deletion-approved": null}}})),
        )
        .await
        .expect("remove approval");
    let third = env.commit(&[("app/y.yaml", "")], "drop y");
    let st = reconcile(&env, true).await;
    assert_paused(&env, &st, &third, "y").await;
    env.apps()
        .patch(
            "guard",
            &PatchParams::default(),
            &Patch::Merge(json!({"operation": {"sync": {"prune": true}}})),
        )
        .await
        .expect("request sync");
    let st = reconcile(&env, true).await;
    assert_resumed(&env, &st, &third, "y").await;
    assert!(st.get("operation").is_none_or(Value::is_null), "{st:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_annotation_alone_wakes_the_running_controller() {
    let env = Env::start_with(|cc| {
        cc.resync = std::time::Duration::from_secs(3600);
        cc.full_resync = std::time::Duration::ZERO;
    })
    .await;
    let first = env.commit(
        &[("app/keep.yaml", KEEP), ("app/x.yaml", &guarded("x"))],
        "two config maps",
    );
    let _running = crate::support::Running::start(&env.controller);
    apply(&env.client, &app("guard", &env.repo_url(), "app", "guard")).await;
    crate::self_heal::synced_at(&env, "guard", &first).await;
    let second = env.commit(&[("app/x.yaml", "")], "drop x");
    // A refresh request makes the controller fetch and sync the new commit.
    env.apps()
        .patch(
            "guard",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "kedge.dev/refresh": "normal"}}})),
        )
        .await
        .expect("refresh");
    let st = crate::support::eventually(60, "paused", || async {
        let st = env.app("guard").await;
        (st["status"]["operationState"]["syncRevision"] == second.as_str()
            && st["status"]["operationState"]["phase"] == "Running")
            .then_some(st)
    })
    .await;
    assert_paused(&env, &st, &second, "x").await;
    let now = jiff::Timestamp::now().to_string();
    env.apps()
        .patch(
            "guard",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "kedge.dev/deletion-approved": now}}})),
        )
        .await
        .expect("annotate");
    let st = crate::support::eventually(60, "x pruned", || async {
        let st = env.app("guard").await;
        (st["status"]["operationState"]["phase"] == "Succeeded").then_some(st)
    })
    .await;
    assert_resumed(&env, &st, &second, "x").await;
}
