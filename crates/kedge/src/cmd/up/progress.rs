//! Following an Application until it is Synced and Healthy.
//!
//! Driven by a watch on the Application (no polling): every status change
//! that alters what a person would read (sync status, health, revision, the
//! first condition) prints one progress line. The wait ends when the
//! application is Synced and Healthy, or at the deadline, which is not an
//! error: the controller keeps working and the caller says so.

use std::io::Write;
use std::time::Duration;

use futures::StreamExt;
use kedge_controller::application_resource;
use kedge_controller::types::ApplicationStatus;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};

/// The part of an Application's status the progress lines show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) sync: String,
    pub(crate) health: String,
    pub(crate) revision: String,
    pub(crate) condition: Option<String>,
}

impl Summary {
    fn of(obj: &DynamicObject) -> Summary {
        let status: ApplicationStatus = obj
            .data
            .get("status")
            .cloned()
            .and_then(|s| serde_json::from_value(s).ok())
            .unwrap_or_default();
        Summary {
            sync: or_unknown(status.sync.status),
            health: or_unknown(status.health.status),
            revision: status.sync.revision,
            condition: status
                .conditions
                .first()
                .map(|c| format!("{}: {}", c.type_, c.message)),
        }
    }

    pub(crate) fn ready(&self) -> bool {
        self.sync == "Synced" && self.health == "Healthy"
    }

    pub(crate) fn line(&self, name: &str) -> String {
        let mut line = format!("  {name}: sync {}, health {}", self.sync, self.health);
        if !self.revision.is_empty() {
            line.push_str(&format!(", revision {}", short(&self.revision)));
        }
        if let Some(c) = &self.condition {
            line.push_str(&format!(" ({c})"));
        }
        line
    }
}

fn or_unknown(s: String) -> String {
    if s.is_empty() { "Unknown".into() } else { s }
}

/// The first seven characters of a commit.
pub(crate) fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// Watches `name` until it is Synced and Healthy (`Ok(summary)`) or the
/// deadline passes (`Err(last summary)`).
pub(crate) async fn wait_ready(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<Summary, Summary> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &application_resource());
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut last = Summary::default();
    let follow = async {
        let stream = watcher(api, config).default_backoff().applied_objects();
        let mut stream = std::pin::pin!(stream);
        while let Some(ev) = stream.next().await {
            let Ok(obj) = ev else { continue };
            if obj.metadata.name.as_deref() != Some(name) {
                continue;
            }
            let now = Summary::of(&obj);
            if now != last {
                println!("{}", now.line(name));
                let _ = std::io::stdout().flush();
                last = now;
            }
            if last.ready() {
                return true;
            }
        }
        false
    };
    let ready = tokio::time::timeout(timeout, follow).await.unwrap_or(false);
    if ready { Ok(last) } else { Err(last) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(status: serde_json::Value) -> DynamicObject {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kedge.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "demo", "namespace": "kedge"},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn summary_reads_sync_health_revision_and_first_condition() {
        let s = Summary::of(&app(serde_json::json!({})));
        assert_eq!(s.line("demo"), "  demo: sync Unknown, health Unknown");
        assert!(!s.ready());
        let s = Summary::of(&app(serde_json::json!({
            "sync": {"status": "OutOfSync", "revision": "0123456789abcdef"},
            "health": {"status": "Missing"},
            "conditions": [{"type": "ComparisonError", "message": "bad yaml"}],
        })));
        assert_eq!(
            s.line("demo"),
            "  demo: sync OutOfSync, health Missing, revision 0123456 (ComparisonError: bad yaml)"
        );
        assert!(!s.ready());
        let s = Summary::of(&app(serde_json::json!({
            "sync": {"status": "Synced", "revision": "0123456789abcdef"},
            "health": {"status": "Healthy"},
        })));
        assert!(s.ready());
    }
}
