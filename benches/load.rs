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
//! and the growth from 10,000 to 50,000 routes. Group `build/{n}/{ours,reference}` times
//! `Router::build` alone against [`reference_build`], a table of the same rules grouped by
//! hostname and sorted by precedence (issue #26's build target). `cargo test --benches` runs
//! each criterion function once on the 1,000-route input and skips the rest.

#![allow(clippy::expect_used)] // a benchmark stops loudly on broken input

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_core::api::{LoadOptions, PathMatchType, Resource, Snapshot};
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

// === The reference build: rules grouped by hostname, sorted by precedence ===

/// One match of a rule, typed as a lookup would use it: what linkerd's route crate keeps for
/// a route (the path kind and value, the method, lower-cased header names with their values,
/// query parameters) and no more.
struct RefMatch {
    path: RefPath,
    method: Option<String>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

enum RefPath {
    Exact(String),
    Prefix(String),
    /// The pattern as written: regex programs are compiled apart, for ours as here.
    Regex(String),
}

/// A rule's match with what the lookup returns: the backends as (namespace, name, port,
/// weight).
struct RefRule {
    route: usize,
    rule: usize,
    matched: RefMatch,
    backends: Vec<(String, String, i32, i32)>,
}

/// The reference `Router::build` is held to (issue #26): every HTTPRoute match of the
/// snapshot typed once, grouped by hostname (`""` for routes without hostnames) and each
/// group sorted by the spec's precedence (path kind, path length, method, header and query
/// counts, then creation time and namespace/name), as linkerd's route crate keeps its table.
/// It reads the routes as loaded and skips attachment (ours is timed from the attached
/// configuration), validation, filters, and regex compilation.
fn reference_build(snapshot: &Snapshot) -> Vec<(String, Vec<RefRule>)> {
    let mut groups: std::collections::HashMap<String, Vec<RefRule>> =
        std::collections::HashMap::new();
    let mut order = Vec::new();
    for resource in snapshot.resources() {
        let Resource::HttpRoute(r) = resource else {
            continue;
        };
        let namespace = r.metadata.namespace.clone().unwrap_or_default();
        order.push((
            r.metadata.creation_timestamp.clone(),
            namespace.clone(),
            r.metadata.name.clone(),
        ));
        let hosts: Vec<&str> = if r.spec.hostnames.is_empty() {
            vec![""]
        } else {
            r.spec.hostnames.iter().map(String::as_str).collect()
        };
        for (index, rule) in r.spec.rules.iter().enumerate() {
            for m in &rule.matches {
                for host in &hosts {
                    let path = m.path.clone().unwrap_or_default();
                    let matched = RefMatch {
                        path: match path.type_ {
                            PathMatchType::Exact => RefPath::Exact(path.value),
                            PathMatchType::RegularExpression => RefPath::Regex(path.value),
                            _ => RefPath::Prefix(path.value),
                        },
                        method: m.method.as_ref().map(|m| m.as_str().to_owned()),
                        headers: m
                            .headers
                            .iter()
                            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
                            .collect(),
                        query: m
                            .query_params
                            .iter()
                            .map(|q| (q.name.clone(), q.value.clone()))
                            .collect(),
                    };
                    let backends = rule
                        .backend_refs
                        .iter()
                        .map(|b| {
                            (
                                b.backend
                                    .namespace
                                    .clone()
                                    .unwrap_or_else(|| namespace.clone()),
                                b.backend.name.clone(),
                                b.backend.port.unwrap_or_default(),
                                b.weight,
                            )
                        })
                        .collect();
                    groups.entry((*host).to_owned()).or_default().push(RefRule {
                        route: order.len() - 1,
                        rule: index,
                        matched,
                        backends,
                    });
                }
            }
        }
    }
    let mut table: Vec<(String, Vec<RefRule>)> = groups.into_iter().collect();
    for (_, rules) in &mut table {
        rules.sort_by(|a, b| {
            let key = |r: &RefRule| {
                let (kind, len) = match &r.matched.path {
                    RefPath::Exact(p) => (0, p.len()),
                    RefPath::Regex(p) => (1, p.len()),
                    RefPath::Prefix(p) => (2, p.len()),
                };
                (
                    kind,
                    std::cmp::Reverse(len),
                    r.matched.method.is_none(),
                    std::cmp::Reverse(r.matched.headers.len()),
                    std::cmp::Reverse(r.matched.query.len()),
                )
            };
            key(a)
                .cmp(&key(b))
                .then_with(|| order[a.route].cmp(&order[b.route]))
                .then(a.rule.cmp(&b.rule))
        });
    }
    table
}

/// `Router::build` from the attached configuration against [`reference_build`] from the same
/// configuration's snapshot: criterion group `build/{n}/{ours,reference}`, and with `--bench`
/// the medians of 5 alternating timings and the median of their ratios.
fn build_against_reference(
    c: &mut Criterion,
    n: usize,
    json: &str,
    summary: bool,
    lines: &mut Vec<String>,
) {
    let (config, _, _) = ours(json.as_bytes());
    let gateway = GatewayRef::new("bench", "gw");
    let build = || Router::build(&config, &gateway, PathPolicy::secure()).expect("router builds");
    let reference = || reference_build(config.snapshot());
    assert_eq!(
        reference().iter().map(|(_, r)| r.len()).sum::<usize>(),
        n,
        "build {n}: the reference holds every rule"
    );
    assert!(
        reference()
            .iter()
            .all(|(_, rules)| rules.iter().all(|r| r.backends.len() == 1)),
        "build {n}: the reference keeps each rule's backend"
    );
    let mut group = c.benchmark_group(format!("build/{n}"));
    group.sample_size(10);
    group.bench_function("ours", |b| b.iter_with_large_drop(build));
    group.bench_function("reference", |b| b.iter_with_large_drop(reference));
    group.finish();
    if !summary {
        return;
    }
    let (mut ours_s, mut reference_s, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        let start = Instant::now();
        let router = black_box(build());
        let o = start.elapsed().as_secs_f64();
        drop(router);
        let start = Instant::now();
        let table = black_box(reference());
        let r = start.elapsed().as_secs_f64();
        drop(table);
        ours_s.push(o);
        reference_s.push(r);
        ratios.push(o / r);
    }
    lines.push(format!(
        "build {n:>6} rules: Router::build {:.2} ms, reference {:.2} ms, ratio {:.2}x",
        median(ours_s) * 1e3,
        median(reference_s) * 1e3,
        median(ratios),
    ));
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
        build_against_reference(c, n, &json, summary, &mut lines);
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
