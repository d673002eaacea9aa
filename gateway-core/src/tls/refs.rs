//! Reading certificates and keys out of the snapshot's Secrets and ConfigMaps, and the
//! ReferenceGrant check for references that cross namespaces.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::backend::Credential;
use crate::api::{GATEWAY_GROUP, Resource, Secret, Snapshot};

/// The kinds a CA reference may name: `ConfigMap` (Core) or `Secret`, both in the core group.
pub(crate) fn ca_kind_supported(group: &str, kind: &str) -> bool {
    group.is_empty() && (kind == "ConfigMap" || kind == "Secret")
}

/// Every certificate of the `ca.crt` bundle of a ConfigMap or Secret.
///
/// # Errors
/// A lowercase description naming the object: missing, no `ca.crt`, malformed PEM, or no
/// certificate in it.
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
    parse_certificates(&bytes).map_err(|e| format!("{what}: ca.crt {e}"))
}

/// A `kubernetes.io/tls`-style Secret's `tls.crt` chain and `tls.key` private key.
///
/// # Errors
/// A lowercase description naming the Secret and what is wrong with it.
pub(crate) fn credential(
    snapshot: &Snapshot,
    namespace: &str,
    name: &str,
) -> Result<Credential, String> {
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
    Ok(Credential {
        chain,
        key: Arc::new(key),
    })
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

/// Gateway API ReferenceGrant: a reference from a Gateway in `from_namespace` to a
/// `to_kind` (core group) named `to_name` in `to_namespace` is allowed when both namespaces are
/// the same, or when a ReferenceGrant in `to_namespace` lists Gateways of `from_namespace` in
/// `from` and the referent in `to` (a `to` without name admits every object of the kind).
pub(crate) fn gateway_may_refer(
    snapshot: &Snapshot,
    from_namespace: &str,
    to_kind: &str,
    to_namespace: &str,
    to_name: &str,
) -> bool {
    may_refer(
        snapshot,
        (GATEWAY_GROUP, "Gateway", from_namespace),
        to_kind,
        to_namespace,
        to_name,
    )
}

/// [`gateway_may_refer`] for any referrer `(group, kind, namespace)`: an XListenerSet's
/// listeners need a grant to XListenerSets, never one to Gateways (GEP-1713 "ReferenceGrant
/// Semantics").
pub(crate) fn may_refer(
    snapshot: &Snapshot,
    (from_group, from_kind, from_namespace): (&str, &str, &str),
    to_kind: &str,
    to_namespace: &str,
    to_name: &str,
) -> bool {
    if from_namespace == to_namespace {
        return true;
    }
    snapshot.resources().any(|r| match r {
        Resource::ReferenceGrant(g) => {
            g.metadata.namespace_or_default() == to_namespace
                && g.spec.from.iter().any(|f| {
                    f.group == from_group && f.kind == from_kind && f.namespace == from_namespace
                })
                && g.spec.to.iter().any(|t| {
                    t.group.is_empty()
                        && t.kind == to_kind
                        && t.name.as_deref().is_none_or(|n| n == to_name)
                })
        }
        _ => false,
    })
}
