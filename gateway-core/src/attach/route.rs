//! Route attachment (parentRefs × listeners), rule and backend usability, route status, and
//! BackendTLSPolicy status.

use super::conditions::Conditions;
use super::hostname::intersect;
use super::mesh::{MeshTable, is_service_parent};
use super::refs::{Grants, Services};
use super::status::{
    GatewayStatus, ObjectStatus, PolicyAncestorStatus, PolicyStatus, RouteParentStatus,
    RouteStatus, Status,
};
use super::{
    AttachOptions, Attached, BackendState, FilterRefs, GatewayState, ListenerSetState, RouteKind,
    RouteState, selector_matches,
};
use crate::api::{
    BackendObjectReference, FromNamespaces, GATEWAY_GROUP, GatewayDefaultScope,
    GatewayDefaultScopeRef, HttpRouteFilter, HttpRouteRule, ParentReference, PathMatchType,
    Resource, ResourceId, Snapshot, StringMatchType, X_GATEWAY_GROUP,
};
use crate::filter::{FilterContext, FilterProblem, FilterRoute, Owner, compile};

/// The parts of any route kind that attachment reads.
struct RouteView<'a> {
    kind: RouteKind,
    meta: &'a crate::api::ObjectMeta,
    parent_refs: &'a [ParentReference],
    use_default: bool,
    hostnames: &'a [String],
    /// Per rule: backend refs.
    rule_backends: Vec<Vec<&'a BackendObjectReference>>,
    /// Per rule: `Some(reason)` when the rule cannot be served.
    dropped: Vec<Option<String>>,
    /// Per rule, the references its filters hold: ExternalAuth services, then mirrors.
    filter_refs: Vec<WireFilterRefs<'a>>,
}

/// The backendRefs of a rule's filters, as written.
#[derive(Default)]
struct WireFilterRefs<'a> {
    auth: Vec<&'a BackendObjectReference>,
    mirrors: Vec<&'a BackendObjectReference>,
}

fn view(resource: &Resource) -> Option<RouteView<'_>> {
    Some(match resource {
        Resource::HttpRoute(r) => RouteView {
            kind: RouteKind::Http,
            meta: &r.metadata,
            parent_refs: &r.spec.common.parent_refs,
            use_default: r.spec.common.use_default_gateways == Some(GatewayDefaultScopeRef::All),
            hostnames: &r.spec.hostnames,
            rule_backends: r
                .spec
                .rules
                .iter()
                .map(|rule| rule.backend_refs.iter().map(|b| &b.backend).collect())
                .collect(),
            dropped: r.spec.rules.iter().map(http_rule_problem).collect(),
            filter_refs: r
                .spec
                .rules
                .iter()
                .map(|rule| {
                    let per_backend = rule.backend_refs.iter().map(|b| &*b.filters);
                    WireFilterRefs {
                        auth: auth_refs(rule).collect(),
                        mirrors: mirror_refs(&rule.filters, per_backend).collect(),
                    }
                })
                .collect(),
        },
        Resource::GrpcRoute(r) => RouteView {
            kind: RouteKind::Grpc,
            meta: &r.metadata,
            parent_refs: &r.spec.common.parent_refs,
            use_default: r.spec.common.use_default_gateways == Some(GatewayDefaultScopeRef::All),
            hostnames: &r.spec.hostnames,
            rule_backends: r
                .spec
                .rules
                .iter()
                .map(|rule| rule.backend_refs.iter().map(|b| &b.backend).collect())
                .collect(),
            dropped: r
                .spec
                .rules
                .iter()
                .map(|rule| {
                    filters_dropped(&rule.filters, FilterRoute::Grpc, Owner::Rule).or_else(|| {
                        rule.matches.iter().find_map(|m| {
                            let method = m.method.as_ref()?;
                            if !method.type_.is_known() {
                                return Some(format!(
                                    "unsupported method match type {:?}",
                                    method.type_.as_str()
                                ));
                            }
                            if method.type_ == StringMatchType::RegularExpression {
                                for value in [&method.service, &method.method].into_iter().flatten()
                                {
                                    if let Err(e) = crate::api::compile_regex(value) {
                                        return Some(format!(
                                            "invalid regular expression {value:?}: {e}"
                                        ));
                                    }
                                }
                            }
                            headers_problem(&m.headers)
                        })
                    })
                })
                .collect(),
            filter_refs: r
                .spec
                .rules
                .iter()
                .map(|rule| {
                    let per_backend = rule.backend_refs.iter().map(|b| &*b.filters);
                    WireFilterRefs {
                        auth: Vec::new(),
                        mirrors: mirror_refs(&rule.filters, per_backend).collect(),
                    }
                })
                .collect(),
        },
        Resource::TlsRoute(r) | Resource::TcpRoute(r) | Resource::UdpRoute(r) => RouteView {
            kind: match resource {
                Resource::TlsRoute(_) => RouteKind::Tls,
                Resource::TcpRoute(_) => RouteKind::Tcp,
                _ => RouteKind::Udp,
            },
            meta: &r.metadata,
            parent_refs: &r.spec.common.parent_refs,
            use_default: r.spec.common.use_default_gateways == Some(GatewayDefaultScopeRef::All),
            hostnames: &r.spec.hostnames,
            rule_backends: r
                .spec
                .rules
                .iter()
                .map(|rule| rule.backend_refs.iter().map(|b| &b.backend).collect())
                .collect(),
            dropped: r.spec.rules.iter().map(|_| None).collect(),
            filter_refs: Vec::new(),
        },
        _ => return None,
    })
}

