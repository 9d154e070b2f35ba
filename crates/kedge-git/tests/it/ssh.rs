//! SSH: an unprivileged sshd on a high port with a generated host key;
//! the client key travels through a 0600 temporary file and known_hosts
//! is enforced. Skipped with a message where sshd cannot run.

use anyhow::Result;
use kedge_git::{Credential, CredentialStore, GitBackend as _, RepoUrl};

use crate::support::{Sshd, Upstream, cache_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_over_ssh_with_a_key_and_known_hosts() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let Some(sshd) = Sshd::start(tmp.path())? else {
        return Ok(());
    };
    let up = Upstream::new(tmp.path(), "app")?;
    let sha = up.commit(&[("app/k.yaml", "over: ssh\n")], "one")?;
    let url = RepoUrl::parse(&sshd.url(&up.bare))?;

    // Right key, right host key: works.
    let mut creds = CredentialStore::new();
    creds.insert(
        &format!("ssh://127.0.0.1:{}", sshd.port),
        Credential::ssh(sshd.client_key.clone(), Some(sshd.known_hosts.clone())),
    )?;
    let c = cache_with(tmp.path(), creds, |_| {})?;
    assert_eq!(c.resolve(&url, "main", None).await?, sha);
    let v = c.view(&url, &sha, "app").await?;
    assert_eq!(v.read_to_string("k.yaml")?, "over: ssh\n");
    // Key files are gone once the call ends.
    let scratch = tmp.path().join("cache/scratch");
    assert_eq!(
        std::fs::read_dir(&scratch)?.count(),
        0,
        "scratch not cleaned"
    );

    // Unknown host key: refused (StrictHostKeyChecking), key never printed.
    let tmp2 = tempfile::tempdir()?;
    let mut creds = CredentialStore::new();
    creds.insert(
        &format!("ssh://127.0.0.1:{}", sshd.port),
        Credential::ssh(sshd.client_key.clone(), None),
    )?;
    let c2 = cache_with(tmp2.path(), creds, |_| {})?;
    let err = c2.fetch(&url).await.unwrap_err();
    let msg = format!("{err}");
    assert!(
        msg.contains("Host key verification failed") || msg.contains("host key"),
        "{msg}"
    );
    let key_line = sshd.client_key.lines().nth(1).unwrap_or_default();
    assert!(!msg.contains(key_line));
    Ok(())
}
