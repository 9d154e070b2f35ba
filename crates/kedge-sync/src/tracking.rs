//! Resource tracking: which application an object belongs to. Kedge writes
//! `kedge.dev/tracking-id: <app>:<group>/<kind>:<namespace>/<name>` on every
//! object it applies and also reads Argo CD's `argocd.argoproj.io/tracking-id`
//! (same format), so objects adopted from Argo CD keep their owner. An id is
//! only trusted when it names the object that carries it: a copied manifest
//! with a foreign id is not "owned" (Argo CD's non-self-referencing rule).

use serde_json::Value;

use crate::object::{ResourceKey, annotation_any};

/// The tracking annotations, Kedge's first.
pub const TRACKING_ANNOTATIONS: [&str; 2] =
    ["kedge.dev/tracking-id", "argocd.argoproj.io/tracking-id"];

/// The tracking id for an object of an application.
pub fn tracking_id(app: &str, key: &ResourceKey) -> String {
    format!(
        "{app}:{}/{}:{}/{}",
        key.group, key.kind, key.namespace, key.name
    )
}

/// A parsed tracking id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingInfo {
    /// The application.
    pub app: String,
    /// The object the id names.
    pub key: ResourceKey,
}

/// Parses `<app>:<group>/<kind>:<namespace>/<name>`.
pub fn parse_tracking_id(id: &str) -> Option<TrackingInfo> {
    let (app, rest) = id.split_once(':')?;
    let (gk, nn) = rest.split_once(':')?;
    let (group, kind) = gk.split_once('/')?;
    let (namespace, name) = nn.split_once('/')?;
    Some(TrackingInfo {
        app: app.to_string(),
        key: ResourceKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        },
    })
}

/// The application owning a live object, when its tracking id is valid and
/// names the object itself.
pub fn owner_app(live: &Value) -> Option<String> {
    let id = annotation_any(live, &TRACKING_ANNOTATIONS)?;
    let info = parse_tracking_id(id)?;
    let key = ResourceKey::of(live)?;
    (info.key == key).then_some(info.app)
}