/// The RequestMirror backendRefs of a rule: its own filters, then each backendRef's, in order
/// (the order the plan stage counts mirrors in).
fn mirror_refs<'a>(
    filters: &'a [HttpRouteFilter],
    backend_filters: impl Iterator<Item = &'a [HttpRouteFilter]>,
) -> impl Iterator<Item = &'a BackendObjectReference> {
    filters
        .iter()
        .chain(backend_filters.flatten())
        .filter_map(|f| f.request_mirror.as_ref().map(|m| &m.backend_ref))
}

/// The ExternalAuth services of an HTTPRoute rule (its own filters and its backendRefs'): they
/// need a ReferenceGrant like any backendRef, and one that does not resolve makes the route's
/// ResolvedRefs false (requests to the rule then answer 500, see `authz`).
fn auth_refs(rule: &HttpRouteRule) -> impl Iterator<Item = &BackendObjectReference> {
    let backend_filters = rule.backend_refs.iter().map(|b| &*b.filters);
    crate::filter::external_auth_filters(&rule.filters, backend_filters)
        .filter_map(|(_, f)| f.external_auth.as_ref().map(|a| &a.backend_ref))
}

/// Why an HTTPRoute rule cannot be served (it is then dropped and the route reports
/// `PartiallyInvalid`), or `None`.
fn http_rule_problem(rule: &HttpRouteRule) -> Option<String> {
    for m in &rule.matches {
        if let Some(path) = &m.path {
            match &path.type_ {
                PathMatchType::RegularExpression => {
                    if let Err(e) = crate::api::compile_regex(&path.value) {
                        return Some(format!("invalid regular expression {:?}: {e}", path.value));
                    }
                }
                PathMatchType::Unknown(t) => {
                    return Some(format!("unsupported path match type {t:?}"));
                }
                _ => {}
            }
        }
        if let Some(p) = headers_problem(&m.headers) {
            return Some(p);
        }
        for q in &m.query_params {
            if let Some(p) = string_match_problem(&q.type_, &q.value) {
                return Some(p);
            }
        }
        if let Some(method) = &m.method
            && !method.is_known()
        {
            return Some(format!("unsupported method {:?}", method.as_str()));
        }
    }
    filters_dropped(&rule.filters, FilterRoute::Http, Owner::Rule).or_else(|| {
        rule.backend_refs
            .iter()
            .find_map(|b| filters_dropped(&b.filters, FilterRoute::Http, Owner::BackendRef))
    })
}

fn headers_problem(headers: &[crate::api::HttpHeaderMatch]) -> Option<String> {
    headers
        .iter()
        .find_map(|h| string_match_problem(&h.type_, &h.value))
}

fn string_match_problem(type_: &StringMatchType, value: &str) -> Option<String> {
    match type_ {
        StringMatchType::RegularExpression => crate::api::compile_regex(value)
            .err()
            .map(|e| format!("invalid regular expression {value:?}: {e}")),
        StringMatchType::Unknown(t) => Some(format!("unsupported match type {t:?}")),
        _ => None,
    }
}

/// Why attachment drops a rule for one of `filters`: the first that [`compile`] says drops it
/// (an unknown type, or a header modifier naming one header in more than one action). The rule
/// compiler asks the same function for the filters' values, so status and the request path
/// agree.
fn filters_dropped(
    filters: &[HttpRouteFilter],
    route: FilterRoute,
    owner: Owner,
) -> Option<String> {
    let cx = FilterContext {
        route,
        owner,
        prefix_match: true,
        target: None,
    };
    filters.iter().find_map(|f| match compile(f, &cx) {
        Err(FilterProblem::Dropped(why)) => Some(why),
        _ => None,
    })
}

