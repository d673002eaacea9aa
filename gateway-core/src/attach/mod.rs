//! The controller half: which routes each Gateway listener serves, and the status a controller
//! would write back.
//!
//! [`Config::new`] takes a loaded [`Snapshot`] and [`AttachOptions`] and computes, with no I/O
//! and deterministically, the listeners of every Gateway of our GatewayClasses, the routes
//! attached to each (after parentRefs, `allowedRoutes`, hostname intersection and
//! ReferenceGrants), which rules and backends are usable, and a [`StatusReport`].
//!
//! Choices where the spec leaves room:
//! - A route's original hostnames are kept for precedence; the listener hostname only filters
//!   which route hostnames apply (the reading upstream takes after v1.4).
//! - Listeners that conflict (same port, incompatible protocol, or same hostname) report
//!   `Conflicted=True` and `Programmed=False` and serve nothing; the rest are still served.
//!   Within one Gateway or one XListenerSet both listeners of a conflicting pair lose; across
//!   resources the earlier one in the merged list wins (see below).
//!
//! XListenerSets (GEP-1713, experimental) are merged into their parent Gateway when its
//! `allowedListeners` admits their namespace (by default it admits none). The merged list is
//! the Gateway's own listeners, then each admitted set's, sets ordered by `creationTimestamp`
//! (oldest first; a missing timestamp counts as oldest) then `{namespace}/{name}`, each set's in
//! spec order. See `listener_set.rs` for the rules and the choices made where GEP-1713 leaves
//! room.

pub(crate) mod certs;
mod conditions;
mod gateway;
mod hostname;
mod listener_set;
mod mesh;
mod refs;
mod route;
mod rule;
mod status;
mod traffic;

pub(crate) use rule::{RuleFilters, RuleSpec, WireRule, rule_spec, unsupported_extension};
pub(crate) use traffic::TrafficPolicies;

use crate::api::{Listener, ObjectMeta, Resource, ResourceId, Snapshot};

pub use gateway::{
    MESH_SUPPORTED_FEATURES, MESH_TEST_VERIFIED_FEATURES, PARTLY_VERIFIED_FEATURES,
    SUPPORTED_FEATURES,
};
pub use hostname::{host_matches, intersect};
pub use status::{
    ClassStatus, GatewayStatus, GatewayStatusAddress, ListenerEntryStatus, ListenerSetStatus,
    ListenerStatus, ObjectStatus, PolicyAncestorStatus, PolicyStatus, RouteParentStatus,
    RouteStatus, Status, StatusReport,
};

/// The controller's identity and the inputs a cluster would supply.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachOptions {
    /// Our controller name: GatewayClasses with this `controllerName` are ours.
    pub controller_name: String,
    /// Addresses this data plane can serve on; requested addresses outside it are not usable,
    /// and a Gateway that requests none is given the first.
    pub address_pool: Vec<String>,
    /// `lastTransitionTime` written on every condition (the library reads no clock).
    pub transition_time: String,
    /// GatewayClass names handled as ours whatever the manifests say: manifests taken from an
    /// application repository name a class the platform installs and seldom hold it. A named
    /// class in the manifests is ours whatever its `controllerName` (its `Accepted` message
    /// says it was assumed); one absent from them still makes its Gateways ours. Empty by
    /// default.
    pub assumed_classes: Vec<String>,
    /// Resolve a backendRef to a Service (core group, kind `Service`) that the manifests do
    /// not hold as if it existed, with the port the backendRef gives (an application's
    /// manifests seldom hold the Services of other teams, or any). ReferenceGrants still
    /// apply. Backends resolved so are marked `assumed` ([`Backend::assumed`], the JSON
    /// `backend.assumed`), the route's `ResolvedRefs` message names them and
    /// [`Config::assumed_services`] lists them. Off by default: a missing Service is then
    /// `BackendNotFound` and its traffic answers 500, as the spec says.
    pub assume_services: bool,
    /// Implement the mesh (GAMMA): attach routes whose parentRefs name a Service, write their
    /// status, and let the mesh router serve them. An XMesh
    /// whose `controllerName` is ours turns this on too. Off by default: Service parentRefs
    /// are then another implementation's and get no status from us.
    pub mesh: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        Self {
            controller_name: DEFAULT_CONTROLLER_NAME.to_owned(),
            address_pool: Vec::new(),
            transition_time: "1970-01-01T00:00:00Z".to_owned(),
            assumed_classes: Vec::new(),
            assume_services: false,
            mesh: false,
        }
    }
}

