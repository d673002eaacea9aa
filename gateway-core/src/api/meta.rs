//! Object metadata and the reference types shared by several kinds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The API group of the Gateway API kinds.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
/// The API group of the experimental `X`-prefixed kinds.
pub const X_GATEWAY_GROUP: &str = "gateway.networking.x-k8s.io";

/// `metadata` of a Kubernetes object: the fields the data plane reads.
///
/// Unknown metadata fields (finalizers, managedFields, ...) are kept in `other` so that a
/// load → serialize → load cycle loses nothing.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name.
    #[serde(default)]
    pub name: String,
    /// The object's namespace; `None` for cluster-scoped kinds (and for namespaced kinds written
    /// without one, which the loader places in `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels, matched by `allowedRoutes` namespace selectors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `metadata.generation`; conditions report it as `observedGeneration`. Defaults to 1, as
    /// the API server sets it on create.
    #[serde(default = "first_generation")]
    pub generation: i64,
    /// RFC 3339 creation time, the first tie-breaker between conflicting routes and policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// The object's UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The object's resource version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Every other metadata field, kept verbatim.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn first_generation() -> i64 {
    1
}

impl ObjectMeta {
    /// The namespace, or `default` when the manifest left it out.
    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// A reference from a route to its parent (a Gateway, a listener of it, or a Service in mesh).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// API group of the parent; CRD default `gateway.networking.k8s.io`.
    #[serde(default = "gateway_group")]
    pub group: String,
    /// Kind of the parent; CRD default `Gateway`.
    #[serde(default = "gateway_kind")]
    pub kind: String,
    /// Namespace of the parent; the route's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the parent.
    #[serde(default)]
    pub name: String,
    /// A listener name (for Gateways), narrowing the attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    /// A listener port, narrowing the attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

impl ParentReference {
    /// A reference to a Gateway.
    ///
    /// ```
    /// let p = gateway_core::api::ParentReference::gateway(Some("infra"), "edge");
    /// assert_eq!((p.kind.as_str(), p.name.as_str()), ("Gateway", "edge"));
    /// ```
    pub fn gateway(namespace: Option<&str>, name: &str) -> Self {
        Self {
            group: GATEWAY_GROUP.to_owned(),
            kind: "Gateway".to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            section_name: None,
            port: None,
        }
    }
}

pub(crate) fn gateway_group() -> String {
    GATEWAY_GROUP.to_owned()
}

fn gateway_kind() -> String {
    "Gateway".to_owned()
}

pub(crate) fn service_kind() -> String {
    "Service".to_owned()
}

pub(crate) fn secret_kind() -> String {
    "Secret".to_owned()
}

/// A reference to a backend (`BackendObjectReference`): a Service and port by default.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendObjectReference {
    /// API group; CRD default `""` (core).
    #[serde(default)]
    pub group: String,
    /// Kind; CRD default `Service`.
    #[serde(default = "service_kind")]
    pub kind: String,
    /// Name of the referent.
    #[serde(default)]
    pub name: String,
    /// Namespace of the referent; the route's own when unset. Cross-namespace references need a
    /// ReferenceGrant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Destination port; required when the referent is a Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

/// A reference to a Secret (`SecretObjectReference`), e.g. a listener certificate.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretObjectReference {
    /// API group; CRD default `""`.
    #[serde(default)]
    pub group: String,
    /// Kind; CRD default `Secret`.
    #[serde(default = "secret_kind")]
    pub kind: String,
    /// Name of the referent.
    #[serde(default)]
    pub name: String,
    /// Namespace of the referent; the referrer's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference within the referrer's namespace (`LocalObjectReference`), e.g. a CA ConfigMap.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// API group (`""` for core kinds).
    #[serde(default)]
    pub group: String,
    /// Kind of the referent.
    #[serde(default)]
    pub kind: String,
    /// Name of the referent.
    #[serde(default)]
    pub name: String,
}

/// A reference that may cross namespaces (`ObjectReference` in the Gateway API), e.g. a
/// frontend CA certificate ref.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// API group (`""` for core kinds).
    #[serde(default)]
    pub group: String,
    /// Kind of the referent.
    #[serde(default)]
    pub kind: String,
    /// Name of the referent.
    #[serde(default)]
    pub name: String,
    /// Namespace of the referent; the referrer's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a policy target (`LocalPolicyTargetReferenceWithSectionName`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTargetReference {
    /// API group of the target (`""` for Service).
    #[serde(default)]
    pub group: String,
    /// Kind of the target.
    #[serde(default)]
    pub kind: String,
    /// Name of the target.
    #[serde(default)]
    pub name: String,
    /// A section of the target: for a Service, a port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// A Kubernetes label selector.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Expressions that must all hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry of a label selector.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    #[serde(default)]
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default)]
    pub operator: String,
    /// Values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A status condition as Kubernetes writes it (`metav1.Condition`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Accepted`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason.
    pub reason: String,
    /// A human-readable message.
    #[serde(default)]
    pub message: String,
    /// The generation of the object this condition was computed from.
    #[serde(default)]
    pub observed_generation: i64,
    /// When the condition last changed; supplied by the caller, never read from a clock.
    #[serde(default)]
    pub last_transition_time: String,
}
