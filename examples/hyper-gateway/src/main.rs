//! `hyper-gateway`: gateway-core inside a real hyper server. It serves one Gateway's listeners
//! on local addresses, routes each request with the library and executes the plan: header
//! edits, redirects, rewrites, mirrors, CORS, weighted backends, external auth over HTTP,
//! backend TLS (BackendTLSPolicy) and frontend TLS (SNI, per-port client certificates and the
//! 421 guard). Manifests and the endpoints file are reloaded when they change; requests in
//! flight finish on the configuration they started with. See README.md.

mod config;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gateway_core::authz::{AuthCheck, AuthOptions, AuthResponse};
use gateway_core::filter::{ForwardPlan, LocalResponse, Plan, plan};
use gateway_core::request::RequestView;
use gateway_core::tls::{BackendTls, ClientAuth, coalescing_check};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Request, Response, Uri, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::UnixTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use config::{Args, Shared, State};

/// The body of every response the gateway sends.
type Body = BoxBody<Bytes, hyper::Error>;

/// Largest request body buffered (for mirrors and external auth), in bytes.
const MAX_BODY: usize = 1 << 20;
/// How long the external auth service may take.
const AUTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Headers that describe one connection and are never forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn main() -> std::process::ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("hyper-gateway: {e}\n{}", config::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let mut runtime = match args.threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if args.threads > 1 {
        runtime.worker_threads(args.threads);
    }
    let result = runtime
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))
        .and_then(|rt| rt.block_on(run(args)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper-gateway: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Loads the configuration, binds every listener, then serves until killed.
async fn run(args: Args) -> Result<(), String> {
    let (state, stamp) = State::load(&args)?;
    let listen = state.endpoints.listen.clone();
    let shared = Arc::new(Shared::new(args, state));
    for (port, addr) in listen {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("listen {port} on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        // Tests and scripts read these lines to find the ports.
        println!("listening {port} {local}");
        tokio::spawn(accept(listener, port, Arc::clone(&shared)));
    }
    config::watch(shared, stamp).await;
    Ok(())
}

/// What a request needs to know about its connection.
struct Conn {
    /// The Gateway listener port it was accepted on.
    port: u16,
    /// For TLS: the server name and what the client certificate proved.
    tls: Option<(Option<String>, ClientAuth)>,
}

async fn accept(listener: TcpListener, port: u16, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let state = shared.current();
            let Some(acceptor) = state.acceptors.get(&port).cloned() else {
                return serve(tcp, Conn { port, tls: None }, shared).await;
            };
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => return eprintln!("port {port}: TLS handshake failed: {e}"),
            };
            let (_, session) = tls.get_ref();
            let sni = session.server_name().map(str::to_owned);
            let auth = match state.frontend.as_ref().and_then(|f| f.port(port)) {
                Some(p) => p.client_auth(session.peer_certificates(), UnixTime::now()),
                None => ClientAuth::NotRequested,
            };
            drop(state);
            serve(
                tls,
                Conn {
                    port,
                    tls: Some((sni, auth)),
                },
                shared,
            )
            .await;
        });
    }
}

