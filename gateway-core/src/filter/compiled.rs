//! Filters compiled once, when the router is built: typed values that hold only what can be
//! applied, and [`compile`], the one function that decides whether a filter is valid.
//!
//! Attachment asks [`compile`] whether a rule is dropped (route status), and the rule compiler
//! asks it for the values the plan stage executes: both read the same answer. Nothing is checked
//! again per request. A filter that cannot be applied as written is kept, in its place, as
//! [`Filter::Refused`]: every request that applies it answers 500 with its cause and reason
//! (HTTPRouteFilter: a filter "MUST NOT be skipped").

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;

use super::cors::CorsPolicy;
use super::headers::{check_header, check_name};
use super::{HeaderEdits, Reason};
use crate::api::{
    ExternalAuth, ExternalAuthProtocol, HeaderModifier, HttpFilterType, HttpPathModifier,
    HttpRouteFilter, PathModifierType, RequestMirror, RequestRedirect, UrlRewrite,
};
use crate::outcome::ServerError;
use crate::request::normalize::{PathPolicy, normalize_path};

/// Why a matched rule cannot be served: the cause, and the reason for logs.
pub(crate) type Refusal = (ServerError, Reason);

/// Why [`compile`] gives no filter value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FilterProblem {
    /// Attachment drops the rule (the route reports it): an unknown filter type, or a header
    /// modifier that names one header in more than one action.
    Dropped(String),
    /// Every request to the rule answers 500, whichever backendRef it draws: a filter type the
    /// route kind does not allow.
    RefusesRule(Refusal),
    /// Requests that apply the filter answer 500 with this cause and reason.
    Refused(Refusal),
}

/// The kind of route a filter belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterRoute {
    /// An HTTPRoute: every filter type.
    Http,
    /// A GRPCRoute: header modifiers, mirrors and ExtensionRef only.
    Grpc,
}

/// Where a filter is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// In the rule's `filters`.
    Rule,
    /// In a backendRef's `filters`.
    BackendRef,
}

/// What [`compile`] needs to know of a filter's surroundings.
#[derive(Clone, Debug)]
pub(crate) struct FilterContext<'a> {
    pub(crate) route: FilterRoute,
    pub(crate) owner: Owner,
    /// Whether some match of the rule is a `PathPrefix` match (a `ReplacePrefixMatch` needs
    /// one).
    pub(crate) prefix_match: bool,
    /// The filter's backendRef (a mirror's, an auth service's) as attachment resolved it:
    /// the Service port, or why it does not resolve; `None` when it was not resolved.
    pub(crate) target: Option<Result<ServicePort, &'a str>>,
}

/// A Service port a filter sends to, resolved by attachment (ReferenceGrant included).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ServicePort {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) port: u16,
    pub(crate) app_protocol: Option<String>,
    /// Absent from the manifests, assumed to exist (`AttachOptions::assume_services`).
    pub(crate) assumed: bool,
}

/// A filter as the plan stage executes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Filter {
    /// RequestHeaderModifier.
    RequestHeaders(HeaderFilter),
    /// ResponseHeaderModifier.
    ResponseHeaders(HeaderFilter),
    /// RequestMirror.
    Mirror(MirrorFilter),
    /// RequestRedirect.
    Redirect(Redirect),
    /// URLRewrite.
    Rewrite(Rewrite),
    /// CORS.
    Cors(Box<CorsPolicy>),
    /// ExternalAuth.
    ExternalAuth(Box<AuthFilter>),
    /// A filter of this kind that cannot be applied: the stage that applies it answers 500.
    /// The kind keeps its place among the stages (a CORS filter without settings answers a
    /// preflight with 500, a RequestRedirect one answers before any backend is drawn).
    Refused(FilterKind, Refusal),
}

/// The type of a filter, without its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FilterKind {
    RequestHeaders,
    ResponseHeaders,
    Mirror,
    Redirect,
    Rewrite,
    Cors,
    ExternalAuth,
    ExtensionRef,
    Unknown,
}

