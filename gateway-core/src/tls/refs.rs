//! Certificates and keys out of the snapshot's Secrets and ConfigMaps, read by the same
//! functions attachment uses for status (`attach::certs`), and the ReferenceGrant check for
//! references that cross namespaces.

use std::sync::Arc;

use super::backend::Credential;
use crate::api::{GATEWAY_GROUP, Resource, Snapshot};
use crate::attach::certs::key_pair;

/// The kinds a CA reference may name: `ConfigMap` (Core) or `Secret`, both in the core group.
pub(crate) fn ca_kind_supported(group: &str, kind: &str) -> bool {
    group.is_empty() && (kind == "ConfigMap" || kind == "Secret")
}

pub(crate) use crate::attach::certs::ca_bundle;

/// A `kubernetes.io/tls`-style Secret's `tls.crt` chain and `tls.key` private key, as
/// attachment reads it for status ([`key_pair`](crate::attach::certs::key_pair)).
///
/// # Errors
/// A lowercase description naming the Secret and what is wrong with it.
pub(crate) fn credential(
    snapshot: &Snapshot,
    namespace: &str,
    name: &str,
) -> Result<Credential, String> {
    let (chain, key) = key_pair(snapshot, namespace, name)?;
    Ok(Credential {
        chain,
        key: Arc::new(key),
    })
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
