//! Load benchmark: manifests as bytes to a router (`Snapshot::load`, `Config::new`,
//! `Router::build`), against the same parser reading the same bytes into untyped values, the
//! floor of any loader that parses its input (issue #26).
//!
//! The manifests: one GatewayClass, one Gateway with an HTTP listener, 50 Services, and N
//! one-rule HTTPRoutes (hostnames `h{i % 100}.example.com`, a PathPrefix `/api/v{i / 100}`, a
//! backendRef to one of the Services), for N in 1,000, 10,000 and 50,000, written once as
//! multi-document YAML and once as a JSON stream (one object per line). Every size loads with
//! the default `LoadOptions`.
//!
//! `cargo bench --bench load` runs criterion groups `load/{yaml,json}/{n}/{ours,parse}` and
//! then prints, per format and size, the medians of 5 alternating timings of ours and of the
//! baseline, their ratio, ours split into load (parse, read, validate), attachment and build,
//! and the growth from 10,000 to 50,000 routes. `cargo test --benches` runs each criterion
//! function once on the 1,000-route input and skips the rest.

#![allow(clippy::expect_used)] // a benchmark stops loudly on broken input

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::route::{GatewayRef, Router};

const SIZES: &[usize] = &[1_000, 10_000, 50_000];
const SERVICES: usize = 50;

/// The manifests of `routes` routes as (YAML, JSON).
fn manifests(routes: usize) -> (String, String) {
    let api = "gateway.networking.k8s.io/v1";
    let mut json = Vec::with_capacity(routes + SERVICES + 2);
    json.push(format!(
        r#"{{"apiVersion":"{api}","kind":"GatewayClass","metadata":{{"name":"gc"}},"spec":{{"controllerName":"gateway.example.dev/gateway-core"}}}}"#
    ));
    json.push(format!(
        r#"{{"apiVersion":"{api}","kind":"Gateway","metadata":{{"name":"gw","namespace":"bench"}},"spec":{{"gatewayClassName":"gc","listeners":[{{"name":"http","port":80,"protocol":"HTTP","allowedRoutes":{{"namespaces":{{"from":"Same"}}}}}}]}}}}"#
    ));
    for s in 0..SERVICES {
        json.push(format!(
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"svc{s}","namespace":"bench"}},"spec":{{"ports":[{{"port":8080}}]}}}}"#
        ));
    }
    for i in 0..routes {
        let (host, prefix, svc) = (i % 100, i / 100, i % SERVICES);
        json.push(format!(
            r#"{{"apiVersion":"{api}","kind":"HTTPRoute","metadata":{{"name":"r{i}","namespace":"bench"}},"spec":{{"parentRefs":[{{"name":"gw"}}],"hostnames":["h{host}.example.com"],"rules":[{{"matches":[{{"path":{{"type":"PathPrefix","value":"/api/v{prefix}"}}}}],"backendRefs":[{{"name":"svc{svc}","port":8080}}]}}]}}}}"#
        ));
    }
    let mut yaml = String::new();
    let _ = write!(
        yaml,
        "apiVersion: {api}\nkind: GatewayClass\nmetadata:\n  name: gc\nspec:\n  controllerName: gateway.example.dev/gateway-core\n---\n\
         apiVersion: {api}\nkind: Gateway\nmetadata:\n  name: gw\n  namespace: bench\nspec:\n  gatewayClassName: gc\n  listeners:\n  - name: http\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      namespaces:\n        from: Same\n---\n"
    );
    for s in 0..SERVICES {
        let _ = write!(
            yaml,
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc{s}\n  namespace: bench\nspec:\n  ports:\n  - port: 8080\n---\n"
        );
    }
    for i in 0..routes {
        let (host, prefix, svc) = (i % 100, i / 100, i % SERVICES);
        let _ = write!(
            yaml,
            "apiVersion: {api}\nkind: HTTPRoute\nmetadata:\n  name: r{i}\n  namespace: bench\nspec:\n  parentRefs:\n  - name: gw\n  hostnames:\n  - h{host}.example.com\n  rules:\n  - matches:\n    - path:\n        type: PathPrefix\n        value: /api/v{prefix}\n    backendRefs:\n    - name: svc{svc}\n      port: 8080\n---\n"
        );
    }
    (yaml, json.join("\n"))
}