/// A header modifier's edits, each name a token that is not a framing header and each value
/// without control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct HeaderFilter {
    set: Box<[(Box<str>, Box<str>)]>,
    add: Box<[(Box<str>, Box<str>)]>,
    remove: Box<[Box<str>]>,
}

/// A mirror, and whether it can fire.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MirrorFilter {
    /// Fires on `share` millionths of the draws, to `target`.
    Fires { share: u64, target: ServicePort },
    /// Never fires: an invalid share, or a backendRef that does not resolve (HTTPRequestMirror
    /// Filter.backendRef: an invalid reference "must be dropped ... and not configure this
    /// backend").
    Never,
}

/// Draws are compared with this many parts: a share is resolved to one part in a million.
pub(crate) const MIRROR_PARTS: u64 = 1_000_000;

/// A RequestRedirect filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Redirect {
    pub(crate) status: RedirectStatus,
    /// `None`: the request's scheme.
    pub(crate) scheme: Option<Scheme>,
    /// A valid hostname; `None`: the request's host.
    pub(crate) hostname: Option<Box<str>>,
    /// A port other than 0; `None`: derived from the scheme or the listener.
    pub(crate) port: Option<u16>,
    /// `None`: the request's path.
    pub(crate) path: Option<PathModifier>,
}

/// The status of a redirect: the Core codes only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RedirectStatus {
    /// 301.
    MovedPermanently,
    /// 302 (the CRD default).
    Found,
}

/// The scheme of a redirect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// A URLRewrite filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Rewrite {
    /// A valid hostname for the Host sent upstream.
    pub(crate) hostname: Option<Box<str>>,
    pub(crate) path: Option<PathModifier>,
}

/// How a redirect or rewrite derives its path; every configured path is a valid absolute path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PathModifier {
    /// `ReplaceFullPath`.
    Full(Box<str>),
    /// `ReplacePrefixMatch`: the replacement, empty or a valid absolute path.
    Prefix(Box<str>),
}

/// An ExternalAuth filter, with its auth service resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AuthFilter {
    pub(crate) backend: ServicePort,
    pub(crate) protocol: AuthProtocolConfig,
    /// `forwardBody.maxSize` when the body is forwarded.
    pub(crate) max_body: Option<usize>,
    /// `http.allowedResponseHeaders`, lower-case (all headers when empty).
    pub(crate) allowed_response_headers: Box<[String]>,
}

/// How the check is sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AuthProtocolConfig {
    Http {
        /// `http.path`: a canonical path without its trailing `/`, or empty.
        prefix: Box<str>,
        /// `http.allowedHeaders`, lower-case.
        allowed_headers: Box<[String]>,
    },
    Grpc {
        /// `grpc.allowedHeaders`, lower-case (all headers when empty).
        allowed_headers: Box<[String]>,
    },
}

// === compile ===

