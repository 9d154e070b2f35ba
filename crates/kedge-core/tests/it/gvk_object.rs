//! GVK parsing and display, object identities and dynamic object accessors.

use kedge_core::{GroupVersion, GroupVersionKind, ObjectExt, ObjectKey, OwnerReference};
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
