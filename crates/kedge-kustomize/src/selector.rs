//! Label (and annotation) selectors in apimachinery's string syntax:
//! `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by
//! commas (all requirements must hold).

use crate::error::{Result, build_err};

#[derive(Debug, Clone)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed selector.
#[derive(Debug, Clone)]
pub(crate) struct LabelSelector {
    reqs: Vec<(String, Op)>,
}

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn set_values(rest: &str, sel: &str) -> Result<Vec<String>> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| build_err(format!("unable to parse requirement: {sel}")))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    pub(crate) fn parse(s: &str) -> Result<LabelSelector> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            if let Some(k) = p.strip_prefix('!') {
                reqs.push((k.trim().to_string(), Op::NotExists));
            } else if let Some((k, v)) = p.split_once("!=") {
                reqs.push((k.trim().into(), Op::NotEq(v.trim().into())));
            } else if let Some((k, v)) = p.split_once("==") {
                reqs.push((k.trim().into(), Op::Eq(v.trim().into())));
            } else if let Some((k, v)) = p.split_once('=') {
                reqs.push((k.trim().into(), Op::Eq(v.trim().into())));
            } else if let Some(idx) = p.find(" notin ") {
                reqs.push((
                    p[..idx].trim().into(),
                    Op::NotIn(set_values(&p[idx + 7..], s)?),
                ));
            } else if let Some(idx) = p.find(" in ") {
                reqs.push((
                    p[..idx].trim().into(),
                    Op::In(set_values(&p[idx + 4..], s)?),
                ));
            } else if p.contains(char::is_whitespace) || p.contains('(') {
                return Err(build_err(format!("unable to parse requirement: {s}")));
            } else {
                reqs.push((p.to_string(), Op::Exists));
            }
        }
        Ok(LabelSelector { reqs })
    }

    pub(crate) fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(lk, _)| lk == k)
                .map(|(_, v)| v.as_str())
        };
        self.reqs.iter().all(|(k, op)| match op {
            Op::Eq(v) => get(k) == Some(v.as_str()),
            Op::NotEq(v) => get(k) != Some(v.as_str()),
            Op::In(vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Op::NotIn(vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Op::Exists => get(k).is_some(),
            Op::NotExists => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_and_matches() {
        let s = LabelSelector::parse("app in (a,b),tier!=x,!gone").unwrap();
        assert!(s.matches(&l(&[("app", "a")])));
        assert!(!s.matches(&l(&[("app", "c")])));
        assert!(!s.matches(&l(&[("app", "a"), ("gone", "1")])));
        assert!(!s.matches(&l(&[("app", "b"), ("tier", "x")])));
        let s = LabelSelector::parse("app=x").unwrap();
        assert!(s.matches(&l(&[("app", "x")])));
    }
}
