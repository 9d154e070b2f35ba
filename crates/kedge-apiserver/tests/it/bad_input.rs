//! Bad input over raw HTTP: malformed JSON and YAML bodies, kinds and
//! resources the server does not know, bodies over the 3 MiB limit, deeply
//! nested documents, invalid names and labels, unsupported content types
//! and methods. Each request is checked against what a real API server
//! answers (status code, and a `meta/v1` Status body with the matching
//! `reason` and, for 422, `details.causes`), and afterwards the server still
//! answers and the store holds exactly the objects that were accepted.
//!
//! Requests go through a minimal HTTP/1.1 client over a plain TCP socket
//! (the server runs with `insecure_http` on loopback), so that bodies and
//! headers no real client would send reach the server unaltered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Cluster;

/// A response: status code, lower-cased headers, body.
pub(crate) struct Response {
    pub(crate) code: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The body as text, cut to 400 characters for messages.
    pub(crate) fn text(&self) -> String {
        let t = String::from_utf8_lossy(&self.body);
        t.chars().take(400).collect()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: body is not JSON ({e}): {}",
                self.code,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a Status body with this code and reason; returns it.
    pub(crate) fn status(&self, code: u16, reason: &str) -> Value {
        let body = self.text();
        assert_eq!(self.code, code, "status code; body: {body}");
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "content type of a Status: {:?}",
            self.header("content-type")
        );
        let s = self.json();
        assert_eq!(s["kind"], "Status", "{body}");
        assert_eq!(s["apiVersion"], "v1", "{body}");
        assert_eq!(s["status"], "Failure", "{body}");
        assert_eq!(s["reason"], reason, "{body}");
        assert_eq!(s["code"], code, "{body}");
        assert!(
            s["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        s
    }
}

/// One request on a fresh connection (`Connection: close`).
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: kedge\r\nConnection: close\r\nAccept: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    // The server may answer (413) and close before reading a large body:
    // a failed write is then expected, the response is still readable.
    let _ = stream.write_all(&req);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let code = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Response {
        code,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            return out;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[(size + 2).min(rest.len())..];
    }
}

/// A server over plain HTTP on loopback.
pub(crate) fn insecure_cluster() -> Cluster {
    Cluster::start_with(PathBuf::from("/usr/bin/kubectl"), |c| {
        c.insecure_http = true;
    })
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

fn post_json(addr: SocketAddr, path: &str, body: &Value) -> Response {
    http(
        addr,
        "POST",
        path,
        Some("application/json"),
        body.to_string().as_bytes(),
    )
}

/// The ConfigMap names in `default`, sorted.
fn stored_names(addr: SocketAddr) -> Vec<String> {
    let r = http(addr, "GET", CMS, None, b"");
    assert_eq!(r.code, 200);
    let list = r.json();
    assert_eq!(list["kind"], "ConfigMapList");
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Asserts the server answers and holds exactly `want` ConfigMaps (besides
/// the kube-root-ca.crt a namespace may carry).
pub(crate) fn assert_consistent(addr: SocketAddr, want: &[&str]) {
    let r = http(addr, "GET", "/readyz", None, b"");
    assert_eq!(r.code, 200, "readyz: {}", r.text());
    let names: Vec<String> = stored_names(addr)
        .into_iter()
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want, "stored ConfigMaps");
    // A fresh write still works and advances the resourceVersion.
    let probe = post_json(addr, CMS, &configmap("consistency-probe"));
    assert_eq!(probe.code, 201, "{}", probe.text());
    let rv: u64 = probe.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let del = http(
        addr,
        "DELETE",
        &format!("{CMS}/consistency-probe"),
        None,
        b"",
    );
    assert_eq!(del.code, 200);
    let list = http(addr, "GET", CMS, None, b"").json();
    let list_rv: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(list_rv > rv, "list resourceVersion {list_rv} after {rv}");
}

#[test]
fn malformed_bodies_are_bad_requests() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    for body in [
        &b"{"[..],
        b"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"},}",
        b"not json at all",
        b"[1,2,3]",
        b"\"a string\"",
        b"\xff\xfe\x00garbage",
    ] {
        let r = http(addr, "POST", CMS, Some("application/json"), body);
        let text = String::from_utf8_lossy(body);
        assert_eq!(r.code, 400, "{text}: {}", r.text());
        r.status(400, "BadRequest");
    }
    for body in [
        &b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y\n"[..],
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n data: x\n",
        b"\t- : :",
    ] {
        let r = http(addr, "POST", CMS, Some("application/yaml"), body);
        r.status(400, "BadRequest");
    }
    post_json(addr, CMS, &configmap("patched"));
    // Malformed patches are 400 as well (json-patch not an array: 400).
    let merge = http(
        addr,
        "PATCH",
        &format!("{CMS}/patched"),
        Some("application/merge-patch+json"),
        b"{\"data\":",
    );
    merge.status(400, "BadRequest");
    let jp = http(
        addr,
        "PATCH",
        &format!("{CMS}/patched"),
        Some("application/json-patch+json"),
        b"{\"op\":\"add\"}",
    );
    jp.status(400, "BadRequest");
    let smp = http(
        addr,
        "PATCH",
        &format!("{CMS}/patched"),
        Some("application/strategic-merge-patch+json"),
        b"[[",
    );
    smp.status(400, "BadRequest");
    assert_consistent(addr, &["patched"]);
}

