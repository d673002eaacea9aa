//! The compiled router: for one request, the listener, route, rule and match the Gateway API
//! spec says must win, in time that does not grow with the number of routes.
//!
//! [`Router::build`] compiles one Gateway ([`GatewayRef`]) of a [`Config`] (allocating; off the
//! hot path); [`Engine::router`](crate::Engine::router) is the usual way to call it.
//! [`Router::route`] answers one request: it canonicalizes the host and path once (see
//! [`crate::request`]), selects the listener by port then hostname, then walks the listener's
//! index (see below). It allocates nothing for a request whose target is already canonical
//! and whose matched headers appear once.
//!
//! # Precedence, formally
//! For a request with canonical host `h` and path `p`, candidates are ordered by:
//! 1. the route hostname: the exact hostname `h`, then wildcard hostnames by decreasing suffix
//!    length (`*.b.example.com` before `*.example.com`), then routes with no hostname (Gateway
//!    API: "Characters in a matching non-wildcard hostname. Characters in a matching
//!    hostname."). Route hostnames are the route's own, not their intersection with the
//!    listener's;
//! 2. the path: `Exact`, then `RegularExpression`, then `PathPrefix` by decreasing length. The
//!    spec leaves regex precedence to implementations: we rank it after `Exact` and before every
//!    prefix, so that a regex rule is not shadowed by a catch-all `PathPrefix /`; among regex
//!    rules the remaining keys decide;
//! 3. method match, header match count, query match count, route creation timestamp,
//!    `{namespace}/{name}`, rule order, match order (see `route/precedence.rs`).
//!
//! The first candidate in this order whose every predicate holds wins. If no candidate of the
//! most specific hostname group matches, less specific groups are tried: precedence orders the
//! *matching* rules, so a rule that does not match never hides one that does.
//!
//! Other choices, each documented where implemented: header values are matched against the
//! combined value of repeated fields; a repeated query key is decided by its first value; the
//! method is case-sensitive.

mod build;
use build::{compile, select_listener, wildcard_listener};
mod explain;
mod gateway_ref;
mod index;
mod l4;
mod matcher;
mod mesh;
mod precedence;

pub use explain::{
    CandidateMatch, ExplainedCandidate, Explanation, HostnameGroup, ListenerCandidates, ListenerId,
    MatchPredicates, Mismatch, PathMatch, PrecedenceKey, RuleTable, Shadowed, ValueMatch,
    ValuePredicate, Verdict,
};
pub use gateway_ref::{GatewayRef, GatewayRefError};
pub use l4::L4Transport;
pub use mesh::{Destination, MeshRoute, PassThrough};

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use index::{Candidate, HostIndex, KnownNames};
use matcher::Predicates;
use precedence::RankKey;

use crate::attach::{Backend, Config, Protocol, RouteKind, RuleSpec};
use crate::filter::{Reason, RetryBudget, Session, SessionPolicy};
use crate::outcome::{BadRequest, NotFound, Outcome, ServerError};
use crate::request::authority::{request_host_canonical, sole_host_line};
use crate::request::field::check_method;
use crate::request::normalize::{
    PathPolicy, Segments, TargetError, TargetForm, canonical_origin, normalize_path,
    split_target_with,
};
use crate::request::{FieldProblem, HeaderSummary, RequestView};
use crate::tls::{BackendTls, FrontendTls};