/// The controller name used when the embedder does not choose one.
pub const DEFAULT_CONTROLLER_NAME: &str = "gateway.example.dev/gateway-core";

/// The kinds of route the library attaches.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// HTTPRoute.
    Http,
    /// GRPCRoute.
    Grpc,
    /// TLSRoute.
    Tls,
    /// TCPRoute.
    Tcp,
    /// UDPRoute.
    Udp,
}

impl RouteKind {
    /// The kind as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTPRoute",
            Self::Grpc => "GRPCRoute",
            Self::Tls => "TLSRoute",
            Self::Tcp => "TCPRoute",
            Self::Udp => "UDPRoute",
        }
    }

    fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "HTTPRoute" => Self::Http,
            "GRPCRoute" => Self::Grpc,
            "TLSRoute" => Self::Tls,
            "TCPRoute" => Self::Tcp,
            "UDPRoute" => Self::Udp,
            _ => return None,
        })
    }
}

/// A listener protocol the library serves.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Cleartext HTTP (HTTP/1.1 and h2c).
    Http,
    /// HTTP over TLS terminated at the Gateway.
    Https,
    /// TLS, passed through or terminated, routed by SNI.
    Tls,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    fn parse(protocol: &str) -> Option<Self> {
        Some(match protocol {
            "HTTP" => Self::Http,
            "HTTPS" => Self::Https,
            "TLS" => Self::Tls,
            "TCP" => Self::Tcp,
            "UDP" => Self::Udp,
            _ => return None,
        })
    }

    /// Route kinds a listener of this protocol can serve.
    fn kinds(self) -> &'static [RouteKind] {
        match self {
            Self::Http | Self::Https => &[RouteKind::Http, RouteKind::Grpc],
            Self::Tls => &[RouteKind::Tls],
            Self::Tcp => &[RouteKind::Tcp],
            Self::Udp => &[RouteKind::Udp],
        }
    }

    /// Listeners on one port must agree on this (Gateway API `ProtocolConflict`).
    fn port_family(self) -> u8 {
        match self {
            Self::Http => 0,
            Self::Https | Self::Tls => 1,
            Self::Tcp => 2,
            Self::Udp => 3,
        }
    }
}

/// A compiled configuration: the snapshot, what attaches where, and the status of everything.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) snapshot: Snapshot,
    pub(crate) options: AttachOptions,
    pub(crate) gateways: Vec<GatewayState>,
    pub(crate) routes: Vec<RouteState>,
    /// The mesh Service ports with their routes; `None` when the mesh is not ours.
    pub(crate) mesh: Option<Vec<mesh::MeshPortState>>,
    status: StatusReport,
}

/// An XListenerSet whose parentRef names one of our Gateways.
#[derive(Clone, Debug)]
pub(crate) struct ListenerSetState {
    pub(crate) id: ResourceId,
    /// Index of the parent in the list of our Gateways.
    pub(crate) gateway: usize,
    /// Admitted by the Gateway and merged into its listeners (the set's `Accepted` may still
    /// be False with `ListenersNotValid` when none of its listeners is valid).
    pub(crate) merged: bool,
}

/// One Gateway of ours, with its listeners.
#[derive(Clone, Debug)]
pub(crate) struct GatewayState {
    pub(crate) id: ResourceId,
    /// The merged list: the Gateway's own listeners, then those of merged XListenerSets.
    pub(crate) listeners: Vec<ListenerState>,
}

/// One listener and the routes it serves.
#[derive(Clone, Debug)]
pub(crate) struct ListenerState {
    /// `None` for the Gateway's own listeners, else the index of the XListenerSet (in the list
    /// of [`ListenerSetState`]) that declared it.
    pub(crate) set: Option<usize>,
    /// The namespace of the resource that declared it (`allowedRoutes: Same`, certificates).
    pub(crate) namespace: String,
    /// The name of the resource that declared it (the Gateway or the XListenerSet).
    pub(crate) owner: String,
    /// The listener as written.
    pub(crate) spec: Listener,
    pub(crate) name: String,
    pub(crate) port: u16,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) hostname: Option<String>,
    /// Accepted, not conflicted: this listener serves traffic.
    pub(crate) serving: bool,
    pub(crate) kinds: Vec<RouteKind>,
    pub(crate) routes: Vec<Attached>,
}

