//! Attachment and status, one test per rule.

use gateway_core::attach::Status;

use crate::support::*;

fn route(name: &str, ns: &str, parent: &str, extra: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}}}
spec:
  parentRefs: [{parent}]
{extra}
---
"
    )
}

const BACKEND_A: &str = "  rules:\n  - backendRefs: [{name: a, port: 80}]";

fn gateway_conditions(
    config: &gateway_core::attach::Config,
    name: &str,
) -> Vec<(String, String, String)> {
    match &status(config, "Gateway", Some("default"), name).status {
        Status::Gateway(g) => g
            .conditions
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

fn listener_conditions(
    config: &gateway_core::attach::Config,
    gw: &str,
    listener: &str,
) -> (Vec<(String, String, String)>, i32) {
    match &status(config, "Gateway", Some("default"), gw).status {
        Status::Gateway(g) => g
            .listeners
            .iter()
            .find(|l| l.name == listener)
            .map(|l| {
                (
                    l.conditions
                        .iter()
                        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
                        .collect(),
                    l.attached_routes,
                )
            })
            .unwrap_or_default(),
        _ => (Vec::new(), 0),
    }
}

#[test]
fn route_attaches_and_is_accepted_with_resolved_refs() {
    let c = with_routes(&route("r", "default", "{name: gw}", BACKEND_A));
    let conds = route_conditions(&c, "r");
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    assert!(
        has(&conds, "ResolvedRefs", "True", "ResolvedRefs"),
        "{conds:?}"
    );
    assert_eq!(listener_conditions(&c, "gw", "http").1, 1);
}

#[test]
fn same_namespace_policy_rejects_routes_from_other_namespaces() {
    let gw = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: same, namespace: default}
spec:
  gatewayClassName: test
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
";
    let c = config(&format!(
        "{CLASS}{gw}{SERVICES}{}",
        route("r", "other", "{name: same, namespace: default}", BACKEND_A)
    ));
    let st = c
        .status()
        .find("HTTPRoute", Some("other"), "r")
        .expect("status");
    let Status::Route(r) = &st.status else {
        panic!()
    };
    assert!(r.parents[0].conditions.iter().any(|c| c.type_ == "Accepted"
        && c.status == "False"
        && c.reason == "NotAllowedByListeners"));
}

#[test]
fn selector_admits_namespaces_by_label_including_the_implicit_name_label() {
    let gw = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: sel, namespace: default}
spec:
  gatewayClassName: test
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: blue}}}}
  - name: byname
    port: 8080
    protocol: HTTP
    allowedRoutes: {namespaces: {from: Selector, selector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [green]}]}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: blue, labels: {team: blue}}
---
";
    let c = config(&format!(
        "{CLASS}{gw}{SERVICES}{}{}{}",
        route(
            "r1",
            "blue",
            "{name: sel, namespace: default, sectionName: http}",
            ""
        ),
        route(
            "r2",
            "red",
            "{name: sel, namespace: default, sectionName: http}",
            ""
        ),
        route(
            "r3",
            "green",
            "{name: sel, namespace: default, sectionName: byname}",
            ""
        )
    ));
    let accepted = |ns: &str, n: &str| {
        let Status::Route(r) = &c
            .status()
            .find("HTTPRoute", Some(ns), n)
            .expect("status")
            .status
        else {
            panic!()
        };
        r.parents[0]
            .conditions
            .iter()
            .any(|c| c.type_ == "Accepted" && c.status == "True")
    };
    assert!(accepted("blue", "r1"));
    assert!(!accepted("red", "r2"));
    assert!(accepted("green", "r3"));
}

#[test]
fn section_name_without_such_listener_is_no_matching_parent() {
    let c = with_routes(&route(
        "r",
        "default",
        "{name: gw, sectionName: nope}",
        BACKEND_A,
    ));
    assert!(has(
        &route_conditions(&c, "r"),
        "Accepted",
        "False",
        "NoMatchingParent"
    ));
}

#[test]
fn port_without_such_listener_is_no_matching_parent() {
    let c = with_routes(&route("r", "default", "{name: gw, port: 8443}", BACKEND_A));
    assert!(has(
        &route_conditions(&c, "r"),
        "Accepted",
        "False",
        "NoMatchingParent"
    ));
}

#[test]
fn disjoint_hostnames_are_no_matching_listener_hostname() {
    let gw = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: h, namespace: default}
spec:
  gatewayClassName: test
  listeners: [{name: http, port: 80, protocol: HTTP, hostname: '*.example.com'}]
