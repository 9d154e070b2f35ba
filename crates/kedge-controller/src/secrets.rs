//! Repository, repository-credential and cluster Secrets, labelled like
//! Argo CD's (`argocd.argoproj.io/secret-type`) or Kedge's own
//! (`kedge.dev/secret-type`).
//!
//! The formats are Argo CD's declarative ones, so Secrets written for Argo
//! CD work unchanged: a `repository` Secret carries `url` and optionally
//! `username`, `password`, `sshPrivateKey`, `insecure`, `type`, `name` and
//! `project`; a `repo-creds` Secret carries the same fields, its `url` being
//! a prefix that serves every repository below it; a `cluster` Secret
//! carries `name`, `server` and `config`, a JSON document with
//! `bearerToken`, `username`/`password` and `tlsClientConfig` (`insecure`,
//! `caData`, `certData`, `keyData`, `serverName`; the data fields are
//! base64 PEM like a kubeconfig's).
//!
//! Reading ([`list_repositories`], [`list_clusters`], [`load_credentials`])
//! accepts both labels and both `data` and `stringData`; writing
//! ([`repository_secret`], [`cluster_secret`]) produces Argo CD's label and
//! base64 `data`, with Argo CD's naming scheme (`repo-<fnv32a>`,
//! `cluster-<host>-<fnv32a>`). Secret values live in [`Redacted`]
//! wrappers from the moment they are read: `Debug` of every type here
//! prints a placeholder, and errors name the Secret and the field, never the
//! value. [`cluster_client`] turns a cluster Secret into a client directly
//! (no kubeconfig file is written).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kedge_git::{Credential, CredentialStore, Redacted};
use kube::api::{Api, ListParams};
use serde_json::{Map, Value, json};

use crate::error::ControllerError;

/// Argo CD's secret-type label.
pub const ARGOCD_SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";
/// Kedge's secret-type label (read as an alternative to Argo CD's).
pub const KEDGE_SECRET_TYPE_LABEL: &str = "kedge.dev/secret-type";
/// Label value of repository Secrets.
pub const SECRET_TYPE_REPOSITORY: &str = "repository";
/// Label value of credential templates.
pub const SECRET_TYPE_REPO_CREDS: &str = "repo-creds";
/// Label value of cluster Secrets.
pub const SECRET_TYPE_CLUSTER: &str = "cluster";
/// The in-cluster destination.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// Whether a repository Secret is a single repository or a URL-prefix
/// credential template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryKind {
    /// `repository`: one repository, exact URL.
    Repository,
    /// `repo-creds`: every repository whose URL starts with `url`.
    RepoCreds,
}

impl RepositoryKind {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            RepositoryKind::Repository => SECRET_TYPE_REPOSITORY,
            RepositoryKind::RepoCreds => SECRET_TYPE_REPO_CREDS,
        }
    }
}

/// A repository or credential template read from (or written to) a Secret.
/// `Debug` shows the password and key as `<redacted>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Repository {
    /// Repository or template.
    pub kind: RepositoryKind,
    /// Name of the Secret (empty for one not yet written).
    pub secret_name: String,
    /// Repository URL (prefix for templates).
    pub url: String,
    /// Display name.
    pub name: String,
    /// `git` (default) or `helm`.
    pub type_: String,
    /// Project the repository is scoped to (empty: global).
    pub project: String,
    /// HTTPS username.
    pub username: String,
    /// HTTPS password or token.
    pub password: Option<Redacted<String>>,
    /// SSH private key (OpenSSH PEM).
    pub ssh_private_key: Option<Redacted<String>>,
    /// Skip TLS verification / SSH host key checking.
    pub insecure: bool,
}

impl Repository {
    /// A repository (not a template) with just a URL.
    pub fn new(url: impl Into<String>) -> Repository {
        Repository {
            kind: RepositoryKind::Repository,
            secret_name: String::new(),
            url: url.into(),
            name: String::new(),
            type_: "git".to_string(),
            project: String::new(),
            username: String::new(),
            password: None,
            ssh_private_key: None,
            insecure: false,
        }
    }

