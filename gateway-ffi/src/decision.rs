//! The typed routing path: a borrowed request in, a decision handle out, read with accessors
//! that never allocate.

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::sync::Arc;

use gateway_core::attach::Backend;
use gateway_core::attach::RouteKind;
use gateway_core::filter::{HeaderEdits, Timeout};
use gateway_core::outcome::{BadRequest, Outcome, ServerError};
use gateway_core::plan::authz::AuthCheck;
use gateway_core::plan::{LocalResponse, Plan, plan, plan_pinned, session_pin};
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{Destination, L4Transport, MeshRoute, RouteId, Router, RuleId};
use gateway_core::tls::{Coalescing, Handshake, SessionCheck};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::time::Duration;

use crate::cause::gw_cause;
use crate::ffi::{self, ArcCastable, Castable, ffi_boundary, require};
use crate::router::gw_router;
use crate::{gw_result, gw_slice};

/// One request header as received: name and value bytes (need not be UTF-8).
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_header {
    /// The field name.
    pub name: gw_slice,
    /// The field value.
    pub value: gw_slice,
}

/// A request as the proxy received it, borrowed for the duration of `gw_router_route` only
/// (nothing is kept). Zero-initialize it (`gw_request req = {0};`) and fill what you have.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_request {
    /// The method, case-sensitive (e.g. `GET`).
    pub method: gw_slice,
    /// `http` or `https`, as the connection is; empty means `http`.
    pub scheme: gw_slice,
    /// HTTP/2 or HTTP/3 `:authority`; NULL data for HTTP/1 (the Host header is used then).
    pub authority: gw_slice,
    /// The raw request-target exactly as received (e.g. `/a/../b?x=1`): the library normalizes
    /// it (see SECURITY.md) and tells what path to forward.
    pub target: gw_slice,
    /// The header fields in order, with duplicates.
    pub headers: *const gw_header,
    /// How many header fields.
    pub headers_len: usize,
    /// The TLS server name the client sent; NULL data (or empty) when not TLS.
    pub sni: gw_slice,
    /// The local port the connection arrived on: it selects the listeners.
    pub port: u16,
    /// Any random value: it chooses among weighted backends and which mirrors fire; the same
    /// value always gives the same decision.
    pub random: u64,
    /// The TLS connection's handshake facts, or NULL: when given, the request is first judged
    /// as a request on a TLS connection (the client certificate against the session port's
    /// `tls.frontend` validation, then the coalescing guard) and a refusal is the decision;
    /// `gw_decision_frontend_tls` reads the verdicts. The server name is `sni`.
    pub tls: *const gw_tls_connection,
    /// Mesh routers only (`gw_router_build_mesh`): who sent the request and where, or NULL.
    /// A mesh router needs it (without it the decision is `GW_OUTCOME_BAD_REQUEST`); a
    /// Gateway's router refuses it the same way. A zero-initialized request leaves it NULL.
    pub mesh: *const gw_mesh_request,
    /// Unix seconds, from the caller's clock, at which a session token in the headers is read
    /// (GEP-1619): when the matched rule has session persistence and the request carries a
    /// valid token of that rule (not expired at `now`, its backendRef still naming the same
    /// Service port), the token's backendRef is the decision's backend whatever its weight, 0
    /// included, and `gw_decision_session_lookup` gives the pinned endpoint. 0 (a
    /// zero-initialized request): no token is read, and `random` draws the backend.
    pub now: u64,
}

/// The mesh inputs of a request (`gw_request.mesh`), borrowed for the call: the namespace of
/// the client that sent it and its destination, a Service port (`destination_name`) or an
/// address and port (`destination_address`), exactly one of the two. Zero-initialize it and
/// fill what you have.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_mesh_request {
    /// The client's namespace (consumer routes apply to clients of their own namespace).
    pub client_namespace: gw_slice,
    /// The destination Service's namespace; NULL or empty: the client's.
    pub destination_namespace: gw_slice,
    /// The destination Service's name (the client resolved its DNS name); NULL when the
    /// destination is an address.
    pub destination_name: gw_slice,
    /// The address the client connected to, as text (`10.0.0.7`, `fd00::7` or `[fd00::7]`),
    /// resolved through the Services' cluster IPs; NULL when the destination is a name.
    pub destination_address: gw_slice,
    /// The destination port; 0: the request's `port`.
    pub destination_port: u16,
}

/// What a TLS connection's handshake established (`gw_request.tls`), borrowed for the call.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_tls_connection {
    /// The certificate chain the client presented: `client_chain_len` DER certificates, leaf
    /// first; NULL with 0 when it presented none. For a resumed session, the chain of the
    /// handshake that made the session.
    pub client_chain: *const gw_slice,
    /// How many certificates.
    pub client_chain_len: usize,
    /// The port whose TLS session this connection resumed; 0 for a full handshake.
    pub resumed_from_port: u16,
    /// The time to verify the client chain at, in seconds since 1970 (the host's clock).
    pub now_unix_secs: u64,
}

/// What the proxy must do with the request; `gw_decision_cause` says why when the proxy answers
/// itself.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new outcomes get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_outcome {
    /// Forward to `gw_decision_backend` with the request edits; apply the response edits.
    Forward = 0,
    /// Answer `gw_decision_status` (301/302) with `gw_decision_location` and the local headers.
    Redirect = 1,
    /// Answer locally with the status, local headers and body (e.g. a CORS preflight).
    Respond = 2,
    /// Answer 404: no listener or rule matches.
    NotFound = 3,
    /// Answer `gw_decision_status` (400, 414, 431, ...): the request cannot be canonicalized.
    BadRequest = 4,
    /// Answer 421: the Host belongs to another listener than the TLS server name chose.
    Misdirected = 5,
    /// Answer 500: the matched rule cannot be served (invalid backend, unsupported filter).
    ServerError = 6,
    /// Ask the external auth service first (an `ExternalAuth` filter applies): send the check
    /// that `gw_decision_auth_check` and `gw_decision_auth_header` describe, then feed the
    /// answer to `gw_decision_authorize`, which gives the decision to carry out. Never forward
    /// without it.
    Authorize = 7,
    /// Answer the local response (status, headers, body) as it is: the request was refused on
    /// the external auth path (the auth service denied it, the check failed closed, or the body
    /// was larger than `forwardBody.maxSize`). Only `gw_decision_authorize` and
    /// `gw_decision_auth_body` give it.
    Denied = 8,
    /// Mesh routers only: no route applies to the destination (`gw_request.mesh`); forward the
    /// request unchanged to the destination as the client addressed it. Status 0, no route,
    /// rule or backend; `gw_decision_reason` says why.
    PassThrough = 9,
}

