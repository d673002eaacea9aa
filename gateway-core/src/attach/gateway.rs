//! GatewayClass acceptance, Gateway addresses, and listener status.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::conditions::Conditions;
use super::refs::Grants;
use super::status::{
    ClassStatus, GatewayStatus, GatewayStatusAddress, ListenerStatus, ObjectStatus, Status,
    StatusReport,
};
use super::{AttachOptions, GatewayState, ListenerState, Protocol, RouteKind};
use crate::api::{
    Condition, FrontendValidationMode, GATEWAY_GROUP, Gateway, GatewayDefaultScope, Listener,
    Resource, RouteGroupKind, Snapshot, SupportedFeature, TlsModeType,
};

/// Gateway API feature names (pkg/features, v1.4.1 spelling) written to
/// `GatewayClass.status.supportedFeatures`: features this library implements and whose fully
/// expressed conformance cases all pass in `gateway replay`, plus the features of
/// [`PARTLY_VERIFIED_FEATURES`]. A test in gateway-cli keeps this list equal to what the
/// replay proves. Sorted.
pub const SUPPORTED_FEATURES: &[&str] = &[
    "BackendTLSPolicy",
    "BackendTLSPolicySANValidation",
    "GRPCRoute",
    "GRPCRouteNamedRouteRule",
    "Gateway",
    "GatewayAddressEmpty",
    "GatewayHTTPListenerIsolation",
    "GatewayPort8080",
    "GatewayStaticAddresses",
    "HTTPRoute",
    "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteBackendTimeout",
    "HTTPRouteCORS",
    "HTTPRouteDestinationPortMatching",
    "HTTPRouteHostRewrite",
    "HTTPRouteMethodMatching",
    "HTTPRouteNamedRouteRule",
    "HTTPRouteParentRefPort",
    "HTTPRoutePathRedirect",
    "HTTPRoutePathRewrite",
    "HTTPRoutePortRedirect",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
    "HTTPRouteResponseHeaderModification",
    "HTTPRouteSchemeRedirect",
    "ReferenceGrant",
    "TLSRoute",
];

/// The features an XMesh of our controller lists in `status.supportedFeatures`: those whose
/// mesh conformance cases (`cases-mesh/` of the corpus) all pass in the replay, plus those of
/// [`MESH_TEST_VERIFIED_FEATURES`]. A test in gateway-cli keeps this list equal to what the
/// replay proves and that evidence. Sorted.
pub const MESH_SUPPORTED_FEATURES: &[&str] = &[
    "GRPCRoute",
    "HTTPRoute",
    "HTTPRouteParentRefPort",
    "HTTPRouteResponseHeaderModification",
    "Mesh",
    "MeshClusterIPMatching",
    "MeshConsumerRoute",
    "MeshHTTPRouteBackendRequestHeaderModification",
    "MeshHTTPRouteNamedRouteRule",
    "MeshHTTPRouteQueryParamMatching",
    "MeshHTTPRouteRedirectPath",
    "MeshHTTPRouteRedirectPort",
    "MeshHTTPRouteRewritePath",
    "MeshHTTPRouteSchemeRedirect",
];

