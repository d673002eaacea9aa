//! Sidecar mode (`--mesh --namespace NS`): the outbound half of one pod's sidecar in the mesh
//! (GAMMA). The sidecar listens on every Service cluster address of the endpoints file
//! (`cluster` lines) and routes each request by where its client connected: the accepted
//! socket's local address and port, the destination a transparent proxy reads as the
//! original destination. The connection's `Conn::dialed` carries it to the request path
//! the gateway mode uses (`route` in main.rs), where `Router::route_mesh` picks the routes of
//! that Service port for clients in the pod's namespace; their decision is planned and carried
//! out as in gateway mode (filters, redirects, header edits, mirrors, timeouts, external auth).
//! When no route applies the request goes unchanged to the Service's own endpoints
//! ([`pass_through`]).
//!
//! Not here: the inbound half (a sidecar in front of the pod's own server), mTLS between
//! sidecars, and capturing traffic to pod IPs or other non-cluster addresses.

use std::net::SocketAddr;
use std::sync::Arc;

use gateway_core::filter::for_http1_backend;
use gateway_core::plan::LocalResponse;
use http_body_util::BodyExt;
use hyper::{Request, Response};
use tokio::net::TcpListener;

use crate::backend::{Outgoing, Upstream, send};
use crate::config::{Shared, State};
use crate::{Body, Conn, local, next_connection, serve};

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

/// Accepts connections on one cluster address; each is served as a Gateway connection is,
/// with the address the client dialed as its mesh destination.
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    while let Some((tcp, peer)) = next_connection(&listener, &mut stop).await {
        let _ = tcp.set_nodelay(true);
        let Ok(to) = tcp.local_addr() else {
            continue;
        };
        tokio::spawn(serve(tcp, Conn::sidecar(to, peer, Arc::clone(&shared))));
    }
}

/// No route applies: the request goes unchanged (but for the hop-by-hop fields a proxy drops)
/// to the endpoints of the Service whose cluster address the client dialed.
pub(crate) async fn pass_through(
    mut req: Request<Outgoing>,
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
    let sent = send(req, Upstream::http1(addr), None, shared).await;
    sent.map_or_else(local, |response| response.map(BodyExt::boxed))
}
