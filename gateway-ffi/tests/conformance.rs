//! Parity: the whole conformance corpus (../shared/conformance, phase 0 of every case) routed
//! through the C ABI gives the same decisions as the Rust API.
//!
//! Each case's manifests are loaded as `gateway replay` loads them (placeholders filled, the
//! suite's Secrets and ConfigMaps made with rcgen, the replay's controller name and address
//! pool), once through `gw_config_load_with_options` + `gw_router_build` and once through
//! `Snapshot::load` + `Config::new` + `Router::build`. Every request, with three random draws,
//! is then routed:
//! - through `gw_route_json`, whose bytes must equal `gateway_core::json::route_json`'s;
//! - through the typed `gw_router_route`, whose accessors must agree field by field with the
//!   Rust decision JSON (outcome, cause, status, reason, listener, route, rule, backend,
//!   forwarded path, authority and headers after the request edits, response edits, location,
//!   local headers, mirrors).
//!
//! Mutations (phases after 0) rewrite the snapshot in Rust and are the replay's business.
#![allow(unsafe_code)] // it drives the C ABI
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::ptr::null_mut;

use base64::Engine as _;
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::filter::HeaderEdits;
use gateway_core::outcome::Outcome;
use gateway_core::request::normalize::PathPolicy;
use gateway_core::route::{GatewayRef, Router};
use gateway_ffi::backend_tls::*;
use gateway_ffi::config::*;
use gateway_ffi::decision::*;
use gateway_ffi::router::*;
use gateway_ffi::{gw_result, gw_slice};
use serde_json::{Value, json};

const CONTROLLER: &str = "gateway.example.dev/conformance-replay";
const CLASS_NAME: &str = "gateway-conformance";
const USABLE_ADDRESS: &str = "192.0.2.10";
const UNUSABLE_ADDRESS: &str = "198.51.100.99";
const RANDOMS: [u64; 3] = [0, u64::MAX / 2, u64::MAX];

/// TLS, TCP and UDP connections (`examples/l4/l4.yaml`) through `gw_route_json` and
/// `gw_router_route_l4`: forwards, every not-found cause, and malformed lines.
#[test]
fn l4_connections_through_the_c_abi_match_rust() {
    let yaml = include_str!("../../examples/l4/l4.yaml");
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).unwrap();
    let rust_config = Config::new(loaded.snapshot, AttachOptions::default());
    let rust = Router::build(
        &rust_config,
        &GatewayRef::new("edge", "edge"),
        PathPolicy::secure(),
    )
    .unwrap();
    let (mut config, mut router) = (null_mut(), null_mut());
    // SAFETY: live strings and out-params.
    unsafe {
        assert_eq!(
            gw_config_load(yaml.as_ptr(), yaml.len(), &mut config, null_mut()),
            gw_result::Ok
        );
        let (ns, name) = ("edge", "edge");
        assert_eq!(
            gw_router_build(
                config,
                ns.as_ptr(),
                ns.len(),
                name.as_ptr(),
                name.len(),
                &mut router,
                null_mut()
            ),
            gw_result::Ok
        );
    }
    let rows = [
        (
            json!({"transport": "tls", "port": 8443, "sni": "db.example.com"}),
            "forward",
        ),
        (
            json!({"transport": "tls", "port": 8443, "sni": "WWW.example.com."}),
            "forward",
        ),
        (
            json!({"transport": "tcp", "port": 9000, "random": 42}),
            "forward",
        ),
        (json!({"transport": "udp", "port": 9053}), "forward"),
        (
            json!({"transport": "tls", "port": 8443, "sni": "db.other.org"}),
            "not_found",
        ),
        (json!({"transport": "tls", "port": 8443}), "not_found"),
        (json!({"transport": "udp", "port": 9000}), "not_found"),
        (
            json!({"transport": "udp", "port": 9053, "sni": "a.example.com"}),
            "bad_request",
        ),
        (json!({"transport": "sctp", "port": 9053}), "bad_request"),
    ];
    for (line, outcome) in rows {
        let decision = l4_parity(router, &rust, &line, &line.to_string());
        assert_eq!(decision["outcome"], outcome, "{line}");
    }
    // SAFETY: ours, freed once.
    unsafe {
        gw_router_free(router);
        gw_config_free(config);
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

#[test]
fn conformance_replay_through_the_c_abi_matches_rust() {
    let dir = corpus();
    assert!(dir.join("cases").is_dir(), "no corpus at {}", dir.display());
    let programmatic = programmatic_resources(&dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut cases, mut compared, mut closed) = (0, 0, 0);
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let (n, c) = replay_case(&dir, &case, &programmatic);
        compared += n;
        closed += c;
        cases += 1;
    }
    println!(
        "{cases} cases, {compared} decisions identical through gw_route_json and Rust, and \
         through the typed ABI ({closed} of them failing closed: unusable backend TLS)"
    );
    assert!(
        cases >= 60 && compared >= 500,
        "{cases} cases, {compared} decisions"
    );
}

