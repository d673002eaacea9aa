//! Reading manifests: YAML or JSON text into a [`Snapshot`] of typed resources.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::core::{ConfigMap, Namespace, Secret, Service};
use super::diagnostic::{Diagnostic, LoadError, ResourceId};
use super::gateway::{Gateway, GatewayClass, XListenerSet};
use super::meta::{GATEWAY_GROUP, ObjectMeta, X_GATEWAY_GROUP};
use super::policy::{BackendTlsPolicy, ReferenceGrant, XBackendTrafficPolicy, XMesh};
use super::route::{GrpcRoute, HttpRoute, L4Route};
use super::validate;

/// Limits and strictness of a load. The defaults admit a cluster of
/// [`LoadOptions::DEFAULT_MAX_RESOURCES`] resources and keep hostile YAML (alias bombs, deep
/// nesting) cheap to refuse; what they cost in memory is below.
///
/// # How the limits relate
///
/// The size limits follow from the resource limit `n` ([`LoadOptions::for_resources`]; the
/// defaults are `for_resources(100_000)`), so that raising it raises them in proportion:
///
/// | limit | derivation | default |
/// | --- | --- | --- |
/// | [`max_resources`](Self::max_resources) | `n` | 100,000 |
/// | [`max_documents`](Self::max_documents) | `2n + 1`: a document per resource, plus empty ones (`---` twice, a trailing `---`) | 200,001 |
/// | [`max_bytes`](Self::max_bytes) | `n` × [`BYTES_PER_RESOURCE`](Self::BYTES_PER_RESOURCE) (1 KiB) | 102,400,000 (97.7 MiB) |
/// | [`max_yaml_nodes`](Self::max_yaml_nodes) | `n` × [`YAML_NODES_PER_RESOURCE`](Self::YAML_NODES_PER_RESOURCE) (128: the byte allowance at 8 bytes a node) | 12,800,000 |
///
/// The allowances are measured on the resources a cluster has most of. A one-rule HTTPRoute
/// with a parentRef, a hostname, a path match and a backendRef is 340 bytes and 42 nodes of
/// block YAML (every scalar, key or value, is a node, and so is every map and list: about 8
/// bytes a node); its Service is about 100 bytes and 18 nodes. The allowances are three times
/// that, so 50,000 such routes and their Services load with the defaults with room to spare
/// (the test `fifty_thousand_routes_and_their_services_load_with_the_default_limits`). Flow
/// YAML can be denser (`[a,a,a]` is two bytes a node), which the node limit bounds. The parser
/// charges an event per node, per closing bracket and per document start and end, so its event
/// budget is `2 × max_yaml_nodes + 2 × max_documents + 2` and never trips first.
///
/// Memory grows linearly with the input, since aliases cannot multiply it, but the factor is
/// large: `gateway check` of those 50,000 routes and their Services (17 MB of YAML) peaks at
/// about 460 MB, loading, attaching and computing every status. Lower `max_resources` (or
/// `max_bytes`) where untrusted input must fit in less.
///
/// The adversarial bounds do not grow with `n`: [`max_depth`](Self::max_depth) (64),
/// [`max_yaml_aliases`](Self::max_yaml_aliases) (1,000) and
/// [`max_yaml_alias_events`](Self::max_yaml_alias_events) (100,000) keep an alias bomb or a
/// deeply nested document as cheap to refuse as ever.
///
/// Each limit hit is a load error that names the limit, the value reached, and both this
/// field and the `gateway` flag that raise it (`max_yaml_nodes`, `--max-yaml-nodes`).
///
/// # Examples
/// ```
/// use gateway_core::api::LoadOptions;
/// let options = LoadOptions::for_resources(200_000);
/// assert_eq!(options.max_bytes, 200_000 * LoadOptions::BYTES_PER_RESOURCE);
/// assert_eq!(options.max_depth, LoadOptions::default().max_depth);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Unknown kinds, apiVersions and fields are errors instead of warnings.
    pub strict: bool,
    /// Largest input accepted, in bytes (default 102,400,000: 1 KiB a resource).
    pub max_bytes: usize,
    /// Deepest nesting of maps and lists accepted (default 64).
    pub max_depth: usize,
    /// Most resources accepted, counting each item of a `List` (default 100,000).
    pub max_resources: usize,
    /// Most YAML documents, or JSON values in a stream, accepted (default 200,001).
    pub max_documents: usize,
    /// Most YAML nodes (scalars, maps and lists, keys included) accepted (default 12,800,000:
    /// 128 a resource). JSON input is bounded by `max_bytes` alone.
    pub max_yaml_nodes: usize,
    /// Most YAML aliases (`*name`) accepted (default 1,000).
    pub max_yaml_aliases: usize,
    /// Most parser events that YAML aliases may replay in all (default 100,000): what an alias
    /// bomb spends.
    pub max_yaml_alias_events: usize,
    /// Run CRD validation after reading (default true).
    pub validate: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self::for_resources(Self::DEFAULT_MAX_RESOURCES)
    }
}

