//! Result codes and error details.

use gateway_core::api::{Diagnostic, LoadError};
use gateway_core::route::BuildError;

use crate::ffi::{self, BoxCastable, Castable, ffi_boundary, require};
use crate::gw_slice;

/// What a fallible function did. Numbers are stable: a retired number stays here as a comment
/// and is never reused. Blocks: 0 success; 1xx bad arguments; 2xx bad configuration; 3xx
/// policy (a backend certificate chain refused); 9xx internal.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new codes are new numbers, C sees a uint32_t
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_result {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL, or a NULL pointer came with a non-zero length.
    NullParameter = 100,
    /// A name or other text argument is not UTF-8.
    InvalidUtf8 = 101,
    /// The caller's buffer is too small (nothing was written).
    BufferTooSmall = 102,
    /// An index is out of range.
    OutOfRange = 103,
    /// The call does not apply to this decision's outcome (e.g. feeding an auth answer to a
    /// decision that is not `GW_OUTCOME_AUTHORIZE`, or verifying a backend chain for a decision
    /// without backend TLS).
    NotApplicable = 104,
    /// The manifests could not be read or hold invalid resources (details in the `gw_error`).
    InvalidConfig = 200,
    /// No Gateway of ours has the namespace and name asked for.
    UnknownGateway = 201,
    /// No Gateway name was given and the configuration has no Gateway, or several.
    AmbiguousGateway = 202,
    /// The peer sent no certificate (an empty chain).
    CertificateMissing = 300,
    /// A certificate is not valid DER X.509.
    CertificateBadEncoding = 301,
    /// The chain does not lead to a CA the BackendTLSPolicy trusts.
    CertificateUnknownIssuer = 302,
    /// A certificate on the chain has expired.
    CertificateExpired = 303,
    /// A certificate on the chain is not valid yet.
    CertificateNotYetValid = 304,
    /// A signature on the chain does not verify.
    CertificateBadSignature = 305,
    /// A signature algorithm on the chain is not supported.
    CertificateUnsupportedAlgorithm = 306,
    /// The certificate's extended key usage does not allow serverAuth.
    CertificateWrongUsage = 307,
    /// The chain is trusted but carries none of the names (subjectAltNames or hostname) the
    /// policy asks for.
    CertificateNameMismatch = 308,
    /// The chain breaks another X.509 rule, or is too long (details in the `gw_error`).
    CertificateInvalid = 309,
    /// The TLS settings cannot authenticate anything: every chain is refused.
    TlsPolicyInvalid = 310,
    /// A panic inside the library was caught at the boundary (a bug: please report it).
    Panic = 900,
    /// An internal error that is not a panic (a bug: please report it).
    Internal = 901,
}

impl gw_result {
    /// The text [`gw_result_describe`] copies out.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ok => "success",
            Self::NullParameter => "a required pointer argument was NULL",
            Self::InvalidUtf8 => "a text argument is not valid UTF-8",
            Self::BufferTooSmall => "the buffer is too small",
            Self::OutOfRange => "an index is out of range",
            Self::NotApplicable => "the call does not apply to this decision",
            Self::InvalidConfig => "the manifests are invalid",
            Self::UnknownGateway => "no such Gateway in the configuration",
            Self::AmbiguousGateway => "no Gateway name given and not exactly one Gateway",
            Self::CertificateMissing => "no certificate was presented",
            Self::CertificateBadEncoding => "a certificate is not valid DER",
            Self::CertificateUnknownIssuer => "the chain does not lead to a trusted CA",
            Self::CertificateExpired => "a certificate has expired",
            Self::CertificateNotYetValid => "a certificate is not valid yet",
            Self::CertificateBadSignature => "a signature on the chain does not verify",
            Self::CertificateUnsupportedAlgorithm => "a signature algorithm is not supported",
            Self::CertificateWrongUsage => "the certificate does not allow serverAuth",
            Self::CertificateNameMismatch => "the certificate carries none of the required names",
            Self::CertificateInvalid => "the certificate chain is invalid",
            Self::TlsPolicyInvalid => "the TLS settings cannot verify anything",
            Self::Panic => "a panic was caught at the C boundary",
            Self::Internal => "internal error",
        }
    }
}

