//! Renders a kustomization directory like `kubectl kustomize DIR`
//! (a development aid; the product command is `kedge render`).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: render DIR");
        return ExitCode::from(2);
    };
    let dir = match std::path::absolute(&dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match kedge_kustomize::Kustomizer::new().build(&kedge_kustomize::OsFileSystem, &dir) {
        Ok(r) => {
            for w in &r.warnings {
                eprintln!("{w}");
            }
            let _ = std::io::stdout().lock().write_all(r.to_yaml().as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
