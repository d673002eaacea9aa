//! The three TLS decisions of Gateway API v1.4: how to verify a backend (BackendTLSPolicy), how
//! to verify clients per port (Gateway `spec.tls.frontend`, GEP-91), and when a request on a
//! TLS connection belongs to another listener (421, GEP-3567).
//!
//! Nothing here does I/O: certificates come from the [`Config`](crate::attach::Config)'s
//! Secrets and ConfigMaps, peer chains and the current time are arguments.
//!
//! ```text
//! Config ──BackendTls::for_backend──▶ BackendTls ──verify(chain, now)──▶ Verdict
//!                                          └──client_config──▶ rustls::ClientConfig
//! Config ──FrontendTls::for_gateway──▶ FrontendTls ─port──▶ PortTls ──server_config──▶ ServerConfig
//! PortTls + ConnectionInfo + authority ──coalescing_check──▶ Coalescing (allow / 421 / 404)
//! FrontendTls + port, SNI, ClientAuth + authority ──FrontendTls::coalescing_check──▶ Coalescing
//! FrontendTls + Handshake (port, SNI, client chain, resumed from) + authority
//!                                   ──FrontendTls::session_check──▶ SessionCheck
//! ```
//!
//! # The `tls` feature
//! Settings ([`BackendTls`], [`FrontendTls`] and everything they hold) are resolved and
//! reported with or without the default-on `tls` cargo feature. Verification (`verify`, the
//! rustls verifiers and configurations, `SystemRoots`, `danger`, and the client-certificate half
//! of [`FrontendTls::session_check`]) needs it: it uses rustls with the `ring` provider and
//! rustls-webpki. `ring` 0.17 builds for `wasm32-unknown-unknown` when its C and assembly parts
//! are compiled by clang (`CC_wasm32_unknown_unknown=clang`, `AR_wasm32_unknown_unknown=llvm-ar`;
//! gcc cannot target wasm32), with its `wasm32_unknown_unknown_js` feature (randomness from
//! JavaScript) and rustls-pki-types' `web` feature (the clock rustls reads): the JS package of
//! `gateway-wasm` turns them on and verifies as native builds do. The proxy-wasm filter, whose
//! host has no JavaScript, builds without the feature: it reports the settings, the JSON
//! verdicts say `unavailable`, and verification is left to its host.
//!
//! # Backend certificate rules (`verify`)
//! 1. Trust: the PEM bundles of `caCertificateRefs` (ConfigMap or Secret `ca.crt`, every
//!    certificate of every bundle), or for `wellKnownCACertificates: System` a bundled root set
//!    (`SystemRoots::bundled`, Mozilla's, from `webpki-roots`; no I/O), which the embedder
//!    may replace (`verify_with_roots`). A policy whose refs are unusable (wrong kind,
//!    missing, malformed PEM, no certificate), or that names a malformed identity, resolves to
//!    [`Trust::Invalid`] and every verification fails: BackendTLSPolicy "Connections using an
//!    invalid CACertificateRef MUST fail". There is no fallback to weaker checks.
//! 2. Chain building, validity period, signatures and key usage (serverAuth) are webpki's.
//! 3. Identity: `subjectAltNames` when present, and then the `hostname` is NOT used for
//!    authentication (BackendTLSPolicy: "If SubjectAltNames are specified, Hostname can be used
//!    for certificate selection but MUST NOT be used for authentication"); otherwise the
//!    hostname. One matching identity is enough.
//!    - A hostname without `*` is checked by webpki against the certificate's DNS names (so a
//!      certificate's `*.example.com` covers `a.example.com`, as in any TLS client).
//!    - A policy SAN `*.example.com` matches a certificate DNS name with exactly one more label
//!      (`a.example.com`, never `a.b.example.com` nor `example.com`; RFC 6125 §6.4.3). This is
//!      the only name comparison written here. A certificate's own wildcard name matches only
//!      the identical policy SAN (`*.example.com`), compared as a string (ASCII case ignored,
//!      as in DNS). A policy wildcard must leave at least two labels (`*.com` is refused).
//!    - A URI SAN (a SPIFFE ID, say) matches a certificate URI name byte for byte.
//!    - The Gateway API hostname matcher (suffix wildcards over several labels) is never used
//!      for certificate names (SECURITY.md rule 8).
//!
//! # Frontend rules ([`FrontendTls`])
//! Per port, `perPort` overrides `default`. `AllowValidOnly` requires a client certificate
//! that chains to the port's CAs; `AllowInsecureFallback` admits every client and reports it
//! [`ClientAuth::Unverified`] (see `danger`). Every port gets its own rustls `ServerConfig`
//! with its own session cache and ticket keys, so a session from one port never resumes on
//! another (nginx CVE-2025-23419).
//!
//! # The coalescing guard ([`coalescing_check`])
//! Gateway API Listener `hostname`: "If another Listener has an exact match or more specific
//! wildcard entry, the Gateway SHOULD return a 421. If the current Listener (selected by SNI
//! matching during ClientHello) does not match the Host: If another Listener does match the
//! Host, the Gateway SHOULD return a 421. If no other Listener matches the Host, the Gateway
//! MUST return a 404."

mod backend;
mod coalesce;
#[cfg(feature = "tls")]
pub mod danger;
mod error;
mod frontend;
mod refs;
mod session;
mod verdict;
#[cfg(feature = "tls")]
mod verifier;
#[cfg(feature = "tls")]
mod verify;

pub(crate) use backend::targeted_services;
pub use backend::{BackendTls, ClientCertificate, Credential, Identity, Trust};
pub use coalesce::{Coalescing, ConnectionInfo, coalescing_check};
pub use error::TlsError;
pub use frontend::{
    ClientAuth, ClientValidation, FrontendTls, ListenerTls, PortTls, ServerCertificate,
    ValidationMode,
};
pub use session::{Handshake, SessionCheck};
pub use verdict::{Reason, Verdict};
#[cfg(feature = "tls")]
pub use verifier::{BackendVerifier, ClientVerifier, ListenerCertResolver};
#[cfg(feature = "tls")]
pub use verify::{SystemRoots, verify, verify_client, verify_with_roots};

#[cfg(test)]
mod tests;
