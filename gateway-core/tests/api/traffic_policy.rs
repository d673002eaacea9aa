//! XBackendTrafficPolicy: attachment to Services with ancestor status (GEP-713 conflicts), the
//! retry budget in a forward's plan, and session persistence as a decision (GEP-1619).
// A failed unwrap is the test failing with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use gateway_core::filter::{SessionPin, SessionSource};
use gateway_core::json::route_json;
use gateway_core::{Engine, EngineOptions, Headers, Plan, RequestView, Router, Target, plan};
use serde_json::Value;

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
metadata: {name: v1, namespace: app}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: v2, namespace: app}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: app}
spec:
  parentRefs: [{name: edge}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /cart}}]
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {codes: [503], attempts: 2, backoff: 100ms}
    sessionPersistence: {sessionName: cart}
    backendRefs: [{name: v1, port: 8080, weight: 1}, {name: v2, port: 8080, weight: 0}]
  - backendRefs: [{name: v2, port: 8080}, {name: v1, port: 8080}]
    retry: {codes: [500]}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: old, namespace: app, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  targetRefs: [{group: "", kind: Service, name: v1}]
  retryConstraint: {budget: {percent: 30}}
  sessionPersistence: {type: Header, sessionName: x-pin, idleTimeout: 30m}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: young, namespace: app, creationTimestamp: "2025-01-01T00:00:00Z"}
spec:
  targetRefs: [{group: "", kind: Service, name: v1}, {group: "", kind: Service, name: v2}]
  retryConstraint: {budget: {percent: 90}}
"#;

fn engine(yaml: &str) -> Engine {
    Engine::load(yaml.as_bytes(), &EngineOptions::default()).expect("loads")
}

fn router(yaml: &str) -> Router {
    engine(yaml)
        .router(&Target::gateway("app", "edge"))
        .expect("builds")
}

