//! Parity of the retry budget and session accessors with `route --json` (`gw_route_json`).

use std::ptr::{null, null_mut};

use serde_json::{Value, json};

use super::*;
use crate::config::{
    gw_buffer_data, gw_buffer_free, gw_buffer_len, gw_config_free, gw_config_load,
};
use crate::decision::{gw_decision_free, gw_header, gw_request, gw_router_route};
use crate::router::{gw_route_json, gw_router, gw_router_build, gw_router_free};

const MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gw}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: app}
spec:
  gatewayClassName: gw
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: app}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{name: edge}]
  rules:
  - matches: [{path: {type: Exact, value: /own}}]
    retry: {codes: [503]}
    sessionPersistence: {idleTimeout: 30m}
    backendRefs: [{name: api, port: 8080}]
  - retry: {codes: [502], attempts: 1}
    backendRefs: [{name: api, port: 8080}]
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: api-traffic, namespace: app}
spec:
  targetRefs: [{group: "", kind: Service, name: api}]
  retryConstraint: {budget: {percent: 40, interval: 20s}}
  sessionPersistence: {type: Header, sessionName: X-Pin, absoluteTimeout: 2h}
"#;

fn slice(s: &str) -> gw_slice {
    gw_slice::from_bytes(s.as_bytes())
}

fn text(s: gw_slice) -> Value {
    if s.data.is_null() {
        return Value::Null;
    }
    // SAFETY: test-only: slices from the library are valid UTF-8 while their decision lives.
    let bytes = unsafe { std::slice::from_raw_parts(s.data, s.len) };
    Value::String(std::str::from_utf8(bytes).unwrap().to_owned())
}

fn router() -> *mut gw_router {
    let mut config = null_mut();
    let mut router = null_mut();
    // SAFETY: valid pointers to live locals and a static string.
    unsafe {
        let r = gw_config_load(MANIFESTS.as_ptr(), MANIFESTS.len(), &mut config, null_mut());
        assert_eq!(r, gw_result::Ok);
        let r = gw_router_build(config, null(), 0, null(), 0, &mut router, null_mut());
        assert_eq!(r, gw_result::Ok);
        gw_config_free(config);
    }
    router
}

/// The decision's `retry.budget` and `session` as the typed accessors give them, in the JSON
/// interface's shape.
fn typed(router: *const gw_router, target: &str) -> (Value, Value) {
    let headers = [gw_header {
        name: slice("host"),
        value: slice("a.example"),
    }];
    let req = gw_request {
        method: slice("GET"),
        scheme: gw_slice::NONE,
        authority: gw_slice::NONE,
        target: slice(target),
        headers: headers.as_ptr(),
        headers_len: headers.len(),
        sni: gw_slice::NONE,
        port: 80,
        random: 0,
        tls: null(),
        mesh: null(),
        now: 0,
    };
    let mut d = null_mut();
    // SAFETY: live router, request, decision and out-params.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        let mut b: gw_retry_budget = std::mem::zeroed();
        let budget = if gw_decision_retry_budget(d, &mut b) {
            json!({"percent": b.percent, "interval_ms": b.interval_millis,
                   "min_retries": b.min_retries,
                   "min_retry_interval_ms": b.min_retry_interval_millis})
        } else {
            Value::Null
        };
        let mut out = std::mem::MaybeUninit::<gw_session>::uninit();
        let session = if gw_decision_session(d, out.as_mut_ptr()) {
            let s = out.assume_init();
            let ms = |set: bool, v: u64| if set { json!(v) } else { Value::Null };
            json!({
                "kind": match s.kind {
                    gw_session_kind::Cookie => "cookie",
                    gw_session_kind::Header => "header",
                },
                "name": text(s.name),
                "lifetime": match s.lifetime {
                    gw_cookie_lifetime::None => Value::Null,
                    gw_cookie_lifetime::Session => json!("session"),
                    gw_cookie_lifetime::Permanent => json!("permanent"),
                },
                "absolute_timeout_ms": ms(s.absolute_timeout_set, s.absolute_timeout_millis),
                "idle_timeout_ms": ms(s.idle_timeout_set, s.idle_timeout_millis),
                "path": text(s.path),
                "secure": s.secure,
                "source": if s.policy.data.is_null() { "rule" } else { "policy" },
                "policy": text(s.policy),
            })
        } else {
            Value::Null
        };
        gw_decision_free(d);
        (budget, session)
    }
}

fn json_decision(router: *const gw_router, target: &str) -> Value {
    let line = format!(r#"{{"target": "{target}", "headers": [["host", "a.example"]]}}"#);
    let mut out = null_mut();
    // SAFETY: live router, line and out-param; the buffer is read before it is freed.
    unsafe {
        let r = gw_route_json(router, line.as_ptr(), line.len(), &mut out);
        assert_eq!(r, gw_result::Ok);
        let bytes = std::slice::from_raw_parts(gw_buffer_data(out), gw_buffer_len(out));
        let v = serde_json::from_slice(bytes).unwrap();
        gw_buffer_free(out);
        v
    }
}

#[test]
fn typed_budget_and_session_match_route_json() {
    let r = router();
    for target in ["/own", "/other"] {
        let d = json_decision(r, target);
        assert_eq!(d["outcome"], "forward", "{d}");
        let (budget, session) = typed(r, target);
        assert_eq!(budget, d["retry"]["budget"], "{target}");
        assert_eq!(session, d["session"], "{target}");
        assert!(!session.is_null() && !budget.is_null(), "{d}");
    }
    let (_, own) = typed(r, "/own");
    assert_eq!(own["source"], "rule");
    assert_eq!(own["path"], "/own");
    let (_, policy) = typed(r, "/other");
    assert_eq!(policy["policy"], "app/api-traffic");
    // SAFETY: the router was built above and is freed once.
    unsafe { gw_router_free(r) };
}
