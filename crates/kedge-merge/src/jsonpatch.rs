//! JSON patch (RFC 6902) as the Kubernetes API server applies it for
//! `application/json-patch+json`: the operations `add`, `remove`, `replace`,
//! `move`, `copy` and `test`, JSON pointers with `~0`/`~1` escapes, `-` to
//! append and negative indices counted from the end, and error messages
//! worded like the server's (evanphx/json-patch v4).
//!
//! Design: a patch is decoded once into [`Operation`]s, then applied to an
//! owned copy of the document; any failure drops the copy, so a patch
//! applies all or nothing. [`JsonPatchLimits`] bounds the operation count
//! (the server allows 10000), the patch size and the bytes that `copy`
//! operations may add. As in the server's library, a `null` in the middle of
//! a path counts as missing, a `replace` of a missing object member adds it,
//! and `test` of a missing member against `null` succeeds.

use serde_json::{Map, Value};

/// An error from decoding or applying a JSON patch. [`JsonPatchError::status_code`]
/// tells which HTTP status the API server answers with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonPatchError {
    /// The patch is not a list of operation objects (400).
    #[error("{0}")]
    Decode(String),
    /// Too many operations (413).
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations {
        /// The bound.
        max: usize,
        /// The operation count.
        got: usize,
    },
    /// The patch body is too large (413).
    #[error("the JSON patch is {got} bytes, more than the allowed {max}")]
    TooLarge {
        /// The bound.
        max: usize,
        /// The size.
        got: usize,
    },
    /// An operation failed (422); the message reads like the server's, e.g.
    /// `testing value /spec/replicas failed: test failed`.
    #[error("{0}")]
    Apply(String),
}

impl JsonPatchError {
    /// 400, 413 or 422, as the API server answers.
    pub fn status_code(&self) -> u16 {
        match self {
            JsonPatchError::Decode(_) => 400,
            JsonPatchError::TooManyOperations { .. } | JsonPatchError::TooLarge { .. } => 413,
            JsonPatchError::Apply(_) => 422,
        }
    }
}

/// Bounds on a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonPatchLimits {
    /// Maximum operation count (the server's `maxJSONPatchOperations`).
    pub max_operations: usize,
    /// Maximum serialized patch size in bytes.
    pub max_patch_bytes: usize,
    /// Maximum bytes that all `copy` operations together may add.
    pub max_copy_bytes: usize,
}

impl Default for JsonPatchLimits {
    fn default() -> Self {
        JsonPatchLimits {
            max_operations: 10_000,
            max_patch_bytes: 3 * 1024 * 1024,
            max_copy_bytes: 3 * 3 * 1024 * 1024,
        }
    }
}

/// One decoded operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `add` `value` at `path`.
    Add {
        /// Target pointer.
        path: Option<String>,
        /// The value (`None` when the member is absent).
        value: Option<Value>,
    },
    /// `remove` the value at `path`.
    Remove {
        /// Target pointer.
        path: Option<String>,
    },
    /// `replace` the value at `path`.
    Replace {
        /// Target pointer.
        path: Option<String>,
        /// The value.
        value: Option<Value>,
    },
    /// `move` the value at `from` to `path`.
    Move {
        /// Source pointer.
        from: Option<String>,
        /// Target pointer.
        path: Option<String>,
    },
    /// `copy` the value at `from` to `path`.
    Copy {
        /// Source pointer.
        from: Option<String>,
        /// Target pointer.
        path: Option<String>,
    },
    /// `test` that the value at `path` equals `value`.
    Test {
        /// Target pointer.
        path: Option<String>,
        /// The expected value.
        value: Option<Value>,
    },
    /// An operation with an unknown (or missing) `op`; applying it fails.
    Unknown {
        /// The `op` member, or `unknown`.
        op: String,
    },
}

