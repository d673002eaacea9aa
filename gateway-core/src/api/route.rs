//! HTTPRoute, GRPCRoute, TLSRoute, TCPRoute and UDPRoute, with their matches and filters.

use serde::{Deserialize, Serialize};

use super::enums::string_enum;
use super::meta::{BackendObjectReference, LocalObjectReference, ObjectMeta, ParentReference};

/// Fields every route kind shares (`CommonRouteSpec`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommonRouteSpec {
    /// The Gateways (or listeners) this route attaches to (at most 32).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_refs: Vec<ParentReference>,
    /// `All` to bind to every default Gateway (experimental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_default_gateways: Option<GatewayDefaultScopeRef>,
}

string_enum! {
    /// `spec.useDefaultGateways` of a route.
    pub enum GatewayDefaultScopeRef {
        /// Bind to every Gateway with `defaultScope: All`.
        All = "All",
        /// Bind to no default Gateway.
        None = "None",
    }
}

/// An HTTPRoute.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(default)]
    pub spec: HttpRouteSpec,
    /// Status as read from the manifest, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `HTTPRoute.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// Parent references and default-Gateway binding.
    #[serde(flatten)]
    pub common: CommonRouteSpec,
    /// Hostnames matched against the Host header (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Rules (at most 16); CRD default: one rule matching PathPrefix `/`.
    #[serde(default = "default_http_rules")]
    pub rules: Vec<HttpRouteRule>,
}

fn default_http_rules() -> Vec<HttpRouteRule> {
    vec![HttpRouteRule {
        matches: default_http_matches(),
        ..HttpRouteRule::default()
    }]
}

/// One HTTPRoute rule.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteRule {
    /// The rule's name, unique in the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Matches, any of which selects the rule (at most 64); CRD default PathPrefix `/`.
    #[serde(default = "default_http_matches")]
    pub matches: Vec<HttpRouteMatch>,
    /// Filters applied to matching requests (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HttpRouteFilter>,
    /// Backends (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<HttpBackendRef>,
    /// Timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<HttpRouteTimeouts>,
    /// Retries (experimental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<HttpRouteRetry>,
    /// Session persistence (experimental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<SessionPersistence>,
}

fn default_http_matches() -> Vec<HttpRouteMatch> {
    vec![HttpRouteMatch {
        path: Some(HttpPathMatch::default()),
        ..HttpRouteMatch::default()
    }]
}

/// One HTTPRoute match: every predicate must hold.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// The path predicate; CRD default PathPrefix `/`.
    #[serde(
        default = "default_path_match",
        skip_serializing_if = "Option::is_none"
    )]
    pub path: Option<HttpPathMatch>,
    /// Header predicates (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeaderMatch>,
    /// Query parameter predicates (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<HttpQueryParamMatch>,
    /// The request method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
}

fn default_path_match() -> Option<HttpPathMatch> {
    Some(HttpPathMatch::default())
}

/// `match.path`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (default) or `RegularExpression`.
    #[serde(rename = "type", default = "path_prefix")]
    pub type_: PathMatchType,
    /// The path, prefix or pattern; CRD default `/`.
    #[serde(default = "slash")]
    pub value: String,
}

impl Default for HttpPathMatch {
    fn default() -> Self {
        Self {
            type_: PathMatchType::PathPrefix,
            value: "/".to_owned(),
        }
    }
}

fn path_prefix() -> PathMatchType {
    PathMatchType::PathPrefix
}

fn slash() -> String {
    "/".to_owned()
}

string_enum! {
    /// How a path is matched.
    pub enum PathMatchType {
        /// The whole path equals the value.
        Exact = "Exact",
        /// The path starts with the value, element-wise.
        PathPrefix = "PathPrefix",
        /// The whole path matches a regular expression.
        RegularExpression = "RegularExpression",
    }
}

