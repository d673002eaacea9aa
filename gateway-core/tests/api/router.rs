//! The router, one test per precedence or canonicalization rule.

use gateway_core::outcome::{BadRequest, NotFound, Outcome, ServerError};
use gateway_core::request::{Headers, RequestView};

use crate::support::*;

/// One HTTPRoute `name` (created at `ts`) with hostnames and rules given as YAML.
fn r(name: &str, ts: &str, hostnames: &str, rules: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: default, creationTimestamp: '{ts}'}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: {hostnames}
  rules:
{rules}
---
"
    )
}

const T1: &str = "2024-01-01T00:00:00Z";
const T2: &str = "2024-06-01T00:00:00Z";

fn rule(path_type: &str, path: &str, extra: &str) -> String {
    format!(
        "  - matches: [{{path: {{type: {path_type}, value: '{path}'}}{extra}}}]\n    backendRefs: [{{name: a, port: 80}}]\n"
    )
}

#[test]
fn exact_path_beats_longer_prefix() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}",
            rule("PathPrefix", "/foo/bar", ""),
            rule("Exact", "/foo/bar", "")
        ),
    ));
    assert_eq!(
        hit(&router(&c), "h", "/foo/bar", &[]),
        Some(("x".into(), 1))
    );
    assert_eq!(
        hit(&router(&c), "h", "/foo/bar/baz", &[]),
        Some(("x".into(), 0))
    );
}

#[test]
fn longest_prefix_wins() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}{}",
            rule("PathPrefix", "/", ""),
            rule("PathPrefix", "/a/b", ""),
            rule("PathPrefix", "/a", "")
        ),
    ));
    let router = router(&c);
    assert_eq!(hit(&router, "h", "/a/b/c", &[]), Some(("x".into(), 1)));
    assert_eq!(hit(&router, "h", "/a/c", &[]), Some(("x".into(), 2)));
    assert_eq!(hit(&router, "h", "/z", &[]), Some(("x".into(), 0)));
}

#[test]
fn prefix_matches_element_wise_never_inside_a_segment() {
    let c = with_routes(&r("x", T1, "[]", &rule("PathPrefix", "/foo", "")));
    let router = router(&c);
    for p in ["/foo", "/foo/", "/foo/bar"] {
        assert_eq!(hit(&router, "h", p, &[]), Some(("x".into(), 0)), "{p}");
    }
    assert_eq!(hit(&router, "h", "/foobar", &[]), None);
}

#[test]
fn trailing_slash_in_a_prefix_is_ignored() {
    let c = with_routes(&r("x", T1, "[]", &rule("PathPrefix", "/foo/", "")));
    let router = router(&c);
    assert_eq!(hit(&router, "h", "/foo", &[]), Some(("x".into(), 0)));
    assert_eq!(hit(&router, "h", "/foo/x", &[]), Some(("x".into(), 0)));
    assert_eq!(hit(&router, "h", "/foox", &[]), None);
}

#[test]
fn exact_path_does_not_match_with_a_trailing_slash() {
    let c = with_routes(&r("x", T1, "[]", &rule("Exact", "/foo", "")));
    assert_eq!(hit(&router(&c), "h", "/foo/", &[]), None);
}

#[test]
fn method_match_beats_no_method_match() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}",
            rule("PathPrefix", "/", ""),
            rule("PathPrefix", "/", ", method: GET")
        ),
    ));
    let router = router(&c);
    assert_eq!(hit(&router, "h", "/", &[]), Some(("x".into(), 1)));
    assert_eq!(route(&router, "POST", "/", &[("host", "h")]).rule, Some(0));
}

