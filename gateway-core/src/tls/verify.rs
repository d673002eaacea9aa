//! Certificate verification for hosts on any TLS stack: chain building, validity and
//! signatures by webpki, then the policy's identities (see the module docs of [`crate::tls`]).

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, TrustAnchor};
use rustls_pki_types::{UnixTime, pem::PemObject};
use webpki::{EndEntityCert, KeyUsage};

use super::backend::{BackendTls, Identity, Trust};
use super::verdict::{Reason, Verdict};
use super::{ClientValidation, TlsError};

/// Verifies a backend's certificate chain (end entity first, then intermediates as sent)
/// against the settings at time `now`, with the bundled roots for `System` trust.
///
/// Never fails open: [`Trust::Invalid`] settings, an empty chain or a chain webpki refuses
/// give [`Verdict::Invalid`] with the reason.
///
/// # Examples
/// ```
/// use gateway_core::tls::{BackendTls, Reason, Verdict, verify};
/// use rustls_pki_types::UnixTime;
/// # fn f(settings: &BackendTls) {
/// let verdict = verify(settings, &[], UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)));
/// assert_eq!(verdict, Verdict::Invalid(Reason::NoCertificate));
/// # }
/// ```
pub fn verify(settings: &BackendTls, chain: &[CertificateDer<'_>], now: UnixTime) -> Verdict {
    verify_with_roots(settings, chain, now, &SystemRoots::bundled())
}

/// [`verify`], with the embedder's roots standing for `wellKnownCACertificates: System`.
///
/// # Examples
/// ```
/// use gateway_core::tls::{BackendTls, SystemRoots, verify_with_roots};
/// # use rustls_pki_types::{CertificateDer, UnixTime};
/// # fn f(settings: &BackendTls, chain: &[CertificateDer<'_>], now: UnixTime, pem: &[u8]) {
/// let roots = SystemRoots::from_pem(pem).unwrap();
/// let verdict = verify_with_roots(settings, chain, now, &roots);
/// # }
/// ```
pub fn verify_with_roots(
    settings: &BackendTls,
    chain: &[CertificateDer<'_>],
    now: UnixTime,
    roots: &SystemRoots,
) -> Verdict {
    let Some((end_entity, intermediates)) = chain.split_first() else {
        return Verdict::Invalid(Reason::NoCertificate);
    };
    verify_server(
        settings,
        end_entity,
        intermediates,
        now,
        roots,
        webpki::ALL_VERIFICATION_ALGS,
    )
}

/// Verifies a client's certificate chain against a port's frontend validation: it must lead to
/// one of the port's CAs and allow clientAuth. No name is checked (GEP-91 names none).
///
/// The verdict does not depend on the mode: `AllowInsecureFallback` admits an invalid chain,
/// but it is still reported invalid here.
///
/// # Examples
/// ```
/// use gateway_core::tls::{ClientValidation, Reason, Verdict, verify_client};
/// # use rustls_pki_types::UnixTime;
/// # fn f(validation: &ClientValidation, now: UnixTime) {
/// assert_eq!(verify_client(validation, &[], now), Verdict::Invalid(Reason::NoCertificate));
/// # }
/// ```
pub fn verify_client(
    validation: &ClientValidation,
    chain: &[CertificateDer<'_>],
    now: UnixTime,
) -> Verdict {
    let Some((end_entity, intermediates)) = chain.split_first() else {
        return Verdict::Invalid(Reason::NoCertificate);
    };
    verify_client_parts(
        &validation.trust,
        end_entity,
        intermediates,
        now,
        webpki::ALL_VERIFICATION_ALGS,
    )
}

/// The roots that stand for `wellKnownCACertificates: System`.
///
/// # Examples
/// ```
/// use gateway_core::tls::SystemRoots;
/// assert!(SystemRoots::bundled().len() > 100);
/// assert!(SystemRoots::from_pem(b"not pem").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct SystemRoots {
    anchors: Anchors,
}

#[derive(Clone, Debug)]
enum Anchors {
    Bundled(&'static [TrustAnchor<'static>]),
    Custom(Arc<[TrustAnchor<'static>]>),
}

impl SystemRoots {
    /// Mozilla's root program, as bundled by the `webpki-roots` crate (no I/O).
    pub fn bundled() -> Self {
        Self {
            anchors: Anchors::Bundled(webpki_roots::TLS_SERVER_ROOTS),
        }
    }

    /// The embedder's own roots, e.g. read from the system store by the host.
    ///
    /// # Errors
    /// [`TlsError::Roots`] when a certificate cannot be a trust anchor, or none is given.
    pub fn from_certificates(certs: &[CertificateDer<'_>]) -> Result<Self, TlsError> {
        if certs.is_empty() {
            return Err(TlsError::Roots("no certificate given".to_owned()));
        }
        let anchors = certs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                webpki::anchor_from_trusted_cert(c)
                    .map(|a| a.to_owned())
                    .map_err(|e| TlsError::Roots(format!("certificate {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            anchors: Anchors::Custom(anchors.into()),
        })
    }

    /// The embedder's own roots from a PEM bundle.
    ///
    /// # Errors
    /// [`TlsError::Roots`] for malformed PEM, no certificate, or an unusable certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Roots(format!("not valid PEM ({e})")))?;
        Self::from_certificates(&certs)
    }

    /// How many roots there are.
    pub fn len(&self) -> usize {
        self.anchors().len()
    }

    /// Whether there are none (never, for roots built by this type).
    pub fn is_empty(&self) -> bool {
        self.anchors().is_empty()
    }

    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        match &self.anchors {
            Anchors::Bundled(a) => a,
            Anchors::Custom(a) => a,
        }
    }
}

impl Default for SystemRoots {
    fn default() -> Self {
        Self::bundled()
    }
}

/// The backend rules: trust, then webpki path validation for serverAuth, then identities.
pub(crate) fn verify_server(
    settings: &BackendTls,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    roots: &SystemRoots,
    algs: &[&dyn SignatureVerificationAlgorithm],
) -> Verdict {
    let owned;
    let anchors: &[TrustAnchor<'_>] = match &settings.trust {
        Trust::Invalid(why) => return Verdict::Invalid(Reason::PolicyInvalid(why.clone())),
        Trust::System => roots.anchors(),
        Trust::Bundles(certs) => match bundle_anchors(certs) {
            Ok(a) => {
                owned = a;
                &owned
            }
            Err(reason) => return Verdict::Invalid(reason),
        },
    };
    if settings.identities.is_empty() {
        return Verdict::Invalid(Reason::PolicyInvalid("no identity to check".to_owned()));
    }
    let cert = match EndEntityCert::try_from(end_entity) {
        Ok(cert) => cert,
        Err(e) => return Verdict::Invalid(reason(&e)),
    };
    if let Err(e) = cert.verify_for_usage(
        algs,
        anchors,
        intermediates,
        now,
        KeyUsage::server_auth(),
        None,
        None,
    ) {
        return Verdict::Invalid(reason(&e));
    }
    if settings
        .identities
        .iter()
        .any(|id| identity_matches(&cert, id))
    {
        Verdict::Valid
    } else {
        Verdict::Invalid(Reason::SanMismatch)
    }
}

/// The frontend rules: the port's CAs and webpki path validation for clientAuth.
pub(crate) fn verify_client_parts(
    trust: &Trust,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    algs: &[&dyn SignatureVerificationAlgorithm],
) -> Verdict {
    let anchors = match trust {
        Trust::Bundles(certs) => match bundle_anchors(certs) {
            Ok(a) => a,
            Err(reason) => return Verdict::Invalid(reason),
        },
        Trust::Invalid(why) => return Verdict::Invalid(Reason::PolicyInvalid(why.clone())),
        // Client CAs always come from references; public roots never authenticate clients.
        Trust::System => {
            return Verdict::Invalid(Reason::PolicyInvalid(
                "public roots cannot authenticate clients".to_owned(),
            ));
        }
    };
    let cert = match EndEntityCert::try_from(end_entity) {
        Ok(cert) => cert,
        Err(e) => return Verdict::Invalid(reason(&e)),
    };
    match cert.verify_for_usage(
        algs,
        &anchors,
        intermediates,
        now,
        KeyUsage::client_auth(),
        None,
        None,
    ) {
        Ok(_) => Verdict::Valid,
        Err(e) => Verdict::Invalid(reason(&e)),
    }
}

/// Trust anchors from CA certificates; one that is not a certificate spoils the bundle.
pub(crate) fn bundle_anchors<'c>(
    certs: &'c [CertificateDer<'_>],
) -> Result<Vec<TrustAnchor<'c>>, Reason> {
    if certs.is_empty() {
        return Err(Reason::PolicyInvalid("no CA certificate".to_owned()));
    }
    certs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            webpki::anchor_from_trusted_cert(c).map_err(|e| {
                Reason::PolicyInvalid(format!("CA certificate {i} is not usable: {e}"))
            })
        })
        .collect()
}

