//! Backend TLS through the typed ABI: the BackendTLSPolicy settings of a forward, and the
//! verification of the chain the backend presents (gateway-core `tls::verify`: webpki path
//! building and validity, then the policy's subjectAltNames or hostname).
//!
//! ```text
//! gw_decision (GW_OUTCOME_FORWARD) ──gw_decision_backend_tls──▶ TLS required? SNI, trust
//!   connect with that SNI; take the backend's chain (leaf first, DER) and the time
//!   ──gw_decision_verify_backend_chain──▶ GW_RESULT_OK, or GW_RESULT_CERTIFICATE_* (refuse)
//! ```
//!
//! Verify with this call, not with the TLS stack's own name check: the policy's identities
//! (subjectAltNames, URI SANs, its wildcard rule) are not the SNI.

use std::time::Duration;

use gateway_core::tls::{BackendTls, ClientCertificate, Identity, Reason, Trust, Verdict, verify};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use crate::decision::{Parts, decision, gw_decision};
use crate::error::{Error, gw_error};
use crate::ffi::{self, ffi_boundary, require};
use crate::{gw_result, gw_slice};

/// Which certificate authorities the backend's chain must lead to.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new modes get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_tls_trust {
    /// `wellKnownCACertificates: System`: the public roots (gateway-core verifies against
    /// Mozilla's root program, bundled; no I/O).
    System = 0,
    /// `caCertificateRefs`: the certificates `gw_decision_backend_tls_ca` lists.
    CaBundle = 1,
}

/// The TLS settings of a forward to a backend that a BackendTLSPolicy targets. Strings live
/// as long as the decision.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_backend_tls {
    /// The policy that applies, `namespace/name` (for logs).
    pub policy: gw_slice,
    /// The server name to send (SNI): `validation.hostname`.
    pub sni: gw_slice,
    /// Which CAs the backend's chain must lead to.
    pub trust: gw_tls_trust,
    /// How many CA certificates (`GW_TLS_TRUST_CA_BUNDLE`), else 0.
    pub ca_count: usize,
    /// How many identities the certificate must carry one of (`gw_decision_backend_tls_identity`).
    pub identity_count: usize,
    /// How many certificates the Gateway presents as its client certificate
    /// (`tls.backend.clientCertificateRef`), leaf first; 0 when it presents none.
    pub client_certificate_count: usize,
}

/// The kind of an identity the backend's certificate may prove.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new kinds get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_tls_identity_kind {
    /// A DNS name (no wildcard), matched as any TLS client does.
    Hostname = 0,
    /// A policy wildcard `*.<value>`: a certificate name with exactly one more label matches.
    WildcardHostname = 1,
    /// A URI SAN (e.g. a SPIFFE ID), compared byte for byte.
    Uri = 2,
}

/// One identity: the policy's `subjectAltNames`, or its hostname when it has none.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_tls_identity {
    /// Its kind.
    pub kind: gw_tls_identity_kind,
    /// The name (lower case for DNS names; for a wildcard, the domain after `*.`).
    pub value: gw_slice,
}

/// The encoding of a private key's DER.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new encodings get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_private_key_kind {
    /// PKCS#1 `RSAPrivateKey`.
    Pkcs1 = 0,
    /// SEC1 `ECPrivateKey`.
    Sec1 = 1,
    /// PKCS#8 `PrivateKeyInfo`.
    Pkcs8 = 2,
}

/// The private key of the Gateway's client certificate. The bytes are secret: never log them.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_private_key {
    /// Its encoding.
    pub kind: gw_private_key_kind,
    /// The DER bytes; live as long as the decision.
    pub der: gw_slice,
}

/// The longest backend chain `gw_decision_verify_backend_chain` accepts.
pub const GW_MAX_BACKEND_CHAIN: usize = 16;

/// Why settings cannot be handed out through this ABI, when so: the forward must then fail
/// closed instead (see `decision::fail_closed`).
pub(crate) fn unexpressible(t: &BackendTls) -> Option<String> {
    if !matches!(t.trust, Trust::System | Trust::Bundles(_)) {
        return Some("trust is not expressible in the C ABI".to_owned());
    }
    match &t.client_certificate {
        None => None,
        Some(ClientCertificate::Resolved(c)) => match &*c.key {
            PrivateKeyDer::Pkcs1(_) | PrivateKeyDer::Sec1(_) | PrivateKeyDer::Pkcs8(_) => None,
            _ => Some("the client key encoding is not expressible in the C ABI".to_owned()),
        },
        Some(ClientCertificate::Invalid(why)) => Some(why.clone()),
        Some(_) => Some("the client certificate is not expressible in the C ABI".to_owned()),
    }
}

