//! HTTPRoute, GRPCRoute, TLSRoute, TCPRoute and UDPRoute: parents, hostnames, rules, matches.

use super::Cx;
use super::checks::{
    HEADER_NAME, HEADER_VALUE, HOSTNAME, PATH_CHARS, SECTION_NAME, StringRule, backend_ref, items,
    known_enum, parent_ref, range, repeats, string,
};
use super::filter::{self, FilterKind};
use super::names;
use super::path::FieldPath;
use super::regex::compile_anchored;
use crate::api::{
    BackendRef, CommonRouteSpec, GatewayDefaultScopeRef, GrpcMethodMatch, GrpcRouteSpec,
    HttpBackendRef, HttpHeaderMatch, HttpMethod, HttpPathMatch, HttpQueryParamMatch,
    HttpRouteMatch, HttpRouteRetry, HttpRouteRule, HttpRouteSpec, HttpRouteTimeouts, L4RouteSpec,
    ParentReference, PathMatchType, SessionPersistence, SessionPersistenceType, StringMatchType,
};

/// Most matches across all rules of one HTTPRoute or GRPCRoute (CEL on `spec.rules`).
const MAX_TOTAL_MATCHES: usize = 128;

/// `HTTPRoute.spec`.
pub(super) fn http_route(cx: &mut Cx<'_>, spec: &HttpRouteSpec) {
    common(cx, &spec.common);
    hostnames(cx, &spec.hostnames, 0);
    rule_list(
        cx,
        spec.rules.len(),
        16,
        spec.rules
            .iter()
            .map(|r| (r.name.as_deref(), r.matches.len())),
    );
    let rules = FieldPath::root("spec.rules");
    for (i, rule) in spec.rules.iter().enumerate() {
        http_rule(cx, rules.index(i), rule);
    }
}

/// `GRPCRoute.spec`.
pub(super) fn grpc_route(cx: &mut Cx<'_>, spec: &GrpcRouteSpec) {
    common(cx, &spec.common);
    hostnames(cx, &spec.hostnames, 0);
    rule_list(
        cx,
        spec.rules.len(),
        16,
        spec.rules
            .iter()
            .map(|r| (r.name.as_deref(), r.matches.len())),
    );
    let rules = FieldPath::root("spec.rules");
    for (i, rule) in spec.rules.iter().enumerate() {
        let p = rules.index(i);
        let matches = p.field("matches");
        items(cx, matches, rule.matches.len(), 0, 64);
        for (j, m) in rule.matches.iter().enumerate() {
            let mp = matches.index(j);
            if let Some(method) = &m.method {
                grpc_method(cx, mp.field("method"), method);
            }
            header_matches(cx, mp.field("headers"), &m.headers);
        }
        filter::filter_list(cx, p.field("filters"), &rule.filters, FilterKind::Grpc);
        http_backend_refs(
            cx,
            p.field("backendRefs"),
            &rule.backend_refs,
            FilterKind::Grpc,
        );
        if let Some(sp) = &rule.session_persistence {
            session_persistence(cx, p.field("sessionPersistence"), sp);
        }
    }
}

/// Which of the filterless route kinds, and for TLSRoute which version.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum L4Kind {
    /// A TLSRoute; v1alpha3 requires hostnames and allows one rule.
    Tls {
        /// Whether the object was written as v1alpha3.
        v1alpha3: bool,
    },
    /// A TCPRoute.
    Tcp,
    /// A UDPRoute.
    Udp,
}

