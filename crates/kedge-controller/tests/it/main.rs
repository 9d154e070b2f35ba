//! Integration tests of the Application controller against the embedded
//! control plane and real `git` repositories.

mod destinations;
mod git_triggers;
mod leader_election;
mod metrics;
mod prune_confirm;
mod reconcile;
mod render_view;
mod secrets;
mod self_heal;
mod support;
mod types;
