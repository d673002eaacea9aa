//! `hyper-gateway`: gateway-core inside a real hyper server. It serves one Gateway's listeners
//! on local addresses, routes each request with the library and executes the plan: header
//! edits, redirects, rewrites, mirrors, CORS, weighted backends, external auth over HTTP and
//! gRPC (`authz.rs`), WebSocket upgrades (`upgrade.rs`), backend TLS (BackendTLSPolicy) and
//! frontend TLS (SNI, per-port client certificates and the 421 guard), each backend in the
//! protocol it speaks (HTTP/1.1, h2c, `h2` over TLS: see `backend.rs`), with
//! `x-forwarded-for`/`-proto`. Manifests and the endpoints file are
//! reloaded when they change; requests in flight finish on the configuration they started
//! with, and on SIGTERM before the process exits. TLS passthrough, TCP and UDP listeners are
//! served by `l4.rs`. With `--mesh` it is instead one pod's sidecar in the mesh (GAMMA): see
//! `mesh.rs`. See README.md.

mod authz;
mod backend;
mod config;
mod l4;
mod mesh;
mod traffic;
mod upgrade;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use gateway_core::attach::RouteKind;
use gateway_core::filter::{
    AttemptDeadline, BUDGET_EXHAUSTED_STATUS, Retry, RetryBudget, SetSession, Timeouts,
    for_http1_backend, for_http2_backend,
};
use gateway_core::plan::authz::{
    AuthCheck, AuthOptions, AuthProtocol, AuthResponse, authorize_with_body,
};
use gateway_core::plan::{BackendProtocol, ForwardPlan, LocalResponse, Plan, plan};
use gateway_core::request::RequestView;
use gateway_core::route::{Destination, MeshRoute};
use gateway_core::tls::{BackendTls, ClientAuth, Coalescing, FrontendTls};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::HeaderMap;
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::UnixTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use backend::{Outgoing, Upstream, absolute, buffered, send};
use config::{Args, Shared, State};
use traffic::{BudgetCounts, Sticky};

/// mimalloc: per-request allocations (hyper's buffers, the client's futures) cost the same
/// whatever the heap looks like, which glibc's allocator does not (see load.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The body of every response the gateway sends.
type Body = BoxBody<Bytes, hyper::Error>;

/// Largest request body read whole (for mirrors, retries and external auth with
/// `forwardBody`), in bytes; other bodies stream whatever their size.
const MAX_BODY: usize = 1 << 20;
/// How long the external auth service may take.
const AUTH_TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    // Bad arguments: clap prints the usage and exits with status 2.
    let args = Args::parse();
    let mut runtime = match args.threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if args.threads > 1 {
        runtime.worker_threads(args.threads);
    }
    let runtime = runtime.enable_all().build();
    let result = runtime.map_err(|e| format!("tokio: {e}"));
    if let Err(e) = result.and_then(|rt| rt.block_on(run(args))) {
        eprintln!("hyper-gateway: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Loads the configuration, binds every listener, then serves until killed.
async fn run(args: Args) -> Result<(), String> {
    let (state, stamp) = State::load(&args)?;
    if args.sidecar().is_some() {
        let shared = Arc::new(Shared::new(args, state));
        mesh::listen(&shared).await?;
        return until_stopped(shared, stamp).await;
    }
    let listen = state.endpoints.listen.clone();
    let shared = Arc::new(Shared::new(args, state));
    for (port, addr) in listen {
        // TLS passthrough, TCP and UDP listeners are served by l4.rs; HTTP(S) ones here.
        let (http, local) = l4::listen(port, addr, &shared).await?;
        // Tests and scripts read these lines to find the ports.
        println!("listening {port} {local}");
        if let Some(listener) = http {
            tokio::spawn(accept(listener, port, Arc::clone(&shared)));
        }
    }
    until_stopped(shared, stamp).await
}

/// Watches the files until SIGTERM or SIGINT; then closes the listeners (new connections are
/// refused), lets the requests in flight finish, for at most `--drain-ms`, and returns.
async fn until_stopped(shared: Arc<Shared>, stamp: config::Stamp) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
    tokio::select! {
        () = config::watch(Arc::clone(&shared), stamp) => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("stopping: the listeners are closed, requests in flight finish");
    shared.stop.send_replace(true);
    let drain = Duration::from_millis(shared.args.drain_ms);
    match tokio::time::timeout(drain, shared.stop.closed()).await {
        Ok(()) => eprintln!("stopped"),
        Err(_) => eprintln!("stopped after --drain-ms: the connections left are closed"),
    }
    Ok(())
}

/// The next connection on a listener, or `None` once the gateway stops (`Shared::stop`).
pub(crate) async fn next_connection(
    listener: &TcpListener,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            accepted = listener.accept() => if let Ok(accepted) = accepted {
                return Some(accepted);
            },
            _ = stop.wait_for(|stop| *stop) => return None,
        }
    }
}

