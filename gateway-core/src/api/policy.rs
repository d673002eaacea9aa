//! ReferenceGrant, BackendTLSPolicy, XBackendTrafficPolicy and XMesh.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::enums::string_enum;
use super::gateway::SupportedFeature;
use super::meta::{
    Condition, LocalObjectReference, ObjectMeta, ObjectReference, PolicyTargetReference,
};
use super::route::SessionPersistence;

/// A ReferenceGrant: consent for references from other namespaces into this one.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrant {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// Who may refer to what.
    #[serde(default)]
    pub spec: ReferenceGrantSpec,
}

/// `ReferenceGrant.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantSpec {
    /// Referrers allowed (1 to 16).
    #[serde(default)]
    pub from: Vec<ReferenceGrantFrom>,
    /// Referents allowed (1 to 16).
    #[serde(default)]
    pub to: Vec<ReferenceGrantTo>,
}

/// A referrer a ReferenceGrant admits.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantFrom {
    /// The referrer's group.
    #[serde(default)]
    pub group: String,
    /// The referrer's kind.
    #[serde(default)]
    pub kind: String,
    /// The referrer's namespace.
    #[serde(default)]
    pub namespace: String,
}

/// A referent a ReferenceGrant exposes.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantTo {
    /// The referent's group.
    #[serde(default)]
    pub group: String,
    /// The referent's kind.
    #[serde(default)]
    pub kind: String,
    /// One referent by name; every object of the kind when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A BackendTLSPolicy (v1; v1alpha3 is read with a warning): how to verify a backend's TLS.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicy {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(default)]
    pub spec: BackendTlsPolicySpec,
    /// Status as read from the manifest, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `BackendTLSPolicy.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicySpec {
    /// The Services (and ports, by `sectionName`) this policy applies to (1 to 16).
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    /// How the backend's certificate is verified.
    #[serde(default)]
    pub validation: BackendTlsPolicyValidation,
    /// Implementation-specific TLS options (at most 16).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// `BackendTLSPolicy.spec.validation`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicyValidation {
    /// ConfigMaps (or Secrets) holding trusted CA bundles under `ca.crt` (at most 8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certificate_refs: Vec<LocalObjectReference>,
    /// `System`: trust a bundled set of public roots.
    #[serde(
        rename = "wellKnownCACertificates",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub well_known_ca_certificates: Option<WellKnownCaType>,
    /// The SNI sent, and the identity checked when `subjectAltNames` is empty.
    #[serde(default)]
    pub hostname: String,
    /// Identities the certificate must carry one of (at most 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_alt_names: Vec<SubjectAltName>,
}

string_enum! {
    /// `wellKnownCACertificates`.
    pub enum WellKnownCaType {
        /// The system's (here: a bundled) public root set.
        System = "System",
    }
}

/// A subject alternative name a backend certificate must carry.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectAltName {
    /// `Hostname` or `URI`.
    #[serde(rename = "type")]
    pub type_: SubjectAltNameType,
    /// The DNS name, for `Hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The URI (e.g. a SPIFFE ID), for `URI`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

string_enum! {
    /// The type of a subject alternative name.
    pub enum SubjectAltNameType {
        /// A DNS name.
        Hostname = "Hostname",
        /// A URI.
        Uri = "URI",
    }
}

impl Default for SubjectAltNameType {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

/// An XBackendTrafficPolicy (experimental): retry budgets and session persistence for Services.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct XBackendTrafficPolicy {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(default)]
    pub spec: BackendTrafficPolicySpec,
    /// Status as read from the manifest, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `XBackendTrafficPolicy.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTrafficPolicySpec {
    /// The targets (1 to 16).
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    /// Retry budget settings, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_constraint: Option<serde_json::Value>,
    /// Session persistence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<SessionPersistence>,
}

/// An XMesh (experimental): mesh-wide settings, accepted when its controller is ours.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct XMesh {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(default)]
    pub spec: MeshSpec,
    /// Status as read from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MeshStatus>,
}

/// `XMesh.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshSpec {
    /// The controller that implements this mesh.
    #[serde(default)]
    pub controller_name: String,
    /// Implementation-specific parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters_ref: Option<ObjectReference>,
    /// Free-form description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `XMesh.status`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Supported features.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_features: Vec<SupportedFeature>,
}