fn settings<'a>(d: &'a Parts<'_>) -> Option<&'a BackendTls> {
    d.forward().and_then(|f| f.backend_tls)
}

fn client_chain(t: &BackendTls) -> &[CertificateDer<'static>] {
    match &t.client_certificate {
        Some(ClientCertificate::Resolved(c)) => &c.chain,
        _ => &[],
    }
}

/// Writes the backend TLS settings to `*out`; false (nothing written) when the connection to
/// the backend is plaintext, or the outcome is not `GW_OUTCOME_FORWARD`. When it is true,
/// connect with TLS and `sni`, and go on only if `gw_decision_verify_backend_chain` accepts the
/// backend's chain (never fall back to plaintext or to no verification).
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_backend_tls(
    decision: *const gw_decision,
    out: *mut gw_backend_tls,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(t) = settings(d) else {
            return false;
        };
        let (trust, ca_count) = match &t.trust {
            Trust::System => (gw_tls_trust::System, 0),
            Trust::Bundles(certs) => (gw_tls_trust::CaBundle, certs.len()),
            // Unreachable: such forwards fail closed when the decision is made.
            _ => return false,
        };
        let s = gw_backend_tls {
            policy: gw_slice::from_bytes(t.policy.as_bytes()),
            sni: gw_slice::from_bytes(t.sni.as_bytes()),
            trust,
            ca_count,
            identity_count: t.identities.len(),
            client_certificate_count: client_chain(t).len(),
        };
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { ffi::write_if_some(out, s) }
    })
}

/// CA certificate `index` (DER) of a `GW_TLS_TRUST_CA_BUNDLE` policy; NULL when out of range.
/// Trust exactly these (the host's TLS stack may use them to build its own verifier; the
/// verdict is still `gw_decision_verify_backend_chain`'s).
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_backend_tls_ca(
    decision: *const gw_decision,
    index: usize,
) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        match settings(d).map(|t| &t.trust) {
            Some(Trust::Bundles(certs)) => certs
                .get(index)
                .map_or(gw_slice::NONE, |c| gw_slice::from_bytes(c)),
            _ => gw_slice::NONE,
        }
    })
}

/// Writes identity `index` to `*out`; false when out of range. One matching identity is
/// enough.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_backend_tls_identity(
    decision: *const gw_decision,
    index: usize,
    out: *mut gw_tls_identity,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(identity) = settings(d).and_then(|t| t.identities.get(index)) else {
            return false;
        };
        let (kind, value): (_, &str) = match identity {
            Identity::Hostname(name) => (gw_tls_identity_kind::Hostname, name.as_ref()),
            Identity::WildcardHostname(parent) => {
                (gw_tls_identity_kind::WildcardHostname, parent.as_ref())
            }
            Identity::Uri(uri) => (gw_tls_identity_kind::Uri, uri),
            _ => return false,
        };
        let i = gw_tls_identity {
            kind,
            value: gw_slice::from_bytes(value.as_bytes()),
        };
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { ffi::write_if_some(out, i) }
    })
}

/// Certificate `index` (DER; 0 is the leaf) of the client certificate the Gateway presents to
/// the backend; NULL when out of range or when it presents none.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_backend_tls_client_certificate(
    decision: *const gw_decision,
    index: usize,
) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        let d = decision!(decision, gw_slice::NONE);
        settings(d)
            .and_then(|t| client_chain(t).get(index))
            .map_or(gw_slice::NONE, |c| gw_slice::from_bytes(c))
    })
}

/// Writes the private key of the Gateway's client certificate to `*out`; false when it
/// presents none.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_backend_tls_client_key(
    decision: *const gw_decision,
    out: *mut gw_private_key,
) -> bool {
    ffi_boundary!(false, {
        let d = decision!(decision, false);
        let Some(ClientCertificate::Resolved(c)) =
            settings(d).and_then(|t| t.client_certificate.as_ref())
        else {
            return false;
        };
        let kind = match &*c.key {
            PrivateKeyDer::Pkcs1(_) => gw_private_key_kind::Pkcs1,
            PrivateKeyDer::Sec1(_) => gw_private_key_kind::Sec1,
            PrivateKeyDer::Pkcs8(_) => gw_private_key_kind::Pkcs8,
            _ => return false,
        };
        let k = gw_private_key {
            kind,
            der: gw_slice::from_bytes(c.key.secret_der()),
        };
        // SAFETY: the caller guarantees `out` is NULL or writable.
        unsafe { ffi::write_if_some(out, k) }
    })
}

