//! The bundled example runtime repo and its local Git repository.
//!
//! The files of `examples/guestbook` are compiled into the binary
//! (`include_str!`), so `kedge up` needs nothing but itself. On the first
//! run they are written into a scratch directory beside the destination,
//! committed once with a fixed author (the user's Git configuration, hooks
//! and signing settings are not consulted) and the directory is then
//! renamed into place: a crash half-way leaves no half-made repository, and
//! an existing repository is never touched, so edits and commits a user made
//! survive every restart.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Name of the example and of its repository directory.
pub(crate) const NAME: &str = "guestbook";

/// The files of the example, relative to its root.
pub(crate) const FILES: &[(&str, &str)] = &[
    (
        "README.md",
        include_str!("../../../../../examples/guestbook/README.md"),
    ),
    (
        "base/kustomization.yaml",
        include_str!("../../../../../examples/guestbook/base/kustomization.yaml"),
    ),
    (
        "base/deployment.yaml",
        include_str!("../../../../../examples/guestbook/base/deployment.yaml"),
    ),
    (
        "base/service.yaml",
        include_str!("../../../../../examples/guestbook/base/service.yaml"),
    ),
    (
        "base/configmap.yaml",
        include_str!("../../../../../examples/guestbook/base/configmap.yaml"),
    ),
    (
        "overlays/dev/kustomization.yaml",
        include_str!("../../../../../examples/guestbook/overlays/dev/kustomization.yaml"),
    ),
    (
        "overlays/prod/kustomization.yaml",
        include_str!("../../../../../examples/guestbook/overlays/prod/kustomization.yaml"),
    ),
    (
        "overlays/prod/resources.yaml",
        include_str!("../../../../../examples/guestbook/overlays/prod/resources.yaml"),
    ),
];

/// Author and committer of the initial commit.
const AUTHOR_NAME: &str = "Kedge";
const AUTHOR_EMAIL: &str = "kedge@localhost";

/// What [`ensure_repo`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RepoState {
    /// The repository was created with one commit.
    Created { commit: String },
    /// A repository was already there and was left as it is.
    Existing { head: Option<String> },
}

/// Creates the example repository at `dir` unless something is already there.
pub(crate) fn ensure_repo(dir: &Path) -> anyhow::Result<RepoState> {
    if dir.exists() {
        let head = git(dir, &["rev-parse", "--verify", "-q", "HEAD"]).ok();
        return Ok(RepoState::Existing { head });
    }
    let parent = dir
        .parent()
        .with_context(|| format!("{} has no parent directory", dir.display()))?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let scratch = scratch_dir(dir);
    if scratch.exists() {
        // Left by an interrupted earlier run.
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("removing {}", scratch.display()))?;
    }
    let commit = populate(&scratch).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&scratch);
    })?;
    std::fs::rename(&scratch, dir)
        .with_context(|| format!("moving {} to {}", scratch.display(), dir.display()))?;
    Ok(RepoState::Created { commit })
}

fn scratch_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| NAME.to_string());
    dir.with_file_name(format!(".{name}.partial"))
}

fn populate(dir: &Path) -> anyhow::Result<String> {
    for (path, content) in FILES {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&file, content).with_context(|| format!("writing {}", file.display()))?;
    }
    git(dir, &["init", "-q", "-b", "main"])?;
    git(dir, &["add", "-A"])?;
    git(
        dir,
        &[
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "guestbook: base and dev/prod overlays",
        ],
    )?;
    git(dir, &["rev-parse", "HEAD"])
}

/// Runs `git` in `dir` with a fixed identity and without the user's or the
/// system's configuration.
pub(crate) fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .with_context(|| format!("running git {} (is git installed?)", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_and_never_touches_an_existing_repo() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repos").join(NAME);
        let RepoState::Created { commit } = ensure_repo(&repo).unwrap() else {
            panic!("not created");
        };
        assert_eq!(git(&repo, &["rev-list", "--count", "HEAD"]).unwrap(), "1");
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]).unwrap(), commit);
        assert_eq!(git(&repo, &["status", "--porcelain"]).unwrap(), "");
        let files = git(&repo, &["ls-files"]).unwrap();
        assert_eq!(files.lines().count(), FILES.len());
        assert!(!scratch_dir(&repo).exists());

        // A local edit and commit survive the next run.
        std::fs::write(repo.join("NOTES"), "mine\n").unwrap();
        git(&repo, &["add", "NOTES"]).unwrap();
        git(&repo, &["commit", "-q", "-m", "notes"]).unwrap();
        let head = git(&repo, &["rev-parse", "HEAD"]).unwrap();
        assert_eq!(
            ensure_repo(&repo).unwrap(),
            RepoState::Existing {
                head: Some(head.clone())
            }
        );
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]).unwrap(), head);
        assert_eq!(
            std::fs::read_to_string(repo.join("NOTES")).unwrap(),
            "mine\n"
        );
    }

    #[test]
    fn a_leftover_scratch_directory_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join(NAME);
        let scratch = scratch_dir(&repo);
        std::fs::create_dir_all(scratch.join("junk")).unwrap();
        assert!(matches!(
            ensure_repo(&repo).unwrap(),
            RepoState::Created { .. }
        ));
        assert!(!scratch.exists());
        assert!(!repo.join("junk").exists());
        assert!(repo.join("overlays/dev/kustomization.yaml").is_file());
    }
}