/// Why a router could not be built.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// No Gateway of ours has this namespace and name.
    UnknownGateway {
        /// The namespace asked for.
        namespace: String,
        /// The name asked for.
        name: String,
        /// The Gateways that exist, as `namespace/name`.
        known: Vec<String>,
    },
    /// No name was given and the configuration has no Gateway, or several.
    AmbiguousGateway {
        /// The Gateways that exist, as `namespace/name`.
        known: Vec<String>,
    },
    /// A mesh router was asked for, but the mesh is not ours: neither
    /// [`AttachOptions::mesh`](crate::attach::AttachOptions::mesh) nor an XMesh of our
    /// controller.
    MeshNotEnabled,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownGateway {
                namespace,
                name,
                known,
            } => {
                write!(
                    f,
                    "no Gateway {namespace}/{name} of our GatewayClasses; known: [{}]",
                    known.join(", ")
                )
            }
            Self::AmbiguousGateway { known } if known.is_empty() => {
                f.write_str("the manifests hold no Gateway of our GatewayClasses")
            }
            Self::AmbiguousGateway { known } => {
                write!(f, "several Gateways, name one of: {}", known.join(", "))
            }
            Self::MeshNotEnabled => f.write_str(
                "the mesh is not ours: no XMesh of our controllerName, and the mesh option is off",
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// Which route matched.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteId<'r> {
    /// The route kind.
    pub kind: RouteKind,
    /// Its namespace.
    pub namespace: &'r str,
    /// Its name.
    pub name: &'r str,
}

/// Which rule matched.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleId<'r> {
    /// Its index in the route's rules.
    pub index: usize,
    /// Its `name`, if it has one.
    pub name: Option<&'r str>,
}

/// One weighted backendRef of a rule: a usable backend, or an invalid one whose share of
/// traffic answers 500 (Gateway API HTTPBackendRef).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedBackend {
    /// The backend, or `None` when the reference is invalid.
    pub backend: Option<Backend>,
    /// Its weight.
    pub weight: u32,
    /// Index of the backendRef in the rule.
    pub index: usize,
    /// How to verify the backend's TLS (the BackendTLSPolicy that applies), or `None` for
    /// plaintext. Resolved when the router is built.
    pub tls: Option<Arc<BackendTls>>,
    /// The retry budget of the backend's Service: the `retryConstraint` of the accepted
    /// XBackendTrafficPolicy that targets it, with the CRD defaults; `None` without one.
    pub retry_budget: Option<RetryBudget>,
}

/// One rule of the router. Its spec and backend list are shared with every rule whose spec or
/// list is equal (most rules of a route forward to the same Service).
#[derive(Clone, Debug)]
struct CompiledRule {
    route: u32,
    index: u16,
    name: Option<Box<str>>,
    backends: Arc<[WeightedBackend]>,
    total_weight: u64,
    spec: Arc<RuleSpec>,
    /// The rule's session persistence (its own, or its backends' policy), or why it cannot be
    /// applied (the rule answers 500).
    session: Option<Box<Result<SessionPolicy, Reason>>>,
    /// An ExtensionRef filter the library cannot apply: the rule answers 500.
    unsupported_filter: Option<String>,
}

#[derive(Clone, Debug)]
struct RouteMeta {
    kind: RouteKind,
    namespace: Box<str>,
    name: Box<str>,
}

#[derive(Clone, Debug)]
struct CompiledListener {
    name: Box<str>,
    /// The XListenerSet (namespace, name) that declared it; `None` for the Gateway's own.
    set: Option<(Box<str>, Box<str>)>,
    port: u16,
    protocol: Protocol,
    hostname: Option<Box<str>>,
    http: HostIndex,
    grpc: HostIndex,
    /// TLS/TCP/UDP: rules with their route hostnames (empty = any).
    l4: Vec<(Vec<Box<str>>, u32, RankKey)>,
}

#[derive(Clone, Debug, Default)]
struct PortTable {
    port: u16,
    exact: HashMap<Box<str>, u16>,
    /// (listener hostname pattern, listener), most labels first.
    wildcard: Vec<(Box<str>, u16)>,
    any: Option<u16>,
    /// Every exact hostname of the port's listeners and of their routes, resolved.
    names: KnownNames,
}

