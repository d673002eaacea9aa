//! Kubernetes Gateway API v1.4 data-plane semantics, with no I/O.
//!
//! The pipeline, each stage a module, all of it behind one entry point, [`Engine`]:
//! ```text
//! manifests ──api::Snapshot::load──▶ Snapshot ──attach::Config::new──▶ Config (+ status)
//!    Config ──route::Router::build(&GatewayRef)──▶ Router
//!    Router ──Router::route(&RequestView)──▶ Decision ──plan::plan──▶ Plan
//!
//! Engine::load           = the first line, keeping the load findings
//! Engine::router(&Target) = the second, for a Gateway or the mesh (`Target::Mesh`)
//! ```
//! Loading validates like the CRDs; attachment does a controller's reasoning (which routes a
//! listener serves, and why not); the router answers, for one request, which listener, route,
//! rule and backends the Gateway API spec says must win.
//!
//! ```
//! use gateway_core::outcome::Outcome;
//! use gateway_core::{Engine, EngineOptions, Headers, RequestView, Target};
//!
//! let yaml = include_str!("../../examples/manifests/shop.yaml");
//! let (target, options) = (Target::gateway("shop", "shop"), EngineOptions::default());
//! let (engine, router) = Engine::load_router(yaml.as_bytes(), &target, &options)?;
//! assert!(engine.findings().is_empty());
//! let headers = [("host", "shop.example.com")];
//! let decision = router.route(&RequestView::new("GET", b"/cart", Headers::Pairs(&headers)));
//! assert_eq!(decision.outcome(), Outcome::Forward);
//! assert_eq!(decision.route().unwrap().name, "storefront");
//! # Ok::<(), gateway_core::EngineError>(())
//! ```
#![forbid(unsafe_code)]

pub mod api;
pub mod attach;
mod engine;
pub mod filter;
pub mod json;
pub mod outcome;
pub mod plan;
pub mod request;
pub mod route;
pub mod tls;

pub use engine::{Engine, EngineError, EngineOptions, Target};
pub use outcome::Outcome;
pub use plan::authz::{AuthOptions, AuthResponse};
pub use plan::{Plan, plan};
pub use request::{Headers, RequestView};
pub use route::{Decision, GatewayRef, Router};

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
