//! Throughput of the renderer's hot path: a ~10 MB stream (1 MB in debug builds) of realistic
//! manifests is parsed, converted and emitted. The output must be a fixed
//! point (re-rendering it changes nothing). In release builds the CPU time
//! of the run must also stay well clear of quadratic behaviour (a loose
//! bound, since the build machines are shared); the measured times are
//! printed.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// CPU time of the current thread, from Linux's schedstat (nanoseconds on a
/// CPU); `None` where that file does not exist.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

use crate::render;

fn manifest(i: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: team-{}\n  labels:\n    app.kubernetes.io/name: app-{i}\n    tier: \"backend\"\n  annotations:\n    description: >-\n      A long description of deployment number {i} that goes on for a while so\n      that the emitter has to fold it at eighty columns like kustomize does.\n",
        i % 7
    );
    let _ = write!(
        s,
        "spec:\n  replicas: {}\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n    spec:\n      containers:\n",
        i % 5
    );
    for c in 0..3 {
        let _ = write!(
            s,
            "      - name: c{c}\n        image: registry.example.com/team/app-{i}:1.{c}.{i}\n        args: [\"--port=80{c}0\", '--verbose', -v, \"2\"]\n        ports:\n        - containerPort: 80{c}0\n          protocol: TCP\n        env:\n        - name: VAR_{c}\n          value: \"0755\"\n        - name: YES\n          value: yes\n        - name: SCRIPT\n          value: |\n            #!/bin/sh\n            echo start {i}\n            exec /app --flag={c}\n        resources:\n          limits: {{cpu: 500m, memory: 128Mi}}\n          requests: {{cpu: 0.25, memory: 64Mi}}\n"
        );
    }
    s
}

#[test]
fn ten_megabyte_stream() {
    // Debug builds are an order of magnitude slower: check behaviour on
    // 1 MB there, and speed on the full 10 MB in release builds.
    let size = if cfg!(debug_assertions) { 1 } else { 10 } * 1024 * 1024;
    let mut src = String::new();
    let mut i = 0;
    while src.len() < size {
        if i > 0 {
            src.push_str("---\n");
        }
        src.push_str(&manifest(i));
        i += 1;
    }
    let cpu_before = thread_cpu_time();
    let started = Instant::now();
    let out = render(&src).expect("renders");
    let elapsed = started.elapsed();
    let cpu = thread_cpu_time().zip(cpu_before).map(|(a, b)| a - b);
    println!(
        "rendered {} documents, {} bytes in, {} bytes out, in {elapsed:?} ({cpu:?} on CPU)",
        i,
        src.len(),
        out.len()
    );
    assert_eq!(out.matches("\n---\n").count(), i - 1);
    assert!(out.contains("  - --port=8000\n"));
    assert!(out.contains("        value: \"0755\"\n"));
    // The machines are shared: bound the time this thread spent on a CPU
    // (wall-clock time mostly measures the neighbours).
    if !cfg!(debug_assertions)
        && let Some(cpu) = cpu
    {
        assert!(cpu < Duration::from_secs(3), "took {cpu:?} of CPU time");
    }
    let again = render(&out).expect("re-renders");
    assert!(again == out, "kustomize-style output is not a fixed point");
}
