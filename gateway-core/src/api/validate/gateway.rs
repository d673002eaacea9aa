//! GatewayClass (and XMesh, which has the same spec), Gateway and XListenerSet.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::Cx;
use super::checks::{
    ADDRESS_TYPE, CONTROLLER_NAME, GROUP, HOSTNAME, KIND, OBJECT_NAME, PROTOCOL, SECTION_NAME,
    StringRule, items, known_enum, object_ref, opt_string, port, properties, range, repeats,
    secret_ref, string, unsupported,
};
use super::names;
use super::path::FieldPath;
use crate::api::{
    AllowedRoutes, FromNamespaces, FrontendTlsValidation, GatewaySpec, GatewaySpecAddress,
    GatewayTlsConfig, Listener, ListenerSetSpec, ObjectReference, TlsModeType,
};

/// `GatewayClass.spec` and `XMesh.spec`.
pub(super) fn gateway_class(
    cx: &mut Cx<'_>,
    controller_name: &str,
    description: Option<&str>,
    parameters_ref: Option<&ObjectReference>,
) {
    string(
        cx,
        FieldPath::root("spec.controllerName"),
        controller_name,
        CONTROLLER_NAME,
    );
    if let Some(description) = description {
        string(
            cx,
            FieldPath::root("spec.description"),
            description,
            StringRule::max(64),
        );
    }
    if let Some(r) = parameters_ref {
        object_ref(cx, FieldPath::root("spec.parametersRef"), r);
    }
}

/// `Gateway.spec`.
pub(super) fn gateway(cx: &mut Cx<'_>, spec: &GatewaySpec) {
    string(
        cx,
        FieldPath::root("spec.gatewayClassName"),
        &spec.gateway_class_name,
        OBJECT_NAME,
    );
    listeners(cx, &spec.listeners, 1);
    addresses(cx, &spec.addresses);
    if let Some(infra) = &spec.infrastructure {
        infrastructure_map(
            cx,
            FieldPath::root("spec.infrastructure.labels"),
            &infra.labels,
            true,
        );
        infrastructure_map(
            cx,
            FieldPath::root("spec.infrastructure.annotations"),
            &infra.annotations,
            false,
        );
        if let Some(r) = &infra.parameters_ref {
            string(
                cx,
                FieldPath::root("spec.infrastructure.parametersRef.group"),
                &r.group,
                GROUP,
            );
            string(
                cx,
                FieldPath::root("spec.infrastructure.parametersRef.kind"),
                &r.kind,
                KIND,
            );
            string(
                cx,
                FieldPath::root("spec.infrastructure.parametersRef.name"),
                &r.name,
                OBJECT_NAME,
            );
            if r.namespace.is_some() {
                cx.warning(
                    FieldPath::root("spec.infrastructure.parametersRef.namespace"),
                    "not a field of a local parameters reference; ignored",
                );
            }
        }
    }
    if let Some(from) = spec
        .allowed_listeners
        .as_ref()
        .and_then(|a| a.namespaces.as_ref())
        .map(|n| &n.from)
    {
        known_enum(
            cx,
            FieldPath::root("spec.allowedListeners.namespaces.from"),
            from.as_str(),
            from.is_known(),
            FromNamespaces::KNOWN,
        );
    }
    if let Some(tls) = &spec.tls {
        gateway_tls(cx, tls);
    }
    if let Some(scope) = &spec.default_scope {
        known_enum(
            cx,
            FieldPath::root("spec.defaultScope"),
            scope.as_str(),
            scope.is_known(),
            crate::api::GatewayDefaultScope::KNOWN,
        );
    }
}

/// `XListenerSet.spec`.
pub(super) fn listener_set(cx: &mut Cx<'_>, spec: &ListenerSetSpec) {
    let p = &spec.parent_ref;
    string(cx, FieldPath::root("spec.parentRef.group"), &p.group, GROUP);
    string(cx, FieldPath::root("spec.parentRef.kind"), &p.kind, KIND);
    string(
        cx,
        FieldPath::root("spec.parentRef.name"),
        &p.name,
        OBJECT_NAME,
    );
    opt_string(
        cx,
        FieldPath::root("spec.parentRef.namespace"),
        p.namespace.as_deref(),
        super::checks::NAMESPACE,
    );
    if p.section_name.is_some() || p.port.is_some() {
        cx.warning(
            FieldPath::root("spec.parentRef"),
            "sectionName and port are not fields of a ListenerSet's parentRef; ignored",
        );
    }
    // XListenerSet listeners may leave the port out (CRD minimum 0, default 0).
    listeners(cx, &spec.listeners, 0);
}

