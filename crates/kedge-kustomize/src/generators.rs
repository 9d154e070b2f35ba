//! `configMapGenerator` and `secretGenerator`: literals, files (with optional
//! keys), env files, behaviours and options. Generated objects are marked
//! for a hash suffix unless `disableNameSuffixHash` is set; the suffix itself
//! is added once, at the end of the whole build, over the final content.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Result, build_err};
use crate::kustomization::{GeneratorArgs, GeneratorOptions, string_pairs};
use crate::loader::{BuildCtx, Loader};
use crate::resource::{Behavior, Resource};

/// kustomize's `removeQuotes`: strip one pair of matching surrounding quotes.
fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return s;
    }
    if b[0] == b'"' || b[0] == b'\'' {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn parse_literal(src: &str) -> Result<(String, String)> {
    if src.starts_with('=') {
        return Err(build_err(format!(
            "invalid literal source {src}, expected key=value"
        )));
    }
    match src.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), remove_quotes(v).to_string())),
        None => Err(build_err(format!(
            "invalid literal source {src}, expected key=value"
        ))),
    }
}

fn parse_env(text: &str, file: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let mut line = raw.strip_suffix('\r').unwrap_or(raw);
        if i == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k, v),
            None => (line, ""),
        };
        if k.is_empty() || k.contains(char::is_whitespace) {
            return Err(build_err(format!(
                "{k:?} is not a valid key name in env file {file}"
            )));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

fn file_key(src: &str) -> Result<(String, String)> {
    match src.split_once('=') {
        Some((k, p)) => {
            if k.is_empty() || p.is_empty() {
                return Err(build_err(format!(
                    "key or file path is missing in file source {src}"
                )));
            }
            Ok((k.to_string(), p.to_string()))
        }
        None => {
            let name = Path::new(src)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| src.to_string());
            Ok((name, src.to_string()))
        }
    }
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// kustomize's secret encoding: base64 broken into 70-character lines,
/// each followed by a newline once the text is 70 characters or longer.
fn b64_lines(data: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = b64(data);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

/// Merges kustomization-level options into a generator's own (the global
/// labels and annotations win, as in kustomize).
fn merged_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut o = local.cloned().unwrap_or_default();
    if let Some(g) = global {
        if let Some(gl) = &g.labels {
            let l = o.labels.get_or_insert_with(Map::new);
            for (k, v) in gl {
                l.insert(k.clone(), v.clone());
            }
        }
        if let Some(ga) = &g.annotations {
            let a = o.annotations.get_or_insert_with(Map::new);
            for (k, v) in ga {
                a.insert(k.clone(), v.clone());
            }
        }
        if g.disable_name_suffix_hash == Some(true) {
            o.disable_name_suffix_hash = Some(true);
        }
        if g.immutable == Some(true) {
            o.immutable = Some(true);
        }
    }
    o
}

/// Generates one ConfigMap (`secret == false`) or Secret.
pub(crate) fn generate(
    ctx: &BuildCtx<'_>,
    ldr: &Loader,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    secret: bool,
) -> Result<Resource> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |k: String, v: Vec<u8>| -> Result<()> {
        if pairs.iter().any(|(pk, _)| *pk == k) {
            return Err(build_err(format!(
                "cannot add key {k}, another key by that name already exists"
            )));
        }
        pairs.push((k, v));
        Ok(())
    };
    let mut envs = args.envs.clone();
    if !args.env.is_empty() {
        envs.push(args.env.clone());
    }
    for e in &envs {
        let text = ldr.load(ctx, e)?;
        for (k, v) in parse_env(&text, e)? {
            add(k, v.into_bytes())?;
        }
    }
    for l in &args.literals {
        let (k, v) = parse_literal(l)?;
        add(k, v.into_bytes())?;
    }
    for f in &args.files {
        let (k, p) = file_key(f)?;
        if ldr.is_dir(ctx, &p) {
            return Err(build_err(format!("{p} is a directory")));
        }
        add(k, ldr.load_bytes(ctx, &p)?)?;
    }

    let opts = merged_options(args.options.as_ref(), global);
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert(
        "kind".into(),
        Value::String(if secret { "Secret" } else { "ConfigMap" }.into()),
    );
    let mut md = Map::new();
    md.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        md.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if let Some(l) = &opts.labels
        && !l.is_empty()
    {
        let m: Map<String, Value> = string_pairs(l)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        md.insert("labels".into(), Value::Object(m));
    }
    if let Some(a) = &opts.annotations
        && !a.is_empty()
    {
        let m: Map<String, Value> = string_pairs(a)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        md.insert("annotations".into(), Value::Object(m));
    }
    obj.insert("metadata".into(), Value::Object(md));
    if secret {
        let t = if args.type_.is_empty() {
            "Opaque"
        } else {
            &args.type_
        };
        obj.insert("type".into(), Value::String(t.to_string()));
        if !pairs.is_empty() {
            let data: Map<String, Value> = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(b64_lines(&v))))
                .collect();
            obj.insert("data".into(), Value::Object(data));
        }
    } else if !pairs.is_empty() {
        let mut data = Map::new();
        let mut binary = Map::new();
        for (k, v) in pairs {
            match String::from_utf8(v) {
                Ok(text) => {
                    data.insert(k, Value::String(text));
                }
                Err(e) => {
                    binary.insert(k, Value::String(b64_lines(e.as_bytes())));
                }
            }
        }
        if !binary.is_empty() {
            obj.insert("binaryData".into(), Value::Object(binary));
        }
        if !data.is_empty() {
            obj.insert("data".into(), Value::Object(data));
        }
    }
    if opts.immutable == Some(true) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut r = Resource::new(Value::Object(obj));
    r.needs_hash = opts.disable_name_suffix_hash != Some(true);
    r.behavior = match args.behavior.as_str() {
        "" | "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        other => return Err(build_err(format!("unknown generator behavior '{other}'"))),
    };
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_env() {
        assert_eq!(parse_literal("a=\"b\"").unwrap(), ("a".into(), "b".into()));
        assert_eq!(parse_literal("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_literal("=x").is_err());
        let e = parse_env("# c\nA=1\n\n  B='x'\n", "f").unwrap();
        assert_eq!(
            e,
            vec![("A".into(), "1".into()), ("B".into(), "'x'".into())]
        );
        assert_eq!(b64(b"hello"), "aGVsbG8=");
    }
}
