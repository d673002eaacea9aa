//! Hostile requests and manifests through the public API: each class of the README's
//! "Hostile input" table that is not already covered by a dedicated test gets a clear error or
//! a documented decision here, never a panic. (Manifest size, depth, alias and resource-count
//! budgets are in tests/load.rs; Host/SNI disagreement in tests/api/router.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::outcome::{BadRequest, NotFound, Outcome};
use gateway_core::request::normalize::{MethodCase, PathParameters, PathPolicy};
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};

const HEAD: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec: {gatewayClassName: gc, listeners: [{name: web, port: 80, protocol: HTTP}]}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: ns}
spec: {ports: [{port: 80}]}
";

fn router(routes: &str) -> Router {
    router_with(routes, PathPolicy::secure())
}

fn router_with(routes: &str, policy: PathPolicy) -> Router {
    let text = format!("{HEAD}{routes}");
    let loaded = Snapshot::load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    Router::build(&config, &GatewayRef::new("ns", "gw"), policy).expect("builds")
}

fn route(name: &str, ts: u32, rules: &str) -> String {
    format!(
        "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: {name}, \
         namespace: ns, creationTimestamp: \"2024-01-01T00:{:02}:{:02}Z\"}}\nspec:\n  \
         parentRefs: [{{name: gw}}]\n  hostnames: [app.example]\n  rules: {rules}\n",
        ts / 60 % 60,
        ts % 60
    )
}

const PLAIN: &str =
    "[{matches: [{path: {type: PathPrefix, value: /}}], backendRefs: [{name: app, port: 80}]}]";

fn get(
    router: &Router,
    target: &[u8],
    headers: &[(&[u8], &[u8])],
) -> (Outcome, Option<u16>, Option<String>) {
    let req = RequestView::new("GET", target, Headers::Bytes(headers)).port(80);
    let d = router.route(&req);
    (
        d.outcome(),
        d.status(),
        d.route().map(|r| r.name.to_owned()),
    )
}

const HOST: (&[u8], &[u8]) = (b"host", b"app.example");

#[test]
fn a_64_kib_path_is_414_after_one_length_check() {
    let router = router(&route("r", 0, PLAIN));
    let mut target = b"/".to_vec();
    target.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let (outcome, status, _) = get(&router, &target, &[HOST]);
    assert_eq!(
        (outcome, status),
        (Outcome::BadRequest(BadRequest::TargetTooLong), Some(414))
    );
}

#[test]
fn malformed_percent_encoding_is_400() {
    let router = router(&route("r", 0, PLAIN));
    for target in [&b"/a%"[..], b"/a%2", b"/a%zz", b"/%G0", b"/a%%41"] {
        let (outcome, status, _) = get(&router, target, &[HOST]);
        assert_eq!(
            (outcome, status),
            (Outcome::BadRequest(BadRequest::InvalidTarget), Some(400)),
            "{target:?}"
        );
    }
}

#[test]
fn control_bytes_nul_and_non_ascii_in_the_target_are_400() {
    let router = router(&route("r", 0, PLAIN));
    for target in [
        &b"/a\0b"[..],
        b"/a\x01",
        b"/a b",
        b"/a\x7f",
        b"/\xff\xfe",
        b"/caf\xc3\xa9",
    ] {
        let (outcome, status, _) = get(&router, target, &[HOST]);
        assert_eq!(
            (outcome, status),
            (Outcome::BadRequest(BadRequest::InvalidTarget), Some(400)),
            "{target:?}"
        );
    }
}

#[test]
fn authority_form_is_refused_and_absolute_form_uses_its_authority() {
    let router = router(&route("r", 0, PLAIN));
    let (outcome, status, _) = get(&router, b"app.example:80", &[HOST]);
    assert_eq!(
        (outcome, status),
        (
            Outcome::BadRequest(BadRequest::UnsupportedTargetForm),
            Some(400)
        )
    );
    let (outcome, _, name) = get(
        &router,
        b"http://app.example/x",
        &[(b"host", b"other.example")],
    );
    assert_eq!((outcome, name.as_deref()), (Outcome::Forward, Some("r")));
    let (outcome, _, _) = get(&router, b"http://other.example/x", &[HOST]);
    assert_eq!(outcome, Outcome::NotFound(NotFound::NoRule));
}

