//! The cost of the C ABI: routing the same requests through `gw_router_route` (plus reading
//! the backend and freeing the decision) and through the Rust calls it wraps
//! (`Router::route` + `plan::plan`), in the same run. Issue 8 asks for ABI ≤ 1.3 × Rust.
#![allow(unsafe_code, missing_docs)] // it drives the C ABI
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::ptr::null_mut;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_core::{Engine, EngineOptions, Headers, Plan, RequestView, Target, plan};
use gateway_ffi::config::{gw_config, gw_config_free, gw_config_load};
use gateway_ffi::decision::{
    gw_backend, gw_decision_backend, gw_decision_free, gw_header, gw_request, gw_router_route,
};
use gateway_ffi::router::{gw_router, gw_router_build, gw_router_free};
use gateway_ffi::{gw_result, gw_slice};

const SHOP: &str = include_str!("../../examples/manifests/shop.yaml");

/// One request: method, target, headers.
type Request = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Typical requests hitting different rules of shop.yaml.
const REQUESTS: [Request; 4] = [
    (
        "GET",
        "/",
        &[
            ("host", "shop.example.com"),
            ("user-agent", "bench"),
            ("accept", "*/*"),
        ],
    ),
    (
        "POST",
        "/checkout/pay?x=1",
        &[("host", "shop.example.com"), ("content-length", "12")],
    ),
    (
        "GET",
        "/api/items",
        &[("host", "shop.example.com"), ("x-api-version", "2")],
    ),
    (
        "GET",
        "/landing",
        &[("host", "www.example.com"), ("accept", "text/html")],
    ),
];

fn bytes(s: &str) -> gw_slice {
    gw_slice::from_bytes(s.as_bytes())
}

fn routing(c: &mut Criterion) {
    let target = Target::gateway("shop", "shop");
    let (_, rust) = Engine::load_router(SHOP.as_bytes(), &target, &EngineOptions::default())
        .expect("the example builds");
    let mut config: *mut gw_config = null_mut();
    let mut router: *mut gw_router = null_mut();
    // SAFETY: live locals and a static string.
    unsafe {
        assert_eq!(
            gw_config_load(SHOP.as_ptr(), SHOP.len(), &mut config, null_mut()),
            gw_result::Ok
        );
        let r = gw_router_build(
            config,
            b"shop".as_ptr(),
            4,
            b"shop".as_ptr(),
            4,
            &mut router,
            null_mut(),
        );
        assert_eq!(r, gw_result::Ok);
        gw_config_free(config);
    }
    let c_headers: Vec<Vec<gw_header>> = REQUESTS
        .iter()
        .map(|(_, _, hs)| {
            hs.iter()
                .map(|(n, v)| gw_header {
                    name: bytes(n),
                    value: bytes(v),
                })
                .collect()
        })
        .collect();
    let c_requests: Vec<gw_request> = REQUESTS
        .iter()
        .zip(&c_headers)
        .map(|((m, t, _), hs)| gw_request {
            method: bytes(m),
            scheme: gw_slice::NONE,
            authority: gw_slice::NONE,
            target: bytes(t),
            headers: hs.as_ptr(),
            headers_len: hs.len(),
            sni: gw_slice::NONE,
            port: 80,
            random: 7,
            tls: std::ptr::null(),
            mesh: std::ptr::null(),
            now: 0,
        })
        .collect();

    let mut group = c.benchmark_group("route_4_requests");
    group.bench_function("rust", |b| {
        b.iter(|| {
            for (method, target, headers) in &REQUESTS {
                let view =
                    RequestView::new(method, target.as_bytes(), Headers::Pairs(headers)).port(80);
                let view = black_box(view);
                let d = rust.route(&view);
                let Plan::Forward(f) = plan(&d, &view, 7) else {
                    panic!("not forwarded")
                };
                assert!(black_box(f.backend.port) == 8080);
            }
        });
    });
    group.bench_function("c_abi", |b| {
        b.iter(|| {
            for req in &c_requests {
                let mut d = null_mut();
                // SAFETY: live router, request and out-params; the decision is freed once.
                unsafe {
                    assert_eq!(
                        gw_router_route(router, black_box(req), &mut d),
                        gw_result::Ok
                    );
                    let mut backend = std::mem::MaybeUninit::<gw_backend>::uninit();
                    assert!(gw_decision_backend(d, backend.as_mut_ptr()));
                    assert!(black_box(backend.assume_init().port) == 8080);
                    gw_decision_free(d);
                }
            }
        });
    });
    group.finish();

    let lines: Vec<String> = REQUESTS
        .iter()
        .map(|(m, t, hs)| {
            serde_json::json!({"method": m, "target": t, "headers": hs, "port": 80}).to_string()
        })
        .collect();
    let mut group = c.benchmark_group("route_json_4_requests");
    group.bench_function("rust", |b| {
        b.iter(|| {
            for line in &lines {
                let out = gateway_core::json::route_json(&rust, black_box(line.as_bytes()));
                assert!(out.contains("forward"));
            }
        });
    });
    group.bench_function("c_abi", |b| {
        b.iter(|| {
            for line in &lines {
                let mut out = null_mut();
                // SAFETY: live router, line and out-param; the buffer is freed once.
                unsafe {
                    let r = gateway_ffi::router::gw_route_json(
                        router,
                        black_box(line.as_ptr()),
                        line.len(),
                        &mut out,
                    );
                    assert_eq!(r, gw_result::Ok);
                    assert!(gateway_ffi::config::gw_buffer_len(out) > 0);
                    gateway_ffi::config::gw_buffer_free(out);
                }
            }
        });
    });
    group.finish();
    // SAFETY: our reference, released once.
    unsafe { gw_router_free(router) };
}

criterion_group!(benches, routing);
criterion_main!(benches);
