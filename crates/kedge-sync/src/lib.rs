//! The sync engine: diff desired against live objects, apply in waves with
//! hooks, prune what Git no longer declares, and assess health.