    /// The credential this entry gives `git`, if any.
    pub fn credential(&self) -> Option<Credential> {
        if let Some(key) = &self.ssh_private_key {
            let mut c = Credential::ssh(key.expose().clone(), None);
            if let Credential::Ssh {
                insecure_ignore_host_key,
                ..
            } = &mut c
            {
                *insecure_ignore_host_key = self.insecure;
            }
            return Some(c);
        }
        self.password.as_ref().map(|p| {
            let user = if self.username.is_empty() {
                // Token authentication: Git hosts accept any username.
                "git"
            } else {
                &self.username
            };
            Credential::basic(user, p.expose().clone())
        })
    }
}

/// TLS settings of a cluster Secret's `config.tlsClientConfig`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsClientConfig {
    /// Skip server certificate verification.
    pub insecure: bool,
    /// Server name to verify instead of the URL's host.
    pub server_name: String,
    /// CA bundle, base64 of PEM.
    pub ca_data: String,
    /// Client certificate, base64 of PEM.
    pub cert_data: String,
    /// Client key, base64 of PEM.
    pub key_data: Option<Redacted<String>>,
}

/// A cluster Secret's `config` document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterConfig {
    /// Bearer token.
    pub bearer_token: Option<Redacted<String>>,
    /// Basic-auth username.
    pub username: String,
    /// Basic-auth password.
    pub password: Option<Redacted<String>>,
    /// TLS settings.
    pub tls_client_config: TlsClientConfig,
}

/// A destination cluster read from (or written to) a Secret. `Debug` shows
/// every credential as `<redacted>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSecret {
    /// Name of the Secret (empty for one not yet written).
    pub secret_name: String,
    /// Cluster name used by `spec.destination.name`.
    pub name: String,
    /// API server URL used by `spec.destination.server`.
    pub server: String,
    /// Namespaces the cluster is limited to (empty: all).
    pub namespaces: Vec<String>,
    /// Project the cluster is scoped to (empty: global).
    pub project: String,
    /// How to connect.
    pub config: ClusterConfig,
}

/// A Secret's fields as strings: `data` decoded, `stringData` on top (as
/// the API server would merge them). Values that are not UTF-8 are dropped.
fn secret_fields(secret: &Secret) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in secret.data.iter().flatten() {
        if let Ok(s) = String::from_utf8(v.0.clone()) {
            out.insert(k.clone(), s);
        }
    }
    for (k, v) in secret.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    out
}

fn secret_name(secret: &Secret) -> String {
    secret.metadata.name.clone().unwrap_or_default()
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.filter(|s| !s.is_empty()).cloned()
}

/// Parses a repository or repo-creds Secret. Fails (naming the Secret)
/// when `url` is missing.
pub fn repository_from_secret(
    secret: &Secret,
    kind: RepositoryKind,
) -> Result<Repository, ControllerError> {
    let f = secret_fields(secret);
    let name = secret_name(secret);
    let url = non_empty(f.get("url")).ok_or_else(|| ControllerError::Invalid {
        object: format!("Secret {name}"),
        message: "field data.url is missing".to_string(),
    })?;
    Ok(Repository {
        kind,
        secret_name: name,
        url,
        name: f.get("name").cloned().unwrap_or_default(),
        type_: non_empty(f.get("type")).unwrap_or_else(|| "git".to_string()),
        project: f.get("project").cloned().unwrap_or_default(),
        username: f.get("username").cloned().unwrap_or_default(),
        password: non_empty(f.get("password")).map(Redacted::secret),
        ssh_private_key: non_empty(f.get("sshPrivateKey")).map(|k| {
            for line in k
                .lines()
                .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
            {
                kedge_git::redact::register_secret(line);
            }
            Redacted::new(k)
        }),
        insecure: f.get("insecure").is_some_and(|v| v.trim() == "true"),
    })
}

