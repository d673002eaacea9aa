//! Compiling the router from an attached configuration: listeners by port, each route's rules
//! once (equal specs and backend lists shared), predicates, and the host and path indexes.

use rustc_hash::FxHashMap as HashMap;
use std::cmp::Reverse;
use std::sync::Arc;

use super::index::{Candidate, HostIndex, KnownHost, KnownNames, PathIndex};
use super::matcher::{HeaderPredicate, Predicates, QueryPredicate, StringMatch};
use super::precedence::RankKey;
use super::{CompiledListener, CompiledRule, PortTable, RouteMeta, Router, WeightedBackend};
use crate::api::{
    GrpcRouteMatch, GrpcRouteRule, HttpHeaderMatch, PathMatchType, Resource, StringMatchType,
    compile_regex,
};
use crate::attach::{
    Attached, Backend, BackendState, Config, Protocol, RuleSpec, TrafficPolicies, WireRule,
    host_matches, rule_spec, unsupported_extension,
};
use crate::filter::{Reason, RetryBudget, SessionPolicy, SessionScope, SessionSource, cookie_path};
use crate::request::normalize::PathPolicy;
use crate::tls::{BackendTls, FrontendTls};

pub(super) fn compile(
    config: &Config,
    gateway: &crate::attach::GatewayState,
    policy: PathPolicy,
) -> Router {
    let mut router = Router {
        gateway_namespace: gateway.id.namespace.clone().unwrap_or_default().into(),
        gateway_name: gateway.id.name.clone().into(),
        ports: Vec::new(),
        listeners: Vec::new(),
        routes: Vec::new(),
        rules: Vec::new(),
        predicates: Vec::new(),
        policy,
        frontend_tls: Arc::new({
            let namespace = gateway.id.namespace.as_deref().unwrap_or("default");
            FrontendTls::for_gateway(config, namespace, &gateway.id.name)
                .unwrap_or_else(|| FrontendTls::without_ports(namespace, &gateway.id.name))
        }),
        mesh: None,
    };
    let route_order = route_order(config);
    let mut route_ids: HashMap<usize, u32> = HashMap::default();
    let owner = (
        gateway.id.namespace.as_deref().unwrap_or_default(),
        gateway.id.name.as_str(),
    );
    let mut compiler = RuleCompiler::new(config, Some(owner));

    for l in &gateway.listeners {
        let Some(protocol) = l.protocol else { continue };
        if !l.serving {
            continue;
        }
        let mut listener = CompiledListener {
            name: l.name.clone().into(),
            set: l
                .set
                .map(|_| (l.namespace.as_str().into(), l.owner.as_str().into())),
            port: l.port,
            protocol,
            hostname: l.hostname.as_ref().map(|h| h.to_ascii_lowercase().into()),
            http: HostIndex::default(),
            grpc: HostIndex::default(),
            l4: Vec::new(),
        };
        let mut cx = ListenerCx {
            config,
            compiler: &mut compiler,
            router: &mut router,
            route_ids: &mut route_ids,
            route_order: &route_order,
        };
        cx.add_routes(&mut listener, &l.routes);
        listener.http.sort();
        listener.grpc.sort();
        let index = u16::try_from(router.listeners.len()).unwrap_or(u16::MAX);
        if matches!(protocol, Protocol::Http | Protocol::Https) {
            let port = match router.ports.iter().position(|p| p.port == l.port) {
                Some(i) => i,
                None => {
                    router.ports.push(PortTable {
                        port: l.port,
                        ..PortTable::default()
                    });
                    router.ports.len() - 1
                }
            };
            if let Some(table) = router.ports.get_mut(port) {
                match &listener.hostname {
                    None => {
                        table.any.get_or_insert(index);
                    }
                    Some(h) if h.starts_with("*.") => table.wildcard.push((h.clone(), index)),
                    Some(h) => {
                        table.exact.entry(h.clone()).or_insert(index);
                    }
                }
            }
        }
        router.listeners.push(listener);
    }
    for p in &mut router.ports {
        // More labels after `*` first.
        p.wildcard.sort_by_key(|(h, _)| Reverse(h.len()));
        let listeners = || router.listeners.iter().filter(|l| l.port == p.port);
        let routes =
            listeners().flat_map(|l| l.http.exact_hostnames().chain(l.grpc.exact_hostnames()));
        let mut names = KnownNames::default();
        for name in p.exact.keys().map(|k| &**k).chain(routes) {
            names.insert(name, |name| {
                let listener = select_listener(p, name);
                let compiled = listener.and_then(|l| router.listeners.get(usize::from(l)));
                KnownHost {
                    listener,
                    http: compiled.map(|l| l.http.group_ids(name)).unwrap_or_default(),
                    grpc: compiled.map(|l| l.grpc.group_ids(name)).unwrap_or_default(),
                }
            });
        }
        p.names = names;
    }
    shrink(&mut router);
    router
}

