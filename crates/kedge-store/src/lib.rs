//! The control plane's storage: a kine-style revision log in SQLite. Every
//! write gets the next global revision (the resourceVersion); reads, lists,
//! watches from a revision and compaction are served from the log.
