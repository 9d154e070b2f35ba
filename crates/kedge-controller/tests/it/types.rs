//! Application types: Argo CD manifests convert, CRDs come from code.

use kedge_controller::types::{Application, from_argocd};
use serde_json::json;

#[test]
fn argocd_application_converts() {
    let argo = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": "argocd",
                     "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://example.invalid/repo.git", "targetRevision": "HEAD",
                       "path": "guestbook", "directory": {"recurse": true}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                           "syncOptions": ["CreateNamespace=true"]}
        }
    });
    let converted = from_argocd(argo);
    assert_eq!(converted["apiVersion"], "kedge.dev/v1alpha1");
    assert_eq!(converted["metadata"]["namespace"], "kedge");
    assert_eq!(
        converted["metadata"]["finalizers"][0],
        "resources-finalizer.kedge.dev"
    );
    let app: Application = serde_json::from_value(converted.clone()).unwrap();
    assert_eq!(app.spec.source.repo_url, "https://example.invalid/repo.git");
    assert!(app.spec.source.directory.as_ref().unwrap().recurse);
    let auto = app
        .spec
        .sync_policy
        .as_ref()
        .unwrap()
        .automated
        .clone()
        .unwrap();
    assert!(auto.prune && auto.self_heal && !auto.allow_empty);
    // Round trip keeps the wire names.
    let back = serde_json::to_value(&app).unwrap();
    assert_eq!(
        back["spec"]["source"]["repoURL"],
        converted["spec"]["source"]["repoURL"]
    );
    assert_eq!(back["spec"]["syncPolicy"], converted["spec"]["syncPolicy"]);
}

#[test]
fn crds_name_their_resources() {
    let crd = kedge_controller::crd::application_crd();
    assert_eq!(crd["metadata"]["name"], "applications.kedge.dev");
    let v = &crd["spec"]["versions"][0];
    assert_eq!(v["name"], "v1alpha1");
    assert!(
        v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["source"]["properties"]
            ["repoURL"]
            .is_object()
    );
    assert_eq!(
        kedge_controller::crd::appproject_crd()["metadata"]["name"],
        "appprojects.kedge.dev"
    );
}
