//! The mesh (GAMMA) cases of the corpus (`cases-mesh/`): each request is sent by a client pod
//! to a Service (or a Pod's address), routed by the mesh router, and compared as upstream's
//! mesh suite compares it.
//!
//! The replay resolves `request.host` as the client pod's DNS would (see the corpus README,
//! "Mesh (GAMMA) cases") and checks the result against the case's `destination` and `port`.
//! A Pod addressed by IP (`{POD_IP}`) gets [`POD_ADDRESS`], which no Service has. When no
//! route applies the request reaches the destination unchanged: the Service's (or the Pod's)
//! echo backend answers it.

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{Destination, MeshRoute, Router};
use gateway_core::{Engine, EngineOptions, Target};
use serde_json::Value;

use super::case::{Case, RequestCase};
use super::requests::{self, Chains, Observed};
use super::{CONTROLLER, Deployments, Report, id, setup};

/// The address the replay gives a Pod the client addresses by IP: a documentation address
/// (RFC 5737) that no Service of the corpus has as cluster IP.
const POD_ADDRESS: [u8; 4] = [192, 0, 2, 200];

/// Replays one mesh case: its status expectations (none in v1.4.1) and its requests.
pub(super) fn replay_case(
    dir: &std::path::Path,
    case: &Case,
    deployments: &Deployments,
    load: &LoadOptions,
    report: &mut Report<'_>,
) {
    let mut text = String::new();
    for file in &case.manifests {
        match setup::manifest_text(dir, file, CONTROLLER) {
            Ok(t) => {
                text.push_str(&t);
                text.push_str("\n---\n");
            }
            Err(e) => return report("setup".to_owned(), Err(e), None),
        }
    }
    let loaded = match Snapshot::load(text.as_bytes(), load) {
        Ok(l) => l,
        Err(e) => {
            return report(
                "setup".to_owned(),
                Err(format!("manifests do not load: {e}")),
                None,
            );
        }
    };
    let mut options = EngineOptions::default();
    options.attach.controller_name = CONTROLLER.to_owned();
    options.attach.mesh = true;
    let engine = Engine::from_snapshot(loaded.snapshot, loaded.warnings, &options);
    let status = engine.status();
    for (i, e) in case.expected_conditions.iter().enumerate() {
        let result = super::status::condition(status, e);
        report(id("condition", i, &e.subtest), result, None);
    }
    for (i, e) in case.expected_route_parents.iter().enumerate() {
        let result = super::status::route_parents(status, e, CONTROLLER);
        report(id("parents", i, &e.subtest), result, None);
    }
    let skip_mutations =
        (!case.mutations.is_empty()).then(|| "the mesh replay applies no mutations".to_owned());
    let router = match engine.router(&Target::Mesh) {
        Ok(r) => r,
        Err(e) => return report("setup".to_owned(), Err(e.to_string()), None),
    };
    let config = engine.config();
    for (i, r) in case.requests.iter().enumerate() {
        let rid = id("request", i, &r.subtest);
        if r.unexpressed.is_some() {
            report(
                rid,
                Ok(()),
                Some("the corpus could not express this request".to_owned()),
            );
            continue;
        }
        let deployment = |ns: &str, svc: &str| deployments.of(&case.name, ns, svc);
        let chains = |ns: &str, svc: &str| {
            setup::serving_chain(config.snapshot(), &deployments.of(&case.name, ns, svc))
        };
        let result = match &r.expect.distribution {
            Some(dist) => super::distribution(
                &|random| observe(&router, r, random, &chains),
                r,
                dist,
                &deployment,
                &compare,
            ),
            None => observe(&router, r, 0, &chains).and_then(|seen| compare(r, &seen, &deployment)),
        };
        report(rid, result, skip_mutations.clone());
    }
}

/// Where the client's DNS sends `host` (`name`, `name.ns`, `name.ns.svc`,
/// `name.ns.svc.cluster.local`, or `{POD_IP}`, each with an optional `:port`, else 80).
fn resolve(host: &str, client_namespace: &str) -> Result<(Resolved, u16), String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (
            name,
            port.parse::<u16>()
                .map_err(|e| format!("port of {host:?}: {e}"))?,
        ),
        None => (host, 80),
    };
    if name == "{POD_IP}" {
        return Ok((Resolved::Pod, port));
    }
    let labels: Vec<&str> = name.split('.').collect();
    let service = match labels.as_slice() {
        [name] => (client_namespace.to_owned(), (*name).to_owned()),
        [name, ns] | [name, ns, "svc"] | [name, ns, "svc", "cluster", "local"] => {
            ((*ns).to_owned(), (*name).to_owned())
        }
        _ => {
            return Err(format!(
                "{host:?} is no Service name the client's DNS resolves"
            ));
        }
    };
    Ok((Resolved::Service(service.0, service.1), port))
}

/// A resolved destination.
enum Resolved {
    /// A Service `(namespace, name)`.
    Service(String, String),
    /// The Pod addressed by IP.
    Pod,
}

