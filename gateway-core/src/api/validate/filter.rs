//! Filters of HTTPRoute and GRPCRoute rules and backendRefs: the `type` union, the
//! uniqueness rules on filter lists, and each filter's settings.

use super::Cx;
use super::checks::{
    HEADER_NAME, HEADER_VALUE, PATH_CHARS, PRECISE_HOSTNAME, StringRule, at_least, backend_ref,
    items, known_enum, local_ref, port, range, repeats, set_items, shown, string,
};
use super::names;
use super::path::FieldPath;
use crate::api::{
    Cors, ExternalAuth, ExternalAuthProtocol, HeaderModifier, HttpPathModifier, HttpRouteFilter,
    HttpRouteRule, PathMatchType, PathModifierType, RequestMirror, RequestRedirect,
};

/// Which route kind a filter list belongs to: GRPCRoute knows only four filter types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FilterKind {
    /// HTTPRoute: all eight filter types.
    Http,
    /// GRPCRoute: header modifiers, mirror and extension.
    Grpc,
}

/// A filter type, the member that holds its settings, and whether GRPCRoute knows it.
struct Member {
    type_: &'static str,
    field: &'static str,
    present: fn(&HttpRouteFilter) -> bool,
    grpc: bool,
}

/// The `type` ↔ member union: CEL `filter.<member> must be nil if the filter.type is not
/// <Type>` and `filter.<member> must be specified for <Type> filter.type`.
const MEMBERS: &[Member] = &[
    Member {
        type_: "RequestHeaderModifier",
        field: "requestHeaderModifier",
        present: |f| f.request_header_modifier.is_some(),
        grpc: true,
    },
    Member {
        type_: "ResponseHeaderModifier",
        field: "responseHeaderModifier",
        present: |f| f.response_header_modifier.is_some(),
        grpc: true,
    },
    Member {
        type_: "RequestMirror",
        field: "requestMirror",
        present: |f| f.request_mirror.is_some(),
        grpc: true,
    },
    Member {
        type_: "RequestRedirect",
        field: "requestRedirect",
        present: |f| f.request_redirect.is_some(),
        grpc: false,
    },
    Member {
        type_: "URLRewrite",
        field: "urlRewrite",
        present: |f| f.url_rewrite.is_some(),
        grpc: false,
    },
    Member {
        type_: "ExtensionRef",
        field: "extensionRef",
        present: |f| f.extension_ref.is_some(),
        grpc: true,
    },
    Member {
        type_: "CORS",
        field: "cors",
        present: |f| f.cors.is_some(),
        grpc: false,
    },
    Member {
        type_: "ExternalAuth",
        field: "externalAuth",
        present: |f| f.external_auth.is_some(),
        grpc: false,
    },
];

/// Filter types that may appear at most once in one list (CEL `<Type> filter cannot be
/// repeated`), per route kind.
const UNIQUE_HTTP: &[&str] = &[
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestRedirect",
    "URLRewrite",
];
const UNIQUE_GRPC: &[&str] = &["RequestHeaderModifier", "ResponseHeaderModifier"];

/// A list of filters (of a rule or of a backendRef).
pub(super) fn filter_list(
    cx: &mut Cx<'_>,
    p: FieldPath<'_>,
    filters: &[HttpRouteFilter],
    kind: FilterKind,
) {
    items(cx, p, filters.len(), 0, 16);
    for (i, f) in filters.iter().enumerate() {
        filter(cx, p.index(i), f, kind);
    }
    let unique = if kind == FilterKind::Http {
        UNIQUE_HTTP
    } else {
        UNIQUE_GRPC
    };
    for (earlier, later) in repeats(filters.iter().map(|f| f.type_.as_str())) {
        let type_ = filters
            .get(later)
            .map(|f| f.type_.as_str())
            .unwrap_or_default();
        let message = || format!("{type_} filter cannot be repeated (see {p}[{earlier}])");
        if unique.contains(&type_) {
            cx.error(p.index(later).field("type"), message());
        } else if kind == FilterKind::Http && matches!(type_, "CORS" | "ExternalAuth") {
            // The CRD has no such rule for these two, but a second one can have no effect.
            cx.warning(p.index(later).field("type"), message());
        }
    }
    // CEL: "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite,
    // but not both".
    if kind == FilterKind::Http {
        let position = |t: &str| filters.iter().position(|f| f.type_.as_str() == t);
        if let (Some(redirect), Some(rewrite)) =
            (position("RequestRedirect"), position("URLRewrite"))
        {
            cx.error(
                p.index(redirect.max(rewrite)).field("type"),
                "RequestRedirect and URLRewrite filters cannot both be used",
            );
        }
    }
}