/// Attaches every route to the listeners of our Gateways and computes route status.
pub(super) fn attach_routes(
    snapshot: &Snapshot,
    options: &AttachOptions,
    grants: &Grants<'_>,
    gateways: &mut [(usize, (GatewayState, GatewayStatus))],
    sets: &[ListenerSetState],
    mut mesh: Option<&mut MeshTable>,
) -> (Vec<RouteState>, Vec<ObjectStatus>) {
    let mut states = Vec::new();
    let mut statuses = Vec::new();
    let services = Services::new(snapshot);
    for (object, o) in snapshot.objects.iter().enumerate() {
        let Some(view) = view(&o.resource) else {
            continue;
        };
        let route_index = states.len();
        let ns = view.meta.namespace_or_default();
        let id = o.resource.id();
        let c = Conditions {
            generation: view.meta.generation,
            time: &options.transition_time,
        };

        // The parents this route names, plus default Gateways when it asks for them: the
        // Gateway they lead to and, for an XListenerSet parent, the set (GEP-1713 "Route
        // Attachment": the direct parent's listeners are the relevant ones).
        let mut parents: Vec<(ParentReference, Parent)> = Vec::new();
        for (parent_index, parent) in view.parent_refs.iter().enumerate() {
            let parent_ns = parent.namespace.as_deref().unwrap_or(ns);
            if parent.group == GATEWAY_GROUP && parent.kind == "Gateway" {
                let gw = gateways.iter().position(|(_, (g, _))| {
                    g.id.name == parent.name && g.id.namespace.as_deref() == Some(parent_ns)
                });
                if let Some(gi) = gw {
                    parents.push((parent.clone(), Parent::Gateway(gi)));
                }
            } else if parent.group == X_GATEWAY_GROUP && parent.kind == "XListenerSet" {
                let set = sets.iter().position(|s| {
                    s.id.name == parent.name && s.id.namespace.as_deref() == Some(parent_ns)
                });
                if let Some(k) = set {
                    parents.push((parent.clone(), Parent::ListenerSet(k)));
                }
            } else if mesh.is_some() && is_service_parent(parent) {
                parents.push((parent.clone(), Parent::Service(parent_index)));
            }
        }
        if view.use_default {
            for (gi, (gw_index, (g, _))) in gateways.iter().enumerate() {
                let is_default = matches!(&snapshot.objects.get(*gw_index).map(|o| &o.resource), Some(Resource::Gateway(gw)) if gw.spec.default_scope == Some(GatewayDefaultScope::All));
                if is_default
                    && !parents
                        .iter()
                        .any(|(_, p)| matches!(p, Parent::Gateway(i) if *i == gi))
                {
                    let p = ParentReference::gateway(g.id.namespace.as_deref(), &g.id.name);
                    parents.push((p, Parent::Gateway(gi)));
                }
            }
        }

        // A route whose every parent is a Service is a mesh route: its backendRefs may cross
        // namespaces without a ReferenceGrant (see `mesh.rs`).
        let mesh_only =
            !parents.is_empty() && parents.iter().all(|(_, p)| matches!(p, Parent::Service(_)));
        let backends: Vec<Vec<BackendState>> = view
            .rule_backends
            .iter()
            .map(|refs| {
                refs.iter()
                    .map(|b| {
                        resolve_backend(
                            &services,
                            grants,
                            view.kind,
                            ns,
                            b,
                            options.assume_services,
                            mesh_only,
                        )
                    })
                    .collect()
            })
            .collect();
        let resolve = |refs: &[&BackendObjectReference]| -> Box<[BackendState]> {
            refs.iter()
                .map(|b| {
                    resolve_backend(
                        &services,
                        grants,
                        view.kind,
                        ns,
                        b,
                        options.assume_services,
                        mesh_only,
                    )
                })
                .collect()
        };
        let filter_refs: Vec<FilterRefs> = view
            .filter_refs
            .iter()
            .map(|r| FilterRefs {
                auth: resolve(&r.auth),
                mirrors: resolve(&r.mirrors),
            })
            .collect();
        let resolved = backends
            .iter()
            .flatten()
            .find_map(|b| match b {
                BackendState::Invalid { reason, message } => Some((*reason, message.clone())),
                BackendState::Service { .. } => None,
            })
            .or_else(|| {
                filter_refs
                    .iter()
                    .flat_map(|r| r.auth.iter().chain(&r.mirrors))
                    .find_map(|b| match b {
                        BackendState::Invalid { reason, message } => {
                            Some((*reason, message.clone()))
                        }
                        BackendState::Service { .. } => None,
                    })
            });

        // The Services AttachOptions::assume_services assumed, for the ResolvedRefs message.
        let assumed: Vec<String> = super::assumed_services(&backends, &filter_refs)
            .into_iter()
            .map(|(namespace, name)| format!("Service {namespace}/{name}"))
            .collect();

        let all_dropped = !view.dropped.is_empty() && view.dropped.iter().all(Option::is_some);
        let mut parent_statuses = Vec::new();
        for (parent, target) in parents {
            let accepted = match target {
                Parent::Gateway(gi) => attach_to_gateway(
                    snapshot,
                    &view,
                    ns,
                    &parent,
                    gateways,
                    (gi, None),
                    route_index,
                ),
                Parent::ListenerSet(k) => match sets.get(k) {
                    Some(set) if set.merged => attach_to_gateway(
                        snapshot,
                        &view,
                        ns,
                        &parent,
                        gateways,
                        (set.gateway, Some(k)),
                        route_index,
                    ),
                    _ => Err((
                        "NoMatchingParent",
                        "the ListenerSet is not attached to its Gateway".to_owned(),
                    )),
                },
                Parent::Service(parent_index) => match mesh.as_deref_mut() {
                    Some(table) => table.attach(
                        &services,
                        (route_index, view.kind, ns),
                        (parent_index, &parent),
                    ),
                    None => Err(("NoMatchingParent", "the mesh is not ours".to_owned())),
                },
            };
            let mut conditions = Vec::new();
            match accepted {
                Ok(()) if all_dropped => conditions.push(c.make(
                    "Accepted",
                    false,
                    "UnsupportedValue",
                    dropped_message(&view.dropped),
                )),
                Ok(()) => conditions.push(c.make("Accepted", true, "Accepted", "accepted")),
                Err((reason, message)) => {
                    conditions.push(c.make("Accepted", false, reason, message))
                }
            }
            match &resolved {
                None if !assumed.is_empty() => conditions.push(c.make(
                    "ResolvedRefs",
                    true,
                    "ResolvedRefs",
                    format!(
                        "resolved; assumed to exist (not in the manifests): {}",
                        assumed.join(", ")
                    ),
                )),
                None => conditions.push(c.make("ResolvedRefs", true, "ResolvedRefs", "resolved")),
                Some((reason, message)) => {
                    conditions.push(c.make("ResolvedRefs", false, reason, message.clone()))
                }
            }
            if view.dropped.iter().any(Option::is_some) && !all_dropped {
                conditions.push(c.make(
                    "PartiallyInvalid",
                    true,
                    "UnsupportedValue",
                    dropped_message(&view.dropped),
                ));
            }
            parent_statuses.push(RouteParentStatus {
                parent_ref: parent,
                controller_name: options.controller_name.clone(),
                conditions,
            });
        }
        if !parent_statuses.is_empty() {
            statuses.push(ObjectStatus {
                id: id.clone(),
                generation: view.meta.generation,
                status: Status::Route(RouteStatus {
                    parents: parent_statuses,
                }),
            });
        }
        states.push(RouteState {
            object,
            kind: view.kind,
            id,
            dropped: view.dropped.clone(),
            backends,
            filter_refs,
        });
    }
    resolve_cross_kind_conflicts(snapshot, options, gateways, sets, &states, &mut statuses);
    if let Some(table) = mesh {
        resolve_mesh_kinds(table, &states, &mut statuses);
    }
    for (_, (state, status)) in gateways.iter_mut() {
        let own = state.listeners.iter().filter(|l| l.set.is_none());
        for (l, ls) in own.zip(status.listeners.iter_mut()) {
            ls.attached_routes = i32::try_from(l.routes.len()).unwrap_or(i32::MAX);
        }
    }
    (states, statuses)
}