---
";
    let c = config(&format!(
        "{CLASS}{gw}{SERVICES}{}",
        route(
            "r",
            "default",
            "{name: h}",
            "  hostnames: [example.com, foo.example.org]"
        )
    ));
    assert!(has(
        &route_conditions(&c, "r"),
        "Accepted",
        "False",
        "NoMatchingListenerHostname"
    ));
}

#[test]
fn wildcard_listener_accepts_deeper_route_hostname() {
    let gw = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: h, namespace: default}
spec:
  gatewayClassName: test
  listeners: [{name: http, port: 80, protocol: HTTP, hostname: '*.example.com'}]
---
";
    let c = config(&format!(
        "{CLASS}{gw}{SERVICES}{}",
        route(
            "r",
            "default",
            "{name: h}",
            "  hostnames: [a.b.example.com]\n  rules: [{backendRefs: [{name: a, port: 80}]}]"
        )
    ));
    assert!(has(
        &route_conditions(&c, "r"),
        "Accepted",
        "True",
        "Accepted"
    ));
    let router = router_for(&c, "default", "h");
    assert_eq!(
        hit(&router, "a.b.example.com", "/", &[]),
        Some(("r".to_owned(), 0))
    );
    assert_eq!(hit(&router, "c.example.com", "/", &[]), None);
}

#[test]
fn cross_namespace_backend_needs_a_reference_grant() {
    let other_svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: other}\nspec: {ports: [{port: 80}]}\n---\n";
    let r = route(
        "r",
        "default",
        "{name: gw}",
        "  rules: [{backendRefs: [{name: s, namespace: other, port: 80}]}]",
    );
    let c = with_routes(&format!("{other_svc}{r}"));
    assert!(has(
        &route_conditions(&c, "r"),
        "ResolvedRefs",
        "False",
        "RefNotPermitted"
    ));

    let grant = "apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: '', kind: Service}]
---
";
    let c = with_routes(&format!("{other_svc}{grant}{r}"));
    assert!(has(
        &route_conditions(&c, "r"),
        "ResolvedRefs",
        "True",
        "ResolvedRefs"
    ));
}

#[test]
fn mirror_backend_refs_need_a_reference_grant_wherever_the_filter_sits() {
    // HTTPRequestMirrorFilter.backendRef is resolved like a backendRef: a cross-namespace
    // mirror, on the rule or on one of its backendRefs, needs a ReferenceGrant.
    let other_svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: other}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\nspec: {ports: [{port: 80}]}\n---\n";
    let mirror =
        "{type: RequestMirror, requestMirror: {backendRef: {name: s, namespace: other, port: 80}}}";
    for rules in [
        format!("  rules: [{{backendRefs: [{{name: a, port: 80}}], filters: [{mirror}]}}]"),
        format!("  rules: [{{backendRefs: [{{name: a, port: 80, filters: [{mirror}]}}]}}]"),
    ] {
        let r = route("r", "default", "{name: gw}", &rules);
        let c = with_routes(&format!("{other_svc}{r}"));
        assert!(
            has(
                &route_conditions(&c, "r"),
                "ResolvedRefs",
                "False",
                "RefNotPermitted"
            ),
            "{rules}"
        );
        let grant = "apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: '', kind: Service}]
---
";
        let c = with_routes(&format!("{other_svc}{grant}{r}"));
        assert!(
            has(
                &route_conditions(&c, "r"),
                "ResolvedRefs",
                "True",
                "ResolvedRefs"
            ),
            "{rules}"
        );
    }
}

#[test]
fn reference_grant_for_another_kind_does_not_admit() {
    let other_svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: other}\nspec: {ports: [{port: 80}]}\n---\n";
    let grant = "apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: GRPCRoute, namespace: default}]
  to: [{group: '', kind: Service}]
---
";
    let r = route(
        "r",
        "default",
        "{name: gw}",
        "  rules: [{backendRefs: [{name: s, namespace: other, port: 80}]}]",
    );
    let c = with_routes(&format!("{other_svc}{grant}{r}"));
    assert!(has(
        &route_conditions(&c, "r"),
        "ResolvedRefs",
        "False",
        "RefNotPermitted"
    ));
}

#[test]
fn missing_service_is_backend_not_found_and_answers_500() {
    let c = with_routes(&route(
        "r",
        "default",
        "{name: gw}",
        "  rules: [{backendRefs: [{name: nope, port: 80}]}]",
    ));
    assert!(has(
        &route_conditions(&c, "r"),
        "ResolvedRefs",
        "False",
        "BackendNotFound"
    ));
    let router = router(&c);
    let d = crate::support::route(&router, "GET", "/", &[("host", "x")]);
    assert_eq!(d.backend, None);
}

