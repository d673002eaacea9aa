//! rustls glue: the backend `ServerCertVerifier` and `ClientConfig`, the frontend
//! `ClientCertVerifier`, the SNI certificate resolver and one `ServerConfig` per port.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use rustls::time_provider::TimeProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, OtherError,
    ServerConfig, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::backend::{BackendTls, ClientCertificate, Trust};
use super::frontend::{ClientAuth, ClientValidation, PortTls, ServerCertificate, ValidationMode};
use super::verdict::{Reason, Verdict};
use super::verify::{SystemRoots, bundle_anchors, verify_client_parts, verify_server};
use super::{TlsError, danger};

/// Session-cache entries per port.
const SESSION_CACHE_SIZE: usize = 256;

// === impl BackendTls ===

impl BackendTls {
    /// A rustls client configuration that verifies the backend with these settings
    /// ([`BackendVerifier`]) and presents the Gateway's client certificate, if any.
    ///
    /// Open connections with [`BackendTls::server_name`] (the SNI). `time` is the clock rustls
    /// reads during handshakes; `roots` stand for `wellKnownCACertificates: System`.
    ///
    /// # Errors
    /// [`TlsError::ClientCertificate`] when the client certificate reference is unusable (no
    /// connection may be made), [`TlsError::Rustls`] when rustls refuses the key or the
    /// provider.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use gateway_core::tls::{BackendTls, SystemRoots};
    /// # fn f(tls: &BackendTls, time: Arc<dyn rustls::time_provider::TimeProvider>) {
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = tls.client_config(provider, time, &SystemRoots::bundled());
    /// # }
    /// ```
    pub fn client_config(
        &self,
        provider: Arc<CryptoProvider>,
        time: Arc<dyn TimeProvider>,
        roots: &SystemRoots,
    ) -> Result<ClientConfig, TlsError> {
        let verifier = Arc::new(BackendVerifier::new(
            self.clone(),
            roots.clone(),
            Arc::clone(&provider),
        ));
        let builder = ClientConfig::builder_with_details(provider, time)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        Ok(match &self.client_certificate {
            None => builder.with_no_client_auth(),
            Some(ClientCertificate::Resolved(credential)) => builder
                .with_client_auth_cert(credential.chain.clone(), credential.key.clone_key())?,
            Some(ClientCertificate::Invalid(why)) => {
                return Err(TlsError::ClientCertificate(why.clone()));
            }
        })
    }
}

/// A rustls `ServerCertVerifier` applying a BackendTLSPolicy: the same rules as
/// [`verify`](super::verify) (path building by webpki with the provider's algorithms, then the
/// policy's identities). The name the connection was opened with is not used: the policy's
/// identities are.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use gateway_core::tls::{BackendTls, BackendVerifier, SystemRoots};
/// # fn f(tls: BackendTls) {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let verifier = BackendVerifier::new(tls, SystemRoots::bundled(), provider);
/// # }
/// ```
#[derive(Debug)]
pub struct BackendVerifier {
    settings: BackendTls,
    roots: SystemRoots,
    provider: Arc<CryptoProvider>,
}

impl BackendVerifier {
    /// A verifier for these settings.
    pub fn new(settings: BackendTls, roots: SystemRoots, provider: Arc<CryptoProvider>) -> Self {
        Self {
            settings,
            roots,
            provider,
        }
    }

    /// The settings it applies.
    pub fn settings(&self) -> &BackendTls {
        &self.settings
    }
}

impl ServerCertVerifier for BackendVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match verify_server(
            &self.settings,
            end_entity,
            intermediates,
            now,
            &self.roots,
            self.provider.signature_verification_algorithms.all,
        ) {
            Verdict::Valid => Ok(ServerCertVerified::assertion()),
            Verdict::Invalid(reason) => Err(rustls_error(reason)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

// === impl PortTls ===

impl PortTls {
    /// A rustls server configuration for this port: the listener certificates chosen by SNI
    /// ([`ListenerCertResolver`]), the port's client validation ([`ClientVerifier`]), and a
    /// session cache and ticket key of its own.
    ///
    /// Every call makes a new cache and a new ticketer (ring's, keyed from the provider's
    /// randomness), never shared with another port or another call, so a session established
    /// on one port (or under an earlier configuration) cannot be resumed here (nginx
    /// CVE-2025-23419). Set ALPN and other options on the result before wrapping it in an
    /// `Arc`.
    ///
    /// # Errors
    /// [`TlsError::Rustls`] when rustls refuses the provider or cannot make a ticketer.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// # use gateway_core::tls::PortTls;
    /// # fn f(port: &PortTls, time: Arc<dyn rustls::time_provider::TimeProvider>) {
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let mut config = port.server_config(provider, time).unwrap();
    /// config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    /// # }
    /// ```
    pub fn server_config(
        &self,
        provider: Arc<CryptoProvider>,
        time: Arc<dyn TimeProvider>,
    ) -> Result<ServerConfig, TlsError> {
        let resolver = Arc::new(ListenerCertResolver::new(self, &provider));
        let builder = ServerConfig::builder_with_details(Arc::clone(&provider), time)
            .with_safe_default_protocol_versions()?;
        let builder = match &self.validation {
            None => builder.with_no_client_auth(),
            Some(validation) => builder.with_client_cert_verifier(Arc::new(ClientVerifier::new(
                validation.clone(),
                Arc::clone(&provider),
            ))),
        };
        let mut config = builder.with_cert_resolver(resolver);
        config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_SIZE);
        config.ticketer = rustls::crypto::ring::Ticketer::new()?;
        Ok(config)
    }

    /// What a completed handshake's client certificate proves on this port; pass
    /// `ServerConnection::peer_certificates()`.
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::tls::{ClientAuth, PortTls};
    /// # use rustls_pki_types::UnixTime;
    /// # fn f(port: &PortTls, conn: &rustls::ServerConnection, now: UnixTime) {
    /// let auth = port.client_auth(conn.peer_certificates(), now);
    /// let connection = port.connection(conn.server_name(), auth);
    /// # }
    /// ```
    pub fn client_auth(&self, peer: Option<&[CertificateDer<'_>]>, now: UnixTime) -> ClientAuth {
        let Some(validation) = &self.validation else {
            return ClientAuth::NotRequested;
        };
        match super::verify_client(validation, peer.unwrap_or_default(), now) {
            Verdict::Valid => ClientAuth::Verified,
            Verdict::Invalid(reason) => ClientAuth::Unverified(reason),
        }
    }
}

/// A rustls `ResolvesServerCert` for one port: the certificate of the listener the SNI selects
/// ([`PortTls::listener_for_sni`]). A listener whose certificate is unusable aborts the
/// handshake rather than falling back to another listener's certificate.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use gateway_core::tls::{ListenerCertResolver, PortTls};
/// # fn f(port: &PortTls) {
/// let provider = rustls::crypto::ring::default_provider();
/// let resolver = ListenerCertResolver::new(port, &provider);
/// # }
/// ```
pub struct ListenerCertResolver {
    port: PortTls,
    keys: Vec<Option<Arc<CertifiedKey>>>,
}

impl fmt::Debug for ListenerCertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerCertResolver")
            .field("port", &self.port.port)
            .field("listeners", &self.port.listeners.len())
            .finish()
    }
}

