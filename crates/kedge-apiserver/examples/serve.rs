//! Runs the embedded API server in the foreground:
//! `cargo run -p kedge-apiserver --example serve -- 127.0.0.1:6443 DIR`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:6443".into())
        .parse()?;
    let dir = args.next().unwrap_or_else(|| "kedge-data".into());
    let handle =
        kedge_apiserver::ApiServer::start(kedge_apiserver::Config::new(listen, dir)).await?;
    println!(
        "listening on {} (kubeconfig: {})",
        handle.local_addr(),
        handle.kubeconfig_path().display()
    );
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
