//! XListenerSet (GEP-1713): admission, the merged listener list, conflicts, status, and routes
//! through a set's listeners. One test per rule.

use gateway_core::attach::{ListenerSetStatus, Status};
use gateway_core::outcome::{NotFound, Outcome};
use gateway_core::request::{Headers, RequestView};

use crate::support::*;

type Conds = Vec<(String, String, String)>;

/// Gateway `gw` in `default`: listener `http` on port 80 for `gw.example.com`, then `extra`
/// (e.g. `allowedListeners`) under `spec`.
fn gateway(extra: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: default}}
spec:
  gatewayClassName: test
{extra}  listeners:
  - {{name: http, port: 80, protocol: HTTP, hostname: gw.example.com, allowedRoutes: {{namespaces: {{from: All}}}}}}
---
"
    )
}

const ALLOW_ALL: &str = "  allowedListeners: {namespaces: {from: All}}\n";

/// An XListenerSet `name` in `ns` for Gateway `default/gw`, created at `created` (`""` for
/// none), with the given listener flow-maps.
fn set(name: &str, ns: &str, created: &str, listeners: &[&str]) -> String {
    let created = if created.is_empty() {
        String::new()
    } else {
        format!(", creationTimestamp: '{created}'")
    };
    let listeners: String = listeners.iter().map(|l| format!("  - {l}\n")).collect();
    format!(
        "apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XListenerSet
metadata: {{name: {name}, namespace: {ns}{created}}}
spec:
  parentRef: {{name: gw, namespace: default}}
  listeners:
{listeners}---
"
    )
}

fn http_route(name: &str, ns: &str, parent: &str, hostnames: &str, backend: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}}}
spec:
  parentRefs: [{parent}]
  hostnames: [{hostnames}]
  rules:
  - backendRefs: [{{name: {backend}, namespace: default, port: 80}}]
---
"
    )
}

fn set_status<'c>(
    config: &'c gateway_core::attach::Config,
    ns: &str,
    name: &str,
) -> &'c ListenerSetStatus {
    match &status(config, "XListenerSet", Some(ns), name).status {
        Status::ListenerSet(s) => s,
        other => panic!("not a ListenerSet status: {other:?}"),
    }
}

fn set_conditions(config: &gateway_core::attach::Config, ns: &str, name: &str) -> Conds {
    triples(&set_status(config, ns, name).conditions)
}

/// A set listener's conditions and attachedRoutes.
fn entry(
    config: &gateway_core::attach::Config,
    ns: &str,
    set: &str,
    listener: &str,
) -> (Conds, i32) {
    let s = set_status(config, ns, set);
    let l = s
        .listeners
        .iter()
        .find(|l| l.name == listener)
        .unwrap_or_else(|| panic!("no listener {listener} in {ns}/{set}: {s:?}"));
    (triples(&l.conditions), l.attached_routes)
}

fn gateway_status(config: &gateway_core::attach::Config) -> &gateway_core::attach::GatewayStatus {
    match &status(config, "Gateway", Some("default"), "gw").status {
        Status::Gateway(g) => g,
        other => panic!("not a Gateway status: {other:?}"),
    }
}

fn triples(conditions: &[gateway_core::api::Condition]) -> Conds {
    conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect()
}

/// Routes `GET http://host/` on `port`.
fn get(config: &gateway_core::attach::Config, port: u16, host: &str) -> Routed {
    let headers = [("host", host)];
    route_on(
        &router(config),
        RequestView::new("GET", b"/", Headers::Pairs(&headers)).port(port),
    )
}

const LS_HTTP: &str = "{name: web, port: 80, protocol: HTTP, hostname: ls.example.com, allowedRoutes: {namespaces: {from: All}}}";

