//! Leader election: of two controllers only the Lease holder reconciles;
//! when it dies (its run is dropped without releasing) the other takes over
//! after the lease expires; a clean stop releases the Lease at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kedge_controller::{Controller, LeaseConfig};

use crate::git_triggers::sample;
use crate::self_heal::{app, synced_at};
use crate::support::{Env, Running, apply, eventually};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: \"1\"\n";

fn candidate(env: &Env, identity: &str) -> Arc<Controller> {
    let identity = identity.to_string();
    env.controller(move |cc| {
        cc.resync = Duration::from_secs(3600);
        cc.full_resync = Duration::ZERO;
        cc.leader_election = true;
        cc.lease = LeaseConfig {
            identity,
            // Generous against a loaded CI machine: a leader that misses
            // renewals for this long loses the lease (and the test).
            duration: Duration::from_secs(6),
            renew: Duration::from_millis(300),
            retry: Duration::from_millis(200),
            ..LeaseConfig::default()
        };
    })
}

fn reconciles(c: &Controller) -> f64 {
    let m = c.metrics().encode();
    sample(&m, "kedge_app_reconcile_total{result=\"success\"}")
        + sample(&m, "kedge_app_reconcile_total{result=\"blocked\"}")
        + sample(&m, "kedge_app_reconcile_total{result=\"error\"}")
}

async fn holder(env: &Env) -> Option<String> {
    let leases: kube::Api<Lease> = kube::Api::namespaced(env.client.clone(), "kedge");
    leases
        .get_opt("kedge-controller")
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_reconciles_and_a_dead_leader_hands_over() {
    let env = Env::start().await;
    let one = candidate(&env, "one");
    let two = candidate(&env, "two");
    let run_one = Running::start(&one);
    let leader = eventually(20, "a leader", || async {
        match (one.is_leading(), two.is_leading()) {
            (true, false) => Some("one"),
            (false, true) => Some("two"),
            _ => None,
        }
    })
    .await;
    assert_eq!(leader, "one", "only one candidate was running");
    let run_two = Running::start(&two);
    assert_eq!(holder(&env).await.as_deref(), Some("one"));

    let sha = env.commit(&[("app/a.yaml", CM)], "one");
    apply(&env.client, &app("led", &env.repo_url(), "app", "led")).await;
    synced_at(&env, "led", &sha).await;
    // Counted when the reconcile returns, just after its status write.
    eventually(10, "one's reconcile counted", || async {
        (reconciles(&one) >= 1.0).then_some(())
    })
    .await;
    assert_eq!(reconciles(&two), 0.0, "the follower reconciled");
    assert!(!two.is_leading());

    // The leader dies without releasing: two takes over after the expiry.
    let died = Instant::now();
    drop(run_one);
    eventually(30, "two to lead", || async {
        two.is_leading().then_some(())
    })
    .await;
    let took = died.elapsed();
    println!("handover after {took:?}");
    assert!(
        took >= Duration::from_secs(1),
        "took over a live lease: {took:?}"
    );
    assert_eq!(holder(&env).await.as_deref(), Some("two"));
    assert!(!one.is_leading());
    let second = env.commit(&[("app/a.yaml", &CM.replace("\"1\"", "\"2\""))], "two");
    synced_at(&env, "led", &second).await;
    eventually(10, "two's reconcile counted", || async {
        (reconciles(&two) >= 1.0).then_some(())
    })
    .await;

    // A clean stop releases the Lease: a new candidate leads at once.
    let three = candidate(&env, "three");
    let run_three = Running::start(&three);
    run_two.stop().await;
    eventually(10, "three to lead", || async {
        three.is_leading().then_some(())
    })
    .await;
    assert_eq!(holder(&env).await.as_deref(), Some("three"));
    run_three.stop().await;
}