#[test]
fn header_values_with_cr_lf_or_nul_are_400_before_routing() {
    let rules = "[{matches: [{headers: [{name: x-role, value: admin}]}], backendRefs: [{name: app, port: 80}]}]";
    let router = router(&(route("guarded", 0, rules) + &route("open", 1, PLAIN)));
    let (_, _, name) = get(&router, b"/", &[HOST, (b"x-role", b"admin")]);
    assert_eq!(name.as_deref(), Some("guarded"));
    // In the matched header, in another one, and in Host: refused, never forwarded.
    for headers in [
        [HOST, (b"x-role", b"admin\0")],
        [HOST, (b"x-role", b"adm\0in")],
        [HOST, (b"x-role", b"admin\r\nx-injected: 1")],
        [HOST, (b"x-other", b"a\nb")],
        [HOST, (b"x-other", b"a\rb")],
        [(b"host", b"app.example\r\nx: y"), (b"x-other", b"")],
    ] {
        let (outcome, status, name) = get(&router, b"/", &headers);
        assert_eq!(
            (outcome, status, name),
            (
                Outcome::BadRequest(BadRequest::InvalidHeaderValue),
                Some(400),
                None
            ),
            "{headers:?}"
        );
    }
    // Other control bytes and obs-text may be kept (RFC 9110 §5.5), but never equal a value
    // the CRD admits: the header rule does not match.
    for value in [&b"\xffadmin"[..], b"admin\x1b", b"ad\x01min"] {
        let (_, _, name) = get(&router, b"/", &[HOST, (b"x-role", value)]);
        assert_eq!(
            name.as_deref(),
            Some("open"),
            "{value:?} matched the header rule"
        );
    }
}

#[test]
fn header_names_that_are_not_names_are_400_before_routing() {
    let router = router(&route("open", 1, PLAIN));
    for name in [
        &b"x-role\0"[..],
        b"x-role ",
        b"x\0role",
        b"x-a\r\nx-b",
        b"x:y",
        b"",
        b":",
        b"caf\xc3\xa9",
        b"x\x7f",
    ] {
        let (outcome, status, _) = get(&router, b"/", &[HOST, (name, b"v")]);
        assert_eq!(
            (outcome, status),
            (
                Outcome::BadRequest(BadRequest::InvalidHeaderName),
                Some(400)
            ),
            "{name:?}"
        );
    }
    // HTTP/2 pseudo-headers handed over with the fields, and upper case, are names.
    let (_, _, route) = get(
        &router,
        b"/",
        &[HOST, (b":authority", b"app.example"), (b"X-Up", b"1")],
    );
    assert_eq!(route.as_deref(), Some("open"));
}

#[test]
fn authorization_or_content_length_twice_is_400() {
    let router = router(&route("open", 1, PLAIN));
    for twice in [
        [
            (&b"authorization"[..], &b"Bearer a"[..]),
            (b"Authorization", b"Bearer b"),
        ],
        [(b"content-length", b"5"), (b"Content-Length", b"5")],
    ] {
        let headers = [HOST, twice[0], twice[1]];
        let (outcome, status, _) = get(&router, b"/", &headers);
        assert_eq!(
            (outcome, status),
            (Outcome::BadRequest(BadRequest::DuplicateHeader), Some(400)),
            "{twice:?}"
        );
    }
    let (_, _, route) = get(&router, b"/", &[HOST, (b"authorization", b"Bearer a")]);
    assert_eq!(route.as_deref(), Some("open"));
}

#[test]
fn methods_that_are_not_tokens_are_400() {
    let router = router(&route("open", 1, PLAIN));
    for method in ["", "GET\0", "G ET", "GET\r\n", "GE(T)", "G\u{e9}T"] {
        let req = RequestView::new(method, b"/", Headers::Bytes(&[HOST])).port(80);
        let d = router.route(&req);
        assert_eq!(
            (d.outcome(), d.status()),
            (Outcome::BadRequest(BadRequest::InvalidMethod), Some(400)),
            "{method:?}"
        );
    }
    let req = RequestView::new("PROPFIND", b"/", Headers::Bytes(&[HOST])).port(80);
    assert_eq!(router.route(&req).outcome(), Outcome::Forward);
}

