//! The command line, the endpoints file, and the configuration built from the files: loaded
//! at start, rebuilt when a file changes and swapped in whole.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use gateway_core::api::{Diagnostic, LoadOptions, Resource, Service, Snapshot};
use gateway_core::attach::{Backend, DEFAULT_CONTROLLER_NAME, RouteKind};
use gateway_core::plan::{BackendProtocol, SplitMix64};
use gateway_core::tls::{BackendTls, FrontendTls, SystemRoots};
use gateway_core::{Engine, EngineOptions, GatewayRef, Router, Target};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustc_hash::FxHashMap;
use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::time_provider::DefaultTimeProvider;
use tokio_rustls::TlsAcceptor;

use crate::backend::{H2cPool, Outgoing, Upstream};
use crate::traffic::{Budgets, Pool, Resolved};

/// hyper-gateway: gateway-core inside a hyper server. Serves one Gateway's listeners on the
/// addresses of the endpoints file, or with `--mesh` one pod's outbound mesh traffic on the
/// Services' cluster addresses; see README.md.
#[derive(clap::Parser)]
pub(crate) struct Args {
    /// The Gateway to serve (gateway mode).
    #[arg(
        long,
        value_name = "NAMESPACE/NAME",
        value_parser = namespaced,
        required_unless_present = "mesh"
    )]
    gateway: Option<GatewayRef>,
    /// Sidecar mode: serve the mesh (GAMMA) as one pod's sidecar, on the `cluster` addresses
    /// of the endpoints file, routing by the address each client dialed.
    #[arg(long, requires = "namespace", conflicts_with_all = ["gateway", "bypass"])]
    mesh: bool,
    /// Sidecar mode: the namespace of the pod served, the client namespace of every request.
    #[arg(long, value_name = "NAMESPACE", requires = "mesh")]
    namespace: Option<String>,
    /// Where the Gateway's ports listen and where Services are (see README.md).
    #[arg(long, value_name = "FILE")]
    endpoints: PathBuf,
    /// The GatewayClass `controllerName` to serve.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_CONTROLLER_NAME)]
    controller: String,
    /// Forward every request to this address without routing (the benchmark's baseline).
    #[arg(long, value_name = "ADDR")]
    pub(crate) bypass: Option<SocketAddr>,
    /// Tokio worker threads (1: a single-threaded runtime).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) threads: usize,
    /// How often to look for changed files, in milliseconds; 0 never looks (for callgrind).
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub(crate) watch_ms: u64,
    /// On SIGTERM or SIGINT: how long requests in flight may take to finish, in milliseconds,
    /// once the listeners are closed.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub(crate) drain_ms: u64,
    /// Exit once this many requests have been answered (for callgrind).
    #[arg(long, value_name = "N")]
    pub(crate) exit_after: Option<u64>,
    /// Manifest files, YAML or JSON.
    #[arg(value_name = "MANIFEST", required = true)]
    manifests: Vec<PathBuf>,
}

impl Args {
    /// In sidecar mode (`--mesh`), the namespace of the pod served; `None` in gateway mode.
    pub(crate) fn sidecar(&self) -> Option<&str> {
        self.namespace.as_deref().filter(|_| self.mesh)
    }
}

/// `NAMESPACE/NAME`: the namespace is required here (no `default` for a bare name).
fn namespaced(text: &str) -> Result<GatewayRef, String> {
    if !text.contains('/') {
        return Err("expected NAMESPACE/NAME".to_owned());
    }
    GatewayRef::parse(text).map_err(|e| e.to_string())
}

/// The endpoints file: where the Gateway's ports listen, where Services' cluster addresses
/// are (sidecar mode) and where Services' endpoints are.
#[derive(Default)]
pub(crate) struct Endpoints {
    /// `(Gateway listener port, local address)`.
    pub(crate) listen: Vec<(u16, SocketAddr)>,
    /// Sidecar mode: the cluster addresses the sidecar listens on, in file order.
    pub(crate) clusters: Vec<Cluster>,
    /// `((namespace, name), port or None for every port, address)` in file order: scanned,
    /// comparing lengths before bytes and without allocating (such a file lists a few
    /// Services; a gateway with many would index them). A Service port with several endpoints
    /// has several lines, each address once.
    services: Vec<((String, String), Option<u16>, SocketAddr)>,
}

