//! Server-side apply throughput on a ~50-field Deployment with the real
//! built-in schema: create, a no-op re-apply (the common GitOps sync), an
//! apply changing one image over an object with three managers, an update
//! (non-apply write) and FieldsV1 encoding and decoding.
//!
//! Run: `cargo bench -p kedge-merge --bench ssa_apply`; with
//! `SSA_BENCH_CPU=1` it first prints CPU time per apply (which other load
//! on the machine does not inflate).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kedge_core::GroupVersionKind;
use kedge_merge::ssa::{self, ApplyParams, FieldSet, ResetFields, TypedContext, UpdateParams};
use kedge_schema::Registry;
use serde_json::{Value, json};

fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web", "tier": "frontend", "team": "checkout"},
            "annotations": {"example.com/owner": "checkout", "example.com/tier": "1"}
        },
        "spec": {
            "replicas": 3,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "frontend"}},
                "spec": {
                    "serviceAccountName": "web",
                    "terminationGracePeriodSeconds": 30,
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["--port=8080", "--log-level=info"],
                            "ports": [
                                {"name": "http", "containerPort": 8080},
                                {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}
                            ],
                            "env": [
                                {"name": "MODE", "value": "production"},
                                {"name": "CACHE_SIZE", "value": "256"},
                                {"name": "REGION", "value": "eu-west-1"},
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                            ],
                            "resources": {
                                "limits": {"cpu": "1", "memory": "512Mi"},
                                "requests": {"cpu": "250m", "memory": "256Mi"}
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": "/etc/web"},
                                {"name": "cache", "mountPath": "/var/cache/web"}
                            ],
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}
                        },
                        {
                            "name": "proxy",
                            "image": "envoyproxy/envoy:v1.30.1",
                            "ports": [{"name": "proxy", "containerPort": 10000}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "web-config"}},
                        {"name": "cache", "emptyDir": {}}
                    ]
                }
            }
        }
    })
}

