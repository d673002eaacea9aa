//! Mesh features with no shared conformance case (`cases-mesh/` of the corpus has none for
//! them): MeshClusterIPMatching, MeshHTTPRouteQueryParamMatching and MeshHTTPRouteRedirectPort.
//! Each test holds one rule of the feature as the Gateway API v1.4 spec and GEPs 1294/1324 state
//! it, end to end: Services in a mesh namespace, routes with Service parents, and requests from
//! a client namespace to a destination, as the mesh conformance suite sends them.
//!
//! `MESH_TEST_VERIFIED_FEATURES` names these tests as the evidence of each feature;
//! `mesh_feature_evidence_names_tests_that_exist_and_pass` runs every one it names.

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{
    AttachOptions, Config, MESH_SUPPORTED_FEATURES, MESH_TEST_VERIFIED_FEATURES,
};
use gateway_core::outcome::{NotFound, Outcome};
use gateway_core::plan::{Plan, plan};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{Destination, MeshRoute, Router};

/// The mesh namespace `mesh`: `echo` (single-stack IPv4, ports 80 and 8080), `dual` (dual
/// stack, IPv6 first, written non-canonically), `headless` (no cluster IP), and `v2` (port 80).
const SERVICES: &str = "apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: echo, namespace: mesh}, spec: {clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10], ports: [{name: http, port: 80}, {name: alt, port: 8080}]}}
- {apiVersion: v1, kind: Service, metadata: {name: dual, namespace: mesh}, spec: {clusterIP: 'fd00:0:0::20', clusterIPs: ['fd00:0:0::20', 10.96.0.20], ipFamilies: [IPv6, IPv4], ports: [{name: http, port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: headless, namespace: mesh}, spec: {clusterIP: None, ports: [{name: http, port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: v2, namespace: mesh}, spec: {clusterIP: 10.96.0.30, ports: [{name: http, port: 80}]}}
---
";

fn router(routes: &str) -> Router {
    let yaml = format!("{SERVICES}{routes}");
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("load: {e}"));
    let mut options = AttachOptions::default();
    options.mesh = true;
    let config = Config::new(loaded.snapshot, options);
    Router::build_mesh(&config, PathPolicy::secure()).unwrap_or_else(|e| panic!("build: {e}"))
}

/// An HTTPRoute `name` in namespace `ns` whose one parentRef is `parent`, with `rules` (YAML,
/// indented as items of `rules:`).
fn route(name: &str, ns: &str, parent: &str, rules: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}}}
spec:
  parentRefs: [{parent}]
  rules:
{rules}---
"
    )
}

fn ip(addr: &str) -> Destination<'static> {
    Destination::address(addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}")), 80)
}

/// `(outcome, route, backend)` of a GET of `target` from namespace `client` to `to`, Host
/// `host`.
fn get(
    router: &Router,
    client: &str,
    to: &Destination<'_>,
    host: &str,
    target: &str,
) -> (Outcome, Option<String>, Option<String>) {
    let headers = [("host", host)];
    let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&headers));
    let routed = router.route_mesh(&req, client, to);
    let d = routed.decision();
    (
        routed.outcome(),
        d.and_then(|d| d.route()).map(|r| r.name.to_owned()),
        d.and_then(|d| d.choose_backend(0)).map(|b| b.name.clone()),
    )
}

fn backend_of(router: &Router, to: &Destination<'_>, target: &str) -> Option<String> {
    get(router, "client", to, "echo", target).2
}

// === MeshClusterIPMatching ===

const ECHO: &str = "{group: '', kind: Service, name: echo}";
const DUAL: &str = "{group: '', kind: Service, name: dual}";
const TO_V2: &str = "  - backendRefs: [{name: v2, port: 80}]\n";

#[test]
fn cluster_ip_of_a_service_selects_its_routes() {
    let router = router(&route("r", "mesh", ECHO, TO_V2));
    let got = get(&router, "client", &ip("10.96.0.10"), "echo", "/");
    assert_eq!(got, (Outcome::Forward, Some("r".into()), Some("v2".into())));
}