#[test]
fn non_service_backend_is_invalid_kind() {
    let c = with_routes(&route(
        "r",
        "default",
        "{name: gw}",
        "  rules: [{backendRefs: [{group: example.com, kind: Bucket, name: a}]}]",
    ));
    assert!(has(
        &route_conditions(&c, "r"),
        "ResolvedRefs",
        "False",
        "InvalidKind"
    ));
}

#[test]
fn invalid_regex_drops_only_its_rule_and_reports_partially_invalid() {
    let rules = "  rules:
  - matches: [{path: {type: RegularExpression, value: '/(a'}}]
    backendRefs: [{name: a, port: 80}]
  - backendRefs: [{name: b, port: 80}]";
    let c = with_routes(&route("r", "default", "{name: gw}", rules));
    let conds = route_conditions(&c, "r");
    assert!(has(&conds, "Accepted", "True", "Accepted"), "{conds:?}");
    assert!(
        has(&conds, "PartiallyInvalid", "True", "UnsupportedValue"),
        "{conds:?}"
    );
    let st = status(&c, "HTTPRoute", Some("default"), "r");
    let Status::Route(r) = &st.status else {
        panic!()
    };
    assert!(
        r.parents[0]
            .conditions
            .iter()
            .any(|c| c.message.starts_with("Dropped Rule"))
    );
    assert_eq!(hit(&router(&c), "x", "/(a", &[]), Some(("r".to_owned(), 1)));
}

#[test]
fn a_route_whose_every_rule_is_dropped_is_not_accepted() {
    let rules =
        "  rules:\n  - matches: [{headers: [{type: RegularExpression, name: x, value: '(('}]}]";
    let c = with_routes(&route("r", "default", "{name: gw}", rules));
    assert!(has(
        &route_conditions(&c, "r"),
        "Accepted",
        "False",
        "UnsupportedValue"
    ));
}

#[test]
fn header_named_in_two_actions_drops_the_rule() {
    let rules = "  rules:
  - filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-A, value: '1'}], remove: [x-a]}}]
    backendRefs: [{name: a, port: 80}]
  - backendRefs: [{name: b, port: 80}]";
    let c = with_routes(&route("r", "default", "{name: gw}", rules));
    assert!(has(
        &route_conditions(&c, "r"),
        "PartiallyInvalid",
        "True",
        "UnsupportedValue"
    ));
}

#[test]
fn one_bad_regex_never_poisons_other_routes() {
    let bad = route(
        "bad",
        "default",
        "{name: gw}",
        "  rules: [{matches: [{path: {type: RegularExpression, value: '['}}]}]",
    );
    let good = route("good", "default", "{name: gw}", BACKEND_A);
    let c = with_routes(&format!("{bad}{good}"));
    assert_eq!(
        hit(&router(&c), "x", "/", &[]),
        Some(("good".to_owned(), 0))
    );
}

fn gateway(listeners: &str, extra: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: g, namespace: default}}\nspec:\n  gatewayClassName: test\n{extra}  listeners:\n{listeners}---\n"
    )
}

#[test]
fn conflicting_protocols_on_one_port_are_protocol_conflict() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: HTTP}\n  - {name: b, port: 80, protocol: TCP}\n",
            ""
        )
    ));
    let (conds, _) = listener_conditions(&c, "g", "a");
    assert!(
        has(&conds, "Conflicted", "True", "ProtocolConflict"),
        "{conds:?}"
    );
    assert!(has(&conds, "Programmed", "False", "Invalid"));
}

/// Gateway API v1.4 Listener: "A mixture of "TCP" and "UDP" Protocol Listeners, where no
/// Listener with the same Protocol has the same Port value" is distinct.
#[test]
fn tcp_and_udp_listeners_on_one_port_do_not_conflict() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 53, protocol: TCP}\n  - {name: b, port: 53, protocol: UDP}\n  - {name: c, port: 80, protocol: HTTP}\n  - {name: d, port: 80, protocol: UDP}\n",
            ""
        )
    ));
    for listener in ["a", "b", "c", "d"] {
        let (conds, _) = listener_conditions(&c, "g", listener);
        assert!(
            has(&conds, "Conflicted", "False", "NoConflicts"),
            "{listener}: {conds:?}"
        );
        assert!(
            has(&conds, "Programmed", "True", "Programmed"),
            "{listener}: {conds:?}"
        );
    }
}