/// A `cluster` line: a Service's cluster IP and the Service ports a sidecar listens on there.
pub(crate) struct Cluster {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) ip: IpAddr,
    /// Service ports (`spec.ports[].port`), each listed once, never 0.
    pub(crate) ports: Vec<u16>,
}

impl Endpoints {
    /// Lines `listen PORT ADDR`, `cluster NAMESPACE/NAME IP PORT...` and
    /// `NAMESPACE/NAME[:PORT] ADDR`; `#` starts a comment. The last shape may repeat with other
    /// addresses: the Service (port) has several endpoints, balanced round robin.
    ///
    /// # Errors
    /// A line of another shape, a bad port or address, a Service without namespace, a port 0 or
    /// listed twice on a `cluster` line, one cluster IP on two `cluster` lines, one address
    /// listed twice for the same Service (port).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut endpoints = Endpoints::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let bad = |why: &str| format!("endpoints line {}: {why}: {line:?}", n + 1);
            let port = |p: &str| p.parse::<u16>().map_err(|_| bad("bad port"));
            let addr = |a: &str| a.parse::<SocketAddr>().map_err(|_| bad("bad address"));
            match *line.split_whitespace().collect::<Vec<_>>() {
                [] => {}
                ["listen", p, a] => endpoints.listen.push((port(p)?, addr(a)?)),
                ["cluster", s, ip, ref ports @ ..] if !ports.is_empty() => {
                    let (namespace, name) = s.split_once('/').ok_or_else(|| bad("no namespace"))?;
                    let ip = ip.parse::<IpAddr>().map_err(|_| bad("bad cluster IP"))?;
                    if endpoints.clusters.iter().any(|c| c.ip == ip) {
                        return Err(bad("this cluster IP is on an earlier `cluster` line"));
                    }
                    let mut cluster = Cluster {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                        ip,
                        ports: Vec::new(),
                    };
                    for p in ports {
                        match port(p)? {
                            0 => return Err(bad("a Service port is never 0")),
                            p if cluster.ports.contains(&p) => {
                                return Err(bad("a port listed twice"));
                            }
                            p => cluster.ports.push(p),
                        }
                    }
                    endpoints.clusters.push(cluster);
                }
                ["cluster", ..] => return Err(bad("expected `cluster NS/NAME IP PORT...`")),
                [s, a] => {
                    let (ns, rest) = s.split_once('/').ok_or_else(|| bad("no namespace"))?;
                    let (name, p) = match rest.split_once(':') {
                        Some((name, p)) => (name, Some(port(p)?)),
                        None => (rest, None),
                    };
                    let service = ((ns.to_owned(), name.to_owned()), p, addr(a)?);
                    if endpoints.services.contains(&service) {
                        return Err(bad("this address is already an endpoint of this Service"));
                    }
                    endpoints.services.push(service);
                }
                _ => {
                    return Err(bad(
                        "expected `listen PORT ADDR`, `cluster NS/NAME IP PORT...` or \
                         `NS/NAME[:PORT] ADDR`",
                    ));
                }
            }
        }
        Ok(endpoints)
    }

    /// Sidecar mode: the Service whose `cluster` line has this IP.
    pub(crate) fn cluster(&self, ip: IpAddr) -> Option<&Cluster> {
        let ip = ip.to_canonical();
        self.clusters.iter().find(|c| c.ip.to_canonical() == ip)
    }

    /// Every endpoint of a Service port, in file order: its own lines, else the Service's
    /// lines for every port.
    pub(crate) fn find_all(&self, namespace: &str, name: &str, port: u16) -> Vec<SocketAddr> {
        let named = |(ns, n): &(String, String)| n == name && ns == namespace;
        let lines = self.services.iter().filter(|(s, _, _)| named(s));
        let (own, every): (Vec<_>, Vec<_>) = lines
            .filter(|(_, p, _)| p.is_none_or(|p| p == port))
            .partition(|(_, p, _)| p.is_some());
        let chosen = if own.is_empty() { every } else { own };
        chosen.into_iter().map(|(_, _, addr)| *addr).collect()
    }

    /// The (first) address of a Service port: its own line, else the Service's line for every
    /// port.
    pub(crate) fn find(&self, namespace: &str, name: &str, port: u16) -> Option<SocketAddr> {
        let mut every = None;
        for ((ns, n), p, addr) in &self.services {
            // The port first: one compare of numbers saves two of strings on most lines.
            if p.is_some_and(|p| p != port) || n != name || ns != namespace {
                continue;
            }
            match p {
                Some(_) => return Some(*addr),
                None => every = every.or(Some(*addr)),
            }
        }
        every
    }
}