#[test]
fn listener_set_not_allowed_by_default() {
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{}",
        gateway(""),
        set("ls", "default", "", &[LS_HTTP]),
        http_route(
            "r",
            "default",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls}",
            "",
            "a"
        ),
    ));
    let conds = set_conditions(&c, "default", "ls");
    assert!(has(&conds, "Accepted", "False", "NotAllowed"), "{conds:?}");
    assert!(
        has(&conds, "Programmed", "False", "NotAllowed"),
        "{conds:?}"
    );
    assert!(set_status(&c, "default", "ls").listeners.is_empty());
    let gw = triples(&gateway_status(&c).conditions);
    assert!(
        has(
            &gw,
            "AttachedListenerSets",
            "False",
            "ListenerSetsNotAllowed"
        ),
        "{gw:?}"
    );
    assert!(has(&gw, "Accepted", "True", "Accepted"), "{gw:?}");
    // Its listeners are not served, and a route to it has nowhere to attach.
    assert_eq!(
        get(&c, 80, "ls.example.com").outcome,
        Outcome::NotFound(NotFound::NoListenerForHost)
    );
    let route = route_conditions(&c, "r");
    assert!(
        has(&route, "Accepted", "False", "NoMatchingParent"),
        "{route:?}"
    );
}

#[test]
fn explicit_none_admits_no_listener_set() {
    let c = config(&format!(
        "{CLASS}{}{}",
        gateway("  allowedListeners: {namespaces: {from: None}}\n"),
        set("ls", "default", "", &[LS_HTTP]),
    ));
    assert!(has(
        &set_conditions(&c, "default", "ls"),
        "Accepted",
        "False",
        "NotAllowed"
    ));
}

#[test]
fn same_admits_only_listener_sets_of_the_gateways_namespace() {
    let c = config(&format!(
        "{CLASS}{}{}{}",
        gateway("  allowedListeners: {namespaces: {from: Same}}\n"),
        set("mine", "default", "", &[LS_HTTP]),
        set("theirs", "apps", "", &[LS_HTTP]),
    ));
    assert!(has(
        &set_conditions(&c, "default", "mine"),
        "Accepted",
        "True",
        "Accepted"
    ));
    assert!(has(
        &set_conditions(&c, "apps", "theirs"),
        "Accepted",
        "False",
        "NotAllowed"
    ));
    let gw = triples(&gateway_status(&c).conditions);
    assert!(
        has(&gw, "AttachedListenerSets", "True", "ListenerSetsAttached"),
        "{gw:?}"
    );
}

#[test]
fn selector_admits_listener_sets_from_namespaces_with_matching_labels() {
    let namespaces = "apiVersion: v1
kind: Namespace
metadata: {name: edge, labels: {listeners: allowed}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
";
    let c = config(&format!(
        "{CLASS}{namespaces}{}{}{}{}",
        gateway(
            "  allowedListeners: {namespaces: {from: Selector, selector: {matchLabels: {listeners: allowed}}}}\n"
        ),
        set("a", "edge", "", &[LS_HTTP]),
        set("b", "other", "", &[LS_HTTP]),
        // The implicit kubernetes.io/metadata.name label also selects.
        set("c", "default", "", &[LS_HTTP]),
    ));
    assert!(has(
        &set_conditions(&c, "edge", "a"),
        "Accepted",
        "True",
        "Accepted"
    ));
    assert!(has(
        &set_conditions(&c, "other", "b"),
        "Accepted",
        "False",
        "NotAllowed"
    ));
    assert!(has(
        &set_conditions(&c, "default", "c"),
        "Accepted",
        "False",
        "NotAllowed"
    ));
}

#[test]
fn gateway_with_no_allowed_listeners_and_no_sets_gets_no_attached_listener_sets_condition() {
    let c = config(&format!("{CLASS}{}", gateway("")));
    assert!(
        !gateway_status(&c)
            .conditions
            .iter()
            .any(|c| c.type_ == "AttachedListenerSets")
    );
    let c = config(&format!("{CLASS}{}", gateway(ALLOW_ALL)));
    assert!(has(
        &triples(&gateway_status(&c).conditions),
        "AttachedListenerSets",
        "False",
        "NoListenerSetsAttached"
    ));
}

#[test]
fn gateway_listeners_win_conflicts_over_listener_sets() {
    let c = config(&format!(
        "{CLASS}{}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "default",
            "",
            &[
                "{name: same-host, port: 80, protocol: HTTP, hostname: gw.example.com}",
                LS_HTTP,
            ]
        ),
        set(
            "tcp",
            "default",
            "",
            &["{name: other-protocol, port: 80, protocol: TCP}"]
        ),
    ));
    let (host, _) = entry(&c, "default", "ls", "same-host");
    assert!(
        has(&host, "Conflicted", "True", "HostnameConflict"),
        "{host:?}"
    );
    assert!(has(&host, "Programmed", "False", "Invalid"), "{host:?}");
    let (protocol, _) = entry(&c, "default", "tcp", "other-protocol");
    assert!(
        has(&protocol, "Conflicted", "True", "ProtocolConflict"),
        "{protocol:?}"
    );
    // The rest of the set still serves.
    let (web, _) = entry(&c, "default", "ls", "web");
    assert!(has(&web, "Conflicted", "False", "NoConflicts"), "{web:?}");
    assert!(has(&web, "Programmed", "True", "Programmed"), "{web:?}");
    assert!(has(
        &set_conditions(&c, "default", "ls"),
        "Accepted",
        "True",
        "Accepted"
    ));
    // The Gateway's own listener is untouched, and its status lists only its own listener.
    let gw = gateway_status(&c);
    assert_eq!(gw.listeners.len(), 1);
    let own = triples(&gw.listeners[0].conditions);
    assert!(has(&own, "Conflicted", "False", "NoConflicts"), "{own:?}");
    assert!(has(&own, "Programmed", "True", "Programmed"), "{own:?}");
}