/// A route attached to a listener, with the route hostnames that apply there.
#[derive(Clone, Debug)]
pub(crate) struct Attached {
    pub(crate) route: usize,
    /// The route's own hostnames that intersect the listener's; empty when the route names
    /// none (it then matches every host the listener accepts).
    pub(crate) hostnames: Vec<String>,
}

/// A route of any kind, with the usability of its rules and backends.
#[derive(Clone, Debug)]
pub(crate) struct RouteState {
    pub(crate) object: usize,
    pub(crate) kind: RouteKind,
    pub(crate) id: ResourceId,
    /// Per rule: `Some(reason)` when the rule is dropped.
    pub(crate) dropped: Vec<Option<String>>,
    /// Per rule, per backendRef: the resolved backend or why it is unusable.
    pub(crate) backends: Vec<Vec<BackendState>>,
    /// Per rule: the backendRefs its filters hold (ExternalAuth services, mirrors), resolved
    /// by the same rules as `backends`.
    pub(crate) filter_refs: Vec<FilterRefs>,
}

/// The backendRefs held by a rule's filters (its own, then each backendRef's), resolved in
/// attachment like the rule's backendRefs: a Service port that exists, in the route's
/// namespace or allowed by a ReferenceGrant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FilterRefs {
    /// One per ExternalAuth filter, in `filter::external_auth_filters` order.
    pub(crate) auth: Box<[BackendState]>,
    /// One per RequestMirror filter: the rule's filters in order, then each backendRef's.
    pub(crate) mirrors: Box<[BackendState]>,
}

/// A backendRef after resolution.
/// A backend a rule forwards to: a Service port.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Backend {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Service port.
    pub port: u16,
    /// The Service port's appProtocol (e.g. `kubernetes.io/h2c`), a hint for the proxy.
    pub app_protocol: Option<String>,
    /// The manifests do not hold the Service: it was assumed to exist
    /// ([`AttachOptions::assume_services`]).
    pub assumed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BackendState {
    /// A Service port that exists and may be referred to.
    Service {
        namespace: String,
        name: String,
        port: u16,
        app_protocol: Option<String>,
        /// Absent from the manifests, assumed to exist ([`AttachOptions::assume_services`]).
        assumed: bool,
    },
    /// Unusable; traffic for its share answers 500.
    Invalid {
        reason: &'static str,
        message: String,
    },
}

/// The Services [`AttachOptions::assume_services`] assumed among one route's references (its
/// rules' backends, then its filters' auth and mirror Services): `(namespace, name)`, each once,
/// in that order.
pub(crate) fn assumed_services<'a>(
    backends: &'a [Vec<BackendState>],
    filter_refs: &'a [FilterRefs],
) -> Vec<(&'a str, &'a str)> {
    let refs = backends.iter().flatten().chain(
        filter_refs
            .iter()
            .flat_map(|r| r.auth.iter().chain(r.mirrors.iter())),
    );
    let mut out: Vec<(&str, &str)> = Vec::new();
    for b in refs {
        if let BackendState::Service {
            namespace,
            name,
            assumed: true,
            ..
        } = b
        {
            let service = (namespace.as_str(), name.as_str());
            if !out.contains(&service) {
                out.push(service);
            }
        }
    }
    out
}

impl Config {
    /// Computes attachment and status for every Gateway of our GatewayClasses.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::api::{LoadOptions, Snapshot};
    /// use gateway_core::attach::{AttachOptions, Config};
    /// let yaml = include_str!("../../../examples/manifests/shop.yaml");
    /// let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).unwrap();
    /// let config = Config::new(loaded.snapshot, AttachOptions::default());
    /// let status = config.status();
    /// assert!(status.find("Gateway", Some("shop"), "shop").is_some());
    /// ```
    pub fn new(snapshot: Snapshot, options: AttachOptions) -> Self {
        let mut config = Self {
            snapshot,
            options,
            gateways: Vec::new(),
            routes: Vec::new(),
            mesh: None,
            status: StatusReport::default(),
        };
        let status = compute(&mut config);
        config.status = status;
        config
    }

    /// The status of every GatewayClass, Gateway, route and policy we handle.
    pub fn status(&self) -> &StatusReport {
        &self.status
    }

    /// The snapshot this configuration was computed from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The options it was computed with.
    pub fn options(&self) -> &AttachOptions {
        &self.options
    }