/// The address a Pod the client addresses by IP (`{POD_IP}`) gets, as in `gateway replay`: no
/// Service has it, so no route applies.
const POD_ADDRESS: &str = "192.0.2.200";

/// The mesh cases (`cases-mesh/`): the mesh router built through `gw_router_build_mesh` (the
/// mesh made ours with `gw_config_options_set_mesh`) and through `Target::Mesh` route every
/// request alike, through `gw_route_json` (byte for byte) and through the typed
/// `gw_router_route` with `gw_request.mesh` (field by field, as for the Gateway cases).
#[test]
fn mesh_cases_through_the_c_abi_match_rust() {
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cases-mesh"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut cases, mut compared, mut passed_through) = (0, 0, 0);
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let (n, p) = replay_mesh_case(&dir, &case);
        compared += n;
        passed_through += p;
        cases += 1;
    }
    println!(
        "{cases} mesh cases, {compared} decisions identical through gw_route_json and Rust, and \
         through the typed ABI ({passed_through} of them pass-through)"
    );
    assert!(
        cases >= 15 && compared >= 150 && passed_through > 0,
        "{cases} cases, {compared} decisions, {passed_through} pass-through"
    );
}

/// Returns (decisions compared, of which pass-through).
fn replay_mesh_case(dir: &Path, case: &Value) -> (usize, usize) {
    let name = case["name"].as_str().unwrap();
    let mut text = String::new();
    for file in case["manifests"].as_array().unwrap() {
        let path = dir.join("manifests").join(file.as_str().unwrap());
        text.push_str(
            &std::fs::read_to_string(&path)
                .unwrap()
                .replace("{GATEWAY_CONTROLLER_NAME}", CONTROLLER),
        );
        text.push_str("\n---\n");
    }
    let mut options = gateway_core::EngineOptions::default();
    options.attach.controller_name = CONTROLLER.to_owned();
    options.attach.mesh = true;
    let (_, rust_router) =
        gateway_core::Engine::load_router(text.as_bytes(), &gateway_core::Target::Mesh, &options)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut config: *mut gw_config = null_mut();
    let mut router: *mut gw_router = null_mut();
    // SAFETY: live locals and strings for the duration of each call.
    unsafe {
        let options = gw_config_options_new();
        assert_eq!(
            gw_config_options_set_controller_name(options, CONTROLLER.as_ptr(), CONTROLLER.len()),
            gw_result::Ok
        );
        assert_eq!(gw_config_options_set_mesh(options, true), gw_result::Ok);
        let r = gw_config_load_with_options(
            options,
            text.as_ptr(),
            text.len(),
            &mut config,
            null_mut(),
        );
        gw_config_options_free(options);
        assert_eq!(r, gw_result::Ok, "{name}: the C ABI loads it");
        assert_eq!(
            gw_router_build_mesh(config, &mut router, null_mut()),
            gw_result::Ok,
            "{name}: the C ABI builds the mesh router"
        );
    }
    let mut compared = (0, 0);
    for (i, r) in case["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if r["phase"].as_u64().unwrap_or(0) != 0 || !r["unexpressed"].is_null() {
            continue;
        }
        for random in RANDOMS {
            let request = mesh_json_request(r, random);
            let what = format!("{name} request {i}");
            let expected = json_parity(router, &rust_router, &request, &what);
            let decision: Value = serde_json::from_str(&expected).unwrap();
            assert_ne!(
                decision["outcome"], "bad_request",
                "{name} request {i}: {expected}"
            );
            typed_parity(
                router,
                &request,
                &decision,
                &format!("{name} request {i} random {random}"),
            );
            compared.0 += 1;
            compared.1 += usize::from(decision["outcome"] == "pass_through");
        }
    }
    // SAFETY: ours, each released once.
    unsafe {
        gw_router_free(router);
        gw_config_free(config);
    }
    compared
}

