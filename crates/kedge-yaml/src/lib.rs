//! YAML for Kubernetes manifests.
//!
//! A node tree that keeps source order, styles and spans; scalar resolution
//! following go-yaml v3 (as kyaml and `kubectl kustomize` read manifests); and
//! an emitter that writes exactly the bytes `kustomize build` prints (go-yaml
//! v2 style over key-sorted maps). Pure: no IO.
//!
//! The pipeline mirrors what kustomize does with every resource:
//!
//! 1. [`parse_stream`] reads a file the way kyaml's `ByteReader` does (split
//!    at `---` separator lines, aliases expanded within [`Limits`], duplicate keys
//!    refused) into [`Node`] trees.
//! 2. [`to_value`] converts a tree to JSON the way kyaml's de-anchoring,
//!    its go-yaml v3 write-and-read round trip, v3 decoding and Go's
//!    `encoding/json` together would: plain scalars re-typed by
//!    [`resolve_plain`], integral floats as integers, timestamps as RFC 3339
//!    strings, merge keys applied, and errors where the build fails (`.inf`,
//!    non-string keys, characters go-yaml cannot read back).
//! 3. [`emit`] / [`emit_documents`] print JSON values the way
//!    `sigs.k8s.io/yaml.JSONToYAML` (go-yaml v2) does: keys in v2's
//!    "natural" order (digit runs compare by value, so `a2` sorts before
//!    `a10`, and non-letters before letters), sequences not indented under
//!    their key, v2's quoting and 80-column folding, Go float formatting.
//!
//! For values built by other means than [`to_value`], [`check_emittable`]
//! finds the strings kustomize would fail to print.

mod emit;
mod error;
mod float;
mod node;
mod parse;
mod resolve;
mod unicode_tables;
mod value;

pub use emit::{emit, emit_documents};
pub use error::Error;
pub use node::{Limits, Node, NodeValue, ScalarStyle, Span};
pub use parse::parse_stream;
pub use resolve::{Resolved, Timestamp, resolve_plain};
pub use value::{check_emittable, to_value};
