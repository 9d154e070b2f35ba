//! Benchmarks of the embedded control plane as clients see it: the server
//! runs in this process over HTTPS and is driven through kube-rs (the same
//! client the sync engine uses) and, for LIST, also through
//! `kubectl get --raw` as a side-by-side reference.
//!
//! Measured: server-side apply throughput with concurrent clients, LIST
//! latency of 10,000 ConfigMaps, watch delivery latency to 100 watchers,
//! and the resident set size after storing 100,000 objects. Client and
//! server share the process and its cores, so the numbers are a lower bound
//! of what the server alone sustains.
//!
//! `cargo run --release -p kedge-apiserver --example bench_controlplane --
//!  [--applies N] [--clients N] [--list N] [--watchers N] [--objects N]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kedge_apiserver::{ApiServer, Config};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

struct Args {
    applies: usize,
    clients: usize,
    list: usize,
    watchers: usize,
    objects: usize,
}

fn args() -> Args {
    let mut a = Args {
        applies: 20_000,
        clients: 32,
        list: 10_000,
        watchers: 100,
        objects: 100_000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let n: usize = pair
            .get(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{} needs a number", pair[0]));
        match pair[0].as_str() {
            "--applies" => a.applies = n,
            "--clients" => a.clients = n,
            "--list" => a.list = n,
            "--watchers" => a.watchers = n,
            "--objects" => a.objects = n,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) this process has used so far: on a shared,
/// busy machine, work per CPU second is the number that does not depend on
/// how many other processes compete for the cores.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let ticks = 100.0; // USER_HZ on Linux
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / ticks
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn create_namespace(client: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    .unwrap();
    api.create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
}

/// Creates `n` ConfigMaps in `ns` with `clients` concurrent SSA clients;
/// returns the wall time.
async fn apply_many(
    client: &kube::Client,
    ns: &str,
    prefix: &str,
    n: usize,
    clients: usize,
) -> Duration {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let api = api.clone();
        let next = next.clone();
        let prefix = prefix.to_string();
        tasks.push(tokio::spawn(async move {
            let pp = PatchParams::apply("bench");
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let name = format!("{prefix}-{i}");
                let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": name, "labels": {"bench": "yes"}},
                                  "data": {"index": i.to_string(), "payload": "x".repeat(64)}});
                api.patch(&name, &pp, &Patch::Apply(&body))
                    .await
                    .expect("apply");
            }
        }));
    }
    for t in tasks {
        t.await.expect("apply task");
    }
    start.elapsed()
}

