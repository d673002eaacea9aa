//! The JSON Lines interface of `gateway route --json`, mirrored by every binding (C, WASM):
//! one request object in, one decision object out. The schema is documented in the README
//! and kept stable; fields later stages compute are `null` until they exist.

use serde::{Deserialize, Serialize};

use crate::attach::Backend;
use crate::filter::{HeaderEdits, Timeout};
use crate::outcome::{BadRequest, Outcome, ServerError};

/// The outcome of a request line that is not a valid request.
const MALFORMED: Outcome = Outcome::BadRequest(BadRequest::MalformedRequest);
use crate::plan::Plan;
use crate::plan::authz::{
    AuthCheck, AuthOptions, AuthOutcome, AuthProtocol, AuthRequest, AuthResponse,
};
use crate::request::{Headers, HttpVersion, RequestView};
use crate::route::{Decision, Destination, L4Transport, MeshRoute, Router};
use crate::tls::{ClientAuth, Handshake, SessionCheck, Verdict};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use std::time::Duration;

/// Largest request line accepted by [`route_json`], in bytes.
pub const MAX_REQUEST_JSON: usize = 1 << 20;

/// A request as the JSON interface takes it.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRequest {
    /// `http` (default) or `https`.
    #[serde(default = "http_scheme")]
    pub scheme: String,
    /// The connection's local port (default 80).
    #[serde(default = "port_80")]
    pub port: u16,
    /// The TLS server name.
    #[serde(default)]
    pub sni: Option<String>,
    /// `1.0`, `1.1` (default), `2` or `3`.
    #[serde(default)]
    pub http_version: Option<String>,
    /// The method (default `GET`).
    #[serde(default = "get")]
    pub method: String,
    /// HTTP/2 `:authority`; null for HTTP/1.
    #[serde(default)]
    pub authority: Option<String>,
    /// The raw request-target exactly as received.
    #[serde(default = "slash")]
    pub target: String,
    /// Headers in order, with duplicates.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// What the external auth service answered, for offline auth tests:
    /// `{"status": 403, "headers": [["x-why", "no"]], "body": "..."}` (`headers` and `body`
    /// optional), `{"unreachable": true}` or `{"timeout": true}`. For a gRPC check, status 200
    /// stands for a `CheckResponse` with status OK whose headers overwrite the request's, any
    /// other status for a denial (`PERMISSION_DENIED`) with that HTTP status, headers and body.
    /// Anything else is a malformed answer, which fails closed.
    #[serde(default)]
    pub ext_auth_response: Option<serde_json::Value>,
    /// Randomness for the weighted backend choice and mirrors (default 0).
    #[serde(default)]
    pub random: u64,
    /// The TLS connection the request arrived on (null: no TLS facts, the frontend checks are
    /// not made): `{"client_chain_pem": "-----BEGIN CERTIFICATE-----...", "resumed_from_port":
    /// 8443}`, both optional. The server name is `sni`. The decision's `frontend_tls` reports
    /// the verdicts, and a refusal is the decision's outcome.
    #[serde(default)]
    pub tls: Option<JsonTls>,
    /// The certificate chain the chosen backend presented (PEM, leaf first), verified against
    /// the backend's BackendTLSPolicy at `now`; the verdict is the decision's
    /// `backend_certificate`.
    #[serde(default)]
    pub backend_chain_pem: Option<String>,
    /// The current time in seconds since 1970 (the library reads no clock): the verification
    /// time, needed when a chain is given; and the time a session token presented in the
    /// headers is read at. With it, a valid token of the rule's session persistence (not
    /// expired, its backendRef still the same Service port) chooses that backendRef whatever
    /// its weight, as [`plan_pinned`](crate::plan::plan_pinned) does for a proxy (which then
    /// forwards to the token's endpoint only while it is live); without it, no token is read.
    #[serde(default)]
    pub now: Option<u64>,
    /// Mesh routers only: the namespace of the client that sent the request (consumer routes
    /// apply to clients of their own namespace).
    #[serde(default)]
    pub client_namespace: Option<String>,
    /// Mesh routers only: where the client sent the request, a Service port or an address
    /// (see [`JsonDestination`]).
    #[serde(default)]
    pub destination: Option<JsonDestination>,
}

/// What the TLS handshake of the request's connection established.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonTls {
    /// The certificate chain the client presented (PEM, leaf first); null or absent when it
    /// presented none.
    #[serde(default)]
    pub client_chain_pem: Option<String>,
    /// The port whose TLS session the connection resumed; null or absent for a full handshake.
    #[serde(default)]
    pub resumed_from_port: Option<u16>,
}

/// Where a mesh request goes: `{"namespace": "app", "name": "echo", "port": 80}` (a Service
/// port; `namespace` defaults to the client's) or `{"address": "10.0.0.7", "port": 80}` (an
/// address, resolved through the Services' cluster IPs). `port` defaults to the request's
/// `port`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonDestination {
    /// The Service's namespace; the client's when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The Service's name (or give `address`).
    #[serde(default)]
    pub name: Option<String>,
    /// An IPv4 or IPv6 address (or give `name`).
    #[serde(default)]
    pub address: Option<String>,
    /// The port; the request's `port` when absent.
    #[serde(default)]
    pub port: Option<u16>,
}