/// `match.headers[]`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpHeaderMatch {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(rename = "type", default = "exact")]
    pub type_: StringMatchType,
    /// The header name (case-insensitive).
    #[serde(default)]
    pub name: String,
    /// The value or pattern.
    #[serde(default)]
    pub value: String,
}

/// `match.queryParams[]`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpQueryParamMatch {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(rename = "type", default = "exact")]
    pub type_: StringMatchType,
    /// The parameter name (case-sensitive).
    #[serde(default)]
    pub name: String,
    /// The value or pattern.
    #[serde(default)]
    pub value: String,
}

fn exact() -> StringMatchType {
    StringMatchType::Exact
}

string_enum! {
    /// How a header, query parameter or gRPC name is matched.
    pub enum StringMatchType {
        /// Equal to the value.
        Exact = "Exact",
        /// Matches a regular expression.
        RegularExpression = "RegularExpression",
    }
}

// `string_enum!` defines the enum, so `#[default]` cannot be derived there.
#[allow(clippy::derivable_impls)]
impl Default for StringMatchType {
    fn default() -> Self {
        Self::Exact
    }
}

string_enum! {
    /// An HTTP method a match can require.
    pub enum HttpMethod {
        /// GET
        Get = "GET",
        /// HEAD
        Head = "HEAD",
        /// POST
        Post = "POST",
        /// PUT
        Put = "PUT",
        /// DELETE
        Delete = "DELETE",
        /// CONNECT
        Connect = "CONNECT",
        /// OPTIONS
        Options = "OPTIONS",
        /// TRACE
        Trace = "TRACE",
        /// PATCH
        Patch = "PATCH",
    }
}

/// `rule.timeouts`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteTimeouts {
    /// Time for the whole request, as a Gateway API duration (`10s`, `1h30m`, `0s` = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Time for one request to a backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_request: Option<String>,
}

/// `rule.retry`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteRetry {
    /// Status codes (400 to 599) that are retried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<i32>,
    /// How many retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    /// Minimum wait between retries, as a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
}

/// `rule.sessionPersistence`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPersistence {
    /// The cookie or header name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// Session lifetime from creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_timeout: Option<String>,
    /// Session lifetime from last use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    /// `Cookie` (default) or `Header`.
    #[serde(rename = "type", default = "cookie")]
    pub type_: SessionPersistenceType,
    /// Cookie settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_config: Option<CookieConfig>,
}

fn cookie() -> SessionPersistenceType {
    SessionPersistenceType::Cookie
}

string_enum! {
    /// How a session is identified.
    pub enum SessionPersistenceType {
        /// By a cookie.
        Cookie = "Cookie",
        /// By a header.
        Header = "Header",
    }
}

/// `sessionPersistence.cookieConfig`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CookieConfig {
    /// `Session` (default) or `Permanent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_type: Option<String>,
}

/// A backend of an HTTPRoute rule, with its weight and per-backend filters.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpBackendRef {
    /// The backend.
    #[serde(flatten)]
    pub backend: BackendObjectReference,
    /// Relative weight (0 to 1,000,000); CRD default 1.
    #[serde(default = "weight_one")]
    pub weight: i32,
    /// Filters applied only when this backend is chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HttpRouteFilter>,
}

impl Default for HttpBackendRef {
    fn default() -> Self {
        Self {
            backend: BackendObjectReference::default(),
            weight: 1,
            filters: Vec::new(),
        }
    }
}

pub(crate) fn weight_one() -> i32 {
    1
}

/// One HTTPRoute filter: `type` names which member holds the settings.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteFilter {
    /// The filter type.
    #[serde(rename = "type")]
    pub type_: HttpFilterType,
    /// Settings of `RequestHeaderModifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header_modifier: Option<HeaderModifier>,
    /// Settings of `ResponseHeaderModifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_header_modifier: Option<HeaderModifier>,
    /// Settings of `RequestMirror`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_mirror: Option<RequestMirror>,
    /// Settings of `RequestRedirect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_redirect: Option<RequestRedirect>,
    /// Settings of `URLRewrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_rewrite: Option<UrlRewrite>,
    /// Settings of `CORS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
    /// Settings of `ExternalAuth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_auth: Option<ExternalAuth>,
    /// Settings of `ExtensionRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_ref: Option<LocalObjectReference>,
}

