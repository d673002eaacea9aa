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
use gateway_core::{Engine, EngineOptions, GatewayRef, Headers, Plan, RequestView, Target, plan};
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

/// The address a Pod the client addresses by IP (`{POD_IP}`) gets, as in `gateway replay`: no
/// Service has it, so no route applies.
const POD_ADDRESS: &str = "192.0.2.200";

/// Randomness of each mesh request line: both ends and the middle.
const MESH_RANDOMS: [u64; 3] = [0, u64::MAX / 2, u64::MAX];

/// The mesh cases (`cases-mesh/`): each case's manifests (with the controller placeholder
/// filled) as one text, the mesh router built with the Rust API as `Router.mesh(text,
/// {controllerName, mesh: true})` builds it, and every request line with its Rust decision,
/// written to `tests/js/fixtures/parity-mesh.json` for `tests/js/mesh.test.mjs`.
#[test]
fn write_mesh_parity_fixture_from_the_rust_api() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cases-mesh"))
        .expect("corpus mesh cases")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut cases, mut requests, mut passed_through) = (Vec::new(), 0usize, 0usize);
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap().to_owned();
        let manifests: Vec<String> = case["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect();
        let mut text = String::new();
        for m in &manifests {
            let raw = std::fs::read_to_string(dir.join("manifests").join(m)).unwrap();
            text.push_str(&raw.replace("{GATEWAY_CONTROLLER_NAME}", corpus::CONTROLLER));
            text.push_str("\n---\n");
        }
        let mut options = EngineOptions::default();
        options.attach.controller_name = corpus::CONTROLLER.to_owned();
        options.attach.mesh = true;
        let (engine, router) = Engine::load_router(text.as_bytes(), &Target::Mesh, &options)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut lines = Vec::new();
        for r in case["requests"].as_array().into_iter().flatten() {
            if r["phase"] != 0 || !r["unexpressed"].is_null() {
                continue;
            }
            for random in MESH_RANDOMS {
                let line = mesh_request(r, random).to_string();
                let expected = route_json(&router, line.as_bytes());
                assert!(
                    !expected.contains(r#""outcome":"bad_request""#),
                    "{name}: {line} -> {expected}"
                );
                passed_through += usize::from(expected.contains(r#""outcome":"pass_through""#));
                lines.push(json!({ "line": line, "expected": expected }));
            }
        }
        requests += lines.len();
        cases.push(json!({
            "name": name,
            "manifests": manifests,
            "text": text,
            "status": engine.status().to_json(),
            "requests": lines,
        }));
    }
    let fixture = json!({ "controller": corpus::CONTROLLER, "cases": cases });
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/fixtures");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("parity-mesh.json"), fixture.to_string()).unwrap();
    println!(
        "mesh parity fixture: {} cases, {requests} request lines ({passed_through} pass-through)",
        files.len()
    );
    assert_eq!(files.len(), 15, "the v1.4.1 corpus has 15 mesh cases");
    assert!(
        requests >= 150 && passed_through > 0,
        "{requests} request lines"
    );
}

/// A mesh request of the corpus as a JSON request object, as `gateway replay` sends it: the
/// client's namespace, the case's destination (a Service port, or [`POD_ADDRESS`] for a Pod),
/// and Host `request.host` (`echo` when empty) unless the request's headers give one.
fn mesh_request(r: &Value, random: u64) -> Value {
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
            other => other.to_string(),
        }
    }
    let port = r["port"].as_u64().unwrap();
    let host = r["request"]["host"].as_str().unwrap_or("echo").to_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    let grpc = &r["grpc"];
    let (method, target, authority) = if grpc.is_object() {
        headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
        for (k, v) in grpc["metadata"].as_object().into_iter().flatten() {
            headers.push((k.clone(), text(v)));
        }
        let path = format!("/{}/{}", text(&grpc["service"]), text(&grpc["method"]));
        ("POST".to_owned(), path, Some(host))
    } else {
        let given = r["request"]["headers"].as_object();
        if !given
            .into_iter()
            .flatten()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            headers.push(("host".to_owned(), host));
        }
        for (k, v) in given.into_iter().flatten() {
            headers.push((k.clone(), text(v)));
        }
        let method = r["request"]["method"].as_str().unwrap_or("GET").to_owned();
        let path = r["request"]["path"].as_str().unwrap_or("/");
        let path = if path.is_empty() { "/" } else { path };
        (method, path.to_owned(), None)
    };
    let to = &r["destination"];
    let destination = if to["kind"] == "Pod" {
        json!({"address": POD_ADDRESS, "port": port})
    } else {
        json!({"namespace": to["namespace"], "name": to["name"], "port": port})
    };
    json!({
        "port": port,
        "method": method,
        "authority": authority,
        "target": target,
        "headers": headers,
        "random": random,
        "client_namespace": r["client"]["namespace"],
        "destination": destination,
    })
}