/// Parses a cluster Secret. Fails (naming the Secret and field, not the
/// value) when `server` is missing or `config` is not a JSON object.
pub fn cluster_from_secret(secret: &Secret) -> Result<ClusterSecret, ControllerError> {
    let f = secret_fields(secret);
    let sname = secret_name(secret);
    let invalid = |message: String| ControllerError::Invalid {
        object: format!("Secret {sname}"),
        message,
    };
    let server = non_empty(f.get("server"))
        .ok_or_else(|| invalid("field data.server is missing".to_string()))?;
    let config = match f.get("config").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => ClusterConfig::default(),
        Some(raw) => {
            // The serde error could quote part of the document; say only where.
            let doc: Value = serde_json::from_str(raw).map_err(|e| {
                invalid(format!(
                    "field data.config is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
            parse_cluster_config(&doc).map_err(invalid)?
        }
    };
    Ok(ClusterSecret {
        secret_name: sname,
        name: non_empty(f.get("name")).unwrap_or_else(|| server.clone()),
        server,
        namespaces: f
            .get("namespaces")
            .map(|n| {
                n.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        project: f.get("project").cloned().unwrap_or_default(),
        config,
    })
}

fn parse_cluster_config(doc: &Value) -> Result<ClusterConfig, String> {
    let obj = doc
        .as_object()
        .ok_or_else(|| "field data.config is not a JSON object".to_string())?;
    let string = |o: &Map<String, Value>, key: &str, path: &str| -> Result<String, String> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("field data.config.{path} is not a string")),
        }
    };
    let secret = |s: String| (!s.is_empty()).then(|| Redacted::secret(s));
    let tls = match obj.get("tlsClientConfig") {
        None | Some(Value::Null) => TlsClientConfig::default(),
        Some(Value::Object(t)) => TlsClientConfig {
            insecure: match t.get("insecure") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(
                        "field data.config.tlsClientConfig.insecure is not a boolean".to_string(),
                    );
                }
            },
            server_name: string(t, "serverName", "tlsClientConfig.serverName")?,
            ca_data: string(t, "caData", "tlsClientConfig.caData")?,
            cert_data: string(t, "certData", "tlsClientConfig.certData")?,
            key_data: secret(string(t, "keyData", "tlsClientConfig.keyData")?),
        },
        Some(_) => return Err("field data.config.tlsClientConfig is not an object".to_string()),
    };
    Ok(ClusterConfig {
        bearer_token: secret(string(obj, "bearerToken", "bearerToken")?),
        username: string(obj, "username", "username")?,
        password: secret(string(obj, "password", "password")?),
        tls_client_config: tls,
    })
}

/// Secrets of one type, selected by either label (deduplicated by name).
async fn secrets_of_type(
    client: &kube::Client,
    namespace: &str,
    type_: &str,
) -> Result<Vec<Secret>, ControllerError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut out: Vec<Secret> = Vec::new();
    for label in [ARGOCD_SECRET_TYPE_LABEL, KEDGE_SECRET_TYPE_LABEL] {
        let lp = ListParams::default().labels(&format!("{label}={type_}"));
        let list = api.list(&lp).await.map_err(|e| ControllerError::Kube {
            action: "list",
            object: format!("Secrets {namespace}/{label}={type_}"),
            source: e,
        })?;
        for s in list.items {
            if !out.iter().any(|o| o.metadata.name == s.metadata.name) {
                out.push(s);
            }
        }
    }
    out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(out)
}

/// Repository and credential-template Secrets of `namespace`, repositories
/// first. Secrets without a `url` are skipped with a warning.
pub async fn list_repositories(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<Repository>, ControllerError> {
    let mut out = Vec::new();
    for kind in [RepositoryKind::Repository, RepositoryKind::RepoCreds] {
        for s in secrets_of_type(client, namespace, kind.label()).await? {
            match repository_from_secret(&s, kind) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(error = %e, "skipping repository secret"),
            }
        }
    }
    Ok(out)
}

