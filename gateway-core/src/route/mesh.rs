//! The mesh router (GAMMA): for a request a client sends to a Service, the route, rule and
//! backends the routes attached to that Service port say must win, or that none applies.
//!
//! The mesh router is a [`Router`] whose tables are one per Service port and client scope
//! instead of one per listener: [`Router::build_mesh`] compiles them from the mesh attachment
//! (see `attach/mesh.rs`) with the same rule compiler, indexes and precedence as a Gateway's,
//! and [`Router::route_mesh`] runs the same request checks, canonicalization and matching as
//! [`Router::route`] once the table is chosen. Only the choice of the table differs:
//!
//! 1. The destination is a Service port, given by name or as an address and port; an address
//!    resolves through the Services' `spec.clusterIP` and `spec.clusterIPs` (an IPv4-mapped
//!    IPv6 address as the IPv4 address it maps).
//! 2. The client's namespace picks among the routes of that port: consumer routes of the
//!    client's namespace if there are any, else the producer routes (routes in the Service's
//!    namespace).
//! 3. With no such routes, [`MeshRoute::PassThrough`]: the request goes to the destination as
//!    the client addressed it ([`Outcome::PassThrough`]), unchanged. Only the checks that make
//!    a request malformed whatever its destination come first (the header limits, the header
//!    fields and the method, as [`Router::route`] makes them): those are refused with 400 or
//!    431, never passed through. The path is not canonicalized for a pass-through.
//! 4. With routes, the request is matched as on a Gateway listener without a hostname (route
//!    hostnames are ignored): a rule that matches gives the decision, none gives 404
//!    ([`NotFound::NoRule`](crate::outcome::NotFound::NoRule)).
//!
//! The TLS server name plays no part: mesh traffic is routed by its destination.

use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::build::{ListenerCx, RuleCompiler, route_order, shrink};
use super::index::HostIndex;
use super::{BuildError, CompiledListener, Decision, Router, Select};
use crate::api::Resource;
use crate::attach::{Attached, Config, Protocol};
use crate::outcome::Outcome;
use crate::request::RequestView;
use crate::request::normalize::PathPolicy;
use crate::tls::FrontendTls;

/// Where a client sent a mesh request.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Destination<'a> {
    /// A Service port by name (the client resolved the Service's DNS name).
    Service {
        /// The Service's namespace.
        namespace: &'a str,
        /// The Service's name.
        name: &'a str,
        /// The Service port.
        port: u16,
    },
    /// An address and port: a Service's cluster IP, or anything else (then no route applies).
    Address {
        /// The address the client connected to.
        ip: IpAddr,
        /// The port.
        port: u16,
    },
}

impl<'a> Destination<'a> {
    /// The Service `namespace/name`, port `port`.
    pub const fn service(namespace: &'a str, name: &'a str, port: u16) -> Self {
        Self::Service {
            namespace,
            name,
            port,
        }
    }

    /// The address `ip`, port `port`.
    pub const fn address(ip: IpAddr, port: u16) -> Self {
        Self::Address { ip, port }
    }
}

/// The mesh router's answer: a decision of the routes that apply, or none applies.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum MeshRoute<'r, 'q> {
    /// Routes apply to the destination for this client: the decision of their rules (forward,
    /// 404 when no rule matches, 400 when the request cannot be canonicalized, ...). Plan it
    /// with [`crate::plan::plan`] like a Gateway's.
    Routed(Decision<'r, 'q>),
    /// No route applies: forward the request unchanged to the destination as addressed.
    PassThrough(PassThrough),
}

impl<'r, 'q> MeshRoute<'r, 'q> {
    /// What to do: the decision's outcome, or [`Outcome::PassThrough`].
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Routed(d) => d.outcome(),
            Self::PassThrough(_) => Outcome::PassThrough,
        }
    }

    /// The decision, when routes apply.
    pub fn decision(&self) -> Option<&Decision<'r, 'q>> {
        match self {
            Self::Routed(d) => Some(d),
            Self::PassThrough(_) => None,
        }
    }

    /// Why, for every outcome but `Forward`.
    pub fn reason(&self) -> &str {
        match self {
            Self::Routed(d) => d.reason(),
            Self::PassThrough(p) => p.reason(),
        }
    }
}

/// No mesh route applies to a request: it goes to its destination as addressed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassThrough {
    reason: &'static str,
}

