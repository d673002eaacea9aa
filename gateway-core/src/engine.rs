//! The paved path from manifests to a router: load, attach, then build the router of a
//! [`Target`], in one place that the command, the C ABI, the WebAssembly packages and the
//! examples share.
//!
//! ```text
//! manifests ──Engine::load──▶ Engine (Config + status + load findings)
//!    Engine ──Engine::router(&Target)──▶ Router
//! ```
//!
//! [`Engine::load_router`] does both for the common case. Callers that assemble or mutate a
//! [`Snapshot`] themselves (several files, the conformance replay) start from
//! [`Engine::from_snapshot`]. The stages below (`api`, `attach`, `route`) stay public for
//! embedders that need them one by one; nothing below this module imports it.

use std::fmt;

use crate::api::{Diagnostic, LoadError, LoadOptions, Snapshot};
use crate::attach::{AttachOptions, Config, StatusReport};
use crate::request::normalize::PathPolicy;
use crate::route::{BuildError, GatewayRef, Router};

/// What a router is built for: a Gateway, or the mesh.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The listeners of one Gateway.
    Gateway(GatewayRef),
    /// The mesh (GAMMA): every Service port that routes attach to, routed with
    /// [`Router::route_mesh`]. Needs the mesh to be ours
    /// ([`AttachOptions::mesh`](crate::attach::AttachOptions::mesh) or an XMesh of our
    /// controller).
    Mesh,
}

impl Target {
    /// The only Gateway of our GatewayClasses (see [`GatewayRef::only`]).
    pub const fn only_gateway() -> Self {
        Self::Gateway(GatewayRef::only())
    }

    /// The Gateway `namespace/name` (see [`GatewayRef::new`]).
    pub fn gateway(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self::Gateway(GatewayRef::new(namespace, name))
    }
}

impl From<GatewayRef> for Target {
    fn from(gateway: GatewayRef) -> Self {
        Self::Gateway(gateway)
    }
}

/// How an [`Engine`] loads, attaches and builds routers. The defaults suit untrusted input,
/// our default controller name and the secure path policy.
///
/// # Examples
/// ```
/// use gateway_core::EngineOptions;
/// use gateway_core::api::LoadOptions;
/// let mut load = LoadOptions::default();
/// load.strict = true;
/// let mut options = EngineOptions::default().with_load(load);
/// options.attach.controller_name = "example.com/gateway".to_owned();
/// assert!(options.load.strict);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Limits and strictness of loading.
    pub load: LoadOptions,
    /// The controller's identity and address pool.
    pub attach: AttachOptions,
    /// How routers normalize request paths, and the request size limits.
    pub path: PathPolicy,
}

impl EngineOptions {
    /// The same options, loading with `load`.
    #[must_use]
    pub fn with_load(mut self, load: LoadOptions) -> Self {
        self.load = load;
        self
    }

    /// The same options, attaching with `attach`.
    #[must_use]
    pub fn with_attach(mut self, attach: AttachOptions) -> Self {
        self.attach = attach;
        self
    }

    /// The same options, building routers with the path policy `path`.
    #[must_use]
    pub fn with_path(mut self, path: PathPolicy) -> Self {
        self.path = path;
        self
    }
}

/// Loaded and attached manifests: the [`Config`] with the status of every resource, and the
/// load findings. Build the router of a [`Target`] with [`Engine::router`]; build several from
/// one engine, or rebuild the engine when the manifests change.
///
/// # Examples
/// ```
/// use gateway_core::{Engine, EngineOptions, GatewayRef, Target};
/// let yaml = include_str!("../../examples/manifests/shop.yaml");
/// let engine = Engine::load(yaml.as_bytes(), &EngineOptions::default())?;
/// assert!(engine.findings().is_empty());
/// let router = engine.router(&Target::Gateway(GatewayRef::new("shop", "shop")))?;
/// assert_eq!(router.gateway(), ("shop", "shop"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Engine {
    config: Config,
    findings: Vec<Diagnostic>,
    path: PathPolicy,
}