/// Mesh features listed in [`MESH_SUPPORTED_FEATURES`] that the corpus's `cases-mesh/` has no
/// case for, each with the tests written from the spec that are its evidence (names as the
/// test harness of `gateway-core/tests/api` lists them). A test there runs each one and checks
/// that the README's row for the feature names it; the gateway-cli replay test withdraws the
/// claim if a corpus case for the feature exists and the replay does not prove it.
pub const MESH_TEST_VERIFIED_FEATURES: &[(&str, &[&str])] = &[
    (
        "MeshClusterIPMatching",
        &[
            "mesh_features::cluster_ip_of_a_service_selects_its_routes",
            "mesh_features::every_cluster_ips_entry_ipv4_and_ipv6_selects_the_service_routes",
            "mesh_features::an_ipv4_cluster_ip_seen_as_ipv4_mapped_ipv6_is_the_same_address",
            "mesh_features::an_address_that_is_no_service_cluster_ip_passes_through",
            "mesh_features::a_headless_service_has_no_cluster_ip_to_match",
            "mesh_features::the_destination_port_selects_the_service_port_routes",
            "mesh_features::a_cluster_ip_selects_routes_whatever_the_host_header_names",
            "mesh_features::a_cluster_ip_request_gets_the_consumer_routes_of_the_client_namespace",
        ],
    ),
    (
        "MeshHTTPRouteQueryParamMatching",
        &[
            "mesh_features::mesh_query_param_exact_match_is_case_sensitive_on_name_and_value",
            "mesh_features::mesh_query_param_regular_expression_matches_the_value",
            "mesh_features::mesh_query_params_of_one_match_must_all_match",
            "mesh_features::mesh_query_param_repeated_in_the_request_is_decided_by_its_first_value",
            "mesh_features::mesh_query_param_precedence_is_httproute_precedence",
        ],
    ),
    (
        "MeshHTTPRouteRedirectPort",
        &[
            "mesh_features::mesh_redirect_port_goes_into_the_location_with_status_302_unless_set",
            "mesh_features::mesh_redirect_port_is_left_out_when_it_is_the_scheme_default",
            "mesh_features::mesh_redirect_without_port_takes_the_service_port_or_the_scheme_default",
        ],
    ),
];

/// Features listed in [`SUPPORTED_FEATURES`] although their conformance cases are only partly
/// expressed as data, each with the reason we still claim it.
pub const PARTLY_VERIFIED_FEATURES: &[(&str, &str)] = &[
    (
        "GatewayStaticAddresses",
        "every expressed phase passes (unsupported type, unusable and usable addresses); the \
         last phase's change is computed from live cluster state upstream and cannot be replayed",
    ),
    (
        "HTTPRouteBackendProtocolWebSocket",
        "its status checks pass in the replay; the WebSocket echo upstream checks in Go \
         (a text and a binary message through the Gateway to the kubernetes.io/ws port) passes \
         end to end in hyper-gateway's tests/websocket.rs (plan::BackendProtocol::WebSocket)",
    ),
];

/// Accepts our GatewayClasses, writes their status, and returns their names.
pub(super) fn classes(
    snapshot: &Snapshot,
    options: &AttachOptions,
    report: &mut StatusReport,
) -> BTreeSet<String> {
    let mut ours = BTreeSet::new();
    for resource in snapshot.resources() {
        let Resource::GatewayClass(class) = resource else {
            continue;
        };
        let assumed = options.assumed_classes.contains(&class.metadata.name);
        if class.spec.controller_name != options.controller_name && !assumed {
            continue;
        }
        ours.insert(class.metadata.name.clone());
        let c = Conditions {
            generation: class.metadata.generation,
            time: &options.transition_time,
        };
        let accepted = if class.spec.controller_name == options.controller_name {
            "handled by this controller".to_owned()
        } else {
            format!(
                "assumed handled by this controller (AttachOptions::assumed_classes); \
                 controllerName is {:?}",
                class.spec.controller_name
            )
        };
        let conditions = vec![
            c.make("Accepted", true, "Accepted", accepted),
            c.make(
                "SupportedVersion",
                true,
                "SupportedVersion",
                "Gateway API v1.4",
            ),
        ];
        let supported_features = SUPPORTED_FEATURES
            .iter()
            .map(|name| SupportedFeature {
                name: (*name).to_owned(),
            })
            .collect();
        report.objects.push(ObjectStatus {
            id: resource.id(),
            generation: class.metadata.generation,
            status: Status::Class(ClassStatus {
                conditions,
                supported_features,
            }),
        });
    }
    // A class the manifests do not hold is ours when assumed; there is no object to write
    // status to.
    ours.extend(options.assumed_classes.iter().cloned());
    for resource in snapshot.resources() {
        let Resource::XMesh(mesh) = resource else {
            continue;
        };
        if mesh.spec.controller_name != options.controller_name {
            continue;
        }
        let c = Conditions {
            generation: mesh.metadata.generation,
            time: &options.transition_time,
        };
        report.objects.push(ObjectStatus {
            id: resource.id(),
            generation: mesh.metadata.generation,
            status: Status::Class(ClassStatus {
                conditions: vec![c.make(
                    "Accepted",
                    true,
                    "Accepted",
                    "handled by this controller",
                )],
                supported_features: MESH_SUPPORTED_FEATURES
                    .iter()
                    .map(|name| SupportedFeature {
                        name: (*name).to_owned(),
                    })
                    .collect(),
            }),
        });
    }
    ours
}