fn identity_matches(cert: &EndEntityCert<'_>, identity: &Identity) -> bool {
    match identity {
        Identity::Hostname(name) => cert
            .verify_is_valid_for_subject_name(&ServerName::DnsName(name.clone()))
            .is_ok(),
        Identity::WildcardHostname(parent) => cert
            .valid_dns_names()
            .any(|presented| wildcard_matches(parent.as_ref(), presented)),
        Identity::Uri(uri) => cert.valid_uri_names().any(|presented| presented == uri),
    }
}

/// RFC 6125 §6.4.3, for a policy SAN `*.<parent>`: the presented DNS name is one non-empty,
/// wildcard-free label followed by `<parent>`, or is itself exactly `*.<parent>`. ASCII case
/// is ignored, as in DNS.
pub(crate) fn wildcard_matches(parent: &str, presented: &str) -> bool {
    let Some((label, rest)) = presented.split_once('.') else {
        return false;
    };
    if !rest.eq_ignore_ascii_case(parent) {
        return false;
    }
    label == "*" || (!label.is_empty() && !label.contains('*'))
}

/// webpki's error as a [`Reason`].
pub(crate) fn reason(e: &webpki::Error) -> Reason {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => Reason::UnknownIssuer,
        E::CertExpired { .. } => Reason::Expired,
        E::CertNotValidYet { .. } => Reason::NotYetValid,
        E::InvalidSignatureForPublicKey => Reason::BadSignature,
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::SignatureAlgorithmMismatch => Reason::UnsupportedSignatureAlgorithm,
        E::RequiredEkuNotFoundContext(_) => Reason::WrongUsage,
        E::BadDer
        | E::BadDerTime
        | E::TrailingData(_)
        | E::MalformedExtensions
        | E::ExtensionValueInvalid
        | E::InvalidSerialNumber
        | E::UnsupportedCertVersion
        | E::InvalidCertValidity => Reason::BadEncoding,
        other => Reason::InvalidChain(other.to_string()),
    }
}