impl Engine {
    /// Loads manifests (YAML or JSON text) and attaches them. Cost: the load and attachment of
    /// every resource; no router is built yet.
    ///
    /// # Errors
    /// A [`LoadError`] holding every finding (errors and warnings, each with its resource and
    /// field path) when the input does not load.
    pub fn load(manifests: &[u8], options: &EngineOptions) -> Result<Self, LoadError> {
        let loaded = Snapshot::load(manifests, &options.load)?;
        Ok(Self::from_snapshot(
            loaded.snapshot,
            loaded.warnings,
            options,
        ))
    }

    /// Loads manifests and builds the router of `target`: [`Engine::load`] then
    /// [`Engine::router`].
    ///
    /// # Errors
    /// [`EngineError::Load`] when the manifests do not load, [`EngineError::Build`] when the
    /// target does not exist or is ambiguous.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::{Engine, EngineOptions, Target};
    /// let yaml = include_str!("../../examples/manifests/shop.yaml");
    /// let (target, options) = (Target::only_gateway(), EngineOptions::default());
    /// let (engine, router) = Engine::load_router(yaml.as_bytes(), &target, &options)?;
    /// assert_eq!(router.gateway(), ("shop", "shop"));
    /// assert!(engine.status().find("Gateway", Some("shop"), "shop").is_some());
    /// # Ok::<(), gateway_core::EngineError>(())
    /// ```
    pub fn load_router(
        manifests: &[u8],
        target: &Target,
        options: &EngineOptions,
    ) -> Result<(Self, Router), EngineError> {
        let engine = Self::load(manifests, options)?;
        let router = engine.router(target)?;
        Ok((engine, router))
    }

    /// Attaches a snapshot the caller assembled (from several files, or mutated between
    /// phases); `findings` are the load warnings to keep with it. `options.load` is not used.
    pub fn from_snapshot(
        snapshot: Snapshot,
        findings: Vec<Diagnostic>,
        options: &EngineOptions,
    ) -> Self {
        Self {
            config: Config::new(snapshot, options.attach.clone()),
            findings,
            path: options.path.clone(),
        }
    }

    /// Builds the router of `target`, with the engine's path policy. Cost: linear in the
    /// target's listeners, routes and rules; allocates the router.
    ///
    /// # Errors
    /// [`BuildError::UnknownGateway`] (listing the Gateways that exist) or
    /// [`BuildError::AmbiguousGateway`] when the only-Gateway form finds none or several;
    /// [`BuildError::MeshNotEnabled`] for [`Target::Mesh`] when the mesh is not ours.
    pub fn router(&self, target: &Target) -> Result<Router, BuildError> {
        match target {
            Target::Gateway(gateway) => Router::build(&self.config, gateway, self.path.clone()),
            Target::Mesh => Router::build_mesh(&self.config, self.path.clone()),
        }
    }

    /// The attached configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The status a controller would write for every resource of ours.
    pub fn status(&self) -> &StatusReport {
        self.config.status()
    }

    /// The load findings kept with the configuration (warnings: unknown fields and kinds,
    /// deprecated versions, regexes that later stages drop).
    pub fn findings(&self) -> &[Diagnostic] {
        &self.findings
    }
}

/// Why [`Engine::load_router`] failed: the manifests, or the choice of target.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// The manifests do not load; every finding is kept.
    Load(LoadError),
    /// The target does not exist or is ambiguous.
    Build(BuildError),
}

/// The inner error's text, unchanged.
impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(e) => e.fmt(f),
            Self::Build(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<LoadError> for EngineError {
    fn from(e: LoadError) -> Self {
        Self::Load(e)
    }
}

impl From<BuildError> for EngineError {
    fn from(e: BuildError) -> Self {
        Self::Build(e)
    }
}
