//! `ignoreDifferences`: fields removed from both sides of a comparison. A
//! rule matches objects by group, kind, name and namespace (each may be
//! empty or `*` for "any") and names fields by JSON pointer, by a bounded
//! subset of jq path expressions, or by the field managers that own them in
//! the live object's managedFields.
//!
//! The jq subset: `.a.b`, `.["key"]`, `."key"`, `[N]`, `[]`, and pipes into
//! `select(PATH == LITERAL)`, `select(PATH != LITERAL)`,
//! `select(PATH | startswith("s"))`, `select(PATH | endswith("s"))` or a
//! further path. Evaluation enumerates concrete paths under a budget of
//! visited nodes ([`JQ_BUDGET`]); an expression that exceeds it is an error,
//! never a hang.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SyncError;
use crate::object::ResourceKey;

/// Nodes a jq expression may visit per object.
pub const JQ_BUDGET: usize = 100_000;

/// One `ignoreDifferences` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceIgnoreDifferences {
    /// API group ("" core; "*" any).
    pub group: String,
    /// Kind ("*" or "" any).
    pub kind: String,
    /// Name ("" any).
    pub name: String,
    /// Namespace ("" any).
    pub namespace: String,
    /// RFC 6901 pointers.
    pub json_pointers: Vec<String>,
    /// jq path expressions.
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields are ignored.
    pub managed_fields_managers: Vec<String>,
}

fn field_matches(pattern: &str, value: &str, empty_is_any: bool) -> bool {
    (empty_is_any && pattern.is_empty()) || pattern == "*" || pattern == value
}

impl ResourceIgnoreDifferences {
    /// Whether the rule applies to an object.
    pub fn matches(&self, key: &ResourceKey) -> bool {
        field_matches(&self.group, &key.group, false)
            && field_matches(&self.kind, &key.kind, true)
            && field_matches(&self.name, &key.name, true)
            && field_matches(&self.namespace, &key.namespace, true)
    }
}

/// A step of a concrete path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathStep {
    /// Map key.
    Key(String),
    /// Array index.
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
    Iter,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Eq(Vec<Seg>, Value),
    Ne(Vec<Seg>, Value),
    StartsWith(Vec<Seg>, String),
    EndsWith(Vec<Seg>, String),
}

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Path(Vec<Seg>),
    Select(Cond),
}

/// A parsed jq path expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JqPath {
    text: String,
    stages: Vec<Stage>,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl<'a> Parser<'a> {
    fn err(&self, msg: &str) -> SyncError {
        SyncError::Ignore {
            expression: self.text.to_string(),
            message: format!("{msg} at offset {}", self.i),
        }
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, t: &str) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(t.as_bytes()) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn string(&mut self) -> Result<String, SyncError> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => {
                    return serde_json::from_str(&self.text[start..self.i])
                        .map_err(|_| self.err("bad string literal"));
                }
                _ => {}
            }
        }
        Err(self.err("unterminated string"))
    }
    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
                self.i += 1;
            } else {
                break;
            }
        }
        (self.i > start).then(|| self.text[start..self.i].to_string())
    }
    fn bracket(&mut self) -> Result<Seg, SyncError> {
        // after '['
        self.ws();
        if self.eat("]") {
            return Ok(Seg::Iter);
        }
        let seg = if self.peek() == Some(b'"') {
            Seg::Key(self.string()?)
        } else {
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            let n = self.text[start..self.i]
                .parse()
                .map_err(|_| self.err("expected an index, a string or ]"))?;
            Seg::Index(n)
        };
        if !self.eat("]") {
            return Err(self.err("expected ]"));
        }
        Ok(seg)
    }
    fn path(&mut self) -> Result<Vec<Seg>, SyncError> {
        let mut segs = Vec::new();
        self.ws();
        let mut first = true;
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'[') => {
                            self.i += 1;
                            segs.push(self.bracket()?);
                        }
                        Some(b'"') => segs.push(Seg::Key(self.string()?)),
                        _ => match self.ident() {
                            Some(id) => segs.push(Seg::Key(id)),
                            None if first => {} // `.` alone
                            None => return Err(self.err("expected a field name")),
                        },
                    }
                }
                Some(b'[') if !first => {
                    self.i += 1;
                    segs.push(self.bracket()?);
                }
                _ => break,
            }
            first = false;
        }
        if first {
            return Err(self.err("expected a path starting with ."));
        }
        Ok(segs)
    }
    fn literal(&mut self) -> Result<Value, SyncError> {
        self.ws();
        if self.peek() == Some(b'"') {
            return Ok(Value::String(self.string()?));
        }
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
        {
            self.i += 1;
        }
        serde_json::from_str(&self.text[start..self.i]).map_err(|_| self.err("expected a literal"))
    }
    fn select(&mut self) -> Result<Cond, SyncError> {
        let p = self.path()?;
        let cond = if self.eat("==") {
            Cond::Eq(p, self.literal()?)
        } else if self.eat("!=") {
            Cond::Ne(p, self.literal()?)
        } else if self.eat("|") {
            if self.eat("startswith(") {
                let s = self.string()?;
                Cond::StartsWith(p, s)
            } else if self.eat("endswith(") {
                let s = self.string()?;
                Cond::EndsWith(p, s)
            } else {
                return Err(self.err("expected startswith( or endswith("));
            }
        } else {
            return Err(self.err("expected ==, != or |"));
        };
        if matches!(cond, Cond::StartsWith(..) | Cond::EndsWith(..)) && !self.eat(")") {
            return Err(self.err("expected )"));
        }
        if !self.eat(")") {
            return Err(self.err("expected ) closing select"));
        }
        Ok(cond)
    }
}

