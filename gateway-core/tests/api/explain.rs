//! `Router::explain`, `Router::candidates` and `Router::shadowed`: the candidates of the chosen
//! listener in the router's precedence order, typed verdicts, a winner that is always the rule
//! `Router::route` chose, and ListenerSet listeners covered like the Gateway's own.

use gateway_core::outcome::{BadRequest, NotFound, Outcome};
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{
    Explanation, HostnameGroup, Mismatch, PathMatch, PrecedenceKey, RuleTable, ValueMatch, Verdict,
};
use proptest::prelude::*;

use crate::properties;
use crate::support::*;

/// Rules on `api.example.com` for every path kind and predicate, plus routes on a longer
/// wildcard, a shorter wildcard and no hostname.
const ROUTES: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: default, creationTimestamp: '2025-01-01T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  hostnames: [api.example.com]
  rules:
  - name: users-prefix
    matches: [{path: {type: PathPrefix, value: /users}}]
    backendRefs: [{name: a, port: 80}]
  - name: users-query
    matches: [{path: {type: PathPrefix, value: /users}, queryParams: [{name: beta, value: '1'}]}]
    backendRefs: [{name: a, port: 80}]
  - name: users-beta
    matches: [{path: {type: PathPrefix, value: /users}, headers: [{name: x-beta, value: '1'}]}]
    backendRefs: [{name: b, port: 80}]
  - name: users-post
    matches: [{path: {type: PathPrefix, value: /users}, method: POST}]
    backendRefs: [{name: b, port: 80}]
  - name: users-me
    matches: [{path: {type: PathPrefix, value: /users/me/}}]
    backendRefs: [{name: b, port: 80}]
  - name: versioned
    matches: [{path: {type: RegularExpression, value: '/v[0-9]+/.*'}}]
    backendRefs: [{name: c, port: 80}]
  - name: users-exact
    matches: [{path: {type: Exact, value: /users}}]
    backendRefs: [{name: c, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: wide, namespace: default, creationTimestamp: '2025-01-02T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  hostnames: ['*.example.com']
  rules:
  - {name: all, backendRefs: [{name: d, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: narrow, namespace: default, creationTimestamp: '2025-01-02T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  hostnames: ['*.eu.example.com']
  rules:
  - {name: all, backendRefs: [{name: e, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: fallback, namespace: default, creationTimestamp: '2025-01-02T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  rules:
  - {name: all, backendRefs: [{name: f, port: 80}]}
---
";

/// `route/rule` of every candidate, in order.
fn order(e: &Explanation<'_>) -> Vec<String> {
    e.candidates
        .iter()
        .map(|c| {
            let name = c.candidate.rule.name.unwrap_or("?");
            format!("{}/{name}", c.candidate.route.name)
        })
        .collect()
}

/// The verdict of the candidate `route/rule`.
fn verdict<'r>(e: &Explanation<'r>, which: &str) -> Verdict<'r> {
    let at = order(e).iter().position(|n| n == which);
    let c = at.and_then(|i| e.candidates.get(i));
    c.unwrap_or_else(|| panic!("no candidate {which}: {:?}", order(e)))
        .verdict()
}

/// Asserts the explanation's winner is the rule `Router::route` chose, and returns its
/// `route/rule`.
fn agreed_winner(router: &gateway_core::route::Router, req: &RequestView<'_>) -> Option<String> {
    let e = router.explain(req);
    let d = router.route(req);
    let winner = e.winner();
    assert_eq!(
        winner.map(|w| (w.candidate.route, w.candidate.rule, w.candidate.match_index)),
        d.route()
            .zip(d.rule())
            .zip(d.match_index())
            .map(|((a, b), c)| (a, b, c)),
        "explain and route disagree on {} {}",
        req.method,
        String::from_utf8_lossy(req.target)
    );
    assert_eq!(e.outcome, d.outcome());
    assert_eq!(
        e.candidates.iter().filter(|c| c.winner).count(),
        usize::from(winner.is_some())
    );
    winner.map(|w| {
        format!(
            "{}/{}",
            w.candidate.route.name,
            w.candidate.rule.name.unwrap_or("?")
        )
    })
}

#[test]
fn candidates_come_exact_hostname_then_longer_wildcard_then_no_hostname_then_groups_that_do_not_apply()
 {
    let router = router(&with_routes(ROUTES));
    let headers = [("host", "api.example.com")];
    let e = router.explain(&RequestView::new(
        "GET",
        b"/users/7",
        Headers::Pairs(&headers),
    ));
    let groups: Vec<HostnameGroup<'_>> =
        e.candidates.iter().map(|c| c.candidate.hostname).collect();
    let mut expected = vec![HostnameGroup::Exact("api.example.com"); 7];
    expected.extend([
        HostnameGroup::Wildcard("example.com"),
        HostnameGroup::Any,
        HostnameGroup::Wildcard("eu.example.com"),
    ]);
    assert_eq!(groups, expected);
    assert_eq!(e.table, Some(RuleTable::Http));
    assert_eq!(e.host.as_deref(), Some("api.example.com"));
    assert_eq!(e.path.as_deref(), Some("/users/7"));
    assert_eq!(
        e.candidates.last().map(|c| c.verdict()),
        Some(Verdict::NoMatch(Mismatch::HostnameDoesNotApply))
    );
}

#[test]
fn within_a_hostname_group_exact_then_regex_then_longer_prefix_then_method_headers_query_rule() {
    let router = router(&with_routes(ROUTES));
    let headers = [("host", "api.example.com")];
    let e = router.explain(&RequestView::new(
        "GET",
        b"/users",
        Headers::Pairs(&headers),
    ));
    assert_eq!(
        order(&e)[..7],
        [
            "api/users-exact",
            "api/versioned",
            "api/users-me",
            "api/users-post",
            "api/users-beta",
            "api/users-query",
            "api/users-prefix",
        ]
    );
    let paths: Vec<String> = e.candidates[..3]
        .iter()
        .map(|c| c.candidate.path.to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "Exact /users",
            "RegularExpression /v[0-9]+/.*",
            "PathPrefix /users/me"
        ]
    );
    assert_eq!(
        e.candidates[2].candidate.path,
        PathMatch::PathPrefix("/users/me")
    );
    assert_eq!(
        order(&e).first().map(String::as_str),
        Some("api/users-exact")
    );
    assert_eq!(
        agreed_winner(
            &router,
            &RequestView::new("GET", b"/users", Headers::Pairs(&headers))
        )
        .as_deref(),
        Some("api/users-exact")
    );
}

#[test]
fn verdict_is_the_first_reason_hostname_path_method_header_query() {
    let router = router(&with_routes(ROUTES));
    let headers = [("host", "api.example.com")];
    let req = RequestView::new("GET", b"/users/7", Headers::Pairs(&headers));
    let e = router.explain(&req);
    assert_eq!(
        verdict(&e, "api/users-exact"),
        Verdict::NoMatch(Mismatch::PathDoesNotMatch)
    );
    assert_eq!(
        verdict(&e, "api/versioned"),
        Verdict::NoMatch(Mismatch::PathDoesNotMatch)
    );
    assert_eq!(
        verdict(&e, "api/users-post"),
        Verdict::NoMatch(Mismatch::MethodDiffers {
            expected: "POST",
            actual: "GET".to_owned()
        })
    );
    assert_eq!(
        verdict(&e, "api/users-beta"),
        Verdict::NoMatch(Mismatch::HeaderMissing { name: "x-beta" })
    );
    assert_eq!(
        verdict(&e, "api/users-query"),
        Verdict::NoMatch(Mismatch::QueryParamMissing { name: "beta" })
    );
    assert_eq!(verdict(&e, "api/users-prefix"), Verdict::Matched);

    // Values that differ: the header as the router combines repeated fields, the query
    // parameter's first value.
    let headers = [
        ("host", "api.example.com"),
        ("x-beta", "1"),
        ("x-beta", " 2"),
    ];
    let e = router.explain(&RequestView::new(
        "GET",
        b"/users/7?beta=0&beta=1",
        Headers::Pairs(&headers),
    ));
    assert_eq!(
        verdict(&e, "api/users-beta"),
        Verdict::NoMatch(Mismatch::HeaderDiffers {
            name: "x-beta",
            expected: ValueMatch::Exact("1"),
            actual: "1, 2".to_owned()
        })
    );
    assert_eq!(
        verdict(&e, "api/users-query"),
        Verdict::NoMatch(Mismatch::QueryParamDiffers {
            name: "beta",
            expected: ValueMatch::Exact("1"),
            actual: "0".to_owned()
        })
    );

    // A host no group of the route applies to: the hostname comes first, and every other
    // reason is still listed.
    let headers = [("host", "www.example.org")];
    let e = router.explain(&RequestView::new(
        "PUT",
        b"/users",
        Headers::Pairs(&headers),
    ));
    assert_eq!(
        verdict(&e, "api/users-exact"),
        Verdict::NoMatch(Mismatch::HostnameDoesNotApply)
    );
    let post = e
        .candidates
        .iter()
        .find(|c| c.candidate.rule.name == Some("users-post"));
    assert_eq!(
        post.map(|c| c.mismatches().to_vec()),
        Some(vec![
            Mismatch::HostnameDoesNotApply,
            Mismatch::MethodDiffers {
                expected: "POST",
                actual: "PUT".to_owned()
            },
        ])
    );
    assert_eq!(e.winner().map(|w| w.candidate.route.name), Some("fallback"));
}

#[test]
fn every_matching_loser_names_the_first_precedence_key_the_winner_beats_it_on() {
    let router = router(&with_routes(ROUTES));
    let headers = [("host", "api.example.com"), ("x-beta", "1")];
    let req = RequestView::new("GET", b"/users/7?beta=1", Headers::Pairs(&headers));
    assert_eq!(
        agreed_winner(&router, &req).as_deref(),
        Some("api/users-beta")
    );
    let e = router.explain(&req);
    let lost: Vec<(String, Option<PrecedenceKey>)> = e
        .candidates
        .iter()
        .filter(|c| c.matched() && !c.winner)
        .map(|c| {
            (
                format!(
                    "{}/{}",
                    c.candidate.route.name,
                    c.candidate.rule.name.unwrap_or("?")
                ),
                c.lost_to,
            )
        })
        .collect();
    assert_eq!(
        lost,
        [
            (
                "api/users-query".to_owned(),
                Some(PrecedenceKey::HeaderCount)
            ),
            (
                "api/users-prefix".to_owned(),
                Some(PrecedenceKey::HeaderCount)
            ),
            ("wide/all".to_owned(), Some(PrecedenceKey::Hostname)),
            ("fallback/all".to_owned(), Some(PrecedenceKey::Hostname)),
        ]
    );
    // Non-matching candidates lost nothing.
    assert!(
        e.candidates
            .iter()
            .filter(|c| !c.matched())
            .all(|c| c.lost_to.is_none())
    );

    let req = RequestView::new("GET", b"/users/me/x", Headers::Pairs(&headers));
    let e = router.explain(&req);
    let beta = e
        .candidates
        .iter()
        .find(|c| c.candidate.rule.name == Some("users-beta"));
    assert_eq!(
        beta.and_then(|c| c.lost_to),
        Some(PrecedenceKey::PrefixLength)
    );
}

#[test]
fn request_refused_before_a_listener_explains_why_and_has_no_candidates() {
    let router = router(&with_routes(ROUTES));
    let headers = [("host", "api.example.com")];
    let e =
        router.explain(&RequestView::new("GET", b"/users", Headers::Pairs(&headers)).port(8080));
    assert_eq!(e.outcome, Outcome::NotFound(NotFound::NoListenerOnPort));
    assert!(e.listener.is_none() && e.table.is_none() && e.candidates.is_empty());
    assert_eq!(e.reason, "no HTTP listener on this port");

    let bad = [("host", "not a host")];
    let e = router.explain(&RequestView::new("GET", b"/users", Headers::Pairs(&bad)));
    assert_eq!(e.outcome, Outcome::BadRequest(BadRequest::InvalidHost));
    assert!(e.listener.is_none() && e.path.is_none() && e.host.is_none());
    assert!(e.reason.starts_with("invalid host"), "{}", e.reason);
}

#[test]
fn no_matching_rule_lists_every_candidate_and_no_winner() {
    let c = with_routes(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: only, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: Exact, value: /a}}]
    backendRefs: [{name: a, port: 80}]
",
    );
    let router = router(&c);
    let headers = [("host", "x.example.com")];
    let req = RequestView::new("GET", b"/b", Headers::Pairs(&headers));
    let e = router.explain(&req);
    assert_eq!(e.outcome, Outcome::NotFound(NotFound::NoRule));
    assert_eq!(e.reason, "no rule matches");
    assert_eq!(e.listener.map(|l| l.name), Some("http"));
    assert_eq!(e.candidates.len(), 1);
    assert!(e.winner().is_none());
    assert_eq!(agreed_winner(&router, &req), None);
}

#[test]
fn listener_set_listener_is_explained_with_its_set() {
    let c = config(&format!(
        "{CLASS}{SERVICES}apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: default}}
spec:
  gatewayClassName: test
  allowedListeners: {{namespaces: {{from: All}}}}
  listeners:
  - {{name: http, port: 80, protocol: HTTP, hostname: gw.example.com}}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XListenerSet
metadata: {{name: ls, namespace: default}}
spec:
  parentRef: {{name: gw, namespace: default}}
  listeners:
  - {{name: alt, port: 8080, protocol: HTTP, hostname: ls.example.com}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r, namespace: default}}
spec:
  parentRefs: [{{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls, sectionName: alt}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /api}}}}]
    backendRefs: [{{name: a, namespace: default, port: 80}}]
  - backendRefs: [{{name: b, namespace: default, port: 80}}]
---
"
    ));
    let router = router(&c);
    let headers = [("host", "ls.example.com")];
    let req = RequestView::new("GET", b"/api/x", Headers::Pairs(&headers)).port(8080);
    let e = router.explain(&req);
    let listener = e.listener.expect("the set's listener");
    assert_eq!(
        (listener.name, listener.set, listener.port),
        ("alt", Some(("default", "ls")), 8080)
    );
    assert_eq!(listener.hostname, Some("ls.example.com"));
    let rules: Vec<(usize, Verdict<'_>, bool)> = e
        .candidates
        .iter()
        .map(|c| (c.candidate.rule.index, c.verdict(), c.winner))
        .collect();
    assert_eq!(
        rules,
        [(0, Verdict::Matched, true), (1, Verdict::Matched, false)]
    );
    assert!(agreed_winner(&router, &req).is_some());

    // The static listing covers the set's listener too.
    let all = router.candidates();
    let alt = all
        .iter()
        .find(|l| l.listener.set == Some(("default", "ls")));
    assert_eq!(alt.map(|l| l.candidates.len()), Some(2));
}