#[test]
fn a_lower_case_method_cannot_slip_past_a_method_rule() {
    let rules = "[{matches: [{method: POST, path: {type: PathPrefix, value: /}}], backendRefs: [{name: app, port: 80}], filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-write, value: guarded}]}}]}]";
    let text = route("writes", 0, rules) + &route("open", 1, PLAIN);
    let secure = router(&text);
    for method in ["post", "Post", "pOST"] {
        let req = RequestView::new(method, b"/", Headers::Bytes(&[HOST])).port(80);
        let d = secure.route(&req);
        assert_eq!(
            (d.outcome(), d.status()),
            (
                Outcome::BadRequest(BadRequest::MethodCaseVariant),
                Some(400)
            ),
            "{method}"
        );
    }
    // The option routes it as the distinct method it is: not the POST rule.
    let mut policy = PathPolicy::secure();
    policy.method_case = MethodCase::Allow;
    let allowing = router_with(&text, policy);
    let req = RequestView::new("post", b"/", Headers::Bytes(&[HOST])).port(80);
    assert_eq!(
        allowing
            .route(&req)
            .route()
            .map(|r| r.name.to_owned())
            .as_deref(),
        Some("open")
    );
}

#[test]
fn a_path_parameter_cannot_slip_past_a_rule_for_its_path() {
    let rules = "[{matches: [{path: {type: PathPrefix, value: /admin}}], backendRefs: [{name: app, port: 80}], filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-admin, value: guarded}]}}]}]";
    let text = route("admin", 0, rules) + &route("open", 1, PLAIN);
    // Refused by default: 400 before any rule is looked at.
    for target in [
        &b"/admin;jsessionid=x"[..],
        b"/admin;x/users",
        b"/public/..;x/admin",
    ] {
        let (outcome, status, _) = get(&router(&text), target, &[HOST]);
        assert_eq!(
            (outcome, status),
            (Outcome::BadRequest(BadRequest::InvalidTarget), Some(400)),
            "{target:?}"
        );
    }
    // Stripped: routed (and forwarded) as the path a Servlet container serves.
    let mut strip = PathPolicy::secure();
    strip.path_parameters = PathParameters::Strip;
    let stripping = router_with(&text, strip);
    for (target, path) in [
        (&b"/admin;jsessionid=x"[..], "/admin"),
        (b"/admin;x/users", "/admin/users"),
        (b"/public/..;x/admin", "/admin"),
    ] {
        let req = RequestView::new("GET", target, Headers::Bytes(&[HOST])).port(80);
        let d = stripping.route(&req);
        assert_eq!(
            (d.route().map(|r| r.name.to_owned()).as_deref(), d.path()),
            (Some("admin"), path),
            "{target:?}"
        );
    }
    // Kept (the embedder's choice): an ordinary character, so the broader rule serves it.
    let mut keep = PathPolicy::secure();
    keep.path_parameters = PathParameters::Keep;
    let (_, _, name) = get(&router_with(&text, keep), b"/admin;jsessionid=x", &[HOST]);
    assert_eq!(name.as_deref(), Some("open"));
}

#[test]
fn header_count_section_size_and_query_pairs_are_bounded() {
    let rules = "[{matches: [{headers: [{name: x-pick, value: me}]}], backendRefs: [{name: app, port: 80}]}]";
    let router = router(&(route("picked", 0, rules) + &route("open", 1, PLAIN)));
    let names: Vec<String> = (0..10_000).map(|i| format!("x-h{i}")).collect();
    // 100 fields (the default limit) are routed, the header rule still found among them.
    let mut headers: Vec<(&[u8], &[u8])> = names[..98]
        .iter()
        .map(|n| (n.as_bytes(), &b"v"[..]))
        .collect();
    headers.extend([HOST, (b"x-pick", b"me")]);
    let (_, _, name) = get(&router, b"/", &headers);
    assert_eq!(name.as_deref(), Some("picked"));
    // 101 fields, and 10,001: 431 before any header is read.
    for n in [99, 9_999] {
        let mut headers: Vec<(&[u8], &[u8])> = names[..n]
            .iter()
            .map(|n| (n.as_bytes(), &b"v"[..]))
            .collect();
        headers.extend([HOST, (b"x-pick", b"me")]);
        let (outcome, status, _) = get(&router, b"/", &headers);
        assert_eq!(
            (outcome, status),
            (
                Outcome::BadRequest(BadRequest::TooManyHeaderFields),
                Some(431)
            ),
            "{} fields",
            headers.len()
        );
    }
    // A 64 KiB header section in few fields: 431.
    let big = vec![b'v'; 64 * 1024];
    let (outcome, status, _) = get(&router, b"/", &[HOST, (b"x-big", &big)]);
    assert_eq!(
        (outcome, status),
        (
            Outcome::BadRequest(BadRequest::HeaderSectionTooLarge),
            Some(431)
        )
    );
    // 1,000 query pairs are routed; 1,001 are refused with 400.
    let query = |pairs: usize| format!("/?{}", vec!["a=1"; pairs].join("&"));
    let (outcome, _, _) = get(&router, query(1000).as_bytes(), &[HOST]);
    assert_eq!(outcome, Outcome::Forward);
    let (outcome, status, _) = get(&router, query(1001).as_bytes(), &[HOST]);
    assert_eq!(
        (outcome, status),
        (
            Outcome::BadRequest(BadRequest::TooManyQueryPairs),
            Some(400)
        )
    );
}

