//! Unit tests of backend protocol selection and WebSocket upgrades, named after the rule they
//! check.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use http::{HeaderMap, Method, Request, StatusCode, Version};

use super::{BackendProtocol, Upgrade};
use crate::attach::RouteKind;

/// A WebSocket opening handshake as RFC 6455 section 1.2 shows it, with extra headers.
fn handshake() -> http::request::Builder {
    Request::builder()
        .uri("/chat")
        .header("host", "server.example.com")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .header("keep-alive", "timeout=5")
        .header("te", "trailers")
}

fn forwarded(
    protocol: BackendProtocol,
    req: http::request::Builder,
) -> (Option<Upgrade>, HeaderMap) {
    let mut req = req.body(()).unwrap();
    let upgrade = protocol.for_http1_backend(&mut req);
    (upgrade, req.headers().clone())
}

#[test]
fn ws_and_wss_app_protocols_are_websocket_backends_of_an_httproute() {
    let ws = BackendProtocol::of(RouteKind::Http, Some("kubernetes.io/ws"));
    let wss = BackendProtocol::of(RouteKind::Http, Some("kubernetes.io/wss"));
    assert_eq!(ws, BackendProtocol::WebSocket);
    assert_eq!(wss, BackendProtocol::SecureWebSocket);
    assert!(ws.allows_upgrade() && !ws.requires_tls());
    assert!(wss.allows_upgrade() && wss.requires_tls());
}

#[test]
fn a_backend_without_app_protocol_allows_no_upgrade() {
    for protocol in [
        BackendProtocol::of(RouteKind::Http, None),
        BackendProtocol::of(RouteKind::Http, Some("http")),
        BackendProtocol::of(RouteKind::Http, Some("kubernetes.io/h2c")),
        BackendProtocol::of(RouteKind::Grpc, Some("kubernetes.io/ws")),
    ] {
        assert!(!protocol.allows_upgrade(), "{protocol:?}");
        assert!(!protocol.requires_tls(), "{protocol:?}");
    }
}

#[test]
fn websocket_upgrade_keeps_connection_and_upgrade_and_removes_other_hop_by_hop_fields() {
    let (upgrade, headers) = forwarded(BackendProtocol::WebSocket, handshake());
    assert_eq!(upgrade, Some(Upgrade::WebSocket));
    assert_eq!(headers["connection"], "upgrade");
    assert_eq!(headers["upgrade"], "websocket");
    assert_eq!(headers["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(headers["sec-websocket-version"], "13");
    assert_eq!(headers["host"], "server.example.com");
    assert!(headers.get("keep-alive").is_none());
    assert!(headers.get("te").is_none());
}

#[test]
fn upgrade_token_and_connection_option_are_case_insensitive() {
    let req = handshake()
        .header("upgrade", "WebSocket")
        .header("connection", "keep-alive, UPGRADE");
    let mut req = req.body(()).unwrap();
    req.headers_mut().remove("upgrade");
    req.headers_mut()
        .insert("upgrade", "WebSocket".parse().unwrap());
    let upgrade = BackendProtocol::SecureWebSocket.for_http1_backend(&mut req);
    assert_eq!(upgrade, Some(Upgrade::WebSocket));
}

#[test]
fn a_backend_that_allows_no_upgrade_gets_an_ordinary_request() {
    for protocol in [BackendProtocol::Http1, BackendProtocol::Http2] {
        let (upgrade, headers) = forwarded(protocol, handshake());
        assert_eq!(upgrade, None, "{protocol:?}");
        assert!(headers.get("upgrade").is_none());
        assert!(headers.get("connection").is_none());
        assert_eq!(headers["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
    }
}

#[test]
fn only_exactly_a_websocket_upgrade_is_forwarded() {
    let offers = [
        ("websocket, h2c", "Upgrade"),
        ("h2c", "Upgrade"),
        ("websocket/13", "Upgrade"),
        ("", "Upgrade"),
        // RFC 9110 section 7.8: Upgrade without the "upgrade" connection option.
        ("websocket", "keep-alive"),
    ];
    for (offer, connection) in offers {
        let mut req = handshake().body(()).unwrap();
        let headers = req.headers_mut();
        headers.insert("upgrade", offer.parse().unwrap());
        headers.insert("connection", connection.parse().unwrap());
        let upgrade = BackendProtocol::WebSocket.for_http1_backend(&mut req);
        assert_eq!(upgrade, None, "{offer:?} / {connection:?}");
        assert!(req.headers().get("upgrade").is_none(), "{offer:?}");
    }
    let mut req = handshake().body(()).unwrap();
    req.headers_mut().append("upgrade", "h2c".parse().unwrap());
    assert_eq!(BackendProtocol::WebSocket.for_http1_backend(&mut req), None);
}

#[test]
fn websocket_handshake_must_be_an_http11_get() {
    // RFC 6455 section 4.1: "The method of the request MUST be GET, and the HTTP version MUST
    // be at least 1.1"; an HTTP/2 request cannot carry Upgrade at all (RFC 9113 section 8.2.2).
    for (method, version) in [
        (Method::POST, Version::HTTP_11),
        (Method::GET, Version::HTTP_10),
        (Method::GET, Version::HTTP_2),
    ] {
        let req = handshake().method(method.clone()).version(version);
        let (upgrade, headers) = forwarded(BackendProtocol::WebSocket, req);
        assert_eq!(upgrade, None, "{method} {version:?}");
        assert!(headers.get("upgrade").is_none());
    }
}

#[test]
fn only_a_101_naming_the_protocol_accepts_the_upgrade() {
    let mut headers = HeaderMap::new();
    headers.insert("upgrade", "websocket".parse().unwrap());
    headers.insert("connection", "Upgrade".parse().unwrap());
    let ws = Upgrade::WebSocket;
    assert!(ws.accepted(StatusCode::SWITCHING_PROTOCOLS, &headers));
    assert!(!ws.accepted(StatusCode::OK, &headers));
    assert!(!ws.accepted(StatusCode::BAD_REQUEST, &headers));
    headers.insert("upgrade", "h2c".parse().unwrap());
    assert!(!ws.accepted(StatusCode::SWITCHING_PROTOCOLS, &headers));
    headers.remove("upgrade");
    assert!(!ws.accepted(StatusCode::SWITCHING_PROTOCOLS, &headers));
}

#[test]
fn the_101_for_the_client_carries_connection_upgrade_and_no_other_hop_by_hop_field() {
    let mut headers = HeaderMap::new();
    headers.insert("upgrade", "WebSocket".parse().unwrap());
    headers.insert("connection", "Upgrade, x-backend-conn".parse().unwrap());
    headers.insert("x-backend-conn", "1".parse().unwrap());
    headers.insert("keep-alive", "timeout=5".parse().unwrap());
    headers.insert(
        "sec-websocket-accept",
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".parse().unwrap(),
    );
    Upgrade::WebSocket.for_client(&mut headers);
    assert_eq!(headers["connection"], "upgrade");
    assert_eq!(headers["upgrade"], "websocket");
    assert_eq!(
        headers["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert!(headers.get("x-backend-conn").is_none());
    assert!(headers.get("keep-alive").is_none());
}
