//! Loading manifests into a configuration, its options, its status, and byte buffers.

use gateway_core::api::LoadOptions;
use gateway_core::{Engine, EngineOptions};

use crate::error::{Error, gw_error};
use crate::ffi::{self, BoxCastable, Castable, ffi_boundary, require};
use crate::gw_result;

/// A loaded configuration: the resources, what attaches where, and their status. Immutable;
/// may be read from several threads. Free with `gw_config_free` (routers built from it stay
/// valid).
pub struct gw_config {
    _private: [u8; 0],
}

impl Castable for gw_config {
    type Rust = Engine;
}
impl BoxCastable for gw_config {}

/// Options of `gw_config_load_with_options`: a mutable, single-thread builder. Free with
/// `gw_config_options_free`.
pub struct gw_config_options {
    _private: [u8; 0],
}

impl Castable for gw_config_options {
    type Rust = EngineOptions;
}
impl BoxCastable for gw_config_options {}

/// A byte buffer the library allocated (e.g. JSON). Free with `gw_buffer_free`.
pub struct gw_buffer {
    _private: [u8; 0],
}

impl Castable for gw_buffer {
    type Rust = Vec<u8>;
}
impl BoxCastable for gw_buffer {}

/// Loads YAML (any number of documents) or JSON manifests with the default options: our
/// GatewayClasses are those whose `controllerName` is `gateway.example.dev/gateway-core`, the
/// input limits suit untrusted input (16 MiB, depth 64, 10,000 resources), CRD validation on.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`; `GW_RESULT_INVALID_CONFIG` when the input is not UTF-8, too
/// large, not YAML/JSON, or holds invalid resources: `*error_out` (if not NULL) then lists every
/// finding with its resource and field path.
///
/// # Safety
/// `manifests` is readable for `len` bytes; `config_out` is writable; `error_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_load(
    manifests: *const u8,
    len: usize,
    config_out: *mut *mut gw_config,
    error_out: *mut *mut gw_error,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: forwarded; NULL options select the defaults.
        unsafe {
            gw_config_load_with_options(std::ptr::null(), manifests, len, config_out, error_out)
        }
    })
}

/// As `gw_config_load`, with options (NULL: the defaults).
///
/// # Errors
/// As `gw_config_load`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options`; the rest as `gw_config_load`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_load_with_options(
    options: *const gw_config_options,
    manifests: *const u8,
    len: usize,
    config_out: *mut *mut gw_config,
    error_out: *mut *mut gw_error,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `manifests` is readable for `len` bytes.
        let input = require!(unsafe { ffi::try_slice(manifests, len) });
        if config_out.is_null() {
            return gw_result::NullParameter;
        }
        let default = EngineOptions::default();
        // SAFETY: the caller guarantees `options` is NULL or live.
        let options = unsafe { ffi::try_ref(options) }.unwrap_or(&default);
        let engine = match Engine::load(input, options) {
            Ok(engine) => engine,
            // SAFETY: the caller guarantees `error_out` is NULL or writable.
            Err(e) => return unsafe { Error::load(e).report(error_out) },
        };
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(config_out, ffi::to_boxed_mut_ptr::<gw_config>(engine)) };
        gw_result::Ok
    })
}

/// The status a controller would write back for every GatewayClass, Gateway, route and policy
/// of ours, as pretty JSON: `[{kind, namespace, name, generation, status}]`.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `config` is NULL or a live `gw_config`; `json_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_status_json(
    config: *const gw_config,
    json_out: *mut *mut gw_buffer,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `config` is NULL or live.
        let config = require!(unsafe { ffi::try_ref(config) });
        if json_out.is_null() {
            return gw_result::NullParameter;
        }
        let json = config.status().to_json().into_bytes();
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { ffi::write_out(json_out, ffi::to_boxed_mut_ptr::<gw_buffer>(json)) };
        gw_result::Ok
    })
}

/// Frees a configuration; NULL is ignored.
///
/// # Safety
/// `config` is NULL or a `gw_config` not freed yet, used by no other thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_free(config: *mut gw_config) {
    ffi_boundary!((), {
        // SAFETY: the caller guarantees `config` is NULL or a live box freed once.
        unsafe { ffi::free_box(config) }
    })
}

/// New options with the defaults of `gw_config_load`; NULL only if allocation is impossible.
///
/// # Safety
/// Always safe to call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_new() -> *mut gw_config_options {
    ffi_boundary!(std::ptr::null_mut(), {
        ffi::to_boxed_mut_ptr::<gw_config_options>(EngineOptions::default())
    })
}

/// Sets our controller name: GatewayClasses whose `spec.controllerName` equals it are ours.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`, `GW_RESULT_INVALID_UTF8`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread; `name` is
/// readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_controller_name(
    options: *mut gw_config_options,
    name: *const u8,
    len: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        // SAFETY: the caller guarantees `name` is readable for `len` bytes.
        let name = require!(unsafe { ffi::try_slice(name, len) });
        let name = require!(std::str::from_utf8(name).ok(), gw_result::InvalidUtf8);
        name.clone_into(&mut options.attach.controller_name);
        gw_result::Ok
    })
}

/// Adds an address this data plane serves on (Gateway `spec.addresses` outside the pool are
/// not usable; a Gateway that requests none is given the first).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`, `GW_RESULT_INVALID_UTF8`.
///
/// # Safety
/// As `gw_config_options_set_controller_name`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_add_address(
    options: *mut gw_config_options,
    address: *const u8,
    len: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        // SAFETY: the caller guarantees `address` is readable for `len` bytes.
        let address = require!(unsafe { ffi::try_slice(address, len) });
        let address = require!(std::str::from_utf8(address).ok(), gw_result::InvalidUtf8);
        options.attach.address_pool.push(address.to_owned());
        gw_result::Ok
    })
}