/// The kind of the matched route.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new kinds get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_route_kind {
    /// No route matched.
    None = 0,
    /// HTTPRoute.
    Http = 1,
    /// GRPCRoute.
    Grpc = 2,
    /// TLSRoute.
    Tls = 3,
    /// TCPRoute.
    Tcp = 4,
    /// UDPRoute.
    Udp = 5,
    /// A kind this version of the header does not know.
    Other = 99,
}

/// The transport of a connection routed with `gw_router_route_l4` (its `transport` argument).
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new transports get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_transport {
    /// TLS, routed by the ClientHello's server name to a TLSRoute.
    Tls = 1,
    /// TCP, routed by port to a TCPRoute.
    Tcp = 2,
    /// UDP, routed by port to a UDPRoute.
    Udp = 3,
}

impl gw_transport {
    /// The transport a `gw_transport` number names; `None` for an unknown number.
    fn parse(value: u32) -> Option<L4Transport> {
        [Self::Tls, Self::Tcp, Self::Udp]
            .into_iter()
            .find(|t| *t as u32 == value)
            .map(|t| match t {
                Self::Tls => L4Transport::Tls,
                Self::Tcp => L4Transport::Tcp,
                Self::Udp => L4Transport::Udp,
            })
    }
}

/// The matched route and rule. Strings live as long as the decision.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_route_match {
    /// The route kind.
    pub kind: gw_route_kind,
    /// The route's namespace.
    pub ns: gw_slice,
    /// The route's name.
    pub name: gw_slice,
    /// The rule's index in the route's `rules`.
    pub rule_index: usize,
    /// The rule's `name`; NULL when it has none.
    pub rule_name: gw_slice,
}

/// A Service port: where to send the request (or a mirrored copy). Strings live as long as
/// the decision.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_backend {
    /// Service namespace.
    pub ns: gw_slice,
    /// Service name.
    pub name: gw_slice,
    /// Service port.
    pub port: u16,
    /// The Service port's appProtocol (e.g. `kubernetes.io/h2c`); NULL when unset.
    pub app_protocol: gw_slice,
}

/// What to do with one header name.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_header_op {
    /// Replace every field of the name with one field holding the value.
    Set = 0,
    /// Append the value to the last field of the name after `,` (no space), or add the field
    /// when there is none.
    Add = 1,
    /// Remove every field of the name (the value is empty).
    Remove = 2,
}

/// One header edit. Names are lower case; each name appears in at most one edit, so the order
/// of application does not matter. Strings live as long as the decision.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_header_edit {
    /// The operation.
    pub op: gw_header_op,
    /// The header name.
    pub name: gw_slice,
    /// The value (empty for `GW_HEADER_OP_REMOVE`).
    pub value: gw_slice,
}

/// Whether a timeout is configured.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_timeout_kind {
    /// Not configured: the proxy's default applies.
    Unset = 0,
    /// Configured as `0s`: no timeout (or the longest the proxy supports).
    Disabled = 1,
    /// Time out after `millis` milliseconds.
    After = 2,
}

/// One timeout of a rule.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_timeout {
    /// Whether it is configured.
    pub kind: gw_timeout_kind,
    /// The duration in milliseconds when `kind` is `GW_TIMEOUT_KIND_AFTER`, else 0.
    pub millis: u64,
}

/// The rule's timeouts (Gateway API HTTPRouteTimeouts).
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_timeouts {
    /// `timeouts.request`: the whole request-response transaction.
    pub request: gw_timeout,
    /// `timeouts.backendRequest`: one request from the gateway to a backend.
    pub backend_request: gw_timeout,
}

/// The rule's retry policy (Gateway API HTTPRouteRetry, GEP-1731). The codes point into the
/// router, which the decision keeps alive: valid until the decision is freed.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_retry {
    /// Response statuses that are retried (400 to 599), `codes_len` of them; a backend that
    /// cannot be reached or times out is retried too.
    pub codes: *const u16,
    /// How many codes `codes` points to.
    pub codes_len: usize,
    /// Whether the rule sets `attempts`; when false the proxy chooses.
    pub attempts_set: bool,
    /// Retries after the first attempt when `attempts_set` (0 disables retries).
    pub attempts: u32,
    /// Whether the rule sets `backoff`; when false the proxy chooses.
    pub backoff_set: bool,
    /// The least time to wait before each retry, in milliseconds, when `backoff_set`; the
    /// proxy may grow it for later retries.
    pub backoff_millis: u64,
}

/// The answer for one request: an immutable handle read with the `gw_decision_*` accessors,
/// which never allocate. It keeps its router alive (and, for a decision that answers an auth
/// check, the decision it answers); it does not borrow the request. Free with
/// `gw_decision_free`.
pub struct gw_decision {
    _private: [u8; 0],
}

/// What a decision's borrows point into, and keeps alive: the router it was routed with, or
/// the decision whose auth check it answers (which keeps the router alive in turn). Borrows
/// never outlive their source: [`Decision`] owns it.
#[derive(Debug)]
pub(crate) enum Source {
    /// A decision of `gw_router_route`.
    Router(Arc<Router>),
    /// A decision of `gw_decision_auth_body` or `gw_decision_authorize`: its plan comes from
    /// the check of this decision, so borrows its router data through it.
    Check(Arc<Decision>),
}

impl Source {
    /// The router every borrow points into, directly or through the decision asked.
    fn router(&self) -> &Router {
        match self {
            Self::Router(router) => router,
            Self::Check(parent) => parent.borrow_owner().router(),
        }
    }
}

self_cell::self_cell!(
    /// The Rust side of [`gw_decision`]: its [`Source`] and the [`Parts`] that borrow from it,
    /// in one allocation (`self_cell` ties the borrows to the owner without `unsafe` here).
    pub(crate) struct Decision {
        owner: Source,

        #[covariant]
        dependent: Parts,
    }

    impl {Debug}
);

