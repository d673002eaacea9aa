//! External authorization through the public API, against real auth services on 127.0.0.1:
//! an HTTP one (std threads) and a gRPC one (tonic). The test's clients make the calls and
//! feed the answers to the state machine, as a proxy would. Also: path confusion (no encoding
//! of a protected path reaches its rule without the check) and the JSON interface.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "authz/grpc.rs"]
mod grpc;
#[path = "authz/http.rs"]
mod http;

use std::time::Duration;

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::outcome::{BadRequest, Outcome};
use gateway_core::plan::authz::{
    AuthCheck, AuthOptions, AuthResponse, authorize, authorize_async, authorize_with_body,
};
use gateway_core::plan::{ForwardPlan, LocalResponse, Plan, plan};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};
use proptest::prelude::*;

const MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gateway-core}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gateway-core
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: public, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: http-auth, namespace: default}
spec: {ports: [{port: 9000}]}
---
apiVersion: v1
kind: Service
metadata: {name: grpc-auth, namespace: default}
spec: {ports: [{port: 9001}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [example.com]
  rules:
  - name: admin
    matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        backendRef: {name: http-auth, port: 9000}
        http: {path: /auth, allowedHeaders: [x-tenant]}
        forwardBody: {maxSize: 16}
  - name: exact
    matches: [{path: {type: Exact, value: /secret}}]
    backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: http-auth, port: 9000}, http: {}}
  - name: rpc
    matches: [{path: {type: PathPrefix, value: /rpc}}]
    backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: GRPC, backendRef: {name: grpc-auth, port: 9001}, grpc: {}}
  - name: public
    matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: public, port: 8080}]
"#;

fn router() -> Router {
    let loaded = Snapshot::load(MANIFESTS.as_bytes(), &LoadOptions::default()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    Router::build(
        &config,
        &GatewayRef::new("default", "gw"),
        PathPolicy::secure(),
    )
    .unwrap()
}

fn forwarded(p: Plan<'_>) -> ForwardPlan<'_> {
    match p {
        Plan::Forward(f) => f,
        Plan::Respond(r) => panic!("answered {} ({})", r.status, r.reason),
        _ => panic!("not answered"),
    }
}

fn responded(p: Plan<'_>) -> LocalResponse {
    match p {
        Plan::Respond(r) => r,
        Plan::Forward(f) => panic!("forwarded to {}", f.backend.name),
        _ => panic!("not answered"),
    }
}

fn strings(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

const TIMEOUT: Duration = Duration::from_millis(500);

// === HTTP auth service ===

#[test]
fn http_auth_allows_and_its_headers_replace_the_clients() {
    let server = http::HttpAuthServer::start();
    let client = http::BlockingHttpClient {
        addr: server.addr,
        timeout: TIMEOUT,
    };
    let router = router();
    let headers = [
        ("host", "example.com"),
        ("authorization", "Bearer t"),
        ("x-tenant", "blue"),
        ("x-user", "mallory"),
        ("cookie", "not-forwarded"),
    ];
    let req = RequestView::new("POST", b"/admin/./allow/x?y=1", Headers::Pairs(&headers));
    let decision = router.route(&req);
    let Plan::Authorize(check) = plan(&decision, &req, 0) else {
        panic!("the admin rule is protected");
    };
    assert_eq!(check.backend.name, "http-auth");
    let check = match check.with_body(b"hello", &AuthOptions::default()) {
        Plan::Authorize(c) => c,
        _ => panic!("the body fits"),
    };
    let f = forwarded(authorize(
        Plan::Authorize(check),
        &client,
        &AuthOptions::default(),
    ));
    assert_eq!(f.backend.name, "app");
    assert_eq!(f.request.path.as_deref(), Some("/admin/allow/x"));
    let upstream = f.request.headers.apply_to_pairs(&strings(&headers));
    let value = |n: &str| {
        upstream
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value("x-user"), Some("alice"));
    assert_eq!(value("x-groups"), Some("a,b"));
    assert_eq!(value("host"), Some("example.com"), "Host is never copied");

    let got = server.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/auth/admin/allow/x?y=1");
    assert_eq!(got[0].body, b"hello");
    let sent: Vec<&str> = got[0].headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        sent,
        [
            "host",
            "authorization",
            "x-tenant",
            "x-envoy-auth-partial-body",
            "content-length",
            "connection"
        ]
    );
    assert!(
        got[0]
            .headers
            .contains(&("content-length".to_owned(), "5".to_owned()))
    );
}

#[test]
fn http_auth_denial_reaches_the_client_with_headers_and_body() {
    let server = http::HttpAuthServer::start();
    let client = http::BlockingHttpClient {
        addr: server.addr,
        timeout: TIMEOUT,
    };
    let router = router();
    let headers = [("host", "example.com")];
    let req = RequestView::new("GET", b"/admin/deny", Headers::Pairs(&headers));
    let decision = router.route(&req);
    let r = responded(authorize(
        plan(&decision, &req, 0),
        &client,
        &AuthOptions::default(),
    ));
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"x\""));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.body, b"login first");
}

