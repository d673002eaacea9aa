//! The wire model: serde mirrors of every Gateway API v1.4.1 kind (standard and experimental
//! channel) and the Kubernetes core kinds the semantics read, loading from YAML or JSON, and
//! validation equivalent to the CRDs' schemas and CEL rules.
//!
//! Field names are the CRDs' JSON names; CRD defaults are applied while reading, so a loaded
//! object looks as the API server would store it. Enumerations keep values this version does
//! not know (`Unknown(String)`), so that later stages can report them as `UnsupportedValue`.
//! Nothing here routes: [`crate::attach`] and [`crate::route`] compile these types.

mod core;
mod diagnostic;
mod enums;
mod gateway;
mod load;
mod meta;
mod policy;
mod read;
mod route;
pub mod validate;

pub use self::core::{ConfigMap, Namespace, Secret, Service, ServicePort, ServiceSpec};
pub use diagnostic::{Diagnostic, LoadError, ResourceId, Severity};
pub use gateway::{
    AllowedListeners, AllowedRoutes, FromNamespaces, FrontendTlsConfig, FrontendTlsValidation,
    FrontendValidationMode, Gateway, GatewayBackendTls, GatewayClass, GatewayClassSpec,
    GatewayClassStatus, GatewayDefaultScope, GatewayInfrastructure, GatewaySpec,
    GatewaySpecAddress, GatewayTlsConfig, Listener, ListenerNamespaces, ListenerSetSpec,
    ListenerTlsConfig, RouteGroupKind, RouteNamespaces, SupportedFeature, TlsConfig, TlsModeType,
    TlsPortConfig, XListenerSet,
};
pub use load::{LoadOptions, Loaded, Object, Resource, Snapshot};
pub use meta::{
    BackendObjectReference, Condition, GATEWAY_GROUP, LabelSelector, LabelSelectorRequirement,
    LocalObjectReference, ObjectMeta, ObjectReference, ParentReference, PolicyTargetReference,
    SecretObjectReference, X_GATEWAY_GROUP,
};
pub use policy::{
    BackendTlsPolicy, BackendTlsPolicySpec, BackendTlsPolicyValidation, BackendTrafficPolicySpec,
    MeshSpec, MeshStatus, ReferenceGrant, ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo,
    SubjectAltName, SubjectAltNameType, WellKnownCaType, XBackendTrafficPolicy, XMesh,
};
pub use route::{
    BackendRef, CommonRouteSpec, CookieConfig, Cors, ExternalAuth, ExternalAuthProtocol,
    ForwardBodyConfig, Fraction, GatewayDefaultScopeRef, GrpcAuthConfig, GrpcMethodMatch,
    GrpcRoute, GrpcRouteMatch, GrpcRouteRule, GrpcRouteSpec, HeaderModifier, HttpAuthConfig,
    HttpBackendRef, HttpFilterType, HttpHeader, HttpHeaderMatch, HttpMethod, HttpPathMatch,
    HttpPathModifier, HttpQueryParamMatch, HttpRoute, HttpRouteFilter, HttpRouteMatch,
    HttpRouteRetry, HttpRouteRule, HttpRouteSpec, HttpRouteTimeouts, L4Route, L4RouteRule,
    L4RouteSpec, PathMatchType, PathModifierType, RequestMirror, RequestRedirect,
    SessionPersistence, SessionPersistenceType, StringMatchType, UrlRewrite,
};
pub use validate::compile_regex;