impl PassThrough {
    /// Why no route applies.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// The mesh tables of a router: Service ports to their tables, cluster IPs to Services.
#[derive(Clone, Debug, Default)]
pub(super) struct MeshIndex {
    /// Namespace, then name, then the ports that have routes.
    services: HashMap<Box<str>, ServicesByName>,
    /// Cluster IPs of every Service, to its `(namespace, name)`.
    addresses: HashMap<IpAddr, (Box<str>, Box<str>)>,
}

/// The Services of one namespace that routes attach to, by name, with their ports' tables.
type ServicesByName = HashMap<Box<str>, Vec<(u16, Scopes)>>;

/// The tables of one Service port: the producer routes', and each consumer namespace's.
#[derive(Clone, Debug, Default)]
struct Scopes {
    producer: Option<u16>,
    consumers: Vec<(Box<str>, u16)>,
}

impl Router {
    /// Compiles the mesh router of a configuration: every Service port routes attach to, with
    /// the path policy `policy`. [`Engine::router`](crate::Engine::router) with
    /// [`Target::Mesh`](crate::Target::Mesh) is the usual way to call it. Cost: linear in the
    /// mesh routes' rules and the Services; allocates the router.
    ///
    /// # Errors
    /// [`BuildError::MeshNotEnabled`] when the mesh is not ours
    /// ([`AttachOptions::mesh`](crate::attach::AttachOptions::mesh) is off and no XMesh of our
    /// controller exists).
    pub fn build_mesh(config: &Config, policy: PathPolicy) -> Result<Self, BuildError> {
        let Some(ports) = config.mesh.as_deref() else {
            return Err(BuildError::MeshNotEnabled);
        };
        let mut router = Self {
            gateway_namespace: "".into(),
            gateway_name: "".into(),
            ports: Vec::new(),
            listeners: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            predicates: Vec::new(),
            policy,
            // A mesh has no Gateway listeners: no frontend TLS of the Gateway API kind (the
            // mesh's own mTLS between sidecars is outside the API).
            frontend_tls: Arc::new(FrontendTls::without_ports("", "")),
            mesh: None,
        };
        let route_order = route_order(config);
        let mut route_ids = HashMap::default();
        let mut compiler = RuleCompiler::new(config, None);
        let mut index = MeshIndex::default();
        for p in ports {
            let mut scopes: Vec<Option<&str>> = Vec::new();
            for a in &p.routes {
                if !scopes.contains(&a.consumer.as_deref()) {
                    scopes.push(a.consumer.as_deref());
                }
            }
            let mut tables = Scopes::default();
            for scope in scopes {
                let mut attached: Vec<Attached> = Vec::new();
                for a in p.routes.iter().filter(|a| a.consumer.as_deref() == scope) {
                    if !attached.iter().any(|b| b.route == a.route) {
                        attached.push(Attached {
                            route: a.route,
                            hostnames: Vec::new(),
                        });
                    }
                }
                let name = match scope {
                    None => format!("{}/{}:{}", p.namespace, p.name, p.port),
                    Some(ns) => format!("{}/{}:{} (consumer {ns})", p.namespace, p.name, p.port),
                };
                let mut listener = CompiledListener {
                    name: name.into(),
                    set: None,
                    port: p.port,
                    protocol: Protocol::Http,
                    hostname: None,
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
                cx.add_routes(&mut listener, &attached);
                listener.http.sort();
                listener.grpc.sort();
                let id = u16::try_from(router.listeners.len()).unwrap_or(u16::MAX);
                router.listeners.push(listener);
                match scope {
                    None => tables.producer = Some(id),
                    Some(ns) => tables.consumers.push((ns.into(), id)),
                }
            }
            index
                .services
                .entry(p.namespace.as_str().into())
                .or_default()
                .entry(p.name.as_str().into())
                .or_default()
                .push((p.port, tables));
        }
        index.addresses = cluster_ips(config);
        router.mesh = Some(Box::new(index));
        shrink(&mut router);
        Ok(router)
    }

    /// Whether this is a mesh router ([`Router::build_mesh`]); its requests go through
    /// [`Router::route_mesh`], and [`Router::route`] finds no listener on any port.
    pub fn is_mesh(&self) -> bool {
        self.mesh.is_some()
    }

    /// Routes one mesh request that a client in `client_namespace` sent to `destination`.
    /// Cost: a few hash lookups to find the Service port's table (none of them allocates),
    /// then the same as [`Router::route`] once a listener is chosen; independent of the number
    /// of routes and Services; no allocation for canonical targets.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::route::{Destination, MeshRoute};
    /// use gateway_core::{Engine, EngineOptions, Headers, RequestView, Target};
    /// let yaml = "
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: echo, namespace: app}
    /// spec: {clusterIP: 10.0.0.7, ports: [{port: 80}]}
    /// ---
    /// apiVersion: gateway.networking.k8s.io/v1
    /// kind: HTTPRoute
    /// metadata: {name: echo, namespace: app}
    /// spec:
    ///   parentRefs: [{group: '', kind: Service, name: echo}]
    ///   rules:
    ///   - matches: [{path: {type: PathPrefix, value: /v2}}]
    ///     backendRefs: [{name: echo, port: 80}]
    /// ";
    /// let mut options = EngineOptions::default();
    /// options.attach.mesh = true;
    /// let (_, router) = Engine::load_router(yaml.as_bytes(), &Target::Mesh, &options)?;
    /// let headers = [("host", "echo")];
    /// let req = RequestView::new("GET", b"/v2/a", gateway_core::Headers::Pairs(&headers));
    /// let to_echo = Destination::service("app", "echo", 80);
    /// let MeshRoute::Routed(d) = router.route_mesh(&req, "app", &to_echo) else {
    ///     panic!("a route applies")
    /// };
    /// assert_eq!(d.route().map(|r| r.name), Some("echo"));
    /// // Another port of the Service, or an address that is no Service's: no route applies.
    /// let elsewhere = Destination::address([10, 0, 0, 8].into(), 80);
    /// assert!(matches!(router.route_mesh(&req, "app", &elsewhere), MeshRoute::PassThrough(_)));
    /// # Ok::<(), gateway_core::EngineError>(())
    /// ```
    pub fn route_mesh<'r, 'q>(
        &'r self,
        req: &RequestView<'q>,
        client_namespace: &str,
        destination: &Destination<'_>,
    ) -> MeshRoute<'r, 'q> {
        let pass = |reason| MeshRoute::PassThrough(PassThrough { reason });
        let Some(mesh) = self.mesh.as_deref() else {
            return pass("this router is a Gateway's, not the mesh's");
        };
        // A malformed request is refused whatever its destination: passed through, a CR LF in
        // a header value would reach the destination as an injected header line just the same.
        let headers = match self.check_request(req) {
            Ok(headers) => headers,
            Err((outcome, why)) => {
                return MeshRoute::Routed(Decision::new(self).fail(outcome, why));
            }
        };
        let (namespace, name, port) = match *destination {
            Destination::Service {
                namespace,
                name,
                port,
            } => (namespace, name, port),
            // An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket reports
            // for an IPv4 peer) is that IPv4 address.
            Destination::Address { ip, port } => match mesh.addresses.get(&ip.to_canonical()) {
                Some((namespace, name)) => (&**namespace, &**name, port),
                None => return pass("the address is no Service's cluster IP"),
            },
        };
        let scopes = mesh
            .services
            .get(namespace)
            .and_then(|names| names.get(name))
            .and_then(|ports| ports.iter().find(|(p, _)| *p == port))
            .map(|(_, scopes)| scopes);
        let Some(scopes) = scopes else {
            return pass("no route attaches to the Service port");
        };
        // GEP-1294: consumer routes apply to clients of their own namespace, and take
        // precedence there over the producer routes.
        let consumer = scopes
            .consumers
            .iter()
            .find(|(ns, _)| &**ns == client_namespace)
            .map(|(_, l)| *l);
        let Some(listener) = consumer.or(scopes.producer) else {
            return pass("only consumer routes of other namespaces attach to the Service port");
        };
        MeshRoute::Routed(self.route_checked(req, headers, Select::Listener(listener)))
    }
}

/// Every Service's cluster IPs (`spec.clusterIP` and `spec.clusterIPs`; `None` for headless
/// Services is not an address), to the Service. Of two Services with one address, the first
/// in the snapshot keeps it.
fn cluster_ips(config: &Config) -> HashMap<IpAddr, (Box<str>, Box<str>)> {
    let mut out: HashMap<IpAddr, (Box<str>, Box<str>)> = HashMap::default();
    for r in config.snapshot().resources() {
        let Resource::Service(s) = r else { continue };
        let Some(ns) = s.metadata.namespace.as_deref() else {
            continue;
        };
        let single = s.spec.other.get("clusterIP").into_iter();
        let many = s
            .spec
            .other
            .get("clusterIPs")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten();
        for value in single.chain(many) {
            let Some(ip) = value.as_str().and_then(|v| v.parse::<IpAddr>().ok()) else {
                continue;
            };
            let ip = ip.to_canonical();
            out.entry(ip)
                .or_insert_with(|| (ns.into(), s.metadata.name.as_str().into()));
        }
    }
    out
}
