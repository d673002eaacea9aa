//! Reading certificates and keys out of the snapshot's Secrets and ConfigMaps: one parse for
//! the status a controller writes and for the TLS settings the data plane verifies with.
//!
//! A CA bundle or certificate Secret that this module refuses is reported as an invalid
//! reference in status (`ResolvedRefs=False` with the reason), and the same refusal makes the
//! TLS settings fail closed (`tls::Trust::Invalid`). So status never says "resolved" for a
//! configuration that refuses every connection.
//!
//! With the `tls` cargo feature, each certificate of a CA bundle must also be usable as a
//! trust anchor, as the verifier needs it to be; without it (the WebAssembly build, which
//! verifies nothing) the check stops at the PEM structure.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::api::{Resource, Secret, Snapshot};

/// Every certificate of the `ca.crt` bundle of a ConfigMap or Secret in `namespace`.
///
/// # Errors
/// A lowercase description naming the object: missing, no `ca.crt`, not base64, malformed
/// PEM, no certificate in it, or (with the `tls` feature) a certificate that cannot be a trust
/// anchor.
pub(crate) fn ca_bundle(
    snapshot: &Snapshot,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let what = format!("{kind} {namespace}/{name}");
    let bytes = match kind {
        "ConfigMap" => {
            let map = snapshot
                .resources()
                .find_map(|r| match r {
                    Resource::ConfigMap(m)
                        if m.metadata.name == name
                            && m.metadata.namespace_or_default() == namespace =>
                    {
                        Some(m)
                    }
                    _ => None,
                })
                .ok_or_else(|| format!("{what} does not exist"))?;
            match (map.data.get("ca.crt"), map.binary_data.get("ca.crt")) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(b64)) => crate::base64_decode(b64)
                    .ok_or_else(|| format!("{what}: binaryData ca.crt is not base64"))?,
                (None, None) => return Err(format!("{what} has no ca.crt")),
            }
        }
        "Secret" => {
            let secret = find_secret(snapshot, namespace, name)
                .ok_or_else(|| format!("{what} does not exist"))?;
            secret_value(secret, "ca.crt")
                .map_err(|e| format!("{what}: {e}"))?
                .ok_or_else(|| format!("{what} has no ca.crt"))?
        }
        other => return Err(format!("kind {other} cannot hold a CA certificate")),
    };
    let certs = parse_certificates(&bytes).map_err(|e| format!("{what}: ca.crt {e}"))?;
    #[cfg(feature = "tls")]
    for (i, cert) in certs.iter().enumerate() {
        webpki::anchor_from_trusted_cert(cert).map_err(|e| {
            format!("{what}: ca.crt certificate {i} cannot be a trust anchor ({e})")
        })?;
    }
    Ok(certs)
}

/// A `kubernetes.io/tls`-style Secret's `tls.crt` chain and `tls.key` private key.
///
/// # Errors
/// A lowercase description naming the Secret and what is wrong with it.
pub(crate) fn key_pair(
    snapshot: &Snapshot,
    namespace: &str,
    name: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let what = format!("Secret {namespace}/{name}");
    let secret =
        find_secret(snapshot, namespace, name).ok_or_else(|| format!("{what} does not exist"))?;
    let chain = secret_value(secret, "tls.crt")
        .map_err(|e| format!("{what}: {e}"))?
        .ok_or_else(|| format!("{what} has no tls.crt"))?;
    let chain = parse_certificates(&chain).map_err(|e| format!("{what}: tls.crt {e}"))?;
    let key = secret_value(secret, "tls.key")
        .map_err(|e| format!("{what}: {e}"))?
        .ok_or_else(|| format!("{what} has no tls.key"))?;
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|e| format!("{what}: tls.key holds no usable PEM private key ({e})"))?;
    Ok((chain, key))
}

/// Every `CERTIFICATE` block of a PEM text (other blocks are skipped).
///
/// # Errors
/// `"is not valid PEM (...)"` or `"holds no certificate"`.
pub(crate) fn parse_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not valid PEM ({e})"))?;
    if certs.is_empty() {
        return Err("holds no certificate".to_owned());
    }
    Ok(certs)
}

fn find_secret<'s>(snapshot: &'s Snapshot, namespace: &str, name: &str) -> Option<&'s Secret> {
    snapshot.resources().find_map(|r| match r {
        Resource::Secret(s)
            if s.metadata.name == name && s.metadata.namespace_or_default() == namespace =>
        {
            Some(s)
        }
        _ => None,
    })
}

/// A Secret value: `stringData` wins over `data`, as the API server merges them.
fn secret_value(secret: &Secret, key: &str) -> Result<Option<Vec<u8>>, String> {
    if let Some(text) = secret.string_data.get(key) {
        return Ok(Some(text.as_bytes().to_vec()));
    }
    match secret.data.get(key) {
        Some(b64) => crate::base64_decode(b64)
            .map(Some)
            .ok_or_else(|| format!("data {key} is not base64")),
        None => Ok(None),
    }
}
