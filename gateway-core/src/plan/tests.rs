//! Unit tests of the filter stage, named after the rule they check. Expectations marked
//! "conformance" are transcribed from the Gateway API v1.4.1 conformance cases of the same name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use super::rewrite::replace_prefix;
use super::*;
use crate::api::{LoadOptions, Snapshot};
use crate::attach::{AttachOptions, Config};
use crate::filter::{FilterError, Timeout, parse_duration};
use crate::request::normalize::PathPolicy;
use crate::request::{Headers, RequestView};
use crate::route::{GatewayRef, Router};

const BASE: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gateway-core}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gateway-core
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: alt, port: 8080, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: v1, namespace: infra}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: v2, namespace: infra}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: v3, namespace: infra}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: elsewhere, namespace: other}
spec: {ports: [{name: http, port: 8080}]}
"#;

/// A router over the base manifests plus one HTTPRoute `r` in `infra` with these rules.
fn build(rules: &str) -> Router {
    router_with(&route_yaml(rules))
}

/// An HTTPRoute `r` in `infra`, attached to `gw`, with these rules.
fn route_yaml(rules: &str) -> String {
    let head = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n";
    format!(
        "{head}metadata: {{name: r, namespace: infra}}\nspec:\n  parentRefs: [{{name: gw}}]\n  rules:\n{rules}"
    )
}

fn router_with(extra: &str) -> Router {
    router_loaded_with(extra, &LoadOptions::default())
}

/// As [`build`], skipping CRD validation: the filter stage must fail closed on configurations
/// the CRDs would have refused.
fn build_unvalidated(rules: &str) -> Router {
    router_loaded_with(
        &route_yaml(rules),
        &LoadOptions {
            validate: false,
            ..LoadOptions::default()
        },
    )
}

fn router_loaded_with(extra: &str, options: &LoadOptions) -> Router {
    let yaml = format!("{BASE}\n---\n{extra}");
    let loaded = Snapshot::load(yaml.as_bytes(), options).expect("manifests load");
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    Router::build(
        &config,
        &GatewayRef::new("infra", "gw"),
        PathPolicy::secure(),
    )
    .expect("router builds")
}

/// Routes and plans a request on port 80 with host `example.com`.
fn plan_req<'r>(
    router: &'r Router,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    random: u64,
) -> Plan<'r> {
    plan_on(router, 80, method, target, headers, random)
}

fn plan_on<'r>(
    router: &'r Router,
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    random: u64,
) -> Plan<'r> {
    let mut all: Vec<(&str, &str)> = vec![("host", "example.com")];
    all.extend_from_slice(headers);
    let req = RequestView::new(method, target.as_bytes(), Headers::Pairs(&all)).port(port);
    let decision = router.route(&req);
    plan(&decision, &req, random)
}

fn forward(p: Plan<'_>) -> ForwardPlan<'_> {
    match p {
        Plan::Forward(f) => f,
        Plan::Respond(r) => panic!("expected to forward, answered {} ({})", r.status, r.reason),
        Plan::Authorize(c) => panic!("expected to forward, asked {}", c.backend.name),
    }
}

fn respond(p: Plan<'_>) -> LocalResponse {
    match p {
        Plan::Respond(r) => r,
        Plan::Forward(f) => panic!("expected a local answer, forwarded to {}", f.backend.name),
        Plan::Authorize(c) => panic!("expected a local answer, asked {}", c.backend.name),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The value of `name` in `headers` (case-insensitive), fields joined with `,` as the
/// conformance suite compares them.
fn value(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

const MODIFY_HEADERS: &str = r#"
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: set-overwrites-values}]
        add: [{name: X-Header-Add, value: header-val-1}, {name: X-Header-Add-Append, value: header-val-2}]
        remove: [X-Header-Remove]
"#;

// === header modifiers ===

#[test]
fn add_appends_with_a_comma() {
    // Spec HTTPHeaderFilter.add: `my-header: foo` + add `my-header: bar,baz` → `foo,bar,baz`.
    let mut edits = HeaderEdits::default();
    edits.push_add("my-header", "bar,baz");
    let out = edits.apply_to_pairs(&pairs(&[("my-header", "foo")]));
    assert_eq!(out, pairs(&[("my-header", "foo,bar,baz")]));

    let mut map = http::HeaderMap::new();
    map.insert("my-header", http::HeaderValue::from_static("foo"));
    edits.apply(&mut map);
    assert_eq!(
        map.get_all("my-header").iter().collect::<Vec<_>>(),
        ["foo,bar,baz"]
    );

    // Absent: added as is.
    assert_eq!(
        edits.apply_to_pairs(&[]),
        pairs(&[("my-header", "bar,baz")])
    );
}

#[test]
fn request_header_modifier_matches_conformance() {
    // conformance HTTPRouteRequestHeaderModifier, /add and /set and /remove.
    let router = build(&format!(
        "  - backendRefs: [{{name: v1, port: 8080}}]\n{MODIFY_HEADERS}"
    ));
    let f = forward(plan_req(&router, "GET", "/", &[], 0));
    let sent = f.request.headers.apply_to_pairs(&pairs(&[
        ("X-Header-Remove", "remove-val"),
        ("X-Header-Add-Append", "append-val-1"),
        ("X-Header-Set", "set-val"),
        ("Some-Other-Header", "val"),
    ]));
    assert_eq!(
        value(&sent, "x-header-add").as_deref(),
        Some("header-val-1")
    );
    assert_eq!(
        value(&sent, "x-header-add-append").as_deref(),
        Some("append-val-1,header-val-2")
    );
    assert_eq!(
        value(&sent, "x-header-set").as_deref(),
        Some("set-overwrites-values")
    );
    assert_eq!(value(&sent, "some-other-header").as_deref(), Some("val"));
    assert_eq!(value(&sent, "x-header-remove"), None);
}

#[test]
fn set_overwrites_every_value() {
    let mut edits = HeaderEdits::default();
    edits.push_set("X-A", "new");
    let out = edits.apply_to_pairs(&pairs(&[("x-a", "1"), ("b", "2"), ("X-A", "3")]));
    assert_eq!(out, pairs(&[("x-a", "new"), ("b", "2")]));

    let mut map = http::HeaderMap::new();
    map.append("x-a", http::HeaderValue::from_static("1"));
    map.append("x-a", http::HeaderValue::from_static("3"));
    edits.apply(&mut map);
    assert_eq!(map.get_all("x-a").iter().collect::<Vec<_>>(), ["new"]);
}

#[test]
fn remove_removes_every_value_whatever_the_case() {
    let mut edits = HeaderEdits::default();
    edits.push_remove("X-Header-Remove");
    let out = edits.apply_to_pairs(&pairs(&[
        ("x-header-remove", "1"),
        ("keep", "2"),
        ("X-HEADER-REMOVE", "3"),
    ]));
    assert_eq!(out, pairs(&[("keep", "2")]));
}

#[test]
fn header_names_are_case_insensitive() {
    // conformance HTTPRouteRequestHeaderModifier, /case-insensitivity.
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: header-set}]
        add: [{name: X-Header-Add, value: header-add}]
        remove: [X-Header-Remove]
"#,
    );
    let f = forward(plan_req(&router, "GET", "/", &[], 0));
    let sent = f.request.headers.apply_to_pairs(&pairs(&[
        ("x-header-set", "original-val-set"),
        ("x-header-add", "original-val-add"),
        ("x-header-remove", "original-val-remove"),
        ("Another-Header", "another-header-val"),
    ]));
    assert_eq!(value(&sent, "X-Header-Set").as_deref(), Some("header-set"));
    assert_eq!(
        value(&sent, "X-Header-Add").as_deref(),
        Some("original-val-add,header-add")
    );
    assert_eq!(value(&sent, "X-Header-Remove"), None);
    assert_eq!(
        value(&sent, "Another-Header").as_deref(),
        Some("another-header-val")
    );
}

