//! Errors of the TLS stage: the caller's configuration could not be turned into a rustls
//! configuration. A rejected certificate is a [`Verdict`](super::Verdict), not an error.

use std::fmt;

/// Why a TLS configuration could not be built.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum TlsError {
    /// The Gateway's `tls.backend.clientCertificateRef` is unusable; connections that would
    /// present it must not be made.
    ClientCertificate(String),
    /// Certificates given as trusted roots are not usable.
    Roots(String),
    /// rustls refused the configuration.
    #[cfg(feature = "tls")]
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCertificate(why) => write!(f, "unusable client certificate: {why}"),
            Self::Roots(why) => write!(f, "unusable trusted roots: {why}"),
            #[cfg(feature = "tls")]
            Self::Rustls(e) => write!(f, "rustls configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

#[cfg(feature = "tls")]
impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        Self::Rustls(e)
    }
}
