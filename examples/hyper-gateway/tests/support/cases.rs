//! The conformance corpus as the end-to-end tests use it: where it is, and one request case
//! sent over a real socket and compared with what the client and the echo backends saw.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{Echo, Got, grpc, request, send};

/// The conformance corpus: `../shared/conformance` beside the clone, or `$CONFORMANCE_DIR`.
pub fn corpus() -> PathBuf {
    std::env::var_os("CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        })
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// A JSON value as header text (a list joined with commas).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Which suite a case comes from: how its request is addressed and what is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `cases/`: a null host is the gateway's address; everything recorded is compared.
    Gateway,
    /// `cases-mesh/`: a null host is `echo` (the client's default). Compared as gateway cases
    /// are, except what upstream's mesh suite does not compare (the corpus README, "Mesh
    /// (GAMMA) cases"): the backend request's method, path and host, and the redirect. Those
    /// are recorded as the tests write them and one is known to be wrong, so a mismatch there
    /// is printed as a note, not a failure.
    Mesh,
}

/// Sends one request case to `addr` and compares what the client and the backends saw;
/// returns the name of the echo backend that answered, if one did.
pub async fn check(
    addr: SocketAddr,
    echoes: &HashMap<(String, String), Echo>,
    case: &Value,
    h2: bool,
    profile: Profile,
) -> Result<Option<String>, String> {
    if case["protocol"] == "grpc" {
        return check_grpc(addr, case, profile).await;
    }
    let port = case["port"].as_u64().unwrap() as u16;
    let rq = &case["request"];
    let host = match (rq["host"].as_str(), profile) {
        (Some(h), _) => h.to_owned(),
        (None, Profile::Mesh) => "echo".to_owned(),
        (None, Profile::Gateway) if port == 80 => "192.0.2.10".to_owned(),
        (None, Profile::Gateway) => format!("192.0.2.10:{port}"),
    };
    let mesh = profile == Profile::Mesh;
    // A mismatch in what upstream's mesh suite does not compare: a note for mesh cases.
    let uncompared_upstream = |why: String| {
        if !mesh {
            return Err(why);
        }
        eprintln!("note: {why} (not compared by upstream's mesh suite)");
        Ok(())
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
    let got = send(addr, None, h2, req).await?;
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
        let fields = [
            ("method", &seen.method),
            ("path", &seen.path),
            ("host", &seen.host),
        ];
        for (field, actual) in fields {
            if let Some(want) = br[field].as_str()
                && want != actual
            {
                uncompared_upstream(format!("backend {field} {want:?} expected, got {actual:?}"))?;
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
        return Ok(Some(seen.name));
    }
    if matches!(status, 300..=308) && e["redirect"].is_object() {
        location(&got, &e["redirect"], path).or_else(uncompared_upstream)?;
    }
    Ok(None)
}

/// A gRPC request case: calls the echo service's method (cleartext HTTP/2) and compares the
/// call's status and, when OK, the backend that answered; returns its name then.
async fn check_grpc(
    addr: SocketAddr,
    case: &Value,
    profile: Profile,
) -> Result<Option<String>, String> {
    let port = case["port"].as_u64().unwrap();
    // A null host is the client's default `:authority`: the address it dialled.
    let authority = match (case["request"]["host"].as_str(), profile) {
        (Some(h), _) => h.to_owned(),
        (None, Profile::Mesh) => format!("echo:{port}"),
        (None, Profile::Gateway) => format!("192.0.2.10:{port}"),
    };
    let g = &case["grpc"];
    let metadata: Vec<(String, String)> = g["metadata"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect();
    let method = g["method"].as_str().ok_or("gRPC case without method")?;
    let (code, seen) = grpc::call(addr, &authority, method, &metadata).await?;
    let e = &case["expect"];
    let want = e["grpc_status"].as_str().unwrap_or("OK");
    // The corpus names codes as upstream's client prints them ("OK", "Unimplemented").
    if !format!("{code:?}").eq_ignore_ascii_case(want) {
        return Err(format!("gRPC status {want} expected, got {code:?}"));
    }
    let Some(seen) = seen else {
        return Ok(None);
    };
    if let Some(ns) = e["backend"]["namespace"].as_str()
        && ns != seen.namespace
    {
        let got = &seen.namespace;
        return Err(format!("backend namespace {ns} expected, got {got}"));
    }
    if let Some(n) = e["backend"]["name"].as_str()
        && !seen.name.starts_with(n)
    {
        return Err(format!("backend {n} expected, got {}", seen.name));
    }
    Ok(Some(seen.name))
}

/// A weighted case (`expect.distribution`): sends the request `samples` times, each checked
/// as by [`check`]; each backend's share must be within `tolerance` of its weight, and only
/// backends with a weight may answer. A share outside the tolerance is sampled again, up to
/// twice: with 500 samples a fair draw at weight 0.7 misses a 0.05 tolerance about one time in
/// 70, which would make the suite flaky; a wrong weight misses every time.
pub async fn distribution(
    addr: SocketAddr,
    echoes: &HashMap<(String, String), Echo>,
    case: &Value,
    h2: bool,
    profile: Profile,
) -> Result<(), String> {
    let mut attempt = 1;
    loop {
        match sample(addr, echoes, case, h2, profile).await {
            Err(Sampled::Skewed(why)) if attempt < 3 => {
                eprintln!("note: distribution attempt {attempt}: {why}; again");
                attempt += 1;
            }
            Err(Sampled::Skewed(why) | Sampled::Failed(why)) => return Err(why),
            Ok(()) => return Ok(()),
        }
    }
}

/// Why one round of [`distribution`] failed.
enum Sampled {
    /// A share outside the tolerance: chance, or a wrong weight.
    Skewed(String),
    /// A sample failed its check, or a backend without weight answered.
    Failed(String),
}

async fn sample(
    addr: SocketAddr,
    echoes: &HashMap<(String, String), Echo>,
    case: &Value,
    h2: bool,
    profile: Profile,
) -> Result<(), Sampled> {
    let d = &case["expect"]["distribution"];
    let failed = |why: &str| Sampled::Failed(why.to_owned());
    let samples = d["samples"]
        .as_u64()
        .ok_or(failed("distribution without samples"))?;
    let tolerance = d["tolerance"]
        .as_f64()
        .ok_or(failed("distribution without tolerance"))?;
    let weights = d["backends"]
        .as_object()
        .ok_or(failed("distribution without backends"))?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..samples {
        let name = check(addr, echoes, case, h2, profile).await;
        let name = name.map_err(Sampled::Failed)?;
        let name = name.ok_or(failed("a sample did not reach a backend"))?;
        *counts.entry(name).or_default() += 1;
    }
    for (name, served) in &counts {
        if weights.get(name).and_then(Value::as_f64).unwrap_or(0.0) == 0.0 {
            let why = format!("{name} has no weight but served {served} of {samples}");
            return Err(Sampled::Failed(why));
        }
    }
    for (name, weight) in weights {
        let share = counts.get(name).copied().unwrap_or(0) as f64 / samples as f64;
        let weight = weight.as_f64().unwrap_or(0.0);
        if (share - weight).abs() > tolerance {
            let why = format!("{name} served {share:.3} of the requests, weight {weight}");
            return Err(Sampled::Skewed(why));
        }
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