/// Decodes a patch document (a JSON list of operation objects).
pub fn decode(patch: &Value, limits: &JsonPatchLimits) -> Result<Vec<Operation>, JsonPatchError> {
    let Value::Array(ops) = patch else {
        return Err(JsonPatchError::Decode(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            go_type(patch)
        )));
    };
    if ops.len() > limits.max_operations {
        return Err(JsonPatchError::TooManyOperations {
            max: limits.max_operations,
            got: ops.len(),
        });
    }
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let Value::Object(m) = op else {
            return Err(JsonPatchError::Decode(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                go_type(op)
            )));
        };
        let kind = match m.get("op") {
            Some(Value::String(s)) => s.clone(),
            _ => "unknown".to_string(),
        };
        let string = |key: &str| -> Result<Option<String>, JsonPatchError> {
            match m.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) if kind == "add" && key == "path" => Err(JsonPatchError::Apply(format!(
                    "add operation failed to decode path: {MISSING}"
                ))),
                Some(other) => Err(JsonPatchError::Apply(format!(
                    "{kind} operation failed to decode {key}: json: cannot unmarshal {} into Go value of type string",
                    go_type(other)
                ))),
            }
        };
        let value = || m.get("value").cloned();
        out.push(match kind.as_str() {
            "add" => Operation::Add {
                path: string("path")?,
                value: value(),
            },
            "remove" => Operation::Remove {
                path: string("path")?,
            },
            "replace" => Operation::Replace {
                path: string("path")?,
                value: value(),
            },
            "move" => Operation::Move {
                from: string("from")?,
                path: string("path")?,
            },
            "copy" => Operation::Copy {
                from: string("from")?,
                path: string("path")?,
            },
            "test" => Operation::Test {
                path: string("path")?,
                value: value(),
            },
            _ => Operation::Unknown { op: kind.clone() },
        });
    }
    Ok(out)
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Decodes and applies `patch` to `doc` with the default limits.
pub fn apply_json_patch(doc: &Value, patch: &Value) -> Result<Value, JsonPatchError> {
    apply_json_patch_with_limits(doc, patch, &JsonPatchLimits::default())
}

/// Decodes and applies `patch` to `doc` within `limits`.
pub fn apply_json_patch_with_limits(
    doc: &Value,
    patch: &Value,
    limits: &JsonPatchLimits,
) -> Result<Value, JsonPatchError> {
    let size = serde_json::to_string(patch).map(|s| s.len()).unwrap_or(0);
    if size > limits.max_patch_bytes {
        return Err(JsonPatchError::TooLarge {
            max: limits.max_patch_bytes,
            got: size,
        });
    }
    let ops = decode(patch, limits)?;
    apply_operations(doc.clone(), &ops, limits)
}

const MISSING: &str = "missing value";
const INVALID_INDEX: &str = "invalid index referenced";
const TEST_FAILED: &str = "test failed";

fn apply_err(msg: String) -> JsonPatchError {
    JsonPatchError::Apply(msg)
}

