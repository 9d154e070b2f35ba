//! `kedge render DIR`: the Kustomize renderer on the command line. Prints
//! exactly what `kubectl kustomize DIR` prints; deprecation warnings go to
//! stderr. `--enable-helm` lets `helmCharts` run `helm template` (the one
//! place a process is spawned, here in the binary, never in the library).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::Context;
use kedge_kustomize::{HelmRunner, Kustomizer, LoadRestrictor, OsFileSystem};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The kustomization directory to build.
    dir: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", default_value = "yaml", value_parser = ["yaml", "json"])]
    output: String,
    /// Which files kustomizations may load: LoadRestrictionsRootOnly (rootOnly) or LoadRestrictionsNone (none).
    #[arg(long = "load-restrictor", default_value = "LoadRestrictionsRootOnly")]
    load_restrictor: String,
    /// Let `helmCharts` run `helm template` (needs `helm` on PATH).
    #[arg(long = "enable-helm")]
    enable_helm: bool,
    /// Refused: kedge never runs exec, Go or container plugins.
    #[arg(long = "enable-alpha-plugins")]
    enable_alpha_plugins: bool,
}

/// Runs `helm template` for one `helmCharts` entry.
struct HelmCli;

impl HelmRunner for HelmCli {
    fn template(
        &self,
        chart: &serde_json::Value,
        _globals: Option<&serde_json::Value>,
        root: &Path,
    ) -> Result<String, String> {
        let s = |k: &str| {
            chart
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let name = s("name");
        let release = if s("releaseName").is_empty() {
            name.clone()
        } else {
            s("releaseName")
        };
        let mut cmd = Command::new("helm");
        cmd.arg("template").arg(&release);
        let local = root.join("charts").join(&name);
        if local.is_dir() {
            cmd.arg(&local);
        } else {
            cmd.arg(&name);
            if !s("repo").is_empty() {
                cmd.arg("--repo").arg(s("repo"));
            }
            if !s("version").is_empty() {
                cmd.arg("--version").arg(s("version"));
            }
        }
        if !s("namespace").is_empty() {
            cmd.arg("--namespace").arg(s("namespace"));
        }
        if !s("valuesFile").is_empty() {
            cmd.arg("--values").arg(root.join(s("valuesFile")));
        }
        let mut values_file = None;
        if let Some(v) = chart.get("valuesInline") {
            let file = std::env::temp_dir().join(format!(
                "kedge-helm-values-{}-{}.json",
                std::process::id(),
                release
            ));
            std::fs::write(&file, v.to_string()).map_err(|e| e.to_string())?;
            cmd.arg("--values").arg(&file);
            values_file = Some(file);
        }
        if chart.get("includeCRDs").and_then(|v| v.as_bool()) == Some(true) {
            cmd.arg("--include-crds");
        }
        let out = cmd.output();
        if let Some(f) = values_file {
            let _ = std::fs::remove_file(f);
        }
        let out = out.map_err(|e| format!("helmCharts need the `helm` binary on PATH: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "helm template failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    if args.enable_alpha_plugins {
        anyhow::bail!(
            "--enable-alpha-plugins is not supported: kedge never runs exec, Go or container plugins"
        );
    }
    let restrictor: LoadRestrictor = args
        .load_restrictor
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("resolving {}", args.dir.display()))?;
    let mut k = Kustomizer::new().with_options(kedge_kustomize::Options {
        load_restrictor: restrictor,
        ..Default::default()
    });
    if args.enable_helm {
        k = k.with_helm_runner(Arc::new(HelmCli));
    }
    let result = k.build(&OsFileSystem, &dir);
    let rendered = result?;
    for w in &rendered.warnings {
        eprintln!("{w}");
    }
    let text = if args.output == "json" {
        rendered.to_json()
    } else {
        rendered.to_yaml()
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}
