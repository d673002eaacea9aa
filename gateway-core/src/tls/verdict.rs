//! The outcome of verifying a certificate chain.

use std::fmt;

/// Whether a peer's certificate chain is acceptable, and if not, why.
///
/// # Examples
/// ```
/// use gateway_core::tls::{Reason, Verdict};
/// let verdict = Verdict::Invalid(Reason::Expired);
/// assert!(!verdict.is_valid());
/// assert_eq!(verdict.to_string(), "invalid: the certificate has expired");
/// ```
#[must_use = "a verdict that is not checked accepts nothing and refuses nothing"]
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The chain is trusted and carries an identity the settings ask for.
    Valid,
    /// The chain must be refused.
    Invalid(Reason),
}

impl Verdict {
    /// Whether the chain is acceptable.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::Invalid(reason) => write!(f, "invalid: {reason}"),
        }
    }
}

/// Why a certificate chain was refused.
///
/// # Examples
/// ```
/// use gateway_core::tls::Reason;
/// assert_eq!(Reason::SanMismatch.to_string(), "the certificate carries none of the required names");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The peer sent no certificate.
    NoCertificate,
    /// A certificate is not valid DER X.509.
    BadEncoding,
    /// The chain does not lead to a trusted CA.
    UnknownIssuer,
    /// The end-entity certificate (or one on the path) is past its notAfter time.
    Expired,
    /// The end-entity certificate (or one on the path) is before its notBefore time.
    NotYetValid,
    /// A signature on the chain does not verify.
    BadSignature,
    /// A signature algorithm on the chain is not supported.
    UnsupportedSignatureAlgorithm,
    /// The certificate's extended key usage does not allow this use (serverAuth for backends,
    /// clientAuth for clients).
    WrongUsage,
    /// The chain is trusted but carries none of the identities the policy asks for.
    SanMismatch,
    /// The chain breaks another X.509 rule (name or path-length constraints, a CA certificate
    /// used as end entity, ...); webpki's description.
    InvalidChain(String),
    /// The settings cannot authenticate anything (unusable CA references, a malformed identity):
    /// every chain is refused.
    PolicyInvalid(String),
}

impl Reason {
    /// The stable lower-case name of the reason (the JSON interface's verdict `reason`); the
    /// [`Display`](fmt::Display) text adds the detail and may change.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::tls::Reason;
    /// assert_eq!(Reason::UnknownIssuer.as_str(), "unknown_issuer");
    /// assert_eq!(Reason::PolicyInvalid("no CA".into()).as_str(), "policy_invalid");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NoCertificate => "no_certificate",
            Self::BadEncoding => "bad_encoding",
            Self::UnknownIssuer => "unknown_issuer",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadSignature => "bad_signature",
            Self::UnsupportedSignatureAlgorithm => "unsupported_signature_algorithm",
            Self::WrongUsage => "wrong_usage",
            Self::SanMismatch => "san_mismatch",
            Self::InvalidChain(_) => "invalid_chain",
            Self::PolicyInvalid(_) => "policy_invalid",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCertificate => f.write_str("no certificate was presented"),
            Self::BadEncoding => f.write_str("a certificate is not valid DER"),
            Self::UnknownIssuer => f.write_str("the chain does not lead to a trusted CA"),
            Self::Expired => f.write_str("the certificate has expired"),
            Self::NotYetValid => f.write_str("the certificate is not valid yet"),
            Self::BadSignature => f.write_str("a signature on the chain does not verify"),
            Self::UnsupportedSignatureAlgorithm => {
                f.write_str("a signature algorithm on the chain is not supported")
            }
            Self::WrongUsage => {
                f.write_str("the certificate's extended key usage does not allow this use")
            }
            Self::SanMismatch => f.write_str("the certificate carries none of the required names"),
            Self::InvalidChain(why) => write!(f, "invalid chain: {why}"),
            Self::PolicyInvalid(why) => write!(f, "the TLS settings are unusable: {why}"),
        }
    }
}

impl std::error::Error for Reason {}
