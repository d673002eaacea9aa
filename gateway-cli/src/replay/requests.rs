//! Request cases: send each through the router (and the filter plan), simulate the echo
//! backend, and compare what the client and the backend would have seen.

use std::collections::BTreeMap;

use gateway_core::filter::parse_duration;
use gateway_core::outcome::Outcome;
use gateway_core::plan::{Plan, plan};
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{Decision, L4Transport, Router};
use gateway_core::tls::{Verdict, verify};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde_json::Value;

use super::case::{Expect, RequestCase};
use super::setup::USABLE_ADDRESS;

/// What the client and backend would observe for one request.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    pub(crate) status: u16,
    /// The Service that served it.
    pub(crate) backend: Option<(String, String)>,
    pub(crate) method: String,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) request_headers: Vec<(String, String)>,
    pub(crate) response_headers: Vec<(String, String)>,
    pub(crate) location: Option<String>,
    pub(crate) mirrors: Vec<(String, String)>,
    pub(crate) reason: String,
    /// The TLS server name sent to the backend, when the connection is TLS.
    pub(crate) sni: Option<String>,
}

/// The certificate chain a simulated backend serves, by Service `(namespace, name)`.
pub(crate) type Chains<'a> = dyn Fn(&str, &str) -> Option<Vec<CertificateDer<'static>>> + 'a;

/// Sends one request case with one random draw.
pub(crate) fn observe(
    router: &Router,
    case: &RequestCase,
    random: u64,
    chains: &Chains<'_>,
) -> Observed {
    let default_port = if case.protocol == "https" { 443 } else { 80 };
    let host = case.request.host.clone().unwrap_or_else(|| {
        if case.port == default_port && case.protocol != "grpc" {
            USABLE_ADDRESS.to_owned()
        } else {
            format!("{USABLE_ADDRESS}:{}", case.port)
        }
    });
    let mut headers: Vec<(String, String)> = Vec::new();
    let (method, path, authority) = match &case.grpc {
        Some(g) => {
            headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
            headers.extend(g.metadata.iter().map(|(k, v)| (k.clone(), value_text(v))));
            (
                "POST".to_owned(),
                format!("/{}/{}", g.service, g.method),
                Some(host.clone()),
            )
        }
        None => {
            headers.push(("host".to_owned(), host.clone()));
            headers.extend(
                case.request
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), value_text(v))),
            );
            (case.request.method.clone(), case.request.path.clone(), None)
        }
    };
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let scheme = if case.protocol == "https" {
        "https"
    } else {
        "http"
    };
    let sni = case.request.sni.clone().or_else(|| {
        (case.protocol == "https").then(|| host.split(':').next().unwrap_or_default().to_owned())
    });
    let view = RequestView::new(&method, path.as_bytes(), Headers::Pairs(&pairs))
        .scheme(scheme)
        .port(case.port)
        .sni(
            sni.as_deref()
                .filter(|s| s.parse::<std::net::IpAddr>().is_err()),
        )
        .authority(authority.as_deref());
    if !router.serves_http(case.port) {
        // TLS passthrough (or TCP): the backend is chosen from the SNI alone. The client
        // opens a TLS connection for an HTTPS case and a plain TCP one otherwise.
        let transport = if case.protocol == "https" {
            L4Transport::Tls
        } else {
            L4Transport::Tcp
        };
        let d = router.route_l4(transport, case.port, sni.as_deref());
        let reason = match d.outcome() {
            Outcome::Forward => "the backend drawn is invalid: the connection is refused",
            _ => d.reason(),
        };
        let mut seen = Observed {
            method,
            reason: reason.to_owned(),
            status: 404,
            ..Observed::default()
        };
        if let Some(backend) = (d.outcome() == Outcome::Forward)
            .then(|| d.choose_backend(random))
            .flatten()
        {
            seen.status = 200;
            seen.backend = Some((backend.namespace.clone(), backend.name.clone()));
            seen.host = host;
            seen.path = path;
            seen.request_headers = headers;
        }
        return seen;
    }
    let d = router.route(&view);
    observe_decision(&d, &view, case, &headers, host, random, chains)
}