string_enum! {
    /// The type of an HTTPRoute or GRPCRoute filter.
    pub enum HttpFilterType {
        /// Edit request headers.
        RequestHeaderModifier = "RequestHeaderModifier",
        /// Edit response headers.
        ResponseHeaderModifier = "ResponseHeaderModifier",
        /// Copy requests to another backend.
        RequestMirror = "RequestMirror",
        /// Answer with a redirect.
        RequestRedirect = "RequestRedirect",
        /// Rewrite host and path before forwarding.
        UrlRewrite = "URLRewrite",
        /// Cross-origin resource sharing.
        Cors = "CORS",
        /// Ask an external service whether to allow the request.
        ExternalAuth = "ExternalAuth",
        /// An implementation-specific filter.
        ExtensionRef = "ExtensionRef",
    }
}

impl Default for HttpFilterType {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

/// Header edits of `RequestHeaderModifier` / `ResponseHeaderModifier`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderModifier {
    /// Headers to overwrite (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<HttpHeader>,
    /// Headers to append to (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<HttpHeader>,
    /// Header names to remove (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A header name and value.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpHeader {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// `RequestMirror` settings.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestMirror {
    /// Where copies go.
    #[serde(default)]
    pub backend_ref: BackendObjectReference,
    /// Share of requests mirrored, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i32>,
    /// Share of requests mirrored as a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<Fraction>,
}

/// A fraction; CRD default denominator 100.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fraction {
    /// Numerator (≥ 0).
    #[serde(default)]
    pub numerator: i32,
    /// Denominator (≥ 1); default 100.
    #[serde(default = "hundred")]
    pub denominator: i32,
}

fn hundred() -> i32 {
    100
}

/// `RequestRedirect` settings.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRedirect {
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The host of the Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// How the path of the Location is derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathModifier>,
    /// The port of the Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// 301 or 302 (default).
    #[serde(default = "found")]
    pub status_code: i32,
}

fn found() -> i32 {
    302
}

/// `URLRewrite` settings.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlRewrite {
    /// The Host sent upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// How the path sent upstream is derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathModifier>,
}

/// A path modification of a redirect or rewrite.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpPathModifier {
    /// `ReplaceFullPath` or `ReplacePrefixMatch`.
    #[serde(rename = "type")]
    pub type_: PathModifierType,
    /// The new path, for `ReplaceFullPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_full_path: Option<String>,
    /// What replaces the matched prefix, for `ReplacePrefixMatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_prefix_match: Option<String>,
}

string_enum! {
    /// How a path modifier works.
    pub enum PathModifierType {
        /// Replace the whole path.
        ReplaceFullPath = "ReplaceFullPath",
        /// Replace the prefix the rule matched.
        ReplacePrefixMatch = "ReplacePrefixMatch",
    }
}

impl Default for PathModifierType {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

/// `CORS` filter settings (v1.4).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    /// Allowed origins (`scheme://host[:port]`, with `*` wildcards; at most 64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_origins: Vec<String>,
    /// Whether credentials are allowed; the header is sent only when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// Allowed methods (or `*`; at most 9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_methods: Vec<String>,
    /// Allowed request headers (or `*`; at most 64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    /// Response headers exposed to scripts (at most 64).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Seconds a preflight may be cached; CRD default 5.
    #[serde(default = "five")]
    pub max_age: i32,
}

impl Default for Cors {
    fn default() -> Self {
        Self {
            allow_origins: Vec::new(),
            allow_credentials: None,
            allow_methods: Vec::new(),
            allow_headers: Vec::new(),
            expose_headers: Vec::new(),
            max_age: 5,
        }
    }
}

