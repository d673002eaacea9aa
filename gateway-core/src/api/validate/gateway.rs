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
    string(cx, "spec.controllerName", controller_name, CONTROLLER_NAME);
    if let Some(description) = description {
        string(cx, "spec.description", description, StringRule::max(64));
    }
    if let Some(r) = parameters_ref {
        object_ref(cx, "spec.parametersRef", r);
    }
}

/// `Gateway.spec`.
pub(super) fn gateway(cx: &mut Cx<'_>, spec: &GatewaySpec) {
    string(
        cx,
        "spec.gatewayClassName",
        &spec.gateway_class_name,
        OBJECT_NAME,
    );
    listeners(cx, &spec.listeners, 1);
    addresses(cx, &spec.addresses);
    if let Some(infra) = &spec.infrastructure {
        infrastructure_map(cx, "spec.infrastructure.labels", &infra.labels, true);
        infrastructure_map(
            cx,
            "spec.infrastructure.annotations",
            &infra.annotations,
            false,
        );
        if let Some(r) = &infra.parameters_ref {
            string(
                cx,
                "spec.infrastructure.parametersRef.group",
                &r.group,
                GROUP,
            );
            string(cx, "spec.infrastructure.parametersRef.kind", &r.kind, KIND);
            string(
                cx,
                "spec.infrastructure.parametersRef.name",
                &r.name,
                OBJECT_NAME,
            );
            if r.namespace.is_some() {
                cx.warning(
                    "spec.infrastructure.parametersRef.namespace",
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
            "spec.allowedListeners.namespaces.from",
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
            "spec.defaultScope",
            scope.as_str(),
            scope.is_known(),
            crate::api::GatewayDefaultScope::KNOWN,
        );
    }
}

/// `XListenerSet.spec`.
pub(super) fn listener_set(cx: &mut Cx<'_>, spec: &ListenerSetSpec) {
    let p = &spec.parent_ref;
    string(cx, "spec.parentRef.group", &p.group, GROUP);
    string(cx, "spec.parentRef.kind", &p.kind, KIND);
    string(cx, "spec.parentRef.name", &p.name, OBJECT_NAME);
    opt_string(
        cx,
        "spec.parentRef.namespace",
        p.namespace.as_deref(),
        super::checks::NAMESPACE,
    );
    if p.section_name.is_some() || p.port.is_some() {
        cx.warning(
            "spec.parentRef",
            "sectionName and port are not fields of a ListenerSet's parentRef; ignored",
        );
    }
    // XListenerSet listeners may leave the port out (CRD minimum 0, default 0).
    listeners(cx, &spec.listeners, 0);
}

/// `spec.listeners` of a Gateway or XListenerSet, with the CEL rules on the list.
fn listeners(cx: &mut Cx<'_>, listeners: &[Listener], min_port: i64) {
    items(cx, "spec.listeners", listeners.len(), 1, 64);
    for (i, l) in listeners.iter().enumerate() {
        listener(cx, &format!("spec.listeners[{i}]"), l, min_port);
    }
    // CEL: "Listener name must be unique within the Gateway" (and listMapKey name).
    for (earlier, later) in repeats(listeners.iter().map(|l| l.name.as_str())) {
        cx.error(
            format!("spec.listeners[{later}].name"),
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
            format!("spec.listeners[{later}]"),
            format!("same port, protocol and hostname as spec.listeners[{earlier}]; the CRD rejects this combination"),
        );
    }
}

fn listener(cx: &mut Cx<'_>, p: &str, l: &Listener, min_port: i64) {
    string(cx, &format!("{p}.name"), &l.name, SECTION_NAME);
    opt_string(
        cx,
        &format!("{p}.hostname"),
        l.hostname.as_deref(),
        HOSTNAME,
    );
    range(cx, &format!("{p}.port"), l.port.into(), min_port, 65535);
    string(cx, &format!("{p}.protocol"), &l.protocol, PROTOCOL);
    let protocol = l.protocol.as_str();
    // CEL: "hostname must not be specified for protocols ['TCP', 'UDP']".
    if matches!(protocol, "TCP" | "UDP") && l.hostname.as_deref().is_some_and(|h| !h.is_empty()) {
        cx.error(
            format!("{p}.hostname"),
            format!("must not be set for protocol {protocol}"),
        );
    }
    if let Some(tls) = &l.tls {
        // CEL: "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']".
        if matches!(protocol, "HTTP" | "TCP" | "UDP") {
            cx.error(
                format!("{p}.tls"),
                format!("must not be set for protocol {protocol}"),
            );
        }
        known_enum(
            cx,
            &format!("{p}.tls.mode"),
            tls.mode.as_str(),
            tls.mode.is_known(),
            TlsModeType::KNOWN,
        );
        // CEL: "tls mode must be Terminate for protocol HTTPS".
        if protocol == "HTTPS" && !matches!(tls.mode.as_str(), "" | "Terminate") {
            cx.error(
                format!("{p}.tls.mode"),
                "must be Terminate for protocol HTTPS",
            );
        }
        items(
            cx,
            &format!("{p}.tls.certificateRefs"),
            tls.certificate_refs.len(),
            0,
            64,
        );
        for (j, r) in tls.certificate_refs.iter().enumerate() {
            secret_ref(cx, &format!("{p}.tls.certificateRefs[{j}]"), r);
        }
        options(cx, &format!("{p}.tls.options"), &tls.options);
        // CEL: "certificateRefs or options must be specified when mode is Terminate".
        if tls.mode == TlsModeType::Terminate
            && tls.certificate_refs.is_empty()
            && tls.options.is_empty()
        {
            cx.error(
                format!("{p}.tls.certificateRefs"),
                "certificateRefs or options must be specified when mode is Terminate",
            );
        }
    }
    allowed_routes(cx, &format!("{p}.allowedRoutes"), &l.allowed_routes);
}

fn allowed_routes(cx: &mut Cx<'_>, p: &str, a: &AllowedRoutes) {
    items(cx, &format!("{p}.kinds"), a.kinds.len(), 0, 8);
    for (i, k) in a.kinds.iter().enumerate() {
        string(cx, &format!("{p}.kinds[{i}].group"), &k.group, GROUP);
        string(cx, &format!("{p}.kinds[{i}].kind"), &k.kind, KIND);
    }
    // A listener's `from` has no `None` (only allowedListeners has).
    let from = &a.namespaces.from;
    if matches!(from, FromNamespaces::None | FromNamespaces::Unknown(_)) {
        cx.warning(
            format!("{p}.namespaces.from"),
            unsupported(from.as_str(), &["All", "Selector", "Same"]),
        );
    }
}

/// Implementation-specific TLS options: at most 16, values at most 4096 characters.
pub(super) fn options(cx: &mut Cx<'_>, p: &str, options: &BTreeMap<String, String>) {
    properties(cx, p, options.len(), 16);
    for (key, value) in options {
        if value.chars().count() > 4096 {
            cx.error(format!("{p}.{key}"), "at most 4096 characters");
        }
    }
}

fn addresses(cx: &mut Cx<'_>, addresses: &[GatewaySpecAddress]) {
    items(cx, "spec.addresses", addresses.len(), 0, 16);
    for (i, a) in addresses.iter().enumerate() {
        address(cx, &format!("spec.addresses[{i}]"), a);
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
                format!("spec.addresses[{later}].value"),
                format!("duplicate {kind} value (same as spec.addresses[{earlier}])"),
            );
        }
    }
}

