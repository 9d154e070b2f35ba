//! The Application controller: reconciles Applications from Git into
//! clusters, with auto-sync, self-heal, history and rollback.