/// A mesh request of the corpus in the JSON interface's form, as `gateway replay` sends it: the
/// client's namespace, the case's destination (a Service port, or [`POD_ADDRESS`] for a Pod),
/// Host `request.host` (`echo` when empty) unless the request's headers give one.
fn mesh_json_request(r: &Value, random: u64) -> Value {
    let port = r["port"].as_u64().unwrap();
    let host = r["request"]["host"].as_str().unwrap_or("echo").to_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    let (method, target, authority) = if r["grpc"].is_object() {
        let g = &r["grpc"];
        headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
        for (k, v) in g["metadata"].as_object().into_iter().flatten() {
            headers.push((k.clone(), value_text(v)));
        }
        let path = format!(
            "/{}/{}",
            g["service"].as_str().unwrap(),
            g["method"].as_str().unwrap()
        );
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
            headers.push((k.clone(), value_text(v)));
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
        "scheme": "http",
        "port": port,
        "sni": null,
        "method": method,
        "authority": authority,
        "target": target,
        "headers": headers,
        "random": random,
        "client_namespace": r["client"]["namespace"],
        "destination": destination,
    })
}

/// Returns (decisions compared, of which the typed ABI answered 500 by failing closed).
fn replay_case(dir: &Path, case: &Value, programmatic: &str) -> (usize, usize) {
    let name = case["name"].as_str().unwrap();
    let mut text = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: {CLASS_NAME}}}\nspec: {{controllerName: {CONTROLLER}}}\n---\n"
    );
    for file in case["manifests"].as_array().unwrap() {
        let path = dir.join("manifests").join(file.as_str().unwrap());
        let manifest = std::fs::read_to_string(&path).unwrap();
        text.push_str(
            &manifest
                .replace("{GATEWAY_CLASS_NAME}", CLASS_NAME)
                .replace("{GATEWAY_CONTROLLER_NAME}", CONTROLLER)
                .replace("PLACEHOLDER_USABLE_ADDRS", USABLE_ADDRESS)
                .replace("PLACEHOLDER_UNUSABLE_ADDRS", UNUSABLE_ADDRESS),
        );
        text.push_str("\n---\n");
    }
    text.push_str(programmatic);
    text.push('\n');

    // Rust.
    let mut attach = AttachOptions::default();
    attach.controller_name = CONTROLLER.to_owned();
    attach.address_pool = vec![USABLE_ADDRESS.to_owned()];
    let loaded = Snapshot::load(text.as_bytes(), &LoadOptions::default());
    // C ABI.
    let mut config: *mut gw_config = null_mut();
    // SAFETY: live locals and strings for the duration of each call.
    let result = unsafe {
        let options = gw_config_options_new();
        assert_eq!(
            gw_config_options_set_controller_name(options, CONTROLLER.as_ptr(), CONTROLLER.len()),
            gw_result::Ok
        );
        assert_eq!(
            gw_config_options_add_address(options, USABLE_ADDRESS.as_ptr(), USABLE_ADDRESS.len()),
            gw_result::Ok
        );
        let r = gw_config_load_with_options(
            options,
            text.as_ptr(),
            text.len(),
            &mut config,
            null_mut(),
        );
        gw_config_options_free(options);
        r
    };
    let Ok(loaded) = loaded else {
        assert_eq!(
            result,
            gw_result::InvalidConfig,
            "{name}: only the C ABI loaded it"
        );
        return (0, 0);
    };
    assert_eq!(result, gw_result::Ok, "{name}: only Rust loaded it");
    let rust_config = Config::new(loaded.snapshot, attach);

    // Status parity too.
    let mut status = null_mut();
    // SAFETY: live config and out-param.
    unsafe {
        assert_eq!(gw_config_status_json(config, &mut status), gw_result::Ok);
        assert_eq!(
            buffer(status),
            rust_config.status().to_json(),
            "{name}: status JSON"
        );
        gw_buffer_free(status);
    }

    let mut compared = (0, 0);
    for (i, r) in case["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if r["phase"].as_u64().unwrap_or(0) != 0 || !r["unexpressed"].is_null() {
            continue;
        }
        let ns = r["gateway"]["namespace"].as_str().unwrap_or_default();
        let gw = r["gateway"]["name"].as_str().unwrap();
        let gateway = GatewayRef::from_parts(ns, gw);
        let rust_router = Router::build(&rust_config, &gateway, PathPolicy::secure());
        let mut router: *mut gw_router = null_mut();
        // SAFETY: live config, strings and out-param.
        let built = unsafe {
            gw_router_build(
                config,
                ns.as_ptr(),
                ns.len(),
                gw.as_ptr(),
                gw.len(),
                &mut router,
                null_mut(),
            )
        };
        let Ok(rust_router) = rust_router else {
            assert_ne!(
                built,
                gw_result::Ok,
                "{name}: only the C ABI built the router"
            );
            continue;
        };
        assert_eq!(built, gw_result::Ok, "{name}: only Rust built the router");
        for random in RANDOMS {
            let request = json_request(r, random);
            let line = request.to_string();
            let expected = gateway_core::json::route_json(&rust_router, line.as_bytes());
            let mut out = null_mut();
            // SAFETY: live router, line and out-param.
            let got = unsafe {
                assert_eq!(
                    gw_route_json(router, line.as_ptr(), line.len(), &mut out),
                    gw_result::Ok
                );
                let got = buffer(out);
                gw_buffer_free(out);
                got
            };
            assert_eq!(got, expected, "{name} request {i}: gw_route_json differs");
            let decision: Value = serde_json::from_str(&expected).unwrap();
            let closed = typed_parity(
                router,
                &request,
                &decision,
                &format!("{name} request {i} random {random}"),
            );
            compared.0 += 1;
            compared.1 += usize::from(closed);
            // A port no HTTP listener serves: the connection is routed as TLS (an HTTPS
            // client) or TCP, as the replay routes it.
            if !rust_router.serves_http(u16::try_from(request["port"].as_u64().unwrap()).unwrap()) {
                let tls = request["scheme"] == "https";
                let mut line = json!({"transport": if tls { "tls" } else { "tcp" },
                                      "port": request["port"], "random": random});
                if tls && let Some(sni) = request["sni"].as_str() {
                    line["sni"] = json!(sni);
                }
                l4_parity(
                    router,
                    &rust_router,
                    &line,
                    &format!("{name} request {i} L4"),
                );
                compared.0 += 1;
            }
        }
        // SAFETY: our reference, released once.
        unsafe { gw_router_free(router) };
    }
    // SAFETY: ours, freed once.
    unsafe { gw_config_free(config) };
    compared
}