/// TLS, TCP and UDP connections (`examples/l4/l4.yaml`): every line with its Rust decision,
/// written to `tests/js/fixtures/parity-l4.json` for `tests/js/l4.test.mjs`, which routes the
/// lines through `routeJson` and the connection objects through `routeL4`.
#[test]
fn write_l4_parity_fixture_from_the_rust_api() {
    let yaml = include_str!("../../examples/l4/l4.yaml");
    let (_, router) = Engine::load_router(
        yaml.as_bytes(),
        &Target::only_gateway(),
        &EngineOptions::default(),
    )
    .expect("l4.yaml builds");
    let lines = [
        json!({"transport": "tls", "port": 8443, "sni": "db.example.com"}),
        json!({"transport": "tls", "port": 8443, "sni": "www.example.com"}),
        json!({"transport": "tls", "port": 8443, "sni": "db.other.org"}),
        json!({"transport": "tls", "port": 8443}),
        json!({"transport": "tcp", "port": 9000, "random": 7}),
        json!({"transport": "udp", "port": 9053}),
        json!({"transport": "udp", "port": 9000}),
        json!({"transport": "tcp", "port": 9000, "sni": "db.example.com"}),
        json!({"transport": "sctp", "port": 9000}),
    ];
    let cases: Vec<Value> = lines
        .iter()
        .map(|line| {
            let text = line.to_string();
            json!({"line": text, "decision": route_json(&router, text.as_bytes())})
        })
        .collect();
    let forwards = cases
        .iter()
        .filter(|c| {
            c["decision"]
                .as_str()
                .unwrap()
                .contains(r#""outcome":"forward""#)
        })
        .count();
    assert_eq!(forwards, 4, "{cases:?}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/fixtures");
    std::fs::create_dir_all(&out).unwrap();
    let fixture = json!({"manifests": yaml, "cases": cases});
    std::fs::write(out.join("parity-l4.json"), fixture.to_string()).unwrap();
}

/// Timeouts, retries, retry budgets and sessions (`examples/traffic/traffic.yaml`): every line
/// with its Rust decision, written to `tests/js/fixtures/parity-traffic.json` for
/// `tests/js/traffic.test.mjs`, which routes the lines through `routeJson` and `route`.
#[test]
fn write_traffic_parity_fixture_from_the_rust_api() {
    let yaml = include_str!("../../examples/traffic/traffic.yaml");
    let (_, router) = Engine::load_router(
        yaml.as_bytes(),
        &Target::only_gateway(),
        &EngineOptions::default(),
    )
    .expect("traffic.yaml builds");
    let host = json!([["host", "shop.example.com"]]);
    // Session tokens issued natively: the cart's cookie pins cart-v2 (weight 0), the catalog's
    // header pins its one backend; read at `now`, within their timeouts.
    let issue = |path: &[u8], index: usize| {
        let headers = [("host", "shop.example.com")];
        let req = RequestView::new("GET", path, Headers::Pairs(&headers));
        let decision = router.route(&req);
        let Plan::Forward(forward) = plan(&decision, &req, 0) else {
            panic!("not a forward");
        };
        let set = forward
            .session
            .unwrap()
            .issue(index, "10.0.0.7:8080", 1_000);
        set.unwrap().value
    };
    let cookie = issue(b"/cart", 1).split(';').next().unwrap().to_owned();
    let token = issue(b"/catalog", 0);
    let lines = [
        json!({"target": "/cart/items", "headers": [["host", "shop.example.com"], ["cookie", cookie]], "now": 2_000}),
        json!({"target": "/cart/items", "headers": [["host", "shop.example.com"], ["cookie", cookie]]}),
        json!({"target": "/catalog", "headers": [["host", "shop.example.com"], ["x-catalog-session", token]], "now": 2_000}),
        json!({"target": "/cart/items", "headers": host}),
        json!({"method": "POST", "target": "/cart/checkout", "headers": host, "random": 3}),
        json!({"target": "/catalog/shoes", "headers": host}),
        json!({"target": "/catalog", "headers": [["host", "shop.example.com"], ["x-catalog-session", "not-a-token"]]}),
        json!({"target": "/", "headers": host}),
    ];
    let cases: Vec<Value> = lines
        .iter()
        .map(|line| {
            let text = line.to_string();
            json!({"line": text, "decision": route_json(&router, text.as_bytes())})
        })
        .collect();
    // Each rule's decision carries what the proxy executes: the checks below fail if a field
    // is dropped from the decision, so the JS half compares something.
    let decisions: Vec<Value> = cases
        .iter()
        .map(|c| serde_json::from_str(c["decision"].as_str().unwrap()).unwrap())
        .collect();
    // The pin chooses the weight-0 backend at `now`; without `now` no token is read.
    assert_eq!(decisions[0]["backend"]["name"], "cart-v2");
    assert_eq!(decisions[1]["backend"]["name"], "cart-v1");
    assert_eq!(decisions[2]["backend"]["name"], "catalog");
    assert_eq!(decisions[3]["timeouts"]["backend_request_ms"], 2_000);
    assert_eq!(decisions[3]["retry"]["attempts"], 2);
    assert_eq!(decisions[3]["session"]["lifetime"], "permanent");
    assert_eq!(decisions[5]["retry"]["budget"]["percent"], 25);
    assert_eq!(decisions[5]["session"]["policy"], "shop/catalog");
    assert_eq!(decisions[7]["outcome"], "not_found");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/fixtures");
    std::fs::create_dir_all(&out).unwrap();
    let fixture = json!({"manifests": yaml, "cases": cases});
    std::fs::write(out.join("parity-traffic.json"), fixture.to_string()).unwrap();
}
