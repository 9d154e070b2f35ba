//! Builds over the in-memory filesystem: the same pipeline without a disk.

use std::path::Path;

use kedge_kustomize::{Kustomizer, MemFileSystem};

#[test]
fn builds_an_overlay_from_memory() {
    let mut fs = MemFileSystem::new();
    fs.write(
        "/repo/base/kustomization.yaml",
        "resources: [cm.yaml]\nconfigMapGenerator:\n- name: gen\n  literals: [a=1]\n",
    );
    fs.write(
        "/repo/base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  k: v\n",
    );
    fs.write(
        "/repo/prod/kustomization.yaml",
        "resources: [../base]\nnamePrefix: prod-\nnamespace: prod\n",
    );
    let out = Kustomizer::new()
        .build(&fs, Path::new("/repo/prod"))
        .expect("build");
    let yaml = out.to_yaml();
    assert!(yaml.contains("name: prod-plain\n"), "{yaml}");
    assert!(yaml.contains("namespace: prod\n"), "{yaml}");
    // The generated ConfigMap carries a content hash after the prefix.
    let generated = out
        .objects
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .find(|n| n.starts_with("prod-gen-"))
        .expect("generated configmap");
    assert_eq!(generated.len(), "prod-gen-".len() + 10);
}

#[test]
fn missing_kustomization_is_an_error() {
    let mut fs = MemFileSystem::new();
    fs.mkdir("/empty");
    let err = Kustomizer::new()
        .build(&fs, Path::new("/empty"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unable to find one of 'kustomization.yaml'"),
        "{err}"
    );
}

#[test]
fn overlays_render_in_parallel_threads() {
    let mut fs = MemFileSystem::new();
    fs.write("/repo/base/kustomization.yaml", "resources: [cm.yaml]\n");
    fs.write(
        "/repo/base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
    );
    for i in 0..4 {
        fs.write(
            format!("/repo/o{i}/kustomization.yaml"),
            format!("resources: [../base]\nnamePrefix: o{i}-\n"),
        );
    }
    let fs = std::sync::Arc::new(fs);
    let k = Kustomizer::new();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let fs = fs.clone();
            let k = k.clone();
            std::thread::spawn(move || {
                k.build(fs.as_ref(), Path::new(&format!("/repo/o{i}")))
                    .expect("build")
                    .to_yaml()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let out = h.join().expect("thread");
        assert!(out.contains(&format!("name: o{i}-plain\n")), "{out}");
    }
}