/// `spec` of TLSRoute, TCPRoute and UDPRoute.
pub(super) fn l4_route(cx: &mut Cx<'_>, spec: &L4RouteSpec, kind: L4Kind) {
    common(cx, &spec.common);
    match kind {
        L4Kind::Tls { v1alpha3 } => hostnames(cx, &spec.hostnames, usize::from(v1alpha3)),
        L4Kind::Tcp | L4Kind::Udp if !spec.hostnames.is_empty() => {
            cx.warning(
                FieldPath::root("spec.hostnames"),
                "not a field of this kind; ignored",
            );
        }
        L4Kind::Tcp | L4Kind::Udp => {}
    }
    let max_rules = if kind == (L4Kind::Tls { v1alpha3: true }) {
        1
    } else {
        16
    };
    let rules = FieldPath::root("spec.rules");
    items(cx, rules, spec.rules.len(), 1, max_rules);
    rule_names(cx, spec.rules.iter().map(|r| r.name.as_deref()));
    for (i, rule) in spec.rules.iter().enumerate() {
        let rule_path = rules.index(i);
        let p = rule_path.field("backendRefs");
        items(cx, p, rule.backend_refs.len(), 1, 16);
        for (j, b) in rule.backend_refs.iter().enumerate() {
            weighted_backend(cx, p.index(j), b);
        }
    }
}

fn weighted_backend(cx: &mut Cx<'_>, p: FieldPath<'_>, b: &BackendRef) {
    backend_ref(cx, p, &b.backend);
    range(cx, p.field("weight"), b.weight.into(), 0, 1_000_000);
}

/// `parentRefs` and `useDefaultGateways`.
fn common(cx: &mut Cx<'_>, common: &CommonRouteSpec) {
    parent_refs(cx, &common.parent_refs);
    if let Some(scope) = &common.use_default_gateways {
        known_enum(
            cx,
            FieldPath::root("spec.useDefaultGateways"),
            scope.as_str(),
            scope.is_known(),
            GatewayDefaultScopeRef::KNOWN,
        );
    }
}

/// `spec.parentRefs`: at most 32, and the two CEL rules on references to the same parent.
fn parent_refs(cx: &mut Cx<'_>, refs: &[ParentReference]) {
    let p = FieldPath::root("spec.parentRefs");
    items(cx, p, refs.len(), 0, 32);
    for (i, r) in refs.iter().enumerate() {
        parent_ref(cx, p.index(i), r);
    }
    // Unset and empty namespace, sectionName and port (0) are the same to both rules.
    let parent = |r: &ParentReference| {
        (
            r.group.clone(),
            r.kind.clone(),
            r.name.clone(),
            r.namespace.clone().filter(|n| !n.is_empty()),
        )
    };
    let section = |r: &ParentReference| r.section_name.clone().filter(|s| !s.is_empty());
    let port = |r: &ParentReference| r.port.filter(|p| *p != 0);
    // CEL: "sectionName or port must be specified when parentRefs includes 2 or more references
    // to the same parent": every pair to one parent sets sectionName alike and port alike.
    let mut reported = vec![false; refs.len()];
    for (j, later) in refs.iter().enumerate() {
        let conflict = refs.iter().take(j).position(|earlier| {
            parent(earlier) == parent(later)
                && (section(earlier).is_some() != section(later).is_some()
                    || port(earlier).is_some() != port(later).is_some())
        });
        if let Some(i) = conflict {
            if let Some(flag) = reported.get_mut(j) {
                *flag = true;
            }
            cx.error(
                p.index(j),
                format!("sectionName or port must be specified alike when parentRefs includes 2 or more references to the same parent (see spec.parentRefs[{i}])"),
            );
        }
    }
    // CEL: "sectionName or port must be unique when parentRefs includes 2 or more references
    // to the same parent".
    for (i, j) in repeats(refs.iter().map(|r| (parent(r), section(r), port(r)))) {
        if !reported.get(j).copied().unwrap_or(false) {
            cx.error(
                p.index(j),
                format!("sectionName or port must be unique when parentRefs includes 2 or more references to the same parent (same as spec.parentRefs[{i}])"),
            );
        }
    }
}

/// `spec.hostnames`: at most 16 Hostnames.
fn hostnames(cx: &mut Cx<'_>, hostnames: &[String], min: usize) {
    let p = FieldPath::root("spec.hostnames");
    items(cx, p, hostnames.len(), min, 16);
    for (i, h) in hostnames.iter().enumerate() {
        string(cx, p.index(i), h, HOSTNAME);
    }
}

