//! AppProject enforcement: source repositories, destinations and resource
//! allow/deny lists, checked on every reconciliation before anything is
//! applied. Patterns are globs (`*`, `?`); a leading `!` in `sourceRepos` or
//! a destination namespace denies, as in Argo CD. Cluster-scoped resources
//! are those rendered without a namespace.

use serde_json::Value;

use crate::render::glob_match;
use crate::types::{AppProjectSpec, ApplicationDestination, GroupKind};

fn list_allows(patterns: &[String], value: &str) -> bool {
    let mut allowed = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if glob_match(neg, value) {
                return false;
            }
        } else if glob_match(p, value) {
            allowed = true;
        }
    }
    allowed
}

/// Whether the project permits the repository.
pub fn repo_permitted(project: &AppProjectSpec, repo: &str) -> bool {
    list_allows(&project.source_repos, repo)
}

/// Whether the project permits deploying to `server`/`name` + `namespace`.
pub fn destination_permitted(
    project: &AppProjectSpec,
    dest: &ApplicationDestination,
    namespace: &str,
) -> bool {
    let mut allowed = false;
    for d in &project.destinations {
        let cluster_ok = if !dest.name.is_empty() && !d.name.is_empty() {
            glob_match(&d.name, &dest.name)
        } else if !d.server.is_empty() {
            glob_match(&d.server, &dest.server)
        } else {
            false
        };
        if !cluster_ok {
            continue;
        }
        let ns = if d.namespace.is_empty() {
            "*"
        } else {
            &d.namespace
        };
        if let Some(neg) = ns.strip_prefix('!') {
            if glob_match(neg, namespace) {
                return false;
            }
            allowed = true;
        } else if glob_match(ns, namespace) {
            allowed = true;
        }
    }
    allowed
}

fn gk_matches(list: &[GroupKind], group: &str, kind: &str) -> bool {
    list.iter()
        .any(|gk| glob_match(&gk.group, group) && glob_match(&gk.kind, kind))
}

/// Checks rendered objects against the project; returns every violation.
pub fn check_resources(
    project: &AppProjectSpec,
    dest: &ApplicationDestination,
    objects: &[Value],
) -> Vec<String> {
    let mut out = Vec::new();
    for obj in objects {
        let Some(key) = kedge_sync::ResourceKey::of(obj) else {
            continue;
        };
        let namespaced = !key.namespace.is_empty();
        let gk = if key.group.is_empty() {
            key.kind.clone()
        } else {
            format!("{}/{}", key.group, key.kind)
        };
        if namespaced {
            if !project.namespace_resource_whitelist.is_empty()
                && !gk_matches(&project.namespace_resource_whitelist, &key.group, &key.kind)
            {
                out.push(format!(
                    "resource {gk} is not permitted in project (namespaced whitelist)"
                ));
            }
            if gk_matches(&project.namespace_resource_blacklist, &key.group, &key.kind) {
                out.push(format!("resource {gk} is denied by the project"));
            }
            if !destination_permitted(project, dest, &key.namespace) {
                out.push(format!(
                    "namespace {} of {gk} {} is not a permitted destination",
                    key.namespace, key.name
                ));
            }
        } else {
            if !gk_matches(&project.cluster_resource_whitelist, &key.group, &key.kind) {
                out.push(format!(
                    "cluster-scoped resource {gk} {} is not permitted in project",
                    key.name
                ));
            }
            if gk_matches(&project.cluster_resource_blacklist, &key.group, &key.kind) {
                out.push(format!(
                    "cluster-scoped resource {gk} is denied by the project"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_and_namespaces() {
        let p = AppProjectSpec {
            source_repos: vec![
                "https://git.example/*".into(),
                "!https://git.example/bad".into(),
            ],
            destinations: vec![ApplicationDestination {
                server: "*".into(),
                name: String::new(),
                namespace: "team-*".into(),
            }],
            ..Default::default()
        };
        assert!(repo_permitted(&p, "https://git.example/good"));
        assert!(!repo_permitted(&p, "https://git.example/bad"));
        assert!(!repo_permitted(&p, "https://other/good"));
        let d = ApplicationDestination {
            server: "https://kubernetes.default.svc".into(),
            ..Default::default()
        };
        assert!(destination_permitted(&p, &d, "team-a"));
        assert!(!destination_permitted(&p, &d, "kube-system"));
    }
}
