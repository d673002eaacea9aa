//! GatewayClass, Gateway and XListenerSet: where traffic enters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::enums::string_enum;
use super::meta::{
    Condition, LabelSelector, ObjectMeta, ObjectReference, ParentReference, SecretObjectReference,
};

/// A GatewayClass: the class of Gateways one controller implements.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayClass {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    pub spec: GatewayClassSpec,
    /// Status as read from the manifest (what a controller wrote before), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GatewayClassStatus>,
}

/// `GatewayClass.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayClassSpec {
    /// The controller that manages Gateways of this class (`domain/path`).
    #[serde(default)]
    pub controller_name: String,
    /// Implementation-specific parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters_ref: Option<ObjectReference>,
    /// Free-form description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `GatewayClass.status`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayClassStatus {
    /// Conditions (`Accepted`, `SupportedVersion`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The Gateway API features the implementation supports, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_features: Vec<SupportedFeature>,
}

/// One entry of `supportedFeatures`: `{name: ...}`, also read from the legacy plain string form.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SupportedFeature {
    /// The feature name as spelled by the Gateway API `pkg/features`.
    pub name: String,
}

impl<'de> Deserialize<'de> for SupportedFeature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Name(String),
            Object { name: String },
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Name(name) | Wire::Object { name } => Self { name },
        })
    }
}

/// A Gateway: listeners that accept traffic for routes.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    pub spec: GatewaySpec,
    /// Status as read from the manifest, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `Gateway.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// The GatewayClass this Gateway belongs to.
    #[serde(default)]
    pub gateway_class_name: String,
    /// Listeners (1 to 64, unique names).
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// Requested addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<GatewaySpecAddress>,
    /// Labels and annotations for generated infrastructure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure: Option<GatewayInfrastructure>,
    /// Which ListenerSets may attach listeners to this Gateway; none when unset (v1.4: "While
    /// this feature is experimental, the default value is to allow no ListenerSets").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_listeners: Option<AllowedListeners>,
    /// Gateway-wide TLS settings: frontend client validation and the backend client
    /// certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<GatewayTlsConfig>,
    /// Whether this Gateway is a default Gateway for routes that ask for one (experimental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_scope: Option<GatewayDefaultScope>,
}

string_enum! {
    /// `Gateway.spec.defaultScope`.
    pub enum GatewayDefaultScope {
        /// A default Gateway for every route with `useDefaultGateways: All`.
        All = "All",
        /// Not a default Gateway.
        None = "None",
    }
}

/// One entry of `Gateway.spec.addresses`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpecAddress {
    /// Address type; CRD default `IPAddress`.
    #[serde(rename = "type", default = "ip_address")]
    pub type_: String,
    /// The address; may be empty or absent to ask for one of the given type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

fn ip_address() -> String {
    "IPAddress".to_owned()
}

/// `Gateway.spec.infrastructure`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayInfrastructure {
    /// Labels for generated resources.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations for generated resources.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Implementation-specific parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters_ref: Option<ObjectReference>,
}

/// `Gateway.spec.allowedListeners`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedListeners {
    /// Namespaces whose ListenerSets may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<ListenerNamespaces>,
}

/// `allowedListeners.namespaces`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerNamespaces {
    /// `None` (default), `Same`, `All` or `Selector`.
    #[serde(default = "from_none")]
    pub from: FromNamespaces,
    /// The selector for `from: Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

fn from_none() -> FromNamespaces {
    FromNamespaces::None
}

string_enum! {
    /// Which namespaces a listener (or Gateway) admits objects from.
    pub enum FromNamespaces {
        /// Every namespace.
        All = "All",
        /// Namespaces whose labels match a selector.
        Selector = "Selector",
        /// The Gateway's own namespace.
        Same = "Same",
        /// No namespace (allowedListeners only).
        None = "None",
    }
}

// `string_enum!` defines the enum, so `#[default]` cannot be derived there.
#[allow(clippy::derivable_impls)]
impl Default for FromNamespaces {
    fn default() -> Self {
        Self::Same
    }
}

/// `Gateway.spec.tls`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayTlsConfig {
    /// TLS from the Gateway to backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<GatewayBackendTls>,
    /// TLS from clients to the Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend: Option<FrontendTlsConfig>,
}

impl Gateway {
    /// `spec.tls.backend.clientCertificateRef`: the certificate the Gateway presents to
    /// backends, if it names one.
    pub fn backend_client_certificate_ref(&self) -> Option<&SecretObjectReference> {
        self.spec
            .tls
            .as_ref()?
            .backend
            .as_ref()?
            .client_certificate_ref
            .as_ref()
    }
}

/// `Gateway.spec.tls.backend`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayBackendTls {
    /// The client certificate the Gateway presents to backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_ref: Option<SecretObjectReference>,
}