/// Computes one Gateway's listeners and status (attachedRoutes are filled in later).
pub(super) fn gateway(
    snapshot: &Snapshot,
    index: usize,
    gw: &Gateway,
    options: &AttachOptions,
    grants: &Grants<'_>,
) -> (GatewayState, GatewayStatus) {
    let id = snapshot
        .objects
        .get(index)
        .map(|o| o.resource.id())
        .unwrap_or_else(|| crate::api::ResourceId::new("Gateway", None, ""));
    let ns = gw.metadata.namespace_or_default();
    let c = Conditions {
        generation: gw.metadata.generation,
        time: &options.transition_time,
    };

    let (addresses, address_problem) = addresses(gw, options);

    let mut listeners = Vec::new();
    let mut listener_statuses = Vec::new();
    let owner = Owner::gateway(ns, &gw.metadata.name);
    for listener in &gw.spec.listeners {
        let (state, status) = listener_state(
            snapshot,
            owner,
            listener,
            &c,
            grants,
            &gw.spec.listeners,
            &[],
        );
        listeners.push(state);
        listener_statuses.push(status);
    }

    frontend_validation(
        snapshot,
        ns,
        gw,
        &c,
        grants,
        &mut listeners,
        &mut listener_statuses,
    );
    overlapping_tls(gw, &c, &mut listener_statuses);

    let any_serving = listeners.iter().any(|l| l.serving);
    let mut conditions = Vec::new();
    match &address_problem {
        Some(AddressProblem::Unsupported(msg)) => {
            conditions.push(c.make("Accepted", false, "UnsupportedAddress", msg.clone()));
            conditions.push(c.make("Programmed", false, "Invalid", msg.clone()));
        }
        Some(AddressProblem::NotUsable(msg)) => {
            conditions.push(c.make("Accepted", true, "Accepted", "accepted"));
            conditions.push(c.make("Programmed", false, "AddressNotUsable", msg.clone()));
        }
        Some(AddressProblem::NotAssigned(msg)) => {
            conditions.push(c.make("Accepted", true, "Accepted", "accepted"));
            conditions.push(c.make("Programmed", false, "AddressNotAssigned", msg.clone()));
        }
        None if !any_serving && !gw.spec.listeners.is_empty() => {
            conditions.push(c.make(
                "Accepted",
                false,
                "ListenersNotValid",
                "no listener is valid",
            ));
            conditions.push(c.make("Programmed", false, "Invalid", "no listener is valid"));
        }
        None => {
            conditions.push(c.make("Accepted", true, "Accepted", "accepted"));
            conditions.push(c.make("Programmed", true, "Programmed", "programmed"));
        }
    }
    if gw.spec.default_scope == Some(GatewayDefaultScope::All) {
        // GEP-3793: a default Gateway says so in its conditions.
        conditions.push(c.make(
            "DefaultGateway",
            true,
            "DefaultGateway",
            "routes with useDefaultGateways: All bind to this Gateway",
        ));
    }
    let insecure = gw
        .spec
        .tls
        .as_ref()
        .and_then(|t| t.frontend.as_ref())
        .is_some_and(|f| {
            f.default
                .iter()
                .chain(f.per_port.iter().map(|p| &p.tls))
                .filter_map(|t| t.validation.as_ref())
                .any(|v| v.mode == FrontendValidationMode::AllowInsecureFallback)
        });
    if insecure {
        conditions.push(c.make(
            "InsecureFrontendValidationMode",
            true,
            "ConfigurationChanged",
            "a frontend validation uses AllowInsecureFallback: clients without a valid certificate are admitted, marked unverified",
        ));
    }
    if let Some(why) = backend_client_certificate(snapshot, ns, gw, grants) {
        conditions.push(c.make("ResolvedRefs", false, why.0, why.1));
    }
    let serving = !matches!(address_problem, Some(AddressProblem::Unsupported(_)));
    if !serving {
        for l in &mut listeners {
            l.serving = false;
        }
    }
    (
        GatewayState { id, listeners },
        GatewayStatus {
            addresses,
            conditions,
            listeners: listener_statuses,
        },
    )
}

