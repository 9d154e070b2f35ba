//! Custom health checks in Lua 5.1, compatible with Argo CD's `health.lua`
//! scripts: the object is the global `obj`, the script returns a table
//! `{status = "...", message = "..."}`.
//!
//! Sandbox: a fresh interpreter per evaluation with only the base library
//! (without `dofile`, `loadfile`, `load`, `loadstring`, `require`, `module`,
//! `collectgarbage`, `print`, `getfenv`, `setfenv`, `newproxy`) plus `table`,
//! `string` and `math`. An instruction-count hook stops a script after
//! [`INSTRUCTION_LIMIT`] VM instructions and a memory limit stops it at
//! [`MEMORY_LIMIT`] bytes; both end with a clear [`HealthError`]. Scripts are
//! compiled once (checked for syntax) when registered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mlua::{HookTriggers, Lua, LuaOptions, LuaSerdeExt, StdLib, VmState};
use serde_json::Value;

use super::{HealthCode, HealthError, HealthStatus};

/// VM instructions a script may run per evaluation.
pub const INSTRUCTION_LIMIT: u64 = 10_000_000;
/// Bytes a script's interpreter may allocate.
pub const MEMORY_LIMIT: usize = 32 * 1024 * 1024;
const HOOK_EVERY: u32 = 1_000;

const REMOVED_GLOBALS: [&str; 10] = [
    "dofile",
    "loadfile",
    "load",
    "loadstring",
    "require",
    "module",
    "collectgarbage",
    "print",
    "getfenv",
    "setfenv",
];

/// A compiled health script.
#[derive(Debug, Clone)]
pub struct LuaHealthCheck {
    target: String,
    source: Arc<str>,
    instruction_limit: u64,
    memory_limit: usize,
}

impl LuaHealthCheck {
    /// Checks the script's syntax and keeps it.
    pub fn new(target: &str, script: &str) -> Result<LuaHealthCheck, HealthError> {
        let check = LuaHealthCheck {
            target: target.to_string(),
            source: Arc::from(script),
            instruction_limit: INSTRUCTION_LIMIT,
            memory_limit: MEMORY_LIMIT,
        };
        let lua = check.sandbox()?;
        lua.load(script)
            .set_name(target)
            .into_function()
            .map_err(|e| check.script_err(&e))?;
        Ok(check)
    }

    /// Overrides the limits (tests use small ones).
    pub fn with_limits(mut self, instructions: u64, memory: usize) -> LuaHealthCheck {
        self.instruction_limit = instructions;
        self.memory_limit = memory;
        self
    }

    fn script_err(&self, e: &mlua::Error) -> HealthError {
        HealthError::Script {
            target: self.target.clone(),
            message: e.to_string(),
        }
    }

    fn sandbox(&self) -> Result<Lua, HealthError> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )
        .map_err(|e| self.script_err(&e))?;
        let globals = lua.globals();
        for g in REMOVED_GLOBALS.iter().chain(["newproxy"].iter()) {
            globals.raw_remove(*g).map_err(|e| self.script_err(&e))?;
        }
        // string.dump exposes bytecode; not needed by health checks.
        if let Ok(string) = globals.get::<mlua::Table>("string") {
            let _ = string.raw_remove("dump");
        }
        Ok(lua)
    }

    /// Runs the script against an object.
    pub fn evaluate(&self, obj: &Value) -> Result<HealthStatus, HealthError> {
        let lua = self.sandbox()?;
        let counter = Arc::new(AtomicU64::new(0));
        let exceeded = Arc::new(AtomicBool::new(false));
        {
            let counter = counter.clone();
            let exceeded = exceeded.clone();
            let limit = self.instruction_limit;
            lua.set_hook(
                HookTriggers::new().every_nth_instruction(HOOK_EVERY),
                move |_, _| {
                    let n = counter.fetch_add(u64::from(HOOK_EVERY), Ordering::Relaxed);
                    if n >= limit {
                        exceeded.store(true, Ordering::Relaxed);
                        return Err(mlua::Error::runtime("instruction limit exceeded"));
                    }
                    Ok(VmState::Continue)
                },
            )
            .map_err(|e| self.script_err(&e))?;
        }
        let opts = mlua::serde::SerializeOptions::new()
            .serialize_none_to_null(false)
            .serialize_unit_to_null(false);
        let value = lua
            .to_value_with(obj, opts)
            .map_err(|e| self.script_err(&e))?;
        lua.globals()
            .set("obj", value)
            .map_err(|e| self.script_err(&e))?;
        lua.set_memory_limit(self.memory_limit)
            .map_err(|e| self.script_err(&e))?;
        let result: Result<mlua::Value, mlua::Error> =
            lua.load(&*self.source).set_name(&self.target).eval();
        if exceeded.load(Ordering::Relaxed) {
            return Err(HealthError::InstructionLimit {
                target: self.target.clone(),
                limit: self.instruction_limit,
            });
        }
        let result = match result {
            Ok(v) => v,
            Err(e) if is_memory_error(&e) => {
                return Err(HealthError::MemoryLimit {
                    target: self.target.clone(),
                    limit: self.memory_limit,
                });
            }
            Err(e) => return Err(self.script_err(&e)),
        };
        let _ = lua.set_memory_limit(0);
        let invalid = |message: String| HealthError::InvalidResult {
            target: self.target.clone(),
            message,
        };
        let mlua::Value::Table(t) = result else {
            return Err(invalid(format!(
                "expected a table, got {}",
                result.type_name()
            )));
        };
        let status: Option<String> = t.get("status").map_err(|e| invalid(e.to_string()))?;
        let message: Option<String> = t.get("message").map_err(|e| invalid(e.to_string()))?;
        let status = match status.as_deref() {
            None | Some("") => HealthCode::Progressing,
            Some(s) => HealthCode::parse(s)
                .ok_or_else(|| invalid(format!("unknown health status {s:?}")))?,
        };
        Ok(HealthStatus::new(status, message.unwrap_or_default()))
    }
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        mlua::Error::WithContext { cause, .. } => is_memory_error(cause),
        _ => false,
    }
}