/// What a decision says, borrowing the router's names, backends and policies for `'r`.
#[derive(Debug)]
pub(crate) struct Parts<'r> {
    /// What to do and why, in the core's vocabulary (`gw_outcome` and `gw_cause` map it).
    outcome: Outcome,
    status: u16,
    listener: Option<&'r str>,
    route: Option<RouteId<'r>>,
    rule: Option<RuleId<'r>>,
    pub(crate) plan: Plan<'r>,
    /// The path and query to forward (for `GW_OUTCOME_AUTHORIZE`: the canonical path and
    /// query), then the canonical host.
    text: Text,
    path_len: usize,
    /// Where `?query` starts in `text` (`path_len` when there is no query).
    query_at: usize,
    /// For a gRPC auth check: the encoded `CheckRequest`.
    pub(crate) auth_message: Vec<u8>,
    /// The backend drawn for a forwarded TLS, TCP or UDP connection (`gw_router_route_l4`),
    /// which has no HTTP plan.
    l4_backend: Option<&'r Backend>,
    /// The frontend TLS verdicts, for a request given with its TLS connection's facts.
    pub(crate) session: Option<SessionCheck>,
}

impl Castable for gw_decision {
    type Rust = Decision;
}
impl ArcCastable for gw_decision {}

/// Strings a decision owns (forwarded path, host): inline up to [`INLINE_TEXT`] bytes, so that
/// the common decision costs no allocation beyond its handle's.
#[derive(Debug)]
enum Text {
    Inline {
        len: usize,
        bytes: [u8; INLINE_TEXT],
    },
    Heap(Vec<u8>),
}

/// Bytes of text a decision holds without allocating.
const INLINE_TEXT: usize = 200;

impl Default for Text {
    fn default() -> Self {
        Self::Inline {
            len: 0,
            bytes: [0; INLINE_TEXT],
        }
    }
}

impl Text {
    fn push(&mut self, s: &str) {
        match self {
            Self::Inline { len, bytes } => match bytes.get_mut(*len..*len + s.len()) {
                Some(dst) => {
                    dst.copy_from_slice(s.as_bytes());
                    *len += s.len();
                }
                None => {
                    let mut heap = bytes.get(..*len).unwrap_or_default().to_vec();
                    heap.extend_from_slice(s.as_bytes());
                    *self = Self::Heap(heap);
                }
            },
            Self::Heap(v) => v.extend_from_slice(s.as_bytes()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => bytes.get(..*len).unwrap_or_default(),
            Self::Heap(v) => v,
        }
    }

    fn len(&self) -> usize {
        self.as_bytes().len()
    }
}

/// Headers held on the stack up to this count; more take one allocation.
const STACK_HEADERS: usize = 32;

/// Routes one request: listener by port and host (or SNI), route and rule by the Gateway API
/// precedence, then the rule's filters (redirects, rewrites, header edits, mirrors, weighted
/// backend choice with `request->random`). Cost: as `Router::route` plus `plan::plan`, plus
/// two allocations for the handle (three when the forwarded path and host exceed 200 bytes);
/// no allocation for up to 32 headers.
///
/// A rule with an `ExternalAuth` filter gives `GW_OUTCOME_AUTHORIZE`: make the check, then
/// `gw_decision_authorize` gives the decision to carry out. A forward to a backend that a
/// BackendTLSPolicy targets carries its settings (`gw_decision_backend_tls`): connect with TLS
/// and accept the backend's chain only when `gw_decision_verify_backend_chain` says so. Fails
/// closed (`GW_OUTCOME_SERVER_ERROR`, 500, cause `GW_CAUSE_BACKEND_TLS_UNVERIFIABLE`) when the
/// Gateway's backend client certificate is unusable.
///
/// A mesh router (`gw_router_build_mesh`) routes by `request->mesh` (the client's namespace
/// and the destination Service port or address) instead of port and host: the routes of that
/// Service port for that client decide as above, and when none applies the decision is
/// `GW_OUTCOME_PASS_THROUGH` (send the request unchanged where the client addressed it).
///
/// A request that is bad (not canonicalizable, a method, scheme, authority, SNI or mesh field
/// that is not UTF-8, or mesh inputs missing on a mesh router or given to a Gateway's) is an
/// outcome (`GW_OUTCOME_BAD_REQUEST`), not an error. `gw_decision_cause` tells
/// why the proxy answers itself: switch on it rather than on the reason text.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER` for a NULL router, request or `decision_out`, or a slice with a
/// NULL pointer and a non-zero length.
///
/// # Safety
/// `router` is NULL or a live `gw_router`; `request` is NULL or points at a `gw_request` whose
/// slices and header array are readable for their lengths during the call; `decision_out` is
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_router_route(
    router: *const gw_router,
    request: *const gw_request,
    decision_out: *mut *mut gw_decision,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `request` is NULL or a readable `gw_request`.
        let request = require!(unsafe { request.as_ref() });
        if decision_out.is_null() {
            return gw_result::NullParameter;
        }
        // SAFETY: the caller guarantees `router` is NULL or a live reference; the clone is ours.
        let router = require!(unsafe { ffi::clone_arc(router) });
        // SAFETY: the caller guarantees the request's slices are readable for the call.
        let decision = require!(unsafe { route(router, request) });
        let ptr = ffi::to_arc_mut_ptr::<gw_decision>(Arc::new(decision));
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(decision_out, ptr) };
        gw_result::Ok
    })
}