#[test]
fn response_header_modifier_edits_the_response() {
    // conformance HTTPRouteResponseHeaderModifier, /response-and-request-header-modifiers.
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: X-Header-Set-1, value: header-set-1}]
        add: [{name: X-Header-Add-2, value: header-add-2}]
        remove: [X-Header-Remove-1]
"#,
    );
    let f = forward(plan_req(&router, "GET", "/", &[], 0));
    assert!(f.request.headers.is_empty());
    let returned = f.response.apply_to_pairs(&pairs(&[
        ("X-Header-Add-2", "add-val-2"),
        ("X-Header-Remove-1", "x"),
    ]));
    assert_eq!(
        value(&returned, "x-header-set-1").as_deref(),
        Some("header-set-1")
    );
    assert_eq!(
        value(&returned, "x-header-add-2").as_deref(),
        Some("add-val-2,header-add-2")
    );
    assert_eq!(value(&returned, "x-header-remove-1"), None);
}

#[test]
fn composed_edits_equal_sequential_application() {
    // The composition table of `HeaderEdits`: for every pair of actions on one name, applying
    // the composed edits once equals applying the two filters one after the other.
    type Op = fn(&mut HeaderEdits);
    let ops: [(&str, Op); 3] = [
        ("set", |e| e.push_set("X", "b")),
        ("add", |e| e.push_add("x", "c")),
        ("remove", |e| e.push_remove("X")),
    ];
    let firsts: [(&str, Op); 3] = [
        ("set", |e| e.push_set("x", "a")),
        ("add", |e| e.push_add("X", "a")),
        ("remove", |e| e.push_remove("x")),
    ];
    for start in [
        pairs(&[]),
        pairs(&[("x", "0")]),
        pairs(&[("x", "0"), ("y", "1"), ("X", "2")]),
    ] {
        for (n1, first) in &firsts {
            for (n2, second) in &ops {
                let mut one = HeaderEdits::default();
                first(&mut one);
                let mut two = HeaderEdits::default();
                second(&mut two);
                let sequential = two.apply_to_pairs(&one.apply_to_pairs(&start));
                let mut composed = HeaderEdits::default();
                first(&mut composed);
                second(&mut composed);
                let once = composed.apply_to_pairs(&start);
                assert_eq!(
                    value(&once, "x"),
                    value(&sequential, "x"),
                    "{n1} then {n2} on {start:?}"
                );
                assert_eq!(value(&once, "y"), value(&sequential, "y"));
            }
        }
    }
}

#[test]
fn backend_ref_filters_apply_after_rule_filters() {
    // Rule adds `x-a: rule`, the backendRef then sets it; rule removes `x-b`, the backendRef
    // then adds it: the backendRef's action wins, as if applied second.
    let router = build(
        r#"  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        add: [{name: x-a, value: rule}]
        remove: [x-b]
    backendRefs:
    - name: v1
      port: 8080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: x-a, value: backend}]
          add: [{name: x-b, value: backend}]
"#,
    );
    let f = forward(plan_req(&router, "GET", "/", &[], 0));
    let sent = f
        .request
        .headers
        .apply_to_pairs(&pairs(&[("x-a", "client"), ("x-b", "client")]));
    assert_eq!(value(&sent, "x-a").as_deref(), Some("backend"));
    assert_eq!(value(&sent, "x-b").as_deref(), Some("backend"));
}

#[test]
fn backend_index_names_the_chosen_backend_ref() {
    // conformance HTTPRouteBackendRequestHeaderModifier: filters of a backendRef apply only when
    // it is chosen.
    let router = build(
        r#"  - backendRefs:
    - name: v1
      port: 8080
      filters:
      - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-backend, value: v1}]}}
    - name: v2
      port: 8080
      filters:
      - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-backend, value: v2}]}}
