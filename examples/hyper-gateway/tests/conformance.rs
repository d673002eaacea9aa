//! A slice of the Gateway API conformance corpus (`../shared/conformance` beside the clone, or
//! `$CONFORMANCE_DIR`) run for real: the gateway binary serves each case's Gateway on
//! loopback, one echo backend per Deployment stands behind its Services, and every phase-0
//! HTTP request of the case is sent over HTTP/1.1 and again over HTTP/2 (prior knowledge); each
//! gRPC request is a call of the echo backends' gRPC service (tonic, `support::grpc`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;
use support::cases::{Profile, check, corpus, distribution, read_json, text};
use support::{Echo, Gateway};

/// The cases run: routing, header edits, redirects, rewrites, mirrors, CORS, weights,
/// timeouts, cross-namespace references, listener isolation, h2c backends and GRPCRoute.
const CASES: &[&str] = &[
    "HTTPRouteSimpleSameNamespace",
    "HTTPRouteMatching",
    "HTTPRouteExactPathMatching",
    "HTTPRouteHeaderMatching",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteMethodMatching",
    "HTTPRoutePathMatchOrder",
    "HTTPRouteListenerHostnameMatching",
    "HTTPRouteCrossNamespace",
    "HTTPRouteRequestHeaderModifier",
    "HTTPRouteResponseHeaderModifier",
    "HTTPRouteBackendRequestHeaderModifier",
    "HTTPRouteRedirectPath",
    "HTTPRouteRedirectHostAndStatus",
    "HTTPRouteRedirectScheme",
    "HTTPRouteRedirectPort",
    "HTTPRouteRewritePath",
    "HTTPRouteRewriteHost",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteCORSAllowCredentialsBehavior",
    "HTTPRouteWeight",
    "HTTPRouteTimeoutRequest",
    "HTTPRouteTimeoutBackendRequest",
    "GatewayHTTPListenerIsolation",
    "HTTPRouteBackendProtocolH2C",
    "GRPCExactMethodMatching",
    "GRPCRouteListenerHostnameMatching",
    "GRPCRouteNamedRule",
    "GRPCRouteWeight",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_slice_over_http1_and_http2() {
    let dir = corpus();
    if !dir.join("cases").is_dir() {
        panic!(
            "no conformance corpus at {} (set CONFORMANCE_DIR)",
            dir.display()
        );
    }
    let backends = read_json(&dir.join("backends.json"));
    let mut failures = Vec::new();
    let mut checked = 0;
    for name in CASES {
        let case = read_json(&dir.join("cases").join(format!("{name}.json")));
        let (n, mut fails) = run_case(&dir, &case, &backends).await;
        checked += n;
        failures.append(&mut fails);
    }
    eprintln!("{checked} request checks, {} failed", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 300, "only {checked} checks ran");
}

/// Starts the case's backends and Gateways, sends its requests; returns (checks, failures).
async fn run_case(dir: &Path, case: &Value, backends: &Value) -> (usize, Vec<String>) {
    let name = case["name"].as_str().unwrap();
    let mut yaml = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
        metadata: {name: gateway-conformance}\n\
        spec: {controllerName: gateway.example.dev/gateway-core}\n---\n"
        .to_owned();
    for file in case["manifests"].as_array().unwrap() {
        let t =
            std::fs::read_to_string(dir.join("manifests").join(file.as_str().unwrap())).unwrap();
        yaml.push_str(&t.replace("{GATEWAY_CLASS_NAME}", "gateway-conformance"));
        yaml.push_str("\n---\n");
    }
    // One echo backend per Deployment; every Service selecting it points at it.
    let mut endpoints = String::new();
    let mut echoes: HashMap<(String, String), Echo> = HashMap::new();
    let mut groups: Vec<&Value> = backends["base"].as_array().unwrap().iter().collect();
    groups.extend(backends["per_test"][name].as_array().into_iter().flatten());
    for g in groups {
        let ns = g["namespace"].as_str().unwrap().to_owned();
        let deployment = g["deployment"].as_str().unwrap().to_owned();
        let key = (ns.clone(), deployment.clone());
        if !echoes.contains_key(&key) {
            echoes.insert(key.clone(), Echo::start(&ns, &deployment).await);
        }
        for s in g["services"].as_array().unwrap() {
            endpoints.push_str(&format!(
                "{ns}/{} {}\n",
                s.as_str().unwrap(),
                echoes[&key].addr
            ));
        }
    }
    let requests: Vec<&Value> = case["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["phase"] == 0 && r["protocol"] != "https" && r["unexpressed"].is_null())
        .collect();
    let mut by_gateway: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &requests {
        let gw = format!(
            "{}/{}",
            text(&r["gateway"]["namespace"]),
            text(&r["gateway"]["name"])
        );
        by_gateway.entry(gw).or_default().push(r);
    }
    let (mut checks, mut failures) = (0, Vec::new());
    for (gw, reqs) in by_gateway {
        let mut ports: Vec<u64> = reqs.iter().map(|r| r["port"].as_u64().unwrap()).collect();
        ports.sort_unstable();
        ports.dedup();
        let mut eps = endpoints.clone();
        for p in &ports {
            eps.push_str(&format!("listen {p} 127.0.0.1:0\n"));
        }
        let gateway = Gateway::start(name, &yaml, &eps, &gw);
        for r in reqs {
            // gRPC is HTTP/2 only; the others are sent over both versions.
            let versions: &[bool] = match r["protocol"].as_str() {
                Some("grpc") => &[true],
                _ => &[false, true],
            };
            for &h2 in versions {
                checks += 1;
                let addr = gateway.addr(r["port"].as_u64().unwrap() as u16);
                let result = if r["expect"]["distribution"].is_object() {
                    distribution(addr, &echoes, r, h2, Profile::Gateway).await
                } else {
                    check(addr, &echoes, r, h2, Profile::Gateway)
                        .await
                        .map(drop)
                };
                if let Err(why) = result {
                    let subtest = text(&r["subtest"]);
                    let proto = if h2 { "h2" } else { "http/1.1" };
                    failures.push(format!("{name} [{subtest}] {proto}: {why}"));
                }
            }
        }
        if !failures.is_empty() {
            eprintln!("--- gateway log of {name}\n{}", gateway.log());
        }
    }
    // The Service port's appProtocol is kubernetes.io/h2c: the backend must have been spoken
    // to in HTTP/2 (prior knowledge), whatever the client spoke.
    if name == "HTTPRouteBackendProtocolH2C" {
        checks += 1;
        let key = (
            "gateway-conformance-infra".to_owned(),
            "infra-backend-v1".to_owned(),
        );
        let versions: Vec<String> = echoes[&key]
            .received()
            .into_iter()
            .map(|s| s.version)
            .collect();
        if versions.is_empty() || versions.iter().any(|v| v != "HTTP/2.0") {
            failures.push(format!("{name}: the h2c backend received {versions:?}"));
        }
    }
    (checks, failures)
}