/// The request as `gateway replay` sends it (gateway-cli/src/replay/requests.rs `observe`), in
/// the JSON interface's form.
fn json_request(r: &Value, random: u64) -> Value {
    let protocol = r["protocol"].as_str().unwrap_or("http");
    let port = r["port"].as_u64().unwrap();
    let default_port = if protocol == "https" { 443 } else { 80 };
    let host = match r["request"]["host"].as_str() {
        Some(h) => h.to_owned(),
        None if port == default_port && protocol != "grpc" => USABLE_ADDRESS.to_owned(),
        None => format!("{USABLE_ADDRESS}:{port}"),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    let (method, target, authority) = if r["grpc"].is_object() {
        let g = &r["grpc"];
        headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
        for (k, v) in g["metadata"].as_object().into_iter().flatten() {
            headers.push((k.clone(), value_text(v)));
        }
        let path = format!(
            "/{}/{}",
            g["service"].as_str().unwrap(),
            g["method"].as_str().unwrap()
        );
        ("POST".to_owned(), path, Some(host.clone()))
    } else {
        headers.push(("host".to_owned(), host.clone()));
        for (k, v) in r["request"]["headers"].as_object().into_iter().flatten() {
            headers.push((k.clone(), value_text(v)));
        }
        let method = r["request"]["method"].as_str().unwrap_or("GET").to_owned();
        (
            method,
            r["request"]["path"].as_str().unwrap().to_owned(),
            None,
        )
    };
    let sni = r["request"]["sni"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| (protocol == "https").then(|| host.split(':').next().unwrap().to_owned()))
        .filter(|s| s.parse::<std::net::IpAddr>().is_err());
    json!({
        "scheme": if protocol == "https" { "https" } else { "http" },
        "port": port,
        "sni": sni,
        "method": method,
        "authority": authority,
        "target": target,
        "headers": headers,
        "random": random,
    })
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Routes the request through `gw_router_route` and checks every accessor against the Rust
/// decision JSON.
fn typed_parity(router: *const gw_router, request: &Value, decision: &Value, what: &str) -> bool {
    let str_of = |v: &Value| v.as_str().map(str::to_owned);
    let headers: Vec<(String, String)> =
        serde_json::from_value(request["headers"].clone()).unwrap();
    let c_headers: Vec<gw_header> = headers
        .iter()
        .map(|(n, v)| gw_header {
            name: slice(n),
            value: slice(v),
        })
        .collect();
    let method = str_of(&request["method"]).unwrap();
    let target = str_of(&request["target"]).unwrap();
    let scheme = str_of(&request["scheme"]).unwrap();
    let authority = str_of(&request["authority"]);
    let sni = str_of(&request["sni"]);
    let client = str_of(&request["client_namespace"]);
    let to = &request["destination"];
    let (to_ns, to_name, to_address) = (
        str_of(&to["namespace"]),
        str_of(&to["name"]),
        str_of(&to["address"]),
    );
    let mesh = client.as_deref().map(|client| gw_mesh_request {
        client_namespace: slice(client),
        destination_namespace: to_ns.as_deref().map_or(gw_slice::NONE, slice),
        destination_name: to_name.as_deref().map_or(gw_slice::NONE, slice),
        destination_address: to_address.as_deref().map_or(gw_slice::NONE, slice),
        destination_port: to["port"].as_u64().map_or(0, |p| u16::try_from(p).unwrap()),
    });
    let req = gw_request {
        method: slice(&method),
        scheme: slice(&scheme),
        authority: authority.as_deref().map_or(gw_slice::NONE, slice),
        target: slice(&target),
        headers: c_headers.as_ptr(),
        headers_len: c_headers.len(),
        sni: sni.as_deref().map_or(gw_slice::NONE, slice),
        port: u16::try_from(request["port"].as_u64().unwrap()).unwrap(),
        random: request["random"].as_u64().unwrap(),
        tls: std::ptr::null(),
        mesh: mesh
            .as_ref()
            .map_or(std::ptr::null(), |m| m as *const gw_mesh_request),
        now: request["now"].as_u64().unwrap_or(0),
    };
    let mut d = null_mut();
    // SAFETY: live router and request; every accessor reads a live decision, freed at the end.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        let outcome = outcome_name(gw_decision_outcome(d));
        // External auth: the typed ABI stops at the check (the JSON interface, given no
        // `ext_auth_response`, says `auth_required`); the check must be the same.
        if outcome == "auth_required" {
            let check = &decision["ext_auth"];
            assert!(!check.is_null(), "{what}: only the typed ABI asks for auth");
            let mut c = std::mem::MaybeUninit::<gateway_ffi::auth::gw_auth_check>::uninit();
            assert!(gateway_ffi::auth::gw_decision_auth_check(d, c.as_mut_ptr()));
            let c = c.assume_init();
            assert_eq!(
                backend(&c.backend),
                check["backend"],
                "{what}: auth backend"
            );
            gw_decision_free(d);
            return false;
        }
        // Backend TLS: the settings must be the same, or the typed ABI fails closed where the
        // forward cannot be made (an unusable client certificate).
        if decision["outcome"] == "forward" && !decision["backend_tls"].is_null() {
            let tls = &decision["backend_tls"];
            if tls["client_certificate"].is_object() {
                assert_eq!(outcome, "server_error", "{what}: fail closed");
                assert_eq!(gw_decision_status(d), 500, "{what}: fail closed");
                assert_eq!(
                    gw_decision_cause(d),
                    gateway_ffi::cause::gw_cause::BackendTlsUnverifiable,
                    "{what}: fail closed"
                );
                assert!(!gw_decision_backend(d, &mut std::mem::zeroed()), "{what}");
                gw_decision_free(d);
                return true;
            }
            let mut t = std::mem::MaybeUninit::<gw_backend_tls>::uninit();
            assert!(
                gw_decision_backend_tls(d, t.as_mut_ptr()),
                "{what}: backend TLS"
            );
            let t = t.assume_init();
            let trust = match t.trust {
                gw_tls_trust::System => json!("system"),
                gw_tls_trust::CaBundle => json!({"bundles": t.ca_count}),
            };
            let sans: Vec<String> = (0..t.identity_count)
                .map(|i| {
                    let mut id = std::mem::MaybeUninit::<gw_tls_identity>::uninit();
                    assert!(gw_decision_backend_tls_identity(d, i, id.as_mut_ptr()));
                    let id = id.assume_init();
                    let value = text(id.value).unwrap();
                    match id.kind {
                        gw_tls_identity_kind::WildcardHostname => format!("*.{value}"),
                        _ => value,
                    }
                })
                .collect();
            let client = if t.client_certificate_count > 0 {
                json!("resolved")
            } else {
                Value::Null
            };
            let got = json!({
                "policy": text(t.policy), "sni": text(t.sni), "trust": trust,
                "subject_alt_names": sans, "client_certificate": client,
            });
            assert_eq!(&got, tls, "{what}: backend TLS");
        } else {
            assert!(
                !gw_decision_backend_tls(d, &mut std::mem::zeroed()),
                "{what}"
            );
        }
        assert_eq!(outcome, decision["outcome"], "{what}: outcome");
        let cause = Outcome::CAUSES
            .iter()
            .find(|o| o.cause_str() == decision["cause"].as_str())
            .map_or(0, |o| o.cause_code());
        assert_eq!(gw_decision_cause(d) as u32, cause, "{what}: cause");
        let status = gw_decision_status(d);
        assert_eq!(
            decision["status"].as_u64().unwrap_or(0),
            u64::from(status),
            "{what}: status"
        );
        assert_eq!(
            text(gw_decision_reason(d)),
            str_of(&decision["reason"]),
            "{what}: reason"
        );
        assert_eq!(
            text(gw_decision_listener(d)),
            str_of(&decision["listener"]),
            "{what}: listener"
        );
        let mut m = std::mem::MaybeUninit::<gw_route_match>::uninit();
        if gw_decision_route(d, m.as_mut_ptr()) {
            let m = m.assume_init();
            let kind = match m.kind {
                gw_route_kind::Http => "HTTPRoute",
                gw_route_kind::Grpc => "GRPCRoute",
                gw_route_kind::Tls => "TLSRoute",
                gw_route_kind::Tcp => "TCPRoute",
                gw_route_kind::Udp => "UDPRoute",
                gw_route_kind::None | gw_route_kind::Other => "?",
            };
            let route = json!({"kind": kind, "namespace": text(m.ns), "name": text(m.name)});
            assert_eq!(route, decision["route"], "{what}: route");
            let rule = json!({"index": m.rule_index, "name": text(m.rule_name)});
            assert_eq!(rule, decision["rule"], "{what}: rule");
        } else {
            assert!(
                decision["route"].is_null() && decision["rule"].is_null(),
                "{what}: route"
            );
        }
        let mut b = std::mem::MaybeUninit::<gw_backend>::uninit();
        if gw_decision_backend(d, b.as_mut_ptr()) {
            assert_eq!(
                backend(&b.assume_init()),
                decision["backend"],
                "{what}: backend"
            );
        } else {
            assert!(decision["backend"].is_null(), "{what}: backend");
        }
        let mirrors: Vec<Value> = (0..gw_decision_mirror_count(d))
            .map(|i| {
                let mut b = std::mem::MaybeUninit::<gw_backend>::uninit();
                assert!(gw_decision_mirror(d, i, b.as_mut_ptr()));
                backend(&b.assume_init())
            })
            .collect();
        assert_eq!(Value::from(mirrors), decision["mirrors"], "{what}: mirrors");
        assert_eq!(
            text(gw_decision_location(d)),
            str_of(&decision["location"]),
            "{what}: location"
        );

        let upstream = &decision["upstream"];
        assert_eq!(
            text(gw_decision_path(d)),
            str_of(&upstream["path"]),
            "{what}: path"
        );
        if !upstream.is_null() {
            // A URLRewrite hostname, else the authority as received (RequestEdits::authority
            // is None: unchanged), else, for an absolute-form target, the canonical host.
            let origin_form = request["target"]
                .as_str()
                .is_none_or(|t| t.starts_with('/'));
            let received = request["authority"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| {
                    let host = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("host"));
                    host.filter(|_| origin_form).map(|(_, v)| v.clone())
                });
            let authority = text(gw_decision_authority_rewrite(d))
                .or(received)
                .or_else(|| text(gw_decision_host(d)))
                .unwrap();
            assert_eq!(authority, upstream["authority"], "{what}: authority");
            // The forwarded headers: the request edits applied as the header documents.
            let mut edits = HeaderEdits::default();
            for i in 0..gw_decision_request_edit_count(d) {
                let mut e = std::mem::MaybeUninit::<gw_header_edit>::uninit();
                assert!(gw_decision_request_edit(d, i, e.as_mut_ptr()));
                let e = e.assume_init();
                let (n, v) = (text(e.name).unwrap(), text(e.value).unwrap());
                match e.op {
                    gw_header_op::Set => edits.set.push((n, v)),
                    gw_header_op::Add => edits.add.push((n, v)),
                    gw_header_op::Remove => edits.remove.push(n),
                }
            }
            let mut forwarded = edits.apply_to_pairs(&headers);
            if let Some(rewrite) = text(gw_decision_authority_rewrite(d)) {
                for (n, v) in &mut forwarded {
                    if n.eq_ignore_ascii_case("host") {
                        v.clone_from(&rewrite);
                    }
                }
            }
            assert_eq!(
                json!(forwarded),
                upstream["headers"],
                "{what}: forwarded headers"
            );
            let mut response = json!({"set": [], "add": [], "remove": []});
            for i in 0..gw_decision_response_edit_count(d) {
                let mut e = std::mem::MaybeUninit::<gw_header_edit>::uninit();
                assert!(gw_decision_response_edit(d, i, e.as_mut_ptr()));
                let e = e.assume_init();
                let (n, v) = (text(e.name).unwrap(), text(e.value).unwrap());
                match e.op {
                    gw_header_op::Set => {
                        response["set"].as_array_mut().unwrap().push(json!([n, v]))
                    }
                    gw_header_op::Add => {
                        response["add"].as_array_mut().unwrap().push(json!([n, v]))
                    }
                    gw_header_op::Remove => {
                        response["remove"].as_array_mut().unwrap().push(json!(n))
                    }
                }
            }
            assert_eq!(
                response, decision["response_edits"],
                "{what}: response edits"
            );
            assert_eq!(
                gw_decision_local_header_count(d),
                0,
                "{what}: local headers"
            );
        } else {
            let local: Vec<Value> = (0..gw_decision_local_header_count(d))
                .map(|i| {
                    let mut h = std::mem::MaybeUninit::<gw_header>::uninit();
                    assert!(gw_decision_local_header(d, i, h.as_mut_ptr()));
                    let h = h.assume_init();
                    json!([text(h.name), text(h.value)])
                })
                .collect();
            assert_eq!(
                Value::from(local),
                decision["response_headers"],
                "{what}: local headers"
            );
            assert_eq!(gw_decision_request_edit_count(d), 0);
            assert_eq!(gw_decision_response_edit_count(d), 0);
        }
        gw_decision_free(d);
    }
    false
}

