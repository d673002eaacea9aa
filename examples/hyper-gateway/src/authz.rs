//! External auth over gRPC: the Envoy `ext_authz` v3 `Check` call, made on the gateway's own
//! HTTP/2 client (cleartext, prior knowledge: the h2c connection pool of `backend.rs`) with the
//! `CheckRequest` gateway-core encodes and frames; the answer is decoded by gateway-core too.
//! Every failure (transport, HTTP status, `grpc-status`, a body that is not one valid
//! `CheckResponse`) is an answer that fails closed.

use std::net::SocketAddr;

use bytes::Bytes;
use gateway_core::plan::BackendProtocol;
use gateway_core::plan::authz::{AuthCheck, AuthResponse, grpc, proto};
use http_body_util::{BodyExt, Limited};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, TE};
use hyper::{HeaderMap, Method, Request, StatusCode};

use crate::backend::{Upstream, buffered, send};
use crate::config::Shared;

/// gRPC's status code `UNAVAILABLE`: the service could not be reached.
const UNAVAILABLE: &[u8] = b"14";

/// Calls `Check` on the auth service at `addr` (the caller bounds the time it may take):
/// `POST /envoy.service.auth.v3.Authorization/Check` over h2c with `content-type:
/// application/grpc` and `te: trailers`. The answer is the `CheckResponse` when the HTTP
/// status is 200 and `grpc-status` (a trailer, or a header in a trailers-only answer) is 0;
/// `UNAVAILABLE` (14) and transport errors are [`AuthResponse::Unreachable`]; any other
/// status, or a body that is not exactly one framed `CheckResponse` of at most
/// [`grpc::MAX_RESPONSE_LEN`] bytes, is [`AuthResponse::Malformed`].
pub(crate) async fn check_grpc(
    check: &AuthCheck<'_>,
    addr: SocketAddr,
    shared: &Shared,
) -> AuthResponse {
    let Some(frame) = check.grpc_frame() else {
        return AuthResponse::Malformed("the CheckRequest cannot be framed".into());
    };
    let b = &check.backend;
    // The Service's name is the authority the auth service is called by.
    let authority = format!("{}.{}.svc:{}", b.name, b.namespace, b.port);
    let Ok(host) = HeaderValue::from_str(&authority) else {
        return AuthResponse::Malformed("the auth Service's name is not an authority".into());
    };
    let mut req = Request::new(buffered(Bytes::from(frame)));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = hyper::Uri::from_static(proto::CHECK_PATH);
    let headers = req.headers_mut();
    headers.insert(HOST, host);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(TE, HeaderValue::from_static("trailers"));
    let to = Upstream {
        addr,
        protocol: BackendProtocol::Http2,
    };
    let Ok(response) = send(req, to, None, shared).await else {
        return AuthResponse::Unreachable;
    };
    let (head, body) = response.into_parts();
    if head.status != StatusCode::OK {
        return AuthResponse::Malformed(format!("the Check call answered HTTP {}", head.status));
    }
    // One frame header and the largest message accepted; more is refused unread.
    let Ok(body) = Limited::new(body, 5 + grpc::MAX_RESPONSE_LEN)
        .collect()
        .await
    else {
        return AuthResponse::Malformed("the Check answer is too large or broken".into());
    };
    let trailers = body.trailers().cloned().unwrap_or_default();
    let bytes = body.to_bytes();
    match grpc_status(&trailers, &head.headers) {
        Some(b"0") => grpc::decode_response(&bytes),
        Some(UNAVAILABLE) => AuthResponse::Unreachable,
        Some(code) => {
            let code = String::from_utf8_lossy(code);
            let message = grpc_message(&trailers, &head.headers);
            AuthResponse::Malformed(format!(
                "the Check call failed: grpc-status {code} {message}"
            ))
        }
        None => AuthResponse::Malformed("the Check answer has no grpc-status".into()),
    }
}

/// The `grpc-status` of an answer: in the trailers, or in the headers of a trailers-only one.
fn grpc_status<'a>(trailers: &'a HeaderMap, headers: &'a HeaderMap) -> Option<&'a [u8]> {
    let status = trailers
        .get("grpc-status")
        .or_else(|| headers.get("grpc-status"));
    status.map(HeaderValue::as_bytes)
}

/// The `grpc-message` of an answer, for the log.
fn grpc_message(trailers: &HeaderMap, headers: &HeaderMap) -> String {
    let message = trailers
        .get("grpc-message")
        .or_else(|| headers.get("grpc-message"));
    message.map_or_else(String::new, |m| {
        String::from_utf8_lossy(m.as_bytes()).into_owned()
    })
}
