//! Handle tests on the Rust side of the boundary (these also run under Miri).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::ptr::{null, null_mut};

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
    };
    let mut d = null_mut();
    // SAFETY: live router, request and out-params.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        // The router may go: the decision keeps it alive.
        gw_router_free(router);
        assert_eq!(gw_decision_outcome(d), gw_outcome::Forward);
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
    };
    let mut d = null_mut();
    // SAFETY: live router and request; NULL arguments are part of the contract.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        assert_eq!(gw_decision_outcome(d), gw_outcome::BadRequest);
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
