//! `metadata.managedFields` and the two write operations of field
//! management: [`apply`] (server-side apply) and [`update`] (every other
//! write).
//!
//! The design mirrors the layers of the Kubernetes API server's field
//! manager, from the outside in: the `kubectl` last-applied annotation is
//! kept in sync after an apply by manager `kubectl`; conflicts of manager
//! `kubectl` on fields whose value still equals the object's last-applied
//! configuration are forgiven (client-side to server-side migration); an
//! apply to an object without managed fields first attributes its existing
//! fields to an Update manager `before-first-apply`, and an update of such
//! an object is not tracked at all; at most ten Update entries are kept,
//! the oldest being merged into `ancient-changes`; an update is recorded as
//! a temporary manager whose fields are then merged into the writer's entry
//! (so only writes that change something touch `time`); and the object-meta
//! fields nobody owns are stripped. The core is structured-merge-diff's
//! updater: merge, prune what the applier stopped applying unless someone
//! else owns it, compare old and new, and move ownership of what changed.
//!
//! Entries are identified as the API server identifies them: an Apply entry
//! by manager and subresource, an Update entry by manager, apiVersion and
//! subresource. The encoded list is sorted by operation (Apply first),
//! time, manager, apiVersion and subresource.

use std::fmt;

use serde_json::{Map, Value};

use kedge_schema::{Schema, TypeDef, TypeRef};

use super::fieldpath::{FieldSet, FieldsV1Error, Path, PathElement, values_equal};
use super::gojson;
use super::typed::{Comparison, TypedContext, TypedError};

/// The annotation client-side `kubectl apply` keeps its configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manager that owns fields that existed before the first apply.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// The manager the oldest Update entries are merged into.
pub const ANCIENT_CHANGES: &str = "ancient-changes";

/// Most Update entries kept on one object.
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// Largest total size of all annotations (keys and values), in bytes.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `operation` of a managed fields entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write.
    Update,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    /// The field manager's name.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The version of the object the fields are in.
    pub api_version: String,
    /// When the entry last changed, RFC 3339 (`2024-01-02T03:04:05Z`).
    pub time: Option<String>,
    /// The owned fields.
    pub fields: FieldSet,
    /// `status`, `scale` … or empty for the main resource.
    pub subresource: String,
}

/// An error in `metadata.managedFields`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManagedFieldsError {
    /// `metadata.managedFields` is not a list of objects.
    #[error("metadata.managedFields must be a list of objects")]
    NotAList,
    /// An entry has an unknown operation.
    #[error("managed fields entry {index}: operation must be `Apply` or `Update`")]
    Operation {
        /// Position in the list.
        index: usize,
    },
    /// An entry has no apiVersion.
    #[error("managed fields entry {index}: apiVersion must not be empty")]
    ApiVersion {
        /// Position in the list.
        index: usize,
    },
    /// An entry has a missing or unknown fieldsType.
    #[error("managed fields entry {index}: invalid fieldsType {fields_type:?}")]
    FieldsType {
        /// Position in the list.
        index: usize,
        /// The value found.
        fields_type: String,
    },
    /// An entry's fieldsV1 does not decode.
    #[error("managed fields entry {index}: {source}")]
    FieldsV1 {
        /// Position in the list.
        index: usize,
        /// The decoding error.
        source: FieldsV1Error,
    },
    /// Two entries have the same identity.
    #[error("managed fields entry {index}: duplicate entry for manager {manager:?}")]
    Duplicate {
        /// Position in the list.
        index: usize,
        /// The manager.
        manager: String,
    },
}

impl ManagedFieldsEntry {
    /// Decodes one entry; `index` is used in errors.
    pub fn from_value(v: &Value, index: usize) -> Result<Self, ManagedFieldsError> {
        let obj = v.as_object().ok_or(ManagedFieldsError::NotAList)?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let operation = match obj.get("operation").and_then(Value::as_str) {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            _ => return Err(ManagedFieldsError::Operation { index }),
        };
        let api_version = s("apiVersion");
        if api_version.is_empty() {
            return Err(ManagedFieldsError::ApiVersion { index });
        }
        let fields_type = s("fieldsType");
        if fields_type != "FieldsV1" {
            return Err(ManagedFieldsError::FieldsType { index, fields_type });
        }
        let fields = match obj.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(f) => FieldSet::from_fields_v1(f)
                .map_err(|source| ManagedFieldsError::FieldsV1 { index, source })?,
        };
        Ok(ManagedFieldsEntry {
            manager: s("manager"),
            operation,
            api_version,
            time: obj.get("time").and_then(Value::as_str).map(str::to_string),
            fields,
            subresource: s("subresource"),
        })
    }

    /// Encodes the entry with the API server's key order.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), Value::String(self.manager.clone()));
        }
        m.insert(
            "operation".into(),
            Value::String(self.operation.as_str().into()),
        );
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(m)
    }

    fn id(&self) -> ManagerId {
        ManagerId {
            manager: self.manager.clone(),
            operation: self.operation,
            api_version: match self.operation {
                Operation::Apply => String::new(),
                Operation::Update => self.api_version.clone(),
            },
            subresource: self.subresource.clone(),
        }
    }
}