/// Everything built from one reading of the files.
pub(crate) struct State {
    pub(crate) router: Router,
    pub(crate) frontend: Option<FrontendTls>,
    /// The TLS acceptor of each Gateway port that terminates TLS.
    pub(crate) acceptors: HashMap<u16, TlsAcceptor>,
    pub(crate) endpoints: Endpoints,
    /// The endpoints of each backend of the router's rules, by the backend's address in the
    /// router ([`Router::backends`]): resolved once per load, so a request finds its backend's
    /// endpoint in one hash of a pointer, however many Services the endpoints file lists.
    upstreams: FxHashMap<usize, Resolved>,
    /// The retry budget counts of the backend Services that have a budget (reset on reload).
    pub(crate) budgets: Budgets,
    /// Backend TLS client configurations (or why there is none), built on first use, keyed
    /// by policy address (the policies live in `router`, as long as this state).
    backend_clients: Mutex<HashMap<(usize, BackendProtocol), BackendClient>>,
}

/// A backend TLS client configuration, or why the policy has none.
type BackendClient = Result<Arc<ClientConfig>, String>;

/// The endpoints of each of the router's backends that the endpoints file names, with the
/// protocol its appProtocol asks for, by the backend's address ([`Router::backends`]). A
/// Service port with several endpoints gets one [`Pool`], shared by every rule that uses it.
fn upstreams(router: &Router, endpoints: &Endpoints) -> FxHashMap<usize, Resolved> {
    let mut upstreams = FxHashMap::default();
    let mut pools: HashMap<(&str, &str, u16), Arc<Pool>> = HashMap::new();
    for backend in router.backends() {
        let Entry::Vacant(slot) = upstreams.entry(backend_key(backend)) else {
            continue;
        };
        let (ns, name, port) = (&*backend.namespace, &*backend.name, backend.port);
        let addrs = endpoints.find_all(ns, name, port);
        let Some(&addr) = addrs.first() else {
            continue;
        };
        let first = Upstream {
            addr,
            protocol: protocol(backend),
        };
        let pool = (addrs.len() > 1).then(|| {
            let pool = pools.entry((ns, name, port));
            Arc::clone(pool.or_insert_with(|| Arc::new(Pool::new(addrs))))
        });
        slot.insert(Resolved { first, pool });
    }
    upstreams
}

/// The protocol of an HTTPRoute's backend (a GRPCRoute's is HTTP/2 whatever this says: the
/// request path knows the route kind).
fn protocol(backend: &Backend) -> BackendProtocol {
    BackendProtocol::of(RouteKind::Http, backend.app_protocol.as_deref())
}

/// A backend of the router by its address, which is stable while the router lives.
fn backend_key(backend: &Backend) -> usize {
    std::ptr::from_ref(backend) as usize
}

/// What the file watcher compares: each file's modification time and length.
pub(crate) type Stamp = Vec<Option<(Option<SystemTime>, u64)>>;

