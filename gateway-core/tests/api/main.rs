//! Public-API tests of gateway-core: attachment and status, the router, and the router against
//! a literal reference model.
#![allow(clippy::disallowed_methods)] // tests read the corpus from disk and PROPTEST_CASES

mod attach;
mod listener_set;
mod properties;
mod reference;
mod router;
mod support;