/// Decodes `metadata.managedFields` of an object (absent or null → empty).
pub fn decode_managed_fields(obj: &Value) -> Result<Vec<ManagedFieldsEntry>, ManagedFieldsError> {
    let Some(list) = obj.get("metadata").and_then(|m| m.get("managedFields")) else {
        return Ok(Vec::new());
    };
    let items = match list {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(ManagedFieldsError::NotAList),
    };
    let mut out: Vec<ManagedFieldsEntry> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let entry = ManagedFieldsEntry::from_value(item, index)?;
        let id = entry.id();
        if out.iter().any(|e| e.id() == id) {
            return Err(ManagedFieldsError::Duplicate {
                index,
                manager: entry.manager,
            });
        }
        out.push(entry);
    }
    Ok(out)
}

/// Sorts entries as the API server does, drops empty ones, and writes them
/// to `metadata.managedFields` (removing the field when none is left).
pub fn encode_managed_fields(obj: &mut Value, mut entries: Vec<ManagedFieldsEntry>) {
    entries.retain(|e| !e.fields.is_empty());
    sort_entries(&mut entries);
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        if let Some(Value::Object(meta)) = root.get_mut("metadata") {
            meta.remove("managedFields");
        }
        return;
    }
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        meta.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(ManagedFieldsEntry::to_value).collect()),
        );
    }
}

fn sort_entries(entries: &mut [ManagedFieldsEntry]) {
    entries.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| unix_seconds(p.time.as_deref()).cmp(&unix_seconds(q.time.as_deref())))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
}

/// Seconds since the epoch of an RFC 3339 time; 0 when absent or malformed.
fn unix_seconds(t: Option<&str>) -> i64 {
    let Some(t) = t else { return 0 };
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { t.get(r)?.parse::<i64>().ok() };
    let parse = || -> Option<i64> {
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        // Offset: `Z` or `±hh:mm` after optional fractional seconds.
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        let offset = match b.get(i) {
            Some(b'Z') | Some(b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                let o = oh * 3600 + om * 60;
                if *sign == b'+' { o } else { -o }
            }
            _ => return None,
        };
        // Days from civil date (proleptic Gregorian).
        let y = if mo <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (mo + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146097 + doe - 719468;
        Some(days * 86400 + h * 3600 + mi * 60 + s - offset)
    };
    parse().unwrap_or(0)
}

/// The identity of a manager: Apply entries by name and subresource,
/// Update entries by name, apiVersion and subresource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ManagerId {
    /// The manager's name.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The apiVersion (empty for Apply).
    pub api_version: String,
    /// The subresource (empty for the main resource).
    pub subresource: String,
}

impl ManagerId {
    /// The API server's identifier string: the entry's JSON without fields
    /// and time, e.g. `{"manager":"kubectl","operation":"Apply"}`. Conflict
    /// messages list managers sorted by it.
    pub fn identifier(&self) -> String {
        let mut out = String::from("{");
        let mut sep = "";
        if !self.manager.is_empty() {
            out.push_str("\"manager\":");
            gojson::write_string(&mut out, &self.manager);
            sep = ",";
        }
        out.push_str(sep);
        out.push_str("\"operation\":");
        gojson::write_string(&mut out, self.operation.as_str());
        if !self.api_version.is_empty() {
            out.push_str(",\"apiVersion\":");
            gojson::write_string(&mut out, &self.api_version);
        }
        if !self.subresource.is_empty() {
            out.push_str(",\"subresource\":");
            gojson::write_string(&mut out, &self.subresource);
        }
        out.push('}');
        out
    }
}

impl fmt::Display for ManagerId {
    /// As conflict messages print a manager: `"name"`, then
    /// ` with subresource "status"`, then ` using apps/v1` for Update.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut q = String::new();
        go_quote_simple(&mut q, &self.manager);
        f.write_str(&q)?;
        if !self.subresource.is_empty() {
            let mut s = String::new();
            go_quote_simple(&mut s, &self.subresource);
            write!(f, " with subresource {s}")?;
        }
        if self.operation == Operation::Update {
            write!(f, " using {}", self.api_version)?;
        }
        Ok(())
    }
}

fn go_quote_simple(out: &mut String, s: &str) {
    // Manager names are printable; quote like Go's %q for the common case.
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One conflicting field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The manager that owns the field.
    pub manager: ManagerId,
    /// The field.
    pub path: Path,
}

impl Conflict {
    /// The `details.causes[].message` of the 409: `conflict with "x" using v1`.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager)
    }

    /// The `details.causes[].field` of the 409: `.spec.replicas`.
    pub fn field(&self) -> String {
        self.path.to_string()
    }
}