/// The JSON interface's name of an outcome.
fn outcome_name(outcome: gw_outcome) -> &'static str {
    match outcome {
        gw_outcome::Forward => "forward",
        gw_outcome::Redirect => "redirect",
        gw_outcome::Respond => "respond",
        gw_outcome::NotFound => "not_found",
        gw_outcome::BadRequest => "bad_request",
        gw_outcome::Misdirected => "misdirected",
        gw_outcome::ServerError => "server_error",
        gw_outcome::Authorize => "auth_required",
        gw_outcome::Denied => "auth_denied",
        gw_outcome::PassThrough => "pass_through",
    }
}

/// Routes the request line `line` through `gw_route_json`, whose bytes must equal
/// `gateway_core::json::route_json`'s; the decision JSON.
fn json_parity(router: *const gw_router, rust: &Router, line: &Value, what: &str) -> String {
    let encoded = line.to_string();
    let expected = gateway_core::json::route_json(rust, encoded.as_bytes());
    let mut out = null_mut();
    // SAFETY: live router, line and out-param; the buffer is freed once.
    let got = unsafe {
        assert_eq!(
            gw_route_json(router, encoded.as_ptr(), encoded.len(), &mut out),
            gw_result::Ok
        );
        let got = buffer(out);
        gw_buffer_free(out);
        got
    };
    assert_eq!(got, expected, "{what}: gw_route_json differs");
    expected
}