/// Copies the description of `code` (UTF-8, no NUL) into `buf` and its length into `*len_out`.
/// 64 bytes always suffice. An unknown code is described as such.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER` for a NULL `len_out` (or NULL `buf` with `len` > 0);
/// `GW_RESULT_BUFFER_TOO_SMALL` when the text does not fit (nothing is written).
///
/// # Safety
/// `buf` is writable for `len` bytes; `len_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_result_describe(
    code: u32,
    buf: *mut u8,
    len: usize,
    len_out: *mut usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        if len_out.is_null() || (buf.is_null() && len > 0) {
            return gw_result::NullParameter;
        }
        let text = describe_code(code);
        if text.len() > len {
            return gw_result::BufferTooSmall;
        }
        // SAFETY: `buf` is writable for `len >= text.len()` bytes (checked non-NULL when
        // `len > 0`; a zero-length copy never happens because every text is non-empty) and
        // cannot overlap a static string.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf, text.len()) };
        // SAFETY: `len_out` was checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(len_out, text.len()) };
        gw_result::Ok
    })
}

fn describe_code(code: u32) -> &'static str {
    const ALL: [gw_result; 22] = [
        gw_result::Ok,
        gw_result::NullParameter,
        gw_result::InvalidUtf8,
        gw_result::BufferTooSmall,
        gw_result::OutOfRange,
        gw_result::NotApplicable,
        gw_result::InvalidConfig,
        gw_result::UnknownGateway,
        gw_result::AmbiguousGateway,
        gw_result::CertificateMissing,
        gw_result::CertificateBadEncoding,
        gw_result::CertificateUnknownIssuer,
        gw_result::CertificateExpired,
        gw_result::CertificateNotYetValid,
        gw_result::CertificateBadSignature,
        gw_result::CertificateUnsupportedAlgorithm,
        gw_result::CertificateWrongUsage,
        gw_result::CertificateNameMismatch,
        gw_result::CertificateInvalid,
        gw_result::TlsPolicyInvalid,
        gw_result::Panic,
        gw_result::Internal,
    ];
    ALL.iter()
        .find(|r| **r as u32 == code)
        .map_or("unknown result code", |r| r.describe())
}

/// Details of one failed call: its code, a message, and for invalid manifests one diagnostic
/// per finding (resource, JSON path of the field, reason). Free with `gw_error_free`.
pub struct gw_error {
    _private: [u8; 0],
}

/// The Rust side of [`gw_error`].
#[derive(Debug)]
pub struct Error {
    code: gw_result,
    message: String,
    diagnostics: Vec<Diagnostic>,
}

impl Castable for gw_error {
    type Rust = Error;
}
impl BoxCastable for gw_error {}