fn filter(cx: &mut Cx<'_>, p: FieldPath<'_>, f: &HttpRouteFilter, kind: FilterKind) {
    let type_ = f.type_.as_str();
    let allowed: Vec<&str> = MEMBERS
        .iter()
        .filter(|m| kind == FilterKind::Http || m.grpc)
        .map(|m| m.type_)
        .collect();
    known_enum(
        cx,
        p.field("type"),
        type_,
        allowed.contains(&type_),
        &allowed,
    );
    for m in MEMBERS {
        let present = (m.present)(f);
        if kind == FilterKind::Grpc && !m.grpc {
            if present {
                cx.warning(
                    p.field(m.field),
                    "not a field of a GRPCRoute filter; ignored",
                );
            }
            continue;
        }
        if present && type_ != m.type_ {
            cx.error(
                p.field(m.field),
                format!("must not be set when type is not {}", m.type_),
            );
        } else if !present && type_ == m.type_ {
            cx.error(
                p.field(m.field),
                format!("required when type is {}", m.type_),
            );
        }
    }
    if let Some(h) = &f.request_header_modifier {
        header_modifier(cx, p.field("requestHeaderModifier"), h);
    }
    if let Some(h) = &f.response_header_modifier {
        header_modifier(cx, p.field("responseHeaderModifier"), h);
    }
    if let Some(m) = &f.request_mirror {
        request_mirror(cx, p.field("requestMirror"), m);
    }
    if let Some(r) = &f.extension_ref {
        local_ref(cx, p.field("extensionRef"), r);
    }
    if kind == FilterKind::Grpc {
        return;
    }
    if let Some(r) = &f.request_redirect {
        request_redirect(cx, p.field("requestRedirect"), r);
    }
    if let Some(r) = &f.url_rewrite {
        let rp = p.field("urlRewrite");
        if let Some(h) = &r.hostname {
            string(cx, rp.field("hostname"), h, PRECISE_HOSTNAME);
        }
        if let Some(m) = &r.path {
            path_modifier(cx, rp.field("path"), m);
        }
    }
    if let Some(c) = &f.cors {
        cors(cx, p.field("cors"), c);
    }
    if let Some(a) = &f.external_auth {
        external_auth(cx, p.field("externalAuth"), a);
    }
}