/// Serves HTTP/1.1 and HTTP/2 (by ALPN, or cleartext with prior knowledge) on a connection.
async fn serve<S>(io: S, conn: Conn, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(conn);
    let service = hyper::service::service_fn(move |req| {
        let (conn, shared) = (Arc::clone(&conn), Arc::clone(&shared));
        async move { Ok::<_, Infallible>(handle(req, &conn, &shared).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

/// One request: route it, or forward it to the bypass backend; log one line.
async fn handle(req: Request<Incoming>, conn: &Conn, shared: &Shared) -> Response<Body> {
    let start = Instant::now();
    let state = shared.current();
    // Built in one buffer and written with one call: stderr is unbuffered.
    let mut line = String::with_capacity(128);
    for piece in [
        req.method().as_str(),
        " ",
        authority(&req),
        req.uri().path(),
        " ",
    ] {
        line.push_str(piece);
    }
    let (response, what) = match shared.args.bypass {
        Some(addr) => (bypass(req, addr, shared).await, Label::Other("bypass")),
        None => route(req, conn, &state, shared).await,
    };
    push_number(&mut line, response.status().as_u16().into());
    line.push(' ');
    match what {
        Label::Rule(ns, name, rule, index) => {
            for piece in [ns, "/", name, " rule="] {
                line.push_str(piece);
            }
            match rule {
                Some(rule) => line.push_str(rule),
                None => push_number(&mut line, index as u64),
            }
        }
        Label::Other(text) => line.push_str(text),
        Label::Unmatched(reason) => {
            line.push_str("- (");
            line.push_str(&reason);
            line.push(')');
        }
    }
    line.push(' ');
    push_number(&mut line, start.elapsed().as_micros() as u64);
    line.push_str("us\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    let served = shared.served.fetch_add(1, Ordering::Relaxed) + 1;
    if shared.args.exit_after == Some(served) {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            std::process::exit(0);
        });
    }
    response
}

/// What served a request, for the log line.
enum Label<'s> {
    /// `(route namespace, route name, rule name, rule index)`.
    Rule(&'s str, &'s str, Option<&'s str>, usize),
    /// No rule: why.
    Unmatched(String),
    Other(&'static str),
}

/// Appends `n` in decimal without the formatting machinery (this runs once per request).
fn push_number(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// The plain proxy the load benchmark compares with: no routing, one backend.
async fn bypass(req: Request<Incoming>, addr: SocketAddr, shared: &Shared) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return local(&LocalResponse::new(413, "request body too large")),
    };
    origin_form(&mut parts);
    match send(Request::from_parts(parts, body), addr, None, shared).await {
        Ok(response) => response.map(BodyExt::boxed),
        Err(why) => local(&LocalResponse::new(502, why)),
    }
}

/// Routes, authorizes and executes one request; also says which rule served it, for the log.
async fn route<'s>(
    req: Request<Incoming>,
    conn: &Conn,
    state: &'s State,
    shared: &'s Shared,
) -> (Response<Body>, Label<'s>) {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return (
                local(&LocalResponse::new(413, "body too large")),
                Label::Other("-"),
            );
        }
    };
    let head = Request::from_parts(parts, ());
    // The request target as received: the path for HTTP/2, origin- or absolute-form for 1.x.
    // Only an absolute-form HTTP/1.x target needs rebuilding into one string.
    let path_and_query = head.uri().path_and_query().map_or("/", |p| p.as_str());
    let absolute;
    let target = match head.version() {
        Version::HTTP_2 => path_and_query,
        _ if head.uri().scheme().is_none() => path_and_query,
        _ => {
            absolute = head.uri().to_string();
            absolute.as_str()
        }
    };
    let sni = conn.tls.as_ref().and_then(|(sni, _)| sni.as_deref());
    let scheme = if conn.tls.is_some() { "https" } else { "http" };
    let view = RequestView::from_http(&head, target.as_bytes(), conn.port)
        .scheme(scheme)
        .sni(sni);
    // GEP-3567: a coalesced HTTP/2 connection must not reach another listener's routes.
    if let Some((sni, auth)) = &conn.tls {
        let port = state.frontend.as_ref().and_then(|f| f.port(conn.port));
        let verdict = port.map(|port| {
            let connection = port.connection(sni.as_deref(), auth.clone());
            coalescing_check(&connection, authority(&head), port)
        });
        if let Some(status) = verdict.map_or(Some(421), |v| v.status()) {
            let why = LocalResponse::new(status, "refused by the coalescing guard");
            return (local(&why), Label::Other("coalescing-guard"));
        }
    }
    let decision = state.router.route(&view);
    let what = match (decision.route(), decision.rule()) {
        (Some(r), Some(rule)) => Label::Rule(r.namespace, r.name, rule.name, rule.index),
        _ => Label::Unmatched(decision.reason().to_string()),
    };
    let mut next = plan(&decision, &view, shared.random());
    drop(decision);
    let options = AuthOptions::default();
    if let Plan::Authorize(check) = next {
        next = match check.with_body(&body, &options) {
            Plan::Authorize(check) => {
                let answer = ask(&check, state, shared).await;
                check.answer(answer, &options)
            }
            other => other,
        };
    }
    let fp = match next {
        Plan::Forward(fp) => fp,
        Plan::Respond(r) => return (local(&r), what),
        _ => return (local(&LocalResponse::new(500, "unknown plan")), what),
    };
    // The backend call is awaited here, not in a nested future: each level of nesting copies
    // the whole future once more per request.
    let (req, addr, deadline) = match prepare(&fp, head, body, state, shared) {
        Ok(prepared) => prepared,
        Err(why) => return (local(&why), what),
    };
    let call = send(req, addr, fp.backend_tls.map(|t| (t, state)), shared);
    let result = match deadline {
        Some(limit) => tokio::time::timeout(limit, call)
            .await
            .unwrap_or_else(|_| Err("timeout".into())),
        None => call.await,
    };
    let response = match result {
        Ok(mut response) => {
            fp.response.apply(response.headers_mut());
            response.map(BodyExt::boxed)
        }
        Err(why) if why == "timeout" => local(&LocalResponse::new(504, "backend timeout")),
        Err(why) => local(&LocalResponse::new(502, why)),
    };
    (response, what)
}

