//! The command line, the endpoints file, and the configuration built from the files: loaded
//! at start, rebuilt when a file changes and swapped in whole.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config, DEFAULT_CONTROLLER_NAME};
use gateway_core::route::Router;
use gateway_core::tls::{BackendTls, FrontendTls, SystemRoots};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::time_provider::{DefaultTimeProvider, TimeProvider};
use tokio_rustls::TlsAcceptor;

pub(crate) const USAGE: &str = "usage: hyper-gateway --gateway NAMESPACE/NAME --endpoints FILE \
[--controller NAME] [--bypass ADDR] [--threads N] [--exit-after N] MANIFEST...";

/// The command line.
pub(crate) struct Args {
    gateway: (String, String),
    endpoints: PathBuf,
    manifests: Vec<PathBuf>,
    controller: String,
    /// Forward every request to this address without routing (the benchmark's baseline).
    pub(crate) bypass: Option<SocketAddr>,
    /// Tokio worker threads (1: a single-threaded runtime).
    pub(crate) threads: usize,
    /// Exit once this many requests have been answered (for callgrind).
    pub(crate) exit_after: Option<u64>,
}

impl Args {
    pub(crate) fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let (mut gateway, mut endpoints, mut manifests) = (None, None, Vec::new());
        let mut parsed = Args {
            gateway: (String::new(), String::new()),
            endpoints: PathBuf::new(),
            manifests: Vec::new(),
            controller: DEFAULT_CONTROLLER_NAME.to_owned(),
            bypass: None,
            threads: 2,
            exit_after: None,
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--gateway" => gateway = Some(value()?),
                "--endpoints" => endpoints = Some(PathBuf::from(value()?)),
                "--controller" => parsed.controller = value()?,
                "--bypass" => parsed.bypass = Some(number(&value()?, "--bypass")?),
                "--threads" => parsed.threads = number(&value()?, "--threads")?,
                "--exit-after" => parsed.exit_after = Some(number(&value()?, "--exit-after")?),
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                _ => manifests.push(PathBuf::from(arg)),
            }
        }
        let gateway = gateway.ok_or("--gateway is required")?;
        let (ns, name) = gateway
            .split_once('/')
            .ok_or("--gateway takes NAMESPACE/NAME")?;
        parsed.gateway = (ns.to_owned(), name.to_owned());
        parsed.endpoints = endpoints.ok_or("--endpoints is required")?;
        if manifests.is_empty() {
            return Err("no manifest files given".into());
        }
        parsed.manifests = manifests;
        Ok(parsed)
    }
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{what}: {text:?} is not valid"))
}

/// A Service's addresses: `(port, or None for every port; address)`.
type Ports = Vec<(Option<u16>, SocketAddr)>;

/// The endpoints file: where the Gateway's ports listen and where Services are.
#[derive(Clone, Debug, Default)]
pub(crate) struct Endpoints {
    /// `(Gateway listener port, local address)`.
    pub(crate) listen: Vec<(u16, SocketAddr)>,
    /// `((namespace, name), ports)` sorted by name: binary search by `&str` pairs without
    /// allocating or hashing.
    services: Vec<((String, String), Ports)>,
}

impl Endpoints {
    /// Lines `listen PORT ADDR` and `NAMESPACE/NAME[:PORT] ADDR`; `#` starts a comment.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut endpoints = Endpoints::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let fields: Vec<&str> = line.split_whitespace().collect();
            let bad = |why: &str| format!("endpoints line {}: {why}: {line:?}", n + 1);
            match fields.as_slice() {
                [] => {}
                ["listen", port, addr] => endpoints.listen.push((
                    port.parse().map_err(|_| bad("bad port"))?,
                    addr.parse().map_err(|_| bad("bad address"))?,
                )),
                [service, addr] => {
                    let (ns, rest) = service.split_once('/').ok_or_else(|| bad("no namespace"))?;
                    let (name, port) = match rest.split_once(':') {
                        Some((name, p)) => (name, Some(p.parse().map_err(|_| bad("bad port"))?)),
                        None => (rest, None),
                    };
                    let addr = addr.parse().map_err(|_| bad("bad address"))?;
                    let key = (ns.to_owned(), name.to_owned());
                    match endpoints.services.binary_search_by(|(k, _)| k.cmp(&key)) {
                        Ok(i) => endpoints.services[i].1.push((port, addr)),
                        Err(i) => endpoints.services.insert(i, (key, vec![(port, addr)])),
                    }
                }
                _ => return Err(bad("expected `listen PORT ADDR` or `NS/NAME[:PORT] ADDR`")),
            }
        }
        Ok(endpoints)
    }

    /// The address of a Service port.
    pub(crate) fn find(&self, namespace: &str, name: &str, port: u16) -> Option<SocketAddr> {
        let at = self
            .services
            .binary_search_by(|((ns, n), _)| (ns.as_str(), n.as_str()).cmp(&(namespace, name)))
            .ok()?;
        let ports = &self.services.get(at)?.1;
        let exact = ports.iter().find(|(p, _)| *p == Some(port));
        exact
            .or_else(|| ports.iter().find(|(p, _)| p.is_none()))
            .map(|(_, addr)| *addr)
    }
}

