//! Deciding whether a push affects an application.
//!
//! An application is affected when a changed path lies under one of its
//! watched paths. The watched paths are its source path plus the entries of
//! Argo CD's `argocd.argoproj.io/manifest-generate-paths` annotation: a
//! `;`-separated list where `.` is the source path itself, a relative entry
//! (`../base`) is taken from the source path, and an absolute entry
//! (`/shared`) from the repository root. Entries containing glob
//! metacharacters (`*`, `?`, `[`, `{`) are matched as globs against the
//! changed path (`**` crosses directories); other entries match the path
//! itself and everything below it.

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::GitError;

/// The annotation naming extra paths that trigger manifest generation.
pub const MANIFEST_GENERATE_PATHS: &str = "argocd.argoproj.io/manifest-generate-paths";

/// Decides whether a list of changed paths affects one application.
#[derive(Clone, Debug)]
pub struct PathMatcher {
    prefixes: Vec<String>,
    globs: GlobSet,
    patterns: Vec<String>,
}

impl PathMatcher {
    /// A matcher for an application whose source path is `app_path`
    /// (repository-relative) with the optional annotation value.
    pub fn new(app_path: &str, manifest_generate_paths: Option<&str>) -> Result<Self, GitError> {
        let app = normalize(app_path, "").ok_or_else(|| outside(app_path))?;
        let mut prefixes = vec![app.clone()];
        let mut builder = GlobSetBuilder::new();
        let mut patterns = Vec::new();
        for entry in manifest_generate_paths
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let full = normalize(entry, &app).ok_or_else(|| outside(entry))?;
            if entry.contains(['*', '?', '[', '{']) {
                let glob = Glob::new(&full).map_err(|e| GitError::InvalidConstraint {
                    constraint: entry.to_owned(),
                    reason: e.to_string(),
                })?;
                builder.add(glob);
                patterns.push(full);
            } else {
                prefixes.push(full);
            }
        }
        let globs = builder.build().map_err(|e| GitError::InvalidConstraint {
            constraint: manifest_generate_paths.unwrap_or("").to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            prefixes,
            globs,
            patterns,
        })
    }

    /// Whether one changed path (repository-relative) is watched.
    pub fn matches(&self, changed: &str) -> bool {
        let changed = changed.trim_start_matches('/');
        self.prefixes.iter().any(|p| {
            p.is_empty()
                || changed == p
                || (changed.starts_with(p.as_str()) && changed.as_bytes()[p.len()] == b'/')
        }) || self.globs.is_match(changed)
    }

    /// Whether any changed path is watched. `None` (changes unknown, e.g. a
    /// new branch or a payload without file lists) counts as affected.
    pub fn is_affected<S: AsRef<str>>(&self, changed: Option<&[S]>) -> bool {
        match changed {
            None => true,
            Some(paths) => paths.iter().any(|p| self.matches(p.as_ref())),
        }
    }

    /// The watched directory prefixes (repository-relative; `""` = all).
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// The watched glob patterns (repository-relative).
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

fn outside(entry: &str) -> GitError {
    GitError::OutsideRepository {
        path: entry.to_owned(),
        reason: "watched path climbs above the repository root".into(),
    }
}

/// Joins `entry` onto `base` (or the root when it starts with `/`) and
/// normalises `.` and `..`; `None` when it climbs above the root.
fn normalize(entry: &str, base: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let start = if entry.starts_with('/') { "" } else { base };
    for comp in start.split('/').chain(entry.split('/')) {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_semantics() {
        let m = PathMatcher::new(
            "apps/guestbook",
            Some(".; ../base ;/shared/config;/charts/**/values.yaml"),
        )
        .unwrap();
        assert!(m.matches("apps/guestbook/deploy.yaml"));
        assert!(m.matches("apps/base/kustomization.yaml"));
        assert!(m.matches("shared/config"));
        assert!(m.matches("shared/config/x/y.yaml"));
        assert!(m.matches("charts/a/b/values.yaml"));
        assert!(!m.matches("apps/guestbook2/deploy.yaml"));
        assert!(!m.matches("shared/configs/x"));
        assert!(!m.matches("charts/a/Chart.yaml"));
        assert!(!m.matches("README.md"));
        assert!(m.is_affected::<String>(None));
        assert!(!m.is_affected(Some(&["README.md"][..])));
    }

    #[test]
    fn root_app_watches_everything() {
        let m = PathMatcher::new(".", None).unwrap();
        assert!(m.matches("any/thing"));
    }

    #[test]
    fn climbing_out_is_an_error() {
        assert!(PathMatcher::new("a", Some("../../x")).is_err());
    }
}
