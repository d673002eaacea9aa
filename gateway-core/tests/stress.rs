//! Routing from several threads while another swaps in new configurations: every decision
//! comes from one whole router (its route and backend belong to the same configuration), and
//! the heap returns to its baseline once the last router is dropped.

use std::alloc::System;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn live() -> isize {
    let s = GLOBAL.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

/// Version `n`: one route named `v{n}` whose only backend is Service `s{n}`.
fn router(n: usize) -> Router {
    let yaml = format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: c}}
spec: {{controllerName: gateway.example.dev/gateway-core}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: g, namespace: default}}
spec:
  gatewayClassName: c
  listeners: [{{name: http, port: 80, protocol: HTTP}}]
---
apiVersion: v1
kind: Service
metadata: {{name: s{n}, namespace: default}}
spec: {{ports: [{{port: 80}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: v{n}, namespace: default}}
spec:
  parentRefs: [{{name: g}}]
  rules: [{{backendRefs: [{{name: s{n}, port: 80}}]}}]
"
    );
    let snapshot = match Snapshot::load(yaml.as_bytes(), &LoadOptions::default()) {
        Ok(loaded) => loaded.snapshot,
        Err(e) => panic!("{e}"),
    };
    Router::build(
        &Config::new(snapshot, AttachOptions::default()),
        &GatewayRef::new("default", "g"),
        PathPolicy::secure(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn swapping_configurations_under_load_never_mixes_them_and_frees_everything() {
    let baseline = live();
    {
        let current = Arc::new(RwLock::new(Arc::new(router(0))));
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let current = Arc::clone(&current);
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let headers = [("host", "example.com")];
                    let mut routed = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        // Take the current router; a swap after this leaves ours intact.
                        let r = Arc::clone(&current.read().unwrap());
                        let d = r.route(&RequestView::new("GET", b"/x", Headers::Pairs(&headers)));
                        let route = d.route().map(|r| r.name.to_owned()).unwrap();
                        let backend = d.choose_backend(routed).map(|b| b.name.clone()).unwrap();
                        assert_eq!(
                            route.trim_start_matches('v'),
                            backend.trim_start_matches('s'),
                            "a decision mixed two configurations"
                        );
                        routed += 1;
                    }
                    routed
                })
            })
            .collect();
        for n in 1..=2_000 {
            let next = Arc::new(router(n));
            *current.write().unwrap() = next;
        }
        stop.store(true, Ordering::Relaxed);
        let total: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(total > 0);
    }
    // Every router, config and thread is gone: the heap is back where it started (a few bytes
    // of slack for the test harness's own lazily allocated state).
    let leaked = live() - baseline;
    assert!(leaked.abs() < 4096, "{leaked} bytes not returned");
}
