//! Hostile input: every case must fail quickly with a clear error instead
//! of escaping the root, exhausting memory or looping.

use std::path::Path;
use std::time::{Duration, Instant};

use kedge_kustomize::{Kustomizer, MemFileSystem};

fn build_err(fs: &MemFileSystem, dir: &str) -> String {
    let start = Instant::now();
    let res = Kustomizer::new().build(fs, Path::new(dir));
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "hostile input took {elapsed:?}"
    );
    match res {
        Ok(r) => panic!("expected an error, got {} objects", r.objects.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn symlink_leaving_the_root_is_refused() {
    let mut fs = MemFileSystem::new();
    fs.write(
        "/secret/creds.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    );
    fs.write("/app/kustomization.yaml", "resources: [link.yaml]\n");
    fs.symlink("/app/link.yaml", "/secret/creds.yaml");
    let err = build_err(&fs, "/app");
    assert!(
        err.contains("security; file '/secret/creds.yaml' is not in or below '/app'"),
        "{err}"
    );
}

#[test]
fn dotdot_file_outside_the_root_is_refused() {
    let mut fs = MemFileSystem::new();
    fs.write(
        "/outside.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    fs.write("/app/kustomization.yaml", "resources: [../outside.yaml]\n");
    let err = build_err(&fs, "/app");
    assert!(err.contains("is not in or below '/app'"), "{err}");
}

#[test]
fn billion_laughs_alias_bomb_is_refused() {
    let mut doc = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        doc.push_str(&format!(
            "  a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    let mut fs = MemFileSystem::new();
    fs.write("/app/kustomization.yaml", "resources: [bomb.yaml]\n");
    fs.write("/app/bomb.yaml", doc);
    let err = build_err(&fs, "/app");
    assert!(err.contains("alias"), "{err}");
}

#[test]
fn fifty_megabyte_file_is_refused_before_reading() {
    let mut fs = MemFileSystem::new();
    fs.write("/app/kustomization.yaml", "resources: [big.yaml]\n");
    fs.write("/app/big.yaml", vec![b'#'; 50 * 1024 * 1024]);
    let err = build_err(&fs, "/app");
    assert!(err.contains("exceeds the limit"), "{err}");
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 5000;
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let mut fs = MemFileSystem::new();
    fs.write("/app/kustomization.yaml", "resources: [deep.yaml]\n");
    fs.write("/app/deep.yaml", text);
    let err = build_err(&fs, "/app");
    assert!(err.contains("nesting deeper"), "{err}");
}

#[test]
fn resource_cycle_is_detected() {
    let mut fs = MemFileSystem::new();
    fs.write("/repo/a/kustomization.yaml", "resources: [../b]\n");
    fs.write("/repo/b/kustomization.yaml", "resources: [../a]\n");
    let err = build_err(&fs, "/repo/a");
    assert!(err.contains("cycle detected"), "{err}");
}

#[test]
fn remote_base_without_a_loader_fails_clearly() {
    let mut fs = MemFileSystem::new();
    fs.write(
        "/app/kustomization.yaml",
        "resources: [https://github.com/example/repo//base?ref=v1]\n",
    );
    let err = build_err(&fs, "/app");
    assert!(err.contains("no remote loader is configured"), "{err}");
}
