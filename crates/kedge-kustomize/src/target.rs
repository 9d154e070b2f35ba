//! One kustomization directory and the build pipeline over it (kustomize's
//! `KustTarget` and `ResAccumulator`).
//!
//! `accumulate` follows v5.5's order: resources (files, nested
//! kustomizations), configurations, generators, components, then the
//! built-in transformers, then vars. The top-level build then adds the
//! generator hash suffixes, fixes name references, resolves vars, sorts and
//! cleans the objects for output.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result, build_err};
use crate::fieldspec::{FieldSpec, TransformerConfig, merge_fs};
use crate::generators;
use crate::hash;
use crate::kustomization::{
    KUSTOMIZATION_FILE_NAMES, Kustomization, Patch, ReplacementField, Selector, Var, string_pairs,
};
use crate::loader::{BuildCtx, Loader, looks_remote};
use crate::resmap::ResMap;
use crate::resource::{Resource, map_entry_text};
use crate::sort;
use crate::transformers::{
    annotations, images, labels, nameref, namespace, patches, prefix_suffix, replacements,
    replicas, vars,
};
use crate::yaml;

/// Resources plus the configuration and vars gathered so far.
#[derive(Default)]
pub(crate) struct Accumulator {
    pub(crate) res: ResMap,
    pub(crate) config: TransformerConfig,
    pub(crate) vars: Vec<Var>,
}

/// A loaded kustomization.
pub(crate) struct Target<'c, 'a> {
    ctx: &'c BuildCtx<'a>,
    ldr: Loader,
    pub(crate) k: Kustomization,
    /// The kustomization file, relative to the top-level build root.
    kfile: String,
}

fn wrap(context: impl Into<String>) -> impl FnOnce(Error) -> Error {
    let c = context.into();
    move |e| e.context(c)
}

impl<'c, 'a> Target<'c, 'a> {
    pub(crate) fn load(ctx: &'c BuildCtx<'a>, ldr: Loader) -> Result<Target<'c, 'a>> {
        let present: Vec<&str> = KUSTOMIZATION_FILE_NAMES
            .iter()
            .copied()
            .filter(|n| {
                let p = ldr.root.join(n);
                ctx.fs.exists(&p) && !ctx.fs.is_dir(&p)
            })
            .collect();
        let file = match present.as_slice() {
            [] => return Err(Error::MissingKustomization(ldr.root.clone())),
            [one] => *one,
            _ => {
                return Err(build_err(format!(
                    "Found multiple kustomization files under: {}",
                    ldr.root.display()
                )));
            }
        };
        let text = ldr.load(ctx, file)?;
        let doc = yaml::parse_one(&text, file, &ctx.limits.yaml)?;
        let (k, warnings) = Kustomization::from_value(doc)?;
        for w in warnings {
            ctx.warn(w);
        }
        let kfile = ctx.rel_to_top(&ldr.root.join(file));
        let t = Target { ctx, ldr, k, kfile };
        t.set_openapi()?;
        Ok(t)
    }