/// Applies decoded operations to an owned document, all or nothing.
pub fn apply_operations(
    mut doc: Value,
    ops: &[Operation],
    limits: &JsonPatchLimits,
) -> Result<Value, JsonPatchError> {
    let mut copied = 0usize;
    for op in ops {
        match op {
            Operation::Add { path, value } => {
                let path = path.as_deref().ok_or_else(|| {
                    apply_err(format!("add operation failed to decode path: {MISSING}"))
                })?;
                let (con, key) = find_object(&mut doc, path).ok_or_else(|| {
                    apply_err(format!(
                        "add operation does not apply: doc is missing path: \"{path}\": {MISSING}"
                    ))
                })?;
                container_add(con, &key, value.clone().unwrap_or(Value::Null))
                    .map_err(|e| apply_err(format!("error in add for path: '{path}': {e}")))?;
            }
            Operation::Remove { path } => {
                let path = path.as_deref().ok_or_else(|| {
                    apply_err(format!("remove operation failed to decode path: operation missing path field: {MISSING}"))
                })?;
                let (con, key) = find_object(&mut doc, path).ok_or_else(|| {
                    apply_err(format!(
                        "remove operation does not apply: doc is missing path: \"{path}\": {MISSING}"
                    ))
                })?;
                container_remove(con, &key)
                    .map_err(|e| apply_err(format!("error in remove for path: '{path}': {e}")))?;
            }
            Operation::Replace { path, value } => {
                let path = path.as_deref().ok_or_else(|| {
                    apply_err(format!("replace operation failed to decode path: operation missing path field: {MISSING}"))
                })?;
                let value = value.clone().unwrap_or(Value::Null);
                if path.is_empty() {
                    if !matches!(value, Value::Object(_) | Value::Array(_)) {
                        return Err(apply_err(
                            "replace operation value must be object or array".to_string(),
                        ));
                    }
                    doc = value;
                    continue;
                }
                let (con, key) = find_object(&mut doc, path).ok_or_else(|| {
                    apply_err(format!(
                        "replace operation does not apply: doc is missing path: {path}: {MISSING}"
                    ))
                })?;
                if let Value::Array(a) = con {
                    let idx = array_index(a.len(), &key, false).map_err(|_| {
                        apply_err(format!("replace operation does not apply: doc is missing key: {path}: {MISSING}"))
                    })?;
                    a[idx] = value;
                } else if let Value::Object(m) = con {
                    m.insert(key, value);
                }
            }
            Operation::Move { from, path } => {
                let from = from.as_deref().ok_or_else(|| {
                    apply_err(format!("move operation failed to decode from: operation, missing from field: {MISSING}"))
                })?;
                let (con, key) = find_object(&mut doc, from).ok_or_else(|| {
                    apply_err(format!(
                        "move operation does not apply: doc is missing from path: {from}: {MISSING}"
                    ))
                })?;
                let val = container_get(con, &key)
                    .map_err(|e| apply_err(format!("error in move for path: '{key}': {e}")))?
                    .cloned();
                container_remove(con, &key)
                    .map_err(|e| apply_err(format!("error in move for path: '{key}': {e}")))?;
                let path = path.as_deref().ok_or_else(|| {
                    apply_err(format!("move operation failed to decode path: operation missing path field: {MISSING}"))
                })?;
                let (con, key) = find_object(&mut doc, path).ok_or_else(|| {
                    apply_err(format!(
                        "move operation does not apply: doc is missing destination path: {path}: {MISSING}"
                    ))
                })?;
                container_add(con, &key, val.unwrap_or(Value::Null))
                    .map_err(|e| apply_err(format!("error in move for path: '{path}': {e}")))?;
            }
            Operation::Copy { from, path } => {
                let from = from.as_deref().ok_or_else(|| {
                    apply_err(format!("copy operation failed to decode from: operation, missing from field: {MISSING}"))
                })?;
                let (con, key) = find_object(&mut doc, from).ok_or_else(|| {
                    apply_err(format!(
                        "copy operation does not apply: doc is missing from path: {from}: {MISSING}"
                    ))
                })?;
                let val = container_get(con, &key)
                    .map_err(|e| apply_err(format!("error in copy for from: '{from}': {e}")))?
                    .cloned()
                    .unwrap_or(Value::Null);
                let path = path.as_deref().ok_or_else(|| {
                    apply_err(format!("copy operation failed to decode path: operation missing path field: {MISSING}"))
                })?;
                let (con, key) = find_object(&mut doc, path).ok_or_else(|| {
                    apply_err(format!(
                        "copy operation does not apply: doc is missing destination path: {path}: {MISSING}"
                    ))
                })?;
                copied += serde_json::to_string(&val).map(|s| s.len()).unwrap_or(0);
                if copied > limits.max_copy_bytes {
                    return Err(apply_err(format!(
                        "Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {}",
                        limits.max_copy_bytes
                    )));
                }
                container_add(con, &key, val)
                    .map_err(|e| apply_err(format!("error in copy for path: '{path}': {e}")))?;
            }
            Operation::Test { path, value } => {
                let path = path.as_deref().ok_or_else(|| {
                    apply_err(format!("test operation failed to decode path: operation missing path field: {MISSING}"))
                })?;
                let failed = || apply_err(format!("testing value {path} failed: {TEST_FAILED}"));
                if path.is_empty() {
                    if value.as_ref() == Some(&doc) {
                        continue;
                    }
                    return Err(failed());
                }
                let (con, key) = find_object(&mut doc, path).ok_or_else(|| {
                    apply_err(format!(
                        "test operation does not apply: is missing path: {path}: {MISSING}"
                    ))
                })?;
                let actual = container_get(con, &key)
                    .map_err(|e| apply_err(format!("error in test for path: '{path}': {e}")))?;
                match (actual, value) {
                    (None, None | Some(Value::Null)) => {}
                    (None, _) | (Some(_), None | Some(Value::Null)) => return Err(failed()),
                    (Some(a), Some(v)) => {
                        if a != v {
                            return Err(failed());
                        }
                    }
                }
            }
            Operation::Unknown { op } => return Err(apply_err(format!("Unexpected kind: {op}"))),
        }
    }
    Ok(doc)
}