/// The immutable router of one Gateway: `Send + Sync`, share it with `Arc` and rebuild it off
/// the hot path when the configuration changes.
#[derive(Clone, Debug)]
pub struct Router {
    gateway_namespace: Box<str>,
    gateway_name: Box<str>,
    ports: Vec<PortTable>,
    listeners: Vec<CompiledListener>,
    routes: Vec<RouteMeta>,
    rules: Vec<CompiledRule>,
    predicates: Vec<Predicates>,
    policy: PathPolicy,
    /// The Gateway's frontend TLS (listener certificates, client validation per port),
    /// resolved with the rest so that a request's TLS facts can be judged with the router.
    frontend_tls: Arc<FrontendTls>,
    /// The mesh router's Service ports and addresses; `None` for a Gateway's router.
    mesh: Option<Box<mesh::MeshIndex>>,
}

impl Router {
    /// Compiles the router of one Gateway, normalizing request paths with `policy`
    /// ([`PathPolicy::secure`] unless the embedder needs otherwise). Most callers go through
    /// [`Engine::router`](crate::Engine::router), which passes the policy it was loaded with.
    ///
    /// # Errors
    /// [`BuildError::UnknownGateway`] when no Gateway of ours has the name;
    /// [`BuildError::AmbiguousGateway`] when [`GatewayRef::only`] (or
    /// [`GatewayRef::only_in`]) finds none or several.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::api::{LoadOptions, Snapshot};
    /// use gateway_core::attach::{AttachOptions, Config};
    /// use gateway_core::request::normalize::PathPolicy;
    /// use gateway_core::route::{GatewayRef, Router};
    /// let yaml = include_str!("../../../examples/manifests/shop.yaml");
    /// let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default())?;
    /// let config = Config::new(loaded.snapshot, AttachOptions::default());
    /// let router = Router::build(&config, &GatewayRef::new("shop", "shop"), PathPolicy::secure())?;
    /// assert_eq!(router.gateway(), ("shop", "shop"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(
        config: &Config,
        gateway: &GatewayRef,
        policy: PathPolicy,
    ) -> Result<Self, BuildError> {
        let known = || -> Vec<String> {
            config
                .gateways()
                .map(|(ns, n)| format!("{ns}/{n}"))
                .collect()
        };
        let found = match (gateway.namespace(), gateway.name()) {
            (namespace, None) => {
                let mut it = config
                    .gateways
                    .iter()
                    .filter(|g| namespace.is_none() || g.id.namespace.as_deref() == namespace);
                match (it.next(), it.next()) {
                    (Some(g), None) => g,
                    _ => return Err(BuildError::AmbiguousGateway { known: known() }),
                }
            }
            (namespace, Some(name)) => config
                .gateways
                .iter()
                .find(|g| g.id.name == name && g.id.namespace.as_deref() == namespace)
                .ok_or_else(|| BuildError::UnknownGateway {
                    namespace: namespace.unwrap_or_default().to_owned(),
                    name: name.to_owned(),
                    known: known(),
                })?,
        };
        Ok(compile(config, found, policy))
    }

    /// The Gateway this router serves, as `(namespace, name)`; two empty strings for the mesh
    /// router ([`Router::is_mesh`]).
    pub fn gateway(&self) -> (&str, &str) {
        (&self.gateway_namespace, &self.gateway_name)
    }

    /// The Gateway's frontend TLS, resolved when the router was built
    /// ([`FrontendTls::for_gateway`]): what the coalescing guard and client-certificate
    /// validation of a TLS connection to this Gateway apply.
    pub fn frontend_tls(&self) -> &FrontendTls {
        &self.frontend_tls
    }

    /// How many rules the router holds.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The backends the rules can forward to: each backendRef that resolved to a Service
    /// port, in rule order, the same backend once per rule that lists it (rules that share a
    /// list share its entries). A [`ForwardPlan::backend`](crate::plan::ForwardPlan) of this
    /// router is one of these very values, at the same address for the router's life, so a
    /// proxy can resolve endpoints or open connection pools here, once per load, and find
    /// them per request by address (`std::ptr::eq`) instead of by name. Mirror and
    /// external-auth backends are not included (a plan carries copies of those).
    pub fn backends(&self) -> impl Iterator<Item = &Backend> {
        self.rules
            .iter()
            .flat_map(|rule| rule.backends.iter())
            .filter_map(|weighted| weighted.backend.as_ref())
    }

    /// Routes one HTTP request. Cost: one pass over the headers (count, size, Host), one over
    /// the target when it is already canonical (split, validation and prefix ends together;
    /// other targets take the general normalization), one over the host unless it is byte for
    /// byte a hostname of the port's listeners or routes (then one hash lookup gives its
    /// listener and hostname groups), a few hash lookups per hostname group and path prefix,
    /// then the predicates of the candidates in precedence order; independent of the number of
    /// routes; no allocation for canonical targets.
    pub fn route<'r, 'q>(&'r self, req: &RequestView<'q>) -> Decision<'r, 'q> {
        let Some(port) = self.ports.iter().find(|p| p.port == req.port) else {
            return Decision::new(self).fail(
                Outcome::NotFound(NotFound::NoListenerOnPort),
                "no HTTP listener on this port",
            );
        };
        self.route_in(req, Select::Port(port))
    }

    /// [`Router::route`] once the listener's table is known or its port is: every request
    /// check, canonicalization and match is this one function for the Gateway and the mesh.
    #[inline]
    fn route_in<'r, 'q>(&'r self, req: &RequestView<'q>, select: Select<'r>) -> Decision<'r, 'q> {
        match self.check_request(req) {
            Ok(headers) => self.route_checked(req, headers, select),
            Err((outcome, why)) => Decision::new(self).fail(outcome, why),
        }
    }

    /// The checks every request passes before any table is chosen: the SECURITY.md default
    /// limits (before any header is read), then the header fields and the method
    /// (`request::field`). `Ok` carries the header summary the routing goes on with.
    fn check_request<'q>(
        &self,
        req: &RequestView<'q>,
    ) -> Result<HeaderSummary<'q>, (Outcome, &'static str)> {
        let headers = req.headers.summary();
        if headers.fields > self.policy.max_header_fields {
            return Err((
                Outcome::BadRequest(BadRequest::TooManyHeaderFields),
                "too many header fields",
            ));
        }
        if headers.section_len > self.policy.max_header_bytes {
            return Err((
                Outcome::BadRequest(BadRequest::HeaderSectionTooLarge),
                "header section too large",
            ));
        }
        if let Some(problem) = headers.problem {
            let (cause, why) = match problem {
                FieldProblem::Name => (
                    BadRequest::InvalidHeaderName,
                    "a header name holds a byte no field name may carry",
                ),
                FieldProblem::Value => (
                    BadRequest::InvalidHeaderValue,
                    "a header value holds CR, LF or NUL",
                ),
                FieldProblem::Duplicate => (
                    BadRequest::DuplicateHeader,
                    "Authorization or Content-Length sent more than once",
                ),
            };
            return Err((Outcome::BadRequest(cause), why));
        }
        if let Err(cause) = check_method(req.method, self.policy.method_case) {
            let why = match cause {
                BadRequest::MethodCaseVariant => {
                    "the method is a standard method in another case; methods are case-sensitive"
                }
                _ => "the method is not a token",
            };
            return Err((Outcome::BadRequest(cause), why));
        }
        Ok(headers)
    }

    /// [`Router::route_in`] after [`Router::check_request`].
    fn route_checked<'r, 'q>(
        &'r self,
        req: &RequestView<'q>,
        headers: HeaderSummary<'q>,
        select: Select<'r>,
    ) -> Decision<'r, 'q> {
        let mut d = Decision::new(self);
        let names = match select {
            Select::Port(port) => Some(&port.names),
            Select::Listener(_) => None,
        };
        // The common case, an origin-form target that is already canonical, in one pass; the
        // general pipeline (split, then normalize) otherwise.
        let fast = canonical_origin(req.target, req.target_text(), &self.policy);
        let (absolute_authority, raw_path, query) = match &fast {
            Some(t) => (None, t.path, t.query),
            None => match split_target_with(req.target, &self.policy) {
                Ok(TargetForm::Origin { path, query }) => (None, path, query),
                Ok(TargetForm::Absolute {
                    authority,
                    path,
                    query,
                    ..
                }) => (Some(authority), path, query),
                Ok(_) => {
                    return d.fail(
                        Outcome::BadRequest(BadRequest::UnsupportedTargetForm),
                        "only origin-form and absolute-form targets are routed",
                    );
                }
                Err(e) => {
                    return d.fail_owned(Outcome::BadRequest(target_cause(&e)), e.to_string());
                }
            },
        };
        // A sole Host line equal to a known name of this port is canonical as it is: the
        // router's copy of the name serves, neither checked nor converted, and comes resolved.
        let line = match (absolute_authority, req.authority, headers.host) {
            (None, None, Some(line)) if headers.hosts == 1 => Some(line),
            _ => None,
        };
        let mut known = line.and_then(|line| names?.get(line.as_bytes()));
        let known_host = known.map(|(name, _)| name);
        if known.is_none() {
            let host = match (absolute_authority, req.authority) {
                // The Host lines the header scan found: no second scan.
                (None, None) => sole_host_line(headers.host.map(|h| h.as_str()), headers.hosts > 1),
                (absolute, h2) => request_host_canonical(absolute, h2, &mut req.headers.hosts()),
            };
            match host {
                Ok((host, _port)) => {
                    // Another spelling of a known name (a port, upper case) is still one.
                    if line.is_none_or(|line| line.as_bytes() != host.as_bytes()) {
                        known = names.and_then(|n| n.get(host.as_bytes()));
                    }
                    d.host = host;
                }
                Err(e) => {
                    return d.fail_owned(
                        Outcome::BadRequest(BadRequest::InvalidHost),
                        format!("invalid host: {e}"),
                    );
                }
            }
        }
        let known = known.map(|(_, resolved)| resolved);
        let (path, segments, ampersands) = match fast {
            Some(t) => (Cow::Borrowed(t.path), t.segments, t.ampersands),
            None => {
                let path = match normalize_path(raw_path, &self.policy) {
                    Ok(path) => path,
                    Err(e) => {
                        return d.fail_owned(Outcome::BadRequest(target_cause(&e)), e.to_string());
                    }
                };
                let ampersands = query.map_or(0, |q| q.bytes().filter(|&b| b == b'&').count());
                let segments = Segments::of(&path);
                (path, segments, ampersands)
            }
        };
        if ampersands >= self.policy.max_query_pairs {
            return d.fail(
                Outcome::BadRequest(BadRequest::TooManyQueryPairs),
                "too many query pairs",
            );
        }
        d.known_host = known_host;
        d.path = path;
        d.received_path = Some(raw_path);
        d.query = query;

        // Listener selection: by SNI on TLS connections, by Host otherwise; a Host that another
        // listener of this port would serve is misdirected (GEP-3567).
        // `host` borrows the one field, so that the others can still be set.
        let host: &str = known_host.unwrap_or(&d.host);
        let port = match select {
            Select::Port(port) => port,
            Select::Listener(listener) => {
                let found =
                    self.match_listener(req, listener, host, &d.path, None, query, &segments);
                d.set_matched(listener, found);
                return d;
            }
        };
        let by_host = match known {
            Some(resolved) => resolved.listener,
            None => wildcard_listener(port, host),
        };
        let listener = match req.sni.filter(|s| !s.is_empty()) {
            Some(sni) => {
                let sni = sni.trim_end_matches('.');
                let sni = if sni.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(sni.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(sni)
                };
                let by_sni = match port.names.get(sni.as_bytes()) {
                    Some((_, resolved)) => resolved.listener,
                    None => select_listener(port, &sni),
                };
                match (by_sni, by_host) {
                    (Some(a), Some(b)) if a == b => a,
                    (Some(_), Some(_)) => {
                        return d.fail(
                            Outcome::Misdirected,
                            "the Host belongs to another listener than the TLS server name",
                        );
                    }
                    (_, None) => {
                        return d.fail(
                            Outcome::NotFound(NotFound::NoListenerForHost),
                            "no listener matches the Host",
                        );
                    }
                    (None, Some(_)) => {
                        return d.fail(
                            Outcome::NotFound(NotFound::NoListenerForSni),
                            "no listener matches the TLS server name",
                        );
                    }
                }
            }
            None => match by_host {
                Some(l) => l,
                None => {
                    return d.fail(
                        Outcome::NotFound(NotFound::NoListenerForHost),
                        "no listener matches the Host",
                    );
                }
            },
        };
        let known = known.map(|k| (&*k.http, &*k.grpc));
        let found = self.match_listener(req, listener, host, &d.path, known, query, &segments);
        d.set_matched(listener, found);
        d
    }

    /// The rule of `listener` that wins for the canonical `host` and `path`: `(rule, match
    /// index, why the rule cannot be served)`, or the refusal.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn match_listener(
        &self,
        req: &RequestView<'_>,
        listener: u16,
        host: &str,
        path: &str,
        known: Option<(&[u32], &[u32])>,
        query: Option<&str>,
        segments: &Segments,
    ) -> Result<(u32, u16, Option<&str>), (Outcome, &'static str)> {
        let Some(compiled) = self.listeners.get(usize::from(listener)) else {
            return Err((
                Outcome::NotFound(NotFound::NoListenerForHost),
                "no listener",
            ));
        };
        // Only listeners with GRPCRoutes pay for looking at the content type.
        let grpc = !compiled.grpc.is_empty()
            && is_grpc(req)
            && compiled.grpc.has_host(host, known.map(|k| k.1));
        let (table, ids) = if grpc {
            (&compiled.grpc, known.map(|k| k.1))
        } else {
            (&compiled.http, known.map(|k| k.0))
        };
        let mut found: Option<&Candidate> = None;
        for group in table.groups(host, ids) {
            let hit = group.walk(path, segments, |c| {
                let ok = match c.predicates {
                    None => true,
                    Some(i) => self
                        .predicates
                        .get(i as usize)
                        .is_some_and(|p| p.matches(req.method, &req.headers, query)),
                };
                if ok {
                    found = Some(c);
                }
                ok
            });
            if hit {
                break;
            }
        }
        let Some(c) = found else {
            return Err((Outcome::NotFound(NotFound::NoRule), "no rule matches"));
        };
        let Some(rule) = self.rules.get(c.rule as usize) else {
            return Err((Outcome::NotFound(NotFound::NoRule), "no rule"));
        };
        Ok((c.rule, c.match_index, rule.unsupported_filter.as_deref()))
    }

    /// Whether an HTTP or HTTPS listener serves this port ([`Router::route`]); otherwise use
    /// [`Router::route_l4`].
    pub fn serves_http(&self, port: u16) -> bool {
        self.ports.iter().any(|p| p.port == port)
    }
}

