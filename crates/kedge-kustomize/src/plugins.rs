//! Built-in plugin configurations listed under `generators:` and
//! `transformers:` (`apiVersion: builtin`, `kind: LabelTransformer`, ...).
//! Each is mapped onto the same code the kustomization fields use. Exec,
//! Go and container plugins are never run.

use serde_json::{Map, Value};

use crate::error::{Result, build_err};
use crate::fieldspec::FieldSpec;
use crate::generators;
use crate::kustomization::{GeneratorArgs, Image, Replica, Selector, string_pairs};
use crate::loader::{BuildCtx, Loader};
use crate::target::Accumulator;
use crate::transformers::{
    images, labels, namespace, patches, prefix_suffix, replacements, replicas,
};
use crate::yaml;

fn field_specs(doc: &Value) -> Result<Vec<FieldSpec>> {
    let mut out = Vec::new();
    if let Some(Value::Array(items)) = doc.get("fieldSpecs") {
        for it in items {
            out.push(FieldSpec::from_value(it)?);
        }
    }
    Ok(out)
}

fn str_field<'a>(doc: &'a Value, k: &str) -> &'a str {
    doc.get(k).and_then(Value::as_str).unwrap_or("")
}

fn map_field(doc: &Value, k: &str) -> Vec<(String, String)> {
    match doc.get(k) {
        Some(Value::Object(m)) => string_pairs(m),
        _ => Vec::new(),
    }
}

