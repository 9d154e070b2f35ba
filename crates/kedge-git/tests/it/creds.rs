//! Credentials: basic auth through GIT_ASKPASS, URL-embedded userinfo,
//! longest-prefix templates; and the secret never appearing in an error,
//! a log line or a file of the cache.

use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Result;
use kedge_git::{Credential, CredentialStore, GitBackend as _, RepoUrl};

use crate::support::{HttpGit, Upstream, cache_with};

const SECRET: &str = "pa55-Known-Secret-9f3c";

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuffer::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}

fn files_containing(root: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|d| d.windows(needle.len()).any(|w| w == needle))
            {
                hits.push(p);
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_leak() -> Result<()> {
    let logs = captured_logs();
    let tmp = tempfile::tempdir()?;
    let up = Upstream::new(tmp.path(), "private")?;
    let sha = up.commit(&[("app/k.yaml", "ok\n")], "one")?;
    let http = HttpGit::start(tmp.path(), Some(("alice", SECRET))).await?;
    let base = format!("http://127.0.0.1:{}", http.port);

    // 1. A host-wide template with the right secret works.
    let mut creds = CredentialStore::new();
    creds.insert(&base, Credential::basic("alice", SECRET))?;
    let c = cache_with(tmp.path(), creds, |_| {})?;
    let url = RepoUrl::parse(&http.url("private"))?;
    assert_eq!(c.resolve(&url, "main", None).await?, sha);

    // 2. A longer prefix with a wrong secret overrides it and fails, scrubbed.
    c.set_credential(
        &http.url("private"),
        Credential::basic("alice", format!("{SECRET}-wrong")),
    )?;
    let err = c.fetch(&url).await.unwrap_err();
    let msg = format!("{err} {err:?}");
    assert!(
        msg.contains("Authentication failed") || msg.contains("401"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET), "{msg}");

    // 3. Userinfo in the URL is used, but never printed or stored.
    let tmp2 = tempfile::tempdir()?;
    let c2 = cache_with(tmp2.path(), CredentialStore::new(), |_| {})?;
    let with_userinfo = RepoUrl::parse(&format!(
        "http://alice:{SECRET}@127.0.0.1:{}/private.git",
        http.port
    ))?;
    assert_eq!(c2.resolve(&with_userinfo, "main", None).await?, sha);
    assert!(!with_userinfo.to_string().contains(SECRET));
    let bad = RepoUrl::parse(&format!(
        "http://alice:{SECRET}x@127.0.0.1:{}/private.git",
        http.port
    ))?;
    let err = c2.fetch(&bad).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET), "{err}");

    // 4. No credential: fails fast (no prompt), nothing to leak.
    let tmp3 = tempfile::tempdir()?;
    let c3 = cache_with(tmp3.path(), CredentialStore::new(), |_| {})?;
    let err = c3.fetch(&url).await.unwrap_err();
    assert!(!format!("{err:?}").contains(SECRET));

    // Nothing under any cache root holds the secret, and no log line does.
    for root in [
        tmp.path().join("cache"),
        tmp2.path().join("cache"),
        tmp3.path().join("cache"),
    ] {
        let hits = files_containing(&root, SECRET.as_bytes());
        assert!(hits.is_empty(), "secret found in {hits:?}");
    }
    tracing::warn!(error = %err, url = %bad, "a log line carrying an error and a URL");
    let _ = logs.clone().flush();
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(text.contains("a log line carrying"), "logs were captured");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!kedge_git::scrub(&format!("http://alice:{SECRET}@h/x")).contains(SECRET));
    Ok(())
}