/// Bytes to router, with the time of each stage: (load, attach, build). The attached
/// configuration is returned with the router (a proxy keeps it for status), so that freeing
/// it is not timed.
fn ours(bytes: &[u8]) -> (Config, Router, [Duration; 3]) {
    let start = Instant::now();
    let loaded = Snapshot::load(bytes, &LoadOptions::default()).expect("generated manifests load");
    let loaded_at = Instant::now();
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    let attached_at = Instant::now();
    let router = Router::build(
        &config,
        &GatewayRef::new("bench", "gw"),
        PathPolicy::secure(),
    )
    .expect("router builds");
    let built_at = Instant::now();
    let stages = [
        loaded_at - start,
        attached_at - loaded_at,
        built_at - attached_at,
    ];
    (config, router, stages)
}

/// The baseline: the same parser, the same bytes, untyped values (returned, so that freeing
/// them is not timed either).
fn parse(yaml: bool, text: &str) -> Vec<serde_json::Value> {
    if yaml {
        let docs: Vec<Option<serde_json::Value>> =
            serde_saphyr::from_multiple_with_options(text, yaml_options())
                .expect("the YAML parses");
        docs.into_iter().flatten().collect()
    } else {
        serde_json::Deserializer::from_str(text)
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("the JSON parses")
    }
}

/// The parser options `Snapshot::load` uses with the default `LoadOptions`: the same budget
/// and schema, so that the baseline does the parser's share of the same work.
fn yaml_options() -> serde_saphyr::Options {
    let limits = LoadOptions::default();
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_documents = limits.max_documents;
    budget.max_nodes = limits.max_yaml_nodes;
    budget.max_events = limits
        .max_yaml_nodes
        .saturating_mul(2)
        .saturating_add(limits.max_documents.saturating_mul(2))
        .saturating_add(2);
    budget.max_aliases = limits.max_yaml_aliases;
    budget.max_total_scalar_bytes = limits.max_bytes;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = limits.max_yaml_alias_events;
    options.with_snippet = false;
    options.strict_booleans = true;
    options
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let summary = std::env::args().any(|a| a == "--bench");
    let sizes = if summary { SIZES } else { &SIZES[..1] };
    let mut lines = Vec::new();
    let mut totals = Vec::new();
    for &n in sizes {
        let (yaml, json) = manifests(n);
        for (format, is_yaml, text) in [("yaml", true, &yaml), ("json", false, &json)] {
            let (_, router, _) = ours(text.as_bytes());
            assert_eq!(
                router.rule_count(),
                n,
                "{format} {n}: every route is a rule"
            );
            assert_eq!(parse(is_yaml, text).len(), n + SERVICES + 2, "{format} {n}");
            let mut group = c.benchmark_group(format!("load/{format}/{n}"));
            group.sample_size(10);
            group.bench_function("ours", |b| {
                b.iter_with_large_drop(|| ours(black_box(text.as_bytes())))
            });
            group.bench_function("parse", |b| {
                b.iter_with_large_drop(|| parse(is_yaml, black_box(text)))
            });
            group.finish();
            if !summary {
                continue;
            }
            // Alternating, so that both see the same machine.
            let (mut ours_s, mut parse_s, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            let mut stages = [Vec::new(), Vec::new(), Vec::new()];
            for _ in 0..5 {
                let start = Instant::now();
                let (config, router, split) = black_box(ours(text.as_bytes()));
                let o = start.elapsed().as_secs_f64();
                drop((config, router));
                let start = Instant::now();
                let values = black_box(parse(is_yaml, text));
                let p = start.elapsed().as_secs_f64();
                drop(values);
                ours_s.push(o);
                parse_s.push(p);
                ratios.push(o / p);
                for (all, one) in stages.iter_mut().zip(split) {
                    all.push(one.as_secs_f64());
                }
            }
            let ms = |v: Vec<f64>| median(v) * 1e3;
            let total = median(ours_s.clone());
            totals.push((format, n, total));
            let [load, attach, build] = stages.map(ms);
            lines.push(format!(
                "load {format:4} {n:>6} routes ({:5.1} MB): ours {:8.1} ms (load {load:.1}, attach {attach:.1}, build {build:.1}), parse {:8.1} ms, ratio {:.2}x",
                text.len() as f64 / 1e6,
                total * 1e3,
                ms(parse_s),
                median(ratios),
            ));
        }
    }
    if !summary {
        return;
    }
    for line in &lines {
        println!("{line}");
    }
    for format in ["yaml", "json"] {
        let at = |n: usize| {
            totals
                .iter()
                .find(|(f, m, _)| *f == format && *m == n)
                .map(|(.., t)| *t)
        };
        if let (Some(a), Some(b)) = (at(10_000), at(50_000)) {
            println!(
                "load {format:4} growth 10,000 -> 50,000 routes: {:.2}x (linear: 5x)",
                b / a
            );
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
