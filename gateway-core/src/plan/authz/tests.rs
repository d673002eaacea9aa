//! Unit tests of the auth stage, named after the rule they check.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use prost::Message as _;

use super::*;
use crate::api::{LoadOptions, Snapshot};
use crate::attach::{AttachOptions, Config};
use crate::plan::{ForwardPlan, plan};
use crate::request::normalize::{EncodedSlashes, PathPolicy};
use crate::request::{Headers, RequestView};
use crate::route::{GatewayRef, Router};

const BASE: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gateway-core}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gateway-core
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: infra}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: app2, namespace: infra}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: auth, namespace: infra}
spec: {ports: [{name: http, port: 9000}]}
---
apiVersion: v1
kind: Service
metadata: {name: auth, namespace: security}
spec: {ports: [{name: http, port: 9000}]}
"#;

const GRANT: &str = r#"
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: auth, namespace: security}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
  to: [{group: "", kind: Service}]
"#;

fn route_yaml(rules: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r, namespace: infra}}\nspec:\n  parentRefs: [{{name: gw}}]\n  rules:\n{rules}"
    )
}

fn config(extra: &str) -> Config {
    let yaml = format!("{BASE}\n---\n{extra}");
    let options = LoadOptions {
        validate: false,
        ..LoadOptions::default()
    };
    let loaded = Snapshot::load(yaml.as_bytes(), &options).expect("manifests load");
    Config::new(loaded.snapshot, AttachOptions::default())
}

fn build(rules: &str) -> Router {
    Router::build(
        &config(&route_yaml(rules)),
        &GatewayRef::new("infra", "gw"),
        PathPolicy::secure(),
    )
    .expect("router builds")
}

/// One protected rule: HTTP auth with `http` settings (YAML flow mapping).
fn http_rule(http: &str) -> String {
    format!(
        r#"  - backendRefs: [{{name: app, port: 8080}}]
    filters:
    - type: ExternalAuth
      externalAuth: {{protocol: HTTP, backendRef: {{name: auth, port: 9000}}, http: {http}}}
"#
    )
}

fn grpc_rule(grpc: &str) -> String {
    format!(
        r#"  - backendRefs: [{{name: app, port: 8080}}]
    filters:
    - type: ExternalAuth
      externalAuth: {{protocol: GRPC, backendRef: {{name: auth, port: 9000}}, grpc: {grpc}}}
"#
    )
}

fn plan_of<'r>(
    router: &'r Router,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Plan<'r> {
    let mut all: Vec<(&str, &str)> = vec![("host", "example.com")];
    all.extend_from_slice(headers);
    let req = RequestView::new(method, target.as_bytes(), Headers::Pairs(&all));
    let decision = router.route(&req);
    plan(&decision, &req, 0)
}

fn check<'r>(router: &'r Router, target: &str, headers: &[(&str, &str)]) -> AuthCheck<'r> {
    match plan_of(router, "GET", target, headers) {
        Plan::Authorize(c) => c,
        Plan::Forward(f) => panic!("forwarded to {} without a check", f.backend.name),
        Plan::Respond(r) => panic!("answered {} ({})", r.status, r.reason),
    }
}

