//! The `envoy.service.auth.v3` messages of the ext_authz gRPC protocol, defined by hand with
//! `prost` derives (no `protoc`), with the field numbers of Envoy's
//! `api/envoy/service/auth/v3/{external_auth,attribute_context}.proto`,
//! `api/envoy/config/core/v3/base.proto`, `api/envoy/type/v3/http_status.proto` and
//! `google/rpc/status.proto`.
//!
//! Only the fields gateway-core reads or writes are declared; a decoder skips the others, as
//! protobuf requires. The service is `envoy.service.auth.v3.Authorization`, method `Check`
//! ([`CHECK_PATH`]).
//!
//! The message structs are plain wire mirrors (like `api/`): every field is public and they are
//! not `#[non_exhaustive]`, so that callers can build them with struct literals as with any
//! prost-generated code.

#![allow(clippy::exhaustive_structs, missing_docs)]

use std::collections::BTreeMap;

/// The HTTP/2 path of the `Check` RPC.
pub const CHECK_PATH: &str = "/envoy.service.auth.v3.Authorization/Check";

/// `envoy.service.auth.v3.CheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CheckRequest {
    /// The request attributes.
    #[prost(message, optional, tag = "1")]
    pub attributes: Option<AttributeContext>,
}

/// `envoy.service.auth.v3.AttributeContext` (the fields a gateway fills).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeContext {
    /// The client (downstream) peer.
    #[prost(message, optional, tag = "1")]
    pub source: Option<Peer>,
    /// The gateway (the receiver of the last hop).
    #[prost(message, optional, tag = "2")]
    pub destination: Option<Peer>,
    /// The request.
    #[prost(message, optional, tag = "4")]
    pub request: Option<Request>,
    /// Extra context for the auth server, not sent upstream.
    #[prost(btree_map = "string, string", tag = "10")]
    pub context_extensions: BTreeMap<String, String>,
    /// TLS session details.
    #[prost(message, optional, tag = "12")]
    pub tls_session: Option<TlsSession>,
}

/// `AttributeContext.Peer` (address omitted: the core does not know it).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Peer {
    /// Canonical service name.
    #[prost(string, tag = "2")]
    pub service: String,
    /// Labels.
    #[prost(btree_map = "string, string", tag = "3")]
    pub labels: BTreeMap<String, String>,
    /// Authenticated identity.
    #[prost(string, tag = "4")]
    pub principal: String,
    /// URL-encoded PEM certificate.
    #[prost(string, tag = "5")]
    pub certificate: String,
}

/// `AttributeContext.Request`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// When the proxy received the first byte (the core has no clock: the proxy may set it).
    #[prost(message, optional, tag = "1")]
    pub time: Option<Timestamp>,
    /// The HTTP attributes.
    #[prost(message, optional, tag = "2")]
    pub http: Option<HttpRequest>,
}

/// `AttributeContext.HttpRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HttpRequest {
    /// `x-request-id` or equivalent.
    #[prost(string, tag = "1")]
    pub id: String,
    /// The method.
    #[prost(string, tag = "2")]
    pub method: String,
    /// Headers, lower-case names; repeated headers joined with `,`.
    #[prost(btree_map = "string, string", tag = "3")]
    pub headers: BTreeMap<String, String>,
    /// Path and query ("The request target, as it appears in the first line").
    #[prost(string, tag = "4")]
    pub path: String,
    /// `Host` / `:authority`.
    #[prost(string, tag = "5")]
    pub host: String,
    /// `http` or `https`.
    #[prost(string, tag = "6")]
    pub scheme: String,
    /// Always empty (the query is in `path`).
    #[prost(string, tag = "7")]
    pub query: String,
    /// Always empty.
    #[prost(string, tag = "8")]
    pub fragment: String,
    /// The request size in bytes, or -1 when unknown.
    #[prost(int64, tag = "9")]
    pub size: i64,
    /// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2` or `HTTP/3`.
    #[prost(string, tag = "10")]
    pub protocol: String,
    /// The body, when it is valid UTF-8.
    #[prost(string, tag = "11")]
    pub body: String,
    /// The body as bytes, when it is not valid UTF-8 (a proto3 `string` must be UTF-8).
    #[prost(bytes = "vec", tag = "12")]
    pub raw_body: Vec<u8>,
}