/// A connection that is not HTTP, as the JSON interface takes it: a request line with
/// `transport` is one of these, `{"transport": "tls", "port": 443, "sni": "a.example.com"}`,
/// `{"transport": "tcp", "port": 9000}` or `{"transport": "udp", "port": 53}`. It takes no
/// HTTP field; the decision names the listener, the TLSRoute, TCPRoute or UDPRoute, its rule
/// and the backend drawn with `random` ([`crate::route::Router::route_l4`]).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConnection {
    /// `tls`, `tcp` or `udp` ([`L4Transport::parse`]).
    pub transport: String,
    /// The connection's local port.
    pub port: u16,
    /// The TLS server name from the ClientHello; `tls` only.
    #[serde(default)]
    pub sni: Option<String>,
    /// Randomness for the weighted backend choice (default 0).
    #[serde(default)]
    pub random: u64,
}

fn http_scheme() -> String {
    "http".to_owned()
}
fn port_80() -> u16 {
    80
}
fn get() -> String {
    "GET".to_owned()
}
fn slash() -> String {
    "/".to_owned()
}

/// A route reference in a decision.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonRoute {
    /// Route kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A rule reference in a decision.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonRule {
    /// Index in the route's rules.
    pub index: usize,
    /// The rule's name.
    pub name: Option<String>,
}

/// A backend in a decision.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonBackend {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Service port.
    pub port: u16,
    /// The manifests do not hold the Service: it was assumed to exist
    /// (`AttachOptions::assume_services`). Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assumed: bool,
}

/// A forward's timeouts (Gateway API `HTTPRouteTimeouts`), in milliseconds: null when the rule
/// does not set one (the proxy's own default applies), 0 when it is set to `0s` (no timeout:
/// "SHOULD disable the timeout completely", or the longest the proxy supports).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonTimeouts {
    /// `timeouts.request`: the whole exchange with the client, retries included.
    pub request_ms: Option<u64>,
    /// `timeouts.backendRequest`: each attempt to a backend.
    pub backend_request_ms: Option<u64>,
}

/// A forward's retry policy (Gateway API `HTTPRouteRetry`, GEP-1731).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonRetry {
    /// Response statuses that are retried (a backend that cannot be reached or times out is
    /// retried too, as the spec says).
    pub codes: Vec<u16>,
    /// Retries after the first attempt; null leaves it to the proxy, 0 disables retries.
    pub attempts: Option<u32>,
    /// The least time to wait before each retry, in milliseconds; null leaves it to the
    /// proxy, which may also grow it for later retries.
    pub backoff_ms: Option<u64>,
    /// The retry budget of the chosen backend's Service (XBackendTrafficPolicy
    /// `retryConstraint`, CRD defaults applied); null when no accepted policy sets one.
    pub budget: Option<JsonRetryBudget>,
}

/// A Service's retry budget ([`crate::filter::RetryBudget`]): a retry is allowed while fewer
/// than `min_retries` retries were sent in the last `min_retry_interval_ms`, or while retries
/// stay within `percent` % of the requests of the last `interval_ms`; a refused retry answers
/// 503.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonRetryBudget {
    /// `budget.percent`: the most retries may be of the requests, in percent.
    pub percent: u8,
    /// `budget.interval`, in milliseconds.
    pub interval_ms: u64,
    /// `minRetryRate.count`.
    pub min_retries: u32,
    /// `minRetryRate.interval`, in milliseconds.
    pub min_retry_interval_ms: u64,
}

/// A forward's session persistence ([`crate::filter::Session`]): what the proxy sets and reads
/// back to pin a client to an endpoint.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonSession {
    /// `cookie` or `header`.
    pub kind: String,
    /// The cookie or header name (`sessionName`, or `gw-session-<hex>` unique to the rule).
    pub name: String,
    /// For a cookie: `session` or `permanent`; null for a header.
    pub lifetime: Option<String>,
    /// `absoluteTimeout` in milliseconds; null when unset.
    pub absolute_timeout_ms: Option<u64>,
    /// `idleTimeout` in milliseconds; null when unset.
    pub idle_timeout_ms: Option<u64>,
    /// The cookie's `Path` (the matched path match's); null for a header, and for a policy of
    /// a Service.
    pub path: Option<String>,
    /// Whether the cookie is `Secure` (an HTTPS listener); false for a header.
    pub secure: bool,
    /// `rule` (the rule's own `sessionPersistence`) or `policy` (an XBackendTrafficPolicy).
    pub source: String,
    /// The XBackendTrafficPolicy as `namespace/name`, for `source: policy`.
    pub policy: Option<String>,
}

/// The request sent upstream.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonUpstream {
    /// Method.
    pub method: String,
    /// Host / `:authority`: as received (port included) unless a URLRewrite hostname
    /// replaced it; the canonical host for an absolute-form target.
    pub authority: String,
    /// Path and query.
    pub path: String,
    /// The complete header list, after edits.
    pub headers: Vec<(String, String)>,
}

/// Header edits in a decision.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonHeaderEdits {
    /// Headers replaced (every existing value of the name goes).
    pub set: Vec<(String, String)>,
    /// Values appended (joined to an existing value with `,`).
    pub add: Vec<(String, String)>,
    /// Header names removed.
    pub remove: Vec<String>,
}

