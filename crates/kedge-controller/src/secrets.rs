//! Repository, repository-credential and cluster Secrets, labelled like
//! Argo CD's (`argocd.argoproj.io/secret-type`) or Kedge's own
//! (`kedge.dev/secret-type`).
