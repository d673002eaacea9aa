//! Mesh (GAMMA): routes attached to Services, their status, and the mesh router.

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config, RouteKind, Status};
use gateway_core::outcome::{BadRequest, NotFound, Outcome};
use gateway_core::plan::{Plan, plan};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{BuildError, Destination, MeshRoute, Router};
use gateway_core::{Engine, EngineOptions, Target};

use crate::support::{CLASS, GATEWAY, has};

/// Namespaces `app` (the Services) and `client`; Service `app/svc` with ports 80 (`http`) and
/// 7070 (`grpc`), `app/other` on 80, both with cluster IPs.
const MESH_SERVICES: &str = "apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: svc, namespace: app}, spec: {clusterIP: 10.0.0.10, clusterIPs: [10.0.0.10, 'fd00::10'], ports: [{name: http, port: 80}, {name: grpc, port: 7070}]}}
- {apiVersion: v1, kind: Service, metadata: {name: other, namespace: app}, spec: {clusterIP: 10.0.0.11, ports: [{name: http, port: 80}]}}
---
";

fn mesh_config_with(yaml: &str, mesh: bool) -> Config {
    let loaded = Snapshot::load(
        format!("{MESH_SERVICES}{yaml}").as_bytes(),
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("load: {e}"));
    let mut options = AttachOptions::default();
    options.mesh = mesh;
    Config::new(loaded.snapshot, options)
}

pub(crate) fn mesh_config(yaml: &str) -> Config {
    mesh_config_with(yaml, true)
}

fn http_route(name: &str, ns: &str, parent: &str, backend: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}}}
spec:
  parentRefs: [{parent}]
  rules:
  - backendRefs: [{backend}]
---
"
    )
}