/// A certificate chain's verdict ([`crate::tls::Verdict`]) in a decision.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonVerdict {
    /// `valid`, `invalid`, or `unavailable` when this build cannot verify certificates (the
    /// `tls` cargo feature is off): the host must.
    pub verdict: String,
    /// For `invalid`: the reason's stable name ([`crate::tls::Reason::as_str`]:
    /// `no_certificate`, `unknown_issuer`, `expired`, `san_mismatch`, ...).
    pub reason: Option<String>,
    /// For `invalid`: the reason in words, for people (may change).
    pub detail: Option<String>,
}

/// The frontend TLS verdicts of a request on a TLS connection ([`crate::tls::SessionCheck`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonFrontendTls {
    /// The port whose handshake established the session: `resumed_from_port`, else `port`.
    pub session_port: u16,
    /// That port's client-certificate validation: `AllowValidOnly` or `AllowInsecureFallback`;
    /// null when it asks for no client certificate.
    pub validation: Option<String>,
    /// The client chain's verdict against that port's CAs; null when it asks for none.
    pub client_certificate: Option<JsonVerdict>,
    /// What the client certificate proved ([`crate::tls::ClientAuth`]): `not_requested`,
    /// `verified` or `unverified` (admitted by `AllowInsecureFallback`); null when it cannot be
    /// known (`client_certificate` is `unavailable`).
    pub client_auth: Option<String>,
    /// The coalescing guard's answer ([`crate::tls::Coalescing`]): `allow`, `misdirected`,
    /// `not_found` or `bad_request`; null when it cannot be known. Anything but `allow` is the
    /// decision's outcome.
    pub coalescing: Option<String>,
}

/// A decision as the JSON interface returns it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonDecision {
    /// `forward`, `redirect`, `respond`, `not_found`, `bad_request`, `misdirected`,
    /// `server_error`, `auth_required`, `auth_denied`, or for a mesh router `pass_through` (no
    /// route applies: the request goes to its destination as addressed).
    pub outcome: String,
    /// Why the proxy answers itself, for `not_found`, `bad_request`, `server_error` and
    /// `auth_denied` (see [`crate::outcome`]: `no_rule`, `invalid_host`, `invalid_backend`,
    /// `auth_failed`, ...; `malformed_request` for a request line that is not a valid
    /// request); null for the other outcomes.
    pub cause: Option<String>,
    /// The status the proxy answers with when it answers itself; null for a connection that
    /// is not HTTP (a `transport` line: the proxy closes it or drops the datagram).
    pub status: Option<u16>,
    /// `tls`, `tcp` or `udp` for a connection that is not HTTP (a request line with
    /// `transport`); null for an HTTP request.
    pub transport: Option<String>,
    /// The listener name.
    pub listener: Option<String>,
    /// The matched route.
    pub route: Option<JsonRoute>,
    /// The matched rule.
    pub rule: Option<JsonRule>,
    /// The external auth check, exactly as it is sent (null: none needed):
    /// `{"protocol": "HTTP"|"GRPC", "backend": {"namespace", "name", "port"}, "method", "path",
    /// "headers": [[n, v]], "body_bytes", "max_body"}`; for gRPC `path` has no prefix, `headers`
    /// is the message's header map (sorted, with `:authority`, `:method`, `:path`, `:scheme`)
    /// and `host` is added.
    pub ext_auth: Option<serde_json::Value>,
    /// The chosen backend.
    pub backend: Option<JsonBackend>,
    /// The request sent upstream.
    pub upstream: Option<JsonUpstream>,
    /// The headers a forward sets or adds on the response, or the local response's headers.
    pub response_headers: Vec<(String, String)>,
    /// A forward's response edits in full: `{"set": [[n, v]], "add": [[n, v]], "remove": [n]}`;
    /// null for local responses.
    pub response_edits: Option<JsonHeaderEdits>,
    /// The redirect Location.
    pub location: Option<String>,
    /// Mirror backends that receive a copy.
    pub mirrors: Vec<JsonBackend>,
    /// Backend TLS settings (null: plaintext): `{"policy", "sni", "trust", "subject_alt_names",
    /// "client_certificate"}` where `trust` is `{"bundles": <certificate count>}` or `"system"`.
    pub backend_tls: Option<serde_json::Value>,
    /// A forward's timeouts (null for other outcomes).
    pub timeouts: Option<JsonTimeouts>,
    /// A forward's retry policy (null when the rule has none, and for other outcomes).
    pub retry: Option<JsonRetry>,
    /// A forward's session persistence (null when the rule has none, and for other outcomes).
    pub session: Option<JsonSession>,
    /// Why, for every outcome but `forward`.
    pub reason: Option<String>,
    /// The verdicts on the request's TLS connection; null when the request has no `tls`.
    pub frontend_tls: Option<JsonFrontendTls>,
    /// The verdict on `backend_chain_pem` for the chosen backend's BackendTLSPolicy; null when
    /// no chain was given or the decision is not a forward over TLS. An `invalid` verdict makes
    /// the outcome `server_error` with cause `backend_certificate_refused` and status 502:
    /// nothing is sent (no `upstream`, edits, mirrors, timeouts, retry or session), and `backend` and `backend_tls` stay
    /// to say which backend was refused.
    pub backend_certificate: Option<JsonVerdict>,
}

