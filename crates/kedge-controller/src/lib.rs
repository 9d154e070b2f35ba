//! The Application controller: reconciles `Application` resources
//! (`kedge.dev/v1alpha1`, Argo CD's shape) from Git into clusters.
//!
//! [`types`] holds the resource types, [`crd`] the install manifests built
//! from code, [`render`] manifest generation (Kustomize or plain
//! directories), [`project`] AppProject enforcement and [`controller`] the
//! reconciler that drives kedge-git and kedge-sync. Around it: the work
//! [`queue`], watch-driven self-heal ([`live`]), Git polling and webhooks
//! ([`triggers`]), destination clusters and credentials ([`clusters`]),
//! [`metrics`] and [`leader`] election.

pub mod clusters;
pub mod controller;
pub mod crd;
pub mod error;
pub mod leader;
pub mod live;
pub mod metrics;
pub mod project;
pub mod queue;
pub mod render;
pub mod secrets;
pub mod triggers;
pub mod types;

pub use controller::{
    Controller, ControllerConfig, HealBackoff, Outcome, application_resource, appproject_resource,
};
pub use error::ControllerError;
pub use leader::LeaseConfig;
pub use metrics::Metrics;
pub use queue::{RateLimit, WorkQueue};
pub use types::{Application, ApplicationSpec, ApplicationStatus};
