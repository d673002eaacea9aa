//! External authorization through the typed ABI: the check a `GW_OUTCOME_AUTHORIZE` decision
//! asks for, and feeding the auth service's answer back (gateway-core `authz`, whose rules
//! apply unchanged: only an HTTP 200 or a gRPC `OK` allows, everything else denies or fails
//! closed).
//!
//! ```text
//! gw_router_route ──▶ gw_decision (GW_OUTCOME_AUTHORIZE)
//!    ├─ gw_decision_auth_check / gw_decision_auth_header: what to send, to which Service
//!    ├─ (forward_body) gw_decision_auth_body(body) ──▶ gw_decision (AUTHORIZE again, or 413)
//!    └─ gw_decision_authorize(answer) ──▶ gw_decision (FORWARD with the auth headers applied,
//!                                          REDIRECT, or the denial / failure status)
//! ```

use std::sync::Arc;

use gateway_core::plan::Plan;
use gateway_core::plan::authz::{
    AuthCheck, AuthOptions, AuthProtocol, AuthRequest, AuthResponse, BodyLimit, grpc, proto,
};

use crate::decision::{Decision, Parts, decision, gw_backend, gw_decision, gw_header};
use crate::ffi::{self, ffi_boundary, require};
use crate::{gw_result, gw_slice};

/// The protocol of the external auth service.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new protocols get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_auth_protocol {
    /// Envoy ext_authz over plain HTTP: send the HTTP request `gw_auth_check` describes.
    Http = 0,
    /// Envoy ext_authz over gRPC: call `envoy.service.auth.v3.Authorization/Check` with
    /// `gw_auth_check.grpc_message`.
    Grpc = 1,
}

/// The check to send to the auth service. Strings and bytes live as long as the decision.
///
/// Gateway API v1.4 `ExternalAuth` has no timeout field: apply the proxy's own deadline and
/// answer `GW_AUTH_ANSWER_TIMEOUT` past it.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_auth_check {
    /// HTTP or gRPC.
    pub protocol: gw_auth_protocol,
    /// The auth Service port (resolved, ReferenceGrant checked); `app_protocol` is NULL.
    pub backend: gw_backend,
    /// HTTP: the client's method. gRPC: `POST`.
    pub method: gw_slice,
    /// HTTP: the path and query to request (`http.path` + the canonical client path + query).
    /// gRPC: `/envoy.service.auth.v3.Authorization/Check`.
    pub path: gw_slice,
    /// HTTP: the body to send (empty until `gw_decision_auth_body` added the client's).
    /// gRPC: NULL (the body travels inside the message).
    pub body: gw_slice,
    /// gRPC: the `envoy.service.auth.v3.CheckRequest`, protobuf-encoded, not framed (prefix
    /// the 5-byte gRPC frame header yourself when speaking HTTP/2 directly). HTTP: NULL.
    pub grpc_message: gw_slice,
    /// Whether the rule asks for the client's body (`forwardBody`): buffer at most
    /// `max_body` + 1 bytes of it and call `gw_decision_auth_body` before sending the check.
    pub forward_body: bool,
    /// `forwardBody.maxSize` when `forward_body`, else 0.
    pub max_body: usize,
}

/// What kind of answer a `gw_auth_response` carries (its `answer` field).
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new kinds get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_auth_answer {
    /// An HTTP auth service answered: `status`, `headers`, `body`.
    Http = 0,
    /// A gRPC auth service answered with `grpc-status` 0: `message` is the `CheckResponse`,
    /// not framed (what a gRPC library hands over).
    Grpc = 1,
    /// As `GW_AUTH_ANSWER_GRPC`, with `message` the body of the HTTP/2 response: exactly one
    /// uncompressed gRPC frame.
    GrpcFramed = 2,
    /// The auth service could not be reached (refused, reset, no endpoints, a gRPC transport
    /// error or a non-zero `grpc-status`).
    Unreachable = 3,
    /// No answer within the proxy's deadline.
    Timeout = 4,
}

/// The auth service's answer, borrowed for the duration of `gw_decision_authorize`.
/// Zero-initialize it and fill what the kind needs.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_auth_response {
    /// A `gw_auth_answer` value; an unknown value is a malformed answer (fails closed).
    pub answer: u32,
    /// HTTP: the status code. Only 200 allows; 201 to 599 deny with this status.
    pub status: u16,
    /// HTTP: the response headers in order, with duplicates. Names and values must be UTF-8
    /// (else the answer is malformed); at most 256 fields.
    pub headers: *const gw_header,
    /// HTTP: how many header fields.
    pub headers_len: usize,
    /// HTTP: the response body (sent to the client on a denial); at most 1 MiB.
    pub body: gw_slice,
    /// gRPC: the `CheckResponse` bytes (see `GW_AUTH_ANSWER_GRPC` and
    /// `GW_AUTH_ANSWER_GRPC_FRAMED`); at most 4 MiB.
    pub message: gw_slice,
    /// The status answered when the service is unreachable, times out or answers something
    /// that cannot be understood: 0 means 403 (the default); values outside 400..=599 are
    /// replaced by 403.
    pub failure_status: u16,
}

