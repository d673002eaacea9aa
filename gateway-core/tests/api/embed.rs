//! The conversions a server on the `http` crate uses around a plan: local answers
//! ([`LocalResponse::into_http`]), the auth service's answer ([`AuthResponse::from_http`]),
//! connection-specific headers ([`remove_hop_by_hop`]) and the request head an HTTP/1.1 backend
//! receives ([`for_http1_backend`]); and a shared source of `random` ([`SplitMix64`]).

use gateway_core::filter::{for_http1_backend, remove_hop_by_hop};
use gateway_core::outcome::{Denied, Outcome, ServerError};
use gateway_core::plan::authz::{AuthOptions, AuthResponse};
use gateway_core::plan::{LocalResponse, Plan, plan};
use gateway_core::request::RequestView;

use crate::support::*;

// === LocalResponse::into_http ===

#[test]
fn a_local_response_keeps_status_headers_in_order_and_body() {
    let mut local = LocalResponse::new(
        Outcome::Denied(Denied::ByAuthService),
        401,
        "denied by the auth service",
    );
    local.headers = vec![
        ("www-authenticate".to_owned(), "Basic".to_owned()),
        ("set-cookie".to_owned(), "a=1".to_owned()),
        ("set-cookie".to_owned(), "b=2".to_owned()),
    ];
    local.body = b"no".to_vec();
    let response = local.into_http();
    assert_eq!(response.status(), 401);
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(
        cookies,
        ["a=1", "b=2"],
        "repeated names stay separate fields"
    );
    assert_eq!(response.headers()["www-authenticate"], "Basic");
    assert_eq!(response.body(), b"no");
}

#[test]
fn a_local_response_with_an_impossible_status_or_header_degrades_safely() {
    let mut local = LocalResponse::new(
        Outcome::ServerError(ServerError::InvalidFilter),
        1000,
        "out of range",
    );
    local.headers = vec![
        ("bad name".to_owned(), "v".to_owned()),
        ("x-bad-value".to_owned(), "a\r\nb".to_owned()),
        ("x-ok".to_owned(), "1".to_owned()),
    ];
    let response = local.into_http();
    assert_eq!(response.status(), 500);
    let names: Vec<&str> = response.headers().keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["x-ok"]);
}

#[test]
fn a_redirect_plan_becomes_an_http_redirect() {
    let config = with_routes(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
",
    );
    let router = router(&config);
    let req = http::Request::builder()
        .uri("/x")
        .header("host", "a.example")
        .body(())
        .unwrap();
    let view = RequestView::from_http(&req, b"/x", 80);
    let decision = router.route(&view);
    let Plan::Respond(local) = plan(&decision, &view, 0) else {
        panic!("not a redirect");
    };
    let response = local.into_http();
    assert_eq!(response.status(), 301);
    assert_eq!(response.headers()["location"], "https://a.example/x");
}

// === AuthResponse::from_http ===

#[test]
fn an_auth_answer_keeps_repeated_headers_and_the_body() {
    let answer = http::Response::builder()
        .status(200)
        .header("x-groups", "a")
        .header("x-groups", "b")
        .header("x-user", "alice")
        .body(bytes::Bytes::from_static(b"ok"))
        .unwrap();
    let AuthResponse::Http {
        status,
        headers,
        body,
    } = AuthResponse::from_http(answer)
    else {
        panic!("not an HTTP answer");
    };
    assert_eq!(status, 200);
    assert_eq!(
        headers,
        [("x-groups", "a"), ("x-groups", "b"), ("x-user", "alice")]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
    assert_eq!(body, b"ok");
}

#[test]
fn an_auth_answer_with_a_header_that_is_not_utf8_is_malformed() {
    let answer = http::Response::builder()
        .header("x-user", http::HeaderValue::from_bytes(b"\xff").unwrap())
        .body(Vec::new())
        .unwrap();
    assert!(matches!(
        AuthResponse::from_http(answer),
        AuthResponse::Malformed(_)
    ));
    let answer = http::Response::builder()
        .header("x-user", "zoë")
        .body(Vec::new())
        .unwrap();
    assert!(
        matches!(AuthResponse::from_http(answer), AuthResponse::Http { .. }),
        "UTF-8 beyond ASCII is kept"
    );
}

// === remove_hop_by_hop ===

#[test]
fn hop_by_hop_fields_and_those_connection_names_are_removed() {
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("connection", "close, X-One"),
        ("connection", " x-two ,,"),
        ("x-one", "1"),
        ("x-two", "2"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("te", "trailers"),
        ("trailer", "x-checksum"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "websocket"),
        ("content-length", "3"),
        ("x-three", "3"),
    ] {
        headers.append(
            http::HeaderName::from_static(name),
            http::HeaderValue::from_static(value),
        );
    }
    remove_hop_by_hop(&mut headers);
    let names: Vec<&str> = headers.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["content-length", "x-three"]);
}

