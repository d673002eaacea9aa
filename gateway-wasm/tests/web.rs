//! The JS bindings tested from Rust inside the wasm VM (wasm-bindgen-test, run in Node):
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p gateway-wasm
//! --target wasm32-unknown-unknown --features js --test web`.
#![cfg(all(target_arch = "wasm32", feature = "js"))]
#![allow(clippy::unwrap_used)]

use gateway_wasm::js::Router;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const SHOP: &str = include_str!("../../examples/manifests/shop.yaml");

#[wasm_bindgen_test]
fn route_json_forwards_to_the_rule_backend() {
    let router = Router::from_manifests(SHOP, "", "", None).unwrap();
    let line = router.route_json(r#"{"target":"/cart","headers":[["host","shop.example.com"]]}"#);
    assert!(line.starts_with(r#"{"outcome":"forward""#), "{line}");
    assert_eq!(router.gateway(), "shop/shop");
}

#[wasm_bindgen_test]
fn load_errors_are_js_errors_with_diagnostics() {
    let Err(error) = Router::from_manifests("kind: [", "", "", None) else {
        panic!("bad YAML loaded");
    };
    let diagnostics = js_sys::Reflect::get(&error, &"diagnostics".into()).unwrap();
    assert_eq!(diagnostics.unchecked_into::<js_sys::Array>().length(), 1);
}

#[wasm_bindgen_test]
fn request_objects_that_are_not_requests_throw() {
    let router = Router::from_manifests(SHOP, "", "", None).unwrap();
    let request: JsValue = js_sys::JSON::parse(r#"{"bogus":1}"#).unwrap();
    assert!(router.route(request.unchecked_into()).is_err());
}