/// The message of a 409 for these conflicts, as the API server words it.
pub fn conflicts_message(conflicts: &[Conflict]) -> String {
    if let [one] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            one.manager, one.path
        );
    }
    let mut managers: Vec<(String, &ManagerId)> = Vec::new();
    for c in conflicts {
        let id = c.manager.identifier();
        if !managers.iter().any(|(i, _)| *i == id) {
            managers.push((id, &c.manager));
        }
    }
    managers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = Vec::new();
    for (_, m) in managers {
        lines.push(format!("conflicts with {m}"));
        for c in conflicts.iter().filter(|c| c.manager == *m) {
            lines.push(format!("- {}", c.path));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Why an apply failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Fields owned by other managers would change (HTTP 409).
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<Conflict>),
    /// The configuration sets `metadata.managedFields` (HTTP 400).
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsInConfig,
    /// The configuration's apiVersion is not the resource's (HTTP 400).
    #[error(
        "Incorrect version specified in apply patch. Specified patch version: {got}, expected: {expected}"
    )]
    VersionMismatch {
        /// The configuration's apiVersion.
        got: String,
        /// The version served.
        expected: String,
    },
    /// The configuration is not valid for the schema (HTTP 422/400).
    #[error("invalid apply configuration: {0}")]
    Invalid(#[from] TypedError),
    /// The live object's managedFields do not decode (HTTP 500).
    #[error("failed to decode managed fields: {0}")]
    ManagedFields(#[from] ManagedFieldsError),
}

/// Which fields a write endpoint resets (and therefore never records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResetFields {
    /// Nothing is reset (kinds without a status subresource).
    #[default]
    None,
    /// The main resource of a kind with a status subresource: `.status` is
    /// reset to its old value.
    Status,
    /// The status subresource: everything but `.status` is reset.
    AllButStatus,
}

impl ResetFields {
    /// The reset rule of a write to `subresource` (`""` for the main
    /// resource) of a kind that has (or not) a status subresource.
    pub fn for_write(subresource: &str, has_status_subresource: bool) -> Self {
        match (subresource, has_status_subresource) {
            ("status", _) => ResetFields::AllButStatus,
            ("", true) => ResetFields::Status,
            _ => ResetFields::None,
        }
    }

    /// Removes the reset fields (and everything below them) from `set`.
    pub fn filter(self, set: &FieldSet) -> FieldSet {
        let mut out = set.clone();
        self.filter_in_place(&mut out);
        out
    }

    /// [`ResetFields::filter`] in place.
    pub fn filter_in_place(self, set: &mut FieldSet) {
        let status = PathElement::field("status");
        match self {
            ResetFields::None => {}
            ResetFields::Status => set.retain_top_in_place(|pe| *pe != status),
            ResetFields::AllButStatus => set.retain_top_in_place(|pe| *pe == status),
        }
    }

    /// The object a write of `new` really stores: the main resource keeps
    /// the old `.status` (none on create), the status subresource keeps
    /// everything of the old object but `.status`. `new`'s managed fields
    /// are kept either way.
    pub fn reset_object(self, old: Option<&Value>, new: &Value) -> Value {
        let mut out = new.clone();
        self.reset_in_place(old, &mut out);
        out
    }

    /// [`ResetFields::reset_object`] in place.
    pub fn reset_in_place(self, old: Option<&Value>, obj: &mut Value) {
        match self {
            ResetFields::None => {}
            ResetFields::Status => {
                if let Some(o) = obj.as_object_mut() {
                    match old.and_then(|o| o.get("status")) {
                        Some(s) => {
                            o.insert("status".into(), s.clone());
                        }
                        None => {
                            o.remove("status");
                        }
                    }
                }
            }
            ResetFields::AllButStatus => {
                let Some(old) = old else { return };
                let mut out = without_managed_fields(old);
                let managed = obj
                    .get_mut("metadata")
                    .and_then(|m| m.as_object_mut())
                    .and_then(|m| m.remove("managedFields"));
                if let (Some(mf), Some(Value::Object(meta))) = (managed, out.get_mut("metadata")) {
                    meta.insert("managedFields".into(), mf);
                }
                if let Some(o) = out.as_object_mut() {
                    match obj.get_mut("status").map(Value::take) {
                        Some(s) => {
                            o.insert("status".into(), s);
                        }
                        None => {
                            o.remove("status");
                        }
                    }
                }
                *obj = out;
            }
        }
    }
}

/// Parameters of a server-side apply.
#[derive(Debug, Clone, Copy)]
pub struct ApplyParams<'a> {
    /// `fieldManager` (required for apply).
    pub manager: &'a str,
    /// `force=true`: take ownership of conflicting fields.
    pub force: bool,
    /// The resource's `group/version` (`v1` for the core group).
    pub api_version: &'a str,
    /// `status`, `scale` … or `""`.
    pub subresource: &'a str,
    /// The request time, RFC 3339 in UTC with seconds (`2024-01-02T03:04:05Z`).
    pub now: &'a str,
    /// What the endpoint resets.
    pub reset: ResetFields,
}

/// Parameters of an update (create, update, non-apply patch).
#[derive(Debug, Clone, Copy)]
pub struct UpdateParams<'a> {
    /// The field manager (`fieldManager`, or the name derived from the user agent).
    pub manager: &'a str,
    /// The resource's `group/version`.
    pub api_version: &'a str,
    /// `status`, `scale` … or `""`.
    pub subresource: &'a str,
    /// The request time, RFC 3339.
    pub now: &'a str,
    /// What the endpoint resets.
    pub reset: ResetFields,
}

