//! The router agrees with the literal reference on generated tables and requests, and
//! decisions do not depend on the order of route documents.

use gateway_core::api::Resource;
use proptest::prelude::*;

use crate::reference;
use crate::support::*;

pub(crate) fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

const HOSTS: &[&str] = &[
    "a.example.com",
    "b.example.com",
    "x.a.example.com",
    "example.com",
];
const ROUTE_HOSTS: &[&str] = &[
    "a.example.com",
    "*.example.com",
    "*.a.example.com",
    "example.com",
];
const SEGMENTS: &[&str] = &["a", "b", "c"];
const TIMES: &[&str] = &[
    "2024-01-01T00:00:00Z",
    "2024-02-01T00:00:00Z",
    "2024-03-01T00:00:00Z",
];

#[derive(Clone, Debug)]
struct GenMatch {
    kind: u8,
    path: String,
    method: Option<&'static str>,
    headers: Vec<(&'static str, &'static str)>,
    query: Vec<(&'static str, &'static str)>,
}

#[derive(Clone, Debug)]
pub(crate) struct GenRoute {
    name: String,
    time: &'static str,
    hostnames: Vec<&'static str>,
    rules: Vec<Vec<GenMatch>>,
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SEGMENTS), 0..3)
        .prop_map(|s| format!("/{}", s.join("/")))
}

fn kv() -> impl Strategy<Value = (&'static str, &'static str)> {
    (
        prop::sample::select(&["x", "y"][..]),
        prop::sample::select(&["1", "2"][..]),
    )
}

fn gen_match() -> impl Strategy<Value = GenMatch> {
    (
        0u8..10,
        path(),
        prop::option::of(prop::sample::select(&["GET", "POST"][..])),
        prop::collection::vec(kv(), 0..2),
        prop::collection::vec(kv(), 0..2),
    )
        .prop_map(|(k, path, method, mut headers, mut query)| {
            headers.dedup_by_key(|h| h.0);
            query.dedup_by_key(|q| q.0);
            GenMatch {
                kind: if k < 4 {
                    0
                } else if k < 9 {
                    1
                } else {
                    2
                },
                path,
                method,
                headers,
                query,
            }
        })
}

fn gen_route(i: usize) -> impl Strategy<Value = GenRoute> {
    (
        prop::sample::select(TIMES),
        prop::sample::subsequence(ROUTE_HOSTS, 0..3),
        prop::collection::vec(prop::collection::vec(gen_match(), 1..3), 1..4),
    )
        .prop_map(move |(time, hostnames, rules)| GenRoute {
            name: format!("r{i}"),
            time,
            hostnames,
            rules,
        })
}

pub(crate) fn table() -> impl Strategy<Value = Vec<GenRoute>> {
    (1usize..6).prop_flat_map(|n| (0..n).map(gen_route).collect::<Vec<_>>())
}

pub(crate) fn yaml(routes: &[GenRoute]) -> String {
    let mut out = String::new();
    for r in routes {
        let hostnames: Vec<String> = r.hostnames.iter().map(|h| format!("'{h}'")).collect();
        out.push_str(&format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: {}, namespace: default, creationTimestamp: '{}'}}\nspec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [{}]\n  rules:\n",
            r.name,
            r.time,
            hostnames.join(", ")
        ));
        for rule in &r.rules {
            out.push_str("  - backendRefs: [{name: a, port: 80}]\n    matches:\n");
            for m in rule {
                let (kind, value) = match m.kind {
                    0 => ("Exact", m.path.clone()),
                    1 => ("PathPrefix", m.path.clone()),
                    _ => ("RegularExpression", format!("{}.*", m.path)),
                };
                out.push_str(&format!("    - path: {{type: {kind}, value: '{value}'}}\n"));
                if let Some(method) = m.method {
                    out.push_str(&format!("      method: {method}\n"));
                }
                if !m.headers.is_empty() {
                    let hs: Vec<String> = m
                        .headers
                        .iter()
                        .map(|(k, v)| format!("{{name: {k}, value: '{v}'}}"))
                        .collect();
                    out.push_str(&format!("      headers: [{}]\n", hs.join(", ")));
                }
                if !m.query.is_empty() {
                    let qs: Vec<String> = m
                        .query
                        .iter()
                        .map(|(k, v)| format!("{{name: {k}, value: '{v}'}}"))
                        .collect();
                    out.push_str(&format!("      queryParams: [{}]\n", qs.join(", ")));
                }
            }
        }
        out.push_str("---\n");
    }
    out
}

#[derive(Clone, Debug)]
pub(crate) struct GenRequest {
    host: &'static str,
    path: String,
    pub(crate) method: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    query: Vec<(&'static str, &'static str)>,
}

pub(crate) fn request() -> impl Strategy<Value = GenRequest> {
    (
        prop::sample::select(HOSTS),
        path(),
        prop::sample::select(&["GET", "POST"][..]),
        prop::collection::vec(kv(), 0..3),
        prop::collection::vec(kv(), 0..3),
    )
        .prop_map(|(host, path, method, headers, query)| GenRequest {
            host,
            path,
            method,
            headers,
            query,
        })
}