/// What the client and backend observe once the router decided: the plan carried out against
/// the simulated echo backend. `headers` are the request's as sent, `host` its Host.
pub(crate) fn observe_decision(
    d: &Decision<'_, '_>,
    view: &RequestView<'_>,
    case: &RequestCase,
    headers: &[(String, String)],
    host: String,
    random: u64,
    chains: &Chains<'_>,
) -> Observed {
    let mut seen = Observed {
        method: view.method.to_owned(),
        reason: d.reason().to_owned(),
        ..Observed::default()
    };
    match plan(d, view, random) {
        Plan::Respond(local) => {
            seen.status = local.status;
            seen.location = local.header("location").map(str::to_owned);
            seen.response_headers = local.headers.clone();
            seen.reason = local.reason;
        }
        Plan::Forward(fp) => {
            seen.status = 200;
            seen.backend = Some((fp.backend.namespace.clone(), fp.backend.name.clone()));
            seen.host = fp.request.authority.clone().unwrap_or(host);
            let path = fp.request.path.as_deref().unwrap_or(d.path());
            seen.path = match d.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            };
            seen.request_headers = fp.request.headers.apply_to_pairs(headers);
            // The echo backend answers with the headers the case says it adds; the response
            // edits apply on the way back.
            let backend_headers = backend_response_headers(case);
            seen.response_headers = fp.response.apply_to_pairs(&backend_headers);
            if let Some(tls) = fp.backend_tls {
                seen.sni = Some(tls.sni.clone());
                // The gateway connects with the policy's settings; a chain it must refuse
                // means the client gets a 502.
                let chain = chains(&fp.backend.namespace, &fp.backend.name).unwrap_or_default();
                if let Verdict::Invalid(why) = verify(tls, &chain, UnixTime::now()) {
                    seen.status = 502;
                    seen.reason = format!("backend TLS refused: {why}");
                }
            }
            seen.mirrors = fp
                .mirrors
                .iter()
                .map(|m| (m.backend.namespace.clone(), m.backend.name.clone()))
                .collect();
            // The echo backend waits `delay` before answering: past a timeout the gateway
            // answers 504.
            if let Some(delay) = d
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("delay=")))
                .and_then(parse_duration)
            {
                let limits = [
                    fp.timeouts.request.duration(),
                    fp.timeouts.backend_request.duration(),
                ];
                if limits.iter().flatten().any(|limit| *limit < delay) {
                    seen.status = 504;
                    seen.reason = "the backend answered after the timeout".to_owned();
                }
            }
        }
        _ => {
            seen.status = 500;
            seen.reason = "unknown plan".to_owned();
        }
    }
    seen
}

