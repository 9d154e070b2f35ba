//! Integration tests of `kedge-store`: one test binary per crate, one module per feature.

mod compaction;
mod crud;
mod durability;
mod list;
mod watch;

use bytes::Bytes;
use kedge_store::{Encoder, Revision, Store};

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("state.db")).expect("open store");
    (dir, store)
}

/// An encoder that stores `text@rev`, so tests can see the revision was passed in.
pub(crate) fn val(text: &str) -> Encoder {
    let text = text.to_string();
    Box::new(move |rev: Revision| Bytes::from(format!("{text}@{rev}")))
}

pub(crate) fn text(b: &Bytes) -> String {
    String::from_utf8(b.to_vec()).expect("utf8")
}