impl GenRequest {
    fn query(&self) -> String {
        let pairs: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("&")
    }

    pub(crate) fn target(&self) -> String {
        match self.query() {
            q if q.is_empty() => self.path.clone(),
            q => format!("{}?{q}", self.path),
        }
    }

    pub(crate) fn headers(&self) -> Vec<(&'static str, &'static str)> {
        let mut all = vec![("host", self.host)];
        all.extend(self.headers.iter().copied());
        all
    }

    fn route(&self, router: &gateway_core::route::Router) -> Routed {
        route(router, self.method, &self.target(), &self.headers())
    }

    /// Asks the literal reference `f` about this request.
    fn ask<T>(&self, f: impl FnOnce(&reference::Request<'_>) -> T) -> T {
        let query = self.query();
        f(&reference::Request {
            host: self.host,
            path: &self.path,
            query: (!query.is_empty()).then_some(query.as_str()),
            method: self.method,
            headers: &self.headers,
        })
    }
}

/// The HTTPRoutes of a configuration as written.
fn wire(config: &gateway_core::attach::Config) -> Vec<gateway_core::api::HttpRoute> {
    config
        .snapshot()
        .resources()
        .filter_map(|r| match r {
            Resource::HttpRoute(h) => Some(h.clone()),
            _ => None,
        })
        .collect()
}

fn check(routes: &[GenRoute], requests: &[GenRequest]) -> Result<(), TestCaseError> {
    let config = with_routes(&yaml(routes));
    let router = router(&config);
    let wire = wire(&config);
    for req in requests {
        let got = req.route(&router);
        let want = req.ask(|r| reference::route(&wire, r));
        let got = got.route.zip(got.rule);
        prop_assert_eq!(got, want, "request {:?}\nroutes:\n{}", req, yaml(routes));
    }
    Ok(())
}

/// A table, a permutation of its documents and, for each route, a permutation of its rules.
fn shuffled_table() -> impl Strategy<Value = (Vec<GenRoute>, Vec<usize>, Vec<Vec<usize>>)> {
    table().prop_flat_map(|routes| {
        let documents = Just((0..routes.len()).collect::<Vec<_>>()).prop_shuffle();
        let rules: Vec<_> = routes
            .iter()
            .map(|r| Just((0..r.rules.len()).collect::<Vec<_>>()).prop_shuffle())
            .collect();
        (Just(routes), documents, rules)
    })
}

/// Reorders documents and rules: `rules[i][k]` is the original index of route `i`'s rule `k`.
fn reorder(routes: &[GenRoute], documents: &[usize], rules: &[Vec<usize>]) -> Vec<GenRoute> {
    documents
        .iter()
        .filter_map(|&d| {
            let mut route = routes.get(d)?.clone();
            route.rules = rules
                .get(d)?
                .iter()
                .filter_map(|&k| routes.get(d)?.rules.get(k).cloned())
                .collect();
            Some(route)
        })
        .collect()
}

fn check_order(
    routes: &[GenRoute],
    documents: &[usize],
    rules: &[Vec<usize>],
    requests: &[GenRequest],
) -> Result<(), TestCaseError> {
    let original = with_routes(&yaml(routes));
    let reordered = reorder(routes, documents, rules);
    let (a, b) = (router(&original), router(&with_routes(&yaml(&reordered))));
    let wire = wire(&original);
    for req in requests {
        let before = req.route(&a);
        let mut after = req.route(&b);
        // Name the reordered rule by its original index.
        after.rule = after.rule.and_then(|k| {
            let i = routes
                .iter()
                .position(|r| Some(&r.name) == after.route.as_ref())?;
            rules.get(i)?.get(k).copied()
        });
        if before.rule != after.rule && req.ask(|r| reference::tied_on_rule_order(&wire, r)) {
            // Only rule order separates the candidates: first rule wins, in either order.
            prop_assert_eq!(&before.route, &after.route);
            continue;
        }
        prop_assert_eq!(
            &before,
            &after,
            "request {:?}\nroutes:\n{}\nreordered:\n{}",
            req,
            yaml(routes),
            yaml(&reordered)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// The indexed router and the literal reference choose the same route and rule.
    #[test]
    fn router_agrees_with_the_linear_reference(routes in table(), requests in prop::collection::vec(request(), 1..6)) {
        check(&routes, &requests)?;
    }

    /// Reordering route documents, and rules within a route, changes no decision unless only
    /// rule order told two rules apart.
    #[test]
    fn decisions_do_not_depend_on_document_or_rule_order(
        (routes, documents, rules) in shuffled_table(),
        requests in prop::collection::vec(request(), 1..6),
    ) {
        check_order(&routes, &documents, &rules, &requests)?;
    }
}