fn kubectl_raw(kubeconfig: &std::path::Path, path: &str) -> Option<Duration> {
    let kubectl = std::path::Path::new("/usr/bin/kubectl");
    if !kubectl.exists() {
        return None;
    }
    let start = Instant::now();
    let out = std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "--raw", path])
        .env_remove("KUBECONFIG")
        .output()
        .ok()?;
    let took = start.elapsed();
    assert!(out.status.success(), "kubectl get --raw failed");
    Some(took)
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.simulator = false;
        let handle = ApiServer::start(config).await.expect("server starts");
        let kubeconfig = kube::config::Kubeconfig::read_from(handle.kubeconfig_path()).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(cfg).unwrap();
        println!("rss_start_mib {:.0}", rss_mib());

        // 1. SSA applies per second (creates through apply).
        create_namespace(&client, "ssa").await;
        let cpu0 = cpu_secs();
        let took = apply_many(&client, "ssa", "cm", a.applies, a.clients).await;
        let cpu = cpu_secs() - cpu0;
        println!(
            "ssa_create_applies {} clients {} in {:.2} s = {:.0}/s; cpu {:.1} s (client and server) = {:.0} applies per CPU second",
            a.applies,
            a.clients,
            took.as_secs_f64(),
            a.applies as f64 / took.as_secs_f64(),
            cpu,
            a.applies as f64 / cpu
        );
        // Re-applying changed objects (updates through apply).
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "ssa");
        let n = a.applies.min(10_000);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let cpu0 = cpu_secs();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..a.clients {
            let api = api.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let pp = PatchParams::apply("bench");
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let name = format!("cm-{i}");
                    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": name, "labels": {"bench": "yes"}},
                                      "data": {"index": i.to_string(), "payload": "y".repeat(64)}});
                    api.patch(&name, &pp, &Patch::Apply(&body)).await.expect("apply");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let took = start.elapsed();
        let cpu = cpu_secs() - cpu0;
        println!(
            "ssa_update_applies {n} clients {} in {:.2} s = {:.0}/s; cpu {:.1} s (client and server) = {:.0} applies per CPU second",
            a.clients,
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            cpu,
            n as f64 / cpu
        );

        // 2. LIST of `a.list` ConfigMaps.
        create_namespace(&client, "list").await;
        apply_many(&client, "list", "l", a.list, a.clients).await;
        let path = "/api/v1/namespaces/list/configmaps";
        let mut typed = Vec::new();
        let mut raw = Vec::new();
        let mut kubectl = Vec::new();
        let lapi: Api<ConfigMap> = Api::namespaced(client.clone(), "list");
        for _ in 0..7 {
            let start = Instant::now();
            let items = lapi.list(&ListParams::default()).await.unwrap().items.len();
            typed.push(start.elapsed());
            // Every namespace also holds its `kube-root-ca.crt` ConfigMap.
            assert_eq!(items, a.list + 1);
            let start = Instant::now();
            let req = http::Request::get(path).body(Vec::new()).unwrap();
            let text = client.request_text(req).await.unwrap();
            raw.push(start.elapsed());
            assert!(text.len() > a.list * 100);
            if let Some(d) = kubectl_raw(handle.kubeconfig_path(), path) {
                kubectl.push(d);
            }
        }
        for (what, v) in [("kube-rs typed", &mut typed), ("HTTPS raw body", &mut raw), ("kubectl get --raw (process)", &mut kubectl)] {
            v.sort();
            if !v.is_empty() {
                println!("list_{} {what}: median {} min {} max {}", a.list, ms(percentile(v, 0.5)), ms(v[0]), ms(v[v.len() - 1]));
            }
        }

        // 3. Watch fan-out: `a.watchers` watchers of one object, 100 updates.
        create_namespace(&client, "watch").await;
        let wapi: Api<ConfigMap> = Api::namespaced(client.clone(), "watch");
        let created = wapi
            .create(&PostParams::default(), &serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hot"}, "data": {"seq": "0"}})).unwrap())
            .await
            .unwrap();
        let rv = created.metadata.resource_version.unwrap();
        let epoch = Instant::now();
        let updates = 100usize;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Duration)>();
        let ready = Arc::new(tokio::sync::Barrier::new(a.watchers + 1));
        for _ in 0..a.watchers {
            let wapi = wapi.clone();
            let tx = tx.clone();
            let rv = rv.clone();
            let ready = ready.clone();
            tokio::spawn(async move {
                let wp = WatchParams::default().fields("metadata.name=hot").timeout(290);
                let mut stream = wapi.watch(&wp, &rv).await.expect("watch").boxed();
                ready.wait().await;
                let mut seen = 0;
                while let Some(ev) = stream.next().await {
                    if let Ok(WatchEvent::Modified(cm)) = ev {
                        let now = epoch.elapsed();
                        let sent: u64 = cm.data.as_ref().unwrap()["sent_us"].parse().unwrap();
                        let seq: usize = cm.data.as_ref().unwrap()["seq"].parse().unwrap();
                        let _ = tx.send((seq, now.saturating_sub(Duration::from_micros(sent))));
                        seen += 1;
                        if seen == updates {
                            break;
                        }
                    }
                }
            });
        }
        drop(tx);
        ready.wait().await;
        let mut latencies = Vec::with_capacity(updates * a.watchers);
        for seq in 1..=updates {
            let sent = epoch.elapsed().as_micros().to_string();
            let patch = json!({"data": {"seq": seq.to_string(), "sent_us": sent}});
            wapi.patch("hot", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
            // Wait for every watcher before the next update, so each
            // delivery is measured on its own.
            let mut got = 0;
            while got < a.watchers {
                let (s, d) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                    .await
                    .expect("delivery within 30 s")
                    .expect("watchers alive");
                assert_eq!(s, seq);
                latencies.push(d);
                got += 1;
            }
        }
        latencies.sort();
        println!(
            "watch_fanout watchers {} updates {updates} deliveries {}: p50 {} p99 {} max {}",
            a.watchers,
            latencies.len(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies[latencies.len() - 1])
        );

        // 4. RSS at `a.objects` stored objects (counting those above).
        let stored = a.applies + a.list + 1;
        if a.objects > stored {
            create_namespace(&client, "mass").await;
            let took = apply_many(&client, "mass", "m", a.objects - stored, a.clients).await;
            println!("mass_applies {} in {:.1} s", a.objects - stored, took.as_secs_f64());
        }
        let db_bytes: u64 = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        println!(
            "rss_at_objects {} rss {:.0} MiB data_dir {:.0} MiB",
            a.objects.max(stored),
            rss_mib(),
            db_bytes as f64 / (1024.0 * 1024.0)
        );
        handle.shutdown().await;
    });
}
