//! The `kustomization.yaml` file: its types (v5.5 field set) and loading.
//!
//! Fields are deserialised strictly (an unknown field fails the build, as
//! kustomize's strict JSON decoding does). Legacy spellings are fixed up the
//! way kustomize's `FixKustomization` does (`bases` join `resources`,
//! `imageTags` join `images`), and deprecated fields produce the warnings
//! kubectl prints on stderr.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// File names a kustomization directory may use, in lookup order.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A `kustomization.yaml` (or Component).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Kustomization {
    pub api_version: String,
    pub kind: String,
    pub metadata: Option<Value>,
    #[serde(rename = "openapi")]
    pub open_api: Option<Map<String, Value>>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    pub common_labels: Option<Map<String, Value>>,
    pub labels: Vec<Label>,
    pub common_annotations: Option<Map<String, Value>>,
    pub patches_strategic_merge: Vec<String>,
    #[serde(rename = "patchesJson6902")]
    pub patches_json6902: Vec<Patch>,
    pub patches: Vec<Patch>,
    pub images: Vec<Image>,
    pub image_tags: Vec<Image>,
    pub replacements: Vec<ReplacementField>,
    pub replicas: Vec<Replica>,
    pub vars: Vec<Var>,
    pub sort_options: Option<SortOptions>,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub bases: Vec<String>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub helm_globals: Option<Value>,
    pub helm_charts: Vec<Value>,
    pub helm_chart_inflation_generator: Vec<Value>,
    pub generator_options: Option<GeneratorOptions>,
    pub configurations: Vec<String>,
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    pub validators: Vec<String>,
    pub build_metadata: Vec<String>,
}

/// An entry of `labels:`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Label {
    pub pairs: Map<String, Value>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<FieldSpecDoc>,
}

/// A field spec as written in configuration files.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldSpecDoc {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    #[serde(rename = "create")]
    pub create: bool,
}

/// A patch target selector.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Selector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

/// A `patches:` / `patchesJson6902:` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Patch {
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
    pub options: Map<String, Value>,
}

/// An `images:` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Image {
    pub name: String,
    pub new_name: String,
    pub new_tag: Value,
    pub digest: String,
    pub tag_suffix: String,
}

/// A `replicas:` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

/// A `replacements:` entry: inline, or a `path` to a file of replacements.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ReplacementField {
    /// `- path: file.yaml`
    Path {
        /// The file.
        path: String,
    },
    /// An inline replacement.
    Inline(Value),
}

/// A `vars:` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Var {
    pub name: String,
    #[serde(rename = "objref")]
    pub obj_ref: VarTarget,
    #[serde(rename = "fieldref")]
    pub field_ref: VarFieldRef,
}

/// The object a var reads from.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VarTarget {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub api_version: String,
}

/// The field a var reads.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VarFieldRef {
    pub field_path: String,
}

/// `sortOptions:`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SortOptions {
    pub order: String,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LegacySortOptions {
    pub order_first: Vec<String>,
    pub order_last: Vec<String>,
}

/// A `configMapGenerator` / `secretGenerator` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GeneratorArgs {
    pub name: String,
    pub namespace: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub env: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub options: Option<GeneratorOptions>,
}

/// `generatorOptions` / per-generator `options`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GeneratorOptions {
    pub labels: Option<Map<String, Value>>,
    pub annotations: Option<Map<String, Value>>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

impl Kustomization {
    /// Parses a kustomization document and applies kustomize's fix-ups.
    /// Returns the kustomization and the deprecation warnings it triggers.
    pub fn from_value(doc: Value) -> Result<(Kustomization, Vec<String>)> {
        let mut doc = match doc {
            Value::Null => Value::Object(Map::new()),
            other => other,
        };
        normalize_keys(&mut doc, Level::Top);
        let mut k: Kustomization = serde_json::from_value(doc)
            .map_err(|e| Error::InvalidKustomization(format!("json: {e}")))?;
        let mut warnings = Vec::new();
        let dep = |old: &str, new: &str| {
            format!(
                "# Warning: '{old}' is deprecated. Please use '{new}' instead. Run 'kustomize edit fix' to update your Kustomization automatically."
            )
        };
        if !k.bases.is_empty() {
            warnings.push(dep("bases", "resources"));
            let bases = std::mem::take(&mut k.bases);
            k.resources.extend(bases);
        }
        if !k.patches_strategic_merge.is_empty() {
            warnings.push(dep("patchesStrategicMerge", "patches"));
        }
        if !k.patches_json6902.is_empty() {
            warnings.push(dep("patchesJson6902", "patches"));
        }
        if k.common_labels.is_some() {
            warnings.push(dep("commonLabels", "labels"));
        }
        if !k.image_tags.is_empty() {
            warnings.push(dep("imageTags", "images"));
            let tags = std::mem::take(&mut k.image_tags);
            k.images.extend(tags);
        }
        if !k.vars.is_empty() {
            warnings.push(dep("vars", "replacements"));
        }
        if k.kind.is_empty() {
            k.kind = "Kustomization".into();
        }
        if k.kind == "Component"
            && !k.api_version.is_empty()
            && k.api_version != "kustomize.config.k8s.io/v1alpha1"
        {
            return Err(Error::InvalidKustomization(
                "apiVersion for Component should be kustomize.config.k8s.io/v1alpha1".into(),
            ));
        }
        if let Some(so) = &k.sort_options {
            if so.legacy_sort_options.is_some() && so.order != "legacy" {
                return Err(Error::InvalidKustomization(
                    "the field 'sortOptions.legacySortOptions' is set but 'sortOptions.order' is not set to 'legacy'".into(),
                ));
            }
            if so.order.is_empty() {
                return Err(Error::InvalidKustomization(
                    "the field 'sortOptions.order' must be one of [fifo, legacy]".into(),
                ));
            }
        }
        if k.kind != "Kustomization" && k.kind != "Component" {
            return Err(Error::InvalidKustomization(format!(
                "kind should be Kustomization or Component, got {}",
                k.kind
            )));
        }
        Ok((k, warnings))
    }
}

