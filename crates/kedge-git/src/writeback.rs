//! Write-back: committing a change to a branch and pushing it, for image
//! promotion and similar automation.
//!
//! Each write-back gets a fresh worktree of the cached bare repository,
//! detached at the branch tip, writes the requested files (paths are
//! normalised and refused when they climb out or pass through a symlink),
//! commits under a clean identity (`Kedge <kedge@localhost>` unless
//! configured; hooks and signing are off) and pushes `HEAD` to the branch
//! without force. A non-fast-forward rejection is handled by fetching the
//! branch and rebasing the one commit onto it, a bounded number of times;
//! a rebase conflict aborts with an error. The worktree is removed however
//! the write-back ends.

use std::path::{Component, Path, PathBuf};

use crate::cache::GitCache;
use crate::error::GitError;
use crate::exec::GitCall;
use crate::url::RepoUrl;

/// The identity commits are made under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitAuthor {
    /// Author and committer name.
    pub name: String,
    /// Author and committer email.
    pub email: String,
}

impl Default for CommitAuthor {
    fn default() -> Self {
        Self {
            name: "Kedge".into(),
            email: "kedge@localhost".into(),
        }
    }
}

/// One file change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// Create or overwrite a file.
    Write {
        /// Repository-relative path.
        path: String,
        /// New content.
        content: Vec<u8>,
    },
    /// Delete a file.
    Delete {
        /// Repository-relative path.
        path: String,
    },
}

/// A commit to make and push.
#[derive(Clone, Debug)]
pub struct WriteBackRequest {
    /// Branch to commit to (must exist).
    pub branch: String,
    /// Commit message.
    pub message: String,
    /// Changes to apply.
    pub changes: Vec<FileChange>,
    /// Commit identity.
    pub author: CommitAuthor,
    /// Rebase-and-retry rounds after a non-fast-forward rejection.
    pub max_retries: usize,
}

impl WriteBackRequest {
    /// A request with the default identity and 3 retries.
    pub fn new(
        branch: impl Into<String>,
        message: impl Into<String>,
        changes: Vec<FileChange>,
    ) -> Self {
        Self {
            branch: branch.into(),
            message: message.into(),
            changes,
            author: CommitAuthor::default(),
            max_retries: 3,
        }
    }
}

/// What a write-back did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteBackOutcome {
    /// A commit was pushed after `attempts` push attempts.
    Pushed { commit: String, attempts: usize },
    /// The changes were already in the branch; nothing was pushed.
    Unchanged { commit: String },
}

struct Worktree<'a> {
    cache: &'a GitCache,
    git_dir: PathBuf,
    label: String,
    dir: PathBuf,
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        // Synchronous cleanup: remove the directory, then let git forget it
        // on its next `worktree prune` (run at the start of each write-back).
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = &self.label;
        let _ = &self.cache;
        let _ = &self.git_dir;
    }
}

