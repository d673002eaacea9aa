//! The JSON interface's TLS verdicts in a build that cannot verify certificates (the `tls`
//! feature off, as in the proxy-wasm filter): they say `unavailable` and refuse nothing they
//! cannot judge. The verified verdicts are `tests/json_tls.rs`'s.

use serde_json::{Value, json};

use super::route_json;
use crate::{Engine, EngineOptions, Router, Target};

/// A CA certificate for the references to resolve (never verified here).
const CA: &str = include_str!("../../../gateway-ffi/tests/fixtures/ca.pem");
/// A `kubernetes.io/tls` Secret `infra/client`, the listeners' certificate.
const SECRET: &str = include_str!("../../../gateway-ffi/tests/fixtures/client.yaml");

fn router() -> Router {
    let indented: String = CA.lines().map(|l| format!("    {l}\n")).collect();
    let yaml = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: gw}}\n\
         spec: {{controllerName: gateway.example.dev/gateway-core}}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ca, namespace: infra}}\ndata:\n  ca.crt: |\n{indented}---\n\
         apiVersion: v1\nkind: Service\nmetadata: {{name: api, namespace: infra}}\nspec: {{ports: [{{name: https, port: 443}}]}}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  tls:\n    frontend:\n      default: {{}}\n      perPort:\n      \
         - {{port: 8443, tls: {{validation: {{caCertificateRefs: [{{group: \"\", kind: ConfigMap, name: ca}}]}}}}}}\n  \
         listeners:\n  - {{name: open, port: 443, protocol: HTTPS, hostname: app.example.com, tls: {{certificateRefs: [{{name: client}}]}}}}\n  \
         - {{name: strict, port: 8443, protocol: HTTPS, hostname: app.example.com, tls: {{certificateRefs: [{{name: client}}]}}}}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: app, namespace: infra}}\n\
         spec:\n  parentRefs: [{{name: edge}}]\n  rules:\n  - backendRefs: [{{name: api, port: 443}}]\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\nmetadata: {{name: api-tls, namespace: infra}}\n\
         spec:\n  targetRefs: [{{group: \"\", kind: Service, name: api}}]\n  validation:\n    \
         caCertificateRefs: [{{group: \"\", kind: ConfigMap, name: ca}}]\n    hostname: api.internal\n---\n{SECRET}"
    );
    let options = EngineOptions::default();
    let (_, router) =
        Engine::load_router(yaml.as_bytes(), &Target::only_gateway(), &options).unwrap();
    router
}

fn decide(router: &Router, port: u16, extra: Value) -> Value {
    let mut request = json!({"scheme": "https", "port": port, "sni": "app.example.com",
        "headers": [["host", "app.example.com"]], "now": 1_893_456_000_u64});
    for (k, v) in extra.as_object().unwrap() {
        request[k] = v.clone();
    }
    let line = route_json(router, request.to_string().as_bytes());
    serde_json::from_str(&line).unwrap()
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_verification_a_client_chain_is_unavailable_and_the_guard_unknown() {
    let r = router();
    let d = decide(&r, 8443, json!({"tls": {"client_chain_pem": CA}}));
    assert_eq!(d["outcome"], "forward", "{d}");
    let f = &d["frontend_tls"];
    assert_eq!(f["validation"], "AllowValidOnly");
    assert_eq!(f["client_certificate"]["verdict"], "unavailable");
    assert_eq!(f["client_auth"], Value::Null);
    assert_eq!(f["coalescing"], Value::Null);
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_verification_a_port_without_validation_is_still_guarded() {
    let r = router();
    let d = decide(&r, 443, json!({"tls": {}}));
    assert_eq!(d["frontend_tls"]["client_auth"], "not_requested", "{d}");
    assert_eq!(d["frontend_tls"]["coalescing"], "allow");
    let d = decide(&r, 443, json!({"tls": {"resumed_from_port": 8443}}));
    assert_eq!(d["outcome"], "misdirected", "{d}");
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_verification_a_backend_chain_is_unavailable_and_not_refused() {
    let r = router();
    let d = decide(&r, 443, json!({"backend_chain_pem": CA}));
    assert_eq!(d["outcome"], "forward", "{d}");
    assert_eq!(
        d["backend_certificate"],
        json!({"verdict": "unavailable", "reason": null, "detail": null})
    );
}

#[cfg(feature = "tls")]
#[test]
fn with_verification_a_chain_from_another_ca_is_refused() {
    // The CA's own certificate is no server certificate of `api.internal`.
    let r = router();
    let d = decide(&r, 443, json!({"backend_chain_pem": CA}));
    assert_eq!(d["cause"], "backend_certificate_refused", "{d}");
    assert_eq!(d["backend_certificate"]["verdict"], "invalid");
}

/// The router of `examples/l4/l4.yaml`: TLS on 8443, TCP on 9000, UDP on 9053.
fn l4_router() -> Router {
    let yaml = include_str!("../../../examples/l4/l4.yaml");
    let options = EngineOptions::default();
    let (_, router) =
        Engine::load_router(yaml.as_bytes(), &Target::only_gateway(), &options).unwrap();
    router
}

fn l4(router: &Router, line: Value) -> Value {
    serde_json::from_str(&route_json(router, line.to_string().as_bytes())).unwrap()
}

#[test]
fn an_l4_line_names_the_listener_route_rule_and_backend() {
    let r = l4_router();
    let rows = [
        (
            json!({"transport": "tls", "port": 8443, "sni": "db.example.com"}),
            ("tls", "TLSRoute", "db", "db", 5432),
        ),
        (
            json!({"transport": "tls", "port": 8443, "sni": "www.example.com"}),
            ("tls", "TLSRoute", "sites", "web", 8443),
        ),
        (
            json!({"transport": "tcp", "port": 9000}),
            ("tcp", "TCPRoute", "echo", "echo", 9000),
        ),
        (
            json!({"transport": "udp", "port": 9053, "random": 7}),
            ("udp", "UDPRoute", "dns", "dns", 53),
        ),
    ];
    for (line, (listener, kind, route, backend, port)) in rows {
        let d = l4(&r, line.clone());
        assert_eq!(d["outcome"], "forward", "{line}: {d}");
        assert_eq!(d["status"], Value::Null, "{line}");
        assert_eq!(d["transport"], line["transport"], "{line}");
        assert_eq!(d["listener"], listener, "{line}");
        assert_eq!(
            d["route"],
            json!({"kind": kind, "namespace": "edge", "name": route}),
            "{line}"
        );
        assert_eq!(d["rule"], json!({"index": 0, "name": null}), "{line}");
        assert_eq!(
            d["backend"],
            json!({"namespace": "edge", "name": backend, "port": port}),
            "{line}"
        );
        assert_eq!(d["upstream"], Value::Null, "{line}");
    }
}

#[test]
fn an_l4_line_without_a_route_is_not_found_with_its_cause() {
    let r = l4_router();
    let rows = [
        (
            json!({"transport": "tls", "port": 8443, "sni": "db.other.org"}),
            "no_rule",
        ),
        (
            json!({"transport": "udp", "port": 9000}),
            "no_listener_on_port",
        ),
        (
            json!({"transport": "tcp", "port": 8443}),
            "no_listener_on_port",
        ),
    ];
    for (line, cause) in rows {
        let d = l4(&r, line.clone());
        assert_eq!(d["outcome"], "not_found", "{line}: {d}");
        assert_eq!(d["cause"], cause, "{line}");
        assert_eq!(d["status"], Value::Null, "{line}");
        assert_eq!(d["backend"], Value::Null, "{line}");
    }
}

#[test]
fn an_l4_line_refuses_http_fields_an_unknown_transport_and_a_stray_sni() {
    let r = l4_router();
    let rows = [
        (
            json!({"transport": "tcp", "port": 9000, "method": "GET"}),
            "unknown field `method`",
        ),
        (
            json!({"transport": "tcp", "port": 9000, "headers": []}),
            "unknown field `headers`",
        ),
        (
            json!({"transport": "sctp", "port": 9000}),
            "unknown transport \"sctp\"",
        ),
        (
            json!({"transport": "udp", "port": 9053, "sni": "a.example.com"}),
            "sni is for transport tls",
        ),
        (json!({"transport": "tcp"}), "missing field `port`"),
    ];
    for (line, why) in rows {
        let d = l4(&r, line.clone());
        assert_eq!(d["outcome"], "bad_request", "{line}: {d}");
        assert_eq!(d["cause"], "malformed_request", "{line}");
        let reason = d["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(why), "{line}: {reason}");
    }
}

#[test]
fn an_http_line_that_mentions_transport_is_still_http() {
    let r = l4_router();
    let d = l4(
        &r,
        json!({"port": 9000, "headers": [["x-transport", "tcp"]]}),
    );
    // No HTTP listener on 9000: the line was read as HTTP, not as a connection.
    assert_eq!(d["cause"], "no_listener_on_port", "{d}");
    assert_eq!(d["status"], 404, "{d}");
}