#[test]
fn grpc_request_is_explained_from_the_grpc_table() {
    let c = with_routes(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [grpc.example.com]
  rules:
  - matches: [{method: {service: pkg.Svc, method: Get}}]
    backendRefs: [{name: a, port: 80}]
  - matches: [{method: {service: pkg.Svc}}]
    backendRefs: [{name: b, port: 80}]
",
    );
    let router = router(&c);
    let headers = [
        ("host", "grpc.example.com"),
        ("content-type", "application/grpc"),
    ];
    let req = RequestView::new("POST", b"/pkg.Svc/List", Headers::Pairs(&headers));
    let e = router.explain(&req);
    assert_eq!(e.table, Some(RuleTable::Grpc));
    let paths: Vec<PathMatch<'_>> = e.candidates.iter().map(|c| c.candidate.path).collect();
    assert_eq!(
        paths,
        [
            PathMatch::Exact("/pkg.Svc/Get"),
            PathMatch::PathPrefix("/pkg.Svc")
        ]
    );
    assert_eq!(
        e.candidates[0].verdict(),
        Verdict::NoMatch(Mismatch::PathDoesNotMatch)
    );
    assert!(e.candidates[1].winner);
    assert_eq!(e.candidates[1].candidate.predicates.method, Some("POST"));
    agreed_winner(&router, &req);
}