#[test]
fn method_is_matched_case_sensitively() {
    let c = with_routes(&r("x", T1, "[]", &rule("PathPrefix", "/", ", method: GET")));
    // By default a case variant of a standard method is refused before routing...
    assert_eq!(
        route(&router(&c), "get", "/", &[("host", "h")]).outcome,
        Outcome::BadRequest(BadRequest::MethodCaseVariant)
    );
    // ...and where the embedder allows it, it is another method: no rule for GET matches it.
    let mut policy = gateway_core::request::normalize::PathPolicy::secure();
    policy.method_case = gateway_core::request::normalize::MethodCase::Allow;
    let allowing =
        gateway_core::Router::build(&c, &gateway_core::GatewayRef::new("default", "gw"), policy)
            .unwrap();
    assert_eq!(
        route(&allowing, "get", "/", &[("host", "h")]).outcome,
        Outcome::NotFound(NotFound::NoRule)
    );
    assert_eq!(
        route(&allowing, "PROPFIND", "/", &[("host", "h")]).outcome,
        Outcome::NotFound(NotFound::NoRule)
    );
}

#[test]
fn of_equivalent_header_names_in_one_match_only_the_first_is_used() {
    let headers = ", headers: [{name: X-Env, value: prod}, {name: x-env, value: canary}]";
    let c = with_routes(&r("x", T1, "[]", &rule("PathPrefix", "/", headers)));
    let router = router(&c);
    assert_eq!(
        route(&router, "GET", "/", &[("host", "h"), ("x-env", "prod")]).rule,
        Some(0)
    );
    assert_eq!(
        route(&router, "GET", "/", &[("host", "h"), ("x-env", "canary")]).outcome,
        Outcome::NotFound(NotFound::NoRule)
    );
}

#[test]
fn more_header_matches_win() {
    let one = ", headers: [{name: a, value: '1'}]";
    let two = ", headers: [{name: a, value: '1'}, {name: b, value: '2'}]";
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}",
            rule("PathPrefix", "/", one),
            rule("PathPrefix", "/", two)
        ),
    ));
    let router = router(&c);
    assert_eq!(
        hit(&router, "h", "/", &[("a", "1"), ("b", "2")]),
        Some(("x".into(), 1))
    );
    assert_eq!(hit(&router, "h", "/", &[("a", "1")]), Some(("x".into(), 0)));
}

#[test]
fn more_query_matches_win() {
    let one = ", queryParams: [{name: a, value: '1'}]";
    let two = ", queryParams: [{name: a, value: '1'}, {name: b, value: '2'}]";
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}",
            rule("PathPrefix", "/", one),
            rule("PathPrefix", "/", two)
        ),
    ));
    let router = router(&c);
    assert_eq!(hit(&router, "h", "/?b=2&a=1", &[]), Some(("x".into(), 1)));
    assert_eq!(hit(&router, "h", "/?a=1", &[]), Some(("x".into(), 0)));
}

#[test]
fn header_count_outranks_query_count() {
    let h = ", headers: [{name: a, value: '1'}]";
    let q = ", queryParams: [{name: q, value: '1'}, {name: w, value: '2'}]";
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}",
            rule("PathPrefix", "/", q),
            rule("PathPrefix", "/", h)
        ),
    ));
    assert_eq!(
        hit(&router(&c), "h", "/?q=1&w=2", &[("a", "1")]),
        Some(("x".into(), 1))
    );
}

#[test]
fn older_route_wins_a_tie() {
    let c = with_routes(&format!(
        "{}{}",
        r("young", T2, "[]", &rule("PathPrefix", "/", "")),
        r("old", T1, "[]", &rule("PathPrefix", "/", ""))
    ));
    assert_eq!(hit(&router(&c), "h", "/", &[]), Some(("old".into(), 0)));
}

#[test]
fn namespace_and_name_order_break_a_timestamp_tie() {
    let c = with_routes(&format!(
        "{}{}",
        r("bbb", T1, "[]", &rule("PathPrefix", "/", "")),
        r("aaa", T1, "[]", &rule("PathPrefix", "/", ""))
    ));
    assert_eq!(hit(&router(&c), "h", "/", &[]), Some(("aaa".into(), 0)));
}

#[test]
fn first_rule_wins_a_tie_within_a_route() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}",
            rule("PathPrefix", "/a", ""),
            rule("PathPrefix", "/a", "")
        ),
    ));
    assert_eq!(hit(&router(&c), "h", "/a", &[]), Some(("x".into(), 0)));
}

