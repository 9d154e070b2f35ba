//! kube-rs against the embedded server over HTTPS with the written
//! kubeconfig: typed clients (`Api<ConfigMap>`, `Api<Deployment>`), the
//! dynamic client (`DynamicObject` with an `ApiResource` from discovery),
//! `Discovery::run` and `Discovery::run_aggregated`, `watcher` and
//! `reflector` (with and without streaming lists), server-side apply with
//! conflicts and `force`, and dry-run. Every wait is on an event stream with
//! a timeout, never a sleep.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::{reflector, watcher};
use kube::{Client, Error};
use serde_json::json;

use crate::Cluster;

const TIMEOUT: Duration = Duration::from_secs(60);

fn cluster() -> Cluster {
    Cluster::start_with(std::path::PathBuf::from("/usr/bin/kubectl"), |_| {})
}

pub(crate) async fn client(cluster: &Cluster) -> Client {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(cluster.kubeconfig()).expect("read kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("client config");
    Client::try_from(cfg).expect("client")
}

fn cm(name: &str, labels: serde_json::Value, data: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": data
    }))
    .unwrap()
}

fn api_error(r: Result<impl std::fmt::Debug, Error>) -> kube::core::Status {
    match r {
        Err(Error::Api(s)) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn typed_configmap_crud() {
    let cluster = cluster();
    cluster.rt.block_on(async {
        let client = client(&cluster).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let created = api
            .create(
                &PostParams::default(),
                &cm("one", json!({"app": "a"}), json!({"k": "1"})),
            )
            .await
            .expect("create");
        assert!(created.metadata.uid.is_some());
        api.create(
            &PostParams::default(),
            &cm("two", json!({"app": "b"}), json!({})),
        )
        .await
        .expect("create two");
        let dup = api_error(
            api.create(&PostParams::default(), &cm("one", json!({}), json!({})))
                .await,
        );
        assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
        assert_eq!(dup.message, "configmaps \"one\" already exists");

        let listed = api
            .list(&ListParams::default().labels("app=a"))
            .await
            .expect("list");
        let names: Vec<_> = listed
            .items
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["one"]);
        assert!(listed.metadata.resource_version.is_some());

        // Replace with the current resourceVersion, then with a stale one.
        let mut fresh = api.get("one").await.expect("get");
        fresh.data = Some([("k".to_string(), "2".to_string())].into());
        let replaced = api
            .replace("one", &PostParams::default(), &fresh)
            .await
            .expect("replace");
        assert_ne!(
            replaced.metadata.resource_version,
            fresh.metadata.resource_version
        );
        let stale = api_error(api.replace("one", &PostParams::default(), &fresh).await);
        assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
        assert!(
            stale.message.contains("the object has been modified"),
            "{}",
            stale.message
        );

        api.delete("one", &DeleteParams::default())
            .await
            .expect("delete");
        let gone = api_error(api.get("one").await);
        assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
        assert_eq!(api.get_opt("one").await.expect("get_opt"), None);
    });
}

#[test]
fn typed_deployment_becomes_available() {
    let cluster = cluster();
    cluster.rt.block_on(async {
        let client = client(&cluster).await;
        let api: Api<Deployment> = Api::namespaced(client, "default");
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        }))
        .unwrap();
        let created = api
            .create(&PostParams::default(), &d)
            .await
            .expect("create");
        // Defaults were applied by the server and decode into the typed struct.
        let spec = created.spec.unwrap();
        assert_eq!(spec.revision_history_limit, Some(10));
        assert_eq!(spec.progress_deadline_seconds, Some(600));
        let c = &spec.template.spec.unwrap().containers[0];
        assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
        let available =
            kube::runtime::wait::await_condition(api.clone(), "web", |d: Option<&Deployment>| {
                d.and_then(|d| d.status.as_ref()).is_some_and(|s| {
                    s.available_replicas == Some(2) && s.updated_replicas == Some(2)
                })
            });
        tokio::time::timeout(TIMEOUT, available)
            .await
            .expect("available in time")
            .expect("await condition");
        let scale = api.get_scale("web").await.expect("get scale");
        assert_eq!(scale.spec.unwrap().replicas, Some(2));
        assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=web"));
    });
}

/// The (group, version, plural, kind, namespaced) of every served resource.
fn resources(d: &Discovery) -> BTreeSet<(String, String, String, String, bool)> {
    let mut out = BTreeSet::new();
    for g in d.groups() {
        for v in g.versions() {
            for (ar, caps) in g.versioned_resources(v) {
                out.insert((
                    ar.group.clone(),
                    ar.version.clone(),
                    ar.plural.clone(),
                    ar.kind.clone(),
                    caps.scope == Scope::Namespaced,
                ));
            }
        }
    }
    out
}

