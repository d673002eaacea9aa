//! Public-API tests of gateway-core: attachment and status, the router, and the router against
//! a literal reference model.

mod attach;
mod properties;
mod reference;
mod router;
mod support;
