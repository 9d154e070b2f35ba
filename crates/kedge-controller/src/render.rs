//! Manifest generation from a checked-out source directory.
//!
//! The tool is detected as Argo CD detects it: a directory holding
//! `kustomization.yaml`, `kustomization.yml` or `Kustomization` is rendered
//! by the native Kustomize renderer (with the Application's `kustomize`
//! overrides written into a generated overlay); anything else is a plain
//! directory of YAML and JSON files, optionally recursive, filtered by the
//! `include`/`exclude` globs. Any file that fails to parse fails the whole
//! render, so a bad commit never produces a partial set of objects.
//!
//! Kustomize sources without overrides render straight from a read-only
//! view of the commit ([`render_view`] over `kedge_git::ViewFileSystem`),
//! so no snapshot is written; plain directories and overrides (which need
//! a generated overlay on disk) render from the materialised snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::ControllerError;
use crate::types::{ApplicationSource, DirectorySource};

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The tool a source directory is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// Kustomize.
    Kustomize,
    /// Plain YAML/JSON files.
    Directory,
}

/// Detects the tool of `dir`.
pub fn detect(dir: &Path) -> SourceType {
    if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
        SourceType::Kustomize
    } else {
        SourceType::Directory
    }
}

/// Renders `source` from the checkout at `root`.
pub fn render(root: &Path, source: &ApplicationSource) -> Result<Vec<Value>, ControllerError> {
    let rel = source.path.trim_matches('/');
    let dir = if rel.is_empty() || rel == "." {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    if rel.split('/').any(|c| c == "..") || !dir.is_dir() {
        return Err(ControllerError::Render {
            path: source.path.clone(),
            message: "path does not exist in the repository".to_string(),
        });
    }
    match detect(&dir) {
        SourceType::Kustomize => render_kustomize(&dir, source),
        SourceType::Directory => {
            let default = DirectorySource::default();
            render_directory(&dir, source.directory.as_ref().unwrap_or(&default))
        }
    }
}

/// Renders a Kustomize `source` without overrides straight from a view of
/// the commit (no snapshot written); `None` when the view's directory is
/// not a Kustomize directory or the Application overrides Kustomize
/// settings, for the caller to render a materialised snapshot instead.
pub fn render_view(
    fs: &kedge_git::ViewFileSystem,
    source: &ApplicationSource,
) -> Option<Result<Vec<Value>, ControllerError>> {
    if source
        .kustomize
        .as_ref()
        .is_some_and(|k| *k != Default::default())
    {
        return None;
    }
    let dir = fs.app_dir();
    let kustomize = KUSTOMIZATION_FILES
        .iter()
        .any(|f| dir.join(f).to_str().is_some_and(|p| fs.view().is_file(p)));
    if !kustomize {
        return None;
    }
    Some(
        kedge_kustomize::Kustomizer::new()
            .build(fs, &dir)
            .map(|out| out.objects)
            .map_err(|e| ControllerError::Render {
                path: source.path.clone(),
                message: e.to_string(),
            }),
    )
}

fn render_kustomize(dir: &Path, source: &ApplicationSource) -> Result<Vec<Value>, ControllerError> {
    let fs = kedge_kustomize::OsFileSystem;
    let err = |e: kedge_kustomize::Error| ControllerError::Render {
        path: source.path.clone(),
        message: e.to_string(),
    };
    let Some(k) = source
        .kustomize
        .as_ref()
        .filter(|k| **k != Default::default())
    else {
        return Ok(kedge_kustomize::Kustomizer::new()
            .build(&fs, dir)
            .map_err(err)?
            .objects);
    };
    // Overrides: a generated overlay next to the checkout's directory, in a
    // private copy so the shared snapshot stays read-only.
    let tmp = std::env::temp_dir().join(format!(
        "kedge-overlay-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    let copy = tmp.join("src");
    copy_dir(dir, &copy).map_err(|e| io_err(&source.path, e))?;
    let overlay = tmp.join("overlay");
    std::fs::create_dir_all(&overlay).map_err(|e| io_err(&source.path, e))?;
    let mut kz = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../src"],
    });
    if !k.name_prefix.is_empty() {
        kz["namePrefix"] = Value::String(k.name_prefix.clone());
    }
    if !k.name_suffix.is_empty() {
        kz["nameSuffix"] = Value::String(k.name_suffix.clone());
    }
    if !k.namespace.is_empty() {
        kz["namespace"] = Value::String(k.namespace.clone());
    }
    if !k.common_labels.is_empty() {
        kz["commonLabels"] = Value::Object(k.common_labels.clone());
    }
    if !k.common_annotations.is_empty() {
        kz["commonAnnotations"] = Value::Object(k.common_annotations.clone());
    }
    if !k.images.is_empty() {
        kz["images"] = Value::Array(k.images.iter().map(|i| image_override(i)).collect());
    }
    if !k.replicas.is_empty() {
        kz["replicas"] = Value::Array(k.replicas.clone());
    }
    if !k.patches.is_empty() {
        kz["patches"] = Value::Array(k.patches.clone());
    }
    if !k.components.is_empty() {
        kz["components"] = Value::Array(
            k.components
                .iter()
                .map(|c| Value::String(format!("../src/{c}")))
                .collect(),
        );
    }
    let text = serde_json::to_string(&kz).unwrap_or_default();
    std::fs::write(overlay.join("kustomization.yaml"), text)
        .map_err(|e| io_err(&source.path, e))?;
    let out = kedge_kustomize::Kustomizer::new().build(&fs, &overlay);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(out.map_err(err)?.objects)
}

fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn io_err(path: &str, e: std::io::Error) -> ControllerError {
    ControllerError::Render {
        path: path.to_string(),
        message: e.to_string(),
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `name=newName:tag`, `name:tag` or `name@digest` as a kustomize image.
fn image_override(spec: &str) -> Value {
    let (name, target) = spec.split_once('=').unwrap_or(("", spec));
    let mut out = serde_json::Map::new();
    let (image, digest) = match target.split_once('@') {
        Some((i, d)) => (i, Some(d)),
        None => (target, None),
    };
    let (image, tag) = match image.rsplit_once(':') {
        Some((i, t)) if !t.contains('/') => (i, Some(t)),
        _ => (image, None),
    };
    let name = if name.is_empty() { image } else { name };
    out.insert("name".into(), Value::String(name.to_string()));
    if image != name {
        out.insert("newName".into(), Value::String(image.to_string()));
    }
    if let Some(t) = tag {
        out.insert("newTag".into(), Value::String(t.to_string()));
    }
    if let Some(d) = digest {
        out.insert("digest".into(), Value::String(d.to_string()));
    }
    Value::Object(out)
}

/// The `(apiVersion, kind)` of every object without a namespace: the kinds
/// whose scope [`set_default_namespaces`] needs to know.
pub fn unnamespaced_kinds(objects: &[Value]) -> BTreeSet<(String, String)> {
    objects
        .iter()
        .filter(|o| {
            o.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        })
        .map(|o| {
            let field = |f: &str| o.get(f).and_then(Value::as_str).unwrap_or("").to_string();
            (field("apiVersion"), field("kind"))
        })
        .collect()
}

/// Sets `namespace` on objects without one whose kind is namespaced, as
/// Argo CD does for the destination namespace. `scopes` maps
/// `(apiVersion, kind)` to whether the kind is namespaced, `None` when the
/// cluster does not serve it yet (a CRD of the same sync): such kinds are
/// taken as namespaced, except CRDs and Namespaces. Returns false when some
/// scope had to be guessed that way.
pub fn set_default_namespaces(
    objects: &mut [Value],
    namespace: &str,
    scopes: &BTreeMap<(String, String), Option<bool>>,
) -> bool {
    let mut all_known = true;
    for obj in objects.iter_mut() {
        if obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            continue;
        }
        let field = |f: &str| obj.get(f).and_then(Value::as_str).unwrap_or("").to_string();
        let (api_version, kind) = (field("apiVersion"), field("kind"));
        let namespaced = match scopes.get(&(api_version, kind.clone())).copied().flatten() {
            Some(n) => n,
            None => {
                all_known = false;
                kind != "CustomResourceDefinition" && kind != "Namespace"
            }
        };
        if namespaced
            && !namespace.is_empty()
            && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }
    all_known
}

/// Renders a plain directory of manifests.
pub fn render_directory(dir: &Path, opts: &DirectorySource) -> Result<Vec<Value>, ControllerError> {
    let mut files = Vec::new();
    collect(dir, dir, opts, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for (rel, path) in files {
        let text = std::fs::read_to_string(&path).map_err(|e| io_err(&rel, e))?;
        let docs = parse_manifests(&text).map_err(|message| ControllerError::Render {
            path: rel.clone(),
            message,
        })?;
        for doc in docs {
            match doc {
                Value::Null => {}
                Value::Object(ref m) if m.get("kind").and_then(Value::as_str) == Some("List") => {
                    if let Some(items) = m.get("items").and_then(Value::as_array) {
                        out.extend(items.iter().cloned());
                    }
                }
                Value::Object(ref m) if m.contains_key("apiVersion") && m.contains_key("kind") => {
                    out.push(doc)
                }
                _ => {
                    return Err(ControllerError::Render {
                        path: rel,
                        message:
                            "document is not a Kubernetes object (apiVersion and kind are required)"
                                .to_string(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Parses a YAML (or JSON) stream into its documents.
pub fn parse_manifests(text: &str) -> Result<Vec<Value>, String> {
    let nodes = kedge_yaml::parse_stream(text, &kedge_yaml::Limits::default())
        .map_err(|e| e.to_string())?;
    nodes
        .iter()
        .map(|n| kedge_yaml::to_value(n).map_err(|e| e.to_string()))
        .collect()
}

fn collect(
    root: &Path,
    dir: &Path,
    opts: &DirectorySource,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), ControllerError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(&dir.display().to_string(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err(&dir.display().to_string(), e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            if opts.recurse {
                collect(root, &path, opts, out)?;
            }
            continue;
        }
        let ext_ok = [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e));
        if !ext_ok {
            continue;
        }
        if !opts.include.is_empty() && !glob_set_matches(&opts.include, &rel, &name) {
            continue;
        }
        if !opts.exclude.is_empty() && glob_set_matches(&opts.exclude, &rel, &name) {
            continue;
        }
        out.push((rel, path));
    }
    Ok(())
}

/// `{a,b}` or a single glob, matched against the relative path or the name.
fn glob_set_matches(set: &str, rel: &str, name: &str) -> bool {
    let inner = set
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(set);
    inner
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .any(|g| glob_match(g, rel) || glob_match(g, name))
}

/// `*` (any run of characters) and `?` (one character) glob matching.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_namespaces_follow_scope_and_guess_unknown_kinds() {
        let mut objs = vec![
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "own"}}),
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "c"}}),
            serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "d"}}),
        ];
        let kinds = unnamespaced_kinds(&objs);
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        let mut scopes = BTreeMap::new();
        scopes.insert(("v1".to_string(), "ConfigMap".to_string()), Some(true));
        scopes.insert(
            (
                "rbac.authorization.k8s.io/v1".to_string(),
                "ClusterRole".to_string(),
            ),
            Some(false),
        );
        assert!(set_default_namespaces(&mut objs[..3], "dest", &scopes));
        assert!(!set_default_namespaces(&mut objs, "dest", &scopes));
        let ns: Vec<Option<&str>> = objs
            .iter()
            .map(|o| o.pointer("/metadata/namespace").and_then(Value::as_str))
            .collect();
        assert_eq!(ns, [Some("dest"), Some("own"), None, Some("dest")]);
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.yaml", "a.yaml"));
        assert!(!glob_match("*.yaml", "a.json"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(glob_set_matches("{*.json,x*}", "dir/xa.yaml", "xa.yaml"));
        assert!(!glob_set_matches("{*.json,x*}", "dir/ya.yaml", "ya.yaml"));
    }

    #[test]
    fn images() {
        assert_eq!(
            image_override("nginx=nginx:1.27"),
            serde_json::json!({"name": "nginx", "newTag": "1.27"})
        );
        assert_eq!(
            image_override("nginx=reg.io/x/nginx:1.27"),
            serde_json::json!({"name": "nginx", "newName": "reg.io/x/nginx", "newTag": "1.27"})
        );
    }
}