#[test]
fn two_udp_listeners_on_one_port_still_conflict() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 53, protocol: UDP}\n  - {name: b, port: 53, protocol: UDP}\n",
            ""
        )
    ));
    let (conds, _) = listener_conditions(&c, "g", "b");
    assert!(
        has(&conds, "Conflicted", "True", "HostnameConflict"),
        "{conds:?}"
    );
}

#[test]
fn same_hostname_twice_on_one_port_is_hostname_conflict() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: HTTP, hostname: x.com}\n  - {name: b, port: 80, protocol: HTTP, hostname: x.com}\n  - {name: c, port: 80, protocol: HTTP, hostname: y.com}\n",
            ""
        )
    ));
    assert!(has(
        &listener_conditions(&c, "g", "a").0,
        "Conflicted",
        "True",
        "HostnameConflict"
    ));
    assert!(has(
        &listener_conditions(&c, "g", "c").0,
        "Conflicted",
        "False",
        "NoConflicts"
    ));
}

#[test]
fn unsupported_protocol_listener_is_not_accepted_but_others_serve() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: example.com/quic}\n  - {name: b, port: 81, protocol: HTTP}\n",
            ""
        )
    ));
    assert!(has(
        &listener_conditions(&c, "g", "a").0,
        "Accepted",
        "False",
        "UnsupportedProtocol"
    ));
    assert!(has(
        &listener_conditions(&c, "g", "b").0,
        "Programmed",
        "True",
        "Programmed"
    ));
    assert!(has(
        &gateway_conditions(&c, "g"),
        "Accepted",
        "True",
        "Accepted"
    ));
}

#[test]
fn route_kind_the_protocol_cannot_serve_is_invalid_route_kinds() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: HTTP, allowedRoutes: {kinds: [{kind: TCPRoute}]}}\n",
            ""
        )
    ));
    let (conds, _) = listener_conditions(&c, "g", "a");
    assert!(
        has(&conds, "ResolvedRefs", "False", "InvalidRouteKinds"),
        "{conds:?}"
    );
}

#[test]
fn missing_certificate_secret_is_invalid_certificate_ref() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: nope}]}}\n",
            ""
        )
    ));
    assert!(has(
        &listener_conditions(&c, "g", "a").0,
        "ResolvedRefs",
        "False",
        "InvalidCertificateRef"
    ));
}

#[test]
fn cross_namespace_certificate_needs_a_reference_grant() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert, namespace: certs}]}}\n",
            ""
        )
    ));
    assert!(has(
        &listener_conditions(&c, "g", "a").0,
        "ResolvedRefs",
        "False",
        "RefNotPermitted"
    ));
}

#[test]
fn unsupported_address_type_is_not_accepted() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: HTTP}\n",
            "  addresses: [{type: example.com/magic, value: x}]\n"
        )
    ));
    assert!(has(
        &gateway_conditions(&c, "g"),
        "Accepted",
        "False",
        "UnsupportedAddress"
    ));
}

#[test]
fn address_outside_the_pool_is_not_usable() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: HTTP}\n",
            "  addresses: [{value: 203.0.113.7}]\n"
        )
    ));
    assert!(has(
        &gateway_conditions(&c, "g"),
        "Programmed",
        "False",
        "AddressNotUsable"
    ));
}

#[test]
fn empty_address_is_assigned_from_the_pool() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: HTTP}\n",
            "  addresses: [{type: IPAddress}]\n"
        )
    ));
    let Status::Gateway(g) = &status(&c, "Gateway", Some("default"), "g").status else {
        panic!()
    };
    assert_eq!(
        g.addresses.first().map(|a| a.value.as_str()),
        Some("192.0.2.1")
    );
    assert!(has(
        &gateway_conditions(&c, "g"),
        "Programmed",
        "True",
        "Programmed"
    ));
}

#[test]
fn default_gateway_binds_routes_that_ask_for_one_without_rewriting_parent_refs() {
    let gw = gateway(
        "  - {name: a, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}\n",
        "  defaultScope: All\n",
    );
    let r = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  useDefaultGateways: All
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
";
    let c = config(&format!("{CLASS}{gw}{SERVICES}{r}"));
    assert!(has(
        &route_conditions(&c, "r"),
        "Accepted",
        "True",
        "Accepted"
    ));
    let route = c
        .snapshot()
        .resources()
        .find(|r| r.kind() == "HTTPRoute")
        .unwrap();
    let gateway_core::api::Resource::HttpRoute(route) = route else {
        panic!()
    };
    assert!(route.spec.common.parent_refs.is_empty());
}