/// Compiles one filter: the value the plan stage executes, or why there is none.
///
/// The checks run in the order the plan stage applied them when it checked filters per
/// request, so that the first problem of a filter gives the same answer it always gave:
/// the drop cases first, then the route kind, then the filter's settings.
pub(crate) fn compile(
    f: &HttpRouteFilter,
    cx: &FilterContext<'_>,
) -> Result<Filter, FilterProblem> {
    // Attachment reads every filter of an HTTPRoute rule, but only the rule's own filters of a
    // GRPCRoute rule, for these.
    if cx.route == FilterRoute::Http || cx.owner == Owner::Rule {
        if let HttpFilterType::Unknown(t) = &f.type_ {
            return Err(FilterProblem::Dropped(format!(
                "unsupported filter type {t:?}"
            )));
        }
        // Gateway API HTTPHeaderFilter: "Input: ... Config: set/add/remove ... names must be
        // unique across actions".
        for modifier in [&f.request_header_modifier, &f.response_header_modifier]
            .into_iter()
            .flatten()
        {
            if let Some(name) = repeated_name(modifier) {
                return Err(FilterProblem::Dropped(format!(
                    "header {name:?} is named in more than one action of a {} filter",
                    f.type_
                )));
            }
        }
    }
    // GRPCRouteFilter.type: "+kubebuilder:validation:Enum=ResponseHeaderModifier;
    // RequestHeaderModifier;RequestMirror;ExtensionRef".
    if cx.route == FilterRoute::Grpc
        && !matches!(
            f.type_,
            HttpFilterType::RequestHeaderModifier
                | HttpFilterType::ResponseHeaderModifier
                | HttpFilterType::RequestMirror
                | HttpFilterType::ExtensionRef
        )
    {
        return Err(FilterProblem::RefusesRule((
            ServerError::UnsupportedFilter,
            Cow::Owned(format!(
                "filter type {} is not supported on a GRPCRoute",
                f.type_
            )),
        )));
    }
    let invalid = |why: Reason| FilterProblem::Refused((ServerError::InvalidFilter, why));
    let without = |what: &'static str| invalid(Cow::Borrowed(what));
    Ok(match &f.type_ {
        HttpFilterType::RequestHeaderModifier => Filter::RequestHeaders(header_filter(
            f.request_header_modifier.as_ref(),
            "RequestHeaderModifier",
        )?),
        HttpFilterType::ResponseHeaderModifier => Filter::ResponseHeaders(header_filter(
            f.response_header_modifier.as_ref(),
            "ResponseHeaderModifier",
        )?),
        HttpFilterType::RequestMirror => {
            let m = (f.request_mirror.as_ref())
                .ok_or_else(|| without("RequestMirror filter without settings"))?;
            Filter::Mirror(mirror(m, cx))
        }
        HttpFilterType::RequestRedirect => {
            let r = (f.request_redirect.as_ref())
                .ok_or_else(|| without("RequestRedirect filter without settings"))?;
            Filter::Redirect(redirect(r, cx).map_err(invalid)?)
        }
        HttpFilterType::UrlRewrite => {
            let r = (f.url_rewrite.as_ref())
                .ok_or_else(|| without("URLRewrite filter without settings"))?;
            Filter::Rewrite(rewrite(r, cx).map_err(invalid)?)
        }
        HttpFilterType::Cors => {
            let c = (f.cors.as_ref()).ok_or_else(|| without("CORS filter without settings"))?;
            Filter::Cors(Box::new(CorsPolicy::compile(c)))
        }
        HttpFilterType::ExternalAuth => {
            let a = (f.external_auth.as_ref())
                .ok_or_else(|| without("ExternalAuth filter without settings"))?;
            Filter::ExternalAuth(Box::new(external_auth(a, cx)?))
        }
        // Gateway API ExtensionRef: "If the referent cannot be found, ... the rule MUST answer
        // 500": we know no extension.
        HttpFilterType::ExtensionRef => {
            return Err(FilterProblem::Refused((
                ServerError::UnsupportedFilter,
                Cow::Borrowed("ExtensionRef filters are not supported"),
            )));
        }
        other => {
            return Err(FilterProblem::Refused((
                ServerError::UnsupportedFilter,
                Cow::Owned(format!("filter type {other} cannot be applied here")),
            )));
        }
    })
}

/// A name a header modifier lists in more than one of its actions (compared lower-case).
fn repeated_name(modifier: &HeaderModifier) -> Option<String> {
    let mut names: Vec<String> = (modifier.set.iter().map(|h| h.name.to_ascii_lowercase()))
        .chain(modifier.add.iter().map(|h| h.name.to_ascii_lowercase()))
        .chain(modifier.remove.iter().map(|n| n.to_ascii_lowercase()))
        .collect();
    names.sort();
    names
        .windows(2)
        .find(|w| w.first() == w.get(1))
        .and_then(|w| w.first().cloned())
}

impl Filter {
    /// A filter that cannot be applied: requests that apply it answer `refusal`.
    pub(crate) fn refused(f: &HttpRouteFilter, refusal: Refusal) -> Self {
        Self::Refused(FilterKind::of(&f.type_), refusal)
    }

    /// A CORS filter: its policy, or why it answers 500.
    pub(crate) fn cors(&self) -> Option<Result<&CorsPolicy, &Refusal>> {
        match self {
            Self::Cors(c) => Some(Ok(c)),
            Self::Refused(FilterKind::Cors, r) => Some(Err(r)),
            _ => None,
        }
    }