/// Where a parentRef leads.
#[derive(Clone, Copy, Debug)]
enum Parent {
    /// One of our Gateways (by index): its own listeners.
    Gateway(usize),
    /// An XListenerSet of one of our Gateways (by index in the sets): its listeners only.
    ListenerSet(usize),
    /// A Service of the mesh (GAMMA), by the index of the parentRef in the route.
    Service(usize),
}

/// Gateway API GRPCRouteSpec: "If both an HTTPRoute and GRPCRoute attach to the same listener
/// with intersecting hostnames, implementations MUST accept exactly one of them; the older
/// (creationTimestamp, then `{namespace}/{name}`) wins", and GRPCRouteRule: "Merging MUST not
/// be done between GRPCRoutes and HTTPRoutes". The loser is detached from that listener; when
/// it keeps no listener of the Gateway its parent reports `Accepted=False` with reason
/// `Conflicted` (v1.4 names no reason for this; we chose the one peers use).
fn resolve_cross_kind_conflicts(
    snapshot: &Snapshot,
    options: &AttachOptions,
    gateways: &mut [(usize, (GatewayState, GatewayStatus))],
    sets: &[ListenerSetState],
    states: &[RouteState],
    statuses: &mut [ObjectStatus],
) {
    let age = |route: usize| {
        let state = states.get(route);
        let meta = state
            .and_then(|s| snapshot.objects.get(s.object))
            .map(|o| o.resource.metadata());
        (
            meta.and_then(|m| m.creation_timestamp.clone())
                .unwrap_or_default(),
            state.map(|s| {
                (
                    s.id.namespace.clone().unwrap_or_default(),
                    s.id.name.clone(),
                    s.kind,
                )
            }),
        )
    };
    for (gi, (_, (gw, _))) in gateways.iter_mut().enumerate() {
        let mut losers: Vec<usize> = Vec::new();
        for listener in &mut gw.listeners {
            let kind_of = |a: &Attached| states.get(a.route).map(|s| s.kind);
            // Split once: the pairs are HTTP x gRPC, usually none at all.
            let (http, grpc): (Vec<&Attached>, Vec<&Attached>) = listener
                .routes
                .iter()
                .filter(|a| matches!(kind_of(a), Some(RouteKind::Http | RouteKind::Grpc)))
                .partition(|a| kind_of(a) == Some(RouteKind::Http));
            let mut lose = Vec::new();
            for a in &http {
                for b in &grpc {
                    if hostnames_intersect(&a.hostnames, &b.hostnames) {
                        lose.push(if age(a.route) <= age(b.route) {
                            b.route
                        } else {
                            a.route
                        });
                    }
                }
            }
            listener.routes.retain(|a| !lose.contains(&a.route));
            losers.extend(lose);
        }
        losers.sort_unstable();
        losers.dedup();
        for loser in losers {
            let Some(state) = states.get(loser) else {
                continue;
            };
            // Still served through the listeners a parent selects: the Gateway's own (`None`)
            // or those of one of its ListenerSets.
            let served_in = |scope: Option<usize>| {
                gw.listeners
                    .iter()
                    .any(|l| l.set == scope && l.routes.iter().any(|a| a.route == loser))
            };
            let meta = snapshot
                .objects
                .get(state.object)
                .map(|o| o.resource.metadata());
            let c = Conditions {
                generation: meta.map_or(1, |m| m.generation),
                time: &options.transition_time,
            };
            for object in statuses.iter_mut().filter(|o| o.id == state.id) {
                let Status::Route(route) = &mut object.status else {
                    continue;
                };
                let route_ns = state.id.namespace.as_deref().unwrap_or_default();
                // Which listeners of this Gateway a parent selects, if it leads here at all.
                let scope = |p: &ParentReference| -> Option<Option<usize>> {
                    let ns = p.namespace.as_deref().unwrap_or(route_ns);
                    if p.group == X_GATEWAY_GROUP && p.kind == "XListenerSet" {
                        sets.iter()
                            .position(|s| {
                                s.gateway == gi
                                    && s.id.name == p.name
                                    && s.id.namespace.as_deref() == Some(ns)
                            })
                            .map(Some)
                    } else {
                        (p.name == gw.id.name
                            && ns == gw.id.namespace.as_deref().unwrap_or_default())
                        .then_some(None)
                    }
                };
                for parent in route
                    .parents
                    .iter_mut()
                    .filter(|p| scope(&p.parent_ref).is_some_and(|scope| !served_in(scope)))
                {
                    parent.conditions.retain(|c| c.type_ != "Accepted");
                    parent.conditions.insert(
                        0,
                        c.make("Accepted", false, "Conflicted", "an older route of the other kind (HTTPRoute or GRPCRoute) serves an intersecting hostname on this listener"),
                    );
                }
            }
        }
    }
}

