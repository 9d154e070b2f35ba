//! Rendering from the object store: Kustomize sources rendered through a
//! view of the commit give exactly what the materialised snapshot gives
//! (and what `kubectl kustomize` gives, when installed), plain directories
//! are left to the snapshot, and a broken overlay fails both ways.

use std::path::{Path, PathBuf};

use kedge_controller::render;
use kedge_controller::types::ApplicationSource;
use kedge_git::{RepoUrl, ViewFileSystem};
use serde_json::Value;

use crate::support::Env;

fn fixture_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render_view/repo")
}

/// Copies the fixture tree into the test repository (as one commit).
fn copy_tree(from: &Path, rel: &str, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(from).expect("fixture dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &rel, files);
        } else {
            files.push((rel, std::fs::read_to_string(entry.path()).expect("read")));
        }
    }
}

fn kubectl_kustomize(dir: &Path) -> Option<Vec<Value>> {
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    render::parse_manifests(&String::from_utf8_lossy(&out.stdout)).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_from_a_view_matches_the_snapshot() {
    let env = Env::start().await;
    let mut files = Vec::new();
    copy_tree(&fixture_repo(), "", &mut files);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let sha = env.commit(&files, "fixtures");
    let cache = env.controller.git_cache();
    let url = RepoUrl::parse(&env.repo_url()).expect("url");
    cache.fetch_repo(&url).await.expect("fetch");
    assert_eq!(
        cache
            .resolve_revision(&url, "main", None)
            .await
            .expect("resolve"),
        sha
    );
    let checkout = cache.materialize(&url, &sha).await.expect("snapshot");
    for (path, kustomize) in [
        ("base", true),
        ("overlays/prod", true),
        ("/overlays/prod/", true),
        ("plain", false),
    ] {
        let source = ApplicationSource {
            repo_url: env.repo_url(),
            path: path.to_string(),
            ..Default::default()
        };
        let view = cache
            .open_view(&url, &sha, path.trim_matches('/'))
            .await
            .expect("view");
        let from_view = render::render_view(&ViewFileSystem::new(view), &source);
        let from_snapshot = render::render(&checkout, &source).expect("snapshot render");
        if !kustomize {
            assert!(from_view.is_none(), "{path}: not a Kustomize directory");
            continue;
        }
        let from_view = from_view
            .expect("a Kustomize directory")
            .expect("view render");
        assert!(!from_view.is_empty(), "{path}");
        assert_eq!(from_view, from_snapshot, "{path}");
        match kubectl_kustomize(&fixture_repo().join(path.trim_matches('/'))) {
            Some(oracle) => assert_eq!(from_view, oracle, "{path}: kubectl kustomize"),
            None => println!("kubectl not available; {path} compared with the snapshot only"),
        }
    }

    // A broken overlay fails from the view as from the snapshot.
    let source = ApplicationSource {
        repo_url: env.repo_url(),
        path: "broken".to_string(),
        ..Default::default()
    };
    let view = cache.open_view(&url, &sha, "broken").await.expect("view");
    let err = render::render_view(&ViewFileSystem::new(view), &source)
        .expect("a Kustomize directory")
        .expect_err("missing resource");
    assert!(err.to_string().contains("missing.yaml"), "{err}");
    assert!(render::render(&checkout, &source).is_err());

    // Overrides go through the snapshot's generated overlay.
    let mut source = source;
    source.path = "base".to_string();
    source.kustomize = Some(kedge_controller::types::KustomizeSource {
        name_prefix: "x-".to_string(),
        ..Default::default()
    });
    let view = cache.open_view(&url, &sha, "base").await.expect("view");
    assert!(render::render_view(&ViewFileSystem::new(view), &source).is_none());
}