#[test]
fn exact_route_hostname_beats_wildcard_and_wildcard_beats_none() {
    let c = with_routes(&format!(
        "{}{}{}",
        r("none", T1, "[]", &rule("PathPrefix", "/", "")),
        r(
            "wild",
            T1,
            "['*.example.com']",
            &rule("PathPrefix", "/", "")
        ),
        r(
            "exact",
            T2,
            "[foo.example.com]",
            &rule("PathPrefix", "/", "")
        )
    ));
    let router = router(&c);
    assert_eq!(
        hit(&router, "foo.example.com", "/", &[]),
        Some(("exact".into(), 0))
    );
    assert_eq!(
        hit(&router, "bar.example.com", "/", &[]),
        Some(("wild".into(), 0))
    );
    assert_eq!(
        hit(&router, "example.com", "/", &[]),
        Some(("none".into(), 0))
    );
}

#[test]
fn longer_wildcard_beats_shorter() {
    let c = with_routes(&format!(
        "{}{}",
        r(
            "short",
            T1,
            "['*.example.com']",
            &rule("PathPrefix", "/", "")
        ),
        r(
            "long",
            T2,
            "['*.b.example.com']",
            &rule("PathPrefix", "/", "")
        )
    ));
    let router = router(&c);
    assert_eq!(
        hit(&router, "a.b.example.com", "/", &[]),
        Some(("long".into(), 0))
    );
    assert_eq!(
        hit(&router, "a.c.example.com", "/", &[]),
        Some(("short".into(), 0))
    );
}

#[test]
fn wildcard_never_matches_the_bare_suffix() {
    let c = with_routes(&r(
        "wild",
        T1,
        "['*.example.com']",
        &rule("PathPrefix", "/", ""),
    ));
    assert_eq!(hit(&router(&c), "example.com", "/", &[]), None);
}

#[test]
fn less_specific_hostname_serves_when_the_specific_one_has_no_matching_rule() {
    let c = with_routes(&format!(
        "{}{}",
        r(
            "exact",
            T1,
            "[foo.example.com]",
            &rule("Exact", "/only", "")
        ),
        r(
            "wild",
            T1,
            "['*.example.com']",
            &rule("PathPrefix", "/", "")
        )
    ));
    let router = router(&c);
    assert_eq!(
        hit(&router, "foo.example.com", "/only", &[]),
        Some(("exact".into(), 0))
    );
    assert_eq!(
        hit(&router, "foo.example.com", "/other", &[]),
        Some(("wild".into(), 0))
    );
}

#[test]
fn hostname_precedence_outranks_path_precedence() {
    let c = with_routes(&format!(
        "{}{}",
        r(
            "exact",
            T2,
            "[foo.example.com]",
            &rule("PathPrefix", "/", "")
        ),
        r("wild", T1, "['*.example.com']", &rule("Exact", "/x", ""))
    ));
    assert_eq!(
        hit(&router(&c), "foo.example.com", "/x", &[]),
        Some(("exact".into(), 0))
    );
}

#[test]
fn regex_path_matches_the_whole_path() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &rule("RegularExpression", "/v[0-9]+", ""),
    ));
    let router = router(&c);
    assert_eq!(hit(&router, "h", "/v12", &[]), Some(("x".into(), 0)));
    assert_eq!(hit(&router, "h", "/v12/x", &[]), None);
    assert_eq!(hit(&router, "h", "/xv12", &[]), None);
}

#[test]
fn regex_ranks_after_exact_and_before_every_prefix() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}{}",
            rule("PathPrefix", "/api/v1", ""),
            rule("RegularExpression", "/api/.*", ""),
            rule("Exact", "/api/v1", "")
        ),
    ));
    let router = router(&c);
    assert_eq!(hit(&router, "h", "/api/v1", &[]), Some(("x".into(), 2)));
    assert_eq!(
        hit(&router, "h", "/api/v1/users", &[]),
        Some(("x".into(), 1))
    );
}