/// A manager and its owned fields during an operation. The set is decoded
/// from the stored FieldsV1 only when the operation needs it, and an entry
/// whose set did not change is written back from the stored FieldsV1.
#[derive(Debug, Clone)]
struct Managed<'a> {
    id: ManagerId,
    api_version: String,
    time: Option<String>,
    /// The decoded set, once needed.
    set: Option<FieldSet>,
    /// The stored FieldsV1, while the set is unchanged.
    raw: Option<&'a Value>,
}

impl<'a> Managed<'a> {
    fn new(id: ManagerId, api_version: String, time: Option<String>, set: FieldSet) -> Self {
        Managed {
            id,
            api_version,
            time,
            set: Some(set),
            raw: None,
        }
    }

    /// The set, decoded on first use (an undecodable entry owns nothing).
    fn set(&mut self) -> &FieldSet {
        self.set_decoded()
    }

    fn set_decoded(&mut self) -> &mut FieldSet {
        let raw = &self.raw;
        self.set.get_or_insert_with(|| {
            raw.as_ref()
                .and_then(|r| FieldSet::from_fields_v1(r).ok())
                .unwrap_or_default()
        })
    }

    /// The set, for changing it (the stored FieldsV1 is then stale).
    fn set_mut(&mut self) -> &mut FieldSet {
        self.set_decoded();
        self.raw = None;
        self.set.as_mut().expect("decoded above")
    }

    fn is_empty(&self) -> bool {
        match (&self.set, &self.raw) {
            (Some(s), _) => s.is_empty(),
            (None, Some(Value::Object(m))) => m.is_empty(),
            (None, _) => true,
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        if !self.id.manager.is_empty() {
            m.insert("manager".into(), Value::String(self.id.manager.clone()));
        }
        m.insert(
            "operation".into(),
            Value::String(self.id.operation.as_str().into()),
        );
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        let fields = match (&self.raw, &self.set) {
            (Some(raw), _) => (*raw).clone(),
            (None, Some(set)) => set.to_fields_v1(),
            (None, None) => Value::Object(Map::new()),
        };
        m.insert("fieldsV1".into(), fields);
        if !self.id.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.id.subresource.clone()),
            );
        }
        Value::Object(m)
    }
}

/// Reads the managed fields of a stored object for an operation: entries
/// are checked as the API server checks them, their sets are decoded later.
fn read_managed(obj: &Value) -> Result<Vec<Managed<'_>>, ManagedFieldsError> {
    let Some(list) = obj.get("metadata").and_then(|m| m.get("managedFields")) else {
        return Ok(Vec::new());
    };
    let items = match list {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(ManagedFieldsError::NotAList),
    };
    let mut out: Vec<Managed<'_>> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let o = item.as_object().ok_or(ManagedFieldsError::NotAList)?;
        let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let operation = match o.get("operation").and_then(Value::as_str) {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            _ => return Err(ManagedFieldsError::Operation { index }),
        };
        let api_version = s("apiVersion");
        if api_version.is_empty() {
            return Err(ManagedFieldsError::ApiVersion { index });
        }
        let fields_type = s("fieldsType");
        if fields_type != "FieldsV1" {
            return Err(ManagedFieldsError::FieldsType { index, fields_type });
        }
        let raw = match o.get("fieldsV1") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(_) => {
                return Err(ManagedFieldsError::FieldsV1 {
                    index,
                    source: FieldsV1Error::NotAnObject {
                        path: String::new(),
                    },
                });
            }
        };
        let id = ManagerId {
            manager: s("manager"),
            operation,
            api_version: match operation {
                Operation::Apply => String::new(),
                Operation::Update => api_version.clone(),
            },
            subresource: s("subresource"),
        };
        if out.iter().any(|m| m.id == id) {
            return Err(ManagedFieldsError::Duplicate {
                index,
                manager: id.manager,
            });
        }
        out.push(Managed {
            id,
            api_version,
            time: o.get("time").and_then(Value::as_str).map(str::to_string),
            set: None,
            raw,
        });
    }
    Ok(out)
}

/// Sorts and writes the entries to `metadata.managedFields` (removing the
/// field when none is left).
fn write_managed(obj: &mut Value, mut managed: Vec<Managed<'_>>) {
    managed.retain(|m| !m.is_empty());
    managed.sort_by(|p, q| {
        p.id.operation
            .cmp(&q.id.operation)
            .then_with(|| unix_seconds(p.time.as_deref()).cmp(&unix_seconds(q.time.as_deref())))
            .then_with(|| p.id.manager.cmp(&q.id.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.id.subresource.cmp(&q.id.subresource))
    });
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    if managed.is_empty() {
        if let Some(Value::Object(meta)) = root.get_mut("metadata") {
            meta.remove("managedFields");
        }
        return;
    }
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        meta.insert(
            "managedFields".into(),
            Value::Array(managed.iter().map(Managed::to_value).collect()),
        );
    }
}

/// Removes, in place, the paths the API server never records as owned.
fn strip_meta(set: &mut FieldSet) {
    const TOP: [&str; 3] = ["apiVersion", "kind", "metadata"];
    const META: [&str; 9] = [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ];
    for f in TOP {
        set.remove_path(&[PathElement::field(f)]);
    }
    let meta = PathElement::field("metadata");
    for f in META {
        set.remove_path(&[meta.clone(), PathElement::field(f)]);
    }
}

