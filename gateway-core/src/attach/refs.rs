//! Cross-namespace consent: ReferenceGrant.

use crate::api::{ReferenceGrant, Resource, Snapshot};

/// The ReferenceGrants of a snapshot, for answering "may this object refer to that one".
#[derive(Debug, Default)]
pub(crate) struct Grants<'a> {
    grants: Vec<&'a ReferenceGrant>,
}

impl<'a> Grants<'a> {
    pub(crate) fn new(snapshot: &'a Snapshot) -> Self {
        let grants = snapshot
            .resources()
            .filter_map(|r| match r {
                Resource::ReferenceGrant(g) => Some(g),
                _ => None,
            })
            .collect();
        Self { grants }
    }

    /// Gateway API ReferenceGrant: a reference from `from_kind` in `from_ns` to `to_kind`
    /// `to_name` in `to_ns` is allowed when both are in one namespace, or when a ReferenceGrant
    /// in `to_ns` lists the referrer in `from` and the referent in `to` (name unset = all).
    pub(crate) fn allows(&self, from: (&str, &str, &str), to: (&str, &str, &str, &str)) -> bool {
        let (from_group, from_kind, from_ns) = from;
        let (to_group, to_kind, to_ns, to_name) = to;
        if from_ns == to_ns {
            return true;
        }
        self.grants.iter().any(|g| {
            g.metadata.namespace.as_deref() == Some(to_ns)
                && g.spec
                    .from
                    .iter()
                    .any(|f| f.group == from_group && f.kind == from_kind && f.namespace == from_ns)
                && g.spec.to.iter().any(|t| {
                    t.group == to_group
                        && t.kind == to_kind
                        && t.name.as_deref().is_none_or(|n| n == to_name)
                })
        })
    }
}