/// The CEL rules on `spec.rules` of HTTPRoute and GRPCRoute: the count, the total number of
/// matches, and unique names.
fn rule_list<'a>(
    cx: &mut Cx<'_>,
    len: usize,
    max: usize,
    rules: impl Iterator<Item = (Option<&'a str>, usize)> + Clone,
) {
    let p = FieldPath::root("spec.rules");
    items(cx, p, len, 0, max);
    let total: usize = rules.clone().map(|(_, matches)| matches).sum();
    if total > MAX_TOTAL_MATCHES {
        cx.error(
            p,
            format!("at most {MAX_TOTAL_MATCHES} matches across all rules, found {total}"),
        );
    }
    rule_names(cx, rules.map(|(name, _)| name));
}

/// Rule names: SectionName pattern, unique in the route (CEL "Rule name must be unique").
fn rule_names<'a>(cx: &mut Cx<'_>, names: impl Iterator<Item = Option<&'a str>>) {
    let p = FieldPath::root("spec.rules");
    let names: Vec<Option<&str>> = names.collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(name) = name {
            string(cx, p.index(i).field("name"), name, SECTION_NAME);
        }
    }
    let named = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i, n)));
    let (indices, values): (Vec<usize>, Vec<&str>) = named.unzip();
    for (earlier, later) in repeats(values) {
        let (Some(earlier), Some(later)) = (indices.get(earlier), indices.get(later)) else {
            continue;
        };
        cx.error(
            p.index(*later).field("name"),
            format!("duplicate rule name (same as spec.rules[{earlier}])"),
        );
    }
}

fn http_rule(cx: &mut Cx<'_>, p: FieldPath<'_>, rule: &HttpRouteRule) {
    let matches = p.field("matches");
    items(cx, matches, rule.matches.len(), 0, 64);
    for (j, m) in rule.matches.iter().enumerate() {
        http_match(cx, matches.index(j), m);
    }
    filter::filter_list(cx, p.field("filters"), &rule.filters, FilterKind::Http);
    http_backend_refs(
        cx,
        p.field("backendRefs"),
        &rule.backend_refs,
        FilterKind::Http,
    );
    filter::rule_filter_rules(cx, p, rule);
    if let Some(t) = &rule.timeouts {
        timeouts(cx, p.field("timeouts"), t);
    }
    if let Some(r) = &rule.retry {
        retry(cx, p.field("retry"), r);
    }
    if let Some(sp) = &rule.session_persistence {
        session_persistence(cx, p.field("sessionPersistence"), sp);
    }
}

fn http_backend_refs(cx: &mut Cx<'_>, p: FieldPath<'_>, refs: &[HttpBackendRef], kind: FilterKind) {
    items(cx, p, refs.len(), 0, 16);
    for (i, b) in refs.iter().enumerate() {
        let bp = p.index(i);
        backend_ref(cx, bp, &b.backend);
        range(cx, bp.field("weight"), b.weight.into(), 0, 1_000_000);
        filter::filter_list(cx, bp.field("filters"), &b.filters, kind);
    }
}

fn http_match(cx: &mut Cx<'_>, p: FieldPath<'_>, m: &HttpRouteMatch) {
    if let Some(path) = &m.path {
        path_match(cx, p.field("path"), path);
    }
    header_matches(cx, p.field("headers"), &m.headers);
    query_matches(cx, p.field("queryParams"), &m.query_params);
    if let Some(method) = &m.method {
        known_enum(
            cx,
            p.field("method"),
            method.as_str(),
            method.is_known(),
            HttpMethod::KNOWN,
        );
    }
}

