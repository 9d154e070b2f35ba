//! Prometheus metrics of the controller, in the text exposition format
//! served at `GET /metrics`.
//!
//! Families follow Argo CD's names with Kedge's prefix:
//! `kedge_app_reconcile_total{result}` and
//! `kedge_app_reconcile_duration_seconds` per reconcile,
//! `kedge_app_sync_total{phase}` per sync operation,
//! `kedge_app_info{name,project,sync_status,health_status}` (one series of
//! value 1 per application; the old series is removed when a label
//! changes), `kedge_git_fetch_duration_seconds` per fetch,
//! `kedge_workqueue_depth` and `kedge_live_watches` (live-object watches
//! running). The registry is private to one controller, so several
//! controllers in one process (tests) do not share counters.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabels {
    pub(crate) result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PhaseLabels {
    pub(crate) phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AppInfoLabels {
    pub(crate) name: String,
    pub(crate) project: String,
    pub(crate) sync_status: String,
    pub(crate) health_status: String,
}

fn duration_histogram() -> Histogram {
    // 5 ms … ~80 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// The controller's metric families.
pub struct Metrics {
    registry: Registry,
    pub(crate) reconcile_total: Family<ResultLabels, Counter>,
    pub(crate) reconcile_duration: Histogram,
    pub(crate) sync_total: Family<PhaseLabels, Counter>,
    pub(crate) app_info: Family<AppInfoLabels, Gauge>,
    app_info_current: Mutex<HashMap<String, AppInfoLabels>>,
    pub(crate) git_fetch_duration: Histogram,
    pub(crate) workqueue_depth: Gauge,
    pub(crate) live_watches: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let reconcile_total = Family::<ResultLabels, Counter>::default();
        registry.register(
            "kedge_app_reconcile",
            "Application reconciles by result",
            reconcile_total.clone(),
        );
        let reconcile_duration = duration_histogram();
        registry.register(
            "kedge_app_reconcile_duration_seconds",
            "Duration of Application reconciles",
            reconcile_duration.clone(),
        );
        let sync_total = Family::<PhaseLabels, Counter>::default();
        registry.register(
            "kedge_app_sync",
            "Sync operations by final phase",
            sync_total.clone(),
        );
        let app_info = Family::<AppInfoLabels, Gauge>::default();
        registry.register(
            "kedge_app_info",
            "Information about each Application",
            app_info.clone(),
        );
        let git_fetch_duration = duration_histogram();
        registry.register(
            "kedge_git_fetch_duration_seconds",
            "Duration of Git fetches",
            git_fetch_duration.clone(),
        );
        let workqueue_depth = Gauge::default();
        registry.register(
            "kedge_workqueue_depth",
            "Applications waiting in the work queue",
            workqueue_depth.clone(),
        );
        let live_watches = Gauge::default();
        registry.register(
            "kedge_live_watches",
            "Watches of managed resource kinds",
            live_watches.clone(),
        );
        Metrics {
            registry,
            reconcile_total,
            reconcile_duration,
            sync_total,
            app_info,
            app_info_current: Mutex::new(HashMap::new()),
            git_fetch_duration,
            workqueue_depth,
            live_watches,
        }
    }

    /// Sets the info series of `name`, replacing its previous labels.
    pub(crate) fn set_app_info(&self, labels: AppInfoLabels) {
        let mut cur = self
            .app_info_current
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(old) = cur.get(&labels.name) {
            if *old == labels {
                return;
            }
            self.app_info.remove(old);
        }
        self.app_info.get_or_create(&labels).set(1);
        cur.insert(labels.name.clone(), labels);
    }

    /// Removes the info series of a deleted application.
    pub(crate) fn remove_app(&self, name: &str) {
        let mut cur = self
            .app_info_current
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(old) = cur.remove(name) {
            self.app_info.remove(&old);
        }
    }

    /// Counts one reconcile.
    pub(crate) fn reconciled(&self, result: &str, seconds: f64) {
        self.reconcile_total
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
        self.reconcile_duration.observe(seconds);
    }

    /// Counts one sync by its final phase.
    pub(crate) fn synced(&self, phase: &str) {
        self.sync_total
            .get_or_create(&PhaseLabels {
                phase: phase.to_string(),
            })
            .inc();
    }

    /// The text exposition of every family.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