/// How [`Router::route_in`] finds the listener: by the port's listeners and the Host (a
/// Gateway), or given (a mesh Service port's table).
#[derive(Clone, Copy)]
enum Select<'r> {
    Port(&'r PortTable),
    Listener(u16),
}

/// The cause of a refused target: over the length limit, or not canonicalizable.
fn target_cause(e: &TargetError) -> BadRequest {
    match e {
        TargetError::TooLong { .. } => BadRequest::TargetTooLong,
        _ => BadRequest::InvalidTarget,
    }
}

fn is_grpc(req: &RequestView<'_>) -> bool {
    let mut grpc = false;
    req.headers.for_each_value("content-type", |v| {
        grpc = v.starts_with(b"application/grpc");
        false
    });
    grpc
}

/// The router's answer for one request. Borrows the router (`'r`) and the request (`'q`).
#[derive(Clone, Debug)]
pub struct Decision<'r, 'q> {
    router: &'r Router,
    outcome: Outcome,
    listener: Option<u16>,
    rule: Option<u32>,
    match_index: u16,
    host: Cow<'q, str>,
    /// The host when it is one of the router's names ([`index::KnownNames`]): then `host`
    /// is not set.
    known_host: Option<&'r str>,
    path: Cow<'q, str>,
    received_path: Option<&'q str>,
    query: Option<&'q str>,
    reason: Cow<'static, str>,
}

