//! Rendering straight from a commit: `ViewFileSystem` under the Kustomize
//! renderer gives byte for byte what `kubectl kustomize` prints for a real
//! checkout of the same commit, and keeps refusing what leaves the
//! repository.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};
use kedge_git::{GitBackend as _, RepoUrl, ViewFileSystem};
use kedge_kustomize::{FileSystem as _, Kustomizer};

use crate::support::{Upstream, cache, git};

const KUBECTL: &str = "/usr/bin/kubectl";

fn kubectl_kustomize(dir: &Path) -> Result<String> {
    let out = Command::new(KUBECTL).arg("kustomize").arg(dir).output()?;
    if !out.status.success() {
        bail!(
            "kubectl kustomize {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

const BASE_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: example.com/api:1.0
        envFrom:
        - configMapRef:
            name: settings
";

const BASE_SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector:
    app: api
  ports:
  - port: 80
    targetPort: 8080
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlay_renders_from_the_view_like_kubectl_kustomize() -> Result<()> {
    if !Path::new(KUBECTL).exists() {
        println!("skipping: {KUBECTL} not installed");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "render")?;
    let files = [
        ("base/deployment.yaml", BASE_DEPLOYMENT),
        ("base/service.yaml", BASE_SERVICE),
        (
            "base/kustomization.yaml",
            "resources:\n- deployment.yaml\n- service.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - LOG=info\n",
        ),
        (
            "apps/prod/kustomization.yaml",
            "namePrefix: prod-\nnamespace: prod\nlabels:\n- pairs:\n    tier: web\n  includeSelectors: true\nresources:\n- base\nimages:\n- name: example.com/api\n  newTag: \"2.1\"\nreplicas:\n- name: api\n  count: 3\nconfigMapGenerator:\n- name: settings\n  behavior: merge\n  files:\n  - app.properties\npatches:\n- path: patch.yaml\n",
        ),
        // A symlinked base inside the repository (outside the app path).
        ("apps/prod/base", "->../../base"),
        ("apps/prod/app.properties", "color=blue\nsize=large\n"),
        (
            "apps/prod/patch.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        resources:\n          limits:\n            memory: 256Mi\n",
        ),
    ];
    let sha = up.commit(&files, "overlay")?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    let fs = ViewFileSystem::new(c.view(&url, &sha, "apps/prod").await?);
    assert_eq!(fs.app_dir(), Path::new("/apps/prod"));
    let ours = Kustomizer::new().build(&fs, &fs.app_dir())?.to_yaml();
    assert!(fs.view().bytes_read() > 0);

    let checkout = tmp.path().join("checkout");
    git(
        tmp.path(),
        &["clone", "-q", &up.file_url(), checkout.to_str().unwrap()],
    )?;
    assert_eq!(git(&checkout, &["rev-parse", "HEAD"])?, sha);
    let theirs = kubectl_kustomize(&checkout.join("apps/prod"))?;
    assert_eq!(ours, theirs);
    assert!(ours.contains("prod-settings-"), "{ours}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_refuses_links_out_of_the_repository() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "evil-render")?;
    let sha = up.commit(
        &[
            (
                "apps/evil/kustomization.yaml",
                "resources:\n- passwd.yaml\n",
            ),
            ("apps/evil/passwd.yaml", "->/etc/passwd"),
            ("apps/climb/kustomization.yaml", "resources:\n- outside\n"),
            ("apps/climb/outside", "->../../.."),
        ],
        "hostile",
    )?;
    let c = cache(tmp.path())?;
    let url = RepoUrl::parse(&up.file_url())?;
    for (app, needle) in [("apps/evil", "passwd.yaml"), ("apps/climb", "outside")] {
        let fs = ViewFileSystem::new(c.view(&url, &sha, app).await?);
        let err = Kustomizer::new()
            .build(&fs, &fs.app_dir())
            .expect_err("a link out of the repository must not render")
            .to_string();
        assert!(err.contains(needle), "{app}: {err}");
        assert!(!err.contains("root:x:0:0"), "{app}: {err}");
        // The adapter itself reports the refusal as a permission error.
        let e = fs
            .read(&fs.app_dir().join(needle))
            .expect_err("refused read");
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    }
    Ok(())
}