impl Error {
    pub(crate) fn new(code: gw_result, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn load(e: LoadError) -> Self {
        Self {
            code: gw_result::InvalidConfig,
            message: e.to_string(),
            diagnostics: e.diagnostics,
        }
    }

    pub(crate) fn build(e: &BuildError) -> Self {
        let code = match e {
            BuildError::UnknownGateway { .. } => gw_result::UnknownGateway,
            BuildError::AmbiguousGateway { .. } => gw_result::AmbiguousGateway,
            _ => gw_result::InvalidConfig,
        };
        Self::new(code, e.to_string())
    }

    /// Its code.
    pub fn code(&self) -> gw_result {
        self.code
    }

    /// Writes this error to `error_out` (when not NULL) and returns its code.
    ///
    /// # Safety
    /// `error_out` is NULL or writable.
    pub(crate) unsafe fn report(self, error_out: *mut *mut gw_error) -> gw_result {
        let code = self.code;
        if !error_out.is_null() {
            // SAFETY: checked non-NULL; the caller guarantees it is writable.
            unsafe { ffi::write_out(error_out, ffi::to_boxed_mut_ptr::<gw_error>(self)) };
        }
        code
    }
}

/// One finding about the manifests. Every string is UTF-8 and lives as long as the error;
/// absent parts are NULL slices.
#[repr(C)]
#[allow(clippy::exhaustive_structs)]
#[derive(Clone, Copy, Debug)]
pub struct gw_diagnostic {
    /// True for errors, false for warnings.
    pub is_error: bool,
    /// The 0-based document index in the input; -1 for the input as a whole.
    pub document: i64,
    /// The resource kind, e.g. `HTTPRoute` (NULL when unknown).
    pub kind: gw_slice,
    /// Its namespace (NULL when cluster-scoped or unknown).
    pub ns: gw_slice,
    /// Its name (NULL when unknown).
    pub name: gw_slice,
    /// The JSON path of the field, e.g. `spec.rules[2].matches[0].path.value` (empty for the
    /// whole object).
    pub path: gw_slice,
    /// Why, lower case, no trailing period.
    pub message: gw_slice,
}

/// The code of the failed call; `GW_RESULT_NULL_PARAMETER` for a NULL error.
///
/// # Safety
/// `error` is NULL or a live `gw_error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_error_code(error: *const gw_error) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `error` is NULL or live.
        let error = require!(unsafe { ffi::try_ref(error) });
        error.code
    })
}

/// The whole message (UTF-8, one line per finding for invalid manifests); an empty slice for
/// a NULL error. Valid until the error is freed.
///
/// # Safety
/// `error` is NULL or a live `gw_error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_error_message(error: *const gw_error) -> gw_slice {
    ffi_boundary!(gw_slice::NONE, {
        // SAFETY: the caller guarantees `error` is NULL or live.
        let error = require!(unsafe { ffi::try_ref(error) }, gw_slice::NONE);
        gw_slice::from_bytes(error.message.as_bytes())
    })
}

/// How many diagnostics the error holds (0 for errors that are not about the manifests).
///
/// # Safety
/// `error` is NULL or a live `gw_error`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_error_diagnostic_count(error: *const gw_error) -> usize {
    ffi_boundary!(0, {
        // SAFETY: the caller guarantees `error` is NULL or live.
        let error = require!(unsafe { ffi::try_ref(error) }, 0);
        error.diagnostics.len()
    })
}

/// Writes diagnostic `index` to `*out`.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`, `GW_RESULT_OUT_OF_RANGE`.
///
/// # Safety
/// `error` is NULL or a live `gw_error`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_error_diagnostic(
    error: *const gw_error,
    index: usize,
    out: *mut gw_diagnostic,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `error` is NULL or live.
        let error = require!(unsafe { ffi::try_ref(error) });
        if out.is_null() {
            return gw_result::NullParameter;
        }
        let d = require!(error.diagnostics.get(index), gw_result::OutOfRange);
        let resource = d.resource.as_ref();
        let diagnostic = gw_diagnostic {
            is_error: d.is_error(),
            document: d.document.and_then(|i| i64::try_from(i).ok()).unwrap_or(-1),
            kind: gw_slice::from_opt(resource.map(|r| r.kind.as_str())),
            ns: gw_slice::from_opt(resource.and_then(|r| r.namespace.as_deref())),
            name: gw_slice::from_opt(resource.map(|r| r.name.as_str())),
            path: gw_slice::from_bytes(d.path.as_bytes()),
            message: gw_slice::from_bytes(d.message.as_bytes()),
        };
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(out, diagnostic) };
        gw_result::Ok
    })
}

/// Frees an error; NULL is ignored.
///
/// # Safety
/// `error` is NULL or a `gw_error` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_error_free(error: *mut gw_error) {
    ffi_boundary!((), {
        // SAFETY: the caller guarantees `error` is NULL or a live box freed once.
        unsafe { ffi::free_box(error) }
    })
}