/// Frontend client-certificate validation (GEP-91, `spec.tls.frontend`): per port, `perPort`
/// overrides `default`. Its CA references must be ConfigMaps or Secrets holding a PEM `ca.crt`,
/// cross-namespace only with a ReferenceGrant. When they are not, the HTTPS and TLS listeners
/// of that port report `ResolvedRefs=False` and stop serving: a port that must verify clients
/// but cannot fails closed.
pub(super) fn frontend_validation(
    snapshot: &Snapshot,
    ns: &str,
    gw: &Gateway,
    c: &Conditions<'_>,
    grants: &Grants<'_>,
    listeners: &mut [ListenerState],
    statuses: &mut [ListenerStatus],
) {
    let Some(frontend) = gw.spec.tls.as_ref().and_then(|t| t.frontend.as_ref()) else {
        return;
    };
    for (listener, status) in listeners.iter_mut().zip(statuses.iter_mut()) {
        if !matches!(listener.protocol, Some(Protocol::Https | Protocol::Tls)) {
            continue;
        }
        let config = frontend
            .per_port
            .iter()
            .find(|p| p.port == i32::from(listener.port))
            .map(|p| &p.tls)
            .or(frontend.default.as_ref());
        let Some(validation) = config.and_then(|t| t.validation.as_ref()) else {
            continue;
        };
        let problem = validation.ca_certificate_refs.iter().find_map(|r| {
            let ref_ns = r.namespace.as_deref().unwrap_or(ns);
            if !(r.group.is_empty() && (r.kind == "ConfigMap" || r.kind == "Secret")) {
                return Some((
                    "InvalidCACertificateKind",
                    format!(
                        "caCertificateRef kind {}/{} is not supported",
                        r.group, r.kind
                    ),
                ));
            }
            if !grants.allows(
                (GATEWAY_GROUP, "Gateway", ns),
                ("", &r.kind, ref_ns, &r.name),
            ) {
                return Some((
                    "RefNotPermitted",
                    format!(
                        "no ReferenceGrant allows a reference to {} {ref_ns}/{}",
                        r.kind, r.name
                    ),
                ));
            }
            super::certs::ca_bundle(snapshot, ref_ns, &r.kind, &r.name)
                .err()
                .map(|why| ("InvalidCACertificateRef", why))
        });
        if let Some((reason, message)) = problem {
            for cond in status.conditions.iter_mut() {
                if cond.type_ == "ResolvedRefs" && cond.status == "True" {
                    *cond = c.make("ResolvedRefs", false, reason, message.clone());
                }
                if cond.type_ == "Programmed" && cond.status == "True" {
                    *cond = c.make(
                        "Programmed",
                        false,
                        "Invalid",
                        "client certificate validation cannot be set up",
                    );
                }
            }
            listener.serving = false;
        }
    }
}

/// `spec.tls.backend.clientCertificateRef`: a Secret with a certificate and key, cross-namespace
/// only with a ReferenceGrant; otherwise the Gateway reports `ResolvedRefs=False`.
fn backend_client_certificate(
    snapshot: &Snapshot,
    ns: &str,
    gw: &Gateway,
    grants: &Grants<'_>,
) -> Option<(&'static str, String)> {
    let r = gw.backend_client_certificate_ref()?;
    let ref_ns = r.namespace.as_deref().unwrap_or(ns);
    if !(r.group.is_empty() && r.kind == "Secret") {
        return Some((
            "InvalidClientCertificateRef",
            format!(
                "clientCertificateRef kind {}/{} is not a Secret",
                r.group, r.kind
            ),
        ));
    }
    if !grants.allows(
        (GATEWAY_GROUP, "Gateway", ns),
        ("", "Secret", ref_ns, &r.name),
    ) {
        return Some((
            "RefNotPermitted",
            format!(
                "no ReferenceGrant allows a reference to Secret {ref_ns}/{}",
                r.name
            ),
        ));
    }
    secret_certificate(snapshot, ref_ns, &r.name)
        .err()
        .map(|why| ("InvalidClientCertificateRef", why))
}