/// Removes `metadata.managedFields` from a comparison's sets: the stored
/// list is never part of the object being compared.
fn drop_managed_fields_path(set: &mut FieldSet) {
    set.remove_path(&[
        PathElement::field("metadata"),
        PathElement::field("managedFields"),
    ]);
}

/// A copy of `obj` without `metadata.managedFields` (which is never copied).
fn without_managed_fields(obj: &Value) -> Value {
    let Value::Object(root) = obj else {
        return obj.clone();
    };
    let mut out = Map::with_capacity(root.len());
    for (k, v) in root {
        match (k.as_str(), v) {
            ("metadata", Value::Object(meta)) => {
                let mut m = Map::with_capacity(meta.len());
                for (mk, mv) in meta {
                    if mk != "managedFields" {
                        m.insert(mk.clone(), mv.clone());
                    }
                }
                out.insert(k.clone(), Value::Object(m));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The value a newly created object is compared against. For built-in
/// kinds (types named `io.k8s.…`) the API server compares with the Go zero
/// value, in which embedded structs such as `metadata`, `spec`,
/// `template` and `strategy` already exist and the required `containers`
/// list is `null`; so they are not recorded as new members. Custom
/// resources start from `{}`.
fn zero_value(ctx: &TypedContext<'_>) -> Value {
    const SKELETON: [&str; 6] = [
        "metadata",
        "spec",
        "status",
        "template",
        "strategy",
        "updateStrategy",
    ];
    fn build(schema: &Schema, ty: &TypeRef, depth: usize) -> Value {
        let mut out = Map::new();
        if depth < 6
            && let Some(TypeDef::Struct(st)) = schema.resolve(ty)
        {
            // Required lists without `omitempty` are `null` in the zero value.
            if let Some(field) = st.fields.get("containers")
                && matches!(schema.resolve(&field.ty), Some(TypeDef::List(_)))
            {
                out.insert("containers".to_string(), Value::Null);
            }
            for name in SKELETON {
                if let Some(field) = st.fields.get(name)
                    && matches!(schema.resolve(&field.ty), Some(TypeDef::Struct(_)))
                {
                    out.insert(name.to_string(), build(schema, &field.ty, depth + 1));
                }
            }
        }
        Value::Object(out)
    }
    match ctx.root {
        TypeRef::Named(name) if name.starts_with("io.k8s.") => build(ctx.schema, ctx.root, 0),
        _ => Value::Object(Map::new()),
    }
}

/// Structured-merge-diff's update step: compare `old` with `new`, take
/// changed fields away from every manager but `skip` (conflicts unless
/// forced), and take removed fields away from all of them. Returns the
/// changed (added or modified) fields and whether the object changed.
fn transfer(
    ctx: &TypedContext<'_>,
    old: &Value,
    new: &Value,
    managed: &mut [Managed<'_>],
    skip: Option<&ManagerId>,
    force: bool,
    reset: ResetFields,
    known: Option<Comparison>,
) -> Result<(FieldSet, bool), Vec<Conflict>> {
    if known.is_none() && skip.is_some() && managed.iter().all(|m| Some(&m.id) == skip) {
        // Nobody to take fields from: only whether the object changed matters.
        return Ok((FieldSet::new(), !equal_ignoring_managed_fields(old, new)));
    }
    let cmp = known.unwrap_or_else(|| ctx.compare(old, new));
    let mut changed = cmp.modified.union(&cmp.added);
    let mut removed = cmp.removed;
    drop_managed_fields_path(&mut changed);
    drop_managed_fields_path(&mut removed);
    reset.filter_in_place(&mut changed);
    reset.filter_in_place(&mut removed);
    let object_changed = !changed.is_empty() || !removed.is_empty();
    if changed.is_empty() && removed.is_empty() {
        return Ok((changed, object_changed));
    }
    let mut conflicts = Vec::new();
    let mut conflict_sets = Vec::with_capacity(managed.len());
    for m in managed.iter_mut() {
        if Some(&m.id) == skip {
            conflict_sets.push(FieldSet::new());
            continue;
        }
        let c = m.set().intersection(&changed);
        if !force {
            for path in c.paths() {
                conflicts.push(Conflict {
                    manager: m.id.clone(),
                    path,
                });
            }
        }
        conflict_sets.push(c);
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    for (m, c) in managed.iter_mut().zip(conflict_sets) {
        if Some(&m.id) == skip {
            continue;
        }
        if !c.is_empty() {
            let rest = m.set().difference(&c);
            *m.set_mut() = rest;
        }
        if !removed.is_empty() && !m.set().intersection(&removed).is_empty() {
            let rest = m.set().difference(&removed);
            *m.set_mut() = rest;
        }
    }
    Ok((changed, object_changed))
}

/// Equality of two objects, `metadata.managedFields` aside.
fn equal_ignoring_managed_fields(a: &Value, b: &Value) -> bool {
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return values_equal(a, b);
    };
    let meta = |m: &Map<String, Value>| {
        m.iter()
            .filter(|(k, _)| k.as_str() != "managedFields")
            .count()
    };
    let same_meta = |x: Option<&Value>, y: Option<&Value>| match (x, y) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            meta(x) == meta(y)
                && x.iter()
                    .filter(|(k, _)| k.as_str() != "managedFields")
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        (x, y) => x == y,
    };
    a.keys().filter(|k| k.as_str() != "metadata").count()
        == b.keys().filter(|k| k.as_str() != "metadata").count()
        && a.iter()
            .filter(|(k, _)| k.as_str() != "metadata")
            .all(|(k, v)| b.get(k).is_some_and(|w| values_equal(v, w)))
        && same_meta(a.get("metadata"), b.get("metadata"))
}

/// Records an Update by `id` from `old` to `new` into `managed` (the
/// manager-fields-updater and strip-meta layers around the core).
#[allow(clippy::too_many_arguments)]
fn record_update(
    ctx: &TypedContext<'_>,
    old: &Value,
    new: &Value,
    managed: &mut Vec<Managed<'_>>,
    id: ManagerId,
    api_version: &str,
    now: &str,
    reset: ResetFields,
) {
    // A forced transfer never reports conflicts.
    let (mut current, _) =
        transfer(ctx, old, new, managed, None, true, reset, None).unwrap_or_default();
    managed.retain(|m| !m.is_empty());
    strip_meta(&mut current);
    if current.is_empty() {
        return;
    }
    match managed.iter_mut().find(|m| m.id == id) {
        Some(m) => {
            let merged = current.union(m.set());
            *m.set_mut() = merged;
            m.api_version = api_version.to_string();
            m.time = Some(now.to_string());
        }
        None => managed.push(Managed::new(
            id,
            api_version.to_string(),
            Some(now.to_string()),
            current,
        )),
    }
}

/// Merges the oldest Update entries into `ancient-changes` until at most
/// [`MAX_UPDATE_MANAGERS`] remain.
fn cap_update_managers(managed: &mut Vec<Managed<'_>>) {
    let count = managed
        .iter()
        .filter(|m| m.id.operation == Operation::Update)
        .count();
    if count <= MAX_UPDATE_MANAGERS {
        return;
    }
    let mut updaters: Vec<(i64, String)> = managed
        .iter()
        .filter(|m| m.id.operation == Operation::Update)
        .map(|m| (unix_seconds(m.time.as_deref()), m.id.identifier()))
        .collect();
    updaters.sort();
    let mut length = count;
    let mut first_by_version: Vec<(String, String)> = Vec::new();
    for (_, ident) in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(pos) = managed.iter().position(|m| m.id.identifier() == ident) else {
            continue;
        };
        let version = managed[pos].api_version.clone();
        let bucket = ManagerId {
            manager: ANCIENT_CHANGES.to_string(),
            operation: Operation::Update,
            api_version: version.clone(),
            subresource: String::new(),
        };
        match first_by_version.iter().find(|(v, _)| *v == version) {
            Some((_, first)) => {
                let first = first.clone();
                let mut entry = managed.remove(pos);
                if !managed.iter().any(|m| m.id == bucket)
                    && let Some(f) = managed.iter_mut().find(|m| m.id.identifier() == first)
                {
                    f.id = bucket.clone();
                }
                if let Some(b) = managed.iter_mut().find(|m| m.id == bucket) {
                    let merged = entry.set().union(b.set());
                    *b.set_mut() = merged;
                    b.time = entry.time;
                    b.api_version = entry.api_version;
                }
                length -= 1;
            }
            None => first_by_version.push((version, ident)),
        }
    }
}

/// The configuration recorded in the last-applied annotation: the applied
/// object without the annotation itself, as Go marshals it (sorted keys)
/// followed by a newline.
fn build_last_applied(config: &Value) -> String {
    let mut obj = config.clone();
    if let Some(Value::Object(ann)) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        ann.remove(LAST_APPLIED_ANNOTATION);
    }
    let mut s = gojson::to_string_sorted(&obj);
    s.push('\n');
    s
}

fn annotation<'v>(obj: &'v Value, key: &str) -> Option<&'v str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

fn set_last_applied(obj: &mut Value, value: String) {
    let Some(Value::Object(ann)) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    else {
        return;
    };
    ann.insert(LAST_APPLIED_ANNOTATION.to_string(), Value::String(value));
    let size: usize = ann
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        ann.remove(LAST_APPLIED_ANNOTATION);
    }
}

