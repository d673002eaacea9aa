//! Kubernetes Gateway API v1.4 data-plane semantics, with no I/O.
//!
//! The pipeline:
//! ```text
//! manifests ──api::Snapshot::load──▶ Snapshot ──attach::Config::new──▶ Config (+ status)
//!      Config ──route::Router::build──▶ Router ──Router::route(&RequestView)──▶ Decision
//! ```
//! Loading validates like the CRDs; attachment does a controller's reasoning (which routes a
//! listener serves, and why not); the router answers, for one request, which listener, route,
//! rule and backends the Gateway API spec says must win.
//!
//! ```
//! use gateway_core::api::{LoadOptions, Snapshot};
//! use gateway_core::attach::{AttachOptions, Config};
//! use gateway_core::request::{Headers, RequestView};
//! use gateway_core::outcome::Outcome;
//! use gateway_core::route::Router;
//!
//! let yaml = include_str!("../../examples/manifests/shop.yaml");
//! let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).unwrap();
//! let config = Config::new(loaded.snapshot, AttachOptions::default());
//! let router = Router::build(&config, "shop", "shop").unwrap();
//! let headers = [("host", "shop.example.com")];
//! let decision = router.route(&RequestView::new("GET", b"/cart", Headers::Pairs(&headers)));
//! assert_eq!(decision.outcome(), Outcome::Forward);
//! assert_eq!(decision.route().unwrap().name, "storefront");
//! ```
#![forbid(unsafe_code)]

pub mod api;
pub mod attach;
pub mod filter;
pub mod json;
pub mod outcome;
pub mod plan;
pub mod request;
pub mod route;
pub mod tls;

/// Decodes standard base64 (Secret and ConfigMap `data`), ignoring line breaks.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
