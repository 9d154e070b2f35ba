//! Health assessment with Argo CD's states and rules. [`HealthChecks`] first
//! consults custom Lua checks (registered per `group/kind`, with `*`
//! wildcards in either part, exact matches winning over wildcards), then the
//! built-in rules in [`builtin`]; kinds without a rule have no health (they
//! count as healthy when waiting between waves). An object being deleted is
//! Progressing. [`aggregate`] combines resource health as Argo CD does
//! (worst state wins in the order Healthy, Suspended, Progressing, Missing,
//! Degraded, Unknown).

pub mod builtin;
pub mod lua;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object::group_of;

/// A health state, ordered from most to least healthy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum HealthCode {
    /// Healthy.
    Healthy,
    /// Paused or suspended.
    Suspended,
    /// Not yet healthy.
    #[default]
    Progressing,
    /// Absent from the cluster.
    Missing,
    /// Failed.
    Degraded,
    /// Cannot be assessed.
    Unknown,
}

impl HealthCode {
    /// Parses the state names used by Lua scripts and Argo CD.
    pub fn parse(s: &str) -> Option<HealthCode> {
        Some(match s {
            "Healthy" => HealthCode::Healthy,
            "Suspended" => HealthCode::Suspended,
            "Progressing" => HealthCode::Progressing,
            "Missing" => HealthCode::Missing,
            "Degraded" => HealthCode::Degraded,
            "Unknown" => HealthCode::Unknown,
            _ => return None,
        })
    }
}

/// A health state with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HealthStatus {
    /// The state.
    pub status: HealthCode,
    /// Why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl HealthStatus {
    /// A state with a message.
    pub fn new(status: HealthCode, message: impl Into<String>) -> HealthStatus {
        HealthStatus {
            status,
            message: message.into(),
        }
    }
}

/// Errors of health scripts.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The script failed to load or run.
    #[error("health script for {target}: {message}")]
    Script {
        /// group/kind the script is registered for.
        target: String,
        /// Lua's message.
        message: String,
    },
    /// The script ran past its instruction budget.
    #[error("health script for {target}: instruction limit of {limit} exceeded")]
    InstructionLimit {
        /// group/kind.
        target: String,
        /// The limit.
        limit: u64,
    },
    /// The script allocated past its memory limit.
    #[error("health script for {target}: memory limit of {limit} bytes exceeded")]
    MemoryLimit {
        /// group/kind.
        target: String,
        /// The limit.
        limit: usize,
    },
    /// A health customization of an Argo CD style ConfigMap is malformed.
    #[error("health customization {key:?}: {message}")]
    Config {
        /// The ConfigMap key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The script returned something other than `{status, message}`.
    #[error("health script for {target}: invalid result: {message}")]
    InvalidResult {
        /// group/kind.
        target: String,
        /// What is wrong.
        message: String,
    },
}

/// The ConfigMap key prefix of one health script per kind, as in Argo CD's
/// `argocd-cm`: `resource.customizations.health.<group>_<kind>` (or
/// `.<kind>` for the core group).
pub const HEALTH_KEY_PREFIX: &str = "resource.customizations.health.";

/// The ConfigMap key of Argo CD's older single-block form: YAML mapping
/// `group/Kind` (wildcards allowed) to `{health.lua: <script>}`.
pub const CUSTOMIZATIONS_KEY: &str = "resource.customizations";

/// Custom health checks plus the built-in rules.
#[derive(Default)]
pub struct HealthChecks {
    custom: Vec<(String, String, lua::LuaHealthCheck)>,
}

impl std::fmt::Debug for HealthChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.custom.iter().map(|(g, k, _)| format!("{g}/{k}")))
            .finish()
    }
}

fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => value.ends_with(suffix),
        None => pattern == value,
    }
}

impl HealthChecks {
    /// Only the built-in rules.
    pub fn new() -> HealthChecks {
        HealthChecks::default()
    }

    /// Registers a Lua check for `group/kind` (`*` and `*.suffix` wildcards;
    /// `group` empty for the core group).
    pub fn add_lua(&mut self, group: &str, kind: &str, script: &str) -> Result<(), HealthError> {
        let target = format!("{group}/{kind}");
        let check = lua::LuaHealthCheck::new(&target, script)?;
        self.custom
            .push((group.to_string(), kind.to_string(), check));
        Ok(())
    }