/// `(type, status, reason)` of every condition of the route's parent `index`.
fn parent_conditions(
    config: &Config,
    kind: &str,
    ns: &str,
    name: &str,
    index: usize,
) -> Vec<(String, String, String)> {
    let object = config
        .status()
        .find(kind, Some(ns), name)
        .unwrap_or_else(|| panic!("no status for {kind} {ns}/{name}"));
    match &object.status {
        Status::Route(r) => r
            .parents
            .get(index)
            .map(|p| {
                p.conditions
                    .iter()
                    .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        other => panic!("not a route status: {other:?}"),
    }
}

const SVC: &str = "{group: '', kind: Service, name: svc}";
const TO_SVC: &str = "{name: svc, port: 80}";

#[test]
fn producer_route_on_a_service_is_accepted_with_the_service_as_parent() {
    let config = mesh_config(&http_route("r", "app", SVC, TO_SVC));
    let conds = parent_conditions(&config, "HTTPRoute", "app", "r", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    assert!(
        has(&conds, "ResolvedRefs", "True", "ResolvedRefs"),
        "{conds:?}"
    );
    let object = config.status().find("HTTPRoute", Some("app"), "r").unwrap();
    let Status::Route(r) = &object.status else {
        panic!()
    };
    assert_eq!(r.parents[0].parent_ref.kind, "Service");
    assert_eq!(r.parents[0].parent_ref.group, "");
}

#[test]
fn service_parents_are_not_ours_unless_the_mesh_is() {
    let config = mesh_config_with(&http_route("r", "app", SVC, TO_SVC), false);
    assert!(
        config
            .status()
            .find("HTTPRoute", Some("app"), "r")
            .is_none()
    );
}

#[test]
fn an_xmesh_of_our_controller_turns_the_mesh_on() {
    let xmesh = "apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XMesh
metadata: {name: mesh}
spec: {controllerName: gateway.example.dev/gateway-core}
---
";
    let config = mesh_config_with(
        &format!("{xmesh}{}", http_route("r", "app", SVC, TO_SVC)),
        false,
    );
    let conds = parent_conditions(&config, "HTTPRoute", "app", "r", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    // The XMesh is accepted and lists the mesh features the replay proves.
    let status = config
        .status()
        .find("XMesh", None, "mesh")
        .map(|o| &o.status);
    let Some(Status::Class(mesh)) = status else {
        panic!("no XMesh status: {status:?}")
    };
    let features: Vec<&str> = mesh
        .supported_features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(features, gateway_core::attach::MESH_SUPPORTED_FEATURES);
}

#[test]
fn a_missing_parent_service_is_no_matching_parent() {
    let parent = "{group: '', kind: Service, name: missing}";
    let config = mesh_config(&http_route("r", "app", parent, TO_SVC));
    let conds = parent_conditions(&config, "HTTPRoute", "app", "r", 0);
    assert!(
        has(&conds, "Accepted", "False", "NoMatchingParent"),
        "{conds:?}"
    );
}

#[test]
fn a_port_the_service_lacks_is_no_matching_parent() {
    let parent = "{group: '', kind: Service, name: svc, port: 8080}";
    let config = mesh_config(&http_route("r", "app", parent, TO_SVC));
    let conds = parent_conditions(&config, "HTTPRoute", "app", "r", 0);
    assert!(
        has(&conds, "Accepted", "False", "NoMatchingParent"),
        "{conds:?}"
    );
}

#[test]
fn section_name_names_a_service_port() {
    let good = "{group: '', kind: Service, name: svc, sectionName: grpc}";
    let bad = "{group: '', kind: Service, name: svc, sectionName: admin}";
    let both_disagree = "{group: '', kind: Service, name: svc, sectionName: grpc, port: 80}";
    let config = mesh_config(&format!(
        "{}{}{}",
        http_route("good", "app", good, TO_SVC),
        http_route("bad", "app", bad, TO_SVC),
        http_route("both", "app", both_disagree, TO_SVC)
    ));
    let conds = parent_conditions(&config, "HTTPRoute", "app", "good", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    for name in ["bad", "both"] {
        let conds = parent_conditions(&config, "HTTPRoute", "app", name, 0);
        assert!(
            has(&conds, "Accepted", "False", "NoMatchingParent"),
            "{name}: {conds:?}"
        );
    }
}

#[test]
fn consumer_route_needs_no_reference_grant_for_its_parent_or_backend() {
    let parent = "{group: '', kind: Service, name: svc, namespace: app}";
    let backend = "{name: svc, namespace: app, port: 80}";
    let config = mesh_config(&http_route("r", "client", parent, backend));
    let conds = parent_conditions(&config, "HTTPRoute", "client", "r", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    assert!(
        has(&conds, "ResolvedRefs", "True", "ResolvedRefs"),
        "{conds:?}"
    );
}

#[test]
fn a_route_with_a_gateway_parent_still_needs_a_reference_grant() {
    let parents = "{group: '', kind: Service, name: svc, namespace: app}, {name: gw}";
    let backend = "{name: svc, namespace: app, port: 80}";
    let gateway = format!(
        "{CLASS}{}",
        GATEWAY.replace("namespace: default", "namespace: client")
    );
    let config = mesh_config(&format!(
        "{gateway}{}",
        http_route("r", "client", parents, backend)
    ));
    let conds = parent_conditions(&config, "HTTPRoute", "client", "r", 0);
    assert!(
        has(&conds, "ResolvedRefs", "False", "RefNotPermitted"),
        "{conds:?}"
    );
}

#[test]
fn grpc_route_takes_precedence_over_http_route_on_a_service_port() {
    let grpc = "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: svc, port: 80}]
  rules:
  - backendRefs: [{name: svc, port: 7070}]
---
";
    let loses = "{group: '', kind: Service, name: svc, port: 80}";
    let keeps_a_port = "{group: '', kind: Service, name: svc}";
    let config = mesh_config(&format!(
        "{grpc}{}{}",
        http_route("loses", "app", loses, TO_SVC),
        http_route("keeps", "app", keeps_a_port, TO_SVC)
    ));
    let conds = parent_conditions(&config, "GRPCRoute", "app", "g", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    let conds = parent_conditions(&config, "HTTPRoute", "app", "loses", 0);
    assert!(has(&conds, "Accepted", "False", "Conflicted"), "{conds:?}");
    // Port 7070 is still its own.
    let conds = parent_conditions(&config, "HTTPRoute", "app", "keeps", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    let ports: Vec<_> = config.mesh_ports().collect();
    assert_eq!(ports, [("app", "svc", 80), ("app", "svc", 7070)]);
}

#[test]
fn a_consumer_route_does_not_conflict_with_a_producer_route_of_another_kind() {
    let grpc = "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: svc, port: 80}]
  rules:
  - backendRefs: [{name: svc, port: 7070}]
---
";
    let parent = "{group: '', kind: Service, name: svc, namespace: app, port: 80}";
    let backend = "{name: svc, namespace: app, port: 80}";
    let config = mesh_config(&format!(
        "{grpc}{}",
        http_route("c", "client", parent, backend)
    ));
    let conds = parent_conditions(&config, "HTTPRoute", "client", "c", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
}

#[test]
fn tcp_routes_on_a_service_are_not_routed_by_the_mesh() {
    let tcp = "apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: t, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: other}]
  rules:
  - backendRefs: [{name: other, port: 80}]
---
";
    let tcp_loses = tcp
        .replace("name: t,", "name: t2,")
        .replace("name: other}", "name: svc}");
    let config = mesh_config(&format!(
        "{tcp}{tcp_loses}{}",
        http_route("h", "app", SVC, TO_SVC)
    ));
    let conds = parent_conditions(&config, "TCPRoute", "app", "t", 0);
    assert!(
        has(&conds, "Accepted", "False", "UnsupportedValue"),
        "{conds:?}"
    );
    let conds = parent_conditions(&config, "TCPRoute", "app", "t2", 0);
    assert!(has(&conds, "Accepted", "False", "Conflicted"), "{conds:?}");
}

#[test]
fn hostnames_do_not_matter_for_a_service_parent() {
    let route = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: svc}]
  hostnames: [nothing.example]
  rules:
  - backendRefs: [{name: svc, port: 80}]
---
";
    let config = mesh_config(route);
    let conds = parent_conditions(&config, "HTTPRoute", "app", "r", 0);
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
}

// === the mesh router ===

fn mesh_router(config: &Config) -> Router {
    Router::build_mesh(config, PathPolicy::secure()).unwrap_or_else(|e| panic!("build: {e}"))
}

/// `(outcome, route name, backend name)` of a GET `target` from a client in `client`.
fn mesh_get(
    router: &Router,
    client: &str,
    destination: &Destination<'_>,
    target: &str,
    headers: &[(&str, &str)],
) -> (Outcome, Option<String>, Option<String>) {
    let req = RequestView::new("GET", target.as_bytes(), Headers::Pairs(headers));
    let routed = router.route_mesh(&req, client, destination);
    let d = routed.decision();
    (
        routed.outcome(),
        d.and_then(|d| d.route()).map(|r| r.name.to_owned()),
        d.and_then(|d| d.choose_backend(0)).map(|b| b.name.clone()),
    )
}

const HOST_SVC: [(&str, &str); 1] = [("host", "svc")];
const TO_SVC_80: Destination<'static> = Destination::Service {
    namespace: "app",
    name: "svc",
    port: 80,
};

fn matching_route(name: &str, ns: &str, parent: &str, prefix: &str, backend: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}}}
spec:
  parentRefs: [{parent}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}]
    backendRefs: [{backend}]
---
"
    )
}

#[test]
fn a_producer_route_routes_requests_to_its_service_port() {
    let config = mesh_config(&matching_route(
        "r",
        "app",
        SVC,
        "/",
        "{name: other, port: 80}",
    ));
    let router = mesh_router(&config);
    assert!(router.is_mesh());
    let got = mesh_get(&router, "app", &TO_SVC_80, "/a", &HOST_SVC);
    assert_eq!(
        got,
        (Outcome::Forward, Some("r".into()), Some("other".into()))
    );
    // Any client namespace: producer routes apply to every client.
    let got = mesh_get(&router, "elsewhere", &TO_SVC_80, "/a", &HOST_SVC);
    assert_eq!(got.0, Outcome::Forward);
}

#[test]
fn an_address_resolves_through_cluster_ips_v4_and_v6() {
    let config = mesh_config(&matching_route("r", "app", SVC, "/", TO_SVC));
    let router = mesh_router(&config);
    for ip in ["10.0.0.10", "fd00::10"] {
        let to = Destination::address(ip.parse().unwrap(), 80);
        let got = mesh_get(&router, "app", &to, "/", &HOST_SVC);
        assert_eq!(got.1.as_deref(), Some("r"), "{ip}");
    }
}

#[test]
fn no_route_applies_to_an_address_of_no_service_or_a_port_without_routes() {
    let parent = "{group: '', kind: Service, name: svc, port: 80}";
    let config = mesh_config(&matching_route("r", "app", parent, "/", TO_SVC));
    let router = mesh_router(&config);
    let cases = [
        Destination::address("10.9.9.9".parse().unwrap(), 80),
        Destination::address("10.0.0.11".parse().unwrap(), 80),
        Destination::service("app", "svc", 7070),
        Destination::service("app", "other", 80),
        Destination::service("app", "missing", 80),
    ];
    for to in cases {
        let req = RequestView::new("GET", b"/", Headers::Pairs(&HOST_SVC));
        let routed = router.route_mesh(&req, "app", &to);
        assert!(matches!(routed, MeshRoute::PassThrough(_)), "{to:?}");
        assert_eq!(routed.outcome(), Outcome::PassThrough);
        assert_eq!(routed.outcome().status(), None);
        assert!(!routed.reason().is_empty());
    }
}

#[test]
fn routes_that_apply_but_do_not_match_give_404() {
    let config = mesh_config(&matching_route("r", "app", SVC, "/v2", TO_SVC));
    let router = mesh_router(&config);
    let got = mesh_get(&router, "app", &TO_SVC_80, "/v1", &HOST_SVC);
    assert_eq!(got.0, Outcome::NotFound(NotFound::NoRule));
}

#[test]
fn consumer_routes_apply_to_their_namespace_only_and_beat_producer_routes_there() {
    let consumer_parent = "{group: '', kind: Service, name: svc, namespace: app}";
    let config = mesh_config(&format!(
        "{}{}",
        matching_route("producer", "app", SVC, "/", TO_SVC),
        matching_route(
            "consumer",
            "client",
            consumer_parent,
            "/",
            "{name: other, namespace: app, port: 80}"
        )
    ));
    let router = mesh_router(&config);
    let from_client = mesh_get(&router, "client", &TO_SVC_80, "/", &HOST_SVC);
    assert_eq!(from_client.1.as_deref(), Some("consumer"));
    assert_eq!(from_client.2.as_deref(), Some("other"));
    let from_app = mesh_get(&router, "app", &TO_SVC_80, "/", &HOST_SVC);
    assert_eq!(from_app.1.as_deref(), Some("producer"));
}

#[test]
fn only_consumer_routes_of_another_namespace_means_no_route_applies() {
    let consumer_parent = "{group: '', kind: Service, name: svc, namespace: app}";
    let config = mesh_config(&matching_route("c", "client", consumer_parent, "/", TO_SVC));
    let router = mesh_router(&config);
    let got = mesh_get(&router, "third", &TO_SVC_80, "/", &HOST_SVC);
    assert_eq!(got.0, Outcome::PassThrough);
}

#[test]
fn the_host_does_not_select_mesh_routes() {
    let route = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: svc}]
  hostnames: [nothing.example]
  rules:
  - backendRefs: [{name: svc, port: 80}]
