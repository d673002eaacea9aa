//! The Rust half of the TLS parity of the JS package: requests with real certificates
//! (client chains, resumed sessions, backend chains; `gateway-core/tests/tls/json_cases.rs`)
//! are routed through the Rust API, and the manifests, request lines and native decisions are
//! written to `tests/js/fixtures/tls.json`. `tests/js/tls.test.mjs` routes the same lines
//! through the WebAssembly package, built with certificate verification, and requires
//! byte-identical decisions.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../gateway-core/tests/tls/json_cases.rs"]
mod json_cases;
#[path = "../../gateway-core/tests/tls/pki.rs"]
mod pki;

use std::path::PathBuf;

use gateway_core::json::route_json;
use gateway_core::{Engine, EngineOptions, Target};
use serde_json::{Value, json};

use json_cases::{manifests, requests};
use pki::Ca;

#[test]
fn write_tls_requests_with_native_decisions() {
    let clients = Ca::root("client root");
    let backends = Ca::root("backend root");
    let yaml = manifests(&clients, &backends);
    let (_, router) = Engine::load_router(
        yaml.as_bytes(),
        &Target::only_gateway(),
        &EngineOptions::default(),
    )
    .unwrap();
    let mut lines = Vec::new();
    let mut decisions = Vec::new();
    for (request, outcome, _) in requests(&clients, &backends) {
        let line = request.to_string();
        let decision = route_json(&router, line.as_bytes());
        let parsed: Value = serde_json::from_str(&decision).unwrap();
        assert_eq!(parsed["outcome"], outcome, "{line}: {decision}");
        lines.push(line);
        decisions.push(decision);
    }
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/fixtures");
    std::fs::create_dir_all(&out).unwrap();
    let fixture = json!({ "manifests": yaml, "lines": lines, "decisions": decisions });
    std::fs::write(out.join("tls.json"), fixture.to_string()).unwrap();
    println!("tls: {} requests", lines.len());
}