#[test]
fn http_auth_down_fails_closed() {
    // A port that was just free: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = http::BlockingHttpClient {
        addr,
        timeout: TIMEOUT,
    };
    let router = router();
    let headers = [("host", "example.com")];
    let req = RequestView::new("GET", b"/admin/allow", Headers::Pairs(&headers));
    let decision = router.route(&req);
    let r = responded(authorize(
        plan(&decision, &req, 0),
        &client,
        &AuthOptions::default(),
    ));
    assert_eq!(r.status, 403);
    assert!(r.reason.contains("unreachable"), "{}", r.reason);
    let custom = AuthOptions::default().with_failure_status(503);
    assert_eq!(
        responded(authorize(plan(&decision, &req, 0), &client, &custom)).status,
        503
    );
}

#[test]
fn http_auth_too_slow_fails_closed() {
    let server = http::HttpAuthServer::start();
    let client = http::BlockingHttpClient {
        addr: server.addr,
        timeout: Duration::from_millis(200),
    };
    let router = router();
    let headers = [("host", "example.com")];
    let req = RequestView::new("GET", b"/admin/slow", Headers::Pairs(&headers));
    let decision = router.route(&req);
    let r = responded(authorize(
        plan(&decision, &req, 0),
        &client,
        &AuthOptions::default(),
    ));
    assert_eq!(r.status, 403);
    assert!(r.reason.contains("timed out"), "{}", r.reason);
}

#[test]
fn a_body_over_max_size_never_reaches_the_auth_service_or_the_backend() {
    let router = router();
    let headers = [("host", "example.com")];
    let req = RequestView::new("POST", b"/admin/allow", Headers::Pairs(&headers));
    let decision = router.route(&req);
    let Plan::Authorize(check) = plan(&decision, &req, 0) else {
        panic!("protected");
    };
    assert_eq!(check.max_body, Some(16));
    let r = responded(check.with_body(&[b'x'; 17], &AuthOptions::default()));
    assert_eq!(r.status, 413);
}

/// `authorize_with_body`: the body is in the check the server's call receives, one call per
/// check; a body over `forwardBody.maxSize` and a plan without a check never reach the call.
#[tokio::test]
async fn authorize_with_body_puts_the_body_in_the_check_before_asking() {
    let router = router();
    let headers = [("host", "example.com")];
    let options = AuthOptions::default();
    let req = RequestView::new("POST", b"/admin/allow", Headers::Pairs(&headers));
    let decision = router.route(&req);
    let asked = std::cell::Cell::new(0);
    let allow = async |check: &AuthCheck<'_>| {
        asked.set(asked.get() + 1);
        assert_eq!(check.http().unwrap().body, b"hello");
        AuthResponse::Http {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }
    };
    let first = plan(&decision, &req, 0);
    let f = forwarded(authorize_with_body(first, b"hello", &options, allow).await);
    assert_eq!((f.backend.name.as_str(), asked.get()), ("app", 1));

    let never = async |_: &AuthCheck<'_>| -> AuthResponse { panic!("the service was asked") };
    let first = plan(&decision, &req, 0);
    let r = responded(authorize_with_body(first, &[b'x'; 17], &options, never).await);
    assert_eq!(r.status, 413);

    let public = RequestView::new("GET", b"/", Headers::Pairs(&headers));
    let decision = router.route(&public);
    let never = async |_: &AuthCheck<'_>| -> AuthResponse { panic!("the service was asked") };
    let f = forwarded(authorize_with_body(plan(&decision, &public, 0), b"", &options, never).await);
    assert_eq!(f.backend.name, "public");
}