#[test]
fn repeated_header_is_matched_against_its_combined_value() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &rule("PathPrefix", "/", ", headers: [{name: x-a, value: '1, 2'}]"),
    ));
    let router = router(&c);
    assert_eq!(
        hit(&router, "h", "/", &[("x-a", "1"), ("X-A", "2")]),
        Some(("x".into(), 0))
    );
    assert_eq!(hit(&router, "h", "/", &[("x-a", "1")]), None);
    assert_eq!(hit(&router, "h", "/", &[("x-a", "2")]), None);
}

#[test]
fn single_instance_of_a_repeated_header_never_matches_alone() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &rule("PathPrefix", "/", ", headers: [{name: role, value: admin}]"),
    ));
    assert_eq!(
        hit(
            &router(&c),
            "h",
            "/",
            &[("role", "user"), ("role", "admin")]
        ),
        None
    );
}

#[test]
fn cookie_fields_are_joined_with_a_semicolon() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &rule(
            "PathPrefix",
            "/",
            ", headers: [{name: cookie, value: 'a=1; b=2'}]",
        ),
    ));
    assert_eq!(
        hit(
            &router(&c),
            "h",
            "/",
            &[("cookie", "a=1"), ("cookie", "b=2")]
        ),
        Some(("x".into(), 0))
    );
}

#[test]
fn header_names_are_case_insensitive() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &rule(
            "PathPrefix",
            "/",
            ", headers: [{name: X-Version, value: one}]",
        ),
    ));
    assert_eq!(
        hit(&router(&c), "h", "/", &[("x-version", "one")]),
        Some(("x".into(), 0))
    );
}

#[test]
fn the_first_value_of_a_repeated_query_key_decides() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &rule("PathPrefix", "/", ", queryParams: [{name: a, value: '1'}]"),
    ));
    let router = router(&c);
    assert_eq!(hit(&router, "h", "/?a=1&a=2", &[]), Some(("x".into(), 0)));
    assert_eq!(hit(&router, "h", "/?a=2&a=1", &[]), None);
    // Only `&` separates pairs.
    assert_eq!(hit(&router, "h", "/?b=0;a=1", &[]), None);
}

#[test]
fn host_case_port_and_trailing_dot_do_not_change_the_route() {
    let c = with_routes(&r(
        "x",
        T1,
        "[foo.example.com]",
        &rule("PathPrefix", "/", ""),
    ));
    let router = router(&c);
    for host in [
        "FOO.example.COM",
        "foo.example.com:8080",
        "foo.example.com.",
        "Foo.Example.Com.:80",
    ] {
        assert_eq!(
            hit(&router, host, "/", &[]),
            Some(("x".into(), 0)),
            "{host}"
        );
    }
}

#[test]
fn dot_segments_and_encodings_cannot_reach_a_different_rule() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        &format!(
            "{}{}",
            rule("PathPrefix", "/admin", ""),
            rule("PathPrefix", "/", "")
        ),
    ));
    let router = router(&c);
    for p in [
        "/public/../admin",
        "/%61dmin",
        "/./admin",
        "//admin",
        "/public/%2e%2e/admin",
    ] {
        assert_eq!(hit(&router, "h", p, &[]), Some(("x".into(), 0)), "{p}");
    }
    for p in [
        "/%2fadmin",
        "/%2Fadmin",
        "/admin%00",
        "/admin#x",
        "/admin\\x",
    ] {
        assert_eq!(
            route(&router, "GET", p, &[("host", "h")]).outcome,
            Outcome::BadRequest(BadRequest::InvalidTarget),
            "{p}"
        );
    }
}

#[test]
fn no_host_or_two_hosts_is_a_bad_request() {
    let c = with_routes(&r("x", T1, "[]", &rule("PathPrefix", "/", "")));
    let router = router(&c);
    assert_eq!(
        route(&router, "GET", "/", &[]).outcome,
        Outcome::BadRequest(BadRequest::InvalidHost)
    );
    assert_eq!(
        route(&router, "GET", "/", &[("host", "a"), ("host", "b")]).outcome,
        Outcome::BadRequest(BadRequest::InvalidHost)
    );
}

