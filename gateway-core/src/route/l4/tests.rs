//! Routing TLS, TCP and UDP connections: the transport split and the SNI precedence.

use crate::api::{LoadOptions, Snapshot};
use crate::attach::{AttachOptions, Config};
use crate::outcome::{NotFound, Outcome};
use crate::request::normalize::PathPolicy;
use crate::route::{GatewayRef, L4Transport, Router};
use L4Transport::{Tcp, Tls, Udp};

const YAML: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gateway-core}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gateway-core
  listeners:
  - {name: any, port: 443, protocol: TLS, tls: {mode: Passthrough}}
  - {name: wild, port: 8443, protocol: TLS, hostname: "*.example.com", tls: {mode: Passthrough}}
  - {name: exact, port: 8443, protocol: TLS, hostname: a.example.com, tls: {mode: Passthrough}}
  - {name: tcp, port: 9000, protocol: TCP}
  - {name: udp, port: 9053, protocol: UDP}
  - {name: idle, port: 9001, protocol: TCP}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: exact, namespace: infra, creationTimestamp: "2025-01-02T00:00:00Z"}
spec:
  parentRefs: [{name: gw, sectionName: any}]
  hostnames: [a.example.com]
  rules: [{backendRefs: [{name: exact, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: exact-newer, namespace: infra, creationTimestamp: "2025-01-03T00:00:00Z"}
spec:
  parentRefs: [{name: gw, sectionName: any}]
  hostnames: [a.example.com]
  rules: [{backendRefs: [{name: exact, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: short-wildcard, namespace: infra, creationTimestamp: "2025-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw, sectionName: any}]
  hostnames: ["*.example.com"]
  rules: [{backendRefs: [{name: wild, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: long-wildcard, namespace: infra, creationTimestamp: "2025-01-04T00:00:00Z"}
spec:
  parentRefs: [{name: gw, sectionName: any}]
  hostnames: ["*.b.example.com"]
  rules: [{backendRefs: [{name: wild, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: catch-all, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: any}]
  rules: [{backendRefs: [{name: exact, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: on-wild, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: wild}]
  rules: [{backendRefs: [{name: wild, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: on-exact, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: exact}]
  rules: [{backendRefs: [{name: exact, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: tcp, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: tcp}]
  rules: [{backendRefs: [{name: echo, port: 9000}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {name: udp, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: udp}]
  rules: [{backendRefs: [{name: echo, port: 9053}]}]
---
apiVersion: v1
kind: Service
metadata: {name: exact, namespace: infra}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: wild, namespace: infra}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: infra}
spec: {ports: [{port: 9000}, {port: 9053, protocol: UDP}]}
"#;

fn router() -> Router {
    let loaded = Snapshot::load(YAML.as_bytes(), &LoadOptions::default()).expect("loads");
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    Router::build(
        &config,
        &GatewayRef::new("infra", "gw"),
        PathPolicy::default(),
    )
    .expect("builds")
}

/// `(listener, route)` of a forward, or the not-found cause.
fn routed(
    router: &Router,
    transport: L4Transport,
    port: u16,
    sni: Option<&str>,
) -> Result<(String, String), NotFound> {
    let d = router.route_l4(transport, port, sni);
    match d.outcome() {
        Outcome::Forward => Ok((
            d.listener()
                .expect("a forward names its listener")
                .to_owned(),
            d.route()
                .expect("a forward names its route")
                .name
                .to_owned(),
        )),
        Outcome::NotFound(cause) => Err(cause),
        other => panic!("unexpected outcome {other:?}"),
    }
}

/// One row: a connection and what it must route to.
type Row<'a> = (
    L4Transport,
    u16,
    Option<&'a str>,
    Result<(&'a str, &'a str), NotFound>,
);

/// Runs a table of rows against [`YAML`]'s router.
fn check(rows: &[Row<'_>]) {
    let r = router();
    for (transport, port, sni, expected) in rows {
        let expected = expected.map(|(listener, route)| (listener.to_owned(), route.to_owned()));
        assert_eq!(
            routed(&r, *transport, *port, *sni),
            expected,
            "{transport} :{port} sni={sni:?}"
        );
    }
}

#[test]
fn route_hostnames_rank_exact_then_longest_wildcard_then_none() {
    check(&[
        (Tls, 443, Some("a.example.com"), Ok(("any", "exact"))),
        (Tls, 443, Some("A.Example.COM."), Ok(("any", "exact"))),
        (
            Tls,
            443,
            Some("x.b.example.com"),
            Ok(("any", "long-wildcard")),
        ),
        (
            Tls,
            443,
            Some("b.example.com"),
            Ok(("any", "short-wildcard")),
        ),
        (Tls, 443, Some("example.com"), Ok(("any", "catch-all"))),
        (Tls, 443, Some("other.org"), Ok(("any", "catch-all"))),
        (Tls, 443, None, Ok(("any", "catch-all"))),
    ]);
}

#[test]
fn equal_route_hostnames_go_to_the_oldest_route() {
    // `exact` (2025-01-02) and `exact-newer` (2025-01-03) both name a.example.com.
    check(&[(Tls, 443, Some("a.example.com"), Ok(("any", "exact")))]);
}

#[test]
fn listener_hostname_must_match_the_sni_exact_before_wildcard() {
    check(&[
        (Tls, 8443, Some("a.example.com"), Ok(("exact", "on-exact"))),
        (Tls, 8443, Some("c.example.com"), Ok(("wild", "on-wild"))),
        (
            Tls,
            8443,
            Some("other.org"),
            Err(NotFound::NoListenerForSni),
        ),
        // Listeners with hostnames never match a connection without a server name.
        (Tls, 8443, None, Err(NotFound::NoListenerForSni)),
    ]);
}

#[test]
fn a_transport_is_served_only_by_listeners_of_its_protocol() {
    check(&[
        (Tcp, 9000, None, Ok(("tcp", "tcp"))),
        (Udp, 9053, None, Ok(("udp", "udp"))),
        (Udp, 9000, None, Err(NotFound::NoListenerOnPort)),
        (Tls, 9000, None, Err(NotFound::NoListenerOnPort)),
        (Tcp, 9053, None, Err(NotFound::NoListenerOnPort)),
        (Tcp, 443, None, Err(NotFound::NoListenerOnPort)),
        (Tls, 80, None, Err(NotFound::NoListenerOnPort)),
    ]);
}

#[test]
fn tcp_ignores_the_sni() {
    check(&[(Tcp, 9000, Some("other.org"), Ok(("tcp", "tcp")))]);
}

#[test]
fn a_listener_without_routes_finds_no_rule() {
    let r = router();
    let d = r.route_l4(Tcp, 9001, None);
    assert_eq!(d.outcome(), Outcome::NotFound(NotFound::NoRule));
    assert_eq!(d.listener(), Some("idle"));
    assert!(d.reason().contains("TCPRoute"), "{}", d.reason());
}

#[test]
fn a_forward_draws_its_backend() {
    let r = router();
    let d = r.route_l4(Tcp, 9000, None);
    let backend = d.choose_backend(0).expect("a valid backend");
    assert_eq!((backend.name.as_str(), backend.port), ("echo", 9000));
}

#[test]
fn transport_names_round_trip() {
    for t in [Tls, Tcp, Udp] {
        assert_eq!(L4Transport::parse(t.as_str()), Some(t));
    }
    assert_eq!(L4Transport::parse("sctp"), None);
}
