//! Mesh (GAMMA): routes attached to Services, their status, and the mesh router.

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config, Status};

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