#[test]
fn thousands_of_routes_on_one_host_and_prefix_keep_precedence() {
    // 3,000 routes, all `app.example` and PathPrefix /api, each with its own header match;
    // every one must still be reachable, and ties go to the oldest route.
    let mut text = String::new();
    for i in 0..3_000u32 {
        let rules = format!(
            "[{{matches: [{{path: {{type: PathPrefix, value: /api}}, headers: [{{name: x-n, value: \"{}\"}}]}}], backendRefs: [{{name: app, port: 80}}]}}]",
            i % 1_500
        );
        text.push_str(&route(&format!("r{i}"), i, &rules));
    }
    let router = router(&text);
    for i in [0u32, 1, 777, 1_499] {
        let value = i.to_string();
        let (outcome, _, name) = get(&router, b"/api/x", &[HOST, (b"x-n", value.as_bytes())]);
        // r{i} and r{i + 1500} tie; the older (r{i}) wins.
        assert_eq!((outcome, name), (Outcome::Forward, Some(format!("r{i}"))));
    }
    let (outcome, _, _) = get(&router, b"/api/x", &[HOST, (b"x-n", b"nope")]);
    assert_eq!(outcome, Outcome::NotFound(NotFound::NoRule));
}

#[test]
fn a_regex_over_the_size_limit_is_reported_with_its_field_path_and_never_matches() {
    // A pattern that does not compile is a warning (the CRD accepts it); its match never
    // matches, so a request cannot reach the rule through it.
    let rules = "[{matches: [{path: {type: RegularExpression, value: \"(\\\\w{100}){100}\"}}], backendRefs: [{name: app, port: 80}]}]";
    let text = format!("{HEAD}{}", route("big", 0, rules));
    let loaded = Snapshot::load(text.as_bytes(), &LoadOptions::default()).expect("loads");
    let warning = loaded
        .warnings
        .iter()
        .map(ToString::to_string)
        .find(|w| w.contains("spec.rules[0].matches[0].path.value"))
        .expect("a warning names the field");
    assert!(warning.contains("size limit"), "{warning}");
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    let router =
        Router::build(&config, &GatewayRef::new("ns", "gw"), PathPolicy::secure()).expect("builds");
    let (_, _, name) = get(&router, b"/aaaa", &[HOST]);
    assert_ne!(name.as_deref(), Some("big"));
}

#[test]
fn a_malformed_request_is_refused_in_the_mesh_even_where_it_would_pass_through() {
    use gateway_core::route::{Destination, MeshRoute};
    let yaml = "apiVersion: v1
kind: Service
metadata: {name: svc, namespace: app}
spec: {clusterIP: 10.0.0.10, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: bare, namespace: app}
spec: {clusterIP: 10.0.0.11, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: svc}]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
";
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).expect("loads");
    let mut options = AttachOptions::default();
    options.mesh = true;
    let config = Config::new(loaded.snapshot, options);
    let mesh = Router::build_mesh(&config, PathPolicy::secure()).expect("builds");
    let injected: [(&[u8], &[u8]); 2] = [(b"host", b"svc"), (b"x-a", b"1\r\nx-injected: 1")];
    for name in ["svc", "bare"] {
        let to = Destination::Service {
            namespace: "app",
            name,
            port: 80,
        };
        let req = RequestView::new("GET", b"/", Headers::Bytes(&injected)).port(80);
        match mesh.route_mesh(&req, "app", &to) {
            MeshRoute::Routed(d) => assert_eq!(
                (d.outcome(), d.status()),
                (
                    Outcome::BadRequest(BadRequest::InvalidHeaderValue),
                    Some(400)
                ),
                "{name}"
            ),
            other => panic!("{name}: passed through: {other:?}"),
        }
        // The same request, well-formed: routed on svc, passed through on bare.
        let clean: [(&[u8], &[u8]); 1] = [(b"host", b"svc")];
        let req = RequestView::new("GET", b"/", Headers::Bytes(&clean)).port(80);
        let routed = matches!(mesh.route_mesh(&req, "app", &to), MeshRoute::Routed(_));
        assert_eq!(routed, name == "svc", "{name}");
    }
}
