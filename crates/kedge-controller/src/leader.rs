//! Leader election through a `coordination.k8s.io/v1` Lease, as client-go's
//! `leaderelection` package does it.
//!
//! Every candidate tries to become the Lease's `holderIdentity`: it creates
//! the Lease when absent, and otherwise takes it over only when the holder's
//! `renewTime + leaseDurationSeconds` has passed (or the holder released it
//! with an empty identity). Writes use the Lease's `resourceVersion`, so of
//! two candidates racing for an expired Lease the API server lets exactly one
//! win (the other gets a 409 Conflict and keeps waiting). The leader renews
//! every `renew` interval; when it cannot renew before the lease would
//! expire on the other candidates' clocks, or finds another holder, it has
//! lost and must stop working. A leader shutting down cleanly releases the
//! Lease (empty holder) so a successor does not wait for the expiry.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tracing::{debug, info, warn};

use crate::error::ControllerError;

/// Lease name and timings.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Lease name (`kedge-controller`).
    pub name: String,
    /// This candidate's identity (host name plus a random suffix).
    pub identity: String,
    /// `leaseDurationSeconds`: how long others wait before taking over.
    pub duration: Duration,
    /// How often the leader renews.
    pub renew: Duration,
    /// How often a candidate retries acquiring.
    pub retry: Duration,
}

impl Default for LeaseConfig {
    /// `kedge-controller`, 15 s lease, renew every 5 s, retry every 2 s.
    fn default() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "kedge".to_string());
        LeaseConfig {
            name: "kedge-controller".to_string(),
            identity: format!("{host}_{}", uuid_suffix()),
            duration: Duration::from_secs(15),
            renew: Duration::from_secs(5),
            retry: Duration::from_secs(2),
        }
    }
}

fn uuid_suffix() -> String {
    use rand::Rng as _;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// A candidate for one Lease.
#[derive(Debug, Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    cfg: LeaseConfig,
}

impl LeaderElector {
    /// A candidate for `cfg.name` in `namespace`.
    pub fn new(client: kube::Client, namespace: &str, cfg: LeaseConfig) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, namespace),
            cfg,
        }
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.cfg.identity
    }

    /// Waits until this candidate holds the Lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    info!(identity = %self.cfg.identity, lease = %self.cfg.name, "became leader");
                    return;
                }
                Ok(false) => {}
                Err(e) => warn!(error = %e, "acquiring the leader lease"),
            }
            tokio::time::sleep(self.cfg.retry).await;
        }
    }

    /// Renews while leading; returns when leadership is lost.
    pub async fn hold(&self) {
        let mut last_renew = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.cfg.renew).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renew = tokio::time::Instant::now(),
                Ok(false) => {
                    warn!(identity = %self.cfg.identity, "leader lease taken by another holder");
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "renewing the leader lease");
                    // Others may take over once the lease expires on their
                    // clocks; stop slightly before that.
                    if last_renew.elapsed() + self.cfg.renew >= self.cfg.duration {
                        warn!(identity = %self.cfg.identity, "leader lease expired");
                        return;
                    }
                }
            }
        }
    }

    /// Gives the Lease up (empty holder) if this candidate holds it.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.cfg.name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
        match self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => info!(identity = %self.cfg.identity, "released the leader lease"),
            Err(e) => warn!(error = %e, "releasing the leader lease"),
        }
    }

    /// One round: true when this candidate holds the Lease afterwards.
    async fn try_acquire_or_renew(&self) -> Result<bool, ControllerError> {
        let now = jiff::Timestamp::now();
        let name = &self.cfg.name;
        let err = |action: &'static str, source: kube::Error| ControllerError::Kube {
            action,
            object: format!("Lease {name}"),
            source,
        };
        let duration_s = self.cfg.duration.as_secs().max(1) as i32;
        let Some(mut lease) = self.api.get_opt(name).await.map_err(|e| err("get", e))? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.cfg.identity.clone()),
                    lease_duration_seconds: Some(duration_s),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(err("create", e)),
            };
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == self.cfg.identity;
        if !ours && !holder.is_empty() {
            let held_for =
                Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64);
            let expires = spec
                .renew_time
                .as_ref()
                .map(|t| t.0)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                .checked_add(jiff::SignedDuration::try_from(held_for).unwrap_or_default())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            if expires > now {
                debug!(holder = %holder, "leader lease held by another candidate");
                return Ok(false);
            }
        }
        if !ours {
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.holder_identity = Some(self.cfg.identity.clone());
        }
        spec.lease_duration_seconds = Some(duration_s);
        spec.renew_time = Some(MicroTime(now));
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(err("update", e)),
        }
    }
}
