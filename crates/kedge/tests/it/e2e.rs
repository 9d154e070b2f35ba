//! The product end to end: `kedge up --no-example` (control plane and
//! controller in one process) on a temporary data directory, a runtime repo
//! served over smart HTTP by the real `git http-backend`, and `kubectl` as
//! the user's hands. Nothing here calls a reconcile: every change reaches
//! the cluster through the running controller, triggered by the push
//! webhook, its Git poll or its watches of the managed objects.
//!
//! Covered: commit → applied; a commit removing a resource → pruned; a
//! `kubectl patch` of managed fields → healed; `git revert` → rolled back;
//! rollback to a history entry with `kedge app rollback`; an invalid
//! commit → the last good revision stays, with a `ComparisonError`
//! condition and nothing of the bad commit applied, until a fix is
//! pushed; SIGKILL in the middle of a sync (`kedge controller` as its own
//! process, beside `kedge cluster serve`) → finished after the restart;
//! app-of-apps; a project refusing a namespace.

use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::support::{GitHttp, Kedge, Upstream, eventually, have_kubectl, kubectl};

/// One `kedge up --no-example` with a Git server and a runtime repo.
struct Env {
    /// `kedge up`, or `kedge cluster serve` when the controller runs apart.
    kedge: Kedge,
    /// `kedge controller`, when it runs as its own process.
    controller: Option<Kedge>,
    data: PathBuf,
    kubeconfig: PathBuf,
    webhook: String,
    upstream: Upstream,
    _git: GitHttp,
    _dir: tempfile::TempDir,
}

fn start_up(data: &Path, poll: &str) -> (Kedge, String) {
    let mut kedge = Kedge::spawn(&[
        "up",
        "--no-example",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--webhook-listen",
        "127.0.0.1:0",
        "--poll",
        poll,
    ])
    .unwrap();
    let line = kedge
        .wait_line("the controller line", |l| l.contains("webhook: http://"))
        .unwrap();
    let webhook = line
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/api/webhook"))
        .unwrap()
        .trim_end_matches(',')
        .to_string();
    kedge
        .wait_line("ready", |l| l.starts_with("Ready (no example)"))
        .unwrap();
    (kedge, webhook)
}

impl Env {
    async fn start(poll: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        let git = GitHttp::start(&served).await.unwrap();
        let upstream = Upstream::new(
            &served,
            &dir.path().join("work"),
            "runtime",
            git.url("runtime"),
        )
        .unwrap();
        let (kedge, webhook) = start_up(&data, poll);
        Env {
            kedge,
            controller: None,
            kubeconfig: data.join("kubeconfig"),
            data,
            webhook,
            upstream,
            _git: git,
            _dir: dir,
        }
    }

    /// The control plane alone (`kedge cluster serve`), Kedge installed
    /// with `kedge install | kubectl apply -f -`, and `kedge controller` as
    /// a process of its own.
    async fn start_split() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        let git = GitHttp::start(&served).await.unwrap();
        let upstream = Upstream::new(
            &served,
            &dir.path().join("work"),
            "runtime",
            git.url("runtime"),
        )
        .unwrap();
        let mut kedge = Kedge::spawn(&[
            "cluster",
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .unwrap();
        kedge
            .wait_line("the listening line", |l| l.contains("listening on"))
            .unwrap();
        let kubeconfig = data.join("kubeconfig");
        let install = std::process::Command::new(env!("CARGO_BIN_EXE_kedge"))
            .arg("install")
            .output()
            .unwrap();
        assert!(install.status.success());
        let manifests = dir.path().join("install.yaml");
        std::fs::write(&manifests, &install.stdout).unwrap();
        // The AppProject is accepted once its CRD is served: apply again until then.
        let (k, m) = (&kubeconfig, &manifests);
        eventually("kedge install applied", || async move {
            kubectl(k, &["apply", "-f", m.to_str().unwrap()]).map_err(|e| e.to_string())
        })
        .await;
        let mut env = Env {
            kedge,
            controller: None,
            kubeconfig,
            data,
            webhook: String::new(),
            upstream,
            _git: git,
            _dir: dir,
        };
        env.controller = Some(env.start_controller());
        env
    }

    /// `kedge controller` against the control plane, polling Git every second.
    fn start_controller(&self) -> Kedge {
        let mut c = Kedge::spawn(&[
            "controller",
            "--kubeconfig",
            self.kubeconfig.to_str().unwrap(),
            "--cache-dir",
            self.data.join("controller-cache").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--resync",
            "1s",
            "--no-leader-election",
        ])
        .unwrap();
        c.wait_line("the ready line", |l| {
            l.starts_with("kedge controller ready")
        })
        .unwrap();
        c
    }

    fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        kubectl(&self.kubeconfig, args)
    }