fn five() -> i32 {
    5
}

/// `ExternalAuth` filter settings (experimental).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAuth {
    /// `HTTP` or `GRPC`.
    #[serde(default)]
    pub protocol: ExternalAuthProtocol,
    /// The auth service.
    #[serde(default)]
    pub backend_ref: BackendObjectReference,
    /// gRPC settings (required with protocol GRPC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcAuthConfig>,
    /// HTTP settings (required with protocol HTTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpAuthConfig>,
    /// Whether and how much of the body is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_body: Option<ForwardBodyConfig>,
}

string_enum! {
    /// The protocol of an external auth service.
    pub enum ExternalAuthProtocol {
        /// Envoy ext_authz over HTTP.
        Http = "HTTP",
        /// Envoy ext_authz over gRPC.
        Grpc = "GRPC",
    }
}

impl Default for ExternalAuthProtocol {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

/// `externalAuth.grpc`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcAuthConfig {
    /// Headers sent to the auth service; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_headers: Vec<String>,
}

/// `externalAuth.http`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpAuthConfig {
    /// A prefix for the check request's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Headers sent to the auth service besides the fixed set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_headers: Vec<String>,
    /// Auth response headers copied upstream; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_response_headers: Vec<String>,
}

/// `externalAuth.forwardBody`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardBodyConfig {
    /// Bytes of body to send; 0 sends none.
    #[serde(default)]
    pub max_size: i32,
}

/// A GRPCRoute.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRoute {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state (required by the CRD).
    pub spec: GrpcRouteSpec,
    /// Status as read from the manifest, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `GRPCRoute.spec`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRouteSpec {
    /// Parent references and default-Gateway binding.
    #[serde(flatten)]
    pub common: CommonRouteSpec,
    /// Hostnames matched against `:authority` (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Rules (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<GrpcRouteRule>,
}

/// One GRPCRoute rule.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRouteRule {
    /// The rule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Matches (at most 64); none matches every request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<GrpcRouteMatch>,
    /// Filters (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HttpRouteFilter>,
    /// Backends (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<HttpBackendRef>,
    /// Session persistence (experimental).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<SessionPersistence>,
}

/// One GRPCRoute match.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRouteMatch {
    /// Service and method predicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<GrpcMethodMatch>,
    /// Header predicates (at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeaderMatch>,
}

/// `match.method` of a GRPCRoute.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcMethodMatch {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(rename = "type", default = "exact")]
    pub type_: StringMatchType,
    /// The fully qualified service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The method name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A TLSRoute (v1alpha2 / v1alpha3), TCPRoute or UDPRoute: backends chosen without HTTP.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L4Route {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(default)]
    pub spec: L4RouteSpec,
    /// Status as read from the manifest, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `spec` of TLSRoute, TCPRoute and UDPRoute.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L4RouteSpec {
    /// Parent references and default-Gateway binding.
    #[serde(flatten)]
    pub common: CommonRouteSpec,
    /// SNI hostnames (TLSRoute only; at most 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Rules (1 to 16).
    #[serde(default)]
    pub rules: Vec<L4RouteRule>,
}

/// A rule of a TLSRoute, TCPRoute or UDPRoute.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L4RouteRule {
    /// The rule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Backends (1 to 16).
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
}

/// A weighted backend reference without filters.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendRef {
    /// The backend.
    #[serde(flatten)]
    pub backend: BackendObjectReference,
    /// Relative weight; CRD default 1.
    #[serde(default = "weight_one")]
    pub weight: i32,
}

impl Default for BackendRef {
    fn default() -> Self {
        Self {
            backend: BackendObjectReference::default(),
            weight: 1,
        }
    }
}

// `string_enum!` defines the enum, so `#[default]` cannot be derived there.
#[allow(clippy::derivable_impls)]
impl Default for SessionPersistenceType {
    fn default() -> Self {
        Self::Cookie
    }
}