fn address(cx: &mut Cx<'_>, p: &str, a: &GatewaySpecAddress) {
    string(cx, &format!("{p}.type"), &a.type_, ADDRESS_TYPE);
    let Some(value) = a.value.as_deref() else {
        return;
    };
    if value.chars().count() > 253 {
        cx.error(format!("{p}.value"), "at most 253 characters");
    }
    match a.type_.as_str() {
        // oneOf: an IPAddress value has format ipv4 or ipv6.
        "IPAddress" if !value.is_empty() && value.parse::<IpAddr>().is_err() => {
            cx.error(format!("{p}.value"), "must be a valid IPv4 or IPv6 address");
        }
        // CEL: "Hostname value must be empty or contain only valid characters".
        "Hostname" if !value.is_empty() && !names::is_hostname(value) => {
            cx.error(format!("{p}.value"), "must be empty or a valid hostname (lowercase RFC 1123 labels, optional leading \"*.\")");
        }
        _ => {}
    }
}

/// `infrastructure.labels` / `annotations`: at most 8 entries with qualified-name keys.
fn infrastructure_map(cx: &mut Cx<'_>, p: &str, map: &BTreeMap<String, String>, labels: bool) {
    properties(cx, p, map.len(), 8);
    for (key, value) in map {
        if !names::is_label_key(key) {
            cx.error(p, format!("key {key:?} must be an optional DNS subdomain prefix (shorter than 253 characters) and \"/\", then a name of up to 63 characters"));
        }
        let max = if labels { 63 } else { 4096 };
        if value.chars().count() > max {
            cx.error(format!("{p}.{key}"), format!("at most {max} characters"));
        }
        if labels && !names::is_label_value(value) {
            cx.error(format!("{p}.{key}"), "must be empty or [A-Za-z0-9-_.] starting and ending with an alphanumeric character");
        }
    }
}

fn gateway_tls(cx: &mut Cx<'_>, tls: &GatewayTlsConfig) {
    if let Some(r) = tls
        .backend
        .as_ref()
        .and_then(|b| b.client_certificate_ref.as_ref())
    {
        secret_ref(cx, "spec.tls.backend.clientCertificateRef", r);
    }
    let Some(frontend) = &tls.frontend else {
        return;
    };
    match &frontend.default {
        Some(default) => {
            if let Some(v) = &default.validation {
                frontend_validation(cx, "spec.tls.frontend.default.validation", v);
            }
        }
        None => cx.error("spec.tls.frontend.default", "required"),
    }
    items(
        cx,
        "spec.tls.frontend.perPort",
        frontend.per_port.len(),
        0,
        64,
    );
    for (i, entry) in frontend.per_port.iter().enumerate() {
        port(
            cx,
            &format!("spec.tls.frontend.perPort[{i}].port"),
            Some(entry.port),
        );
        if let Some(v) = &entry.tls.validation {
            frontend_validation(
                cx,
                &format!("spec.tls.frontend.perPort[{i}].tls.validation"),
                v,
            );
        }
    }
    // CEL: "Port for TLS configuration must be unique within the Gateway" (and listMapKey).
    for (earlier, later) in repeats(frontend.per_port.iter().map(|e| e.port)) {
        cx.error(
            format!("spec.tls.frontend.perPort[{later}].port"),
            format!("duplicate port (same as spec.tls.frontend.perPort[{earlier}])"),
        );
    }
}

fn frontend_validation(cx: &mut Cx<'_>, p: &str, v: &FrontendTlsValidation) {
    items(
        cx,
        &format!("{p}.caCertificateRefs"),
        v.ca_certificate_refs.len(),
        1,
        8,
    );
    for (i, r) in v.ca_certificate_refs.iter().enumerate() {
        object_ref(cx, &format!("{p}.caCertificateRefs[{i}]"), r);
    }
    known_enum(
        cx,
        &format!("{p}.mode"),
        v.mode.as_str(),
        v.mode.is_known(),
        crate::api::FrontendValidationMode::KNOWN,
    );
}
