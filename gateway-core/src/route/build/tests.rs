//! Compiling the router: what rules share.

use std::sync::Arc;

use crate::api::{LoadOptions, Snapshot};
use crate::attach::{AttachOptions, Config};
use crate::request::normalize::PathPolicy;
use crate::route::{GatewayRef, Router};

const YAML: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gateway-core}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gateway-core
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: v1, namespace: infra}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /a}}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: "1"}]}}
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /b}}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: "1"}]}}
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /c}}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: "2"}]}}
    backendRefs: [{name: v1, port: 8080}]
"#;

/// Equal compiled filters are one value, compared by their typed `Eq` and `Hash`.
#[test]
fn rules_with_equal_filters_share_one_spec() {
    let loaded = Snapshot::load(YAML.as_bytes(), &LoadOptions::default()).expect("loads");
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    let router = Router::build(
        &config,
        &GatewayRef::new("infra", "gw"),
        PathPolicy::default(),
    )
    .expect("builds");
    let [a, b, c] = &router.rules[..] else {
        panic!("three rules, got {}", router.rules.len());
    };
    assert!(Arc::ptr_eq(&a.spec, &b.spec));
    assert!(!Arc::ptr_eq(&a.spec, &c.spec));
    assert!(Arc::ptr_eq(&a.backends, &c.backends));
}