---
";
    let router = mesh_router(&mesh_config(route));
    for host in [
        "svc",
        "svc.app.svc.cluster.local",
        "10.0.0.10:80",
        "other.example",
    ] {
        let got = mesh_get(&router, "app", &TO_SVC_80, "/", &[("host", host)]);
        assert_eq!(got.1.as_deref(), Some("r"), "{host}");
    }
}

#[test]
fn mesh_requests_pass_the_same_canonicalization_as_gateway_requests() {
    let router = mesh_router(&mesh_config(&matching_route(
        "r", "app", SVC, "/admin", TO_SVC,
    )));
    // An encoded slash is refused, a dot segment is removed before matching.
    let got = mesh_get(&router, "app", &TO_SVC_80, "/a%2Fb", &HOST_SVC);
    assert_eq!(got.0, Outcome::BadRequest(BadRequest::InvalidTarget));
    let req = RequestView::new("GET", b"/x/../admin/./a", Headers::Pairs(&HOST_SVC));
    let MeshRoute::Routed(d) = router.route_mesh(&req, "app", &TO_SVC_80) else {
        panic!("routed")
    };
    assert_eq!((d.outcome(), d.path()), (Outcome::Forward, "/admin/a"));
    // Two Host lines are refused as on a Gateway.
    let got = mesh_get(
        &router,
        "app",
        &TO_SVC_80,
        "/admin",
        &[("host", "a"), ("host", "b")],
    );
    assert_eq!(got.0, Outcome::BadRequest(BadRequest::InvalidHost));
}