/// Cluster Secrets of `namespace`. Malformed Secrets are skipped with a
/// warning that names the Secret and field.
pub async fn list_clusters(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<ClusterSecret>, ControllerError> {
    let mut out = Vec::new();
    for s in secrets_of_type(client, namespace, SECRET_TYPE_CLUSTER).await? {
        match cluster_from_secret(&s) {
            Ok(c) => out.push(c),
            Err(e) => tracing::warn!(error = %e, "skipping cluster secret"),
        }
    }
    Ok(out)
}

/// Builds the credential store from the repository and repo-creds Secrets
/// of `namespace`: templates by URL prefix, repositories by exact URL (the
/// longest match wins at lookup, so a repository overrides its template).
pub async fn load_credentials(
    client: &kube::Client,
    namespace: &str,
) -> Result<CredentialStore, ControllerError> {
    let repos = list_repositories(client, namespace).await?;
    Ok(credential_store(&repos))
}

/// The credential store of already-read repositories (see
/// [`load_credentials`]). Entries whose URL does not parse are skipped with
/// a warning naming the Secret.
pub fn credential_store(repos: &[Repository]) -> CredentialStore {
    let mut store = CredentialStore::new();
    // Templates first, so an exact repository entry replaces a template of
    // the very same URL.
    let ordered = repos
        .iter()
        .filter(|r| r.kind == RepositoryKind::RepoCreds)
        .chain(
            repos
                .iter()
                .filter(|r| r.kind == RepositoryKind::Repository),
        );
    for repo in ordered {
        let Some(cred) = repo.credential() else {
            continue;
        };
        if let Err(e) = store.insert(&repo.url, cred) {
            tracing::warn!(secret = %repo.secret_name, error = %e, "skipping repository secret");
        }
    }
    store
}

/// 32-bit FNV-1a, the hash Argo CD names its Secrets with.
fn fnv32a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The Secret name Argo CD gives a repository (`repo-<hash>`) or template
/// (`creds-<hash>`).
pub fn repository_secret_name(kind: RepositoryKind, url: &str) -> String {
    let prefix = match kind {
        RepositoryKind::Repository => "repo",
        RepositoryKind::RepoCreds => "creds",
    };
    format!("{prefix}-{}", fnv32a(url))
}

/// The Secret name Argo CD gives a cluster: `cluster-<host>-<hash>`.
pub fn cluster_secret_name(server: &str) -> String {
    let host = server
        .split_once("://")
        .map_or(server, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut host: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    host.truncate(40);
    let host = host.trim_matches('-');
    let host = if host.is_empty() { "server" } else { host };
    format!("cluster-{host}-{}", fnv32a(server))
}

fn b64(s: &str) -> Value {
    serde_json::to_value(ByteString(s.as_bytes().to_vec())).unwrap_or(Value::Null)
}

fn secret_manifest(
    name: &str,
    namespace: &str,
    type_: &str,
    data: BTreeMap<&str, String>,
) -> Value {
    let data: Map<String, Value> = data
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), b64(&v)))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                ARGOCD_SECRET_TYPE_LABEL: type_,
                "app.kubernetes.io/managed-by": "kedge",
            },
        },
        "data": data,
    })
}

/// The Secret manifest of a repository or credential template (Argo CD's
/// format). The Secret name is `repo.secret_name`, or Argo CD's derived
/// name when empty.
pub fn repository_secret(namespace: &str, repo: &Repository) -> Value {
    let name = if repo.secret_name.is_empty() {
        repository_secret_name(repo.kind, &repo.url)
    } else {
        repo.secret_name.clone()
    };
    let mut data = BTreeMap::new();
    data.insert("url", repo.url.clone());
    data.insert("name", repo.name.clone());
    data.insert("type", repo.type_.clone());
    data.insert("project", repo.project.clone());
    data.insert("username", repo.username.clone());
    if let Some(p) = &repo.password {
        data.insert("password", p.expose().clone());
    }
    if let Some(k) = &repo.ssh_private_key {
        data.insert("sshPrivateKey", k.expose().clone());
    }
    if repo.insecure {
        data.insert("insecure", "true".to_string());
    }
    secret_manifest(&name, namespace, repo.kind.label(), data)
}