/// Routes a connection that is not HTTP: a TLS connection by the ClientHello's server name to
/// a TLSRoute, a TCP connection to a TCPRoute, UDP datagrams to a UDPRoute, on the local
/// `port` (`transport` is a `gw_transport` value). Only listeners of that protocol serve it;
/// a TLS listener, then the route, is chosen by the server name: exact hostname, then the
/// longest wildcard, then none (a listener with a hostname never serves a connection without
/// one); ties go to the oldest route. The same decision as `gw_route_json` with a `transport`
/// line.
///
/// The decision reads with the usual accessors: `GW_OUTCOME_FORWARD` names the listener,
/// route (`gw_decision_route`) and the backend drawn with `random` (`gw_decision_backend`):
/// splice the bytes to it. `GW_OUTCOME_NOT_FOUND` (`GW_CAUSE_NO_LISTENER_ON_PORT`,
/// `_NO_LISTENER_FOR_SNI`, `_NO_RULE`): close the connection or drop the datagram.
/// `GW_OUTCOME_SERVER_ERROR` (`GW_CAUSE_INVALID_BACKEND`): the draw landed on an invalid
/// backend, refuse the connection. `gw_decision_status` is 0: nothing answers in HTTP. An
/// unknown `transport`, a server name that is not UTF-8, or one given for TCP or UDP is
/// `GW_OUTCOME_BAD_REQUEST` (`GW_CAUSE_MALFORMED_REQUEST`), as is a mesh router (the mesh
/// routes HTTP only). `sni` with NULL data (or empty) means no server name.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER` for a NULL router or `decision_out`, or NULL `sni` with a
/// non-zero `sni_len`.
///
/// # Safety
/// `router` is NULL or a live `gw_router`; `sni` is NULL or readable for `sni_len` bytes during
/// the call; `decision_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_router_route_l4(
    router: *const gw_router,
    transport: u32,
    port: u16,
    sni: *const u8,
    sni_len: usize,
    random: u64,
    decision_out: *mut *mut gw_decision,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        if decision_out.is_null() {
            return gw_result::NullParameter;
        }
        // SAFETY: the caller guarantees `router` is NULL or a live reference; the clone is ours.
        let router = require!(unsafe { ffi::clone_arc(router) });
        // SAFETY: the caller guarantees `sni` is NULL or readable for `sni_len` bytes.
        let sni = require!(unsafe {
            optional(gw_slice {
                data: sni,
                len: sni_len,
            })
        });
        let decision = route_l4(router, transport, port, sni, random);
        let ptr = ffi::to_arc_mut_ptr::<gw_decision>(Arc::new(decision));
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(decision_out, ptr) };
        gw_result::Ok
    })
}

/// [`gw_router_route_l4`]'s decision, as `gateway_core::json::decide_l4` makes it.
fn route_l4(
    router: Arc<Router>,
    transport: u32,
    port: u16,
    sni: Option<&[u8]>,
    random: u64,
) -> Decision {
    let Some(transport) = gw_transport::parse(transport) else {
        let why = format!("unknown transport {transport}: expected a gw_transport value");
        return Decision::bad_request(router, why);
    };
    let sni = match sni
        .filter(|s| !s.is_empty())
        .map(|s| text("TLS server name", s))
    {
        None => None,
        Some(Ok(sni)) if transport == L4Transport::Tls => Some(sni),
        Some(Ok(_)) => {
            let why = format!("sni is for transport tls, not {transport}");
            return Decision::bad_request(router, why);
        }
        Some(Err(why)) => return Decision::bad_request(router, why),
    };
    if router.is_mesh() {
        let why = "a mesh router routes HTTP and gRPC only, not a transport".to_owned();
        return Decision::bad_request(router, why);
    }
    Decision::new(Source::Router(router), |source| {
        let d = source.router().route_l4(transport, port, sni);
        let drawn = (d.outcome() == Outcome::Forward).then(|| d.choose_backend(random));
        let (outcome, reason) = match drawn {
            None => (d.outcome(), d.reason().to_owned()),
            Some(Some(_)) => (Outcome::Forward, String::new()),
            Some(None) => (
                Outcome::ServerError(ServerError::InvalidBackend),
                "the draw landed on an invalid backend's share: refuse the connection".to_owned(),
            ),
        };
        let mut parts = Parts::answer(outcome, 0, reason);
        parts.listener = d.listener();
        parts.route = d.route();
        parts.rule = d.rule();
        parts.l4_backend = drawn.flatten();
        parts
    })
}

/// Routes `request` with `router` into an owned decision; `None` for a NULL slice with a length.
///
/// # Safety
/// The request's slices and header array are readable for their lengths during the call.
pub(crate) unsafe fn route(router: Arc<Router>, request: &gw_request) -> Option<Decision> {
    // SAFETY: forwarded caller guarantee, for every slice below.
    let (method, scheme, authority, target, sni, headers) = unsafe {
        (
            ffi::try_bytes(request.method)?,
            ffi::try_bytes(request.scheme)?,
            optional(request.authority)?,
            ffi::try_bytes(request.target)?,
            optional(request.sni)?,
            ffi::try_array(request.headers, request.headers_len)?,
        )
    };
    let mut stack = [const { MaybeUninit::<(&[u8], &[u8])>::uninit() }; STACK_HEADERS];
    let heap: Vec<(&[u8], &[u8])>;
    let pairs: &[(&[u8], &[u8])] = if headers.len() <= STACK_HEADERS {
        for (slot, h) in stack.iter_mut().zip(headers) {
            // SAFETY: forwarded caller guarantee for each header's slices.
            slot.write(unsafe { (ffi::try_bytes(h.name)?, ffi::try_bytes(h.value)?) });
        }
        // SAFETY: the loop initialized the first `headers.len()` (<= STACK_HEADERS) elements,
        // or returned early; `MaybeUninit<T>` has the layout of `T`, and the slice borrows
        // `stack`, which outlives it.
        unsafe { std::slice::from_raw_parts(stack.as_ptr().cast(), headers.len()) }
    } else {
        heap = headers
            .iter()
            // SAFETY: forwarded caller guarantee for each header's slices.
            .map(|h| unsafe { Some((ffi::try_bytes(h.name)?, ffi::try_bytes(h.value)?)) })
            .collect::<Option<_>>()?;
        &heap
    };
    let utf8 = (|| {
        Ok::<_, String>((
            text("method", method)?,
            text("scheme", scheme)?,
            authority.map(|a| text("authority", a)).transpose()?,
            sni.map(|s| text("TLS server name", s)).transpose()?,
        ))
    })();
    let (method, scheme, authority, sni) = match utf8 {
        Ok(parts) => parts,
        Err(reason) => return Some(Decision::bad_request(router, reason)),
    };
    let sni = sni.filter(|s| !s.is_empty());
    // SAFETY: the caller guarantees `tls` is NULL or readable for the call.
    let tls = unsafe { request.tls.as_ref() };
    let session = match tls {
        None => None,
        Some(tls) => {
            // SAFETY: the caller guarantees the chain array and its slices are readable for
            // the call.
            let check = unsafe { session_check(&router, request.port, sni, authority, pairs, tls) };
            Some(check?)
        }
    };
    if let Some(check) = &session
        && let (Some(outcome), Some(reason)) = (check.outcome(), check.refusal_reason())
    {
        let status = check.coalescing.and_then(Coalescing::status).unwrap_or(500);
        let check = check.clone();
        return Some(Decision::new(Source::Router(router), |_| {
            let mut parts = Parts::answer(outcome, status, reason);
            parts.session = Some(check);
            parts
        }));
    }
    // SAFETY: the caller guarantees `mesh` is NULL or readable for the call, and its slices.
    let mesh = match unsafe { mesh_inputs(&router, request) }? {
        Ok(mesh) => mesh,
        Err(reason) => {
            return Some(Decision::new(Source::Router(router), |_| {
                let malformed = Outcome::BadRequest(BadRequest::MalformedRequest);
                let mut parts = Parts::answer(malformed, 400, reason);
                parts.session = session;
                parts
            }));
        }
    };
    let view = RequestView::new(method, target, Headers::Bytes(pairs))
        .scheme(if scheme.is_empty() { "http" } else { scheme })
        .port(request.port)
        .sni(sni)
        .authority(authority);
    Some(Decision::new(Source::Router(router), |source| {
        let d = match &mesh {
            None => source.router().route(&view),
            Some((client, to)) => match source.router().route_mesh(&view, client, &to.get()) {
                MeshRoute::Routed(d) => d,
                other => {
                    let mut parts = Parts::answer(other.outcome(), 0, other.reason().to_owned());
                    parts.session = session;
                    return parts;
                }
            },
        };
        let routed = Routed {
            listener: d.listener(),
            route: d.route(),
            rule: d.rule(),
            reason: d.reason(),
            canonical: d.path(),
            query: d.query(),
            host: d.host(),
        };
        let planned = match request.now {
            0 => plan(&d, &view, request.random),
            now => {
                let pin = session_pin(&d, &view, now);
                plan_pinned(&d, &view, pin.as_ref(), request.random)
            }
        };
        let mut parts = Parts::new(planned, &routed);
        parts.session = session;
        parts
    }))
}