fn forwarded(p: Plan<'_>) -> ForwardPlan<'_> {
    match p {
        Plan::Forward(f) => f,
        Plan::Respond(r) => panic!("answered {} ({})", r.status, r.reason),
        Plan::Authorize(_) => panic!("asked again"),
    }
}

fn responded(p: Plan<'_>) -> LocalResponse {
    match p {
        Plan::Respond(r) => r,
        Plan::Forward(f) => panic!("forwarded to {}", f.backend.name),
        Plan::Authorize(_) => panic!("asked again"),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn http_answer(status: u16, headers: &[(&str, &str)], body: &str) -> AuthResponse {
    AuthResponse::Http {
        status,
        headers: pairs(headers),
        body: body.as_bytes().to_vec(),
    }
}

fn opts() -> AuthOptions {
    AuthOptions::default()
}

// === what is sent: HTTP ===

#[test]
fn http_check_sends_host_authorization_allowed_headers_and_content_length() {
    let router = build(&http_rule("{path: /auth/, allowedHeaders: [X-User]}"));
    let c = check(
        &router,
        "/admin?q=1",
        &[
            ("authorization", "Bearer t"),
            ("x-user", "a"),
            ("x-other", "no"),
            ("X-User", "b"),
            ("connection", "keep-alive"),
            ("content-length", "0"),
        ],
    );
    assert_eq!(c.protocol(), AuthProtocol::Http);
    assert_eq!(
        (
            c.backend.namespace.as_str(),
            c.backend.name.as_str(),
            c.backend.port
        ),
        ("infra", "auth", 9000)
    );
    let h = c.http().unwrap();
    assert_eq!(h.method, "GET");
    assert_eq!(h.path, "/auth/admin?q=1");
    assert_eq!(
        h.headers,
        pairs(&[
            ("host", "example.com"),
            ("authorization", "Bearer t"),
            ("x-user", "a"),
            ("x-user", "b"),
            ("content-length", "0"),
        ])
    );
    assert!(h.body.is_empty());
}

#[test]
fn http_check_path_is_the_prefix_plus_the_canonical_path() {
    let router = build(&http_rule("{path: /auth}"));
    for target in [
        "/x/../admin/%61",
        "//admin//a",
        "/admin/./a",
        "/%2e%2E/admin/a",
    ] {
        assert_eq!(
            check(&router, target, &[]).http().unwrap().path,
            "/auth/admin/a"
        );
    }
    let router = build(&http_rule("{}"));
    assert_eq!(check(&router, "/a/../b", &[]).http().unwrap().path, "/b");
}

#[test]
fn a_prefix_that_is_not_canonical_answers_500() {
    for prefix in ["/auth/../x", "auth", "/a%2Fb", "/a//b", "/a;x", "/a/%2e%2e"] {
        let router = build(&http_rule(&format!("{{path: {prefix:?}}}")));
        let r = responded(plan_of(&router, "GET", "/admin", &[]));
        assert_eq!(r.status, 500, "{prefix}: {}", r.reason);
    }
}

#[test]
fn a_kept_encoded_slash_cannot_escape_the_prefix() {
    let config = config(&route_yaml(&http_rule("{path: /auth}")));
    let mut policy = PathPolicy::secure();
    policy.encoded_slashes = EncodedSlashes::Keep;
    let router = Router::build(&config, &GatewayRef::new("infra", "gw"), policy).unwrap();
    let r = responded(plan_of(&router, "GET", "/a%2f..%2f..%2fadmin", &[]));
    assert_eq!(r.status, 400);
    // Without a prefix there is nothing to escape: the auth service sees the backend's path.
    let config = config_plain_http();
    let router = Router::build(&config, &GatewayRef::new("infra", "gw"), policy_keep()).unwrap();
    assert_eq!(check(&router, "/a%2fb", &[]).http().unwrap().path, "/a%2Fb");
}

fn config_plain_http() -> Config {
    config(&route_yaml(&http_rule("{}")))
}

fn policy_keep() -> PathPolicy {
    let mut policy = PathPolicy::secure();
    policy.encoded_slashes = EncodedSlashes::Keep;
    policy
}

#[test]
fn a_header_value_the_check_cannot_carry_is_refused() {
    let router = build(&http_rule("{allowedHeaders: [x-raw]}"));
    let raw: [(&[u8], &[u8]); 2] = [(b"host", b"example.com"), (b"x-raw", b"\xff")];
    let req = RequestView::new("GET", b"/", Headers::Bytes(&raw));
    let decision = router.route(&req);
    assert_eq!(responded(plan(&decision, &req, 0)).status, 400);
}

#[test]
fn to_http_request_is_the_check() {
    let router = build(&http_rule("{path: /auth}"));
    let c = check(&router, "/x", &[("authorization", "t")]);
    let r = c.to_http_request().unwrap();
    assert_eq!(r.uri(), "/auth/x");
    assert_eq!(r.headers()["authorization"], "t");
    assert_eq!(r.headers()["content-length"], "0");
}

// === what is sent: gRPC ===

#[test]
fn grpc_check_carries_http_attributes_and_every_header() {
    let router = build(&grpc_rule("{}"));
    let c = check(
        &router,
        "/a/../admin?x=1",
        &[
            ("x-a", "1"),
            ("X-A", "2"),
            ("x-request-id", "rid"),
            ("content-length", "12"),
        ],
    );
    assert_eq!(c.protocol(), AuthProtocol::Grpc);
    let http = c.grpc().unwrap().attributes.as_ref().unwrap();
    let http = http.request.as_ref().unwrap().http.as_ref().unwrap();
    assert_eq!(http.method, "GET");
    assert_eq!(http.path, "/admin?x=1");
    assert_eq!(http.host, "example.com");
    assert_eq!(http.scheme, "http");
    assert_eq!(http.protocol, "HTTP/1.1");
    assert_eq!(http.id, "rid");
    assert_eq!(http.size, 12);
    // Envoy CVE-2021-32777: every value of a repeated header reaches the auth service.
    assert_eq!(http.headers["x-a"], "1,2");
    assert_eq!(http.headers[":path"], "/admin?x=1");
    assert_eq!(http.headers[":authority"], "example.com");
    assert!(!http.headers.contains_key("host"));
    let framed = c.grpc_frame().unwrap();
    assert_eq!(framed[0], 0);
    let decoded = proto::CheckRequest::decode(grpc::unframe(&framed).unwrap()).unwrap();
    assert_eq!(&decoded, c.grpc().unwrap());
}

#[test]
fn grpc_allowed_headers_limit_what_is_sent() {
    let router = build(&grpc_rule("{allowedHeaders: [x-a]}"));
    let c = check(&router, "/", &[("x-a", "1"), ("x-b", "2")]);
    let h = &c.grpc().unwrap().attributes.as_ref().unwrap();
    let h = &h.request.as_ref().unwrap().http.as_ref().unwrap().headers;
    assert_eq!(h.get("x-a").map(String::as_str), Some("1"));
    assert!(!h.contains_key("x-b"));
}

// === the body ===

fn body_rule(protocol: &str, max: u32) -> String {
    let settings = if protocol == "HTTP" {
        "http: {}"
    } else {
        "grpc: {}"
    };
    format!(
        r#"  - backendRefs: [{{name: app, port: 8080}}]
    filters:
    - type: ExternalAuth
      externalAuth: {{protocol: {protocol}, backendRef: {{name: auth, port: 9000}}, {settings}, forwardBody: {{maxSize: {max}}}}}
"#
    )
}

fn with_body<'r>(c: AuthCheck<'r>, body: &[u8], options: &AuthOptions) -> AuthCheck<'r> {
    match c.with_body(body, options) {
        Plan::Authorize(c) => c,
        _ => panic!("the body was refused"),
    }
}

#[test]
fn the_body_is_forwarded_and_content_length_matches_it() {
    let router = build(&body_rule("HTTP", 4));
    let c = check(&router, "/", &[]);
    assert_eq!(c.max_body, Some(4));
    let c = with_body(c, b"abc", &opts());
    let h = c.http().unwrap();
    assert_eq!(h.body, b"abc");
    assert_eq!(
        h.headers.last().unwrap(),
        &pairs(&[("content-length", "3")])[0]
    );
    assert_eq!(c.body_bytes(), 3);
}

#[test]
fn a_body_over_max_size_is_rejected_with_413_by_default() {
    let router = build(&body_rule("HTTP", 4));
    let r = responded(check(&router, "/", &[]).with_body(b"abcde", &opts()));
    assert_eq!(r.status, 413);
}

#[test]
fn a_body_over_max_size_is_truncated_when_configured() {
    let router = build(&body_rule("HTTP", 4));
    let truncate = opts().with_body_limit(BodyLimit::Truncate);
    let c = with_body(check(&router, "/", &[]), b"abcdef", &truncate);
    let h = c.http().unwrap();
    assert_eq!(h.body, b"abcd");
    assert!(
        h.headers
            .contains(&("content-length".to_owned(), "4".to_owned()))
    );
    assert!(h.headers.contains(&(PARTIAL.to_owned(), "true".to_owned())));
}

const PARTIAL: &str = "x-envoy-auth-partial-body";

#[test]
fn a_grpc_body_that_is_not_utf8_goes_in_raw_body() {
    let router = build(&body_rule("GRPC", 8));
    let c = with_body(check(&router, "/", &[]), b"\xff\xfe", &opts());
    let h = c.grpc().unwrap().attributes.as_ref().unwrap();
    let h = h.request.as_ref().unwrap().http.as_ref().unwrap();
    assert_eq!(
        (h.body.as_str(), h.raw_body.as_slice()),
        ("", &b"\xff\xfe"[..])
    );
    let c = with_body(check(&router, "/", &[]), b"text", &opts());
    assert_eq!(c.body_bytes(), 4);
}

#[test]
fn without_forward_body_no_body_is_sent() {
    let router = build(&http_rule("{}"));
    let c = with_body(check(&router, "/", &[]), b"secret", &opts());
    assert_eq!(c.body_bytes(), 0);
    assert!(
        c.http()
            .unwrap()
            .headers
            .contains(&("content-length".to_owned(), "0".to_owned()))
    );
}

// === what the answer means: HTTP ===

#[test]
fn only_200_allows_and_auth_headers_replace_the_clients() {
    let router = build(&http_rule("{}"));
    let c = check(&router, "/", &[("x-user", "mallory")]);
    let f = forwarded(c.answer(
        http_answer(
            200,
            &[
                ("X-User", "alice"),
                ("x-group", "a"),
                ("x-group", "b"),
                ("host", "evil.example"),
                ("content-length", "0"),
                ("connection", "close"),
            ],
            "",
        ),
        &opts(),
    ));
    assert_eq!(f.backend.name, "app");
    let sent = f
        .request
        .headers
        .apply_to_pairs(&pairs(&[("host", "example.com"), ("x-user", "mallory")]));
    assert_eq!(
        sent,
        pairs(&[
            ("host", "example.com"),
            ("x-user", "alice"),
            ("x-group", "a,b")
        ])
    );
}

#[test]
fn allowed_response_headers_limit_what_is_copied() {
    let router = build(&http_rule("{allowedResponseHeaders: [x-user]}"));
    let c = check(&router, "/", &[]);
    let f = forwarded(c.answer(
        http_answer(200, &[("x-user", "a"), ("x-other", "b")], ""),
        &opts(),
    ));
    assert_eq!(f.request.headers.set, pairs(&[("x-user", "a")]));
}

#[test]
fn any_other_status_denies_with_the_auth_services_answer() {
    let router = build(&http_rule("{}"));
    for status in [201, 204, 302, 401, 403, 500, 503] {
        let c = check(&router, "/", &[]);
        let outcome = c.judge(
            http_answer(
                status,
                &[("www-authenticate", "Bearer"), ("content-length", "2")],
                "no",
            ),
            &opts(),
        );
        let AuthOutcome::Denied(r) = outcome else {
            panic!("{status} must deny");
        };
        assert_eq!(r.status, status);
        assert_eq!(r.headers, pairs(&[("www-authenticate", "Bearer")]));
        assert_eq!(r.body, b"no");
        assert_eq!(r.reason, format!("external auth answered {status}"));
    }
}

#[test]
fn failures_fail_closed_with_the_configured_status() {
    let router = build(&http_rule("{}"));
    let failures = [
        AuthResponse::Unreachable,
        AuthResponse::Timeout,
        AuthResponse::Malformed("garbage".to_owned()),
        http_answer(100, &[], ""),
        http_answer(600, &[], ""),
        http_answer(200, &[("x-bad", "a\r\nb")], ""),
        http_answer(200, &[("bad name", "a")], ""),
        AuthResponse::Grpc(proto::CheckResponse::default()),
    ];
    for failure in failures {
        let c = check(&router, "/", &[]);
        assert!(matches!(
            c.clone().judge(failure.clone(), &opts()),
            AuthOutcome::Failed(_)
        ));
        assert_eq!(
            responded(c.clone().answer(failure.clone(), &opts())).status,
            403
        );
        let custom = opts().with_failure_status(503);
        assert_eq!(
            responded(c.clone().answer(failure.clone(), &custom)).status,
            503
        );
        // A failure status that is not an error status cannot be configured by mistake.
        let wrong = opts().with_failure_status(200);
        assert_eq!(responded(c.answer(failure, &wrong)).status, 403);
    }
}

#[test]
fn the_rules_header_modifier_applies_after_the_auth_headers() {
    let router = build(
        r#"  - backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: auth, port: 9000}, http: {}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-user, value: fixed}], add: [{name: x-tag, value: rule}]}
"#,
    );
    let c = check(&router, "/", &[]);
    let f = forwarded(c.answer(
        http_answer(200, &[("x-user", "alice"), ("x-tag", "auth")], ""),
        &opts(),
    ));
    assert_eq!(
        f.request.headers.apply_to_pairs(&[]),
        pairs(&[("x-user", "fixed"), ("x-tag", "auth,rule")])
    );
}

#[test]
fn a_non_canonical_target_is_forwarded_on_the_path_the_auth_service_saw() {
    let router = build(&http_rule("{}"));
    let c = check(&router, "/x/../admin", &[]);
    assert_eq!(c.http().unwrap().path, "/admin");
    let f = forwarded(c.answer(http_answer(200, &[], ""), &opts()));
    assert_eq!(f.request.path.as_deref(), Some("/admin"));
}

// === what the answer means: gRPC ===

fn option(key: &str, value: &str, append: Option<bool>, action: i32) -> proto::HeaderValueOption {
    proto::HeaderValueOption {
        header: Some(proto::HeaderValue {
            key: key.to_owned(),
            value: value.to_owned(),
            raw_value: Vec::new(),
        }),
        append: append.map(|value| proto::BoolValue { value }),
        append_action: action,
        keep_empty_value: false,
    }
}

fn ok(response: proto::OkHttpResponse) -> AuthResponse {
    AuthResponse::Grpc(proto::CheckResponse {
        status: Some(proto::Status::default()),
        http_response: Some(proto::HttpResponse::OkResponse(response)),
    })
}

#[test]
fn grpc_ok_applies_header_mutations() {
    use proto::append_action::*;
    let router = build(&grpc_rule("{}"));
    let c = check(
        &router,
        "/",
        &[
            ("x-present", "c"),
            ("x-append", "c"),
            ("authorization", "t"),
            ("x-if", "c"),
        ],
    );
    let response = proto::OkHttpResponse {
        headers: vec![
            option("x-user", "alice", None, APPEND_IF_EXISTS_OR_ADD),
            option("x-append", "auth", Some(true), 0),
            option("x-present", "auth", None, ADD_IF_ABSENT),
            option("x-absent", "auth", None, ADD_IF_ABSENT),
            option("x-if", "auth", None, OVERWRITE_IF_EXISTS),
            option("x-not", "auth", None, OVERWRITE_IF_EXISTS),
            option("host", "evil", Some(false), 0),
            option(":authority", "evil", None, 0),
        ],
        headers_to_remove: vec!["authorization".to_owned(), "host".to_owned()],
        response_headers_to_add: vec![option("x-resp", "1", None, 0)],
        ..proto::OkHttpResponse::default()
    };
    let f = forwarded(c.answer(ok(response), &opts()));
    let client = pairs(&[
        ("host", "example.com"),
        ("x-present", "c"),
        ("x-append", "c"),
        ("authorization", "t"),
        ("x-if", "c"),
    ]);
    assert_eq!(
        f.request.headers.apply_to_pairs(&client),
        pairs(&[
            ("host", "example.com"),
            ("x-present", "c"),
            ("x-append", "c,auth"),
            ("x-if", "auth"),
            ("x-user", "alice"),
            ("x-absent", "auth"),
        ])
    );
    assert_eq!(f.response.set, pairs(&[("x-resp", "1")]));
}

#[test]
fn grpc_denied_carries_status_headers_and_body() {
    let router = build(&grpc_rule("{}"));
    let denied = proto::CheckResponse {
        status: Some(proto::Status {
            code: proto::code::UNAUTHENTICATED,
            message: "who".to_owned(),
        }),
        http_response: Some(proto::HttpResponse::DeniedResponse(
            proto::DeniedHttpResponse {
                status: Some(proto::HttpStatus { code: 401 }),
                headers: vec![option("www-authenticate", "Bearer", None, 0)],
                body: "login".to_owned(),
            },
        )),
    };
    let AuthOutcome::Denied(r) =
        check(&router, "/", &[]).judge(AuthResponse::Grpc(denied), &opts())
    else {
        panic!("denied");
    };
    assert_eq!((r.status, r.body.as_slice()), (401, &b"login"[..]));
    assert_eq!(r.headers, pairs(&[("www-authenticate", "Bearer")]));
    // No denied_response: 403.
    let bare = proto::CheckResponse {
        status: Some(proto::Status {
            code: proto::code::PERMISSION_DENIED,
            message: String::new(),
        }),
        http_response: None,
    };
    let r = responded(check(&router, "/", &[]).answer(AuthResponse::Grpc(bare), &opts()));
    assert_eq!(r.status, 403);
}

#[test]
fn grpc_answers_that_cannot_be_trusted_fail_closed() {
    let router = build(&grpc_rule("{}"));
    let ok_with_denied = proto::CheckResponse {
        status: Some(proto::Status::default()),
        http_response: Some(proto::HttpResponse::DeniedResponse(
            proto::DeniedHttpResponse::default(),
        )),
    };
    let query = proto::OkHttpResponse {
        query_parameters_to_remove: vec!["a".to_owned()],
        ..proto::OkHttpResponse::default()
    };
    let bad_action = proto::OkHttpResponse {
        headers: vec![option("x", "y", None, 9)],
        ..proto::OkHttpResponse::default()
    };
    let bad_value = proto::OkHttpResponse {
        headers: vec![option("x", "a\nb", None, 0)],
        ..proto::OkHttpResponse::default()
    };
    let answers = [
        AuthResponse::Grpc(proto::CheckResponse::default()),
        AuthResponse::Grpc(ok_with_denied),
        ok(query),
        ok(bad_action),
        ok(bad_value),
        http_answer(200, &[], ""),
        grpc::decode_response(b"\x00\x00\x00\x00\x02\x0a"),
    ];
    for answer in answers {
        let outcome = check(&router, "/", &[]).judge(answer.clone(), &opts());
        assert!(matches!(outcome, AuthOutcome::Failed(_)), "{answer:?}");
    }
    // A well-formed OK with no mutations allows.
    let fine = AuthResponse::Grpc(proto::CheckResponse {
        status: Some(proto::Status::default()),
        http_response: None,
    });
    forwarded(check(&router, "/", &[]).answer(fine, &opts()));
}

// === where the check sits ===

#[test]
fn a_cross_namespace_auth_service_needs_a_reference_grant() {
    let rule = r#"  - backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: auth, namespace: security, port: 9000}, http: {}}
"#;
    let without = config(&route_yaml(rule));
    let router = Router::build(
        &without,
        &GatewayRef::new("infra", "gw"),
        PathPolicy::secure(),
    )
    .unwrap();
    let r = responded(plan_of(&router, "GET", "/", &[]));
    assert_eq!(r.status, 500);
    assert!(r.reason.contains("ReferenceGrant"), "{}", r.reason);
    let status =
        serde_json::to_string(&without.status().find("HTTPRoute", Some("infra"), "r")).unwrap();
    assert!(status.contains("RefNotPermitted"), "{status}");

    let with = config(&format!("{}\n---\n{GRANT}", route_yaml(rule)));
    let router =
        Router::build(&with, &GatewayRef::new("infra", "gw"), PathPolicy::secure()).unwrap();
    assert_eq!(check(&router, "/", &[]).backend.namespace, "security");
}

#[test]
fn an_auth_service_that_does_not_exist_answers_500_and_never_forwards() {
    let router = build(
        r#"  - backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: nope, port: 9000}, http: {}}
"#,
    );
    assert_eq!(responded(plan_of(&router, "GET", "/", &[])).status, 500);
}

#[test]
fn a_cors_preflight_is_answered_without_the_check_but_a_redirect_waits_for_it() {
    let router = build(
        r#"  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: auth, port: 9000}, http: {}}
    - type: CORS
      cors: {allowOrigins: ["https://a.example"], allowMethods: [GET]}
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: auth, port: 9000}, http: {}}
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 302}
"#,
    );
    let preflight = plan_of(
        &router,
        "OPTIONS",
        "/api",
        &[
            ("origin", "https://a.example"),
            ("access-control-request-method", "GET"),
        ],
    );
    assert_eq!(responded(preflight).status, 200);
    let c = check(&router, "/old", &[]);
    assert_eq!(
        responded(c.clone().answer(http_answer(401, &[], ""), &opts())).status,
        401
    );
    let r = responded(c.answer(http_answer(200, &[], ""), &opts()));
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("http://example.com/new"))
    );
}