/// What a request needs to know about its connection.
struct Conn {
    /// The Gateway listener port it was accepted on (in sidecar mode, the dialed port).
    port: u16,
    /// For TLS: the server name and what the client certificate proved.
    tls: Option<(Option<String>, ClientAuth)>,
    /// Sidecar mode: the cluster address and port the client dialed, the mesh destination
    /// its requests are routed by (`mesh.rs`). `None` on a Gateway listener.
    dialed: Option<SocketAddr>,
    /// The client's IP address, as `x-forwarded-for` carries it: formatted once per
    /// connection, not per request.
    client: HeaderValue,
    shared: Arc<Shared>,
}

impl Conn {
    /// A connection from `peer` to a Gateway listener.
    fn gateway(
        port: u16,
        peer: SocketAddr,
        tls: Option<(Option<String>, ClientAuth)>,
        shared: Arc<Shared>,
    ) -> Self {
        let (dialed, client) = (None, client_ip(peer));
        Self {
            port,
            tls,
            dialed,
            client,
            shared,
        }
    }

    /// A sidecar's connection from `peer`, to the cluster address `to`.
    fn sidecar(to: SocketAddr, peer: SocketAddr, shared: Arc<Shared>) -> Self {
        let (port, tls, dialed, client) = (to.port(), None, Some(to), client_ip(peer));
        Self {
            port,
            tls,
            dialed,
            client,
            shared,
        }
    }

    /// `http` or `https`: the protocol of the listener, as `x-forwarded-proto` carries it.
    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// A peer's IP address as a header value.
fn client_ip(peer: SocketAddr) -> HeaderValue {
    let ip = peer.ip().to_canonical().to_string();
    // An IP address in text is always a valid header value.
    HeaderValue::from_str(&ip).unwrap_or(HeaderValue::from_static("unknown"))
}

/// Tells the backend who the client is and how it connected, in the routing path and the
/// `--bypass` path alike (the load benchmark compares the two): `x-forwarded-for` gets the
/// client's IP appended (a list received from the client is kept in front of it, the de facto
/// convention), and `x-forwarded-proto` is set to the listener's `http` or `https` (whatever
/// the client sent). `x-forwarded-host` is not added: the backend receives the client's
/// `Host`/`:authority` unless a URLRewrite filter replaces it on purpose.
fn forwarded(headers: &mut HeaderMap, conn: &Conn) {
    let ip = conn.client.clone();
    let joined = match headers.get(&X_FORWARDED_FOR).map(HeaderValue::as_bytes) {
        None => ip,
        Some(earlier) => {
            let mut list = Vec::with_capacity(earlier.len() + 2 + ip.len());
            list.extend_from_slice(earlier);
            list.extend_from_slice(b", ");
            list.extend_from_slice(ip.as_bytes());
            HeaderValue::from_bytes(&list).unwrap_or(ip)
        }
    };
    headers.insert(X_FORWARDED_FOR.clone(), joined);
    let proto = HeaderValue::from_static(conn.scheme());
    headers.insert(X_FORWARDED_PROTO.clone(), proto);
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Accepts connections on one listener; terminates TLS on the ports that have it.
async fn accept(listener: TcpListener, port: u16, shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    while let Some((tcp, peer)) = next_connection(&listener, &mut stop).await {
        let _ = tcp.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let state = shared.current();
            let Some(acceptor) = state.acceptors.get(&port).cloned() else {
                return serve(tcp, Conn::gateway(port, peer, None, shared)).await;
            };
            let stream = match acceptor.accept(tcp).await {
                Ok(stream) => stream,
                Err(e) => return eprintln!("port {port}: TLS handshake failed: {e}"),
            };
            let (_, session) = stream.get_ref();
            let auth = match state.frontend.as_ref().and_then(|f| f.port(port)) {
                Some(p) => p.client_auth(session.peer_certificates(), UnixTime::now()),
                None => ClientAuth::NotRequested,
            };
            let tls = Some((session.server_name().map(str::to_owned), auth));
            drop(state);
            serve(stream, Conn::gateway(port, peer, tls, shared)).await;
        });
    }
}

