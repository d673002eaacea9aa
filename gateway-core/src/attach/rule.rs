//! Rules compiled for the stages above: what the plan stage reads of a matched rule, with every
//! reference it holds resolved here, once, by the rules of attachment.

use super::{BackendState, RouteState};
use crate::api::{
    GrpcRouteRule, HttpBackendRef, HttpFilterType, HttpRouteFilter, HttpRouteRule, L4RouteRule,
    PathMatchType,
};
use crate::filter::{
    Filter, FilterContext, FilterProblem, FilterRoute, Owner, Refusal, RuleSettings, ServicePort,
    compile,
};
use crate::outcome::ServerError;

/// What the filter stage reads of a matched rule. Rules with equal specs share one: every rule
/// without filters, timeouts or retry shares the empty spec of its kind.
#[derive(Debug, Hash, PartialEq, Eq)]
pub(crate) enum RuleSpec {
    /// An HTTPRoute rule.
    Http(RuleFilters),
    /// A GRPCRoute rule: it allows fewer filter types, and has no timeouts or retry.
    Grpc(RuleFilters),
    /// A TLSRoute, TCPRoute or UDPRoute rule: no filter stage.
    L4,
}

/// The filters and per-request settings of an HTTPRoute or GRPCRoute rule, compiled once
/// ([`crate::filter::compile`]): the plan stage executes them without checking them again.
#[derive(Debug, Default, Hash, PartialEq, Eq)]
pub(crate) struct RuleFilters {
    /// The rule's own filters, in order.
    pub(crate) filters: Box<[Filter]>,
    /// Per backendRef (by index), its filters; empty when no backendRef has any.
    pub(crate) backend_filters: Box<[Box<[Filter]>]>,
    /// Set when every request to the rule answers 500 before any stage (a filter type the
    /// route kind does not allow, in the rule's or any backendRef's filters).
    pub(crate) refused: Option<Refusal>,
    /// The rule's timeouts and retry policy, parsed once here rather than per request.
    pub(crate) settings: RuleSettings,
    /// Per match (by index), the `PathPrefix` value a `ReplacePrefixMatch` replaces (`None`
    /// for other path matches); empty when no filter replaces a prefix.
    pub(crate) prefixes: Box<[Option<Box<str>>]>,
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
    let refs = state.filter_refs.get(index);
    let mut compiler = FilterCompiler {
        route: FilterRoute::Http,
        prefix_match: false,
        auth: refs.map_or(&[][..], |r| &r.auth).iter(),
        mirrors: refs.map_or(&[][..], |r| &r.mirrors).iter(),
        refused: None,
    };
    match rule {
        WireRule::Http(r) => {
            let prefixes: Box<[Option<Box<str>>]> = r
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
            compiler.prefix_match = prefixes.iter().any(Option::is_some);
            let filters = compiler.list(&r.filters, Owner::Rule);
            let backend_filters = compiler.backend_lists(&r.backend_refs);
            let replaces_prefix = (filters.iter())
                .chain(backend_filters.iter().flatten())
                .any(Filter::replaces_prefix);
            RuleSpec::Http(RuleFilters {
                filters,
                backend_filters,
                refused: compiler.refused,
                settings: RuleSettings::parse(r.timeouts.as_ref(), r.retry.as_ref()),
                prefixes: if replaces_prefix {
                    prefixes
                } else {
                    Box::default()
                },
            })
        }
        WireRule::Grpc(r) => {
            compiler.route = FilterRoute::Grpc;
            let filters = compiler.list(&r.filters, Owner::Rule);
            let backend_filters = compiler.backend_lists(&r.backend_refs);
            RuleSpec::Grpc(RuleFilters {
                filters,
                backend_filters,
                refused: compiler.refused,
                ..RuleFilters::default()
            })
        }
        WireRule::L4(_) => RuleSpec::L4,
    }
}

/// Compiles a rule's filters in the order attachment resolved their backendRefs (the rule's
/// filters, then each backendRef's), handing each its own.
struct FilterCompiler<'s> {
    route: FilterRoute,
    prefix_match: bool,
    /// Resolved ExternalAuth services, one per ExternalAuth filter with settings.
    auth: std::slice::Iter<'s, BackendState>,
    /// Resolved mirrors, one per filter with `requestMirror` settings.
    mirrors: std::slice::Iter<'s, BackendState>,
    /// The first refusal of the whole rule.
    refused: Option<Refusal>,
}

impl FilterCompiler<'_> {
    fn list(&mut self, filters: &[HttpRouteFilter], owner: Owner) -> Box<[Filter]> {
        filters.iter().map(|f| self.one(f, owner)).collect()
    }

    /// The filters of each backendRef; empty when none has any.
    fn backend_lists(&mut self, refs: &[HttpBackendRef]) -> Box<[Box<[Filter]>]> {
        if refs.iter().all(|b| b.filters.is_empty()) {
            return Box::default();
        }
        refs.iter()
            .map(|b| self.list(&b.filters, Owner::BackendRef))
            .collect()
    }

    fn one(&mut self, f: &HttpRouteFilter, owner: Owner) -> Filter {
        // Attachment resolves these by the same tests (`mirror_refs`, `auth_refs`).
        let mirror = if f.request_mirror.is_some() {
            self.mirrors.next()
        } else {
            None
        };
        let auth = if f.type_ == HttpFilterType::ExternalAuth && f.external_auth.is_some() {
            self.auth.next()
        } else {
            None
        };
        let target = match f.type_ {
            HttpFilterType::RequestMirror => mirror,
            HttpFilterType::ExternalAuth => auth,
            _ => None,
        };
        let cx = FilterContext {
            route: self.route,
            owner,
            prefix_match: self.prefix_match,
            target: target.map(|t| match t {
                BackendState::Service {
                    namespace,
                    name,
                    port,
                    app_protocol,
                    assumed,
                } => Ok(ServicePort {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    port: *port,
                    app_protocol: app_protocol.clone(),
                    assumed: *assumed,
                }),
                BackendState::Invalid { message, .. } => Err(message.as_str()),
            }),
        };
        match compile(f, &cx) {
            Ok(filter) => filter,
            Err(FilterProblem::RefusesRule(refusal)) => {
                self.refused.get_or_insert_with(|| refusal.clone());
                Filter::refused(f, refusal)
            }
            Err(FilterProblem::Refused(refusal)) => Filter::refused(f, refusal),
            // Attachment drops such a rule: it is never compiled.
            Err(FilterProblem::Dropped(why)) => {
                Filter::refused(f, (ServerError::InvalidFilter, why.into()))
            }
        }
    }
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
