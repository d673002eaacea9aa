//! Building configurations and requests for tests.

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config, ObjectStatus, Status};
use gateway_core::outcome::Outcome;
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};

/// A GatewayClass of ours plus the given documents.
pub(crate) const CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: test}
spec: {controllerName: gateway.example.dev/gateway-core}
---
";

/// A Gateway `gw` in `default` with one HTTP listener on port 80 for all hosts, routes from
/// all namespaces.
pub(crate) const GATEWAY: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: test
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
";

/// Services `a`..`f` on port 80 in `default`.
pub(crate) const SERVICES: &str = "apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: default}, spec: {ports: [{port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: default}, spec: {ports: [{port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: c, namespace: default}, spec: {ports: [{port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: d, namespace: default}, spec: {ports: [{port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: e, namespace: default}, spec: {ports: [{port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: f, namespace: default}, spec: {ports: [{port: 80}]}}
---
";

pub(crate) fn config(yaml: &str) -> Config {
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("load: {e}"));
    let mut options = AttachOptions::default();
    options.address_pool = vec!["192.0.2.1".to_owned()];
    Config::new(loaded.snapshot, options)
}

/// The class, the Gateway, the Services and `routes`.
pub(crate) fn with_routes(routes: &str) -> Config {
    config(&format!("{CLASS}{GATEWAY}{SERVICES}{routes}"))
}

pub(crate) fn router(config: &Config) -> Router {
    router_for(config, "default", "gw")
}

/// The router of the Gateway `namespace/name`, with the secure path policy.
pub(crate) fn router_for(config: &Config, namespace: &str, name: &str) -> Router {
    let gateway = GatewayRef::new(namespace, name);
    Router::build(config, &gateway, PathPolicy::secure()).unwrap_or_else(|e| panic!("build: {e}"))
}

pub(crate) fn status<'c>(
    config: &'c Config,
    kind: &str,
    ns: Option<&str>,
    name: &str,
) -> &'c ObjectStatus {
    config
        .status()
        .find(kind, ns, name)
        .unwrap_or_else(|| panic!("no status for {kind} {name}"))
}

/// `(type, status, reason)` of a route's conditions on its first parent.
pub(crate) fn route_conditions(config: &Config, name: &str) -> Vec<(String, String, String)> {
    match &status(config, "HTTPRoute", Some("default"), name).status {
        Status::Route(r) => r
            .parents
            .first()
            .map(|p| {
                p.conditions
                    .iter()
                    .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        other => panic!("not a route status: {other:?}"),
    }
}

pub(crate) fn has(conds: &[(String, String, String)], t: &str, s: &str, r: &str) -> bool {
    conds.iter().any(|(a, b, c)| a == t && b == s && c == r)
}

/// What a routed request came to, owned (so tests need not keep the request alive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routed {
    pub(crate) outcome: Outcome,
    pub(crate) status: Option<u16>,
    pub(crate) route: Option<String>,
    pub(crate) rule: Option<usize>,
    pub(crate) listener: Option<String>,
    pub(crate) backend: Option<String>,
    pub(crate) path: String,
}

/// Routes `method target` with headers (the `host` header is the Host) on port 80.
pub(crate) fn route(
    router: &Router,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Routed {
    route_on(
        router,
        RequestView::new(method, target.as_bytes(), Headers::Pairs(headers)),
    )
}

/// Routes a request view.
pub(crate) fn route_on(router: &Router, req: RequestView<'_>) -> Routed {
    let d = router.route(&req);
    Routed {
        outcome: d.outcome(),
        status: d.status(),
        route: d.route().map(|r| r.name.to_owned()),
        rule: d.rule().map(|r| r.index),
        listener: d.listener().map(str::to_owned),
        backend: d.choose_backend(0).map(|b| b.name.clone()),
        path: d.path().to_owned(),
    }
}

/// The `(route name, rule index)` a GET to `host` + `target` reaches, if any.
pub(crate) fn hit(
    router: &Router,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Option<(String, usize)> {
    let mut all = vec![("host", host)];
    all.extend_from_slice(headers);
    let r = route(router, "GET", target, &all);
    Some((r.route?, r.rule?))
}
