//! A forward's retry budget and session persistence (XBackendTrafficPolicy, GEP-1619), read
//! from a decision: the same values `route --json` reports as `retry.budget` and `session`.

use gateway_core::filter::{CookieLifetime, RetryCounts, SessionKind, SessionPin, SessionSource};

use crate::decision::{decision, gw_decision};
use crate::ffi::{self, ffi_boundary, require};
use crate::{gw_result, gw_slice};

/// The retry budget of the chosen backend's Service (XBackendTrafficPolicy `retryConstraint`,
/// CRD defaults applied).
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_retry_budget {
    /// `budget.percent`: the most retries may be of the requests, in percent.
    pub percent: u8,
    /// `budget.interval`, in milliseconds.
    pub interval_millis: u64,
    /// `minRetryRate.count`: retries always allowed per `min_retry_interval_millis`.
    pub min_retries: u32,
    /// `minRetryRate.interval`, in milliseconds.
    pub min_retry_interval_millis: u64,
}

/// How a session token travels.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_session_kind {
    /// In a cookie: the response sets it with `Set-Cookie`.
    Cookie = 1,
    /// In a header named `name`, set on the response and sent back by the client.
    Header = 2,
}

/// A cookie's lifetime.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_cookie_lifetime {
    /// Not a cookie.
    None = 0,
    /// A session cookie (no `Max-Age`); the gateway enforces `absoluteTimeout`.
    Session = 1,
    /// A permanent cookie: `Max-Age` is `absoluteTimeout`.
    Permanent = 2,
}

/// A forward's session persistence. The slices point into the router and live as long as the
/// decision.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_session {
    /// Cookie or header.
    pub kind: gw_session_kind,
    /// For a cookie, its lifetime; `GW_COOKIE_LIFETIME_NONE` for a header.
    pub lifetime: gw_cookie_lifetime,
    /// The cookie or header name: `sessionName`, or `gw-session-<16 hex digits>` unique to the
    /// rule.
    pub name: gw_slice,
    /// Whether `absoluteTimeout` is set.
    pub absolute_timeout_set: bool,
    /// `absoluteTimeout` in milliseconds when set.
    pub absolute_timeout_millis: u64,
    /// Whether `idleTimeout` is set.
    pub idle_timeout_set: bool,
    /// `idleTimeout` in milliseconds when set.
    pub idle_timeout_millis: u64,
    /// The cookie `Path` (the matched path match's); NULL for a header or a Service's policy.
    pub path: gw_slice,
    /// Whether the cookie is `Secure` (an HTTPS listener).
    pub secure: bool,
    /// The XBackendTrafficPolicy it comes from as `namespace/name`; NULL when it is the rule's
    /// own `sessionPersistence`.
    pub policy: gw_slice,
}

/// A session's pin, read from a valid token.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_session_pin {
    /// The backendRef's index in the rule (as `gw_decision_backend_index`); valid even when its
    /// weight is 0.
    pub backend_index: usize,
    /// The endpoint the proxy chose when it issued the token: points into the token passed to
    /// `gw_decision_session_lookup`.
    pub endpoint: gw_slice,
    /// When the session began (Unix seconds): pass it back to `gw_decision_session_issue` to
    /// renew the session.
    pub issued: u64,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Writes the chosen backend's retry budget to `*out`; false (nothing written) unless
/// forwarding to a Service with one.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_retry_budget(
    decision: *const gw_decision,
    out: *mut gw_retry_budget,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(b) = d.forward().and_then(|f| f.retry_budget) else {
            return false;
        };
        let budget = gw_retry_budget {
            percent: b.percent,
            interval_millis: millis(b.interval),
            min_retries: b.min_retry_rate.count,
            min_retry_interval_millis: millis(b.min_retry_rate.interval),
        };
        // SAFETY: `out` is NULL (not written) or writable, as the caller guarantees.
        unsafe { ffi::write_if_some(out, budget) }
    })
}

/// Whether the chosen backend's retry budget allows one more retry, given the proxy's counts
/// for the Service: `requests` (retries included) and `retries` within the budget's interval,
/// `recent_retries` within the minimum rate's. True when the decision forwards to a Service
/// without a budget; false for a decision that does not forward. A refused retry answers 503.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_retry_budget_allows(
    decision: *const gw_decision,
    requests: u64,
    retries: u64,
    recent_retries: u64,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(f) = d.forward() else {
            return false;
        };
        f.retry_budget
            .is_none_or(|b| b.allows_retry(RetryCounts::new(requests, retries, recent_retries)))
    })
}

