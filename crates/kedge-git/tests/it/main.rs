//! Integration tests of `kedge-git`: one test binary per crate, one module per feature.
//! Every test runs the real `git` against real servers on 127.0.0.1.

mod changes;
mod creds;
mod fetch;
mod hostile;
mod poll;
mod render;
mod revisions;
mod scale;
mod snapshots;
mod ssh;
mod support;
mod webhook;
mod writeback;