/// Routes the L4 line `line` (`transport`, `port`, `sni`, `random`) through `gw_route_json`
/// and `gw_router_route_l4`: the JSON must equal Rust's, and the typed decision must name the
/// same outcome, cause, listener, route, rule and backend, with status 0 where the JSON's is
/// null.
fn l4_parity(router: *const gw_router, rust: &Router, line: &Value, what: &str) -> Value {
    let expected = json_parity(router, rust, line, what);
    let decision: Value = serde_json::from_str(&expected).unwrap();
    let transport = match line["transport"].as_str() {
        Some("tls") => gw_transport::Tls as u32,
        Some("tcp") => gw_transport::Tcp as u32,
        Some("udp") => gw_transport::Udp as u32,
        _ => 0,
    };
    let sni = line["sni"].as_str().unwrap_or_default();
    let port = u16::try_from(line["port"].as_u64().unwrap()).unwrap();
    let random = line["random"].as_u64().unwrap_or(0);
    let mut d = null_mut();
    // SAFETY: live router, SNI bytes and out-param; every accessor reads a live decision, freed
    // at the end.
    unsafe {
        assert_eq!(
            gw_router_route_l4(
                router,
                transport,
                port,
                sni.as_ptr(),
                sni.len(),
                random,
                &mut d
            ),
            gw_result::Ok
        );
        assert_eq!(
            outcome_name(gw_decision_outcome(d)),
            decision["outcome"],
            "{what}: outcome"
        );
        let cause = Outcome::CAUSES
            .iter()
            .find(|o| o.cause_str() == decision["cause"].as_str())
            .map_or(0, |o| o.cause_code());
        assert_eq!(gw_decision_cause(d) as u32, cause, "{what}: cause");
        assert_eq!(
            u64::from(gw_decision_status(d)),
            decision["status"].as_u64().unwrap_or(0),
            "{what}: status"
        );
        assert_eq!(
            text(gw_decision_listener(d)),
            decision["listener"].as_str().map(str::to_owned),
            "{what}: listener"
        );
        let mut m = std::mem::MaybeUninit::<gw_route_match>::uninit();
        let route = if gw_decision_route(d, m.as_mut_ptr()) {
            let m = m.assume_init();
            json!({"namespace": text(m.ns), "name": text(m.name), "rule": m.rule_index})
        } else {
            Value::Null
        };
        let expected_route = if decision["route"].is_null() {
            Value::Null
        } else {
            json!({"namespace": decision["route"]["namespace"], "name": decision["route"]["name"],
                   "rule": decision["rule"]["index"]})
        };
        assert_eq!(route, expected_route, "{what}: route");
        let mut b = std::mem::MaybeUninit::<gw_backend>::uninit();
        let chosen = if gw_decision_backend(d, b.as_mut_ptr()) {
            backend(&b.assume_init())
        } else {
            Value::Null
        };
        assert_eq!(chosen, decision["backend"], "{what}: backend");
        gw_decision_free(d);
    }
    decision
}