    /// Applies this kustomization's `openapi:` field (the first one wins).
    fn set_openapi(&self) -> Result<()> {
        let Some(o) = &self.k.open_api else {
            return Ok(());
        };
        let path = o.get("path").and_then(Value::as_str);
        let version = o.get("version").and_then(Value::as_str);
        if path.is_some() && version.is_some() {
            return Err(build_err(
                "builtin version and custom schema provided, cannot use both",
            ));
        }
        if let Some(v) = version
            && !matches!(v, "v1.21.2" | "v1.24.2" | "v1.27.1" | "v1.30.4" | "v1204")
        {
            return Err(build_err(format!(
                "the specified OpenAPI version {v} is not built in"
            )));
        }
        let schema = match path {
            Some(p) => {
                let text = self.ldr.load(self.ctx, p)?;
                let doc = yaml::parse_patches(&text, p, &self.ctx.limits.yaml)?
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Null);
                Some(std::rc::Rc::new(crate::merge2::CustomSchema::from_value(
                    &doc,
                )))
            }
            None => None,
        };
        let mut slot = self.ctx.openapi.borrow_mut();
        if slot.is_none() {
            *slot = Some(schema);
        }
        Ok(())
    }

    fn load_resources_file(&self, path: &str) -> Result<Vec<Resource>> {
        let text = self.ldr.load(self.ctx, path)?;
        let docs = yaml::parse_documents(&text, path, &self.ctx.limits.yaml)?;
        let mut res = resources_from_docs(docs, path)?;
        if self.ctx.origins.get() {
            let origin = format!("path: {}\n", self.ctx.rel_to_top(&self.ldr.join(path)));
            for r in &mut res {
                r.origin = Some(origin.clone());
            }
        }
        Ok(res)
    }

    fn generated_origin(&self, kind: &str) -> Option<String> {
        self.ctx.origins.get().then(|| {
            format!(
                "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n",
                self.kfile
            )
        })
    }

    /// Records that a built-in transformer of `kind` ran over every resource.
    fn note(&self, ra: &mut Accumulator, kind: &str) {
        if self.ctx.transformer_notes.get() {
            for r in &mut ra.res.list {
                r.transformations.push((
                    self.kfile.clone(),
                    format!("apiVersion: builtin\nkind: {kind}\n"),
                ));
            }
        }
    }

    fn accumulate_resources(&self, ra: &mut Accumulator, paths: &[String]) -> Result<()> {
        for path in paths {
            let full = self.ldr.join(path);
            let is_dir = self.ctx.fs.is_dir(&full);
            if !is_dir && (self.ctx.fs.exists(&full) || !looks_remote(path)) {
                let res = self
                    .load_resources_file(path)
                    .map_err(wrap(format!("accumulating resources from '{path}'")))?;
                ra.res
                    .append_all(res)
                    .map_err(wrap(format!("accumulating resources from '{path}'")))?;
                continue;
            }
            let sub = self
                .ldr
                .sub(self.ctx, path)
                .map_err(wrap(format!("accumulating resources from '{path}'")))?;
            self.accumulate_directory(ra, sub, false)
                .map_err(wrap(format!("accumulating resources from '{path}'")))?;
        }
        Ok(())
    }

    fn accumulate_directory(
        &self,
        ra: &mut Accumulator,
        ldr: Loader,
        component: bool,
    ) -> Result<()> {
        {
            let stack = self.ctx.stack.borrow();
            if stack.len() >= self.ctx.limits.max_depth {
                return Err(build_err(format!(
                    "kustomizations nest deeper than {} levels at '{}'",
                    self.ctx.limits.max_depth,
                    ldr.root.display()
                )));
            }
        }
        let root = ldr.root.clone();
        let sub = Target::load(self.ctx, ldr).map_err(wrap(format!(
            "couldn't make target for path '{}'",
            root.display()
        )))?;
        if component && sub.k.kind != "Component" {
            return Err(build_err(format!(
                "expected kind 'Component' for path '{}' but got '{}'",
                root.display(),
                sub.k.kind
            )));
        }
        if !component && sub.k.kind == "Component" {
            return Err(build_err(format!(
                "expected kind != 'Component' for path '{}'",
                root.display()
            )));
        }
        self.ctx.stack.borrow_mut().push(root.clone());
        let result = if component {
            sub.accumulate(ra)
        } else {
            let mut sub_ra = Accumulator::default();
            sub.accumulate(&mut sub_ra).and_then(|()| {
                ra.res.append_all(sub_ra.res.list)?;
                ra.config.merge(&sub_ra.config);
                merge_vars(&mut ra.vars, sub_ra.vars)
            })
        };
        self.ctx.stack.borrow_mut().pop();
        result
    }

    /// Runs this kustomization's pipeline into `ra`.
    pub(crate) fn accumulate(&self, ra: &mut Accumulator) -> Result<()> {
        self.accumulate_resources(ra, &self.k.resources)
            .map_err(wrap("accumulating resources"))?;
        let mut cfg = TransformerConfig::builtin().clone();
        for c in &self.k.configurations {
            let text = self.ldr.load(self.ctx, c)?;
            let doc = yaml::parse_one(&text, c, &self.ctx.limits.yaml)?;
            cfg.merge(&TransformerConfig::from_value(doc)?);
        }
        ra.config.merge(&cfg);
        for c in &self.k.crds {
            let text = self.ldr.load(self.ctx, c)?;
            let doc = yaml::parse_one(&text, c, &self.ctx.limits.yaml)?;
            ra.config.merge(&crate::fieldspec::config_from_crds(&doc));
        }
        self.run_generators(ra)?;
        for c in &self.k.components {
            let sub = self
                .ldr
                .sub(self.ctx, c)
                .map_err(wrap("accumulating components"))?;
            self.accumulate_directory(ra, sub, true)
                .map_err(wrap("accumulating components"))?;
        }
        self.run_transformers(ra)?;
        vars::bind(&mut ra.res, &self.k.vars)?;
        merge_vars(&mut ra.vars, self.k.vars.clone())?;
        Ok(())
    }

    fn run_generators(&self, ra: &mut Accumulator) -> Result<()> {
        let global = self.k.generator_options.as_ref();
        for (args, secret) in self
            .k
            .config_map_generator
            .iter()
            .map(|a| (a, false))
            .chain(self.k.secret_generator.iter().map(|a| (a, true)))
        {
            let mut r = generators::generate(self.ctx, &self.ldr, args, global, secret)?;
            r.origin = self.generated_origin(if secret {
                "SecretGenerator"
            } else {
                "ConfigMapGenerator"
            });
            ra.res.absorb(r).map_err(wrap("merging from generator"))?;
        }
        if !self.k.helm_charts.is_empty() {
            let helm = self.ctx.helm.ok_or_else(|| {
                Error::Helm(
                    "must specify --enable-helm to use helmCharts (and have helm on PATH)".into(),
                )
            })?;
            for chart in &self.k.helm_charts {
                let text = helm
                    .template(chart, self.k.helm_globals.as_ref(), &self.ldr.root)
                    .map_err(Error::Helm)?;
                let docs =
                    yaml::parse_documents(&text, "helm template output", &self.ctx.limits.yaml)?;
                for r in resources_from_docs(docs, "helm template output")? {
                    ra.res.absorb(r)?;
                }
            }
        }
        for g in &self.k.generators {
            self.run_plugin(ra, g, true)?;
        }
        Ok(())
    }

    fn patch_docs(&self, text: &str, what: &str) -> Result<Vec<Value>> {
        yaml::parse_patches(text, what, &self.ctx.limits.yaml)
    }

    fn patch_docs_string_meta(&self, text: &str, what: &str) -> Result<Vec<Value>> {
        yaml::parse_patches_string_meta(text, what, &self.ctx.limits.yaml)
    }

    fn patch_text(&self, p: &Patch) -> Result<(String, String)> {
        if !p.path.is_empty() {
            Ok((self.ldr.load(self.ctx, &p.path)?, p.path.clone()))
        } else {
            Ok((p.patch.clone(), "inline patch".to_string()))
        }
    }

    fn run_transformers(&self, ra: &mut Accumulator) -> Result<()> {
        let cfg = std::mem::take(&mut ra.config);
        let result = self.run_transformers_with(ra, &cfg);
        ra.config = cfg;
        result
    }

    fn run_transformers_with(&self, ra: &mut Accumulator, cfg: &TransformerConfig) -> Result<()> {
        let k = &self.k;
        // patchesStrategicMerge
        for entry in &k.patches_strategic_merge {
            let (text, what) = if entry.contains('\n') || !self.ldr.exists(self.ctx, entry) {
                if entry.contains('\n') || entry.contains(": ") {
                    (entry.clone(), "inline patch".to_string())
                } else {
                    (self.ldr.load(self.ctx, entry)?, entry.clone())
                }
            } else {
                (self.ldr.load(self.ctx, entry)?, entry.clone())
            };
            let docs = self.patch_docs_string_meta(&text, &what)?;
            if docs.is_empty() {
                return Err(build_err(format!(
                    "illegally qualifies as both an SM and JSON patch: [path: {what:?}]"
                )));
            }
            patches::apply_smp(
                &mut ra.res,
                &docs,
                None,
                &serde_json::Map::new(),
                self.ctx.schema().as_deref(),
            )?;
        }
        if !k.patches_strategic_merge.is_empty() {
            self.note(ra, "PatchStrategicMergeTransformer");
        }
        // patches
        for p in &k.patches {
            patches::check_entry(p)?;
            let (text, what) = self.patch_text(p)?;
            let docs = if p.target.is_some() {
                self.patch_docs_string_meta(&text, &what)?
            } else {
                self.patch_docs(&text, &what)?
            };
            if docs.is_empty() {
                return Err(build_err(format!(
                    "illegally qualifies as both an SM and JSON patch: [path: {what:?}]"
                )));
            }
            match patches::classify(docs) {
                patches::Parsed::Json(ops) => {
                    patches::apply_json(&mut ra.res, &ops, p.target.as_ref(), true)?
                }
                patches::Parsed::Smp(docs) => patches::apply_smp(
                    &mut ra.res,
                    &docs,
                    p.target.as_ref(),
                    &p.options,
                    self.ctx.schema().as_deref(),
                )?,
            }
            self.note(ra, "PatchTransformer");
        }
        if !k.namespace.is_empty() {
            namespace::run(&mut ra.res, &k.namespace, &cfg.namespace)?;
            self.note(ra, "NamespaceTransformer");
        }
        if !k.name_prefix.is_empty() {
            prefix_suffix::run(&mut ra.res, &k.name_prefix, true, &cfg.name_prefix)?;
            self.note(ra, "PrefixTransformer");
        }
        if !k.name_suffix.is_empty() {
            prefix_suffix::run(&mut ra.res, &k.name_suffix, false, &cfg.name_suffix)?;
            self.note(ra, "SuffixTransformer");
        }
        for l in &k.labels {
            let mut fss: Vec<FieldSpec> = Vec::new();
            if l.include_selectors {
                merge_fs(&mut fss, &cfg.common_labels);
            } else {
                merge_fs(
                    &mut fss,
                    &[FieldSpec {
                        gvk: Default::default(),
                        path: "metadata/labels".into(),
                        create: true,
                    }],
                );
                if l.include_templates {
                    merge_fs(&mut fss, &cfg.template_labels);
                }
            }
            merge_fs(&mut fss, &cfg.labels);
            for f in &l.fields {
                merge_fs(
                    &mut fss,
                    &[FieldSpec {
                        gvk: crate::resource::Gvk {
                            group: f.group.clone(),
                            version: f.version.clone(),
                            kind: f.kind.clone(),
                        },
                        path: f.path.clone(),
                        create: f.create,
                    }],
                );
            }
            labels::set_map_entries(&mut ra.res, &string_pairs(&l.pairs), &fss)?;
            self.note(ra, "LabelTransformer");
        }
        if let Some(cl) = &k.common_labels {
            labels::set_map_entries(&mut ra.res, &string_pairs(cl), &cfg.common_labels)?;
        }
        if k.common_labels.is_some() || !k.labels.is_empty() {
            self.note(ra, "LabelTransformer");
        }
        if let Some(ca) = &k.common_annotations {
            annotations::run(&mut ra.res, &string_pairs(ca), &cfg.common_annotations)?;
            self.note(ra, "AnnotationsTransformer");
        }
        for p in &k.patches_json6902 {
            let Some(t) = &p.target else {
                return Err(build_err("must specify a target for patch"));
            };
            let (text, what) = self.patch_text(p)?;
            let docs = self.patch_docs(&text, &what)?;
            let ops = match patches::classify(docs) {
                patches::Parsed::Json(ops) => ops,
                patches::Parsed::Smp(_) => {
                    return Err(build_err(format!(
                        "unable to parse JSON patch {what}: expected a list of operations"
                    )));
                }
            };
            let sel: Selector = t.clone();
            patches::apply_json(&mut ra.res, &ops, Some(&sel), false)?;
            self.note(ra, "PatchJson6902Transformer");
        }
        for rep in &k.replicas {
            replicas::run(&mut ra.res, std::slice::from_ref(rep), &cfg.replicas)?;
            self.note(ra, "ReplicaCountTransformer");
        }
        if !k.images.is_empty() {
            let builtin = &TransformerConfig::builtin().images;
            let extra: Vec<FieldSpec> = cfg
                .images
                .iter()
                .filter(|f| !builtin.contains(f))
                .cloned()
                .collect();
            for img in &k.images {
                images::run(&mut ra.res, std::slice::from_ref(img), &extra)?;
                self.note(ra, "ImageTagTransformer");
            }
        }
        if !k.replacements.is_empty() {
            let mut reps = Vec::new();
            for r in &k.replacements {
                match r {
                    ReplacementField::Path { path } => {
                        let text = self.ldr.load(self.ctx, path)?;
                        for doc in yaml::parse_patches(&text, path, &self.ctx.limits.yaml)? {
                            match doc {
                                Value::Array(items) => {
                                    for it in items {
                                        reps.push(replacements::Replacement::from_value(&it)?);
                                    }
                                }
                                other => reps.push(replacements::Replacement::from_value(&other)?),
                            }
                        }
                    }
                    ReplacementField::Inline(v) => {
                        reps.push(replacements::Replacement::from_value(v)?)
                    }
                }
            }
            replacements::run(&mut ra.res, &reps)?;
            self.note(ra, "ReplacementTransformer");
        }
        for t in &k.transformers {
            self.run_plugin(ra, t, false)?;
        }
        Ok(())
    }

    /// Runs a `generators:`/`transformers:` entry. Only built-in plugin
    /// configurations (files or inline documents) are supported; anything
    /// else needs plugins, which this renderer never runs.
    fn run_plugin(&self, ra: &mut Accumulator, entry: &str, generator: bool) -> Result<()> {
        let configured_in = if entry.contains('\n') || self.ldr.is_dir(self.ctx, entry) {
            self.kfile.clone()
        } else {
            self.ctx.rel_to_top(&self.ldr.join(entry))
        };
        let docs = if entry.contains('\n') {
            yaml::parse_patches(entry, "inline plugin configuration", &self.ctx.limits.yaml)?
        } else if self.ldr.is_dir(self.ctx, entry) {
            // A kustomization whose output is a list of plugin configurations.
            let sub = self.ldr.sub(self.ctx, entry)?;
            let t = Target::load(self.ctx, sub)?;
            let mut sub_ra = Accumulator::default();
            t.accumulate(&mut sub_ra)?;
            sub_ra.res.list.into_iter().map(|r| r.obj).collect()
        } else {
            let text = self.ldr.load(self.ctx, entry)?;
            yaml::parse_patches(&text, entry, &self.ctx.limits.yaml)?
        };
        for doc in docs {
            let s = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let md = |k: &str| {
                doc.get("metadata")
                    .and_then(|m| m.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let mut by = format!("apiVersion: {}\nkind: {}\n", s("apiVersion"), s("kind"));
            if !md("name").is_empty() {
                by.push_str(&format!("name: {}\n", md("name")));
            }
            if !md("namespace").is_empty() {
                by.push_str(&format!("namespace: {}\n", md("namespace")));
            }
            let before = ra.res.list.len();
            crate::plugins::run_builtin(self.ctx, &self.ldr, ra, &doc, generator)?;
            if generator {
                if self.ctx.origins.get() {
                    let mut origin = format!("configuredIn: {configured_in}\nconfiguredBy:\n");
                    for line in by.lines() {
                        origin.push_str("  ");
                        origin.push_str(line);
                        origin.push('\n');
                    }
                    for r in ra.res.list.iter_mut().skip(before) {
                        r.origin = Some(origin.clone());
                    }
                }
            } else if self.ctx.transformer_notes.get() {
                for r in &mut ra.res.list {
                    r.transformations.push((configured_in.clone(), by.clone()));
                }
            }
        }
        Ok(())
    }
}

fn merge_vars(dst: &mut Vec<Var>, src: Vec<Var>) -> Result<()> {
    for v in src {
        if dst.iter().any(|d| d.name == v.name) {
            return Err(build_err(format!("var '{}' already encountered", v.name)));
        }
        dst.push(v);
    }
    Ok(())
}

/// Turns parsed documents into resources, expanding `*List` kinds.
pub(crate) fn resources_from_docs(docs: Vec<Value>, file: &str) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for doc in docs {
        let Value::Object(m) = &doc else {
            return Err(Error::Yaml {
                file: file.to_string(),
                message: "expected a mapping at the document root".into(),
            });
        };
        if m.is_empty() {
            continue;
        }
        let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.ends_with("List")
            && let Some(Value::Array(items)) = m.get("items")
        {
            for it in items {
                if it.as_object().is_some_and(|o| !o.is_empty()) {
                    out.push(Resource::new(it.clone()));
                }
            }
            continue;
        }
        if kind.is_empty() {
            return Err(build_err(format!("missing kind in object from {file}")));
        }
        out.push(Resource::new(doc));
    }
    Ok(out)
}

