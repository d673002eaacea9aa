//! Public-API tests of gateway-core: attachment and status, the router, the router against
//! a literal reference model, and the `http` conversions around a plan.
#![allow(clippy::disallowed_methods)] // tests read the corpus from disk and PROPTEST_CASES

mod attach;
mod embed;
mod explain;
mod listener_set;
mod properties;
mod reference;
mod router;
mod support;