#[test]
fn listener_set_whose_every_listener_conflicts_is_listeners_not_valid() {
    let c = config(&format!(
        "{CLASS}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "default",
            "",
            &["{name: same-host, port: 80, protocol: HTTP, hostname: gw.example.com}"]
        ),
    ));
    let conds = set_conditions(&c, "default", "ls");
    assert!(
        has(&conds, "Accepted", "False", "ListenersNotValid"),
        "{conds:?}"
    );
    assert!(
        has(&conds, "Programmed", "False", "ListenersNotValid"),
        "{conds:?}"
    );
    assert!(has(
        &triples(&gateway_status(&c).conditions),
        "AttachedListenerSets",
        "False",
        "NoListenerSetsAttached"
    ));
}

#[test]
fn older_listener_set_wins_conflict() {
    // `a` sorts first by name but `b` is older: `b` wins.
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{}{}{}",
        gateway(ALLOW_ALL),
        set("a", "default", "2025-01-02T00:00:00Z", &[LS_HTTP]),
        set("b", "default", "2025-01-01T00:00:00Z", &[LS_HTTP]),
        http_route(
            "to-a",
            "default",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: a}",
            "",
            "a"
        ),
        http_route(
            "to-b",
            "default",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: b}",
            "",
            "b"
        ),
    ));
    let (winner, _) = entry(&c, "default", "b", "web");
    assert!(
        has(&winner, "Conflicted", "False", "NoConflicts"),
        "{winner:?}"
    );
    let (loser, _) = entry(&c, "default", "a", "web");
    assert!(
        has(&loser, "Conflicted", "True", "HostnameConflict"),
        "{loser:?}"
    );
    let d = get(&c, 80, "ls.example.com");
    assert_eq!(d.backend.as_deref(), Some("b"), "{d:?}");
}

#[test]
fn listener_sets_created_together_are_ordered_by_namespace_then_name() {
    let c = config(&format!(
        "{CLASS}{}{}{}{}",
        gateway(ALLOW_ALL),
        set("z", "apps", "2025-01-01T00:00:00Z", &[LS_HTTP]),
        set("b", "default", "2025-01-01T00:00:00Z", &[LS_HTTP]),
        set("a", "default", "2025-01-01T00:00:00Z", &[LS_HTTP]),
    ));
    // apps/z < default/a < default/b.
    assert!(has(
        &entry(&c, "apps", "z", "web").0,
        "Conflicted",
        "False",
        "NoConflicts"
    ));
    assert!(has(
        &entry(&c, "default", "a", "web").0,
        "Conflicted",
        "True",
        "HostnameConflict"
    ));
    assert!(has(
        &entry(&c, "default", "b", "web").0,
        "Conflicted",
        "True",
        "HostnameConflict"
    ));
}

