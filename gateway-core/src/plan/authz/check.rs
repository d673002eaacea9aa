//! Building the check request: [`AuthCheck`] and its HTTP and gRPC forms.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{AuthOptions, AuthOutcome, AuthResponse, BodyLimit, Reason, judge, proto};
use crate::filter::{AuthFilter, AuthProtocolConfig};
use crate::outcome::{BadRequest, Denied, Outcome};
use crate::plan::{LocalResponse, Plan};
use crate::request::{HttpVersion, RequestView};
use crate::route::Decision;

/// The protocol of an auth service.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthProtocol {
    /// Envoy ext_authz over plain HTTP.
    Http,
    /// Envoy ext_authz over gRPC (`envoy.service.auth.v3.Authorization/Check`).
    Grpc,
}

impl AuthProtocol {
    /// `HTTP` or `GRPC`, as in the Gateway API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Grpc => "GRPC",
        }
    }
}

/// Where the check goes: a Service port (resolved, ReferenceGrant checked).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthBackend {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Service port.
    pub port: u16,
}

/// The check request, in the form its protocol sends.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum AuthRequest {
    /// An HTTP request to the auth service.
    Http(HttpCheckRequest),
    /// A gRPC `Check` call (encode it with [`AuthCheck::grpc_frame`]).
    Grpc(Box<proto::CheckRequest>),
}

/// The HTTP request an HTTP auth service receives.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheckRequest {
    /// The client's method.
    pub method: String,
    /// `http.path` + the canonical client path + `?query` when there is one.
    pub path: String,
    /// The header fields, lower-case names, in order; `host` first, `content-length` last.
    pub headers: Vec<(String, String)>,
    /// The body forwarded (empty unless `forwardBody` is set and [`AuthCheck::with_body`]
    /// was called).
    pub body: Vec<u8>,
}

/// A request that waits for the auth service's answer: what to send, and the sealed plan that
/// an allowing answer releases.
///
/// Obtained from [`Plan::Authorize`]; consumed by [`AuthCheck::answer`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthCheck<'r> {
    /// The auth service.
    pub backend: AuthBackend,
    /// The request to send. The proxy may fill fields the core cannot know (for gRPC, the
    /// request time or the peers) before encoding.
    pub request: AuthRequest,
    /// `forwardBody.maxSize` when the body is to be forwarded: buffer up to this many bytes
    /// (one more to detect an overflow) and call [`AuthCheck::with_body`].
    pub max_body: Option<usize>,
    config: &'r AuthFilter,
    /// Lower-case names of the client's headers (for add-if-absent and overwrite-if-exists).
    client_headers: Vec<String>,
    pending: Box<Plan<'r>>,
}

// `proto::CheckRequest` holds no floats: equality is total.
impl Eq for AuthRequest {}

impl<'r> AuthCheck<'r> {
    /// The protocol the request is sent with.
    pub fn protocol(&self) -> AuthProtocol {
        match self.request {
            AuthRequest::Http(_) => AuthProtocol::Http,
            AuthRequest::Grpc(_) => AuthProtocol::Grpc,
        }
    }

    /// The HTTP request, for an HTTP auth service.
    pub fn http(&self) -> Option<&HttpCheckRequest> {
        match &self.request {
            AuthRequest::Http(h) => Some(h),
            AuthRequest::Grpc(_) => None,
        }
    }

    /// The `CheckRequest` message, for a gRPC auth service.
    pub fn grpc(&self) -> Option<&proto::CheckRequest> {
        match &self.request {
            AuthRequest::Grpc(g) => Some(g),
            AuthRequest::Http(_) => None,
        }
    }

    /// The protobuf encoding of the `CheckRequest` (what a gRPC library frames itself).
    pub fn grpc_message(&self) -> Option<Vec<u8>> {
        self.grpc().map(prost::Message::encode_to_vec)
    }

    /// The `CheckRequest` as a length-prefixed gRPC message, ready to be sent as the body of
    /// `POST /envoy.service.auth.v3.Authorization/Check` ([`proto::CHECK_PATH`]).
    pub fn grpc_frame(&self) -> Option<Vec<u8>> {
        super::grpc::frame(&self.grpc_message()?)
    }

    /// How many body bytes the check carries.
    pub fn body_bytes(&self) -> usize {
        match &self.request {
            AuthRequest::Http(h) => h.body.len(),
            AuthRequest::Grpc(g) => g
                .attributes
                .as_ref()
                .and_then(|a| a.request.as_ref())
                .and_then(|r| r.http.as_ref())
                .map_or(0, |h| h.body.len().max(h.raw_body.len())),
        }
    }

