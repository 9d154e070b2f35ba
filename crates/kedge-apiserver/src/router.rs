//! URL routing: turns a request path into what it addresses: a discovery or
//! OpenAPI document, a health check, or a resource request (group, version,
//! namespace, resource, name, subresource, and whether it came through the
//! legacy `/watch/` prefix).

use crate::catalog::Catalog;

/// What a path addresses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    Version,
    Health,
    Api,
    ApiVersion,
    Apis,
    Group(String),
    GroupVersion(String, String),
    OpenApiV2,
    OpenApiV3,
    OpenApiV3Doc(String, String),
    Resource(ResourcePath),
    NotFound,
}

/// A request on resources.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourcePath {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) namespace: Option<String>,
    pub(crate) resource: String,
    pub(crate) name: Option<String>,
    pub(crate) subresource: Option<String>,
    pub(crate) legacy_watch: bool,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn route(path: &str, catalog: &Catalog) -> Route {
    let trimmed = path.trim_end_matches('/');
    let segs: Vec<String> = trimmed.split('/').skip(1).map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        [h, ..] if matches!(*h, "healthz" | "livez" | "readyz") => Route::Health,
        ["api"] => Route::Api,
        ["api", "v1"] => Route::ApiVersion,
        ["apis"] => Route::Apis,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["openapi", "v2"] | ["swagger.json"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3,
        ["openapi", "v3", "api", "v1"] => Route::OpenApiV3Doc(String::new(), "v1".into()),
        ["openapi", "v3", "apis", g, v] => Route::OpenApiV3Doc(g.to_string(), v.to_string()),
        ["api", "v1", rest @ ..] => resource_route("", "v1", rest, catalog),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest, catalog),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str], catalog: &Catalog) -> Route {
    let (legacy_watch, rest) = match rest {
        ["watch", more @ ..] if !more.is_empty() => (true, more),
        _ => (false, rest),
    };
    let namespaced_resource = |r: &str| {
        catalog
            .resource(group, version, r)
            .is_some_and(|i| i.namespaced)
    };
    let make = |namespace: Option<&str>, res: &[&str]| -> Route {
        let (resource, name, sub) = match res {
            [r] => (*r, None, None),
            [r, n] => (*r, Some(*n), None),
            [r, n, s] => (*r, Some(*n), Some(*s)),
            _ => return Route::NotFound,
        };
        Route::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.map(String::from),
            resource: resource.to_string(),
            name: name.map(String::from),
            subresource: sub.map(String::from),
            legacy_watch,
        })
    };
    match rest {
        ["namespaces", ns, r, more @ ..]
            if group.is_empty() && !namespaced_resource(r) && more.is_empty() =>
        {
            // /api/v1/namespaces/{name}/{subresource}
            make(None, &["namespaces", ns, r])
        }
        ["namespaces", ns, r, more @ ..] => {
            let mut res = vec![*r];
            res.extend_from_slice(more);
            make(Some(ns), &res)
        }
        other => make(None, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let c = Catalog::builtin();
        assert_eq!(route("/api/v1", &c), Route::ApiVersion);
        let Route::Resource(r) = route("/api/v1/namespaces/x/configmaps/a", &c) else {
            panic!()
        };
        assert_eq!(
            (
                r.namespace.as_deref(),
                r.resource.as_str(),
                r.name.as_deref()
            ),
            (Some("x"), "configmaps", Some("a"))
        );
        let Route::Resource(r) = route("/api/v1/namespaces/x", &c) else {
            panic!()
        };
        assert_eq!(
            (r.namespace, r.resource.as_str(), r.name.as_deref()),
            (None, "namespaces", Some("x"))
        );
        let Route::Resource(r) = route("/api/v1/namespaces/x/finalize", &c) else {
            panic!()
        };
        assert_eq!(
            (r.resource.as_str(), r.subresource.as_deref()),
            ("namespaces", Some("finalize"))
        );
        let Route::Resource(r) = route("/apis/apps/v1/watch/namespaces/x/deployments", &c) else {
            panic!()
        };
        assert!(r.legacy_watch);
        assert_eq!(r.namespace.as_deref(), Some("x"));
        let Route::Resource(r) = route("/apis/apps/v1/namespaces/x/deployments/web/scale", &c)
        else {
            panic!()
        };
        assert_eq!(r.subresource.as_deref(), Some("scale"));
    }
}