#[test]
fn later_listener_set_loses_a_protocol_conflict() {
    let c = config(&format!(
        "{CLASS}{}{}{}",
        gateway(ALLOW_ALL),
        set(
            "first",
            "default",
            "2025-01-01T00:00:00Z",
            &["{name: tcp, port: 9000, protocol: TCP}"]
        ),
        set(
            "second",
            "default",
            "2025-01-02T00:00:00Z",
            &["{name: http, port: 9000, protocol: HTTP}"]
        ),
    ));
    assert!(has(
        &entry(&c, "default", "first", "tcp").0,
        "Conflicted",
        "False",
        "NoConflicts"
    ));
    assert!(has(
        &entry(&c, "default", "second", "http").0,
        "Conflicted",
        "True",
        "ProtocolConflict"
    ));
}

#[test]
fn listener_names_need_only_be_unique_within_one_resource() {
    // The Gateway and two sets each have a listener named `http`, on distinct hostnames.
    let c = config(&format!(
        "{CLASS}{}{}{}",
        gateway(ALLOW_ALL),
        set(
            "one",
            "default",
            "",
            &["{name: http, port: 80, protocol: HTTP, hostname: one.example.com}"]
        ),
        set(
            "two",
            "default",
            "",
            &["{name: http, port: 80, protocol: HTTP, hostname: two.example.com}"]
        ),
    ));
    for name in ["one", "two"] {
        let (conds, _) = entry(&c, "default", name, "http");
        assert!(
            has(&conds, "Programmed", "True", "Programmed"),
            "{name}: {conds:?}"
        );
    }
}

#[test]
fn listener_set_without_a_port_is_unsupported_port() {
    let c = config(&format!(
        "{CLASS}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "default",
            "",
            &[
                "{name: dynamic, protocol: HTTP, hostname: d.example.com}",
                LS_HTTP
            ]
        ),
    ));
    let s = set_status(&c, "default", "ls");
    assert_eq!(s.listeners[0].port, 0);
    assert_eq!(s.listeners[1].port, 80);
    let (conds, _) = entry(&c, "default", "ls", "dynamic");
    assert!(
        has(&conds, "Accepted", "False", "UnsupportedPort"),
        "{conds:?}"
    );
    assert!(has(&conds, "Programmed", "False", "Invalid"), "{conds:?}");
}

#[test]
fn listener_set_of_a_gateway_that_is_not_accepted_is_parent_not_accepted() {
    let c = config(&format!(
        "{CLASS}{}{}",
        gateway(
            "  allowedListeners: {namespaces: {from: All}}\n  addresses: [{type: example.com/unsupported, value: x}]\n"
        ),
        set("ls", "default", "", &[LS_HTTP]),
    ));
    let conds = set_conditions(&c, "default", "ls");
    assert!(
        has(&conds, "Accepted", "False", "ParentNotAccepted"),
        "{conds:?}"
    );
    assert!(
        has(&conds, "Programmed", "False", "ParentNotProgrammed"),
        "{conds:?}"
    );
}

#[test]
fn route_attaches_to_listener_set_section() {
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "default",
            "",
            &[
                LS_HTTP,
                "{name: other, port: 80, protocol: HTTP, hostname: other.example.com}"
            ]
        ),
        http_route(
            "r",
            "default",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls, sectionName: web}",
            "",
            "b"
        ),
    ));
    let route = route_conditions(&c, "r");
    assert!(has(&route, "Accepted", "True", "Accepted"), "{route:?}");
    assert_eq!(entry(&c, "default", "ls", "web").1, 1);
    assert_eq!(entry(&c, "default", "ls", "other").1, 0);
    assert_eq!(gateway_status(&c).listeners[0].attached_routes, 0);
    // The route's status names the ListenerSet parentRef as written.
    let Status::Route(r) = &status(&c, "HTTPRoute", Some("default"), "r").status else {
        panic!("not a route status");
    };
    let parent = &r.parents[0].parent_ref;
    assert_eq!(
        (
            parent.group.as_str(),
            parent.kind.as_str(),
            parent.name.as_str()
        ),
        ("gateway.networking.x-k8s.io", "XListenerSet", "ls")
    );
    assert_eq!(get(&c, 80, "ls.example.com").backend.as_deref(), Some("b"));
    assert_eq!(
        get(&c, 80, "other.example.com").outcome,
        Outcome::NotFound(NotFound::NoRule)
    );
}

