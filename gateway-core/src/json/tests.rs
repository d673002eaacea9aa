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