/// The `config` JSON document of a cluster Secret.
pub fn cluster_config_json(config: &ClusterConfig) -> Value {
    let mut obj = Map::new();
    if let Some(t) = &config.bearer_token {
        obj.insert("bearerToken".into(), Value::String(t.expose().clone()));
    }
    if !config.username.is_empty() {
        obj.insert("username".into(), Value::String(config.username.clone()));
    }
    if let Some(p) = &config.password {
        obj.insert("password".into(), Value::String(p.expose().clone()));
    }
    let t = &config.tls_client_config;
    let mut tls = Map::new();
    tls.insert("insecure".into(), Value::Bool(t.insecure));
    for (k, v) in [
        ("serverName", &t.server_name),
        ("caData", &t.ca_data),
        ("certData", &t.cert_data),
    ] {
        if !v.is_empty() {
            tls.insert(k.into(), Value::String(v.clone()));
        }
    }
    if let Some(k) = &t.key_data {
        tls.insert("keyData".into(), Value::String(k.expose().clone()));
    }
    obj.insert("tlsClientConfig".into(), Value::Object(tls));
    Value::Object(obj)
}

/// The Secret manifest of a cluster (Argo CD's format). The Secret name is
/// `cluster.secret_name`, or Argo CD's derived name when empty.
pub fn cluster_secret(namespace: &str, cluster: &ClusterSecret) -> Value {
    let name = if cluster.secret_name.is_empty() {
        cluster_secret_name(&cluster.server)
    } else {
        cluster.secret_name.clone()
    };
    let mut data = BTreeMap::new();
    data.insert("name", cluster.name.clone());
    data.insert("server", cluster.server.clone());
    data.insert("namespaces", cluster.namespaces.join(","));
    data.insert("project", cluster.project.clone());
    data.insert("config", cluster_config_json(&cluster.config).to_string());
    secret_manifest(&name, namespace, SECRET_TYPE_CLUSTER, data)
}

/// Decodes base64 text (standard alphabet, padding optional, whitespace
/// ignored) through the Kubernetes byte-string codec.
fn decode_b64(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let padded = match clean.len() % 4 {
        2 => format!("{clean}=="),
        3 => format!("{clean}="),
        _ => clean,
    };
    serde_json::from_value::<ByteString>(Value::String(padded))
        .ok()
        .map(|b| b.0)
}

/// The DER certificates of a PEM bundle.
fn pem_certificates(pem: &str) -> Option<Vec<Vec<u8>>> {
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            certs.push(decode_b64(&body.take()?)?);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    (!certs.is_empty()).then_some(certs)
}