impl LoadOptions {
    /// The default resource limit, from which the default size limits follow.
    pub const DEFAULT_MAX_RESOURCES: usize = 100_000;
    /// Input bytes allowed per resource: [`LoadOptions::max_bytes`] is this times
    /// [`LoadOptions::max_resources`] (1 KiB).
    pub const BYTES_PER_RESOURCE: usize = 1_024;
    /// YAML nodes allowed per resource: [`LoadOptions::max_yaml_nodes`] is this times
    /// [`LoadOptions::max_resources`].
    pub const YAML_NODES_PER_RESOURCE: usize = 128;

    /// The default options with room for `max_resources` resources: the byte, document and
    /// node limits derived from it as the [type's docs](LoadOptions#how-the-limits-relate) say;
    /// the adversarial bounds (depth, aliases) are the defaults whatever `max_resources` is.
    pub fn for_resources(max_resources: usize) -> Self {
        Self {
            strict: false,
            max_bytes: max_resources.saturating_mul(Self::BYTES_PER_RESOURCE),
            max_depth: 64,
            max_resources,
            max_documents: max_resources.saturating_mul(2).saturating_add(1),
            max_yaml_nodes: max_resources.saturating_mul(Self::YAML_NODES_PER_RESOURCE),
            max_yaml_aliases: 1_000,
            max_yaml_alias_events: 100_000,
            validate: true,
        }
    }
}

/// One resource as loaded: its apiVersion, where it came from, and its typed content.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// The apiVersion it was written with (kept for serialization).
    pub api_version: String,
    /// The 0-based document index in the input it came from.
    pub document: usize,
    /// The typed resource.
    pub resource: Resource,
}

/// A typed resource of any kind the library reads.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // resources are loaded once and kept; boxing buys nothing
pub enum Resource {
    /// A GatewayClass.
    GatewayClass(GatewayClass),
    /// A Gateway.
    Gateway(Gateway),
    /// An HTTPRoute.
    HttpRoute(HttpRoute),
    /// A GRPCRoute.
    GrpcRoute(GrpcRoute),
    /// A TLSRoute.
    TlsRoute(L4Route),
    /// A TCPRoute.
    TcpRoute(L4Route),
    /// A UDPRoute.
    UdpRoute(L4Route),
    /// A ReferenceGrant.
    ReferenceGrant(ReferenceGrant),
    /// A BackendTLSPolicy.
    BackendTlsPolicy(BackendTlsPolicy),
    /// An XListenerSet.
    XListenerSet(XListenerSet),
    /// An XBackendTrafficPolicy.
    XBackendTrafficPolicy(XBackendTrafficPolicy),
    /// An XMesh.
    XMesh(XMesh),
    /// A Namespace.
    Namespace(Namespace),
    /// A Service.
    Service(Service),
    /// A Secret.
    Secret(Secret),
    /// A ConfigMap.
    ConfigMap(ConfigMap),
    /// Any other Kubernetes object (a Deployment, say), kept verbatim and otherwise ignored.
    Other {
        /// Its kind.
        kind: String,
        /// Its metadata.
        metadata: ObjectMeta,
        /// The whole object as read.
        raw: Value,
    },
}