/// Applies a forward plan's request edits, starts its mirrors, and says where to send the
/// request and within which deadline (the rule's timeouts).
fn prepare(
    fp: &ForwardPlan<'_>,
    head: Request<()>,
    body: Bytes,
    state: &State,
    shared: &Shared,
) -> Result<(Request<Bytes>, SocketAddr, Option<Duration>), LocalResponse> {
    let (mut parts, ()) = head.into_parts();
    origin_form(&mut parts);
    let mut req = Request::from_parts(parts, body);
    if let Err(e) = fp.request.apply(&mut req) {
        return Err(LocalResponse::new(500, e.to_string()));
    }
    let b = fp.backend;
    let Some(addr) = state.endpoints.find(&b.namespace, &b.name, b.port) else {
        return Err(LocalResponse::new(503, "the backend has no endpoints"));
    };
    for mirror in &fp.mirrors {
        let m = &mirror.backend;
        if let Some(to) = state.endpoints.find(&m.namespace, &m.name, m.port) {
            let mut copy = Request::new(Full::new(req.body().clone()));
            *copy.method_mut() = req.method().clone();
            *copy.uri_mut() = req.uri().clone();
            *copy.headers_mut() = req.headers().clone();
            let client = shared.client.clone();
            tokio::spawn(async move {
                let _ = client.request(absolute(copy, to)).await;
            });
        }
    }
    let limits = [fp.timeouts.request, fp.timeouts.backend_request];
    let deadline = limits.iter().filter_map(|t| t.duration()).min();
    Ok((req, addr, deadline))
}

/// Sends a request (origin-form URI, Host header set) to a backend address, over TLS with
/// the policy's verifier when one applies, and returns the response head with its body.
async fn send(
    req: Request<Bytes>,
    addr: SocketAddr,
    tls: Option<(&BackendTls, &State)>,
    shared: &Shared,
) -> Result<Response<Incoming>, String> {
    let Some((policy, state)) = tls else {
        let req = absolute(req.map(Full::new), addr);
        let mut response = shared
            .client
            .request(req)
            .await
            .map_err(|e| e.to_string())?;
        strip_hop_by_hop(response.headers_mut());
        return Ok(response);
    };
    let config = state.backend_client(policy)?;
    let name = policy
        .server_name()
        .ok_or("the policy's hostname is not a server name")?;
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("backend TLS: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut response = sender
        .send_request(req.map(Full::new))
        .await
        .map_err(|e| e.to_string())?;
    strip_hop_by_hop(response.headers_mut());
    Ok(response)
}

/// Calls the external auth service over HTTP and reads its answer. gRPC auth is not
/// implemented here: it fails closed.
async fn ask(check: &AuthCheck<'_>, state: &State, shared: &Shared) -> AuthResponse {
    let b = &check.backend;
    let Some(addr) = state.endpoints.find(&b.namespace, &b.name, b.port) else {
        return AuthResponse::Unreachable;
    };
    let Ok(req) = check.to_http_request() else {
        return AuthResponse::Malformed("gRPC external auth is not supported here".into());
    };
    let call = async {
        let req = absolute(req.map(|b| Full::new(Bytes::from(b))), addr);
        let response = shared.client.request(req).await.ok()?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = Limited::new(response.into_body(), MAX_BODY).collect().await;
        let body = body.ok()?.to_bytes().to_vec();
        Some(AuthResponse::Http {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(AUTH_TIMEOUT, call).await {
        Ok(Some(answer)) => answer,
        Ok(None) => AuthResponse::Unreachable,
        Err(_) => AuthResponse::Timeout,
    }
}

/// Puts the authority in a Host header (HTTP/2 carries it in the URI), makes the URI
/// origin-form and drops hop-by-hop headers: the request as a backend must receive it.
fn origin_form(parts: &mut hyper::http::request::Parts) {
    if let Some(a) = parts.uri.authority()
        && !parts.headers.contains_key(HOST)
        && let Ok(value) = HeaderValue::from_str(a.as_str())
    {
        parts.headers.insert(HOST, value);
    }
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = pq.parse().unwrap_or_else(|_| Uri::from_static("/"));
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
}

fn strip_hop_by_hop(headers: &mut hyper::HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().map(HeaderName::as_str).chain(HOP_BY_HOP) {
        headers.remove(name);
    }
}

/// The same request with an absolute URI naming the backend address, for the pooled client.
fn absolute<B>(mut req: Request<B>, addr: SocketAddr) -> Request<B> {
    let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
    if let Ok(uri) = format!("http://{addr}{pq}").parse() {
        *req.uri_mut() = uri;
    }
    req
}

/// `:authority` (HTTP/2) or the Host header, as received.
fn authority<B>(req: &Request<B>) -> &str {
    match req.uri().authority() {
        Some(a) => a.as_str(),
        None => req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
    }
}

fn local(r: &LocalResponse) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(r.body.clone())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &r.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response.map(|b| b.map_err(|never| match never {}).boxed())
}

impl Shared {
    /// The configuration new requests use.
    fn current(&self) -> Arc<State> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// A fresh random draw for weighted backends and mirror percentages: SplitMix64, a few
    /// instructions per request; statistical quality is all weights need.
    fn random(&self) -> u64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .draws
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