#[test]
fn status_is_byte_identical_across_runs() {
    let yaml = format!(
        "{CLASS}{GATEWAY}{SERVICES}{}{}",
        route("r1", "default", "{name: gw}", BACKEND_A),
        route("r2", "default", "{name: gw, sectionName: x}", BACKEND_A)
    );
    assert_eq!(
        config(&yaml).status().to_json(),
        config(&yaml).status().to_json()
    );
}

#[test]
fn conditions_carry_the_object_generation() {
    let r = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default, generation: 7}
spec:
  parentRefs: [{name: gw}]
---
";
    let c = with_routes(r);
    let st = status(&c, "HTTPRoute", Some("default"), "r");
    assert!(
        st.status
            .conditions()
            .iter()
            .all(|c| c.observed_generation == 7)
    );
}

#[test]
fn gateway_class_of_another_controller_is_ignored() {
    let yaml = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: theirs}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: g, namespace: default}
spec:
  gatewayClassName: theirs
  listeners: [{name: a, port: 80, protocol: HTTP}]
";
    let c = config(yaml);
    assert!(c.status().find("Gateway", Some("default"), "g").is_none());
    assert!(c.status().find("GatewayClass", None, "theirs").is_none());
}

#[test]
fn supported_features_are_sorted() {
    let c = with_routes("");
    let Status::Class(class) = &status(&c, "GatewayClass", None, "test").status else {
        panic!()
    };
    let names: Vec<&str> = class
        .supported_features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(names.contains(&"HTTPRoute"));
}

#[test]
fn a_default_gateway_says_so_in_its_conditions() {
    let c = config(&format!(
        "{CLASS}{}",
        gateway(
            "  - {name: a, port: 80, protocol: HTTP}\n",
            "  defaultScope: All\n"
        )
    ));
    assert!(has(
        &gateway_conditions(&c, "g"),
        "DefaultGateway",
        "True",
        "DefaultGateway"
    ));
}

/// A ConfigMap `default/ca` holding a real CA certificate, and a Secret `default/cert` with a
/// certificate it issued and its key: attachment parses both as the TLS settings do.
fn ca_objects() -> String {
    let ca = crate::pki::Ca::root("attach-test-ca");
    let leaf = ca.leaf_for(&["a.example.com"]);
    format!(
        "{}{}",
        crate::pki::config_map("default", "ca", &ca.pem),
        crate::pki::tls_secret("default", "cert", &leaf, &[])
    )
}

#[test]
fn insecure_fallback_validation_is_flagged_on_the_gateway() {
    let tls = "  tls:\n    frontend:\n      default:\n        validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], mode: AllowInsecureFallback}\n";
    let c = config(&format!(
        "{CLASS}{}{}",
        ca_objects(),
        gateway(
            "  - {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}\n",
            tls
        )
    ));
    assert!(has(
        &gateway_conditions(&c, "g"),
        "InsecureFrontendValidationMode",
        "True",
        "ConfigurationChanged"
    ));
    assert!(has(
        &listener_conditions(&c, "g", "a").0,
        "Programmed",
        "True",
        "Programmed"
    ));
}

#[test]
fn an_unusable_client_ca_makes_the_port_fail_closed() {
    let tls = "  tls:\n    frontend:\n      default:\n        validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: missing}]}\n";
    let c = config(&format!(
        "{CLASS}{}{}",
        ca_objects(),
        gateway(
            "  - {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}\n",
            tls
        )
    ));
    let (conds, _) = listener_conditions(&c, "g", "a");
    assert!(
        has(&conds, "ResolvedRefs", "False", "InvalidCACertificateRef"),
        "{conds:?}"
    );
    assert!(has(&conds, "Programmed", "False", "Invalid"), "{conds:?}");
}

#[test]
fn per_port_validation_overrides_the_default_and_cross_namespace_cas_need_a_grant() {
    let tls = "  tls:\n    frontend:\n      default:\n        validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}]}\n      perPort:\n      - port: 8443\n        tls: {validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: ca, namespace: other}]}}\n";
    let c = config(&format!(
        "{CLASS}{}{}",
        ca_objects(),
        gateway(
            "  - {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}\n  - {name: b, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}\n",
            tls
        )
    ));
    assert!(has(
        &listener_conditions(&c, "g", "a").0,
        "ResolvedRefs",
        "True",
        "ResolvedRefs"
    ));
    assert!(has(
        &listener_conditions(&c, "g", "b").0,
        "ResolvedRefs",
        "False",
        "RefNotPermitted"
    ));
}

