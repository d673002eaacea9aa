//! The compiled router's heap stays within 512 bytes per rule (issue #4): a rule must not
//! carry copies of what equal rules already hold. The only test of its binary, so that no other
//! test allocates while the counting allocator measures.

use std::alloc::System;
use std::fmt::Write as _;

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::route::{GatewayRef, Router};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// `routes` HTTPRoutes of ten rules each, to one Service: exact, wildcard and no hostnames,
/// Exact and PathPrefix paths, some method, header and query matches (the router benchmark's
/// table without its regular expressions, whose programs are measured apart).
fn manifests(routes: usize) -> String {
    let mut yaml = String::from(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: c}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: g, namespace: default}
spec:
  gatewayClassName: c
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default}
spec: {ports: [{port: 80}]}
",
    );
    for r in 0..routes {
        let hostnames = match r % 3 {
            0 => format!("[svc{r}.example.com]"),
            1 => format!("['*.t{r}.example.com']"),
            _ => "[]".to_owned(),
        };
        let _ = write!(
            yaml,
            "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r{r}, namespace: default}}
spec:
  parentRefs: [{{name: g}}]
  hostnames: {hostnames}
  rules:
"
        );
        for i in 0..10 {
            let path = if i % 2 == 0 {
                format!("{{type: Exact, value: /api/v{}/items/{r}/{i}}}", r % 7)
            } else {
                format!("{{type: PathPrefix, value: /p{r}/s{i}}}")
            };
            let method = if i == 3 { ", method: GET" } else { "" };
            let headers = if i == 5 {
                ", headers: [{name: x-tenant, value: blue}]"
            } else {
                ""
            };
            let query = if i == 7 && r % 2 == 0 {
                ", queryParams: [{name: v, value: '2'}]"
            } else {
                ""
            };
            let _ = writeln!(
                yaml,
                "  - matches: [{{path: {path}{method}{headers}{query}}}]
    backendRefs: [{{name: svc, port: 80}}]"
            );
        }
    }
    yaml
}

#[test]
fn a_compiled_rule_costs_at_most_512_heap_bytes() {
    for routes in [1, 100] {
        let loaded = Snapshot::load(manifests(routes).as_bytes(), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let config = Config::new(loaded.snapshot, AttachOptions::default());
        let region = Region::new(GLOBAL);
        let router = Router::build(
            &config,
            &GatewayRef::new("default", "g"),
            PathPolicy::secure(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let stats = region.change();
        let rules = router.rule_count();
        assert_eq!(rules, routes * 10);
        // Reallocations count their growth as allocated, their shrinking as freed.
        let live = stats.bytes_allocated as isize - stats.bytes_deallocated as isize;
        let per_rule = live / rules as isize;
        println!("{rules} rules: {live} B, {per_rule} B per rule");
        assert!(
            per_rule <= 512,
            "{rules} rules: {live} B, {per_rule} B per rule"
        );
    }
}