#[test]
fn kind_mismatch_and_unknown_resources() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    // Unknown resources and groups: 404 with a Status body.
    for path in [
        "/api/v1/namespaces/default/nosuchresources",
        "/apis/example.com/v1/namespaces/default/widgets",
        "/apis/apps/v1/namespaces/default/configmaps",
        "/api/v2/namespaces",
    ] {
        let r = http(addr, "GET", path, None, b"");
        let s = r.status(404, "NotFound");
        assert_eq!(
            s["message"], "the server could not find the requested resource",
            "{path}"
        );
    }
    // A body of another kind than the resource is a 400.
    let r = post_json(
        addr,
        CMS,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
    );
    r.status(400, "BadRequest");
    // A body with an unknown apiVersion is a 400.
    let r = post_json(
        addr,
        CMS,
        &json!({"apiVersion": "v9", "kind": "ConfigMap", "metadata": {"name": "s"}}),
    );
    r.status(400, "BadRequest");
    // A namespace in the body differing from the URL's is a 400.
    let r = post_json(
        addr,
        CMS,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s", "namespace": "kube-system"}}),
    );
    let s = r.status(400, "BadRequest");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("does not match the namespace"),
        "{s}"
    );
    assert_consistent(addr, &[]);
}

#[test]
fn oversized_and_deeply_nested_bodies() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    // Over 3 MiB: 413.
    let big = "x".repeat(3 * 1024 * 1024 + 16);
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": big}});
    let r = post_json(addr, CMS, &body);
    r.status(413, "RequestEntityTooLarge");
    // Just under 1 MiB of data is fine for a ConfigMap.
    let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "large"}, "data": {"k": "y".repeat(512 * 1024)}});
    let r = post_json(addr, CMS, &ok);
    assert_eq!(r.code, 201, "{}", r.text());
    // Deep nesting in an unknown field: 100,000 levels is a decode error,
    // not a stack overflow.
    let depth = 100_000;
    let mut nested = String::from(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"deep\"},\"x\":",
    );
    nested.push_str(&"[".repeat(depth));
    nested.push_str(&"]".repeat(depth));
    nested.push('}');
    let r = http(
        addr,
        "POST",
        CMS,
        Some("application/json"),
        nested.as_bytes(),
    );
    r.status(400, "BadRequest");
    let mut deep_obj = String::from("{\"data\":");
    deep_obj.push_str(&"{\"a\":".repeat(depth));
    deep_obj.push('1');
    deep_obj.push_str(&"}".repeat(depth));
    deep_obj.push('}');
    let r = http(
        addr,
        "PATCH",
        &format!("{CMS}/large"),
        Some("application/merge-patch+json"),
        deep_obj.as_bytes(),
    );
    r.status(400, "BadRequest");
    assert_consistent(addr, &["large"]);
}

#[test]
fn invalid_names_and_labels_are_422_with_causes() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    let r = post_json(addr, CMS, &configmap("Bad_Name"));
    let s = r.status(422, "Invalid");
    assert_eq!(s["details"]["name"], "Bad_Name");
    assert_eq!(s["details"]["kind"], "ConfigMap");
    let causes = s["details"]["causes"].as_array().expect("causes");
    assert!(
        causes.iter().any(|c| c["field"] == "metadata.name"
            && c["reason"] == "FieldValueInvalid"
            && c["message"].as_str().unwrap().contains(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"
            )),
        "{s}"
    );
    assert!(
        s["message"].as_str().unwrap().starts_with(
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ),
        "{s}"
    );
    let long = "a".repeat(254);
    post_json(addr, CMS, &configmap(&long)).status(422, "Invalid");
    // No name at all.
    let r = post_json(
        addr,
        CMS,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
    );
    let s = r.status(422, "Invalid");
    assert!(
        s["details"]["causes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "metadata.name" && c["reason"] == "FieldValueRequired"),
        "{s}"
    );
    // An update that makes a valid object invalid is refused and leaves it.
    post_json(addr, CMS, &configmap("good"));
    let r = http(
        addr,
        "PATCH",
        &format!("{CMS}/good"),
        Some("application/merge-patch+json"),
        br#"{"metadata":{"name":"Other_Name"}}"#,
    );
    r.status(400, "BadRequest");
    let got = http(addr, "GET", &format!("{CMS}/good"), None, b"").json();
    assert_eq!(got["metadata"]["name"], "good");
    assert_consistent(addr, &["good"]);
}