impl JsonDecision {
    /// A decision of `outcome` with the status the outcome fixes and a reason.
    fn of(outcome: Outcome, reason: String) -> Self {
        Self {
            outcome: outcome.as_str().to_owned(),
            cause: outcome.cause_str().map(str::to_owned),
            status: outcome.status(),
            transport: None,
            listener: None,
            route: None,
            rule: None,
            ext_auth: None,
            backend: None,
            upstream: None,
            response_headers: Vec::new(),
            response_edits: None,
            location: None,
            mirrors: Vec::new(),
            backend_tls: None,
            timeouts: None,
            retry: None,
            session: None,
            reason: Some(reason),
            frontend_tls: None,
            backend_certificate: None,
        }
    }

    /// Sets `outcome` and `cause` from the core's vocabulary, one to one.
    fn set_outcome(&mut self, outcome: Outcome) {
        outcome.as_str().clone_into(&mut self.outcome);
        self.cause = outcome.cause_str().map(str::to_owned);
    }
}

/// Routes one JSON request line and returns the decision as one JSON line. Malformed input
/// gives a `bad_request` decision naming the problem, never a panic.
///
/// # Examples
/// ```
/// # use gateway_core::{Engine, EngineOptions, Target};
/// # let yaml = include_str!("../../examples/manifests/shop.yaml");
/// # let options = EngineOptions::default();
/// # let (_, router) = Engine::load_router(yaml.as_bytes(), &Target::only_gateway(), &options).unwrap();
/// let line = r#"{"method":"GET","target":"/","headers":[["host","shop.example.com"]]}"#;
/// let decision = gateway_core::json::route_json(&router, line.as_bytes());
/// assert!(decision.contains(r#""outcome":"forward""#));
/// ```
pub fn route_json(router: &Router, line: &[u8]) -> String {
    let decision = if line.len() > MAX_REQUEST_JSON {
        JsonDecision::of(
            MALFORMED,
            format!(
                "request JSON is {} bytes, more than {MAX_REQUEST_JSON}",
                line.len()
            ),
        )
    } else {
        match parse_line(line) {
            Ok(Line::Http(req)) => decide(router, &req),
            Ok(Line::L4(conn)) => decide_l4(router, &conn),
            Err(why) => JsonDecision::of(MALFORMED, why),
        }
    };
    serde_json::to_string(&decision)
        .unwrap_or_else(|_| r#"{"outcome":"server_error","status":500}"#.to_owned())
}

/// A request line: an HTTP request, or a connection that is not HTTP (it has `transport`).
enum Line {
    Http(Box<JsonRequest>),
    L4(JsonConnection),
}

/// Parses a request line. A line that holds no `transport` key parses as [`JsonRequest`] at
/// once; the others are looked at as a JSON object first.
fn parse_line(line: &[u8]) -> Result<Line, String> {
    let invalid = |e: serde_json::Error| format!("invalid request JSON: {e}");
    if !line.windows(b"transport".len()).any(|w| w == b"transport") {
        return serde_json::from_slice(line)
            .map(Line::Http)
            .map_err(invalid);
    }
    let value: serde_json::Value = serde_json::from_slice(line).map_err(invalid)?;
    if value.get("transport").is_none() {
        return serde_json::from_value(value)
            .map(Line::Http)
            .map_err(invalid);
    }
    serde_json::from_value(value).map(Line::L4).map_err(|e| {
        format!(
            "invalid L4 request JSON (a line with transport takes only transport, port, sni and \
             random): {e}"
        )
    })
}

/// Routes one connection that is not HTTP into a decision ([`Router::route_l4`]).
///
/// A forward names the listener, route, rule and the backend drawn with `random`; a draw on an
/// invalid backend is `server_error` (`invalid_backend`): the proxy refuses the connection. No
/// route is `not_found` (`no_listener_on_port`, `no_listener_for_sni` or `no_rule`): the proxy
/// closes the connection or drops the datagram. `status` is always null: nothing answers in
/// HTTP. An unknown transport, or `sni` with `tcp` or `udp`, is `bad_request`
/// (`malformed_request`).
///
/// # Examples
/// ```
/// # use gateway_core::{Engine, EngineOptions, Target};
/// # let yaml = include_str!("../../examples/l4/l4.yaml");
/// # let options = EngineOptions::default();
/// # let (_, router) = Engine::load_router(yaml.as_bytes(), &Target::only_gateway(), &options).unwrap();
/// let line = r#"{"transport":"tls","port":8443,"sni":"db.example.com"}"#;
/// let decision = gateway_core::json::route_json(&router, line.as_bytes());
/// assert!(decision.contains(r#""route":{"kind":"TLSRoute","namespace":"edge","name":"db"}"#));
/// ```
pub fn decide_l4(router: &Router, conn: &JsonConnection) -> JsonDecision {
    let Some(transport) = L4Transport::parse(&conn.transport) else {
        return JsonDecision::of(
            MALFORMED,
            format!(
                "unknown transport {:?}: expected tls, tcp or udp",
                conn.transport
            ),
        );
    };
    if conn.sni.is_some() && transport != L4Transport::Tls {
        return JsonDecision::of(
            MALFORMED,
            format!("sni is for transport tls, not {transport}"),
        );
    }
    if router.is_mesh() {
        return JsonDecision::of(
            MALFORMED,
            "a mesh router routes HTTP and gRPC only, not a transport".to_owned(),
        );
    }
    let d = router.route_l4(transport, conn.port, conn.sni.as_deref());
    let mut out = named(&d);
    out.status = None;
    out.transport = Some(transport.as_str().to_owned());
    if d.outcome() == Outcome::Forward {
        match d.choose_backend(conn.random) {
            Some(b) => {
                out.reason = None;
                out.backend = Some(backend(b));
            }
            None => {
                out.set_outcome(Outcome::ServerError(ServerError::InvalidBackend));
                out.reason = Some(
                    "the draw landed on an invalid backend's share: refuse the connection"
                        .to_owned(),
                );
            }
        }
    }
    out
}

/// A decision with the router's outcome, reason, listener, route and rule.
fn named(d: &Decision<'_, '_>) -> JsonDecision {
    let mut out = JsonDecision::of(d.outcome(), d.reason().to_owned());
    out.listener = d.listener().map(str::to_owned);
    out.route = d.route().map(|r| JsonRoute {
        kind: r.kind.as_str().to_owned(),
        namespace: r.namespace.to_owned(),
        name: r.name.to_owned(),
    });
    out.rule = d.rule().map(|r| JsonRule {
        index: r.index,
        name: r.name.map(str::to_owned),
    });
    out
}

/// Routes one parsed request into a decision.
///
/// With `tls`, the request is first judged as the proxy judges a request on a TLS connection
/// ([`crate::tls::FrontendTls::session_check`]): a refusal (421, 404 or 400 from the coalescing
/// guard, which also refuses a client certificate an `AllowValidOnly` port does not accept) is
/// the decision, without routing. With `backend_chain_pem`, a forward over TLS verifies the
/// chain ([`crate::tls::verify`]).
pub fn decide(router: &Router, req: &JsonRequest) -> JsonDecision {
    let chains = match Chains::parse(req) {
        Ok(chains) => chains,
        Err(why) => return JsonDecision::of(MALFORMED, why),
    };
    let mut frontend = None;
    if let Some(tls) = &req.tls {
        let check = session_check(router, req, tls, &chains);
        let verdicts = frontend_verdicts(&check);
        if let (Some(refusal), Some(reason)) = (check.outcome(), check.refusal_reason()) {
            let mut out = JsonDecision::of(refusal, reason);
            out.frontend_tls = Some(verdicts);
            return out;
        }
        frontend = Some(verdicts);
    }
    let mut out = route_request(router, req, &chains);
    out.frontend_tls = frontend;
    out
}

/// [`decide`] without the TLS facts: routing, planning and the auth answer.
fn route_request(router: &Router, req: &JsonRequest, chains: &Chains) -> JsonDecision {
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let version = match req.http_version.as_deref() {
        Some("1.0") => HttpVersion::Http10,
        Some("2") | Some("2.0") => HttpVersion::Http2,
        Some("3") => HttpVersion::Http3,
        _ => HttpVersion::Http11,
    };
    let view = RequestView::new(&req.method, req.target.as_bytes(), Headers::Pairs(&headers))
        .scheme(&req.scheme)
        .port(req.port)
        .sni(req.sni.as_deref())
        .authority(req.authority.as_deref())
        .version(version);
    let d = if router.is_mesh() {
        let (Some(client), Some(to)) = (&req.client_namespace, &req.destination) else {
            return JsonDecision::of(
                MALFORMED,
                "a mesh router needs client_namespace and destination".to_owned(),
            );
        };
        let ip;
        let destination = match (&to.name, &to.address) {
            (Some(name), None) => Destination::service(
                to.namespace.as_deref().unwrap_or(client),
                name,
                to.port.unwrap_or(req.port),
            ),
            (None, Some(address)) => {
                ip = match address.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
                    Ok(ip) => ip,
                    Err(e) => {
                        return JsonDecision::of(
                            MALFORMED,
                            format!("destination address {address:?}: {e}"),
                        );
                    }
                };
                Destination::address(ip, to.port.unwrap_or(req.port))
            }
            _ => {
                return JsonDecision::of(
                    MALFORMED,
                    "destination needs exactly one of name and address".to_owned(),
                );
            }
        };
        match router.route_mesh(&view, client, &destination) {
            MeshRoute::Routed(d) => d,
            other => return JsonDecision::of(other.outcome(), other.reason().to_owned()),
        }
    } else {
        if req.client_namespace.is_some() || req.destination.is_some() {
            return JsonDecision::of(
                MALFORMED,
                "client_namespace and destination are for a mesh router; this is a Gateway's"
                    .to_owned(),
            );
        }
        router.route(&view)
    };
    let mut out = named(&d);
    // GEP-1619: with a time, the request's session token (cookie or header) pins its
    // backendRef, as `plan_pinned` does for a proxy; without one, the weights draw.
    let pin = req
        .now
        .and_then(|now| crate::plan::session_pin(&d, &view, now));
    let plan = match crate::plan::plan_pinned(&d, &view, pin.as_ref(), req.random) {
        Plan::Authorize(check) => {
            out.ext_auth = Some(describe_check(&check));
            let Some(answer) = &req.ext_auth_response else {
                out.set_outcome(Outcome::Authorize);
                out.status = None;
                out.reason = Some(format!(
                    "external auth required: ask Service {}/{} port {} ({})",
                    check.backend.namespace,
                    check.backend.name,
                    check.backend.port,
                    check.protocol().as_str()
                ));
                return out;
            };
            let answer = auth_response(answer, check.protocol());
            match check.judge(answer, &AuthOptions::default()) {
                AuthOutcome::Allowed(plan) => plan,
                AuthOutcome::Denied(local) | AuthOutcome::Failed(local) => {
                    out.set_outcome(local.outcome);
                    out.status = Some(local.status);
                    out.response_headers = local.headers;
                    out.reason = Some(local.reason);
                    return out;
                }
            }
        }
        other => other,
    };
    match plan {
        Plan::Forward(fp) => {
            out.set_outcome(Outcome::Forward);
            out.status = None;
            out.reason = None;
            out.backend = Some(backend(fp.backend));
            let path = fp.request.path.as_deref().unwrap_or(d.path());
            let path = match d.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            };
            // A URLRewrite hostname replaces it; else it goes as received, port included
            // (`RequestEdits::authority` is `None`: unchanged), as `RequestEdits::apply` and
            // the proxy-wasm filter send it. An absolute-form target's authority, which the
            // Host field must yield to, is the canonical host.
            let received = || {
                let origin_form = req.target.starts_with('/');
                req.authority.clone().or_else(|| {
                    let host = req
                        .headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("host"));
                    host.filter(|_| origin_form).map(|(_, v)| v.clone())
                })
            };
            let authority = fp
                .request
                .authority
                .clone()
                .or_else(received)
                .unwrap_or_else(|| d.host().to_owned());
            let mut headers = fp.request.headers.apply_to_pairs(&req.headers);
            if fp.request.authority.is_some() {
                for (name, value) in &mut headers {
                    if name.eq_ignore_ascii_case("host") {
                        value.clone_from(&authority);
                    }
                }
            }
            out.upstream = Some(JsonUpstream {
                method: req.method.clone(),
                authority,
                path,
                headers,
            });
            out.response_headers = edits(&fp.response);
            out.response_edits = Some(JsonHeaderEdits {
                set: fp.response.set.clone(),
                add: fp.response.add.clone(),
                remove: fp.response.remove.clone(),
            });
            out.mirrors = fp.mirrors.iter().map(|m| backend(&m.backend)).collect();
            out.backend_tls = fp.backend_tls.map(backend_tls);
            out.timeouts = Some(JsonTimeouts {
                request_ms: timeout_ms(fp.timeouts.request),
                backend_request_ms: timeout_ms(fp.timeouts.backend_request),
            });
            out.retry = fp.retry.map(|r| JsonRetry {
                codes: r.codes.clone(),
                attempts: r.attempts,
                backoff_ms: r.backoff.map(millis),
                budget: fp.retry_budget.map(|b| JsonRetryBudget {
                    percent: b.percent,
                    interval_ms: millis(b.interval),
                    min_retries: b.min_retry_rate.count,
                    min_retry_interval_ms: millis(b.min_retry_rate.interval),
                }),
            });
            out.session = fp.session.map(session);
            if let (Some(settings), Some(chain)) = (fp.backend_tls, &chains.backend) {
                let verdict = verify_backend(settings, chain, chains.now);
                if let Some(reason) = &verdict.detail {
                    // Nothing is sent: the connection to the backend must not be used.
                    let refused = ServerError::BackendCertificateRefused;
                    out.set_outcome(Outcome::ServerError(refused));
                    out.status = Some(refused.status());
                    out.upstream = None;
                    out.response_headers = Vec::new();
                    out.response_edits = None;
                    out.mirrors = Vec::new();
                    out.timeouts = None;
                    out.retry = None;
                    out.session = None;
                    out.reason = Some(format!(
                        "BackendTLSPolicy {} refuses the backend's certificate chain: {reason}",
                        settings.policy
                    ));
                }
                out.backend_certificate = Some(verdict);
            }
        }
        Plan::Respond(local) => {
            out.set_outcome(local.outcome);
            out.status = Some(local.status);
            out.location = local.header("location").map(str::to_owned);
            out.response_headers = local.headers.clone();
            out.reason = Some(if local.reason.is_empty() {
                d.reason().to_owned()
            } else {
                local.reason
            });
        }
        Plan::Authorize(_) => {
            out.set_outcome(Outcome::ServerError(ServerError::ConflictingAuthFilters));
            out.status = Some(500);
            out.reason = Some("the auth answer asked for another check".to_owned());
        }
    }
    out
}