/// Listener `OverlappingTLSConfig` (GEP-3567): TLS-terminating listeners of one port whose
/// hostnames overlap (one's wildcard covers the other, or one has none). Informational: the
/// listeners still serve; the 421 guard keeps a connection to the listener its SNI chose.
fn overlapping_tls(gw: &Gateway, c: &Conditions<'_>, statuses: &mut [ListenerStatus]) {
    for (i, listener) in gw.spec.listeners.iter().enumerate() {
        let overlaps = gw
            .spec
            .listeners
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && tls_overlap(listener, other));
        if overlaps && let Some(status) = statuses.get_mut(i) {
            status.conditions.push(overlapping_condition(c));
        }
    }
}

/// Whether two listeners are TLS-terminating (HTTPS) listeners of one port whose hostnames
/// overlap (one's wildcard covers the other, or one has none).
pub(super) fn tls_overlap(a: &Listener, b: &Listener) -> bool {
    let tls = |l: &Listener| matches!(Protocol::parse(&l.protocol), Some(Protocol::Https));
    tls(a)
        && tls(b)
        && a.port == b.port
        && match (&a.hostname, &b.hostname) {
            (None, _) | (_, None) => true,
            (Some(x), Some(y)) => super::hostname::intersect(Some(x), y).is_some(),
        }
}

/// The listener condition `OverlappingTLSConfig`.
pub(super) fn overlapping_condition(c: &Conditions<'_>) -> Condition {
    c.make(
        "OverlappingTLSConfig",
        true,
        "OverlappingHostnames",
        "another HTTPS listener on this port serves overlapping hostnames",
    )
}

enum AddressProblem {
    Unsupported(String),
    NotUsable(String),
    NotAssigned(String),
}

/// Gateway `spec.addresses` against the embedder's pool: unsupported types make the Gateway
/// not Accepted, values outside the pool not Programmed, and empty values are assigned from the
/// pool.
fn addresses(
    gw: &Gateway,
    options: &AttachOptions,
) -> (Vec<GatewayStatusAddress>, Option<AddressProblem>) {
    let mut out = Vec::new();
    let mut problem = None;
    let pool = &options.address_pool;
    let mut free = pool.iter();
    if gw.spec.addresses.is_empty() {
        if let Some(first) = pool.first() {
            out.push(GatewayStatusAddress {
                type_: address_type(first).to_owned(),
                value: first.clone(),
            });
        }
        return (out, None);
    }
    for address in &gw.spec.addresses {
        let value = address.value.as_deref().unwrap_or_default();
        match address.type_.as_str() {
            "IPAddress" | "Hostname" => {}
            other => {
                problem.get_or_insert(AddressProblem::Unsupported(format!(
                    "address type {other:?} is not supported"
                )));
                continue;
            }
        }
        if value.is_empty() {
            match free.find(|p| {
                address_type(p) == address.type_
                    && !out.iter().any(|o: &GatewayStatusAddress| &o.value == *p)
            }) {
                Some(p) => out.push(GatewayStatusAddress {
                    type_: address.type_.clone(),
                    value: p.clone(),
                }),
                None => {
                    problem.get_or_insert(AddressProblem::NotAssigned(format!(
                        "no {} address is free to assign",
                        address.type_
                    )));
                }
            }
        } else if pool.iter().any(|p| p == value) {
            out.push(GatewayStatusAddress {
                type_: address.type_.clone(),
                value: value.to_owned(),
            });
        } else {
            problem.get_or_insert(AddressProblem::NotUsable(format!(
                "address {value} is not usable by this data plane"
            )));
        }
    }
    (out, problem)
}

fn address_type(value: &str) -> &'static str {
    if value.parse::<IpAddr>().is_ok() {
        "IPAddress"
    } else {
        "Hostname"
    }
}

/// The resource that declares a listener: its references are resolved from its namespace and
/// as its kind (GEP-1713 "ReferenceGrant Semantics": a grant to the Gateway is not inherited by
/// its ListenerSets, nor the reverse).
#[derive(Clone, Copy, Debug)]
pub(super) struct Owner<'a> {
    pub(super) group: &'a str,
    pub(super) kind: &'a str,
    pub(super) namespace: &'a str,
    pub(super) name: &'a str,
    /// The XListenerSet's index, for listeners of a set.
    pub(super) set: Option<usize>,
}

