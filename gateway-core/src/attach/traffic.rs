//! XBackendTrafficPolicy attachment: which policy applies to each Service, and the policies'
//! ancestor status.
//!
//! A policy targets Services of its own namespace (`targetRefs`, `group: ""`,
//! `kind: Service`; "a TargetRef cannot be scoped to a specific port on a Service"). When two
//! policies target one Service they conflict, and GEP-713 settles it: the oldest
//! (`creationTimestamp`) wins, then the first by `namespace/name`. Policies are taken in that
//! order; one whose targets are all still free is accepted and claims them, one with a target
//! an accepted policy already claimed is `Accepted=False` with reason `Conflicted` and applies
//! to none of its targets (a policy applies whole or not at all). Targets of other kinds are
//! ignored (this library routes to Services only).
//!
//! Status follows BackendTLSPolicy's: the ancestors are the Gateways with an attached route
//! that uses a targeted Service; a policy none of whose targets such a Gateway uses gets no
//! ancestor entry (there is no ancestor to report it under).

use std::collections::{HashMap, HashSet};

use super::conditions::Conditions;
use super::route::gateways_using;
use super::status::{ObjectStatus, PolicyAncestorStatus, PolicyStatus, Status};
use super::{AttachOptions, GatewayState, RouteState};
use crate::api::{ParentReference, Resource, ResourceId, Snapshot, XBackendTrafficPolicy};

use super::status::GatewayStatus;

/// The XBackendTrafficPolicies of a snapshot, settled: the one that applies to each Service.
pub(crate) struct TrafficPolicies<'s> {
    /// `(namespace, Service)` → the accepted policy that targets it.
    applied: HashMap<(&'s str, &'s str), &'s XBackendTrafficPolicy>,
    /// Object indexes of the policies that lost a conflict.
    conflicted: HashSet<usize>,
}

impl<'s> TrafficPolicies<'s> {
    /// Settles every XBackendTrafficPolicy of `snapshot` (GEP-713 order).
    pub(crate) fn resolve(snapshot: &'s Snapshot) -> Self {
        let mut policies: Vec<(usize, &XBackendTrafficPolicy)> = snapshot
            .objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match &o.resource {
                Resource::XBackendTrafficPolicy(p) => Some((i, p)),
                _ => None,
            })
            .collect();
        // GEP-713: "the oldest Policy based on creation timestamp" wins, then "the Policy
        // appearing first in alphabetical order by {namespace}/{name}".
        policies.sort_by(|(ai, a), (bi, b)| {
            let key = |p: &'s XBackendTrafficPolicy, i: usize| {
                (
                    p.metadata.creation_timestamp.as_deref().unwrap_or(""),
                    p.metadata.namespace_or_default(),
                    p.metadata.name.as_str(),
                    i,
                )
            };
            key(a, *ai).cmp(&key(b, *bi))
        });
        let mut out = Self {
            applied: HashMap::new(),
            conflicted: HashSet::new(),
        };
        for (index, policy) in policies {
            let ns = policy.metadata.namespace_or_default();
            let targets: Vec<(&str, &str)> = services(policy).map(|name| (ns, name)).collect();
            if targets.iter().any(|t| out.applied.contains_key(t)) {
                out.conflicted.insert(index);
                continue;
            }
            for t in targets {
                out.applied.insert(t, policy);
            }
        }
        out
    }

    /// The accepted policy that applies to Service `name` of `namespace`.
    pub(crate) fn for_service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<&'s XBackendTrafficPolicy> {
        self.applied.get(&(namespace, name)).copied()
    }
}

/// The names of the Services a policy targets.
fn services(policy: &XBackendTrafficPolicy) -> impl Iterator<Item = &str> {
    policy
        .spec
        .target_refs
        .iter()
        .filter(|t| t.group.is_empty() && t.kind == "Service")
        .map(|t| t.name.as_str())
}

/// XBackendTrafficPolicy status: `Accepted` per Gateway ancestor, `True` or `False` with reason
/// `Conflicted`.
pub(super) fn policies(
    snapshot: &Snapshot,
    options: &AttachOptions,
    gateways: &[(usize, (GatewayState, GatewayStatus))],
    routes: &[RouteState],
) -> Vec<ObjectStatus> {
    let settled = TrafficPolicies::resolve(snapshot);
    let mut out = Vec::new();
    for (index, object) in snapshot.objects.iter().enumerate() {
        let Resource::XBackendTrafficPolicy(policy) = &object.resource else {
            continue;
        };
        let ns = policy.metadata.namespace_or_default();
        let ancestors = gateways_using(gateways, routes, ns, |name| {
            services(policy).any(|target| target == name)
        });
        if ancestors.is_empty() {
            continue;
        }
        let c = Conditions {
            generation: policy.metadata.generation,
            time: &options.transition_time,
        };
        let accepted = if settled.conflicted.contains(&index) {
            c.make(
                "Accepted",
                false,
                "Conflicted",
                "an older XBackendTrafficPolicy targets the same Service",
            )
        } else {
            c.make("Accepted", true, "Accepted", "accepted")
        };
        let entries = ancestors
            .into_iter()
            .map(|gw| PolicyAncestorStatus {
                ancestor_ref: ParentReference::gateway(gw.namespace.as_deref(), &gw.name),
                controller_name: options.controller_name.clone(),
                conditions: vec![accepted.clone()],
            })
            .collect();
        out.push(ObjectStatus {
            id: ResourceId::new("XBackendTrafficPolicy", Some(ns), &policy.metadata.name),
            generation: policy.metadata.generation,
            status: Status::Policy(PolicyStatus { ancestors: entries }),
        });
    }
    out
}
