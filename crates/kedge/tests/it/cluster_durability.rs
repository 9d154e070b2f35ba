//! `kedge cluster serve` loses no acknowledged write when killed with
//! SIGKILL during a write storm: after a restart on the same data directory
//! every acknowledged object is there, and the watch history replays every
//! acknowledged create in strictly increasing resourceVersion order.
//!
//! The server runs with `--insecure-http` on loopback so the test can speak
//! plain HTTP/1.1 with a few lines of std networking.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kills the server (SIGKILL) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kedge cluster serve` and waits for its "listening" line.
fn start(data: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args([
            "cluster",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "--data",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start kedge");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (server, addr)
}

/// One HTTP/1.1 request on a keep-alive connection; returns (status, body).
fn request(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: kedge\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut status_line = String::new();
    if reader.read_line(&mut status_line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed",
        ));
    }
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
    } else {
        out.resize(length, 0);
        reader.read_exact(&mut out)?;
    }
    Ok((code, String::from_utf8_lossy(&out).into_owned()))
}

#[test]
fn sigkill_during_a_write_storm_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (server, addr) = start(&data);

    let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let acked = acked.clone();
        let stop = stop.clone();
        let addr = addr.clone();
        writers.push(std::thread::spawn(move || {
            let Ok(mut stream) = TcpStream::connect(&addr) else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            for i in 0..100_000 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let name = format!("storm-{w}-{i}");
                let body = format!(
                    r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"i":"{i}"}}}}"#
                );
                match request(&mut stream, "POST", "/api/v1/namespaces/default/configmaps", &body) {
                    Ok((201, text)) => {
                        let v: serde_json::Value = serde_json::from_str(&text).expect("created object");
                        let rv = v["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
                        acked.lock().unwrap().push((name, rv));
                    }
                    Ok((code, text)) => panic!("unexpected {code}: {text}"),
                    Err(_) => return, // the server died mid-request: not acknowledged
                }
            }
        }));
    }
    // Let the storm run until a few hundred writes are acknowledged, then kill.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 400 && Instant::now() < deadline {
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(server); // SIGKILL while the writers are still writing
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer thread");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 400,
        "only {} writes were acknowledged",
        acked.len()
    );

    let (_server, addr) = start(&data);
    let mut stream = TcpStream::connect(&addr).expect("connect after restart");
    let (code, text) = request(
        &mut stream,
        "GET",
        "/api/v1/namespaces/default/configmaps",
        "",
    )
    .unwrap();
    assert_eq!(code, 200);
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let stored: std::collections::HashMap<String, u64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_string(),
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
            )
        })
        .collect();
    for (name, rv) in &acked {
        assert_eq!(
            stored.get(name),
            Some(rv),
            "acknowledged {name} at {rv} is missing or changed"
        );
    }

    // The history replays every acknowledged create, in increasing order.
    let (code, text) = request(
        &mut stream,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1",
        "",
    )
    .unwrap();
    assert_eq!(code, 200);
    let mut last = 0u64;
    let mut replayed = std::collections::HashSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let ev: serde_json::Value = serde_json::from_str(line).unwrap();
        let rv: u64 = ev["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv > last, "resourceVersions go backwards: {last} then {rv}");
        last = rv;
        if ev["type"] == "ADDED" {
            replayed.insert(
                ev["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    for (name, _) in &acked {
        assert!(
            replayed.contains(name),
            "{name} is not in the watch history"
        );
    }
}