impl GitCache {
    /// Commits `req.changes` on `req.branch` of `url` and pushes them.
    pub async fn write_back(
        &self,
        url: &RepoUrl,
        req: &WriteBackRequest,
    ) -> Result<WriteBackOutcome, GitError> {
        let push_err = |reason: String| GitError::Push {
            repo: crate::redact::scrub(url.fetch_url()),
            branch: req.branch.clone(),
            reason,
        };
        if req.branch.is_empty() || req.branch.starts_with('-') || req.branch.contains("..") {
            return Err(push_err("invalid branch name".into()));
        }
        let paths: Vec<PathBuf> = req
            .changes
            .iter()
            .map(|c| match c {
                FileChange::Write { path, .. } | FileChange::Delete { path } => safe_relative(path),
            })
            .collect::<Result<_, _>>()?;
        self.init_repo(url).await?;
        let refs = self.fetch_repo(url).await?.refs;
        let tip = refs
            .heads
            .get(&req.branch)
            .cloned()
            .ok_or_else(|| push_err("branch does not exist".into()))?;
        let (label, git_dir) = self.repo_label_dir(url);
        let t = self.config().local_timeout;
        let env = self.exec();
        env.run_ok(GitCall::new(&label, ["worktree", "prune"], t).git_dir(&git_dir))
            .await?;
        let dir = tempfile::Builder::new()
            .prefix("wb-")
            .tempdir_in(self.worktree_root())
            .map_err(|e| GitError::io(self.worktree_root(), e))?
            .keep();
        std::fs::remove_dir(&dir).map_err(|e| GitError::io(&dir, e))?;
        let wt = Worktree {
            cache: self,
            git_dir: git_dir.clone(),
            label: label.clone(),
            dir: dir.clone(),
        };
        let dir_s = dir.display().to_string();
        env.run_ok(
            GitCall::new(
                &label,
                ["worktree", "add", "--detach", "-q", &dir_s, &tip],
                t,
            )
            .git_dir(&git_dir),
        )
        .await?;
        for (change, rel) in req.changes.iter().zip(&paths) {
            let target = wt.dir.join(rel);
            refuse_symlinks(&wt.dir, rel)?;
            match change {
                FileChange::Write { content, .. } => {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| GitError::io(parent, e))?;
                    }
                    std::fs::write(&target, content).map_err(|e| GitError::io(&target, e))?;
                }
                FileChange::Delete { .. } => match std::fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(GitError::io(&target, e)),
                },
            }
        }
        let ident = vec![
            ("GIT_AUTHOR_NAME".to_owned(), req.author.name.clone()),
            ("GIT_AUTHOR_EMAIL".to_owned(), req.author.email.clone()),
            ("GIT_COMMITTER_NAME".to_owned(), req.author.name.clone()),
            ("GIT_COMMITTER_EMAIL".to_owned(), req.author.email.clone()),
        ];
        let mut add: Vec<String> = vec!["add".into(), "-A".into(), "--".into()];
        add.extend(paths.iter().map(|p| p.display().to_string()));
        env.run_ok(GitCall::new(&label, add, t).cwd(&wt.dir))
            .await?;
        let staged = env
            .run(GitCall::new(&label, ["diff", "--cached", "--quiet"], t).cwd(&wt.dir))
            .await?;
        if staged.success() {
            return Ok(WriteBackOutcome::Unchanged { commit: tip });
        }
        env.run_ok(
            GitCall::new(
                &label,
                [
                    "-c",
                    "commit.gpgSign=false",
                    "commit",
                    "-q",
                    "--no-verify",
                    "-m",
                    &req.message,
                ],
                t,
            )
            .cwd(&wt.dir)
            .envs(&ident),
        )
        .await?;
        let refspec = format!("HEAD:refs/heads/{}", req.branch);
        let mut attempts = 0usize;
        loop {
            attempts += 1;
            let auth = self.auth_env(url)?;
            let out = env
                .run(
                    GitCall::new(
                        &label,
                        [
                            "push",
                            "--porcelain",
                            "--no-verify",
                            "--",
                            url.fetch_url(),
                            &refspec,
                        ],
                        self.config().network_timeout,
                    )
                    .cwd(&wt.dir)
                    .envs(&auth.vars),
                )
                .await?;
            drop(auth);
            if out.success() {
                let head = env
                    .run_ok(GitCall::new(&label, ["rev-parse", "HEAD"], t).cwd(&wt.dir))
                    .await?;
                let commit = String::from_utf8_lossy(&head).trim().to_owned();
                // Bring the cache up to date with what was just pushed.
                let _ = self.fetch_repo(url).await;
                return Ok(WriteBackOutcome::Pushed { commit, attempts });
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            let rejected = stdout.contains("[rejected]")
                || stdout.contains("non-fast-forward")
                || out.stderr.contains("non-fast-forward")
                || out.stderr.contains("fetch first");
            if !rejected {
                return Err(push_err(out.stderr));
            }
            if attempts > req.max_retries {
                return Err(push_err(format!(
                    "still rejected as non-fast-forward after {attempts} attempts"
                )));
            }
            tracing::info!(repo = %url, branch = %req.branch, attempts, "push rejected, rebasing onto the new tip");
            let refs = self.fetch_repo(url).await?.refs;
            let new_tip = refs
                .heads
                .get(&req.branch)
                .cloned()
                .ok_or_else(|| push_err("branch was deleted".into()))?;
            let rebase = env
                .run(
                    GitCall::new(&label, ["rebase", "-q", &new_tip], t)
                        .cwd(&wt.dir)
                        .envs(&ident),
                )
                .await?;
            if !rebase.success() {
                let _ = env
                    .run(GitCall::new(&label, ["rebase", "--abort"], t).cwd(&wt.dir))
                    .await;
                return Err(push_err(format!(
                    "rebase onto {new_tip} conflicted: {}",
                    rebase.stderr
                )));
            }
        }
    }
}

/// Normalises a repository-relative path; refuses absolute paths, `..`
/// and the `.git` directory.
fn safe_relative(path: &str) -> Result<PathBuf, GitError> {
    let refuse = |reason: &str| GitError::OutsideRepository {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => {
                if n == ".git" {
                    return Err(refuse("writes into .git are refused"));
                }
                out.push(n);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("'..' is refused in write-back paths")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("absolute paths are refused"));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(refuse("empty path"));
    }
    Ok(out)
}

/// Refuses a path whose existing components include a symlink.
fn refuse_symlinks(root: &Path, rel: &Path) -> Result<(), GitError> {
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(GitError::OutsideRepository {
                    path: rel.display().to_string(),
                    reason: "write-back through a symlink is refused".into(),
                });
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}