/// `Gateway.spec.tls.frontend`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendTlsConfig {
    /// Client validation for every HTTPS/TLS port without a `perPort` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<TlsConfig>,
    /// Per-port overrides (unique ports, at most 64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_port: Vec<TlsPortConfig>,
}

/// A per-port frontend TLS override.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsPortConfig {
    /// The port this entry applies to.
    #[serde(default)]
    pub port: i32,
    /// The settings for that port.
    #[serde(default)]
    pub tls: TlsConfig,
}

/// Frontend TLS settings of a port.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    /// Client certificate validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<FrontendTlsValidation>,
}

/// Client certificate validation settings.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendTlsValidation {
    /// CA certificates (ConfigMaps or Secrets) that sign accepted client certificates (1 to 8).
    #[serde(default)]
    pub ca_certificate_refs: Vec<ObjectReference>,
    /// `AllowValidOnly` (default) or `AllowInsecureFallback`.
    #[serde(default = "allow_valid_only")]
    pub mode: FrontendValidationMode,
}

fn allow_valid_only() -> FrontendValidationMode {
    FrontendValidationMode::AllowValidOnly
}

string_enum! {
    /// How strictly client certificates are required.
    pub enum FrontendValidationMode {
        /// Only connections with a valid client certificate are admitted.
        AllowValidOnly = "AllowValidOnly",
        /// Connections without a valid certificate are admitted but marked unverified.
        AllowInsecureFallback = "AllowInsecureFallback",
    }
}

/// A Gateway listener.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// The listener's name, unique in the Gateway.
    #[serde(default)]
    pub name: String,
    /// The hostname (exact or `*.` wildcard) requests must match; all hosts when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The network port.
    #[serde(default)]
    pub port: i32,
    /// The protocol: `HTTP`, `HTTPS`, `TLS`, `TCP`, `UDP` or a domain-prefixed one.
    #[serde(default)]
    pub protocol: String,
    /// TLS settings (required for HTTPS and TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTlsConfig>,
    /// Which routes may attach.
    #[serde(default)]
    pub allowed_routes: AllowedRoutes,
}

/// `listener.tls`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerTlsConfig {
    /// `Terminate` (default) or `Passthrough`.
    #[serde(default = "terminate")]
    pub mode: TlsModeType,
    /// The server certificates (at most 64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_refs: Vec<SecretObjectReference>,
    /// Implementation-specific options (at most 16).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

fn terminate() -> TlsModeType {
    TlsModeType::Terminate
}

string_enum! {
    /// How a listener handles TLS.
    pub enum TlsModeType {
        /// TLS ends at the Gateway.
        Terminate = "Terminate",
        /// TLS passes through to the backend, routed by SNI.
        Passthrough = "Passthrough",
    }
}

/// `listener.allowedRoutes`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[derive(Default)]
pub struct AllowedRoutes {
    /// Namespaces routes may attach from; CRD default `{from: Same}`.
    #[serde(default)]
    pub namespaces: RouteNamespaces,
    /// Route kinds allowed; defaults to what the protocol supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<RouteGroupKind>,
}

/// `allowedRoutes.namespaces`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteNamespaces {
    /// `Same` (default), `All` or `Selector`.
    #[serde(default)]
    pub from: FromNamespaces,
    /// The selector for `from: Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A route kind a listener accepts.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteGroupKind {
    /// API group; CRD default `gateway.networking.k8s.io`.
    #[serde(default = "super::meta::gateway_group")]
    pub group: String,
    /// The kind, e.g. `HTTPRoute`.
    #[serde(default)]
    pub kind: String,
}

impl RouteGroupKind {
    /// A Gateway API route kind.
    pub fn gateway(kind: &str) -> Self {
        Self {
            group: super::meta::GATEWAY_GROUP.to_owned(),
            kind: kind.to_owned(),
        }
    }
}

/// An XListenerSet: listeners attached to a Gateway from elsewhere (experimental).
///
/// When the Gateway's `allowedListeners` admits the set's namespace, `attach` merges its
/// listeners after the Gateway's own and writes its status
/// ([`ListenerSetStatus`](crate::attach::ListenerSetStatus)); routes reach them through a
/// parentRef of group `gateway.networking.x-k8s.io`, kind `XListenerSet`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct XListenerSet {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    pub spec: ListenerSetSpec,
    /// Status as read from the manifest, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `XListenerSet.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerSetSpec {
    /// The Gateway these listeners join.
    #[serde(default)]
    pub parent_ref: ParentReference,
    /// The listeners (1 to 64).
    #[serde(default)]
    pub listeners: Vec<Listener>,
}

// `string_enum!` defines the enum, so `#[default]` cannot be derived there.
#[allow(clippy::derivable_impls)]
impl Default for FrontendValidationMode {
    fn default() -> Self {
        Self::AllowValidOnly
    }
}

// `string_enum!` defines the enum, so `#[default]` cannot be derived there.
#[allow(clippy::derivable_impls)]
impl Default for TlsModeType {
    fn default() -> Self {
        Self::Terminate
    }
}