impl JqPath {
    /// Parses an expression.
    pub fn parse(text: &str) -> Result<JqPath, SyncError> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        let mut stages = vec![Stage::Path(p.path()?)];
        loop {
            p.ws();
            if p.i >= p.s.len() {
                break;
            }
            if !p.eat("|") {
                return Err(p.err("expected |"));
            }
            if p.eat("select(") {
                stages.push(Stage::Select(p.select()?));
            } else {
                stages.push(Stage::Path(p.path()?));
            }
        }
        Ok(JqPath {
            text: text.to_string(),
            stages,
        })
    }

    /// The concrete paths the expression selects in `obj`.
    pub fn paths(&self, obj: &Value) -> Result<Vec<Vec<PathStep>>, SyncError> {
        let mut budget = JQ_BUDGET;
        let mut current = vec![Vec::new()];
        for stage in &self.stages {
            let mut next = Vec::new();
            for base in current {
                let Some(v) = get(obj, &base) else { continue };
                match stage {
                    Stage::Path(segs) => {
                        for p in expand(v, segs, &mut budget).map_err(|_| self.budget_err())? {
                            let mut full = base.clone();
                            full.extend(p);
                            next.push(full);
                        }
                    }
                    Stage::Select(c) => {
                        if eval_cond(v, c, &mut budget).map_err(|_| self.budget_err())? {
                            next.push(base);
                        }
                    }
                }
            }
            current = next;
        }
        Ok(current)
    }

    fn budget_err(&self) -> SyncError {
        SyncError::Ignore {
            expression: self.text.clone(),
            message: format!("evaluation budget of {JQ_BUDGET} steps exceeded"),
        }
    }
}

struct Exhausted;

fn spend(budget: &mut usize) -> Result<(), Exhausted> {
    if *budget == 0 {
        return Err(Exhausted);
    }
    *budget -= 1;
    Ok(())
}

fn expand(v: &Value, segs: &[Seg], budget: &mut usize) -> Result<Vec<Vec<PathStep>>, Exhausted> {
    let mut out: Vec<(Vec<PathStep>, &Value)> = vec![(Vec::new(), v)];
    for seg in segs {
        let mut next = Vec::new();
        for (path, val) in out {
            spend(budget)?;
            match (seg, val) {
                (Seg::Key(k), Value::Object(m)) => {
                    if let Some(c) = m.get(k) {
                        let mut p = path.clone();
                        p.push(PathStep::Key(k.clone()));
                        next.push((p, c));
                    }
                }
                (Seg::Index(i), Value::Array(a)) => {
                    if let Some(c) = a.get(*i) {
                        let mut p = path.clone();
                        p.push(PathStep::Index(*i));
                        next.push((p, c));
                    }
                }
                (Seg::Iter, Value::Array(a)) => {
                    for (i, c) in a.iter().enumerate() {
                        spend(budget)?;
                        let mut p = path.clone();
                        p.push(PathStep::Index(i));
                        next.push((p, c));
                    }
                }
                (Seg::Iter, Value::Object(m)) => {
                    for (k, c) in m {
                        spend(budget)?;
                        let mut p = path.clone();
                        p.push(PathStep::Key(k.clone()));
                        next.push((p, c));
                    }
                }
                _ => {}
            }
        }
        out = next;
    }
    Ok(out.into_iter().map(|(p, _)| p).collect())
}