"#,
    );
    for random in 0..4u64 {
        let f = forward(plan_req(&router, "GET", "/", &[], random));
        let sent = f.request.headers.apply_to_pairs(&[]);
        assert_eq!(
            value(&sent, "x-backend").as_deref(),
            Some(f.backend.name.as_str())
        );
        assert_eq!(f.backend_index, if f.backend.name == "v1" { 0 } else { 1 });
    }
}

#[test]
fn framing_headers_cannot_be_edited() {
    let router = build_unvalidated(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Content-Length, value: "0"}]}}
"#,
    );
    let r = respond(plan_req(&router, "GET", "/", &[], 0));
    assert_eq!(r.status, 500);
    assert!(
        r.reason.contains("content-length") || r.reason.contains("Content-Length"),
        "{}",
        r.reason
    );
}

#[test]
fn header_values_with_line_breaks_answer_500() {
    let router = build_unvalidated(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-a, value: "a\r\nx-injected: 1"}]}}
"#,
    );
    assert_eq!(respond(plan_req(&router, "GET", "/", &[], 0)).status, 500);
}

// === redirects ===

#[test]
fn redirect_path_matches_conformance() {
    // conformance HTTPRouteRedirectPath.
    let router = build(
        r#"  - matches: [{path: {type: PathPrefix, value: /original-prefix}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}}}]
  - matches: [{path: {type: PathPrefix, value: /full}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /full-path-replacement}}}]
  - matches: [{path: {type: PathPrefix, value: /path-and-host}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org, path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}}}]
  - matches: [{path: {type: PathPrefix, value: /path-and-status}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}, statusCode: 301}}]
"#,
    );
    let cases = [
        (
            "/original-prefix/lemon",
            302,
            "http://example.com/replacement-prefix/lemon",
        ),
        (
            "/full/path/original",
            302,
            "http://example.com/full-path-replacement",
        ),
        (
            "/path-and-host",
            302,
            "http://example.org/replacement-prefix",
        ),
        (
            "/path-and-status",
            301,
            "http://example.com/replacement-prefix",
        ),
    ];
    for (path, status, location) in cases {
        let r = respond(plan_req(&router, "GET", path, &[], 0));
        assert_eq!(
            (r.status, r.header("location")),
            (status, Some(location)),
            "{path}"
        );
    }
}

#[test]
fn redirect_omits_default_https_port() {
    // conformance HTTPRouteRedirectScheme: scheme https on the port-80 listener, no port given:
    // the port is https's 443, which is left out.
    let router =
        build("  - filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]\n");
    let r = respond(plan_req(&router, "GET", "/scheme", &[], 0));
    assert_eq!(r.header("location"), Some("https://example.com/scheme"));
    // The same from the 8080 listener: still the scheme's well-known port.
    let r = respond(plan_on(&router, 8080, "GET", "/scheme", &[], 0));
    assert_eq!(r.header("location"), Some("https://example.com/scheme"));
}

#[test]
fn redirect_keeps_an_explicit_port() {
    // conformance HTTPRouteRedirectPort.
    let router = build(
        "  - filters: [{type: RequestRedirect, requestRedirect: {port: 8083, hostname: example.org}}]\n",
    );
    let r = respond(plan_req(&router, "GET", "/port-and-host", &[], 0));
    assert_eq!(
        r.header("location"),
        Some("http://example.org:8083/port-and-host")
    );
}

#[test]
fn redirect_without_scheme_uses_the_listener_port() {
    let router =
        build("  - filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org}}]\n");
    let r = respond(plan_on(&router, 8080, "GET", "/a", &[], 0));
    assert_eq!(r.header("location"), Some("http://example.org:8080/a"));
    let r = respond(plan_req(&router, "GET", "/a", &[], 0));
    assert_eq!(r.header("location"), Some("http://example.org/a"));
}

#[test]
fn redirect_keeps_the_query_string() {
    let router = build(
        "  - filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org, statusCode: 301}}]\n",
    );
    let r = respond(plan_req(&router, "GET", "/a?x=1&y", &[], 0));
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("http://example.org/a?x=1&y"))
    );
}

#[test]
fn redirect_status_other_than_301_or_302_answers_500() {
    let router = build_unvalidated(
        "  - filters: [{type: RequestRedirect, requestRedirect: {statusCode: 308}}]\n",
    );
    let r = respond(plan_req(&router, "GET", "/a", &[], 0));
    assert_eq!(r.status, 500);
    assert!(r.header("location").is_none());
}

#[test]
fn redirect_needs_no_backend() {
    // A redirect rule whose only backendRef is invalid still redirects (the CRDs refuse
    // backendRefs beside a redirect; we do not rely on it).
    let router = build_unvalidated(
        r#"  - backendRefs: [{name: missing, port: 8080}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org}}]
"#,
    );
    assert_eq!(respond(plan_req(&router, "GET", "/", &[], 0)).status, 302);
}

// === path modifiers ===

#[test]
fn replace_prefix_match_never_doubles_slashes() {
    // The table of HTTPPathModifier.replacePrefixMatch, row by row.
    let table = [
        ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
        ("/foo", "/foo", "/xyz", "/xyz"),
        ("/foo/", "/foo", "/xyz", "/xyz/"),
        ("/foo/bar", "/foo", "", "/bar"),
        ("/foo/", "/foo", "", "/"),
        ("/foo", "/foo", "", "/"),
        ("/foo/", "/foo", "/", "/"),
        ("/foo", "/foo", "/", "/"),
        // Beyond the table.
        ("/foo/bar", "/foo", "/", "/bar"),
        ("/a/b", "/", "/x", "/x/a/b"),
        ("/", "/", "/x", "/x/"),
    ];
    for (path, prefix, replacement, expected) in table {
        assert_eq!(
            replace_prefix(path, prefix, replacement).as_deref(),
            Some(expected),
            "{path} {prefix} {replacement}"
        );
    }
    assert_eq!(
        replace_prefix("/foobar", "/foo", "/x"),
        None,
        "not an element-wise prefix"
    );
}