#[test]
fn winner_is_the_rule_route_chooses_on_the_bundled_example() {
    let yaml = include_str!("../../../examples/manifests/shop.yaml");
    let router = router_for(&config(yaml), "shop", "shop");
    let requests: &[(&str, &str, Pairs<'_>)] = &[
        (
            "GET",
            "/api/items",
            &[("host", "shop.example.com"), ("x-api-version", "2")],
        ),
        ("GET", "/api/items", &[("host", "shop.example.com")]),
        ("POST", "/checkout/pay", &[("host", "shop.example.com")]),
        ("GET", "/checkout", &[("host", "shop.example.com")]),
        ("GET", "/", &[("host", "blog.example.com")]),
        ("GET", "/", &[("host", "SHOP.example.com:80")]),
        ("GET", "/", &[("host", "shop.example.org")]),
        ("GET", "/a/./b//../api", &[("host", "shop.example.com")]),
        (
            "GET",
            "http://shop.example.com/api",
            &[("host", "other.example.com")],
        ),
    ];
    let mut winners = 0;
    for (method, target, headers) in requests {
        let req = RequestView::new(method, target.as_bytes(), Headers::Pairs(headers)).port(80);
        winners += usize::from(agreed_winner(&router, &req).is_some());
    }
    assert!(winners >= 6, "{winners} winners");
}

#[test]
fn shadowed_match_has_an_earlier_rule_with_the_same_path_and_predicates_in_every_group() {
    let route = |name: &str, created: &str, hostnames: &str, matches: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: default, creationTimestamp: '{created}'}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: {hostnames}
  rules:
  - matches: [{matches}]
    backendRefs: [{{name: a, port: 80}}]
---
"
        )
    };
    let prefix = "{path: {type: PathPrefix, value: /x}, headers: [{name: h, value: '1'}]}";
    let old = route(
        "old",
        "2025-01-01T00:00:00Z",
        "[a.example.com, b.example.com]",
        prefix,
    );
    // Same path and predicates, newer, on hostnames the older route covers: shadowed.
    let shadowed = route("new", "2025-01-02T00:00:00Z", "[b.example.com]", prefix);
    let router = router(&with_routes(&(old.clone() + &shadowed)));
    let found = router.shadowed();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].shadowed.route.name, "new");
    assert_eq!(found[0].by.route.name, "old");
    assert_eq!(found[0].key, PrecedenceKey::RouteOrder);

    // On a hostname the older route lacks, the newer one can still win.
    let reachable = route(
        "new",
        "2025-01-02T00:00:00Z",
        "[b.example.com, c.example.com]",
        prefix,
    );
    assert!(router_of(&(old.clone() + &reachable)).shadowed().is_empty());
    // More predicates rank first: not shadowed.
    let more = route(
        "new",
        "2025-01-02T00:00:00Z",
        "[b.example.com]",
        "{path: {type: PathPrefix, value: /x}, headers: [{name: h, value: '1'}, {name: i, value: '1'}]}",
    );
    assert!(router_of(&(old + &more)).shadowed().is_empty());
}

/// Header pairs of a request row.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn router_of(routes: &str) -> gateway_core::route::Router {
    router(&with_routes(routes))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: properties::cases().min(1_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// On generated tables and requests, the explanation's winner is the rule `Router::route`
    /// chose, and every candidate before it fails to match.
    #[test]
    fn explain_winner_is_the_route_decision_on_generated_tables(
        routes in properties::table(),
        requests in prop::collection::vec(properties::request(), 1..6),
    ) {
        let router = router(&with_routes(&properties::yaml(&routes)));
        for req in &requests {
            let target = req.target();
            let headers = req.headers();
            let view = RequestView::new(req.method, target.as_bytes(), Headers::Pairs(&headers));
            agreed_winner(&router, &view);
            let e = router.explain(&view);
            let before = e.candidates.iter().take_while(|c| !c.winner);
            prop_assert!(before.clone().all(|c| !c.matched()), "{:?}", req);
        }
    }
}
