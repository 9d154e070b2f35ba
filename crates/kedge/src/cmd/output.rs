//! Output shared by the cluster-facing commands: `-o` formats, kubectl-like
//! tables, colour and exit codes.
//!
//! Tables are aligned the way kubectl and argocd print them: every column
//! as wide as its widest cell, two spaces between columns, no trailing
//! blanks, headers in capitals. Colour marks statuses (green for
//! Synced/Healthy/Succeeded, yellow for OutOfSync/Progressing, red for
//! failures) and is used only when stdout is a terminal and `NO_COLOR` is
//! unset, so piped output is byte-for-byte the plain text. Widths are
//! measured before colouring.
//!
//! Exit codes are part of the interface: [`EXIT_OK`], [`EXIT_FAILURE`] (an
//! error, a missing object, a wait that timed out) and the two codes of
//! `kedge app diff`, [`EXIT_DIFFERENT`] and [`EXIT_DIFF_ERROR`].

use std::io::{IsTerminal as _, Write as _};

use serde_json::Value;

/// Success.
pub(crate) const EXIT_OK: i32 = 0;
/// An error, a missing object or a timeout.
pub(crate) const EXIT_FAILURE: i32 = 1;
/// `app diff`: live state differs from Git.
pub(crate) const EXIT_DIFFERENT: i32 = 1;
/// `app diff`: the comparison itself failed.
pub(crate) const EXIT_DIFF_ERROR: i32 = 2;

/// Exit codes as documented in `--help` of the cluster-facing commands.
pub(crate) const EXIT_CODES_HELP: &str = "Exit codes: 0 success; 1 error, object not found or timeout; \
`app diff` exits 0 when synced, 1 when out of sync, 2 on error.";

/// `-o` of list and get commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Human-readable table (the default).
    Table,
    /// Table with extra columns.
    Wide,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
    /// Names only, one per line.
    Name,
}

/// Whether to colour stdout.
pub(crate) fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Colours a status word when [`colour`] says so.
pub(crate) fn paint(status: &str) -> String {
    if !colour() {
        return status.to_string();
    }
    let code = match status {
        "Synced" | "Healthy" | "Succeeded" | "Running" => "32",
        "OutOfSync" | "Progressing" | "Suspended" | "Terminating" => "33",
        "Degraded" | "Failed" | "Error" | "Missing" | "SyncFailed" => "31",
        _ => return status.to_string(),
    };
    format!("\x1b[{code}m{status}\x1b[0m")
}

/// A table of text cells.
#[derive(Debug, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Columns whose cells are status words to colour.
    status_columns: Vec<usize>,
}

impl Table {
    /// A table with these column headers.
    pub(crate) fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Marks columns (by header) as status words to colour.
    pub(crate) fn status_columns(mut self, headers: &[&str]) -> Table {
        self.status_columns = self
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| headers.contains(&h.as_str()))
            .map(|(i, _)| i)
            .collect();
        self
    }

    /// Adds a row (missing cells are empty).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether there are no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The aligned text, one line per row, headers first.
    pub(crate) fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let paint_on = colour();
        let mut out = String::new();
        let mut line = |cells: &[String], is_header: bool| {
            let mut text = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let shown = if !is_header && paint_on && self.status_columns.contains(&i) {
                    paint(cell)
                } else {
                    cell.to_string()
                };
                text.push_str(&shown);
                if i + 1 < n {
                    let pad = width - cell.chars().count() + 2;
                    text.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.headers, true);
        for row in &self.rows {
            line(row, false);
        }
        out
    }
}

/// Prints objects in a machine format: one object as itself, several as a
/// kubectl-style `List` (JSON) or a multi-document stream (YAML).
pub(crate) fn print_objects(format: Format, objects: &[Value], single: bool) {
    let text = match format {
        Format::Json => {
            let v = if single && objects.len() == 1 {
                objects[0].clone()
            } else {
                serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects})
            };
            let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Yaml => kedge_yaml::emit_documents(objects),
        Format::Name => objects
            .iter()
            .map(|o| {
                format!(
                    "{}/{}\n",
                    o["kind"].as_str().unwrap_or("").to_lowercase(),
                    o["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect(),
        Format::Table | Format::Wide => String::new(),
    };
    out(&text);
}

/// Writes to stdout, ignoring a closed pipe (`kedge app list | head`).
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Ends the process with `code` after flushing stdout.
pub(crate) fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// A string field of a JSON object by pointer ("" when absent).
pub(crate) fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The first 7 characters of a commit SHA.
pub(crate) fn short_sha(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// Reads a manifest stream from a file or stdin (`-`) into JSON documents
/// (empty documents skipped).
pub(crate) fn read_manifests(path: &str) -> anyhow::Result<Vec<Value>> {
    use anyhow::Context as _;
    let text = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("reading standard input")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
    };
    let docs = kedge_controller::render::parse_manifests(&text)
        .map_err(|e| anyhow::anyhow!("parsing {path}: {e}"))?;
    let mut outv = Vec::new();
    for d in docs {
        match d {
            Value::Null => {}
            Value::Object(_) => outv.push(d),
            Value::Array(items) => outv.extend(items.into_iter().filter(Value::is_object)),
            _ => anyhow::bail!("parsing {path}: a document is not an object"),
        }
    }
    // `kind: List` documents hold their objects in `items`.
    let mut flat = Vec::new();
    for d in outv {
        if d["kind"].as_str().is_some_and(|k| k.ends_with("List"))
            && let Some(items) = d["items"].as_array()
        {
            flat.extend(items.iter().cloned());
        } else {
            flat.push(d);
        }
    }
    Ok(flat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_with_two_spaces_and_no_trailing_blanks() {
        let mut t = Table::new(&["NAME", "STATUS", "X"]);
        t.row(vec!["a".into(), "Synced".into(), "".into()]);
        t.row(vec!["longer-name".into(), "OutOfSync".into(), "1".into()]);
        assert_eq!(
            t.render(),
            "NAME         STATUS     X\na            Synced\nlonger-name  OutOfSync  1\n"
        );
    }
}