/// A mesh destination whose strings borrow the request.
enum MeshTo<'a> {
    Service(&'a str, &'a str, u16),
    Address(IpAddr, u16),
}

impl MeshTo<'_> {
    fn get(&self) -> Destination<'_> {
        match *self {
            Self::Service(ns, name, port) => Destination::service(ns, name, port),
            Self::Address(ip, port) => Destination::address(ip, port),
        }
    }
}

/// The request's mesh inputs for `router`, as `gateway_core::json` reads them from
/// `client_namespace` and `destination`: `Ok(None)` for a Gateway's router without them,
/// `Ok(Some(..))` for a mesh router with them, `Err(reason)` (a 400) otherwise; `None` for a
/// NULL slice with a length.
///
/// # Safety
/// `request.mesh` is NULL or readable for the call, and so are its slices.
unsafe fn mesh_inputs<'a>(
    router: &Router,
    request: &'a gw_request,
) -> Option<Result<Option<(&'a str, MeshTo<'a>)>, String>> {
    // SAFETY: forwarded caller guarantee.
    let mesh = unsafe { request.mesh.as_ref() };
    let mesh = match (router.is_mesh(), mesh) {
        (false, None) => return Some(Ok(None)),
        (true, Some(mesh)) => mesh,
        (true, None) => {
            return Some(Err(
                "a mesh router needs client_namespace and destination".to_owned()
            ));
        }
        (false, Some(_)) => {
            return Some(Err(
                "client_namespace and destination are for a mesh router; this is a Gateway's"
                    .to_owned(),
            ));
        }
    };
    // SAFETY: forwarded caller guarantee, for every slice below.
    let (client, namespace, name, address) = unsafe {
        (
            ffi::try_bytes(mesh.client_namespace)?,
            optional(mesh.destination_namespace)?,
            optional(mesh.destination_name)?,
            optional(mesh.destination_address)?,
        )
    };
    let utf8 = (|| {
        Ok::<_, String>((
            text("client namespace", client)?,
            namespace
                .map(|n| text("destination namespace", n))
                .transpose()?,
            name.map(|n| text("destination name", n)).transpose()?,
            address
                .map(|a| text("destination address", a))
                .transpose()?,
        ))
    })();
    let (client, namespace, name, address) = match utf8 {
        Ok(parts) => parts,
        Err(reason) => return Some(Err(reason)),
    };
    let port = match mesh.destination_port {
        0 => request.port,
        port => port,
    };
    let to = match (name, address) {
        (Some(name), None) => {
            let namespace = namespace.filter(|n| !n.is_empty()).unwrap_or(client);
            MeshTo::Service(namespace, name, port)
        }
        (None, Some(address)) => match address.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => MeshTo::Address(ip, port),
            Err(e) => return Some(Err(format!("destination address {address:?}: {e}"))),
        },
        _ => {
            return Some(Err(
                "destination needs exactly one of name and address".to_owned()
            ));
        }
    };
    Some(Ok(Some((client, to))))
}

/// The frontend verdicts for a request on a TLS connection: gateway-core's
/// `FrontendTls::session_check` with the connection's facts and the request's `:authority`,
/// else its first Host; `None` for a NULL chain slice with a length.
///
/// # Safety
/// The chain array and its slices are readable for their lengths during the call.
unsafe fn session_check(
    router: &Router,
    port: u16,
    sni: Option<&str>,
    authority: Option<&str>,
    headers: &[(&[u8], &[u8])],
    tls: &gw_tls_connection,
) -> Option<SessionCheck> {
    // SAFETY: forwarded caller guarantee.
    let slices = unsafe { ffi::try_array(tls.client_chain, tls.client_chain_len) }?;
    let mut chain = Vec::with_capacity(slices.len());
    for s in slices {
        // SAFETY: forwarded caller guarantee.
        chain.push(CertificateDer::from(unsafe { ffi::try_bytes(*s) }?));
    }
    let host = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(b"host"))
        .and_then(|(_, value)| std::str::from_utf8(value).ok());
    let now = UnixTime::since_unix_epoch(Duration::from_secs(tls.now_unix_secs));
    let mut handshake = Handshake::new(port, sni, &chain, now);
    if tls.resumed_from_port != 0 {
        handshake = handshake.resumed_from(tls.resumed_from_port);
    }
    let authority = authority.or(host).unwrap_or("");
    Some(router.frontend_tls().session_check(&handshake, authority))
}

/// What routing found (borrowing the router for `'r`, the request or a decision for `'a`),
/// kept with a decision so that the decision that follows an auth answer reads the same route,
/// rule and canonical request.
pub(crate) struct Routed<'r, 'a> {
    pub(crate) listener: Option<&'r str>,
    pub(crate) route: Option<RouteId<'r>>,
    pub(crate) rule: Option<RuleId<'r>>,
    pub(crate) reason: &'a str,
    /// The canonical path (without the query).
    pub(crate) canonical: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) host: &'a str,
}

