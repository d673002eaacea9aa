//! The TLS facts of the JSON interface (`gateway route --json`): a request's client chain,
//! server name and session resumption are judged as the proxy judges them
//! (`FrontendTls::session_check`), and a backend chain as `tls::verify` does; the decision maps
//! the core's verdicts and outcomes one to one.

#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "tls/pki.rs"]
mod pki;

use gateway_core::json::{JsonDecision, JsonRequest, decide, route_json};
use gateway_core::{Engine, EngineOptions, Router, Target};
use rcgen::ExtendedKeyUsagePurpose;
use serde_json::{Value, json};

use pki::{Ca, Leaf, LeafSpec, config_map, gateway_class, service, tls_secret};

/// 2030-01-01, the time of every verification here.
const NOW: u64 = 1_893_456_000;

/// A Gateway with three HTTPS ports for `app.example.com`: 443 asks for no client certificate
/// (and also serves `other.example.com` from another listener), 8443 is `AllowValidOnly`, 9443
/// `AllowInsecureFallback`; one HTTPRoute to Service `infra/api`, which a BackendTLSPolicy
/// verifies with its own CA and the name `api.internal`.
struct Setup {
    router: Router,
    clients: Ca,
    backends: Ca,
}

fn setup() -> Setup {
    let server_ca = Ca::root("listener root");
    let clients = Ca::root("client root");
    let backends = Ca::root("backend root");
    let server_leaf = server_ca.leaf_for(&["app.example.com", "other.example.com"]);
    let listener = |name: &str, port: u16, host: &str| {
        format!(
            "  - {{name: {name}, port: {port}, protocol: HTTPS, hostname: {host}, \
             tls: {{certificateRefs: [{{name: app-cert}}]}}}}\n"
        )
    };
    let ca = "caCertificateRefs: [{group: \"\", kind: ConfigMap, name: clients}]";
    let yaml = format!(
        "{}{}{}{}{}apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  tls:\n    frontend:\n      default: {{}}\n      perPort:\n      \
         - {{port: 8443, tls: {{validation: {{{ca}}}}}}}\n      \
         - {{port: 9443, tls: {{validation: {{mode: AllowInsecureFallback, {ca}}}}}}}\n  \
         listeners:\n{}{}{}{}---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: app, namespace: infra}}\n\
         spec:\n  parentRefs: [{{name: edge}}]\n  rules:\n  - backendRefs: [{{name: api, port: 443}}]\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\nmetadata: {{name: api-tls, namespace: infra}}\n\
         spec:\n  targetRefs: [{{group: \"\", kind: Service, name: api}}]\n  validation:\n    \
         caCertificateRefs: [{{group: \"\", kind: ConfigMap, name: backend-ca}}]\n    hostname: api.internal\n",
        gateway_class(),
        config_map("infra", "clients", &clients.pem),
        config_map("infra", "backend-ca", &backends.pem),
        tls_secret("infra", "app-cert", &server_leaf, &[]),
        service("infra", "api", &[("https", 443)]),
        listener("open", 443, "app.example.com"),
        listener("other", 443, "other.example.com"),
        listener("strict", 8443, "app.example.com"),
        listener("fallback", 9443, "app.example.com"),
    );
    let (_, router) = Engine::load_router(
        yaml.as_bytes(),
        &Target::only_gateway(),
        &EngineOptions::default(),
    )
    .unwrap();
    Setup {
        router,
        clients,
        backends,
    }
}

impl Setup {
    fn client_leaf(&self) -> Leaf {
        client_leaf(&self.clients)
    }

    fn backend_leaf(&self, dns: &[&str]) -> Leaf {
        self.backends.leaf(&LeafSpec {
            dns,
            eku: &[ExtendedKeyUsagePurpose::ServerAuth],
            ..LeafSpec::default()
        })
    }

    /// The decision for a request given as JSON, through `route_json` (the CLI's and the
    /// bindings' path) and checked equal to `decide`'s.
    fn decide(&self, request: &Value) -> Value {
        let line = serde_json::to_string(request).unwrap();
        let text = route_json(&self.router, line.as_bytes());
        let parsed: JsonRequest = serde_json::from_value(request.clone()).unwrap();
        let typed: JsonDecision = decide(&self.router, &parsed);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, serde_json::to_value(&typed).unwrap());
        value
    }
}

fn client_leaf(ca: &Ca) -> Leaf {
    ca.leaf(&LeafSpec {
        eku: &[ExtendedKeyUsagePurpose::ClientAuth],
        ..LeafSpec::default()
    })
}

/// A GET of `/` for `host` on `port` over TLS with the server name `host`.
fn https(port: u16, host: &str, tls: Value) -> Value {
    json!({
        "scheme": "https",
        "port": port,
        "sni": host,
        "target": "/",
        "headers": [["host", host]],
        "tls": tls,
        "now": NOW,
    })
}