/// The CEL rules on an HTTPRoute rule that involve its filters.
pub(super) fn rule_filter_rules(cx: &mut Cx<'_>, p: FieldPath<'_>, rule: &HttpRouteRule) {
    // CEL: "RequestRedirect filter must not be used together with backendRefs".
    if !rule.backend_refs.is_empty() {
        for (i, f) in rule.filters.iter().enumerate() {
            if f.request_redirect.is_some() {
                cx.error(
                    p.field("filters").index(i).field("requestRedirect"),
                    "must not be used together with backendRefs",
                );
            }
        }
    }
    // CEL: "When using RequestRedirect (URLRewrite) filter with path.replacePrefixMatch,
    // exactly one PathPrefix match must be specified", for the rule's filters and for
    // backendRefs' filters. The rules use `exists_one`: they apply when exactly one filter
    // (or exactly one backendRef with exactly one such filter) replaces a prefix.
    let one_prefix_match = rule.matches.len() == 1
        && rule
            .matches
            .first()
            .and_then(|m| m.path.as_ref())
            .is_some_and(|path| path.type_ == PathMatchType::PathPrefix);
    if one_prefix_match {
        return;
    }
    for which in [Rewrite::Redirect, Rewrite::UrlRewrite] {
        if let Some(i) = single(rule.filters.iter().map(|f| which.replaces_prefix(f))) {
            cx.error(
                p.field("filters")
                    .index(i)
                    .field(which.field())
                    .field("path.replacePrefixMatch"),
                REPLACE_PREFIX_MESSAGE,
            );
        }
        let per_backend = rule
            .backend_refs
            .iter()
            .map(|b| single(b.filters.iter().map(|f| which.replaces_prefix(f))));
        let backends: Vec<Option<usize>> = per_backend.collect();
        if let Some(b) = single(backends.iter().map(Option::is_some))
            && let Some(Some(i)) = backends.get(b)
        {
            cx.error(
                p.field("backendRefs")
                    .index(b)
                    .field("filters")
                    .index(*i)
                    .field(which.field())
                    .field("path.replacePrefixMatch"),
                REPLACE_PREFIX_MESSAGE,
            );
        }
    }
}

const REPLACE_PREFIX_MESSAGE: &str =
    "requires the rule to have exactly one match, with a PathPrefix path";

/// The two filters whose path modifier may replace the matched prefix.
#[derive(Clone, Copy)]
enum Rewrite {
    Redirect,
    UrlRewrite,
}

impl Rewrite {
    fn field(self) -> &'static str {
        match self {
            Self::Redirect => "requestRedirect",
            Self::UrlRewrite => "urlRewrite",
        }
    }

    /// `has(f.<member>) && has(f.<member>.path) && f.<member>.path.type == 'ReplacePrefixMatch'
    /// && has(f.<member>.path.replacePrefixMatch)`.
    fn replaces_prefix(self, f: &HttpRouteFilter) -> bool {
        let path = match self {
            Self::Redirect => f.request_redirect.as_ref().and_then(|r| r.path.as_ref()),
            Self::UrlRewrite => f.url_rewrite.as_ref().and_then(|r| r.path.as_ref()),
        };
        path.is_some_and(|m| {
            m.type_ == PathModifierType::ReplacePrefixMatch && m.replace_prefix_match.is_some()
        })
    }
}

/// The index of the only `true`, when exactly one holds (CEL `exists_one`).
fn single(flags: impl Iterator<Item = bool>) -> Option<usize> {
    let mut found = None;
    for (i, flag) in flags.enumerate() {
        if flag {
            if found.is_some() {
                return None;
            }
            found = Some(i);
        }
    }
    found
}

fn header_modifier(cx: &mut Cx<'_>, p: FieldPath<'_>, h: &HeaderModifier) {
    for (field, headers) in [("set", &h.set), ("add", &h.add)] {
        let lp = p.field(field);
        items(cx, lp, headers.len(), 0, 16);
        for (i, header) in headers.iter().enumerate() {
            string(cx, lp.index(i).field("name"), &header.name, HEADER_NAME);
            string(cx, lp.index(i).field("value"), &header.value, HEADER_VALUE);
        }
        header_name_repeats(cx, lp, ".name", headers.iter().map(|h| h.name.as_str()));
    }
    let rp = p.field("remove");
    items(cx, rp, h.remove.len(), 0, 16);
    for (i, name) in h.remove.iter().enumerate() {
        // The CRD gives `remove` items no pattern; a non-token can never name a header.
        if !names::is_header_name(name) {
            cx.warning(
                rp.index(i),
                format!(
                    "{} is not a valid header name; it matches no header",
                    shown(name)
                ),
            );
        }
    }
    header_name_repeats(cx, rp, "", h.remove.iter().map(String::as_str));
}

