//! Field specs: "which fields does a transformer touch", and the transformer
//! configuration built from them.
//!
//! The built-in defaults are data (`data/builtin_config.json`, the facts of
//! kustomize's `builtinpluginconsts`); `configurations:` files and CRDs add
//! to them. [`walk`] follows one field-spec path through an object the way
//! kustomize's `fieldspec.Filter` does: sequences are traversed element by
//! element, missing maps are created when `create` is set, and a scalar in
//! the middle of the path is an error.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Result, build_err};
use crate::resource::Gvk;

/// One field spec: a GVK selector plus a slash-separated path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldSpec {
    pub(crate) gvk: Gvk,
    pub(crate) path: String,
    pub(crate) create: bool,
}

/// A name-reference rule: objects of `gvk` are referred to by `field_specs`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NameBackRef {
    pub(crate) gvk: Gvk,
    pub(crate) field_specs: Vec<FieldSpec>,
}

/// The field specs of every built-in transformer.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransformerConfig {
    pub(crate) name_prefix: Vec<FieldSpec>,
    pub(crate) name_suffix: Vec<FieldSpec>,
    pub(crate) namespace: Vec<FieldSpec>,
    pub(crate) common_labels: Vec<FieldSpec>,
    pub(crate) template_labels: Vec<FieldSpec>,
    pub(crate) labels: Vec<FieldSpec>,
    pub(crate) common_annotations: Vec<FieldSpec>,
    pub(crate) name_reference: Vec<NameBackRef>,
    pub(crate) var_reference: Vec<FieldSpec>,
    pub(crate) images: Vec<FieldSpec>,
    pub(crate) replicas: Vec<FieldSpec>,
    /// Holds the built-in defaults.
    pub(crate) has_builtin: bool,
    /// Holds anything beyond the built-in defaults.
    pub(crate) custom: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FsDoc {
    group: String,
    version: String,
    kind: String,
    path: String,
    create: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BackRefDoc {
    group: String,
    version: String,
    kind: String,
    field_specs: Vec<FsDoc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ConfigDoc {
    name_prefix: Vec<FsDoc>,
    name_suffix: Vec<FsDoc>,
    namespace: Vec<FsDoc>,
    common_labels: Vec<FsDoc>,
    template_labels: Vec<FsDoc>,
    labels: Vec<FsDoc>,
    common_annotations: Vec<FsDoc>,
    name_reference: Vec<BackRefDoc>,
    var_reference: Vec<FsDoc>,
    images: Vec<FsDoc>,
    replicas: Vec<FsDoc>,
}

fn conv(v: Vec<FsDoc>) -> Vec<FieldSpec> {
    v.into_iter().map(FieldSpec::from_doc).collect()
}

impl FieldSpec {
    fn from_doc(d: FsDoc) -> FieldSpec {
        FieldSpec {
            gvk: Gvk {
                group: d.group,
                version: d.version,
                kind: d.kind,
            },
            path: d.path,
            create: d.create,
        }
    }

    /// A field spec from a `fieldSpecs`-style JSON value.
    pub(crate) fn from_value(v: &Value) -> Result<FieldSpec> {
        let d: FsDoc = serde_json::from_value(v.clone())
            .map_err(|e| build_err(format!("invalid field spec: {e}")))?;
        Ok(FieldSpec::from_doc(d))
    }
}

impl TransformerConfig {
    /// Parses a `configurations:` document.
    pub(crate) fn from_value(v: Value) -> Result<TransformerConfig> {
        let doc: ConfigDoc = serde_json::from_value(v)
            .map_err(|e| build_err(format!("invalid transformer configuration: {e}")))?;
        Ok(TransformerConfig {
            name_prefix: conv(doc.name_prefix),
            name_suffix: conv(doc.name_suffix),
            namespace: conv(doc.namespace),
            common_labels: conv(doc.common_labels),
            template_labels: conv(doc.template_labels),
            labels: conv(doc.labels),
            common_annotations: conv(doc.common_annotations),
            name_reference: doc
                .name_reference
                .into_iter()
                .map(|b| NameBackRef {
                    gvk: Gvk {
                        group: b.group,
                        version: b.version,
                        kind: b.kind,
                    },
                    field_specs: conv(b.field_specs),
                })
                .collect(),
            var_reference: conv(doc.var_reference),
            images: conv(doc.images),
            replicas: conv(doc.replicas),
            has_builtin: false,
            custom: true,
        })
    }

    /// kustomize's built-in defaults.
    pub(crate) fn builtin() -> &'static TransformerConfig {
        static CFG: OnceLock<TransformerConfig> = OnceLock::new();
        CFG.get_or_init(|| {
            let v: Value = serde_json::from_str(include_str!("../data/builtin_config.json"))
                .expect("builtin config is valid JSON");
            let mut c = TransformerConfig::from_value(v).expect("builtin config is valid");
            c.has_builtin = true;
            c.custom = false;
            c
        })
    }

    /// Merges `other` into this configuration (duplicates are dropped).
    pub(crate) fn merge(&mut self, other: &TransformerConfig) {
        if other.has_builtin && !other.custom {
            if self.has_builtin {
                return;
            }
            if !self.custom {
                *self = other.clone();
                return;
            }
        }
        self.has_builtin |= other.has_builtin;
        self.custom |= other.custom;
        // kustomize's FsSlice merge: a spec for the same path whose GVK
        // selects (or is selected by) an existing one takes its place.
        fn add(dst: &mut Vec<FieldSpec>, src: &[FieldSpec]) {
            for fs in src {
                let same = dst.iter().position(|d| {
                    d.path == fs.path
                        && (fs.gvk.is_selected_by(&d.gvk) || d.gvk.is_selected_by(&fs.gvk))
                });
                match same {
                    Some(i) => dst[i] = fs.clone(),
                    None => dst.push(fs.clone()),
                }
            }
        }
        add(&mut self.name_prefix, &other.name_prefix);
        add(&mut self.name_suffix, &other.name_suffix);
        add(&mut self.namespace, &other.namespace);
        add(&mut self.common_labels, &other.common_labels);
        add(&mut self.template_labels, &other.template_labels);
        add(&mut self.labels, &other.labels);
        add(&mut self.common_annotations, &other.common_annotations);
        add(&mut self.var_reference, &other.var_reference);
        add(&mut self.images, &other.images);
        add(&mut self.replicas, &other.replicas);
        for b in &other.name_reference {
            match self.name_reference.iter_mut().find(|x| x.gvk == b.gvk) {
                Some(x) => add(&mut x.field_specs, &b.field_specs),
                None => self.name_reference.push(b.clone()),
            }
        }
    }
}

/// Merges field spec lists (duplicates dropped).
pub(crate) fn merge_fs(dst: &mut Vec<FieldSpec>, src: &[FieldSpec]) {
    for fs in src {
        if !dst.iter().any(|d| d.gvk == fs.gvk && d.path == fs.path) {
            dst.push(fs.clone());
        }
    }
}

/// Splits a field-spec path on `/`, honouring `\/` escapes.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// What kind of node to create at the end of a path when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CreateKind {
    Scalar,
    Map,
}

