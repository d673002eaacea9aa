//! Frontend TLS through the typed ABI: the verdicts on a request given with its TLS
//! connection's facts (`gw_request.tls`): gateway-core's `FrontendTls::session_check`, the
//! client certificate against the session port's `tls.frontend` validation (GEP-91), then the
//! coalescing guard (GEP-3567).
//!
//! ```text
//! gw_request + gw_tls_connection (client chain DER, resumed from port, now)
//!   ──gw_router_route──▶ gw_decision: refused by the guard (GW_OUTCOME_MISDIRECTED 421,
//!                        NOT_FOUND 404, BAD_REQUEST 400), or routed
//!   ──gw_decision_frontend_tls──▶ session port, validation mode, client auth, guard answer
//! ```

use gateway_core::tls::{ClientAuth, Coalescing, ValidationMode};

use crate::backend_tls::code;
use crate::decision::{decision, gw_decision};
use crate::ffi::{self, ffi_boundary, require};
use crate::gw_result;

/// A port's client-certificate validation (Gateway `tls.frontend`, GEP-91).
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new modes get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_client_validation {
    /// The port asks for no client certificate.
    None = 0,
    /// `AllowValidOnly`: only clients with a valid certificate are served.
    AllowValidOnly = 1,
    /// `AllowInsecureFallback`: every client is served; those without a valid certificate are
    /// `GW_CLIENT_AUTH_UNVERIFIED`.
    AllowInsecureFallback = 2,
}

/// What the client certificate proved on the session's port.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new states get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_client_auth {
    /// The port asks for no client certificate.
    NotRequested = 0,
    /// The chain leads to one of the port's CAs and allows clientAuth.
    Verified = 1,
    /// Admitted without a valid certificate (`AllowInsecureFallback`), or refused
    /// (`AllowValidOnly`); `client_certificate` says why.
    Unverified = 2,
    /// The library cannot verify certificates (built without TLS): the host must.
    Unavailable = 3,
}

/// The coalescing guard's answer for the request.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new answers get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_coalescing {
    /// The request may be served on this connection.
    Allow = 0,
    /// 421: another listener (or TLS configuration, or port's session) serves the host.
    Misdirected = 1,
    /// 404: no TLS listener of the port serves the host.
    NotFound = 2,
    /// 400: the authority is not a valid host.
    BadRequest = 3,
    /// Not known: the client certificate could not be verified here.
    Unavailable = 4,
}

/// The frontend TLS verdicts of a decision.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_frontend_tls {
    /// The port whose handshake established the session: `resumed_from_port`, else `port`.
    pub session_port: u16,
    /// That port's client-certificate validation.
    pub validation: gw_client_validation,
    /// What the client certificate proved there.
    pub client_auth: gw_client_auth,
    /// The client chain's verdict: `GW_RESULT_OK` when verified or not requested, else the
    /// reason as `gw_decision_verify_backend_chain` numbers it (`GW_RESULT_CERTIFICATE_MISSING`,
    /// `_UNKNOWN_ISSUER`, `_EXPIRED`, `_WRONG_USAGE`, ..., `GW_RESULT_TLS_POLICY_INVALID`).
    pub client_certificate: gw_result,
    /// The coalescing guard's answer; anything but `GW_COALESCING_ALLOW` is the decision's
    /// outcome.
    pub coalescing: gw_coalescing,
}

/// Writes the frontend TLS verdicts to `*out`; false (nothing written) when the request was
/// routed without `tls`.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_frontend_tls(
    decision: *const gw_decision,
    out: *mut gw_frontend_tls,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(check) = &d.session else {
            return false;
        };
        let validation = match check.validation {
            None => gw_client_validation::None,
            Some(ValidationMode::AllowInsecureFallback) => {
                gw_client_validation::AllowInsecureFallback
            }
            // `AllowValidOnly`, and any stricter mode a later core adds.
            Some(_) => gw_client_validation::AllowValidOnly,
        };
        let (client_auth, client_certificate) = match &check.client_auth {
            None => (gw_client_auth::Unavailable, gw_result::Ok),
            Some(ClientAuth::NotRequested) => (gw_client_auth::NotRequested, gw_result::Ok),
            Some(ClientAuth::Verified) => (gw_client_auth::Verified, gw_result::Ok),
            Some(ClientAuth::Unverified(reason)) => (gw_client_auth::Unverified, code(reason)),
            // A state a later core adds: not proven.
            Some(_) => (gw_client_auth::Unverified, gw_result::CertificateInvalid),
        };
        let coalescing = match check.coalescing {
            None => gw_coalescing::Unavailable,
            Some(Coalescing::Allow) => gw_coalescing::Allow,
            Some(Coalescing::NotFound) => gw_coalescing::NotFound,
            Some(Coalescing::BadRequest) => gw_coalescing::BadRequest,
            // `Misdirected`, and any refusal a later core adds.
            Some(_) => gw_coalescing::Misdirected,
        };
        let f = gw_frontend_tls {
            session_port: check.session_port,
            validation,
            client_auth,
            client_certificate,
            coalescing,
        };
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { ffi::write_if_some(out, f) }
    })
}
