//! Worst-case requests against the typical one, in the same run: each hostile class of the
//! README's table that is routed (not refused up front) must cost time linear in its size, and
//! the classes refused by a limit must cost constant work. SECURITY.md's bounds: adversarial
//! inputs <= 50 ms, normalizing a 1 MiB path < 10 ms.
//!
//! `cargo bench --bench hostile` prints each case's median and its ratio to the typical
//! request.

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::request::normalize::{PathPolicy, normalize_path};
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};

const SHOP: &str = include_str!("../examples/manifests/shop.yaml");

/// One request: a target and its headers (the Host first).
struct Case {
    name: &'static str,
    target: String,
    headers: Vec<(String, String)>,
}

fn host() -> (String, String) {
    ("host".to_owned(), "shop.example.com".to_owned())
}

fn cases() -> Vec<Case> {
    let fill = |unit: &str, len: usize| {
        let mut t = "/api".to_owned();
        while t.len() + unit.len() <= len {
            t.push_str(unit);
        }
        t
    };
    let many_headers = |n: usize| {
        let mut h = vec![host()];
        h.extend((1..n).map(|i| (format!("x-header-{i}"), "value".to_owned())));
        h
    };
    vec![
        Case {
            name: "typical",
            target: "/api/items?id=7".to_owned(),
            headers: vec![host(), ("x-api-version".to_owned(), "2".to_owned())],
        },
        Case {
            name: "8k_percent_encoded",
            target: fill("/%61%62", 8190),
            headers: vec![host()],
        },
        Case {
            name: "8k_dot_segments",
            target: fill("/a/../b/./", 8190),
            headers: vec![host()],
        },
        Case {
            name: "8k_slashes",
            target: fill("//", 8190),
            headers: vec![host()],
        },
        Case {
            name: "1000_query_pairs",
            target: format!("/api?{}", vec!["k=v"; 1000].join("&")),
            headers: vec![host()],
        },
        Case {
            name: "100_headers",
            target: "/api/items".to_owned(),
            headers: many_headers(100),
        },
        Case {
            name: "refused_9k_target",
            target: fill("/aaaaaaaa", 9216),
            headers: vec![host()],
        },
        Case {
            name: "refused_10000_headers",
            target: "/api/items".to_owned(),
            headers: many_headers(10_000),
        },
    ]
}

fn bench(c: &mut Criterion) {
    let loaded = Snapshot::load(SHOP.as_bytes(), &LoadOptions::default()).expect("shop loads");
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    let router = Router::build(
        &config,
        &GatewayRef::new("shop", "shop"),
        PathPolicy::secure(),
    )
    .expect("shop builds");
    let cases = cases();
    let pairs: Vec<Vec<(&str, &str)>> = cases
        .iter()
        .map(|c| {
            c.headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect()
        })
        .collect();
    let route = |k: usize| {
        let req = RequestView::new(
            "GET",
            black_box(cases[k].target.as_bytes()),
            Headers::Pairs(&pairs[k]),
        )
        .port(80);
        black_box(router.route(&req).status())
    };
    let mut group = c.benchmark_group("hostile");
    for (k, case) in cases.iter().enumerate() {
        group.bench_function(case.name, |b| b.iter(|| route(k)));
    }
    group.finish();

    // A 1 MiB path of dot segments, normalized with the length limit raised.
    let mut policy = PathPolicy::secure();
    policy.max_target_len = 2 << 20;
    let mut huge = String::with_capacity(1 << 20);
    while huge.len() < 1 << 20 {
        huge.push_str("/a/./b/../c//%61");
    }
    c.bench_function("hostile/normalize_1mib_path", |b| {
        b.iter(|| black_box(normalize_path(black_box(&huge), &policy).map(|p| p.len())))
    });

    // The summary only under `cargo bench` (not when `cargo test --benches` runs each
    // benchmark once): medians of 15 batches, with the ratio to the typical request.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let median_ns = |per_batch: u32, f: &dyn Fn()| {
        let mut samples: Vec<f64> = (0..15)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..per_batch {
                    f();
                }
                start.elapsed().as_nanos() as f64 / f64::from(per_batch)
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        samples[7]
    };
    let typical = median_ns(200, &|| {
        route(0);
    });
    for (k, case) in cases.iter().enumerate() {
        let ns = median_ns(200, &|| {
            route(k);
        });
        println!(
            "hostile {:<22} {:>10.0} ns  {:>7.1}x typical  (status {:?})",
            case.name,
            ns,
            ns / typical,
            route(k)
        );
    }
    let ns = median_ns(3, &|| {
        black_box(normalize_path(&huge, &policy).map(|p| p.len())).ok();
    });
    println!(
        "hostile normalize_1mib_path     {:>10.0} ns  ({:.2} ms; bound 10 ms)",
        ns,
        ns / 1e6
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