/// Mesh route-type precedence (see `mesh.rs`): a Service parentRef that keeps no port reports
/// `Accepted=False/Conflicted`; one of a kind the mesh does not route (TLS, TCP, UDP) that
/// keeps one reports `Accepted=False/UnsupportedValue` and is dropped from the mesh.
fn resolve_mesh_kinds(table: &mut MeshTable, states: &[RouteState], statuses: &mut [ObjectStatus]) {
    let losers = table.resolve_kinds();
    let mut unrouted: Vec<(usize, usize)> = Vec::new();
    for p in &mut table.ports {
        for a in &p.routes {
            if !matches!(a.kind, RouteKind::Http | RouteKind::Grpc)
                && !unrouted.contains(&(a.route, a.parent))
            {
                unrouted.push((a.route, a.parent));
            }
        }
        p.routes
            .retain(|a| matches!(a.kind, RouteKind::Http | RouteKind::Grpc));
    }
    let verdicts = losers
        .iter()
        .map(|&(r, p)| (r, p, "Conflicted", "a route of a kind that takes precedence (GRPCRoute, HTTPRoute, TLSRoute, TCPRoute, in that order) attaches to this Service port"))
        .chain(unrouted.iter().map(|&(r, p)| {
            (r, p, "UnsupportedValue", "the mesh routes HTTPRoutes and GRPCRoutes only")
        }));
    for (route, parent, reason, message) in verdicts {
        let Some(state) = states.get(route) else {
            continue;
        };
        let Some(parent_ref) = table.parent_ref(route, parent).cloned() else {
            continue;
        };
        for object in statuses.iter_mut().filter(|o| o.id == state.id) {
            let Status::Route(status) = &mut object.status else {
                continue;
            };
            for entry in status
                .parents
                .iter_mut()
                .filter(|e| e.parent_ref == parent_ref)
            {
                let Some(accepted) = entry.conditions.iter_mut().find(|c| c.type_ == "Accepted")
                else {
                    continue;
                };
                accepted.status = "False".to_owned();
                reason.clone_into(&mut accepted.reason);
                message.clone_into(&mut accepted.message);
            }
        }
    }
}