#[test]
fn a_backend_refs_external_auth_applies_when_that_backend_is_chosen() {
    let router = build(
        r#"  - backendRefs:
    - {name: app, port: 8080}
    - name: app2
      port: 8080
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: {name: auth, port: 9000}, http: {}}
"#,
    );
    let req_headers = [("host", "example.com")];
    let req = RequestView::new("GET", b"/", Headers::Pairs(&req_headers));
    let decision = router.route(&req);
    assert!(matches!(plan(&decision, &req, 0), Plan::Forward(_)));
    let Plan::Authorize(c) = plan(&decision, &req, u64::MAX) else {
        panic!("app2 is protected");
    };
    assert_eq!(
        forwarded(c.answer(http_answer(200, &[], ""), &opts()))
            .backend
            .name,
        "app2"
    );
}

#[test]
fn two_applying_external_auth_filters_answer_500() {
    let router = build(
        r#"  - backendRefs:
    - name: app
      port: 8080
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: {name: auth, port: 9000}, http: {}}
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: GRPC, backendRef: {name: auth, port: 9000}, grpc: {}}
"#,
    );
    assert_eq!(responded(plan_of(&router, "GET", "/", &[])).status, 500);
}

#[test]
fn authorize_drives_a_blocking_client() {
    struct Allow;
    impl AuthClient for Allow {
        fn check(&self, check: &AuthCheck<'_>) -> AuthResponse {
            assert_eq!(check.backend.name, "auth");
            http_answer(200, &[("x-user", "alice")], "")
        }
    }
    let router = build(&http_rule("{}"));
    let f = forwarded(authorize(
        plan_of(&router, "GET", "/", &[]),
        &Allow,
        &opts(),
    ));
    assert_eq!(f.request.headers.set, pairs(&[("x-user", "alice")]));
}

