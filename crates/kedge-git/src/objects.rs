//! Reading trees and blobs at a commit without a checkout.
//!
//! A [`Tree`] is the full listing of one commit (`git ls-tree -r -t -l -z`),
//! parsed once and shared immutably (`Arc`) by every render of that commit;
//! it carries each blob's size, so size limits are enforced before any
//! content is read. Blob contents come from a small per-repository pool of
//! long-lived `git cat-file --batch-command` processes: a read borrows one
//! process, so reads of different commits run in parallel and no read ever
//! waits for a fetch (git re-scans its packs when an object is missing, so
//! processes started before a fetch see the new objects).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Condvar, Mutex};

use crate::error::GitError;
use crate::exec::ExecEnv;

/// What a tree entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file (mode 100644).
    File,
    /// An executable file (mode 100755).
    Executable,
    /// A symbolic link (mode 120000); its blob is the target.
    Symlink,
    /// A directory.
    Dir,
    /// A submodule (gitlink, mode 160000).
    Submodule,
}

/// One entry of a [`Tree`].
#[derive(Clone, Debug)]
pub struct Entry {
    /// Kind of entry.
    pub kind: EntryKind,
    /// Object name (blob, tree, or the submodule's commit).
    pub oid: Box<str>,
    /// Blob size in bytes (0 for trees and submodules).
    pub size: u64,
}

/// The full, immutable listing of one commit.
#[derive(Debug)]
pub struct Tree {
    commit: String,
    entries: HashMap<Box<str>, Entry>,
    children: HashMap<Box<str>, Vec<Box<str>>>,
}

impl Tree {
    /// Parses `git ls-tree -r -t -l -z` output.
    pub(crate) fn parse(commit: &str, out: &[u8]) -> Result<Self, GitError> {
        let bad = |m: String| GitError::Protocol {
            command: "ls-tree".into(),
            message: m,
        };
        let mut entries = HashMap::new();
        let mut children: BTreeMap<Box<str>, Vec<Box<str>>> = BTreeMap::new();
        children.insert("".into(), Vec::new());
        for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let tab = rec
                .iter()
                .position(|b| *b == b'\t')
                .ok_or_else(|| bad("record without a tab".into()))?;
            let meta = std::str::from_utf8(&rec[..tab]).map_err(|e| bad(e.to_string()))?;
            let path = String::from_utf8_lossy(&rec[tab + 1..]).into_owned();
            let mut f = meta.split_ascii_whitespace();
            let (mode, _ty, oid, size) = (f.next(), f.next(), f.next(), f.next());
            let (Some(mode), Some(oid), Some(size)) = (mode, oid, size) else {
                return Err(bad(format!("short record {meta:?}")));
            };
            let kind = match mode {
                "100644" | "100664" | "100600" => EntryKind::File,
                "100755" => EntryKind::Executable,
                "120000" => EntryKind::Symlink,
                "040000" => EntryKind::Dir,
                "160000" => EntryKind::Submodule,
                other => return Err(bad(format!("unknown mode {other} for {path}"))),
            };
            let size = size.parse::<u64>().unwrap_or(0);
            let (parent, name) = match path.rfind('/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => ("", path.as_str()),
            };
            children.entry(parent.into()).or_default().push(name.into());
            if kind == EntryKind::Dir {
                children.entry(path.as_str().into()).or_default();
            }
            entries.insert(
                path.into_boxed_str(),
                Entry {
                    kind,
                    oid: oid.into(),
                    size,
                },
            );
        }
        let mut children: HashMap<Box<str>, Vec<Box<str>>> = children.into_iter().collect();
        for names in children.values_mut() {
            names.sort();
        }
        Ok(Self {
            commit: commit.to_owned(),
            entries,
            children,
        })
    }

    /// The commit this tree belongs to.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// The entry at a normalised repository-relative path (`""` is the root).
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Whether `path` is a directory (`""` is the root).
    pub fn is_dir(&self, path: &str) -> bool {
        self.children.contains_key(path)
    }

    /// Sorted names directly inside directory `path`.
    pub fn children(&self, path: &str) -> Option<&[Box<str>]> {
        self.children.get(path).map(Vec::as_slice)
    }

    /// Number of entries (files, links, directories, submodules).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the commit's tree is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All paths with their entries, unordered.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }
}