    /// Adds the client's body (at most [`AuthCheck::max_body`] + 1 bytes need be buffered)
    /// when `forwardBody` is set; does nothing otherwise.
    ///
    /// Returns the check again ([`Plan::Authorize`]), or, for a body over `maxSize` with
    /// [`BodyLimit::Reject`], the rejection ([`Plan::Respond`]).
    pub fn with_body(mut self, body: &[u8], options: &AuthOptions) -> Plan<'r> {
        let Some(max) = self.max_body else {
            return Plan::Authorize(self);
        };
        let truncated = body.len() > max;
        let body = match (truncated, options.body_limit) {
            (true, BodyLimit::Reject { status }) => {
                let status = if (400..=499).contains(&status) {
                    status
                } else {
                    413
                };
                return Plan::Respond(LocalResponse::new(
                    Outcome::Denied(Denied::BodyTooLarge),
                    status,
                    format!("the request body is larger than forwardBody.maxSize ({max} bytes)"),
                ));
            }
            (true, _) => body.get(..max).unwrap_or(body),
            (false, _) => body,
        };
        let partial = if truncated { "true" } else { "false" };
        match &mut self.request {
            AuthRequest::Http(h) => {
                h.body = body.to_vec();
                h.headers
                    .retain(|(n, _)| n != "content-length" && n != PARTIAL_BODY);
                h.headers
                    .push((PARTIAL_BODY.to_owned(), partial.to_owned()));
                h.headers
                    .push(("content-length".to_owned(), body.len().to_string()));
            }
            AuthRequest::Grpc(g) => {
                if let Some(h) = g
                    .attributes
                    .as_mut()
                    .and_then(|a| a.request.as_mut())
                    .and_then(|r| r.http.as_mut())
                {
                    match std::str::from_utf8(body) {
                        Ok(text) => {
                            h.body = text.to_owned();
                            h.raw_body = Vec::new();
                        }
                        Err(_) => {
                            h.body = String::new();
                            h.raw_body = body.to_vec();
                        }
                    }
                    h.headers
                        .insert(PARTIAL_BODY.to_owned(), partial.to_owned());
                }
            }
        }
        Plan::Authorize(self)
    }

    /// The plan for the auth service's answer: the sealed forward (with the allowed headers
    /// applied) when it allows, its answer when it denies, a failure status otherwise.
    pub fn answer(self, response: AuthResponse, options: &AuthOptions) -> Plan<'r> {
        self.judge(response, options).into_plan()
    }

    /// As [`AuthCheck::answer`], telling a denial from a failure.
    pub fn judge(self, response: AuthResponse, options: &AuthOptions) -> AuthOutcome<'r> {
        let verdict = judge::judge(&self, response, options.failure());
        match verdict {
            judge::Verdict::Allow { request, response } => {
                AuthOutcome::Allowed(judge::release(*self.pending, request, response))
            }
            judge::Verdict::Deny(local) => AuthOutcome::Denied(local),
            judge::Verdict::Fail(local) => AuthOutcome::Failed(local),
        }
    }

    /// Converts the HTTP check into an `http::Request` (the URI is the origin-form path; set
    /// the scheme and authority of the auth Service if your client needs an absolute URI).
    ///
    /// # Errors
    /// [`http::Error`] when the check is a gRPC check or a header cannot be represented.
    pub fn to_http_request(&self) -> Result<http::Request<Vec<u8>>, http::Error> {
        let h = match &self.request {
            AuthRequest::Http(h) => h,
            // An invalid method makes the builder fail: a gRPC check has no HTTP form.
            AuthRequest::Grpc(_) => return http::Request::builder().method("").body(Vec::new()),
        };
        let mut builder = http::Request::builder()
            .method(h.method.as_str())
            .uri(h.path.as_str());
        for (name, value) in &h.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.body(h.body.clone())
    }

    pub(super) fn config(&self) -> &'r AuthFilter {
        self.config
    }

    pub(super) fn client_has(&self, name: &str) -> bool {
        self.client_headers.iter().any(|n| n == name)
    }
}

/// Envoy's header telling the auth server whether the body was truncated.
const PARTIAL_BODY: &str = "x-envoy-auth-partial-body";

/// Headers never sent to, nor copied from, the auth service by name: message framing and
/// hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection.
pub(super) const CONNECTION_HEADERS: [&str; 8] = [
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Builds the check for `plan`. `Ok(Err(_))` is a local answer (400) for a request whose
/// headers cannot be sent.
pub(super) fn begin<'r>(
    decision: &Decision<'r, '_>,
    req: &RequestView<'_>,
    config: &'r AuthFilter,
    backend: AuthBackend,
    plan: Plan<'r>,
) -> Result<Result<AuthCheck<'r>, LocalResponse>, Reason> {
    let mut client_headers: Vec<String> = Vec::new();
    for (name, _) in req.headers.iter() {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if !client_headers.contains(&name) {
            client_headers.push(name);
        }
    }
    let request = match &config.protocol {
        AuthProtocolConfig::Http {
            prefix,
            allowed_headers,
        } => match http_request(decision, req, prefix, allowed_headers)? {
            Ok(r) => AuthRequest::Http(r),
            Err(local) => return Ok(Err(local)),
        },
        AuthProtocolConfig::Grpc { allowed_headers } => {
            match grpc_request(decision, req, allowed_headers) {
                Ok(r) => AuthRequest::Grpc(Box::new(r)),
                Err(local) => return Ok(Err(local)),
            }
        }
    };
    Ok(Ok(AuthCheck {
        backend,
        request,
        max_body: config.max_body,
        config,
        client_headers,
        pending: Box::new(plan),
    }))
}