#[test]
fn no_rule_is_a_404() {
    let c = with_routes(&r("x", T1, "[]", &rule("Exact", "/a", "")));
    let d = route(&router(&c), "GET", "/b", &[("host", "h")]);
    assert_eq!(
        (d.outcome, d.status),
        (Outcome::NotFound(NotFound::NoRule), Some(404))
    );
}

#[test]
fn invalid_backends_answer_500_for_their_share_and_zero_weights_never_serve() {
    let rules = "  - backendRefs: [{name: a, port: 80, weight: 1}, {name: missing, port: 80, weight: 1}, {name: b, port: 80, weight: 0}]\n";
    let c = with_routes(&r("x", T1, "[]", rules));
    let router = router(&c);
    let headers = [("host", "h")];
    let req = RequestView::new("GET", b"/", Headers::Pairs(&headers));
    let d = router.route(&req);
    assert_eq!(d.outcome(), Outcome::Forward);
    let (mut ok, mut errors) = (0, 0);
    for i in 0..1000u64 {
        let step = u64::MAX / 1000;
        match d.choose_backend(i * step + step / 2) {
            Some(b) => {
                assert_eq!(b.name, "a");
                ok += 1;
            }
            None => errors += 1,
        }
    }
    assert_eq!((ok, errors), (500, 500));
}

#[test]
fn the_same_random_value_always_chooses_the_same_backend() {
    let c = with_routes(&r(
        "x",
        T1,
        "[]",
        "  - backendRefs: [{name: a, port: 80}, {name: b, port: 80}]\n",
    ));
    let router = router(&c);
    let headers = [("host", "h")];
    let req = RequestView::new("GET", b"/", Headers::Pairs(&headers));
    let d = router.route(&req);
    for v in [0, 7, u64::MAX / 2, u64::MAX] {
        assert_eq!(d.choose_backend(v), d.choose_backend(v));
    }
    assert_ne!(d.choose_backend(0), d.choose_backend(u64::MAX));
}

#[test]
fn extension_ref_filters_answer_500_rather_than_being_skipped() {
    let rules = "  - filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Magic, name: m}}]\n    backendRefs: [{name: a, port: 80}]\n";
    let c = with_routes(&r("x", T1, "[]", rules));
    let d = route(&router(&c), "GET", "/", &[("host", "h")]);
    assert_eq!(
        (d.outcome, d.status),
        (
            Outcome::ServerError(ServerError::UnsupportedFilter),
            Some(500)
        )
    );
}