impl State {
    /// Reads the manifests and the endpoints file and builds the router and TLS settings.
    pub(crate) fn load(args: &Args) -> Result<(Self, Stamp), String> {
        let stamp = stamp(args);
        let read =
            |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let endpoints = Endpoints::parse(&read(&args.endpoints)?)?;
        // More objects than a cluster-sized default: the benchmark loads 10,000 routes.
        let mut load = LoadOptions::default();
        load.max_resources = 100_000;
        let mut snapshot = Snapshot::default();
        let mut findings = Vec::new();
        for path in &args.manifests {
            let loaded = Snapshot::load(read(path)?.as_bytes(), &load);
            let loaded = loaded.map_err(|e| format!("{}: {e}", path.display()))?;
            for warning in &loaded.warnings {
                eprintln!("warning: {}: {warning}", path.display());
            }
            findings.extend(loaded.warnings);
            snapshot.extend(loaded.snapshot);
        }
        let mut options = EngineOptions::default();
        options.attach.controller_name.clone_from(&args.controller);
        let target = match (args.sidecar(), &args.gateway) {
            (Some(namespace), _) => {
                let loaded = (endpoints, snapshot, findings);
                return Ok((Self::load_mesh(namespace, loaded, options)?, stamp));
            }
            (None, Some(gateway)) => Target::Gateway(gateway.clone()),
            (None, None) => return Err("--gateway or --mesh is required".to_owned()),
        };
        if !endpoints.clusters.is_empty() {
            return Err("endpoints: `cluster` lines are for sidecar mode (--mesh)".to_owned());
        }
        let engine = Engine::from_snapshot(snapshot, findings, &options);
        let router = engine.router(&target).map_err(|e| e.to_string())?;
        let (ns, name) = router.gateway();
        let frontend = FrontendTls::for_gateway(engine.config(), ns, name);
        let mut acceptors = HashMap::new();
        for port in frontend.iter().flat_map(|f| &f.ports) {
            let server = port.server_config(provider(), Arc::new(DefaultTimeProvider));
            let mut server = server.map_err(|e| format!("TLS on port {}: {e}", port.port))?;
            // A port without HTTP listeners terminates TLS for TLSRoutes (`l4.rs`): its
            // bytes are not HTTP, so no application protocol is offered.
            if router.serves_http(port.port) {
                server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            }
            acceptors.insert(port.port, TlsAcceptor::from(Arc::new(server)));
        }
        eprintln!("loaded {} rules for {ns}/{name}", router.rule_count());
        let backend_clients = Mutex::default();
        let upstreams = upstreams(&router, &endpoints);
        let state = State {
            router,
            frontend,
            acceptors,
            upstreams,
            budgets: Budgets::default(),
            endpoints,
            backend_clients,
        };
        Ok((state, stamp))
    }

    /// The endpoints of one of the router's backends ([`Router::backends`]), resolved at load.
    pub(crate) fn resolved(&self, backend: &Backend) -> Option<&Resolved> {
        self.upstreams.get(&backend_key(backend))
    }

    /// Where to send a request for `backend` (the next of its endpoints): resolved at load for
    /// the router's own backends, else (a mirror's copy of one, an auth service) looked up by
    /// name.
    #[inline]
    pub(crate) fn upstream(&self, backend: &Backend) -> Option<Upstream> {
        match self.upstreams.get(&backend_key(backend)) {
            Some(resolved) => Some(resolved.next()),
            None => self.upstream_by_name(backend),
        }
    }

    /// [`State::upstream`] of a backend that is not one of the router's.
    #[inline(never)]
    fn upstream_by_name(&self, backend: &Backend) -> Option<Upstream> {
        let Backend {
            namespace,
            name,
            port,
            ..
        } = backend;
        let addr = self.endpoints.find(namespace, name, *port)?;
        let protocol = protocol(backend);
        Some(Upstream { addr, protocol })
    }

    /// Sidecar mode: the mesh router, for clients in `namespace`, of the manifests with the
    /// endpoints file's cluster IPs. The mesh is ours (`AttachOptions::mesh`).
    fn load_mesh(
        namespace: &str,
        (endpoints, mut snapshot, findings): (Endpoints, Snapshot, Vec<Diagnostic>),
        mut options: EngineOptions,
    ) -> Result<Self, String> {
        if !endpoints.listen.is_empty() {
            let why = "endpoints: `listen` lines are for gateway mode; a sidecar listens on the \
                       `cluster` lines' addresses";
            return Err(why.to_owned());
        }
        if endpoints.clusters.is_empty() {
            return Err("endpoints: sidecar mode (--mesh) needs `cluster` lines".to_owned());
        }
        assign_cluster_ips(&mut snapshot, &endpoints.clusters)?;
        options.attach.mesh = true;
        let engine = Engine::from_snapshot(snapshot, findings, &options);
        let router = engine.router(&Target::Mesh).map_err(|e| e.to_string())?;
        let rules = router.rule_count();
        eprintln!("loaded {rules} mesh rules for clients in namespace {namespace}");
        let upstreams = upstreams(&router, &endpoints);
        Ok(State {
            router,
            frontend: None,
            acceptors: HashMap::new(),
            upstreams,
            budgets: Budgets::default(),
            endpoints,
            backend_clients: Mutex::default(),
        })
    }