/// Converts a YAML map of scalars to ordered string pairs.
pub(crate) fn string_pairs(m: &Map<String, Value>) -> Vec<(String, String)> {
    m.iter()
        .map(|(k, v)| (k.clone(), crate::resource::scalar_text(v)))
        .collect()
}

/// Where in the document a map sits (for case-insensitive field names).
#[derive(Clone, Copy)]
enum Level {
    Top,
    Var,
    VarTarget,
    FieldRef,
    Patch,
    Selector,
    Generator,
    Options,
    Image,
    Replica,
    Label,
    Sort,
    LegacySort,
    Leaf,
}

fn fields(level: Level) -> &'static [&'static str] {
    match level {
        Level::Top => &[
            "apiVersion",
            "kind",
            "metadata",
            "openapi",
            "namePrefix",
            "nameSuffix",
            "namespace",
            "commonLabels",
            "labels",
            "commonAnnotations",
            "patchesStrategicMerge",
            "patchesJson6902",
            "patches",
            "images",
            "imageTags",
            "replacements",
            "replicas",
            "vars",
            "sortOptions",
            "resources",
            "components",
            "crds",
            "bases",
            "configMapGenerator",
            "secretGenerator",
            "helmGlobals",
            "helmCharts",
            "helmChartInflationGenerator",
            "generatorOptions",
            "configurations",
            "generators",
            "transformers",
            "validators",
            "buildMetadata",
        ],
        Level::Var => &["name", "objref", "fieldref"],
        Level::VarTarget => &[
            "group",
            "version",
            "kind",
            "name",
            "namespace",
            "apiVersion",
        ],
        Level::FieldRef => &["fieldPath"],
        Level::Patch => &["path", "patch", "target", "options"],
        Level::Selector => &[
            "group",
            "version",
            "kind",
            "name",
            "namespace",
            "labelSelector",
            "annotationSelector",
        ],
        Level::Generator => &[
            "name",
            "namespace",
            "behavior",
            "literals",
            "files",
            "envs",
            "env",
            "type",
            "options",
        ],
        Level::Options => &[
            "labels",
            "annotations",
            "disableNameSuffixHash",
            "immutable",
        ],
        Level::Image => &["name", "newName", "newTag", "digest", "tagSuffix"],
        Level::Replica => &["name", "count"],
        Level::Label => &["pairs", "includeSelectors", "includeTemplates", "fields"],
        Level::Sort => &["order", "legacySortOptions"],
        Level::LegacySort => &["orderFirst", "orderLast"],
        Level::Leaf => &[],
    }
}

fn child_level(level: Level, key: &str) -> Level {
    match (level, key) {
        (Level::Top, "vars") => Level::Var,
        (Level::Top, "patches" | "patchesJson6902") => Level::Patch,
        (Level::Top, "configMapGenerator" | "secretGenerator") => Level::Generator,
        (Level::Top, "generatorOptions") => Level::Options,
        (Level::Top, "images" | "imageTags") => Level::Image,
        (Level::Top, "replicas") => Level::Replica,
        (Level::Top, "labels") => Level::Label,
        (Level::Top, "sortOptions") => Level::Sort,
        (Level::Var, "objref") => Level::VarTarget,
        (Level::Var, "fieldref") => Level::FieldRef,
        (Level::Patch, "target") => Level::Selector,
        (Level::Generator, "options") => Level::Options,
        (Level::Sort, "legacySortOptions") => Level::LegacySort,
        _ => Level::Leaf,
    }
}

/// Go's `encoding/json` matches field names case-insensitively; so does
/// kustomize when it reads a kustomization. Keys are renamed to their
/// canonical spelling (maps of user data are left alone).
fn normalize_keys(v: &mut Value, level: Level) {
    match v {
        Value::Array(items) => {
            for it in items {
                normalize_keys(it, level);
            }
        }
        Value::Object(m) => {
            let known = fields(level);
            if known.is_empty() {
                return;
            }
            let old = std::mem::take(m);
            for (k, mut val) in old {
                let canon = known
                    .iter()
                    .find(|f| f.eq_ignore_ascii_case(&k))
                    .map(|f| f.to_string())
                    .unwrap_or(k);
                normalize_keys(&mut val, child_level(level, &canon));
                m.insert(canon, val);
            }
        }
        _ => {}
    }
}