/// The certificate chains and the time a request gives, parsed.
struct Chains {
    /// The client's chain (empty: none presented).
    client: Vec<CertificateDer<'static>>,
    /// The backend's chain, when given.
    backend: Option<Vec<CertificateDer<'static>>>,
    /// `now`; the epoch when no chain is given (an empty chain is refused before the time is
    /// read).
    now: UnixTime,
}

impl Chains {
    fn parse(req: &JsonRequest) -> Result<Self, String> {
        let client_pem = req.tls.as_ref().and_then(|t| t.client_chain_pem.as_deref());
        let client = client_pem
            .map(|pem| pem_chain("tls.client_chain_pem", pem))
            .transpose()?
            .unwrap_or_default();
        let backend = req
            .backend_chain_pem
            .as_deref()
            .map(|pem| pem_chain("backend_chain_pem", pem))
            .transpose()?;
        let now = match req.now {
            Some(secs) => UnixTime::since_unix_epoch(Duration::from_secs(secs)),
            None if client_pem.is_some() || backend.is_some() => {
                return Err("a certificate chain is given without `now` (unix seconds)".to_owned());
            }
            None => UnixTime::since_unix_epoch(Duration::ZERO),
        };
        Ok(Self {
            client,
            backend,
            now,
        })
    }
}