    /// `kubectl apply -f -` of one object.
    fn apply(&self, obj: &Value) {
        let file = self.data.join(format!(
            "apply-{}.json",
            obj["metadata"]["name"].as_str().unwrap()
        ));
        std::fs::write(&file, obj.to_string()).unwrap();
        self.kubectl(&["apply", "-f", file.to_str().unwrap()])
            .unwrap();
    }

    /// Runs `kedge ARGS… --kubeconfig K`, failing on a non-zero exit.
    fn kedge_cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kedge"))
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kedge {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The push webhook a Git host would send after a push.
    fn notify_push(&self) {
        let body = json!({
            "ref": "refs/heads/main",
            "repository": {"clone_url": self.upstream.url},
        });
        let status = post(
            &self.webhook,
            &[("X-GitHub-Event", "push")],
            &body.to_string(),
        );
        assert!((200..300).contains(&status), "webhook answered {status}");
    }

    fn app(&self, name: &str) -> Result<Value, String> {
        let out = self
            .kubectl(&[
                "get",
                "applications.kedge.dev",
                "-n",
                "kedge",
                name,
                "-o",
                "json",
            ])
            .map_err(|e| e.to_string())?;
        serde_json::from_str(&out).map_err(|e| e.to_string())
    }

    /// Waits until the app is Synced and Healthy at `commit`.
    async fn synced_at(&self, name: &str, commit: &str) -> Value {
        eventually(
            &format!("{name} Synced and Healthy at {commit}"),
            || async move {
                let app = self.app(name)?;
                let st = &app["status"];
                if st["sync"]["status"] == "Synced"
                    && st["health"]["status"] == "Healthy"
                    && st["sync"]["revision"] == commit
                {
                    Ok(app)
                } else {
                    Err(format!("{st:#}"))
                }
            },
        )
        .await
    }

    /// A field of a live object (`None` when the object does not exist).
    fn field(&self, kind: &str, ns: &str, name: &str, jsonpath: &str) -> Option<String> {
        self.kubectl(&[
            "get",
            kind,
            "-n",
            ns,
            name,
            "-o",
            &format!("jsonpath={jsonpath}"),
        ])
        .ok()
    }

    async fn field_becomes(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        jsonpath: &str,
        want: Option<&str>,
    ) {
        eventually(
            &format!("{kind}/{name} {jsonpath} = {want:?}"),
            || async move {
                let got = self.field(kind, ns, name, jsonpath);
                if got.as_deref() == want {
                    Ok(())
                } else {
                    Err(format!("{got:?}"))
                }
            },
        )
        .await
    }
}

fn application(name: &str, repo: &str, path: &str, ns: &str, project: &str) -> Value {
    json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "kedge"},
        "spec": {
            "project": project,
            "source": {"repoURL": repo, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                           "syncOptions": ["CreateNamespace=true"]}
        }
    })
}