impl<'r, 'q> Decision<'r, 'q> {
    fn new(router: &'r Router) -> Self {
        Self {
            router,
            outcome: Outcome::NotFound(NotFound::NoRule),
            listener: None,
            rule: None,
            match_index: 0,
            host: Cow::Borrowed(""),
            known_host: None,
            path: Cow::Borrowed(""),
            received_path: None,
            query: None,
            reason: Cow::Borrowed(""),
        }
    }

    fn fail(mut self, outcome: Outcome, reason: &'static str) -> Self {
        self.outcome = outcome;
        self.reason = Cow::Borrowed(reason);
        self
    }

    /// Records the search of `listener`'s table ([`Router::match_listener`]) in place: the
    /// decision is 144 bytes, and a by-value builder copies it on every request.
    #[inline]
    fn set_matched(
        &mut self,
        listener: u16,
        found: Result<(u32, u16, Option<&str>), (Outcome, &'static str)>,
    ) {
        self.listener = Some(listener);
        match found {
            Err((outcome, why)) => {
                self.outcome = outcome;
                self.reason = Cow::Borrowed(why);
            }
            Ok((rule, match_index, unsupported)) => {
                self.rule = Some(rule);
                self.match_index = match_index;
                match unsupported {
                    Some(why) => {
                        self.outcome = Outcome::ServerError(ServerError::UnsupportedFilter);
                        self.reason = Cow::Owned(why.to_owned());
                    }
                    None => self.outcome = Outcome::Forward,
                }
            }
        }
    }

    fn fail_owned(mut self, outcome: Outcome, reason: String) -> Self {
        self.outcome = outcome;
        self.reason = Cow::Owned(reason);
        self
    }

    /// What to do.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The status to answer with when the proxy answers itself (e.g. 414 for an over-long
    /// target).
    pub fn status(&self) -> Option<u16> {
        self.outcome.status()
    }

    /// Why, for every outcome but `Forward`.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The listener's name.
    pub fn listener(&self) -> Option<&'r str> {
        self.listener
            .and_then(|l| self.router.listeners.get(usize::from(l)))
            .map(|l| &*l.name)
    }