/// `AttributeContext.TLSSession`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TlsSession {
    /// The SNI.
    #[prost(string, tag = "1")]
    pub sni: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `envoy.service.auth.v3.CheckResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CheckResponse {
    /// `OK` allows; any other code denies.
    #[prost(message, optional, tag = "1")]
    pub status: Option<Status>,
    /// `oneof http_response`.
    #[prost(oneof = "HttpResponse", tags = "2, 3")]
    pub http_response: Option<HttpResponse>,
}

/// `CheckResponse.http_response`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum HttpResponse {
    /// The answer to the client when denied.
    #[prost(message, tag = "2")]
    DeniedResponse(DeniedHttpResponse),
    /// Request mutations when allowed.
    #[prost(message, tag = "3")]
    OkResponse(OkHttpResponse),
}

/// `google.rpc.Status` (details omitted).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Status {
    /// A `google.rpc.Code`; 0 is `OK`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `envoy.service.auth.v3.DeniedHttpResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeniedHttpResponse {
    /// The HTTP status for the client (403 when unset).
    #[prost(message, optional, tag = "1")]
    pub status: Option<HttpStatus>,
    /// Response headers for the client.
    #[prost(message, repeated, tag = "2")]
    pub headers: Vec<HeaderValueOption>,
    /// Response body for the client.
    #[prost(string, tag = "3")]
    pub body: String,
}

/// `envoy.service.auth.v3.OkHttpResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OkHttpResponse {
    /// Request headers to add, append to or overwrite before forwarding.
    #[prost(message, repeated, tag = "2")]
    pub headers: Vec<HeaderValueOption>,
    /// Request headers to remove before forwarding.
    #[prost(string, repeated, tag = "5")]
    pub headers_to_remove: Vec<String>,
    /// Response headers to add on success.
    #[prost(message, repeated, tag = "6")]
    pub response_headers_to_add: Vec<HeaderValueOption>,
    /// Query parameters to set (not supported: a non-empty list fails closed).
    #[prost(message, repeated, tag = "7")]
    pub query_parameters_to_set: Vec<QueryParameter>,
    /// Query parameters to remove (not supported: a non-empty list fails closed).
    #[prost(string, repeated, tag = "8")]
    pub query_parameters_to_remove: Vec<String>,
}

/// `envoy.config.core.v3.QueryParameter`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QueryParameter {
    /// The name.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `envoy.type.v3.HttpStatus`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct HttpStatus {
    /// The status code (`envoy.type.v3.StatusCode`, whose values are the HTTP codes).
    #[prost(int32, tag = "1")]
    pub code: i32,
}

/// `envoy.config.core.v3.HeaderValueOption`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeaderValueOption {
    /// The header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<HeaderValue>,
    /// Deprecated `append` (`google.protobuf.BoolValue`): when present it wins over
    /// `append_action`.
    #[prost(message, optional, tag = "2")]
    pub append: Option<BoolValue>,
    /// `HeaderAppendAction`: 0 append-if-exists-or-add, 1 add-if-absent,
    /// 2 overwrite-if-exists-or-add, 3 overwrite-if-exists.
    #[prost(int32, tag = "3")]
    pub append_action: i32,
    /// Keep the header when its value is empty.
    #[prost(bool, tag = "4")]
    pub keep_empty_value: bool,
}

/// `envoy.config.core.v3.HeaderValue`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct HeaderValue {
    /// The name.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value (UTF-8).
    #[prost(string, tag = "2")]
    pub value: String,
    /// The value as bytes (used instead of `value` when non-empty).
    #[prost(bytes = "vec", tag = "3")]
    pub raw_value: Vec<u8>,
}

/// `google.protobuf.BoolValue`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct BoolValue {
    /// The value.
    #[prost(bool, tag = "1")]
    pub value: bool,
}

/// `HeaderAppendAction` values.
pub mod append_action {
    /// Append to the existing value, or add the header.
    pub const APPEND_IF_EXISTS_OR_ADD: i32 = 0;
    /// Add only when absent.
    pub const ADD_IF_ABSENT: i32 = 1;
    /// Overwrite, or add.
    pub const OVERWRITE_IF_EXISTS_OR_ADD: i32 = 2;
    /// Overwrite only when present.
    pub const OVERWRITE_IF_EXISTS: i32 = 3;
}

/// `google.rpc.Code` values used here.
pub mod code {
    /// `OK`.
    pub const OK: i32 = 0;
    /// `PERMISSION_DENIED`.
    pub const PERMISSION_DENIED: i32 = 7;
    /// `UNAUTHENTICATED`.
    pub const UNAUTHENTICATED: i32 = 16;
}