#[test]
fn rewrite_path_matches_conformance() {
    // conformance HTTPRouteRewritePath.
    let router = build(&format!(
        r#"  - matches: [{{path: {{type: PathPrefix, value: /prefix/one}}}}]
    filters: [{{type: URLRewrite, urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /one}}}}}}]
    backendRefs: [{{name: v1, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /strip-prefix}}}}]
    filters: [{{type: URLRewrite, urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /}}}}}}]
    backendRefs: [{{name: v1, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /full/one}}}}]
    filters: [{{type: URLRewrite, urlRewrite: {{path: {{type: ReplaceFullPath, replaceFullPath: /one}}}}}}]
    backendRefs: [{{name: v1, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /prefix/rewrite-path-and-modify-headers}}}}]
    backendRefs: [{{name: v1, port: 8080}}]
{MODIFY_HEADERS}    - {{type: URLRewrite, urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /prefix}}}}}}
"#
    ));
    let cases = [
        ("/prefix/one/two", "/one/two"),
        ("/strip-prefix/three", "/three"),
        ("/strip-prefix", "/"),
        ("/full/one/two", "/one"),
        ("/prefix/rewrite-path-and-modify-headers/one", "/prefix/one"),
    ];
    for (path, expected) in cases {
        let f = forward(plan_req(&router, "GET", path, &[], 0));
        assert_eq!(f.request.path.as_deref(), Some(expected), "{path}");
    }
    let f = forward(plan_req(
        &router,
        "GET",
        "/prefix/rewrite-path-and-modify-headers/one",
        &[("X-Header-Add-Append", "append-val-1")],
        0,
    ));
    let sent = f
        .request
        .headers
        .apply_to_pairs(&pairs(&[("X-Header-Add-Append", "append-val-1")]));
    assert_eq!(
        value(&sent, "X-Header-Add-Append").as_deref(),
        Some("append-val-1,header-val-2")
    );
}

#[test]
fn replace_prefix_match_replaces_the_prefix_of_the_match_that_matched() {
    // Two rules with equal filters but different prefixes, one on a backendRef's filter, one on
    // the second match of its rule: each replaces its own matched prefix (issue #4: compiled
    // rules share equal filter specs, never different ones). Validation allows a
    // ReplacePrefixMatch only with a single match; unvalidated input may hold more.
    let router = build_unvalidated(
        r#"  - matches: [{path: {type: PathPrefix, value: /a}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}}]
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: Exact, value: /c}}, {path: {type: PathPrefix, value: /b}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}}]
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /d}}]
    backendRefs:
    - name: v2
      port: 8080
      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /y}}}]
"#,
    );
    for (path, expected) in [("/a/1", "/x/1"), ("/b/2", "/x/2"), ("/d/3", "/y/3")] {
        let f = forward(plan_req(&router, "GET", path, &[], 0));
        assert_eq!(f.request.path.as_deref(), Some(expected), "{path}");
    }
}

#[test]
fn rewrite_host_replaces_the_authority() {
    // conformance HTTPRouteRewriteHost.
    let router = build(
        r#"  - matches: [{path: {type: PathPrefix, value: /one}}]
    filters: [{type: URLRewrite, urlRewrite: {hostname: one.example.org}}]
    backendRefs: [{name: v1, port: 8080}]
"#,
    );
    let f = forward(plan_req(&router, "GET", "/one", &[], 0));
    assert_eq!(f.request.authority.as_deref(), Some("one.example.org"));
    assert_eq!(f.request.path, None);
}

#[test]
fn replace_prefix_match_needs_a_path_prefix_match() {
    let router = build_unvalidated(
        r#"  - matches: [{path: {type: Exact, value: /a}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}}]
    backendRefs: [{name: v1, port: 8080}]
"#,
    );
    assert_eq!(respond(plan_req(&router, "GET", "/a", &[], 0)).status, 500);
}

#[test]
fn non_canonical_paths_are_forwarded_canonical() {
    let router = build("  - backendRefs: [{name: v1, port: 8080}]\n");
    assert_eq!(
        forward(plan_req(&router, "GET", "/a/b?q", &[], 0))
            .request
            .path,
        None
    );
    assert_eq!(
        forward(plan_req(&router, "GET", "/a/./x/../b?q", &[], 0))
            .request
            .path
            .as_deref(),
        Some("/a/b")
    );
}

/// `plan` builds the plan of a rule without filters itself, in place; it must be the plan the
/// general path builds: the drawn backend, the canonical path, timeouts, retries and a
/// BackendTLSPolicy's settings.
#[test]
fn rules_without_filters_plan_as_the_general_path_does() {
    // Unvalidated: the CRDs would refuse the `10sec` timeout; the plan must answer 500.
    let router = build_unvalidated(
        "  - backendRefs: [{name: v1, port: 8080, weight: 1}, {name: v2, port: 8080, weight: 3}]
    timeouts: {request: 5s, backendRequest: 0s}
    retry: {codes: [503], attempts: 2}
  - matches: [{path: {type: PathPrefix, value: /none}}]
    backendRefs: [{name: v1, port: 8080, weight: 0}]
  - matches: [{path: {type: PathPrefix, value: /bad}}]
    backendRefs: [{name: v1, port: 8080}]
    timeouts: {request: 10sec}
",
    );
    let headers = [("host", "example.com")];
    let draws = [0, 1 << 62, u64::MAX / 2, u64::MAX];
    for target in ["/a", "/a/./b/../c?q=1", "/none/x", "/bad"] {
        for random in draws {
            let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&headers));
            let decision = router.route(&req);
            let Some(RuleSpec::Http(rule)) = decision.rule_spec() else {
                panic!("{target} matched no HTTP rule");
            };
            let general = super::forward(&decision, &req, None, random, rule).unwrap_or_else(
                |(cause, reason)| {
                    Plan::Respond(LocalResponse::new(
                        crate::outcome::Outcome::ServerError(cause),
                        500,
                        reason,
                    ))
                },
            );
            assert_eq!(plan(&decision, &req, random), general, "{target} {random}");
        }
    }
    let f = forward(plan_req(&router, "GET", "/a/./b", &[], u64::MAX));
    assert_eq!(f.backend.name, "v2");
    assert_eq!(f.request.path.as_deref(), Some("/a/b"));
    assert_eq!(f.timeouts.backend_request, Timeout::Disabled);
    assert_eq!(
        respond(plan_req(&router, "GET", "/none", &[], 0)).status,
        500
    );
    assert_eq!(
        respond(plan_req(&router, "GET", "/bad", &[], 0)).status,
        500
    );
}

