//! The conformance suite's gRPC echo service (`gateway_api_conformance.echo_basic.grpcecho.
//! GrpcEcho`: `Echo`, `EchoTwo`, `EchoThree`), served by tonic inside the echo backends of
//! `support`, and a tonic client that calls it. The messages are written here with prost's
//! derive (no .proto file, no protoc): the echo answers which pod served the call and what it
//! received, as upstream's echo-basic does.

use std::convert::Infallible;

use bytes::{Buf, BufMut, Bytes};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::BoxFuture;
use tonic::server::UnaryService;

use super::Seen;

/// The service's full name.
pub const SERVICE: &str = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";

/// `EchoRequest`: empty.
#[derive(Clone, PartialEq, Message)]
pub struct EchoRequest {}

/// `EchoResponse`: what the echo saw.
#[derive(Clone, PartialEq, Message)]
pub struct EchoResponse {
    #[prost(message, optional, tag = "1")]
    pub assertions: Option<Assertions>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Assertions {
    #[prost(string, tag = "1")]
    pub fully_qualified_method: String,
    #[prost(message, repeated, tag = "2")]
    pub headers: Vec<Header>,
    #[prost(message, optional, tag = "3")]
    pub context: Option<Context>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Header {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Context {
    #[prost(string, tag = "1")]
    pub namespace: String,
    #[prost(string, tag = "2")]
    pub ingress: String,
    #[prost(string, tag = "3")]
    pub service_name: String,
    #[prost(string, tag = "4")]
    pub pod: String,
}

/// A codec of messages as raw bytes: the messages are encoded with prost around it.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;
pub struct RawEncoder;
pub struct RawDecoder;

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

/// A gRPC request (`content-type: application/grpc...`).
pub fn is_grpc<B>(req: &hyper::Request<B>) -> bool {
    let ct = req.headers().get("content-type");
    ct.is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// Serves one call of the echo service; any other method answers UNIMPLEMENTED.
pub async fn serve(
    req: hyper::Request<Incoming>,
    seen: Seen,
) -> Result<hyper::Response<UnsyncBoxBody<Bytes, tonic::Status>>, Infallible> {
    let method = req.uri().path().strip_prefix(&format!("/{SERVICE}/"));
    let response = if matches!(method, Some("Echo" | "EchoTwo" | "EchoThree")) {
        let mut grpc = tonic::server::Grpc::new(RawCodec);
        grpc.unary(Echo(seen), req).await
    } else {
        tonic::Status::unimplemented("no such method").into_http()
    };
    Ok(response.map(BodyExt::boxed_unsync))
}

struct Echo(Seen);

impl UnaryService<Vec<u8>> for Echo {
    type Response = Vec<u8>;
    type Future = BoxFuture<tonic::Response<Vec<u8>>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Vec<u8>>) -> Self::Future {
        let seen = self.0.clone();
        Box::pin(async move {
            EchoRequest::decode(request.into_inner().as_slice())
                .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
            let headers = seen.headers.iter().map(|(key, value)| Header {
                key: key.clone(),
                value: value.clone(),
            });
            let answer = EchoResponse {
                assertions: Some(Assertions {
                    fully_qualified_method: seen.path.clone(),
                    headers: headers.collect(),
                    context: Some(Context {
                        namespace: seen.namespace.clone(),
                        ingress: String::new(),
                        service_name: String::new(),
                        pod: seen.name.clone(),
                    }),
                }),
            };
            Ok(tonic::Response::new(answer.encode_to_vec()))
        })
    }
}

/// Calls `method` of the echo service at `addr` (cleartext HTTP/2) with `authority` as
/// `:authority` and `metadata`; returns the call's status code and, when OK, what the echo
/// backend saw.
pub async fn call(
    addr: std::net::SocketAddr,
    authority: &str,
    method: &str,
    metadata: &[(String, String)],
) -> Result<(tonic::Code, Option<Seen>), String> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| e.to_string())?
        .origin(
            format!("http://{authority}")
                .parse()
                .map_err(|e| format!("{e}"))?,
        );
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| format!("ready: {e}"))?;
    let mut request = tonic::Request::new(EchoRequest {}.encode_to_vec());
    for (k, v) in metadata {
        let key = tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes());
        let key = key.map_err(|e| e.to_string())?;
        request
            .metadata_mut()
            .insert(key, v.parse().map_err(|_| format!("metadata {k}: {v:?}"))?);
    }
    let path = format!("/{SERVICE}/{method}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    match grpc.unary(request, path, RawCodec).await {
        Ok(response) => {
            let answer = EchoResponse::decode(response.into_inner().as_slice());
            let answer = answer.map_err(|e| format!("not an EchoResponse: {e}"))?;
            let a = answer.assertions.unwrap_or_default();
            let context = a.context.unwrap_or_default();
            let seen = Seen {
                namespace: context.namespace,
                name: context.pod,
                method: "POST".to_owned(),
                path: a.fully_qualified_method,
                host: String::new(),
                headers: a.headers.into_iter().map(|h| (h.key, h.value)).collect(),
                sni: None,
                version: "HTTP/2.0".to_owned(),
                body_len: 0,
            };
            Ok((tonic::Code::Ok, Some(seen)))
        }
        Err(status) => Ok((status.code(), None)),
    }
}
