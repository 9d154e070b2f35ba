//! Rough throughput numbers of the embedded API server over plain HTTP on
//! loopback: concurrent creates per second, the latency of a LIST of every
//! created ConfigMap, and watch fan-out latency to many watchers.
//! `cargo run --release -p kedge-apiserver --example perf -- [writes] [watchers]`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn request(stream: &mut TcpStream, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    // One write per request (with TCP_NODELAY): split writes would meet
    // Nagle's algorithm and delayed ACKs and measure 40 ms stalls instead.
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: kedge\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.set_nodelay(true).unwrap();
    stream.write_all(req.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut out = vec![0; length];
    reader.read_exact(&mut out).unwrap();
    (code, out)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let writes: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let watchers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Runtime::new()?;
    let mut config = kedge_apiserver::Config::new("127.0.0.1:0".parse()?, dir.path());
    config.insecure_http = true;
    let handle = rt.block_on(kedge_apiserver::ApiServer::start(config))?;
    let addr = handle.local_addr().to_string();

    let threads = 32;
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let mut i = t;
                while i < writes {
                    let body = format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-{i:05}","labels":{{"n":"{}"}}}},"data":{{"k":"v"}}}}"#, i % 10);
                    let (code, _) = request(&mut s, "POST", "/api/v1/namespaces/default/configmaps", &body);
                    assert_eq!(code, 201);
                    i += threads;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "creates: {writes} in {secs:.2}s = {:.0} writes/s ({threads} clients)",
        writes as f64 / secs
    );

    let mut s = TcpStream::connect(&addr)?;
    for label in ["", "?labelSelector=n%3D3"] {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            let (code, body) = request(
                &mut s,
                "GET",
                &format!("/api/v1/namespaces/default/configmaps{label}"),
                "",
            );
            assert_eq!(code, 200);
            best = best.min(t.elapsed());
            std::hint::black_box(body);
        }
        println!(
            "LIST{label}: best of 5 = {:.1} ms",
            best.as_secs_f64() * 1000.0
        );
    }

    // Watch fan-out: N watchers, then timestamped writes; latency until each watcher sees each.
    let rv = handle.store().current_revision();
    let (tx, rx) = std::sync::mpsc::channel::<Duration>();
    let t0 = Instant::now();
    let mut readers = Vec::new();
    for _ in 0..watchers {
        let mut ws = TcpStream::connect(&addr)?;
        write!(
            ws,
            "GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=30 HTTP/1.1\r\nHost: kedge\r\n\r\n"
        )?;
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            let mut r = BufReader::new(ws);
            let mut line = String::new();
            let mut seen = 0;
            while seen < 50 {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if let Some(i) = line.find("\"sent\":\"") {
                    let rest = &line[i + 8..];
                    let nanos: u128 = rest[..rest.find('"').unwrap()].parse().unwrap();
                    let now = t0.elapsed().as_nanos();
                    let _ = tx.send(Duration::from_nanos((now - nanos) as u64));
                    seen += 1;
                }
            }
        }));
    }
    drop(tx);
    // Give watchers a moment to connect before timing.
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..50 {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"fan-{i}"}},"data":{{"sent":"{}"}}}}"#,
            t0.elapsed().as_nanos()
        );
        let (code, _) = request(
            &mut s,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &body,
        );
        assert_eq!(code, 201);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut lat: Vec<Duration> = rx.iter().collect();
    lat.sort();
    let p =
        |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "watch fan-out to {watchers} watchers: {} deliveries, p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        p(0.5),
        p(0.99)
    );
    for r in readers {
        let _ = r.join();
    }
    rt.block_on(handle.shutdown());
    Ok(())
}