#[test]
fn https_listeners_with_overlapping_hostnames_report_overlapping_tls_config() {
    let c = config(&format!(
        "{CLASS}{}{}",
        ca_objects(),
        gateway(
            "  - {name: a, port: 443, protocol: HTTPS, hostname: '*.example.com', tls: {certificateRefs: [{name: cert}]}}\n  - {name: b, port: 443, protocol: HTTPS, hostname: foo.example.com, tls: {certificateRefs: [{name: cert}]}}\n  - {name: c, port: 443, protocol: HTTPS, hostname: foo.example.org, tls: {certificateRefs: [{name: cert}]}}\n",
            ""
        )
    ));
    assert!(has(
        &listener_conditions(&c, "g", "a").0,
        "OverlappingTLSConfig",
        "True",
        "OverlappingHostnames"
    ));
    assert!(has(
        &listener_conditions(&c, "g", "b").0,
        "OverlappingTLSConfig",
        "True",
        "OverlappingHostnames"
    ));
    assert!(
        !listener_conditions(&c, "g", "c")
            .0
            .iter()
            .any(|(t, _, _)| t == "OverlappingTLSConfig")
    );
}

/// A ConfigMap `default/ca` whose `ca.crt` is `text`, for the CA bundle status tests.
fn ca_text(text: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ca, namespace: default}}\ndata:\n  ca.crt: {text:?}\n---\n"
    )
}

#[test]
fn ca_bundle_status_uses_the_verifier_parse_not_pem_markers() {
    let tls = "  tls:\n    frontend:\n      default:\n        validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}]}\n";
    let leaf = crate::pki::Ca::root("c").leaf_for(&["a.example.com"]);
    let cert = crate::pki::tls_secret("default", "cert", &leaf, &[]);
    for (bundle, why) in [
        // Markers around text that is not base64.
        (
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
            "not valid PEM",
        ),
        // Only a key: no certificate in it.
        (
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
            "holds no certificate",
        ),
        // Base64 that is no certificate.
        (
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "cannot be a trust anchor",
        ),
    ] {
        let c = config(&format!(
            "{CLASS}{}{cert}{}",
            ca_text(bundle),
            gateway(
                "  - {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}\n",
                tls
            )
        ));
        let Status::Gateway(g) = &status(&c, "Gateway", Some("default"), "g").status else {
            panic!("no Gateway status");
        };
        let resolved = g.listeners[0]
            .conditions
            .iter()
            .find(|c| c.type_ == "ResolvedRefs")
            .expect("ResolvedRefs");
        assert_eq!(
            (resolved.status.as_str(), resolved.reason.as_str()),
            ("False", "InvalidCACertificateRef"),
            "{bundle:?}: {resolved:?}"
        );
        assert!(
            resolved.message.contains(why),
            "{why}: {}",
            resolved.message
        );
        // The data plane refuses the same bundle: the port fails closed.
        let frontend = gateway_core::tls::FrontendTls::for_gateway(&c, "default", "g")
            .expect("the Gateway has frontend TLS");
        let port = frontend.port(443).expect("port 443");
        let validation = port.validation.as_ref().expect("client validation");
        assert!(
            matches!(validation.trust, gateway_core::tls::Trust::Invalid(_)),
            "{bundle:?}: {:?}",
            validation.trust
        );
    }
}

#[test]
fn a_certificate_secret_with_an_unusable_key_is_an_invalid_certificate_ref() {
    let leaf = crate::pki::Ca::root("c").leaf_for(&["a.example.com"]);
    let mut broken = crate::pki::tls_secret("default", "cert", &leaf, &[]);
    // The key's PEM markers stay; its contents are not a key.
    let good_key = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&leaf.key_pem)
    };
    let bad_key = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode("-----BEGIN PRIVATE KEY-----\nnot a key!\n-----END PRIVATE KEY-----\n")
    };
    broken = broken.replace(&good_key, &bad_key);
    let c = config(&format!(
        "{CLASS}{broken}{}",
        gateway(
            "  - {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}\n",
            ""
        )
    ));
    let (conds, _) = listener_conditions(&c, "g", "a");
    assert!(
        has(&conds, "ResolvedRefs", "False", "InvalidCertificateRef"),
        "{conds:?}"
    );
}
