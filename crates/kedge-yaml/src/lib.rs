//! YAML for Kubernetes manifests.
//!
//! A node tree that keeps source order, styles and spans; scalar resolution
//! following go-yaml v3 (as kyaml and `kubectl kustomize` read manifests); and
//! an emitter that writes exactly the bytes `kustomize build` prints (go-yaml
//! v2 style over key-sorted maps). Pure: no IO.
//!
//! The pipeline mirrors what kustomize does with every resource: parse the
//! stream ([`parse_stream`]), convert each document to JSON the way
//! go-yaml v3 decoding followed by `encoding/json` would ([`to_value`]), and
//! print it the way `sigs.k8s.io/yaml.JSONToYAML` (go-yaml v2) would
//! ([`emit`], [`emit_documents`]).

mod emit;
mod error;
mod float;
mod node;
mod parse;
mod resolve;
mod value;

pub use emit::{emit, emit_documents};
pub use error::Error;
pub use node::{Limits, Node, NodeValue, ScalarStyle, Span};
pub use parse::parse_stream;
pub use resolve::{Resolved, resolve_plain};
pub use value::{check_emittable, to_value};
