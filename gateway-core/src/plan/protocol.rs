//! Which protocol a proxy speaks to a backend (GEP-1911, backend protocol selection), and the
//! WebSocket upgrades a backend's protocol allows.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use http::header::{CONNECTION, UPGRADE};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};

use crate::attach::RouteKind;
use crate::filter::{for_http1_backend, remove_hop_by_hop};

/// The protocol to speak to a backend, from the kind of the route that forwards to it and the
/// Service port's `appProtocol`. It depends on nothing in the request: a proxy decides it once
/// per backend when it loads a router, not per request.
///
/// GEP-1911: `kubernetes.io/h2c` is "HTTP/2 over cleartext as described in RFC 7540" (the
/// prior-knowledge form); a GRPCRoute's backends speak gRPC, which is HTTP/2 only (gRPC over
/// HTTP/2, "the gRPC protocol ... over HTTP2 framing"), so they get HTTP/2 whatever their
/// `appProtocol` says (attachment already refused the `kubernetes.io/` values a GRPCRoute
/// cannot use). Any other backend, with no `appProtocol` or one this library does not
/// interpret, gets HTTP/1.1. Over TLS (a BackendTLSPolicy applies) HTTP/2 is negotiated with
/// ALPN `h2`.
///
/// # WebSocket
/// GEP-1911 defines `kubernetes.io/ws` ("WebSocket over cleartext as described in RFC6455")
/// and `kubernetes.io/wss` ("WebSocket over TLS"), the latter supported for an HTTPRoute
/// "only if there is a corresponding BackendTLSPolicy". An HTTPRoute backend with either is
/// [`WebSocket`](Self::WebSocket) or [`SecureWebSocket`](Self::SecureWebSocket): HTTP/1.1 whose
/// requests may be upgraded to WebSocket ([`BackendProtocol::for_http1_backend`]).
///
/// Where the GEP leaves room, our choice: "If a Service `appProtocol` isn't specified an
/// implementation MAY infer the backend protocol through its own means", and "Absence of the
/// `appProtocol` field does not imply the implementation should disable any features (eg.
/// websocket upgrades)". We infer nothing: a backend without `appProtocol` is plain HTTP/1.1
/// and gets no upgrade (its client's `Upgrade` is removed as a hop-by-hop field and the
/// request is forwarded as an ordinary one). Upgrades are opt-in per Service port, secure by
/// default: once a connection is upgraded the gateway no longer sees requests on it, so a
/// backend that switches protocols without meaning to (or on purpose, the `h2c` upgrade
/// smuggling of the past) would let a client past routing and authorization. Only a
/// WebSocket upgrade is ever forwarded, whatever the `appProtocol`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BackendProtocol {
    /// HTTP/1.1.
    #[default]
    Http1,
    /// HTTP/2: cleartext with prior knowledge (h2c), or ALPN `h2` over TLS.
    Http2,
    /// HTTP/1.1 whose requests may be upgraded to WebSocket (`kubernetes.io/ws`).
    WebSocket,
    /// HTTP/1.1 over TLS whose requests may be upgraded to WebSocket (`kubernetes.io/wss`):
    /// only with a BackendTLSPolicy; without one the backend cannot be reached
    /// ([`BackendProtocol::requires_tls`]).
    SecureWebSocket,
}

impl BackendProtocol {
    /// The protocol for a backend of a route of `kind` whose Service port has `app_protocol`.
    ///
    /// ```
    /// use gateway_core::attach::RouteKind;
    /// use gateway_core::plan::BackendProtocol;
    ///
    /// let h2c = Some("kubernetes.io/h2c");
    /// assert_eq!(BackendProtocol::of(RouteKind::Http, h2c), BackendProtocol::Http2);
    /// assert_eq!(BackendProtocol::of(RouteKind::Grpc, None), BackendProtocol::Http2);
    /// assert_eq!(BackendProtocol::of(RouteKind::Http, None), BackendProtocol::Http1);
    /// let ws = Some("kubernetes.io/ws");
    /// assert_eq!(BackendProtocol::of(RouteKind::Http, ws), BackendProtocol::WebSocket);
    /// ```
    pub fn of(kind: RouteKind, app_protocol: Option<&str>) -> Self {
        match (kind, app_protocol) {
            (RouteKind::Grpc, _) | (_, Some("kubernetes.io/h2c")) => Self::Http2,
            (RouteKind::Http, Some("kubernetes.io/ws")) => Self::WebSocket,
            (RouteKind::Http, Some("kubernetes.io/wss")) => Self::SecureWebSocket,
            _ => Self::Http1,
        }
    }

    /// Whether a client's WebSocket upgrade may be forwarded to the backend.
    pub fn allows_upgrade(self) -> bool {
        matches!(self, Self::WebSocket | Self::SecureWebSocket)
    }

    /// Whether the backend can only be spoken to over TLS (`kubernetes.io/wss`): a proxy
    /// without a BackendTLSPolicy for it must not send it cleartext (GEP-1911 supports
    /// `kubernetes.io/wss` for an HTTPRoute "only if there is a corresponding
    /// BackendTLSPolicy").
    pub fn requires_tls(self) -> bool {
        self == Self::SecureWebSocket
    }