#[test]
fn every_cluster_ips_entry_ipv4_and_ipv6_selects_the_service_routes() {
    let router = router(&route("r", "mesh", DUAL, TO_V2));
    // The IPv6 cluster IP is written `fd00:0:0::20` in the Service: addresses compare as
    // addresses, not as text.
    for addr in ["fd00::20", "fd00:0:0:0:0:0:0:20", "10.96.0.20"] {
        let got = get(&router, "client", &ip(addr), "dual", "/");
        assert_eq!(got.1.as_deref(), Some("r"), "{addr}");
    }
    // The routes of `dual` are not `echo`'s.
    let got = get(&router, "client", &ip("10.96.0.10"), "echo", "/");
    assert_eq!(got.0, Outcome::PassThrough);
}

#[test]
fn an_ipv4_cluster_ip_seen_as_ipv4_mapped_ipv6_is_the_same_address() {
    // A proxy listening on a dual-stack socket sees an IPv4 destination as `::ffff:a.b.c.d`
    // (RFC 4291 2.5.5.2): the same address, so the same Service.
    let router = router(&route("r", "mesh", ECHO, TO_V2));
    let got = get(&router, "client", &ip("::ffff:10.96.0.10"), "echo", "/");
    assert_eq!(got.1.as_deref(), Some("r"));
    // Only the mapped form: the IPv4-compatible `::a.b.c.d` (deprecated) is another address.
    let got = get(&router, "client", &ip("::10.96.0.10"), "echo", "/");
    assert_eq!(got.0, Outcome::PassThrough);
}

#[test]
fn an_address_that_is_no_service_cluster_ip_passes_through() {
    let both = format!(
        "{}{}",
        route("r", "mesh", ECHO, TO_V2),
        route("d", "mesh", DUAL, TO_V2)
    );
    let router = router(&both);
    // A pod IP, a node IP, a neighbour of a cluster IP, and an IPv6 address of no Service.
    for addr in [
        "10.244.1.5",
        "192.168.0.10",
        "10.96.0.11",
        "fd00::21",
        "::1",
    ] {
        let got = get(&router, "client", &ip(addr), "echo", "/");
        assert_eq!(got, (Outcome::PassThrough, None, None), "{addr}");
    }
}

#[test]
fn a_headless_service_has_no_cluster_ip_to_match() {
    let headless = "{group: '', kind: Service, name: headless}";
    let router = router(&route("h", "mesh", headless, TO_V2));
    // Its routes apply when the Service is named, but `None` is no address: a request to a
    // pod of the headless Service by address is not routed.
    let by_name = Destination::service("mesh", "headless", 80);
    assert_eq!(
        get(&router, "client", &by_name, "headless", "/")
            .1
            .as_deref(),
        Some("h")
    );
    let got = get(&router, "client", &ip("10.244.1.7"), "headless", "/");
    assert_eq!(got.0, Outcome::PassThrough);
}

#[test]
fn the_destination_port_selects_the_service_port_routes() {
    let on_80 = "{group: '', kind: Service, name: echo, port: 80}";
    let on_8080 = "{group: '', kind: Service, name: echo, port: 8080}";
    let routes = format!(
        "{}{}",
        route("on-80", "mesh", on_80, TO_V2),
        route("on-8080", "mesh", on_8080, TO_V2)
    );
    let router = router(&routes);
    let addr = "10.96.0.10".parse().unwrap_or_else(|e| panic!("{e}"));
    let at = |port| {
        get(
            &router,
            "client",
            &Destination::address(addr, port),
            "echo",
            "/",
        )
    };
    assert_eq!(at(80).1.as_deref(), Some("on-80"));
    assert_eq!(at(8080).1.as_deref(), Some("on-8080"));
    // A port the Service does not have, or has without routes: as addressed.
    assert_eq!(at(9090).0, Outcome::PassThrough);
    let only_80 = self::router(&route("on-80", "mesh", on_80, TO_V2));
    let got = get(
        &only_80,
        "client",
        &Destination::address(addr, 8080),
        "echo",
        "/",
    );
    assert_eq!(got.0, Outcome::PassThrough);
}