/// Verifies the certificate chain the backend presented (`chain`: `n` DER certificates, leaf
/// first, then intermediates as sent) against the decision's BackendTLSPolicy at
/// `now_unix_secs` (seconds since 1970, from the host's clock): webpki path building to the
/// policy's CAs (or the bundled public roots for `GW_TLS_TRUST_SYSTEM`), validity, signatures,
/// serverAuth usage, then one of the policy's identities. `GW_RESULT_OK` means the connection
/// may be used; anything else means close it.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`; `GW_RESULT_NOT_APPLICABLE` when the decision has no backend TLS
/// (not a forward, or plaintext); for a refused chain `GW_RESULT_CERTIFICATE_MISSING` (`n` ==
/// 0), `_BAD_ENCODING`, `_UNKNOWN_ISSUER`, `_EXPIRED`, `_NOT_YET_VALID`, `_BAD_SIGNATURE`,
/// `_UNSUPPORTED_ALGORITHM`, `_WRONG_USAGE`, `_NAME_MISMATCH`, `_INVALID` (another X.509 rule,
/// or more than 16 certificates) or `GW_RESULT_TLS_POLICY_INVALID`. Except for NULL arguments,
/// the reason goes to `*error_out` when it is not NULL.
///
/// # Safety
/// `decision` is NULL or a live `gw_decision`; `chain` points at `n` `gw_slice`s whose bytes
/// are readable for their lengths during the call; `error_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_decision_verify_backend_chain(
    decision: *const gw_decision,
    chain: *const gw_slice,
    n: usize,
    now_unix_secs: u64,
    error_out: *mut *mut gw_error,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        let d = decision!(decision, gw_result::NullParameter);
        // SAFETY: the caller guarantees `chain` points at `n` slices.
        let slices = require!(unsafe { ffi::try_array(chain, n) });
        // SAFETY: the caller guarantees each slice's bytes are readable for the call.
        match unsafe { check_chain(d, slices, now_unix_secs) } {
            None => gw_result::NullParameter,
            Some(Ok(())) => gw_result::Ok,
            // SAFETY: the caller guarantees `error_out` is NULL or writable.
            Some(Err(e)) => unsafe { e.report(error_out) },
        }
    })
}

/// The verification behind `gw_decision_verify_backend_chain`: `None` for a NULL certificate
/// (reported as `GW_RESULT_NULL_PARAMETER` without an error), else the verdict, a refusal being
/// the error to report.
///
/// # Safety
/// Each slice's bytes are readable for the call.
unsafe fn check_chain(
    d: &Parts<'_>,
    slices: &[gw_slice],
    now_unix_secs: u64,
) -> Option<Result<(), Error>> {
    let Some(settings) = settings(d) else {
        return Some(Err(Error::new(
            gw_result::NotApplicable,
            "the decision has no backend TLS (not a forward, or a plaintext backend)",
        )));
    };
    if slices.len() > GW_MAX_BACKEND_CHAIN {
        return Some(Err(Error::new(
            gw_result::CertificateInvalid,
            format!(
                "a chain of {} certificates is longer than {GW_MAX_BACKEND_CHAIN}",
                slices.len()
            ),
        )));
    }
    let mut certs = Vec::with_capacity(slices.len());
    for s in slices {
        // SAFETY: the caller guarantees each slice's bytes are readable for the call.
        certs.push(CertificateDer::from(unsafe { ffi::try_bytes(*s) }?));
    }
    let now = UnixTime::since_unix_epoch(Duration::from_secs(now_unix_secs));
    Some(match verify(settings, &certs, now) {
        Verdict::Valid => Ok(()),
        Verdict::Invalid(reason) => Err(Error::new(code(&reason), reason.to_string())),
        other => Err(Error::new(gw_result::CertificateInvalid, other.to_string())),
    })
}

/// The `GW_RESULT_CERTIFICATE_*` number of a refused chain's reason.
pub(crate) fn code(reason: &Reason) -> gw_result {
    match reason {
        Reason::NoCertificate => gw_result::CertificateMissing,
        Reason::BadEncoding => gw_result::CertificateBadEncoding,
        Reason::UnknownIssuer => gw_result::CertificateUnknownIssuer,
        Reason::Expired => gw_result::CertificateExpired,
        Reason::NotYetValid => gw_result::CertificateNotYetValid,
        Reason::BadSignature => gw_result::CertificateBadSignature,
        Reason::UnsupportedSignatureAlgorithm => gw_result::CertificateUnsupportedAlgorithm,
        Reason::WrongUsage => gw_result::CertificateWrongUsage,
        Reason::SanMismatch => gw_result::CertificateNameMismatch,
        Reason::PolicyInvalid(_) => gw_result::TlsPolicyInvalid,
        _ => gw_result::CertificateInvalid,
    }
}
