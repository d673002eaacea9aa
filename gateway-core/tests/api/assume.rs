//! Assumptions for manifests taken from an application repository, which name a GatewayClass
//! the platform installs and Services they do not hold (`AttachOptions::assumed_classes`,
//! `AttachOptions::assume_services`): never on by default, and always said.

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config, Status};
use gateway_core::json::{JsonRequest, decide};
use gateway_core::outcome::{Outcome, ServerError};
use gateway_core::{Engine, EngineOptions, Target};

use crate::support::*;

/// A Gateway of the class `platform` (absent) and a route to Services absent from the
/// manifests: what an application repository holds.
const APP: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: app}
spec:
  gatewayClassName: platform
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: site, namespace: app}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 8080}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 9090}}
  - backendRefs: [{name: frontend, port: 3000}]
";

fn app_config(options: AttachOptions) -> Config {
    let loaded = Snapshot::load(APP.as_bytes(), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("load: {e}"));
    Config::new(loaded.snapshot, options)
}

fn assuming(classes: &[&str], services: bool) -> AttachOptions {
    let mut options = AttachOptions::default();
    options.assumed_classes = classes.iter().map(|c| (*c).to_owned()).collect();
    options.assume_services = services;
    options
}

fn get(host: &str, target: &str) -> JsonRequest {
    let mut req = JsonRequest::default();
    "GET".clone_into(&mut req.method);
    "http".clone_into(&mut req.scheme);
    req.port = 80;
    req.target = target.to_owned();
    req.headers.push(("host".to_owned(), host.to_owned()));
    req
}

fn resolved_refs_message(config: &Config) -> String {
    match &status(config, "HTTPRoute", Some("app"), "site").status {
        Status::Route(r) => r.parents[0]
            .conditions
            .iter()
            .find(|c| c.type_ == "ResolvedRefs")
            .map(|c| format!("{}: {}", c.status, c.message))
            .unwrap_or_default(),
        other => panic!("not a route status: {other:?}"),
    }
}

#[test]
fn nothing_is_assumed_by_default() {
    let options = AttachOptions::default();
    assert!(options.assumed_classes.is_empty());
    assert!(!options.assume_services);
    let config = app_config(options);
    assert_eq!(config.gateways().count(), 0, "the class is not ours");
    assert!(config.assumed_services().is_empty());
}

#[test]
fn an_assumed_class_absent_from_the_manifests_makes_its_gateways_ours() {
    let config = app_config(assuming(&["platform"], false));
    assert_eq!(config.gateways().collect::<Vec<_>>(), [("app", "web")]);
    assert!(
        config
            .status()
            .find("GatewayClass", None, "platform")
            .is_none()
    );
}

#[test]
fn an_assumed_class_in_the_manifests_is_ours_whatever_its_controller_and_says_so() {
    let yaml = format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: platform}}
spec: {{controllerName: example.com/someone-else}}
---
{APP}"
    );
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).expect("load");
    let plain = Config::new(loaded.snapshot.clone(), AttachOptions::default());
    assert_eq!(plain.gateways().count(), 0);
    let config = Config::new(loaded.snapshot, assuming(&["platform"], false));
    assert_eq!(config.gateways().count(), 1);
    let Status::Class(class) = &status(&config, "GatewayClass", None, "platform").status else {
        panic!("not a class status");
    };
    let accepted = &class.conditions[0];
    assert_eq!(
        (accepted.type_.as_str(), accepted.status.as_str()),
        ("Accepted", "True")
    );
    assert!(accepted.message.contains("assumed"), "{}", accepted.message);
    assert!(
        accepted.message.contains("someone-else"),
        "{}",
        accepted.message
    );
}

#[test]
fn without_assume_services_an_absent_service_is_backend_not_found_and_500() {
    let config = app_config(assuming(&["platform"], false));
    let conds = route_conditions_in(&config);
    assert!(
        has(&conds, "ResolvedRefs", "False", "BackendNotFound"),
        "{conds:?}"
    );
    let router = router_for(&config, "app", "web");
    let d = decide(&router, &get("a.example.com", "/"));
    assert_eq!(
        d.outcome,
        Outcome::ServerError(ServerError::InvalidBackend).as_str()
    );
}

#[test]
fn assumed_services_resolve_with_the_backend_ref_port_and_are_marked() {
    let config = app_config(assuming(&["platform"], true));
    let router = router_for(&config, "app", "web");
    let d = decide(&router, &get("a.example.com", "/"));
    assert_eq!(d.outcome, "forward", "{d:?}");
    let backend = d.backend.expect("backend");
    assert_eq!(
        (
            backend.namespace.as_str(),
            backend.name.as_str(),
            backend.port
        ),
        ("app", "frontend", 3000)
    );
    assert!(backend.assumed);
    let line =
        serde_json::to_string(&decide(&router, &get("a.example.com", "/api/x"))).expect("json");
    assert!(
        line.contains(r#""name":"api","port":8080,"assumed":true"#),
        "{line}"
    );
    assert!(
        line.contains(r#""name":"shadow","port":9090,"assumed":true"#),
        "the mirror is assumed too: {line}"
    );
}

#[test]
fn a_service_in_the_manifests_is_never_marked_assumed() {
    let yaml = format!(
        "{CLASS}{GATEWAY}{SERVICES}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - backendRefs: [{{name: a, port: 80}}]
"
    );
    let mut options = EngineOptions::default();
    options.attach.assume_services = true;
    let engine = Engine::load(yaml.as_bytes(), &options).expect("load");
    let router = engine.router(&Target::only_gateway()).expect("router");
    let d = decide(&router, &get("a.example.com", "/"));
    assert!(!d.backend.expect("backend").assumed);
    assert!(engine.config().assumed_services().is_empty());
    let line = serde_json::to_string(&decide(&router, &get("a.example.com", "/"))).expect("json");
    assert!(!line.contains("assumed"), "written only when true: {line}");
}

#[test]
fn assumed_services_are_named_in_route_status_and_listed_by_the_config() {
    let config = app_config(assuming(&["platform"], true));
    assert_eq!(
        resolved_refs_message(&config),
        "True: resolved; assumed to exist (not in the manifests): Service app/api, \
         Service app/frontend, Service app/shadow"
    );
    let listed: Vec<(String, &str, &str)> = config
        .assumed_services()
        .into_iter()
        .map(|(route, ns, name)| (route.name.clone(), ns, name))
        .collect();
    assert_eq!(
        listed,
        [
            ("site".to_owned(), "app", "api"),
            ("site".to_owned(), "app", "frontend"),
            ("site".to_owned(), "app", "shadow")
        ]
    );
}

#[test]
fn assume_services_still_needs_a_reference_grant_across_namespaces() {
    let yaml = APP.replace(
        "{name: frontend, port: 3000}",
        "{name: frontend, namespace: other, port: 3000}",
    );
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).expect("load");
    let config = Config::new(loaded.snapshot, assuming(&["platform"], true));
    let conds = route_conditions_in(&config);
    assert!(
        has(&conds, "ResolvedRefs", "False", "RefNotPermitted"),
        "{conds:?}"
    );
}

fn route_conditions_in(config: &Config) -> Vec<(String, String, String)> {
    match &status(config, "HTTPRoute", Some("app"), "site").status {
        Status::Route(r) => r.parents[0]
            .conditions
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
            .collect(),
        other => panic!("not a route status: {other:?}"),
    }
}