#[test]
fn unsupported_media_types_and_methods() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    let body = configmap("ct").to_string();
    for ct in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        let r = http(addr, "POST", CMS, Some(ct), body.as_bytes());
        r.status(415, "UnsupportedMediaType");
    }
    post_json(addr, CMS, &configmap("ct"));
    // PATCH needs a patch media type: application/json is a 415.
    for ct in ["application/json", "text/plain"] {
        let r = http(
            addr,
            "PATCH",
            &format!("{CMS}/ct"),
            Some(ct),
            br#"{"data":{"k":"changed"}}"#,
        );
        r.status(415, "UnsupportedMediaType");
    }
    // Methods a resource path does not support: 405.
    for (method, path) in [
        ("PUT", CMS.to_string()),
        ("PATCH", CMS.to_string()),
        ("POST", format!("{CMS}/ct")),
    ] {
        let r = http(
            addr,
            method,
            &path,
            Some("application/merge-patch+json"),
            br#"{"data":{"k":"changed"}}"#,
        );
        r.status(405, "MethodNotAllowed");
    }
    let got = http(addr, "GET", &format!("{CMS}/ct"), None, b"").json();
    assert_eq!(got["data"]["k"], "v");
    assert_consistent(addr, &["ct"]);
}

#[test]
fn errors_keep_the_connection_usable() {
    // A keep-alive connection survives a refused request: the next request
    // on the same socket is answered.
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let bad = format!(
        "POST {CMS} HTTP/1.1\r\nHost: kedge\r\nContent-Type: application/json\r\nContent-Length: 1\r\n\r\n{{"
    );
    let good_body = configmap("after").to_string();
    let good = format!(
        "POST {CMS} HTTP/1.1\r\nHost: kedge\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{good_body}",
        good_body.len()
    );
    stream.write_all(bad.as_bytes()).unwrap();
    stream.write_all(good.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("HTTP/1.1 201"), "{text}");
    assert_consistent(addr, &["after"]);
}

#[test]
fn wrongly_typed_fields_are_bad_requests() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":1}}"#;
    http(addr, "POST", CMS, Some("application/json"), body).status(400, "BadRequest");
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":"x"}"#;
    http(addr, "POST", CMS, Some("application/json"), body).status(400, "BadRequest");
    assert_consistent(addr, &[]);
}

#[test]
fn configmap_data_over_1mib_is_invalid() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    let over = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "toolarge"}, "data": {"k": "z".repeat(1024 * 1024 + 1)}});
    post_json(addr, CMS, &over).status(422, "Invalid");
    assert_consistent(addr, &[]);
}

#[test]
fn post_to_unknown_resource_is_404() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    let r = post_json(
        addr,
        "/api/v1/namespaces/default/nosuchresources",
        &configmap("a"),
    );
    r.status(404, "NotFound");
    assert_consistent(addr, &[]);
}

#[test]
fn invalid_labels_and_data_keys_are_422() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    // Labels: bad key, bad value, too-long value.
    for labels in [
        json!({"bad key": "v"}),
        json!({"k": "bad value"}),
        json!({"k": "v".repeat(64)}),
        json!({"-k": "v"}),
    ] {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "labelled", "labels": labels}});
        let s = post_json(addr, CMS, &body).status(422, "Invalid");
        assert!(
            s["details"]["causes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["field"] == "metadata.labels" && c["reason"] == "FieldValueInvalid"),
            "{labels}: {s}"
        );
    }
    // Bad data keys: 422 on data[key].
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keys"}, "data": {"no/slash": "v"}});
    let s = post_json(addr, CMS, &body).status(422, "Invalid");
    assert!(
        s["details"]["causes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "data[no/slash]"),
        "{s}"
    );
    post_json(addr, CMS, &configmap("good"));
    let r = http(
        addr,
        "PATCH",
        &format!("{CMS}/good"),
        Some("application/merge-patch+json"),
        br#"{"metadata":{"labels":{"bad key":"v"}}}"#,
    );
    r.status(422, "Invalid");
    let got = http(addr, "GET", &format!("{CMS}/good"), None, b"").json();
    assert!(got["metadata"]["labels"].is_null(), "{got}");
    assert_consistent(addr, &["good"]);
}

#[test]
fn yaml_bodies_are_accepted() {
    let cluster = insecure_cluster();
    let addr = cluster.handle().local_addr();
    // Well-formed YAML is accepted like JSON.
    let r = http(
        addr,
        "POST",
        CMS,
        Some("application/yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n",
    );
    assert_eq!(r.code, 201, "{}", r.text());
    assert_eq!(r.json()["data"]["a"], "b");
    assert_consistent(addr, &["from-yaml"]);
}