/// `spec.listeners` of a Gateway or XListenerSet, with the CEL rules on the list.
fn listeners(cx: &mut Cx<'_>, listeners: &[Listener], min_port: i64) {
    let p = FieldPath::root("spec.listeners");
    items(cx, p, listeners.len(), 1, 64);
    for (i, l) in listeners.iter().enumerate() {
        listener(cx, p.index(i), l, min_port);
    }
    // CEL: "Listener name must be unique within the Gateway" (and listMapKey name).
    for (earlier, later) in repeats(listeners.iter().map(|l| l.name.as_str())) {
        cx.error(
            p.index(later).field("name"),
            format!("duplicate listener name (same as spec.listeners[{earlier}])"),
        );
    }
    // CEL: "Combination of port, protocol and hostname must be unique for each listener". The
    // specification resolves such listeners with the Conflicted condition, which later stages
    // report, so this is a warning here rather than a rejection.
    for (earlier, later) in repeats(
        listeners
            .iter()
            .map(|l| (l.port, l.protocol.as_str(), l.hostname.as_deref())),
    ) {
        cx.warning(
            p.index(later),
            format!("same port, protocol and hostname as spec.listeners[{earlier}]; the CRD rejects this combination"),
        );
    }
}

fn listener(cx: &mut Cx<'_>, p: FieldPath<'_>, l: &Listener, min_port: i64) {
    string(cx, p.field("name"), &l.name, SECTION_NAME);
    opt_string(cx, p.field("hostname"), l.hostname.as_deref(), HOSTNAME);
    range(cx, p.field("port"), l.port.into(), min_port, 65535);
    string(cx, p.field("protocol"), &l.protocol, PROTOCOL);
    let protocol = l.protocol.as_str();
    // CEL: "hostname must not be specified for protocols ['TCP', 'UDP']".
    if matches!(protocol, "TCP" | "UDP") && l.hostname.as_deref().is_some_and(|h| !h.is_empty()) {
        cx.error(
            p.field("hostname"),
            format!("must not be set for protocol {protocol}"),
        );
    }
    if let Some(tls) = &l.tls {
        // CEL: "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']".
        if matches!(protocol, "HTTP" | "TCP" | "UDP") {
            cx.error(
                p.field("tls"),
                format!("must not be set for protocol {protocol}"),
            );
        }
        known_enum(
            cx,
            p.field("tls.mode"),
            tls.mode.as_str(),
            tls.mode.is_known(),
            TlsModeType::KNOWN,
        );
        // CEL: "tls mode must be Terminate for protocol HTTPS".
        if protocol == "HTTPS" && !matches!(tls.mode.as_str(), "" | "Terminate") {
            cx.error(p.field("tls.mode"), "must be Terminate for protocol HTTPS");
        }
        items(
            cx,
            p.field("tls.certificateRefs"),
            tls.certificate_refs.len(),
            0,
            64,
        );
        for (j, r) in tls.certificate_refs.iter().enumerate() {
            secret_ref(cx, p.field("tls.certificateRefs").index(j), r);
        }
        options(cx, p.field("tls.options"), &tls.options);
        // CEL: "certificateRefs or options must be specified when mode is Terminate".
        if tls.mode == TlsModeType::Terminate
            && tls.certificate_refs.is_empty()
            && tls.options.is_empty()
        {
            cx.error(
                p.field("tls.certificateRefs"),
                "certificateRefs or options must be specified when mode is Terminate",
            );
        }
    }
    allowed_routes(cx, p.field("allowedRoutes"), &l.allowed_routes);
}

fn allowed_routes(cx: &mut Cx<'_>, p: FieldPath<'_>, a: &AllowedRoutes) {
    items(cx, p.field("kinds"), a.kinds.len(), 0, 8);
    for (i, k) in a.kinds.iter().enumerate() {
        string(
            cx,
            p.field("kinds").index(i).field("group"),
            &k.group,
            GROUP,
        );
        string(cx, p.field("kinds").index(i).field("kind"), &k.kind, KIND);
    }
    // A listener's `from` has no `None` (only allowedListeners has).
    let from = &a.namespaces.from;
    if matches!(from, FromNamespaces::None | FromNamespaces::Unknown(_)) {
        cx.warning(
            p.field("namespaces.from"),
            unsupported(from.as_str(), &["All", "Selector", "Same"]),
        );
    }
}

/// Implementation-specific TLS options: at most 16, values at most 4096 characters.
pub(super) fn options(cx: &mut Cx<'_>, p: FieldPath<'_>, options: &BTreeMap<String, String>) {
    properties(cx, p, options.len(), 16);
    for (key, value) in options {
        if value.chars().count() > 4096 {
            cx.error(p.key(key), "at most 4096 characters");
        }
    }
}