/// Which kinds the loader knows, their served apiVersions, and whether they are namespaced.
struct KindInfo {
    kind: &'static str,
    group: &'static str,
    versions: &'static [&'static str],
    deprecated: &'static [&'static str],
    namespaced: bool,
}

const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "GatewayClass",
        group: GATEWAY_GROUP,
        versions: &["v1", "v1beta1"],
        deprecated: &[],
        namespaced: false,
    },
    KindInfo {
        kind: "Gateway",
        group: GATEWAY_GROUP,
        versions: &["v1", "v1beta1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "HTTPRoute",
        group: GATEWAY_GROUP,
        versions: &["v1", "v1beta1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "GRPCRoute",
        group: GATEWAY_GROUP,
        versions: &["v1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "TLSRoute",
        group: GATEWAY_GROUP,
        versions: &["v1alpha2", "v1alpha3"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "TCPRoute",
        group: GATEWAY_GROUP,
        versions: &["v1alpha2"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "UDPRoute",
        group: GATEWAY_GROUP,
        versions: &["v1alpha2"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "ReferenceGrant",
        group: GATEWAY_GROUP,
        versions: &["v1beta1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "BackendTLSPolicy",
        group: GATEWAY_GROUP,
        versions: &["v1", "v1alpha3"],
        deprecated: &["v1alpha3"],
        namespaced: true,
    },
    KindInfo {
        kind: "XListenerSet",
        group: X_GATEWAY_GROUP,
        versions: &["v1alpha1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "XBackendTrafficPolicy",
        group: X_GATEWAY_GROUP,
        versions: &["v1alpha1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "XMesh",
        group: X_GATEWAY_GROUP,
        versions: &["v1alpha1"],
        deprecated: &[],
        namespaced: false,
    },
    KindInfo {
        kind: "Namespace",
        group: "",
        versions: &["v1"],
        deprecated: &[],
        namespaced: false,
    },
    KindInfo {
        kind: "Service",
        group: "",
        versions: &["v1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "Secret",
        group: "",
        versions: &["v1"],
        deprecated: &[],
        namespaced: true,
    },
    KindInfo {
        kind: "ConfigMap",
        group: "",
        versions: &["v1"],
        deprecated: &[],
        namespaced: true,
    },
];

/// API groups of Kubernetes itself: objects of these groups that the data plane does not read
/// (Deployments, Pods, EndpointSlices, ...) are kept as [`Resource::Other`] without a warning.
const KUBERNETES_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "discovery.k8s.io",
    "rbac.authorization.k8s.io",
    "policy",
    "networking.k8s.io",
    "autoscaling",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
];

impl Resource {
    /// The kind as written in manifests.
    pub fn kind(&self) -> &str {
        match self {
            Self::GatewayClass(_) => "GatewayClass",
            Self::Gateway(_) => "Gateway",
            Self::HttpRoute(_) => "HTTPRoute",
            Self::GrpcRoute(_) => "GRPCRoute",
            Self::TlsRoute(_) => "TLSRoute",
            Self::TcpRoute(_) => "TCPRoute",
            Self::UdpRoute(_) => "UDPRoute",
            Self::ReferenceGrant(_) => "ReferenceGrant",
            Self::BackendTlsPolicy(_) => "BackendTLSPolicy",
            Self::XListenerSet(_) => "XListenerSet",
            Self::XBackendTrafficPolicy(_) => "XBackendTrafficPolicy",
            Self::XMesh(_) => "XMesh",
            Self::Namespace(_) => "Namespace",
            Self::Service(_) => "Service",
            Self::Secret(_) => "Secret",
            Self::ConfigMap(_) => "ConfigMap",
            Self::Other { kind, .. } => kind,
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::GatewayClass(r) => &r.metadata,
            Self::Gateway(r) => &r.metadata,
            Self::HttpRoute(r) => &r.metadata,
            Self::GrpcRoute(r) => &r.metadata,
            Self::TlsRoute(r) | Self::TcpRoute(r) | Self::UdpRoute(r) => &r.metadata,
            Self::ReferenceGrant(r) => &r.metadata,
            Self::BackendTlsPolicy(r) => &r.metadata,
            Self::XListenerSet(r) => &r.metadata,
            Self::XBackendTrafficPolicy(r) => &r.metadata,
            Self::XMesh(r) => &r.metadata,
            Self::Namespace(r) => &r.metadata,
            Self::Service(r) => &r.metadata,
            Self::Secret(r) => &r.metadata,
            Self::ConfigMap(r) => &r.metadata,
            Self::Other { metadata, .. } => metadata,
        }
    }

    /// The object's metadata, mutable (used to apply patches and generation bumps).
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Self::GatewayClass(r) => &mut r.metadata,
            Self::Gateway(r) => &mut r.metadata,
            Self::HttpRoute(r) => &mut r.metadata,
            Self::GrpcRoute(r) => &mut r.metadata,
            Self::TlsRoute(r) | Self::TcpRoute(r) | Self::UdpRoute(r) => &mut r.metadata,
            Self::ReferenceGrant(r) => &mut r.metadata,
            Self::BackendTlsPolicy(r) => &mut r.metadata,
            Self::XListenerSet(r) => &mut r.metadata,
            Self::XBackendTrafficPolicy(r) => &mut r.metadata,
            Self::XMesh(r) => &mut r.metadata,
            Self::Namespace(r) => &mut r.metadata,
            Self::Service(r) => &mut r.metadata,
            Self::Secret(r) => &mut r.metadata,
            Self::ConfigMap(r) => &mut r.metadata,
            Self::Other { metadata, .. } => metadata,
        }
    }

    /// The id used in findings and status.
    pub fn id(&self) -> ResourceId {
        let meta = self.metadata();
        ResourceId::new(self.kind(), meta.namespace.as_deref(), &meta.name)
    }

    /// The object as JSON, with `apiVersion` and `kind`.
    pub fn to_value(&self, api_version: &str) -> Value {
        fn body<T: Serialize>(t: &T) -> Value {
            serde_json::to_value(t).unwrap_or(Value::Null)
        }
        let mut value = match self {
            Self::GatewayClass(r) => body(r),
            Self::Gateway(r) => body(r),
            Self::HttpRoute(r) => body(r),
            Self::GrpcRoute(r) => body(r),
            Self::TlsRoute(r) | Self::TcpRoute(r) | Self::UdpRoute(r) => body(r),
            Self::ReferenceGrant(r) => body(r),
            Self::BackendTlsPolicy(r) => body(r),
            Self::XListenerSet(r) => body(r),
            Self::XBackendTrafficPolicy(r) => body(r),
            Self::XMesh(r) => body(r),
            Self::Namespace(r) => body(r),
            Self::Service(r) => body(r),
            Self::Secret(r) => body(r),
            Self::ConfigMap(r) => body(r),
            Self::Other { raw, .. } => return raw.clone(),
        };
        if let Value::Object(map) = &mut value {
            map.insert(
                "apiVersion".to_owned(),
                Value::String(api_version.to_owned()),
            );
            map.insert("kind".to_owned(), Value::String(self.kind().to_owned()));
        }
        value
    }
}

/// A set of resources read from manifests: the input of attachment and routing.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Every object, in input order.
    pub objects: Vec<Object>,
}

/// What a successful load produced: the snapshot and its warnings.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The resources.
    pub snapshot: Snapshot,
    /// Warnings (unknown fields and kinds, deprecated versions, regexes later stages drop).
    pub warnings: Vec<Diagnostic>,
}

impl Snapshot {
    /// Reads YAML (any number of documents) or JSON (any number of objects) text, then
    /// validates it as the v1.4.1 experimental-channel CRDs would.
    ///
    /// # Errors
    /// A [`LoadError`] holding every finding when the input is not UTF-8, too large, not YAML or
    /// JSON, or holds resources the API server would reject.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::api::{LoadOptions, Snapshot};
    /// let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
    ///             metadata: {name: example}\nspec: {controllerName: example.com/gateway}\n";
    /// let loaded = Snapshot::load(text.as_bytes(), &LoadOptions::default()).unwrap();
    /// assert_eq!(loaded.snapshot.objects.len(), 1);
    /// ```
    pub fn load(input: &[u8], options: &LoadOptions) -> Result<Loaded, LoadError> {
        let fail = |message: String| LoadError {
            diagnostics: vec![Diagnostic::error(None, "", message)],
        };
        if input.len() > options.max_bytes {
            return Err(fail(Limit::Bytes.hit(format!(
                "the input is {} bytes, more than {}",
                grouped(input.len()),
                grouped(options.max_bytes)
            ))));
        }
        let text = std::str::from_utf8(input).map_err(|e| {
            fail(format!(
                "input is not UTF-8: invalid byte at offset {}",
                e.valid_up_to()
            ))
        })?;
        let documents = parse_documents(text, options).map_err(fail)?;

        let mut diagnostics = Vec::new();
        let mut snapshot = Snapshot::default();
        for (index, doc) in documents.into_iter().enumerate() {
            for value in expand_list(doc, index, &mut diagnostics) {
                if snapshot.objects.len() >= options.max_resources {
                    diagnostics.push(
                        Diagnostic::error(
                            None,
                            "",
                            Limit::Resources.hit(format!(
                                "the input has more than {} resources",
                                grouped(options.max_resources)
                            )),
                        )
                        .in_document(index),
                    );
                    return Err(LoadError { diagnostics });
                }
                if let Some(object) = read_object(value, index, options, &mut diagnostics) {
                    snapshot.objects.push(object);
                }
            }
        }
        if options.validate {
            diagnostics.extend(validate::validate(&snapshot));
        }
        if options.strict {
            for d in &mut diagnostics {
                d.severity = super::diagnostic::Severity::Error;
            }
        }
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(LoadError { diagnostics });
        }
        Ok(Loaded {
            snapshot,
            warnings: diagnostics,
        })
    }

    /// Adds the objects of another snapshot after this one's.
    pub fn extend(&mut self, other: Snapshot) {
        self.objects.extend(other.objects);
    }

    /// Every resource, in input order.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.objects.iter().map(|o| &o.resource)
    }

    /// The Gateway `namespace/name` (a Gateway without a namespace is in `default`).
    pub fn gateway(&self, namespace: &str, name: &str) -> Option<&Gateway> {
        self.resources().find_map(|r| match r {
            Resource::Gateway(g)
                if g.metadata.name == name && g.metadata.namespace_or_default() == namespace =>
            {
                Some(g)
            }
            _ => None,
        })
    }

    /// The snapshot as a Kubernetes `List` in JSON; loading it again gives an equal snapshot
    /// (document indexes aside).
    pub fn to_json(&self) -> String {
        let items: Vec<Value> = self
            .objects
            .iter()
            .map(|o| o.resource.to_value(&o.api_version))
            .collect();
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
        serde_json::to_string_pretty(&list).unwrap_or_default()
    }
}

/// Splits the input into documents: a JSON stream when it starts with `{` or `[`, else YAML.
fn parse_documents(text: &str, options: &LoadOptions) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let values: Vec<Value> = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut out = Vec::new();
        for (i, item) in serde_json::Deserializer::from_str(trimmed)
            .into_iter::<Value>()
            .enumerate()
        {
            if i >= options.max_documents {
                return Err(too_many_documents(options));
            }
            let value = item.map_err(|e| format!("JSON object {i}: {e}"))?;
            match value {
                Value::Array(items) => out.extend(items),
                other => out.push(other),
            }
        }
        out
    } else {
        let mut budget = serde_saphyr::Budget::default();
        budget.max_depth = options.max_depth;
        // Empty documents (a trailing `---`) count too; the resource limit proper is checked below.
        budget.max_documents = options.max_documents;
        budget.max_nodes = options.max_yaml_nodes;
        // An event per node, per closing bracket, and per document and stream start and end:
        // the node or document limit always trips first (see `LoadOptions`).
        budget.max_events = options
            .max_yaml_nodes
            .saturating_mul(2)
            .saturating_add(options.max_documents.saturating_mul(2))
            .saturating_add(2);
        budget.max_aliases = options.max_yaml_aliases;
        budget.max_total_scalar_bytes = options.max_bytes;
        let mut yaml_options = serde_saphyr::Options::default();
        yaml_options.budget = Some(budget);
        yaml_options.alias_limits.max_total_replayed_events = options.max_yaml_alias_events;
        yaml_options.with_snippet = false;
        // YAML 1.2 core schema: only `true`/`false` are booleans, so `name: y` or `value: on`
        // stay the strings their authors meant.
        yaml_options.strict_booleans = true;
        serde_saphyr::from_multiple_with_options::<Option<Value>>(text, yaml_options)
            .map_err(|e| yaml_error(&e, options))?
            .into_iter()
            .flatten()
            .collect()
    };
    for (i, v) in values.iter().enumerate() {
        if depth(v) > options.max_depth {
            return Err(Limit::Depth.hit(format!(
                "document {i} nests deeper than {} levels",
                grouped(options.max_depth)
            )));
        }
    }
    Ok(values)
}

