//! Handle tests on the Rust side of the boundary (these also run under Miri).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::ptr::{null, null_mut};

use crate::cause::gw_cause;
use crate::config::*;
use crate::decision::*;
use crate::error::*;
use crate::router::*;
use crate::{gw_result, gw_slice};

const SHOP: &str = include_str!("../../examples/manifests/shop.yaml");

fn s(text: &str) -> gw_slice {
    gw_slice::from_bytes(text.as_bytes())
}

fn text<'a>(s: gw_slice) -> &'a str {
    if s.data.is_null() {
        return "<null>";
    }
    // SAFETY: test-only: slices from the library are valid UTF-8 while their handle lives.
    unsafe { std::str::from_utf8(std::slice::from_raw_parts(s.data, s.len)).unwrap() }
}

fn shop_router() -> *mut gw_router {
    let mut config = null_mut();
    let mut router = null_mut();
    // SAFETY: valid pointers to live locals and a static string.
    unsafe {
        assert_eq!(
            gw_config_load(SHOP.as_ptr(), SHOP.len(), &mut config, null_mut()),
            gw_result::Ok
        );
        assert_eq!(
            gw_router_build(
                config,
                b"shop".as_ptr(),
                4,
                null(),
                0,
                &mut router,
                null_mut()
            ),
            gw_result::Ok
        );
        gw_config_free(config);
    }
    router
}

#[test]
fn routes_through_the_typed_path() {
    let router = shop_router();
    let headers = [
        gw_header {
            name: s("host"),
            value: s("shop.example.com"),
        },
        gw_header {
            name: s("x-api-version"),
            value: s("2"),
        },
    ];
    let req = gw_request {
        method: s("GET"),
        scheme: gw_slice::NONE,
        authority: gw_slice::NONE,
        target: s("/api/./items?id=1"),
        headers: headers.as_ptr(),
        headers_len: headers.len(),
        sni: gw_slice::NONE,
        port: 80,
        random: 0,
        tls: std::ptr::null(),
        mesh: std::ptr::null(),
        now: 0,
    };
    let mut d = null_mut();
    // SAFETY: live router, request and out-params.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        // The router may go: the decision keeps it alive.
        gw_router_free(router);
        assert_eq!(gw_decision_outcome(d), gw_outcome::Forward);
        assert_eq!(gw_decision_cause(d), gw_cause::None);
        assert_eq!(gw_decision_status(d), 0);
        assert_eq!(text(gw_decision_listener(d)), "http");
        assert_eq!(text(gw_decision_path(d)), "/api/items?id=1");
        assert_eq!(text(gw_decision_host(d)), "shop.example.com");
        let mut m = std::mem::MaybeUninit::<gw_route_match>::uninit();
        assert!(gw_decision_route(d, m.as_mut_ptr()));
        let m = m.assume_init();
        assert_eq!(
            (text(m.name), text(m.rule_name), m.rule_index),
            ("storefront", "api-v2", 1)
        );
        let mut b = std::mem::MaybeUninit::<gw_backend>::uninit();
        assert!(gw_decision_backend(d, b.as_mut_ptr()));
        let b = b.assume_init();
        assert_eq!(
            (text(b.name), b.port, text(b.app_protocol)),
            ("api-v2", 8080, "kubernetes.io/h2c")
        );
        assert_eq!(gw_decision_request_edit_count(d), 0);
        assert!(!gw_decision_request_edit(d, 0, &mut std::mem::zeroed()));
        gw_decision_free(d);
    }
}

#[test]
fn bad_input_is_an_outcome_and_null_is_an_error() {
    let router = shop_router();
    let bad = [0xffu8, 0xfe];
    let req = gw_request {
        method: gw_slice::from_bytes(&bad),
        scheme: gw_slice::NONE,
        authority: gw_slice::NONE,
        target: s("/"),
        headers: null(),
        headers_len: 0,
        sni: gw_slice::NONE,
        port: 80,
        random: 0,
        tls: std::ptr::null(),
        mesh: std::ptr::null(),
        now: 0,
    };
    let mut d = null_mut();
    // SAFETY: live router and request; NULL arguments are part of the contract.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        assert_eq!(gw_decision_outcome(d), gw_outcome::BadRequest);
        assert_eq!(gw_decision_cause(d), gw_cause::MalformedRequest);
        assert_eq!(text(gw_decision_reason(d)), "the method is not UTF-8");
        gw_decision_free(d);
        let mut dangling = req;
        dangling.headers_len = 3;
        let mut d2 = null_mut();
        assert_eq!(
            gw_router_route(router, &dangling, &mut d2),
            gw_result::NullParameter
        );
        assert!(d2.is_null());
        assert_eq!(
            gw_router_route(null(), &req, &mut d2),
            gw_result::NullParameter
        );
        assert_eq!(gw_decision_outcome(null()), gw_outcome::ServerError);
        assert_eq!(gw_decision_cause(null()), gw_cause::Proxy);
        gw_decision_free(null_mut());
        let clone = gw_router_clone(router);
        assert_eq!(clone, router);
        gw_router_free(clone);
        gw_router_free(router);
    }
}

