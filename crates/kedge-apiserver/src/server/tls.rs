//! The cluster's certificates: a self-signed CA and a serving certificate
//! for `localhost`, `127.0.0.1` and `::1` (plus the listen address), made
//! on first start and kept in the data directory (`ca.crt`, `ca.key`,
//! `server.crt`, `server.key`; keys with mode 0600). Later starts reuse
//! them, so kubeconfigs handed out earlier stay valid.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::Error;

/// PEM material of the cluster.
#[derive(Debug, Clone)]
pub(crate) struct Certificates {
    pub(crate) ca_pem: String,
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

pub(crate) fn load_or_create(dir: &Path, listen: IpAddr) -> Result<Certificates, Error> {
    let ca = dir.join("ca.crt");
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    if ca.exists() && cert.exists() && key.exists() {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Error::io(p, e));
        return Ok(Certificates {
            ca_pem: read(&ca)?,
            cert_pem: read(&cert)?,
            key_pem: read(&key)?,
        });
    }
    let generated = generate(listen)?;
    super::write_private(&dir.join("ca.key"), generated.1.as_bytes())?;
    super::write_private(&key, generated.0.key_pem.as_bytes())?;
    std::fs::write(&ca, &generated.0.ca_pem).map_err(|e| Error::io(&ca, e))?;
    std::fs::write(&cert, &generated.0.cert_pem).map_err(|e| Error::io(&cert, e))?;
    Ok(generated.0)
}

fn generate(listen: IpAddr) -> Result<(Certificates, String), Error> {
    let tls = |e: rcgen::Error| Error::Tls(e.to_string());
    let ca_key = KeyPair::generate().map_err(tls)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kedge-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls)?;

    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !listen.is_unspecified() && !names.contains(&listen.to_string()) {
        names.push(listen.to_string());
    }
    let mut params = CertificateParams::new(names).map_err(tls)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kedge-apiserver");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    let key = KeyPair::generate().map_err(tls)?;
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer).map_err(tls)?;
    Ok((
        Certificates {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        },
        ca_key.serialize_pem(),
    ))
}

/// The rustls server configuration (ring provider, HTTP/2 and HTTP/1.1 via ALPN).
pub(crate) fn server_config(certs: &Certificates) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls_pemfile::certs(&mut certs.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Tls(format!("serving certificate: {e}")))?;
    let key = rustls_pemfile::private_key(&mut certs.key_pem.as_bytes())
        .map_err(|e| Error::Tls(format!("serving key: {e}")))?
        .ok_or_else(|| Error::Tls("serving key: no private key in PEM".into()))?;
    // The workspace standardises on the ring provider (as kube-rs does).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