/// The YAML parser's error; for a budget it spent, which limit of [`LoadOptions`] that was and
/// how to raise it.
fn yaml_error(error: &serde_saphyr::Error, options: &LoadOptions) -> String {
    use serde_saphyr::Error;
    use serde_saphyr::budget::BudgetBreach;
    let mut inner = error;
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    match inner {
        Error::Budget { breach, .. } => match breach {
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                Limit::YamlNodes.hit(format!(
                    "the YAML has more than {} nodes",
                    grouped(options.max_yaml_nodes)
                ))
            }
            BudgetBreach::Documents { .. } => too_many_documents(options),
            BudgetBreach::Depth { .. } => Limit::Depth.hit(format!(
                "the YAML nests deeper than {} levels",
                grouped(options.max_depth)
            )),
            BudgetBreach::Aliases { .. } => Limit::YamlAliases.hit(format!(
                "the YAML has more than {} aliases",
                grouped(options.max_yaml_aliases)
            )),
            BudgetBreach::ScalarBytes { .. } => Limit::Bytes.hit(format!(
                "the YAML's values hold more than {} bytes",
                grouped(options.max_bytes)
            )),
            _ => format!("YAML: {error}"),
        },
        Error::AliasReplayLimitExceeded { .. } => Limit::YamlAliasEvents.hit(format!(
            "the YAML's aliases expand to more than {} parser events",
            grouped(options.max_yaml_alias_events)
        )),
        _ => format!("YAML: {error}"),
    }
}