/// The headers the case's echo backend adds to its response.
pub(crate) fn backend_response_headers(case: &RequestCase) -> Vec<(String, String)> {
    case.backend_response
        .as_ref()
        .map(|b| {
            b.headers
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Compares one observation with the expectation. `deployment` maps a Service to the
/// Deployment whose pods serve it.
pub(crate) fn compare(
    case: &RequestCase,
    seen: &Observed,
    deployment: &dyn Fn(&str, &str) -> String,
) -> Result<(), String> {
    let e: &Expect = &case.expect;
    let statuses: Vec<u16> = match &e.status {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .into_iter()
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_u64)
            .filter_map(|n| u16::try_from(n).ok())
            .collect(),
        _ => Vec::new(),
    };
    if let Some(grpc) = &e.grpc_status {
        let actual = match seen.status {
            200 => "OK",
            404 => "Unimplemented",
            _ => "Unavailable",
        };
        if grpc != actual {
            return Err(format!(
                "gRPC status {grpc} expected, got {actual} ({})",
                seen.reason
            ));
        }
    } else if e.failure {
        if seen.status == 200 {
            return Err("a failure expected, got 200".to_owned());
        }
    } else if !statuses.is_empty() {
        let timeout = |s: u16| s == 408 || s == 504;
        let timed_out = timeout(seen.status) && statuses.iter().any(|s| timeout(*s));
        if !statuses.contains(&seen.status) && !timed_out {
            return Err(format!(
                "status {statuses:?} expected, got {} ({})",
                seen.status, seen.reason
            ));
        }
    }
    if seen.status == 200 {
        if let (Some(want), Some((ns, svc))) = (&e.backend, &seen.backend) {
            let pod = deployment(ns, svc);
            if want.namespace.as_ref().is_some_and(|n| n != ns)
                || want
                    .name
                    .as_ref()
                    .is_some_and(|n| !pod.starts_with(n.as_str()))
            {
                return Err(format!(
                    "backend {}/{} expected, got {ns}/{svc} (pods {pod})",
                    want.namespace.as_deref().unwrap_or(""),
                    want.name.as_deref().unwrap_or("*")
                ));
            }
        }
        if let Some(br) = &e.backend_request {
            if let Some(m) = &br.method
                && *m != seen.method
            {
                return Err(format!("backend method {m} expected, got {}", seen.method));
            }
            if let Some(p) = &br.path
                && *p != seen.path
            {
                return Err(format!("backend path {p} expected, got {}", seen.path));
            }
            if let Some(sni) = &br.sni
                && seen.sni.as_ref() != Some(sni)
            {
                return Err(format!("backend SNI {sni} expected, got {:?}", seen.sni));
            }
            if let Some(h) = &br.host
                && *h != seen.host
            {
                return Err(format!("backend host {h} expected, got {}", seen.host));
            }
            headers_match(
                "backend request",
                &seen.request_headers,
                &br.headers,
                &br.absent_headers,
            )?;
        }
        if let Some(resp) = &e.response {
            headers_match(
                "response",
                &seen.response_headers,
                &resp.headers,
                &resp.absent_headers,
            )?;
        }
        if let Some(mirrors) = &e.mirrored_to {
            for m in mirrors.iter().filter(|m| m.percent.is_none()) {
                let hit = seen.mirrors.iter().any(|(ns, svc)| {
                    m.namespace.as_ref().is_none_or(|n| n == ns)
                        && deployment(ns, svc).starts_with(&m.name)
                });
                if !hit {
                    return Err(format!("no mirror to {}", m.name));
                }
            }
        }
    }
    if let Some(r) = &e.redirect
        && matches!(seen.status, 300 | 301 | 302 | 303 | 307 | 308)
    {
        let loc = seen
            .location
            .as_deref()
            .ok_or("redirect without Location")?;
        check_location(loc, r, case)?;
    }
    Ok(())
}

pub(crate) fn headers_match(
    what: &str,
    actual: &[(String, String)],
    want: &serde_json::Map<String, Value>,
    absent: &[String],
) -> Result<(), String> {
    let mut combined: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (k, v) in actual {
        combined.entry(k.to_ascii_lowercase()).or_default().push(v);
    }
    for (k, v) in want {
        let want = value_text(v);
        match combined.get(&k.to_ascii_lowercase()) {
            Some(values) if values.join(",") == want => {}
            Some(values) => {
                return Err(format!(
                    "{what} header {k}: {want:?} expected, got {:?}",
                    values.join(",")
                ));
            }
            None => return Err(format!("{what} header {k}: {want:?} expected, absent")),
        }
    }
    for k in absent {
        if combined.contains_key(&k.to_ascii_lowercase()) {
            return Err(format!("{what} header {k} should be absent"));
        }
    }
    Ok(())
}

fn check_location(loc: &str, r: &super::case::Redirect, case: &RequestCase) -> Result<(), String> {
    let (scheme, rest) = loc
        .split_once("://")
        .ok_or_else(|| format!("Location {loc:?} is not absolute"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path = path.split('?').next().unwrap_or(path);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let want_scheme = r.scheme.clone().unwrap_or_else(|| {
        if case.protocol == "https" {
            "https".to_owned()
        } else {
            "http".to_owned()
        }
    });
    if scheme != want_scheme {
        return Err(format!("Location {loc}: scheme {want_scheme} expected"));
    }
    if let Some(h) = &r.host
        && host != h
    {
        return Err(format!("Location {loc}: host {h} expected"));
    }
    let want_port = r.port.as_ref().and_then(|p| {
        p.as_u64()
            .map(|n| n.to_string())
            .or_else(|| p.as_str().map(str::to_owned))
    });
    let default = if scheme == "https" { "443" } else { "80" };
    match (&want_port, port) {
        (None, None) => {}
        (None, Some(p)) if p == default => {}
        (Some(w), Some(p)) if w == p => {}
        (Some(w), None) if w == default => {}
        _ => return Err(format!("Location {loc}: port {want_port:?} expected")),
    }
    let want_path = r.path.clone().unwrap_or_else(|| {
        case.request
            .path
            .split('?')
            .next()
            .unwrap_or("/")
            .to_owned()
    });
    if path != want_path {
        return Err(format!("Location {loc}: path {want_path} expected"));
    }
    Ok(())
}
