//! Revision syntax: telling SHAs from names, and semver constraints over
//! tags. Constraints use the syntax Argo CD accepts (Masterminds semver):
//! `1.2.*`, `1.2.x`, `~1.2`, `^1.2`, `>=1.0 <2.0` (space or comma between
//! comparators), `1.0 - 2.0` ranges and `||` alternatives; a bare version is
//! an exact match of its given components (`1.2` = any `1.2.z`). Tags are
//! read leniently (`v1.2`, `1.2.3`, with an optional caller-given prefix).
//! Pre-releases only match constraints that mention a pre-release of the
//! same `major.minor.patch`.

use crate::error::GitError;

/// Whether `rev` looks like a full (40 or 64 hex digits) object name.
pub fn is_full_sha(rev: &str) -> bool {
    (rev.len() == 40 || rev.len() == 64) && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `rev` could be an abbreviated object name (4 to 63 hex digits).
pub fn is_short_sha(rev: &str) -> bool {
    (4..64).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A parsed semver constraint: matches when any alternative matches.
#[derive(Clone, Debug)]
pub struct Constraint {
    alternatives: Vec<semver::VersionReq>,
}

impl Constraint {
    /// Parses a constraint; see the module documentation for the syntax.
    pub fn parse(input: &str) -> Result<Self, GitError> {
        let bad = |reason: String| GitError::InvalidConstraint {
            constraint: input.to_owned(),
            reason,
        };
        let mut alternatives = Vec::new();
        for alt in input.split("||") {
            let text = translate(alt.trim()).map_err(bad)?;
            let req = semver::VersionReq::parse(&text).map_err(|e| bad(e.to_string()))?;
            alternatives.push(req);
        }
        if alternatives.is_empty() {
            return Err(bad("empty constraint".into()));
        }
        Ok(Self { alternatives })
    }

    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &semver::Version) -> bool {
        self.alternatives.iter().any(|r| r.matches(v))
    }

    /// The highest tag satisfying the constraint: `(tag, version)`. Tags not
    /// starting with `prefix` (when given) or not versions are skipped.
    pub fn best_tag<'a, I>(
        &self,
        tags: I,
        prefix: Option<&str>,
    ) -> Option<(&'a str, semver::Version)>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut best: Option<(&'a str, semver::Version)> = None;
        for tag in tags {
            let Some(v) = parse_tag_version(tag, prefix) else {
                continue;
            };
            if !self.matches(&v) {
                continue;
            }
            let better = match &best {
                None => true,
                Some((bt, bv)) => v > *bv || (v == *bv && tag < *bt),
            };
            if better {
                best = Some((tag, v));
            }
        }
        best
    }
}

/// Whether `rev` should be tried as a constraint when no ref has its name.
pub fn looks_like_constraint(rev: &str) -> bool {
    let first = rev.trim_start().chars().next();
    matches!(
        first,
        Some('0'..='9' | '~' | '^' | '>' | '<' | '=' | '*' | 'v')
    ) && Constraint::parse(rev.trim_start_matches('v')).is_ok()
}

/// Reads a tag as a version: strips `prefix` (required when given), then a
/// leading `v`, and fills missing minor/patch with zero.
pub fn parse_tag_version(tag: &str, prefix: Option<&str>) -> Option<semver::Version> {
    let rest = match prefix {
        Some(p) if !p.is_empty() => tag.strip_prefix(p)?,
        _ => tag,
    };
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    if let Ok(v) = semver::Version::parse(rest) {
        return Some(v);
    }
    // Lenient: "1", "1.2", "1.2-rc.1".
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 2
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut full = format!("{}.{}.0", parts[0], parts.get(1).unwrap_or(&"0"));
    if let Some(pre) = pre {
        full.push('-');
        full.push_str(pre);
    }
    semver::Version::parse(&full).ok()
}