/// Makes unknown kinds, apiVersions and fields errors instead of warnings.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_strict(
    options: *mut gw_config_options,
    strict: bool,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.load.strict = strict;
        gw_result::Ok
    })
}

/// Sets the most resources a load accepts (`LoadOptions::max_resources`; default 100,000), and
/// with it the byte, document and YAML node limits derived from it as
/// `LoadOptions::for_resources` does (1 KiB, 2 documents and 128 nodes a resource): set those
/// after this one to choose them too. A load over a limit fails with
/// `GW_RESULT_INVALID_CONFIG`, its message naming the limit.
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_max_resources(
    options: *mut gw_config_options,
    max_resources: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        let derived = LoadOptions::for_resources(max_resources);
        options.load.max_resources = max_resources;
        options.load.max_bytes = derived.max_bytes;
        options.load.max_documents = derived.max_documents;
        options.load.max_yaml_nodes = derived.max_yaml_nodes;
        gw_result::Ok
    })
}

/// Sets the largest input a load accepts, in bytes (`LoadOptions::max_bytes`; default 1 KiB a
/// resource: 102,400,000).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_max_bytes(
    options: *mut gw_config_options,
    max_bytes: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.load.max_bytes = max_bytes;
        gw_result::Ok
    })
}

/// Sets the most YAML documents or JSON values a load accepts (`LoadOptions::max_documents`;
/// default 2 a resource + 1: 200,001).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_max_documents(
    options: *mut gw_config_options,
    max_documents: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.load.max_documents = max_documents;
        gw_result::Ok
    })
}

/// Sets the most YAML nodes (scalars, maps, lists) a load accepts
/// (`LoadOptions::max_yaml_nodes`; default 128 a resource: 12,800,000).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_max_yaml_nodes(
    options: *mut gw_config_options,
    max_yaml_nodes: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.load.max_yaml_nodes = max_yaml_nodes;
        gw_result::Ok
    })
}

/// Sets the deepest nesting of maps and lists a load accepts (`LoadOptions::max_depth`; default
/// 64).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_max_depth(
    options: *mut gw_config_options,
    max_depth: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.load.max_depth = max_depth;
        gw_result::Ok
    })
}

/// Sets the most YAML aliases a load accepts (`LoadOptions::max_yaml_aliases`; default 1,000).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_max_yaml_aliases(
    options: *mut gw_config_options,
    max_yaml_aliases: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.load.max_yaml_aliases = max_yaml_aliases;
        gw_result::Ok
    })
}

/// Sets the most parser events YAML aliases may replay in one load
/// (`LoadOptions::max_yaml_alias_events`; default 100,000).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_max_yaml_alias_events(
    options: *mut gw_config_options,
    max_yaml_alias_events: usize,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.load.max_yaml_alias_events = max_yaml_alias_events;
        gw_result::Ok
    })
}

/// Makes the mesh (GAMMA) ours without an XMesh resource: routes whose parent is a Service
/// attach, and `gw_router_build_mesh` compiles them. Off by default (then only an XMesh of our
/// controller makes the mesh ours).
///
/// # Errors
/// `GW_RESULT_NULL_PARAMETER`.
///
/// # Safety
/// `options` is NULL or a live `gw_config_options` not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_set_mesh(
    options: *mut gw_config_options,
    mesh: bool,
) -> gw_result {
    ffi_boundary!(gw_result::Panic, {
        // SAFETY: the caller guarantees `options` is NULL or live and unaliased.
        let options = require!(unsafe { ffi::try_mut(options) });
        options.attach.mesh = mesh;
        gw_result::Ok
    })
}

/// Frees options; NULL is ignored.
///
/// # Safety
/// `options` is NULL or a `gw_config_options` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_config_options_free(options: *mut gw_config_options) {
    ffi_boundary!((), {
        // SAFETY: the caller guarantees `options` is NULL or a live box freed once.
        unsafe { ffi::free_box(options) }
    })
}

/// The buffer's bytes (valid until it is freed); NULL for a NULL buffer. Not NUL-terminated.
///
/// # Safety
/// `buffer` is NULL or a live `gw_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_buffer_data(buffer: *const gw_buffer) -> *const u8 {
    ffi_boundary!(std::ptr::null(), {
        // SAFETY: the caller guarantees `buffer` is NULL or live.
        let buffer = require!(unsafe { ffi::try_ref(buffer) }, std::ptr::null());
        buffer.as_ptr()
    })
}

/// The buffer's length in bytes; 0 for a NULL buffer.
///
/// # Safety
/// `buffer` is NULL or a live `gw_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_buffer_len(buffer: *const gw_buffer) -> usize {
    ffi_boundary!(0, {
        // SAFETY: the caller guarantees `buffer` is NULL or live.
        let buffer = require!(unsafe { ffi::try_ref(buffer) }, 0);
        buffer.len()
    })
}

/// Frees a buffer; NULL is ignored.
///
/// # Safety
/// `buffer` is NULL or a `gw_buffer` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gw_buffer_free(buffer: *mut gw_buffer) {
    ffi_boundary!((), {
        // SAFETY: the caller guarantees `buffer` is NULL or a live box freed once.
        unsafe { ffi::free_box(buffer) }
    })
}