fn values<'v>(v: &'v Value, segs: &[Seg], budget: &mut usize) -> Result<Vec<&'v Value>, Exhausted> {
    Ok(expand(v, segs, budget)?
        .into_iter()
        .filter_map(|p| get(v, &p))
        .collect())
}

fn eval_cond(v: &Value, c: &Cond, budget: &mut usize) -> Result<bool, Exhausted> {
    Ok(match c {
        Cond::Eq(p, lit) => values(v, p, budget)?.contains(&lit),
        Cond::Ne(p, lit) => {
            let vals = values(v, p, budget)?;
            vals.is_empty() && !lit.is_null() || vals.iter().any(|x| *x != lit)
        }
        Cond::StartsWith(p, s) => values(v, p, budget)?
            .iter()
            .any(|x| x.as_str().is_some_and(|x| x.starts_with(s.as_str()))),
        Cond::EndsWith(p, s) => values(v, p, budget)?
            .iter()
            .any(|x| x.as_str().is_some_and(|x| x.ends_with(s.as_str()))),
    })
}

/// The value at a concrete path.
pub fn get<'v>(v: &'v Value, path: &[PathStep]) -> Option<&'v Value> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (PathStep::Key(k), Value::Object(m)) => m.get(k)?,
            (PathStep::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the values at these paths (deepest and highest index first, so
/// removals do not shift each other).
pub fn remove_paths(v: &mut Value, mut paths: Vec<Vec<PathStep>>) {
    paths.sort();
    paths.dedup();
    for path in paths.into_iter().rev() {
        let Some((last, parent)) = path.split_last() else {
            *v = Value::Null;
            continue;
        };
        let mut cur = Some(&mut *v);
        for s in parent {
            cur = match (s, cur) {
                (PathStep::Key(k), Some(Value::Object(m))) => m.get_mut(k),
                (PathStep::Index(i), Some(Value::Array(a))) => a.get_mut(*i),
                _ => None,
            };
        }
        let Some(cur) = cur else { continue };
        match (last, cur) {
            (PathStep::Key(k), Value::Object(m)) => {
                m.shift_remove(k);
            }
            (PathStep::Index(i), Value::Array(a)) if *i < a.len() => {
                a.remove(*i);
            }
            _ => {}
        }
    }
}

/// Parses an RFC 6901 pointer into steps (numeric tokens index arrays when
/// the value is an array).
fn pointer_paths(v: &Value, pointer: &str) -> Vec<Vec<PathStep>> {
    if pointer.is_empty() {
        return vec![Vec::new()];
    }
    let mut path = Vec::new();
    let mut cur = v;
    for tok in pointer.trim_start_matches('/').split('/') {
        let tok = tok.replace("~1", "/").replace("~0", "~");
        match cur {
            Value::Object(m) => {
                let Some(n) = m.get(&tok) else { return vec![] };
                cur = n;
                path.push(PathStep::Key(tok));
            }
            Value::Array(a) => {
                let Some(i) = tok.parse::<usize>().ok() else {
                    return vec![];
                };
                let Some(n) = a.get(i) else { return vec![] };
                cur = n;
                path.push(PathStep::Index(i));
            }
            _ => return vec![],
        }
    }
    vec![path]
}

/// Concrete paths in `live` of the fields owned by `managers` according to
/// its `metadata.managedFields` (FieldsV1: `f:`, `k:`, `v:` and `i:` keys).
pub fn managed_paths(live: &Value, managers: &[String]) -> Vec<Vec<PathStep>> {
    let mut out = Vec::new();
    let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return out;
    };
    for e in entries {
        let m = e.get("manager").and_then(Value::as_str).unwrap_or("");
        if !managers.iter().any(|x| x == m) {
            continue;
        }
        if let Some(f) = e.get("fieldsV1") {
            walk_fields(live, f, &mut Vec::new(), &mut out);
        }
    }
    out
}

fn walk_fields(v: &Value, fields: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    let Some(map) = fields.as_object() else {
        return;
    };
    let children: Vec<_> = map.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if children.is_empty() {
        if !path.is_empty() {
            out.push(path.clone());
        }
        return;
    }
    for (k, sub) in children {
        if let Some(name) = k.strip_prefix("f:") {
            if let Some(c) = v.get(name) {
                path.push(PathStep::Key(name.to_string()));
                walk_fields(c, sub, path, out);
                path.pop();
            }
        } else if let Some(item) = k.strip_prefix("k:") {
            let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(item) else {
                continue;
            };
            if let Some(arr) = v.as_array()
                && let Some(i) = arr
                    .iter()
                    .position(|el| keys.iter().all(|(kk, kv)| el.get(kk) == Some(kv)))
            {
                path.push(PathStep::Index(i));
                walk_fields(&arr[i], sub, path, out);
                path.pop();
            }
        } else if let Some(item) = k.strip_prefix("v:") {
            let Ok(val) = serde_json::from_str::<Value>(item) else {
                continue;
            };
            if let Some(i) = v
                .as_array()
                .and_then(|a| a.iter().position(|el| *el == val))
            {
                path.push(PathStep::Index(i));
                walk_fields(&v[i], sub, path, out);
                path.pop();
            }
        } else if let Some(i) = k.strip_prefix("i:").and_then(|i| i.parse::<usize>().ok())
            && let Some(c) = v.get(i)
        {
            path.push(PathStep::Index(i));
            walk_fields(c, sub, path, out);
            path.pop();
        }
    }
}

/// Removes the ignored fields of every matching rule from both sides. The
/// live object must still carry its managedFields (call before
/// normalisation). Returns an error for malformed or over-budget jq.
pub fn apply_ignore_differences(
    rules: &[ResourceIgnoreDifferences],
    key: &ResourceKey,
    desired: Option<&mut Value>,
    live: Option<&mut Value>,
) -> Result<(), SyncError> {
    let rules: Vec<_> = rules.iter().filter(|r| r.matches(key)).collect();
    if rules.is_empty() {
        return Ok(());
    }
    let mut manager_paths = Vec::new();
    if let Some(l) = live.as_deref() {
        for r in &rules {
            manager_paths.extend(managed_paths(l, &r.managed_fields_managers));
        }
    }
    for obj in [desired, live].into_iter().flatten() {
        let mut paths = manager_paths.clone();
        for r in &rules {
            for p in &r.json_pointers {
                paths.extend(pointer_paths(obj, p));
            }
            for e in &r.jq_path_expressions {
                paths.extend(JqPath::parse(e)?.paths(obj)?);
            }
        }
        remove_paths(obj, paths);
    }
    Ok(())
}

/// `RespectIgnoreDifferences=true`: the ignored fields of `desired` take
/// their live values (or are dropped when the live object has none), so a
/// sync never overwrites what the rules say belongs to someone else.
pub fn respect_ignore_differences(
    rules: &[ResourceIgnoreDifferences],
    key: &ResourceKey,
    desired: &mut Value,
    live: &Value,
) -> Result<(), SyncError> {
    let rules: Vec<_> = rules.iter().filter(|r| r.matches(key)).collect();
    if rules.is_empty() {
        return Ok(());
    }
    let mut paths = Vec::new();
    for r in &rules {
        paths.extend(managed_paths(live, &r.managed_fields_managers));
        for p in &r.json_pointers {
            paths.extend(pointer_paths(desired, p));
            paths.extend(pointer_paths(live, p));
        }
        for e in &r.jq_path_expressions {
            let jq = JqPath::parse(e)?;
            paths.extend(jq.paths(desired)?);
            paths.extend(jq.paths(live)?);
        }
    }
    paths.sort();
    paths.dedup();
    let mut missing = Vec::new();
    for p in paths {
        match get(live, &p).cloned() {
            Some(v) => set_path(desired, &p, v),
            None => missing.push(p),
        }
    }
    remove_paths(desired, missing);
    Ok(())
}

/// Sets the value at a concrete path, creating maps on the way (array
/// elements must exist).
fn set_path(v: &mut Value, path: &[PathStep], value: Value) {
    let Some((last, parent)) = path.split_last() else {
        *v = value;
        return;
    };
    let mut cur = v;
    for s in parent {
        cur = match (s, cur) {
            (PathStep::Key(k), Value::Object(m)) => m
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Default::default())),
            (PathStep::Index(i), Value::Array(a)) if *i < a.len() => &mut a[*i],
            _ => return,
        };
    }
    match (last, cur) {
        (PathStep::Key(k), Value::Object(m)) => {
            m.insert(k.clone(), value);
        }
        (PathStep::Index(i), Value::Array(a)) if *i < a.len() => a[*i] = value,
        _ => {}
    }
}