fn too_many_documents(options: &LoadOptions) -> String {
    Limit::Documents.hit(format!(
        "the input has more than {} documents",
        grouped(options.max_documents)
    ))
}

/// A limit of [`LoadOptions`], named in the error of input that goes over it.
#[derive(Clone, Copy, Debug)]
enum Limit {
    Bytes,
    Depth,
    Resources,
    Documents,
    YamlNodes,
    YamlAliases,
    YamlAliasEvents,
}

impl Limit {
    /// `what` went over the limit, then the limit's name and how to raise it, e.g. `the input
    /// has more than 3 resources (limit max_resources; raise it with LoadOptions::max_resources
    /// or --max-resources)`.
    fn hit(self, what: String) -> String {
        let field = self.field();
        let flag = field.replace('_', "-");
        format!("{what} (limit {field}; raise it with LoadOptions::{field} or --{flag})")
    }

    /// The field of [`LoadOptions`]; the `gateway` flag is the same with `-` for `_`.
    fn field(self) -> &'static str {
        match self {
            Self::Bytes => "max_bytes",
            Self::Depth => "max_depth",
            Self::Resources => "max_resources",
            Self::Documents => "max_documents",
            Self::YamlNodes => "max_yaml_nodes",
            Self::YamlAliases => "max_yaml_aliases",
            Self::YamlAliasEvents => "max_yaml_alias_events",
        }
    }
}