#[test]
fn route_without_section_attaches_to_every_listener_of_the_set() {
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "default",
            "",
            &[
                LS_HTTP,
                "{name: other, port: 80, protocol: HTTP, hostname: other.example.com, allowedRoutes: {namespaces: {from: All}}}"
            ]
        ),
        http_route(
            "r",
            "default",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls}",
            "",
            "b"
        ),
    ));
    assert_eq!(entry(&c, "default", "ls", "web").1, 1);
    assert_eq!(entry(&c, "default", "ls", "other").1, 1);
}

#[test]
fn route_to_the_gateway_never_attaches_to_listener_set_listeners() {
    // GEP-1713 "Gateway parents and sectionName".
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{}{}",
        gateway(ALLOW_ALL),
        set("ls", "default", "", &[LS_HTTP]),
        http_route("whole", "default", "{name: gw}", "", "a"),
        http_route(
            "section",
            "default",
            "{name: gw, sectionName: web}",
            "",
            "a"
        ),
    ));
    assert_eq!(entry(&c, "default", "ls", "web").1, 0);
    assert_eq!(gateway_status(&c).listeners[0].attached_routes, 1);
    assert_eq!(
        get(&c, 80, "ls.example.com").outcome,
        Outcome::NotFound(NotFound::NoRule)
    );
    assert_eq!(get(&c, 80, "gw.example.com").backend.as_deref(), Some("a"));
    // `web` is a listener of the set, not of the Gateway.
    let section = route_conditions(&c, "section");
    assert!(
        has(&section, "Accepted", "False", "NoMatchingParent"),
        "{section:?}"
    );
}

#[test]
fn allowed_routes_same_on_a_listener_set_means_the_sets_namespace() {
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "apps",
            "",
            &["{name: web, port: 80, protocol: HTTP, hostname: ls.example.com}"]
        ),
        http_route(
            "mine",
            "apps",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls}",
            "",
            "a"
        ),
        http_route(
            "r",
            "default",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls, namespace: apps}",
            "",
            "a"
        ),
    ));
    assert_eq!(entry(&c, "apps", "ls", "web").1, 1);
    let Status::Route(mine) = &status(&c, "HTTPRoute", Some("apps"), "mine").status else {
        panic!("not a route status");
    };
    assert!(
        mine.parents[0]
            .conditions
            .iter()
            .any(|c| c.type_ == "Accepted" && c.status == "True")
    );
    let other = route_conditions(&c, "r");
    assert!(
        has(&other, "Accepted", "False", "NotAllowedByListeners"),
        "{other:?}"
    );
}

const CERT: &str = "-----BEGIN CERTIFICATE-----\\nAA==\\n-----END CERTIFICATE-----\\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\\nAA==\\n-----END PRIVATE KEY-----\\n";