/// The most header fields an HTTP auth answer may carry; more make it malformed.
pub const GW_MAX_AUTH_RESPONSE_HEADERS: usize = 256;

/// The largest HTTP auth answer body accepted; larger makes it malformed.
pub const GW_MAX_AUTH_RESPONSE_BODY: usize = 1 << 20;

fn pending<'a>(d: &'a Parts<'_>) -> Option<&'a AuthCheck<'a>> {
    match &d.plan {
        Plan::Authorize(check) => Some(check),
        _ => None,
    }
}

/// Writes the check to send to `*out`; false (nothing written) unless the outcome is
/// `GW_OUTCOME_AUTHORIZE`.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_auth_check(
    decision: *const gw_decision,
    out: *mut gw_auth_check,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let (Some(check), false) = (pending(d), out.is_null()) else {
            return false;
        };
        let backend = gw_backend {
            ns: gw_slice::from_bytes(check.backend.namespace.as_bytes()),
            name: gw_slice::from_bytes(check.backend.name.as_bytes()),
            port: check.backend.port,
            app_protocol: gw_slice::NONE,
        };
        let (protocol, method, path, body, grpc_message) = match &check.request {
            AuthRequest::Http(h) => (
                gw_auth_protocol::Http,
                gw_slice::from_bytes(h.method.as_bytes()),
                gw_slice::from_bytes(h.path.as_bytes()),
                gw_slice::from_bytes(&h.body),
                gw_slice::NONE,
            ),
            _ if check.protocol() == AuthProtocol::Grpc => (
                gw_auth_protocol::Grpc,
                gw_slice::from_bytes(b"POST"),
                gw_slice::from_bytes(proto::CHECK_PATH.as_bytes()),
                gw_slice::NONE,
                gw_slice::from_bytes(&d.auth_message),
            ),
            // A protocol this ABI does not know: no check can be described.
            _ => return false,
        };
        let c = gw_auth_check {
            protocol,
            backend,
            method,
            path,
            body,
            grpc_message,
            forward_body: check.max_body.is_some(),
            max_body: check.max_body.unwrap_or(0),
        };
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(out, c) };
        true
    })
}

/// How many header fields the HTTP check carries (0 for gRPC, and unless the outcome is
/// `GW_OUTCOME_AUTHORIZE`).
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_auth_header_count(decision: *const gw_decision) -> usize {
    ffi_boundary!(0, {
        let d = decision!(decision, 0);
        pending(d)
            .and_then(AuthCheck::http)
            .map_or(0, |h| h.headers.len())
    })
}

/// Writes header field `index` of the HTTP check to `*out`: lower-case names, in order, `host`
/// (the canonical host) first and `content-length` last; send them exactly, and no other
/// client header. False when out of range.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_auth_header(
    decision: *const gw_decision,
    index: usize,
    out: *mut gw_header,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let pair = pending(d)
            .and_then(AuthCheck::http)
            .and_then(|h| h.headers.get(index));
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { crate::decision::write_header(pair, out) }
    })
}

/// Adds the client's body to the check (`gw_auth_check.forward_body`): a new decision in
/// `*next_out`, which is `GW_OUTCOME_AUTHORIZE` again with the body in the check, or, for a
/// body over `max_body` when `truncate` is false, `GW_OUTCOME_DENIED` with 413 (`truncate` sends
/// the first `max_body` bytes instead; Gateway API v1.4 says both "must be rejected with a 4xx"
/// and "must be truncated"). Passing more than `max_body` + 1 bytes is never needed. Without
/// `forward_body` the new decision is the same check. The original decision stays valid and
/// must still be freed, in any order (the new decision holds its own reference to it).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`; `GW_RESULT_NOT_APPLICABLE` unless the outcome is
/// `GW_OUTCOME_AUTHORIZE`.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `body` is readable for `len` bytes;
/// `next_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_auth_body(
    decision: *const gw_decision,
    body: *const u8,
    len: usize,
    truncate: bool,
    next_out: *mut *mut gw_decision,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        let d = decision!(decision, gw_result::NullParameter);
        // SAFETY: the caller guarantees `body` is readable for `len` bytes.
        let body = require!(unsafe { ffi::try_slice(body, len) });
        if next_out.is_null() {
            return gw_result::NullParameter;
        }
        require!(pending(d), gw_result::NotApplicable);
        // SAFETY: the caller guarantees `decision` is a live `gw_decision` (checked non-NULL).
        let parent = require!(unsafe { ffi::clone_arc(decision) });
        let limit = if truncate {
            BodyLimit::Truncate
        } else {
            BodyLimit::Reject { status: 413 }
        };
        let options = AuthOptions::default().with_body_limit(limit);
        let next = Decision::after_check(parent, |check| check.clone().with_body(body, &options));
        let ptr = ffi::to_arc_mut_ptr::<gw_decision>(Arc::new(next));
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(next_out, ptr) };
        gw_result::Ok
    })
}

