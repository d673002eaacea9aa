//! GAMMA (mesh) attachment: routes whose parentRefs name a Service (`group: ""`,
//! `kind: Service`) attach to that Service's ports (GEP-1294, GEP-1324).
//!
//! The library attaches mesh routes only when it implements the mesh: an XMesh whose
//! `controllerName` is ours exists, or [`AttachOptions::mesh`](super::AttachOptions::mesh) is
//! on. Otherwise Service parentRefs are not ours and get no status, as before.
//!
//! Rules, and the choices made where the GEPs leave room:
//! - A parentRef attaches to every port of the Service, or to the one its `port` names, or to
//!   the one its `sectionName` names (a Service port name); with both, they must name one
//!   port. A Service that does not exist, or a port or port name it does not have, is
//!   `Accepted=False` with reason `NoMatchingParent` (the v1.4.1 reason for "no parent matches
//!   the reference").
//! - A route in the Service's namespace is a *producer* route and applies to every client; a
//!   route in another namespace is a *consumer* route and applies only to clients in its own
//!   namespace. For a client with consumer routes on a Service port, those replace the
//!   producer routes (consumer routes take precedence).
//! - Route hostnames are ignored: the Service and port select the routes, not the Host.
//! - Route-type precedence on one Service port, among routes of one namespace (one client
//!   scope): GRPCRoute, then HTTPRoute, then TLSRoute, then TCPRoute (GEP-1294). A route that
//!   loses on every port its parentRef selects reports `Accepted=False` with reason
//!   `Conflicted` (v1.4.1 names no reason for this; it is the one we report for the
//!   HTTPRoute/GRPCRoute conflict on a Gateway listener too).
//! - The mesh routes HTTP and gRPC only: a TLSRoute, TCPRoute or UDPRoute that keeps a Service
//!   port reports `Accepted=False` with reason `UnsupportedValue`.
//! - A route whose every parent is a Service may refer to backends in other namespaces without
//!   a ReferenceGrant; a route that also has a Gateway parent still needs one (references are
//!   resolved once per route).

use std::collections::HashMap;

use super::RouteKind;
use super::refs::Services;
use crate::api::{ParentReference, Resource, Service, Snapshot};

/// One Service port with the mesh routes attached to it.
#[derive(Clone, Debug)]
pub(crate) struct MeshPortState {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) port: u16,
    /// The routes attached here (indexes into the configuration's routes), after route-type
    /// precedence; each with the namespace whose clients it applies to (`None`: a producer
    /// route, every client).
    pub(crate) routes: Vec<MeshAttached>,
}

/// A route attached to a mesh Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MeshAttached {
    pub(crate) route: usize,
    pub(crate) kind: RouteKind,
    /// `None` for a producer route; the route's namespace for a consumer route.
    pub(crate) consumer: Option<String>,
    /// Which parentRef of the route attached it.
    pub(crate) parent: usize,
}

/// Whether the library implements the mesh for this snapshot: the option, or an XMesh of our
/// controller.
pub(crate) fn enabled(snapshot: &Snapshot, options: &super::AttachOptions) -> bool {
    options.mesh
        || snapshot.resources().any(|r| {
            matches!(r, Resource::XMesh(m) if m.spec.controller_name == options.controller_name)
        })
}

/// Whether a parentRef names a Service (a mesh parent).
pub(crate) fn is_service_parent(parent: &ParentReference) -> bool {
    parent.group.is_empty() && parent.kind == "Service"
}

/// The mesh Service ports being built, by `(namespace, name, port)`.
#[derive(Debug, Default)]
pub(crate) struct MeshTable {
    pub(crate) ports: Vec<MeshPortState>,
    index: HashMap<(String, String, u16), usize>,
    /// The Service parentRefs attached, by `(route, parentRef index)`.
    parent_refs: HashMap<(usize, usize), ParentReference>,
}