/// Builds the kustomization at `dir` to output objects.
pub(crate) fn build(ctx: &BuildCtx<'_>, dir: &Path) -> Result<Vec<Value>> {
    let ldr = Loader::new(ctx, dir)?;
    ctx.stack.borrow_mut().push(ldr.root.clone());
    *ctx.top.borrow_mut() = ldr.root.clone();
    let top = Target::load(ctx, ldr)?;
    ctx.origins.set(
        top.k
            .build_metadata
            .iter()
            .any(|b| b == "originAnnotations"),
    );
    ctx.transformer_notes.set(
        top.k
            .build_metadata
            .iter()
            .any(|b| b == "transformerAnnotations"),
    );
    let mut ra = Accumulator::default();
    top.accumulate(&mut ra)?;
    for r in &mut ra.res.list {
        if r.needs_hash {
            let h = hash::resource_hash(&r.obj);
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
    }
    nameref::run(&mut ra.res, &ra.config.name_reference)?;
    vars::run(&mut ra.res, &ra.vars, &ra.config.var_reference)?;
    ra.res.list.retain(|r| {
        r.obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("config.kubernetes.io/local-config"))
            .and_then(Value::as_str)
            != Some("true")
    });
    sort::sort(&mut ra.res.list, top.k.sort_options.as_ref());
    let managed_by = top.k.build_metadata.iter().any(|b| b == "managedByLabel");
    let mut out = Vec::with_capacity(ra.res.list.len());
    for mut r in ra.res.list {
        if managed_by {
            let mut labels = r.labels();
            labels.retain(|(k, _)| k != "app.kubernetes.io/managed-by");
            labels.push((
                "app.kubernetes.io/managed-by".into(),
                "kustomize-(devel)".into(),
            ));
            r.set_string_map("labels", labels);
        }
        let mut notes = Vec::new();
        if let Some(o) = &r.origin {
            notes.push(("config.kubernetes.io/origin".to_string(), o.clone()));
        }
        if !r.transformations.is_empty() {
            let mut t = String::new();
            for (file, by) in &r.transformations {
                t.push_str(&format!("- configuredIn: {file}\n  configuredBy:\n"));
                for line in by.lines() {
                    t.push_str("    ");
                    t.push_str(line);
                    t.push('\n');
                }
            }
            notes.push(("alpha.config.kubernetes.io/transformations".to_string(), t));
        }
        if !notes.is_empty() {
            let mut anns = r.annotations();
            anns.extend(notes);
            r.set_string_map("annotations", anns);
        }
        out.push(finish(r.obj));
    }
    Ok(out)
}

/// Output clean-up: annotations are strings, and an empty annotation map
/// disappears (kustomize rewrites annotations when it strips its own).
fn finish(mut obj: Value) -> Value {
    crate::untagged::resolve_all(&mut obj);
    if let Some(Value::Object(md)) = obj.get_mut("metadata") {
        let drop = match md.get_mut("annotations") {
            Some(Value::Object(a)) => {
                for (_, v) in a.iter_mut() {
                    if !v.is_string() {
                        *v = Value::String(map_entry_text(v));
                    }
                }
                a.is_empty()
            }
            Some(Value::Null) => true,
            _ => false,
        };
        if drop {
            md.remove("annotations");
        }
    }
    obj
}