/// One long-lived `git cat-file --batch-command` process.
struct CatFile {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for CatFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Information about an object, from `info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ObjectInfo {
    Found {
        oid: String,
        kind: String,
        size: u64,
    },
    Missing,
    Ambiguous,
}

/// A pool of cat-file processes for one repository.
pub(crate) struct ObjectReader {
    env: ExecEnv,
    git_dir: PathBuf,
    repo: String,
    pool: Mutex<Pool>,
    returned: Condvar,
    max: usize,
}

#[derive(Default)]
struct Pool {
    idle: Vec<CatFile>,
    /// Processes alive (idle or borrowed).
    live: usize,
}

impl ObjectReader {
    /// A pool of at most `max` processes; readers beyond that wait.
    pub(crate) fn new(env: ExecEnv, git_dir: PathBuf, repo: String, max: usize) -> Self {
        Self {
            env,
            git_dir,
            repo,
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
            max: max.max(1),
        }
    }

    fn spawn(&self) -> Result<CatFile, GitError> {
        let mut cmd = Command::new(&self.env.git);
        cmd.env_clear()
            .envs(self.env.environment())
            .env("GIT_DIR", &self.git_dir)
            .current_dir(&self.env.home)
            .args(["cat-file", "--batch-command"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| GitError::Spawn {
            command: "cat-file".into(),
            message: crate::redact::scrub(&e.to_string()),
        })?;
        self.env.count_spawn();
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout =
            BufReader::with_capacity(256 * 1024, child.stdout.take().expect("stdout is piped"));
        Ok(CatFile {
            child,
            stdin,
            stdout,
        })
    }

    fn with_process<T>(
        &self,
        f: impl FnOnce(&mut CatFile) -> Result<T, GitError>,
    ) -> Result<T, GitError> {
        let mut proc = self.borrow()?;
        let result = f(&mut proc);
        // A process is reused only after a clean exchange.
        let clean = result.is_ok() || matches!(result, Err(GitError::FileTooLarge { .. }));
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if clean {
            pool.idle.push(proc);
        } else {
            pool.live -= 1;
            drop(proc);
        }
        drop(pool);
        self.returned.notify_one();
        result
    }

    /// Takes an idle process, starts one while under the limit, or waits
    /// for one to be returned.
    fn borrow(&self) -> Result<CatFile, GitError> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(p) = pool.idle.pop() {
                return Ok(p);
            }
            if pool.live < self.max {
                pool.live += 1;
                drop(pool);
                return self.spawn().inspect_err(|_| {
                    self.pool.lock().unwrap_or_else(|e| e.into_inner()).live -= 1;
                    self.returned.notify_one();
                });
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn protocol_err(&self, m: impl std::fmt::Display) -> GitError {
        GitError::Protocol {
            command: "cat-file".into(),
            message: format!("{}: {m}", crate::redact::scrub(&self.repo)),
        }
    }

    fn header(&self, p: &mut CatFile) -> Result<ObjectInfo, GitError> {
        let mut line = String::new();
        p.stdout
            .read_line(&mut line)
            .map_err(|e| self.protocol_err(e))?;
        let line = line.trim_end();
        if line.is_empty() {
            return Err(self.protocol_err("process ended"));
        }
        if line.ends_with(" missing") {
            return Ok(ObjectInfo::Missing);
        }
        if line.ends_with(" ambiguous") {
            return Ok(ObjectInfo::Ambiguous);
        }
        let mut f = line.split(' ');
        match (
            f.next(),
            f.next(),
            f.next().and_then(|s| s.parse::<u64>().ok()),
        ) {
            (Some(oid), Some(kind), Some(size)) => Ok(ObjectInfo::Found {
                oid: oid.to_owned(),
                kind: kind.to_owned(),
                size,
            }),
            _ => Err(self.protocol_err(format!("bad header {line:?}"))),
        }
    }

    fn send(&self, p: &mut CatFile, command: &str, object: &str) -> Result<(), GitError> {
        if object.contains(['\n', '\0']) || object.starts_with('-') {
            return Err(self.protocol_err(format!("refused object name {object:?}")));
        }
        writeln!(p.stdin, "{command} {object}")
            .and_then(|_| p.stdin.flush())
            .map_err(|e| self.protocol_err(e))
    }

    /// Type and size of an object expression (`<sha>^{commit}` and friends).
    pub(crate) fn info(&self, object: &str) -> Result<ObjectInfo, GitError> {
        self.with_process(|p| {
            self.send(p, "info", object)?;
            self.header(p)
        })
    }

    /// The content of a blob, refusing objects above `limit` bytes. When
    /// the size is known from the tree listing the content is requested
    /// directly (one round trip); otherwise `info` is asked first, so an
    /// oversized blob is never streamed.
    pub(crate) fn read(
        &self,
        object: &str,
        known_size: Option<u64>,
        limit: u64,
        path: &str,
    ) -> Result<(String, Vec<u8>), GitError> {
        let too_large = |size| GitError::FileTooLarge {
            path: path.to_owned(),
            size,
            limit,
        };
        let missing = || GitError::NotFound {
            repo: crate::redact::scrub(&self.repo),
            commit: String::new(),
            path: path.to_owned(),
        };
        if let Some(size) = known_size
            && size > limit
        {
            return Err(too_large(size));
        }
        self.with_process(|p| {
            if known_size.is_none() {
                self.send(p, "info", object)?;
                match self.header(p)? {
                    ObjectInfo::Found { size, .. } if size > limit => return Err(too_large(size)),
                    ObjectInfo::Found { .. } => {}
                    _ => return Err(missing()),
                }
            }
            self.send(p, "contents", object)?;
            let (kind, size) = match self.header(p)? {
                ObjectInfo::Found { kind, size, .. } => (kind, size),
                _ => return Err(missing()),
            };
            if size > limit {
                // The listing was wrong about the size: skip the content
                // without holding it, keeping the process in sync.
                std::io::copy(&mut (&mut p.stdout).take(size + 1), &mut std::io::sink())
                    .map_err(|e| self.protocol_err(e))?;
                return Err(too_large(size));
            }
            let mut data = vec![0u8; usize::try_from(size).map_err(|e| self.protocol_err(e))?];
            p.stdout
                .read_exact(&mut data)
                .map_err(|e| self.protocol_err(e))?;
            let mut nl = [0u8; 1];
            p.stdout
                .read_exact(&mut nl)
                .map_err(|e| self.protocol_err(e))?;
            Ok((kind, data))
        })
    }

    /// Reads many blobs whose sizes are known (and already checked) in one
    /// pipelined exchange: a writer thread sends every `contents` command
    /// while this thread reads the answers in order, so a large read costs
    /// no round trip per blob.
    pub(crate) fn read_many(
        &self,
        objects: &[(&str, u64)],
        path: &str,
    ) -> Result<Vec<Vec<u8>>, GitError> {
        for (oid, _) in objects {
            if oid.contains(['\n', '\0']) || oid.starts_with('-') {
                return Err(self.protocol_err(format!("refused object name {oid:?}")));
            }
        }
        self.with_process(|p| {
            let CatFile { stdin, stdout, .. } = p;
            std::thread::scope(|scope| {
                let writer = scope.spawn(move || -> std::io::Result<()> {
                    let mut w = std::io::BufWriter::new(&mut *stdin);
                    for (oid, _) in objects {
                        writeln!(w, "contents {oid}")?;
                    }
                    w.flush()
                });
                let mut out = Vec::with_capacity(objects.len());
                for (oid, expected) in objects {
                    let mut line = String::new();
                    stdout
                        .read_line(&mut line)
                        .map_err(|e| self.protocol_err(e))?;
                    let size = line
                        .trim_end()
                        .rsplit(' ')
                        .next()
                        .and_then(|s| s.parse::<u64>().ok())
                        .filter(|_| !line.trim_end().ends_with(" missing"))
                        .ok_or_else(|| GitError::NotFound {
                            repo: crate::redact::scrub(&self.repo),
                            commit: String::new(),
                            path: format!("{path} ({oid})"),
                        })?;
                    if size != *expected {
                        return Err(self
                            .protocol_err(format!("{oid}: size {size}, listing said {expected}")));
                    }
                    let mut data =
                        vec![0u8; usize::try_from(size).map_err(|e| self.protocol_err(e))?];
                    stdout
                        .read_exact(&mut data)
                        .map_err(|e| self.protocol_err(e))?;
                    let mut nl = [0u8; 1];
                    stdout
                        .read_exact(&mut nl)
                        .map_err(|e| self.protocol_err(e))?;
                    out.push(data);
                }
                writer
                    .join()
                    .map_err(|_| self.protocol_err("writer thread panicked"))?
                    .map_err(|e| self.protocol_err(e))?;
                Ok(out)
            })
        })
    }
}