fn bench(c: &mut Criterion) {
    let registry = Registry::builtin();
    let schema = registry.schema();
    let gvk = GroupVersionKind::from_api_version_kind("apps/v1", "Deployment").expect("gvk");
    let ty = registry.type_for(&gvk).expect("Deployment is built in");
    let config = deployment("registry.example.com/web:1.0.0");
    let changed = deployment("registry.example.com/web:1.0.1");
    let apply = |manager: &'static str, now: &'static str| ApplyParams {
        manager,
        force: false,
        api_version: "apps/v1",
        subresource: "",
        now,
        reset: ResetFields::Status,
    };
    let update = |manager: &'static str, now: &'static str| UpdateParams {
        manager,
        api_version: "apps/v1",
        subresource: "",
        now,
        reset: ResetFields::Status,
    };

    let created = ssa::apply(
        None,
        &config,
        &apply("gitops", "2026-01-01T00:00:00Z"),
        schema,
        &ty,
    )
    .expect("create");
    // Two more managers: an update of replicas and a status writer.
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(4);
    let scaled = ssa::update(
        Some(&created),
        &scaled,
        &update("kubectl-scale", "2026-01-01T00:00:01Z"),
        schema,
        &ty,
    );
    let mut with_status = scaled.clone();
    with_status["status"] = json!({"replicas": 4, "readyReplicas": 4, "observedGeneration": 2});
    let live = ssa::update(
        Some(&scaled),
        &with_status,
        &UpdateParams {
            subresource: "status",
            reset: ResetFields::AllButStatus,
            ..update("kube-controller-manager", "2026-01-01T00:00:02Z")
        },
        schema,
        &ty,
    );
    let mut config_no_replicas = config.clone();
    config_no_replicas["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("replicas");
    let mut changed_no_replicas = changed.clone();
    changed_no_replicas["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("replicas");

    let ctx = TypedContext::new(schema, &ty);
    let leaves = ctx.to_field_set(&config).len();
    eprintln!("deployment config: {leaves} owned paths");

    // CPU time per operation, independent of other processes on the
    // machine (criterion's numbers are wall-clock).
    cpu_time("apply_noop", || {
        ssa::apply(
            Some(&live),
            &config_no_replicas,
            &apply("gitops", "2026-01-01T00:01:00Z"),
            schema,
            &ty,
        )
        .expect("apply")
    });
    cpu_time("apply_change_image", || {
        ssa::apply(
            Some(&live),
            &changed_no_replicas,
            &apply("gitops", "2026-01-01T00:01:00Z"),
            schema,
            &ty,
        )
        .expect("apply")
    });
    cpu_time("apply_create", || {
        ssa::apply(
            None,
            &config,
            &apply("gitops", "2026-01-01T00:01:00Z"),
            schema,
            &ty,
        )
        .expect("apply")
    });

    c.bench_function("ssa/apply_create", |b| {
        b.iter(|| {
            ssa::apply(
                None,
                black_box(&config),
                &apply("gitops", "2026-01-01T00:01:00Z"),
                schema,
                &ty,
            )
            .expect("apply")
        })
    });
    c.bench_function("ssa/apply_noop", |b| {
        b.iter(|| {
            ssa::apply(
                Some(black_box(&live)),
                black_box(&config_no_replicas),
                &apply("gitops", "2026-01-01T00:01:00Z"),
                schema,
                &ty,
            )
            .expect("apply")
        })
    });
    c.bench_function("ssa/apply_change_image", |b| {
        b.iter(|| {
            ssa::apply(
                Some(black_box(&live)),
                black_box(&changed_no_replicas),
                &apply("gitops", "2026-01-01T00:01:00Z"),
                schema,
                &ty,
            )
            .expect("apply")
        })
    });
    c.bench_function("ssa/apply_prune_container", |b| {
        let mut fewer = config_no_replicas.clone();
        fewer["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("containers")
            .pop();
        b.iter(|| {
            ssa::apply(
                Some(black_box(&live)),
                black_box(&fewer),
                &apply("gitops", "2026-01-01T00:01:00Z"),
                schema,
                &ty,
            )
            .expect("apply")
        })
    });
    c.bench_function("ssa/update_one_field", |b| {
        let mut new = live.clone();
        new["spec"]["replicas"] = json!(5);
        b.iter(|| {
            ssa::update(
                Some(black_box(&live)),
                black_box(&new),
                &update("kubectl-scale", "2026-01-01T00:01:00Z"),
                schema,
                &ty,
            )
        })
    });
    c.bench_function("ssa/phase_decode_managed_fields", |b| {
        b.iter(|| ssa::decode_managed_fields(black_box(&live)).expect("decode"))
    });
    c.bench_function("ssa/phase_to_field_set", |b| {
        b.iter(|| ctx.to_field_set(black_box(&config)))
    });
    c.bench_function("ssa/phase_merge", |b| {
        b.iter(|| ctx.merge(black_box(&live), black_box(&config_no_replicas)))
    });
    c.bench_function("ssa/phase_compare", |b| {
        b.iter(|| ctx.compare(black_box(&live), black_box(&live)))
    });
    c.bench_function("ssa/phase_clone_object", |b| {
        b.iter(|| black_box(&live).clone())
    });
    let set = ctx.to_field_set(&config);
    let text = set.to_fields_v1_string();
    c.bench_function("ssa/fields_v1_encode", |b| {
        b.iter(|| black_box(&set).to_fields_v1_string())
    });
    c.bench_function("ssa/fields_v1_decode", |b| {
        b.iter(|| FieldSet::from_fields_v1_str(black_box(&text)).expect("decode"))
    });
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn cpu_time<T>(name: &str, mut f: impl FnMut() -> T) {
    if std::env::var_os("SSA_BENCH_CPU").is_none() {
        return;
    }
    const N: u32 = 2000;
    for _ in 0..100 {
        black_box(f());
    }
    let (Some(start), wall) = (thread_cpu_ns(), std::time::Instant::now()) else {
        return;
    };
    for _ in 0..N {
        black_box(f());
    }
    let cpu = thread_cpu_ns().unwrap_or(start) - start;
    eprintln!(
        "cpu time {name}: {:.1} µs/op (wall {:.1} µs/op, {N} ops)",
        cpu as f64 / 1e3 / f64::from(N),
        wall.elapsed().as_secs_f64() * 1e6 / f64::from(N)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