// === gRPC auth service ===

async fn grpc_plan(
    target: &str,
    client: &grpc::AsyncGrpcClient,
) -> (u16, Option<Vec<(String, String)>>, Vec<u8>) {
    let router = router();
    let headers = [
        ("host", "example.com"),
        ("authorization", "Bearer t"),
        ("x-user", "mallory"),
    ];
    let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&headers));
    let decision = router.route(&req);
    let first = plan(&decision, &req, 0);
    assert!(matches!(first, Plan::Authorize(ref c) if c.backend.name == "grpc-auth"));
    match authorize_async(first, client, &AuthOptions::default()).await {
        Plan::Forward(f) => (
            200,
            Some(f.request.headers.apply_to_pairs(&strings(&headers))),
            Vec::new(),
        ),
        Plan::Respond(r) => (r.status, Some(r.headers), r.body),
        _ => panic!("not answered"),
    }
}

#[tokio::test]
async fn grpc_auth_allows_with_header_mutations() {
    let server = grpc::GrpcAuthServer::start().await;
    let client = grpc::AsyncGrpcClient {
        addr: server.addr,
        timeout: TIMEOUT,
    };
    let (status, headers, _) = grpc_plan("/rpc/%61llow?x=1", &client).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.unwrap(),
        strings(&[("host", "example.com"), ("x-user", "alice")]),
        "x-user overwritten, authorization removed"
    );
    let got = server.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/rpc/allow?x=1");
    assert_eq!(got[0].host, "example.com");
    assert_eq!(got[0].headers["authorization"], "Bearer t");
    assert_eq!(got[0].headers[":path"], "/rpc/allow?x=1");
}

#[tokio::test]
async fn grpc_auth_denial_carries_status_headers_and_body() {
    let server = grpc::GrpcAuthServer::start().await;
    let client = grpc::AsyncGrpcClient {
        addr: server.addr,
        timeout: TIMEOUT,
    };
    let (status, headers, body) = grpc_plan("/rpc/deny", &client).await;
    assert_eq!(status, 401);
    assert_eq!(headers.unwrap(), strings(&[("www-authenticate", "Bearer")]));
    assert_eq!(body, b"login first");
    let (status, _, _) = grpc_plan("/rpc/other", &client).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn grpc_auth_down_slow_or_garbled_fails_closed() {
    let server = grpc::GrpcAuthServer::start().await;
    let client = grpc::AsyncGrpcClient {
        addr: server.addr,
        timeout: Duration::from_millis(300),
    };
    assert_eq!(grpc_plan("/rpc/slow", &client).await.0, 403);
    assert_eq!(grpc_plan("/rpc/garbage", &client).await.0, 403);
    let addr = server.addr;
    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let down = grpc::AsyncGrpcClient {
        addr,
        timeout: TIMEOUT,
    };
    assert_eq!(grpc_plan("/rpc/allow", &down).await.0, 403);
}

// === path confusion ===

/// Every spelling of a path under `/admin` that the router routes to the protected rule must
/// get a check of the canonical path; the others must be refused, never routed elsewhere.
fn assert_protected(router: &Router, target: &str) {
    let headers = [("host", "example.com")];
    let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&headers));
    let decision = router.route(&req);
    match decision.outcome() {
        Outcome::Forward => {
            let rule = decision.rule().unwrap();
            assert_eq!(rule.name, Some("admin"), "{target} reached rule {rule:?}");
            let Plan::Authorize(check) = plan(&decision, &req, 0) else {
                panic!("{target} was not checked");
            };
            let path = &check.http().unwrap().path;
            assert!(path.starts_with("/auth/admin"), "{target}: checked {path}");
            let path = path.split('?').next().unwrap();
            assert_eq!(path.strip_prefix("/auth").unwrap(), decision.path());
        }
        Outcome::BadRequest(BadRequest::InvalidTarget) => {}
        other => panic!("{target}: {other:?}"),
    }
}

