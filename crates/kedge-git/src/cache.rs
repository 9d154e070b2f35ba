//! The bare-repository cache and the [`GitBackend`] it implements.
//!
//! One bare repository per normalised URL ([`RepoUrl::key`]) under
//! `<root>/repos/`, shared by every application of that repository. A fetch
//! (`git fetch --prune` of all branches, all tags and the remote `HEAD`) is
//! single-flight: callers take a ticket, and whoever holds the fetch lock
//! serves every ticket issued before its fetch started, so a burst of N
//! refresh requests costs at most two fetches and every caller sees a
//! fetch that started after it asked. After each fetch the refs are read
//! once (`git for-each-ref`, annotated tags peeled) into an immutable
//! [`RefTable`]; branch, tag and `HEAD` resolution is a map lookup, SHAs
//! and short SHAs are checked through the object reader, and results
//! (including semver picks) are cached per repository until the next fetch
//! that changes refs or an explicit [`GitCache::invalidate`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use sha2::Digest as _;

use crate::creds::{AuthEnv, Credential, CredentialStore};
use crate::error::GitError;
use crate::exec::{ExecEnv, GitCall};
use crate::objects::{ObjectInfo, ObjectReader, Tree};
use crate::revision::{Constraint, is_full_sha, is_short_sha, looks_like_constraint};
use crate::url::RepoUrl;
use crate::view::{Limits, RepoView};

/// The operations the rest of Kedge needs from Git.
pub trait GitBackend: Send + Sync {
    /// Fetches all branches and tags (single-flight per repository).
    fn fetch<'a>(&'a self, repo: &'a RepoUrl) -> BoxFuture<'a, Result<FetchOutcome, GitError>>;
    /// Resolves a branch, tag, SHA, `HEAD` or semver constraint to a commit.
    fn resolve<'a>(
        &'a self,
        repo: &'a RepoUrl,
        revision: &'a str,
        tag_prefix: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, GitError>>;
    /// A read-only view of `commit` rooted at `path`.
    fn view<'a>(
        &'a self,
        repo: &'a RepoUrl,
        commit: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, Result<RepoView, GitError>>;
    /// Paths changed between two commits.
    fn changed_paths<'a>(
        &'a self,
        repo: &'a RepoUrl,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, GitError>>;
    /// Drops cached resolutions of a repository.
    fn invalidate(&self, repo: &RepoUrl);
}

/// Configuration of a [`GitCache`].
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// Directory holding the bare repositories and scratch space.
    pub root: PathBuf,
    /// The git executable.
    pub git: PathBuf,
    /// Timeout of network operations (fetch, push).
    pub network_timeout: Duration,
    /// Timeout of local operations (ls-tree, diff, rev-parse).
    pub local_timeout: Duration,
    /// Whether `file://` repositories may be fetched (off by default: a
    /// local path names the server's own files).
    pub allow_file_protocol: bool,
    /// Size limits of views.
    pub limits: Limits,
    /// Idle cat-file processes kept per repository.
    pub readers_per_repo: usize,
    /// Parsed trees kept per repository.
    pub trees_per_repo: usize,
    /// Materialised snapshots kept on disk (all repositories together);
    /// beyond this the least recently used ones that nobody holds are
    /// removed.
    pub max_snapshots: usize,
    /// A snapshot used more recently than this is never removed, even when
    /// no [`crate::Snapshot`] lease holds it (callers of
    /// [`GitCache::materialize`] hold only a path).
    pub snapshot_min_idle: Duration,
}

impl CacheConfig {
    /// Defaults under `root`: 120 s network and 60 s local timeouts, file
    /// protocol off, 4 readers and 16 trees per repository, 64 snapshots
    /// kept, each for at least 10 minutes after its last use.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            git: PathBuf::from("git"),
            network_timeout: Duration::from_secs(120),
            local_timeout: Duration::from_secs(60),
            allow_file_protocol: false,
            limits: Limits::default(),
            readers_per_repo: 4,
            trees_per_repo: 16,
            max_snapshots: 64,
            snapshot_min_idle: Duration::from_secs(600),
        }
    }
}

