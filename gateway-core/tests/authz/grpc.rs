//! A real gRPC auth service (tonic, hand-written service, no codegen) answering
//! `envoy.service.auth.v3.Authorization/Check`, and the async client a proxy would write. Both
//! sides move raw bytes: the client sends gateway-core's encoding of the `CheckRequest`, the
//! server decodes it with its own message definitions below (written independently of
//! gateway-core's) and answers with its own encoding of a `CheckResponse`, which the client
//! hands to gateway-core's decoder.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut};
use gateway_core::plan::authz::{
    AsyncAuthClient, AuthCheck, AuthResponse, grpc, proto::CHECK_PATH,
};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Context, Poll, Service, http};
use tonic::server::{NamedService, UnaryService};

// === the server's own view of the messages ===

#[derive(Clone, PartialEq, Message)]
pub(crate) struct SCheckRequest {
    #[prost(message, optional, tag = "1")]
    pub(crate) attributes: Option<SAttributes>,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SAttributes {
    #[prost(message, optional, tag = "4")]
    pub(crate) request: Option<SRequest>,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SRequest {
    #[prost(message, optional, tag = "2")]
    pub(crate) http: Option<SHttp>,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SHttp {
    #[prost(string, tag = "2")]
    pub(crate) method: String,
    #[prost(btree_map = "string, string", tag = "3")]
    pub(crate) headers: BTreeMap<String, String>,
    #[prost(string, tag = "4")]
    pub(crate) path: String,
    #[prost(string, tag = "5")]
    pub(crate) host: String,
    #[prost(string, tag = "11")]
    pub(crate) body: String,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SCheckResponse {
    #[prost(message, optional, tag = "1")]
    pub(crate) status: Option<SStatus>,
    #[prost(message, optional, tag = "2")]
    pub(crate) denied: Option<SDenied>,
    #[prost(message, optional, tag = "3")]
    pub(crate) ok: Option<SOk>,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SStatus {
    #[prost(int32, tag = "1")]
    pub(crate) code: i32,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SDenied {
    #[prost(message, optional, tag = "1")]
    pub(crate) status: Option<SStatus>,
    #[prost(message, repeated, tag = "2")]
    pub(crate) headers: Vec<SOption>,
    #[prost(string, tag = "3")]
    pub(crate) body: String,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SOk {
    #[prost(message, repeated, tag = "2")]
    pub(crate) headers: Vec<SOption>,
    #[prost(string, repeated, tag = "5")]
    pub(crate) headers_to_remove: Vec<String>,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SOption {
    #[prost(message, optional, tag = "1")]
    pub(crate) header: Option<SHeader>,
}
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SHeader {
    #[prost(string, tag = "1")]
    pub(crate) key: String,
    #[prost(string, tag = "2")]
    pub(crate) value: String,
}

fn header(key: &str, value: &str) -> SOption {
    SOption {
        header: Some(SHeader {
            key: key.to_owned(),
            value: value.to_owned(),
        }),
    }
}

// === a codec of raw message bytes ===

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawCodec;

pub(crate) struct RawEncoder;
pub(crate) struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

// === the service ===

/// Answers by the path of the checked request: `/allow` → OK with `x-user: alice` and removal
/// of `authorization`; `/deny` → PERMISSION_DENIED with 401, a header and a body; `/slow` → OK
/// after 2 s; `/garbage` → bytes that are not a CheckResponse; else PERMISSION_DENIED bare.
#[derive(Clone, Default)]
pub(crate) struct AuthService {
    pub(crate) received: Arc<Mutex<Vec<SHttp>>>,
}

impl NamedService for AuthService {
    const NAME: &'static str = "envoy.service.auth.v3.Authorization";
}

impl Service<http::Request<tonic::body::Body>> for AuthService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let this = self.clone();
        if req.uri().path() != CHECK_PATH {
            return Box::pin(async {
                Ok(tonic::Status::unimplemented("no such method").into_http())
            });
        }
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec);
            Ok(grpc.unary(Check(this), req).await)
        })
    }
}

struct Check(AuthService);

impl UnaryService<Vec<u8>> for Check {
    type Response = Vec<u8>;
    type Future = BoxFuture<tonic::Response<Vec<u8>>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Vec<u8>>) -> Self::Future {
        let received = self.0.received.clone();
        Box::pin(async move {
            let check = SCheckRequest::decode(request.into_inner().as_slice())
                .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
            let http = check
                .attributes
                .and_then(|a| a.request)
                .and_then(|r| r.http)
                .unwrap_or_default();
            received.lock().unwrap().push(http.clone());
            let ok = |headers: Vec<SOption>| SCheckResponse {
                status: Some(SStatus { code: 0 }),
                denied: None,
                ok: Some(SOk {
                    headers,
                    headers_to_remove: vec!["authorization".to_owned()],
                }),
            };
            let answer = if http.path.contains("/allow") {
                ok(vec![header("x-user", "alice")])
            } else if http.path.contains("/deny") {
                SCheckResponse {
                    status: Some(SStatus { code: 7 }),
                    denied: Some(SDenied {
                        status: Some(SStatus { code: 401 }),
                        headers: vec![header("www-authenticate", "Bearer")],
                        body: "login first".to_owned(),
                    }),
                    ok: None,
                }
            } else if http.path.contains("/slow") {
                tokio::time::sleep(Duration::from_secs(2)).await;
                ok(Vec::new())
            } else if http.path.contains("/garbage") {
                return Ok(tonic::Response::new(vec![0x0a, 0x05, 0x01]));
            } else {
                SCheckResponse {
                    status: Some(SStatus { code: 7 }),
                    denied: None,
                    ok: None,
                }
            };
            Ok(tonic::Response::new(answer.encode_to_vec()))
        })
    }
}

/// A running server; stops when dropped.
pub(crate) struct GrpcAuthServer {
    pub(crate) addr: SocketAddr,
    pub(crate) received: Arc<Mutex<Vec<SHttp>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl GrpcAuthServer {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = AuthService::default();
        let received = service.received.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let incoming = tonic::codegen::tokio_stream::wrappers::TcpListenerStream::new(listener);
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            received,
            stop: Some(stop),
        }
    }
}

impl Drop for GrpcAuthServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The proxy's async client: the Service port is "resolved" to `addr`.
pub(crate) struct AsyncGrpcClient {
    pub(crate) addr: SocketAddr,
    pub(crate) timeout: Duration,
}

impl AsyncAuthClient for AsyncGrpcClient {
    fn check(&self, check: &AuthCheck<'_>) -> impl Future<Output = AuthResponse> + Send {
        let message = check.grpc_message();
        let (addr, timeout) = (self.addr, self.timeout);
        async move {
            let Some(message) = message else {
                return AuthResponse::Malformed("not a gRPC check".to_owned());
            };
            let call = async {
                let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                    .map_err(|_| AuthResponse::Unreachable)?
                    .connect()
                    .await
                    .map_err(|_| AuthResponse::Unreachable)?;
                let mut client = tonic::client::Grpc::new(channel);
                client
                    .ready()
                    .await
                    .map_err(|_| AuthResponse::Unreachable)?;
                let path = http::uri::PathAndQuery::from_static(CHECK_PATH);
                match client
                    .unary(tonic::Request::new(message), path, RawCodec)
                    .await
                {
                    Ok(response) => Ok(grpc::decode_message(&response.into_inner())),
                    Err(status) if status.code() == tonic::Code::Unavailable => {
                        Err(AuthResponse::Unreachable)
                    }
                    Err(status) => Err(AuthResponse::Malformed(status.to_string())),
                }
            };
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok(answer) | Err(answer)) => answer,
                Err(_) => AuthResponse::Timeout,
            }
        }
    }
}