fn slice(s: &str) -> gw_slice {
    gw_slice::from_bytes(s.as_bytes())
}

/// # Safety
/// `s` is NULL or valid UTF-8 the library returned, still alive.
unsafe fn text(s: gw_slice) -> Option<String> {
    if s.data.is_null() {
        return None;
    }
    // SAFETY: per the function's contract.
    let bytes = unsafe { std::slice::from_raw_parts(s.data, s.len) };
    Some(String::from_utf8(bytes.to_vec()).unwrap())
}

/// # Safety
/// `b`'s slices are alive.
unsafe fn backend(b: &gw_backend) -> Value {
    // SAFETY: per the function's contract.
    unsafe { json!({"namespace": text(b.ns), "name": text(b.name), "port": b.port}) }
}

/// # Safety
/// `b` is a live buffer.
unsafe fn buffer(b: *const gw_buffer) -> String {
    // SAFETY: per the function's contract.
    let bytes = unsafe { std::slice::from_raw_parts(gw_buffer_data(b), gw_buffer_len(b)) };
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The Secrets and ConfigMaps the upstream suite creates in code, as one JSON List (as
/// gateway-cli/src/replay/setup.rs makes them: CA ConfigMaps, then certificates signed by the
/// CA they name, or self-signed).
fn programmatic_resources(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("programmatic-resources.json")).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut cas = Vec::new();
    let mut items = Vec::new();
    for e in entries.iter().filter(|e| e["kind"] == "ConfigMap") {
        let (ns, name) = (
            e["namespace"].as_str().unwrap_or_default(),
            e["name"].as_str().unwrap(),
        );
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} CA"));
        let cert = params.self_signed(&key).unwrap();
        items.push(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"namespace": ns, "name": name},
            "data": {"ca.crt": cert.pem()},
        }));
        cas.push((name.to_owned(), params, key));
    }
    for e in entries.iter().filter(|e| e["kind"] == "Secret") {
        let (ns, name) = (
            e["namespace"].as_str().unwrap_or_default(),
            e["name"].as_str().unwrap(),
        );
        let cert = &e["certificate"];
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        for dns in cert["san"]["dns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            params
                .subject_alt_names
                .push(rcgen::SanType::DnsName(dns.try_into().unwrap()));
        }
        for uri in cert["san"]["uri"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            params
                .subject_alt_names
                .push(rcgen::SanType::URI(uri.try_into().unwrap()));
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = cert["issuer"].as_str().unwrap_or_default();
        let signed = match cas.iter().find(|(ca, _, _)| issuer.contains(ca.as_str())) {
            Some((_, ca_params, ca_key)) => {
                params.signed_by(&key, &rcgen::Issuer::from_params(ca_params, ca_key))
            }
            None => params.self_signed(&key),
        }
        .unwrap();
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        items.push(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"namespace": ns, "name": name},
            "data": {"tls.crt": b64(signed.pem()), "tls.key": b64(key.serialize_pem())},
        }));
    }
    json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}