#[test]
fn connection_cannot_remove_host() {
    let mut headers = http::HeaderMap::new();
    headers.insert("host", http::HeaderValue::from_static("a.example"));
    headers.insert("connection", http::HeaderValue::from_static("Host"));
    remove_hop_by_hop(&mut headers);
    assert_eq!(headers["host"], "a.example");
    assert!(!headers.contains_key("connection"));
}

/// The order the docs ask for: connection headers go first, then the edits (here the auth
/// service's `x-user`), so a client's `Connection: x-user` cannot strip what the auth
/// service set.
#[test]
fn connection_cannot_remove_a_header_the_auth_service_sets() {
    let config = with_routes(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: a, port: 80}]
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        backendRef: {name: b, port: 80}
        http: {allowedResponseHeaders: [x-user]}
",
    );
    let router = router(&config);
    let mut req = http::Request::builder()
        .uri("/x")
        .header("host", "a.example")
        .header("connection", "x-user")
        .header("x-user", "mallory")
        .body(())
        .unwrap();
    let view = RequestView::from_http(&req, b"/x", 80);
    let decision = router.route(&view);
    let Plan::Authorize(check) = plan(&decision, &view, 0) else {
        panic!("not protected");
    };
    let sent = check.to_http_request().unwrap();
    assert_eq!(sent.headers()["host"], "a.example");
    let answer = http::Response::builder()
        .header("x-user", "alice")
        .body(Vec::new())
        .unwrap();
    let Plan::Forward(forward) =
        check.answer(AuthResponse::from_http(answer), &AuthOptions::default())
    else {
        panic!("not allowed");
    };
    drop(decision);
    remove_hop_by_hop(req.headers_mut());
    forward.request.apply(&mut req).unwrap();
    assert_eq!(req.headers()["x-user"], "alice");
    assert!(!req.headers().contains_key("connection"));
}

// === for_http1_backend ===

/// RFC 9112 section 3.2.2, and the router's choice of authority: an absolute-form target's
/// authority wins over `Host`, so the backend must get that one, not the client's `Host`.
#[test]
fn an_absolute_form_target_forwards_the_routed_authority_not_the_client_host() {
    let config = with_routes(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [public.example]
  rules:
  - backendRefs: [{name: a, port: 80}]
",
    );
    let router = router(&config);
    let mut req = http::Request::builder()
        .uri("http://public.example/x?y=1")
        .header("host", "internal.example")
        .body(())
        .unwrap();
    let view = RequestView::from_http(&req, b"http://public.example/x?y=1", 80);
    let decision = router.route(&view);
    assert_eq!(decision.host(), "public.example");
    let Plan::Forward(forward) = plan(&decision, &view, 0) else {
        panic!("not forwarded");
    };
    drop(decision);
    for_http1_backend(&mut req);
    forward.request.apply(&mut req).unwrap();
    assert_eq!(req.headers()["host"], "public.example");
    assert_eq!(req.headers().get_all("host").iter().count(), 1);
    assert_eq!(req.uri(), "/x?y=1");
}

#[test]
fn an_origin_form_request_keeps_its_host_and_target() {
    let mut req = http::Request::builder()
        .version(http::Version::HTTP_10)
        .uri("/a/b?c")
        .header("host", "Shop.Example")
        .header("connection", "keep-alive")
        .body(())
        .unwrap();
    for_http1_backend(&mut req);
    assert_eq!(req.uri(), "/a/b?c");
    assert_eq!(req.headers()["host"], "Shop.Example");
    assert_eq!(req.version(), http::Version::HTTP_11);
    assert!(!req.headers().contains_key("connection"));
}

#[test]
fn a_target_without_a_path_is_forwarded_as_slash() {
    let mut req = http::Request::builder()
        .uri("example.com:443")
        .body(())
        .unwrap();
    for_http1_backend(&mut req);
    assert_eq!(req.uri(), "/");
    assert_eq!(req.headers()["host"], "example.com:443");
}

#[test]
fn a_url_rewrite_hostname_applies_after_the_http1_conversion() {
    let mut edits = gateway_core::filter::RequestEdits::default();
    edits.authority = Some("backend.internal".to_owned());
    let mut req = http::Request::builder()
        .version(http::Version::HTTP_2)
        .uri("https://shop.example/x")
        .body(())
        .unwrap();
    for_http1_backend(&mut req);
    edits.apply(&mut req).unwrap();
    assert_eq!(req.headers()["host"], "backend.internal");
    assert_eq!(req.uri(), "/x");
}

// === SplitMix64 ===

#[test]
fn threads_sharing_one_sequence_never_draw_the_same_value() {
    let draws = gateway_core::plan::SplitMix64::new(7);
    let mut all: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| (0..1000).map(|_| draws.draw()).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 4000);
}