/// Rewrites one alternative into the comma-separated syntax of `semver`.
fn translate(alt: &str) -> Result<String, String> {
    if alt.is_empty() {
        return Err("empty alternative".into());
    }
    // Hyphen range "a - b".
    if let Some((lo, hi)) = alt.split_once(" - ") {
        return Ok(format!(
            ">={}, <={}",
            strip_v(lo.trim()),
            strip_v(hi.trim())
        ));
    }
    let mut tokens: Vec<String> = Vec::new();
    let mut pending_op = String::new();
    for tok in alt
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        if tok
            .chars()
            .all(|c| matches!(c, '>' | '<' | '=' | '~' | '^'))
        {
            pending_op.push_str(tok);
            continue;
        }
        let (op, ver) = split_op(tok);
        let op = if pending_op.is_empty() {
            op.to_owned()
        } else {
            std::mem::take(&mut pending_op)
        };
        let ver = strip_v(ver);
        if ver.is_empty() {
            return Err(format!("comparator {tok:?} has no version"));
        }
        let op = match op.as_str() {
            "" if ver == "*" || ver == "x" || ver == "X" => String::new(),
            "" => "=".to_owned(),
            "==" => "=".to_owned(),
            "~>" => "~".to_owned(),
            other => other.to_owned(),
        };
        tokens.push(format!("{op}{ver}"));
    }
    if !pending_op.is_empty() {
        return Err(format!("operator {pending_op:?} has no version"));
    }
    Ok(tokens.join(", "))
}

fn split_op(tok: &str) -> (&str, &str) {
    let idx = tok
        .find(|c: char| !matches!(c, '>' | '<' | '=' | '~' | '^'))
        .unwrap_or(tok.len());
    (&tok[..idx], &tok[idx..])
}

fn strip_v(v: &str) -> &str {
    v.strip_prefix('v').unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGS: &[&str] = &[
        "v0.9.0",
        "v1.0.0",
        "v1.2.0",
        "v1.2.3",
        "v1.2.10",
        "v1.3.0",
        "v1.3.0-rc.1",
        "v2.0.0",
        "v2.1",
        "release-x",
        "1.2.11",
    ];

    fn best(c: &str, prefix: Option<&str>) -> Option<String> {
        Constraint::parse(c)
            .unwrap()
            .best_tag(TAGS.iter().copied(), prefix)
            .map(|(t, _)| t.to_owned())
    }

    #[test]
    fn constraint_forms() {
        assert_eq!(best("1.2.*", Some("v")).as_deref(), Some("v1.2.10"));
        assert_eq!(best("1.2.x", None).as_deref(), Some("1.2.11"));
        assert_eq!(best("1.2.x", Some("v")).as_deref(), Some("v1.2.10"));
        assert_eq!(best(">=1.0 <2.0", Some("v")).as_deref(), Some("v1.3.0"));
        assert_eq!(best(">= 1.0, < 1.3", Some("v")).as_deref(), Some("v1.2.10"));
        assert_eq!(best("~1.2", Some("v")).as_deref(), Some("v1.2.10"));
        assert_eq!(best("^1.2", Some("v")).as_deref(), Some("v1.3.0"));
        assert_eq!(best("^1.2 || ^2", Some("v")).as_deref(), Some("v2.1"));
        assert_eq!(best("1.0 - 1.2.3", Some("v")).as_deref(), Some("v1.2.3"));
        assert_eq!(best("1.2", Some("v")).as_deref(), Some("v1.2.10"));
        assert_eq!(
            best("=1.3.0-rc.1", Some("v")).as_deref(),
            Some("v1.3.0-rc.1")
        );
        assert_eq!(best("*", Some("v")).as_deref(), Some("v2.1"));
        assert_eq!(best(">=3", Some("v")), None);
    }

    #[test]
    fn sha_shapes() {
        assert!(is_full_sha(&"a".repeat(40)));
        assert!(!is_full_sha(&"g".repeat(40)));
        assert!(is_short_sha("abc1234"));
        assert!(!is_short_sha("main"));
    }

    #[test]
    fn invalid_constraints_are_errors() {
        assert!(Constraint::parse(">=").is_err());
        assert!(Constraint::parse("banana").is_err());
        assert!(looks_like_constraint("~1.2"));
        assert!(!looks_like_constraint("main"));
    }
}