/// A condition a path value must meet, and the message when it does not.
type PathRule = (fn(&str) -> bool, &'static str);

/// The CEL rules of `HTTPPathMatch` on Exact and PathPrefix values, in the CRD's order.
const PATH_RULES: &[PathRule] = &[
    (|v| v.starts_with('/'), "must start with \"/\""),
    (|v| !v.contains("//"), "must not contain \"//\""),
    (|v| !v.contains("/./"), "must not contain \"/./\""),
    (|v| !v.contains("/../"), "must not contain \"/../\""),
    (|v| !v.contains("%2f"), "must not contain \"%2f\""),
    (|v| !v.contains("%2F"), "must not contain \"%2F\""),
    (|v| !v.contains('#'), "must not contain \"#\""),
    (|v| !v.ends_with("/.."), "must not end with \"/..\""),
    (|v| !v.ends_with("/."), "must not end with \"/.\""),
];

fn path_match(cx: &mut Cx<'_>, p: FieldPath<'_>, m: &HttpPathMatch) {
    let vp = p.field("value");
    match &m.type_ {
        PathMatchType::Exact | PathMatchType::PathPrefix => {
            for (holds, message) in PATH_RULES {
                if !holds(&m.value) {
                    cx.error(vp, *message);
                }
            }
            // Length and the CRD's pattern of path characters.
            string(cx, vp, &m.value, PATH_CHARS);
        }
        other => {
            string(cx, vp, &m.value, StringRule::max(1024));
            if *other == PathMatchType::RegularExpression {
                regex(cx, vp, &m.value);
            } else {
                known_enum(
                    cx,
                    p.field("type"),
                    other.as_str(),
                    false,
                    PathMatchType::KNOWN,
                );
            }
        }
    }
}

/// `headers` of an HTTPRoute or GRPCRoute match: at most 16, unique names.
fn header_matches(cx: &mut Cx<'_>, p: FieldPath<'_>, headers: &[HttpHeaderMatch]) {
    items(cx, p, headers.len(), 0, 16);
    for (i, h) in headers.iter().enumerate() {
        let hp = p.index(i);
        string(cx, hp.field("name"), &h.name, HEADER_NAME);
        string(cx, hp.field("value"), &h.value, HEADER_VALUE);
        string_match(cx, hp, &h.type_, &h.value);
    }
    // listMapKey name: the API server rejects exact duplicates. Names differing only in case
    // pass the CRD; the specification says only the first of equivalent names is used.
    let exact = repeats(headers.iter().map(|h| h.name.as_str()));
    for (earlier, later) in &exact {
        cx.error(
            p.index(*later).field("name"),
            format!("duplicate header name (same as {p}[{earlier}])"),
        );
    }
    for (earlier, later) in repeats(headers.iter().map(|h| h.name.to_ascii_lowercase())) {
        if !exact.iter().any(|(_, l)| *l == later) {
            cx.warning(
                p.index(later).field("name"),
                format!("same header name as {p}[{earlier}] but for case; only the first is used"),
            );
        }
    }
}

fn query_matches(cx: &mut Cx<'_>, p: FieldPath<'_>, params: &[HttpQueryParamMatch]) {
    items(cx, p, params.len(), 0, 16);
    for (i, q) in params.iter().enumerate() {
        let qp = p.index(i);
        string(cx, qp.field("name"), &q.name, HEADER_NAME);
        string(cx, qp.field("value"), &q.value, StringRule::length(1, 1024));
        string_match(cx, qp, &q.type_, &q.value);
    }
    // listMapKey name; query parameter names are case-sensitive.
    for (earlier, later) in repeats(params.iter().map(|q| q.name.as_str())) {
        cx.error(
            p.index(later).field("name"),
            format!("duplicate query parameter name (same as {p}[{earlier}])"),
        );
    }
}

/// The `type` of a header or query match, and the regex of a RegularExpression one.
fn string_match(cx: &mut Cx<'_>, p: FieldPath<'_>, type_: &StringMatchType, value: &str) {
    match type_ {
        StringMatchType::RegularExpression => regex(cx, p.field("value"), value),
        other => known_enum(
            cx,
            p.field("type"),
            other.as_str(),
            other.is_known(),
            StringMatchType::KNOWN,
        ),
    }
}

/// A regular expression passes the CRD whatever it is; one that does not compile here is a
/// warning, and later stages drop the match.
fn regex(cx: &mut Cx<'_>, p: FieldPath<'_>, pattern: &str) {
    if let Err(reason) = compile_anchored(pattern) {
        cx.warning(p, format!("regular expression does not compile: {reason}"));
    }
}

fn grpc_method(cx: &mut Cx<'_>, p: FieldPath<'_>, m: &GrpcMethodMatch) {
    // CEL: "One or both of 'service' or 'method' must be specified" (type is always set, as it
    // has a default).
    if m.service.is_none() && m.method.is_none() {
        cx.error(p, "one or both of service or method must be specified");
    }
    let fields = [
        ("service", m.service.as_deref()),
        ("method", m.method.as_deref()),
    ];
    for (field, value) in fields {
        let Some(value) = value else { continue };
        let fp = p.field(field);
        if value.chars().count() > 1024 {
            cx.error(fp, "at most 1024 characters");
        }
        match &m.type_ {
            StringMatchType::Exact => {
                let (ok, expected) = if field == "service" {
                    (
                        names::is_grpc_service(value),
                        "^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$",
                    )
                } else {
                    (names::is_grpc_method(value), "^[A-Za-z_][A-Za-z_0-9]*$")
                };
                if !ok {
                    cx.error(
                        fp,
                        format!("must only contain valid characters (matching {expected})"),
                    );
                }
            }
            StringMatchType::RegularExpression => regex(cx, fp, value),
            _ => {}
        }
    }
    known_enum(
        cx,
        p.field("type"),
        m.type_.as_str(),
        m.type_.is_known(),
        StringMatchType::KNOWN,
    );
}

/// Checks a Duration field and returns its value in milliseconds.
pub(super) fn duration(cx: &mut Cx<'_>, p: FieldPath<'_>, value: &str) -> Option<u64> {
    let parsed = names::parse_duration_ms(value);
    if parsed.is_none() {
        cx.error(p, "must be a duration of 1 to 4 groups of 1 to 5 digits and a unit h, m, s or ms, such as \"1h30m\" or \"500ms\"");
    }
    parsed
}

fn timeouts(cx: &mut Cx<'_>, p: FieldPath<'_>, t: &HttpRouteTimeouts) {
    let request = t
        .request
        .as_deref()
        .and_then(|v| duration(cx, p.field("request"), v));
    let backend = t
        .backend_request
        .as_deref()
        .and_then(|v| duration(cx, p.field("backendRequest"), v));
    // CEL: "backendRequest timeout cannot be longer than request timeout" (a request timeout of
    // 0s means none).
    if let (Some(request), Some(backend)) = (request, backend)
        && request != 0
        && backend > request
    {
        cx.error(
            p.field("backendRequest"),
            "must not be longer than the request timeout",
        );
    }
}

fn retry(cx: &mut Cx<'_>, p: FieldPath<'_>, r: &HttpRouteRetry) {
    for (i, code) in r.codes.iter().enumerate() {
        range(cx, p.field("codes").index(i), (*code).into(), 400, 599);
    }
    if let Some(backoff) = &r.backoff {
        duration(cx, p.field("backoff"), backoff);
    }
}

/// `sessionPersistence` of a rule or an XBackendTrafficPolicy.
pub(super) fn session_persistence(cx: &mut Cx<'_>, p: FieldPath<'_>, sp: &SessionPersistence) {
    if let Some(name) = &sp.session_name {
        string(cx, p.field("sessionName"), name, StringRule::max(128));
    }
    if let Some(v) = &sp.absolute_timeout {
        duration(cx, p.field("absoluteTimeout"), v);
    }
    if let Some(v) = &sp.idle_timeout {
        duration(cx, p.field("idleTimeout"), v);
    }
    known_enum(
        cx,
        p.field("type"),
        sp.type_.as_str(),
        sp.type_.is_known(),
        SessionPersistenceType::KNOWN,
    );
    let lifetime = sp
        .cookie_config
        .as_ref()
        .and_then(|c| c.lifetime_type.as_deref());
    if let Some(lifetime) = lifetime {
        let allowed = ["Permanent", "Session"];
        known_enum(
            cx,
            p.field("cookieConfig.lifetimeType"),
            lifetime,
            allowed.contains(&lifetime),
            &allowed,
        );
    }
    // CEL: "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent".
    if lifetime == Some("Permanent") && sp.absolute_timeout.is_none() {
        cx.error(
            p.field("absoluteTimeout"),
            "required when cookieConfig.lifetimeType is Permanent",
        );
    }
}