#[test]
fn grpc_routes_route_grpc_requests_on_their_port() {
    let grpc = "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: svc, port: 7070}]
  rules:
  - matches: [{method: {service: proto.Echo, method: Echo}}]
    backendRefs: [{name: other, port: 80}]
---
";
    let router = mesh_router(&mesh_config(grpc));
    let headers = [("host", "svc:7070"), ("content-type", "application/grpc")];
    let to = Destination::service("app", "svc", 7070);
    let req = RequestView::new("POST", b"/proto.Echo/Echo", Headers::Pairs(&headers));
    let routed = router.route_mesh(&req, "app", &to);
    let d = routed.decision().expect("routed");
    assert_eq!(
        d.route().map(|r| (r.kind, r.name)),
        Some((RouteKind::Grpc, "g"))
    );
}

#[test]
fn mesh_decisions_plan_every_filter_like_gateway_decisions() {
    let route = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: svc}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - {type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}}
  - filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-mesh, value: yes}]}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-back, value: v}]}}
    backendRefs: [{name: svc, port: 80}]
---
";
    let router = mesh_router(&mesh_config(route));
    let req = RequestView::new("GET", b"/old/a", Headers::Pairs(&HOST_SVC)).port(80);
    let routed = router.route_mesh(&req, "app", &TO_SVC_80);
    let redirect = plan(routed.decision().expect("routed"), &req, 0);
    let Plan::Respond(r) = redirect else {
        panic!("a redirect: {redirect:?}")
    };
    assert_eq!(r.outcome, Outcome::Redirect);
    assert_eq!(r.header("location"), Some("http://svc/new/a"));
    let req = RequestView::new("GET", b"/a", Headers::Pairs(&HOST_SVC)).port(80);
    let routed = router.route_mesh(&req, "app", &TO_SVC_80);
    let Plan::Forward(f) = plan(routed.decision().expect("routed"), &req, 0) else {
        panic!("forward")
    };
    assert_eq!(f.backend.name, "svc");
    assert!(format!("{:?}", f.request).contains("x-mesh"));
    assert!(format!("{:?}", f.response).contains("x-back"));
}

#[test]
fn the_mesh_router_needs_the_mesh_to_be_ours() {
    let config = mesh_config_with(&http_route("r", "app", SVC, TO_SVC), false);
    let err = Router::build_mesh(&config, PathPolicy::secure()).unwrap_err();
    assert_eq!(err, BuildError::MeshNotEnabled);
    let mut options = EngineOptions::default();
    options.attach.mesh = true;
    let yaml = format!("{MESH_SERVICES}{}", http_route("r", "app", SVC, TO_SVC));
    let (_, router) = Engine::load_router(yaml.as_bytes(), &Target::Mesh, &options).unwrap();
    assert!(router.is_mesh());
    // A Gateway request on the mesh router finds no listener.
    let req = RequestView::new("GET", b"/", Headers::Pairs(&HOST_SVC)).port(80);
    assert_eq!(
        router.route(&req).outcome(),
        Outcome::NotFound(NotFound::NoListenerOnPort)
    );
}