/// The fields whose conflicts manager `kubectl` may override: those of the
/// live object's last-applied configuration whose value still equals the
/// live value.
fn allowed_from_last_applied(ctx: &TypedContext<'_>, live: &Value) -> Option<FieldSet> {
    let text = annotation(live, LAST_APPLIED_ANNOTATION).filter(|s| !s.is_empty())?;
    let last: Value = serde_json::from_str(text).ok()?;
    if !last.is_object() {
        return None;
    }
    let set = ctx.to_field_set(&last);
    let cmp = ctx.compare(&last, live);
    Some(set.difference(&cmp.modified.union(&cmp.added).union(&cmp.removed)))
}

/// Removes map entries that the configuration set to `null` (the API
/// server stores no nulls for them: typed objects drop them, custom
/// resources prune them).
/// Returns whether anything was removed.
fn strip_config_nulls(merged: &mut Value, config: &Value) -> bool {
    let (Value::Object(m), Value::Object(c)) = (merged, config) else {
        return false;
    };
    let mut removed = false;
    for (k, cv) in c {
        if cv.is_null() {
            if m.get(k).is_some_and(Value::is_null) {
                m.shift_remove(k);
                removed = true;
            }
        } else if let Some(mv) = m.get_mut(k) {
            removed |= strip_config_nulls(mv, cv);
        }
    }
    removed
}

