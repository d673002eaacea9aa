//! The paved path: `Engine` from manifests to a router, `Target` and `GatewayRef`.

use gateway_core::api::{Diagnostic, LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::json::route_json;
use gateway_core::outcome::{BadRequest, Outcome};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::route::{BuildError, GatewayRefError};
use gateway_core::{
    Engine, EngineError, EngineOptions, GatewayRef, Headers, RequestView, Router, Target,
};

use crate::support::{CLASS, GATEWAY, SERVICES};

const SHOP: &str = include_str!("../../../examples/manifests/shop.yaml");

/// A second Gateway of ours, `edge` in namespace `infra`.
const EDGE: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: test
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
";

fn engine(yaml: &str) -> Engine {
    Engine::load(yaml.as_bytes(), &EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// `GET host path` on port 80: the outcome, the status and the route's name.
fn get(router: &Router, host: &str, path: &str) -> (Outcome, Option<u16>, Option<String>) {
    let headers = [("host", host)];
    let req = RequestView::new("GET", path.as_bytes(), Headers::Pairs(&headers)).port(80);
    let d = router.route(&req);
    (
        d.outcome(),
        d.status(),
        d.route().map(|r| r.name.to_owned()),
    )
}

fn build_error(yaml: &str, target: &Target) -> BuildError {
    match engine(yaml).router(target) {
        Ok(r) => panic!("built a router for {:?}", r.gateway()),
        Err(e) => e,
    }
}

// === the same router as the stages one by one ===

/// The router `Engine` builds answers every request as `Snapshot::load` → `Config::new` →
/// `Router::build` does, and the status is the same.
#[test]
fn engine_router_agrees_with_the_stages_on_the_bundled_example() {
    let loaded = Snapshot::load(SHOP.as_bytes(), &LoadOptions::default()).unwrap();
    let config = Config::new(loaded.snapshot, AttachOptions::default());
    let shop = GatewayRef::new("shop", "shop");
    let staged = Router::build(&config, &shop, PathPolicy::secure()).unwrap();

    let options = EngineOptions::default();
    for target in [Target::Gateway(shop.clone()), Target::only_gateway()] {
        let (engine, router) = Engine::load_router(SHOP.as_bytes(), &target, &options).unwrap();
        assert_eq!(engine.status().to_json(), config.status().to_json());
        assert_eq!(router.gateway(), staged.gateway());
        assert_eq!(router.rule_count(), staged.rule_count());
        for (host, target, headers) in [
            ("shop.example.com", "/", ""),
            ("shop.example.com", "/cart", ""),
            ("shop.example.com", "/checkout/pay", ""),
            ("shop.example.com", "/api/items", ""),
            (
                "shop.example.com",
                "/api/items",
                r#",["x-api-version","2"]"#,
            ),
            ("shop.example.com", "/a/./b//c", ""),
            ("shop.example.com", "/%2F", ""),
            ("blog.example.com", "/", ""),
            ("other.test", "/", ""),
            ("SHOP.example.com.", "/checkout", ""),
        ] {
            let line = format!(
                r#"{{"method":"GET","target":"{target}","port":80,"headers":[["host","{host}"]{headers}]}}"#
            );
            assert_eq!(
                route_json(&router, line.as_bytes()),
                route_json(&staged, line.as_bytes()),
                "{line}"
            );
        }
    }
}

#[test]
fn engine_router_routes_the_readme_request() {
    let target = Target::gateway("shop", "shop");
    let (_, router) =
        Engine::load_router(SHOP.as_bytes(), &target, &EngineOptions::default()).unwrap();
    let (outcome, _, route) = get(&router, "shop.example.com", "/cart");
    assert_eq!(outcome, Outcome::Forward);
    assert_eq!(route.as_deref(), Some("storefront"));
}

// === load findings ===

#[test]
fn load_error_carries_every_finding() {
    // One invalid resource (a GatewayClass without controllerName) and one unknown field.
    let yaml = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: broken}
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ok}
spec: {controllerName: example.com/x, colour: blue}
";
    let Err(e) = Engine::load(yaml.as_bytes(), &EngineOptions::default()) else {
        panic!("an invalid GatewayClass loads");
    };
    assert!(e.errors().any(|d| d.document == Some(0)), "{e:?}");
    assert!(
        e.diagnostics
            .iter()
            .any(|d| !d.is_error() && d.path.contains("colour")),
        "the warning is kept beside the error: {e:?}"
    );
    let Err(EngineError::Load(again)) = Engine::load_router(
        yaml.as_bytes(),
        &Target::only_gateway(),
        &Default::default(),
    ) else {
        panic!("load_router hides the load error");
    };
    assert_eq!(again, e);
    assert_eq!(EngineError::Load(e.clone()).to_string(), e.to_string());
}

#[test]
fn load_warnings_are_kept_as_findings() {
    let yaml = SHOP.replacen("spec:", "spec:\n  colour: blue", 1);
    let engine = engine(&yaml);
    let [warning] = engine.findings() else {
        panic!("one finding expected: {:?}", engine.findings());
    };
    assert!(!warning.is_error());
    assert!(warning.path.contains("colour"), "{warning}");
    assert!(engine.router(&Target::only_gateway()).is_ok());
}

#[test]
fn from_snapshot_keeps_the_findings_given() {
    let loaded = Snapshot::load(SHOP.as_bytes(), &LoadOptions::default()).unwrap();
    let note = Diagnostic::warning(None, "", "assembled from two files");
    let engine = Engine::from_snapshot(loaded.snapshot, vec![note.clone()], &Default::default());
    assert_eq!(engine.findings(), [note]);
    assert_eq!(
        engine.config().gateways().collect::<Vec<_>>(),
        [("shop", "shop")]
    );
}

// === choosing the Gateway ===

#[test]
fn unknown_gateway_lists_the_known_ones() {
    let yaml = format!("{CLASS}{GATEWAY}{EDGE}{SERVICES}");
    let e = build_error(&yaml, &Target::gateway("default", "nope"));
    assert_eq!(
        e,
        BuildError::UnknownGateway {
            namespace: "default".to_owned(),
            name: "nope".to_owned(),
            known: vec!["default/gw".to_owned(), "infra/edge".to_owned()],
        }
    );
    assert_eq!(
        e.to_string(),
        "no Gateway default/nope of our GatewayClasses; known: [default/gw, infra/edge]"
    );
    let Err(EngineError::Build(again)) = Engine::load_router(
        yaml.as_bytes(),
        &Target::gateway("default", "nope"),
        &Default::default(),
    ) else {
        panic!("load_router hides the build error");
    };
    assert_eq!(again, e);
}

#[test]
fn only_gateway_fails_when_there_is_none() {
    let e = build_error(&format!("{CLASS}{SERVICES}"), &Target::only_gateway());
    assert_eq!(e, BuildError::AmbiguousGateway { known: vec![] });
    assert_eq!(
        e.to_string(),
        "the manifests hold no Gateway of our GatewayClasses"
    );
}

#[test]
fn only_gateway_fails_when_there_are_several() {
    let e = build_error(&format!("{CLASS}{GATEWAY}{EDGE}"), &Target::only_gateway());
    assert_eq!(
        e.to_string(),
        "several Gateways, name one of: default/gw, infra/edge"
    );
}

#[test]
fn only_gateway_of_a_namespace_chooses_among_several() {
    let engine = engine(&format!("{CLASS}{GATEWAY}{EDGE}"));
    let router = engine.router(&GatewayRef::only_in("infra").into()).unwrap();
    assert_eq!(router.gateway(), ("infra", "edge"));
    let none = engine.router(&GatewayRef::only_in("shop").into());
    assert!(matches!(none, Err(BuildError::AmbiguousGateway { .. })));
}

#[test]
fn named_gateway_is_chosen_among_several() {
    let engine = engine(&format!("{CLASS}{GATEWAY}{EDGE}"));
    for (target, expected) in [
        (Target::gateway("default", "gw"), ("default", "gw")),
        (Target::gateway("infra", "edge"), ("infra", "edge")),
    ] {
        assert_eq!(engine.router(&target).unwrap().gateway(), expected);
    }
    // The namespace is part of the name: `default/edge` is not `infra/edge`.
    assert!(engine.router(&Target::gateway("default", "edge")).is_err());
}

// === options ===

#[test]
fn options_reach_every_stage() {
    // Load: strict makes an unknown field an error.
    let mut load = LoadOptions::default();
    load.strict = true;
    let strict = EngineOptions::default().with_load(load);
    let yaml = SHOP.replacen("spec:", "spec:\n  colour: blue", 1);
    assert!(Engine::load(yaml.as_bytes(), &strict).is_err());

    // Attach: another controller name owns no GatewayClass here.
    let mut attach = AttachOptions::default();
    attach.controller_name = "example.com/other".to_owned();
    let other = EngineOptions::default().with_attach(attach);
    let engine = Engine::load(SHOP.as_bytes(), &other).unwrap();
    assert_eq!(
        engine.router(&Target::only_gateway()).unwrap_err(),
        BuildError::AmbiguousGateway { known: vec![] }
    );

    // Path policy: the router refuses targets longer than the limit with 414.
    let mut path = PathPolicy::secure();
    path.max_target_len = 8;
    let short = EngineOptions::default().with_path(path);
    let (_, router) =
        Engine::load_router(SHOP.as_bytes(), &Target::only_gateway(), &short).unwrap();
    let (outcome, status, _) = get(&router, "shop.example.com", "/checkout/pay");
    assert_eq!(
        (outcome, status),
        (Outcome::BadRequest(BadRequest::TargetTooLong), Some(414))
    );
    let (outcome, _, _) = get(&router, "shop.example.com", "/cart");
    assert_eq!(outcome, Outcome::Forward);
}

// === GatewayRef ===

#[test]
fn gateway_ref_parse_names_what_is_wrong() {
    let input = |s: &str| s.to_owned();
    let cases: &[(&str, Result<GatewayRef, GatewayRefError>)] = &[
        ("shop/shop", Ok(GatewayRef::new("shop", "shop"))),
        ("gw", Ok(GatewayRef::new("default", "gw"))),
        ("", Err(GatewayRefError::Empty)),
        (
            "/gw",
            Err(GatewayRefError::EmptyNamespace {
                input: input("/gw"),
            }),
        ),
        (
            "shop/",
            Err(GatewayRefError::EmptyName {
                input: input("shop/"),
            }),
        ),
        (
            "a/b/c",
            Err(GatewayRefError::ExtraSlash {
                input: input("a/b/c"),
            }),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&GatewayRef::parse(text), expected, "{text:?}");
        assert_eq!(&text.parse::<GatewayRef>(), expected, "{text:?}");
    }
    let messages = [
        ("", "empty gateway reference (expected NAMESPACE/NAME)"),
        (
            "/gw",
            "gateway reference \"/gw\" has an empty namespace (expected NAMESPACE/NAME)",
        ),
        (
            "shop/",
            "gateway reference \"shop/\" has an empty name (expected NAMESPACE/NAME)",
        ),
    ];
    for (text, message) in messages {
        assert_eq!(GatewayRef::parse(text).unwrap_err().to_string(), message);
    }
}

#[test]
fn gateway_ref_from_parts_follows_the_binding_convention() {
    let cases = [
        (("", ""), GatewayRef::only()),
        (("infra", ""), GatewayRef::only_in("infra")),
        (("", "gw"), GatewayRef::new("default", "gw")),
        (("infra", "edge"), GatewayRef::new("infra", "edge")),
    ];
    for ((namespace, name), expected) in cases {
        assert_eq!(GatewayRef::from_parts(namespace, name), expected);
    }
}

#[test]
fn gateway_ref_reads_back_and_displays() {
    let named = GatewayRef::new("infra", "edge");
    assert_eq!(
        (named.namespace(), named.name()),
        (Some("infra"), Some("edge"))
    );
    assert_eq!(named.to_string(), "infra/edge");
    assert_eq!(GatewayRef::only().to_string(), "the only Gateway");
    assert_eq!(
        GatewayRef::only_in("infra").to_string(),
        "the only Gateway of namespace infra"
    );
    assert_eq!(
        Target::from(named.clone()),
        Target::gateway("infra", "edge")
    );
}
