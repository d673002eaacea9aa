//! Sidecar mode (`--mesh --namespace NS`): the outbound half of one pod's sidecar in the mesh
//! (GAMMA). The sidecar listens on every Service cluster address of the endpoints file
//! (`cluster` lines) and routes each request by where its client connected: the accepted
//! socket's local address and port, the destination a transparent proxy reads as the
//! original destination. `Router::route_mesh` picks the routes of that Service port for
//! clients in the pod's namespace; their decision is planned and carried out as in gateway
//! mode (filters, redirects, header edits, mirrors, timeouts, external auth). When no route
//! applies the request goes unchanged to the Service's own endpoints.
//!
//! Not here: the inbound half (a sidecar in front of the pod's own server), mTLS between
//! sidecars, and capturing traffic to pod IPs or other non-cluster addresses.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gateway_core::filter::for_http1_backend;
use gateway_core::plan::authz::{AuthCheck, AuthOptions, authorize_with_body};
use gateway_core::plan::{LocalResponse, Plan, plan};
use gateway_core::request::RequestView;
use gateway_core::route::{Destination, MeshRoute};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

use crate::config::{Shared, State};
use crate::{Body, MAX_BODY, ask, authority, local, push, send, start_mirrors};

/// Binds every cluster address of the endpoints file (each `cluster` line's IP, at each of its
/// ports) and serves them in the background. Like `listen` lines, they are bound once.
///
/// # Errors
/// An address that cannot be bound (taken, not local, a port below 1024 without privilege).
pub(crate) async fn listen(shared: &Arc<Shared>) -> Result<(), String> {
    let state = shared.current();
    for cluster in &state.endpoints.clusters {
        let service = format!("{}/{}", cluster.namespace, cluster.name);
        for &port in &cluster.ports {
            let addr = SocketAddr::new(cluster.ip, port);
            let listener = TcpListener::bind(addr).await;
            let listener =
                listener.map_err(|e| format!("listen {service}:{port} on {addr}: {e}"))?;
            // Tests and scripts read these lines, as the gateway's `listening PORT ADDR`.
            println!("listening {port} {addr} {service}");
            tokio::spawn(accept(listener, Arc::clone(shared)));
        }
    }
    Ok(())
}

/// What a mesh request needs to know about its connection.
struct Dialed {
    /// The address and port the client connected to: the mesh destination.
    to: SocketAddr,
    shared: Arc<Shared>,
}

/// Accepts connections on one cluster address.
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let Ok(to) = tcp.local_addr() else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(serve(tcp, Dialed { to, shared }));
    }
}

/// Serves HTTP/1.1 and HTTP/2 (cleartext, prior knowledge) on a connection.
async fn serve(tcp: TcpStream, dialed: Dialed) {
    let dialed = Arc::new(dialed);
    let service = hyper::service::service_fn(move |req| {
        let dialed = Arc::clone(&dialed);
        async move { Ok::<_, Infallible>(handle(req, &dialed).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
}

/// One request, logged as in gateway mode: `METHOD authority+path STATUS namespace/route
/// rule=NAME|INDEX DURATIONus`, or `pass-through (why)` when no route applies.
async fn handle(req: Request<Incoming>, dialed: &Dialed) -> Response<Body> {
    let (start, shared) = (Instant::now(), &*dialed.shared);
    let mut line = Vec::with_capacity(128);
    let (method, path) = (req.method().as_str(), req.uri().path());
    push(&mut line, &[method, " ", authority(&req), path, " 000 "]);
    let status_at = line.len() - 4;
    let response = route(req, dialed, &mut line).await;
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

/// Routes one request with the mesh router and carries out the plan, or passes it through to
/// the destination Service's endpoints; appends what served it to `log`.
async fn route(req: Request<Incoming>, dialed: &Dialed, log: &mut Vec<u8>) -> Response<Body> {
    let shared = &*dialed.shared;
    // The configuration this request starts with: it keeps it to the end, reloads or not.
    let state = &*shared.current();
    let (parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        log.push(b'-');
        return local(LocalResponse::proxy(413, "body too large"));
    };
    let mut req = Request::from_parts(parts, body.to_bytes());
    // The request target as received (see the gateway's `route`).
    let uri = req.uri();
    let absolute_form = req.version() != Version::HTTP_2 && uri.scheme().is_some();
    let absolute = absolute_form.then(|| uri.to_string());
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = absolute.as_deref().unwrap_or(path_and_query);
    let view = RequestView::from_http(&req, target.as_bytes(), dialed.to.port()).scheme("http");
    let namespace = shared.args.sidecar().unwrap_or_default();
    let destination = Destination::address(dialed.to.ip(), dialed.to.port());
    let decision = match state.router.route_mesh(&view, namespace, &destination) {
        MeshRoute::Routed(decision) => decision,
        MeshRoute::PassThrough(why) => {
            push(log, &["pass-through (", why.reason(), ")"]);
            return pass_through(req, dialed.to, state, shared).await;
        }
        _ => return local(LocalResponse::proxy(500, "a mesh answer unknown")),
    };
    match (decision.route(), decision.rule()) {
        (Some(r), Some(rule)) => {
            let mut index = itoa::Buffer::new();
            let rule = rule.name.unwrap_or_else(|| index.format(rule.index));
            push(log, &[r.namespace, "/", r.name, " rule=", rule]);
        }
        _ => push(log, &["- (", decision.reason(), ")"]),
    }
    // From here on as in gateway mode.
    let mut next = plan(&decision, &view, shared.draws.draw());
    drop(decision);
    if let Plan::Authorize(_) = next {
        let auth = async |check: &AuthCheck<'_>| ask(check, state, shared).await;
        next = authorize_with_body(next, req.body(), &AuthOptions::default(), auth).await;
    }
    let fp = match next {
        Plan::Forward(ref fp) => fp,
        Plan::Respond(r) => return local(r),
        _ => return local(LocalResponse::proxy(500, "unknown plan")),
    };
    for_http1_backend(&mut req);
    if let Err(e) = fp.request.apply(&mut req) {
        return local(LocalResponse::proxy(500, e.to_string()));
    }
    let b = fp.backend;
    let Some(addr) = state.upstream(b) else {
        return local(LocalResponse::proxy(503, "the backend has no endpoints"));
    };
    start_mirrors(fp, &req, state, shared);
    let tls = fp.backend_tls.map(|t| (t, state));
    let result = match fp.timeouts.shortest() {
        Some(limit) => match tokio::time::timeout(limit, send(req, addr, tls, shared)).await {
            Ok(result) => result,
            Err(_) => Err(LocalResponse::proxy(504, "backend timeout")),
        },
        None => send(req, addr, tls, shared).await,
    };
    result.map_or_else(local, |mut response| {
        fp.response.apply(response.headers_mut());
        response.map(BodyExt::boxed)
    })
}

/// No route applies: the request goes unchanged (but for the hop-by-hop fields a proxy drops)
/// to the endpoints of the Service whose cluster address the client dialed.
async fn pass_through(
    mut req: Request<bytes::Bytes>,
    to: SocketAddr,
    state: &State,
    shared: &Shared,
) -> Response<Body> {
    let service = state.endpoints.cluster(to.ip());
    let endpoint = service.and_then(|s| state.endpoints.find(&s.namespace, &s.name, to.port()));
    let Some(addr) = endpoint else {
        return local(LocalResponse::proxy(
            503,
            "the destination has no endpoints",
        ));
    };
    for_http1_backend(&mut req);
    let sent = send(req, addr, None, shared).await;
    sent.map_or_else(local, |response| response.map(BodyExt::boxed))
}