#[test]
fn json_request_client_chain_signed_by_the_port_ca_is_verified_and_forwarded() {
    let s = setup();
    let leaf = s.client_leaf();
    let d = s.decide(&https(
        8443,
        "app.example.com",
        json!({"client_chain_pem": leaf.pem}),
    ));
    assert_eq!(d["outcome"], "forward", "{d}");
    assert_eq!(
        d["frontend_tls"],
        json!({
            "session_port": 8443,
            "validation": "AllowValidOnly",
            "client_certificate": {"verdict": "valid", "reason": null, "detail": null},
            "client_auth": "verified",
            "coalescing": "allow",
        })
    );
}

#[test]
fn json_request_client_chain_signed_by_other_ca_is_refused() {
    let s = setup();
    let stranger = client_leaf(&Ca::root("someone else"));
    let d = s.decide(&https(
        8443,
        "app.example.com",
        json!({"client_chain_pem": stranger.pem}),
    ));
    assert_eq!(d["outcome"], "misdirected", "{d}");
    assert_eq!(d["status"], 421);
    assert_eq!(d["cause"], Value::Null);
    assert_eq!(d["backend"], Value::Null);
    let f = &d["frontend_tls"];
    assert_eq!(f["client_certificate"]["verdict"], "invalid");
    assert_eq!(f["client_certificate"]["reason"], "unknown_issuer");
    assert_eq!(f["client_auth"], "unverified");
    assert_eq!(f["coalescing"], "misdirected");
}

#[test]
fn json_request_without_client_chain_on_an_allow_valid_only_port_is_refused() {
    let s = setup();
    let d = s.decide(&https(8443, "app.example.com", json!({})));
    assert_eq!(d["outcome"], "misdirected", "{d}");
    assert_eq!(
        d["frontend_tls"]["client_certificate"]["reason"],
        "no_certificate"
    );
}

#[test]
fn json_request_client_chain_past_its_validity_is_refused_as_expired() {
    let s = setup();
    let expired = s.clients.leaf(&LeafSpec {
        eku: &[ExtendedKeyUsagePurpose::ClientAuth],
        valid: ((2020, 1, 1), (2021, 1, 1)),
        ..LeafSpec::default()
    });
    let d = s.decide(&https(
        8443,
        "app.example.com",
        json!({"client_chain_pem": expired.pem}),
    ));
    assert_eq!(d["outcome"], "misdirected", "{d}");
    assert_eq!(d["frontend_tls"]["client_certificate"]["reason"], "expired");
}

#[test]
fn json_request_on_an_insecure_fallback_port_admits_an_unverified_client() {
    let s = setup();
    let stranger = client_leaf(&Ca::root("someone else"));
    let d = s.decide(&https(
        9443,
        "app.example.com",
        json!({"client_chain_pem": stranger.pem}),
    ));
    assert_eq!(d["outcome"], "forward", "{d}");
    let f = &d["frontend_tls"];
    assert_eq!(f["validation"], "AllowInsecureFallback");
    assert_eq!(f["client_certificate"]["reason"], "unknown_issuer");
    assert_eq!(f["client_auth"], "unverified");
    assert_eq!(f["coalescing"], "allow");
}

#[test]
fn json_request_on_a_port_without_validation_asks_for_no_client_certificate() {
    let s = setup();
    let d = s.decide(&https(443, "app.example.com", json!({})));
    assert_eq!(d["outcome"], "forward", "{d}");
    let f = &d["frontend_tls"];
    assert_eq!(f["validation"], Value::Null);
    assert_eq!(f["client_certificate"], Value::Null);
    assert_eq!(f["client_auth"], "not_requested");
}

#[test]
fn json_request_on_a_session_resumed_from_another_port_is_misdirected() {
    // nginx CVE-2025-23419: a session made on the open port must not reach the strict one.
    let s = setup();
    let d = s.decide(&https(
        8443,
        "app.example.com",
        json!({"resumed_from_port": 443}),
    ));
    assert_eq!(d["outcome"], "misdirected", "{d}");
    assert_eq!(d["frontend_tls"]["session_port"], 443);
    assert_eq!(d["frontend_tls"]["client_auth"], "not_requested");
    assert_eq!(d["frontend_tls"]["coalescing"], "misdirected");
}

#[test]
fn json_request_on_a_session_resumed_on_its_own_port_is_judged_like_a_full_handshake() {
    let s = setup();
    let leaf = s.client_leaf();
    let tls = json!({"client_chain_pem": leaf.pem, "resumed_from_port": 8443});
    let d = s.decide(&https(8443, "app.example.com", tls));
    assert_eq!(d["outcome"], "forward", "{d}");
    assert_eq!(d["frontend_tls"]["client_auth"], "verified");
}