/// Whether two routes' hostname lists (empty: every host) share a host.
fn hostnames_intersect(a: &[String], b: &[String]) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.iter()
            .any(|x| b.iter().any(|y| intersect(Some(x), y).is_some()))
}

fn dropped_message(dropped: &[Option<String>]) -> String {
    let parts: Vec<String> = dropped
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().map(|why| format!("rule {i}: {why}")))
        .collect();
    format!("Dropped Rule(s): {}", parts.join("; "))
}

/// Attaches a route to the listeners its parentRef selects among those of one Gateway declared
/// by the parent itself (`set` `None`: the Gateway's own listeners, never its ListenerSets', per
/// GEP-1713 "Gateway parents and sectionName"; `Some(k)`: the listeners of XListenerSet `k`), or
/// says why not (Gateway API RouteConditionReason).
fn attach_to_gateway(
    snapshot: &Snapshot,
    view: &RouteView<'_>,
    route_ns: &str,
    parent: &ParentReference,
    gateways: &mut [(usize, (GatewayState, GatewayStatus))],
    (gi, set): (usize, Option<usize>),
    route_index: usize,
) -> Result<(), (&'static str, String)> {
    let Some((_, (gw, _))) = gateways.get_mut(gi) else {
        return Err(("NoMatchingParent", "no such Gateway".to_owned()));
    };

    let candidates: Vec<usize> = gw
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| l.set == set)
        .filter(|(_, l)| parent.section_name.as_ref().is_none_or(|s| *s == l.name))
        .filter(|(_, l)| parent.port.is_none_or(|p| i32::from(l.port) == p))
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        let what = match (&parent.section_name, parent.port) {
            (Some(s), _) => format!("no listener named {s:?}"),
            (None, Some(p)) => format!("no listener on port {p}"),
            (None, None) => "the parent has no listeners".to_owned(),
        };
        return Err(("NoMatchingParent", what));
    }
    let mut allowed = Vec::new();
    for i in candidates {
        let Some(l) = gw.listeners.get(i) else {
            continue;
        };
        if l.protocol.is_none() || !l.kinds.contains(&view.kind) {
            continue;
        }
        let namespaces = &l.spec.allowed_routes.namespaces;
        // `Same` is the namespace of the resource that declares the listener: the Gateway's,
        // or the ListenerSet's for its listeners.
        let ns_ok = match &namespaces.from {
            FromNamespaces::All => true,
            FromNamespaces::Same => route_ns == l.namespace,
            FromNamespaces::Selector => namespaces.selector.as_ref().is_some_and(|sel| {
                let ns_meta = snapshot.resources().find_map(|r| match r {
                    Resource::Namespace(n) if n.metadata.name == route_ns => Some(&n.metadata),
                    _ => None,
                });
                selector_matches(sel, route_ns, ns_meta)
            }),
            _ => false,
        };
        if ns_ok {
            allowed.push(i);
        }
    }
    if allowed.is_empty() {
        return Err((
            "NotAllowedByListeners",
            "no listener allows this route's kind and namespace".to_owned(),
        ));
    }
    let mut attached_any = false;
    for i in allowed {
        let Some(l) = gw.listeners.get_mut(i) else {
            continue;
        };
        let hostnames: Vec<String> = if view.hostnames.is_empty()
            || view.kind == RouteKind::Tcp
            || view.kind == RouteKind::Udp
        {
            Vec::new()
        } else {
            let matching: Vec<String> = view
                .hostnames
                .iter()
                .filter(|h| intersect(l.hostname.as_deref(), h).is_some())
                .map(|h| h.to_ascii_lowercase())
                .collect();
            if matching.is_empty() {
                continue;
            }
            matching
        };
        l.routes.push(Attached {
            route: route_index,
            hostnames,
        });
        attached_any = true;
    }
    if attached_any {
        Ok(())
    } else {
        Err((
            "NoMatchingListenerHostname",
            "no route hostname intersects a listener hostname".to_owned(),
        ))
    }
}