/// Sends one mesh request with one random draw.
fn observe(
    router: &Router,
    case: &RequestCase,
    random: u64,
    chains: &Chains<'_>,
) -> Result<Observed, String> {
    let (Some(client), Some(destination)) = (&case.client, &case.destination) else {
        return Err("a mesh request without client or destination".to_owned());
    };
    let url_host = case
        .request
        .host
        .clone()
        .unwrap_or_else(|| "echo".to_owned());
    let (resolved, port) = resolve(&url_host, &client.namespace)?;
    // The corpus resolved it too: the two must agree.
    let agrees = match (&resolved, destination.kind.as_str()) {
        (Resolved::Service(ns, name), "Service") => {
            *ns == destination.namespace && destination.name.as_deref() == Some(name.as_str())
        }
        (Resolved::Pod, "Pod") => true,
        _ => false,
    };
    if !agrees || port != case.port {
        return Err(format!(
            "{url_host:?} from {} resolves elsewhere than the case's destination",
            client.namespace
        ));
    }
    // A `Host` entry replaces the Host header only.
    let host = case
        .request
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or_else(|| url_host.clone(), |(_, v)| requests::value_text(v));
    let mut headers: Vec<(String, String)> = Vec::new();
    let (method, path, authority) = match &case.grpc {
        Some(g) => {
            headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
            headers.extend(
                g.metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), requests::value_text(v))),
            );
            let path = format!("/{}/{}", g.service, g.method);
            ("POST".to_owned(), path, Some(host.clone()))
        }
        None => {
            headers.push(("host".to_owned(), host.clone()));
            headers.extend(
                case.request
                    .headers
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
                    .map(|(k, v)| (k.clone(), requests::value_text(v))),
            );
            let path = if case.request.path.is_empty() {
                "/".to_owned()
            } else {
                case.request.path.clone()
            };
            (case.request.method.clone(), path, None)
        }
    };
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let view = RequestView::new(&method, path.as_bytes(), Headers::Pairs(&pairs))
        .scheme("http")
        .port(port)
        .authority(authority.as_deref());
    let to = match &resolved {
        Resolved::Service(ns, name) => Destination::service(ns, name, port),
        Resolved::Pod => Destination::address(POD_ADDRESS.into(), port),
    };
    match router.route_mesh(&view, &client.namespace, &to) {
        MeshRoute::Routed(d) => Ok(requests::observe_decision(
            &d, &view, case, &headers, host, random, chains,
        )),
        // No route applies: the destination's own endpoints answer the request as sent.
        other => {
            let backend = match resolved {
                Resolved::Service(ns, name) => (ns, name),
                Resolved::Pod => (
                    destination.namespace.clone(),
                    destination.app.clone().unwrap_or_default(),
                ),
            };
            Ok(Observed {
                status: 200,
                backend: Some(backend),
                method: method.clone(),
                host,
                path: path.clone(),
                request_headers: headers.clone(),
                response_headers: requests::backend_response_headers(case),
                reason: other.reason().to_owned(),
                ..Observed::default()
            })
        }
    }
}

/// Upstream's mesh comparison (`echo.compareRequest`): the status (no 408/504 equivalence),
/// the serving pod's name, the backend request's headers when upstream stated them, and the
/// response headers. Method, path, host and redirects are recorded by the corpus but not
/// compared upstream, so not here either (one of them is known to be wrong).
fn compare(
    case: &RequestCase,
    seen: &Observed,
    deployment: &dyn Fn(&str, &str) -> String,
) -> Result<(), String> {
    let e = &case.expect;
    if let Some(grpc) = &e.grpc_status {
        let actual = if seen.status == 200 { "OK" } else { "not OK" };
        if grpc != actual {
            return Err(format!(
                "gRPC status {grpc} expected, got {actual} ({})",
                seen.reason
            ));
        }
    } else {
        let statuses: Vec<u64> = match &e.status {
            Value::Number(n) => n.as_u64().into_iter().collect(),
            Value::Array(items) => items.iter().filter_map(Value::as_u64).collect(),
            _ => Vec::new(),
        };
        if !statuses.is_empty() && !statuses.contains(&u64::from(seen.status)) {
            return Err(format!(
                "status {statuses:?} expected, got {} ({})",
                seen.status, seen.reason
            ));
        }
    }
    if let Some(name) = e.backend.as_ref().and_then(|b| b.name.as_ref()) {
        let pod = seen
            .backend
            .as_ref()
            .map(|(ns, svc)| deployment(ns, svc))
            .unwrap_or_default();
        if !pod.starts_with(name.as_str()) {
            return Err(format!("backend {name} expected, got pods {pod:?}"));
        }
    }
    if let Some(br) = e
        .backend_request
        .as_ref()
        .filter(|_| !e.backend_request_implicit)
    {
        requests::headers_match(
            "backend request",
            &seen.request_headers,
            &br.headers,
            &br.absent_headers,
        )?;
    }
    if let Some(resp) = &e.response {
        requests::headers_match(
            "response",
            &seen.response_headers,
            &resp.headers,
            &resp.absent_headers,
        )?;
    }
    Ok(())
}