/// Follows `path` from `node`, calling `set` on every node found at its end.
pub(crate) fn walk(
    node: &mut Value,
    path: &[String],
    create: Option<CreateKind>,
    set: &mut dyn FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    if path.is_empty() {
        return set(node);
    }
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk(item, path, create, set)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (name, is_seq) = match path[0].strip_suffix("[]") {
                Some(n) => (n, true),
                None => (path[0].as_str(), false),
            };
            if name.is_empty() {
                return Err(build_err("cannot set or create an empty field name"));
            }
            let last = path.len() == 1;
            let kind = if create.is_none() || is_seq {
                None
            } else if last {
                create
            } else {
                Some(CreateKind::Map)
            };
            if !map.contains_key(name) {
                match kind {
                    None => return Ok(()),
                    Some(CreateKind::Scalar) => {
                        map.insert(name.to_string(), Value::String(String::new()));
                    }
                    Some(CreateKind::Map) => {
                        map.insert(name.to_string(), Value::Object(Map::new()));
                    }
                }
            }
            let field = map.get_mut(name).expect("present");
            if field.is_null() {
                match kind {
                    Some(CreateKind::Map) => *field = Value::Object(Map::new()),
                    Some(CreateKind::Scalar) => *field = Value::String(String::new()),
                    None if is_seq => *field = Value::Array(Vec::new()),
                    None => {}
                }
            }
            walk(field, &path[1..], create, set)
        }
        _ => Err(build_err(format!(
            "expected sequence or mapping node at path element '{}'",
            path[0]
        ))),
    }
}

