//! Everything in this crate that weakens a TLS check, in one place (as rustls keeps its own in
//! `client::danger`).
//!
//! There is one such thing: GEP-91 `AllowInsecureFallback`. Gateway API: "the gateway will
//! accept connections even if the client certificate is not presented or fails verification.
//! This approach delegates client authorization to the backend and introduce a significant
//! security risk." A port in that mode lets a client with an absent or invalid certificate
//! complete the handshake. What stays checked: the handshake signature of a presented
//! certificate (so it is the client's own) and everything [`PortTls::client_auth`] reports,
//! which is [`ClientAuth::Unverified`] with the reason for such a client, never `Verified`.
//! Hosts must pass that state on (and the Gateway reports `InsecureFrontendValidationMode`).
//!
//! [`PortTls::client_auth`]: super::PortTls::client_auth
//! [`ClientAuth::Unverified`]: super::ClientAuth::Unverified

use rustls::server::danger::ClientCertVerified;

/// Lets a client whose certificate did not verify complete the handshake
/// (`AllowInsecureFallback` only; the caller has already decided the mode allows it).
pub(crate) fn admit_unverified_client() -> ClientCertVerified {
    ClientCertVerified::assertion()
}