    /// The XListenerSet that declared the listener, as `(namespace, name)`; `None` for the
    /// Gateway's own listeners. Listener names are unique only within one resource, so this and
    /// [`listener`](Self::listener) together name the listener.
    pub fn listener_set(&self) -> Option<(&'r str, &'r str)> {
        self.listener
            .and_then(|l| self.router.listeners.get(usize::from(l)))
            .and_then(|l| l.set.as_ref())
            .map(|(ns, name)| (&**ns, &**name))
    }

    /// The matched route.
    pub fn route(&self) -> Option<RouteId<'r>> {
        let rule = self.compiled_rule()?;
        let route = self.router.routes.get(rule.route as usize)?;
        Some(RouteId {
            kind: route.kind,
            namespace: &route.namespace,
            name: &route.name,
        })
    }

    /// The matched rule.
    pub fn rule(&self) -> Option<RuleId<'r>> {
        let rule = self.compiled_rule()?;
        Some(RuleId {
            index: usize::from(rule.index),
            name: rule.name.as_deref(),
        })
    }

    /// The index of the matching match within the rule.
    pub fn match_index(&self) -> Option<usize> {
        self.rule.map(|_| usize::from(self.match_index))
    }

    /// The canonical host the request was routed on.
    pub fn host(&self) -> &str {
        self.known_host.unwrap_or(&self.host)
    }

    /// The canonical path the request was routed on (and is forwarded with, unless rewritten).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of the request-target as received, before normalization; `None` when the
    /// request was refused before its path was read.
    ///
    /// ```
    /// # use gateway_core::{Engine, EngineOptions, Headers, RequestView, Target};
    /// # let yaml = include_bytes!("../../../examples/manifests/shop.yaml");
    /// # let options = EngineOptions::default();
    /// # let (_, router) = Engine::load_router(yaml, &Target::gateway("shop", "shop"), &options)?;
    /// let headers = [("host", "shop.example.com")];
    /// let req = RequestView::new("GET", b"/a/./b//c", Headers::Pairs(&headers)).port(80);
    /// let decision = router.route(&req);
    /// assert_eq!(decision.received_path(), Some("/a/./b//c"));
    /// assert_eq!(decision.path(), "/a/b/c");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn received_path(&self) -> Option<&str> {
        self.received_path
    }

    /// The query string as received (never normalized).
    pub fn query(&self) -> Option<&'q str> {
        self.query
    }

    /// The rule's weighted backends, in backendRef order.
    pub fn backends(&self) -> &'r [WeightedBackend] {
        self.compiled_rule().map_or(&[], |r| &r.backends)
    }

    /// Chooses a backend with caller-supplied randomness (any `u64`; the same value always
    /// gives the same choice). `None` when the draw lands on an invalid backend's share or the
    /// rule has no weight at all: the proxy answers 500 (Gateway API HTTPBackendRef: "requests
    /// that would have been sent to an invalid backend MUST receive a 500").
    pub fn choose_backend(&self, random: u64) -> Option<&'r Backend> {
        self.draw_backend(random)?.backend.as_ref()
    }

    /// The backendRef entry [`Decision::choose_backend`] draws, invalid ones included: its
    /// index and TLS come with it.
    pub(crate) fn draw_backend(&self, random: u64) -> Option<&'r WeightedBackend> {
        let rule = self.compiled_rule()?;
        if rule.total_weight == 0 {
            return None;
        }
        // Multiply-high maps a uniform u64 onto [0, total) without modulo bias, and keeps
        // evenly spread draws evenly spread.
        let scaled = (u128::from(random) * u128::from(rule.total_weight)) >> 64;
        let mut point = u64::try_from(scaled).unwrap_or(0);
        for b in rule.backends.iter() {
            let w = u64::from(b.weight);
            if point < w {
                return Some(b);
            }
            point -= w;
        }
        None
    }

    fn compiled_rule(&self) -> Option<&'r CompiledRule> {
        self.rule.and_then(|r| self.router.rules.get(r as usize))
    }

    /// The matched rule's session persistence for this request (the cookie `Path` of the
    /// matched path, `Secure` on an HTTPS listener), or why it cannot be applied (its plan
    /// answers 500); `None` when the rule has none. A proxy reads the client's pin with
    /// [`Session::find`] and gives it to [`plan_pinned`](crate::plan::plan_pinned).
    ///
    /// Cost: one look at the rule; no allocation.
    #[inline]
    pub fn session(&self) -> Option<Result<Session<'r>, &'r Reason>> {
        let policy = match self.compiled_rule()?.session.as_deref()? {
            Ok(policy) => policy,
            Err(why) => return Some(Err(why)),
        };
        let secure = self
            .listener_port()
            .is_some_and(|(_, protocol)| protocol == Protocol::Https);
        Some(Ok(Session {
            policy,
            path: policy.cookie_path(usize::from(self.match_index)),
            secure,
        }))
    }

    /// What the filter stage reads of the matched rule.
    pub(crate) fn rule_spec(&self) -> Option<&'r RuleSpec> {
        self.compiled_rule().map(|r| &*r.spec)
    }

    /// The listener's port and protocol.
    pub(crate) fn listener_port(&self) -> Option<(u16, Protocol)> {
        self.listener
            .and_then(|l| self.router.listeners.get(usize::from(l)))
            .map(|l| (l.port, l.protocol))
    }
}
