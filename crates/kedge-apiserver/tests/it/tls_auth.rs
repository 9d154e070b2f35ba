//! TLS, bearer-token authentication and the kubeconfig.

use std::process::Command;

use crate::Cluster;

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (body.to_string(), code.to_string())
}

#[test]
fn anonymous_requests_reach_only_public_paths() {
    let Some(c) = Cluster::start() else { return };
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipping: curl is not installed");
        return;
    }
    let base = format!("https://{}", c.handle().local_addr());
    let ca = c.dir.path().join("data/ca.crt");
    let ca = ca.to_str().unwrap();
    let (body, code) = curl(&["--cacert", ca, &format!("{base}/version")]);
    assert_eq!(code, "200", "{body}");
    let (body, code) = curl(&["--cacert", ca, &format!("{base}/livez")]);
    assert_eq!((code.as_str(), body.as_str()), ("200", "ok"));
    let (body, code) = curl(&["--cacert", ca, &format!("{base}/api/v1/namespaces")]);
    assert_eq!(code, "401");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["reason"], "Unauthorized");
    let (_, code) = curl(&[
        "--cacert",
        ca,
        "-H",
        "Authorization: Bearer wrong",
        &format!("{base}/api/v1/namespaces"),
    ]);
    assert_eq!(code, "401");
    let auth = format!("Authorization: Bearer {}", c.handle().token());
    let (_, code) = curl(&[
        "--cacert",
        ca,
        "-H",
        &auth,
        &format!("{base}/api/v1/namespaces"),
    ]);
    assert_eq!(code, "200");
}

#[test]
fn token_and_certificates_survive_restart_and_files_are_private() {
    let Some(kubectl) = crate::kubectl_bin() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let start = || {
        rt.block_on(kedge_apiserver::ApiServer::start(
            kedge_apiserver::Config::new("127.0.0.1:0".parse().unwrap(), &data),
        ))
        .unwrap()
    };
    let first = start();
    let token = first.token().to_string();
    let ca = std::fs::read_to_string(data.join("ca.crt")).unwrap();
    rt.block_on(first.shutdown());
    let second = start();
    assert_eq!(second.token(), token);
    assert_eq!(std::fs::read_to_string(data.join("ca.crt")).unwrap(), ca);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["token", "server.key", "ca.key", "kubeconfig"] {
            let mode = std::fs::metadata(data.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    let out = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(second.kubeconfig_path())
        .args(["get", "ns", "default", "-o", "name"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "namespace/default",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rt.block_on(second.shutdown());
}

#[test]
fn insecure_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = kedge_apiserver::Config::new("0.0.0.0:0".parse().unwrap(), dir.path());
    config.insecure_http = true;
    let err = rt
        .block_on(kedge_apiserver::ApiServer::start(config))
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[test]
fn insecure_http_on_loopback_serves_kubectl() {
    let Some(kubectl) = crate::kubectl_bin() else {
        return;
    };
    let c = Cluster::start_with(kubectl, |cfg| cfg.insecure_http = true);
    let kc = std::fs::read_to_string(c.kubeconfig()).unwrap();
    assert!(kc.contains("server: http://127.0.0.1:"), "{kc}");
    assert!(
        c.ok(&["get", "ns", "-o", "name"])
            .contains("namespace/kube-system")
    );
}