/// A client for a cluster Secret, built from its fields (no kubeconfig
/// file). Must be called inside a Tokio runtime. Errors name the Secret and
/// field, never a value.
pub fn cluster_client(cluster: &ClusterSecret) -> Result<kube::Client, ControllerError> {
    let object = format!(
        "cluster {}",
        if cluster.secret_name.is_empty() {
            &cluster.name
        } else {
            &cluster.secret_name
        }
    );
    let invalid = |message: &str| ControllerError::Invalid {
        object: object.clone(),
        message: message.to_string(),
    };
    let mut config = kube::Config::new(
        cluster
            .server
            .parse()
            .map_err(|_| invalid("field server is not a URL"))?,
    );
    let c = &cluster.config;
    let t = &c.tls_client_config;
    config.accept_invalid_certs = t.insecure;
    if !t.server_name.is_empty() {
        config.tls_server_name = Some(t.server_name.clone());
    }
    if !t.ca_data.is_empty() {
        let pem = decode_b64(&t.ca_data)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid("field config.tlsClientConfig.caData is not base64"))?;
        let certs = pem_certificates(&pem).ok_or_else(|| {
            invalid("field config.tlsClientConfig.caData holds no PEM certificate")
        })?;
        config.root_cert = Some(certs);
    }
    if !t.cert_data.is_empty() {
        config.auth_info.client_certificate_data = Some(t.cert_data.clone());
    }
    if let Some(k) = &t.key_data {
        config.auth_info.client_key_data = Some(k.expose().clone().into());
    }
    if let Some(token) = &c.bearer_token {
        config.auth_info.token = Some(token.expose().clone().into());
    }
    if !c.username.is_empty() {
        config.auth_info.username = Some(c.username.clone());
    }
    if let Some(p) = &c.password {
        config.auth_info.password = Some(p.expose().clone().into());
    }
    kube::Client::try_from(config).map_err(|e| ControllerError::Invalid {
        object,
        // kube's error names the failing step (TLS, key parsing), not data.
        message: format!("building a client: {}", kedge_git::scrub(&e.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kedge_git::RepoUrl;

    fn secret(manifest: Value) -> Secret {
        serde_json::from_value(manifest).expect("secret")
    }

    #[test]
    fn repository_round_trip_and_redacted_debug() {
        let mut r = Repository::new("https://git.example.com/org/app.git");
        r.username = "alice".into();
        r.password = Some(Redacted::secret("pw-roundtrip-9876"));
        r.project = "team".into();
        r.insecure = true;
        let m = repository_secret("kedge", &r);
        assert_eq!(
            m["metadata"]["labels"][ARGOCD_SECRET_TYPE_LABEL],
            "repository"
        );
        assert!(m["metadata"]["name"].as_str().unwrap().starts_with("repo-"));
        assert!(
            !m.to_string().contains("pw-roundtrip-9876"),
            "data is base64"
        );
        let back = repository_from_secret(&secret(m.clone()), RepositoryKind::Repository).unwrap();
        assert_eq!(back.url, r.url);
        assert_eq!(back.username, "alice");
        assert_eq!(back.project, "team");
        assert!(back.insecure);
        assert_eq!(
            back.password.as_ref().map(|p| p.expose().as_str()),
            Some("pw-roundtrip-9876")
        );
        assert_eq!(back.secret_name, m["metadata"]["name"].as_str().unwrap());
        let dbg = format!("{back:?}");
        assert!(!dbg.contains("pw-roundtrip-9876"), "{dbg}");
        assert!(dbg.contains("alice"));
    }

    #[test]
    fn string_data_is_read_and_missing_url_names_the_secret() {
        let s = secret(json!({
            "metadata": {"name": "private-repo"},
            "stringData": {"url": "git@github.com:org/repo.git", "sshPrivateKey": "KEYDATA-line-long-enough"},
        }));
        let r = repository_from_secret(&s, RepositoryKind::Repository).unwrap();
        assert_eq!(r.url, "git@github.com:org/repo.git");
        assert!(matches!(r.credential(), Some(Credential::Ssh { .. })));
        let s = secret(json!({"metadata": {"name": "broken"}, "stringData": {"password": "x"}}));
        let e = repository_from_secret(&s, RepositoryKind::Repository).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid Secret broken: field data.url is missing"
        );
    }

    #[test]
    fn templates_serve_prefixes_and_repositories_override() {
        let mut t = Repository::new("https://git.example.com/org");
        t.kind = RepositoryKind::RepoCreds;
        t.username = "template".into();
        t.password = Some(Redacted::secret("pw-template-1111"));
        let mut r = Repository::new("https://git.example.com/org/special.git");
        r.username = "exact".into();
        r.password = Some(Redacted::secret("pw-exact-2222"));
        let bare = Repository::new("https://git.example.com/org/public.git");
        let store = credential_store(&[r, bare, t]);
        let user = |u: &str| match store.lookup(&RepoUrl::parse(u).unwrap()) {
            Some(Credential::Basic { username, .. }) => username,
            other => format!("{other:?}"),
        };
        assert_eq!(user("https://git.example.com/org/special.git"), "exact");
        assert_eq!(user("https://git.example.com/org/other"), "template");
        // A repository without credentials does not hide its template.
        assert_eq!(user("https://git.example.com/org/public.git"), "template");
        assert_eq!(user("https://git.example.com/else/x"), "None");
    }

    #[test]
    fn cluster_round_trip_and_redacted_debug() {
        let c = ClusterSecret {
            name: "prod".into(),
            server: "https://10.0.0.1:6443".into(),
            namespaces: vec!["a".into(), "b".into()],
            config: ClusterConfig {
                bearer_token: Some(Redacted::secret("tok-cluster-5555")),
                tls_client_config: TlsClientConfig {
                    insecure: true,
                    key_data: Some(Redacted::secret("key-cluster-6666")),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        };
        let m = cluster_secret("kedge", &c);
        assert_eq!(m["metadata"]["name"], cluster_secret_name(&c.server));
        assert!(
            m["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("cluster-10-0-0-1-")
        );
        let back = cluster_from_secret(&secret(m)).unwrap();
        assert_eq!(back.name, "prod");
        assert_eq!(back.server, c.server);
        assert_eq!(back.namespaces, c.namespaces);
        assert_eq!(back.config, c.config);
        let dbg = format!("{back:?}");
        assert!(!dbg.contains("tok-cluster-5555") && !dbg.contains("key-cluster-6666"));
    }

    #[test]
    fn argocd_cluster_config_parses_and_errors_hide_values() {
        let s = secret(json!({
            "metadata": {"name": "mycluster"},
            "stringData": {
                "name": "remote",
                "server": "https://remote.example.com",
                "config": r#"{"bearerToken":"tok-abc-7777","tlsClientConfig":{"insecure":false,"caData":"Zm9v"}}"#,
            },
        }));
        let c = cluster_from_secret(&s).unwrap();
        assert_eq!(
            c.config.bearer_token.as_ref().unwrap().expose(),
            "tok-abc-7777"
        );
        assert_eq!(c.config.tls_client_config.ca_data, "Zm9v");
        let s = secret(json!({
            "metadata": {"name": "bad"},
            "stringData": {"server": "https://x", "config": r#"{"bearerToken": tok-leak-8888}"#},
        }));
        let e = cluster_from_secret(&s).unwrap_err().to_string();
        assert!(e.contains("Secret bad") && e.contains("data.config"), "{e}");
        assert!(!e.contains("tok-leak-8888"), "{e}");
        let s = secret(json!({
            "metadata": {"name": "bad2"},
            "stringData": {"server": "https://x", "config": r#"{"tlsClientConfig":{"insecure":"yes"}}"#},
        }));
        let e = cluster_from_secret(&s).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid Secret bad2: field data.config.tlsClientConfig.insecure is not a boolean"
        );
    }

    #[test]
    fn fnv_matches_reference_values() {
        // Reference values of 32-bit FNV-1a.
        assert_eq!(fnv32a(""), 0x811c_9dc5);
        assert_eq!(fnv32a("a"), 0xe40c_292c);
        assert_eq!(fnv32a("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn base64_and_pem_decoding() {
        assert_eq!(decode_b64("Zm9vYg").unwrap(), b"foob");
        assert_eq!(decode_b64("Zm9v\nYmFy").unwrap(), b"foobar");
        assert!(decode_b64("!!!").is_none());
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            pem_certificates(pem).unwrap(),
            vec![vec![0, 1, 2, 3], vec![4, 5]]
        );
        assert!(pem_certificates("nothing").is_none());
    }
}