fn config_map(name: &str, color: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  color: {color}\n")
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

fn kustomization(resources: &[&str]) -> String {
    let mut s = String::from("resources:\n");
    for r in resources {
        s.push_str(&format!("- {r}\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitops_lifecycle() {
    if !have_kubectl("gitops_lifecycle") {
        return;
    }
    // Git is polled hourly: every change below arrives by the webhook.
    let mut env = Env::start("3600").await;
    let c1 = env
        .upstream
        .commit(
            &[
                (
                    "app/kustomization.yaml",
                    &kustomization(&["a.yaml", "b.yaml", "web.yaml"]),
                ),
                ("app/a.yaml", &config_map("a", "blue")),
                ("app/b.yaml", &config_map("b", "large")),
                ("app/web.yaml", DEPLOYMENT),
            ],
            "a, b and web",
        )
        .unwrap();
    env.apply(&application(
        "demo",
        &env.upstream.url,
        "app",
        "demo",
        "default",
    ));

    // Commit → applied.
    env.synced_at("demo", &c1).await;
    assert_eq!(
        env.field("configmap", "demo", "a", "{.data.color}")
            .as_deref(),
        Some("blue")
    );
    assert!(
        env.field("configmap", "demo", "b", "{.metadata.name}")
            .is_some()
    );
    assert_eq!(
        env.field("deployment", "demo", "web", "{.status.availableReplicas}")
            .as_deref(),
        Some("1")
    );

    // A commit removing a resource → pruned.
    let c2 = env
        .upstream
        .commit(
            &[
                (
                    "app/kustomization.yaml",
                    &kustomization(&["a.yaml", "web.yaml"]),
                ),
                ("app/b.yaml", ""),
            ],
            "drop b",
        )
        .unwrap();
    env.notify_push();
    env.synced_at("demo", &c2).await;
    env.field_becomes("configmap", "demo", "b", "{.metadata.name}", None)
        .await;

    // kubectl changes managed fields → the running controller heals them.
    env.kubectl(&[
        "patch",
        "configmap",
        "a",
        "-n",
        "demo",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"color":"red"}}"#,
    ])
    .unwrap();
    env.kubectl(&["scale", "deployment", "web", "-n", "demo", "--replicas=4"])
        .unwrap();
    env.field_becomes("configmap", "demo", "a", "{.data.color}", Some("blue"))
        .await;
    env.field_becomes("deployment", "demo", "web", "{.spec.replicas}", Some("1"))
        .await;

    // A change, then `git revert` → rolled back.
    let c3 = env
        .upstream
        .commit(&[("app/a.yaml", &config_map("a", "green"))], "green")
        .unwrap();
    env.notify_push();
    env.synced_at("demo", &c3).await;
    assert_eq!(
        env.field("configmap", "demo", "a", "{.data.color}")
            .as_deref(),
        Some("green")
    );
    let c4 = env.upstream.revert_head().unwrap();
    env.notify_push();
    env.synced_at("demo", &c4).await;
    assert_eq!(
        env.field("configmap", "demo", "a", "{.data.color}")
            .as_deref(),
        Some("blue")
    );

    // An invalid commit (bad YAML next to a valid change) → nothing of it
    // applied, the app stays on c4 with a clear condition.
    let _c5 = env
        .upstream
        .commit(
            &[
                (
                    "app/kustomization.yaml",
                    &kustomization(&["a.yaml", "web.yaml", "broken.yaml"]),
                ),
                ("app/a.yaml", &config_map("a", "purple")),
                ("app/broken.yaml", "kind: [unclosed\n  : - x\n"),
            ],
            "bad yaml",
        )
        .unwrap();
    env.notify_push();
    let e = &env;
    let app = eventually("a ComparisonError naming broken.yaml", || async move {
        let app = e.app("demo")?;
        let named = app["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == "ComparisonError"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("broken.yaml"))
            })
        });
        if named {
            Ok(app)
        } else {
            Err(format!("{:#}", app["status"]))
        }
    })
    .await;
    assert_eq!(app["status"]["sync"]["revision"], c4.as_str());
    assert_eq!(
        env.field("configmap", "demo", "a", "{.data.color}")
            .as_deref(),
        Some("blue")
    );

    // Fixing forward (dropping the bad file, keeping the valid change)
    // applies and clears the condition.
    let c6 = env
        .upstream
        .commit(
            &[
                (
                    "app/kustomization.yaml",
                    &kustomization(&["a.yaml", "web.yaml"]),
                ),
                ("app/broken.yaml", ""),
            ],
            "drop the bad file",
        )
        .unwrap();
    env.notify_push();
    let app = env.synced_at("demo", &c6).await;
    assert!(
        app["status"]["conditions"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{:#}",
        app["status"]
    );
    assert_eq!(
        env.field("configmap", "demo", "a", "{.data.color}")
            .as_deref(),
        Some("purple")
    );

    // Rollback to the history entry of c3 (green) with the CLI: automation
    // off, then `kedge app rollback demo ID`, which waits for the sync.
    let history = app["status"]["history"].as_array().unwrap().clone();
    let entry = history
        .iter()
        .find(|h| h["revision"] == c3.as_str())
        .unwrap_or_else(|| panic!("c3 in history: {history:#?}"));
    let id = entry["id"].as_i64().unwrap();
    env.kedge_cli(&["app", "set", "demo", "--sync-policy", "none"]);
    env.kedge_cli(&[
        "app",
        "rollback",
        "demo",
        &id.to_string(),
        "--prune",
        "--timeout",
        "120",
    ]);
    env.field_becomes("configmap", "demo", "a", "{.data.color}", Some("green"))
        .await;
    let (e, c3, id) = (&env, c3.as_str(), id);
    let app = eventually("the rollback recorded", || async move {
        let app = e.app("demo")?;
        let last = &app["status"]["history"]
            .as_array()
            .and_then(|h| h.last().cloned());
        match last {
            Some(h) if h["revision"] == c3 && h["id"].as_i64() > Some(id) => Ok(app),
            _ => Err(format!("{:#}", app["status"]["history"])),
        }
    })
    .await;
    assert!(
        app.get("operation").is_none_or(Value::is_null),
        "operation consumed"
    );

    env.kedge.signal(Signal::SIGINT).unwrap();
    assert!(env.kedge.wait_exit().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_of_apps_brings_up_three_children() {
    if !have_kubectl("app_of_apps_brings_up_three_children") {
        return;
    }
    let env = Env::start("1").await;
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 0..3 {
        let child = application(
            &format!("child-{i}"),
            &env.upstream.url,
            "app",
            &format!("child-{i}"),
            "default",
        );
        files.push((
            format!("apps/child-{i}.json"),
            serde_json::to_string_pretty(&child).unwrap(),
        ));
    }
    files.push(("app/a.yaml".into(), config_map("a", "blue")));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let commit = env.upstream.commit(&refs, "parent and children").unwrap();
    env.apply(&application(
        "parent",
        &env.upstream.url,
        "apps",
        "kedge",
        "default",
    ));
    env.synced_at("parent", &commit).await;
    for i in 0..3 {
        env.synced_at(&format!("child-{i}"), &commit).await;
        assert_eq!(
            env.field("configmap", &format!("child-{i}"), "a", "{.data.color}")
                .as_deref(),
            Some("blue")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_blocks_a_forbidden_namespace() {
    if !have_kubectl("project_blocks_a_forbidden_namespace") {
        return;
    }
    let env = Env::start("1").await;
    let commit = env
        .upstream
        .commit(&[("app/a.yaml", &config_map("a", "blue"))], "a")
        .unwrap();
    env.apply(&json!({
        "apiVersion": "kedge.dev/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "team", "namespace": "kedge"},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "team-*"}]}
    }));
    env.apply(&application(
        "bad",
        &env.upstream.url,
        "app",
        "kube-system",
        "team",
    ));
    env.apply(&application(
        "good",
        &env.upstream.url,
        "app",
        "team-a",
        "team",
    ));
    env.synced_at("good", &commit).await;
    let e = &env;
    let app = eventually("bad refused by its project", || async move {
        let app = e.app("bad")?;
        let refused = app["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == "InvalidSpecError"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("kube-system"))
            })
        });
        if refused {
            Ok(app)
        } else {
            Err(format!("{:#}", app["status"]))
        }
    })
    .await;
    assert_ne!(app["status"]["sync"]["status"], "Synced");
    assert!(
        env.field("configmap", "kube-system", "a", "{.metadata.name}")
            .is_none()
    );
    assert_eq!(
        env.field("configmap", "team-a", "a", "{.data.color}")
            .as_deref(),
        Some("blue")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_sync_resumes_after_restart() {
    if !have_kubectl("sigkill_mid_sync_resumes_after_restart") {
        return;
    }
    let mut env = Env::start_split().await;
    // The wave-0 Deployment stays unready while its live object carries the
    // simulator's `progressing` annotation (set outside Git, so the sync
    // keeps it): the sync applies wave 0 and waits there.
    env.kubectl(&["create", "namespace", "resume"]).unwrap();
    let slow = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "slow", "namespace": "resume",
                     "annotations": {"kedge.dev/simulate": "progressing"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "slow"}},
                 "template": {"metadata": {"labels": {"app": "slow"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    });
    let file = env.data.join("slow.json");
    std::fs::write(&file, slow.to_string()).unwrap();
    env.kubectl(&["create", "-f", file.to_str().unwrap()])
        .unwrap();
    let slow_yaml = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: slow
  annotations:
    argocd.argoproj.io/sync-wave: \"0\"
spec:
  replicas: 1
  selector:
    matchLabels: {app: slow}
  template:
    metadata:
      labels: {app: slow, version: two}
    spec:
      containers:
      - name: c
        image: busybox:1.36
";
    let done = "apiVersion: v1
kind: ConfigMap
metadata:
  name: done
  annotations:
    argocd.argoproj.io/sync-wave: \"1\"
data:
  wave: \"1\"
";
    let commit = env
        .upstream
        .commit(
            &[("app/slow.yaml", slow_yaml), ("app/done.yaml", done)],
            "two waves",
        )
        .unwrap();
    env.apply(&application(
        "resume",
        &env.upstream.url,
        "app",
        "resume",
        "default",
    ));
    // Mid-sync: wave 0 applied (the new template label is live), wave 1 not.
    env.field_becomes(
        "deployment",
        "resume",
        "slow",
        "{.spec.template.metadata.labels.version}",
        Some("two"),
    )
    .await;
    assert!(
        env.field("configmap", "resume", "done", "{.metadata.name}")
            .is_none()
    );
    let app = env.app("resume").unwrap();
    assert_ne!(
        app["status"]["sync"]["revision"],
        commit.as_str(),
        "{:#}",
        app["status"]
    );

    let mut controller = env.controller.take().unwrap();
    controller.signal(Signal::SIGKILL).unwrap();
    let status = controller.wait_exit().unwrap();
    assert!(!status.success());
    drop(controller);

    // The workload becomes ready while no controller runs; the restarted
    // controller finishes the sync.
    env.kubectl(&[
        "annotate",
        "deployment",
        "slow",
        "-n",
        "resume",
        "kedge.dev/simulate-",
    ])
    .unwrap();
    assert!(
        env.field("configmap", "resume", "done", "{.metadata.name}")
            .is_none()
    );
    env.controller = Some(env.start_controller());
    env.synced_at("resume", &commit).await;
    assert_eq!(
        env.field("configmap", "resume", "done", "{.data.wave}")
            .as_deref(),
        Some("1")
    );
    let controller = env.controller.as_mut().unwrap();
    controller.signal(Signal::SIGTERM).unwrap();
    assert!(controller.wait_exit().unwrap().success());
}

/// A minimal HTTP/1.1 POST with `Connection: close`; returns the status code.
fn post(url: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut req = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// After an invalid commit, a pure `git revert` of it (a tree identical to
/// the last good revision) is picked up at once from the webhook, not only
/// at the next poll (hourly here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverting_an_invalid_commit_recovers_at_once() {
    if !have_kubectl("reverting_an_invalid_commit_recovers_at_once") {
        return;
    }
    let env = Env::start("3600").await;
    let good = env
        .upstream
        .commit(&[("app/a.yaml", &config_map("a", "blue"))], "a")
        .unwrap();
    env.apply(&application(
        "demo",
        &env.upstream.url,
        "app",
        "demo",
        "default",
    ));
    env.synced_at("demo", &good).await;
    env.upstream
        .commit(
            &[("app/broken.yaml", "kind: [unclosed\n  : - x\n")],
            "bad yaml",
        )
        .unwrap();
    env.notify_push();
    let e = &env;
    eventually("a ComparisonError", || async move {
        let app = e.app("demo")?;
        let blocked = app["status"]["conditions"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "ComparisonError"));
        if blocked {
            Ok(())
        } else {
            Err(format!("{:#}", app["status"]))
        }
    })
    .await;
    let reverted = env.upstream.revert_head().unwrap();
    env.notify_push();
    env.synced_at("demo", &reverted).await;
}