/// Refs of a repository after a fetch, annotated tags peeled to commits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefTable {
    /// Branch name → commit.
    pub heads: BTreeMap<String, String>,
    /// Tag name → commit (peeled).
    pub tags: BTreeMap<String, String>,
    /// Commit of the remote `HEAD`.
    pub head: Option<String>,
}

/// A ref that a fetch created, moved or deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    /// Full ref name (`refs/heads/main`, `refs/tags/v1`, `HEAD`).
    pub name: String,
    /// Commit before the fetch (`None`: created).
    pub old: Option<String>,
    /// Commit after the fetch (`None`: deleted).
    pub new: Option<String>,
}

/// What a fetch did.
#[derive(Clone, Debug)]
pub struct FetchOutcome {
    /// Refs after the fetch.
    pub refs: Arc<RefTable>,
    /// Refs that changed.
    pub updates: Vec<RefUpdate>,
}

#[derive(Default)]
struct FetchSlot {
    /// Every ticket up to this one is served by `last`.
    served_through: u64,
    last: Option<Result<FetchOutcome, GitError>>,
}

struct CachedRepo {
    url: RepoUrl,
    label: String,
    dir: PathBuf,
    init: tokio::sync::OnceCell<()>,
    tickets: AtomicU64,
    fetch: tokio::sync::Mutex<FetchSlot>,
    refs: RwLock<Option<Arc<RefTable>>>,
    resolved: Mutex<HashMap<(String, Option<String>), String>>,
    trees: Mutex<VecDeque<Arc<Tree>>>,
    tree_loads: tokio::sync::Mutex<()>,
    objects: Arc<ObjectReader>,
}

/// The repository cache: a [`GitBackend`] over the git CLI.
pub struct GitCache {
    cfg: CacheConfig,
    env: ExecEnv,
    askpass: PathBuf,
    scratch: PathBuf,
    credentials: RwLock<CredentialStore>,
    repos: Mutex<HashMap<String, Arc<CachedRepo>>>,
    pub(crate) snapshots: Mutex<crate::snapshot::SnapshotIndex>,
}

impl std::fmt::Debug for GitCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCache")
            .field("root", &self.cfg.root)
            .finish()
    }
}