/// Serves HTTP/1.1 and HTTP/2 (by ALPN, or cleartext with prior knowledge) on a connection;
/// once the gateway stops, answers the requests in flight and closes (HTTP/2: GOAWAY).
async fn serve(io: impl AsyncRead + AsyncWrite + Unpin + Send + 'static, conn: Conn) {
    let mut stop = conn.shared.stop.subscribe();
    let conn = Arc::new(conn);
    let service = hyper::service::service_fn(move |req| {
        let conn = Arc::clone(&conn);
        async move { Ok::<_, Infallible>(handle(req, &conn).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // With upgrades: an HTTP/1.1 connection can be handed over to a WebSocket (upgrade.rs).
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        biased;
        _ = connection.as_mut() => return,
        _ = stop.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}

/// One request: route it (or forward it to the bypass backend) and log one line,
/// `METHOD authority+path STATUS namespace/route rule=NAME|INDEX DURATIONus`.
async fn handle(req: Request<Incoming>, conn: &Conn) -> Response<Body> {
    let (start, shared) = (Instant::now(), &*conn.shared);
    // Built in one buffer and written with one call (stderr is unbuffered). The status is
    // written over the `000` once known; what served the request is appended after it.
    let mut line = Vec::with_capacity(128);
    let (method, path) = (req.method().as_str(), req.uri().path());
    push(&mut line, &[method, " ", authority(&req), path, " 000 "]);
    let status_at = line.len() - 4;
    let response = route(req, conn, &mut line).await;
    line[status_at..status_at + 3].copy_from_slice(response.status().as_str().as_bytes());
    let mut micros = itoa::Buffer::new();
    let micros = micros.format(start.elapsed().as_micros() as u64);
    push(&mut line, &[" ", micros, "us\n"]);
    let _ = std::io::Write::write_all(&mut std::io::stderr(), &line);
    let served = shared.served.fetch_add(1, Ordering::Relaxed) + 1;
    if shared.args.exit_after == Some(served) {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            std::process::exit(0);
        });
    }
    response
}

/// Appends to the log line; numbers are formatted with `itoa`, not the formatting machinery
/// (this runs for every request). Inlined, so that constant pieces are stores, not calls.
#[inline(always)]
fn push(line: &mut Vec<u8>, pieces: &[&str]) {
    for piece in pieces {
        line.extend_from_slice(piece.as_bytes());
    }
}

/// Routes, authorizes and executes one request, or with `--bypass` forwards it without
/// routing; appends what served it to `log`. In sidecar mode the mesh router routes it by the
/// dialed destination, and a request no route applies to passes through (`mesh.rs`).
async fn route(req: Request<Incoming>, conn: &Conn, log: &mut Vec<u8>) -> Response<Body> {
    let shared = &*conn.shared;
    // The configuration this request starts with: it keeps it to the end, reloads or not.
    let state = &*shared.current();
    // The body streams to the backend as it arrives, unless something needs it again (below).
    let mut req = req.map(Either::Right);
    forwarded(req.headers_mut(), conn);
    if let Some(addr) = shared.args.bypass {
        // The plain proxy the load benchmark compares with: no routing, one backend.
        log.extend_from_slice(b"bypass");
        for_http1_backend(&mut req);
        let sent = send(req, Upstream::http1(addr), None, shared).await;
        return sent.map_or_else(local, |response| response.map(BodyExt::boxed));
    }
    // The request target as received: the path (HTTP/2 too), or an HTTP/1.x absolute form,
    // the only one that needs rebuilding into one string.
    let uri = req.uri();
    let absolute_form = req.version() != Version::HTTP_2 && uri.scheme().is_some();
    let absolute = absolute_form.then(|| uri.to_string());
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = absolute.as_deref().unwrap_or(path_and_query);
    let sni = conn.tls.as_ref().and_then(|(sni, _)| sni.as_deref());
    let view = RequestView::from_http(&req, target.as_bytes(), conn.port);
    let view = view.scheme(conn.scheme()).sni(sni);
    let decision = match conn.dialed {
        // Sidecar mode: by the dialed destination, for the pod's namespace.
        Some(to) => {
            let namespace = shared.args.sidecar().unwrap_or_default();
            let destination = Destination::address(to.ip(), to.port());
            match state.router.route_mesh(&view, namespace, &destination) {
                MeshRoute::Routed(decision) => decision,
                MeshRoute::PassThrough(why) => {
                    push(log, &["pass-through (", why.reason(), ")"]);
                    return mesh::pass_through(req, to, state, shared).await;
                }
                _ => return local(LocalResponse::proxy(500, "a mesh answer unknown")),
            }
        }
        None => {
            // GEP-3567: on a TLS connection, a request for another listener's host is refused.
            if let Some((sni, auth)) = &conn.tls {
                let (sni, authority) = (sni.as_deref(), authority(&req));
                let guard = |f: &FrontendTls| f.coalescing_check(conn.port, sni, auth, authority);
                let frontend = state.frontend.as_ref();
                let verdict = frontend.map_or(Coalescing::Misdirected, guard);
                if let (Some(outcome), Some(status)) = (verdict.outcome(), verdict.status()) {
                    log.extend_from_slice(b"coalescing-guard");
                    let why = "refused by the coalescing guard";
                    return local(LocalResponse::new(outcome, status, why));
                }
            }
            state.router.route(&view)
        }
    };
    let kind = match (decision.route(), decision.rule()) {
        (Some(r), Some(rule)) => {
            let mut index = itoa::Buffer::new();
            let rule = rule.name.unwrap_or_else(|| index.format(rule.index));
            push(log, &[r.namespace, "/", r.name, " rule=", rule]);
            r.kind
        }
        _ => {
            push(log, &["- (", decision.reason(), ")"]);
            RouteKind::Http
        }
    };
    // GEP-1619: a live session pin chooses the backendRef (and the endpoint); boxed, as what
    // only such rules use (the future of every request carries it).
    let mut sticky: Option<Box<Sticky>> = None;
    let random = shared.draws.draw();
    let mut next = match decision.session() {
        Some(Ok(session)) => {
            let (planned, found) = traffic::plan_sticky(&decision, &session, &view, state, random);
            sticky = Some(found);
            planned
        }
        _ => plan(&decision, &view, random),
    };
    drop(decision);
    // The body, once read whole: only for an auth check with `forwardBody`, mirrors or a retry
    // policy, which send it more than once (at most MAX_BODY bytes, else 413).
    let mut body = None;
    if let Plan::Authorize(check) = &next {
        if check.max_body.is_some() {
            match buffer(req).await {
                Ok((buffered, bytes)) => (req, body) = (buffered, Some(bytes)),
                Err(refused) => return local(refused),
            }
        }
        let auth = async |check: &AuthCheck<'_>| ask(check, state, shared).await;
        let sent = body.as_deref().unwrap_or_default();
        next = authorize_with_body(next, sent, &AuthOptions::default(), auth).await;
    }
    let fp = match next {
        Plan::Forward(ref fp) => fp,
        Plan::Respond(r) => return local(r),
        _ => return local(LocalResponse::proxy(500, "unknown plan")),
    };
    // The pinned endpoint when the plan followed the pin, else the backend's next endpoint.
    let pinned = sticky.as_ref().and_then(|s| s.pinned.as_ref());
    let followed = pinned.filter(|p| fp.pinned && p.index == fp.backend_index);
    let upstream = match followed {
        Some(pinned) => Some(pinned.to),
        None => state.upstream(fp.backend),
    };
    let Some(mut to) = upstream else {
        return local(LocalResponse::proxy(503, "the backend has no endpoints"));
    };
    // The session header of the response (a new session, or the renewed one).
    let set_session = match (&fp.session, &sticky) {
        (Some(session), Some(sticky)) => {
            let (index, now) = (fp.backend_index, sticky.now);
            traffic::session_header(session, index, followed, to.addr, now).map(Box::new)
        }
        _ => None,
    };
    // XBackendTrafficPolicy retryConstraint: every request to a Service with a budget counts.
    let budget = (fp.retry_budget.as_ref()).map(|budget| state.budgets.count(fp.backend, budget));
    // A GRPCRoute's backends speak HTTP/2 whatever their appProtocol (BackendProtocol::of);
    // the route kind is the request's, the rest was decided at load.
    if kind == RouteKind::Grpc {
        to.protocol = BackendProtocol::Http2;
    }
    // Connection headers go before the edits, which may set any header. A backend whose
    // protocol allows upgrades keeps a WebSocket handshake's (gateway-core decides).
    let upgrade = match to.protocol {
        BackendProtocol::Http1 => {
            for_http1_backend(&mut req);
            None
        }
        BackendProtocol::Http2 => {
            for_http2_backend(&mut req);
            None
        }
        protocol => protocol.for_http1_backend(&mut req),
    };
    if let Err(e) = fp.request.apply(&mut req) {
        return local(LocalResponse::proxy(500, e.to_string()));
    }
    if let Some(upgrade) = upgrade {
        // Boxed: rare, and its state would otherwise grow every request's future.
        let tls = fp.backend_tls.map(|t| (t, state));
        let mut response = Box::pin(upgrade::forward(req, upgrade, to, tls, fp, shared)).await;
        if let Some(set) = set_session
            && response.status() == hyper::StatusCode::SWITCHING_PROTOCOLS
        {
            add_session(response.headers_mut(), *set);
        }
        return response;
    }
    if body.is_none() && (!fp.mirrors.is_empty() || fp.retry.is_some()) {
        match buffer(req).await {
            Ok((buffered, bytes)) => (req, body) = (buffered, Some(bytes)),
            Err(refused) => return local(refused),
        }
    }
    let body = body.unwrap_or_default();
    if !fp.mirrors.is_empty() {
        start_mirrors(fp, kind, (&req, &body), state, &conn.shared);
    }
    // The backend call is awaited here, not in a nested future: each level of nesting copies
    // the whole future once more per request.
    let tls = fp.backend_tls.map(|t| (t, state));
    let result = match fp.retry {
        // Boxed: its state (a request copy, the timers) would otherwise grow this future, and
        // every request moves that.
        Some(retry) => {
            let policy = (fp.timeouts, retry, budget.as_deref());
            let retried = send_with_retries((req, body), to, tls, policy, shared);
            Box::pin(retried).await
        }
        None => match fp.timeouts.shortest() {
            Some(limit) => match tokio::time::timeout(limit, send(req, to, tls, shared)).await {
                Ok(result) => result,
                Err(_) => Err(LocalResponse::proxy(504, "backend timeout")),
            },
            None => send(req, to, tls, shared).await,
        },
    };
    result.map_or_else(local, |mut response| {
        fp.response.apply(response.headers_mut());
        if let Some(set) = set_session {
            add_session(response.headers_mut(), *set);
        }
        response.map(BodyExt::boxed)
    })
}

/// Adds the header that carries a session token (`Set-Cookie`, or the session header) to a
/// response; the core built both name and value from valid parts.
fn add_session(headers: &mut HeaderMap, SetSession { name, value, .. }: SetSession) {
    let name = HeaderName::from_bytes(name.as_bytes());
    if let (Ok(name), Ok(value)) = (name, HeaderValue::try_from(value)) {
        headers.append(name, value);
    }
}

/// Reads a request's body whole, for what sends it more than once: the request with the body
/// buffered, and the body; 413 beyond MAX_BODY bytes.
async fn buffer(req: Request<Outgoing>) -> Result<(Request<Outgoing>, Bytes), LocalResponse> {
    let (parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        return Err(LocalResponse::proxy(413, "body too large"));
    };
    let body = body.to_bytes();
    Ok((Request::from_parts(parts, buffered(body.clone())), body))
}

/// Retries after the first attempt when the rule's `retry` leaves `attempts` to us (Envoy's
/// default too).
const DEFAULT_RETRIES: u32 = 1;
/// The wait before the first retry when the rule's `retry` leaves `backoff` to us; later
/// retries wait as long (the core's doubling applies to a configured backoff only).
const DEFAULT_BACKOFF: Duration = Duration::from_millis(25);

/// Sends with the rule's retry policy (GEP-1731), as the core decides each step: an attempt
/// is tried again when the backend answers a code of the policy ([`Retry::should_retry`]),
/// when it does not answer within its deadline ([`Timeouts::attempt_deadline`]:
/// `timeouts.backendRequest`, and what is left of `timeouts.request`, which bounds the whole
/// exchange, retries and backoffs included), or when a plaintext connection to it fails; not
/// when a TLS backend fails its BackendTLSPolicy (that is the policy's verdict, not a transient
/// fault). Retry `n` is made when [`Retry::allows`] it (with `attempts` unset, at most
/// [`DEFAULT_RETRIES`]), after [`Retry::backoff_before`]`(n)`, and, when the backend's Service
/// has a retry budget, only when [`RetryBudget::allows_retry`] agrees: else the client gets
/// [`BUDGET_EXHAUSTED_STATUS`] (503). Otherwise the last answer goes to the client.
async fn send_with_retries(
    (req, body): (Request<Outgoing>, Bytes),
    to: Upstream,
    tls: Option<(&BackendTls, &State)>,
    (timeouts, retry, budget): (Timeouts, &Retry, Option<&(RetryBudget, Arc<BudgetCounts>)>),
    shared: &Shared,
) -> Result<Response<Incoming>, LocalResponse> {
    let start = Instant::now();
    let request_timeout = || Err(LocalResponse::proxy(504, "request timeout"));
    let mut retried = 0;
    loop {
        let attempt = send(copy_request(&req, &body), to, tls, shared);
        let result = match timeouts.attempt_deadline(start.elapsed()) {
            AttemptDeadline::Expired => return request_timeout(),
            AttemptDeadline::Within(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(result) => result,
                // Which timeout struck: the whole exchange's, or the attempt's.
                Err(_) => match timeouts.attempt_deadline(start.elapsed()) {
                    AttemptDeadline::Expired => return request_timeout(),
                    _ => Err(LocalResponse::proxy(504, "backend timeout")),
                },
            },
            _ => attempt.await,
        };
        let again = match &result {
            Ok(response) => retry.should_retry(response.status().as_u16()),
            Err(refused) => refused.status == 504 || tls.is_none(),
        };
        let next = retried + 1;
        let allowed = retry.allows(next).unwrap_or(next <= DEFAULT_RETRIES);
        if !again || !allowed {
            return result;
        }
        if let Some((budget, counts)) = budget
            && !counts.take_retry(budget)
        {
            let why = "retry budget exhausted (XBackendTrafficPolicy retryConstraint)";
            return Err(LocalResponse::proxy(BUDGET_EXHAUSTED_STATUS, why));
        }
        drop(result);
        retried = next;
        let backoff = retry.backoff_before(next).unwrap_or(DEFAULT_BACKOFF);
        // The backoff counts against `timeouts.request`: wait at most what is left of it.
        let wait = match timeouts.attempt_deadline(start.elapsed()) {
            AttemptDeadline::Expired => return request_timeout(),
            _ => match timeouts.request.duration() {
                Some(total) => backoff.min(total.saturating_sub(start.elapsed())),
                None => backoff,
            },
        };
        tokio::time::sleep(wait).await;
    }
}

/// Another copy of a request whose body was read whole (the body is shared, not copied).
fn copy_request(req: &Request<Outgoing>, body: &Bytes) -> Request<Outgoing> {
    let mut copy = Request::new(buffered(body.clone()));
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    copy
}

/// Sends a copy of the (edited) request to each of the plan's mirrors, in the background; their
/// answers are ignored.
/// Each in the protocol its Service port asks for, or HTTP/2 for a GRPCRoute's.
fn start_mirrors(
    fp: &ForwardPlan<'_>,
    kind: RouteKind,
    (req, body): (&Request<Outgoing>, &Bytes),
    state: &State,
    shared: &Arc<Shared>,
) {
    for mirror in &fp.mirrors {
        let m = &mirror.backend;
        if let Some(addr) = state.endpoints.find(&m.namespace, &m.name, m.port) {
            let protocol = BackendProtocol::of(kind, m.app_protocol.as_deref());
            let mut copy = copy_request(req, body);
            if protocol != BackendProtocol::Http2 {
                for_http1_backend(&mut copy);
            }
            let shared = Arc::clone(shared);
            let to = Upstream { addr, protocol };
            tokio::spawn(async move { send(copy, to, None, &shared).await });
        }
    }
}

/// Calls the external auth service over HTTP, or over gRPC (`authz.rs`), and reads its
/// answer; within AUTH_TIMEOUT.
async fn ask(check: &AuthCheck<'_>, state: &State, shared: &Shared) -> AuthResponse {
    let b = &check.backend;
    let Some(addr) = state.endpoints.find(&b.namespace, &b.name, b.port) else {
        return AuthResponse::Unreachable;
    };
    if check.protocol() == AuthProtocol::Grpc {
        let call = authz::check_grpc(check, addr, shared);
        return tokio::time::timeout(AUTH_TIMEOUT, call)
            .await
            .unwrap_or(AuthResponse::Timeout);
    }
    let Ok(req) = check.to_http_request() else {
        return AuthResponse::Malformed("the HTTP check request cannot be built".into());
    };
    let call = async {
        let req = absolute(req.map(|body| buffered(Bytes::from(body))), addr);
        let (head, body) = shared.client.request(req).await.ok()?.into_parts();
        let body = Limited::new(body, MAX_BODY).collect().await.ok()?;
        let answer = Response::from_parts(head, body.to_bytes());
        Some(AuthResponse::from_http(answer))
    };
    match tokio::time::timeout(AUTH_TIMEOUT, call).await {
        Ok(Some(answer)) => answer,
        Ok(None) => AuthResponse::Unreachable,
        Err(_) => AuthResponse::Timeout,
    }
}

/// `:authority` (HTTP/2) or the Host header, as received.
fn authority<B>(req: &Request<B>) -> &str {
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok());
    let authority = req.uri().authority().map(|a| a.as_str());
    authority.or(host).unwrap_or("")
}

/// A response the gateway makes itself: a redirect, a CORS preflight, a denial or an error.
fn local(r: LocalResponse) -> Response<Body> {
    let body = |body: Vec<u8>| Full::from(body).map_err(|never| match never {}).boxed();
    r.into_http().map(body)
}