impl ListenerCertResolver {
    /// Loads every listener's key with the provider; a key that does not load, or does not
    /// match its certificate, leaves that listener without certificate.
    pub fn new(port: &PortTls, provider: &CryptoProvider) -> Self {
        let keys = port
            .listeners
            .iter()
            .map(|l| match &l.certificate {
                ServerCertificate::Resolved(c) => {
                    CertifiedKey::from_der(c.chain.clone(), c.key.clone_key(), provider)
                        .ok()
                        .map(Arc::new)
                }
                ServerCertificate::Invalid(_) => None,
            })
            .collect();
        Self {
            port: port.clone(),
            keys,
        }
    }
}

impl ResolvesServerCert for ListenerCertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let listener = self.port.listener_for_sni(client_hello.server_name())?;
        let index = self
            .port
            .listeners
            .iter()
            .position(|l| std::ptr::eq(l, listener))?;
        self.keys.get(index).cloned().flatten()
    }
}

/// A rustls `ClientCertVerifier` for one port's frontend validation: client chains must lead
/// to the port's CAs (webpki, clientAuth). `AllowValidOnly` makes a certificate mandatory and
/// refuses invalid ones in the handshake; `AllowInsecureFallback` admits them (see
/// [`danger`](super::danger)) and [`PortTls::client_auth`] reports them unverified. The
/// handshake signature is always checked, so a presented certificate is the client's own.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use gateway_core::tls::{ClientValidation, ClientVerifier};
/// # fn f(validation: ClientValidation) {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let verifier = ClientVerifier::new(validation, provider);
/// # }
/// ```
#[derive(Debug)]
pub struct ClientVerifier {
    validation: ClientValidation,
    subjects: Vec<DistinguishedName>,
    provider: Arc<CryptoProvider>,
}

impl ClientVerifier {
    /// A verifier for this validation. The CA subjects are sent as hints to clients.
    pub fn new(validation: ClientValidation, provider: Arc<CryptoProvider>) -> Self {
        let subjects = match &validation.trust {
            Trust::Bundles(certs) => bundle_anchors(certs)
                .map(|anchors| {
                    anchors
                        .iter()
                        .map(|a| DistinguishedName::in_sequence(&a.subject))
                        .collect()
                })
                .unwrap_or_default(),
            Trust::System | Trust::Invalid(_) => Vec::new(),
        };
        Self {
            validation,
            subjects,
            provider,
        }
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.validation.mode == ValidationMode::AllowValidOnly
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match verify_client_parts(
            &self.validation.trust,
            end_entity,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        ) {
            Verdict::Valid => Ok(ClientCertVerified::assertion()),
            Verdict::Invalid(reason) => match self.validation.mode {
                ValidationMode::AllowInsecureFallback => Ok(danger::admit_unverified_client()),
                ValidationMode::AllowValidOnly => Err(rustls_error(reason)),
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A [`Reason`] as the rustls error the peer is told about (as an alert).
fn rustls_error(reason: Reason) -> rustls::Error {
    let certificate_error = match reason {
        Reason::NoCertificate => return rustls::Error::NoCertificatesPresented,
        Reason::BadEncoding => CertificateError::BadEncoding,
        Reason::UnknownIssuer => CertificateError::UnknownIssuer,
        Reason::Expired => CertificateError::Expired,
        Reason::NotYetValid => CertificateError::NotValidYet,
        Reason::BadSignature => CertificateError::BadSignature,
        Reason::WrongUsage => CertificateError::InvalidPurpose,
        Reason::SanMismatch => CertificateError::NotValidForName,
        other => CertificateError::Other(OtherError(Arc::new(other))),
    };
    rustls::Error::InvalidCertificate(certificate_error)
}
