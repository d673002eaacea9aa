//! CRD-equivalent validation of a loaded snapshot.
//!
//! [`validate`] checks every Gateway API resource as the API server would with the v1.4.1
//! experimental-channel CRDs installed: the OpenAPI schema (lengths, patterns, ranges, item
//! counts, list-map keys) and the `x-kubernetes-validations` CEL rules. Each violation is an
//! error naming the resource, its document and the JSON path of the field
//! (`spec.rules[2].matches[0].path.value`).
//!
//! Some findings are warnings instead, because the API server accepts the object and later
//! stages report them on status: enum values this version does not know (`UnsupportedValue`),
//! regular expressions that do not compile, and a few values the CRDs allow but the
//! specification says are ignored.
//!
//! Nothing here may panic on any input: no unwrapping, no indexing.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod checks;
mod filter;
mod gateway;
mod names;
mod path;
mod policy;
pub(crate) mod regex;

pub use self::regex::compile_regex;
pub(crate) use names::parse_duration_ms;
mod route;

use std::fmt::Display;

use super::{Diagnostic, Object, Resource, ResourceId, Snapshot};
use checks::{ObjectMetaKind, metadata};

/// Checks every resource as the v1.4.1 experimental-channel CRDs (schemas and CEL rules) would.
///
/// Returns every finding, errors and warnings, in input order; an empty list means the
/// snapshot is valid. Costs time linear in the size of the snapshot; every regular expression
/// of a match is compiled once.
pub fn validate(snapshot: &Snapshot) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for object in &snapshot.objects {
        let mut cx = Cx::new(object, &mut out);
        validate_object(&mut cx, object);
    }
    out
}

fn validate_object(cx: &mut Cx<'_>, object: &Object) {
    match &object.resource {
        Resource::GatewayClass(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            gateway::gateway_class(
                cx,
                &r.spec.controller_name,
                r.spec.description.as_deref(),
                r.spec.parameters_ref.as_ref(),
            );
        }
        Resource::Gateway(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            gateway::gateway(cx, &r.spec);
        }
        Resource::XListenerSet(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            gateway::listener_set(cx, &r.spec);
        }
        Resource::HttpRoute(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            route::http_route(cx, &r.spec);
        }
        Resource::GrpcRoute(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            route::grpc_route(cx, &r.spec);
        }
        Resource::TlsRoute(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            let version = object.api_version.rsplit('/').next().unwrap_or_default();
            route::l4_route(
                cx,
                &r.spec,
                route::L4Kind::Tls {
                    v1alpha3: version == "v1alpha3",
                },
            );
        }
        Resource::TcpRoute(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            route::l4_route(cx, &r.spec, route::L4Kind::Tcp);
        }
        Resource::UdpRoute(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            route::l4_route(cx, &r.spec, route::L4Kind::Udp);
        }
        Resource::ReferenceGrant(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            policy::reference_grant(cx, &r.spec);
        }
        Resource::BackendTlsPolicy(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            policy::backend_tls_policy(cx, &r.spec);
        }
        Resource::XBackendTrafficPolicy(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            policy::backend_traffic_policy(cx, &r.spec);
        }
        Resource::XMesh(r) => {
            metadata(cx, &r.metadata, ObjectMetaKind::Subdomain);
            gateway::gateway_class(
                cx,
                &r.spec.controller_name,
                r.spec.description.as_deref(),
                r.spec.parameters_ref.as_ref(),
            );
        }
        Resource::Namespace(r) => metadata(cx, &r.metadata, ObjectMetaKind::Label),
        Resource::Service(r) => metadata(cx, &r.metadata, ObjectMetaKind::Dns1035Label),
        Resource::Secret(r) => metadata(cx, &r.metadata, ObjectMetaKind::Subdomain),
        Resource::ConfigMap(r) => metadata(cx, &r.metadata, ObjectMetaKind::Subdomain),
        _ => {}
    }
}

/// Where findings about one object go: its id, its document and the output list.
pub(super) struct Cx<'a> {
    id: ResourceId,
    document: usize,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    fn new(object: &Object, out: &'a mut Vec<Diagnostic>) -> Self {
        Self {
            id: object.resource.id(),
            document: object.document,
            out,
        }
    }

    /// Records that the API server would reject the field at `path`.
    ///
    /// The path is rendered here, so callers pass a [`path::FieldPath`] (or a literal) and a
    /// valid object formats no paths at all.
    pub(super) fn error(&mut self, path: impl Display, message: impl Into<String>) {
        self.out.push(
            Diagnostic::error(Some(self.id.clone()), path.to_string(), message)
                .in_document(self.document),
        );
    }

    /// Records a finding about the field at `path` that does not make the object invalid.
    pub(super) fn warning(&mut self, path: impl Display, message: impl Into<String>) {
        self.out.push(
            Diagnostic::warning(Some(self.id.clone()), path.to_string(), message)
                .in_document(self.document),
        );
    }
}

#[cfg(test)]
mod tests;
