//! Router benchmark: ours against a literal linear scan and against the floor (the header field
//! checks every recipient must make, then a bare hash-map host lookup plus a matchit path
//! lookup, no predicates), on the same tables and requests.
//! The floor makes both lookups for every request: a Host its map does not hold is looked up
//! in the paths of the rules without hostnames, as any router must; it knows no wildcard
//! hostnames. Before the checks are timed it must find the same rule as ours for the exact,
//! prefix and miss requests.
//!
//! `cargo bench --bench router` runs criterion groups `router/{ours,linear,floor}/{size}/{class}`
//! and writes `router-bench.json` into the cargo target directory with, per table size and
//! router, the median ns per request (median of 3 runs of 15 batches), build time, and bytes
//! per rule, and the growth from the smallest table to the largest. Each of the 3 runs times
//! every size and router in turn, and the ratios (ours over the floor, the linear scan over
//! ours, growth) are medians of each run's own ratios, each comparing measurements taken
//! within a second or so of each other on a machine whose speed drifts. Regex programs are
//! reported separately: the time to compile the table's patterns as the router does (each one,
//! plus one set per hostname group) and their heap bytes are subtracted from the build time and
//! the router's bytes.
//!
//! The mesh table (`mesh/*`, see `mod mesh` below) compares the mesh router with the gateway
//! router on one set of routes attached both ways: 10,000 routes across 1,000 Services.
//!
//! Ours and the floor get the same input: the target as text (ours through
//! `RequestView::target_str`, as a proxy holding an `http::Uri` gives it) and the headers as
//! `(name, value)` pairs.

#![allow(clippy::expect_used)] // a benchmark stops loudly on broken input

use std::alloc::System;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::outcome::{NotFound, Outcome};
use gateway_core::request::field::{name_is_valid, value_has_cr_lf_nul};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