/// Feeds the auth service's answer (or why there is none) to a `GW_OUTCOME_AUTHORIZE` decision
/// and writes the decision to carry out to `*next_out`:
/// - allowed (HTTP 200, gRPC `OK`): the rule's forward (`GW_OUTCOME_FORWARD`) with the auth
///   service's headers among the request edits (they replace client headers of the same name;
///   `host`, framing and hop-by-hop headers are never copied; gRPC `response_headers_to_add`
///   become response edits), or the rule's redirect;
/// - denied (HTTP 201 to 599, another gRPC code): `GW_OUTCOME_DENIED`, answering the auth
///   service's status, headers (`gw_decision_local_header`) and body;
/// - unreachable, timed out, malformed, or of the other protocol: `GW_OUTCOME_DENIED` with
///   `failure_status` (403 by default), never forwarded.
///
/// The original decision stays valid and must still be freed, in any order (the new decision
/// holds its own reference to it).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER` for a NULL argument or a slice with a NULL pointer and a
/// non-zero length; `GW_RESULT_NOT_APPLICABLE` unless the outcome is `GW_OUTCOME_AUTHORIZE`.
/// A bad answer is never an error: it fails closed.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `response` is NULL or points at a
/// `gw_auth_response` whose slices and header array are readable for their lengths during the
/// call; `next_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_authorize(
    decision: *const gw_decision,
    response: *const gw_auth_response,
    next_out: *mut *mut gw_decision,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        let d = decision!(decision, gw_result::NullParameter);
        // SAFETY: the caller guarantees `response` is NULL or a readable `gw_auth_response`.
        let response = require!(unsafe { response.as_ref() });
        if next_out.is_null() {
            return gw_result::NullParameter;
        }
        // SAFETY: the caller guarantees the response's slices are readable for the call.
        let answer = require!(unsafe { answer(response) });
        require!(pending(d), gw_result::NotApplicable);
        // SAFETY: the caller guarantees `decision` is a live `gw_decision` (checked non-NULL).
        let parent = require!(unsafe { ffi::clone_arc(decision) });
        let failure = match response.failure_status {
            0 => 403,
            s => s,
        };
        let options = AuthOptions::default().with_failure_status(failure);
        // A denial or a failure is the core's `Denied(ByAuthService | AuthFailed)` response.
        let next = Decision::after_check(parent, |check| {
            check.clone().judge(answer, &options).into_plan()
        });
        let ptr = ffi::to_arc_mut_ptr::<gw_decision>(Arc::new(next));
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(next_out, ptr) };
        gw_result::Ok
    })
}

/// The answer as gateway-core reads it; `None` for a NULL slice with a length. Bounds and text
/// checks turn into [`AuthResponse::Malformed`], which fails closed.
///
/// # Safety
/// The response's slices and header array are readable for their lengths during the call.
unsafe fn answer(r: &gw_auth_response) -> Option<AuthResponse> {
    // SAFETY: forwarded caller guarantee, for every slice below.
    let (headers, body, message) = unsafe {
        (
            ffi::try_array(r.headers, r.headers_len)?,
            ffi::try_bytes(r.body)?,
            ffi::try_bytes(r.message)?,
        )
    };
    let malformed = |why: String| Some(AuthResponse::Malformed(why));
    let kind = [
        gw_auth_answer::Http,
        gw_auth_answer::Grpc,
        gw_auth_answer::GrpcFramed,
        gw_auth_answer::Unreachable,
        gw_auth_answer::Timeout,
    ]
    .into_iter()
    .find(|k| *k as u32 == r.answer);
    match kind {
        Some(gw_auth_answer::Http) => {
            if headers.len() > GW_MAX_AUTH_RESPONSE_HEADERS {
                return malformed(format!(
                    "{} header fields (at most {GW_MAX_AUTH_RESPONSE_HEADERS})",
                    headers.len()
                ));
            }
            if body.len() > GW_MAX_AUTH_RESPONSE_BODY {
                return malformed(format!(
                    "a body of {} bytes (at most {GW_MAX_AUTH_RESPONSE_BODY})",
                    body.len()
                ));
            }
            let mut pairs = Vec::with_capacity(headers.len());
            for h in headers {
                // SAFETY: forwarded caller guarantee for each header's slices.
                let (name, value) = unsafe { (ffi::try_bytes(h.name)?, ffi::try_bytes(h.value)?) };
                let (Ok(name), Ok(value)) = (std::str::from_utf8(name), std::str::from_utf8(value))
                else {
                    return malformed("a header name or value is not UTF-8".to_owned());
                };
                pairs.push((name.to_owned(), value.to_owned()));
            }
            Some(AuthResponse::Http {
                status: r.status,
                headers: pairs,
                body: body.to_vec(),
            })
        }
        Some(gw_auth_answer::Grpc) => Some(grpc::decode_message(message)),
        Some(gw_auth_answer::GrpcFramed) => Some(grpc::decode_response(message)),
        Some(gw_auth_answer::Unreachable) => Some(AuthResponse::Unreachable),
        Some(gw_auth_answer::Timeout) => Some(AuthResponse::Timeout),
        None => malformed(format!("unknown answer kind {}", r.answer)),
    }
}
