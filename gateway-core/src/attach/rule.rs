//! Rules compiled for the stages above: what the plan stage reads of a matched rule, with every
//! reference it holds resolved here, once, by the rules of attachment.

use super::{FilterRefs, RouteState};
use crate::api::{
    GrpcRouteRule, HttpBackendRef, HttpRouteFilter, HttpRouteRule, L4RouteRule, PathMatchType,
    PathModifierType, SessionPersistence,
};
use crate::filter::{RuleSettings, external_auth_filters};

/// What the filter stage reads of a matched rule. Rules with equal specs share one: every rule
/// without filters, timeouts, retry or session persistence shares the empty spec of its kind.
#[derive(Debug, PartialEq)]
pub(crate) enum RuleSpec {
    /// An HTTPRoute rule.
    Http(RuleFilters),
    /// A GRPCRoute rule: it allows fewer filter types, and has no timeouts or retry.
    Grpc(RuleFilters),
    /// A TLSRoute, TCPRoute or UDPRoute rule: no filter stage.
    L4,
}

/// The filters and per-request settings of an HTTPRoute or GRPCRoute rule.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RuleFilters {
    /// The rule's own filters, in order.
    pub(crate) filters: Box<[HttpRouteFilter]>,
    /// Per backendRef (by index), its filters; empty when no backendRef has any.
    pub(crate) backend_filters: Box<[Box<[HttpRouteFilter]>]>,
    /// The rule's timeouts and retry policy, parsed once here rather than per request.
    pub(crate) settings: crate::filter::RuleSettings,
    pub(crate) session_persistence: Option<SessionPersistence>,
    /// Per match (by index), the `PathPrefix` value a `ReplacePrefixMatch` replaces (`None`
    /// for other path matches); empty when no filter replaces a prefix.
    pub(crate) prefixes: Box<[Option<Box<str>>]>,
    /// The backendRefs of the rule's filters (ExternalAuth services, mirrors), resolved in
    /// attachment (ReferenceGrant included).
    pub(crate) refs: FilterRefs,
}

/// A rule as written, borrowed from the configuration.
#[derive(Clone, Copy)]
pub(crate) enum WireRule<'w> {
    Http(&'w HttpRouteRule),
    Grpc(&'w GrpcRouteRule),
    L4(&'w L4RouteRule),
}

impl<'w> WireRule<'w> {
    pub(crate) fn name(self) -> Option<&'w str> {
        match self {
            Self::Http(r) => r.name.as_deref(),
            Self::Grpc(r) => r.name.as_deref(),
            Self::L4(r) => r.name.as_deref(),
        }
    }

    /// The weight of backendRef `index` (CRD default 1).
    pub(crate) fn weight(self, index: usize) -> i32 {
        match self {
            Self::Http(r) => r.backend_refs.get(index).map_or(1, |b| b.weight),
            Self::Grpc(r) => r.backend_refs.get(index).map_or(1, |b| b.weight),
            Self::L4(r) => r.backend_refs.get(index).map_or(1, |b| b.weight),
        }
    }
}

/// What the filter stage reads of `rule`, rule `index` of the attached route `state`.
pub(crate) fn rule_spec(state: &RouteState, index: usize, rule: WireRule<'_>) -> RuleSpec {
    let refs = state.filter_refs.get(index).cloned().unwrap_or_default();
    match rule {
        WireRule::Http(r) => {
            let mut filters = RuleFilters {
                filters: r.filters.clone().into(),
                backend_filters: backend_filters(&r.backend_refs),
                settings: RuleSettings::parse(r.timeouts.as_ref(), r.retry.as_ref()),
                session_persistence: r.session_persistence.clone(),
                prefixes: Box::default(),
                refs,
            };
            let all = || {
                filters
                    .filters
                    .iter()
                    .chain(filters.backend_filters.iter().flatten())
            };
            if all().any(replaces_prefix) {
                filters.prefixes = r
                    .matches
                    .iter()
                    .map(|m| match &m.path {
                        // The CRD default of a match without a path is PathPrefix `/`.
                        None => Some("/".into()),
                        Some(p) if p.type_ == PathMatchType::PathPrefix => {
                            Some(p.value.as_str().into())
                        }
                        Some(_) => None,
                    })
                    .collect();
            }
            RuleSpec::Http(filters)
        }
        WireRule::Grpc(r) => RuleSpec::Grpc(RuleFilters {
            filters: r.filters.clone().into(),
            backend_filters: backend_filters(&r.backend_refs),
            session_persistence: r.session_persistence.clone(),
            refs,
            ..RuleFilters::default()
        }),
        WireRule::L4(_) => RuleSpec::L4,
    }
}

/// The filters of each backendRef; empty when none has any.
fn backend_filters(refs: &[HttpBackendRef]) -> Box<[Box<[HttpRouteFilter]>]> {
    if refs.iter().all(|b| b.filters.is_empty()) {
        return Box::default();
    }
    refs.iter().map(|b| b.filters.clone().into()).collect()
}

/// Whether a URLRewrite or RequestRedirect filter replaces the matched prefix
/// (HTTPPathModifier `ReplacePrefixMatch`).
fn replaces_prefix(f: &HttpRouteFilter) -> bool {
    let rewrite = f.url_rewrite.as_ref().and_then(|r| r.path.as_ref());
    let redirect = f.request_redirect.as_ref().and_then(|r| r.path.as_ref());
    rewrite
        .into_iter()
        .chain(redirect)
        .any(|p| p.type_ == PathModifierType::ReplacePrefixMatch)
}

/// Gateway API ExtensionRef: "If the referent cannot be found, ... the rule MUST answer 500"
/// — we know no extension, so every ExtensionRef filter makes its rule answer 500 rather
/// than silently skip it.
pub(crate) fn unsupported_extension(filters: &[crate::api::HttpRouteFilter]) -> Option<String> {
    filters.iter().find_map(|f| {
        f.extension_ref.as_ref().map(|e| {
            format!(
                "ExtensionRef filter {}/{} {:?} is not supported",
                e.group, e.kind, e.name
            )
        })
    })
}

/// [`external_auth_filters`] of a compiled rule.
pub(crate) fn compiled_auth_filters(
    rule: &RuleFilters,
) -> impl Iterator<Item = (Option<usize>, &HttpRouteFilter)> {
    external_auth_filters(&rule.filters, rule.backend_filters.iter().map(|f| &**f))
}
