//! Public-API tests of gateway-core: the engine (manifests to a router), attachment and status,
//! the router, the router against a literal reference model, and the `http` conversions around
//! a plan.
#![allow(clippy::disallowed_methods)] // tests read the corpus from disk and PROPTEST_CASES

mod assume;
mod attach;
mod embed;
mod engine;
mod explain;
mod listener_set;
mod mesh;
mod mesh_features;
#[path = "../tls/pki.rs"]
mod pki;
mod properties;
mod reference;
mod router;
mod support;
mod traffic_policy;
