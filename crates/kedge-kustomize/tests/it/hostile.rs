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

/// The same attacks on the real filesystem ([`OsFileSystem`]), each built in
/// a child process (this test binary, re-run on the hidden
/// `hostile::os_child` test) so its peak memory can be read on its own:
/// the child prints how far its resident-set high-water mark rose during the
/// build. Where the attack is also an error for `kubectl kustomize` (escapes
/// and cycles), kubectl is run on the same tree and must fail too.
mod os {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::{Duration, Instant};

    use kedge_kustomize::{Kustomizer, OsFileSystem};

    const KUBECTL: &str = "/usr/bin/kubectl";
    const CHILD_ENV: &str = "KEDGE_HOSTILE_CHILD_DIR";

    /// A temporary directory removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let p =
                std::env::temp_dir().join(format!("kedge-hostile-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(std::fs::canonicalize(&p).unwrap())
        }
        fn write(&self, rel: &str, data: impl AsRef<[u8]>) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
        fn symlink(&self, rel: &str, target: &Path) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, p).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Peak resident set size of this process so far, in KiB.
    fn vm_hwm_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Runs in the child: builds the directory named by the environment and
    /// reports the outcome and the rise of the memory high-water mark.
    #[test]
    fn os_child() {
        let Ok(dir) = std::env::var(CHILD_ENV) else {
            return;
        };
        let k = Kustomizer::new();
        let before = vm_hwm_kib();
        let started = Instant::now();
        let res = k.build(&OsFileSystem, Path::new(&dir));
        let ms = started.elapsed().as_millis();
        let rise = vm_hwm_kib().saturating_sub(before);
        match res {
            Ok(r) => println!(
                "CHILD ok objects={} ms={ms} rise_kib={rise}",
                r.objects.len()
            ),
            Err(e) => println!("CHILD err ms={ms} rise_kib={rise} msg={e}"),
        }
    }

    struct Outcome {
        ok: bool,
        ms: u64,
        rise_kib: u64,
        message: String,
    }

    /// Builds `dir` in a child process and parses its report.
    fn build_in_child(dir: &Path) -> Outcome {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "hostile::os::os_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir)
            .output()
            .expect("run the child test");
        let text = String::from_utf8_lossy(&out.stdout);
        // The harness may print the test name on the same line first.
        let line = text
            .lines()
            .find_map(|l| l.find("CHILD ").map(|i| &l[i..]))
            .unwrap_or_else(|| panic!("child printed no report: {text}"));
        let field = |name: &str| -> u64 {
            line.split(' ')
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {line}"))
        };
        Outcome {
            ok: line.starts_with("CHILD ok"),
            ms: field("ms="),
            rise_kib: field("rise_kib="),
            message: line
                .split_once("msg=")
                .map_or(String::new(), |(_, m)| m.to_string()),
        }
    }

    /// Asserts a quick, memory-bounded failure whose message has `needle`.
    fn assert_refused(dir: &Path, needle: &str, max_rise_mib: u64) -> Outcome {
        let o = build_in_child(dir);
        assert!(!o.ok, "{}: the build succeeded", dir.display());
        assert!(
            o.message.contains(needle),
            "{}: {}",
            dir.display(),
            o.message
        );
        assert!(
            Duration::from_millis(o.ms) < Duration::from_secs(5),
            "{}: took {} ms",
            dir.display(),
            o.ms
        );
        assert!(
            o.rise_kib < max_rise_mib * 1024,
            "{}: peak memory rose by {} KiB",
            dir.display(),
            o.rise_kib
        );
        println!(
            "{}: refused in {} ms, peak +{} KiB: {}",
            dir.display(),
            o.ms,
            o.rise_kib,
            o.message
        );
        o
    }

    /// kubectl must reject the tree as well (skipped without kubectl).
    fn kubectl_fails_too(dir: &Path) {
        if !Path::new(KUBECTL).is_file() {
            println!("skipping the kubectl check: {KUBECTL} not found");
            return;
        }
        let out = Command::new(KUBECTL)
            .arg("kustomize")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "kubectl kustomize accepted {}",
            dir.display()
        );
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";

    #[test]
    fn symlinked_file_leaving_the_root() {
        let t = TempDir::new("symlink");
        t.write("secret/creds.yaml", CM);
        t.write("app/kustomization.yaml", "resources: [link.yaml]\n");
        t.symlink("app/link.yaml", &t.0.join("secret/creds.yaml"));
        let app = t.0.join("app");
        assert_refused(&app, "is not in or below", 8);
        kubectl_fails_too(&app);
    }

    #[test]
    fn dotdot_file_leaving_the_root() {
        let t = TempDir::new("dotdot");
        t.write("outside.yaml", CM);
        t.write("app/kustomization.yaml", "resources: [../outside.yaml]\n");
        let app = t.0.join("app");
        assert_refused(&app, "is not in or below", 8);
        kubectl_fails_too(&app);
    }

    #[test]
    fn patch_file_through_a_symlinked_directory() {
        let t = TempDir::new("symdir");
        t.write("elsewhere/patch.yaml", CM);
        t.write("app/r.yaml", CM);
        t.write(
            "app/kustomization.yaml",
            "resources: [r.yaml]\npatches:\n- path: sub/patch.yaml\n",
        );
        t.symlink("app/sub", &t.0.join("elsewhere"));
        let app = t.0.join("app");
        assert_refused(&app, "is not in or below", 8);
        kubectl_fails_too(&app);
    }

    #[test]
    fn cycle_through_symlinked_directories() {
        let t = TempDir::new("cycle");
        t.write("a/kustomization.yaml", "resources: [to-b]\n");
        t.write("b/kustomization.yaml", "resources: [to-a]\n");
        t.symlink("a/to-b", &t.0.join("b"));
        t.symlink("b/to-a", &t.0.join("a"));
        let a = t.0.join("a");
        assert_refused(&a, "cycle detected", 8);
        kubectl_fails_too(&a);
    }

    #[test]
    fn fifty_megabyte_file_is_not_read() {
        let t = TempDir::new("big");
        t.write("app/kustomization.yaml", "resources: [big.yaml]\n");
        // A sparse 50 MB file: its size is known without writing the bytes.
        let f = std::fs::File::create(t.0.join("app/big.yaml")).unwrap();
        f.set_len(50 * 1024 * 1024).unwrap();
        // Refused from its size: memory must not grow by anything near 50 MB.
        assert_refused(&t.0.join("app"), "exceeds the limit", 8);
    }

    #[test]
    fn alias_bomb_stays_small() {
        let t = TempDir::new("bomb");
        let mut doc = String::from(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        for i in 1..12 {
            let p = i - 1;
            let refs = vec![format!("*a{p}"); 10].join(", ");
            doc.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
        }
        t.write("app/kustomization.yaml", "resources: [bomb.yaml]\n");
        t.write("app/bomb.yaml", doc);
        // 10^12 nodes if expanded; refused within the alias budget.
        assert_refused(&t.0.join("app"), "alias", 32);
    }

    #[test]
    fn deep_block_nesting_stays_small() {
        let t = TempDir::new("deep");
        let mut doc =
            String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n");
        for i in 0..2_000 {
            doc.push_str(&" ".repeat(2 + i));
            doc.push_str("k:\n");
        }
        t.write("app/kustomization.yaml", "resources: [deep.yaml]\n");
        t.write("app/deep.yaml", doc);
        assert_refused(&t.0.join("app"), "nesting deeper", 64);
    }
}