    /// The Gateways of our classes, as `(namespace, name)`.
    pub fn gateways(&self) -> impl Iterator<Item = (&str, &str)> {
        self.gateways.iter().map(|g| {
            (
                g.id.namespace.as_deref().unwrap_or_default(),
                g.id.name.as_str(),
            )
        })
    }

    /// Whether the library implements the mesh for these manifests
    /// ([`AttachOptions::mesh`], or an XMesh of our controller).
    pub fn mesh_enabled(&self) -> bool {
        self.mesh.is_some()
    }

    /// The Service ports of the mesh that routes attach to, as `(namespace, name, port)`, in
    /// the order routes first attached to them; empty when the mesh is not ours.
    pub fn mesh_ports(&self) -> impl Iterator<Item = (&str, &str, u16)> {
        self.mesh
            .iter()
            .flatten()
            .map(|p| (p.namespace.as_str(), p.name.as_str(), p.port))
    }

    /// The Services [`AttachOptions::assume_services`] assumed to exist, with the route that
    /// refers to them: `(route, namespace, name)` in route order, each Service once per route.
    /// Empty unless the option is on.
    pub fn assumed_services(&self) -> Vec<(&ResourceId, &str, &str)> {
        self.routes
            .iter()
            .flat_map(|route| {
                assumed_services(&route.backends, &route.filter_refs)
                    .into_iter()
                    .map(|(namespace, name)| (&route.id, namespace, name))
            })
            .collect()
    }

    pub(crate) fn resource(&self, object: usize) -> Option<&Resource> {
        self.snapshot.objects.get(object).map(|o| &o.resource)
    }
}

fn compute(config: &mut Config) -> StatusReport {
    let snapshot = &config.snapshot;
    let options = &config.options;
    let grants = refs::Grants::new(snapshot);
    let mut report = StatusReport::default();

    let classes = gateway::classes(snapshot, options, &mut report);
    let mut gateways = Vec::new();
    for (index, object) in snapshot.objects.iter().enumerate() {
        if let Resource::Gateway(gw) = &object.resource
            && classes.contains(&gw.spec.gateway_class_name)
        {
            gateways.push((
                index,
                gateway::gateway(snapshot, index, gw, options, &grants),
            ));
        }
    }
    let mut sets = listener_set::merge(snapshot, options, &grants, &mut gateways);
    let set_states: Vec<ListenerSetState> = sets.iter().map(|s| s.state.clone()).collect();
    let mut mesh = mesh::enabled(snapshot, options).then(mesh::MeshTable::default);
    let (routes, route_statuses) = route::attach_routes(
        snapshot,
        options,
        &grants,
        &mut gateways,
        &set_states,
        mesh.as_mut(),
    );
    listener_set::count_routes(&gateways, &mut sets);
    for (_, (gw_state, gw_status)) in &gateways {
        report.objects.push(ObjectStatus {
            id: gw_state.id.clone(),
            generation: generation(snapshot, gw_state),
            status: Status::Gateway(gw_status.clone()),
        });
    }
    report.objects.extend(sets.into_iter().map(|s| s.status));
    report.objects.extend(route_statuses);
    report
        .objects
        .extend(route::policies(snapshot, options, &gateways, &routes));
    report
        .objects
        .extend(traffic::policies(snapshot, options, &gateways, &routes));
    config.routes = routes;
    config.mesh = mesh.map(|m| m.ports);
    config.gateways = gateways.into_iter().map(|(_, (state, _))| state).collect();
    report
}

fn generation(snapshot: &Snapshot, gw: &GatewayState) -> i64 {
    snapshot
        .resources()
        .find(|r| {
            r.kind() == "Gateway"
                && r.metadata().name == gw.id.name
                && r.metadata().namespace == gw.id.namespace
        })
        .map_or(1, |r| r.metadata().generation)
}

/// Kubernetes label selector semantics over a namespace's labels.
pub(crate) fn selector_matches(
    selector: &crate::api::LabelSelector,
    namespace: &str,
    meta: Option<&ObjectMeta>,
) -> bool {
    // Kubernetes adds `kubernetes.io/metadata.name: <name>` to every namespace (since 1.22);
    // selectors rely on it, so it is present even when no Namespace object was loaded.
    let mut labels = meta.map(|m| m.labels.clone()).unwrap_or_default();
    labels
        .entry("kubernetes.io/metadata.name".to_owned())
        .or_insert_with(|| namespace.to_owned());
    selector
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector.match_expressions.iter().all(|e| {
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| e.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}