    /// The rustls client configuration of a backend TLS policy (its verifier, trust and SNI),
    /// offering ALPN `h2` then `http/1.1` for an HTTP/2 backend; built on first use.
    pub(crate) fn backend_client(
        &self,
        policy: &BackendTls,
        protocol: BackendProtocol,
    ) -> Result<Arc<ClientConfig>, String> {
        let key = (std::ptr::from_ref(policy) as usize, protocol);
        let cache = self.backend_clients.lock();
        let mut cache = cache.unwrap_or_else(PoisonError::into_inner);
        let build = || {
            let time = Arc::new(DefaultTimeProvider);
            let config = policy.client_config(provider(), time, &SystemRoots::bundled());
            let mut config = config.map_err(|e| format!("backend TLS settings: {e}"))?;
            if protocol == BackendProtocol::Http2 {
                config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            }
            Ok(Arc::new(config))
        };
        cache.entry(key).or_insert_with(build).clone()
    }
}

/// Reconciles the `cluster` lines with the manifests, where gateway-core learns cluster IPs
/// (`spec.clusterIP`, `spec.clusterIPs`): a Service without one gets the lines' IPs, as the API
/// server would allocate them; a Service with one must have the line's IP among them.
///
/// # Errors
/// Naming the Service: it is not in the manifests, lacks a listed port, is headless, has other
/// cluster IPs in the manifests, or another Service has the line's IP there.
fn assign_cluster_ips(snapshot: &mut Snapshot, clusters: &[Cluster]) -> Result<(), String> {
    let key = |s: &Service| (s.metadata.namespace.clone(), s.metadata.name.clone());
    let services = snapshot.objects.iter().filter_map(|o| match &o.resource {
        Resource::Service(s) => Some(s),
        _ => None,
    });
    // Every cluster IP the manifests give, to its Service (before any is assigned here).
    let mut declared = HashMap::new();
    for s in services {
        for ip in cluster_ips(s)?.into_iter().flatten() {
            declared.entry(ip).or_insert_with(|| key(s));
        }
    }
    let mut assigned = HashSet::new();
    for c in clusters {
        let (ns, name) = (&c.namespace, &c.name);
        let is_it =
            |s: &Service| s.metadata.namespace.as_ref() == Some(ns) && s.metadata.name == *name;
        let service = snapshot
            .objects
            .iter_mut()
            .find_map(|o| match &mut o.resource {
                Resource::Service(s) if is_it(s) => Some(s),
                _ => None,
            });
        let service = service.ok_or_else(|| {
            format!("endpoints: Service {ns}/{name} of a `cluster` line is not in the manifests")
        })?;
        if let Some((other_ns, other)) = declared.get(&c.ip.to_canonical())
            && (other_ns.as_ref() != Some(ns) || other != name)
        {
            let other = format!("{}/{other}", other_ns.as_deref().unwrap_or(""));
            return Err(format!(
                "endpoints: cluster IP {} of Service {ns}/{name} is Service {other}'s in the \
                 manifests",
                c.ip
            ));
        }
        for port in &c.ports {
            if !service
                .spec
                .ports
                .iter()
                .any(|p| p.port == i32::from(*port))
            {
                return Err(format!(
                    "endpoints: Service {ns}/{name} has no port {port} in the manifests"
                ));
            }
        }
        let own = match cluster_ips(service)? {
            None => {
                return Err(format!(
                    "endpoints: Service {ns}/{name} is headless (clusterIP: None) in the \
                     manifests: it has no cluster IP"
                ));
            }
            Some(own) => own,
        };
        let ip = serde_json::Value::String(c.ip.to_string());
        if own.is_empty() || assigned.contains(&(ns, name)) {
            // Not in the manifests: the file's IPs become the Service's, in `clusterIPs`.
            let list = service.spec.other.entry("clusterIPs".to_owned());
            let list = list.or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let serde_json::Value::Array(list) = list {
                list.push(ip);
            }
            assigned.insert((ns, name));
        } else if !own.contains(&c.ip.to_canonical()) {
            let own: Vec<String> = own.iter().map(IpAddr::to_string).collect();
            return Err(format!(
                "endpoints: Service {ns}/{name} has cluster IP {} in the manifests, the \
                 endpoints file gives {}",
                own.join(", "),
                c.ip
            ));
        }
    }
    Ok(())
}