impl<'a> Owner<'a> {
    fn gateway(namespace: &'a str, name: &'a str) -> Self {
        Self {
            group: GATEWAY_GROUP,
            kind: "Gateway",
            namespace,
            name,
            set: None,
        }
    }
}

/// One listener's state and status. `siblings` are the listeners of the same resource (a
/// conflict among them makes both lose); `earlier` are the listeners of resources ahead of it
/// in the merged list (a conflict with one of them makes only this one lose).
pub(super) fn listener_state(
    snapshot: &Snapshot,
    owner: Owner<'_>,
    listener: &Listener,
    c: &Conditions<'_>,
    grants: &Grants<'_>,
    siblings: &[Listener],
    earlier: &[&Listener],
) -> (ListenerState, ListenerStatus) {
    let ns = owner.namespace;
    let protocol = Protocol::parse(&listener.protocol);
    let mut conditions = Vec::new();
    let mut resolved: Result<(), (&str, String)> = Ok(());

    // Supported kinds: allowedRoutes.kinds filtered to what the protocol serves.
    let mut kinds = Vec::new();
    let mut supported_kinds = Vec::new();
    if let Some(protocol) = protocol {
        if listener.allowed_routes.kinds.is_empty() {
            for kind in protocol.kinds() {
                kinds.push(*kind);
                supported_kinds.push(RouteGroupKind::gateway(kind.as_str()));
            }
        } else {
            for rgk in &listener.allowed_routes.kinds {
                match RouteKind::parse(&rgk.kind)
                    .filter(|k| rgk.group == GATEWAY_GROUP && protocol.kinds().contains(k))
                {
                    Some(kind) => {
                        if !kinds.contains(&kind) {
                            kinds.push(kind);
                            supported_kinds.push(RouteGroupKind::gateway(kind.as_str()));
                        }
                    }
                    None => {
                        resolved = Err((
                            "InvalidRouteKinds",
                            format!(
                                "route kind {}/{} is not supported on {} listeners",
                                rgk.group, rgk.kind, listener.protocol
                            ),
                        ));
                    }
                }
            }
        }
    }

    // Certificates for terminated TLS.
    let terminates = matches!(protocol, Some(Protocol::Https))
        || (matches!(protocol, Some(Protocol::Tls))
            && listener
                .tls
                .as_ref()
                .is_some_and(|t| t.mode == TlsModeType::Terminate));
    if terminates
        && resolved.is_ok()
        && let Some(tls) = &listener.tls
    {
        for cert in &tls.certificate_refs {
            let cert_ns = cert.namespace.as_deref().unwrap_or(ns);
            if !(cert.group.is_empty() && cert.kind == "Secret") {
                resolved = Err((
                    "InvalidCertificateRef",
                    format!(
                        "certificateRef {}/{} is not a Secret",
                        cert.group, cert.kind
                    ),
                ));
                break;
            }
            if !grants.allows(
                (owner.group, owner.kind, ns),
                ("", "Secret", cert_ns, &cert.name),
            ) {
                resolved = Err((
                    "RefNotPermitted",
                    format!(
                        "no ReferenceGrant allows a reference to Secret {cert_ns}/{}",
                        cert.name
                    ),
                ));
                break;
            }
            if let Err(why) = secret_certificate(snapshot, cert_ns, &cert.name) {
                resolved = Err(("InvalidCertificateRef", why));
                break;
            }
        }
    }

    let conflict = conflict(listener, siblings, earlier);
    // ListenerEntry `port`: "If the implementation does not support dynamic port assignment,
    // it MUST set `Accepted` condition to `False` with the `UnsupportedPort` reason."
    let accepted = protocol.is_some() && listener.port != 0;
    if protocol.is_none() {
        conditions.push(c.make(
            "Accepted",
            false,
            "UnsupportedProtocol",
            format!("protocol {:?} is not supported", listener.protocol),
        ));
    } else if !accepted {
        conditions.push(c.make(
            "Accepted",
            false,
            "UnsupportedPort",
            "dynamic port assignment (port 0 or unset) is not supported",
        ));
    } else {
        conditions.push(c.make("Accepted", true, "Accepted", "accepted"));
    }
    match &resolved {
        Ok(()) => conditions.push(c.make("ResolvedRefs", true, "ResolvedRefs", "resolved")),
        Err((reason, message)) => {
            conditions.push(c.make("ResolvedRefs", false, reason, message.clone()))
        }
    }
    match conflict {
        Some(reason) => conditions.push(c.make(
            "Conflicted",
            true,
            reason,
            "conflicts with another listener on the same port",
        )),
        None => conditions.push(c.make("Conflicted", false, "NoConflicts", "no conflicts")),
    }
    // An invalid certificate makes the listener unable to serve TLS; unresolved route kinds
    // leave the valid kinds served.
    let cert_problem = matches!(&resolved, Err((r, _)) if *r != "InvalidRouteKinds");
    let serving = accepted && conflict.is_none() && !cert_problem;
    if serving {
        conditions.push(c.make("Programmed", true, "Programmed", "programmed"));
    } else {
        conditions.push(c.make("Programmed", false, "Invalid", "not programmed"));
    }
    let port = u16::try_from(listener.port).unwrap_or(0);
    let state = ListenerState {
        set: owner.set,
        namespace: ns.to_owned(),
        owner: owner.name.to_owned(),
        spec: listener.clone(),
        name: listener.name.clone(),
        port,
        protocol,
        hostname: listener.hostname.clone(),
        serving,
        kinds,
        routes: Vec::new(),
    };
    let status = ListenerStatus {
        name: listener.name.clone(),
        supported_kinds,
        attached_routes: 0,
        conditions,
    };
    (state, status)
}