#[test]
fn no_spelling_of_admin_skips_the_check() {
    let router = router();
    for target in [
        "/admin",
        "/admin/",
        "/%61dmin",
        "/%61DMIN/../admin",
        "/%2561dmin/../admin",
        "//admin",
        "///admin//x",
        "/x/../admin",
        "/x/%2e%2e/admin",
        "/x/%2E%2E/admin",
        "/./admin",
        "/admin/.",
        "/admin/x/..",
        "/admin/%2e",
        "/../admin",
        "/%2e%2e/%2e%2e/admin",
        "/adm%69n",
        "/adm%69N/../../admin",
        "/ADMIN/../admin",
        "/admin%2Fx",
        "/admin%2fx",
        "/x%2F..%2Fadmin",
        "/x%5C..%5Cadmin",
        "/x\\..\\admin",
        "/admin%00",
        "/admin#x",
        "/admin/..;/admin",
        "/x/..;/admin",
        "http://example.com/x/../admin",
        "/admin?x=/../public",
    ] {
        assert_protected(&router, target);
    }
}

#[test]
fn every_spelling_of_a_protected_exact_path_is_checked() {
    let router = router();
    let headers = [("host", "example.com")];
    for target in [
        "/secret",
        "/%73ecret",
        "//secret",
        "/x/../secret",
        "/./secret",
        "/secre%74",
    ] {
        let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&headers));
        let decision = router.route(&req);
        assert_eq!(decision.rule().unwrap().name, Some("exact"), "{target}");
        let Plan::Authorize(check) = plan(&decision, &req, 0) else {
            panic!("{target} was not checked");
        };
        assert_eq!(check.http().unwrap().path, "/secret");
    }
}