/// Resolves one backendRef (Gateway API BackendObjectReference + RouteConditionReason).
/// `mesh_only`: the route's parents are all mesh Services, and it needs no ReferenceGrant.
#[allow(clippy::too_many_arguments)]
fn resolve_backend(
    services: &Services<'_>,
    grants: &Grants<'_>,
    kind: RouteKind,
    route_ns: &str,
    b: &BackendObjectReference,
    assume_services: bool,
    mesh_only: bool,
) -> BackendState {
    let ns = b.namespace.as_deref().unwrap_or(route_ns);
    let invalid = |reason: &'static str, message: String| BackendState::Invalid { reason, message };
    if !(b.group.is_empty() && b.kind == "Service") {
        return invalid(
            "InvalidKind",
            format!("backendRef kind {}/{} is not supported", b.group, b.kind),
        );
    }
    if !mesh_only
        && !grants.allows(
            (GATEWAY_GROUP, kind.as_str(), route_ns),
            ("", "Service", ns, &b.name),
        )
    {
        return invalid(
            "RefNotPermitted",
            format!(
                "no ReferenceGrant allows a reference to Service {ns}/{}",
                b.name
            ),
        );
    }
    let service = services.get(ns, &b.name);
    if service.is_none() && !assume_services {
        return invalid(
            "BackendNotFound",
            format!("Service {ns}/{} does not exist", b.name),
        );
    }
    let Some(port) = b.port.and_then(|p| u16::try_from(p).ok()) else {
        return invalid(
            "BackendNotFound",
            format!("backendRef to Service {ns}/{} has no port", b.name),
        );
    };
    // AttachOptions::assume_services: the Service is taken to exist with the backendRef's
    // port; it has no port list, so no appProtocol to check.
    let Some(service) = service else {
        return BackendState::Service {
            namespace: ns.to_owned(),
            name: b.name.clone(),
            port,
            app_protocol: None,
            assumed: true,
        };
    };
    let service_port = service
        .spec
        .ports
        .iter()
        .find(|p| p.port == i32::from(port));
    let app_protocol = service_port.and_then(|p| p.app_protocol.clone());
    if let Some(ap) = &app_protocol {
        let supported = match kind {
            RouteKind::Http => {
                matches!(
                    ap.as_str(),
                    "kubernetes.io/h2c" | "kubernetes.io/ws" | "kubernetes.io/wss"
                ) || !ap.starts_with("kubernetes.io/")
            }
            RouteKind::Grpc => ap == "kubernetes.io/h2c" || !ap.starts_with("kubernetes.io/"),
            _ => true,
        };
        if !supported {
            return invalid(
                "UnsupportedProtocol",
                format!(
                    "appProtocol {ap:?} of Service {ns}/{} is not supported for {}",
                    b.name,
                    kind.as_str()
                ),
            );
        }
    }
    BackendState::Service {
        namespace: ns.to_owned(),
        name: b.name.clone(),
        port,
        app_protocol,
        assumed: false,
    }
}

/// BackendTLSPolicy status: ancestors are the Gateways whose routes use a targeted Service.
pub(super) fn policies(
    snapshot: &Snapshot,
    options: &AttachOptions,
    gateways: &[(usize, (GatewayState, GatewayStatus))],
    routes: &[RouteState],
) -> Vec<ObjectStatus> {
    let mut out = Vec::new();
    let policies: Vec<(usize, &crate::api::BackendTlsPolicy)> = snapshot
        .objects
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match &o.resource {
            Resource::BackendTlsPolicy(p) => Some((i, p)),
            _ => None,
        })
        .collect();
    for (index, policy) in &policies {
        let ns = policy.metadata.namespace_or_default();
        let c = Conditions {
            generation: policy.metadata.generation,
            time: &options.transition_time,
        };
        let ancestors = gateways_using(gateways, routes, ns, |name| {
            policy
                .spec
                .target_refs
                .iter()
                .any(|t| t.group.is_empty() && t.kind == "Service" && t.name == name)
        });
        if ancestors.is_empty() {
            continue;
        }
        let (accepted, resolved) = policy_conditions(snapshot, ns, policy, &policies, *index);
        let mut entries = Vec::new();
        for gw in ancestors {
            let p = ParentReference::gateway(gw.namespace.as_deref(), &gw.name);
            let conditions = vec![
                c.make("Accepted", accepted.0, accepted.1, accepted.2.clone()),
                c.make("ResolvedRefs", resolved.0, resolved.1, resolved.2.clone()),
            ];
            entries.push(PolicyAncestorStatus {
                ancestor_ref: p,
                controller_name: options.controller_name.clone(),
                conditions,
            });
        }
        out.push(ObjectStatus {
            id: ResourceId::new("BackendTLSPolicy", Some(ns), &policy.metadata.name),
            generation: policy.metadata.generation,
            status: Status::Policy(PolicyStatus { ancestors: entries }),
        });
    }
    out
}