/// A Service's cluster IPs in its manifest (`spec.clusterIP` and `spec.clusterIPs`), canonical,
/// each once; `None` for a headless Service (`None`).
///
/// # Errors
/// A value that is neither an IP address nor `None`.
fn cluster_ips(s: &Service) -> Result<Option<Vec<IpAddr>>, String> {
    let single = s.spec.other.get("clusterIP").into_iter();
    let many = s.spec.other.get("clusterIPs").and_then(|v| v.as_array());
    let mut ips = Vec::new();
    for value in single.chain(many.into_iter().flatten()) {
        match value.as_str().map(|t| (t, t.parse::<IpAddr>())) {
            Some(("None", _)) => return Ok(None),
            // `clusterIP` is also the first of `clusterIPs`.
            Some((_, Ok(ip))) if !ips.contains(&ip.to_canonical()) => ips.push(ip.to_canonical()),
            Some((_, Ok(_))) => {}
            _ => {
                let (ns, name) = (s.metadata.namespace.as_deref(), &s.metadata.name);
                let ns = ns.unwrap_or("");
                return Err(format!("Service {ns}/{name}: bad cluster IP {value}"));
            }
        }
    }
    Ok(Some(ips))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn stamp(args: &Args) -> Stamp {
    let files = args.manifests.iter().chain([&args.endpoints]);
    let stamp = |m: std::fs::Metadata| (m.modified().ok(), m.len());
    let stamps = files.map(|p| std::fs::metadata(p).ok().map(stamp));
    stamps.collect()
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) args: Args,
    state: RwLock<Arc<State>>,
    /// The pooled client for plaintext HTTP/1.1 backends and the auth service.
    pub(crate) client: Client<HttpConnector, Outgoing>,
    /// The connections to plaintext HTTP/2 backends.
    pub(crate) h2c: H2cPool,
    pub(crate) served: AtomicU64,
    /// Set on SIGTERM or SIGINT: listeners stop accepting and connections close once their
    /// requests in flight are answered. Every accept loop and connection holds a receiver, so
    /// the sender sees when all are gone.
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    /// The `random` argument of each plan, from a randomly seeded sequence.
    pub(crate) draws: SplitMix64,
}

impl Shared {
    pub(crate) fn new(args: Args, state: State) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Shared {
            args,
            state: RwLock::new(Arc::new(state)),
            client: Client::builder(TokioExecutor::new()).build(connector),
            h2c: H2cPool::default(),
            served: AtomicU64::new(0),
            stop: tokio::sync::watch::Sender::new(false),
            draws: SplitMix64::new(RandomState::new().hash_one(0u64)),
        }
    }

    /// The configuration new requests use.
    pub(crate) fn current(&self) -> Arc<State> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Polls the files every `--watch-ms` (never for 0); when one changed, rebuilds the state off
/// the async threads and swaps it in. A configuration that does not load is reported and the
/// old one kept. Listen addresses are bound once at start.
pub(crate) async fn watch(shared: Arc<Shared>, mut last: Stamp) {
    let every = Duration::from_millis(shared.args.watch_ms);
    while !every.is_zero() {
        tokio::time::sleep(every).await;
        let seen = stamp(&shared.args);
        if seen == last {
            continue;
        }
        let worker = Arc::clone(&shared);
        match tokio::task::spawn_blocking(move || State::load(&worker.args)).await {
            Ok(Ok((state, stamp))) => {
                *shared.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(state);
                last = stamp;
                eprintln!("reloaded");
            }
            Ok(Err(e)) => {
                last = seen;
                eprintln!("reload failed, keeping the previous configuration: {e}");
            }
            Err(e) => eprintln!("reload failed: {e}"),
        }
    }
    std::future::pending().await
}

#[cfg(test)]
mod tests;
