//! Benchmark: diff + sync of an application of N objects (default 1,000)
//! against the embedded control plane started in-process, cold (empty
//! cluster) and no-op (everything in sync), reporting objects/s, the
//! number of cluster writes (store revisions) and peak RSS of the process
//! (engine and server together).
//!
//! `cargo run --release -p kedge-sync --example sync_bench -- [N]` (set
//! `SIMULATOR=1` to run the workload simulator as well, `CONCURRENCY=n` to
//! bound the engine's requests in flight; default 8).

use std::time::Instant;

use kedge_apiserver::{ApiServer, Config};
use kedge_sync::{Engine, MemoryPersist, OperationPhase, SyncRequest};
use serde_json::{Value, json};

fn objects(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| match i % 10 {
            0..=5 => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i}"), "labels": {"app": "bench"}},
                "data": {"index": i.to_string(), "payload": "x".repeat(200)}}),
            6 | 7 => json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": format!("svc-{i}")},
                "spec": {"selector": {"app": format!("a{i}")}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            8 => json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("secret-{i}")}, "stringData": {"token": format!("t-{i}")}}),
            _ => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("dep-{i}")},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": format!("d{i}")}},
                    "template": {"metadata": {"labels": {"app": format!("d{i}")}},
                        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}),
        })
        .collect()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let mut config = Config::new("127.0.0.1:0".parse()?, dir.path().join("data"));
    // Without the workload simulator the store revision counts only the
    // engine's writes.
    config.simulator = std::env::var_os("SIMULATOR").is_some();
    let handle = ApiServer::start(config).await?;
    let kubeconfig = kube::config::Kubeconfig::read_from(handle.kubeconfig_path())?;
    let cfg = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let client = kube::Client::try_from(cfg)?;
    let concurrency: usize = std::env::var("CONCURRENCY")
        .ok()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(kedge_sync::DEFAULT_CONCURRENCY);
    println!("engine concurrency: {concurrency}");
    let engine = Engine::new(client).with_concurrency(concurrency);
    let mut req = SyncRequest::new("bench", "cold", "default", objects(n));
    let rev = || format!("{:?}", handle.store().current_revision());

    let t = Instant::now();
    let diffs = engine.diff(&req).await?;
    let d = t.elapsed();
    println!(
        "cold diff:  {n} objects in {d:.2?} ({:.0} objects/s), {} out of sync",
        n as f64 / d.as_secs_f64(),
        diffs.iter().filter(|d| d.modified).count()
    );

    let t = Instant::now();
    let st = engine.sync(&req, &MemoryPersist::default()).await?;
    let d = t.elapsed();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{}", st.message);
    println!(
        "cold sync:  {n} objects in {d:.2?} ({:.0} objects/s)",
        n as f64 / d.as_secs_f64()
    );

    let before = rev();
    let t = Instant::now();
    let diffs = engine.diff(&req).await?;
    let d = t.elapsed();
    println!(
        "no-op diff: {n} objects in {d:.2?} ({:.0} objects/s), {} out of sync, store revision {} -> {}",
        n as f64 / d.as_secs_f64(),
        diffs.iter().filter(|d| d.modified).count(),
        before,
        rev()
    );

    req.sync_id = "noop".into();
    req.options.apply_out_of_sync_only = true;
    let before = rev();
    let t = Instant::now();
    let st = engine.sync(&req, &MemoryPersist::default()).await?;
    let d = t.elapsed();
    assert_eq!(st.phase, OperationPhase::Succeeded, "{}", st.message);
    println!(
        "no-op sync: {n} objects in {d:.2?} ({:.0} objects/s), store revision {} -> {}",
        n as f64 / d.as_secs_f64(),
        before,
        rev()
    );
    println!(
        "peak RSS:   {} MiB (engine and embedded server in one process)",
        peak_rss_kib() / 1024
    );
    handle.shutdown().await;
    Ok(())
}