/// The Gateways (in order, once each) with an attached route that uses a Service of namespace
/// `ns` for which `is_target(name)` holds: the ancestors of a policy on Services.
pub(super) fn gateways_using<'g>(
    gateways: &'g [(usize, (GatewayState, GatewayStatus))],
    routes: &[RouteState],
    ns: &str,
    is_target: impl Fn(&str) -> bool,
) -> Vec<&'g ResourceId> {
    let mut ancestors: Vec<&ResourceId> = Vec::new();
    for (_, (gw, _)) in gateways {
        let uses = gw.listeners.iter().flat_map(|l| l.routes.iter()).any(|a| {
            routes.get(a.route).is_some_and(|r| {
                r.backends.iter().flatten().any(|b| match b {
                    BackendState::Service {
                        namespace, name, ..
                    } => namespace == ns && is_target(name),
                    BackendState::Invalid { .. } => false,
                })
            })
        });
        if uses && !ancestors.contains(&&gw.id) {
            ancestors.push(&gw.id);
        }
    }
    ancestors
}

type Cond = (bool, &'static str, String);

/// Gateway API BackendTLSPolicy conditions: `ResolvedRefs=False` with `InvalidKind` or
/// `InvalidCACertificateRef` for unusable CA refs, `Accepted=False/NoValidCACertificate` when no
/// ref is usable, `Accepted=False/Conflicted` for the younger of two policies on one target.
fn policy_conditions(
    snapshot: &Snapshot,
    ns: &str,
    policy: &crate::api::BackendTlsPolicy,
    all: &[(usize, &crate::api::BackendTlsPolicy)],
    index: usize,
) -> (Cond, Cond) {
    let refs = &policy.spec.validation.ca_certificate_refs;
    let mut valid = 0;
    let mut resolved: Cond = (true, "ResolvedRefs", "resolved".to_owned());
    for r in refs {
        let ok = if !(r.group.is_empty() && (r.kind == "ConfigMap" || r.kind == "Secret")) {
            if resolved.0 {
                resolved = (
                    false,
                    "InvalidKind",
                    format!(
                        "caCertificateRef kind {}/{} is not supported",
                        r.group, r.kind
                    ),
                );
            }
            false
        } else {
            match super::certs::ca_bundle(snapshot, ns, &r.kind, &r.name) {
                Ok(_) => true,
                Err(why) => {
                    if resolved.0 {
                        resolved = (false, "InvalidCACertificateRef", why);
                    }
                    false
                }
            }
        };
        if ok {
            valid += 1;
        }
    }
    let conflicted = all.iter().any(|(other_index, other)| {
        *other_index != index
            && other.metadata.namespace == policy.metadata.namespace
            && older(other, policy, *other_index, index)
            && other.spec.target_refs.iter().any(|t| {
                policy.spec.target_refs.iter().any(|u| {
                    t.name == u.name && t.kind == u.kind && t.section_name == u.section_name
                })
            })
    });
    let accepted: Cond = if conflicted {
        (
            false,
            "Conflicted",
            "an older policy targets the same Service port".to_owned(),
        )
    } else if !refs.is_empty() && valid == 0 {
        (
            false,
            "NoValidCACertificate",
            "no caCertificateRef is usable".to_owned(),
        )
    } else {
        (true, "Accepted", "accepted".to_owned())
    };
    (accepted, resolved)
}

fn older(
    a: &crate::api::BackendTlsPolicy,
    b: &crate::api::BackendTlsPolicy,
    ai: usize,
    bi: usize,
) -> bool {
    let key = |p: &crate::api::BackendTlsPolicy, i: usize| {
        (
            p.metadata.creation_timestamp.clone().unwrap_or_default(),
            p.metadata.name.clone(),
            i,
        )
    };
    key(a, ai) < key(b, bi)
}