// === protobuf: messages built independently, byte by byte ===

/// A protobuf encoder written for the test (varints, tags, length-delimited fields).
struct Pb(Vec<u8>);

impl Pb {
    fn new() -> Self {
        Self(Vec::new())
    }
    fn varint(&mut self, mut v: u64) -> &mut Self {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }
    fn int(&mut self, field: u64, v: u64) -> &mut Self {
        self.varint(field << 3).varint(v)
    }
    fn bytes(&mut self, field: u64, v: &[u8]) -> &mut Self {
        self.varint(field << 3 | 2).varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }
    fn msg(&mut self, field: u64, m: &Pb) -> &mut Self {
        self.bytes(field, &m.0)
    }
    fn map_entry(&mut self, field: u64, k: &str, v: &str) -> &mut Self {
        let mut e = Pb::new();
        e.bytes(1, k.as_bytes()).bytes(2, v.as_bytes());
        self.msg(field, &e)
    }
}

#[test]
fn check_request_encodes_as_envoy_defines_it() {
    let router = build(&grpc_rule("{}"));
    let c = check(&router, "/p?q", &[("x-a", "1")]);
    let mut http = Pb::new();
    // Map entries in key order (BTreeMap), as prost writes them.
    http.bytes(2, b"GET")
        .map_entry(3, ":authority", "example.com")
        .map_entry(3, ":method", "GET")
        .map_entry(3, ":path", "/p?q")
        .map_entry(3, ":scheme", "http")
        .map_entry(3, "x-a", "1")
        .bytes(4, b"/p?q")
        .bytes(5, b"example.com")
        .bytes(6, b"http")
        .int(9, u64::MAX) // int64 -1
        .bytes(10, b"HTTP/1.1");
    let mut request = Pb::new();
    request.msg(2, &http);
    let mut attributes = Pb::new();
    attributes.msg(4, &request);
    let mut expected = Pb::new();
    expected.msg(1, &attributes);
    assert_eq!(c.grpc_message().unwrap(), expected.0);
}

