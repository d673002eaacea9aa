//! The C ABI of gateway-core: Kubernetes Gateway API v1.4 routing for C hosts.
//!
//! ```text
//! manifests ──gw_config_load──▶ gw_config ──gw_router_build──▶ gw_router (Arc, immutable)
//!    gw_router + gw_request ──gw_router_route──▶ gw_decision ──accessors──▶ what to do
//!    gw_router + request JSON ──gw_route_json──▶ gw_buffer (decision JSON)
//! ```
//!
//! Conventions (the header `include/gateway.h` repeats them):
//! - Every symbol is prefixed `gw_`. Handles are opaque; each `_load`/`_build`/`_new`/`_route`
//!   has a `_free` that accepts NULL. Freeing twice is undefined behavior.
//! - Fallible functions return a [`gw_result`] (stable numbers) and write their out-params only
//!   on success. `gw_error **error_out` is optional and, when given, is written only on failure.
//! - Inputs are `(pointer, length)` byte slices, never NUL-terminated and never assumed UTF-8.
//!   A NULL pointer with length 0 is an empty input; NULL with a length is
//!   `GW_RESULT_NULL_PARAMETER`.
//! - Every export runs inside a panic boundary: a panic returns `GW_RESULT_PANIC` (or NULL,
//!   false, 0 where the function returns no `gw_result`); unwinding never reaches C.
//! - A `gw_router` is immutable, `Send + Sync` and reference-counted ([`router::gw_router_clone`]):
//!   routers may be used from many threads at once and replaced while in use (each reader holds
//!   its own reference).
//! - A decision says what to do (`gw_decision_outcome`, a [`decision::gw_outcome`]) and, when
//!   the proxy answers itself, why (`gw_decision_cause`, a [`cause::gw_cause`]): both are
//!   gateway-core's outcome vocabulary, numbered as the core numbers it. Switch on the cause;
//!   the reason text (`gw_decision_reason`) is for logs and may change.
//!
//! External auth ([`auth`]): a rule with an `ExternalAuth` filter gives `GW_OUTCOME_AUTHORIZE`.
//! The decision describes the check to send (`gw_decision_auth_check`, `gw_decision_auth_header`;
//! the body through `gw_decision_auth_body` when `forwardBody` asks for it), and
//! `gw_decision_authorize` feeds the answer back (HTTP status, headers and body; gRPC
//! `CheckResponse` bytes; unreachable; timed out) to give the decision to carry out: the forward
//! with the auth service's headers applied, or `GW_OUTCOME_DENIED` (a denial, or the failure
//! status when the check failed: fail closed).
//!
//! Backend TLS ([`backend_tls`]): a forward to a backend that a BackendTLSPolicy targets carries
//! its settings (`gw_decision_backend_tls`: SNI, trust, CA certificates, identities, the
//! Gateway's client certificate and key), and `gw_decision_verify_backend_chain` verifies the
//! backend's chain with gateway-core's verifier. A forward whose settings cannot be used (an
//! unusable Gateway client certificate) fails closed with 500 and the cause
//! `GW_CAUSE_BACKEND_TLS_UNVERIFIABLE`.
//!
//! Frontend TLS ([`frontend_tls`]): a request given with its TLS connection's facts
//! (`gw_request.tls`: the client's chain, the session's port, the time) is first judged as
//! gateway-core judges a request on a TLS connection (the client certificate against the
//! session port's `tls.frontend` validation, then the coalescing guard): a refusal is the
//! decision (`GW_OUTCOME_MISDIRECTED` 421, ...), and `gw_decision_frontend_tls` reads the
//! verdicts.
//!
//! Mesh ([`router::gw_router_build_mesh`]): the mesh (GAMMA) router routes east-west requests
//! by the client's namespace and the destination Service port or address
//! (`gw_request.mesh`, a [`decision::gw_mesh_request`]) instead of listener and host;
//! `GW_OUTCOME_PASS_THROUGH` says no route applies to the destination.
#![allow(unsafe_code)] // this crate is the C boundary; every block says why it is sound
#![allow(non_camel_case_types)] // C type names: gw_config, gw_result, ...
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod ffi;

pub mod auth;
pub mod backend_tls;
pub mod cause;
pub mod config;
pub mod decision;
pub mod error;
pub mod frontend_tls;
pub mod router;
pub mod session;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use error::gw_result;

/// A borrowed byte string: `len` bytes at `data`. Inputs need not be UTF-8 nor NUL-terminated;
/// a NULL `data` means absent (inputs: NULL with `len` 0 is empty or absent, as each field
/// says). Strings the library returns are UTF-8, not NUL-terminated, and live as long as the
/// handle they come from.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct gw_slice {
    /// The first byte, or NULL.
    pub data: *const u8,
    /// How many bytes.
    pub len: usize,
}

impl gw_slice {
    /// The absent slice: NULL, 0.
    pub const NONE: gw_slice = gw_slice {
        data: std::ptr::null(),
        len: 0,
    };

    /// A slice over borrowed bytes (the caller keeps them alive).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            data: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// A slice over a string, or [`gw_slice::NONE`].
    fn from_opt(s: Option<&str>) -> Self {
        s.map_or(Self::NONE, |s| Self::from_bytes(s.as_bytes()))
    }
}

/// The library version, `MAJOR.MINOR.PATCH` (UTF-8, static). Equal to `GW_VERSION`.
///
/// # Safety
/// Always safe to call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_version() -> gw_slice {
    ffi::ffi_boundary!(gw_slice::NONE, {
        gw_slice::from_bytes(env!("CARGO_PKG_VERSION").as_bytes())
    })
}

#[cfg(test)]
mod tests;
