//! The committed data is exactly what `tools/schema/generate.py` derives
//! from the pinned `kubernetes-validate` wheel. Runs only when the wheel is
//! in the generator's cache (`$XDG_CACHE_HOME/kedge/schema` or
//! `~/.cache/kedge/schema`) and python3 is present; otherwise it says why it
//! skipped.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, ensure};

const WHEEL: &str = "kubernetes_validate-1.37.0-py3-none-any.whl";

#[test]
fn committed_data_matches_generator() -> Result<()> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    let Some(wheel) = cache.map(|c| c.join("kedge/schema").join(WHEEL)) else {
        println!("skipping: no cache directory");
        return Ok(());
    };
    if !wheel.exists() {
        println!(
            "skipping: {} is not cached (run tools/schema/generate.py once to fetch it)",
            wheel.display()
        );
        return Ok(());
    }
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = crate_dir.join("../../tools/schema/generate.py");
    let out = tempfile::tempdir()?;
    let status = match Command::new("python3")
        .arg(&script)
        .arg("--wheel")
        .arg(&wheel)
        .arg("--out")
        .arg(out.path())
        .status()
    {
        Ok(s) => s,
        Err(e) => {
            println!("skipping: python3 unavailable: {e}");
            return Ok(());
        }
    };
    ensure!(status.success(), "generator failed: {status}");
    for file in ["types-v1.33.json", "descriptions-v1.33.json"] {
        let fresh = std::fs::read(out.path().join(file))?;
        let committed = std::fs::read(crate_dir.join("data").join(file))?;
        ensure!(
            fresh == committed,
            "{file} differs from the generator's output"
        );
    }
    Ok(())
}
