//! Cross-namespace consent: ReferenceGrant.

use std::collections::HashMap;

use crate::api::{ReferenceGrant, Resource, Service, Snapshot};

/// The Services of a snapshot by `(namespace, name)`, so that resolving every backendRef of
/// every route costs one scan of the snapshot, not one per reference. Services without a
/// namespace are not referable; of two with one name, the first in the snapshot counts.
#[derive(Debug, Default)]
pub(crate) struct Services<'a> {
    by_name: HashMap<(&'a str, &'a str), &'a Service>,
}

impl<'a> Services<'a> {
    pub(crate) fn new(snapshot: &'a Snapshot) -> Self {
        let mut by_name = HashMap::new();
        for r in snapshot.resources() {
            if let Resource::Service(s) = r
                && let Some(ns) = s.metadata.namespace.as_deref()
            {
                by_name.entry((ns, s.metadata.name.as_str())).or_insert(s);
            }
        }
        Self { by_name }
    }

    /// The Service `namespace/name`, if the snapshot has it.
    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<&'a Service> {
        self.by_name.get(&(namespace, name)).copied()
    }
}

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