#[test]
fn request_edits_apply_to_an_http_request() {
    let mut edits = RequestEdits {
        path: Some("/new/path".to_owned()),
        authority: Some("backend.example".to_owned()),
        ..RequestEdits::default()
    };
    edits.headers.push_set("host", "ignored.example");
    edits.headers.push_add("x-a", "2");
    let mut req = http::Request::builder()
        .uri("/old?x=1")
        .header("host", "example.com")
        .header("x-a", "1")
        .body(())
        .unwrap();
    edits.apply(&mut req).unwrap();
    assert_eq!(req.uri(), "/new/path?x=1");
    assert_eq!(req.headers()["host"], "backend.example");
    assert_eq!(req.headers()["x-a"], "1,2");

    let mut req = http::Request::builder()
        .uri("http://example.com/old")
        .body(())
        .unwrap();
    edits.apply(&mut req).unwrap();
    assert_eq!(req.uri(), "http://backend.example/new/path");
    assert_eq!(
        req.headers()["host"],
        "backend.example",
        "a Host agrees with the URI"
    );
    let only_authority = RequestEdits {
        authority: Some("backend.example".to_owned()),
        ..RequestEdits::default()
    };
    let mut req = http::Request::builder()
        .uri("http://example.com/old")
        .body(())
        .unwrap();
    only_authority.apply(&mut req).unwrap();
    assert_eq!(req.uri(), "http://backend.example/old");
    assert!(
        req.headers().get("host").is_none(),
        "authority carried by the URI only"
    );

    let bad = RequestEdits {
        path: Some("/a b".to_owned()),
        ..RequestEdits::default()
    };
    let mut req = http::Request::builder().uri("/old").body(()).unwrap();
    assert_eq!(
        bad.apply(&mut req),
        Err(FilterError::InvalidPath("/a b".to_owned()))
    );
    assert_eq!(req.uri(), "/old", "unchanged on error");
}

// === mirrors ===

#[test]
fn mirror_without_share_always_fires() {
    // conformance HTTPRouteRequestMultipleMirrors.
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: v3, namespace: infra, port: 8080}}}
"#,
    );
    for random in [0, 1, u64::MAX, 0xDEAD_BEEF] {
        let f = forward(plan_req(&router, "GET", "/", &[], random));
        let names: Vec<&str> = f.mirrors.iter().map(|m| m.backend.name.as_str()).collect();
        assert_eq!(names, ["v2", "v3"]);
        assert_eq!(f.mirrors[0].backend.namespace, "infra");
        assert_eq!(f.backend.name, "v1");
    }
}

#[test]
fn mirror_percent_is_deterministic_for_a_random_value() {
    // conformance HTTPRouteRequestPercentageMirror: 20 %, 25/50 and 35 %, within 15 % of the
    // expected count.
    let router = build(
        r#"  - matches: [{path: {type: PathPrefix, value: /percent-mirror}}]
    backendRefs: [{name: v1, port: 8080}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}, percent: 20}}]
  - matches: [{path: {type: PathPrefix, value: /percent-mirror-fraction}}]
    backendRefs: [{name: v1, port: 8080}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}, fraction: {numerator: 25, denominator: 50}}}]
  - matches: [{path: {type: PathPrefix, value: /percent-mirror-and-modify-headers}}]
    backendRefs: [{name: v1, port: 8080}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}, percent: 35}}]
"#,
    );
    for (path, percent) in [
        ("/percent-mirror", 20),
        ("/percent-mirror-fraction", 50),
        ("/percent-mirror-and-modify-headers", 35),
    ] {
        let samples = 10_000u64;
        let fired = (0..samples)
            .filter(|r| {
                !forward(plan_req(&router, "GET", path, &[], *r))
                    .mirrors
                    .is_empty()
            })
            .count() as f64;
        let expected = samples as f64 * f64::from(percent) / 100.0;
        assert!(
            (fired - expected).abs() < expected * 0.05,
            "{path}: {fired} fired, expected about {expected}"
        );
        for r in [7, 99, 123_456_789] {
            assert_eq!(
                forward(plan_req(&router, "GET", path, &[], r)).mirrors,
                forward(plan_req(&router, "GET", path, &[], r)).mirrors
            );
        }
    }
}

#[test]
fn mirrors_fire_independently() {
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}, percent: 50}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: v3, port: 8080}, percent: 50}}
"#,
    );
    let both = (0..10_000u64)
        .filter(|r| {
            forward(plan_req(&router, "GET", "/", &[], *r))
                .mirrors
                .len()
                == 2
        })
        .count();
    assert!((2_250..2_750).contains(&both), "{both} of 10000 fired both");
}

