//! Sending a request to a backend in the protocol it speaks ([`BackendProtocol`]): HTTP/1.1 on
//! the pooled client, HTTP/2 with prior knowledge (h2c) on one multiplexed connection per
//! backend address, or over TLS with the BackendTLSPolicy's verifier, HTTP/2 there when the
//! backend asks for it and the server agrees (ALPN `h2`).

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use gateway_core::plan::{BackendProtocol, LocalResponse};
use gateway_core::tls::BackendTls;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper::header::HOST;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustc_hash::FxHashMap;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::{Shared, State};
use gateway_core::filter::remove_hop_by_hop;

/// A request body as the gateway sends it: read whole ([`buffered`]) when it is sent more
/// than once (mirrors, retries, external auth with `forwardBody`), else the client's body,
/// streamed as it arrives.
pub(crate) type Outgoing = Either<Full<Bytes>, Incoming>;

/// A body read whole.
pub(crate) fn buffered(body: Bytes) -> Outgoing {
    Either::Left(Full::new(body))
}

/// Where a backend is and the protocol it speaks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    pub(crate) protocol: BackendProtocol,
}

impl Upstream {
    /// An HTTP/1.1 backend.
    pub(crate) fn http1(addr: SocketAddr) -> Self {
        let protocol = BackendProtocol::Http1;
        Self { addr, protocol }
    }
}

/// Sends a request (origin-form URI, `Host` set: `for_http1_backend` or `for_http2_backend`)
/// to a backend address in `protocol`, over TLS with the policy's verifier when one applies;
/// returns the response head with its body (hop-by-hop fields removed), or 502.
pub(crate) async fn send(
    req: Request<Outgoing>,
    Upstream { addr, protocol }: Upstream,
    tls: Option<(&BackendTls, &State)>,
    shared: &Shared,
) -> Result<Response<Incoming>, LocalResponse> {
    let mut response = match (tls, protocol) {
        (None, BackendProtocol::Http2) => {
            let mut sender = shared.h2c.sender(addr).await?;
            sender.ready().await.map_err(bad_gateway)?;
            let call = sender.send_request(with_authority(req, "http"));
            call.await.map_err(bad_gateway)?
        }
        (None, BackendProtocol::SecureWebSocket) => return Err(bad_gateway(NO_WSS_POLICY)),
        (None, _) => {
            let mut req = req;
            *req.version_mut() = hyper::Version::HTTP_11;
            let call = shared.client.request(absolute(req, addr));
            call.await.map_err(bad_gateway)?
        }
        (Some((policy, state)), protocol) => {
            let stream = connect_tls(addr, policy, state, protocol).await?;
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            let io = TokioIo::new(stream);
            if h2 {
                let mut sender = handshake_h2(io).await?;
                let call = sender.send_request(with_authority(req, "https"));
                call.await.map_err(bad_gateway)?
            } else {
                let handshake = hyper::client::conn::http1::handshake(io).await;
                let (mut sender, connection) = handshake.map_err(bad_gateway)?;
                tokio::spawn(connection);
                let mut req = req;
                *req.version_mut() = hyper::Version::HTTP_11;
                sender.send_request(req).await.map_err(bad_gateway)?
            }
        }
    };
    remove_hop_by_hop(response.headers_mut());
    Ok(response)
}

/// Why a `kubernetes.io/wss` backend without a BackendTLSPolicy is not sent anything.
pub(crate) const NO_WSS_POLICY: &str =
    "appProtocol kubernetes.io/wss needs a BackendTLSPolicy (GEP-1911)";

/// A TLS connection to a backend, verified with its policy's settings, offering ALPN `h2`
/// for an HTTP/2 backend.
pub(crate) async fn connect_tls(
    addr: SocketAddr,
    policy: &BackendTls,
    state: &State,
    protocol: BackendProtocol,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, LocalResponse> {
    let config = state
        .backend_client(policy, protocol)
        .map_err(bad_gateway)?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let no_name = || bad_gateway("the policy's hostname is not a server name");
    let name = policy.server_name().ok_or_else(no_name)?;
    let tcp = TcpStream::connect(addr).await.map_err(bad_gateway)?;
    let stream = connector.connect(name, tcp).await;
    stream.map_err(|e| bad_gateway(format!("backend TLS: {e}")))
}

pub(crate) fn bad_gateway(why: impl ToString) -> LocalResponse {
    LocalResponse::proxy(502, why.to_string())
}

/// The same request with an absolute URI naming the backend address, for the pooled client.
pub(crate) fn absolute<B>(mut req: Request<B>, addr: SocketAddr) -> Request<B> {
    let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
    if let Ok(uri) = format!("http://{addr}{pq}").parse() {
        *req.uri_mut() = uri;
    }
    req
}

/// An HTTP/2 request: the `Host` field becomes the URI's authority, which the client sends as
/// `:authority` (with `:scheme`), and is removed.
fn with_authority<B>(mut req: Request<B>, scheme: &str) -> Request<B> {
    let host = req.headers_mut().remove(HOST);
    let host = host.as_ref().and_then(|h| h.to_str().ok());
    let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
    if let Some(host) = host
        && let Ok(uri) = format!("{scheme}://{host}{pq}").parse()
    {
        *req.uri_mut() = uri;
    }
    *req.version_mut() = hyper::Version::HTTP_2;
    req
}

/// HTTP/2 with prior knowledge on a connection; the connection runs in the background.
async fn handshake_h2(
    io: TokioIo<impl AsyncRead + AsyncWrite + Unpin + Send + 'static>,
) -> Result<SendRequest<Outgoing>, LocalResponse> {
    let handshake = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await;
    let (sender, connection) = handshake.map_err(bad_gateway)?;
    tokio::spawn(connection);
    Ok(sender)
}

/// The h2c connections to cleartext HTTP/2 backends: one per backend address, shared by every
/// request to it (HTTP/2 multiplexes), replaced once closed.
#[derive(Default)]
pub(crate) struct H2cPool(Mutex<FxHashMap<SocketAddr, SendRequest<Outgoing>>>);

impl H2cPool {
    /// The open connection to `addr`, or a new one.
    async fn sender(&self, addr: SocketAddr) -> Result<SendRequest<Outgoing>, LocalResponse> {
        let open = {
            let conns = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            conns.get(&addr).filter(|s| !s.is_closed()).cloned()
        };
        if let Some(sender) = open {
            return Ok(sender);
        }
        let tcp = TcpStream::connect(addr).await.map_err(bad_gateway)?;
        let _ = tcp.set_nodelay(true);
        let sender = handshake_h2(TokioIo::new(tcp)).await?;
        let mut conns = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        conns.insert(addr, sender.clone());
        Ok(sender)
    }
}