/// What compiling one listener's routes shares with the rest of the router.
pub(super) struct ListenerCx<'a, 'c> {
    pub(super) config: &'c Config,
    pub(super) compiler: &'a mut RuleCompiler<'c>,
    pub(super) router: &'a mut Router,
    /// Router route ids by configuration route index.
    pub(super) route_ids: &'a mut HashMap<usize, u32>,
    /// Rank of each configuration route: oldest first, then `{namespace}/{name}`.
    pub(super) route_order: &'a [u32],
}

impl<'c> ListenerCx<'_, 'c> {
    /// Compiles the rules of the `attached` routes into `listener`'s indexes.
    pub(super) fn add_routes(&mut self, listener: &mut CompiledListener, attached: &[Attached]) {
        for attached in attached {
            let Some(state) = self.config.routes.get(attached.route) else {
                continue;
            };
            let Some(resource) = self.config.resource(state.object) else {
                continue;
            };
            let route_id = *self.route_ids.entry(attached.route).or_insert_with(|| {
                self.router.routes.push(RouteMeta {
                    kind: state.kind,
                    namespace: state.id.namespace.clone().unwrap_or_default().into(),
                    name: state.id.name.clone().into(),
                });
                u32::try_from(self.router.routes.len() - 1).unwrap_or(u32::MAX)
            });
            let order = self
                .route_order
                .get(attached.route)
                .copied()
                .unwrap_or(u32::MAX);
            match resource {
                Resource::HttpRoute(r) => {
                    for (ri, rule) in r.spec.rules.iter().enumerate() {
                        if state.dropped.get(ri).is_some_and(Option::is_some) {
                            continue;
                        }
                        let rule_id = self.compiler.rule_id(
                            self.router,
                            state,
                            attached.route,
                            route_id,
                            ri,
                            WireRule::Http(rule),
                        );
                        for (mi, m) in rule.matches.iter().enumerate() {
                            let predicates = Predicates {
                                method: m.method.as_ref().map(|m| m.as_str().into()),
                                headers: header_predicates(&m.headers),
                                query: m
                                    .query_params
                                    .iter()
                                    .filter_map(|q| {
                                        Some(QueryPredicate {
                                            name: q.name.clone().into(),
                                            value: string_match(&q.type_, &q.value)?,
                                        })
                                    })
                                    .collect(),
                            };
                            let rank = rank_key(0, &predicates, order, ri, mi);
                            let candidate = candidate(self.router, rule_id, rank, predicates);
                            let path = m.path.clone().unwrap_or_default();
                            insert(
                                &mut listener.http,
                                &attached.hostnames,
                                &path.type_,
                                &path.value,
                                candidate,
                            );
                        }
                    }
                }
                Resource::GrpcRoute(r) => {
                    // GRPCRoute: no rules means one rule matching every request, and a rule
                    // without matches matches every method.
                    let any_rule = [GrpcRouteRule::default()];
                    let rules = if r.spec.rules.is_empty() {
                        &any_rule[..]
                    } else {
                        &r.spec.rules[..]
                    };
                    let any_match = [GrpcRouteMatch::default()];
                    for (ri, rule) in rules.iter().enumerate() {
                        if state.dropped.get(ri).is_some_and(Option::is_some) {
                            continue;
                        }
                        let rule_id = self.compiler.rule_id(
                            self.router,
                            state,
                            attached.route,
                            route_id,
                            ri,
                            WireRule::Grpc(rule),
                        );
                        let matches = if rule.matches.is_empty() {
                            &any_match[..]
                        } else {
                            &rule.matches[..]
                        };
                        for (mi, m) in matches.iter().enumerate() {
                            let (path_type, path_value, specificity) = grpc_path(m.method.as_ref());
                            let predicates = Predicates {
                                method: Some("POST".into()),
                                headers: header_predicates(&m.headers),
                                query: Vec::new(),
                            };
                            // gRPC requests are all POSTs: the method does not rank.
                            let mut rank = rank_key(specificity, &predicates, order, ri, mi);
                            rank.method = Reverse(false);
                            let candidate = candidate(self.router, rule_id, rank, predicates);
                            insert(
                                &mut listener.grpc,
                                &attached.hostnames,
                                &path_type,
                                &path_value,
                                candidate,
                            );
                        }
                    }
                }
                Resource::TlsRoute(r) | Resource::TcpRoute(r) | Resource::UdpRoute(r) => {
                    for (ri, rule) in r.spec.rules.iter().enumerate() {
                        let rule_id = self.compiler.rule_id(
                            self.router,
                            state,
                            attached.route,
                            route_id,
                            ri,
                            WireRule::L4(rule),
                        );
                        let rank = rank_key(0, &Predicates::default(), order, ri, 0);
                        listener.l4.push((
                            attached
                                .hostnames
                                .iter()
                                .map(|h| h.as_str().into())
                                .collect(),
                            rule_id,
                            rank,
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

/// Every route's rank in precedence: oldest first, then `{namespace}/{name}`.
pub(super) fn route_order(config: &Config) -> Vec<u32> {
    let mut order: Vec<usize> = (0..config.routes.len()).collect();
    let created = |i: usize| {
        config
            .routes
            .get(i)
            .and_then(|r| config.resource(r.object))
            .and_then(|r| r.metadata().creation_timestamp.clone())
            .unwrap_or_default()
    };
    order.sort_by_key(|&i| {
        let id = config
            .routes
            .get(i)
            .map(|r| {
                (
                    r.id.namespace.clone().unwrap_or_default(),
                    r.id.name.clone(),
                )
            })
            .unwrap_or_default();
        (created(i), id)
    });
    let mut route_order = vec![0u32; config.routes.len()];
    for (rank, &i) in order.iter().enumerate() {
        if let Some(slot) = route_order.get_mut(i) {
            *slot = u32::try_from(rank).unwrap_or(u32::MAX);
        }
    }
    route_order
}

/// Gateway API Listener hostname: "exact over wildcard (more labels after `*` first) over
/// none".
pub(super) fn select_listener(port: &PortTable, host: &str) -> Option<u16> {
    match port.exact.get(host) {
        Some(l) => Some(*l),
        None => wildcard_listener(port, host),
    }
}

/// [`select_listener`] for a host that is no listener's exact hostname.
pub(super) fn wildcard_listener(port: &PortTable, host: &str) -> Option<u16> {
    port.wildcard
        .iter()
        .find(|(pattern, _)| host_matches(pattern, host))
        .map(|(_, l)| *l)
        .or(port.any)
}

/// Drops the spare capacity that building by pushes leaves (up to half of a table, three
/// quarters of a one-candidate bucket): the router keeps its tables as long as it lives.
pub(super) fn shrink(router: &mut Router) {
    router.ports.shrink_to_fit();
    for p in &mut router.ports {
        p.exact.shrink_to_fit();
        p.wildcard.shrink_to_fit();
        p.names.shrink_to_fit();
    }
    router.listeners.shrink_to_fit();
    for l in &mut router.listeners {
        l.http.shrink_to_fit();
        l.grpc.shrink_to_fit();
        l.l4.shrink_to_fit();
    }
    router.routes.shrink_to_fit();
    router.rules.shrink_to_fit();
    router.predicates.shrink_to_fit();
    for p in &mut router.predicates {
        p.headers.shrink_to_fit();
        p.query.shrink_to_fit();
    }
}

/// Compiles each rule once (a rule attached to several listeners keeps one id), sharing equal
/// specs, equal backend lists and the BackendTLS settings of each Service port between rules.
pub(super) struct RuleCompiler<'c> {
    config: &'c Config,
    /// The Gateway's (namespace, name), for its client certificate towards TLS backends;
    /// `None` for the mesh.
    gateway: Option<(&'c str, &'c str)>,
    /// Services some BackendTLSPolicy targets, as (namespace, name).
    tls_targets: std::collections::HashSet<(&'c str, &'c str)>,
    /// Rule ids by (route, rule index).
    ids: HashMap<(usize, usize), u32>,
    specs: Interner<RuleSpec>,
    backends: Interner<[WeightedBackend]>,
    tls: HashMap<(&'c str, &'c str, u16), Option<Arc<BackendTls>>>,
    /// The XBackendTrafficPolicy that applies to each Service.
    traffic: TrafficPolicies<'c>,
}

impl<'c> RuleCompiler<'c> {
    pub(super) fn new(config: &'c Config, gateway: Option<(&'c str, &'c str)>) -> Self {
        Self {
            config,
            gateway,
            tls_targets: crate::tls::targeted_services(config.snapshot()),
            ids: HashMap::default(),
            specs: Interner::default(),
            backends: Interner::default(),
            tls: HashMap::default(),
            traffic: TrafficPolicies::resolve(config.snapshot()),
        }
    }

    /// The id of rule `ri` of the route at `route` in the configuration, compiling it into
    /// `router` the first time.
    fn rule_id(
        &mut self,
        router: &mut Router,
        state: &'c crate::attach::RouteState,
        route: usize,
        route_id: u32,
        ri: usize,
        rule: WireRule<'_>,
    ) -> u32 {
        if let Some(id) = self.ids.get(&(route, ri)) {
            return *id;
        }
        let backends: Vec<WeightedBackend> = state
            .backends
            .get(ri)
            .map(|bs| {
                bs.iter()
                    .enumerate()
                    .map(|(bi, b)| self.weighted_backend(b, bi, rule.weight(bi)))
                    .collect()
            })
            .unwrap_or_default();
        let total_weight = backends.iter().map(|b| u64::from(b.weight)).sum();
        let unsupported_filter = match rule {
            WireRule::Http(r) => unsupported_extension(&r.filters),
            WireRule::Grpc(r) => unsupported_extension(&r.filters),
            WireRule::L4(_) => None,
        };
        let spec = rule_spec(state, ri, rule);
        let session = self.session(state, ri, rule).map(Box::new);
        router.rules.push(CompiledRule {
            route: route_id,
            index: u16::try_from(ri).unwrap_or(u16::MAX),
            name: rule.name().map(Into::into),
            backends: self.backends.intern(backends),
            total_weight,
            spec: self.specs.intern(spec),
            session,
            unsupported_filter,
        });
        let id = u32::try_from(router.rules.len() - 1).unwrap_or(u32::MAX);
        self.ids.insert((route, ri), id);
        id
    }

    /// The session persistence of rule `ri` of `state`: the rule's own `sessionPersistence`,
    /// else that of the accepted XBackendTrafficPolicy of its first backendRef (in rule order)
    /// whose Service has one, for every backend of the rule (see [`SessionPolicy`]).
    fn session(
        &self,
        state: &crate::attach::RouteState,
        ri: usize,
        rule: WireRule<'_>,
    ) -> Option<Result<SessionPolicy, Reason>> {
        let backends: &[BackendState] = state.backends.get(ri).map_or(&[], |b| b);
        let (own, paths) = match rule {
            WireRule::Http(r) => {
                let paths: Vec<Box<str>> = r
                    .matches
                    .iter()
                    .map(|m| {
                        m.path
                            .as_ref()
                            .map_or_else(|| "/".into(), |p| cookie_path(&p.type_, &p.value))
                    })
                    .collect();
                (r.session_persistence.as_ref(), paths)
            }
            WireRule::Grpc(r) => (r.session_persistence.as_ref(), Vec::new()),
            WireRule::L4(_) => return None,
        };
        let (wire, source) = match own {
            Some(wire) => (wire, SessionSource::Rule),
            None => backends.iter().find_map(|b| match b {
                BackendState::Service {
                    namespace, name, ..
                } => {
                    let policy = self.traffic.for_service(namespace, name)?;
                    let wire = policy.spec.session_persistence.as_ref()?;
                    let id = format!("{namespace}/{}", policy.metadata.name);
                    Some((wire, SessionSource::Policy(id.into())))
                }
                BackendState::Invalid { .. } => None,
            })?,
        };
        // A rule without matches matches every path: GEP-1619 "For an xRoute that matches all
        // paths, the `Path` should be set to `/`".
        let paths = if paths.is_empty() {
            vec!["/".into()]
        } else {
            paths
        };
        let scope = SessionScope {
            route_kind: state.kind.as_str(),
            namespace: state.id.namespace.as_deref().unwrap_or("default"),
            name: &state.id.name,
            rule_name: rule.name(),
            rule_index: ri,
        };
        let ports = backends.iter().map(|b| match b {
            BackendState::Service {
                namespace,
                name,
                port,
                ..
            } => Some((namespace.as_str(), name.as_str(), *port)),
            BackendState::Invalid { .. } => None,
        });
        Some(SessionPolicy::compile(
            wire,
            source,
            &scope,
            ports,
            paths.into_boxed_slice(),
        ))
    }

    fn weighted_backend(
        &mut self,
        b: &'c BackendState,
        index: usize,
        weight: i32,
    ) -> WeightedBackend {
        let (backend, tls, retry_budget) = match b {
            BackendState::Service {
                namespace,
                name,
                port,
                app_protocol,
                assumed,
            } => {
                let backend = Backend {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    port: *port,
                    app_protocol: app_protocol.clone(),
                    assumed: *assumed,
                };
                let (config, gateway) = (self.config, self.gateway);
                let tls = if self
                    .tls_targets
                    .contains(&(namespace.as_str(), name.as_str()))
                {
                    self.tls
                        .entry((namespace, name, *port))
                        .or_insert_with(|| {
                            BackendTls::for_backend(config, &backend, gateway).map(Arc::new)
                        })
                        .clone()
                } else {
                    None
                };
                let budget = self
                    .traffic
                    .for_service(namespace, name)
                    .and_then(|p| p.spec.retry_constraint.as_ref())
                    // Validated when loaded: one that does not parse is not applied.
                    .and_then(|rc| RetryBudget::parse(rc).ok());
                (Some(backend), tls, budget)
            }
            BackendState::Invalid { .. } => (None, None, None),
        };
        WeightedBackend {
            backend,
            weight: u32::try_from(weight).unwrap_or(0),
            index,
            tls,
            retry_budget,
        }
    }
}

/// Shares equal compiled values: one allocation per distinct value, however many rules hold it.
struct Interner<T: ?Sized> {
    /// Keyed by [`ShareHash`]; equality decides within a bucket.
    buckets: HashMap<u64, Vec<Arc<T>>>,
}

/// A hash consistent with `PartialEq` (equal values hash alike), cheap for the common values.
trait ShareHash {
    fn share_hash(&self) -> u64;
}

impl ShareHash for [WeightedBackend] {
    /// Every field but the TLS settings, which are a function of the backend.
    fn share_hash(&self) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = rustc_hash::FxHasher::default();
        for b in self {
            b.backend.hash(&mut h);
            b.weight.hash(&mut h);
            b.index.hash(&mut h);
        }
        h.finish()
    }
}

impl ShareHash for RuleSpec {
    /// The typed spec's own `Hash`: its filters are compiled values, compared field by field.
    fn share_hash(&self) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = rustc_hash::FxHasher::default();
        self.hash(&mut h);
        h.finish()
    }
}

impl<T: ?Sized> Default for Interner<T> {
    fn default() -> Self {
        Self {
            buckets: HashMap::default(),
        }
    }
}

impl<T: ?Sized + PartialEq + ShareHash> Interner<T> {
    fn intern<V: std::borrow::Borrow<T> + Into<Arc<T>>>(&mut self, value: V) -> Arc<T> {
        let bucket = self.buckets.entry(value.borrow().share_hash()).or_default();
        if let Some(shared) = bucket.iter().find(|s| ***s == *value.borrow()) {
            return Arc::clone(shared);
        }
        let shared: Arc<T> = value.into();
        bucket.push(Arc::clone(&shared));
        shared
    }
}

/// The precedence key of match `mi` of rule `ri` (see `precedence.rs`).
fn rank_key(specificity: u32, p: &Predicates, route_order: u32, ri: usize, mi: usize) -> RankKey {
    let count = |n: usize| Reverse(u16::try_from(n).unwrap_or(u16::MAX));
    RankKey {
        specificity: Reverse(specificity),
        method: Reverse(p.method.is_some()),
        headers: count(p.headers.len()),
        query: count(p.query.len()),
        route_order,
        rule: u16::try_from(ri).unwrap_or(u16::MAX),
        match_index: u16::try_from(mi).unwrap_or(u16::MAX),
    }
}

/// A candidate of rule `rule`, its predicates stored in the router.
fn candidate(router: &mut Router, rule: u32, rank: RankKey, predicates: Predicates) -> Candidate {
    Candidate {
        rule,
        match_index: rank.match_index,
        predicates: push_predicates(router, predicates),
        rank,
    }
}

/// The header predicates of a match: names lower-cased, values compiled. Of entries whose
/// names are equivalent (equal but for case) only the first is used, as HTTPHeaderMatch and
/// GRPCHeaderMatch say ("only the first entry with an equivalent name MUST be considered");
/// applying both would make the match unsatisfiable whenever their values differ.
fn header_predicates(headers: &[HttpHeaderMatch]) -> Vec<HeaderPredicate> {
    let mut predicates: Vec<HeaderPredicate> = Vec::with_capacity(headers.len());
    let mut seen: Vec<String> = Vec::with_capacity(headers.len());
    for h in headers {
        let name = h.name.to_ascii_lowercase();
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        if let Some(value) = string_match(&h.type_, &h.value) {
            predicates.push(HeaderPredicate {
                name: name.into(),
                value,
            });
        }
    }
    predicates
}

fn push_predicates(router: &mut Router, p: Predicates) -> Option<u32> {
    if p.method.is_none() && p.headers.is_empty() && p.query.is_empty() {
        return None;
    }
    router.predicates.push(p);
    u32::try_from(router.predicates.len() - 1).ok()
}

fn string_match(type_: &StringMatchType, value: &str) -> Option<StringMatch> {
    match type_ {
        StringMatchType::Exact => Some(StringMatch::Exact(value.into())),
        StringMatchType::RegularExpression => compile_regex(value).ok().map(StringMatch::Regex),
        _ => None,
    }
}

/// A GRPCRoute method match as a path match on `/service/method`, and its specificity
/// (characters in service, then method).
fn grpc_path(m: Option<&crate::api::GrpcMethodMatch>) -> (PathMatchType, String, u32) {
    let Some(m) = m else {
        return (PathMatchType::PathPrefix, "/".to_owned(), 0);
    };
    let service = m.service.as_deref();
    let method = m.method.as_deref();
    let spec = u32::try_from(service.map_or(0, str::len) * 1024 + method.map_or(0, str::len))
        .unwrap_or(u32::MAX);
    match (&m.type_, service, method) {
        (StringMatchType::Exact, Some(s), Some(me)) => {
            (PathMatchType::Exact, format!("/{s}/{me}"), spec)
        }
        (StringMatchType::Exact, Some(s), None) => {
            (PathMatchType::PathPrefix, format!("/{s}"), spec)
        }
        (StringMatchType::Exact, None, Some(me)) => (
            PathMatchType::RegularExpression,
            format!("/[^/]+/{}", regex::escape(me)),
            spec,
        ),
        (StringMatchType::RegularExpression, s, me) => (
            PathMatchType::RegularExpression,
            format!("/{}/{}", s.unwrap_or("[^/]+"), me.unwrap_or("[^/]+")),
            spec,
        ),
        _ => (PathMatchType::PathPrefix, "/".to_owned(), 0),
    }
}

fn insert(
    index: &mut HostIndex,
    hostnames: &[String],
    type_: &PathMatchType,
    value: &str,
    candidate: Candidate,
) {
    let put = |paths: &mut PathIndex| match type_ {
        PathMatchType::Exact => paths
            .exact
            .get_or_insert_with(value, Vec::new)
            .push(candidate.clone()),
        PathMatchType::RegularExpression => {
            if let Ok(re) = compile_regex(value) {
                paths.regex.push((re, candidate.clone()));
            }
        }
        _ => {
            let key = value
                .strip_suffix('/')
                .filter(|k| !k.is_empty())
                .unwrap_or(value);
            let key = if key.is_empty() { "/" } else { key };
            let segments = if key == "/" {
                0
            } else {
                key.bytes().filter(|b| *b == b'/').count()
            };
            paths.max_prefix_segments = paths.max_prefix_segments.max(segments);
            paths
                .prefix
                .get_or_insert_with(key, Vec::new)
                .push(candidate.clone());
        }
    };
    if hostnames.is_empty() {
        put(&mut index.any);
    }
    for h in hostnames {
        let paths = match h.strip_prefix("*.") {
            Some(suffix) => index.wildcard_mut(suffix),
            None => index.exact_mut(h),
        };
        if let Some(paths) = paths {
            put(paths);
        }
    }
}

#[cfg(test)]
mod tests;