#[test]
fn a_cluster_ip_selects_routes_whatever_the_host_header_names() {
    let router = router(&route("r", "mesh", ECHO, TO_V2));
    // The Host names another Service, an unknown name, or an address: the destination address
    // decides.
    for host in [
        "v2",
        "v2.mesh.svc.cluster.local",
        "unknown.example",
        "10.96.0.30",
    ] {
        let got = get(&router, "client", &ip("10.96.0.10"), host, "/");
        assert_eq!(got.1.as_deref(), Some("r"), "{host}");
        let got = get(&router, "client", &ip("10.96.0.30"), host, "/");
        assert_eq!(got.0, Outcome::PassThrough, "{host}");
    }
}

#[test]
fn a_cluster_ip_request_gets_the_consumer_routes_of_the_client_namespace() {
    let parent = "{group: '', kind: Service, name: echo, namespace: mesh}";
    let to_echo = "  - backendRefs: [{name: echo, namespace: mesh, port: 80}]\n";
    let routes = format!(
        "{}{}",
        route("producer", "mesh", ECHO, TO_V2),
        route("consumer", "client", parent, to_echo)
    );
    let router = router(&routes);
    let to = ip("10.96.0.10");
    let from_client = get(&router, "client", &to, "echo", "/");
    assert_eq!(
        (from_client.1.as_deref(), from_client.2.as_deref()),
        (Some("consumer"), Some("echo"))
    );
    let from_elsewhere = get(&router, "other", &to, "echo", "/");
    assert_eq!(from_elsewhere.1.as_deref(), Some("producer"));
    // By cluster IP and by name, one answer.
    let by_name = get(
        &router,
        "client",
        &Destination::service("mesh", "echo", 80),
        "echo",
        "/",
    );
    assert_eq!(by_name, from_client);
}

// === MeshHTTPRouteQueryParamMatching ===

const QUERY_RULES: &str = "  - matches: [{queryParams: [{name: animal, value: whale}]}]
    backendRefs: [{name: echo, port: 80}]
  - matches: [{queryParams: [{type: RegularExpression, name: color, value: '^(red|blue)$'}]}]
    backendRefs: [{name: v2, port: 80}]
  - matches: [{queryParams: [{name: animal, value: dolphin}, {type: RegularExpression, name: color, value: 'gr.*n'}]}]
    backendRefs: [{name: dual, port: 80}]
";

#[test]
fn mesh_query_param_exact_match_is_case_sensitive_on_name_and_value() {
    let router = router(&route("q", "mesh", ECHO, QUERY_RULES));
    let to = ip("10.96.0.10");
    assert_eq!(
        backend_of(&router, &to, "/?animal=whale").as_deref(),
        Some("echo")
    );
    // Other parameters do not stop a match.
    assert_eq!(
        backend_of(&router, &to, "/any/path?x=1&animal=whale&y").as_deref(),
        Some("echo")
    );
    for target in [
        "/?animal=Whale",
        "/?Animal=whale",
        "/?animal=whales",
        "/?animal",
        "/",
    ] {
        let got = get(&router, "client", &to, "echo", target);
        assert_eq!(got.0, Outcome::NotFound(NotFound::NoRule), "{target}");
    }
}

#[test]
fn mesh_query_param_regular_expression_matches_the_value() {
    let router = router(&route("q", "mesh", ECHO, QUERY_RULES));
    let to = ip("10.96.0.10");
    for target in ["/?color=red", "/?color=blue", "/?a=b&color=blue"] {
        assert_eq!(
            backend_of(&router, &to, target).as_deref(),
            Some("v2"),
            "{target}"
        );
    }
    for target in ["/?color=purple", "/?color=reddish", "/?colour=red"] {
        let got = get(&router, "client", &to, "echo", target);
        assert_eq!(got.0, Outcome::NotFound(NotFound::NoRule), "{target}");
    }
}

#[test]
fn mesh_query_params_of_one_match_must_all_match() {
    let router = router(&route("q", "mesh", ECHO, QUERY_RULES));
    let to = ip("10.96.0.10");
    let both = "/?animal=dolphin&color=green";
    assert_eq!(backend_of(&router, &to, both).as_deref(), Some("dual"));
    for target in [
        "/?animal=dolphin",
        "/?color=green",
        "/?animal=dolphin&color=blu",
    ] {
        let got = get(&router, "client", &to, "echo", target);
        assert_eq!(got.0, Outcome::NotFound(NotFound::NoRule), "{target}");
    }
}

