//! The kubectl compatibility matrix: every scenario under
//! `tests/fixtures/kubectl/<case>/scenario.json` runs with kubectl 1.27, 1.30
//! and 1.33 (a missing binary is skipped with a message), each version
//! against its own fresh server and each case in its own namespace.
//!
//! A scenario is a list of steps; a step is one kubectl invocation
//! (`args`, with `{ns}` for the case's namespace and `{dir}` for the case's
//! fixture directory, optional `stdin` naming a fixture file) and the
//! expectations on it: the exit code (`exit`, default 0), substrings of
//! stdout and stderr (`stdout`, `stderr`), the exact stdout
//! (`stdout_exact`), JSON pointers into stdout parsed as JSON with their
//! expected values (`json`), pointers that must exist or must not
//! (`json_present`, `json_absent`), the set of kubectl managedFields managers
//! (`managers`), and table lines given as whitespace-separated columns
//! (`lines`). The expectations are what a real 1.33 API server answers.
//! Steps may carry `min_minor` to run only from that kubectl minor version.
//! A case with `known_bug` (the reason) documents behaviour the server does
//! not have yet: it runs only in the ignored `known_server_bugs` test.
//!
//! `get -w` is not a single invocation and has its own test below.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::Cluster;

const VERSIONS: [&str; 3] = ["1.27", "1.30", "1.33"];

fn kubectl_for(version: &str) -> Option<PathBuf> {
    let p = PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"));
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping kubectl {version}: {} is not installed",
            p.display()
        );
        None
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubectl")
}

/// Whether a case is marked as a known server bug.
fn known_bug(case: &Path) -> Option<String> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("scenario.json")).ok()?).ok()?;
    v["known_bug"].as_str().map(String::from)
}

fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures/kubectl")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("scenario.json").exists())
        .collect();
    out.sort();
    assert!(out.len() >= 8, "scenarios found: {out:?}");
    out
}

fn subst(s: &str, ns: &str, dir: &Path) -> String {
    s.replace("{ns}", ns)
        .replace("{dir}", &dir.display().to_string())
}