fn certificate_case(grant_from_kind: &str) -> gateway_core::attach::Config {
    let secret = format!(
        "apiVersion: v1
kind: Secret
metadata: {{name: cert, namespace: certs}}
stringData: {{tls.crt: \"{CERT}\", tls.key: \"{KEY}\"}}
---
"
    );
    let group = if grant_from_kind == "Gateway" {
        "gateway.networking.k8s.io"
    } else {
        "gateway.networking.x-k8s.io"
    };
    let grant = format!(
        "apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {{name: g, namespace: certs}}
spec:
  from: [{{group: {group}, kind: {grant_from_kind}, namespace: apps}}]
  to: [{{group: '', kind: Secret}}]
---
"
    );
    config(&format!(
        "{CLASS}{secret}{grant}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "apps",
            "",
            &[
                "{name: tls, port: 443, protocol: HTTPS, hostname: ls.example.com, tls: {certificateRefs: [{name: cert, namespace: certs}]}}"
            ]
        ),
    ))
}

#[test]
fn listener_set_certificates_need_a_reference_grant_to_the_listener_set() {
    // GEP-1713 "ReferenceGrant Semantics": a grant to Gateways is not inherited by sets.
    let c = certificate_case("Gateway");
    let (conds, _) = entry(&c, "apps", "ls", "tls");
    assert!(
        has(&conds, "ResolvedRefs", "False", "RefNotPermitted"),
        "{conds:?}"
    );
    assert!(has(&conds, "Programmed", "False", "Invalid"), "{conds:?}");
    let c = certificate_case("XListenerSet");
    let (conds, _) = entry(&c, "apps", "ls", "tls");
    assert!(
        has(&conds, "ResolvedRefs", "True", "ResolvedRefs"),
        "{conds:?}"
    );
    assert!(has(&conds, "Programmed", "True", "Programmed"), "{conds:?}");
}

#[test]
fn listener_set_status_is_deterministic_and_independent_of_document_order() {
    let docs = [
        set("a", "default", "2025-01-02T00:00:00Z", &[LS_HTTP]),
        set("b", "default", "2025-01-01T00:00:00Z", &[LS_HTTP]),
        set(
            "c",
            "apps",
            "",
            &["{name: web, port: 8080, protocol: HTTP}"],
        ),
    ];
    let forward = format!("{CLASS}{}{}", gateway(ALLOW_ALL), docs.concat());
    let reversed: String = docs.iter().rev().cloned().collect();
    let backward = format!("{CLASS}{}{reversed}", gateway(ALLOW_ALL));
    assert_eq!(
        config(&forward).status().to_json(),
        config(&forward).status().to_json()
    );
    let one = config(&forward);
    let two = config(&backward);
    for (ns, name) in [("default", "a"), ("default", "b"), ("apps", "c")] {
        assert_eq!(
            set_status(&one, ns, name),
            set_status(&two, ns, name),
            "{ns}/{name}"
        );
    }
}

#[test]
fn request_is_routed_through_a_listener_set_listener() {
    // End to end: manifests → attach → compiled router → decision, on a port only the set
    // declares.
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "default",
            "",
            &["{name: alt, port: 8080, protocol: HTTP, hostname: ls.example.com}"]
        ),
        http_route(
            "r",
            "default",
            "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls, sectionName: alt}",
            "ls.example.com",
            "c"
        ),
    ));
    let d = get(&c, 8080, "ls.example.com");
    assert_eq!(d.outcome, Outcome::Forward, "{d:?}");
    assert_eq!(d.backend.as_deref(), Some("c"));
    assert_eq!(d.route.as_deref(), Some("r"));
    assert_eq!(d.listener.as_deref(), Some("alt"));
    let router = router(&c);
    let headers = [("host", "ls.example.com")];
    let request = RequestView::new("GET", b"/", Headers::Pairs(&headers)).port(8080);
    assert_eq!(
        router.route(&request).listener_set(),
        Some(("default", "ls"))
    );
    let gw_headers = [("host", "gw.example.com")];
    let request = RequestView::new("GET", b"/", Headers::Pairs(&gw_headers)).port(80);
    assert_eq!(router.route(&request).listener_set(), None);
    // The Gateway's port 80 does not serve it.
    assert_eq!(
        get(&c, 80, "ls.example.com").outcome,
        Outcome::NotFound(NotFound::NoListenerForHost)
    );
}

#[test]
fn conflicts_within_one_listener_set_mark_both_listeners() {
    // Within one resource neither listener is earlier: both lose, as within a Gateway.
    let c = config(&format!(
        "{CLASS}{}{}",
        gateway(ALLOW_ALL),
        set(
            "ls",
            "default",
            "",
            &[
                "{name: http, port: 9000, protocol: HTTP}",
                "{name: tcp, port: 9000, protocol: TCP}"
            ]
        ),
    ));
    for name in ["http", "tcp"] {
        let (conds, _) = entry(&c, "default", "ls", name);
        assert!(
            has(&conds, "Conflicted", "True", "ProtocolConflict"),
            "{name}: {conds:?}"
        );
    }
}