#[test]
fn mirror_to_another_namespace_without_a_reference_grant_is_dropped() {
    // HTTPRequestMirrorFilter.backendRef: an invalid reference "must be dropped" and the route
    // reports ResolvedRefs=False (RefNotPermitted): consent is checked like any backendRef.
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: elsewhere, namespace: other, port: 8080}}}
"#,
    );
    assert!(
        forward(plan_req(&router, "GET", "/", &[], 0))
            .mirrors
            .is_empty()
    );
}

const MIRROR_GRANT: &str = r#"
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: mirrors, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
  to: [{group: "", kind: Service}]
"#;

#[test]
fn mirror_to_another_namespace_fires_when_a_reference_grant_allows_it() {
    let route = route_yaml(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: elsewhere, namespace: other, port: 8080}}}
"#,
    );
    let router = router_with(&format!("{route}\n---\n{MIRROR_GRANT}"));
    let f = forward(plan_req(&router, "GET", "/", &[], 0));
    let mirrored: Vec<(&str, &str, u16)> = f
        .mirrors
        .iter()
        .map(|m| {
            (
                m.backend.namespace.as_str(),
                m.backend.name.as_str(),
                m.backend.port,
            )
        })
        .collect();
    assert_eq!(mirrored, [("other", "elsewhere", 8080)]);
}

#[test]
fn mirror_to_a_service_that_does_not_exist_is_dropped() {
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: missing, port: 8080}}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}}}
"#,
    );
    let f = forward(plan_req(&router, "GET", "/", &[], 0));
    let names: Vec<&str> = f.mirrors.iter().map(|m| m.backend.name.as_str()).collect();
    assert_eq!(names, ["v2"]);
}

#[test]
fn backend_ref_mirrors_use_the_references_of_the_chosen_backend_ref() {
    // Mirrors are resolved per filter: the rule's own first, then each backendRef's in order;
    // a request that draws the second backendRef gets the rule's mirror and that backendRef's.
    let router = build(
        r#"  - backendRefs:
    - name: v1
      port: 8080
      filters: [{type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}}}]
    - name: v2
      port: 8080
      filters: [{type: RequestMirror, requestMirror: {backendRef: {name: v3, port: 8080}}}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: v1, port: 8080}}}
"#,
    );
    let first = forward(plan_req(&router, "GET", "/", &[], 0));
    let last = forward(plan_req(&router, "GET", "/", &[], u64::MAX));
    let names = |f: &ForwardPlan<'_>| -> Vec<String> {
        f.mirrors.iter().map(|m| m.backend.name.clone()).collect()
    };
    assert_eq!(
        (first.backend.name.as_str(), names(&first)),
        ("v1", vec!["v1".into(), "v2".into()])
    );
    assert_eq!(
        (last.backend.name.as_str(), names(&last)),
        ("v2", vec!["v1".into(), "v3".into()])
    );
}

// === CORS ===