/// The certificates of a PEM text (other PEM sections are skipped).
fn pem_chain(field: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{field} is not valid PEM ({e})"))
}

/// The frontend verdicts of a request with `tls`: [`crate::tls::FrontendTls::session_check`] with the
/// request's port, server name, client chain and resumption, and its `:authority` or Host.
fn session_check(
    router: &Router,
    req: &JsonRequest,
    tls: &JsonTls,
    chains: &Chains,
) -> SessionCheck {
    let host = req
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.as_str());
    let authority = req.authority.as_deref().or(host).unwrap_or("");
    let mut handshake = Handshake::new(req.port, req.sni.as_deref(), &chains.client, chains.now);
    if let Some(port) = tls.resumed_from_port {
        handshake = handshake.resumed_from(port);
    }
    router.frontend_tls().session_check(&handshake, authority)
}

/// The `frontend_tls` object.
fn frontend_verdicts(check: &SessionCheck) -> JsonFrontendTls {
    let client_certificate = match (&check.validation, &check.client_auth) {
        (None, _) => None,
        (Some(_), None) => Some(JsonVerdict::unavailable()),
        (Some(_), Some(ClientAuth::Verified)) => Some(JsonVerdict::of(&Verdict::Valid)),
        (Some(_), Some(ClientAuth::Unverified(reason))) => {
            Some(JsonVerdict::of(&Verdict::Invalid(reason.clone())))
        }
        (Some(_), Some(_)) => None,
    };
    JsonFrontendTls {
        session_port: check.session_port,
        validation: check.validation.map(|m| m.as_str().to_owned()),
        client_certificate,
        client_auth: check.client_auth.as_ref().map(|a| a.as_str().to_owned()),
        coalescing: check.coalescing.map(|c| c.as_str().to_owned()),
    }
}