/// The bytes as text, or why not.
fn text<'a>(what: &str, bytes: &'a [u8]) -> Result<&'a str, String> {
    std::str::from_utf8(bytes).map_err(|_| format!("the {what} is not UTF-8"))
}

/// A slice that may be absent: NULL data means `None`.
///
/// # Safety
/// As [`ffi::try_slice`].
unsafe fn optional<'a>(s: gw_slice) -> Option<Option<&'a [u8]>> {
    if s.data.is_null() {
        return (s.len == 0).then_some(None);
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { ffi::try_bytes(s) }.map(Some)
}

/// The start of the reason (for logs) of the 500 answered when backend TLS settings cannot be
/// carried out through this ABI: chiefly a Gateway backend client certificate
/// (`tls.backend.clientCertificateRef`) that cannot be used, since connections that would
/// present it must not be made (core's `BackendTls::client_config` refuses it too). Programs
/// read the cause instead: `GW_CAUSE_BACKEND_TLS_UNVERIFIABLE`.
pub(crate) const BACKEND_TLS_UNUSABLE: &str = "the backend TLS settings cannot be used";

/// Plans that must not be carried out answer 500 instead: a forward whose backend TLS
/// settings are unusable or not expressible here ([`crate::backend_tls`]). Everything else,
/// external auth and backend TLS included, is expressible.
fn fail_closed(plan: Plan<'_>) -> Plan<'_> {
    match plan {
        Plan::Forward(f) => match f.backend_tls.and_then(crate::backend_tls::unexpressible) {
            Some(why) => Plan::Respond(LocalResponse::new(
                Outcome::ServerError(ServerError::BackendTlsUnverifiable),
                500,
                format!("{BACKEND_TLS_UNUSABLE}: {why}"),
            )),
            None => Plan::Forward(f),
        },
        other => other,
    }
}

impl gw_outcome {
    /// The C number of the core's outcome, one to one.
    pub(crate) fn of(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Forward => Self::Forward,
            Outcome::Redirect => Self::Redirect,
            Outcome::Respond => Self::Respond,
            Outcome::NotFound(_) => Self::NotFound,
            Outcome::BadRequest(_) => Self::BadRequest,
            Outcome::Misdirected => Self::Misdirected,
            Outcome::Authorize => Self::Authorize,
            Outcome::Denied(_) => Self::Denied,
            Outcome::PassThrough => Self::PassThrough,
            // `ServerError`, and any outcome a later core adds: fail closed.
            _ => Self::ServerError,
        }
    }
}

impl Decision {
    /// A 400 for a request field that is not UTF-8: routing never started.
    fn bad_request(router: Arc<Router>, reason: String) -> Self {
        Self::new(Source::Router(router), |_| {
            Parts::answer(
                Outcome::BadRequest(BadRequest::MalformedRequest),
                400,
                reason,
            )
        })
    }

    /// The decision that carries out `judge`'s plan for the auth check of `parent` (a
    /// `GW_OUTCOME_AUTHORIZE` decision), with the same route, rule and canonical request.
    pub(crate) fn after_check(
        parent: Arc<Decision>,
        judge: impl for<'r> FnOnce(&AuthCheck<'r>) -> Plan<'r>,
    ) -> Self {
        Self::new(Source::Check(parent), |source| {
            let Source::Check(parent) = source else {
                return Parts::unroutable();
            };
            let parts = parent.parts();
            let Plan::Authorize(check) = &parts.plan else {
                return Parts::unroutable();
            };
            let mut next = Parts::new(judge(check), &parts.routed());
            next.session.clone_from(&parts.session);
            next
        })
    }

    /// What the decision says.
    pub(crate) fn parts(&self) -> &Parts<'_> {
        self.borrow_dependent()
    }
}

impl<'r> Parts<'r> {
    /// The parts for `plan` (after [`fail_closed`]).
    fn new(plan: Plan<'r>, routed: &Routed<'r, '_>) -> Self {
        let mut plan = fail_closed(plan);
        let (outcome, status) = match &mut plan {
            Plan::Forward(_) => (Outcome::Forward, 0),
            Plan::Respond(local) => {
                if local.reason.is_empty() {
                    routed.reason.clone_into(&mut local.reason);
                }
                (local.outcome, local.status)
            }
            Plan::Authorize(_) => (Outcome::Authorize, 0),
            // A plan a later core adds, which no accessor can describe: fail closed.
            _ => (Outcome::ServerError(ServerError::Proxy), 500),
        };
        let path = match &plan {
            Plan::Forward(f) => Some(f.request.path.as_deref().unwrap_or(routed.canonical)),
            Plan::Authorize(_) => Some(routed.canonical),
            _ => None,
        };
        let mut text = Text::default();
        let mut query_at = 0;
        if let Some(path) = path {
            text.push(path);
            query_at = text.len();
            if let Some(q) = routed.query {
                text.push("?");
                text.push(q);
            }
        }
        let path_len = text.len();
        text.push(routed.host);
        let auth_message = match &plan {
            Plan::Authorize(check) => check.grpc_message().unwrap_or_default(),
            _ => Vec::new(),
        };
        Self {
            outcome,
            status,
            listener: routed.listener,
            route: routed.route,
            rule: routed.rule,
            plan,
            text,
            path_len,
            query_at,
            auth_message,
            session: None,
            l4_backend: None,
        }
    }

    /// A local answer before any route was found.
    fn answer(outcome: Outcome, status: u16, reason: String) -> Self {
        Self {
            outcome,
            status,
            listener: None,
            route: None,
            rule: None,
            plan: Plan::Respond(LocalResponse::new(outcome, status, reason)),
            text: Text::default(),
            path_len: 0,
            query_at: 0,
            auth_message: Vec::new(),
            session: None,
            l4_backend: None,
        }
    }

    /// The answer when a decision's source is not the one its constructor made, which cannot
    /// happen: fail closed rather than panic.
    fn unroutable() -> Self {
        Self::answer(
            Outcome::ServerError(ServerError::Proxy),
            500,
            "internal error: a decision without its source".to_owned(),
        )
    }

