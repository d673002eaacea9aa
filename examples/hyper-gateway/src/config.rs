//! The command line, the endpoints file, and the configuration built from the files: loaded
//! at start, rebuilt when a file changes and swapped in whole.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{Backend, DEFAULT_CONTROLLER_NAME};
use gateway_core::plan::SplitMix64;
use gateway_core::tls::{BackendTls, FrontendTls, SystemRoots};
use gateway_core::{Engine, EngineOptions, GatewayRef, Router, Target};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustc_hash::FxHashMap;
use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::time_provider::DefaultTimeProvider;
use tokio_rustls::TlsAcceptor;

/// hyper-gateway: gateway-core inside a hyper server. Serves one Gateway's listeners on the
/// addresses of the endpoints file; see README.md.
#[derive(clap::Parser)]
pub(crate) struct Args {
    /// The Gateway to serve.
    #[arg(long, value_name = "NAMESPACE/NAME", value_parser = namespaced)]
    gateway: GatewayRef,
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
    /// Exit once this many requests have been answered (for callgrind).
    #[arg(long, value_name = "N")]
    pub(crate) exit_after: Option<u64>,
    /// Manifest files, YAML or JSON.
    #[arg(value_name = "MANIFEST", required = true)]
    manifests: Vec<PathBuf>,
}

/// `NAMESPACE/NAME`: the namespace is required here (no `default` for a bare name).
fn namespaced(text: &str) -> Result<GatewayRef, String> {
    if !text.contains('/') {
        return Err("expected NAMESPACE/NAME".to_owned());
    }
    GatewayRef::parse(text).map_err(|e| e.to_string())
}

/// The endpoints file: where the Gateway's ports listen and where Services are.
#[derive(Default)]
pub(crate) struct Endpoints {
    /// `(Gateway listener port, local address)`.
    pub(crate) listen: Vec<(u16, SocketAddr)>,
    /// `((namespace, name), port or None for every port, address)` in file order: scanned,
    /// comparing lengths before bytes and without allocating (such a file lists a few
    /// Services; a gateway with many would index them).
    services: Vec<((String, String), Option<u16>, SocketAddr)>,
}

impl Endpoints {
    /// Lines `listen PORT ADDR` and `NAMESPACE/NAME[:PORT] ADDR`; `#` starts a comment.
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
                [service, a] => {
                    let (ns, rest) = service.split_once('/').ok_or_else(|| bad("no namespace"))?;
                    let (name, p) = match rest.split_once(':') {
                        Some((name, p)) => (name, Some(port(p)?)),
                        None => (rest, None),
                    };
                    let service = ((ns.to_owned(), name.to_owned()), p, addr(a)?);
                    endpoints.services.push(service);
                }
                _ => return Err(bad("expected `listen PORT ADDR` or `NS/NAME[:PORT] ADDR`")),
            }
        }
        Ok(endpoints)
    }

    /// The address of a Service port: its own line, else the Service's line for every port.
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
    /// The address of each backend of the router's rules, by the backend's address in the
    /// router ([`Router::backends`]): resolved once per load, so a request finds its backend's
    /// endpoint in one hash of a pointer, however many Services the endpoints file lists.
    upstreams: FxHashMap<usize, SocketAddr>,
    /// Backend TLS client configurations (or why there is none), built on first use, keyed
    /// by policy address (the policies live in `router`, as long as this state).
    backend_clients: Mutex<HashMap<usize, Result<Arc<ClientConfig>, String>>>,
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
        let engine = Engine::from_snapshot(snapshot, findings, &options);
        let target = Target::Gateway(args.gateway.clone());
        let router = engine.router(&target).map_err(|e| e.to_string())?;
        let (ns, name) = router.gateway();
        let frontend = FrontendTls::for_gateway(engine.config(), ns, name);
        let mut acceptors = HashMap::new();
        for port in frontend.iter().flat_map(|f| &f.ports) {
            let server = port.server_config(provider(), Arc::new(DefaultTimeProvider));
            let mut server = server.map_err(|e| format!("TLS on port {}: {e}", port.port))?;
            server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            acceptors.insert(port.port, TlsAcceptor::from(Arc::new(server)));
        }
        eprintln!("loaded {} rules for {ns}/{name}", router.rule_count());
        let backend_clients = Mutex::default();
        let mut upstreams = FxHashMap::default();
        for backend in router.backends() {
            if let Entry::Vacant(slot) = upstreams.entry(backend_key(backend))
                && let Some(addr) = endpoints.find(&backend.namespace, &backend.name, backend.port)
            {
                slot.insert(addr);
            }
        }
        let state = State {
            router,
            frontend,
            acceptors,
            endpoints,
            upstreams,
            backend_clients,
        };
        Ok((state, stamp))
    }

    /// The address to send a request for `backend` to: resolved at load for the router's own
    /// backends, else (a mirror's copy of one, an auth service) looked up by name.
    pub(crate) fn upstream(&self, backend: &Backend) -> Option<SocketAddr> {
        match self.upstreams.get(&backend_key(backend)) {
            Some(addr) => Some(*addr),
            None => {
                let Backend {
                    namespace,
                    name,
                    port,
                    ..
                } = backend;
                self.endpoints.find(namespace, name, *port)
            }
        }
    }

    /// The rustls client configuration of a backend TLS policy (its verifier, trust and SNI),
    /// built on first use.
    pub(crate) fn backend_client(&self, policy: &BackendTls) -> Result<Arc<ClientConfig>, String> {
        let key = std::ptr::from_ref(policy) as usize;
        let cache = self.backend_clients.lock();
        let mut cache = cache.unwrap_or_else(PoisonError::into_inner);
        let build = || {
            let time = Arc::new(DefaultTimeProvider);
            let config = policy.client_config(provider(), time, &SystemRoots::bundled());
            let config = config.map_err(|e| format!("backend TLS settings: {e}"))?;
            Ok(Arc::new(config))
        };
        cache.entry(key).or_insert_with(build).clone()
    }
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
    /// The pooled client for plaintext backends, mirrors and the auth service.
    pub(crate) client: Client<HttpConnector, Full<Bytes>>,
    pub(crate) served: AtomicU64,
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
            served: AtomicU64::new(0),
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
