//! Merging Kubernetes objects: apimachinery strategic merge patch (every
//! directive), kyaml's merge2 flavour used by Kustomize, JSON patch and JSON
//! merge patch, and server-side apply field management (FieldsV1 field sets,
//! ownership, conflicts). Pure: no IO; schemas come from `kedge-schema`.
