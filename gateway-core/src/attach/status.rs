//! Status objects as a controller would write them back to the API server.

use serde::Serialize;

use crate::api::{Condition, ParentReference, ResourceId, RouteGroupKind, SupportedFeature};

/// The status of every resource the configuration computed, in a deterministic order
/// (input order of the objects).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StatusReport {
    /// One entry per object that has a status.
    pub objects: Vec<ObjectStatus>,
}

impl StatusReport {
    /// The status of one object, by kind, namespace and name.
    pub fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&ObjectStatus> {
        self.objects.iter().find(|o| {
            o.id.kind == kind
                && o.id.name == name
                && (namespace.is_none() || o.id.namespace.as_deref() == namespace)
        })
    }

    /// The report as pretty JSON: `[{kind, namespace, name, generation, status}]`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The status of one object.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectStatus {
    /// Which object.
    #[serde(flatten, serialize_with = "ser_id")]
    pub id: ResourceId,
    /// Its `metadata.generation`.
    pub generation: i64,
    /// Its status subresource.
    pub status: Status,
}

fn ser_id<S: serde::Serializer>(id: &ResourceId, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(None)?;
    m.serialize_entry("kind", &id.kind)?;
    if let Some(ns) = &id.namespace {
        m.serialize_entry("namespace", ns)?;
    }
    m.serialize_entry("name", &id.name)?;
    m.end()
}

/// A status subresource of one of the kinds the library writes status for.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Status {
    /// GatewayClass or XMesh.
    Class(ClassStatus),
    /// Gateway.
    Gateway(GatewayStatus),
    /// XListenerSet.
    ListenerSet(ListenerSetStatus),
    /// Any route kind.
    Route(RouteStatus),
    /// BackendTLSPolicy or XBackendTrafficPolicy.
    Policy(PolicyStatus),
}

impl Status {
    /// Every condition of the object (Gateway-level, listeners, parents, ancestors).
    pub fn conditions(&self) -> Vec<&Condition> {
        match self {
            Self::Class(c) => c.conditions.iter().collect(),
            Self::Gateway(g) => g
                .conditions
                .iter()
                .chain(g.listeners.iter().flat_map(|l| l.conditions.iter()))
                .collect(),
            Self::ListenerSet(s) => s
                .conditions
                .iter()
                .chain(s.listeners.iter().flat_map(|l| l.conditions.iter()))
                .collect(),
            Self::Route(r) => r.parents.iter().flat_map(|p| p.conditions.iter()).collect(),
            Self::Policy(p) => p
                .ancestors
                .iter()
                .flat_map(|a| a.conditions.iter())
                .collect(),
        }
    }
}

/// `GatewayClass.status` / `XMesh.status`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassStatus {
    /// Conditions.
    pub conditions: Vec<Condition>,
    /// Supported features, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_features: Vec<SupportedFeature>,
}

/// `Gateway.status`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// Assigned addresses.
    pub addresses: Vec<GatewayStatusAddress>,
    /// Gateway-level conditions.
    pub conditions: Vec<Condition>,
    /// One entry per listener.
    pub listeners: Vec<ListenerStatus>,
}

/// An address in `Gateway.status.addresses`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GatewayStatusAddress {
    /// The address type.
    #[serde(rename = "type")]
    pub type_: String,
    /// The address.
    pub value: String,
}

/// A listener's status.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// The listener name.
    pub name: String,
    /// Route kinds the listener accepts.
    pub supported_kinds: Vec<RouteGroupKind>,
    /// How many routes are attached.
    pub attached_routes: i32,
    /// Conditions.
    pub conditions: Vec<Condition>,
}

/// `XListenerSet.status` (Gateway API v1.4 `ListenerSetStatus`).
///
/// `listeners` holds only this set's listeners, never the parent Gateway's or a sibling's
/// (GEP-1713 "ListenerSet Conditions"); it is empty when the set is not merged into its Gateway
/// (`Accepted=False` with `NotAllowed` or `ParentNotAccepted`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSetStatus {
    /// Set-level conditions: `Accepted` and `Programmed`.
    pub conditions: Vec<Condition>,
    /// One entry per listener of the set, in spec order.
    pub listeners: Vec<ListenerEntryStatus>,
}

/// A ListenerSet listener's status (Gateway API v1.4 `ListenerEntryStatus`): a Gateway
/// [`ListenerStatus`] plus the port.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerEntryStatus {
    /// The listener name (unique within its ListenerSet only).
    pub name: String,
    /// The listener port.
    pub port: i32,
    /// Route kinds the listener accepts.
    pub supported_kinds: Vec<RouteGroupKind>,
    /// How many routes are attached (through a parentRef to this ListenerSet).
    pub attached_routes: i32,
    /// Conditions: `Accepted`, `ResolvedRefs`, `Conflicted`, `Programmed`.
    pub conditions: Vec<Condition>,
}

/// A route's status.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RouteStatus {
    /// One entry per parent this controller handles.
    pub parents: Vec<RouteParentStatus>,
}

/// One entry of a route's `status.parents`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    /// The parent reference as written (or the default Gateway bound).
    pub parent_ref: ParentReference,
    /// This controller's name.
    pub controller_name: String,
    /// Conditions.
    pub conditions: Vec<Condition>,
}

/// A policy's status (`status.ancestors`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicyStatus {
    /// One entry per ancestor (Gateway) the policy affects.
    pub ancestors: Vec<PolicyAncestorStatus>,
}

/// One entry of `status.ancestors`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAncestorStatus {
    /// The ancestor.
    pub ancestor_ref: ParentReference,
    /// This controller's name.
    pub controller_name: String,
    /// Conditions.
    pub conditions: Vec<Condition>,
}
