//! Gateway API routing decisions in WebAssembly, as two thin adapters over
//! [`gateway_core`]:
//!
//! - feature `js`: a JavaScript API made with wasm-bindgen (module `js`):
//!   `Router.fromManifests(text, namespace, name)`, `router.route(request)`,
//!   `router.routeJson(line)` and `router.status()`, for route playgrounds, config linting in CI
//!   and editors;
//! - feature `proxy-wasm`: an HTTP filter for proxy-wasm hosts such as Envoy (ABI 0.2.1,
//!   module `filter`), which routes each request, applies the rule's edits and answers
//!   redirects, 404s and other local responses itself.
//!
//! Both speak the JSON interface of `gateway route --json` ([`gateway_core::json`]): the JS
//! objects are its request and decision objects, and the filter forwards exactly the
//! `upstream` request a decision describes.
//!
//! ```text
//! manifests ──Engine::load_router(&Target)──▶ Router   (once: fromManifests / on_configure)
//! request ──json::decide(&router, &request)──▶ JsonDecision         (per request)
//! ```
//!
//! With the `tls` feature (the JS package, see build.sh) gateway-core verifies certificates as
//! natively: ring builds for `wasm32-unknown-unknown` with clang. Without it (the proxy-wasm
//! filter) BackendTLSPolicy settings are resolved and reported in decisions (`backend_tls`), and
//! the certificate verdicts of the JSON interface say `unavailable`.
//!
//! Natively the crate builds as an `rlib` with [`compile`] only; the adapters are meant for
//! `wasm32-unknown-unknown`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "proxy-wasm")]
pub mod filter;
#[cfg(feature = "js")]
pub mod js;

use gateway_core::api::{Diagnostic, LoadError};
use gateway_core::{Engine, EngineError, EngineOptions, Router, Target};

/// How the adapters compile manifests: the attachment options a binding may override.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompileOptions {
    /// The controller name whose GatewayClasses are ours (default
    /// [`gateway_core::attach::DEFAULT_CONTROLLER_NAME`]).
    #[serde(default)]
    pub controller_name: Option<String>,
    /// Addresses the data plane can serve on (default none).
    #[serde(default)]
    pub address_pool: Option<Vec<String>>,
    /// Make the mesh (GAMMA) ours without an XMesh resource
    /// ([`AttachOptions::mesh`](gateway_core::attach::AttachOptions::mesh)); default off.
    #[serde(default)]
    pub mesh: Option<bool>,
}

/// A compiled Gateway: its router, the status of every resource, and the load warnings.
#[non_exhaustive]
#[derive(Debug)]
pub struct Compiled {
    /// The router of the chosen Gateway.
    pub router: Router,
    /// The status report of every resource, as pretty JSON (`StatusReport::to_json`).
    pub status: String,
    /// Warnings of the load (unknown fields, deprecated versions, ...).
    pub warnings: Vec<Diagnostic>,
}

/// Why manifests could not be compiled: the load findings (each with its field path), or the
/// Gateway could not be chosen.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// The manifests do not load (not YAML or JSON, or invalid resources): every finding,
    /// each with its field path.
    Load(LoadError),
    /// No Gateway with this name, or no name and not exactly one Gateway; for the mesh
    /// target, the mesh is not ours.
    Gateway(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Load(e) => e.fmt(f),
            Self::Gateway(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CompileError {}

/// Loads manifests (YAML or JSON text), attaches them and builds the router of `target`
/// ([`Engine::load_router`]). The JS API names the Gateway with two strings
/// ([`GatewayRef::from_parts`](gateway_core::GatewayRef::from_parts)), the filter with one
/// ([`GatewayRef::parse`](gateway_core::GatewayRef::parse)).
///
/// # Errors
/// [`CompileError::Load`] with every finding when the manifests do not load,
/// [`CompileError::Gateway`] when the Gateway does not exist or is ambiguous.
///
/// # Examples
/// ```
/// use gateway_core::Target;
/// let yaml = include_str!("../../examples/manifests/shop.yaml");
/// let compiled =
///     gateway_wasm::compile(yaml.as_bytes(), &Target::only_gateway(), &Default::default())
///         .unwrap();
/// assert_eq!(compiled.router.gateway(), ("shop", "shop"));
/// ```
pub fn compile(
    manifests: &[u8],
    target: &Target,
    options: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let mut engine_options = EngineOptions::default();
    let attach = &mut engine_options.attach;
    if let Some(controller) = &options.controller_name {
        attach.controller_name.clone_from(controller);
    }
    if let Some(pool) = &options.address_pool {
        attach.address_pool.clone_from(pool);
    }
    if let Some(mesh) = options.mesh {
        attach.mesh = mesh;
    }
    let (engine, router) =
        Engine::load_router(manifests, target, &engine_options).map_err(|e| match e {
            EngineError::Load(e) => CompileError::Load(e),
            other => CompileError::Gateway(other.to_string()),
        })?;
    Ok(Compiled {
        router,
        status: engine.status().to_json(),
        warnings: engine.findings().to_vec(),
    })
}