impl JsonVerdict {
    /// A verdict of the core, mapped.
    fn of(verdict: &Verdict) -> Self {
        match verdict {
            Verdict::Valid => Self {
                verdict: "valid".to_owned(),
                reason: None,
                detail: None,
            },
            Verdict::Invalid(reason) => Self {
                verdict: "invalid".to_owned(),
                reason: Some(reason.as_str().to_owned()),
                detail: Some(reason.to_string()),
            },
        }
    }

    /// This build cannot verify.
    fn unavailable() -> Self {
        Self {
            verdict: "unavailable".to_owned(),
            reason: None,
            detail: None,
        }
    }
}

/// A forward's session persistence in a decision.
fn session(s: crate::filter::Session<'_>) -> JsonSession {
    use crate::filter::{CookieLifetime, SessionKind, SessionSource};
    let p = s.policy;
    let (kind, lifetime) = match p.kind() {
        SessionKind::Cookie(CookieLifetime::Session) => ("cookie", Some("session")),
        SessionKind::Cookie(CookieLifetime::Permanent) => ("cookie", Some("permanent")),
        SessionKind::Header => ("header", None),
    };
    let cookie = kind == "cookie";
    let (source, policy) = match p.source() {
        SessionSource::Policy(id) => ("policy", Some(id.to_string())),
        SessionSource::Rule => ("rule", None),
    };
    JsonSession {
        kind: kind.to_owned(),
        name: p.name().to_owned(),
        lifetime: lifetime.map(str::to_owned),
        absolute_timeout_ms: p.absolute_timeout().map(millis),
        idle_timeout_ms: p.idle_timeout().map(millis),
        path: s.path.filter(|_| cookie).map(str::to_owned),
        secure: cookie && s.secure,
        source: source.to_owned(),
        policy,
    }
}