fn addresses(cx: &mut Cx<'_>, addresses: &[GatewaySpecAddress]) {
    let p = FieldPath::root("spec.addresses");
    items(cx, p, addresses.len(), 0, 16);
    for (i, a) in addresses.iter().enumerate() {
        address(cx, p.index(i), a);
    }
    // CEL: "IPAddress values must be unique", "Hostname values must be unique".
    for kind in ["IPAddress", "Hostname"] {
        let keyed = addresses
            .iter()
            .enumerate()
            .filter(|(_, a)| a.type_ == kind)
            .filter_map(|(i, a)| a.value.as_deref().map(|v| (i, v)));
        let (indices, values): (Vec<usize>, Vec<&str>) = keyed.unzip();
        for (earlier, later) in repeats(values) {
            let (Some(earlier), Some(later)) = (indices.get(earlier), indices.get(later)) else {
                continue;
            };
            cx.error(
                p.index(*later).field("value"),
                format!("duplicate {kind} value (same as spec.addresses[{earlier}])"),
            );
        }
    }
}

fn address(cx: &mut Cx<'_>, p: FieldPath<'_>, a: &GatewaySpecAddress) {
    string(cx, p.field("type"), &a.type_, ADDRESS_TYPE);
    let Some(value) = a.value.as_deref() else {
        return;
    };
    if value.chars().count() > 253 {
        cx.error(p.field("value"), "at most 253 characters");
    }
    match a.type_.as_str() {
        // oneOf: an IPAddress value has format ipv4 or ipv6.
        "IPAddress" if !value.is_empty() && value.parse::<IpAddr>().is_err() => {
            cx.error(p.field("value"), "must be a valid IPv4 or IPv6 address");
        }
        // CEL: "Hostname value must be empty or contain only valid characters".
        "Hostname" if !value.is_empty() && !names::is_hostname(value) => {
            cx.error(p.field("value"), "must be empty or a valid hostname (lowercase RFC 1123 labels, optional leading \"*.\")");
        }
        _ => {}
    }
}

/// `infrastructure.labels` / `annotations`: at most 8 entries with qualified-name keys.
fn infrastructure_map(
    cx: &mut Cx<'_>,
    p: FieldPath<'_>,
    map: &BTreeMap<String, String>,
    labels: bool,
) {
    properties(cx, p, map.len(), 8);
    for (key, value) in map {
        if !names::is_label_key(key) {
            cx.error(p, format!("key {key:?} must be an optional DNS subdomain prefix (shorter than 253 characters) and \"/\", then a name of up to 63 characters"));
        }
        let max = if labels { 63 } else { 4096 };
        if value.chars().count() > max {
            cx.error(p.key(key), format!("at most {max} characters"));
        }
        if labels && !names::is_label_value(value) {
            cx.error(p.key(key), "must be empty or [A-Za-z0-9-_.] starting and ending with an alphanumeric character");
        }
    }
}

fn gateway_tls(cx: &mut Cx<'_>, tls: &GatewayTlsConfig) {
    if let Some(r) = tls
        .backend
        .as_ref()
        .and_then(|b| b.client_certificate_ref.as_ref())
    {
        secret_ref(
            cx,
            FieldPath::root("spec.tls.backend.clientCertificateRef"),
            r,
        );
    }
    let Some(frontend) = &tls.frontend else {
        return;
    };
    match &frontend.default {
        Some(default) => {
            if let Some(v) = &default.validation {
                frontend_validation(
                    cx,
                    FieldPath::root("spec.tls.frontend.default.validation"),
                    v,
                );
            }
        }
        None => cx.error(FieldPath::root("spec.tls.frontend.default"), "required"),
    }
    let per_port = FieldPath::root("spec.tls.frontend.perPort");
    items(cx, per_port, frontend.per_port.len(), 0, 64);
    for (i, entry) in frontend.per_port.iter().enumerate() {
        port(cx, per_port.index(i).field("port"), Some(entry.port));
        if let Some(v) = &entry.tls.validation {
            frontend_validation(cx, per_port.index(i).field("tls.validation"), v);
        }
    }
    // CEL: "Port for TLS configuration must be unique within the Gateway" (and listMapKey).
    for (earlier, later) in repeats(frontend.per_port.iter().map(|e| e.port)) {
        cx.error(
            per_port.index(later).field("port"),
            format!("duplicate port (same as spec.tls.frontend.perPort[{earlier}])"),
        );
    }
}

fn frontend_validation(cx: &mut Cx<'_>, p: FieldPath<'_>, v: &FrontendTlsValidation) {
    items(
        cx,
        p.field("caCertificateRefs"),
        v.ca_certificate_refs.len(),
        1,
        8,
    );
    for (i, r) in v.ca_certificate_refs.iter().enumerate() {
        object_ref(cx, p.field("caCertificateRefs").index(i), r);
    }
    known_enum(
        cx,
        p.field("mode"),
        v.mode.as_str(),
        v.mode.is_known(),
        crate::api::FrontendValidationMode::KNOWN,
    );
}
