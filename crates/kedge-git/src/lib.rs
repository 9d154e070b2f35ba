//! Git sources behind a small `GitBackend` trait implemented over the real
//! `git` CLI: a bare-repository cache, revision resolution, credentials,
//! change detection and push webhooks.
