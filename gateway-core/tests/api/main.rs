//! Public-API tests of gateway-core: attachment and status, the router, and the router against
//! a literal reference model.

mod attach;
mod router;
mod support;
