//! The Application controller: reconciles `Application` resources
//! (`kedge.dev/v1alpha1`, Argo CD's shape) from Git into clusters.
//!
//! [`types`] holds the resource types, [`crd`] the install manifests built
//! from code, [`render`] manifest generation (Kustomize or plain
//! directories), [`project`] AppProject enforcement and [`controller`] the
//! reconciler that drives kedge-git and kedge-sync.

pub mod controller;
pub mod crd;
pub mod error;
pub mod project;
pub mod render;
pub mod secrets;
pub mod types;

pub use controller::{
    Controller, ControllerConfig, Outcome, application_resource, appproject_resource,
};
pub use error::ControllerError;
pub use types::{Application, ApplicationSpec, ApplicationStatus};
