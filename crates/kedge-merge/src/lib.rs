//! Merging Kubernetes objects: apimachinery strategic merge patch (every
//! directive), JSON patch and JSON merge patch, and server-side apply field
//! management (FieldsV1 field sets, ownership, conflicts). Kustomize's own
//! merge flavour (kyaml merge2) lives in `kedge-kustomize`, not here. Pure: no
//! IO; schemas come from `kedge-schema`.

pub mod jsonpatch;
pub mod mergepatch;
pub mod smp;
pub mod ssa;

pub use smp::{
    PatchError, PatchType, SmpError, apply_patch, create_three_way_merge_patch,
    create_two_way_merge_patch, strategic_merge_patch,
};
pub use ssa::{ApplyError, ApplyParams, FieldSet, ManagedFieldsEntry, UpdateParams};