impl GitCache {
    /// Opens (creating) a cache under `cfg.root`.
    pub fn new(cfg: CacheConfig, credentials: CredentialStore) -> Result<Self, GitError> {
        use std::os::unix::fs::PermissionsExt as _;
        let home = cfg.root.join("home");
        let scratch = cfg.root.join("scratch");
        for d in [
            &cfg.root.join("repos"),
            &home,
            &scratch,
            &cfg.root.join("worktrees"),
        ] {
            std::fs::create_dir_all(d).map_err(|e| GitError::io(d, e))?;
        }
        for d in [&home, &scratch] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| GitError::io(d, e))?;
        }
        let askpass = crate::creds::install_askpass(&home)?;
        let env = ExecEnv {
            git: cfg.git.clone(),
            home,
            allow_file_protocol: cfg.allow_file_protocol,
            spawns: Arc::new(AtomicU64::new(0)),
        };
        Ok(Self {
            cfg,
            env,
            askpass,
            scratch,
            credentials: RwLock::new(credentials),
            repos: Mutex::new(HashMap::new()),
            snapshots: Mutex::new(Default::default()),
        })
    }

    /// Number of git processes this cache has started.
    pub fn git_processes_spawned(&self) -> u64 {
        self.env.spawns.load(Ordering::Relaxed)
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.cfg
    }

    /// Adds or replaces a credential for a URL prefix.
    pub fn set_credential(&self, url_prefix: &str, credential: Credential) -> Result<(), GitError> {
        self.credentials
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(url_prefix, credential)
    }

    pub(crate) fn exec(&self) -> &ExecEnv {
        &self.env
    }

    pub(crate) fn worktree_root(&self) -> PathBuf {
        self.cfg.root.join("worktrees")
    }

    pub(crate) fn auth_env(&self, url: &RepoUrl) -> Result<AuthEnv, GitError> {
        let store = self.credentials.read().unwrap_or_else(|e| e.into_inner());
        let cred = store.lookup(url);
        AuthEnv::prepare(
            url,
            cred.as_ref(),
            store.default_known_hosts.as_deref(),
            &self.scratch,
            &self.askpass,
        )
    }

    fn repo(&self, url: &RepoUrl) -> Arc<CachedRepo> {
        let key = url.key();
        let mut repos = self.repos.lock().unwrap_or_else(|e| e.into_inner());
        repos
            .entry(key.clone())
            .or_insert_with(|| {
                let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
                let readable: String = url
                    .identity()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .take(60)
                    .collect();
                let dir = self
                    .cfg
                    .root
                    .join("repos")
                    .join(format!("{readable}-{}.git", &digest[..16]));
                let label = url.fetch_url().to_owned();
                Arc::new(CachedRepo {
                    url: url.clone(),
                    objects: Arc::new(ObjectReader::new(
                        self.env.clone(),
                        dir.clone(),
                        label.clone(),
                        self.cfg.readers_per_repo,
                    )),
                    label,
                    dir,
                    init: tokio::sync::OnceCell::new(),
                    tickets: AtomicU64::new(0),
                    fetch: tokio::sync::Mutex::new(FetchSlot::default()),
                    refs: RwLock::new(None),
                    resolved: Mutex::new(HashMap::new()),
                    trees: Mutex::new(VecDeque::new()),
                    tree_loads: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// The bare repository directory of `url` (created on first fetch).
    pub fn repo_dir(&self, url: &RepoUrl) -> PathBuf {
        self.repo(url).dir.clone()
    }

    async fn ensure_init(&self, repo: &CachedRepo) -> Result<(), GitError> {
        repo.init
            .get_or_try_init(|| async {
                if repo.dir.join("HEAD").exists() {
                    return Ok(());
                }
                // Initialise under a temporary name and rename, so a crash
                // never leaves a half-made repository under the real name.
                let tmp = repo
                    .dir
                    .with_extension(format!("init-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&tmp);
                let tmp_s = tmp.display().to_string();
                self.env
                    .run_ok(GitCall::new(
                        &repo.label,
                        ["init", "--bare", "-q", &tmp_s],
                        self.cfg.local_timeout,
                    ))
                    .await?;
                std::fs::rename(&tmp, &repo.dir).map_err(|e| GitError::io(&repo.dir, e))?;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Fetches `url` (single-flight) and returns what changed.
    pub async fn fetch_repo(&self, url: &RepoUrl) -> Result<FetchOutcome, GitError> {
        let repo = self.repo(url);
        let ticket = repo.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let mut slot = repo.fetch.lock().await;
        if slot.served_through >= ticket
            && let Some(last) = &slot.last
        {
            return last.clone();
        }
        // Every ticket issued so far is served by the fetch starting now.
        let serves = repo.tickets.load(Ordering::SeqCst);
        let result = self.do_fetch(&repo, url).await;
        slot.served_through = serves;
        slot.last = Some(result.clone());
        result
    }

    async fn do_fetch(&self, repo: &CachedRepo, url: &RepoUrl) -> Result<FetchOutcome, GitError> {
        self.ensure_init(repo).await?;
        // The caller's URL: userinfo given with it applies to this fetch.
        let auth = self.auth_env(url)?;
        let args = [
            "fetch",
            "--prune",
            "--force",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--quiet",
            "--",
            repo.url.fetch_url(),
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
            "+HEAD:refs/kedge/HEAD",
        ];
        let call = GitCall::new(&repo.label, args, self.cfg.network_timeout)
            .git_dir(&repo.dir)
            .envs(&auth.vars);
        let out = self.env.run(call).await?;
        if !out.success() {
            // An empty remote has no HEAD: retry without it.
            if out.stderr.contains("couldn't find remote ref HEAD") {
                let call = GitCall::new(
                    &repo.label,
                    &args[..args.len() - 1],
                    self.cfg.network_timeout,
                )
                .git_dir(&repo.dir)
                .envs(&auth.vars);
                self.env.run_ok(call).await?;
            } else {
                return Err(GitError::Command {
                    repo: crate::redact::scrub(&repo.label),
                    command: "fetch".into(),
                    code: out.code,
                    stderr: out.stderr,
                });
            }
        }
        drop(auth);
        let refs = Arc::new(self.read_refs(repo).await?);
        let old = repo.refs.read().unwrap_or_else(|e| e.into_inner()).clone();
        let updates = diff_refs(old.as_deref(), &refs);
        if !updates.is_empty() || old.is_none() {
            repo.resolved
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
        *repo.refs.write().unwrap_or_else(|e| e.into_inner()) = Some(refs.clone());
        Ok(FetchOutcome { refs, updates })
    }

    async fn read_refs(&self, repo: &CachedRepo) -> Result<RefTable, GitError> {
        let call = GitCall::new(
            &repo.label,
            [
                "for-each-ref",
                "--format=%(objectname) %(*objectname) %(refname)",
            ],
            self.cfg.local_timeout,
        )
        .git_dir(&repo.dir);
        let out = self.env.run_ok(call).await?;
        let mut table = RefTable::default();
        for line in String::from_utf8_lossy(&out).lines() {
            let mut f = line.splitn(3, ' ');
            let (Some(oid), Some(peeled), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let commit = if peeled.is_empty() { oid } else { peeled }.to_owned();
            if let Some(b) = name.strip_prefix("refs/heads/") {
                table.heads.insert(b.to_owned(), commit);
            } else if let Some(t) = name.strip_prefix("refs/tags/") {
                table.tags.insert(t.to_owned(), commit);
            } else if name == "refs/kedge/HEAD" {
                table.head = Some(commit);
            }
        }
        Ok(table)
    }

    /// The refs from the last fetch, fetching first if there was none.
    pub async fn refs(&self, url: &RepoUrl) -> Result<Arc<RefTable>, GitError> {
        let repo = self.repo(url);
        if let Some(r) = repo.refs.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(r);
        }
        Ok(self.fetch_repo(url).await?.refs)
    }

    /// Drops cached resolutions and parsed trees of `url`.
    pub fn invalidate_repo(&self, url: &RepoUrl) {
        let repo = self.repo(url);
        repo.resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Resolves a revision to a commit SHA; see [`GitBackend::resolve`].
    pub async fn resolve_revision(
        &self,
        url: &RepoUrl,
        revision: &str,
        tag_prefix: Option<&str>,
    ) -> Result<String, GitError> {
        let repo = self.repo(url);
        let key = (revision.to_owned(), tag_prefix.map(str::to_owned));
        if let Some(sha) = repo
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(sha.clone());
        }
        let refs = self.refs(url).await?;
        let sha = match self.resolve_in(&repo, &refs, revision, tag_prefix).await? {
            Some(sha) => sha,
            None if is_short_sha(revision) => {
                // A commit newer than the last fetch: fetch once and retry.
                let refs = self.fetch_repo(url).await?.refs;
                self.resolve_in(&repo, &refs, revision, tag_prefix)
                    .await?
                    .ok_or_else(|| not_found(&repo, revision))?
            }
            None => return Err(not_found(&repo, revision)),
        };
        repo.resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, sha.clone());
        Ok(sha)
    }

    async fn resolve_in(
        &self,
        repo: &CachedRepo,
        refs: &RefTable,
        revision: &str,
        tag_prefix: Option<&str>,
    ) -> Result<Option<String>, GitError> {
        let rev = revision.trim();
        if rev.is_empty() || rev == "HEAD" {
            return Ok(refs
                .head
                .clone()
                .or_else(|| refs.heads.get("main").cloned()));
        }
        if let Some(b) = rev.strip_prefix("refs/heads/") {
            return Ok(refs.heads.get(b).cloned());
        }
        if let Some(t) = rev.strip_prefix("refs/tags/") {
            return Ok(refs.tags.get(t).cloned());
        }
        if let Some(sha) = refs.heads.get(rev).or_else(|| refs.tags.get(rev)) {
            return Ok(Some(sha.clone()));
        }
        if is_full_sha(rev) || is_short_sha(rev) {
            // The object reader blocks on a pipe: keep it off the runtime.
            let objects = repo.objects.clone();
            let expr = format!("{rev}^{{commit}}");
            let info = tokio::task::spawn_blocking(move || objects.info(&expr))
                .await
                .map_err(|e| GitError::Protocol {
                    command: "cat-file".into(),
                    message: e.to_string(),
                })??;
            return match info {
                ObjectInfo::Found { oid, kind, .. } if kind == "commit" => Ok(Some(oid)),
                ObjectInfo::Ambiguous => Err(GitError::AmbiguousRevision {
                    repo: crate::redact::scrub(&repo.label),
                    revision: rev.to_owned(),
                }),
                _ => Ok(None),
            };
        }
        if looks_like_constraint(rev) {
            let constraint = Constraint::parse(rev.strip_prefix('v').unwrap_or(rev))?;
            return Ok(constraint
                .best_tag(refs.tags.keys().map(String::as_str), tag_prefix)
                .and_then(|(tag, _)| refs.tags.get(tag).cloned()));
        }
        Ok(None)
    }

    /// The parsed tree of `commit`, cached per repository.
    pub async fn tree(&self, url: &RepoUrl, commit: &str) -> Result<Arc<Tree>, GitError> {
        let repo = self.repo(url);
        if !is_full_sha(commit) {
            return Err(GitError::RevisionNotFound {
                repo: crate::redact::scrub(&repo.label),
                revision: commit.to_owned(),
            });
        }
        if let Some(t) = find_tree(&repo, commit) {
            return Ok(t);
        }
        // One ls-tree per commit even when many renders ask at once.
        let _guard = repo.tree_loads.lock().await;
        if let Some(t) = find_tree(&repo, commit) {
            return Ok(t);
        }
        self.ensure_init(&repo).await?;
        let call = GitCall::new(
            &repo.label,
            ["ls-tree", "-r", "-t", "-l", "-z", "--full-tree", commit],
            self.cfg.local_timeout,
        )
        .git_dir(&repo.dir)
        .stdout_limit(512 * 1024 * 1024);
        let mut out = self.env.run(call).await?;
        if !out.success() {
            // Not in the cache yet (never fetched, or newer than the last
            // fetch): fetch once and retry.
            self.fetch_repo(url).await?;
            let call = GitCall::new(
                &repo.label,
                ["ls-tree", "-r", "-t", "-l", "-z", "--full-tree", commit],
                self.cfg.local_timeout,
            )
            .git_dir(&repo.dir)
            .stdout_limit(512 * 1024 * 1024);
            out = self.env.run(call).await?;
            if !out.success() {
                return Err(GitError::RevisionNotFound {
                    repo: crate::redact::scrub(&repo.label),
                    revision: commit.to_owned(),
                });
            }
        }
        let tree = Arc::new(Tree::parse(commit, &out.stdout)?);
        let mut trees = repo.trees.lock().unwrap_or_else(|e| e.into_inner());
        trees.push_front(tree.clone());
        trees.truncate(self.cfg.trees_per_repo.max(1));
        Ok(tree)
    }

    /// A filesystem view of `commit` rooted at `path`.
    pub async fn open_view(
        &self,
        url: &RepoUrl,
        commit: &str,
        path: &str,
    ) -> Result<RepoView, GitError> {
        let repo = self.repo(url);
        let tree = self.tree(url, commit).await?;
        let objects = repo.objects.clone();
        let label = crate::redact::scrub(&repo.label);
        let limits = self.cfg.limits;
        let path = path.to_owned();
        // Resolving the base may read symlink targets (blocking pipe IO).
        tokio::task::spawn_blocking(move || RepoView::new(label, tree, objects, &path, limits))
            .await
            .map_err(|e| GitError::Protocol {
                command: "view".into(),
                message: e.to_string(),
            })?
    }

    /// Paths changed between two commits (`git diff --name-only`, renames
    /// reported as a deletion and an addition).
    pub async fn diff_paths(
        &self,
        url: &RepoUrl,
        from: &str,
        to: &str,
    ) -> Result<Vec<String>, GitError> {
        let repo = self.repo(url);
        for c in [from, to] {
            if !is_full_sha(c) {
                return Err(GitError::RevisionNotFound {
                    repo: crate::redact::scrub(&repo.label),
                    revision: c.to_owned(),
                });
            }
        }
        let call = GitCall::new(
            &repo.label,
            [
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
                "--no-textconv",
                from,
                to,
            ],
            self.cfg.local_timeout,
        )
        .git_dir(&repo.dir);
        let out = self.env.run_ok(call).await?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    pub(crate) fn repo_label_dir(&self, url: &RepoUrl) -> (String, PathBuf) {
        let r = self.repo(url);
        (r.label.clone(), r.dir.clone())
    }

    pub(crate) async fn init_repo(&self, url: &RepoUrl) -> Result<(), GitError> {
        let r = self.repo(url);
        self.ensure_init(&r).await
    }
}

fn find_tree(repo: &CachedRepo, commit: &str) -> Option<Arc<Tree>> {
    repo.trees
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|t| t.commit() == commit)
        .cloned()
}

fn not_found(repo: &CachedRepo, revision: &str) -> GitError {
    GitError::RevisionNotFound {
        repo: crate::redact::scrub(&repo.label),
        revision: revision.to_owned(),
    }
}

fn diff_refs(old: Option<&RefTable>, new: &RefTable) -> Vec<RefUpdate> {
    let empty = RefTable::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    let mut cmp = |prefix: &str, a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| {
        for (name, new_sha) in b {
            if a.get(name) != Some(new_sha) {
                out.push(RefUpdate {
                    name: format!("{prefix}{name}"),
                    old: a.get(name).cloned(),
                    new: Some(new_sha.clone()),
                });
            }
        }
        for (name, old_sha) in a {
            if !b.contains_key(name) {
                out.push(RefUpdate {
                    name: format!("{prefix}{name}"),
                    old: Some(old_sha.clone()),
                    new: None,
                });
            }
        }
    };
    cmp("refs/heads/", &old.heads, &new.heads);
    cmp("refs/tags/", &old.tags, &new.tags);
    if old.head != new.head {
        out.push(RefUpdate {
            name: "HEAD".into(),
            old: old.head.clone(),
            new: new.head.clone(),
        });
    }
    out
}

impl GitBackend for GitCache {
    fn fetch<'a>(&'a self, repo: &'a RepoUrl) -> BoxFuture<'a, Result<FetchOutcome, GitError>> {
        Box::pin(self.fetch_repo(repo))
    }

    fn resolve<'a>(
        &'a self,
        repo: &'a RepoUrl,
        revision: &'a str,
        tag_prefix: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, GitError>> {
        Box::pin(self.resolve_revision(repo, revision, tag_prefix))
    }

    fn view<'a>(
        &'a self,
        repo: &'a RepoUrl,
        commit: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, Result<RepoView, GitError>> {
        Box::pin(self.open_view(repo, commit, path))
    }

    fn changed_paths<'a>(
        &'a self,
        repo: &'a RepoUrl,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, GitError>> {
        Box::pin(self.diff_paths(repo, from, to))
    }

    fn invalidate(&self, repo: &RepoUrl) {
        self.invalidate_repo(repo);
    }
}
