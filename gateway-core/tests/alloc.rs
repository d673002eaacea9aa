//! Routing a request whose target is already canonical allocates nothing once the router is
//! built (a counting allocator wraps the system allocator in this test binary only).

use std::alloc::System;

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::outcome::{NotFound, Outcome};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn routing_a_canonical_request_does_not_allocate() {
    let yaml = include_str!("../../examples/manifests/shop.yaml");
    let config = Config::new(
        Snapshot::load(yaml.as_bytes(), &LoadOptions::default())
            .unwrap()
            .snapshot,
        AttachOptions::default(),
    );
    let router = Router::build(
        &config,
        &GatewayRef::new("shop", "shop"),
        PathPolicy::secure(),
    )
    .unwrap();
    type Case<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)], Outcome);
    let cases: &[Case<'_>] = &[
        (
            "GET",
            b"/api/items?page=2",
            &[
                ("host", "shop.example.com"),
                ("x-api-version", "2"),
                ("accept", "*/*"),
            ],
            Outcome::Forward,
        ),
        (
            "GET",
            b"/api/items",
            &[("host", "shop.example.com"), ("user-agent", "t")],
            Outcome::Forward,
        ),
        (
            "POST",
            b"/checkout/pay",
            &[("host", "shop.example.com:80")],
            Outcome::Forward,
        ),
        (
            "GET",
            b"/",
            &[("host", "landing.example.com")],
            Outcome::Forward,
        ),
        (
            "GET",
            b"/",
            &[("host", "nowhere.example.org")],
            Outcome::NotFound(NotFound::NoListenerForHost),
        ),
    ];
    for (method, target, headers, outcome) in cases {
        let request = RequestView::new(method, target, Headers::Pairs(headers));
        // Warm up, then count.
        assert_eq!(router.route(&request).outcome(), *outcome);
        let region = Region::new(GLOBAL);
        let decision = router.route(&request);
        let chosen = decision.choose_backend(12345).is_some();
        let stats = region.change();
        assert_eq!(decision.outcome(), *outcome);
        assert_eq!(chosen, *outcome == Outcome::Forward);
        assert_eq!(
            stats.allocations,
            0,
            "{method} {} allocated {stats:?}",
            String::from_utf8_lossy(target)
        );
    }
}
