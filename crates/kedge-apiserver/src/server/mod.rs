//! Serving: data directory setup (certificates, token, kubeconfig, store),
//! the accept loop (rustls or plain HTTP on loopback, HTTP/1.1 and HTTP/2
//! through hyper-util), authentication, body limits, dispatch to the
//! handlers, and graceful shutdown.

mod auth;
mod kubeconfig;
mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kedge_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Error;
use crate::catalog::Catalog;
use crate::handlers::{self, Body};
use crate::status::ApiError;

/// Largest accepted request body (the real server's limit is 3 MiB).
pub(crate) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Data directory: database, certificates, token, kubeconfig.
    pub data_dir: PathBuf,
    /// Serve plain HTTP instead of HTTPS (loopback addresses only).
    pub insecure_http: bool,
    /// Keep at least this many revisions of history for watches; older
    /// history is compacted periodically (0 = never compact).
    pub history_revisions: i64,
    /// How often to compact.
    pub compaction_interval: Duration,
    /// Run the workload simulator (status for Deployments, Jobs, …).
    pub simulator: bool,
}

impl Config {
    /// A configuration with the defaults for `listen` and `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Config {
        Config {
            listen,
            data_dir: data_dir.into(),
            insecure_http: false,
            history_revisions: 100_000,
            compaction_interval: Duration::from_secs(300),
            simulator: true,
        }
    }
}

/// The shared state of request handlers.
pub(crate) struct Api {
    pub(crate) store: Store,
    pub(crate) catalog: std::sync::RwLock<Arc<Catalog>>,
    pub(crate) token: String,
    pub(crate) insecure_http: bool,
    pub(crate) server_address: String,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) ca_pem: String,
    pub(crate) namespace_wakeup: tokio::sync::Notify,
}

impl Api {
    pub(crate) fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Starts servers.
#[derive(Debug)]
pub struct ApiServer;

/// A running server.
#[derive(Debug)]
pub struct Handle {
    local_addr: SocketAddr,
    kubeconfig: PathBuf,
    token: String,
    store: Store,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The kubeconfig written for this server.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The admin bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The store behind the server (for in-process controllers).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting, ends open watches and waits for the server loop.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops (after [`Handle::shutdown`] from elsewhere
    /// or a fatal error).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

pub(crate) fn write_private(path: &Path, data: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(data).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

impl ApiServer {
    /// Prepares the data directory, opens the store, bootstraps a fresh
    /// cluster, binds and starts serving in the background.
    pub async fn start(config: Config) -> Result<Handle, Error> {
        if config.insecure_http && !config.listen.ip().is_loopback() {
            return Err(Error::Config(format!(
                "--insecure-http is only allowed on loopback addresses, not {}",
                config.listen.ip()
            )));
        }
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let token = auth::load_or_create_token(dir)?;
        let certs = tls::load_or_create(dir, config.listen.ip())?;
        let db_path = dir.join("state.db");
        let store = tokio::task::spawn_blocking(move || Store::open(db_path))
            .await
            .map_err(|e| Error::Config(e.to_string()))??;

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let host = if local_addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            local_addr.ip().to_string()
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let server_address = format!("{host}:{}", local_addr.port());
        let scheme = if config.insecure_http {
            "http"
        } else {
            "https"
        };
        let kubeconfig_path = dir.join("kubeconfig");
        kubeconfig::write(
            &kubeconfig_path,
            &format!("{scheme}://{server_address}"),
            (!config.insecure_http).then_some(certs.ca_pem.as_str()),
            &token,
        )?;

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let api = Arc::new(Api {
            store: store.clone(),
            catalog: std::sync::RwLock::new(Arc::new(Catalog::builtin())),
            token: token.clone(),
            insecure_http: config.insecure_http,
            server_address,
            shutdown: shutdown_rx.clone(),
            ca_pem: certs.ca_pem.clone(),
            namespace_wakeup: tokio::sync::Notify::new(),
        });
        let crds = crate::crd::start(api.clone()).await;
        crate::controllers::bootstrap(&api)
            .await
            .map_err(|e| Error::Config(e.to_string()))?;
        let controllers = crate::controllers::spawn(api.clone());
        let compactor = spawn_compactor(store.clone(), &config, shutdown_rx.clone());
        let gc = crate::gc::spawn(api.clone());
        let simulator = config
            .simulator
            .then(|| crate::simulator::spawn(api.clone()));

        let acceptor = if config.insecure_http {
            None
        } else {
            Some(tokio_rustls::TlsAcceptor::from(tls::server_config(&certs)?))
        };
        let task = tokio::spawn(async move {
            serve(listener, acceptor, api).await;
            controllers.abort();
            compactor.abort();
            crds.abort();
            gc.abort();
            if let Some(s) = simulator {
                s.abort();
            }
        });
        Ok(Handle {
            local_addr,
            kubeconfig: kubeconfig_path,
            token,
            store,
            shutdown: shutdown_tx,
            task,
        })
    }
}

fn spawn_compactor(
    store: Store,
    config: &Config,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let keep = config.history_revisions;
    let every = config.compaction_interval;
    tokio::spawn(async move {
        if keep <= 0 {
            return;
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            let target = store.current_revision() - keep;
            if target > store.compact_revision()
                && let Err(e) = store.compact(target).await
            {
                tracing::warn!(error = %e, "compaction failed");
            }
        }
    })
}

async fn serve(listener: TcpListener, acceptor: Option<tokio_rustls::TlsAcceptor>, api: Arc<Api>) {
    let mut shutdown = api.shutdown.clone();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let api = api.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(dispatch(api, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match acceptor {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        let conn = builder.serve_connection(TokioIo::new(tls), service);
                        let _ = watcher.watch(conn.into_owned()).await;
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                },
                None => {
                    let conn = builder.serve_connection(TokioIo::new(tcp), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
            }
        });
    }
    drop(listener);
    // Watches end on the shutdown signal; give in-flight requests a moment.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

/// Authentication, body collection and dispatch of one request.
async fn dispatch(api: Arc<Api>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    if !auth::is_public(&path) {
        let header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !auth::authenticate(header, &api.token, api.insecure_http) {
            return handlers::error_response(&ApiError::unauthorized());
        }
    }
    let (parts, body) = req.into_parts();
    if let Some(len) = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > MAX_BODY_BYTES
    {
        return handlers::error_response(&ApiError::too_large());
    }
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    let bytes = match limited.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return handlers::error_response(&ApiError::too_large());
            }
            return handlers::error_response(&ApiError::bad_request(format!(
                "reading the request body: {e}"
            )));
        }
    };
    let req = Request::from_parts(parts, bytes);
    handlers::handle(api, req).await
}