/// Gateway API `ListenerConditionReason`: `ProtocolConflict` when listeners on one port want
/// incompatible protocols, `HostnameConflict` when they share protocol family and hostname.
///
/// GEP-1713 "Listener and ListenerSet conflicts": across the merged list "the first Listener on
/// the precedence list MUST be accepted, and should not have a `Conflicted` condition, while the
/// conflicting listeners MUST have a `Conflicted` condition set to True", so a conflict with an
/// `earlier` listener marks only this one. Among `siblings` (one resource) both are marked, as
/// a Gateway always did. Listeners without a supported protocol or a port never conflict.
///
/// A UDP listener never conflicts with a listener over TCP (`HTTP`, `HTTPS`, `TLS`, `TCP`) on
/// the same port: they are different sockets, so every connection or datagram belongs to one of
/// them. Gateway API v1.4 Listener: "the following Listener scenarios are distinct: [...] 3. A
/// mixture of "TCP" and "UDP" Protocol Listeners, where no Listener with the same Protocol has
/// the same Port value". The spec names TCP beside UDP; we apply the same reading to the other
/// protocols over TCP (the spec leaves that room: a listener is distinct when "the
/// implementation can match inbound requests to a single distinct Listener").
fn conflict(
    listener: &Listener,
    siblings: &[Listener],
    earlier: &[&Listener],
) -> Option<&'static str> {
    let protocol = Protocol::parse(&listener.protocol)?;
    if listener.port == 0 {
        return None;
    }
    let mut hostname_conflict = false;
    let others = siblings
        .iter()
        .filter(|other| !std::ptr::eq(*other, listener))
        .chain(earlier.iter().copied());
    for other in others {
        if other.port != listener.port {
            continue;
        }
        let Some(other_protocol) = Protocol::parse(&other.protocol) else {
            continue;
        };
        if (other_protocol == Protocol::Udp) != (protocol == Protocol::Udp) {
            continue;
        }
        if other_protocol.port_family() != protocol.port_family() {
            return Some("ProtocolConflict");
        }
        if other.hostname.as_deref().map(str::to_ascii_lowercase)
            == listener.hostname.as_deref().map(str::to_ascii_lowercase)
        {
            hostname_conflict = true;
        }
    }
    hostname_conflict.then_some("HostnameConflict")
}

/// Whether a Secret holds a usable certificate chain and key: the same parse the TLS settings
/// use (`attach::certs::key_pair`).
fn secret_certificate(snapshot: &Snapshot, ns: &str, name: &str) -> Result<(), String> {
    super::certs::key_pair(snapshot, ns, name).map(|_| ())
}