/// Decodes one reference token (`~1` → `/`, then `~0` → `~`).
fn decode_token(t: &str) -> String {
    if t.contains('~') {
        t.replace("~1", "/").replace("~0", "~")
    } else {
        t.to_string()
    }
}

/// Walks to the container of the last token; `None` when a step is missing,
/// `null`, a scalar, or a bad index.
fn find_object<'d>(doc: &'d mut Value, path: &str) -> Option<(&'d mut Value, String)> {
    let mut split: Vec<&str> = path.split('/').collect();
    if split.len() < 2 {
        return None;
    }
    let key = decode_token(split.pop()?);
    let mut cur = doc;
    for part in &split[1..] {
        let part = decode_token(part);
        let next = match cur {
            Value::Object(m) => m.get_mut(&part)?,
            Value::Array(a) => {
                let idx = array_index(a.len(), &part, false).ok()?;
                &mut a[idx]
            }
            _ => return None,
        };
        if !matches!(next, Value::Object(_) | Value::Array(_)) {
            return None;
        }
        cur = next;
    }
    matches!(cur, Value::Object(_) | Value::Array(_)).then_some((cur, key))
}

/// Go's `strconv.Atoi` error text for a token.
fn atoi(key: &str) -> Result<i64, String> {
    let digits = key.strip_prefix(['+', '-']).unwrap_or(key);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {key:?}: invalid syntax"));
    }
    key.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {key:?}: value out of range"))
}

/// Resolves an index into a list of `len` items (`insert`: one past the end
/// is valid); negative indices count from the end.
fn array_index(len: usize, key: &str, insert: bool) -> Result<usize, String> {
    let idx = atoi(key)?;
    let bound = if insert { len + 1 } else { len } as i64;
    let invalid = || format!("Unable to access invalid index: {idx}: {INVALID_INDEX}");
    if idx >= bound {
        return Err(invalid());
    }
    let idx = if idx < 0 {
        if idx < -bound {
            return Err(invalid());
        }
        idx + bound
    } else {
        idx
    };
    usize::try_from(idx).map_err(|_| invalid())
}

fn container_get<'c>(con: &'c Value, key: &str) -> Result<Option<&'c Value>, String> {
    match con {
        Value::Object(m) => Ok(m.get(key).filter(|v| !v.is_null())),
        Value::Array(a) => {
            let idx = array_index(a.len(), key, false)?;
            Ok(a.get(idx).filter(|v| !v.is_null()))
        }
        _ => Ok(None),
    }
}

fn container_add(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), val);
            Ok(())
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(val);
                return Ok(());
            }
            let idx = array_index(a.len(), key, true).map_err(|e| {
                if e.starts_with("strconv") {
                    format!("value was not a proper array index: '{key}': {e}")
                } else {
                    e
                }
            })?;
            a.insert(idx, val);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn container_remove(con: &mut Value, key: &str) -> Result<(), String> {
    match con {
        Value::Object(m) => remove_member(m, key),
        Value::Array(a) => {
            let idx = array_index(a.len(), key, false)?;
            a.remove(idx);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn remove_member(m: &mut Map<String, Value>, key: &str) -> Result<(), String> {
    match m.shift_remove(key) {
        Some(_) => Ok(()),
        None => Err(format!(
            "Unable to remove nonexistent key: {key}: {MISSING}"
        )),
    }
}
