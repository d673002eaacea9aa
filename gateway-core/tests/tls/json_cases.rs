//! TLS requests for the JSON interface with real certificates (rcgen), shared by the parity
//! tests of the bindings (gateway-ffi `tests/tls_parity.rs`, gateway-wasm `tests/tls.rs`): a
//! configuration, and requests covering every frontend and backend verdict with the outcome
//! and verdict reason the JSON interface must give. Include it next to `pki.rs` as `pki`.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use rcgen::ExtendedKeyUsagePurpose;
use serde_json::{Value, json};

use crate::pki::{Ca, LeafSpec, config_map, gateway_class, service, tls_secret};

/// 2030-01-01, the verification time of every request.
pub const NOW: u64 = 1_893_456_000;

/// The configuration of `gateway-core/tests/json_tls.rs`: HTTPS on 443 (no client
/// certificate; two listeners), 8443 (`AllowValidOnly`) and 9443 (`AllowInsecureFallback`),
/// one route to `infra/api`, verified by a BackendTLSPolicy with its own CA and `api.internal`.
pub fn manifests(clients: &Ca, backends: &Ca) -> String {
    let server_ca = Ca::root("listener root");
    let server_leaf = server_ca.leaf_for(&["app.example.com", "other.example.com"]);
    let listener = |name: &str, port: u16, host: &str| {
        format!(
            "  - {{name: {name}, port: {port}, protocol: HTTPS, hostname: {host}, \
             tls: {{certificateRefs: [{{name: app-cert}}]}}}}\n"
        )
    };
    let ca = "caCertificateRefs: [{group: \"\", kind: ConfigMap, name: clients}]";
    format!(
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
    )
}

/// Requests covering every frontend and backend verdict, with what the JSON interface must
/// say (outcome, and the client or backend verdict's reason).
pub fn requests(clients: &Ca, backends: &Ca) -> Vec<(Value, &'static str, Option<&'static str>)> {
    let client_eku = [ExtendedKeyUsagePurpose::ClientAuth];
    let server_eku = [ExtendedKeyUsagePurpose::ServerAuth];
    let good = clients.leaf(&LeafSpec {
        eku: &client_eku,
        ..LeafSpec::default()
    });
    let expired = clients.leaf(&LeafSpec {
        eku: &client_eku,
        valid: ((2020, 1, 1), (2021, 1, 1)),
        ..LeafSpec::default()
    });
    let server_only = clients.leaf(&LeafSpec {
        eku: &server_eku,
        ..LeafSpec::default()
    });
    let stranger = Ca::root("someone else").leaf(&LeafSpec {
        eku: &client_eku,
        ..LeafSpec::default()
    });
    let backend = |dns: &[&str]| {
        backends
            .leaf(&LeafSpec {
                dns,
                eku: &server_eku,
                ..LeafSpec::default()
            })
            .pem
    };
    let https = |port: u16, host: &str, tls: Value| {
        json!({"scheme": "https", "port": port, "sni": "app.example.com", "target": "/",
               "headers": [["host", host]], "tls": tls, "now": NOW})
    };
    let app = "app.example.com";
    let mut out = vec![
        (
            https(8443, app, json!({"client_chain_pem": good.pem})),
            "forward",
            None,
        ),
        (
            https(8443, app, json!({"client_chain_pem": stranger.pem})),
            "misdirected",
            Some("unknown_issuer"),
        ),
        (
            https(8443, app, json!({"client_chain_pem": expired.pem})),
            "misdirected",
            Some("expired"),
        ),
        (
            https(8443, app, json!({"client_chain_pem": server_only.pem})),
            "misdirected",
            Some("wrong_usage"),
        ),
        (
            https(8443, app, json!({})),
            "misdirected",
            Some("no_certificate"),
        ),
        (
            https(9443, app, json!({"client_chain_pem": stranger.pem})),
            "forward",
            Some("unknown_issuer"),
        ),
        (https(443, app, json!({})), "forward", None),
        (
            https(8443, app, json!({"resumed_from_port": 443})),
            "misdirected",
            None,
        ),
        (
            https(
                8443,
                app,
                json!({"client_chain_pem": good.pem, "resumed_from_port": 8443}),
            ),
            "forward",
            None,
        ),
        (
            https(443, "other.example.com", json!({})),
            "misdirected",
            None,
        ),
        (
            https(443, "nobody.example.net", json!({})),
            "not_found",
            None,
        ),
        (https(443, "bad host", json!({})), "bad_request", None),
    ];
    for (dns, outcome, reason) in [
        (&["api.internal"][..], "forward", None),
        (
            &["elsewhere.internal"][..],
            "server_error",
            Some("san_mismatch"),
        ),
    ] {
        let mut r = https(443, app, json!({}));
        r["backend_chain_pem"] = json!(backend(dns));
        out.push((r, outcome, reason));
    }
    let other_backend = Ca::root("other backend root").leaf(&LeafSpec {
        dns: &["api.internal"],
        eku: &server_eku,
        ..LeafSpec::default()
    });
    let mut r = https(443, app, json!({}));
    r["backend_chain_pem"] = json!(other_backend.pem);
    out.push((r, "server_error", Some("unknown_issuer")));
    // A client certificate is no server certificate.
    let mut r = https(443, app, json!({}));
    r["backend_chain_pem"] = json!(stranger.pem);
    out.push((r, "server_error", Some("wrong_usage")));
    out
}
