//! WebSocket upgrades (GEP-1911 `kubernetes.io/ws` and `kubernetes.io/wss` backends): the
//! client's handshake goes to the backend, the backend's answer comes back, and once both
//! sides have switched protocols the two connections are spliced byte for byte.
//!
//! Which requests get here is gateway-core's decision
//! ([`BackendProtocol::for_http1_backend`](gateway_core::plan::BackendProtocol::for_http1_backend)):
//! an HTTP/1.1 `GET` asking for exactly `Upgrade: websocket`, routed to a backend whose
//! Service port allows upgrades. Everything else is an ordinary request (`main.rs`).

use gateway_core::filter::remove_hop_by_hop;
use gateway_core::plan::{ForwardPlan, LocalResponse, Upgrade};
use gateway_core::tls::BackendTls;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::backend::{Outgoing, Upstream, absolute, bad_gateway, connect_tls};
use crate::config::{Shared, State};
use crate::{Body, local};

/// Forwards an upgrade request (head prepared by gateway-core, the rule's request edits
/// applied) and answers the client: the backend's 101 (its headers, hop-by-hop fields
/// replaced by `Connection: upgrade` and `Upgrade`, the rule's response edits applied), after
/// which the connections are spliced in the background; or any other answer of the backend
/// as an ordinary response; or 502 when the backend switches to another protocol. The
/// rule's timeouts bound the handshake, not the WebSocket that follows. Mirrors and retries
/// do not apply: a handshake is sent once, to one backend.
pub(crate) async fn forward(
    mut req: Request<Outgoing>,
    upgrade: Upgrade,
    to: Upstream,
    tls: Option<(&BackendTls, &State)>,
    fp: &ForwardPlan<'_>,
    shared: &Shared,
) -> Response<Body> {
    let client = hyper::upgrade::on(&mut req);
    let exchange = handshake(req, to, tls, shared);
    let answer = match fp.timeouts.shortest() {
        Some(limit) => match tokio::time::timeout(limit, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(LocalResponse::proxy(504, "backend timeout")),
        },
        None => exchange.await,
    };
    let mut response = match answer {
        Ok(response) => response,
        Err(refused) => return local(refused),
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        // The backend declined (or answered something else): an ordinary response.
        remove_hop_by_hop(response.headers_mut());
        fp.response.apply(response.headers_mut());
        return response.map(BodyExt::boxed);
    }
    if !upgrade.accepted(response.status(), response.headers()) {
        return local(bad_gateway(
            "the backend switched to another protocol than the one asked for",
        ));
    }
    let backend = hyper::upgrade::on(&mut response);
    upgrade.for_client(response.headers_mut());
    fp.response.apply(response.headers_mut());
    tokio::spawn(splice(client, backend, shared.stop.subscribe()));
    response.map(BodyExt::boxed)
}

/// Sends the handshake on a connection of its own that can be upgraded: from the pooled
/// client in cleartext (hyper-util hands an upgraded connection over and never pools it
/// again), or a new TLS connection where a BackendTLSPolicy applies (required for
/// `kubernetes.io/wss`).
async fn handshake(
    mut req: Request<Outgoing>,
    Upstream { addr, protocol }: Upstream,
    tls: Option<(&BackendTls, &State)>,
    shared: &Shared,
) -> Result<Response<Incoming>, LocalResponse> {
    *req.version_mut() = hyper::Version::HTTP_11;
    match tls {
        None if protocol.requires_tls() => Err(bad_gateway(crate::backend::NO_WSS_POLICY)),
        None => {
            let call = shared.client.request(absolute(req, addr));
            call.await.map_err(bad_gateway)
        }
        Some((policy, state)) => {
            let stream = connect_tls(addr, policy, state, protocol).await?;
            let handshake = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await;
            let (mut sender, connection) = handshake.map_err(bad_gateway)?;
            tokio::spawn(connection.with_upgrades());
            sender.send_request(req).await.map_err(bad_gateway)
        }
    }
}

/// Copies bytes both ways between the client's and the backend's upgraded connections until
/// either closes, or until the gateway stops (a WebSocket may live for hours: the drain of
/// SIGTERM does not wait for it; both connections are closed).
async fn splice(
    client: OnUpgrade,
    backend: OnUpgrade,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let (Ok(client), Ok(backend)) = tokio::join!(client, backend) else {
        return;
    };
    let (mut client, mut backend) = (TokioIo::new(client), TokioIo::new(backend));
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut backend) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
}