/// Exact repeats of a header name in one list are rejected (listMapKey / listType=set);
/// repeats that differ only in case pass the CRD and are warned about.
fn header_name_repeats<'a>(
    cx: &mut Cx<'_>,
    p: FieldPath<'_>,
    suffix: &str,
    names: impl Iterator<Item = &'a str> + Clone,
) {
    let exact = repeats(names.clone());
    for (earlier, later) in &exact {
        cx.error(
            format!("{p}[{later}]{suffix}"),
            format!("duplicate header name (same as {p}[{earlier}])"),
        );
    }
    for (earlier, later) in repeats(names.map(str::to_ascii_lowercase)) {
        if !exact.iter().any(|(_, l)| *l == later) {
            cx.warning(
                format!("{p}[{later}]{suffix}"),
                format!("same header name as {p}[{earlier}] but for case"),
            );
        }
    }
}

fn request_mirror(cx: &mut Cx<'_>, p: FieldPath<'_>, m: &RequestMirror) {
    backend_ref(cx, p.field("backendRef"), &m.backend_ref);
    if let Some(percent) = m.percent {
        range(cx, p.field("percent"), percent.into(), 0, 100);
    }
    if let Some(fraction) = &m.fraction {
        at_least(
            cx,
            p.field("fraction.numerator"),
            fraction.numerator.into(),
            0,
        );
        at_least(
            cx,
            p.field("fraction.denominator"),
            fraction.denominator.into(),
            1,
        );
        // CEL: "numerator must be less than or equal to denominator".
        if fraction.numerator > fraction.denominator {
            cx.error(
                p.field("fraction.numerator"),
                "must be less than or equal to denominator",
            );
        }
    }
    // CEL: "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter".
    if m.percent.is_some() && m.fraction.is_some() {
        cx.error(
            p.field("fraction"),
            "only one of percent or fraction may be specified",
        );
    }
}

fn request_redirect(cx: &mut Cx<'_>, p: FieldPath<'_>, r: &RequestRedirect) {
    if let Some(scheme) = &r.scheme {
        let allowed = ["http", "https"];
        known_enum(
            cx,
            p.field("scheme"),
            scheme,
            allowed.contains(&scheme.as_str()),
            &allowed,
        );
    }
    if let Some(h) = &r.hostname {
        string(cx, p.field("hostname"), h, PRECISE_HOSTNAME);
    }
    if let Some(m) = &r.path {
        path_modifier(cx, p.field("path"), m);
    }
    port(cx, p.field("port"), r.port);
    // An integer enum: like string enums, other values are kept for UnsupportedValue.
    if !matches!(r.status_code, 301 | 302) {
        cx.warning(
            p.field("statusCode"),
            format!(
                "unsupported value {}; allowed values: 301, 302",
                r.status_code
            ),
        );
    }
}

fn path_modifier(cx: &mut Cx<'_>, p: FieldPath<'_>, m: &HttpPathModifier) {
    known_enum(
        cx,
        p.field("type"),
        m.type_.as_str(),
        m.type_.is_known(),
        PathModifierType::KNOWN,
    );
    let members = [
        (
            "replaceFullPath",
            "ReplaceFullPath",
            m.replace_full_path.as_deref(),
        ),
        (
            "replacePrefixMatch",
            "ReplacePrefixMatch",
            m.replace_prefix_match.as_deref(),
        ),
    ];
    for (field, type_, value) in members {
        let fp = p.field(field);
        match value {
            Some(value) => {
                string(cx, fp, value, StringRule::max(1024));
                // CEL: "type must be '<Type>' when <field> is set".
                if m.type_.as_str() != type_ {
                    cx.error(fp, format!("must not be set when type is not {type_}"));
                }
            }
            // CEL: "<field> must be specified when type is set to '<Type>'".
            None if m.type_.as_str() == type_ => {
                cx.error(fp, format!("required when type is {type_}"))
            }
            None => {}
        }
    }
}

/// The CORS `allowMethods` enum.
const CORS_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*",
];