#[test]
fn discovery_and_dynamic_objects() {
    let cluster = cluster();
    cluster.rt.block_on(async {
        let client = client(&cluster).await;
        let classic = Discovery::new(client.clone())
            .run()
            .await
            .expect("discovery");
        let aggregated = Discovery::new(client.clone())
            .run_aggregated()
            .await
            .expect("aggregated discovery");
        let a = resources(&classic);
        let b = resources(&aggregated);
        assert_eq!(a, b, "the two discovery paths agree");
        for want in [
            ("", "v1", "configmaps", "ConfigMap", true),
            ("", "v1", "namespaces", "Namespace", false),
            ("apps", "v1", "deployments", "Deployment", true),
            (
                "apiextensions.k8s.io",
                "v1",
                "customresourcedefinitions",
                "CustomResourceDefinition",
                false,
            ),
        ] {
            let w = (
                want.0.to_string(),
                want.1.to_string(),
                want.2.to_string(),
                want.3.to_string(),
                want.4,
            );
            assert!(a.contains(&w), "{want:?} in {a:?}");
        }
        let gvk = kube::api::GroupVersionKind::gvk("apps", "v1", "Deployment");
        let (ar, caps) = aggregated.resolve_gvk(&gvk).expect("Deployment resolves");
        for verb in [
            verbs::CREATE,
            verbs::GET,
            verbs::LIST,
            verbs::WATCH,
            verbs::PATCH,
            verbs::DELETE,
        ] {
            assert!(caps.supports_operation(verb), "deployments support {verb}");
        }
        assert_eq!(ar.plural, "deployments");
        let subresources: BTreeSet<_> = caps
            .subresources
            .iter()
            .map(|(r, _)| r.plural.clone())
            .collect();
        assert!(
            subresources.contains("deployments/status") || subresources.contains("status"),
            "{subresources:?}"
        );

        // The dynamic client with the discovered ApiResource.
        let (cm_ar, _) = classic
            .resolve_gvk(&kube::api::GroupVersionKind::gvk("", "v1", "ConfigMap"))
            .expect("ConfigMap resolves");
        let dynamic: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &cm_ar);
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dyn"}, "data": {"x": "y"}
        }))
        .unwrap();
        let created = dynamic
            .create(&PostParams::default(), &obj)
            .await
            .expect("create");
        assert_eq!(created.data["data"]["x"], "y");
        let typed: Api<ConfigMap> = Api::namespaced(client, "default");
        let back = typed.get("dyn").await.expect("typed get");
        assert_eq!(back.data.unwrap()["x"], "y");
        let list = dynamic.list(&ListParams::default()).await.expect("list");
        assert!(
            list.items
                .iter()
                .any(|o| o.metadata.name.as_deref() == Some("dyn"))
        );
    });
}