const CORS_ROUTE: &str = r#"  - matches: [{path: {type: PathPrefix, value: /cors-1}}]
    backendRefs: [{name: v1, port: 8080}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1, x-header-2]
        exposeHeaders: [x-header-3, x-header-4]
        allowCredentials: true
        maxAge: 3600
  - matches: [{path: {type: PathPrefix, value: /cors-wildcard}}]
    backendRefs: [{name: v1, port: 8080}]
    filters: [{type: CORS, cors: {allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"]}}]
  - matches: [{path: {type: PathPrefix, value: /cors-wildcard-creds}}]
    backendRefs: [{name: v1, port: 8080}]
    filters: [{type: CORS, cors: {allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: true}}]
"#;

fn preflight(origin: &str, method: &str) -> [(&'static str, String); 3] {
    [
        ("origin", origin.to_owned()),
        ("access-control-request-method", method.to_owned()),
        (
            "access-control-request-headers",
            "x-header-1, x-header-2".to_owned(),
        ),
    ]
}

fn plan_preflight<'r>(router: &'r Router, path: &str, origin: &str, method: &str) -> Plan<'r> {
    let h = preflight(origin, method);
    let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
    plan_req(router, "OPTIONS", path, &h, 0)
}

#[test]
fn cors_credentials_header_only_when_true() {
    // conformance HTTPRouteCORSAllowCredentialsBehavior.
    let router = build(
        r#"  - matches: [{path: {type: PathPrefix, value: /cors-behavior-creds-false}}]
    backendRefs: [{name: v1, port: 8080}]
    filters: [{type: CORS, cors: {allowOrigins: ["https://app.example"], allowCredentials: false}}]
  - matches: [{path: {type: PathPrefix, value: /cors-behavior-creds-true}}]
    backendRefs: [{name: v1, port: 8080}]
    filters: [{type: CORS, cors: {allowOrigins: ["https://app.example"], allowCredentials: true}}]
"#,
    );
    let creds = [("Cookie", "sid=abc123"), ("Authorization", "Bearer test")];
    let with = |origin: &'static str| {
        let mut h = vec![("Origin", origin)];
        h.extend_from_slice(&creds);
        h
    };
    let f = forward(plan_req(
        &router,
        "GET",
        "/cors-behavior-creds-false",
        &with("https://app.example"),
        0,
    ));
    let returned = f.response.apply_to_pairs(&[]);
    assert_eq!(value(&returned, "Access-Control-Allow-Credentials"), None);
    assert_eq!(
        value(&returned, "Access-Control-Allow-Origin").as_deref(),
        Some("https://app.example")
    );

    let f = forward(plan_req(
        &router,
        "GET",
        "/cors-behavior-creds-true",
        &with("http://not-app.example"),
        0,
    ));
    assert!(
        f.response.is_empty(),
        "no CORS header for an origin that is not allowed"
    );

    let f = forward(plan_req(
        &router,
        "GET",
        "/cors-behavior-creds-true",
        &with("https://app.example"),
        0,
    ));
    let returned = f.response.apply_to_pairs(&[]);
    assert_eq!(
        value(&returned, "Access-Control-Allow-Credentials").as_deref(),
        Some("true")
    );
    assert_eq!(
        value(&returned, "Access-Control-Allow-Origin").as_deref(),
        Some("https://app.example")
    );
    assert_eq!(value(&returned, "Vary").as_deref(), Some("origin"));
}

#[test]
fn cors_preflight_is_answered_locally() {
    // upstream conformance HTTPRouteCORS (later than v1.4.1), /cors-1.
    let router = build(CORS_ROUTE);
    for origin in [
        "https://www.foo.com",
        "https://www.bar.com",
        "https://xpto.www.bar.com",
        "HTTPS://WWW.FOO.COM:443",
    ] {
        let r = respond(plan_preflight(&router, "/cors-1", origin, "GET"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("GET, OPTIONS")
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("x-header-1, x-header-2")
        );
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("x-header-3, x-header-4")
        );
        assert_eq!(r.header("access-control-max-age"), Some("3600"));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    }
}

#[test]
fn cors_preflight_from_an_origin_not_allowed_has_no_cors_headers() {
    let router = build(CORS_ROUTE);
    for origin in [
        "https://foobar.com",
        "https://bar.com",
        "http://www.foo.com",
        "https://www.foo.com:8443",
        "null",
    ] {
        let r = respond(plan_preflight(&router, "/cors-1", origin, "GET"));
        assert_eq!(r.status, 200);
        assert!(
            r.headers
                .iter()
                .all(|(n, _)| !n.starts_with("access-control-")),
            "{origin}: {:?}",
            r.headers
        );
    }
    // An actual request from such an origin is forwarded without CORS headers.
    let f = forward(plan_req(
        &router,
        "GET",
        "/cors-1",
        &[("origin", "https://foobar.com")],
        0,
    ));
    assert!(f.response.is_empty());
}

#[test]
fn cors_wildcard_origin_answers_star_only_without_credentials() {
    let router = build(CORS_ROUTE);
    let r = respond(plan_preflight(
        &router,
        "/cors-wildcard",
        "https://foobar.com:12345",
        "PUT",
    ));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("PUT"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("x-header-1, x-header-2")
    );
    assert_eq!(r.header("access-control-allow-credentials"), None);

    let r = respond(plan_preflight(
        &router,
        "/cors-wildcard-creds",
        "https://other.foo.com",
        "PUT",
    ));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://other.foo.com")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("PUT"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));

    let f = forward(plan_req(
        &router,
        "PUT",
        "/cors-wildcard",
        &[("origin", "https://foobar.com")],
        0,
    ));
    assert_eq!(
        value(
            &f.response.apply_to_pairs(&[]),
            "access-control-allow-origin"
        )
        .as_deref(),
        Some("*")
    );
}

// === fail closed, errors, timeouts, gRPC ===

#[test]
fn external_auth_is_asked_before_forwarding() {
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: v2, port: 8080}, http: {}}
"#,
    );
    let Plan::Authorize(check) = plan_req(&router, "GET", "/", &[], 0) else {
        panic!("a protected rule must ask the auth service first");
    };
    assert_eq!(check.backend.name, "v2");
    let options = crate::plan::authz::AuthOptions::default();
    let r = respond(check.answer(crate::plan::authz::AuthResponse::Unreachable, &options));
    assert_eq!(r.status, 403);
}

#[test]
fn other_outcomes_are_answered_with_their_status() {
    let router = build(
        "  - matches: [{path: {type: Exact, value: /only}}]\n    backendRefs: [{name: v1, port: 8080}]\n",
    );
    assert_eq!(
        respond(plan_req(&router, "GET", "/other", &[], 0)).status,
        404
    );
    assert_eq!(
        respond(plan_req(&router, "GET", "/a/%2F", &[], 0)).status,
        400
    );
}

#[test]
fn invalid_backend_share_answers_500() {
    let router = build("  - backendRefs: [{name: missing, port: 8080}]\n");
    assert_eq!(respond(plan_req(&router, "GET", "/", &[], 0)).status, 500);
    let router = build(
        "  - filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: b}]}}]\n",
    );
    assert_eq!(
        respond(plan_req(&router, "GET", "/", &[], 0)).status,
        500,
        "no backendRefs at all"
    );
}

#[test]
fn durations_follow_gep_2257() {
    let ok = [
        ("1h30m", Duration::from_secs(5400)),
        ("500ms", Duration::from_millis(500)),
        ("1s500ms", Duration::from_millis(1500)),
        ("30m1h10s5s", Duration::from_secs(5415)),
        ("00060m", Duration::from_secs(3600)),
        ("99999h", Duration::from_secs(99_999 * 3600)),
        ("0s", Duration::ZERO),
    ];
    for (text, d) in ok {
        assert_eq!(parse_duration(text), Some(d), "{text}");
    }
    for text in [
        "",
        "1",
        "1d",
        "1.5s",
        "-1s",
        "123456s",
        "1h1m1s1ms1h",
        "1 s",
        "s",
        "1us",
        "1H",
    ] {
        assert_eq!(parse_duration(text), None, "{text}");
    }
}

#[test]
fn timeouts_zero_means_disabled() {
    let router = build(
        r#"  - backendRefs: [{name: v1, port: 8080}]
    timeouts: {request: 1h30m, backendRequest: 0s}
    retry: {codes: [503], attempts: 2, backoff: 100ms}
"#,
    );
    let f = forward(plan_req(&router, "GET", "/", &[], 0));
    assert_eq!(
        f.timeouts.request,
        Timeout::After(Duration::from_secs(5400))
    );
    assert_eq!(f.timeouts.backend_request, Timeout::Disabled);
    assert_eq!(f.timeouts.backend_request.duration(), None);
    assert_eq!(
        f.retry,
        Some(&Retry {
            codes: vec![503],
            attempts: Some(2),
            backoff: Some(Duration::from_millis(100))
        })
    );

    let router = build_unvalidated(
        "  - backendRefs: [{name: v1, port: 8080}]\n    timeouts: {request: 10sec}\n",
    );
    assert_eq!(respond(plan_req(&router, "GET", "/", &[], 0)).status, 500);
}