/// `n` with thousands separators: `2,500,000`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Nesting depth of a JSON value, computed without recursion.
fn depth(value: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    max
}

/// A `kind: List` becomes its items; any other document is itself.
fn expand_list(doc: Value, index: usize, diagnostics: &mut Vec<Diagnostic>) -> Vec<Value> {
    let is_list = doc
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && doc.get("items").is_some();
    if !is_list {
        return vec![doc];
    }
    match doc {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) => Vec::new(),
            _ => {
                diagnostics.push(
                    Diagnostic::error(None, "items", "a List's items must be a list")
                        .in_document(index),
                );
                Vec::new()
            }
        },
        _ => Vec::new(),
    }
}

/// Reads one object: checks apiVersion and kind, then deserializes the typed resource,
/// collecting unknown fields as warnings.
fn read_object(
    value: Value,
    document: usize,
    options: &LoadOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Object> {
    let Value::Object(mut map) = value else {
        diagnostics.push(
            Diagnostic::error(
                None,
                "",
                format!("a resource must be a map, found {}", type_name(&value)),
            )
            .in_document(document),
        );
        return None;
    };
    let api_version = match map.remove("apiVersion") {
        Some(Value::String(s)) => s,
        _ => {
            diagnostics.push(
                Diagnostic::error(None, "apiVersion", "missing or not a string")
                    .in_document(document),
            );
            return None;
        }
    };
    let kind = match map.remove("kind") {
        Some(Value::String(s)) => s,
        _ => {
            diagnostics.push(
                Diagnostic::error(None, "kind", "missing or not a string").in_document(document),
            );
            return None;
        }
    };
    let (group, version) = api_version
        .rsplit_once('/')
        .unwrap_or(("", api_version.as_str()));
    let meta_value = map.get("metadata").cloned().unwrap_or(Value::Null);
    let name = meta_value
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let namespace = meta_value
        .get("namespace")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let namespaced = KINDS
        .iter()
        .find(|k| k.kind == kind && k.group == group)
        .is_none_or(|k| k.namespaced);
    // As `kubectl apply` does: a namespaced object without a namespace goes to `default`.
    let namespace = namespace.or_else(|| namespaced.then(|| "default".to_owned()));
    let id = ResourceId {
        kind: kind.clone(),
        namespace: namespace.clone(),
        name,
    };

    let Some(info) = KINDS.iter().find(|k| k.kind == kind && k.group == group) else {
        let metadata: ObjectMeta = super::read::typed(&meta_value)
            .map(|(meta, _)| meta)
            .unwrap_or_default();
        if !KUBERNETES_GROUPS.contains(&group) {
            let known_elsewhere = KINDS.iter().any(|k| k.kind == kind);
            let message = if known_elsewhere {
                format!("kind {kind} is not in API group {group:?}; it is ignored")
            } else {
                format!("unknown kind {kind} of {api_version}; it is ignored")
            };
            diagnostics
                .push(finding(options.strict, Some(id), "kind", message).in_document(document));
        }
        let mut raw = Value::Object(map);
        if let Value::Object(m) = &mut raw {
            m.insert("apiVersion".to_owned(), Value::String(api_version.clone()));
            m.insert("kind".to_owned(), Value::String(kind.clone()));
        }
        return Some(Object {
            api_version,
            document,
            resource: Resource::Other {
                kind,
                metadata,
                raw,
            },
        });
    };
    if !info.versions.contains(&version) {
        diagnostics.push(
            Diagnostic::error(
                Some(id),
                "apiVersion",
                format!(
                    "{kind} is not served at {api_version}; served versions: {}",
                    info.versions.join(", ")
                ),
            )
            .in_document(document),
        );
        return None;
    }
    if info.deprecated.contains(&version) {
        diagnostics.push(
            Diagnostic::warning(
                Some(id.clone()),
                "apiVersion",
                format!(
                    "{api_version} {kind} is deprecated; use {group}/{}",
                    info.versions[0]
                ),
            )
            .in_document(document),
        );
    }
    if !matches!(map.get("metadata"), Some(Value::Object(_))) {
        diagnostics.push(
            Diagnostic::error(Some(id), "metadata", "missing or not a map").in_document(document),
        );
        return None;
    }

    let value = Value::Object(map);
    let resource = match kind.as_str() {
        "GatewayClass" => {
            typed(value, &id, document, options, diagnostics).map(Resource::GatewayClass)
        }
        "Gateway" => typed(value, &id, document, options, diagnostics).map(Resource::Gateway),
        "HTTPRoute" => typed(value, &id, document, options, diagnostics).map(Resource::HttpRoute),
        "GRPCRoute" => typed(value, &id, document, options, diagnostics).map(Resource::GrpcRoute),
        "TLSRoute" => typed(value, &id, document, options, diagnostics).map(Resource::TlsRoute),
        "TCPRoute" => typed(value, &id, document, options, diagnostics).map(Resource::TcpRoute),
        "UDPRoute" => typed(value, &id, document, options, diagnostics).map(Resource::UdpRoute),
        "ReferenceGrant" => {
            typed(value, &id, document, options, diagnostics).map(Resource::ReferenceGrant)
        }
        "BackendTLSPolicy" => {
            typed(value, &id, document, options, diagnostics).map(Resource::BackendTlsPolicy)
        }
        "XListenerSet" => {
            typed(value, &id, document, options, diagnostics).map(Resource::XListenerSet)
        }
        "XBackendTrafficPolicy" => {
            typed(value, &id, document, options, diagnostics).map(Resource::XBackendTrafficPolicy)
        }
        "XMesh" => typed(value, &id, document, options, diagnostics).map(Resource::XMesh),
        "Namespace" => typed(value, &id, document, options, diagnostics).map(Resource::Namespace),
        "Service" => typed(value, &id, document, options, diagnostics).map(Resource::Service),
        "Secret" => typed(value, &id, document, options, diagnostics).map(Resource::Secret),
        "ConfigMap" => typed(value, &id, document, options, diagnostics).map(Resource::ConfigMap),
        _ => None,
    };
    let mut resource = resource?;
    if info.namespaced && resource.metadata().namespace.is_none() {
        // As `kubectl apply` does: a namespaced object without a namespace goes to `default`.
        resource.metadata_mut().namespace = Some("default".to_owned());
    }
    if resource.metadata().name.is_empty() {
        diagnostics.push(
            Diagnostic::error(Some(resource.id()), "metadata.name", "required")
                .in_document(document),
        );
        return None;
    }
    Some(Object {
        api_version,
        document,
        resource,
    })
}

/// Deserializes a typed resource, reporting type errors with their path and unknown fields as
/// warnings (errors when strict).
fn typed<T: DeserializeOwned>(
    value: Value,
    id: &ResourceId,
    document: usize,
    options: &LoadOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    match super::read::typed(&value) {
        Ok((t, unknown)) => {
            for path in unknown {
                diagnostics.push(
                    finding(options.strict, Some(id.clone()), path, "unknown field")
                        .in_document(document),
                );
            }
            Some(t)
        }
        Err(e) => {
            diagnostics
                .push(Diagnostic::error(Some(id.clone()), e.path, e.message).in_document(document));
            None
        }
    }
}

fn finding(
    strict: bool,
    id: Option<ResourceId>,
    path: impl Into<String>,
    message: impl Into<String>,
) -> Diagnostic {
    if strict {
        Diagnostic::error(id, path, message)
    } else {
        Diagnostic::warning(id, path, message)
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}