#[test]
fn mesh_query_param_repeated_in_the_request_is_decided_by_its_first_value() {
    // HTTPQueryParamMatch leaves a repeated param undefined and recommends its first value.
    let router = router(&route("q", "mesh", ECHO, QUERY_RULES));
    let to = ip("10.96.0.10");
    let first_whale = "/?animal=whale&animal=dolphin";
    assert_eq!(
        backend_of(&router, &to, first_whale).as_deref(),
        Some("echo")
    );
    let got = get(
        &router,
        "client",
        &to,
        "echo",
        "/?animal=dolphin&animal=whale",
    );
    assert_eq!(got.0, Outcome::NotFound(NotFound::NoRule));
}

#[test]
fn mesh_query_param_precedence_is_httproute_precedence() {
    // Rules listed from the weakest to the strongest, so that the order of the rules cannot
    // be what picks the winner.
    let rules = "  - matches: [{queryParams: [{name: a, value: '1'}]}]
    backendRefs: [{name: echo, port: 80}]
  - matches: [{queryParams: [{name: a, value: '1'}, {name: b, value: '2'}]}]
    backendRefs: [{name: v2, port: 80}]
  - matches: [{headers: [{name: x-h, value: h}], queryParams: [{name: a, value: '1'}]}]
    backendRefs: [{name: dual, port: 80}]
  - matches: [{path: {type: Exact, value: /exact}, queryParams: [{name: a, value: '1'}]}]
    backendRefs: [{name: headless, port: 80}]
";
    let router = router(&route("q", "mesh", ECHO, rules));
    let to = ip("10.96.0.10");
    let send = |target: &str, header: Option<&str>| {
        let mut headers = vec![("host", "echo")];
        headers.extend(header.map(|h| ("x-h", h)));
        let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&headers));
        let routed = router.route_mesh(&req, "client", &to);
        routed
            .decision()
            .and_then(|d| d.choose_backend(0))
            .map(|b| b.name.clone())
    };
    // The most query param matches wins among rules that tie before it.
    assert_eq!(send("/?a=1", None).as_deref(), Some("echo"));
    assert_eq!(send("/?b=2&a=1", None).as_deref(), Some("v2"));
    // More header matches come before more query param matches.
    assert_eq!(send("/?b=2&a=1", Some("h")).as_deref(), Some("dual"));
    // The path comes before both.
    assert_eq!(
        send("/exact?b=2&a=1", Some("h")).as_deref(),
        Some("headless")
    );
}

// === MeshHTTPRouteRedirectPort ===

/// The rules of upstream's redirect-port test, on a mesh route, and the port's neighbours.
const REDIRECT_RULES: &str = "  - matches: [{path: {type: PathPrefix, value: /port}}]
    filters: [{type: RequestRedirect, requestRedirect: {port: 8083}}]
  - matches: [{path: {type: PathPrefix, value: /host-and-port}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org, port: 8083}}]
  - matches: [{path: {type: PathPrefix, value: /status-and-port}}]
    filters: [{type: RequestRedirect, requestRedirect: {port: 8083, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /http-80}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: http, port: 80}}]
  - matches: [{path: {type: PathPrefix, value: /https-443}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, port: 443}}]
  - matches: [{path: {type: PathPrefix, value: /https-80}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, port: 80}}]
  - matches: [{path: {type: PathPrefix, value: /http-443}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: http, port: 443}}]
  - matches: [{path: {type: PathPrefix, value: /no-port}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org}}]
  - matches: [{path: {type: PathPrefix, value: /https-no-port}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]
";

/// `(status, location)` of the redirect for a GET of `target` with Host `host` to `to`.
fn redirect(router: &Router, to: &Destination<'_>, host: &str, target: &str) -> (u16, String) {
    let headers = [("host", host)];
    let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(&headers));
    let routed = router.route_mesh(&req, "client", to);
    let MeshRoute::Routed(d) = routed else {
        panic!("{target}: no route applies: {routed:?}")
    };
    match plan(&d, &req, 0) {
        Plan::Respond(r) if r.outcome == Outcome::Redirect => (
            r.status,
            r.header("location").unwrap_or_default().to_owned(),
        ),
        other => panic!("{target}: not a redirect: {other:?}"),
    }
}

