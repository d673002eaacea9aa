//! The conformance corpus (../shared/conformance) as `gateway` command input: per case, one
//! manifest file (the suite's GatewayClass, the case's manifests with placeholders filled) and
//! its phase-0 requests as `route --json` request lines, built the way the replay sends them.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The controller name the corpus manifests are given (the `gateway` default).
pub(crate) const CONTROLLER: &str = "gateway.example.dev/gateway-core";
const CLASS_NAME: &str = "gateway-conformance";
const USABLE_ADDRESS: &str = "192.0.2.10";

pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

/// One case: its name, manifest text, and requests grouped by Gateway `namespace/name`.
pub(crate) struct Case {
    pub name: String,
    pub manifests: String,
    pub requests: Vec<(String, Vec<String>)>,
}

pub(crate) fn cases() -> Vec<Case> {
    let dir = dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .expect("corpus cases/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.iter().map(|f| case(&dir, f)).collect()
}

fn case(dir: &Path, file: &Path) -> Case {
    let text = std::fs::read_to_string(file).expect("case file");
    let case: Value = serde_json::from_str(&text).expect("case JSON");
    let mut manifests = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: {CLASS_NAME}}}\nspec: {{controllerName: {CONTROLLER}}}\n---\n"
    );
    for m in case["manifests"].as_array().into_iter().flatten() {
        let path = dir
            .join("manifests")
            .join(m.as_str().expect("manifest name"));
        let text = std::fs::read_to_string(&path).expect("manifest file");
        manifests.push_str(
            &text
                .replace("{GATEWAY_CLASS_NAME}", CLASS_NAME)
                .replace("{GATEWAY_CONTROLLER_NAME}", CONTROLLER)
                .replace("PLACEHOLDER_USABLE_ADDRS", USABLE_ADDRESS)
                .replace("PLACEHOLDER_UNUSABLE_ADDRS", "198.51.100.99"),
        );
        manifests.push_str("\n---\n");
    }
    let mut requests: Vec<(String, Vec<String>)> = Vec::new();
    for r in case["requests"].as_array().into_iter().flatten() {
        if r["phase"].as_u64().unwrap_or(0) != 0 || !r["unexpressed"].is_null() {
            continue;
        }
        let gw = format!(
            "{}/{}",
            r["gateway"]["namespace"].as_str().unwrap_or("default"),
            r["gateway"]["name"].as_str().unwrap_or_default()
        );
        let line = request_line(r);
        match requests.iter_mut().find(|(g, _)| *g == gw) {
            Some((_, lines)) => lines.push(line),
            None => requests.push((gw, vec![line])),
        }
    }
    Case {
        name: case["name"].as_str().unwrap_or_default().to_owned(),
        manifests,
        requests,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// The request line the replay's `observe` would route.
fn request_line(r: &Value) -> String {
    let protocol = r["protocol"].as_str().unwrap_or("http");
    let port = r["port"].as_u64().unwrap_or(80);
    let default_port = if protocol == "https" { 443 } else { 80 };
    let host = r["request"]["host"].as_str().map_or_else(
        || {
            if port == default_port && protocol != "grpc" {
                USABLE_ADDRESS.to_owned()
            } else {
                format!("{USABLE_ADDRESS}:{port}")
            }
        },
        str::to_owned,
    );
    let mut headers: Vec<(String, String)> = Vec::new();
    let (method, target, authority) = if r["grpc"].is_object() {
        let g = &r["grpc"];
        headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
        for (k, v) in g["metadata"].as_object().into_iter().flatten() {
            headers.push((k.clone(), text(v)));
        }
        (
            "POST".to_owned(),
            format!(
                "/{}/{}",
                g["service"].as_str().unwrap_or_default(),
                g["method"].as_str().unwrap_or_default()
            ),
            Some(host.clone()),
        )
    } else {
        headers.push(("host".to_owned(), host.clone()));
        for (k, v) in r["request"]["headers"].as_object().into_iter().flatten() {
            headers.push((k.clone(), text(v)));
        }
        (
            r["request"]["method"].as_str().unwrap_or("GET").to_owned(),
            r["request"]["path"].as_str().unwrap_or("/").to_owned(),
            None,
        )
    };
    let scheme = if protocol == "https" { "https" } else { "http" };
    let sni = r["request"]["sni"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| (protocol == "https").then(|| host.split(':').next().unwrap_or("").to_owned()))
        .filter(|s| s.parse::<std::net::IpAddr>().is_err());
    json!({
        "scheme": scheme,
        "port": port,
        "sni": sni,
        "method": method,
        "authority": authority,
        "target": target,
        "headers": headers,
    })
    .to_string()
}
