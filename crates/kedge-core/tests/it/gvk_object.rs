//! GVK parsing and display, object identities and dynamic object accessors.

use kedge_core::{
    GroupKind, GroupResource, GroupVersion, GroupVersionKind, GroupVersionResource, ObjectExt,
    ObjectKey, OwnerReference,
};
use serde_json::json;

#[test]
fn api_version_round_trips() {
    for s in [
        "v1",
        "apps/v1",
        "rbac.authorization.k8s.io/v1",
        "example.com/v1beta1",
    ] {
        let gv = GroupVersion::parse(s).unwrap();
        assert_eq!(gv.to_string(), s);
        assert_eq!(gv.with_kind("X").api_version(), s);
    }
    assert!(GroupVersion::parse("a/b/c").is_err());
    assert_eq!(
        GroupVersionKind::new("", "v1", "Pod").to_string(),
        "/v1, Kind=Pod"
    );
}

#[test]
fn object_key_orders_and_displays() {
    let cm = GroupVersionKind::new("", "v1", "ConfigMap");
    let a = ObjectKey::new(cm.clone(), "a", "z");
    let b = ObjectKey::new(cm.clone(), "b", "a");
    assert!(a < b);
    assert_eq!(a.to_string(), "v1 ConfigMap a/z");
    let ns = ObjectKey::new(GroupVersionKind::new("", "v1", "Namespace"), "", "x");
    assert_eq!(ns.to_string(), "v1 Namespace x");
}

#[test]
fn object_accessors_and_setters() {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "x"}, "data": {"a": "1"}});
    assert_eq!(obj.object_key().unwrap().to_string(), "v1 ConfigMap x/c");
    assert_eq!(obj.uid(), None);
    obj.set_uid(Some("u"));
    obj.set_generation(Some(3));
    obj.set_finalizers(&["kubernetes"]);
    obj.set_owner_references(&[OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "d".into(),
        uid: "du".into(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    assert_eq!(obj.generation(), Some(3));
    assert_eq!(
        obj["metadata"]["ownerReferences"],
        json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "du", "controller": true}])
    );
    obj.set_finalizers(&[]);
    assert!(obj["metadata"].get("finalizers").is_none());
    obj.set_namespace(None);
    assert_eq!(obj.namespace(), None);
    // Untouched keys keep their order.
    let keys: Vec<&String> = obj.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "data"]);
}

#[test]
fn group_kind_and_resource_arguments() {
    assert_eq!(
        GroupKind::parse("Deployment.apps"),
        GroupKind::new("apps", "Deployment")
    );
    assert_eq!(
        GroupKind::parse("ConfigMap"),
        GroupKind::new("", "ConfigMap")
    );
    assert_eq!(
        GroupKind::parse("Ingress.networking.k8s.io")
            .with_version("v1")
            .to_string(),
        "networking.k8s.io/v1, Kind=Ingress"
    );
    assert_eq!(
        GroupResource::parse("deployments.apps").to_string(),
        "deployments.apps"
    );
    let (gvr, gr) =
        GroupVersionResource::parse_resource_arg("horizontalpodautoscalers.v1.autoscaling");
    assert_eq!(
        gvr,
        Some(GroupVersionResource::new(
            "autoscaling",
            "v1",
            "horizontalpodautoscalers"
        ))
    );
    assert_eq!(
        gr,
        GroupResource::new("v1.autoscaling", "horizontalpodautoscalers")
    );
    let (gvr, gr) = GroupVersionResource::parse_resource_arg("deployments.apps");
    assert_eq!(gvr, None);
    assert_eq!(gr, GroupResource::new("apps", "deployments"));
    assert_eq!(
        GroupVersionResource::parse_resource_arg("pods").1,
        GroupResource::new("", "pods")
    );
}

#[test]
fn managed_fields_accessors() {
    let mut obj = json!({"metadata": {"name": "a", "managedFields": [{"manager": "m"}], "deletionGracePeriodSeconds": 0}});
    assert_eq!(obj.managed_fields().len(), 1);
    assert_eq!(obj.deletion_grace_period_seconds(), Some(0));
    obj.set_managed_fields(vec![]);
    assert!(obj.managed_fields().is_empty());
    assert!(obj["metadata"].get("managedFields").is_none());
}