#[test]
fn grpc_route_filters_edit_headers_and_mirror() {
    let router = router_with(
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: v1, port: 8080}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-grpc, value: "1"}]}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: v2, port: 8080}}}
"#,
    );
    let f = forward(plan_req(
        &router,
        "POST",
        "/svc.Echo/Call",
        &[("content-type", "application/grpc")],
        0,
    ));
    assert_eq!(
        value(&f.request.headers.apply_to_pairs(&[]), "x-grpc").as_deref(),
        Some("1")
    );
    assert_eq!(f.mirrors.len(), 1);
    assert_eq!(f.timeouts, Timeouts::default());
}

// === session pins (GEP-1619) ===

/// Two rules with cookie sessions: `/a` over v1 (weight 1), v2 (weight 0) and an invalid ref
/// (weight 0), v2 with its own header filter; `/b` over v1 only. `/a` times out after 1h.
const PINNED_RULES: &str = r#"  - matches: [{path: {type: PathPrefix, value: /a}}]
    sessionPersistence: {sessionName: s, absoluteTimeout: 1h}
    backendRefs:
    - {name: v1, port: 8080, weight: 1}
    - name: v2
      port: 8080
      weight: 0
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: x-v2, value: "yes"}]}
    - {name: missing, port: 8080, weight: 0}
  - matches: [{path: {type: PathPrefix, value: /b}}]
    sessionPersistence: {sessionName: s}
    backendRefs: [{name: v1, port: 8080}]
"#;

/// Plans `target` with the session pin its `cookie` header presents at `now`, and that pin.
fn plan_with_cookie<'r>(
    router: &'r Router,
    target: &str,
    cookie: &str,
    now: u64,
) -> (Plan<'r>, Option<usize>) {
    let all = [("host", "example.com"), ("cookie", cookie)];
    let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&all));
    let decision = router.route(&req);
    let pin = session_pin(&decision, &req, now);
    let index = pin.map(|p| p.backend_index);
    (plan_pinned(&decision, &req, pin.as_ref(), 7), index)
}

/// The `name=token` pair of a session issued on `target`'s rule for backendRef `index`.
fn issued_cookie(router: &Router, target: &str, index: usize, endpoint: &str, now: u64) -> String {
    let all = [("host", "example.com")];
    let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&all));
    let decision = router.route(&req);
    let fp = forward(plan(&decision, &req, 7));
    let set = fp.session.unwrap().issue(index, endpoint, now).unwrap();
    set.value.split(';').next().unwrap().to_owned()
}

#[test]
fn a_pin_keeps_its_backend_ref_even_at_weight_zero_with_its_filters() {
    let router = build(PINNED_RULES);
    let cookie = issued_cookie(&router, "/a", 1, "10.0.0.2:80", 100);
    let (p, pin) = plan_with_cookie(&router, "/a/x", &cookie, 200);
    assert_eq!(pin, Some(1));
    let fp = forward(p);
    assert_eq!((fp.backend.name.as_str(), fp.backend_index), ("v2", 1));
    assert!(fp.pinned);
    // GEP-1619: the pinned backendRef's own filters apply, not the drawn one's.
    assert_eq!(
        value(&fp.request.headers.set, "x-v2").as_deref(),
        Some("yes"),
        "{:?}",
        fp.request
    );
}

#[test]
fn without_a_pin_the_weights_draw() {
    let router = build(PINNED_RULES);
    let (p, pin) = plan_with_cookie(&router, "/a/x", "other=1", 200);
    assert_eq!(pin, None);
    let fp = forward(p);
    assert_eq!(fp.backend.name, "v1");
    assert!(!fp.pinned);
    // `plan` is `plan_pinned` without a pin.
    assert_eq!(forward(plan_req(&router, "GET", "/a/x", &[], 7)), fp);
}

#[test]
fn another_rules_token_is_ignored() {
    let router = build(PINNED_RULES);
    let cookie = issued_cookie(&router, "/b", 0, "10.0.0.1:80", 100);
    let (p, pin) = plan_with_cookie(&router, "/a/x", &cookie, 200);
    assert_eq!(pin, None);
    assert!(!forward(p).pinned);
}

#[test]
fn an_expired_token_falls_back_to_the_draw() {
    let router = build(PINNED_RULES);
    let cookie = issued_cookie(&router, "/a", 1, "10.0.0.2:80", 100);
    // absoluteTimeout 1h: at 100 + 3600 the session is over.
    let (p, pin) = plan_with_cookie(&router, "/a/x", &cookie, 3_700);
    assert_eq!(pin, None);
    let fp = forward(p);
    assert_eq!((fp.backend.name.as_str(), fp.pinned), ("v1", false));
}

#[test]
fn a_pin_to_an_invalid_backend_ref_falls_back_to_the_draw() {
    let router = build(PINNED_RULES);
    let all = [("host", "example.com")];
    let req = RequestView::new("GET", b"/a/x", Headers::Pairs(&all));
    let decision = router.route(&req);
    // Index 2 is the unresolved `missing`; index 9 is none of the rule's.
    for index in [2, 9] {
        let pin = SessionPin::new(index, "10.0.0.3:80", 100);
        let fp = forward(plan_pinned(&decision, &req, Some(&pin), 7));
        assert_eq!(
            (fp.backend.name.as_str(), fp.pinned),
            ("v1", false),
            "{index}"
        );
    }
}