#[test]
fn check_response_decodes_as_envoy_defines_it() {
    // status {code: 0}, ok_response {headers: [{header {key: x-user, value: alice},
    // append {value: true}}], headers_to_remove: [authorization]}, dynamic_metadata (ignored).
    let mut header = Pb::new();
    header.bytes(1, b"x-user").bytes(2, b"alice");
    let mut append = Pb::new();
    append.int(1, 1);
    let mut option = Pb::new();
    option.msg(1, &header).msg(2, &append);
    let mut okr = Pb::new();
    okr.msg(2, &option).bytes(5, b"authorization");
    let mut response = Pb::new();
    response.msg(1, &Pb::new()).msg(3, &okr).msg(4, &Pb::new());
    let framed = grpc::frame(&response.0).unwrap();
    let AuthResponse::Grpc(decoded) = grpc::decode_response(&framed) else {
        panic!("decodes");
    };
    let expected = proto::CheckResponse {
        status: Some(proto::Status::default()),
        http_response: Some(proto::HttpResponse::OkResponse(proto::OkHttpResponse {
            headers: vec![option_of("x-user", "alice", Some(true))],
            headers_to_remove: vec!["authorization".to_owned()],
            ..proto::OkHttpResponse::default()
        })),
    };
    assert_eq!(decoded, expected);
    assert_eq!(expected.encode_to_vec(), {
        let mut without_metadata = Pb::new();
        without_metadata.msg(1, &Pb::new()).msg(3, &okr);
        without_metadata.0
    });

    // Denied: status {code: 7}, denied_response {status {code: 401}, body: "no"}.
    let mut st = Pb::new();
    st.int(1, 7);
    let mut hs = Pb::new();
    hs.int(1, 401);
    let mut denied = Pb::new();
    denied.msg(1, &hs).bytes(3, b"no");
    let mut response = Pb::new();
    response.msg(1, &st).msg(2, &denied);
    let AuthResponse::Grpc(decoded) = grpc::decode_message(&response.0) else {
        panic!("decodes");
    };
    assert_eq!(decoded.status.unwrap().code, 7);
    let Some(proto::HttpResponse::DeniedResponse(d)) = decoded.http_response else {
        panic!("denied_response");
    };
    assert_eq!((d.status.unwrap().code, d.body.as_str()), (401, "no"));
}

fn option_of(key: &str, value: &str, append: Option<bool>) -> proto::HeaderValueOption {
    option(key, value, append, 0)
}

#[test]
fn frames_are_checked() {
    assert_eq!(grpc::frame(b"ab").unwrap(), b"\x00\x00\x00\x00\x02ab");
    assert_eq!(grpc::unframe(b"\x00\x00\x00\x00\x02ab").unwrap(), b"ab");
    for bad in [
        &b""[..],
        b"\x00\x00\x00",
        b"\x01\x00\x00\x00\x02ab",
        b"\x00\x00\x00\x00\x03ab",
        b"\x00\x00\x00\x00\x01ab",
    ] {
        assert!(grpc::unframe(bad).is_err(), "{bad:?}");
        assert!(matches!(
            grpc::decode_response(bad),
            AuthResponse::Malformed(_)
        ));
    }
    // Invalid UTF-8 in a string field is not a valid message (Envoy CVE-2024-23324 class).
    let mut bad_string = Pb::new();
    bad_string.bytes(2, &{
        let mut d = Pb::new();
        d.bytes(3, b"\xff");
        d.0
    });
    assert!(matches!(
        grpc::decode_message(&bad_string.0),
        AuthResponse::Malformed(_)
    ));
}
