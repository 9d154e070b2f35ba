//! The cluster-facing commands (`app`, `repo`, `proj`, `cluster`, `import`)
//! run as the real binary against a `kedge cluster serve` subprocess with
//! Kedge's CRDs applied by kubectl from `kedge install`. Every check reads
//! the result back through kubectl or the CLI's own JSON output.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// A `kedge cluster serve` subprocess, killed when dropped.
pub(crate) struct Cluster {
    child: Child,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a command printed and how it ended.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub(crate) fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

impl Cluster {
    /// Starts the control plane and installs Kedge's CRDs and default project.
    pub(crate) fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kedge"))
            .args(["cluster", "serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kedge cluster serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let kubeconfig = line
            .split("kubeconfig: ")
            .nth(1)
            .map(|s| PathBuf::from(s.trim().trim_end_matches(')')))
            .unwrap_or_else(|| panic!("no kubeconfig in {line:?}"));
        let cluster = Cluster {
            child,
            kubeconfig,
            dir,
        };
        let manifests = cluster.kedge(&["install"]).ok().stdout;
        // The first apply creates the CRDs but not yet the default project
        // (its kind is unknown until they are established); the second one does.
        cluster.kubectl_stdin(&["apply", "-f", "-"], &manifests);
        cluster
            .kubectl(&[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/applications.kedge.dev",
                "crd/appprojects.kedge.dev",
            ])
            .ok();
        cluster
            .kubectl_stdin(&["apply", "-f", "-"], &manifests)
            .ok();
        cluster
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1")
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env_remove("KEDGE_NAMESPACE")
            .stdin(Stdio::null());
        c
    }

    /// Runs `kedge ARGS`.
    pub(crate) fn kedge(&self, args: &[&str]) -> Run {
        Run::from(
            self.command(env!("CARGO_BIN_EXE_kedge"))
                .args(args)
                .output()
                .expect("run kedge"),
        )
    }

    /// Runs `kedge ARGS` with `input` on stdin.
    pub(crate) fn kedge_stdin(&self, args: &[&str], input: &str) -> Run {
        run_with_stdin(self.command(env!("CARGO_BIN_EXE_kedge")).args(args), input)
    }

    /// Runs `kubectl ARGS`.
    pub(crate) fn kubectl(&self, args: &[&str]) -> Run {
        Run::from(
            self.command("kubectl")
                .args(args)
                .output()
                .expect("run kubectl"),
        )
    }

    /// Runs `kubectl ARGS` with `input` on stdin.
    pub(crate) fn kubectl_stdin(&self, args: &[&str], input: &str) -> Run {
        run_with_stdin(self.command("kubectl").args(args), input)
    }

    /// `kubectl get -o json` of one object, or `None` when it does not exist.
    pub(crate) fn get(&self, args: &[&str]) -> Option<Value> {
        let mut a = vec!["get", "-o", "json"];
        a.extend_from_slice(args);
        let r = self.kubectl(&a);
        (r.code == 0).then(|| r.json())
    }

    /// Writes a file under the temporary directory and returns its path.
    pub(crate) fn file(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write file");
        p.display().to_string()
    }
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    Run::from(child.wait_with_output().expect("wait"))
}

/// A git work tree with one commit of `files`; returns its `file://` URL.
pub(crate) fn git_repo(dir: &Path, files: &[(&str, &str)]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    commit(dir, files, "initial");
    format!("file://{}", dir.display())
}

/// Writes files and commits them; returns the commit SHA.
pub(crate) fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const IN_CLUSTER: &str = "https://kubernetes.default.svc";

#[test]
fn app_create_list_get_set_delete() {
    let c = Cluster::start();
    c.kedge(&[
        "app",
        "create",
        "guestbook",
        "--repo",
        "https://git.example.com/apps.git",
        "--path",
        "guestbook",
        "--revision",
        "main",
        "--dest-server",
        IN_CLUSTER,
        "--dest-namespace",
        "web",
        "--sync-policy",
        "automated",
        "--auto-prune",
        "--self-heal",
        "--sync-option",
        "CreateNamespace=true",
        "--kustomize-image",
        "nginx=nginx:1.27",
        "--nameprefix",
        "p-",
        "--label",
        "team=a",
        "--set-finalizer",
    ])
    .ok();
    let live = c
        .get(&["applications.kedge.dev", "guestbook", "-n", "kedge"])
        .expect("created");
    let spec = &live["spec"];
    assert_eq!(
        spec["source"]["repoURL"],
        "https://git.example.com/apps.git"
    );
    assert_eq!(spec["source"]["path"], "guestbook");
    assert_eq!(spec["source"]["targetRevision"], "main");
    assert_eq!(spec["source"]["kustomize"]["images"][0], "nginx=nginx:1.27");
    assert_eq!(spec["source"]["kustomize"]["namePrefix"], "p-");
    assert_eq!(spec["destination"]["server"], IN_CLUSTER);
    assert_eq!(spec["destination"]["namespace"], "web");
    assert_eq!(spec["syncPolicy"]["automated"]["prune"], true);
    assert_eq!(spec["syncPolicy"]["automated"]["selfHeal"], true);
    assert_eq!(spec["syncPolicy"]["syncOptions"][0], "CreateNamespace=true");
    assert_eq!(live["metadata"]["labels"]["team"], "a");
    assert_eq!(
        live["metadata"]["finalizers"][0],
        "resources-finalizer.kedge.dev"
    );

    c.kedge(&[
        "app",
        "create",
        "other",
        "--repo",
        "https://git.example.com/other.git",
        "--dest-name",
        "in-cluster",
        "--dest-namespace",
        "other",
        "--project",
        "team-b",
    ])
    .ok();

    // The table: kubectl-style alignment, argocd's columns.
    let table = c.kedge(&["app", "list"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "CLUSTER",
            "NAMESPACE",
            "PROJECT",
            "STATUS",
            "HEALTH",
            "SYNCPOLICY",
            "CONDITIONS",
            "REPO",
            "PATH",
            "TARGET"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        row,
        [
            "guestbook",
            IN_CLUSTER,
            "web",
            "default",
            "Unknown",
            "Unknown",
            "Auto-Prune",
            "<none>",
            "https://git.example.com/apps.git",
            "guestbook",
            "main"
        ]
    );
    // Columns start at the same offset on every line.
    let col = lines[0].find("CLUSTER").unwrap();
    assert_eq!(lines[1].find(IN_CLUSTER), Some(col));
    assert_eq!(lines[2].find("in-cluster"), Some(col));
    assert!(!table.contains('\x1b'), "no colour when piped");

    // Filters.
    let names = |r: Run| -> Vec<String> {
        r.ok().json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(c.kedge(&["app", "list", "-o", "json", "-l", "team=a"])),
        ["guestbook"]
    );
    assert_eq!(
        names(c.kedge(&["app", "list", "-o", "json", "-p", "team-b"])),
        ["other"]
    );
    assert_eq!(
        c.kedge(&["app", "list", "-o", "name"]).ok().stdout,
        "application/guestbook\napplication/other\n"
    );

    // -o json of get is the object kubectl sees.
    let got = c
        .kedge(&["app", "get", "guestbook", "-o", "json"])
        .ok()
        .json();
    let live = c
        .get(&["applications.kedge.dev", "guestbook", "-n", "kedge"])
        .unwrap();
    assert_eq!(got["spec"], live["spec"]);
    assert_eq!(got["metadata"]["uid"], live["metadata"]["uid"]);
    // -o yaml parses to the same spec.
    let yaml = c
        .kedge(&["app", "get", "guestbook", "-o", "yaml"])
        .ok()
        .stdout;
    let from_yaml = c
        .kubectl_stdin(
            &["create", "--dry-run=client", "-o", "json", "-f", "-"],
            &yaml,
        )
        .ok()
        .json();
    assert_eq!(from_yaml["spec"], live["spec"]);
    let summary = c.kedge(&["app", "get", "guestbook"]).ok().stdout;
    assert!(
        summary.contains("Name:               kedge/guestbook"),
        "{summary}"
    );
    assert!(
        summary.contains("Sync Policy:        Automated (Prune, SelfHeal)"),
        "{summary}"
    );

    // The same create again is a no-op; a different one needs --upsert.
    let same = c
        .kedge(&[
            "app",
            "create",
            "other",
            "--repo",
            "https://git.example.com/other.git",
            "--dest-name",
            "in-cluster",
            "--dest-namespace",
            "other",
            "--project",
            "team-b",
        ])
        .ok();
    assert_eq!(same.stdout, "application 'other' unchanged\n");
    let changed = [
        "app",
        "create",
        "other",
        "--repo",
        "https://git.example.com/other.git",
        "--dest-name",
        "in-cluster",
        "--dest-namespace",
        "elsewhere",
    ];
    let refused = c.kedge(&changed);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("--upsert"), "{}", refused.stderr);
    let mut upsert = changed.to_vec();
    upsert.push("--upsert");
    c.kedge(&upsert).ok();
    let other = c.kedge(&["app", "get", "other", "-o", "json"]).ok().json();
    assert_eq!(other["spec"]["destination"]["namespace"], "elsewhere");

    // set changes only what is given.
    c.kedge(&[
        "app",
        "set",
        "guestbook",
        "--revision",
        "v2",
        "--sync-policy",
        "none",
        "--sync-option",
        "CreateNamespace=false",
    ])
    .ok();
    let after = c
        .kedge(&["app", "get", "guestbook", "-o", "json"])
        .ok()
        .json();
    assert_eq!(after["spec"]["source"]["targetRevision"], "v2");
    assert_eq!(after["spec"]["source"]["path"], "guestbook");
    assert!(after["spec"]["syncPolicy"].get("automated").is_none());
    assert_eq!(
        after["spec"]["syncPolicy"]["syncOptions"],
        serde_json::json!(["CreateNamespace=false"])
    );
    let bad = c.kedge(&["app", "set", "guestbook", "--auto-prune"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("automated sync policy"),
        "{}",
        bad.stderr
    );

    // Deleting without cascade removes the finalizer first, so the object goes.
    c.kedge(&[
        "app",
        "delete",
        "guestbook",
        "--cascade=false",
        "-y",
        "--wait",
    ])
    .ok();
    assert!(
        c.get(&["applications.kedge.dev", "guestbook", "-n", "kedge"])
            .is_none()
    );
    let missing = c.kedge(&["app", "get", "guestbook"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        r#"Error: application "guestbook" not found in namespace "kedge""#
    );
    let missing = c.kedge(&["app", "get", "guestbook", "-n", "team"]);
    assert!(
        missing
            .stderr
            .contains(r#"application "guestbook" not found in namespace "team""#)
    );
}

const ARGO_APP: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: from-argo
  namespace: argocd
  finalizers:
  - resources-finalizer.argocd.argoproj.io
  resourceVersion: "12345"
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: kustomize-guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated:
      prune: true
status:
  sync:
    status: Synced
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-imported
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: imported-proj
  namespace: argocd
spec:
  sourceRepos: ["*"]
  destinations:
  - server: https://kubernetes.default.svc
    namespace: guestbook
"#;

#[test]
fn argocd_manifests_create_and_import() {
    let c = Cluster::start();
    let app_only: String = ARGO_APP.split("---").next().unwrap().to_string();
    let file = c.file("argo-app.yaml", &app_only);
    c.kedge(&["app", "create", "-f", &file]).ok();
    let live = c
        .get(&["applications.kedge.dev", "from-argo", "-n", "kedge"])
        .expect("created in kedge");
    assert_eq!(live["apiVersion"], "kedge.dev/v1alpha1");
    assert_eq!(
        live["metadata"]["finalizers"],
        serde_json::json!(["resources-finalizer.kedge.dev"])
    );
    assert_eq!(live["spec"]["source"]["path"], "kustomize-guestbook");
    assert!(live.get("status").is_none_or(|s| s.get("sync").is_none()));

    // import prints Kedge manifests and skips other kinds.
    let all = c.file("argo-all.yaml", ARGO_APP);
    let printed = c.kedge(&["import", &all, "-o", "json"]).ok();
    assert!(
        printed
            .stderr
            .contains("skipping v1 ConfigMap not-imported")
    );
    let list = printed.json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "Application");
    assert_eq!(items[0]["metadata"]["namespace"], "kedge");
    assert!(items[0]["metadata"].get("resourceVersion").is_none());
    assert!(items[0].get("status").is_none());
    assert_eq!(items[1]["kind"], "AppProject");
    assert_eq!(items[1]["apiVersion"], "kedge.dev/v1alpha1");
    // YAML from stdin, applied by kubectl, gives the same objects.
    let yaml = c.kedge_stdin(&["import", "-"], ARGO_APP).ok().stdout;
    assert!(yaml.contains("apiVersion: kedge.dev/v1alpha1"));
    assert!(!yaml.contains("argoproj.io"), "{yaml}");

    // --apply creates the project and updates the existing application.
    let applied = c.kedge(&["import", &all, "--apply"]).ok().stdout;
    assert_eq!(
        applied,
        "project 'imported-proj' created\napplication 'from-argo' configured\n"
    );
    let proj = c
        .get(&["appprojects.kedge.dev", "imported-proj", "-n", "kedge"])
        .expect("project");
    assert_eq!(proj["spec"]["destinations"][0]["namespace"], "guestbook");
    let none = c.kedge(&[
        "import",
        &c.file(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        ),
    ]);
    assert_eq!(none.code, 1);
}

#[test]
fn repo_add_list_rm_never_prints_the_password() {
    let c = Cluster::start();
    let password = "s3cret-Passw0rd-for-cli";
    let add = c
        .kedge_stdin(
            &[
                "repo",
                "add",
                "https://git.example.com/org/private.git",
                "--username",
                "alice",
                "--password-stdin",
                "--project",
                "team",
            ],
            &format!("{password}\n"),
        )
        .ok();
    assert_eq!(
        add.stdout,
        "repository 'https://git.example.com/org/private.git' added\n"
    );
    let secrets = c
        .get(&[
            "secrets",
            "-n",
            "kedge",
            "-l",
            "argocd.argoproj.io/secret-type=repository",
        ])
        .unwrap();
    let items = secrets["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let decode = |field: &str| {
        let b64 = items[0]["data"][field].as_str().unwrap();
        let out = Command::new("base64")
            .arg("-d")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut ch| {
                ch.stdin.take().unwrap().write_all(b64.as_bytes())?;
                ch.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(decode("url"), "https://git.example.com/org/private.git");
    assert_eq!(decode("username"), "alice");
    assert_eq!(decode("password"), password);
    assert_eq!(decode("project"), "team");

    c.kedge(&[
        "repo",
        "add",
        "https://git.example.com/org",
        "--creds",
        "--username",
        "bot",
        "--password",
        password,
    ])
    .ok();

    let list = c.kedge(&["repo", "list"]).ok();
    assert!(
        list.stdout
            .contains("https://git.example.com/org/private.git")
    );
    assert!(list.stdout.contains("git (template)"), "{}", list.stdout);
    let json = c.kedge(&["repo", "list", "-o", "json"]).ok();
    assert_eq!(json.json()["items"].as_array().unwrap().len(), 2);
    assert_eq!(json.json()["items"][0]["hasCredentials"], true);
    let yaml = c.kedge(&["repo", "list", "-o", "yaml"]).ok();
    let again = c.kedge(&["repo", "add", "https://git.example.com/org/private.git"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("--upsert"));
    for r in [&add, &list, &json, &yaml, &again] {
        assert!(!r.stdout.contains(password) && !r.stderr.contains(password));
    }

    c.kedge(&["repo", "rm", "https://git.example.com/org/private.git"])
        .ok();
    let gone = c.kedge(&["repo", "rm", "https://git.example.com/org/private.git"]);
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr.contains(
            r#"repository "https://git.example.com/org/private.git" not found in namespace "kedge""#
        ),
        "{}",
        gone.stderr
    );
    let left = c.kedge(&["repo", "list", "-o", "json"]).ok().json();
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    assert_eq!(left["items"][0]["kind"], "RepoCreds");
}

#[test]
fn cluster_add_list_rm() {
    let c = Cluster::start();
    // From the serve kubeconfig's own context: server, CA and token.
    let add = c
        .kedge(&["cluster", "add", "self", "--from-context", "kedge"])
        .ok();
    assert!(
        add.stdout.starts_with("Cluster 'https://127.0.0.1:"),
        "{}",
        add.stdout
    );
    c.kedge_stdin(
        &[
            "cluster",
            "add",
            "remote",
            "--server",
            "https://10.1.2.3:6443",
            "--bearer-token-stdin",
            "--insecure-skip-tls-verify",
            "--namespace-limit",
            "a",
            "--namespace-limit",
            "b",
        ],
        "remote-token-abcdef\n",
    )
    .ok();
    let secrets = c
        .get(&[
            "secrets",
            "-n",
            "kedge",
            "-l",
            "argocd.argoproj.io/secret-type=cluster",
        ])
        .unwrap();
    assert_eq!(secrets["items"].as_array().unwrap().len(), 2);
    let list = c.kedge(&["cluster", "list"]).ok().stdout;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 4, "{list}");
    assert!(lines[1].starts_with(IN_CLUSTER));
    let remote: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("https://10.1.2.3:6443 "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        remote[..4],
        ["https://10.1.2.3:6443", "remote", "token", "a,b"]
    );
    assert!(!list.contains("remote-token-abcdef"));
    let json = c.kedge(&["cluster", "list", "-o", "json"]).ok().json();
    let selfc = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "self")
        .unwrap()
        .clone();
    assert_eq!(selfc["auth"], "token");
    assert_eq!(selfc["insecure"], false);
    c.kedge(&["cluster", "rm", "remote"]).ok();
    c.kedge(&["cluster", "rm", selfc["server"].as_str().unwrap()])
        .ok();
    let gone = c.kedge(&["cluster", "rm", "remote"]);
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr
            .contains(r#"cluster "remote" not found in namespace "kedge""#)
    );
}

#[test]
fn proj_create_list_get_delete() {
    let c = Cluster::start();
    c.kedge(&[
        "proj",
        "create",
        "team",
        "--description",
        "Team apps",
        "--src",
        "https://git.example.com/team/*",
        "--dest",
        "https://kubernetes.default.svc,team-*",
        "--allow-cluster-resource",
        "/Namespace",
        "--deny-namespaced-resource",
        "/ResourceQuota",
    ])
    .ok();
    let p = c
        .get(&["appprojects.kedge.dev", "team", "-n", "kedge"])
        .unwrap();
    assert_eq!(
        p["spec"]["sourceRepos"][0],
        "https://git.example.com/team/*"
    );
    assert_eq!(p["spec"]["destinations"][0]["namespace"], "team-*");
    assert_eq!(
        p["spec"]["clusterResourceWhitelist"][0],
        serde_json::json!({"group": "", "kind": "Namespace"})
    );
    assert_eq!(
        p["spec"]["namespaceResourceBlacklist"][0]["kind"],
        "ResourceQuota"
    );
    c.kedge(&[
        "proj",
        "add-source",
        "team",
        "https://git.example.com/shared.git",
    ])
    .ok();
    c.kedge(&["proj", "add-destination", "team", IN_CLUSTER, "shared"])
        .ok();
    let got = c.kedge(&["proj", "get", "team", "-o", "json"]).ok().json();
    assert_eq!(got["spec"]["sourceRepos"].as_array().unwrap().len(), 2);
    assert_eq!(got["spec"]["destinations"].as_array().unwrap().len(), 2);
    let list = c.kedge(&["proj", "list"]).ok().stdout;
    assert!(list.lines().any(|l| l.starts_with("default ")), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("team ") && l.contains("Team apps")),
        "{list}"
    );
    let bad = c.kedge(&["proj", "create", "x", "--dest", "no-comma"]);
    assert_eq!(bad.code, 1);
    c.kedge(&["proj", "delete", "team"]).ok();
    let gone = c.kedge(&["proj", "get", "team"]);
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr
            .contains(r#"project "team" not found in namespace "kedge""#)
    );
}

#[test]
fn wait_times_out_and_rollback_is_refused_under_auto_sync() {
    let c = Cluster::start();
    c.kedge(&[
        "app",
        "create",
        "auto",
        "--repo",
        "https://git.example.com/apps.git",
        "--dest-server",
        IN_CLUSTER,
        "--dest-namespace",
        "x",
        "--sync-policy",
        "automated",
    ])
    .ok();
    // No controller runs: the application never becomes healthy.
    let w = c.kedge(&["app", "wait", "auto", "--health", "--timeout", "1"]);
    assert_eq!(w.code, 1, "{}", w.stderr);
    assert!(
        w.stderr.contains(
            r#"timed out after 1s waiting for application "auto" to reach health Healthy"#
        ),
        "{}",
        w.stderr
    );
    let r = c.kedge(&["app", "rollback", "auto", "0"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("automated sync is enabled"),
        "{}",
        r.stderr
    );
    let missing = c.kedge(&["app", "wait", "nope", "--timeout", "5"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains(r#"application "nope" not found"#),
        "{}",
        missing.stderr
    );
    // diff of an application whose repository cannot be read is an error (2).
    let d = c.kedge(&["app", "diff", "auto"]);
    assert_eq!(d.code, 2, "{}", d.stderr);
}

/// An in-process controller over the test cluster, stopped when dropped.
struct RunningController {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningController {
    fn start(c: &Cluster) -> RunningController {
        let kubeconfig = c.kubeconfig.clone();
        let cache = c.dir.path().join("controller-cache");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
                let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                    .await
                    .unwrap();
                let client = kube::Client::try_from(cfg).unwrap();
                let mut cc = kedge_controller::ControllerConfig::new(cache);
                cc.allow_file_protocol = true;
                let controller =
                    std::sync::Arc::new(kedge_controller::Controller::new(client, cc).unwrap());
                controller
                    .run(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        RunningController {
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for RunningController {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn cm(color: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  color: {color}\n")
}

#[test]
fn sync_diff_history_rollback_and_project_conditions_with_a_controller() {
    let c = Cluster::start();
    let repo = c.dir.path().join("repo");
    let url = git_repo(&repo, &[("app/cm.yaml", &cm("blue"))]);
    let _controller = RunningController::start(&c);
    c.kedge(&[
        "app",
        "create",
        "demo",
        "--repo",
        &url,
        "--path",
        "app",
        "--revision",
        "main",
        "--dest-server",
        IN_CLUSTER,
        "--dest-namespace",
        "demo",
        "--sync-option",
        "CreateNamespace=true",
    ])
    .ok();
    let synced = c.kedge(&["app", "sync", "demo", "--timeout", "120"]).ok();
    assert!(
        synced.stdout.contains("Phase:              Succeeded"),
        "{}",
        synced.stdout
    );
    let live = c.get(&["configmap", "a", "-n", "demo"]).expect("synced");
    assert_eq!(live["data"]["color"], "blue");
    c.kedge(&[
        "app",
        "wait",
        "demo",
        "--sync",
        "--operation",
        "--timeout",
        "60",
    ])
    .ok();
    assert_eq!(c.kedge(&["app", "diff", "demo"]).code, 0);

    // Drift shows in the diff (exit 1) with both values.
    c.kubectl(&[
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
    .ok();
    let d = c.kedge(&["app", "diff", "demo"]);
    assert_eq!(d.code, 1, "{}", d.stderr);
    assert!(
        d.stdout.contains("===== /ConfigMap demo/a ======"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("-  color: red"), "{}", d.stdout);
    assert!(d.stdout.contains("+  color: blue"), "{}", d.stdout);

    // A second commit, synced; then a rollback to the first deployment.
    commit(&repo, &[("app/cm.yaml", &cm("green"))], "green");
    c.kedge(&["app", "sync", "demo", "--timeout", "120"]).ok();
    assert_eq!(
        c.get(&["configmap", "a", "-n", "demo"]).unwrap()["data"]["color"],
        "green"
    );
    let history = c
        .kedge(&["app", "history", "demo", "-o", "json"])
        .ok()
        .json();
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{history:#}");
    let table = c.kedge(&["app", "history", "demo"]).ok().stdout;
    assert!(table.starts_with("ID  DATE"), "{table}");
    let first = entries[0]["id"].as_i64().unwrap().to_string();
    c.kedge(&["app", "rollback", "demo", &first, "--timeout", "120"])
        .ok();
    assert_eq!(
        c.get(&["configmap", "a", "-n", "demo"]).unwrap()["data"]["color"],
        "blue"
    );

    // Colour only on a terminal (`script` provides one), never with NO_COLOR.
    let on_tty = |no_color: bool| {
        let mut cmd = c.command("script");
        cmd.args([
            "-qec",
            &format!("{} app list", env!("CARGO_BIN_EXE_kedge")),
            "/dev/null",
        ]);
        if !no_color {
            cmd.env_remove("NO_COLOR");
        }
        Run::from(cmd.output().expect("run script")).ok().stdout
    };
    let coloured = on_tty(false);
    assert!(coloured.contains("\x1b[32mHealthy\x1b[0m"), "{coloured:?}");
    let plain = on_tty(true);
    assert!(
        plain.contains("Healthy") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    assert!(!c.kedge(&["app", "list"]).ok().stdout.contains('\x1b'));

    // A project that forbids the destination namespace: the controller's
    // condition shows in list and get, and a sync fails with it.
    c.kedge(&[
        "proj",
        "create",
        "restricted",
        "--src",
        "*",
        "--dest",
        &format!("{IN_CLUSTER},allowed"),
    ])
    .ok();
    c.kedge(&[
        "app",
        "create",
        "bad",
        "--project",
        "restricted",
        "--repo",
        &url,
        "--path",
        "app",
        "--dest-server",
        IN_CLUSTER,
        "--dest-namespace",
        "forbidden",
    ])
    .ok();
    let got = c.kedge(&["app", "get", "bad", "--refresh"]).ok().stdout;
    assert!(got.contains("InvalidSpecError"), "{got}");
    assert!(
        got.contains("destination namespace forbidden is not permitted"),
        "{got}"
    );
    let list = c.kedge(&["app", "list"]).ok().stdout;
    let row = list.lines().find(|l| l.starts_with("bad ")).unwrap();
    assert!(row.contains("InvalidSpecError"), "{row}");
    let s = c.kedge(&["app", "sync", "bad", "--timeout", "120"]);
    assert_eq!(s.code, 1, "{}", s.stdout);
    assert!(s.stderr.contains("InvalidSpecError"), "{}", s.stderr);
    assert!(c.get(&["configmap", "a", "-n", "forbidden"]).is_none());

    // A cascading delete removes the application's resources, then the application.
    c.kedge(&["app", "delete", "demo", "-y", "--wait"]).ok();
    assert!(c.get(&["configmap", "a", "-n", "demo"]).is_none());
    assert!(
        c.get(&["applications.kedge.dev", "demo", "-n", "kedge"])
            .is_none()
    );
}
