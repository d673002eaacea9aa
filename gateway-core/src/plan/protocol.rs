//! Which protocol a proxy speaks to a backend (GEP-1911, backend protocol selection).

use crate::attach::RouteKind;

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
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BackendProtocol {
    /// HTTP/1.1.
    #[default]
    Http1,
    /// HTTP/2: cleartext with prior knowledge (h2c), or ALPN `h2` over TLS.
    Http2,
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
    /// ```
    pub fn of(kind: RouteKind, app_protocol: Option<&str>) -> Self {
        match (kind, app_protocol) {
            (RouteKind::Grpc, _) | (_, Some("kubernetes.io/h2c")) => Self::Http2,
            _ => Self::Http1,
        }
    }
}