const LISTENERS: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: test
  listeners:
  - {name: exact, port: 443, protocol: HTTPS, hostname: foo.example.com, tls: {certificateRefs: [{name: cert}]}}
  - {name: wild, port: 443, protocol: HTTPS, hostname: '*.example.com', tls: {certificateRefs: [{name: cert}]}}
  - {name: any, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
---
apiVersion: v1
kind: Secret
metadata: {name: cert, namespace: default}
stringData:
  tls.crt: \"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\"
  tls.key: \"-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n\"
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
";

fn tls_route(host: &str, sni: Option<&str>) -> Routed {
    let c = config(&format!("{CLASS}{SERVICES}{LISTENERS}"));
    let router = router(&c);
    let headers = [("host", host)];
    route_on(
        &router,
        RequestView::new("GET", b"/", Headers::Pairs(&headers))
            .scheme("https")
            .port(443)
            .sni(sni),
    )
}

#[test]
fn listener_exact_hostname_beats_wildcard_beats_none() {
    assert_eq!(
        tls_route("foo.example.com", None).listener.as_deref(),
        Some("exact")
    );
    assert_eq!(
        tls_route("bar.example.com", None).listener.as_deref(),
        Some("wild")
    );
    assert_eq!(
        tls_route("example.org", None).listener.as_deref(),
        Some("any")
    );
}

#[test]
fn host_of_another_listener_than_the_sni_is_misdirected() {
    let d = tls_route("foo.example.com", Some("bar.example.com"));
    assert_eq!((d.outcome, d.status), (Outcome::Misdirected, Some(421)));
    assert_eq!(
        tls_route("foo.example.com", Some("foo.example.com")).outcome,
        Outcome::Forward
    );
}

#[test]
fn listener_hostnames_resolve_the_same_however_the_host_and_sni_are_spelled() {
    // A listener's exact hostname is resolved with the router; its other spellings, and hosts
    // that are nobody's exact hostname, must land where the spec's order puts them.
    for (host, sni, listener) in [
        ("foo.example.com", None, "exact"),
        ("FOO.Example.com:443", None, "exact"),
        ("foo.example.com.", Some("FOO.EXAMPLE.COM."), "exact"),
        ("foo.example.com", Some("foo.example.com"), "exact"),
        ("bar.example.com", Some("BAR.example.com"), "wild"),
        ("Bar.Example.Com", None, "wild"),
        ("example.com", None, "any"),
        ("EXAMPLE.org:443", Some("example.org"), "any"),
    ] {
        let d = tls_route(host, sni);
        assert_eq!(
            (d.outcome, d.listener.as_deref()),
            (Outcome::Forward, Some(listener)),
            "{host} {sni:?}"
        );
    }
    let d = tls_route("FOO.example.com", Some("bar.example.com"));
    assert_eq!((d.outcome, d.status), (Outcome::Misdirected, Some(421)));
}

#[test]
fn wrong_port_is_not_found() {
    let c = config(&format!("{CLASS}{SERVICES}{LISTENERS}"));
    let headers = [("host", "foo.example.com")];
    let d = route_on(
        &router(&c),
        RequestView::new("GET", b"/", Headers::Pairs(&headers)).port(8443),
    );
    assert_eq!(d.outcome, Outcome::NotFound(NotFound::NoListenerOnPort));
}

#[test]
fn grpc_routes_match_service_and_method_and_never_merge_with_http_routes() {
    let grpc = "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [grpc.example.com]
  rules:
  - matches: [{method: {service: echo.Echo, method: Ping}}]
    backendRefs: [{name: b, port: 80}]
  - matches: [{method: {service: echo.Echo}}]
    backendRefs: [{name: c, port: 80}]
---
";
    let c = with_routes(&format!(
        "{grpc}{}",
        r("h", T1, "[web.example.com]", &rule("PathPrefix", "/", ""))
    ));
    let router = router(&c);
    let grpc_req = |path: &str| {
        route(
            &router,
            "POST",
            path,
            &[
                ("host", "grpc.example.com"),
                ("content-type", "application/grpc"),
            ],
        )
    };
    assert_eq!(
        (
            grpc_req("/echo.Echo/Ping").route,
            grpc_req("/echo.Echo/Ping").rule
        ),
        (Some("g".into()), Some(0))
    );
    assert_eq!(grpc_req("/echo.Echo/Other").rule, Some(1));
    assert_eq!(
        grpc_req("/other.Svc/Ping").outcome,
        Outcome::NotFound(NotFound::NoRule)
    );
    // The HTTPRoute serves its own host; its rules never serve the GRPCRoute's host.
    assert_eq!(
        hit(&router, "web.example.com", "/echo.Echo/Ping", &[]),
        Some(("h".into(), 0))
    );
    assert_eq!(
        hit(&router, "grpc.example.com", "/echo.Echo/Ping", &[]),
        None
    );
}

#[test]
fn an_httproute_and_a_grpcroute_with_intersecting_hostnames_accept_only_the_older() {
    let grpc = "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: default, creationTimestamp: '2024-06-01T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  hostnames: [api.example.com]
  rules: [{backendRefs: [{name: b, port: 80}]}]
---
";
    let c = with_routes(&format!(
        "{grpc}{}",
        r("h", T1, "['*.example.com']", &rule("PathPrefix", "/", ""))
    ));
    let st = status(&c, "GRPCRoute", Some("default"), "g");
    let conds: Vec<(String, String, String)> = st
        .status
        .conditions()
        .iter()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect();
    assert!(has(&conds, "Accepted", "False", "Conflicted"), "{conds:?}");
    assert!(has(
        &route_conditions(&c, "h"),
        "Accepted",
        "True",
        "Accepted"
    ));
    let router = router(&c);
    let d = route(
        &router,
        "POST",
        "/svc/M",
        &[
            ("host", "api.example.com"),
            ("content-type", "application/grpc"),
        ],
    );
    assert_eq!(d.route.as_deref(), Some("h"));
}

/// A Host line equal to a route hostname is taken as it is, without a scan; everything around
/// that shortcut still holds: other spellings canonicalize to the same route, a second Host
/// line is refused, and an absolute-form target or HTTP/2 `:authority` decides over the line.
#[test]
fn a_host_equal_to_a_route_hostname_is_checked_like_any_other() {
    let c = with_routes(&format!(
        "{}{}",
        r(
            "shop",
            T1,
            "[shop.example.com]",
            &rule("PathPrefix", "/", "")
        ),
        r(
            "other",
            T1,
            "[other.example.com]",
            &rule("PathPrefix", "/", "")
        )
    ));
    let router = router(&c);
    for host in [
        "shop.example.com",
        "SHOP.example.com",
        "shop.example.com.",
        "shop.example.com:80",
    ] {
        assert_eq!(
            hit(&router, host, "/", &[]),
            Some(("shop".into(), 0)),
            "{host}"
        );
    }
    let twice = [("host", "shop.example.com"), ("host", "shop.example.com")];
    let d = router.route(&RequestView::new("GET", b"/", Headers::Pairs(&twice)));
    assert_eq!(
        (d.outcome(), d.status()),
        (Outcome::BadRequest(BadRequest::InvalidHost), Some(400))
    );

    let one = [("host", "shop.example.com")];
    let absolute = RequestView::new("GET", b"http://other.example.com/", Headers::Pairs(&one));
    let d = router.route(&absolute);
    assert_eq!(d.route().map(|r| r.name), Some("other"));
    assert_eq!(d.host(), "other.example.com");

    let mut h2 = RequestView::new("GET", b"/", Headers::Pairs(&one));
    h2.authority = Some("other.example.com");
    let d = router.route(&h2);
    assert_eq!(
        (d.outcome(), d.status()),
        (Outcome::BadRequest(BadRequest::InvalidHost), Some(400))
    );

    let map: http::HeaderMap = [(http::header::HOST, "shop.example.com".parse().unwrap())]
        .into_iter()
        .collect();
    let d = router.route(&RequestView::new("GET", b"/", Headers::Map(&map)));
    assert_eq!(
        (d.route().map(|r| r.name), d.host()),
        (Some("shop"), "shop.example.com")
    );
}

#[test]
fn a_plans_backend_is_one_of_the_routers_backends_by_address() {
    let rules = format!(
        "{}  - matches: [{{path: {{type: PathPrefix, value: /b}}}}]\n    backendRefs: [{{name: b, port: 80}}, {{name: missing, port: 80}}]\n",
        rule("PathPrefix", "/a", "")
    );
    let c = with_routes(&r("x", T1, "[]", &rules));
    let router = router(&c);
    // The unresolved `missing` is not a backend; `a` and `b` are.
    let mut names: Vec<&str> = router.backends().map(|b| b.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names, ["a", "b"]);
    for (path, name) in [("/a", "a"), ("/b", "b")] {
        let headers = [("host", "h")];
        let req = RequestView::new("GET", path.as_bytes(), Headers::Pairs(&headers));
        let decision = router.route(&req);
        // The weight draw that picks the first backendRef.
        let plan = gateway_core::plan::plan(&decision, &req, 0);
        let gateway_core::plan::Plan::Forward(fp) = plan else {
            panic!("{path}: {plan:?}");
        };
        assert_eq!(fp.backend.name, name);
        assert!(
            router.backends().any(|b| std::ptr::eq(b, fp.backend)),
            "{path}: the plan's backend is not the router's by address"
        );
    }
}
