//! The Rust half of the JS parity replay: sets up every case of the conformance corpus
//! (../shared/conformance) exactly as `gateway replay` does, routes every request case through
//! the Rust API (`gateway_core::json::route_json`), and writes the manifests, the request lines
//! and the Rust decisions to `tests/js/fixtures/parity.json`. `tests/js/parity.test.mjs` then
//! loads the same manifests through the JS API and requires byte-for-byte equal decisions and
//! status.
//!
//! The certificates of the corpus's Secrets are fresh on every run (as upstream's are), so the
//! fixture is written, not committed.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/corpus.rs"]
mod corpus;

use std::collections::BTreeSet;
use std::path::PathBuf;

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::json::route_json;
use gateway_core::{Engine, EngineOptions, GatewayRef, Target};
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

/// Loads, attaches and builds as the JS `Router.fromManifests` does, with the Rust API.
fn config_of(text: &str) -> Result<Engine, String> {
    let mut options = EngineOptions::default();
    options.attach.controller_name = corpus::CONTROLLER.to_owned();
    options.attach.address_pool = vec![corpus::USABLE_ADDRESS.to_owned()];
    Engine::load(text.as_bytes(), &options).map_err(|e| e.to_string())
}

#[test]
fn write_parity_fixture_from_the_rust_api() {
    let dir = corpus_dir();
    let programmatic = corpus::programmatic_resources(&dir).expect("programmatic resources");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .expect("corpus cases")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut cases, mut requests, mut routers) = (Vec::new(), 0usize, 0usize);
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap().to_owned();
        let manifests: Vec<String> = case["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect();
        // Phase 0: one text, exactly as the JS test builds it; it must load to the same
        // objects as the replay's two loads.
        let text = corpus::case_text(&dir, &manifests, &programmatic).unwrap();
        let mut snapshot = corpus::replay_snapshot(&dir, &manifests, &programmatic).unwrap();
        let mut one_text = Snapshot::load(text.as_bytes(), &LoadOptions::default())
            .unwrap()
            .snapshot;
        corpus::forget_documents(&mut one_text);
        let mut two_loads = snapshot.clone();
        corpus::forget_documents(&mut two_loads);
        assert_eq!(one_text, two_loads, "{name}: one text loads differently");

        let mutations = case["mutations"].as_array().cloned().unwrap_or_default();
        let last_phase = mutations
            .iter()
            .filter_map(|m| m["phase"].as_u64())
            .max()
            .unwrap_or(0);
        let mut phases = Vec::new();
        for phase in 0..=last_phase {
            let text = if phase == 0 {
                text.clone()
            } else {
                for m in mutations.iter().filter(|m| m["phase"] == phase) {
                    // A mutation the corpus could not express is skipped by the replay too.
                    let _ = corpus::apply(&mut snapshot, m);
                }
                snapshot.to_json()
            };
            let config = config_of(&text);
            let mut gateways: BTreeSet<(String, String)> = BTreeSet::new();
            let phase_requests: Vec<&Value> = case["requests"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["phase"] == phase && r["unexpressed"].is_null())
                .collect();
            for r in &phase_requests {
                gateways.insert(corpus::gateway_of(r));
            }
            if let Some(g) = case["gateways"].as_array().and_then(|g| g.first()) {
                gateways.insert(corpus::gateway_of(&json!({ "gateway": g })));
            }
            let mut phase_routers = Vec::new();
            for (ns, gw) in gateways {
                let built = config.as_ref().map_err(Clone::clone).and_then(|c| {
                    let gateway = GatewayRef::from_parts(&ns, &gw);
                    c.router(&Target::Gateway(gateway))
                        .map_err(|e| e.to_string())
                });
                let mut lines = Vec::new();
                if let Ok(router) = &built {
                    for r in phase_requests
                        .iter()
                        .filter(|r| corpus::gateway_of(r) == (ns.clone(), gw.clone()))
                    {
                        for line in corpus::request_lines(r) {
                            let expected = route_json(router, line.as_bytes());
                            lines.push(json!({ "line": line, "expected": expected }));
                        }
                    }
                }
                requests += lines.len();
                routers += 1;
                phase_routers.push(json!({
                    "namespace": ns,
                    "name": gw,
                    "error": built.as_ref().err(),
                    "requests": lines,
                }));
            }
            phases.push(json!({
                "phase": phase,
                // Phase 0's text is rebuilt by the JS test from the corpus and compared.
                "text": text,
                "load_error": config.as_ref().err(),
                "status": config.as_ref().ok().map(|c| c.status().to_json()),
                "routers": phase_routers,
            }));
        }
        cases.push(json!({ "name": name, "manifests": manifests, "phases": phases }));
    }
    let fixture = json!({
        "controller": corpus::CONTROLLER,
        "class": corpus::CLASS_NAME,
        "usable_address": corpus::USABLE_ADDRESS,
        "unusable_address": corpus::UNUSABLE_ADDRESS,
        "programmatic": programmatic,
        "cases": cases,
    });
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/fixtures");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("parity.json"), fixture.to_string()).unwrap();
    println!(
        "parity fixture: {} cases, {routers} routers, {requests} request lines",
        files.len()
    );
    assert_eq!(files.len(), 66, "the v1.4.1 corpus has 66 cases");
    assert!(requests >= 2_700, "{requests} request lines");
}
