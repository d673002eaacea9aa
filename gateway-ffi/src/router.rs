//! Routers: built once from a configuration, immutable, shared by reference count.

use std::sync::Arc;

use gateway_core::{GatewayRef, Router, Target};

use crate::config::{gw_buffer, gw_config};
use crate::error::{Error, gw_error};
use crate::ffi::{self, ArcCastable, Castable, ffi_boundary, require};
use crate::gw_result;

/// The compiled router of one Gateway (`gw_router_build`) or of the mesh
/// (`gw_router_build_mesh`): immutable, `Send + Sync`, reference-counted. Route
/// with it from any number of threads at once. Each `gw_router_build` or `gw_router_clone`
/// gives one reference, released by one `gw_router_free`; the router lives until the last
/// reference (and every decision made with it) is gone. To reconfigure, build a new router and
/// publish it; readers take their own reference with `gw_router_clone` under whatever protects
/// the published pointer (a lock held only for the clone, RCU, epochs), then route lock-free:
/// threads still routing with the old router keep it alive.
pub struct gw_router {
    _private: [u8; 0],
}

impl Castable for gw_router {
    type Rust = Router;
}
impl ArcCastable for gw_router {}

/// Compiles the router of the Gateway `namespace/name`. An empty name selects the only Gateway
/// (of `namespace`, when one is given); an empty namespace with a name means `default`.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`; `GW_RESULT_INVALID_UTF8` for a name that is not UTF-8;
/// `GW_RESULT_UNKNOWN_GATEWAY` (the message lists the Gateways that exist);
/// `GW_RESULT_AMBIGUOUS_GATEWAY` for an empty name when there is not exactly one Gateway.
///
/// # Safety
/// `config` is NULL or a live `gw_config`; `gateway_namespace` and `gateway_name` are readable
/// for their lengths; `router_out` is writable; `error_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_router_build(
    config: *const gw_config,
    gateway_namespace: *const u8,
    namespace_len: usize,
    gateway_name: *const u8,
    name_len: usize,
    router_out: *mut *mut gw_router,
    error_out: *mut *mut gw_error,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `config` is NULL or live.
        let config = require!(unsafe { ffi::try_ref(config) });
        // SAFETY: the caller guarantees the bytes are readable for their lengths.
        let namespace = require!(unsafe { ffi::try_slice(gateway_namespace, namespace_len) });
        // SAFETY: as above.
        let name = require!(unsafe { ffi::try_slice(gateway_name, name_len) });
        if router_out.is_null() {
            return gw_result::NullParameter;
        }
        let (Ok(namespace), Ok(name)) = (std::str::from_utf8(namespace), std::str::from_utf8(name))
        else {
            let e = Error::new(
                gw_result::InvalidUtf8,
                "the Gateway namespace or name is not UTF-8",
            );
            // SAFETY: the caller guarantees `error_out` is NULL or writable.
            return unsafe { e.report(error_out) };
        };
        match config.router(&Target::Gateway(GatewayRef::from_parts(namespace, name))) {
            Ok(router) => {
                let ptr = ffi::to_arc_const_ptr::<gw_router>(Arc::new(router)).cast_mut();
                // SAFETY: checked non-NULL; the caller guarantees it is writable.
                unsafe { ffi::write_out(router_out, ptr) };
                gw_result::Ok
            }
            // SAFETY: the caller guarantees `error_out` is NULL or writable.
            Err(e) => unsafe { Error::build(&e).report(error_out) },
        }
    })
}

/// Compiles the mesh (GAMMA) router: the routes attached to Services, one table per Service
/// port and client scope. Route with it through `gw_router_route` with `gw_request.mesh` set
/// (the client's namespace and the destination), or `gw_route_json` with `client_namespace`
/// and `destination`. The mesh must be ours: `gw_config_options_set_mesh`, or an XMesh of our
/// controller in the manifests.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`; `GW_RESULT_INVALID_CONFIG` when the mesh is not ours.
///
/// # Safety
/// `config` is NULL or a live `gw_config`; `router_out` is writable; `error_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_router_build_mesh(
    config: *const gw_config,
    router_out: *mut *mut gw_router,
    error_out: *mut *mut gw_error,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `config` is NULL or live.
        let config = require!(unsafe { ffi::try_ref(config) });
        if router_out.is_null() {
            return gw_result::NullParameter;
        }
        match config.router(&Target::Mesh) {
            Ok(router) => {
                let ptr = ffi::to_arc_const_ptr::<gw_router>(Arc::new(router)).cast_mut();
                // SAFETY: checked non-NULL; the caller guarantees it is writable.
                unsafe { ffi::write_out(router_out, ptr) };
                gw_result::Ok
            }
            // SAFETY: the caller guarantees `error_out` is NULL or writable.
            Err(e) => unsafe { Error::build(&e).report(error_out) },
        }
    })
}

/// A new reference to the same router (the count goes up; nothing is copied). NULL for NULL.
///
/// # Safety
/// `router` is NULL or a live `gw_router` reference.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_router_clone(router: *const gw_router) -> *mut gw_router {
    ffi_boundary!(std::ptr::null_mut(), {
        // SAFETY: the caller guarantees `router` is NULL or a live reference.
        let arc = require!(unsafe { ffi::clone_arc(router) }, std::ptr::null_mut());
        ffi::to_arc_const_ptr::<gw_router>(arc).cast_mut()
    })
}

/// Releases one reference to a router; NULL is ignored.
///
/// # Safety
/// `router` is NULL or a reference not released yet; it is not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_router_free(router: *mut gw_router) {
    ffi_boundary!((), {
        // SAFETY: the caller guarantees `router` is NULL or one reference released once.
        unsafe { ffi::free_arc(router.cast_const()) }
    })
}

/// Routes one request given as JSON (the `gateway route --json` interface: one request
/// object, e.g. `{"method":"GET","target":"/","headers":[["host","a.example"]],"port":80}`)
/// and returns the decision as one line of JSON in `*decision_out`. Malformed, non-UTF-8 or
/// over-long (> 1 MiB) requests give a `bad_request` decision, not an error.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `router` is NULL or a live `gw_router`; `request_json` is readable for `len` bytes;
/// `decision_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_route_json(
    router: *const gw_router,
    request_json: *const u8,
    len: usize,
    decision_out: *mut *mut gw_buffer,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `router` is NULL or live.
        let router = require!(unsafe { ffi::try_ref(router) });
        // SAFETY: the caller guarantees `request_json` is readable for `len` bytes.
        let line = require!(unsafe { ffi::try_slice(request_json, len) });
        if decision_out.is_null() {
            return gw_result::NullParameter;
        }
        let json = gateway_core::json::route_json(router, line).into_bytes();
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(decision_out, ffi::to_boxed_mut_ptr::<gw_buffer>(json)) };
        gw_result::Ok
    })
}