fn cors(cx: &mut Cx<'_>, p: FieldPath<'_>, c: &Cors) {
    let op = p.field("allowOrigins");
    items(cx, op, c.allow_origins.len(), 0, 64);
    for (i, origin) in c.allow_origins.iter().enumerate() {
        let rule = StringRule::length(1, 253);
        string(cx, op.index(i), origin, rule);
        if !origin.is_empty() && !names::is_cors_origin(origin) {
            cx.error(
                op.index(i),
                format!(
                    "must be \"*\" or scheme://host[:port], found {}",
                    shown(origin)
                ),
            );
        }
    }
    set_items(cx, op, &c.allow_origins);
    wildcard_alone(
        cx,
        op,
        &c.allow_origins,
        "AllowOrigins cannot contain \"*\" alongside other origins",
    );

    let mp = p.field("allowMethods");
    items(cx, mp, c.allow_methods.len(), 0, 9);
    for (i, method) in c.allow_methods.iter().enumerate() {
        // A plain string list in the wire model, so not kept as an unknown enum value.
        if !CORS_METHODS.contains(&method.as_str()) {
            cx.error(
                mp.index(i),
                format!(
                    "must be one of {}, found {}",
                    CORS_METHODS.join(", "),
                    shown(method)
                ),
            );
        }
    }
    set_items(cx, mp, &c.allow_methods);
    wildcard_alone(
        cx,
        mp,
        &c.allow_methods,
        "AllowMethods cannot contain \"*\" alongside other methods",
    );

    for (field, headers) in [
        ("allowHeaders", &c.allow_headers),
        ("exposeHeaders", &c.expose_headers),
    ] {
        let hp = p.field(field);
        items(cx, hp, headers.len(), 0, 64);
        for (i, h) in headers.iter().enumerate() {
            string(cx, hp.index(i), h, HEADER_NAME);
        }
        set_items(cx, hp, headers);
    }
    at_least(cx, p.field("maxAge"), c.max_age.into(), 1);
}

/// CEL `!('*' in self && self.size() > 1)`.
fn wildcard_alone(cx: &mut Cx<'_>, p: FieldPath<'_>, values: &[String], message: &str) {
    if values.len() > 1 && values.iter().any(|v| v == "*") {
        cx.error(p, message.to_owned());
    }
}

fn external_auth(cx: &mut Cx<'_>, p: FieldPath<'_>, a: &ExternalAuth) {
    known_enum(
        cx,
        p.field("protocol"),
        a.protocol.as_str(),
        a.protocol.is_known(),
        ExternalAuthProtocol::KNOWN,
    );
    backend_ref(cx, p.field("backendRef"), &a.backend_ref);
    // CEL: "grpc must be specified when protocol is set to 'GRPC'", "protocol must be 'GRPC'
    // when grpc is set", and the same pair for HTTP.
    let members = [
        ("grpc", "GRPC", a.grpc.is_some()),
        ("http", "HTTP", a.http.is_some()),
    ];
    for (field, protocol, present) in members {
        if present && a.protocol.as_str() != protocol {
            cx.error(
                p.field(field),
                format!("must not be set unless protocol is {protocol}"),
            );
        } else if !present && a.protocol.as_str() == protocol {
            cx.error(
                p.field(field),
                format!("required when protocol is {protocol}"),
            );
        }
    }
    if let Some(grpc) = &a.grpc {
        set_items(cx, p.field("grpc.allowedHeaders"), &grpc.allowed_headers);
    }
    if let Some(http) = &a.http {
        if let Some(path) = &http.path {
            string(cx, p.field("http.path"), path, PATH_CHARS);
        }
        set_items(cx, p.field("http.allowedHeaders"), &http.allowed_headers);
        set_items(
            cx,
            p.field("http.allowedResponseHeaders"),
            &http.allowed_response_headers,
        );
    }
    if let Some(body) = &a.forward_body {
        let mp = p.field("forwardBody.maxSize");
        at_least(cx, mp, body.max_size.into(), 0);
        // The Go type is uint16: the CRD accepts more, but Go clients cannot read it.
        if body.max_size > i32::from(u16::MAX) {
            cx.warning(
                mp,
                format!("larger than {}, the most the Go API type holds", u16::MAX),
            );
        }
    }
}
