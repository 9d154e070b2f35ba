//! `Table` output for custom resources: `NAME`, then the version's
//! `additionalPrinterColumns` (or `AGE` when it declares none). Column
//! paths are the JSONPath subset CRDs use: `.a.b`, `[n]`, `[*]` and filters
//! `[?(@.field=="value")]`. Cells carry the selected values (several joined
//! with commas, none as null); `date` cells are ages, as the real server's
//! table convertor renders them.

use serde_json::{Value, json};

use super::{CustomResource, PrinterColumn};
use crate::catalog::ResourceInfo;
use crate::handlers::Query;
use crate::object;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter {
        field: Vec<String>,
        equals: Option<String>,
    },
}

fn parse_path(path: &str) -> Vec<Step> {
    let p = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    let chars: Vec<char> = p.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let start = i + 1;
                let mut depth = 0;
                while i < chars.len() {
                    match chars[i] {
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                i += 1;
                let inner = inner.trim();
                if inner == "*" {
                    steps.push(Step::All);
                } else if let Ok(n) = inner.parse::<usize>() {
                    steps.push(Step::Index(n));
                } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                    let f = f.trim();
                    let (lhs, rhs) = match f.split_once("==") {
                        Some((l, r)) => (
                            l.trim(),
                            Some(r.trim().trim_matches(|c| c == '"' || c == '\'').to_string()),
                        ),
                        None => (f, None),
                    };
                    let field = lhs
                        .trim_start_matches('@')
                        .split('.')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect();
                    steps.push(Step::Filter { field, equals: rhs });
                } else {
                    let key = inner.trim_matches(|c| c == '"' || c == '\'').to_string();
                    steps.push(Step::Field(key));
                }
            }
            _ => {
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                steps.push(Step::Field(chars[start..i].iter().collect()));
            }
        }
    }
    steps
}

fn eval<'a>(steps: &[Step], v: &'a Value, out: &mut Vec<&'a Value>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    match step {
        Step::Field(f) => {
            if let Some(next) = v.get(f.as_str()) {
                eval(rest, next, out);
            }
        }
        Step::Index(n) => {
            if let Some(next) = v.get(*n) {
                eval(rest, next, out);
            }
        }
        Step::All => match v {
            Value::Array(a) => a.iter().for_each(|x| eval(rest, x, out)),
            Value::Object(m) => m.values().for_each(|x| eval(rest, x, out)),
            _ => {}
        },
        Step::Filter { field, equals } => {
            for item in v.as_array().into_iter().flatten() {
                let mut cur = Some(item);
                for f in field {
                    cur = cur.and_then(|c| c.get(f.as_str()));
                }
                let keep = match (cur, equals) {
                    (Some(x), Some(want)) => match x {
                        Value::String(s) => s == want,
                        other => serde_json::from_str::<Value>(want).ok().as_ref() == Some(other),
                    },
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if keep {
                    eval(rest, item, out);
                }
            }
        }
    }
}

/// The values a column path selects in `obj`.
pub(crate) fn select<'a>(path: &str, obj: &'a Value) -> Vec<&'a Value> {
    let mut out = Vec::new();
    eval(&parse_path(path), obj, &mut out);
    out
}

fn cell(col: &PrinterColumn, obj: &Value) -> Value {
    let values = select(&col.json_path, obj);
    let Some(first) = values.first() else {
        return Value::Null;
    };
    match col.kind.as_str() {
        "date" if values.len() == 1 => match first.as_str().and_then(object::age_seconds) {
            Some(secs) => json!(object::human_duration(secs)),
            None => (*first).clone(),
        },
        "integer" | "number" | "boolean" if values.len() == 1 => (*first).clone(),
        _ if values.len() == 1 => match first {
            Value::String(_) => (*first).clone(),
            other => json!(other.to_string()),
        },
        _ => json!(
            values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn columns(custom: &CustomResource) -> Vec<PrinterColumn> {
    let mut cols = vec![PrinterColumn {
        name: "Name".into(),
        kind: "string".into(),
        format: "name".into(),
        description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names".into(),
        priority: 0,
        json_path: ".metadata.name".into(),
    }];
    if custom.columns.is_empty() {
        cols.push(PrinterColumn {
            name: "Age".into(),
            kind: "date".into(),
            format: String::new(),
            description: "CreationTimestamp is a timestamp representing the server time when this object was created.".into(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".into(),
        });
    } else {
        cols.extend(custom.columns.iter().cloned());
    }
    cols
}

/// The Table of custom objects, or `None` for other resources.
pub(crate) fn table(
    info: &ResourceInfo,
    objects: &[Value],
    resource_version: &str,
    query: &Query,
    continue_token: Option<&str>,
) -> Option<Value> {
    let custom = info.custom.as_ref()?;
    let cols = columns(custom);
    let defs: Vec<Value> = cols
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    let include = query.get("includeObject").unwrap_or("Metadata");
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = cols.iter().map(|c| cell(c, o)).collect();
            let mut row = json!({"cells": cells});
            match include {
                "None" => {}
                "Object" => row["object"] = o.clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
                    })
                }
            }
            row
        })
        .collect();
    let mut meta = json!({"resourceVersion": resource_version});
    if let Some(c) = continue_token {
        meta["continue"] = json!(c);
    }
    Some(json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": defs,
        "rows": rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths() {
        let o = json!({"spec": {"size": 3, "items": [{"n": "a"}, {"n": "b"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Other", "status": "False"}]}});
        assert_eq!(select(".spec.size", &o), vec![&json!(3)]);
        assert_eq!(select(".spec.items[1].n", &o), vec![&json!("b")]);
        assert_eq!(select(".spec.items[*].n", &o).len(), 2);
        assert_eq!(
            select(".status.conditions[?(@.type==\"Ready\")].status", &o),
            vec![&json!("True")]
        );
        assert!(select(".spec.missing", &o).is_empty());
    }
}