    /// What routing found, read back (for the decision that follows an auth answer).
    fn routed(&self) -> Routed<'r, '_> {
        let bytes = self.text.as_bytes();
        let part = |range: std::ops::Range<usize>| {
            bytes
                .get(range)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default()
        };
        Routed {
            listener: self.listener,
            route: self.route,
            rule: self.rule,
            reason: "",
            canonical: part(0..self.query_at),
            query: (self.query_at < self.path_len).then(|| part(self.query_at + 1..self.path_len)),
            host: part(self.path_len..bytes.len()),
        }
    }

    /// What to do.
    pub(crate) fn outcome(&self) -> gw_outcome {
        gw_outcome::of(self.outcome)
    }

    /// Why, when the proxy answers itself.
    pub(crate) fn cause(&self) -> gw_cause {
        gw_cause::of(self.outcome)
    }

    pub(crate) fn forward(&self) -> Option<&gateway_core::plan::ForwardPlan<'r>> {
        match &self.plan {
            Plan::Forward(f) => Some(f),
            _ => None,
        }
    }

    fn local(&self) -> Option<&LocalResponse> {
        match &self.plan {
            Plan::Respond(l) => Some(l),
            _ => None,
        }
    }
}

/// Borrows a decision handle inside an accessor, returning `$default` for NULL.
macro_rules! decision {
    ($ptr:expr, $default:expr) => {
        // SAFETY: every accessor requires `decision` to be NULL or a live `gw_decision`.
        require!(unsafe { $crate::ffi::try_ref($ptr) }, $default).parts()
    };
}

pub(crate) use decision;

/// What the proxy must do; `GW_OUTCOME_SERVER_ERROR` for a NULL decision (fail closed).
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_outcome(decision: *const gw_decision) -> gw_outcome {
    ffi_boundary!(gw_outcome::ServerError, {
        decision!(decision, gw_outcome::ServerError).outcome()
    })
}

/// Why the proxy answers the client itself: a `GW_CAUSE_*` value of the block of the outcome
/// (1xx for `GW_OUTCOME_NOT_FOUND`, 2xx `_BAD_REQUEST`, 3xx `_SERVER_ERROR`, 4xx `_DENIED`), or
/// `GW_CAUSE_NONE` for the outcomes without a cause (forward, redirect, respond, misdirected,
/// authorize). `GW_CAUSE_PROXY` for a NULL decision, which pairs with the fail-closed
/// `GW_OUTCOME_SERVER_ERROR` and 500 of the other accessors. Switch on it for metrics, logs or
/// error pages: unlike `gw_decision_reason`, whose text may change, the numbers are stable.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_cause(decision: *const gw_decision) -> gw_cause {
    ffi_boundary!(gw_cause::Proxy, {
        decision!(decision, gw_cause::Proxy).cause()
    })
}

/// The status to answer with when the proxy answers itself; 0 for `GW_OUTCOME_FORWARD`; 500 for
/// a NULL decision.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_status(decision: *const gw_decision) -> u16 {
    ffi_boundary!(500, { decision!(decision, 500).status })
}

/// Why, for every outcome but `GW_OUTCOME_FORWARD`: text for people (logs; never send it to
/// clients), which may change in any release. Programs switch on `gw_decision_cause` instead.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_reason(decision: *const gw_decision) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        gw_slice::from_opt(d.local().map(|l| l.reason.as_str()))
    })
}

/// The name of the listener that took the request; NULL when none did.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_listener(decision: *const gw_decision) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        gw_slice::from_opt(decision!(decision, gw_slice::NONE).listener)
    })
}

/// Writes the matched route and rule to `*out`; false (nothing written) when no rule matched.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_route(
    decision: *const gw_decision,
    out: *mut gw_route_match,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let (Some(route), Some(rule), false) = (d.route, d.rule, out.is_null()) else {
            return false;
        };
        let kind = match route.kind {
            RouteKind::Http => gw_route_kind::Http,
            RouteKind::Grpc => gw_route_kind::Grpc,
            RouteKind::Tls => gw_route_kind::Tls,
            RouteKind::Tcp => gw_route_kind::Tcp,
            RouteKind::Udp => gw_route_kind::Udp,
            _ => gw_route_kind::Other,
        };
        let m = gw_route_match {
            kind,
            ns: gw_slice::from_bytes(route.namespace.as_bytes()),
            name: gw_slice::from_bytes(route.name.as_bytes()),
            rule_index: rule.index,
            rule_name: gw_slice::from_opt(rule.name),
        };
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(out, m) };
        true
    })
}

pub(crate) fn backend(b: &Backend) -> gw_backend {
    gw_backend {
        ns: gw_slice::from_bytes(b.namespace.as_bytes()),
        name: gw_slice::from_bytes(b.name.as_bytes()),
        port: b.port,
        app_protocol: gw_slice::from_opt(b.app_protocol.as_deref()),
    }
}

/// Writes the chosen backend to `*out`; false (nothing written) unless the outcome is
/// `GW_OUTCOME_FORWARD`.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_backend(
    decision: *const gw_decision,
    out: *mut gw_backend,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let chosen = d.l4_backend.or(d.forward().map(|f| f.backend));
        let (Some(chosen), false) = (chosen, out.is_null()) else {
            return false;
        };
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(out, backend(chosen)) };
        true
    })
}

/// How many mirrors receive a copy of the (edited) request; their answers are ignored.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_mirror_count(decision: *const gw_decision) -> usize {
    ffi_boundary!(0, {
        decision!(decision, 0)
            .forward()
            .map_or(0, |f| f.mirrors.len())
    })
}

/// Writes mirror `index` to `*out`; false when out of range.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_mirror(
    decision: *const gw_decision,
    index: usize,
    out: *mut gw_backend,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(m) = d.forward().and_then(|f| f.mirrors.get(index)) else {
            return false;
        };
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { ffi::write_if_some(out, backend(&m.backend)) }
    })
}

fn edit_count(edits: Option<&HeaderEdits>) -> usize {
    edits.map_or(0, |e| e.set.len() + e.add.len() + e.remove.len())
}

fn edit(edits: Option<&HeaderEdits>, index: usize) -> Option<gw_header_edit> {
    let e = edits?;
    let pair = |op, (n, v): &(String, String)| gw_header_edit {
        op,
        name: gw_slice::from_bytes(n.as_bytes()),
        value: gw_slice::from_bytes(v.as_bytes()),
    };
    if let Some(p) = e.set.get(index) {
        return Some(pair(gw_header_op::Set, p));
    }
    let index = index - e.set.len();
    if let Some(p) = e.add.get(index) {
        return Some(pair(gw_header_op::Add, p));
    }
    let name = e.remove.get(index - e.add.len())?;
    Some(gw_header_edit {
        op: gw_header_op::Remove,
        name: gw_slice::from_bytes(name.as_bytes()),
        value: gw_slice::from_bytes(&[]),
    })
}