/// Counts heap bytes, to report memory per rule.
#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Live heap bytes now.
fn live() -> isize {
    let s = ALLOC.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

const SIZES: &[usize] = &[10, 100, 1_000, 10_000];
const RULES_PER_ROUTE: usize = 10;

/// One generated rule: host kind, path, predicates.
#[derive(Clone)]
struct GenRule {
    route: usize,
    rule: usize,
    host: Option<String>,
    path_kind: &'static str,
    path: String,
    method: Option<&'static str>,
    header: Option<(&'static str, &'static str)>,
    query: Option<(&'static str, &'static str)>,
}

/// `n` rules in routes of ten (of fewer in a table under 30 rules, so that it too has the three
/// kinds of route): a third with an exact hostname, a third a wildcard, a third none; Exact and
/// PathPrefix paths with 1 % RegularExpression; some method, header, query matches.
fn table(n: usize) -> Vec<GenRule> {
    let per_route = RULES_PER_ROUTE.min(n.div_ceil(3)).max(1);
    (0..n)
        .map(|i| {
            let route = i / per_route;
            let host = match route % 3 {
                0 => Some(format!("svc{route}.example.com")),
                1 => Some(format!("*.t{route}.example.com")),
                _ => None,
            };
            let (path_kind, path) = if i % 100 == 99 {
                ("RegularExpression", format!("/re{i}/[a-z]+/[0-9]+"))
            } else if i % 2 == 0 {
                ("Exact", format!("/api/v{}/items/{i}", route % 7))
            } else {
                ("PathPrefix", format!("/p{route}/s{}", i % per_route))
            };
            GenRule {
                route,
                rule: i % per_route,
                host,
                path_kind,
                path,
                method: (i % 10 == 3).then_some("GET"),
                header: (i % 10 == 5).then_some(("x-tenant", "blue")),
                query: (i % 20 == 7).then_some(("v", "2")),
            }
        })
        .collect()
}

fn manifests(rules: &[GenRule]) -> String {
    let mut items = vec![
        serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "bench"}, "spec": {"controllerName": gateway_core::attach::DEFAULT_CONTROLLER_NAME}}),
        serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "default"},
            "spec": {"gatewayClassName": "bench", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}),
        serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}),
    ];
    for chunk in rules.chunk_by(|a, b| a.route == b.route) {
        let Some(first) = chunk.first() else { continue };
        let hostnames: Vec<&str> = first.host.iter().map(String::as_str).collect();
        let rules: Vec<serde_json::Value> = chunk
            .iter()
            .map(|r| {
                let mut m = serde_json::json!({"path": {"type": r.path_kind, "value": r.path}});
                if let Some(method) = r.method {
                    m["method"] = method.into();
                }
                if let Some((k, v)) = r.header {
                    m["headers"] = serde_json::json!([{"name": k, "value": v}]);
                }
                if let Some((k, v)) = r.query {
                    m["queryParams"] = serde_json::json!([{"name": k, "value": v}]);
                }
                serde_json::json!({"matches": [m], "backendRefs": [{"name": "svc", "port": 80}]})
            })
            .collect();
        items.push(serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": format!("r{}", first.route), "namespace": "default", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"parentRefs": [{"name": "gw"}], "hostnames": hostnames, "rules": rules}}));
    }
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

/// A request of one class, owned.
struct Req {
    class: &'static str,
    host: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Req {
    /// The headers as borrowed pairs, as ours and the floor take them.
    fn pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// Exact hit, prefix hit, wildcard-host hit, miss; each with a few ordinary headers.
fn requests(rules: &[GenRule]) -> Vec<Req> {
    let ordinary = |host: &str| {
        vec![
            ("host".to_owned(), host.to_owned()),
            ("user-agent".to_owned(), "bench/1.0".to_owned()),
            ("accept".to_owned(), "*/*".to_owned()),
            ("x-request-id".to_owned(), "5f0c1a2e".to_owned()),
        ]
    };
    let pick = |pred: &dyn Fn(&GenRule) -> bool| rules.iter().rev().find(|r| pred(r)).cloned();
    let mut out = Vec::new();
    if let Some(r) = pick(&|r| {
        r.path_kind == "Exact"
            && r.host.as_deref().is_some_and(|h| !h.starts_with('*'))
            && r.method.is_none()
            && r.header.is_none()
            && r.query.is_none()
    }) {
        let host = r.host.unwrap_or_default();
        out.push(Req {
            class: "exact",
            headers: ordinary(&host),
            host,
            target: r.path,
        });
    }
    if let Some(r) = pick(&|r| {
        r.path_kind == "PathPrefix"
            && r.host.is_none()
            && r.method.is_none()
            && r.header.is_none()
            && r.query.is_none()
    }) {
        out.push(Req {
            class: "prefix",
            headers: ordinary("anything.example.org"),
            host: "anything.example.org".to_owned(),
            target: format!("{}/deeper/leaf", r.path),
        });
    }
    if let Some(r) = pick(&|r| {
        r.host.as_deref().is_some_and(|h| h.starts_with('*'))
            && r.path_kind != "RegularExpression"
            && r.method.is_none()
            && r.header.is_none()
            && r.query.is_none()
    }) {
        let host = r.host.unwrap_or_default().replacen('*', "app", 1);
        out.push(Req {
            class: "wildcard",
            headers: ordinary(&host),
            host,
            target: r.path,
        });
    }
    out.push(Req {
        class: "miss",
        headers: ordinary("svc0.example.com"),
        host: "svc0.example.com".to_owned(),
        target: "/nothing/here".to_owned(),
    });
    out
}

// === The literal linear reference ===

struct Linear {
    rules: Vec<(GenRule, Option<regex::Regex>)>,
}

impl Linear {
    fn new(rules: &[GenRule]) -> Self {
        Self {
            rules: rules
                .iter()
                .map(|r| {
                    (
                        r.clone(),
                        (r.path_kind == "RegularExpression")
                            .then(|| gateway_core::api::compile_regex(&r.path).ok())
                            .flatten(),
                    )
                })
                .collect(),
        }
    }

    /// Every rule is checked; the spec's order picks the winner.
    fn route(
        &self,
        host: &str,
        path: &str,
        query: Option<&str>,
        method: &str,
        headers: &[(String, String)],
    ) -> Option<(usize, usize)> {
        let mut best: Option<(SpecKey, usize, usize)> = None;
        for (r, re) in &self.rules {
            let (exact_chars, chars) = match &r.host {
                None => (0, 0),
                Some(h) => match h.strip_prefix("*.") {
                    Some(s)
                        if host.len() > s.len() + 1
                            && host.ends_with(s)
                            && host.as_bytes()[host.len() - s.len() - 1] == b'.' =>
                    {
                        (0, h.len())
                    }
                    Some(_) => continue,
                    None if h == host => (h.len(), h.len()),
                    None => continue,
                },
            };
            let (kind, len) = match r.path_kind {
                "Exact" if path == r.path => (2, r.path.len()),
                "RegularExpression" if re.as_ref().is_some_and(|re| re.is_match(path)) => (1, 0),
                "PathPrefix"
                    if path == r.path
                        || (path.starts_with(&r.path)
                            && path.as_bytes().get(r.path.len()) == Some(&b'/')) =>
                {
                    (0, r.path.len())
                }
                _ => continue,
            };
            if r.method.is_some_and(|m| m != method) {
                continue;
            }
            if let Some((k, v)) = r.header
                && !headers
                    .iter()
                    .any(|(hk, hv)| hk.eq_ignore_ascii_case(k) && hv == v)
            {
                continue;
            }
            if let Some((k, v)) = r.query {
                let found = query
                    .into_iter()
                    .flat_map(|q| q.split('&'))
                    .find_map(|p| p.split_once('=').filter(|(n, _)| *n == k))
                    .map(|(_, v)| v);
                if found != Some(v) {
                    continue;
                }
            }
            let key = (
                usize::MAX - exact_chars,
                usize::MAX - chars,
                2 - kind,
                usize::MAX - len,
                r.method.is_none(),
                usize::from(r.header.is_none()),
                usize::from(r.query.is_none()),
            );
            if best.as_ref().is_none_or(|(k, _, _)| key < *k) {
                best = Some((key, r.route, r.rule));
            }
        }
        best.map(|(_, route, rule)| (route, rule))
    }
}

/// The spec's order of a matching rule: hostname characters (non-wildcard, then any), path
/// kind and length, method, header and query matches; smaller wins.
type SpecKey = (usize, usize, u8, usize, bool, usize, usize);

// === The floor: a host hash map and a matchit path router, no predicates ===

struct Floor {
    hosts: HashMap<String, matchit::Router<u32>>,
    /// The paths of rules without hostnames: where a Host the map does not hold is looked up.
    any: matchit::Router<u32>,
}

impl Floor {
    fn new(rules: &[GenRule]) -> Self {
        let mut hosts: HashMap<String, matchit::Router<u32>> = HashMap::new();
        let mut any = matchit::Router::new();
        for (i, r) in rules.iter().enumerate() {
            if r.path_kind == "RegularExpression" {
                continue;
            }
            let router = match &r.host {
                Some(host) => hosts.entry(host.clone()).or_default(),
                None => &mut any,
            };
            let _ = router.insert(r.path.clone(), i as u32);
            if r.path_kind == "PathPrefix" {
                let _ = router.insert(format!("{}/{{*rest}}", r.path), i as u32);
            }
        }
        Self { hosts, any }
    }

    /// The least any router must do with the same request: refuse the fields RFC 9110 says a
    /// recipient must refuse (CR, LF or NUL in a value; a name that is not a name), with the
    /// library's own public checks, as ours does; find the Host header, drop its port, split
    /// the query off, then one hash lookup and one matchit lookup (in the Host's paths, or in
    /// those of the rules without hostnames when the map does not hold the Host).
    fn route(&self, target: &str, headers: &[(&str, &str)]) -> Option<u32> {
        if headers
            .iter()
            .any(|(k, v)| !name_is_valid(k.as_bytes()) || value_has_cr_lf_nul(v.as_bytes()))
        {
            return None;
        }
        let host = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| *v)?;
        let host = host.split(':').next().unwrap_or(host);
        let path = target.split('?').next().unwrap_or(target);
        let paths = self.hosts.get(host).unwrap_or(&self.any);
        paths.at(path).ok().map(|m| *m.value)
    }
}

fn split(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    }
}

fn build(n: usize) -> (Config, Router, Duration, isize, Vec<GenRule>) {
    let rules = table(n);
    let text = manifests(&rules);
    let loaded =
        Snapshot::load(text.as_bytes(), &LoadOptions::default()).expect("generated manifests load");
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    let before = live();
    let start = Instant::now();
    let router = Router::build(
        &config,
        &GatewayRef::new("default", "gw"),
        PathPolicy::secure(),
    )
    .expect("router builds");
    let took = start.elapsed();
    let bytes = live() - before;
    (config, router, took, bytes, rules)
}

/// Median ns per request over `batches` batches, cycling through the requests.
fn median_ns(batches: usize, per_batch: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for i in 0..per_batch {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// What the timed runs need of one table size.
struct Table {
    n: usize,
    router: Router,
    floor: Floor,
    linear: Linear,
    reqs: Vec<Req>,
    build_without_regex: Duration,
    regex_time: Duration,
    bytes: isize,
    regex_bytes: isize,
}

/// One timed run of one size: ns per request for ours, the linear scan and the floor.
#[derive(Clone, Copy)]
struct Run {
    ours: f64,
    linear: f64,
    floor: f64,
}

fn timed_run(s: &Table) -> Run {
    let pairs: Vec<Vec<(&str, &str)>> = s.reqs.iter().map(Req::pairs).collect();
    let (router, floor, linear, reqs) = (&s.router, &s.floor, &s.linear, &s.reqs);
    let per_batch_fast = 20_000;
    let per_batch_linear = if s.n >= 1_000 { 40 } else { 2_000 };
    let ours = median_ns(15, per_batch_fast, |i| {
        let k = i % reqs.len();
        let d = router.route(
            &RequestView::new("GET", b"", Headers::Pairs(&pairs[k]))
                .target_str(black_box(&reqs[k].target)),
        );
        black_box(d.outcome());
    });
    let floor = median_ns(15, per_batch_fast, |i| {
        let k = i % reqs.len();
        black_box(floor.route(black_box(&reqs[k].target), &pairs[k]));
    });
    let linear = median_ns(15, per_batch_linear, |i| {
        let r = &reqs[i % reqs.len()];
        let (path, query) = split(&r.target);
        black_box(linear.route(black_box(&r.host), path, query, "GET", &r.headers));
    });
    Run {
        ours,
        linear,
        floor,
    }
}

/// The middle of three values.
fn median3(mut v: [f64; 3]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[1]
}

fn bench(c: &mut Criterion) {
    let mut tables = Vec::new();
    for &n in SIZES {
        let (_config, router, build_time, bytes, rules) = build(n);
        let reqs = requests(&rules);
        // The same four classes at every size: growth compares like with like.
        let classes: Vec<&str> = reqs.iter().map(|r| r.class).collect();
        assert_eq!(
            classes,
            ["exact", "prefix", "wildcard", "miss"],
            "at {n} rules"
        );
        let linear = Linear::new(&rules);
        let floor = Floor::new(&rules);
        // Regex programs, reported apart from the per-rule figures: their memory, and the time
        // to compile them as the router does (each pattern, plus one set per hostname group).
        let regex_before = live();
        let regex_start = Instant::now();
        let regexes: Vec<_> = rules
            .iter()
            .filter(|r| r.path_kind == "RegularExpression")
            .filter_map(|r| gateway_core::api::compile_regex(&r.path).ok())
            .collect();
        let mut groups: HashMap<Option<&str>, Vec<&str>> = HashMap::new();
        for (r, re) in rules
            .iter()
            .filter(|r| r.path_kind == "RegularExpression")
            .zip(&regexes)
        {
            let group = r.host.as_deref().map(|h| h.trim_start_matches("*."));
            groups.entry(group).or_default().push(re.as_str());
        }
        let sets: Vec<_> = groups
            .values()
            .filter_map(|patterns| regex::RegexSet::new(patterns).ok())
            .collect();
        let regex_time = regex_start.elapsed();
        let regex_bytes = live() - regex_before;
        drop(sets);
        drop(regexes);
        let build_without_regex = build_time.saturating_sub(regex_time);

        // Every router must agree on the classes before they are timed.
        for r in &reqs {
            let pairs = r.pairs();
            let d = router
                .route(&RequestView::new("GET", b"", Headers::Pairs(&pairs)).target_str(&r.target));
            let (path, query) = split(&r.target);
            let want = linear.route(&r.host, path, query, "GET", &r.headers);
            let got = d.route().zip(d.rule()).map(|(rt, ru)| {
                (
                    rt.name
                        .trim_start_matches('r')
                        .parse::<usize>()
                        .unwrap_or(usize::MAX),
                    ru.index,
                )
            });
            assert_eq!(got, want, "{} request disagrees at {n} rules", r.class);
            assert_eq!(
                r.class == "miss",
                d.outcome() == Outcome::NotFound(NotFound::NoRule)
            );
            // The floor does real lookups: it finds the same rule where it can (it knows no
            // wildcard hostnames and no predicates).
            if r.class != "wildcard" {
                let floor_rule = floor.route(&r.target, &pairs).map(|i| i as usize);
                let ours = got.and_then(|(route, rule)| {
                    rules
                        .iter()
                        .position(|g| g.route == route && g.rule == rule)
                });
                assert_eq!(
                    floor_rule, ours,
                    "the floor's {} request at {n} rules",
                    r.class
                );
            }
        }

        let pairs: Vec<Vec<(&str, &str)>> = reqs.iter().map(Req::pairs).collect();
        let mut group = c.benchmark_group(format!("router/{n}"));
        group
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        for (i, r) in reqs.iter().enumerate() {
            group.bench_function(format!("ours/{}", r.class), |b| {
                b.iter(|| {
                    let d = router.route(
                        &RequestView::new("GET", b"", Headers::Pairs(&pairs[i]))
                            .target_str(black_box(&r.target)),
                    );
                    assert_eq!(d.outcome() == Outcome::Forward, r.class != "miss");
                })
            });
            let (path, query) = split(&r.target);
            group.bench_function(format!("linear/{}", r.class), |b| {
                b.iter(|| {
                    black_box(linear.route(black_box(&r.host), path, query, "GET", &r.headers))
                })
            });
            group.bench_function(format!("floor/{}", r.class), |b| {
                b.iter(|| black_box(floor.route(black_box(&r.target), &pairs[i])))
            });
        }
        group.finish();

        tables.push(Table {
            n,
            router,
            floor,
            linear,
            reqs,
            build_without_regex,
            regex_time,
            bytes,
            regex_bytes,
        });
    }

    // Medians for the JSON report, only under `cargo bench` (`cargo test --benches` runs each
    // benchmark once and skips them): 3 runs, each the median of 15 batches per router and
    // size. Each run times every size in turn, so that the ratios between sizes (growth) and
    // between routers compare measurements of the same moment on a machine whose speed drifts.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runs: Vec<Vec<Run>> = (0..3)
        .map(|_| tables.iter().map(timed_run).collect())
        .collect();
    let mut report = Vec::new();
    for (i, s) in tables.iter().enumerate() {
        let of = |f: &dyn Fn(&Run) -> f64| median3([0, 1, 2].map(|r| f(&runs[r][i])));
        let (ours, linear_ns, floor_ns) = (of(&|r| r.ours), of(&|r| r.linear), of(&|r| r.floor));
        let ratio_floor = of(&|r| r.ours / r.floor);
        let ratio_linear = of(&|r| r.linear / r.ours);
        let n = s.n;
        println!(
            "router {n:>6} rules: ours {ours:8.1} ns, floor {floor_ns:7.1} ns ({ratio_floor:.2}x), linear {linear_ns:11.1} ns ({ratio_linear:.0}x slower), build {:.2} ms (+{:.2} ms regex), {:.0} B/rule (+{} B regex)",
            s.build_without_regex.as_secs_f64() * 1e3,
            s.regex_time.as_secs_f64() * 1e3,
            (s.bytes - s.regex_bytes) as f64 / n as f64,
            s.regex_bytes
        );
        report.push(serde_json::json!({
            "rules": n,
            "ours": {
                "median_ns": ours,
                "build_ms": s.build_without_regex.as_secs_f64() * 1e3,
                "regex_build_ms": s.regex_time.as_secs_f64() * 1e3,
                "bytes_per_rule": (s.bytes - s.regex_bytes) as f64 / n as f64,
                "regex_bytes": s.regex_bytes,
            },
            "linear": {"median_ns": linear_ns},
            "floor": {"median_ns": floor_ns},
            "ours_over_floor": ratio_floor,
            "linear_over_ours": ratio_linear,
        }));
    }
    let last = tables.len() - 1;
    let growth = median3([0, 1, 2].map(|r| runs[r][last].ours / runs[r][0].ours));
    println!(
        "router growth {} -> {} rules: {growth:.2}x (median of the 3 runs' own ratios)",
        SIZES[0], SIZES[last]
    );
    let report = serde_json::json!({"sizes": report, "growth": growth});
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = dir.join("router-bench.json");
    if std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )
    .is_ok()
    {
        println!("wrote {}", path.display());
    }
}

criterion_group!(benches, bench, mesh::bench);
criterion_main!(benches);

/// The mesh router against the gateway router on the same routes: 1,000 Services with ten
/// single-rule HTTPRoutes each (10,000 routes), attached once to their Service (mesh) and once
/// to a Gateway listener with the Service's name as hostname (gateway). The request classes
/// are the same for both: an Exact hit, a PathPrefix hit on a deeper path, and a miss (404);
/// the mesh also routes by cluster IP (`address`). Under `cargo bench` it prints the medians
/// and the mesh-over-gateway ratio per class (median of 3 runs' own ratios).
mod mesh {
    use std::hint::black_box;
    use std::net::IpAddr;
    use std::time::Duration;

    use criterion::Criterion;
    use gateway_core::api::{LoadOptions, Snapshot};
    use gateway_core::attach::{AttachOptions, Config};
    use gateway_core::outcome::{NotFound, Outcome};
    use gateway_core::request::normalize::PathPolicy;
    use gateway_core::request::{Headers, RequestView};
    use gateway_core::route::{Destination, GatewayRef, MeshRoute, Router};

    const SERVICES: usize = 1_000;
    const ROUTES_PER_SERVICE: usize = 10;

    /// The path match of route `j` of Service `k`: Exact for even `j`, PathPrefix for odd.
    fn path(j: usize, k: usize) -> (&'static str, String) {
        if j.is_multiple_of(2) {
            ("Exact", format!("/api/v{j}/items/{k}"))
        } else {
            ("PathPrefix", format!("/p{j}/s{k}"))
        }
    }

    fn ip(k: usize) -> IpAddr {
        IpAddr::from([10, 1, (k / 256) as u8, (k % 256) as u8])
    }

    /// The manifests: Services, then the routes attached to a Service (`mesh`) or to the
    /// Gateway by hostname.
    fn manifests(mesh: bool) -> String {
        let mut items = vec![
            serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "bench"}, "spec": {"controllerName": gateway_core::attach::DEFAULT_CONTROLLER_NAME}}),
            serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "default"},
                "spec": {"gatewayClassName": "bench", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}),
        ];
        for k in 0..SERVICES {
            items.push(serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("s{k}"), "namespace": "default"},
                "spec": {"clusterIP": ip(k).to_string(), "ports": [{"port": 80, "name": "http"}]}}));
            for j in 0..ROUTES_PER_SERVICE {
                let (kind, value) = path(j, k);
                let rule = serde_json::json!({"matches": [{"path": {"type": kind, "value": value}}], "backendRefs": [{"name": format!("s{k}"), "port": 80}]});
                let (parent, hostnames) = if mesh {
                    (
                        serde_json::json!({"group": "", "kind": "Service", "name": format!("s{k}")}),
                        serde_json::json!([]),
                    )
                } else {
                    (
                        serde_json::json!({"name": "gw"}),
                        serde_json::json!([format!("s{k}.default.svc.cluster.local")]),
                    )
                };
                items.push(serde_json::json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                    "metadata": {"name": format!("s{k}-r{j}"), "namespace": "default", "creationTimestamp": "2024-01-01T00:00:00Z"},
                    "spec": {"parentRefs": [parent], "hostnames": hostnames, "rules": [rule]}}));
            }
        }
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
    }

    fn router(mesh: bool) -> Router {
        let text = manifests(mesh);
        // 11,002 resources: over the default limit of 10,000.
        let mut load = LoadOptions::default();
        load.max_resources = 20_000;
        let loaded = Snapshot::load(text.as_bytes(), &load).expect("generated manifests load");
        let mut options = AttachOptions::default();
        options.mesh = mesh;
        let config = Config::new(loaded.snapshot, options);
        if mesh {
            Router::build_mesh(&config, PathPolicy::secure()).expect("mesh router builds")
        } else {
            Router::build(
                &config,
                &GatewayRef::new("default", "gw"),
                PathPolicy::secure(),
            )
            .expect("router builds")
        }
    }

    /// One request class: target, the route it must reach (`None`: a 404), and whether the
    /// mesh addresses it by cluster IP.
    struct Class {
        name: &'static str,
        target: String,
        want: Option<String>,
        by_address: bool,
    }

    const K: usize = 777;

    fn classes() -> Vec<Class> {
        vec![
            Class {
                name: "exact",
                target: path(4, K).1,
                want: Some(format!("s{K}-r4")),
                by_address: false,
            },
            Class {
                name: "prefix",
                target: format!("{}/deeper/leaf", path(7, K).1),
                want: Some(format!("s{K}-r7")),
                by_address: false,
            },
            Class {
                name: "miss",
                target: "/nothing/here".to_owned(),
                want: None,
                by_address: false,
            },
            Class {
                name: "address",
                target: path(4, K).1,
                want: Some(format!("s{K}-r4")),
                by_address: true,
            },
        ]
    }

    fn headers(host: &str) -> Vec<(&str, &str)> {
        vec![
            ("host", host),
            ("user-agent", "bench/1.0"),
            ("accept", "*/*"),
            ("x-request-id", "5f0c1a2e"),
        ]
    }

    const HOST: &str = "s777.default.svc.cluster.local";

    fn mesh_route(router: &Router, class: &Class, pairs: &[(&str, &str)]) -> Outcome {
        let req = RequestView::new("GET", b"", Headers::Pairs(pairs))
            .target_str(black_box(&class.target));
        let to = if class.by_address {
            Destination::address(ip(K), 80)
        } else {
            Destination::service("default", "s777", 80)
        };
        router.route_mesh(&req, "default", black_box(&to)).outcome()
    }

    fn gateway_route(router: &Router, class: &Class, pairs: &[(&str, &str)]) -> Outcome {
        let req = RequestView::new("GET", b"", Headers::Pairs(pairs))
            .target_str(black_box(&class.target));
        router.route(&req).outcome()
    }

    pub(super) fn bench(c: &mut Criterion) {
        let mesh = router(true);
        let gateway = router(false);
        let pairs = headers(HOST);
        // Agreement first: both reach the same route, and a miss is a 404 for both.
        for class in classes() {
            let req =
                RequestView::new("GET", b"", Headers::Pairs(&pairs)).target_str(&class.target);
            let to = if class.by_address {
                Destination::address(ip(K), 80)
            } else {
                Destination::service("default", "s777", 80)
            };
            let MeshRoute::Routed(m) = mesh.route_mesh(&req, "default", &to) else {
                panic!("{}: the Service has routes", class.name)
            };
            let g = gateway.route(&req);
            let name =
                |d: &gateway_core::route::Decision<'_, '_>| d.route().map(|r| r.name.to_owned());
            assert_eq!(name(&m), class.want, "mesh {}", class.name);
            assert_eq!(name(&g), class.want, "gateway {}", class.name);
            if class.want.is_none() {
                assert_eq!(m.outcome(), Outcome::NotFound(NotFound::NoRule));
                assert_eq!(g.outcome(), Outcome::NotFound(NotFound::NoRule));
            }
        }
        let mut group = c.benchmark_group("mesh/10000");
        group
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        for class in classes() {
            let forward = class.want.is_some();
            group.bench_function(format!("mesh/{}", class.name), |b| {
                b.iter(|| {
                    assert_eq!(
                        mesh_route(&mesh, &class, &pairs) == Outcome::Forward,
                        forward
                    )
                })
            });
            if !class.by_address {
                group.bench_function(format!("gateway/{}", class.name), |b| {
                    b.iter(|| {
                        assert_eq!(
                            gateway_route(&gateway, &class, &pairs) == Outcome::Forward,
                            forward
                        )
                    })
                });
            }
        }
        group.finish();
        if !std::env::args().any(|a| a == "--bench") {
            return;
        }
        let gateway_class = |class: &Class| Class {
            name: class.name,
            target: class.target.clone(),
            want: class.want.clone(),
            by_address: false,
        };
        for class in classes() {
            let runs: Vec<(f64, f64)> = (0..3)
                .map(|_| {
                    let m = super::median_ns(15, 20_000, |_| {
                        black_box(mesh_route(&mesh, &class, &pairs));
                    });
                    let g_class = gateway_class(&class);
                    let g = super::median_ns(15, 20_000, |_| {
                        black_box(gateway_route(&gateway, &g_class, &pairs));
                    });
                    (m, g)
                })
                .collect();
            let m = super::median3([runs[0].0, runs[1].0, runs[2].0]);
            let g = super::median3([runs[0].1, runs[1].1, runs[2].1]);
            let ratio = super::median3([0, 1, 2].map(|r| runs[r].0 / runs[r].1));
            println!(
                "mesh 10000 routes / 1000 Services, {:>7}: mesh {m:7.1} ns, gateway {g:7.1} ns ({ratio:.2}x)",
                class.name
            );
        }
    }
}
