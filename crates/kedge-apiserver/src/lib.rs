//! The embedded, kubectl-compatible Kubernetes API server: a cluster without
//! nodes that speaks the Kubernetes REST API over the SQLite store.