/// Re-spells `/admin/<tail>`: percent-encodes unreserved bytes with random hex case, inserts
/// `./` and `x/../` segments and doubles slashes.
fn respell(tail: &str, choices: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    let mut next = || {
        let c = choices.get(i % choices.len().max(1)).copied().unwrap_or(0);
        i += 1;
        c
    };
    for segment in ["admin", tail] {
        match next() % 4 {
            0 => out.push_str("/."),
            1 => out.push_str("/zz/.."),
            2 => out.push('/'),
            _ => {}
        }
        out.push('/');
        for ch in segment.chars() {
            if next() % 2 == 0 {
                let hex = format!("%{:02x}", ch as u32);
                out.push_str(&if next() % 2 == 0 {
                    hex.to_uppercase()
                } else {
                    hex
                });
            } else {
                out.push(ch);
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn generated_spellings_of_admin_are_always_checked(
        tail in "[a-z0-9._~-]{0,8}",
        choices in proptest::collection::vec(any::<u8>(), 1..32),
    ) {
        // `.` and `..` are dot segments: `/admin/..` is `/`, not under `/admin`.
        prop_assume!(tail != "." && tail != "..");
        static ROUTER: std::sync::OnceLock<Router> = std::sync::OnceLock::new();
        let target = respell(&tail, &choices);
        assert_protected(ROUTER.get_or_init(router), &target);
    }
}

// === the JSON interface ===

fn route_json(router: &Router, line: &str) -> serde_json::Value {
    serde_json::from_str(&gateway_core::json::route_json(router, line.as_bytes())).unwrap()
}

#[test]
fn json_reports_the_check_to_make_and_the_answers_meaning() {
    let router = router();
    let base = r#""method":"GET","target":"/x/../admin?q=1","headers":[["host","example.com"],["authorization","t"],["x-user","mallory"]]"#;
    let required = route_json(&router, &format!("{{{base}}}"));
    assert_eq!(required["outcome"], "auth_required");
    assert_eq!(required["status"], serde_json::Value::Null);
    let check = &required["ext_auth"];
    assert_eq!(check["protocol"], "HTTP");
    assert_eq!(check["backend"]["name"], "http-auth");
    assert_eq!(check["backend"]["port"], 9000);
    assert_eq!(check["method"], "GET");
    assert_eq!(check["path"], "/auth/admin?q=1");
    assert_eq!(
        check["headers"],
        serde_json::json!([
            ["host", "example.com"],
            ["authorization", "t"],
            ["content-length", "0"]
        ])
    );
    assert_eq!(check["body_bytes"], 0);

    let denied = route_json(
        &router,
        &format!(
            r#"{{{base},"ext_auth_response":{{"status":403,"headers":[["x-why","no"]],"body":"nope"}}}}"#
        ),
    );
    assert_eq!(denied["outcome"], "auth_denied");
    assert_eq!(denied["status"], 403);
    assert_eq!(
        denied["response_headers"],
        serde_json::json!([["x-why", "no"]])
    );
    assert_eq!(denied["reason"], "external auth answered 403");
    assert_eq!(denied["ext_auth"], *check);
    assert_eq!(denied["backend"], serde_json::Value::Null);

    for failure in [
        r#"{"unreachable":true}"#,
        r#"{"timeout":true}"#,
        r#"{"weird":1}"#,
    ] {
        let failed = route_json(
            &router,
            &format!(r#"{{{base},"ext_auth_response":{failure}}}"#),
        );
        assert_eq!(
            (failed["outcome"].as_str(), failed["status"].as_u64()),
            (Some("auth_denied"), Some(403)),
            "{failure}"
        );
    }

    let allowed = route_json(
        &router,
        &format!(
            r#"{{{base},"ext_auth_response":{{"status":200,"headers":[["x-user","alice"]]}}}}"#
        ),
    );
    assert_eq!(allowed["outcome"], "forward");
    assert_eq!(allowed["backend"]["name"], "app");
    assert_eq!(allowed["upstream"]["path"], "/admin?q=1");
    assert_eq!(
        allowed["upstream"]["headers"],
        serde_json::json!([
            ["host", "example.com"],
            ["authorization", "t"],
            ["x-user", "alice"]
        ])
    );
    assert_eq!(allowed["ext_auth"], *check);
}

#[test]
fn json_grpc_checks_use_the_same_answer_shape() {
    let router = router();
    let base = r#""target":"/rpc","headers":[["host","example.com"],["x-user","mallory"]]"#;
    let required = route_json(&router, &format!("{{{base}}}"));
    assert_eq!(required["outcome"], "auth_required");
    assert_eq!(required["ext_auth"]["protocol"], "GRPC");
    assert_eq!(required["ext_auth"]["path"], "/rpc");
    let allowed = route_json(
        &router,
        &format!(
            r#"{{{base},"ext_auth_response":{{"status":200,"headers":[["x-user","alice"]]}}}}"#
        ),
    );
    assert_eq!(allowed["outcome"], "forward");
    assert_eq!(
        allowed["upstream"]["headers"],
        serde_json::json!([["host", "example.com"], ["x-user", "alice"]])
    );
    let denied = route_json(
        &router,
        &format!(r#"{{{base},"ext_auth_response":{{"status":401}}}}"#),
    );
    assert_eq!(
        (denied["outcome"].as_str(), denied["status"].as_u64()),
        (Some("auth_denied"), Some(401))
    );
}

#[test]
fn unprotected_paths_are_forwarded_without_a_check() {
    let router = router();
    let headers = [("host", "example.com")];
    let req = RequestView::new("GET", b"/public/admin", Headers::Pairs(&headers));
    let decision = router.route(&req);
    assert_eq!(forwarded(plan(&decision, &req, 0)).backend.name, "public");
}