/// The backend chain's verdict for the forward's settings.
#[cfg(feature = "tls")]
fn verify_backend(
    settings: &crate::tls::BackendTls,
    chain: &[CertificateDer<'_>],
    now: UnixTime,
) -> JsonVerdict {
    JsonVerdict::of(&crate::tls::verify(settings, chain, now))
}

/// The backend chain's verdict: this build cannot verify (the `tls` feature is off).
#[cfg(not(feature = "tls"))]
fn verify_backend(
    _: &crate::tls::BackendTls,
    _: &[CertificateDer<'_>],
    _: UnixTime,
) -> JsonVerdict {
    JsonVerdict::unavailable()
}

/// The `ext_auth` object: the check exactly as it is sent.
fn describe_check(check: &AuthCheck<'_>) -> serde_json::Value {
    let backend = serde_json::json!({
        "namespace": check.backend.namespace,
        "name": check.backend.name,
        "port": check.backend.port,
    });
    let mut out = serde_json::json!({
        "protocol": check.protocol().as_str(),
        "backend": backend,
        "body_bytes": check.body_bytes(),
        "max_body": check.max_body,
    });
    match &check.request {
        AuthRequest::Http(h) => {
            out["method"] = serde_json::json!(h.method);
            out["path"] = serde_json::json!(h.path);
            out["headers"] = serde_json::json!(h.headers);
        }
        AuthRequest::Grpc(g) => {
            if let Some(h) = g
                .attributes
                .as_ref()
                .and_then(|a| a.request.as_ref())
                .and_then(|r| r.http.as_ref())
            {
                let headers: Vec<(&String, &String)> = h.headers.iter().collect();
                out["method"] = serde_json::json!(h.method);
                out["path"] = serde_json::json!(h.path);
                out["host"] = serde_json::json!(h.host);
                out["headers"] = serde_json::json!(headers);
            }
        }
    }
    out
}

/// The `ext_auth_response` of a request, as the auth service's answer.
fn auth_response(value: &serde_json::Value, protocol: AuthProtocol) -> AuthResponse {
    use crate::plan::authz::proto;
    let flag = |name: &str| value.get(name).and_then(serde_json::Value::as_bool) == Some(true);
    if flag("unreachable") {
        return AuthResponse::Unreachable;
    }
    if flag("timeout") {
        return AuthResponse::Timeout;
    }
    let malformed = |why: &str| AuthResponse::Malformed(format!("ext_auth_response: {why}"));
    let Some(status) = value
        .get("status")
        .and_then(serde_json::Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
    else {
        return malformed("no status, unreachable or timeout");
    };
    let headers: Vec<(String, String)> = match value.get("headers") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(h) => match serde_json::from_value(h.clone()) {
            Ok(h) => h,
            Err(_) => return malformed("headers is not a list of [name, value] pairs"),
        },
    };
    let body = match value.get("body") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(b)) => b.clone(),
        Some(_) => return malformed("body is not a string"),
    };
    match protocol {
        AuthProtocol::Grpc => {
            let options: Vec<proto::HeaderValueOption> = headers
                .into_iter()
                .map(|(key, value)| proto::HeaderValueOption {
                    header: Some(proto::HeaderValue {
                        key,
                        value,
                        raw_value: Vec::new(),
                    }),
                    append: None,
                    append_action: proto::append_action::OVERWRITE_IF_EXISTS_OR_ADD,
                    keep_empty_value: true,
                })
                .collect();
            let (code, http_response) = if status == 200 {
                let ok = proto::OkHttpResponse {
                    headers: options,
                    ..proto::OkHttpResponse::default()
                };
                (proto::code::OK, proto::HttpResponse::OkResponse(ok))
            } else {
                let denied = proto::DeniedHttpResponse {
                    status: Some(proto::HttpStatus {
                        code: i32::from(status),
                    }),
                    headers: options,
                    body,
                };
                (
                    proto::code::PERMISSION_DENIED,
                    proto::HttpResponse::DeniedResponse(denied),
                )
            };
            AuthResponse::Grpc(proto::CheckResponse {
                status: Some(proto::Status {
                    code,
                    message: String::new(),
                }),
                http_response: Some(http_response),
            })
        }
        _ => AuthResponse::Http {
            status,
            headers,
            body: body.into_bytes(),
        },
    }
}

fn backend(b: &Backend) -> JsonBackend {
    JsonBackend {
        namespace: b.namespace.clone(),
        name: b.name.clone(),
        port: b.port,
        assumed: b.assumed,
    }
}

/// The headers a forward adds to the response (`set` then `add` entries); the full edit list,
/// with removals, is in `response_edits`.
fn edits(e: &HeaderEdits) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = e.set.clone();
    out.extend(e.add.iter().cloned());
    out
}

/// A timeout as the JSON decision gives it: null unset, 0 disabled, else milliseconds.
fn timeout_ms(t: Timeout) -> Option<u64> {
    match t {
        Timeout::After(d) => Some(millis(d)),
        Timeout::Disabled => Some(0),
        _ => None,
    }
}

/// Whole milliseconds (Gateway API durations have no finer unit), saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn backend_tls(t: &crate::tls::BackendTls) -> serde_json::Value {
    use crate::tls::{ClientCertificate, Identity, Trust};
    let trust = match &t.trust {
        Trust::Bundles(certs) => serde_json::json!({"bundles": certs.len()}),
        Trust::System => serde_json::json!("system"),
        Trust::Invalid(why) => serde_json::json!({"invalid": why}),
    };
    let sans: Vec<String> = t
        .identities
        .iter()
        .map(|i| match i {
            Identity::Hostname(h) => h.as_ref().to_owned(),
            Identity::WildcardHostname(h) => format!("*.{}", h.as_ref()),
            Identity::Uri(u) => u.clone(),
        })
        .collect();
    let client = match &t.client_certificate {
        Some(ClientCertificate::Resolved(_)) => serde_json::json!("resolved"),
        Some(ClientCertificate::Invalid(why)) => serde_json::json!({"invalid": why}),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({"policy": t.policy, "sni": t.sni, "trust": trust, "subject_alt_names": sans, "client_certificate": client})
}

#[cfg(test)]
mod tests;
