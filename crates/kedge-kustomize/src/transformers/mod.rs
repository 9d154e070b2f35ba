//! The built-in transformers, one module each. They run in kustomize's
//! order: strategic-merge patches, patches, namespace, prefix, suffix,
//! labels, annotations, JSON 6902 patches, replicas, images, replacements.
//! Name references are fixed once at the end of the build ([`nameref`]).

pub(crate) mod annotations;
pub(crate) mod images;
pub(crate) mod labels;
pub(crate) mod nameref;
pub(crate) mod namespace;
pub(crate) mod patches;
pub(crate) mod prefix_suffix;
pub(crate) mod replacements;
pub(crate) mod replicas;
pub(crate) mod vars;