/// Writes a `(name, value)` pair to `*out` when there is one and `out` is not NULL.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn write_header(pair: Option<&(String, String)>, out: *mut gw_header) -> bool {
    pair.is_some_and(|(name, value)| {
        let h = gw_header {
            name: gw_slice::from_bytes(name.as_bytes()),
            value: gw_slice::from_bytes(value.as_bytes()),
        };
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { ffi::write_if_some(out, h) }
    })
}

/// Writes an edit to `*out` when there is one.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn write_edit(edit: Option<gw_header_edit>, out: *mut gw_header_edit) -> bool {
    // SAFETY: the caller guarantees `out` is NULL or writable.
    edit.is_some_and(|e| unsafe { ffi::write_if_some(out, e) })
}

/// How many edits to apply to the forwarded request's headers (0 unless forwarding).
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_request_edit_count(decision: *const gw_decision) -> usize {
    ffi_boundary!(0, {
        edit_count(decision!(decision, 0).forward().map(|f| &f.request.headers))
    })
}

/// Writes request header edit `index` (sets, then adds, then removes) to `*out`; false when
/// out of range.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_request_edit(
    decision: *const gw_decision,
    index: usize,
    out: *mut gw_header_edit,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let e = edit(d.forward().map(|f| &f.request.headers), index);
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { write_edit(e, out) }
    })
}

/// How many edits to apply to the backend's response headers before returning it (0 unless
/// forwarding).
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_response_edit_count(decision: *const gw_decision) -> usize {
    ffi_boundary!(0, {
        edit_count(decision!(decision, 0).forward().map(|f| &f.response))
    })
}

/// Writes response header edit `index` (sets, then adds, then removes) to `*out`; false when
/// out of range.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_response_edit(
    decision: *const gw_decision,
    index: usize,
    out: *mut gw_header_edit,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let e = edit(d.forward().map(|f| &f.response), index);
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { write_edit(e, out) }
    })
}

/// The path and query to forward: the canonical path (or the URLRewrite result) with the query
/// as received. Send exactly this upstream, so that the backend sees what was routed. NULL
/// unless forwarding.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_path(decision: *const gw_decision) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        match (d.forward(), d.text.as_bytes().get(..d.path_len)) {
            (Some(_), Some(path)) => gw_slice::from_bytes(path),
            _ => gw_slice::NONE,
        }
    })
}

/// The authority (Host) a URLRewrite filter sets on the forwarded request; NULL when the
/// request keeps its own.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_authority_rewrite(decision: *const gw_decision) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        gw_slice::from_opt(d.forward().and_then(|f| f.request.authority.as_deref()))
    })
}

/// The canonical host the request was routed on (lower case, no port, no trailing dot); empty
/// when routing stopped before the host was read.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_host(decision: *const gw_decision) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        d.text
            .as_bytes()
            .get(d.path_len..)
            .map_or(gw_slice::NONE, gw_slice::from_bytes)
    })
}

/// The redirect `Location`; NULL unless the outcome is `GW_OUTCOME_REDIRECT`.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_location(decision: *const gw_decision) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        gw_slice::from_opt(d.local().and_then(|l| l.header("location")))
    })
}

/// How many headers the local response carries (redirect `location`, CORS headers); 0 when
/// forwarding.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_local_header_count(decision: *const gw_decision) -> usize {
    ffi_boundary!(0, {
        decision!(decision, 0)
            .local()
            .map_or(0, |l| l.headers.len())
    })
}

/// Writes local response header `index` to `*out` (in order; names lower case); false when out
/// of range.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_local_header(
    decision: *const gw_decision,
    index: usize,
    out: *mut gw_header,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { write_header(d.local().and_then(|l| l.headers.get(index)), out) }
    })
}

/// The local response's body (empty for every response the library builds today); NULL when
/// forwarding.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_local_body(decision: *const gw_decision) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        d.local()
            .map_or(gw_slice::NONE, |l| gw_slice::from_bytes(&l.body))
    })
}

fn timeout(t: Timeout) -> gw_timeout {
    match t {
        Timeout::After(d) => gw_timeout {
            kind: gw_timeout_kind::After,
            millis: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        },
        Timeout::Disabled => gw_timeout {
            kind: gw_timeout_kind::Disabled,
            millis: 0,
        },
        _ => gw_timeout {
            kind: gw_timeout_kind::Unset,
            millis: 0,
        },
    }
}

/// Writes the rule's timeouts to `*out`; false (nothing written) unless forwarding.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_timeouts(
    decision: *const gw_decision,
    out: *mut gw_timeouts,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let (Some(f), false) = (d.forward(), out.is_null()) else {
            return false;
        };
        let t = gw_timeouts {
            request: timeout(f.timeouts.request),
            backend_request: timeout(f.timeouts.backend_request),
        };
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(out, t) };
        true
    })
}

/// Writes the rule's retry policy to `*out`; false (nothing written) unless forwarding by a
/// rule that has one. `timeouts.request` (see `gw_decision_timeouts`) bounds the whole
/// exchange, retries included; `timeouts.backendRequest` bounds each attempt.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_retry(
    decision: *const gw_decision,
    out: *mut gw_retry,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let (Some(retry), false) = (d.forward().and_then(|f| f.retry), out.is_null()) else {
            return false;
        };
        let r = gw_retry {
            codes: retry.codes.as_ptr(),
            codes_len: retry.codes.len(),
            attempts_set: retry.attempts.is_some(),
            attempts: retry.attempts.unwrap_or(0),
            backoff_set: retry.backoff.is_some(),
            backoff_millis: retry
                .backoff
                .map_or(0, |b| u64::try_from(b.as_millis()).unwrap_or(u64::MAX)),
        };
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(out, r) };
        true
    })
}

/// Frees a decision (and releases its reference to the router); NULL is ignored.
///
/// # Safety
/// `decision` is NULL or a `gw_decision` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_free(decision: *mut gw_decision) {
    ffi_boundary!((), {
        // SAFETY: the caller guarantees `decision` is NULL or a live handle freed once.
        unsafe { ffi::free_arc(decision) }
    })
}
