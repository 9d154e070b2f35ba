//! YAML for Kubernetes manifests.
//!
//! A node tree that keeps source order, styles and spans; scalar resolution
//! following go-yaml v3 (as kyaml and `kubectl kustomize` read manifests); and
//! an emitter that writes exactly the bytes `kustomize build` prints (go-yaml
//! v2 style over key-sorted maps). Pure: no IO.
