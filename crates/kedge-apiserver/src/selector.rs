//! Label and field selectors as list and watch filters.
//!
//! Label selectors follow apimachinery's grammar (`k=v`, `k==v`, `k!=v`,
//! `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, comma = AND). Field selectors
//! support `=`, `==` and `!=` on `metadata.name`, `metadata.namespace` and the
//! per-kind fields the real server indexes; anything else is refused with
//! the real message. A private stand-in until `kedge-core` provides them.

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::object;
use crate::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (empty = everything).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<LabelReq>);

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 317
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Splits on commas that are not inside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

impl LabelSelector {
    pub(crate) fn parse(s: &str) -> Result<LabelSelector, ApiError> {
        let bad = |why: &str| ApiError::bad_request(format!("unable to parse requirement: {why}"));
        let mut reqs = Vec::new();
        let s = s.trim();
        if s.is_empty() {
            return Ok(LabelSelector(reqs));
        }
        for part in split_top(s) {
            let part = part.trim();
            if part.is_empty() {
                return Err(bad("found '', expected: identifier"));
            }
            let req = if let Some(k) = part.strip_prefix('!') {
                LabelReq::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                LabelReq::NotEq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once("==") {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once('=') {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some(open) = part.find('(') {
                let head = part[..open].trim();
                let list = part[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| bad(&format!("found '{part}', expected: ')'")))?;
                let values: Vec<String> = list.split(',').map(|v| v.trim().to_string()).collect();
                let (key, op) = head
                    .rsplit_once(char::is_whitespace)
                    .ok_or_else(|| bad(&format!("found '{head}', expected: in, notin")))?;
                match op {
                    "in" => LabelReq::In(key.trim().to_string(), values),
                    "notin" => LabelReq::NotIn(key.trim().to_string(), values),
                    other => return Err(bad(&format!("found '{other}', expected: in, notin"))),
                }
            } else {
                LabelReq::Exists(part.to_string())
            };
            let (key, values): (&str, Vec<&str>) = match &req {
                LabelReq::Eq(k, v) | LabelReq::NotEq(k, v) => (k, vec![v.as_str()]),
                LabelReq::In(k, vs) | LabelReq::NotIn(k, vs) => {
                    (k, vs.iter().map(String::as_str).collect())
                }
                LabelReq::Exists(k) | LabelReq::NotExists(k) => (k, vec![]),
            };
            if !valid_key(key) {
                return Err(bad(&format!("invalid label key \"{key}\"")));
            }
            if let Some(v) = values.iter().find(|v| !valid_value(v)) {
                return Err(bad(&format!("invalid label value: \"{v}\"")));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        let labels = object::labels(obj);
        self.matches_with(|k| labels.and_then(|l| l.get(k)).and_then(Value::as_str))
    }

    /// Matches against the labels of a [`RawMeta`].
    pub(crate) fn matches_raw(&self, meta: &RawMeta<'_>) -> bool {
        self.matches_with(|k| meta.label(k))
    }

    fn matches_with<'v>(&self, get: impl Fn(&str) -> Option<&'v str>) -> bool {
        self.0.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        })
    }

    /// A selector from a `matchLabels` map (used by the scale subresource).
    pub(crate) fn to_string_from_match_labels(selector: &Value) -> String {
        let mut parts = Vec::new();
        if let Some(m) = selector.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
            }
        }
        if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let values: Vec<&str> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "In" => parts.push(format!("{key} in ({})", values.join(","))),
                    "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
                    "Exists" => parts.push(key.to_string()),
                    "DoesNotExist" => parts.push(format!("!{key}")),
                    _ => {}
                }
            }
        }
        parts.join(",")
    }
}

/// A parsed field selector (empty = everything).
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldSelector(Vec<(String, bool, String)>);

/// Fields the real server indexes per kind, besides `metadata.name` / `metadata.namespace`.
fn supported_fields(info: &ResourceInfo) -> &'static [&'static str] {
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "events") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "replicationcontrollers") => &["status.replicas"],
        ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    }
}

impl FieldSelector {
    pub(crate) fn parse(s: &str, info: &ResourceInfo) -> Result<FieldSelector, ApiError> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector(reqs));
        }
        for part in s.split(',') {
            let part = part.trim();
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector: invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            let ok = field == "metadata.name"
                || field == "metadata.namespace"
                || supported_fields(info).contains(&field);
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push((field.to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every requirement is on `metadata.name` or
    /// `metadata.namespace`, so [`FieldSelector::matches_raw`] can decide.
    pub(crate) fn is_metadata_only(&self) -> bool {
        self.0
            .iter()
            .all(|(f, _, _)| matches!(f.as_str(), "metadata.name" | "metadata.namespace"))
    }

    /// Matches a [`RawMeta`]; only for [`FieldSelector::is_metadata_only`] selectors.
    pub(crate) fn matches_raw(&self, meta: &RawMeta<'_>) -> bool {
        self.0.iter().all(|(field, eq, want)| {
            let got = match field.as_str() {
                "metadata.name" => meta.metadata.name.as_deref().unwrap_or(""),
                _ => meta.metadata.namespace.as_deref().unwrap_or(""),
            };
            (got == want) == *eq
        })
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, want)| {
            let got = match field.as_str() {
                "source" => object::path(obj, "source.component").cloned(),
                f => object::path(obj, f).cloned(),
            };
            let got = match got {
                Some(Value::String(s)) => s,
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (got == *want) == *eq
        })
    }
}

/// The parts of a stored object that label and metadata field selectors
/// look at, read straight from its JSON bytes: serde skips everything else
/// without building it, which makes filtering a LIST or a watch several
/// times cheaper than decoding whole objects.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct RawMeta<'a> {
    #[serde(borrow, default)]
    metadata: RawObjectMeta<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RawObjectMeta<'a> {
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    labels:
        Option<std::collections::BTreeMap<std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>>>,
}

impl<'a> RawMeta<'a> {
    /// Reads the metadata of a stored object; None when it is not JSON.
    pub(crate) fn parse(raw: &'a [u8]) -> Option<RawMeta<'a>> {
        serde_json::from_slice(raw).ok()
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.metadata.labels.as_ref()?.get(key).map(AsRef::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Label selectors decide alike on decoded objects and on raw bytes.
    #[test]
    fn raw_and_decoded_label_matching_agree() {
        let objects = [
            json!({"metadata": {"name": "a", "namespace": "n", "labels": {"app": "web", "tier": "db"}}, "data": {"x": "y"}}),
            json!({"metadata": {"name": "b", "labels": {"app": "api\u{e9}", "esc\"aped": "v\\1"}}}),
            json!({"metadata": {"name": "c"}}),
            json!({"kind": "X", "spec": {"metadata": {"labels": {"app": "web"}}}}),
        ];
        let selectors = [
            "app=web",
            "app!=web",
            "app in (web,api\u{e9})",
            "app notin (web)",
            "tier",
            "!tier",
            "app=web,tier=db",
            "esc\"aped=v\\1",
            "",
        ];
        for sel in selectors {
            let Ok(ls) = LabelSelector::parse(sel) else {
                continue;
            };
            for obj in &objects {
                let raw = serde_json::to_vec(obj).unwrap();
                let meta = RawMeta::parse(&raw).expect("parses");
                assert_eq!(ls.matches(obj), ls.matches_raw(&meta), "{sel} on {obj}");
            }
        }
    }
}
