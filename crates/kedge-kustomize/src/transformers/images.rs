//! The image transformer (`images:`): rewrites `image` fields of every
//! `containers`/`initContainers` list found anywhere in an object (kustomize's
//! legacy filter), plus any configured image field specs.

use serde_json::Value;

use crate::error::Result;
use crate::fieldspec::{self, CreateKind, FieldSpec};
use crate::kustomization::Image;
use crate::resmap::ResMap;
use crate::resource::scalar_text;

/// kustomize's `image.Split`: name, tag, digest.
fn split(image: &str) -> (String, String, String) {
    let (search, offset) = match image.find('/') {
        Some(i) if i > 0 => (&image[i..], i),
        _ => (image, 0),
    };
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (None, Some(id)) => {
            let id = id + offset;
            (
                image[..id].to_string(),
                String::new(),
                image[id + 1..].to_string(),
            )
        }
        (Some(ic), Some(id)) if id < ic => {
            let id = id + offset;
            (
                image[..id].to_string(),
                String::new(),
                image[id + 1..].to_string(),
            )
        }
        (Some(ic), Some(id)) => {
            let (ic, id) = (ic + offset, id + offset);
            (
                image[..ic].to_string(),
                image[ic + 1..id].to_string(),
                image[id + 1..].to_string(),
            )
        }
        (Some(ic), None) => {
            let ic = ic + offset;
            (
                image[..ic].to_string(),
                image[ic + 1..].to_string(),
                String::new(),
            )
        }
    }
}

fn matcher(name: &str) -> Option<regex::Regex> {
    let pat = format!("^{name}(@sha256)?(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9]*)?$");
    regex::Regex::new(&pat).ok()
}

fn update(value: &str, img: &Image, re: Option<&regex::Regex>) -> Option<String> {
    if !value.starts_with(img.name.as_str())
        && !img
            .name
            .contains(['.', '*', '+', '?', '[', '(', '|', '\\', '^', '$', '{'])
    {
        return None;
    }
    if !re.is_some_and(|re| re.is_match(value)) {
        return None;
    }
    let (mut name, mut tag, mut digest) = split(value);
    if !img.new_name.is_empty() {
        name = img.new_name.clone();
    }
    let new_tag = match &img.new_tag {
        Value::Null => String::new(),
        v => scalar_text(v),
    };
    if !new_tag.is_empty() && !img.digest.is_empty() {
        tag = new_tag;
        digest = img.digest.clone();
    } else if !new_tag.is_empty() {
        tag = new_tag;
        digest = String::new();
    } else if !img.digest.is_empty() {
        tag = String::new();
        digest = img.digest.clone();
    }
    if !img.tag_suffix.is_empty() {
        tag.push_str(&img.tag_suffix);
    }
    let mut out = name;
    if !tag.is_empty() {
        out.push(':');
        out.push_str(&tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(&digest);
    }
    Some(out)
}

fn legacy(node: &mut Value, img: &Image, re: Option<&regex::Regex>) {
    match node {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if (k == "containers" || k == "initContainers") && v.is_array() {
                    for c in v.as_array_mut().into_iter().flatten() {
                        if let Some(Value::String(image)) = c.get_mut("image")
                            && let Some(n) = update(image, img, re)
                        {
                            *image = n;
                        }
                    }
                } else {
                    legacy(v, img, re);
                }
            }
        }
        Value::Array(items) => {
            for it in items {
                legacy(it, img, re);
            }
        }
        _ => {}
    }
}

/// Applies every `images:` entry to every resource.
pub(crate) fn run(m: &mut ResMap, images: &[Image], extra: &[FieldSpec]) -> Result<()> {
    for img in images {
        let re = matcher(&img.name);
        let re = re.as_ref();
        for r in &mut m.list {
            legacy(&mut r.obj, img, re);
            let gvk = r.gvk();
            for fs in extra {
                let mut set = |v: &mut Value| -> Result<()> {
                    if let Value::String(s) = v
                        && let Some(n) = update(s, img, re)
                    {
                        *s = n;
                    }
                    Ok(())
                };
                let fs = FieldSpec {
                    create: false,
                    ..fs.clone()
                };
                fieldspec::apply(&mut r.obj, &gvk, &fs, CreateKind::Scalar, &mut set)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_kustomize() {
        assert_eq!(
            split("nginx:1.2"),
            ("nginx".into(), "1.2".into(), String::new())
        );
        assert_eq!(
            split("host:5000/a/b:t@sha256:x"),
            ("host:5000/a/b".into(), "t".into(), "sha256:x".into())
        );
        assert_eq!(
            split("a@sha256:x"),
            ("a".into(), String::new(), "sha256:x".into())
        );
        let img = Image {
            name: "nginx".into(),
            new_tag: Value::String("2".into()),
            ..Default::default()
        };
        let re = matcher("nginx");
        assert_eq!(
            update("nginx:1", &img, re.as_ref()).as_deref(),
            Some("nginx:2")
        );
        assert_eq!(update("nginx-x:1", &img, re.as_ref()), None);
    }
}