/// Runs a reflector with `config`, creates, updates and deletes objects,
/// and checks that the store follows.
fn reflector_follows(config: watcher::Config) {
    let cluster = cluster();
    cluster.rt.block_on(async {
        let client = client(&cluster).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        // Objects that exist before the watch starts come from the initial list.
        for i in 0..3 {
            api.create(
                &PostParams::default(),
                &cm(&format!("pre-{i}"), json!({"w": "yes"}), json!({})),
            )
            .await
            .expect("create");
        }
        let (reader, writer) = reflector::store::<ConfigMap>();
        // The raw event stream: the store is updated as each event passes
        // (with the default watcher, the initial objects land at InitDone).
        let mut stream = reflector(writer, watcher(api.clone(), config.labels("w=yes"))).boxed();
        let names = |r: &reflector::Store<ConfigMap>| -> BTreeSet<String> {
            r.state()
                .iter()
                .map(|c| c.metadata.name.clone().unwrap())
                .collect()
        };
        let want: BTreeSet<String> = (0..3).map(|i| format!("pre-{i}")).collect();
        // Drain until the initial objects are all seen.
        tokio::time::timeout(TIMEOUT, async {
            while names(&reader) != want {
                stream
                    .try_next()
                    .await
                    .expect("watch")
                    .expect("stream open");
            }
        })
        .await
        .expect("initial list in time");
        tokio::time::timeout(TIMEOUT, reader.wait_until_ready())
            .await
            .expect("ready in time")
            .expect("ready");

        // A create and a delete after the list.
        api.create(
            &PostParams::default(),
            &cm("post", json!({"w": "yes"}), json!({})),
        )
        .await
        .expect("create post");
        api.create(
            &PostParams::default(),
            &cm("unwatched", json!({"w": "no"}), json!({})),
        )
        .await
        .expect("create unwatched");
        api.delete("pre-0", &DeleteParams::default())
            .await
            .expect("delete");
        let want: BTreeSet<String> = ["pre-1", "pre-2", "post"]
            .into_iter()
            .map(String::from)
            .collect();
        tokio::time::timeout(TIMEOUT, async {
            while names(&reader) != want {
                stream
                    .try_next()
                    .await
                    .expect("watch")
                    .expect("stream open");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("store follows: {:?}", names(&reader)));
    });
}

#[test]
fn watcher_reflector_list_then_watch() {
    reflector_follows(watcher::Config::default());
}

#[test]
fn watcher_reflector_streaming_lists() {
    reflector_follows(watcher::Config::default().streaming_lists());
}

#[test]
fn dry_run_create_and_delete() {
    let cluster = cluster();
    cluster.rt.block_on(async {
        let client = client(&cluster).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        api.create(
            &PostParams::default(),
            &cm("ssa", json!({}), json!({"a": "1"})),
        )
        .await
        .expect("create");
        // Dry-run create does not persist; the answer has no uid-based side effects.
        let pp = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        let dry_created = api
            .create(&pp, &cm("dry", json!({}), json!({"x": "y"})))
            .await
            .expect("dry-run create");
        assert_eq!(dry_created.metadata.name.as_deref(), Some("dry"));
        assert_eq!(api.get_opt("dry").await.unwrap(), None);
        // Dry-run delete leaves the object.
        let dp = DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        };
        api.delete("ssa", &dp).await.expect("dry-run delete");
        assert!(api.get_opt("ssa").await.unwrap().is_some());
    });
}

#[test]
fn server_side_apply_conflicts_force_and_dry_run() {
    let cluster = cluster();
    cluster.rt.block_on(async {
        let client = client(&cluster).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "ssa"}, "data": {"a": "1", "b": "2"}});
        let applied = api
            .patch("ssa", &PatchParams::apply("mgr"), &Patch::Apply(&desired))
            .await
            .expect("apply");
        let mf = applied.metadata.managed_fields.unwrap();
        assert_eq!(mf.len(), 1);
        assert_eq!(mf[0].manager.as_deref(), Some("mgr"));
        assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
        let fields = &mf[0].fields_v1.as_ref().unwrap().0;
        assert_eq!(fields["f:data"], json!({"f:a": {}, "f:b": {}}));

        // A second manager setting the same field differently: 409.
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "ssa"}, "data": {"a": "9"}});
        let conflict = api_error(
            api.patch("ssa", &PatchParams::apply("other"), &Patch::Apply(&other))
                .await,
        );
        assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
        assert!(
            conflict
                .message
                .starts_with("Apply failed with 1 conflict: conflict with \"mgr\""),
            "{}",
            conflict.message
        );
        let causes = conflict.details.expect("details").causes;
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].reason, "FieldManagerConflict");
        assert_eq!(causes[0].field, ".data.a");

        // Same value is shared, not a conflict.
        let same = json!({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "ssa"}, "data": {"b": "2"}});
        let shared = api
            .patch("ssa", &PatchParams::apply("sharer"), &Patch::Apply(&same))
            .await
            .expect("shared apply");
        let managers: BTreeSet<_> = shared
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .filter_map(|e| e.manager)
            .collect();
        assert_eq!(
            managers,
            ["mgr", "sharer"].into_iter().map(String::from).collect()
        );

        // Dry-run with force: the answer shows the change, the store does not.
        let dry = api
            .patch(
                "ssa",
                &PatchParams::apply("other").force().dry_run(),
                &Patch::Apply(&other),
            )
            .await
            .expect("dry-run apply");
        assert_eq!(dry.data.as_ref().unwrap()["a"], "9");
        assert_eq!(api.get("ssa").await.unwrap().data.unwrap()["a"], "1");

        // Force takes the field over.
        let forced = api
            .patch(
                "ssa",
                &PatchParams::apply("other").force(),
                &Patch::Apply(&other),
            )
            .await
            .expect("forced apply");
        assert_eq!(forced.data.as_ref().unwrap()["a"], "9");
        let mf = forced.metadata.managed_fields.unwrap();
        let of = |m: &str| {
            mf.iter()
                .find(|e| e.manager.as_deref() == Some(m))
                .map(|e| e.fields_v1.as_ref().unwrap().0.clone())
        };
        assert_eq!(of("other").unwrap()["f:data"], json!({"f:a": {}}));
        assert_eq!(of("mgr").unwrap()["f:data"], json!({"f:b": {}}));

        // mgr applies again without a: a stays (other owns it), b stays.
        let again = json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "ssa"}, "data": {"b": "2"}});
        let r = api
            .patch("ssa", &PatchParams::apply("mgr"), &Patch::Apply(&again))
            .await
            .expect("re-apply");
        assert_eq!(
            r.data.unwrap(),
            [
                ("a".to_string(), "9".to_string()),
                ("b".to_string(), "2".to_string())
            ]
            .into()
        );
    });
}