    /// [`filter::for_http1_backend`](crate::filter::for_http1_backend) for a backend of this
    /// protocol, keeping the client's WebSocket upgrade when the protocol allows one: the
    /// upgrade the request asks the backend for, if any.
    ///
    /// A request asks for a WebSocket upgrade ([`Upgrade::WebSocket`]) when it is an HTTP/1.1
    /// `GET` (RFC 6455 section 4.1: "The method of the request MUST be GET, and the HTTP
    /// version MUST be at least 1.1"; RFC 9110 section 7.8: a server "MUST ignore an Upgrade
    /// header field that is received in an HTTP/1.0 request"), its `Connection` field lists
    /// the `upgrade` option ("A sender of Upgrade MUST also send an "Upgrade" connection
    /// option"), and its `Upgrade` field names exactly one protocol, `websocket` (compared
    /// case-insensitively, RFC 6455 section 4.2.1). Then the backend receives `Connection:
    /// upgrade` and `Upgrade: websocket`, and every other hop-by-hop field is removed as for
    /// any request; the `Sec-WebSocket-*` fields are end to end and pass. In every other
    /// case (another protocol, several protocols offered, a protocol that allows no upgrade)
    /// the request is forwarded as an ordinary one, without `Upgrade`, and `None` is returned:
    /// the backend answers it as it would any request (typically 4xx for a WebSocket
    /// endpoint), and the gateway never switches protocols.
    ///
    /// HTTP/2 (RFC 8441 extended CONNECT) and HTTP/3 WebSockets are not recognised here.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::plan::{BackendProtocol, Upgrade};
    ///
    /// let request = || {
    ///     http::Request::builder()
    ///         .uri("/chat")
    ///         .header("host", "ws.example.com")
    ///         .header("connection", "keep-alive, Upgrade")
    ///         .header("upgrade", "websocket")
    ///         .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///         .body(())
    ///         .unwrap()
    /// };
    /// let mut req = request();
    /// let upgrade = BackendProtocol::WebSocket.for_http1_backend(&mut req);
    /// assert_eq!(upgrade, Some(Upgrade::WebSocket));
    /// assert_eq!(req.headers()["connection"], "upgrade");
    /// assert_eq!(req.headers()["upgrade"], "websocket");
    ///
    /// let mut req = request();
    /// assert_eq!(BackendProtocol::Http1.for_http1_backend(&mut req), None);
    /// assert!(req.headers().get("upgrade").is_none());
    /// ```
    pub fn for_http1_backend<B>(self, req: &mut http::Request<B>) -> Option<Upgrade> {
        let upgrade =
            (self.allows_upgrade() && asks_for_websocket(req)).then_some(Upgrade::WebSocket);
        for_http1_backend(req);
        if let Some(upgrade) = upgrade {
            upgrade.mark(req.headers_mut());
        }
        upgrade
    }
}

/// A protocol a connection is switched to after `101 Switching Protocols` (RFC 9110 section
/// 7.8), forwarded by a proxy between its client and its backend.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Upgrade {
    /// The WebSocket protocol (RFC 6455), upgrade token `websocket`.
    WebSocket,
}

impl Upgrade {
    /// The upgrade token (RFC 9110 section 16.7).
    pub fn token(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
        }
    }

    /// Whether the backend's answer switches the connection to this protocol: status 101 with
    /// an `Upgrade` field naming exactly it (RFC 9110 section 7.8: "A server that sends a 101
    /// (Switching Protocols) response MUST send an Upgrade header field to indicate the new
    /// protocol(s) to which the connection is being switched"). Call it before the answer's
    /// hop-by-hop fields are removed. Any other answer is an ordinary response, forwarded as
    /// such; a 101 that fails this check must not be forwarded (the proxy answers 502).
    pub fn accepted(self, status: StatusCode, headers: &HeaderMap) -> bool {
        status == StatusCode::SWITCHING_PROTOCOLS && only_token(headers, self.token())
    }

    /// Prepares the head of the backend's 101 for the client: removes the hop-by-hop fields
    /// the backend sent, then sets `Connection: upgrade` and `Upgrade` to this protocol, which
    /// the client's handshake requires (RFC 6455 section 4.1, the client's checks 2 and 3).
    /// The `Sec-WebSocket-*` fields pass unchanged. A proxy then applies the rule's response
    /// header edits.
    pub fn for_client(self, headers: &mut HeaderMap) {
        remove_hop_by_hop(headers);
        self.mark(headers);
    }

    fn mark(self, headers: &mut HeaderMap) {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static(self.token()));
    }
}

/// Whether a request asks for exactly a WebSocket upgrade (see
/// [`BackendProtocol::for_http1_backend`]).
fn asks_for_websocket<B>(req: &http::Request<B>) -> bool {
    req.version() == Version::HTTP_11
        && req.method() == Method::GET
        && only_token(req.headers(), Upgrade::WebSocket.token())
        && req.headers().get_all(CONNECTION).iter().any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
        })
}

/// Whether the `Upgrade` fields of `headers` name one protocol, `token` (case-insensitive).
fn only_token(headers: &HeaderMap, token: &str) -> bool {
    let mut protocols = headers
        .get_all(UPGRADE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|p| !p.is_empty());
    let first = protocols.next();
    first.is_some_and(|p| p.eq_ignore_ascii_case(token.as_bytes())) && protocols.next().is_none()
}

#[cfg(test)]
mod tests;