fn decide(router: &Router, path: &str) -> Value {
    let line = format!(r#"{{"target": "{path}", "headers": [["host", "shop.example"]]}}"#);
    serde_json::from_str(&route_json(router, line.as_bytes())).unwrap()
}

fn accepted(e: &Engine, name: &str) -> (String, String) {
    let status = e
        .status()
        .find("XBackendTrafficPolicy", Some("app"), name)
        .unwrap_or_else(|| panic!("no status for {name}"));
    let conditions = status.status.conditions();
    let c = conditions.iter().find(|c| c.type_ == "Accepted").unwrap();
    (c.status.clone(), c.reason.clone())
}

#[test]
fn the_oldest_policy_on_a_service_is_accepted_and_the_younger_conflicted() {
    let e = engine(MANIFESTS);
    assert_eq!(accepted(&e, "old"), ("True".into(), "Accepted".into()));
    assert_eq!(accepted(&e, "young"), ("False".into(), "Conflicted".into()));
}

#[test]
fn a_policy_whose_services_no_route_uses_has_no_ancestor() {
    let yaml = MANIFESTS.replace(
        "name: v1}]\n  retryConstraint",
        "name: unused}]\n  retryConstraint",
    );
    let e = engine(&yaml);
    assert!(
        e.status()
            .find("XBackendTrafficPolicy", Some("app"), "old")
            .is_none()
    );
    // Without the older policy on v1, the younger one is accepted.
    assert_eq!(accepted(&e, "young"), ("True".into(), "Accepted".into()));
}

#[test]
fn route_json_shows_timeouts_retry_with_budget_and_the_rule_session() {
    let d = decide(&router(MANIFESTS), "/cart/items");
    assert_eq!(d["outcome"], "forward", "{d}");
    assert_eq!(d["backend"]["name"], "v1");
    assert_eq!(d["timeouts"]["request_ms"], 10_000);
    assert_eq!(d["timeouts"]["backend_request_ms"], 2_000);
    assert_eq!(d["retry"]["codes"][0], 503);
    assert_eq!(d["retry"]["attempts"], 2);
    assert_eq!(d["retry"]["backoff_ms"], 100);
    let budget = &d["retry"]["budget"];
    assert_eq!(budget["percent"], 30, "{d}");
    assert_eq!(budget["interval_ms"], 10_000, "CRD default");
    assert_eq!(budget["min_retries"], 10, "CRD default");
    assert_eq!(budget["min_retry_interval_ms"], 1_000, "CRD default");
    let s = &d["session"];
    assert_eq!(s["kind"], "cookie");
    assert_eq!(s["name"], "cart");
    assert_eq!(s["lifetime"], "session");
    assert_eq!(s["path"], "/cart");
    assert_eq!(s["secure"], false, "an HTTP listener");
    assert_eq!(s["source"], "rule");
    assert_eq!(s["policy"], Value::Null);
}

#[test]
fn without_its_own_a_rule_takes_the_session_of_its_first_backend_with_a_policy() {
    let d = decide(&router(MANIFESTS), "/other");
    assert_eq!(d["backend"]["name"], "v2", "{d}");
    // v2's only policy lost its conflict: no budget for v2.
    assert_eq!(d["retry"]["budget"], Value::Null);
    let s = &d["session"];
    assert_eq!(s["kind"], "header");
    assert_eq!(s["name"], "x-pin");
    assert_eq!(s["lifetime"], Value::Null);
    assert_eq!(s["idle_timeout_ms"], 1_800_000);
    assert_eq!(s["path"], Value::Null);
    assert_eq!(s["source"], "policy");
    assert_eq!(s["policy"], "app/old");
}

/// Issues a session on `router` for `/cart` pinned to backendRef `index`, returning the cookie.
fn issue(router: &Router, index: usize) -> String {
    let headers = [("host", "shop.example")];
    let req = RequestView::new("GET", b"/cart", Headers::Pairs(&headers));
    let Plan::Forward(f) = plan(&router.route(&req), &req, 1) else {
        panic!("not a forward");
    };
    let session = f.session.expect("a session");
    assert_eq!(session.policy.source(), &SessionSource::Rule);
    let set = session.issue(index, "10.0.0.9:8080", 1_000).unwrap();
    assert_eq!(set.name, "set-cookie");
    set.value.split(';').next().unwrap().to_owned()
}

fn pin(router: &Router, cookie: &str, now: u64) -> Option<(usize, String)> {
    let headers = [("host", "shop.example"), ("cookie", cookie)];
    let req = RequestView::new("GET", b"/cart/x", Headers::Pairs(&headers));
    let Plan::Forward(f) = plan(&router.route(&req), &req, 1) else {
        panic!("not a forward");
    };
    let found: Option<SessionPin<'_>> = f.session?.find(&req.headers, now);
    found.map(|p| (p.backend_index, p.endpoint.to_owned()))
}

#[test]
fn a_session_pins_a_backend_of_weight_zero_across_router_rebuilds() {
    let cookie = issue(&router(MANIFESTS), 1);
    let rebuilt = router(MANIFESTS);
    assert_eq!(
        pin(&rebuilt, &cookie, 2_000),
        Some((1, "10.0.0.9:8080".into()))
    );
}

#[test]
fn a_session_of_another_rule_or_a_changed_backend_does_not_pin() {
    let cookie = issue(&router(MANIFESTS), 1);
    // The same cookie name on another rule: its scope differs.
    let other = MANIFESTS.replace(
        "sessionName: cart}",
        "sessionName: cart}\n    name: renamed",
    );
    assert_eq!(pin(&router(&other), &cookie, 2_000), None);
    // backendRef 1 now names another Service port.
    let moved = MANIFESTS.replace(
        "{name: v2, port: 8080, weight: 0}",
        "{name: v1, port: 8080, weight: 0}",
    );
    assert_eq!(pin(&router(&moved), &cookie, 2_000), None);
}

#[test]
fn route_json_follows_a_session_token_read_at_now() {
    let router = router(MANIFESTS);
    // A session pinned to v2 (weight 0) of the /cart rule, issued at 1000.
    let headers = [("host", "shop.example")];
    let req = RequestView::new("GET", b"/cart/items", Headers::Pairs(&headers));
    let decision = router.route(&req);
    let Plan::Forward(forward) = plan(&decision, &req, 0) else {
        panic!("not a forward");
    };
    let set = forward
        .session
        .unwrap()
        .issue(1, "10.0.0.2:8080", 1_000)
        .unwrap();
    let cookie = set.value.split(';').next().unwrap().to_owned();
    let line = |now: &str| {
        format!(
            r#"{{"target": "/cart/items", "headers": [["host", "shop.example"], ["cookie", "{cookie}"]]{now}}}"#
        )
    };
    let decide = |line: String| -> Value {
        serde_json::from_str(&route_json(&router, line.as_bytes())).unwrap()
    };
    // With a time, the token pins v2 whatever its weight; without one, no token is read.
    assert_eq!(decide(line(r#", "now": 2000"#))["backend"]["name"], "v2");
    assert_eq!(decide(line(""))["backend"]["name"], "v1");
}