/// Applies `set` at `fs`'s path when the resource's GVK is selected.
pub(crate) fn apply(
    obj: &mut Value,
    gvk: &Gvk,
    fs: &FieldSpec,
    create_kind: CreateKind,
    set: &mut dyn FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    if !gvk.is_selected_by(&fs.gvk) {
        return Ok(());
    }
    let path = split_path(&fs.path);
    let create = if fs.create { Some(create_kind) } else { None };
    walk(obj, &path, create, set).map_err(|e| {
        build_err(format!(
            "considering field '{}' of object {}: {e}",
            fs.path,
            gvk.display()
        ))
    })
}

/// Like [`walk`], but collects the concrete paths (keys and array indexes)
/// of the nodes at the end of `path`, creating missing ones as `walk` does.
pub(crate) fn collect_paths(
    node: &mut Value,
    path: &[String],
    create: Option<CreateKind>,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> Result<()> {
    if path.is_empty() {
        out.push(prefix.clone());
        return Ok(());
    }
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                prefix.push(i.to_string());
                let r = collect_paths(item, path, create, prefix, out);
                prefix.pop();
                r?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (name, is_seq) = match path[0].strip_suffix("[]") {
                Some(n) => (n, true),
                None => (path[0].as_str(), false),
            };
            let last = path.len() == 1;
            let kind = if create.is_none() || is_seq {
                None
            } else if last {
                create
            } else {
                Some(CreateKind::Map)
            };
            if !map.contains_key(name) {
                match kind {
                    None => return Ok(()),
                    Some(CreateKind::Scalar) => {
                        map.insert(name.to_string(), Value::String(String::new()));
                    }
                    Some(CreateKind::Map) => {
                        map.insert(name.to_string(), Value::Object(Map::new()));
                    }
                }
            }
            let field = map.get_mut(name).expect("present");
            if field.is_null() {
                match kind {
                    Some(CreateKind::Map) => *field = Value::Object(Map::new()),
                    Some(CreateKind::Scalar) => *field = Value::String(String::new()),
                    None if is_seq => *field = Value::Array(Vec::new()),
                    None => {}
                }
            }
            prefix.push(name.to_string());
            let r = collect_paths(field, &path[1..], create, prefix, out);
            prefix.pop();
            r
        }
        _ => Err(build_err(format!(
            "expected sequence or mapping node at path element '{}'",
            path[0]
        ))),
    }
}

/// Name references declared by CRD OpenAPI definitions (`crds:`): a
/// property annotated with `x-kubernetes-object-ref-kind` (and
/// `-api-version`) refers to an object of that kind by its `name`.
pub(crate) fn config_from_crds(doc: &Value) -> TransformerConfig {
    let mut cfg = TransformerConfig::default();
    let Some(defs) = doc.as_object() else {
        return cfg;
    };
    fn walk(
        defs: &Map<String, Value>,
        schema: &Value,
        kind: &str,
        path: &str,
        depth: usize,
        cfg: &mut TransformerConfig,
    ) {
        if depth > 16 {
            return;
        }
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (name, prop) in props {
            let p = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            let ref_kind = prop
                .get("x-kubernetes-object-ref-kind")
                .and_then(Value::as_str);
            if let Some(rk) = ref_kind {
                let version = prop
                    .get("x-kubernetes-object-ref-api-version")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let gvk = Gvk {
                    group: String::new(),
                    version: version.to_string(),
                    kind: rk.to_string(),
                };
                let fs = FieldSpec {
                    gvk: Gvk {
                        kind: kind.to_string(),
                        ..Gvk::default()
                    },
                    path: format!("{p}/name"),
                    create: false,
                };
                match cfg.name_reference.iter_mut().find(|b| b.gvk == gvk) {
                    Some(b) => merge_fs(&mut b.field_specs, &[fs]),
                    None => cfg.name_reference.push(NameBackRef {
                        gvk,
                        field_specs: vec![fs],
                    }),
                }
                continue;
            }
            if let Some(r) = prop.get("$ref").and_then(Value::as_str)
                && let Some(next) = defs.get(r).and_then(|d| d.get("Schema"))
            {
                walk(defs, next, kind, &p, depth + 1, cfg);
            }
        }
    }
    for (name, def) in defs {
        let kind = name.rsplit('.').next().unwrap_or(name);
        if let Some(schema) = def.get("Schema") {
            walk(defs, schema, kind, "", 0, &mut cfg);
        }
    }
    cfg.custom = !cfg.name_reference.is_empty();
    cfg
}
