//! Repository, credential-template and cluster Secrets against the embedded
//! API server: Secrets written in Argo CD's format (both labels, `data` and
//! `stringData`) are listed and turned into credentials, the builders'
//! manifests read back, and a cluster Secret holding the server's own CA and
//! token yields a working client.

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kedge_controller::secrets::{
    self, ClusterConfig, ClusterSecret, Repository, RepositoryKind, TlsClientConfig,
};
use kedge_git::{Credential, Redacted, RepoUrl};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use crate::support::Env;

async fn create(env: &Env, manifest: serde_json::Value) {
    let api: Api<Secret> = Api::namespaced(env.client.clone(), "kedge");
    let s: Secret = serde_json::from_value(manifest).unwrap();
    api.create(&PostParams::default(), &s)
        .await
        .expect("create secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_secrets_become_credentials() {
    let env = Env::start().await;
    // Argo CD's declarative format, as a user would write it.
    create(
        &env,
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "private-repo", "namespace": "kedge",
                         "labels": {"argocd.argoproj.io/secret-type": "repository"}},
            "stringData": {"url": "https://git.example.com/org/private.git",
                           "username": "alice", "password": "pw-private-3141"},
        }),
    )
    .await;
    // Kedge's label, a template for a whole organisation.
    create(
        &env,
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "org-creds", "namespace": "kedge",
                         "labels": {"kedge.dev/secret-type": "repo-creds"}},
            "stringData": {"url": "https://git.example.com/org", "username": "bot",
                           "password": "pw-template-2718"},
        }),
    )
    .await;
    // Built by the builder (base64 data).
    let mut built = Repository::new("https://other.example.com/x/y.git");
    built.username = "carol".into();
    built.password = Some(Redacted::secret("pw-built-1618"));
    built.project = "team".into();
    create(&env, secrets::repository_secret("kedge", &built)).await;
    // Unrelated and malformed Secrets are ignored.
    create(
        &env,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "plain", "namespace": "kedge"},
               "stringData": {"url": "https://ignored.example.com/r"}}),
    )
    .await;
    create(
        &env,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "no-url", "namespace": "kedge",
                            "labels": {"argocd.argoproj.io/secret-type": "repository"}},
               "stringData": {"password": "pw-nourl-0000"}}),
    )
    .await;

    let repos = secrets::list_repositories(&env.client, "kedge")
        .await
        .unwrap();
    let mut urls: Vec<(&str, RepositoryKind)> =
        repos.iter().map(|r| (r.url.as_str(), r.kind)).collect();
    urls.sort_by_key(|(u, _)| *u);
    assert_eq!(
        urls,
        vec![
            ("https://git.example.com/org", RepositoryKind::RepoCreds),
            (
                "https://git.example.com/org/private.git",
                RepositoryKind::Repository
            ),
            (
                "https://other.example.com/x/y.git",
                RepositoryKind::Repository
            ),
        ]
    );
    let b = repos.iter().find(|r| r.username == "carol").unwrap();
    assert_eq!(b.project, "team");
    assert_eq!(b.password.as_ref().unwrap().expose(), "pw-built-1618");
    assert!(!format!("{repos:?}").contains("pw-"), "{repos:?}");

    let store = secrets::load_credentials(&env.client, "kedge")
        .await
        .unwrap();
    let who = |url: &str| match store.lookup(&RepoUrl::parse(url).unwrap()) {
        Some(Credential::Basic { username, password }) => {
            format!("{username}:{}", password.expose())
        }
        other => format!("{other:?}"),
    };
    assert_eq!(
        who("https://git.example.com/org/private.git"),
        "alice:pw-private-3141"
    );
    assert_eq!(
        who("https://git.example.com/org/another"),
        "bot:pw-template-2718"
    );
    assert_eq!(
        who("https://other.example.com/x/y.git"),
        "carol:pw-built-1618"
    );
    assert_eq!(who("https://ignored.example.com/r"), "None");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_secret_yields_a_working_client() {
    let env = Env::start().await;
    // The server's own CA and token, as `kedge cluster add` would store them.
    let handle = env.handle.as_ref().unwrap();
    let kc = kube::config::Kubeconfig::read_from(handle.kubeconfig_path()).unwrap();
    let cluster = &kc.clusters[0].cluster.as_ref().unwrap();
    let server = cluster.server.clone().unwrap();
    let ca = cluster
        .certificate_authority_data
        .clone()
        .unwrap_or_default();
    let token = handle.token().to_string();
    let good = ClusterSecret {
        name: "self".into(),
        server: server.clone(),
        config: ClusterConfig {
            bearer_token: Some(Redacted::secret(token.clone())),
            tls_client_config: TlsClientConfig {
                ca_data: ca.clone(),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    create(&env, secrets::cluster_secret("kedge", &good)).await;
    let bad = ClusterSecret {
        name: "wrong-token".into(),
        server: format!("{server}/"),
        config: ClusterConfig {
            bearer_token: Some(Redacted::secret("not-the-token-4242")),
            tls_client_config: TlsClientConfig {
                insecure: true,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    create(&env, secrets::cluster_secret("kedge", &bad)).await;

    let clusters = secrets::list_clusters(&env.client, "kedge").await.unwrap();
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(clusters.len(), 2, "{names:?}");
    let dbg = format!("{clusters:?}");
    assert!(!dbg.contains(&token) && !dbg.contains("not-the-token-4242"));

    let read_good = clusters.iter().find(|c| c.name == "self").unwrap();
    assert_eq!(read_good.config, good.config);
    let client = secrets::cluster_client(read_good).unwrap();
    let nss: Api<Namespace> = Api::all(client);
    let list = nss
        .list(&ListParams::default())
        .await
        .expect("list namespaces");
    assert!(
        list.items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some("kedge"))
    );

    let read_bad = clusters.iter().find(|c| c.name == "wrong-token").unwrap();
    let client = secrets::cluster_client(read_bad).unwrap();
    let nss: Api<Namespace> = Api::all(client);
    match nss.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 401),
        other => panic!("expected 401, got {other:?}"),
    }
}
