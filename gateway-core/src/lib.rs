//! Kubernetes Gateway API v1.4 data-plane semantics, with no I/O.
#![forbid(unsafe_code)]

pub mod api;
pub mod request;