/// Server-side apply of `config` by `params.manager` onto `live` (absent on
/// create). Returns the new object with its `metadata.managedFields` and
/// with `params.reset` applied (the main resource keeps the old status, the
/// status subresource everything else), or the conflicts.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    params: &ApplyParams<'_>,
    schema: &Schema,
    ty: &TypeRef,
) -> Result<Value, ApplyError> {
    let ctx = TypedContext::new(schema, ty);
    if config
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::ManagedFieldsInConfig);
    }
    if let Some(v) = config.get("apiVersion").and_then(Value::as_str)
        && v != params.api_version
    {
        return Err(ApplyError::VersionMismatch {
            got: v.to_string(),
            expected: params.api_version.to_string(),
        });
    }
    let mut config_set = ctx.to_field_set_strict(config)?;
    let live_managed = match live {
        Some(l) => read_managed(l)?,
        None => Vec::new(),
    };
    // Only manager `kubectl` may need a second, forced attempt.
    let may_retry = params.manager == "kubectl" && !params.force;
    let (first, first_set) = if may_retry {
        (live_managed.clone(), config_set.clone())
    } else {
        (live_managed, std::mem::take(&mut config_set))
    };
    let result = match apply_core(&ctx, live, first, config, first_set, params, params.force) {
        Err(conflicts) if may_retry => {
            let allowed = live.and_then(|l| allowed_from_last_applied(&ctx, l));
            match allowed {
                Some(allowed) => {
                    let remaining: Vec<Conflict> = conflicts
                        .into_iter()
                        .filter(|c| !allowed.has(&c.path.0))
                        .collect();
                    if remaining.is_empty() {
                        let again = live.map(read_managed).transpose()?.unwrap_or_default();
                        apply_core(&ctx, live, again, config, config_set.clone(), params, true)
                    } else {
                        Err(remaining)
                    }
                }
                None => Err(conflicts),
            }
        }
        other => other,
    };
    let (mut object, managed) = result.map_err(ApplyError::Conflicts)?;

    if params.manager == "kubectl"
        && annotation(&object, LAST_APPLIED_ANNOTATION).is_some_and(|s| !s.is_empty())
    {
        set_last_applied(&mut object, build_last_applied(config));
    }
    write_managed(&mut object, managed);
    Ok(object)
}

fn apply_core<'a>(
    ctx: &TypedContext<'_>,
    live: Option<&'a Value>,
    mut managed: Vec<Managed<'a>>,
    config: &Value,
    config_set: FieldSet,
    params: &ApplyParams<'_>,
    force: bool,
) -> Result<(Value, Vec<Managed<'a>>), Vec<Conflict>> {
    let empty = Value::Object(Map::new());
    let live_ref = live.unwrap_or(&empty);
    // An object that was never tracked: its fields belong to
    // `before-first-apply`, so the applier conflicts with them.
    if managed.is_empty() && live.is_some() {
        let zero = zero_value(ctx);
        record_update(
            ctx,
            &zero,
            live_ref,
            &mut managed,
            ManagerId {
                manager: BEFORE_FIRST_APPLY.to_string(),
                operation: Operation::Update,
                api_version: params.api_version.to_string(),
                subresource: params.subresource.to_string(),
            },
            params.api_version,
            params.now,
            params.reset,
        );
    }
    let id = ManagerId {
        manager: params.manager.to_string(),
        operation: Operation::Apply,
        api_version: String::new(),
        subresource: params.subresource.to_string(),
    };
    let mut merged = match live {
        Some(l) => without_managed_fields(l),
        None => Value::Object(Map::new()),
    };
    // On create nobody else owns anything: no need to account for changes.
    let diff = match live {
        Some(_) => Some(ctx.merge_root_diff(&mut merged, config)),
        None => {
            ctx.merge_root_into(&mut merged, config);
            None
        }
    };
    params.reset.reset_in_place(live, &mut merged);

    let mut new_set = config_set;
    params.reset.filter_in_place(&mut new_set);
    strip_meta(&mut new_set);
    let previous = managed
        .iter()
        .position(|m| m.id == id)
        .map(|pos| managed.remove(pos));
    // The usual re-apply applies the same fields: recognise the stored
    // FieldsV1 without decoding it (then there is nothing to prune either).
    let (last, previous_time, previous_raw, unchanged) = match previous {
        Some(mut m) => match m.raw.filter(|raw| new_set.matches_fields_v1(raw)) {
            Some(raw) => (None, m.time, Some(raw), true),
            None => {
                m.set_decoded();
                (m.set.take(), m.time, m.raw, false)
            }
        },
        None => (None, None, None, false),
    };
    let set_changed = !unchanged && last.as_ref() != Some(&new_set);
    let mut known = diff;
    if let Some(last) = &last
        && !last.is_subset_of(&new_set)
    {
        merged = prune(ctx, merged, &mut managed, &new_set, last);
        known = None;
    }
    if strip_config_nulls(&mut merged, config) {
        known = None;
    }
    let (_, object_changed) = transfer(
        ctx,
        live_ref,
        &merged,
        &mut managed,
        Some(&id),
        force,
        params.reset,
        known,
    )?;
    managed.retain(|m| !m.is_empty());

    let mut entry = Managed::new(id, params.api_version.to_string(), previous_time, new_set);
    if !set_changed {
        // Unchanged: write the stored FieldsV1 back as it was.
        entry.raw = previous_raw;
    }
    if object_changed || set_changed || entry.time.is_none() {
        entry.time = Some(params.now.to_string());
    }
    managed.push(entry);
    cap_update_managers(&mut managed);
    Ok((merged, managed))
}