/// Writes the forward's session persistence to `*out`; false (nothing written) unless
/// forwarding by a rule that has one.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_session(
    decision: *const gw_decision,
    out: *mut gw_session,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(s) = d.forward().and_then(|f| f.session) else {
            return false;
        };
        let p = s.policy;
        let (kind, lifetime) = match p.kind() {
            SessionKind::Cookie(CookieLifetime::Session) => {
                (gw_session_kind::Cookie, gw_cookie_lifetime::Session)
            }
            SessionKind::Cookie(CookieLifetime::Permanent) => {
                (gw_session_kind::Cookie, gw_cookie_lifetime::Permanent)
            }
            SessionKind::Header => (gw_session_kind::Header, gw_cookie_lifetime::None),
        };
        let cookie = kind == gw_session_kind::Cookie;
        let policy = match p.source() {
            SessionSource::Policy(id) => gw_slice::from_bytes(id.as_bytes()),
            _ => gw_slice::NONE,
        };
        let session = gw_session {
            kind,
            lifetime,
            name: gw_slice::from_bytes(p.name().as_bytes()),
            absolute_timeout_set: p.absolute_timeout().is_some(),
            absolute_timeout_millis: p.absolute_timeout().map_or(0, millis),
            idle_timeout_set: p.idle_timeout().is_some(),
            idle_timeout_millis: p.idle_timeout().map_or(0, millis),
            path: s
                .path
                .filter(|_| cookie)
                .map_or(gw_slice::NONE, |path| gw_slice::from_bytes(path.as_bytes())),
            secure: cookie && s.secure,
            policy,
        };
        // SAFETY: `out` is NULL (not written) or writable, as the caller guarantees.
        unsafe { ffi::write_if_some(out, session) }
    })
}

/// Reads the pin of a presented session token (the cookie's or the header's value) at
/// `now_unix` (Unix seconds) into `*out`; false (nothing written) when the forward has no
/// session or the token is not valid for its rule (malformed, damaged, another rule's, for a
/// backendRef that changed, or expired). The pin's endpoint points into `token`.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `token` is readable for `token_len` bytes
/// (NULL with 0); `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_session_lookup(
    decision: *const gw_decision,
    token: *const u8,
    token_len: usize,
    now_unix: u64,
    out: *mut gw_session_pin,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(s) = d.forward().and_then(|f| f.session) else {
            return false;
        };
        // SAFETY: the caller guarantees `token` is readable for `token_len` bytes.
        let bytes = require!(unsafe { ffi::try_slice(token, token_len) }, false);
        let Ok(token) = std::str::from_utf8(bytes) else {
            return false;
        };
        let Some(pin) = s.lookup(Some(token), now_unix) else {
            return false;
        };
        let pin = gw_session_pin {
            backend_index: pin.backend_index,
            endpoint: gw_slice::from_bytes(pin.endpoint.as_bytes()),
            issued: pin.issued,
        };
        // SAFETY: `out` is NULL (not written) or writable, as the caller guarantees.
        unsafe { ffi::write_if_some(out, pin) }
    })
}

/// Copies the value of the response header that starts (or renews) a session into `buf`, and
/// its length into `*len_out`: for a cookie session the full `Set-Cookie` value with its
/// attributes, for a header session the token (the header is the session's `name`). The
/// session pins `endpoint` of backendRef `backend_index`; it began at `issued_unix` (pass
/// `now_unix` for a new session, a pin's `issued` to renew one) and is used at `now_unix`.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER` for a NULL pointer with a length or a NULL `len_out`;
/// `GW_RESULT_NOT_APPLICABLE` when the decision does not forward by a rule with session
/// persistence; `GW_RESULT_OUT_OF_RANGE` when `backend_index` is not a valid backend of the
/// rule or the endpoint is not 1 to 255 bytes of `[A-Za-z0-9.:[]_-]`;
/// `GW_RESULT_BUFFER_TOO_SMALL` when the value does not fit (`*len_out` is then the length
/// needed). 1024 bytes always suffice.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `endpoint` is readable for `endpoint_len`
/// bytes; `buf` is writable for `len` bytes; `len_out` is NULL or writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn gw_decision_session_issue(
    decision: *const gw_decision,
    backend_index: usize,
    endpoint: *const u8,
    endpoint_len: usize,
    issued_unix: u64,
    now_unix: u64,
    buf: *mut u8,
    len: usize,
    len_out: *mut usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        let d = decision!(decision, gw_result::NullParameter);
        if len_out.is_null() || (buf.is_null() && len > 0) {
            return gw_result::NullParameter;
        }
        // SAFETY: the caller guarantees `endpoint` is readable for `endpoint_len` bytes.
        let endpoint = require!(unsafe { ffi::try_slice(endpoint, endpoint_len) });
        let Some(s) = d.forward().and_then(|f| f.session) else {
            return gw_result::NotApplicable;
        };
        let Ok(endpoint) = std::str::from_utf8(endpoint) else {
            return gw_result::OutOfRange;
        };
        let pin = SessionPin::new(backend_index, endpoint, issued_unix);
        let Some(set) = s.renew(&pin, now_unix) else {
            return gw_result::OutOfRange;
        };
        let value = set.value.as_bytes();
        // SAFETY: `len_out` was checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(len_out, value.len()) };
        if value.len() > len {
            return gw_result::BufferTooSmall;
        }
        // SAFETY: `buf` is writable for `len >= value.len()` bytes (non-NULL when `len > 0`;
        // a token is never empty) and cannot overlap the freshly built value.
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), buf, value.len()) };
        gw_result::Ok
    })
}

#[cfg(test)]
mod tests;