impl MeshTable {
    /// Attaches one parentRef of a route to the Service ports it selects, or says why not
    /// (Gateway API RouteConditionReason).
    pub(crate) fn attach(
        &mut self,
        services: &Services<'_>,
        route: (usize, RouteKind, &str),
        parent: (usize, &ParentReference),
    ) -> Result<(), (&'static str, String)> {
        let (route_index, kind, route_ns) = route;
        let (parent_index, parent_ref) = parent;
        let ns = parent_ref.namespace.as_deref().unwrap_or(route_ns);
        let Some(service) = services.get(ns, &parent_ref.name) else {
            return Err((
                "NoMatchingParent",
                format!("Service {ns}/{} does not exist", parent_ref.name),
            ));
        };
        let ports = selected_ports(service, parent_ref).map_err(|why| ("NoMatchingParent", why))?;
        let consumer = (ns != route_ns).then(|| route_ns.to_owned());
        self.parent_refs
            .insert((route_index, parent_index), parent_ref.clone());
        for port in ports {
            let key = (ns.to_owned(), parent_ref.name.clone(), port);
            let slot = *self.index.entry(key).or_insert_with(|| {
                self.ports.push(MeshPortState {
                    namespace: ns.to_owned(),
                    name: parent_ref.name.clone(),
                    port,
                    routes: Vec::new(),
                });
                self.ports.len() - 1
            });
            if let Some(entry) = self.ports.get_mut(slot) {
                let attached = MeshAttached {
                    route: route_index,
                    kind,
                    consumer: consumer.clone(),
                    parent: parent_index,
                };
                if !entry.routes.contains(&attached) {
                    entry.routes.push(attached);
                }
            }
        }
        Ok(())
    }

    /// Applies route-type precedence on every port and returns the `(route, parentRef)` pairs
    /// left with no port.
    pub(crate) fn resolve_kinds(&mut self) -> Vec<(usize, usize)> {
        let mut before: Vec<(usize, usize)> = Vec::new();
        for p in &self.ports {
            for a in &p.routes {
                if !before.contains(&(a.route, a.parent)) {
                    before.push((a.route, a.parent));
                }
            }
        }
        for p in &mut self.ports {
            let best = |scope: &Option<String>, routes: &[MeshAttached]| {
                routes
                    .iter()
                    .filter(|a| &a.consumer == scope)
                    .map(|a| kind_rank(a.kind))
                    .max()
                    .unwrap_or(0)
            };
            let keep: Vec<bool> = p
                .routes
                .iter()
                .map(|a| kind_rank(a.kind) >= best(&a.consumer, &p.routes))
                .collect();
            let mut keep = keep.into_iter();
            p.routes.retain(|_| keep.next().unwrap_or(true));
        }
        before
            .into_iter()
            .filter(|(route, parent)| {
                !self.ports.iter().any(|p| {
                    p.routes
                        .iter()
                        .any(|a| a.route == *route && a.parent == *parent)
                })
            })
            .collect()
    }

    /// The parentRef `parent` of route `route`, when it named a Service that attached.
    pub(crate) fn parent_ref(&self, route: usize, parent: usize) -> Option<&ParentReference> {
        self.parent_refs.get(&(route, parent))
    }
}

/// GEP-1294 route-type precedence: GRPCRoute over HTTPRoute over TLSRoute over TCPRoute.
/// UDPRoute is another protocol and ranks alone.
fn kind_rank(kind: RouteKind) -> u8 {
    match kind {
        RouteKind::Grpc => 4,
        RouteKind::Http => 3,
        RouteKind::Tls => 2,
        RouteKind::Tcp => 1,
        _ => 0,
    }
}

/// The Service ports a parentRef selects: all, the one `port` names, or the one `sectionName`
/// names (both: they must agree).
fn selected_ports(service: &Service, parent: &ParentReference) -> Result<Vec<u16>, String> {
    let name = format!(
        "Service {}/{}",
        service.metadata.namespace_or_default(),
        service.metadata.name
    );
    let ports: Vec<(u16, Option<&str>)> = service
        .spec
        .ports
        .iter()
        .filter_map(|p| Some((u16::try_from(p.port).ok()?, p.name.as_deref())))
        .collect();
    let selected: Vec<u16> = ports
        .iter()
        .filter(|(port, _)| parent.port.is_none_or(|p| i32::from(*port) == p))
        .filter(|(_, n)| parent.section_name.as_deref().is_none_or(|s| *n == Some(s)))
        .map(|(port, _)| *port)
        .collect();
    if selected.is_empty() {
        return Err(match (&parent.section_name, parent.port) {
            (Some(s), Some(p)) => format!("{name} has no port {p} named {s:?}"),
            (Some(s), None) => format!("{name} has no port named {s:?}"),
            (None, Some(p)) => format!("{name} has no port {p}"),
            (None, None) => format!("{name} has no ports"),
        });
    }
    Ok(selected)
}
