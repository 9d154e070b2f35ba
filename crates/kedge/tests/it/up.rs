//! `kedge up` as a user runs it: a subprocess on a fresh data directory
//! brings the example to Synced and Healthy, kubectl sees the Deployment
//! available, SIGINT stops it cleanly, and a second run on the same data
//! resumes (the repo keeps its single commit, the app is still Healthy).
//! Also: the bundled example renders byte-identically with `kedge render`
//! and `kubectl kustomize`, and a busy port is reported by name.

use std::path::Path;
use std::process::Command;

use nix::sys::signal::Signal;

use crate::support::{Kedge, git, have_kubectl, kubectl, workspace_root};

const HEALTHY: &str = "guestbook-dev is Synced and Healthy at ";

fn start_up(data: &Path) -> Kedge {
    Kedge::spawn(&[
        "up",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--webhook-listen",
        "127.0.0.1:0",
    ])
    .expect("kedge up starts")
}

/// The commit the Healthy line names.
fn healthy_commit(kedge: &mut Kedge) -> String {
    let line = kedge
        .wait_line("the Healthy line", |l| l.starts_with(HEALTHY))
        .unwrap();
    line[HEALTHY.len()..].trim().to_string()
}

fn deployment_available(kubeconfig: &Path) -> (String, String) {
    let out = kubectl(
        kubeconfig,
        &[
            "get",
            "deploy",
            "-n",
            "guestbook-dev",
            "dev-guestbook",
            "-o",
            "jsonpath={.status.availableReplicas}/{.status.conditions[?(@.type==\"Available\")].status}",
        ],
    )
    .unwrap();
    let (n, cond) = out.split_once('/').unwrap();
    (n.to_string(), cond.to_string())
}

#[test]
fn up_brings_the_example_to_healthy_and_resumes() {
    if !have_kubectl("up_brings_the_example_to_healthy_and_resumes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let repo = data.join("repos/guestbook");
    let kubeconfig = data.join("kubeconfig");

    let mut kedge = start_up(&data);
    let commit = healthy_commit(&mut kedge);
    assert!(
        kedge
            .seen
            .iter()
            .any(|l| l.contains("(created from the bundled example")),
        "{:#?}",
        kedge.seen
    );
    assert!(
        kedge
            .seen
            .iter()
            .any(|l| l.contains("guestbook-dev (created;"))
    );
    assert!(
        kedge
            .seen
            .iter()
            .any(|l| l.starts_with("control plane: https://127.0.0.1:") && l.contains("kubeconfig")),
        "{:#?}",
        kedge.seen
    );
    // The printed instructions name the kubeconfig and the namespace.
    kedge
        .wait_line("the kubectl hint", |l| {
            l.contains("kubectl get all -n guestbook-dev")
        })
        .unwrap();
    assert!(kedge.seen.iter().any(|l| l.contains(&format!(
        "export KUBECONFIG={}",
        kubeconfig.canonicalize().unwrap().display()
    ))));

    // The repo: one commit, by the fixed identity, which is what is deployed.
    assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).unwrap(), "1");
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]).unwrap(), commit);
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%an <%ae>"]).unwrap(),
        "Kedge <kedge@localhost>"
    );
    assert_eq!(git(&repo, &["status", "--porcelain"]).unwrap(), "");
    // It holds exactly the files of examples/guestbook (compiled into the binary).
    let example = workspace_root().join("examples/guestbook");
    let mut expected = Vec::new();
    list_files(&example, &example, &mut expected);
    expected.sort();
    let committed: Vec<String> = git(&repo, &["ls-files"])
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(committed, expected);
    for f in &committed {
        assert_eq!(
            std::fs::read(repo.join(f)).unwrap(),
            std::fs::read(example.join(f)).unwrap(),
            "{f}"
        );
    }

    // kubectl sees the Deployment of the dev overlay, available.
    assert_eq!(
        deployment_available(&kubeconfig),
        ("1".to_string(), "True".to_string())
    );
    let image = kubectl(
        &kubeconfig,
        &[
            "get",
            "deploy",
            "-n",
            "guestbook-dev",
            "dev-guestbook",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
    .unwrap();
    assert_eq!(image, "nginx:1.27-alpine");
    let app = kubectl(
        &kubeconfig,
        &[
            "get",
            "applications.kedge.dev",
            "-n",
            "kedge",
            "guestbook-dev",
            "-o",
            "jsonpath={.status.sync.status}/{.status.health.status}/{.status.sync.revision}",
        ],
    )
    .unwrap();
    assert_eq!(app, format!("Synced/Healthy/{commit}"));

    // SIGINT: a clean stop.
    kedge.signal(Signal::SIGINT).unwrap();
    let status = kedge.wait_exit().unwrap();
    assert!(status.success(), "exit {status:?}: {:#?}", kedge.seen);
    assert_eq!(
        kedge.seen.last().map(String::as_str),
        Some("kedge up: stopped")
    );
    drop(kedge);

    // Again on the same data: resumes, touches nothing.
    let mut again = start_up(&data);
    let resumed = healthy_commit(&mut again);
    assert_eq!(resumed, commit);
    assert!(
        again
            .seen
            .iter()
            .any(|l| l.contains("already there, left untouched")),
        "{:#?}",
        again.seen
    );
    assert!(
        again
            .seen
            .iter()
            .any(|l| l.contains("guestbook-dev (already registered;"))
    );
    assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).unwrap(), "1");
    assert_eq!(
        deployment_available(&kubeconfig),
        ("1".to_string(), "True".to_string())
    );
    // SIGTERM stops it cleanly too.
    again.signal(Signal::SIGTERM).unwrap();
    let status = again.wait_exit().unwrap();
    assert!(status.success(), "exit {status:?}: {:#?}", again.seen);
}

#[test]
fn busy_port_is_named() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args([
            "up",
            "--no-example",
            "--webhook-listen",
            "127.0.0.1:0",
            "--listen",
        ])
        .arg(addr.to_string())
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("port {} ", addr.port())) && stderr.contains("--listen"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args([
            "up",
            "--no-example",
            "--listen",
            "127.0.0.1:0",
            "--webhook-listen",
        ])
        .arg(addr.to_string())
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("port {} ", addr.port())) && stderr.contains("--webhook-listen"),
        "{stderr}"
    );
}

#[test]
fn example_renders_like_kubectl_kustomize() {
    if !have_kubectl("example_renders_like_kubectl_kustomize") {
        return;
    }
    let root = workspace_root().join("examples/guestbook");
    for overlay in ["base", "overlays/dev", "overlays/prod"] {
        let dir = root.join(overlay);
        let ours = Command::new(env!("CARGO_BIN_EXE_kedge"))
            .arg("render")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let theirs = Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(theirs.status.success());
        assert!(!ours.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{overlay}"
        );
    }
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            list_files(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}