fn http_request(
    decision: &Decision<'_, '_>,
    req: &RequestView<'_>,
    prefix: &str,
    allowed: &[String],
) -> Result<Result<HttpCheckRequest, LocalResponse>, Reason> {
    let canonical = checked_canonical(decision)?;
    if !prefix.is_empty() && has_encoded_separator(canonical) {
        return Ok(Err(LocalResponse::new(
            Outcome::BadRequest(BadRequest::UnsafeAuthPath),
            400,
            "an encoded slash or backslash in the path could escape the auth path prefix",
        )));
    }
    let mut path = String::with_capacity(prefix.len() + canonical.len());
    path.push_str(prefix);
    path.push_str(canonical);
    if let Some(q) = decision.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut headers = vec![("host".to_owned(), decision.host().to_owned())];
    for (name, value) in req.headers.iter() {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let sent = name == "authorization" || allowed.contains(&name);
        if !sent
            || name == "host"
            || name.starts_with(':')
            || CONNECTION_HEADERS.contains(&name.as_str())
        {
            continue;
        }
        match header_value(value) {
            Some(v) => headers.push((name, v.to_owned())),
            None => return Ok(Err(unsendable(&name))),
        }
    }
    headers.push(("content-length".to_owned(), "0".to_owned()));
    Ok(Ok(HttpCheckRequest {
        method: req.method.to_owned(),
        path,
        headers,
        body: Vec::new(),
    }))
}

fn grpc_request(
    decision: &Decision<'_, '_>,
    req: &RequestView<'_>,
    allowed: &[String],
) -> Result<proto::CheckRequest, LocalResponse> {
    let mut path = decision.path().to_owned();
    if let Some(q) = decision.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    headers.insert(":authority".to_owned(), decision.host().to_owned());
    headers.insert(":method".to_owned(), req.method.to_owned());
    headers.insert(":path".to_owned(), path.clone());
    headers.insert(":scheme".to_owned(), req.scheme.to_owned());
    let mut id = String::new();
    let mut size: i64 = -1;
    for (name, value) in req.headers.iter() {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if name == "host" || name.starts_with(':') {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&name) {
            continue;
        }
        let Some(value) = header_value(value) else {
            return Err(unsendable(&name));
        };
        if name == "x-request-id" && id.is_empty() {
            value.clone_into(&mut id);
        }
        if name == "content-length" {
            size = value.trim().parse().unwrap_or(-1);
        }
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    let protocol = match req.version {
        HttpVersion::Http10 => "HTTP/1.0",
        HttpVersion::Http2 => "HTTP/2",
        HttpVersion::Http3 => "HTTP/3",
        _ => "HTTP/1.1",
    };
    Ok(proto::CheckRequest {
        attributes: Some(proto::AttributeContext {
            source: None,
            destination: None,
            request: Some(proto::Request {
                time: None,
                http: Some(proto::HttpRequest {
                    id,
                    method: req.method.to_owned(),
                    headers,
                    path,
                    host: decision.host().to_owned(),
                    scheme: req.scheme.to_owned(),
                    query: String::new(),
                    fragment: String::new(),
                    size,
                    protocol: protocol.to_owned(),
                    body: String::new(),
                    raw_body: Vec::new(),
                }),
            }),
            context_extensions: BTreeMap::new(),
            tls_session: req.sni.map(|sni| proto::TlsSession {
                sni: sni.to_owned(),
            }),
        }),
    })
}

fn unsendable(name: &str) -> LocalResponse {
    LocalResponse::new(
        Outcome::BadRequest(BadRequest::InvalidHeaderValue),
        400,
        format!(
            "header {name:?} has a value the auth check cannot carry (not UTF-8, or CR/LF/NUL)"
        ),
    )
}

/// A header value that can be sent: UTF-8, without CR, LF or NUL.
fn header_value(value: &[u8]) -> Option<&str> {
    let v = std::str::from_utf8(value).ok()?;
    is_field_value(v).then_some(v)
}

/// The canonical path, checked again: it starts with `/` and has no dot segment (the router
/// guarantees it; the auth path relies on it, so it is not taken on trust).
fn checked_canonical<'d>(decision: &'d Decision<'_, '_>) -> Result<&'d str, Reason> {
    let path = decision.path();
    let dot = path.split('/').any(|s| s == "." || s == "..");
    if !path.starts_with('/') || dot || path.contains(['?', '#', '\\']) {
        return Err(Cow::Borrowed("the canonical path is not canonical"));
    }
    Ok(path)
}

/// Whether the path holds `%2F` or `%5C` (any case).
fn has_encoded_separator(path: &str) -> bool {
    let b = path.as_bytes();
    b.windows(3)
        .any(|w| matches!(w, [b'%', b'2', b'f' | b'F'] | [b'%', b'5', b'c' | b'C']))
}

/// `field-value` without CTLs (HTAB allowed): no CR, LF or NUL (SECURITY.md rule 4).
pub(super) fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// An RFC 9110 token (a header name).
pub(super) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