/// Runs one built-in plugin configuration.
pub(crate) fn run_builtin(
    ctx: &BuildCtx<'_>,
    ldr: &Loader,
    ra: &mut Accumulator,
    doc: &Value,
    _generator: bool,
) -> Result<()> {
    let kind = str_field(doc, "kind");
    let api = str_field(doc, "apiVersion");
    if api != "builtin" && !api.starts_with("builtin") {
        return Err(build_err(format!(
            "plugin {kind} ({api}) is not a built-in plugin; external plugins are not supported (alpha plugins are disabled)"
        )));
    }
    match kind {
        "LabelTransformer" | "AnnotationsTransformer" => {
            let key = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            labels::set_map_entries(&mut ra.res, &map_field(doc, key), &field_specs(doc)?)
        }
        "NamespaceTransformer" => {
            let ns = doc
                .get("metadata")
                .map(|m| str_field(m, "namespace"))
                .unwrap_or("");
            namespace::run(&mut ra.res, ns, &field_specs(doc)?)
        }
        "PrefixTransformer" | "SuffixTransformer" | "PrefixSuffixTransformer" => {
            let fss = field_specs(doc)?;
            prefix_suffix::run(&mut ra.res, str_field(doc, "prefix"), true, &fss)?;
            prefix_suffix::run(&mut ra.res, str_field(doc, "suffix"), false, &fss)
        }
        "ImageTagTransformer" => {
            let img: Image =
                serde_json::from_value(doc.get("imageTag").cloned().unwrap_or(Value::Null))
                    .map_err(|e| build_err(format!("invalid ImageTagTransformer: {e}")))?;
            images::run(&mut ra.res, &[img], &field_specs(doc)?)
        }
        "ReplicaCountTransformer" => {
            let rep: Replica =
                serde_json::from_value(doc.get("replica").cloned().unwrap_or(Value::Null))
                    .map_err(|e| build_err(format!("invalid ReplicaCountTransformer: {e}")))?;
            replicas::run(&mut ra.res, &[rep], &field_specs(doc)?)
        }
        "PatchTransformer" | "PatchJson6902Transformer" => {
            let target: Option<Selector> = match doc.get("target") {
                Some(t) => Some(
                    serde_json::from_value(t.clone())
                        .map_err(|e| build_err(format!("invalid target: {e}")))?,
                ),
                None => None,
            };
            let text = if !str_field(doc, "path").is_empty() {
                ldr.load(ctx, str_field(doc, "path"))?
            } else if !str_field(doc, "patch").is_empty() {
                str_field(doc, "patch").to_string()
            } else {
                str_field(doc, "jsonOp").to_string()
            };
            let docs = yaml::parse_patches(&text, "patch", &ctx.limits.yaml)?;
            let opts = doc
                .get("options")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            match patches::classify(docs) {
                patches::Parsed::Json(ops) => patches::apply_json(
                    &mut ra.res,
                    &ops,
                    target.as_ref(),
                    kind == "PatchTransformer",
                ),
                patches::Parsed::Smp(d) => patches::apply_smp(
                    &mut ra.res,
                    &d,
                    target.as_ref(),
                    &opts,
                    ctx.schema().as_deref(),
                ),
            }
        }
        "PatchStrategicMergeTransformer" => {
            let mut docs = Vec::new();
            if let Some(Value::Array(paths)) = doc.get("paths") {
                for p in paths {
                    let p = p.as_str().unwrap_or("");
                    docs.extend(yaml::parse_patches(
                        &ldr.load(ctx, p)?,
                        p,
                        &ctx.limits.yaml,
                    )?);
                }
            }
            if let Some(Value::String(p)) = doc.get("patches") {
                docs.extend(yaml::parse_patches(p, "patches", &ctx.limits.yaml)?);
            }
            patches::apply_smp(
                &mut ra.res,
                &docs,
                None,
                &Map::new(),
                ctx.schema().as_deref(),
            )
        }
        "ReplacementTransformer" => {
            let mut reps = Vec::new();
            if let Some(Value::Array(items)) = doc.get("replacements") {
                for it in items {
                    if let Some(p) = it.get("path").and_then(Value::as_str) {
                        for d in yaml::parse_patches(&ldr.load(ctx, p)?, p, &ctx.limits.yaml)? {
                            match d {
                                Value::Array(a) => {
                                    for x in a {
                                        reps.push(replacements::Replacement::from_value(&x)?);
                                    }
                                }
                                other => reps.push(replacements::Replacement::from_value(&other)?),
                            }
                        }
                    } else {
                        reps.push(replacements::Replacement::from_value(it)?);
                    }
                }
            }
            replacements::run(&mut ra.res, &reps)
        }
        "ConfigMapGenerator" | "SecretGenerator" => {
            let mut d = doc.as_object().cloned().unwrap_or_default();
            let md = d.remove("metadata").unwrap_or(Value::Null);
            d.remove("apiVersion");
            d.remove("kind");
            let mut opts = match d.remove("options") {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            for k in [
                "labels",
                "annotations",
                "disableNameSuffixHash",
                "immutable",
            ] {
                // Top-level labels/annotations are not generator options
                // in kustomize's plugin schema: they are ignored.
                if let Some(v) = d.remove(k)
                    && k != "labels"
                    && k != "annotations"
                {
                    opts.entry(k.to_string()).or_insert(v);
                }
            }
            if !opts.is_empty() {
                d.insert("options".into(), Value::Object(opts));
            }
            if !d.contains_key("name") {
                d.insert(
                    "name".into(),
                    Value::String(str_field(&md, "name").to_string()),
                );
            }
            if !d.contains_key("namespace") && !str_field(&md, "namespace").is_empty() {
                d.insert(
                    "namespace".into(),
                    Value::String(str_field(&md, "namespace").to_string()),
                );
            }
            let args: GeneratorArgs = serde_json::from_value(Value::Object(d))
                .map_err(|e| build_err(format!("invalid {kind}: {e}")))?;
            let r = generators::generate(ctx, ldr, &args, None, kind == "SecretGenerator")?;
            ra.res.absorb(r)
        }
        "IAMPolicyGenerator" => {
            let ks = doc.get("kubernetesService").cloned().unwrap_or(Value::Null);
            let sa = doc.get("serviceAccount").cloned().unwrap_or(Value::Null);
            if str_field(doc, "cloud") != "gke" {
                return Err(build_err(format!(
                    "IAMPolicyGenerator: unsupported cloud {:?}",
                    str_field(doc, "cloud")
                )));
            }
            let mut md = Map::new();
            md.insert(
                "name".into(),
                Value::String(str_field(&ks, "name").to_string()),
            );
            if !str_field(&ks, "namespace").is_empty() {
                md.insert(
                    "namespace".into(),
                    Value::String(str_field(&ks, "namespace").to_string()),
                );
            }
            let mut ann = Map::new();
            ann.insert(
                "iam.gke.io/gcp-service-account".into(),
                Value::String(format!(
                    "{}@{}.iam.gserviceaccount.com",
                    str_field(&sa, "name"),
                    str_field(&sa, "projectId")
                )),
            );
            md.insert("annotations".into(), Value::Object(ann));
            let mut obj = Map::new();
            obj.insert("apiVersion".into(), Value::String("v1".into()));
            obj.insert("kind".into(), Value::String("ServiceAccount".into()));
            obj.insert("metadata".into(), Value::Object(md));
            ra.res
                .absorb(crate::resource::Resource::new(Value::Object(obj)))
        }
        other => Err(build_err(format!(
            "unsupported builtin plugin kind '{other}'"
        ))),
    }
}