/// Runs one case; returns the failures (empty when it passed).
fn run_case(cluster: &Cluster, bin: &Path, minor: u32, case: &Path) -> Vec<String> {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let ns = format!("m-{name}");
    let scenario: Value = serde_json::from_str(
        &std::fs::read_to_string(case.join("scenario.json")).expect("read scenario"),
    )
    .unwrap_or_else(|e| panic!("{name}/scenario.json: {e}"));
    let mut failures = Vec::new();
    let created = cluster.kubectl_with(bin, &["create", "namespace", &ns]);
    if !created.status.success() {
        return vec![format!(
            "{name}: create namespace: {}",
            String::from_utf8_lossy(&created.stderr)
        )];
    }
    for (i, step) in scenario["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        if let Some(min) = step["min_minor"].as_u64()
            && u64::from(minor) < min
        {
            continue;
        }
        let args: Vec<String> = step["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| subst(a.as_str().expect("string arg"), &ns, case))
            .collect();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = match step["stdin"].as_str() {
            Some(file) => {
                let text = subst(
                    &std::fs::read_to_string(case.join(file)).expect("stdin fixture"),
                    &ns,
                    case,
                );
                stdin_with(cluster, bin, &argv, &text)
            }
            None => cluster.kubectl_with(bin, &argv),
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut fail = |what: String| {
            failures.push(format!(
                "{name} step {i} `kubectl {}`: {what}\n  stdout: {stdout}\n  stderr: {stderr}",
                args.join(" ")
            ))
        };
        let want_exit = step["exit"].as_i64().unwrap_or(0);
        let code = i64::from(out.status.code().unwrap_or(-1));
        if code != want_exit {
            fail(format!("exit {code}, want {want_exit}"));
            continue;
        }
        for s in step["stdout"].as_array().into_iter().flatten() {
            let s = subst(s.as_str().unwrap(), &ns, case);
            if !stdout.contains(&s) {
                fail(format!("stdout lacks {s:?}"));
            }
        }
        for s in step["stderr"].as_array().into_iter().flatten() {
            let s = subst(s.as_str().unwrap(), &ns, case);
            if !stderr.contains(&s) {
                fail(format!("stderr lacks {s:?}"));
            }
        }
        if let Some(exact) = step["stdout_exact"].as_str()
            && stdout != subst(exact, &ns, case)
        {
            fail(format!("stdout is not exactly {exact:?}"));
        }
        for line in step["lines"].as_array().into_iter().flatten() {
            let want: Vec<&str> = line
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            if !stdout
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == want)
            {
                fail(format!("no table line {want:?}"));
            }
        }
        let needs_json = ["json", "json_present", "json_absent", "managers"]
            .iter()
            .any(|k| !step[*k].is_null());
        if !needs_json {
            continue;
        }
        let doc: Value = match serde_json::from_str(&stdout) {
            Ok(v) => v,
            Err(e) => {
                fail(format!("stdout is not JSON: {e}"));
                continue;
            }
        };
        for (ptr, want) in step["json"].as_object().into_iter().flatten() {
            match doc.pointer(ptr) {
                Some(got) if got == want => {}
                got => fail(format!("{ptr} is {got:?}, want {want}")),
            }
        }
        for ptr in step["json_present"].as_array().into_iter().flatten() {
            if doc.pointer(ptr.as_str().unwrap()).is_none() {
                fail(format!("{ptr} is missing"));
            }
        }
        for ptr in step["json_absent"].as_array().into_iter().flatten() {
            if let Some(v) = doc.pointer(ptr.as_str().unwrap()) {
                fail(format!("{ptr} should be absent, is {v}"));
            }
        }
        if let Some(want) = step["managers"].as_array() {
            // The kubectl managers (controllers such as the workload
            // simulator write status under their own names).
            let mut want: Vec<&str> = want.iter().map(|m| m.as_str().unwrap()).collect();
            want.sort_unstable();
            let entries: Vec<&Value> = doc["metadata"]["managedFields"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            let mut got: Vec<&str> = entries
                .iter()
                .filter_map(|e| e["manager"].as_str())
                .filter(|m| m.starts_with("kubectl"))
                .collect();
            got.sort_unstable();
            if got != want {
                fail(format!("managers {got:?}, want {want:?}"));
            }
        }
    }
    failures
}

fn stdin_with(cluster: &Cluster, bin: &Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(bin)
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .arg("--cache-dir")
        .arg(cluster.dir.path().join("cache"))
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("kubectl output")
}

fn run_matrix(version: &str, known_bugs: bool) {
    let Some(bin) = kubectl_for(version) else {
        return;
    };
    let minor: u32 = version.split('.').nth(1).unwrap().parse().unwrap();
    let cluster = Cluster::start_with(bin.clone(), |_| {});
    let mut failures = Vec::new();
    for case in cases() {
        if known_bug(&case).is_some() != known_bugs {
            continue;
        }
        failures.extend(run_case(&cluster, &bin, minor, &case));
    }
    assert!(
        failures.is_empty(),
        "kubectl {version}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn kubectl_1_27() {
    run_matrix(VERSIONS[0], false);
}

#[test]
fn kubectl_1_30() {
    run_matrix(VERSIONS[1], false);
}

#[test]
fn kubectl_1_33() {
    run_matrix(VERSIONS[2], false);
}

/// The cases marked `known_bug`, with every version; see each case's reason.
/// (None is marked today; a new one documents a gap until it is fixed.)
#[test]
fn known_server_bugs() {
    for v in VERSIONS {
        run_matrix(v, true);
    }
}

/// Kills the watching kubectl when the test ends, passed or failed.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn get_watch_1_27() {
    get_watch_prints_changes(VERSIONS[0]);
}

#[test]
fn get_watch_1_30() {
    get_watch_prints_changes(VERSIONS[1]);
}

#[test]
fn get_watch_1_33() {
    get_watch_prints_changes(VERSIONS[2]);
}

/// `kubectl get -w -o json` prints the initial object and then one object
/// per change, in resourceVersion order.
fn get_watch_prints_changes(version: &str) {
    {
        let Some(bin) = kubectl_for(version) else {
            return;
        };
        let cluster = Cluster::start_with(bin.clone(), |_| {});
        cluster.kubectl_with(&bin, &["create", "configmap", "w", "--from-literal=n=0"]);
        let child = Command::new(&bin)
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig())
            .args(["get", "configmap", "w", "-w", "-o", "json"])
            .env_remove("KUBECONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn kubectl get -w");
        let mut guard = ChildGuard(child);
        let mut reader = BufReader::new(guard.0.stdout.take().unwrap());
        // Objects are printed as pretty JSON; read one object per closing
        // brace at column 0.
        let mut next_object = || -> Value {
            let mut text = String::new();
            loop {
                let mut line = String::new();
                let n = reader.read_line(&mut line).expect("read watch output");
                assert!(n > 0, "kubectl {version}: watch output ended: {text}");
                text.push_str(&line);
                if line == "}\n" {
                    return serde_json::from_str(&text).expect("watch object JSON");
                }
            }
        };
        let first = next_object();
        assert_eq!(first["data"]["n"], "0", "kubectl {version}");
        let mut last_rv: u64 = first["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        for n in 1..=3 {
            let patch = format!("{{\"data\":{{\"n\":\"{n}\"}}}}");
            let out = cluster.kubectl_with(
                &bin,
                &["patch", "configmap", "w", "--type=merge", "-p", &patch],
            );
            assert!(out.status.success(), "patch: {out:?}");
            let obj = next_object();
            assert_eq!(obj["data"]["n"], n.to_string(), "kubectl {version}");
            let rv: u64 = obj["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(rv > last_rv, "resourceVersion grows: {rv} after {last_rv}");
            last_rv = rv;
        }
        drop(guard);
    }
}
