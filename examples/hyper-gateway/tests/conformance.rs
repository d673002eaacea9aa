//! A slice of the Gateway API conformance corpus (`../shared/conformance` beside the clone, or
//! `$CONFORMANCE_DIR`) run for real: the gateway binary serves each case's Gateway on
//! loopback, one echo backend per Deployment stands behind its Services, and every phase-0
//! HTTP request of the case is sent over HTTP/1.1 and again over HTTP/2 (prior knowledge).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::{Echo, Gateway, Got, request, send};

/// The cases run: routing, header edits, redirects, rewrites, mirrors, CORS, weights,
/// timeouts, cross-namespace references and listener isolation.
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
];

fn corpus() -> PathBuf {
    std::env::var_os("CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        })
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

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
        .filter(|r| r["phase"] == 0 && r["protocol"] == "http" && r["unexpressed"].is_null())
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
            for h2 in [false, true] {
                checks += 1;
                if let Err(why) = check(&gateway, &echoes, r, h2).await {
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
    (checks, failures)
}

/// Sends one request case and compares what the client and the backends saw.
async fn check(
    gateway: &Gateway,
    echoes: &HashMap<(String, String), Echo>,
    case: &Value,
    h2: bool,
) -> Result<(), String> {
    let port = case["port"].as_u64().unwrap() as u16;
    let rq = &case["request"];
    let host = match rq["host"].as_str() {
        Some(h) => h.to_owned(),
        None if port == 80 => "192.0.2.10".to_owned(),
        None => format!("192.0.2.10:{port}"),
    };
    let path = rq["path"].as_str().unwrap();
    let mut headers: Vec<(String, String)> = rq["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect();
    if let Some(set) = case["backend_response"]["headers"].as_object() {
        let list: Vec<String> = set
            .iter()
            .map(|(k, v)| format!("{k}: {}", text(v)))
            .collect();
        headers.push(("x-echo-set-header".into(), list.join(",")));
    }
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mirrors_before: Vec<usize> = echoes.values().map(|e| e.received().len()).collect();
    let req = request(h2, rq["method"].as_str().unwrap(), &host, path, &pairs);
    let got = send(gateway.addr(port), None, h2, req).await?;
    let e = &case["expect"];
    let statuses: Vec<u64> = match &e["status"] {
        Value::Number(n) => vec![n.as_u64().unwrap()],
        Value::Array(a) => a.iter().filter_map(Value::as_u64).collect(),
        _ => Vec::new(),
    };
    let status = u64::from(got.status);
    if e["failure"] == true {
        if status == 200 {
            return Err("a failure expected, got 200".into());
        }
    } else if !statuses.is_empty() && !statuses.contains(&status) {
        let timeout = |s: u64| s == 408 || s == 504;
        if !(timeout(status) && statuses.iter().any(|s| timeout(*s))) {
            return Err(format!("status {statuses:?} expected, got {status}"));
        }
    }
    if status == 200 {
        let seen = got
            .seen()
            .ok_or("the response does not come from an echo backend")?;
        if let Some(ns) = e["backend"]["namespace"].as_str()
            && ns != seen.namespace
        {
            return Err(format!(
                "backend namespace {ns} expected, got {}",
                seen.namespace
            ));
        }
        if let Some(n) = e["backend"]["name"].as_str()
            && !seen.name.starts_with(n)
        {
            return Err(format!("backend {n} expected, got {}", seen.name));
        }
        let br = &e["backend_request"];
        for (field, actual) in [
            ("method", &seen.method),
            ("path", &seen.path),
            ("host", &seen.host),
        ] {
            if let Some(want) = br[field].as_str()
                && want != actual
            {
                return Err(format!("backend {field} {want:?} expected, got {actual:?}"));
            }
        }
        headers_match(
            "backend request",
            &br["headers"],
            &br["absent_headers"],
            |n| seen.header(n),
        )?;
        let resp = &e["response"];
        headers_match("response", &resp["headers"], &resp["absent_headers"], |n| {
            got.header(n)
        })?;
        for m in e["mirrored_to"].as_array().into_iter().flatten() {
            if m["percent"].is_number() {
                continue;
            }
            mirrored(echoes, &mirrors_before, m, &seen.path).await?;
        }
    }
    if matches!(status, 300..=308) && e["redirect"].is_object() {
        location(&got, &e["redirect"], path)?;
    }
    Ok(())
}

fn headers_match(
    what: &str,
    want: &Value,
    absent: &Value,
    actual: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    for (k, v) in want.as_object().into_iter().flatten() {
        let got = actual(k);
        if got.as_deref() != Some(text(v).as_str()) {
            return Err(format!(
                "{what} header {k}: {:?} expected, got {got:?}",
                text(v)
            ));
        }
    }
    for k in absent
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if actual(k).is_some() {
            return Err(format!("{what} header {k} should be absent"));
        }
    }
    Ok(())
}

/// Waits (up to 2 s) for a mirror backend to receive the path.
async fn mirrored(
    echoes: &HashMap<(String, String), Echo>,
    before: &[usize],
    m: &Value,
    path: &str,
) -> Result<(), String> {
    let name = m["name"].as_str().unwrap();
    for _ in 0..40 {
        let hit = echoes.values().zip(before).any(|(echo, n)| {
            echo.received()
                .iter()
                .skip(*n)
                .any(|s| s.name.starts_with(name) && s.path == path)
        });
        if hit {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("no mirror of {path} reached {name}"))
}

fn location(got: &Got, want: &Value, request_path: &str) -> Result<(), String> {
    let loc = got.header("location").ok_or("redirect without Location")?;
    let (scheme, rest) = loc
        .split_once("://")
        .ok_or(format!("Location {loc} not absolute"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let path = path.split('?').next().unwrap_or(path);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let want_scheme = want["scheme"].as_str().unwrap_or("http");
    if scheme != want_scheme {
        return Err(format!("Location {loc}: scheme {want_scheme} expected"));
    }
    if let Some(h) = want["host"].as_str()
        && h != host
    {
        return Err(format!("Location {loc}: host {h} expected"));
    }
    let default = if scheme == "https" { "443" } else { "80" };
    let want_port = (!want["port"].is_null()).then(|| text(&want["port"]));
    let port_ok = match (want_port.as_deref(), port) {
        (None, None) => true,
        (None, Some(p)) | (Some(p), None) => p == default,
        (Some(w), Some(p)) => w == p,
    };
    if !port_ok {
        return Err(format!("Location {loc}: port {want_port:?} expected"));
    }
    let want_path = want["path"]
        .as_str()
        .unwrap_or(request_path.split('?').next().unwrap_or("/"));
    if path != want_path {
        return Err(format!("Location {loc}: path {want_path} expected"));
    }
    Ok(())
}