    /// Health checks from the data of an Argo CD style ConfigMap
    /// (`argocd-cm`): every `resource.customizations.health.<group>_<kind>`
    /// key (`<kind>` alone for the core group), then the entries of the
    /// older `resource.customizations` YAML block that carry a
    /// `health.lua`. A per-key script wins over the block for the same
    /// kind, as in Argo CD. Other keys are ignored; `health.lua.useOpenLibs`
    /// is ignored too (scripts always run sandboxed). Every script is
    /// compiled here, so a broken one fails the whole configuration with
    /// an error naming its key.
    pub fn from_config_map<'a>(
        data: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<HealthChecks, HealthError> {
        let mut keyed: Vec<(&str, &str)> = Vec::new();
        let mut block = None;
        for (k, v) in data {
            if k.starts_with(HEALTH_KEY_PREFIX) {
                keyed.push((k, v));
            } else if k == CUSTOMIZATIONS_KEY {
                block = Some(v);
            }
        }
        // Deterministic registration order whatever the map's order.
        keyed.sort();
        let mut checks = HealthChecks::new();
        for (key, script) in keyed {
            let gk = &key[HEALTH_KEY_PREFIX.len()..];
            let (group, kind) = gk.rsplit_once('_').unwrap_or(("", gk));
            if kind.is_empty() {
                return Err(HealthError::Config {
                    key: key.to_string(),
                    message: "expected <group>_<kind> or <kind> after the prefix".into(),
                });
            }
            checks.add_lua(group, kind, script)?;
        }
        if let Some(text) = block {
            let config_err = |message: String| HealthError::Config {
                key: CUSTOMIZATIONS_KEY.to_string(),
                message,
            };
            let docs = kedge_yaml::parse_stream(text, &kedge_yaml::Limits::default())
                .map_err(|e| config_err(e.to_string()))?;
            let value = match docs.first() {
                Some(n) => kedge_yaml::to_value(n).map_err(|e| config_err(e.to_string()))?,
                None => Value::Null,
            };
            let entries = match &value {
                Value::Null => Default::default(),
                Value::Object(m) => m.clone(),
                _ => return Err(config_err("expected a mapping of group/kind".into())),
            };
            for (gk, entry) in entries {
                let Some(script) = entry.get("health.lua") else {
                    continue;
                };
                let script = script.as_str().ok_or_else(|| HealthError::Config {
                    key: format!("{CUSTOMIZATIONS_KEY}: {gk}"),
                    message: "health.lua must be a string".into(),
                })?;
                let (group, kind) = gk.rsplit_once('/').unwrap_or(("", gk.as_str()));
                checks.add_lua(group, kind, script)?;
            }
        }
        Ok(checks)
    }

    fn custom_for(&self, group: &str, kind: &str) -> Option<&lua::LuaHealthCheck> {
        self.custom
            .iter()
            .find(|(g, k, _)| g == group && k == kind)
            .or_else(|| {
                self.custom
                    .iter()
                    .find(|(g, k, _)| pattern_matches(g, group) && pattern_matches(k, kind))
            })
            .map(|(_, _, c)| c)
    }

    /// The health of an object, or None when no rule applies.
    pub fn assess(&self, obj: &Value) -> Result<Option<HealthStatus>, HealthError> {
        if obj
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|v| !v.is_null())
        {
            return Ok(Some(HealthStatus::new(
                HealthCode::Progressing,
                "Pending deletion",
            )));
        }
        let group = group_of(obj.get("apiVersion").and_then(Value::as_str).unwrap_or(""));
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if let Some(c) = self.custom_for(&group, kind) {
            return c.evaluate(obj).map(Some);
        }
        Ok(builtin::health(&group, kind, obj))
    }
}

/// The worst of several states (Healthy when empty).
pub fn aggregate<'a>(states: impl IntoIterator<Item = &'a HealthCode>) -> HealthCode {
    states
        .into_iter()
        .copied()
        .max()
        .unwrap_or(HealthCode::Healthy)
}