    /// A RequestRedirect filter: the redirect, or why it answers 500.
    pub(crate) fn redirect(&self) -> Option<Result<&Redirect, &Refusal>> {
        match self {
            Self::Redirect(r) => Some(Ok(r)),
            Self::Refused(FilterKind::Redirect, r) => Some(Err(r)),
            _ => None,
        }
    }

    /// An ExternalAuth filter: its settings, or why it answers 500.
    pub(crate) fn external_auth(&self) -> Option<Result<&AuthFilter, &Refusal>> {
        match self {
            Self::ExternalAuth(a) => Some(Ok(a)),
            Self::Refused(FilterKind::ExternalAuth, r) => Some(Err(r)),
            _ => None,
        }
    }

    /// Whether the filter replaces the prefix its rule matched (`ReplacePrefixMatch`).
    pub(crate) fn replaces_prefix(&self) -> bool {
        let path = match self {
            Self::Redirect(r) => r.path.as_ref(),
            Self::Rewrite(r) => r.path.as_ref(),
            _ => None,
        };
        matches!(path, Some(PathModifier::Prefix(_)))
    }
}

impl FilterKind {
    /// The kind of a filter type.
    pub(crate) fn of(type_: &HttpFilterType) -> Self {
        match type_ {
            HttpFilterType::RequestHeaderModifier => Self::RequestHeaders,
            HttpFilterType::ResponseHeaderModifier => Self::ResponseHeaders,
            HttpFilterType::RequestMirror => Self::Mirror,
            HttpFilterType::RequestRedirect => Self::Redirect,
            HttpFilterType::UrlRewrite => Self::Rewrite,
            HttpFilterType::Cors => Self::Cors,
            HttpFilterType::ExternalAuth => Self::ExternalAuth,
            HttpFilterType::ExtensionRef => Self::ExtensionRef,
            HttpFilterType::Unknown(_) => Self::Unknown,
        }
    }
}

// === header modifiers ===