#[test]
fn json_request_for_another_listeners_host_on_the_connection_is_misdirected() {
    // GEP-3567: the server name chose `open`; the Host belongs to `other`.
    let s = setup();
    let mut request = https(443, "app.example.com", json!({}));
    request["headers"] = json!([["host", "other.example.com"]]);
    let d = s.decide(&request);
    assert_eq!(d["outcome"], "misdirected", "{d}");
    assert_eq!(d["status"], 421);
    assert_eq!(d["frontend_tls"]["coalescing"], "misdirected");
}

#[test]
fn json_request_for_a_host_no_tls_listener_serves_is_not_found() {
    let s = setup();
    let mut request = https(443, "app.example.com", json!({}));
    request["headers"] = json!([["host", "nobody.example.net"]]);
    let d = s.decide(&request);
    assert_eq!(d["outcome"], "not_found", "{d}");
    assert_eq!(d["cause"], "no_listener_for_host");
    assert_eq!(d["frontend_tls"]["coalescing"], "not_found");
}

#[test]
fn json_request_without_tls_gets_no_frontend_verdicts() {
    let s = setup();
    let mut request = https(8443, "app.example.com", Value::Null);
    request.as_object_mut().unwrap().remove("tls");
    let d = s.decide(&request);
    assert_eq!(d["outcome"], "forward", "{d}");
    assert_eq!(d["frontend_tls"], Value::Null);
    assert_eq!(d["backend_certificate"], Value::Null);
}

#[test]
fn json_request_backend_chain_from_the_policy_ca_with_its_hostname_is_valid() {
    let s = setup();
    let mut request = https(443, "app.example.com", json!({}));
    request["backend_chain_pem"] = json!(s.backend_leaf(&["api.internal"]).pem);
    let d = s.decide(&request);
    assert_eq!(d["outcome"], "forward", "{d}");
    assert_eq!(
        d["backend_certificate"],
        json!({"verdict": "valid", "reason": null, "detail": null})
    );
}

#[test]
fn json_request_backend_chain_without_the_policy_hostname_is_refused_with_502() {
    let s = setup();
    let mut request = https(443, "app.example.com", json!({}));
    request["backend_chain_pem"] = json!(s.backend_leaf(&["elsewhere.internal"]).pem);
    let d = s.decide(&request);
    assert_eq!(d["outcome"], "server_error", "{d}");
    assert_eq!(d["cause"], "backend_certificate_refused");
    assert_eq!(d["status"], 502);
    assert_eq!(d["backend"]["name"], "api");
    assert_eq!(d["upstream"], Value::Null, "nothing is sent");
    assert_eq!(d["backend_certificate"]["verdict"], "invalid");
    assert_eq!(d["backend_certificate"]["reason"], "san_mismatch");
}

#[test]
fn json_request_backend_chain_from_another_ca_is_refused_as_unknown_issuer() {
    let s = setup();
    let other = Ca::root("other backend root").leaf(&LeafSpec {
        dns: &["api.internal"],
        eku: &[ExtendedKeyUsagePurpose::ServerAuth],
        ..LeafSpec::default()
    });
    let mut request = https(443, "app.example.com", json!({}));
    request["backend_chain_pem"] = json!(other.pem);
    let d = s.decide(&request);
    assert_eq!(d["cause"], "backend_certificate_refused", "{d}");
    assert_eq!(d["backend_certificate"]["reason"], "unknown_issuer");
}

#[test]
fn json_request_with_a_chain_but_no_time_is_malformed() {
    let s = setup();
    let mut request = https(443, "app.example.com", json!({}));
    request["backend_chain_pem"] = json!(s.backend_leaf(&["api.internal"]).pem);
    request.as_object_mut().unwrap().remove("now");
    let d = s.decide(&request);
    assert_eq!(d["outcome"], "bad_request", "{d}");
    assert_eq!(d["cause"], "malformed_request");
}

#[test]
fn json_request_with_a_chain_that_is_not_pem_is_malformed() {
    let s = setup();
    let tls = json!({"client_chain_pem": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"});
    let d = s.decide(&https(8443, "app.example.com", tls));
    assert_eq!(d["outcome"], "bad_request", "{d}");
    assert_eq!(d["cause"], "malformed_request");
}

#[test]
fn json_tls_object_refuses_unknown_fields() {
    let s = setup();
    let d = s.decide_text(r#"{"tls": {"client_chain": "x"}}"#);
    assert_eq!(d["cause"], "malformed_request", "{d}");
}

impl Setup {
    fn decide_text(&self, line: &str) -> Value {
        serde_json::from_str(&route_json(&self.router, line.as_bytes())).unwrap()
    }
}