#[test]
fn errors_carry_diagnostics() {
    let yaml = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n\
                spec: {rules: [{matches: [{path: {type: PathPrefix, value: nope}}]}]}\n";
    let mut config = null_mut();
    let mut error = null_mut();
    // SAFETY: live locals.
    unsafe {
        let r = gw_config_load(yaml.as_ptr(), yaml.len(), &mut config, &mut error);
        assert_eq!(r, gw_result::InvalidConfig);
        assert!(config.is_null());
        assert_eq!(gw_error_code(error), gw_result::InvalidConfig);
        assert!(gw_error_diagnostic_count(error) >= 1);
        let mut d = std::mem::MaybeUninit::<gw_diagnostic>::uninit();
        assert_eq!(gw_error_diagnostic(error, 0, d.as_mut_ptr()), gw_result::Ok);
        let d = d.assume_init();
        assert_eq!(text(d.kind), "HTTPRoute");
        assert!(
            text(d.path).starts_with("spec.rules[0]"),
            "{}",
            text(d.path)
        );
        assert!(text(gw_error_message(error)).contains("HTTPRoute"));
        gw_error_free(error);
        let mut buf = [0u8; 64];
        let mut n = 0;
        assert_eq!(
            gw_result_describe(900, buf.as_mut_ptr(), buf.len(), &mut n),
            gw_result::Ok
        );
        assert_eq!(&buf[..n], b"a panic was caught at the C boundary");
        assert_eq!(
            gw_result_describe(900, buf.as_mut_ptr(), 3, &mut n),
            gw_result::BufferTooSmall
        );
    }
}

// === external auth and backend TLS (tests/fixtures/typed.yaml) ===

use crate::auth::*;
use crate::backend_tls::*;

const TYPED: &str = include_str!("../tests/fixtures/typed.yaml");
const LEAF: &[u8] = include_bytes!("../tests/fixtures/leaf.der");
const WRONG_NAME: &[u8] = include_bytes!("../tests/fixtures/wrong-name.der");
const UNTRUSTED: &[u8] = include_bytes!("../tests/fixtures/untrusted.der");
/// 2030-03-17, inside the fixtures' validity.
const NOW: u64 = 1_900_000_000;

/// A gRPC `CheckResponse`: status OK, ok_response setting `x-auth-user: bob`.
const GRPC_ALLOW: &[u8] = b"\x0a\x00\x1a\x16\x12\x14\x0a\x12\x0a\x0bx-auth-user\x12\x03bob";
/// A gRPC `CheckResponse`: status 7 (PERMISSION_DENIED), denied_response with HTTP 401.
const GRPC_DENY: &[u8] = b"\x0a\x02\x08\x07\x12\x05\x0a\x03\x08\x91\x03";

fn typed_router() -> *mut gw_router {
    let mut config = null_mut();
    let mut router = null_mut();
    let mut error = null_mut();
    // SAFETY: valid pointers to live locals and a static string.
    unsafe {
        let r = gw_config_load(TYPED.as_ptr(), TYPED.len(), &mut config, &mut error);
        assert_eq!(r, gw_result::Ok, "{}", text(gw_error_message(error)));
        let r = gw_router_build(
            config,
            b"infra".as_ptr(),
            5,
            b"gw".as_ptr(),
            2,
            &mut router,
            null_mut(),
        );
        assert_eq!(r, gw_result::Ok);
        gw_config_free(config);
    }
    router
}

fn route_typed(
    router: *const gw_router,
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
) -> *mut gw_decision {
    let mut headers = vec![gw_header {
        name: s("host"),
        value: s("app.example.com"),
    }];
    headers.extend(extra.iter().map(|(n, v)| gw_header {
        name: s(n),
        value: s(v),
    }));
    let req = gw_request {
        method: s(method),
        scheme: gw_slice::NONE,
        authority: gw_slice::NONE,
        target: s(target),
        headers: headers.as_ptr(),
        headers_len: headers.len(),
        sni: gw_slice::NONE,
        port: 80,
        random: 0,
        tls: std::ptr::null(),
        mesh: std::ptr::null(),
        now: 0,
    };
    let mut d = null_mut();
    // SAFETY: live router, request and out-param.
    let r = unsafe { gw_router_route(router, &req, &mut d) };
    assert_eq!(r, gw_result::Ok);
    d
}

fn bytes<'a>(s: gw_slice) -> &'a [u8] {
    if s.data.is_null() {
        return &[];
    }
    // SAFETY: test-only: slices from the library are readable while their handle lives.
    unsafe { std::slice::from_raw_parts(s.data, s.len) }
}

fn auth_check(d: *const gw_decision) -> gw_auth_check {
    let mut c = std::mem::MaybeUninit::<gw_auth_check>::uninit();
    // SAFETY: live decision and out-param; written when true.
    unsafe {
        assert!(gw_decision_auth_check(d, c.as_mut_ptr()));
        c.assume_init()
    }
}

fn answer(answer: gw_auth_answer) -> gw_auth_response {
    gw_auth_response {
        answer: answer as u32,
        status: 0,
        headers: null(),
        headers_len: 0,
        body: gw_slice::NONE,
        message: gw_slice::NONE,
        failure_status: 0,
    }
}