impl HeaderFilter {
    /// Checks every name and value: set, then add, then remove, the first problem wins.
    fn compile(m: &HeaderModifier) -> Result<Self, String> {
        let header = |h: &crate::api::HttpHeader| {
            check_header(&h.name, &h.value)
                .map(|()| (h.name.as_str().into(), h.value.as_str().into()))
        };
        Ok(Self {
            set: m.set.iter().map(header).collect::<Result<_, _>>()?,
            add: m.add.iter().map(header).collect::<Result<_, _>>()?,
            remove: (m.remove.iter())
                .map(|name| check_name(name).map(|()| name.as_str().into()))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Composes the modifier after the edits collected so far (see [`HeaderEdits`]).
    pub(crate) fn apply(&self, edits: &mut HeaderEdits) {
        edits.compose(&self.set, &self.add, &self.remove);
    }
}

// === mirrors ===

/// HTTPRequestMirrorFilter: "Only one of Fraction or Percent may be specified. If neither field
/// is specified, 100% of requests will be mirrored."
fn mirror(m: &RequestMirror, cx: &FilterContext<'_>) -> MirrorFilter {
    let share = match (m.percent, &m.fraction) {
        (None, None) => Some(MIRROR_PARTS),
        (Some(p), None) => u64::try_from(p)
            .ok()
            .filter(|p| *p <= 100)
            .map(|p| p * (MIRROR_PARTS / 100)),
        (None, Some(f)) => u64::try_from(f.numerator).ok().and_then(|n| {
            let d = u64::try_from(f.denominator).ok().filter(|d| *d > 0)?;
            Some((n.saturating_mul(MIRROR_PARTS) / d).min(MIRROR_PARTS))
        }),
        (Some(_), Some(_)) => None,
    };
    match (share, &cx.target) {
        (Some(share), Some(Ok(target))) => MirrorFilter::Fires {
            share,
            target: target.clone(),
        },
        _ => MirrorFilter::Never,
    }
}

// === redirects and rewrites ===

/// Only 301 and 302 (the Core codes; CRD default 302) are answered; any other configured status
/// makes the request answer 500, as an unsupported value must not be guessed at.
fn redirect(r: &RequestRedirect, cx: &FilterContext<'_>) -> Result<Redirect, Reason> {
    let status = match r.status_code {
        301 => RedirectStatus::MovedPermanently,
        302 => RedirectStatus::Found,
        other => {
            return Err(Cow::Owned(format!(
                "redirect status {other} is not supported (301 or 302)"
            )));
        }
    };
    let scheme = match r.scheme.as_deref() {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("http") => Some(Scheme::Http),
        Some(s) if s.eq_ignore_ascii_case("https") => Some(Scheme::Https),
        Some(s) => {
            return Err(Cow::Owned(format!(
                "redirect scheme {s:?} is not supported (http or https)"
            )));
        }
    };
    let hostname = r.hostname.as_deref().map(hostname).transpose()?;
    let port = r
        .port
        .map(|p| {
            u16::try_from(p)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| Cow::Owned(format!("redirect port {p} is not a port")))
        })
        .transpose()?;
    let path = r.path.as_ref().map(|m| path_modifier(m, cx)).transpose()?;
    Ok(Redirect {
        status,
        scheme,
        hostname,
        port,
        path,
    })
}

fn rewrite(r: &UrlRewrite, cx: &FilterContext<'_>) -> Result<Rewrite, Reason> {
    Ok(Rewrite {
        hostname: r.hostname.as_deref().map(hostname).transpose()?,
        path: r.path.as_ref().map(|m| path_modifier(m, cx)).transpose()?,
    })
}

fn path_modifier(m: &HttpPathModifier, cx: &FilterContext<'_>) -> Result<PathModifier, Reason> {
    match &m.type_ {
        PathModifierType::ReplaceFullPath => {
            let path = (m.replace_full_path.as_deref())
                .ok_or("ReplaceFullPath without replaceFullPath")?;
            check_path(path)?;
            Ok(PathModifier::Full(path.into()))
        }
        PathModifierType::ReplacePrefixMatch => {
            let replacement = (m.replace_prefix_match.as_deref())
                .ok_or("ReplacePrefixMatch without replacePrefixMatch")?;
            if !replacement.is_empty() {
                check_path(replacement)?;
            }
            // HTTPPathModifier.replacePrefixMatch: "ReplacePrefixMatch is only compatible with
            // a `PathPrefix` HTTPRouteMatch." (which match selected a request is known per
            // request: a rule with another match answers 500 on it)
            if !cx.prefix_match {
                return Err(Cow::Borrowed(
                    "ReplacePrefixMatch needs the rule to match with a PathPrefix",
                ));
            }
            Ok(PathModifier::Prefix(replacement.into()))
        }
        other => Err(Cow::Owned(format!(
            "unsupported path modifier type {other}"
        ))),
    }
}

/// A configured path: starts with `/`, only RFC 3986 `pchar`s and `/`, every `%` followed by
/// two hex digits (no space, `?`, `#`, control or non-ASCII bytes, which would change the
/// meaning of the request line or the `location`).
fn check_path(path: &str) -> Result<(), Reason> {
    let bytes = path.as_bytes();
    let ok = bytes.first() == Some(&b'/')
        && bytes.iter().enumerate().all(|(i, &b)| match b {
            b'%' => bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            b'/' | b':' | b'@' | b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'('
            | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
            _ => b.is_ascii_alphanumeric(),
        });
    if ok {
        Ok(())
    } else {
        Err(Cow::Owned(format!(
            "path {path:?} is not a valid absolute path"
        )))
    }
}

/// A configured hostname (`PreciseHostname`): letters, digits, `-` and `.`, at most 253 bytes.
fn hostname(hostname: &str) -> Result<Box<str>, Reason> {
    let ok = !hostname.is_empty()
        && hostname.len() <= 253
        && hostname
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !hostname.starts_with('.')
        && !hostname.contains("..");
    if ok {
        Ok(hostname.into())
    } else {
        Err(Cow::Owned(format!(
            "hostname {hostname:?} is not a valid hostname"
        )))
    }
}

// === external auth ===

/// The auth service first (it must resolve), then the settings, in the order the check is
/// built.
fn external_auth(a: &ExternalAuth, cx: &FilterContext<'_>) -> Result<AuthFilter, FilterProblem> {
    let unresolved =
        |why: Reason| FilterProblem::Refused((ServerError::AuthBackendUnresolved, why));
    let backend = match &cx.target {
        Some(Ok(service)) => service.clone(),
        Some(Err(message)) => {
            return Err(unresolved(Cow::Owned(format!(
                "ExternalAuth backendRef: {message}"
            ))));
        }
        None => {
            return Err(unresolved(Cow::Borrowed(
                "ExternalAuth backendRef was not resolved",
            )));
        }
    };
    auth_settings(a, backend)
        .map_err(|why| FilterProblem::Refused((ServerError::InvalidFilter, why)))
}

fn auth_settings(a: &ExternalAuth, backend: ServicePort) -> Result<AuthFilter, Reason> {
    let max_body = match &a.forward_body {
        Some(b) if b.max_size > 0 => Some(
            usize::try_from(b.max_size)
                .map_err(|_| Cow::Borrowed("forwardBody.maxSize is out of range"))?,
        ),
        Some(b) if b.max_size < 0 => {
            return Err(Cow::Borrowed("forwardBody.maxSize is negative"));
        }
        _ => None,
    };
    let protocol = match &a.protocol {
        ExternalAuthProtocol::Http => {
            let http = a
                .http
                .as_ref()
                .ok_or("ExternalAuth protocol HTTP without http settings")?;
            AuthProtocolConfig::Http {
                prefix: sanitize_prefix(http.path.as_deref().unwrap_or(""))?.into(),
                allowed_headers: lower(&http.allowed_headers),
            }
        }
        ExternalAuthProtocol::Grpc => AuthProtocolConfig::Grpc {
            allowed_headers: a
                .grpc
                .as_ref()
                .map(|g| lower(&g.allowed_headers))
                .unwrap_or_default(),
        },
        other => {
            return Err(Cow::Owned(format!(
                "ExternalAuth protocol {other} is not supported"
            )));
        }
    };
    Ok(AuthFilter {
        backend,
        protocol,
        max_body,
        allowed_response_headers: a
            .http
            .as_ref()
            .map(|h| lower(&h.allowed_response_headers))
            .unwrap_or_default(),
    })
}

fn lower(names: &[String]) -> Box<[String]> {
    names.iter().map(|n| n.to_ascii_lowercase()).collect()
}

/// The `http.path` prefix without its trailing `/`; it must be a canonical path itself, so
/// that no dot segment or encoded separator in it can be resolved by the auth server.
fn sanitize_prefix(prefix: &str) -> Result<&str, Reason> {
    if prefix.is_empty() {
        return Ok("");
    }
    let bad = || {
        Cow::Owned(format!(
            "ExternalAuth http.path {prefix:?} is not a canonical path"
        ))
    };
    if !prefix.starts_with('/') || prefix.contains(['?', '#', ';']) {
        return Err(bad());
    }
    match normalize_path(prefix, &PathPolicy::secure()) {
        Ok(Cow::Borrowed(p)) if p == prefix => Ok(prefix.strip_suffix('/').unwrap_or(prefix)),
        _ => Err(bad()),
    }
}

/// The header filter of a modifier `kind` (`RequestHeaderModifier` or
/// `ResponseHeaderModifier`), or why it cannot be applied.
fn header_filter(
    m: Option<&HeaderModifier>,
    kind: &'static str,
) -> Result<HeaderFilter, FilterProblem> {
    let invalid = |why: String| FilterProblem::Refused((ServerError::InvalidFilter, why.into()));
    let m = m.ok_or_else(|| invalid(format!("{kind} filter without settings")))?;
    HeaderFilter::compile(m).map_err(|e| invalid(format!("{kind}: {e}")))
}

#[cfg(test)]
mod tests;