/// Removes from `merged` what the applier owned in `last`, no longer
/// applies, and no other manager owns (structured-merge-diff's prune: remove
/// `last`, add back everything owned by anyone, then add back everything
/// that was never the applier's).
fn prune(
    ctx: &TypedContext<'_>,
    merged: Value,
    managed: &mut [Managed<'_>],
    new_set: &FieldSet,
    last: &FieldSet,
) -> Value {
    let mut owned = new_set.clone();
    for m in managed.iter_mut() {
        owned = owned.union(m.set());
    }
    let named = |set: &FieldSet, v: &Value| ctx.ensure_named_fields_are_members(set, v);
    let merged_set = named(&ctx.to_field_set(&merged), &merged);
    let last_named = named(last, &merged);

    let pruned = ctx.remove(&merged, &last_named, false);
    let pruned_set = named(&ctx.to_field_set(&pruned), &pruned);
    let owned_named = named(&owned, &merged);
    let removable = merged_set.difference(&pruned_set.union(&owned_named));
    let pruned = ctx.remove(&merged, &removable, false);

    let pruned_set = named(&ctx.to_field_set(&pruned), &pruned);
    let dangling = merged_set.difference(&pruned_set).intersection(&last_named);
    ctx.remove(&merged, &dangling, true)
}

/// Records a non-apply write of `new` over `old` (absent on create) by
/// `params.manager`, and returns `new` with its `metadata.managedFields` and
/// with `params.reset` applied.
///
/// Managed fields in `new` that differ from `old`'s replace them before the
/// write is recorded (clients may rewrite them); `managedFields: []` or
/// `[{}]` clears them; on a subresource the request's managed fields are
/// ignored. An existing object without managed fields stays untracked.
pub fn update(
    old: Option<&Value>,
    new: &Value,
    params: &UpdateParams<'_>,
    schema: &Schema,
    ty: &TypeRef,
) -> Value {
    let ctx = TypedContext::new(schema, ty);
    let read_old = || {
        old.map(|o| read_managed(o).unwrap_or_default())
            .unwrap_or_default()
    };
    let requested = new.get("metadata").and_then(|m| m.get("managedFields"));
    let mut managed = if !params.subresource.is_empty() {
        read_old()
    } else if is_reset_managed_fields(requested) {
        Vec::new()
    } else {
        match read_managed(new) {
            Ok(e) if !e.is_empty() => e,
            _ => read_old(),
        }
    };
    let mut new_obj = without_managed_fields(new);
    params.reset.reset_in_place(old, &mut new_obj);
    if managed.is_empty() && old.is_some() {
        return new_obj;
    }
    let zero;
    let old_ref = match old {
        Some(o) => o,
        None => {
            zero = zero_value(&ctx);
            &zero
        }
    };
    record_update(
        &ctx,
        old_ref,
        &new_obj,
        &mut managed,
        ManagerId {
            manager: params.manager.to_string(),
            operation: Operation::Update,
            api_version: params.api_version.to_string(),
            subresource: params.subresource.to_string(),
        },
        params.api_version,
        params.now,
        params.reset,
    );
    cap_update_managers(&mut managed);
    write_managed(&mut new_obj, managed);
    new_obj
}

/// `managedFields: []` and `managedFields: [{}]` ask for a reset.
fn is_reset_managed_fields(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(items)) => match items.as_slice() {
            [] => true,
            [Value::Object(o)] => o.is_empty(),
            _ => false,
        },
        _ => false,
    }
}

/// The field set of the applied configuration, as it would be recorded
/// for an apply through `reset` (helper for dry runs and diagnostics).
pub fn applied_field_set(
    config: &Value,
    schema: &Schema,
    ty: &TypeRef,
    reset: ResetFields,
) -> Result<FieldSet, TypedError> {
    let ctx = TypedContext::new(schema, ty);
    let mut set = ctx.to_field_set_strict(config)?;
    reset.filter_in_place(&mut set);
    strip_meta(&mut set);
    Ok(set)
}

/// True when `a` and `b` are equal ignoring `metadata.managedFields` times.
pub fn same_ignoring_times(a: &Value, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(Value::Array(items)) = v
            .get_mut("metadata")
            .and_then(|m| m.get_mut("managedFields"))
        {
            for item in items {
                if let Value::Object(o) = item {
                    o.remove("time");
                }
            }
        }
        v
    }
    values_equal(&strip(a), &strip(b))
}