/// Everything built from one reading of the files.
pub(crate) struct State {
    pub(crate) router: Router,
    pub(crate) frontend: Option<FrontendTls>,
    /// The TLS acceptor of each Gateway port that terminates TLS.
    pub(crate) acceptors: HashMap<u16, TlsAcceptor>,
    pub(crate) endpoints: Endpoints,
    /// Backend TLS client configurations, built on first use, keyed by policy address (the
    /// policies live in `router`, as long as this state).
    backend_clients: Mutex<HashMap<usize, Arc<ClientConfig>>>,
    roots: SystemRoots,
}

/// What the file watcher compares: each file's modification time and length.
pub(crate) type Stamp = Vec<Option<(SystemTime, u64)>>;

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
        let mut snapshot: Option<Snapshot> = None;
        for path in &args.manifests {
            let loaded = Snapshot::load(read(path)?.as_bytes(), &load)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for warning in &loaded.warnings {
                eprintln!("warning: {}: {warning}", path.display());
            }
            match &mut snapshot {
                Some(all) => all.objects.extend(loaded.snapshot.objects),
                None => snapshot = Some(loaded.snapshot),
            }
        }
        let snapshot = snapshot.ok_or("no manifest files")?;
        let mut options = AttachOptions::default();
        options.controller_name.clone_from(&args.controller);
        let config = Config::new(snapshot, options);
        let (ns, name) = &args.gateway;
        let router = Router::build(&config, ns, name).map_err(|e| e.to_string())?;
        let frontend = FrontendTls::for_gateway(&config, ns, name);
        let mut acceptors = HashMap::new();
        for port in frontend.iter().flat_map(|f| &f.ports) {
            let mut server = port
                .server_config(provider(), time())
                .map_err(|e| format!("TLS on port {}: {e}", port.port))?;
            server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            acceptors.insert(port.port, TlsAcceptor::from(Arc::new(server)));
        }
        eprintln!("loaded {} rules for {ns}/{name}", router.rule_count());
        let state = State {
            router,
            frontend,
            acceptors,
            endpoints,
            backend_clients: Mutex::new(HashMap::new()),
            roots: SystemRoots::bundled(),
        };
        Ok((state, stamp))
    }

    /// The rustls client configuration of a backend TLS policy (its verifier, trust and SNI).
    pub(crate) fn backend_client(&self, policy: &BackendTls) -> Result<Arc<ClientConfig>, String> {
        let key = std::ptr::from_ref(policy) as usize;
        let mut cache = self
            .backend_clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(config) = cache.get(&key) {
            return Ok(Arc::clone(config));
        }
        let config = policy
            .client_config(provider(), time(), &self.roots)
            .map_err(|e| format!("backend TLS settings: {e}"))?;
        let config = Arc::new(config);
        cache.insert(key, Arc::clone(&config));
        Ok(config)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn time() -> Arc<dyn TimeProvider> {
    Arc::new(DefaultTimeProvider)
}

fn stamp(args: &Args) -> Stamp {
    let files = args
        .manifests
        .iter()
        .chain(std::iter::once(&args.endpoints));
    files
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) args: Args,
    pub(crate) state: RwLock<Arc<State>>,
    /// The pooled client for plaintext backends, mirrors and the auth service.
    pub(crate) client: Client<HttpConnector, Full<Bytes>>,
    pub(crate) served: AtomicU64,
    /// The state of the SplitMix64 sequence behind [`Shared::random`], randomly seeded.
    pub(crate) draws: AtomicU64,
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
            draws: AtomicU64::new(RandomState::new().hash_one(0u64)),
        }
    }
}

/// Polls the files every 200 ms; when one changed, rebuilds the state off the async threads
/// and swaps it in. A configuration that does not load is reported and the old one kept.
/// Listen addresses are bound once at start.
pub(crate) async fn watch(shared: Arc<Shared>, mut last: Stamp) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let seen = stamp(&shared.args);
        if seen == last {
            continue;
        }
        let worker = Arc::clone(&shared);
        let loaded = tokio::task::spawn_blocking(move || State::load(&worker.args)).await;
        match loaded {
            Ok(Ok((state, stamp))) => {
                *shared.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(state);
                last = stamp;
                eprintln!("reloaded");
            }
            Ok(Err(e)) => {
                eprintln!("reload failed, keeping the previous configuration: {e}");
                last = seen;
            }
            Err(e) => eprintln!("reload failed: {e}"),
        }
    }
}
