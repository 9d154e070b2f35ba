//! The kubeconfig written to `DIR/kubeconfig` (mode 0600): cluster `kedge`
//! with the CA data, user `kedge-admin` with the token, context `kedge`.
//! Plain YAML that kubectl, client-go and kube-rs read as is.

use std::path::Path;

use base64::Engine;

use crate::Error;

pub(super) fn write(
    path: &Path,
    server: &str,
    ca_pem: Option<&str>,
    token: &str,
) -> Result<(), Error> {
    let ca = ca_pem
        .map(|pem| {
            format!(
                "    certificate-authority-data: {}\n",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kedge\n  cluster:\n    server: {server}\n{ca}contexts:\n- name: kedge\n  context:\n    cluster: kedge\n    user: kedge-admin\ncurrent-context: kedge\nusers:\n- name: kedge-admin\n  user:\n    token: {token}\npreferences: {{}}\n"
    );
    super::write_private(path, text.as_bytes())
}
