//! A native Kustomize renderer with `kustomize build` (v5.5) semantics and
//! byte-identical output. Pure: files come through a filesystem trait and
//! remote bases through a loader trait; it never touches the network.