fn authorize(d: *const gw_decision, r: &gw_auth_response) -> *mut gw_decision {
    let mut next = null_mut();
    // SAFETY: live decision, response and out-param.
    let result = unsafe { gw_decision_authorize(d, r, &mut next) };
    assert_eq!(result, gw_result::Ok);
    assert!(!next.is_null());
    next
}

fn request_edits(d: *const gw_decision) -> Vec<(gw_header_op, String, String)> {
    // SAFETY: live decision; each edit is written when true.
    unsafe {
        (0..gw_decision_request_edit_count(d))
            .map(|i| {
                let mut e = std::mem::zeroed::<gw_header_edit>();
                assert!(gw_decision_request_edit(d, i, &mut e));
                (e.op, text(e.name).to_owned(), text(e.value).to_owned())
            })
            .collect()
    }
}

#[test]
fn external_auth_http_check_then_allow_forwards_with_the_auth_headers() {
    let router = typed_router();
    let d = route_typed(
        router,
        "GET",
        "/http/./x?q=1",
        &[
            ("x-user", "bob"),
            ("authorization", "Bearer t"),
            ("cookie", "secret"),
        ],
    );
    // SAFETY: live handles; NULL arguments are part of the contract.
    unsafe {
        gw_router_free(router);
        assert_eq!(gw_decision_outcome(d), gw_outcome::Authorize);
        assert_eq!(gw_decision_status(d), 0);
        assert_eq!(gw_decision_path(d).len, 0, "nothing to forward yet");
        assert!(!gw_decision_backend(d, &mut std::mem::zeroed()));
        assert_eq!(text(gw_decision_host(d)), "app.example.com");
        let c = auth_check(d);
        assert_eq!(c.protocol, gw_auth_protocol::Http);
        assert_eq!(
            (text(c.backend.ns), text(c.backend.name), c.backend.port),
            ("infra", "auth", 9000)
        );
        assert!(c.backend.app_protocol.data.is_null());
        assert_eq!((text(c.method), text(c.path)), ("GET", "/check/http/x?q=1"));
        assert_eq!(
            (c.body.len, c.grpc_message.len, c.forward_body, c.max_body),
            (0, 0, false, 0)
        );
        let headers: Vec<(String, String)> = (0..gw_decision_auth_header_count(d))
            .map(|i| {
                let mut h = std::mem::zeroed::<gw_header>();
                assert!(gw_decision_auth_header(d, i, &mut h));
                (text(h.name).to_owned(), text(h.value).to_owned())
            })
            .collect();
        let expected = [
            ("host", "app.example.com"),
            ("x-user", "bob"),
            ("authorization", "Bearer t"),
            ("content-length", "0"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(
            headers, expected,
            "the allowed headers and authorization, no cookie"
        );
        assert!(!gw_decision_auth_header(
            d,
            headers.len(),
            &mut std::mem::zeroed()
        ));
        assert!(!gw_decision_auth_header(d, 0, null_mut()));
        assert!(!gw_decision_auth_check(d, null_mut()));

        let auth_headers = [
            gw_header {
                name: s("X-Auth-User"),
                value: s("bob"),
            },
            gw_header {
                name: s("x-other"),
                value: s("dropped"),
            },
        ];
        let mut r = answer(gw_auth_answer::Http);
        r.status = 200;
        r.headers = auth_headers.as_ptr();
        r.headers_len = auth_headers.len();
        let next = authorize(d, &r);
        assert_eq!(gw_decision_outcome(next), gw_outcome::Forward);
        assert_eq!(text(gw_decision_path(next)), "/http/x?q=1");
        assert_eq!(text(gw_decision_host(next)), "app.example.com");
        let mut b = std::mem::zeroed::<gw_backend>();
        assert!(gw_decision_backend(next, &mut b));
        assert_eq!((text(b.name), b.port), ("app", 8080));
        assert_eq!(
            request_edits(next),
            vec![(
                gw_header_op::Set,
                "x-auth-user".to_owned(),
                "bob".to_owned()
            )]
        );
        assert!(
            !gw_decision_backend_tls(next, &mut std::mem::zeroed()),
            "plaintext backend"
        );
        assert!(!gw_decision_auth_check(next, &mut std::mem::zeroed()));
        // The first decision is still valid and can be answered again.
        let again = authorize(d, &answer(gw_auth_answer::Timeout));
        assert_eq!(gw_decision_outcome(again), gw_outcome::Denied);
        assert_eq!(gw_decision_cause(again), gw_cause::AuthFailed);
        gw_decision_free(again);
        gw_decision_free(next);
        gw_decision_free(d);
    }
}

#[test]
fn external_auth_http_denial_is_the_auth_services_answer() {
    let router = typed_router();
    let d = route_typed(router, "GET", "/http", &[]);
    let deny_headers = [gw_header {
        name: s("www-authenticate"),
        value: s("Bearer"),
    }];
    let mut r = answer(gw_auth_answer::Http);
    r.status = 401;
    r.headers = deny_headers.as_ptr();
    r.headers_len = 1;
    r.body = s("no");
    let next = authorize(d, &r);
    // SAFETY: live handles.
    unsafe {
        assert_eq!(gw_decision_outcome(next), gw_outcome::Denied);
        assert_eq!(gw_decision_cause(next), gw_cause::ByAuthService);
        assert_eq!(gw_decision_status(next), 401);
        assert_eq!(gw_decision_local_header_count(next), 1);
        let mut h = std::mem::zeroed::<gw_header>();
        assert!(gw_decision_local_header(next, 0, &mut h));
        assert_eq!(
            (text(h.name), text(h.value)),
            ("www-authenticate", "Bearer")
        );
        assert_eq!(bytes(gw_decision_local_body(next)), b"no");
        assert!(!gw_decision_backend(next, &mut std::mem::zeroed()));
        gw_decision_free(next);
        gw_decision_free(d);
        gw_router_free(router);
    }
}

#[test]
fn external_auth_fails_closed_with_the_failure_status() {
    let router = typed_router();
    let d = route_typed(router, "GET", "/http", &[]);
    let bad_utf8 = [0xffu8];
    let bad_header = [gw_header {
        name: s("x"),
        value: gw_slice::from_bytes(&bad_utf8),
    }];
    let many: Vec<gw_header> = (0..=GW_MAX_AUTH_RESPONSE_HEADERS)
        .map(|_| gw_header {
            name: s("x"),
            value: s("y"),
        })
        .collect();
    let mut cases: Vec<(gw_auth_response, u16)> = Vec::new();
    let mut timeout = answer(gw_auth_answer::Timeout);
    timeout.failure_status = 503;
    cases.push((timeout, 503));
    cases.push((answer(gw_auth_answer::Unreachable), 403));
    let mut unknown = answer(gw_auth_answer::Http);
    unknown.answer = 77;
    unknown.status = 200;
    cases.push((unknown, 403));
    let mut not_utf8 = answer(gw_auth_answer::Http);
    not_utf8.status = 200;
    not_utf8.headers = bad_header.as_ptr();
    not_utf8.headers_len = 1;
    cases.push((not_utf8, 403));
    let mut too_many = answer(gw_auth_answer::Http);
    too_many.status = 200;
    too_many.headers = many.as_ptr();
    too_many.headers_len = many.len();
    cases.push((too_many, 403));
    let mut informational = answer(gw_auth_answer::Http);
    informational.status = 100;
    cases.push((informational, 403));
    let mut other_protocol = answer(gw_auth_answer::Grpc);
    other_protocol.message = gw_slice::from_bytes(GRPC_ALLOW);
    cases.push((other_protocol, 403));
    let mut odd_failure = answer(gw_auth_answer::Timeout);
    odd_failure.failure_status = 200;
    cases.push((odd_failure, 403));
    for (i, (r, status)) in cases.iter().enumerate() {
        let next = authorize(d, r);
        // SAFETY: live handle.
        unsafe {
            assert_eq!(gw_decision_outcome(next), gw_outcome::Denied, "case {i}");
            assert_eq!(gw_decision_cause(next), gw_cause::AuthFailed, "case {i}");
            assert_eq!(gw_decision_status(next), *status, "case {i}");
            assert!(text(gw_decision_reason(next)).starts_with("external auth failed closed"));
            gw_decision_free(next);
        }
    }
    // SAFETY: live handles.
    unsafe {
        gw_decision_free(d);
        gw_router_free(router);
    }
}

#[test]
fn external_auth_arguments_are_checked() {
    let router = typed_router();
    let d = route_typed(router, "GET", "/http", &[]);
    let plain = route_typed(router, "GET", "/tls", &[]);
    let r = answer(gw_auth_answer::Unreachable);
    let mut next = null_mut();
    // SAFETY: live handles; NULL and dangling-length arguments are part of the contract.
    unsafe {
        assert_eq!(
            gw_decision_authorize(null(), &r, &mut next),
            gw_result::NullParameter
        );
        assert_eq!(
            gw_decision_authorize(d, null(), &mut next),
            gw_result::NullParameter
        );
        assert_eq!(
            gw_decision_authorize(d, &r, null_mut()),
            gw_result::NullParameter
        );
        let mut dangling = answer(gw_auth_answer::Http);
        dangling.headers_len = 3;
        assert_eq!(
            gw_decision_authorize(d, &dangling, &mut next),
            gw_result::NullParameter
        );
        let mut dangling_body = answer(gw_auth_answer::Http);
        dangling_body.body = gw_slice {
            data: null(),
            len: 1,
        };
        assert_eq!(
            gw_decision_authorize(d, &dangling_body, &mut next),
            gw_result::NullParameter
        );
        assert_eq!(
            gw_decision_authorize(plain, &r, &mut next),
            gw_result::NotApplicable
        );
        assert_eq!(
            gw_decision_auth_body(plain, null(), 0, false, &mut next),
            gw_result::NotApplicable
        );
        assert_eq!(
            gw_decision_auth_body(null(), null(), 0, false, &mut next),
            gw_result::NullParameter
        );
        assert_eq!(
            gw_decision_auth_body(d, null(), 1, false, &mut next),
            gw_result::NullParameter
        );
        assert_eq!(
            gw_decision_auth_body(d, null(), 0, false, null_mut()),
            gw_result::NullParameter
        );
        assert!(next.is_null(), "out-params are written only on success");
        assert!(!gw_decision_auth_check(null(), &mut std::mem::zeroed()));
        assert!(!gw_decision_auth_check(plain, &mut std::mem::zeroed()));
        assert_eq!(gw_decision_auth_header_count(null()), 0);
        assert_eq!(gw_decision_auth_header_count(plain), 0);
        assert!(!gw_decision_auth_header(null(), 0, &mut std::mem::zeroed()));
        // Without forwardBody, adding a body changes nothing.
        assert_eq!(
            gw_decision_auth_body(d, b"abc".as_ptr(), 3, false, &mut next),
            gw_result::Ok
        );
        assert_eq!(gw_decision_outcome(next), gw_outcome::Authorize);
        assert_eq!(auth_check(next).body.len, 0);
        gw_decision_free(next);
        gw_decision_free(plain);
        gw_decision_free(d);
        gw_router_free(router);
    }
}

#[test]
fn decisions_after_an_auth_check_outlive_the_router_and_the_check() {
    let router = typed_router();
    let d = route_typed(router, "POST", "/grpc/a", &[("content-length", "3")]);
    let mut with_body = null_mut();
    // SAFETY: live handles; each is freed once, parents before the decisions made from them.
    unsafe {
        gw_router_free(router);
        assert_eq!(
            gw_decision_auth_body(d, b"abc".as_ptr(), 3, false, &mut with_body),
            gw_result::Ok
        );
        gw_decision_free(d);
        let mut ok = answer(gw_auth_answer::Grpc);
        ok.message = gw_slice::from_bytes(GRPC_ALLOW);
        let next = authorize(with_body, &ok);
        gw_decision_free(with_body);
        // The route, rule, backend and canonical request all come through the freed handles.
        assert_eq!(gw_decision_outcome(next), gw_outcome::Forward);
        assert_eq!(gw_decision_cause(next), gw_cause::None);
        assert_eq!(text(gw_decision_path(next)), "/grpc/a");
        assert_eq!(text(gw_decision_host(next)), "app.example.com");
        assert_eq!(text(gw_decision_listener(next)), "http");
        let mut m = std::mem::MaybeUninit::<gw_route_match>::uninit();
        assert!(gw_decision_route(next, m.as_mut_ptr()));
        assert_eq!(m.assume_init().kind, gw_route_kind::Http);
        let mut b = std::mem::MaybeUninit::<gw_backend>::uninit();
        assert!(gw_decision_backend(next, b.as_mut_ptr()));
        assert_eq!(text(b.assume_init().name), "app");
        gw_decision_free(next);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn external_auth_grpc_check_body_and_answers() {
    let router = typed_router();
    let d = route_typed(router, "POST", "/grpc/a", &[("content-length", "3")]);
    // SAFETY: live handles.
    unsafe {
        assert_eq!(gw_decision_outcome(d), gw_outcome::Authorize);
        let c = auth_check(d);
        assert_eq!(c.protocol, gw_auth_protocol::Grpc);
        assert_eq!((text(c.backend.name), c.backend.port), ("auth", 9001));
        assert_eq!(
            (text(c.method), text(c.path)),
            ("POST", "/envoy.service.auth.v3.Authorization/Check")
        );
        assert!(c.body.data.is_null());
        assert!(contains(bytes(c.grpc_message), b"/grpc/a"));
        assert_eq!((c.forward_body, c.max_body), (true, 8));
        assert_eq!(
            gw_decision_auth_header_count(d),
            0,
            "gRPC headers are in the message"
        );

        let mut with_body = null_mut();
        assert_eq!(
            gw_decision_auth_body(d, b"abc".as_ptr(), 3, false, &mut with_body),
            gw_result::Ok
        );
        assert_eq!(gw_decision_outcome(with_body), gw_outcome::Authorize);
        assert_eq!(gw_decision_cause(with_body), gw_cause::None);
        assert!(contains(bytes(auth_check(with_body).grpc_message), b"abc"));
        let mut too_big = null_mut();
        let nine = b"123456789";
        assert_eq!(
            gw_decision_auth_body(d, nine.as_ptr(), 9, false, &mut too_big),
            gw_result::Ok
        );
        assert_eq!(gw_decision_outcome(too_big), gw_outcome::Denied);
        assert_eq!(gw_decision_cause(too_big), gw_cause::BodyTooLarge);
        assert_eq!(gw_decision_status(too_big), 413);
        let mut cut = null_mut();
        assert_eq!(
            gw_decision_auth_body(d, nine.as_ptr(), 9, true, &mut cut),
            gw_result::Ok
        );
        assert_eq!(gw_decision_outcome(cut), gw_outcome::Authorize);
        let message = bytes(auth_check(cut).grpc_message);
        assert!(contains(message, b"12345678") && !contains(message, b"123456789"));

        let mut ok = answer(gw_auth_answer::Grpc);
        ok.message = gw_slice::from_bytes(GRPC_ALLOW);
        let next = authorize(with_body, &ok);
        assert_eq!(gw_decision_outcome(next), gw_outcome::Forward);
        assert_eq!(text(gw_decision_path(next)), "/grpc/a");
        assert_eq!(
            request_edits(next),
            vec![(
                gw_header_op::Set,
                "x-auth-user".to_owned(),
                "bob".to_owned()
            )]
        );
        gw_decision_free(next);

        let mut framed_bytes = vec![0, 0, 0, 0, u8::try_from(GRPC_ALLOW.len()).unwrap()];
        framed_bytes.extend_from_slice(GRPC_ALLOW);
        let mut framed = answer(gw_auth_answer::GrpcFramed);
        framed.message = gw_slice::from_bytes(&framed_bytes);
        let next = authorize(d, &framed);
        assert_eq!(gw_decision_outcome(next), gw_outcome::Forward);
        gw_decision_free(next);

        let mut deny = answer(gw_auth_answer::Grpc);
        deny.message = gw_slice::from_bytes(GRPC_DENY);
        let next = authorize(d, &deny);
        assert_eq!(
            (gw_decision_outcome(next), gw_decision_status(next)),
            (gw_outcome::Denied, 401)
        );
        gw_decision_free(next);

        let mut garbage = answer(gw_auth_answer::Grpc);
        garbage.message = s("\u{7f}not protobuf");
        garbage.failure_status = 502;
        let next = authorize(d, &garbage);
        assert_eq!(
            (gw_decision_outcome(next), gw_decision_status(next)),
            (gw_outcome::Denied, 502)
        );
        gw_decision_free(next);

        for h in [with_body, too_big, cut, d] {
            gw_decision_free(h);
        }
        gw_router_free(router);
    }
}

fn verify(d: *const gw_decision, chain: &[&[u8]], now: u64) -> (gw_result, String) {
    let slices: Vec<gw_slice> = chain.iter().map(|c| gw_slice::from_bytes(c)).collect();
    let mut error = null_mut();
    // SAFETY: live decision, chain and out-param; the error is read and freed here.
    unsafe {
        let r = gw_decision_verify_backend_chain(d, slices.as_ptr(), slices.len(), now, &mut error);
        if r == gw_result::Ok {
            assert!(error.is_null(), "error_out is written only on failure");
            return (r, String::new());
        }
        if error.is_null() {
            return (r, String::new());
        }
        assert_eq!(gw_error_code(error), r);
        let message = text(gw_error_message(error)).to_owned();
        gw_error_free(error);
        (r, message)
    }
}

#[test]
fn backend_tls_settings_and_chain_verification() {
    let router = typed_router();
    let d = route_typed(router, "GET", "/tls", &[]);
    // SAFETY: live handles; NULL arguments are part of the contract.
    unsafe {
        gw_router_free(router);
        assert_eq!(gw_decision_outcome(d), gw_outcome::Forward);
        let mut t = std::mem::zeroed::<gw_backend_tls>();
        assert!(gw_decision_backend_tls(d, &mut t));
        assert_eq!(
            (text(t.policy), text(t.sni)),
            ("infra/api-tls", "api.example.com")
        );
        assert_eq!(
            (t.trust, t.ca_count, t.identity_count),
            (gw_tls_trust::CaBundle, 1, 1)
        );
        assert_eq!(t.client_certificate_count, 0);
        let ca = bytes(gw_decision_backend_tls_ca(d, 0));
        assert_eq!(ca.first(), Some(&0x30), "DER");
        assert!(gw_decision_backend_tls_ca(d, 1).data.is_null());
        let mut id = std::mem::zeroed::<gw_tls_identity>();
        assert!(gw_decision_backend_tls_identity(d, 0, &mut id));
        assert_eq!(
            (id.kind, text(id.value)),
            (gw_tls_identity_kind::Hostname, "api.example.com")
        );
        assert!(!gw_decision_backend_tls_identity(d, 1, &mut id));
        assert!(!gw_decision_backend_tls_identity(d, 0, null_mut()));
        assert!(
            gw_decision_backend_tls_client_certificate(d, 0)
                .data
                .is_null()
        );
        assert!(!gw_decision_backend_tls_client_key(
            d,
            &mut std::mem::zeroed()
        ));
        assert!(!gw_decision_backend_tls(d, null_mut()));
        assert!(!gw_decision_backend_tls(null(), &mut t));

        assert_eq!(verify(d, &[LEAF], NOW).0, gw_result::Ok);
        let (r, why) = verify(d, &[WRONG_NAME], NOW);
        assert_eq!(r, gw_result::CertificateNameMismatch, "{why}");
        assert!(why.contains("none of the required names"), "{why}");
        assert_eq!(
            verify(d, &[UNTRUSTED], NOW).0,
            gw_result::CertificateUnknownIssuer
        );
        assert_eq!(verify(d, &[], NOW).0, gw_result::CertificateMissing);
        assert_eq!(
            verify(d, &[b"not DER"], NOW).0,
            gw_result::CertificateBadEncoding
        );
        assert_eq!(
            verify(d, &[LEAF], 1_000_000_000).0,
            gw_result::CertificateNotYetValid
        );
        assert_eq!(
            verify(d, &[LEAF; GW_MAX_BACKEND_CHAIN + 1], NOW).0,
            gw_result::CertificateInvalid
        );

        let mut error = null_mut();
        assert_eq!(
            gw_decision_verify_backend_chain(d, null(), 1, NOW, &mut error),
            gw_result::NullParameter
        );
        let dangling = [gw_slice {
            data: null(),
            len: 4,
        }];
        assert_eq!(
            gw_decision_verify_backend_chain(d, dangling.as_ptr(), 1, NOW, &mut error),
            gw_result::NullParameter
        );
        let leaf = [gw_slice::from_bytes(LEAF)];
        assert_eq!(
            gw_decision_verify_backend_chain(null(), leaf.as_ptr(), 1, NOW, &mut error),
            gw_result::NullParameter
        );
        assert!(error.is_null());
        // Without error_out, the code alone.
        assert_eq!(
            gw_decision_verify_backend_chain(
                d,
                [gw_slice::from_bytes(WRONG_NAME)].as_ptr(),
                1,
                NOW,
                null_mut()
            ),
            gw_result::CertificateNameMismatch
        );
        gw_decision_free(d);

        let router = typed_router();
        let auth = route_typed(router, "GET", "/http", &[]);
        assert_eq!(verify(auth, &[LEAF], NOW).0, gw_result::NotApplicable);
        assert!(!gw_decision_backend_tls(auth, &mut t));
        gw_decision_free(auth);
        gw_router_free(router);

        let mut buf = [0u8; 64];
        let mut n = 0;
        for code in [104, 300, 308, 310] {
            assert_eq!(
                gw_result_describe(code, buf.as_mut_ptr(), buf.len(), &mut n),
                gw_result::Ok
            );
            assert_ne!(&buf[..n], b"unknown result code", "{code}");
        }
    }
}

/// The fuzz entry point on generated inputs, half of them routed to the auth and backend TLS
/// rules of the typed fixture so that their exports see real decisions, some with TLS facts,
/// a sixth to the mesh router with mesh inputs (a smoke run; the fuzz target runs it for long).
#[cfg(feature = "fuzzing")]
#[test]
fn fuzz_entry_point_survives_generated_inputs() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let field = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.push(u8::try_from(bytes.len()).unwrap());
        out.extend_from_slice(bytes);
    };
    for i in 0..3000 {
        let mut input = Vec::new();
        let targets: [&[u8]; 4] = [b"/http/a?b", b"/grpc/x", b"/tls", b"/nope"];
        if i % 2 == 0 {
            input.push(4);
            field(&mut input, if i % 4 == 0 { b"GET" } else { b"POST" });
            field(&mut input, b"");
            field(&mut input, b"app.example.com");
            field(&mut input, targets[(i / 2) % 4]);
            field(&mut input, b"");
            field(&mut input, &[80]);
            field(&mut input, &[0]);
            field(&mut input, &[0]);
            field(&mut input, &[0]);
            // The TLS connection, every eighth time: the leaf cut to 255 bytes as the client
            // chain (the port terminates no TLS: misdirected), no resumption.
            if i % 8 == 0 {
                field(&mut input, &[1]);
                input.push(0xff);
                input.extend_from_slice(&LEAF[..255]);
            } else {
                field(&mut input, &[0]);
            }
            field(&mut input, &[0]);
            field(&mut input, &[0]);
            field(&mut input, &[u8::from(i % 8 == 0)]);
            if i % 6 == 0 {
                // A one-certificate chain: the leaf cut to 255 bytes (not DER).
                field(&mut input, &[1]);
                input.push(0xff);
                input.extend_from_slice(&LEAF[..255]);
            }
        } else if i % 3 == 0 {
            // The mesh router: a Service by name, an address, or neither, from some client.
            input.push(5);
            for f in [
                &b"GET"[..],
                b"",
                b"",
                targets[(i / 3) % 4],
                b"",
                &[80],
                &[0],
                &[0],
            ] {
                field(&mut input, f);
            }
            for f in [&[0u8][..], &[0], &[0], &[0]] {
                field(&mut input, f); // no chain, no resumption, no TLS
            }
            let (name, address): (&[u8], &[u8]) = match i % 9 {
                0 | 3 => (b"echo", b""),
                6 if i % 4 == 1 => (b"", b"fd00::7"),
                _ => (b"", b"10.96.0.8"),
            };
            field(&mut input, if i % 4 == 1 { b"web" } else { b"app" });
            field(&mut input, b"app");
            field(&mut input, name);
            field(&mut input, address);
            field(&mut input, &[0]);
            field(&mut input, &[0]);
            field(&mut input, &[u8::from(i % 5 != 0)]);
        } else {
            input.push(u8::try_from(next() % 6).unwrap());
        }
        for _ in 0..next() % 200 {
            input.push(u8::try_from(next() % 256).unwrap());
        }
        crate::fuzzing::exercise(&input);
    }
}

#[test]
fn backend_tls_hands_out_the_gateways_client_certificate_and_key() {
    let yaml = TYPED.replace(
        "  listeners:",
        "  tls: {backend: {clientCertificateRef: {name: client}}}\n  listeners:",
    ) + "---\n"
        + include_str!("../tests/fixtures/client.yaml");
    assert_ne!(yaml.len(), TYPED.len());
    let mut config = null_mut();
    let mut router = null_mut();
    let mut error = null_mut();
    // SAFETY: live locals; every handle is freed once.
    unsafe {
        let r = gw_config_load(yaml.as_ptr(), yaml.len(), &mut config, &mut error);
        assert_eq!(r, gw_result::Ok, "{}", text(gw_error_message(error)));
        let r = gw_router_build(config, null(), 0, null(), 0, &mut router, null_mut());
        assert_eq!(r, gw_result::Ok);
        gw_config_free(config);
        let d = route_typed(router, "GET", "/tls", &[]);
        assert_eq!(gw_decision_outcome(d), gw_outcome::Forward);
        let mut t = std::mem::zeroed::<gw_backend_tls>();
        assert!(gw_decision_backend_tls(d, &mut t));
        assert_eq!(t.client_certificate_count, 1);
        assert_eq!(
            bytes(gw_decision_backend_tls_client_certificate(d, 0)).first(),
            Some(&0x30)
        );
        assert!(
            gw_decision_backend_tls_client_certificate(d, 1)
                .data
                .is_null()
        );
        let mut k = std::mem::zeroed::<gw_private_key>();
        assert!(gw_decision_backend_tls_client_key(d, &mut k));
        assert_eq!(k.kind, gw_private_key_kind::Pkcs8);
        assert_eq!(bytes(k.der).first(), Some(&0x30));
        assert!(!gw_decision_backend_tls_client_key(d, null_mut()));
        // The certificate changes nothing about verifying the backend.
        assert_eq!(verify(d, &[LEAF], NOW).0, gw_result::Ok);
        gw_decision_free(d);
        gw_router_free(router);
    }
}

#[test]
fn an_unusable_backend_client_certificate_fails_closed() {
    let yaml = TYPED.replace(
        "  listeners:",
        "  tls: {backend: {clientCertificateRef: {name: missing}}}\n  listeners:",
    );
    let mut config = null_mut();
    let mut router = null_mut();
    // SAFETY: live locals; every handle is freed once.
    unsafe {
        assert_eq!(
            gw_config_load(yaml.as_ptr(), yaml.len(), &mut config, null_mut()),
            gw_result::Ok
        );
        assert_eq!(
            gw_router_build(config, null(), 0, null(), 0, &mut router, null_mut()),
            gw_result::Ok
        );
        gw_config_free(config);
        let d = route_typed(router, "GET", "/tls", &[]);
        assert_eq!(gw_decision_outcome(d), gw_outcome::ServerError);
        assert_eq!(gw_decision_cause(d), gw_cause::BackendTlsUnverifiable);
        assert_eq!(gw_decision_status(d), 500);
        assert!(text(gw_decision_reason(d)).starts_with(BACKEND_TLS_UNUSABLE));
        assert!(!gw_decision_backend(d, &mut std::mem::zeroed()));
        assert!(!gw_decision_backend_tls(d, &mut std::mem::zeroed()));
        gw_decision_free(d);
        gw_router_free(router);
    }
}

#[test]
fn a_gateway_router_refuses_mesh_inputs() {
    let router = shop_router();
    let headers = [gw_header {
        name: s("host"),
        value: s("shop.example.com"),
    }];
    let mesh = gw_mesh_request {
        client_namespace: s("shop"),
        destination_namespace: gw_slice::NONE,
        destination_name: s("shop"),
        destination_address: gw_slice::NONE,
        destination_port: 0,
    };
    let req = gw_request {
        method: s("GET"),
        scheme: gw_slice::NONE,
        authority: gw_slice::NONE,
        target: s("/"),
        headers: headers.as_ptr(),
        headers_len: headers.len(),
        sni: gw_slice::NONE,
        port: 80,
        random: 0,
        tls: std::ptr::null(),
        mesh: &mesh,
        now: 0,
    };
    let mut d = null_mut();
    // SAFETY: live router, request and out-params; each handle freed once.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        assert_eq!(gw_decision_outcome(d), gw_outcome::BadRequest);
        assert_eq!(gw_decision_cause(d), gw_cause::MalformedRequest);
        assert_eq!(gw_decision_status(d), 400);
        assert!(text(gw_decision_reason(d)).contains("mesh router"));
        gw_decision_free(d);
        // The mesh is not ours in the shop manifests: no mesh router.
        let mut config = null_mut();
        assert_eq!(
            gw_config_load(SHOP.as_ptr(), SHOP.len(), &mut config, null_mut()),
            gw_result::Ok
        );
        let mut mesh_router = null_mut();
        assert_eq!(
            gw_router_build_mesh(config, &mut mesh_router, null_mut()),
            gw_result::InvalidConfig
        );
        assert!(mesh_router.is_null());
        gw_config_free(config);
        gw_router_free(router);
    }
}