#[test]
fn listener_set_https_listener_overlapping_the_gateways_reports_overlapping_tls_config() {
    let secret = format!(
        "apiVersion: v1
kind: Secret
metadata: {{name: c, namespace: default}}
stringData: {{tls.crt: \"{CERT}\", tls.key: \"{KEY}\"}}
---
"
    );
    let c = config(&format!(
        "{CLASS}{secret}{}{}",
        "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: test
  allowedListeners: {namespaces: {from: All}}
  listeners:
  - {name: https, port: 443, protocol: HTTPS, hostname: '*.example.com', tls: {certificateRefs: [{name: c}]}}
---
",
        set(
            "ls",
            "default",
            "",
            &[
                "{name: https, port: 443, protocol: HTTPS, hostname: team.example.com, tls: {certificateRefs: [{name: c}]}}",
                "{name: other, port: 443, protocol: HTTPS, hostname: team.example.org, tls: {certificateRefs: [{name: c}]}}"
            ]
        ),
    ));
    let (conds, _) = entry(&c, "default", "ls", "https");
    assert!(
        has(
            &conds,
            "OverlappingTLSConfig",
            "True",
            "OverlappingHostnames"
        ),
        "{conds:?}"
    );
    let (other, _) = entry(&c, "default", "ls", "other");
    assert!(
        !other.iter().any(|(t, _, _)| t == "OverlappingTLSConfig"),
        "{other:?}"
    );
    // The Gateway's status is about its own listeners.
    let own = triples(&gateway_status(&c).listeners[0].conditions);
    assert!(
        !own.iter().any(|(t, _, _)| t == "OverlappingTLSConfig"),
        "{own:?}"
    );
}

#[test]
fn younger_of_an_http_and_grpc_route_on_a_listener_set_listener_is_conflicted() {
    // GRPCRouteSpec: the older of an HTTPRoute and a GRPCRoute on one listener with
    // intersecting hostnames wins; the loser's ListenerSet parent reports it.
    let grpc = "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: default, creationTimestamp: '2025-01-02T00:00:00Z'}
spec:
  parentRefs: [{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls}]
  rules:
  - backendRefs: [{name: b, port: 80}]
---
";
    let http = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: h, namespace: default, creationTimestamp: '2025-01-01T00:00:00Z'}
spec:
  parentRefs: [{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls}]
  rules:
  - backendRefs: [{name: a, port: 80}]
---
";
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{grpc}{http}",
        gateway(ALLOW_ALL),
        set("ls", "default", "", &[LS_HTTP]),
    ));
    let Status::Route(g) = &status(&c, "GRPCRoute", Some("default"), "g").status else {
        panic!("not a route status");
    };
    let conds = triples(&g.parents[0].conditions);
    assert!(has(&conds, "Accepted", "False", "Conflicted"), "{conds:?}");
    assert!(has(
        &route_conditions(&c, "h"),
        "Accepted",
        "True",
        "Accepted"
    ));
    assert_eq!(entry(&c, "default", "ls", "web").1, 1);
}

#[test]
fn route_losing_only_on_a_listener_set_listener_is_conflicted_on_that_parent_alone() {
    // The younger GRPCRoute loses the set's listener to the HTTPRoute there, but still serves
    // the Gateway's own listener: only its ListenerSet parent says Conflicted.
    let grpc = "apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: default, creationTimestamp: '2025-01-02T00:00:00Z'}
spec:
  parentRefs:
  - {group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls}
  - {name: gw}
  rules:
  - backendRefs: [{name: b, port: 80}]
---
";
    let http = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: h, namespace: default, creationTimestamp: '2025-01-01T00:00:00Z'}
spec:
  parentRefs: [{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: ls}]
  rules:
  - backendRefs: [{name: a, port: 80}]
---
";
    let c = config(&format!(
        "{CLASS}{SERVICES}{}{}{grpc}{http}",
        gateway(ALLOW_ALL),
        set("ls", "default", "", &[LS_HTTP]),
    ));
    let Status::Route(g) = &status(&c, "GRPCRoute", Some("default"), "g").status else {
        panic!("not a route status");
    };
    let by_kind = |kind: &str| {
        let parent = g
            .parents
            .iter()
            .find(|p| p.parent_ref.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} parent: {g:?}"));
        triples(&parent.conditions)
    };
    let on_set = by_kind("XListenerSet");
    assert!(
        has(&on_set, "Accepted", "False", "Conflicted"),
        "{on_set:?}"
    );
    let on_gateway = by_kind("Gateway");
    assert!(
        has(&on_gateway, "Accepted", "True", "Accepted"),
        "{on_gateway:?}"
    );
}