#[test]
fn mesh_redirect_port_goes_into_the_location_with_status_302_unless_set() {
    let router = router(&route("redirect", "mesh", ECHO, REDIRECT_RULES));
    let to = ip("10.96.0.10");
    let cases = [
        ("/port", (302, "http://echo:8083/port")),
        (
            "/host-and-port",
            (302, "http://example.org:8083/host-and-port"),
        ),
        (
            "/status-and-port",
            (301, "http://echo:8083/status-and-port"),
        ),
        // The query string is kept; the Host's own port is replaced.
        ("/port/a?x=1", (302, "http://echo:8083/port/a?x=1")),
    ];
    for (target, (status, location)) in cases {
        assert_eq!(
            redirect(&router, &to, "echo", target),
            (status, location.to_owned()),
            "{target}"
        );
    }
    assert_eq!(
        redirect(&router, &to, "echo:80", "/port").1,
        "http://echo:8083/port"
    );
}

#[test]
fn mesh_redirect_port_is_left_out_when_it_is_the_scheme_default() {
    let router = router(&route("redirect", "mesh", ECHO, REDIRECT_RULES));
    let to = ip("10.96.0.10");
    let cases = [
        ("/http-80", "http://echo/http-80"),
        ("/https-443", "https://echo/https-443"),
        // The default of the other scheme is no default: it stays.
        ("/https-80", "https://echo:80/https-80"),
        ("/http-443", "http://echo:443/http-443"),
    ];
    for (target, location) in cases {
        assert_eq!(
            redirect(&router, &to, "echo", target).1,
            location,
            "{target}"
        );
    }
}

#[test]
fn mesh_redirect_without_port_takes_the_service_port_or_the_scheme_default() {
    let router = router(&route("redirect", "mesh", ECHO, REDIRECT_RULES));
    let addr = "10.96.0.10".parse().unwrap_or_else(|e| panic!("{e}"));
    // No scheme and no port: the port the client addressed (the Service port, the mesh's
    // listener port); 80 is left out for http.
    let on_80 = Destination::address(addr, 80);
    let on_8080 = Destination::address(addr, 8080);
    assert_eq!(
        redirect(&router, &on_80, "echo", "/no-port").1,
        "http://example.org/no-port"
    );
    assert_eq!(
        redirect(&router, &on_8080, "echo:8080", "/no-port").1,
        "http://example.org:8080/no-port"
    );
    let by_name = Destination::service("mesh", "echo", 8080);
    assert_eq!(
        redirect(&router, &by_name, "echo:8080", "/no-port").1,
        "http://example.org:8080/no-port"
    );
    // A scheme and no port: the scheme's well-known port, left out.
    assert_eq!(
        redirect(&router, &on_8080, "echo:8080", "/https-no-port").1,
        "https://echo/https-no-port"
    );
}

// === the evidence ===

/// Runs the test binary itself on one test, by its exact name: `Ok` when it ran and passed.
fn run_one(test: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["--exact", test, "--test-threads=1"])
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("failed:\n{stdout}"));
    }
    if !stdout.contains("test result: ok. 1 passed") {
        return Err(format!("no such test:\n{stdout}"));
    }
    Ok(())
}

#[test]
fn mesh_feature_evidence_names_tests_that_exist_and_pass() {
    let readme = include_str!("../../../README.md");
    for (feature, tests) in MESH_TEST_VERIFIED_FEATURES {
        assert!(
            MESH_SUPPORTED_FEATURES.contains(feature),
            "{feature} has test evidence but is not claimed"
        );
        assert!(!tests.is_empty(), "{feature} names no test");
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {feature} |")))
            .unwrap_or_else(|| panic!("README has no mesh feature row for {feature}"));
        for test in *tests {
            let short = test.rsplit("::").next().unwrap_or(test);
            assert!(
                row.contains(&format!("`{short}`")),
                "README's row for {feature} does not name `{short}`"
            );
            assert!(
                !test.ends_with("mesh_feature_evidence_names_tests_that_exist_and_pass"),
                "the evidence check is no evidence"
            );
            if let Err(why) = run_one(test) {
                panic!("{feature}: evidence {test}: {why}");
            }
        }
    }
}
