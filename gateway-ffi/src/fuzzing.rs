//! The fuzzing entry point (feature `fuzzing`, used by `fuzz/fuzz_targets/fuzz_ffi.rs`): drives
//! every exported function with pointers and lengths taken from arbitrary bytes, as a C caller
//! would, and checks what the ABI promises: no panic escapes, out-parameters are written only
//! on success, returned strings are UTF-8 and readable for their whole length.
//!
//! It lives in this crate so that the `unsafe` calls stay in the FFI crate.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::OnceLock;

use crate::auth::*;
use crate::backend_tls::*;
use crate::config::*;
use crate::decision::*;
use crate::error::*;
use crate::frontend_tls::*;
use crate::router::*;
use crate::{gw_result, gw_slice, gw_version};

/// The example manifests: a router built from them routes the fuzzed requests.
const SHOP: &[u8] = include_bytes!("../../examples/manifests/shop.yaml");

/// External auth (HTTP, gRPC with forwardBody) and a BackendTLSPolicy backend: the typed auth
/// and backend TLS exports get real decisions to work on.
const TYPED: &[u8] = include_bytes!("../tests/fixtures/typed.yaml");

/// A mesh: a Service with a cluster IP and a producer route, and a consumer route of another
/// namespace, for the mesh router's fuzzed requests.
const MESH: &[u8] = b"
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: app}
spec: {clusterIP: 10.96.0.7, clusterIPs: [10.96.0.7, 'fd00::7'], ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: echo, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2}}]
    backendRefs: [{name: echo, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: consumer, namespace: web}
spec:
  parentRefs: [{group: '', kind: Service, name: echo, namespace: app}]
  rules:
  - backendRefs: [{name: echo, namespace: app, port: 80}]
";

/// Reads the bytes a returned slice names, so that a sanitizer sees any bad pointer, and
/// checks the UTF-8 promise.
fn check_str(s: gw_slice) {
    if s.data.is_null() {
        assert_eq!(s.len, 0, "a NULL slice with a length");
        return;
    }
    // SAFETY: the ABI promises `len` readable bytes at `data` while the handle lives; the
    // callers hold the handle.
    let bytes = unsafe { std::slice::from_raw_parts(s.data, s.len) };
    assert!(
        std::str::from_utf8(bytes).is_ok(),
        "a returned string is not UTF-8"
    );
}

/// Splits the input into fields: each field is a length byte then that many bytes.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn next(&mut self) -> &'a [u8] {
        let Some((&len, rest)) = self.0.split_first() else {
            return &[];
        };
        let (field, rest) = rest.split_at(usize::from(len).min(rest.len()));
        self.0 = rest;
        field
    }

    fn byte(&mut self) -> u8 {
        self.next().first().copied().unwrap_or(0)
    }
}

/// A borrowed slice, or NULL with length 0 for an empty field (both mean empty).
fn slice(bytes: &[u8]) -> gw_slice {
    if bytes.is_empty() {
        gw_slice::NONE
    } else {
        gw_slice::from_bytes(bytes)
    }
}

/// The router of the example manifests, built once per process. Stored as an address: the
/// handle is `Send + Sync`, the raw pointer type is not.
fn shop_router() -> *const gw_router {
    static ROUTER: OnceLock<usize> = OnceLock::new();
    *ROUTER.get_or_init(|| build_router(SHOP)) as *const gw_router
}

/// The router of [`TYPED`], built once per process.
fn typed_router() -> *const gw_router {
    static ROUTER: OnceLock<usize> = OnceLock::new();
    *ROUTER.get_or_init(|| build_router(TYPED)) as *const gw_router
}

/// The mesh router of [`MESH`], built once per process.
fn mesh_router() -> *const gw_router {
    static ROUTER: OnceLock<usize> = OnceLock::new();
    *ROUTER.get_or_init(|| {
        let mut config = ptr::null_mut();
        let mut router = ptr::null_mut();
        // SAFETY: valid slices and out-pointers to locals; the options and config are freed
        // once.
        unsafe {
            let options = gw_config_options_new();
            assert_eq!(gw_config_options_set_mesh(options, true), gw_result::Ok);
            assert_eq!(
                gw_config_load_with_options(
                    options,
                    MESH.as_ptr(),
                    MESH.len(),
                    &mut config,
                    ptr::null_mut()
                ),
                gw_result::Ok
            );
            gw_config_options_free(options);
            assert_eq!(
                gw_router_build_mesh(config, &mut router, ptr::null_mut()),
                gw_result::Ok
            );
            gw_config_free(config);
        }
        router as usize
    }) as *const gw_router
}

/// Builds the only Gateway's router of `manifests`; its address.
fn build_router(manifests: &[u8]) -> usize {
    {
        let mut config = ptr::null_mut();
        let mut router = ptr::null_mut();
        // SAFETY: valid slices and out-pointers to locals.
        unsafe {
            assert_eq!(
                gw_config_load(
                    manifests.as_ptr(),
                    manifests.len(),
                    &mut config,
                    ptr::null_mut()
                ),
                gw_result::Ok
            );
            assert_eq!(
                gw_router_build(
                    config,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    &mut router,
                    ptr::null_mut()
                ),
                gw_result::Ok
            );
            gw_config_free(config);
        }
        router as usize
    }
}

/// Loads arbitrary bytes as manifests (with and without options) and reads everything the
/// configuration or the error offers.
fn load(manifests: &[u8], controller: &[u8], address: &[u8], strict: bool, mesh: bool) {
    // SAFETY: every pointer is NULL, a live local, or a slice of `manifests`/`controller`/
    // `address` with its length; every handle is freed once.
    unsafe {
        let options = gw_config_options_new();
        let _ =
            gw_config_options_set_controller_name(options, controller.as_ptr(), controller.len());
        let _ = gw_config_options_add_address(options, address.as_ptr(), address.len());
        let _ = gw_config_options_set_strict(options, strict);
        let _ = gw_config_options_set_mesh(options, mesh);
        let mut config = ptr::null_mut();
        let mut error = ptr::null_mut();
        let result = gw_config_load_with_options(
            options,
            manifests.as_ptr(),
            manifests.len(),
            &mut config,
            &mut error,
        );
        gw_config_options_free(options);
        if result == gw_result::Ok {
            assert!(!config.is_null() && error.is_null());
            let mut json = ptr::null_mut();
            if gw_config_status_json(config, &mut json) == gw_result::Ok {
                let data = gw_buffer_data(json);
                let len = gw_buffer_len(json);
                check_str(gw_slice { data, len });
                gw_buffer_free(json);
            }
            let mut router = ptr::null_mut();
            let mut error = ptr::null_mut();
            let built = gw_router_build(
                config,
                ptr::null(),
                0,
                ptr::null(),
                0,
                &mut router,
                &mut error,
            );
            assert_eq!(built == gw_result::Ok, !router.is_null());
            gw_router_free(router);
            read_error(error);
            let mut router = ptr::null_mut();
            let mut error = ptr::null_mut();
            let built = gw_router_build_mesh(config, &mut router, &mut error);
            assert_eq!(built == gw_result::Ok, !router.is_null());
            gw_router_free(router);
            read_error(error);
            gw_config_free(config);
        } else {
            assert!(config.is_null(), "an out-parameter was written on failure");
            read_error(error);
        }
    }
}

/// Reads every accessor of an error handle (NULL is allowed), then frees it.
///
/// # Safety
/// `error` is NULL or a live error handle, not used afterwards.
unsafe fn read_error(error: *mut gw_error) {
    // SAFETY: as the function's contract says.
    unsafe {
        let _ = gw_error_code(error);
        check_str(gw_error_message(error));
        let count = gw_error_diagnostic_count(error);
        for index in 0..=count.min(64) {
            let mut out = MaybeUninit::<gw_diagnostic>::uninit();
            if gw_error_diagnostic(error, index, out.as_mut_ptr()) == gw_result::Ok {
                let d = out.assume_init();
                for s in [d.kind, d.ns, d.name, d.path] {
                    check_str(s);
                }
            }
        }
        gw_error_free(error);
    }
}

/// Routes one request built from the fields and reads every accessor of the decision,
/// including indexes one past the end.
fn route(router: *const gw_router, f: &mut Fields<'_>) {
    let method = f.next();
    let scheme = f.next();
    let authority = f.next();
    let target = f.next();
    let sni = f.next();
    let port = u16::from_le_bytes([f.byte(), f.byte()]);
    let random = u64::from(f.byte()) * 0x9e37_79b9_7f4a_7c15;
    let mut headers = Vec::new();
    for _ in 0..f.byte() % 16 {
        headers.push(gw_header {
            name: slice(f.next()),
            value: slice(f.next()),
        });
    }
    // The TLS connection's facts, when the next byte is odd: up to two chain certificates.
    let chain: Vec<gw_slice> = (0..f.byte() % 3).map(|_| slice(f.next())).collect();
    let tls = gw_tls_connection {
        client_chain: if chain.is_empty() {
            ptr::null()
        } else {
            chain.as_ptr()
        },
        client_chain_len: chain.len(),
        resumed_from_port: u16::from_le_bytes([f.byte(), f.byte()]),
        now_unix_secs: 1_893_456_000,
    };
    let with_tls = f.byte() % 2 == 1;
    // The mesh inputs, when the next byte is odd (any router: a Gateway's refuses them).
    let mesh = gw_mesh_request {
        client_namespace: slice(f.next()),
        destination_namespace: slice(f.next()),
        destination_name: slice(f.next()),
        destination_address: slice(f.next()),
        destination_port: u16::from_le_bytes([f.byte(), f.byte()]),
    };
    let with_mesh = f.byte() % 2 == 1;
    let request = gw_request {
        method: slice(method),
        scheme: slice(scheme),
        authority: slice(authority),
        target: slice(target),
        headers: if headers.is_empty() {
            ptr::null()
        } else {
            headers.as_ptr()
        },
        headers_len: headers.len(),
        sni: slice(sni),
        port,
        random,
        tls: if with_tls { &tls } else { ptr::null() },
        mesh: if with_mesh { &mesh } else { ptr::null() },
        // A session token in the headers is read at this time when it is not 0.
        now: u64::from(f.byte()) << 24,
    };
    // SAFETY: `request` and everything it points to live until the end of this block; the
    // decision is freed once and not used afterwards.
    unsafe {
        let mut decision = ptr::null_mut();
        if gw_router_route(router, &request, &mut decision) != gw_result::Ok {
            assert!(
                decision.is_null(),
                "an out-parameter was written on failure"
            );
            return;
        }
        let d = decision.cast_const();
        check_cause(gw_decision_outcome(d), gw_decision_cause(d));
        let _ = gw_decision_status(d);
        for s in [
            gw_decision_reason(d),
            gw_decision_listener(d),
            gw_decision_path(d),
            gw_decision_authority_rewrite(d),
            gw_decision_host(d),
            gw_decision_location(d),
        ] {
            check_str(s);
        }
        let body = gw_decision_local_body(d);
        if !body.data.is_null() {
            let _ = std::slice::from_raw_parts(body.data, body.len)
                .iter()
                .map(|&b| u32::from(b))
                .sum::<u32>();
        }
        let mut m = MaybeUninit::<gw_route_match>::uninit();
        if gw_decision_route(d, m.as_mut_ptr()) {
            let m = m.assume_init();
            for s in [m.ns, m.name, m.rule_name] {
                check_str(s);
            }
        }
        let mut b = MaybeUninit::<gw_backend>::uninit();
        if gw_decision_backend(d, b.as_mut_ptr()) {
            let b = b.assume_init();
            for s in [b.ns, b.name, b.app_protocol] {
                check_str(s);
            }
        }
        for index in 0..=gw_decision_mirror_count(d) {
            let mut b = MaybeUninit::<gw_backend>::uninit();
            if gw_decision_mirror(d, index, b.as_mut_ptr()) {
                check_str(b.assume_init().name);
            }
        }
        for index in 0..=gw_decision_request_edit_count(d) {
            let mut e = MaybeUninit::<gw_header_edit>::uninit();
            if gw_decision_request_edit(d, index, e.as_mut_ptr()) {
                let e = e.assume_init();
                check_str(e.name);
                check_str(e.value);
            }
        }
        for index in 0..=gw_decision_response_edit_count(d) {
            let mut e = MaybeUninit::<gw_header_edit>::uninit();
            if gw_decision_response_edit(d, index, e.as_mut_ptr()) {
                let e = e.assume_init();
                check_str(e.name);
                check_str(e.value);
            }
        }
        for index in 0..=gw_decision_local_header_count(d) {
            let mut h = MaybeUninit::<gw_header>::uninit();
            if gw_decision_local_header(d, index, h.as_mut_ptr()) {
                let h = h.assume_init();
                check_str(h.name);
                check_str(h.value);
            }
        }
        let mut t = MaybeUninit::<gw_timeouts>::uninit();
        let _ = gw_decision_timeouts(d, t.as_mut_ptr());
        let mut r = MaybeUninit::<gw_retry>::uninit();
        if gw_decision_retry(d, r.as_mut_ptr()) {
            let r = r.assume_init();
            let codes = std::slice::from_raw_parts(r.codes, r.codes_len);
            assert!(codes.iter().all(|c| (400..=599).contains(c)));
        }
        let mut frontend = MaybeUninit::<gw_frontend_tls>::uninit();
        let _ = gw_decision_frontend_tls(d, frontend.as_mut_ptr());
        // Out-pointers that are NULL are refused, never written.
        let _ = gw_decision_route(d, ptr::null_mut());
        let _ = gw_decision_backend(d, ptr::null_mut());
        let _ = gw_decision_mirror(d, 0, ptr::null_mut());
        auth_and_tls(d, f);
        gw_decision_free(decision);
    }
}

/// Drives the external auth and backend TLS exports on a decision with the remaining fields:
/// reads the check and the TLS settings, verifies an arbitrary chain, adds an arbitrary body,
/// feeds an arbitrary answer and reads the decisions they give.
///
/// # Safety
/// `d` is a live decision.
unsafe fn auth_and_tls(d: *const gw_decision, f: &mut Fields<'_>) {
    // SAFETY: `d` is live (caller); every other pointer is a live local or a slice of the
    // input with its length; every decision made here is freed once.
    unsafe {
        let mut c = MaybeUninit::<gw_auth_check>::uninit();
        if gw_decision_auth_check(d, c.as_mut_ptr()) {
            let c = c.assume_init();
            for s in [c.backend.ns, c.backend.name, c.method, c.path] {
                check_str(s);
            }
            let _ = read_bytes(c.body);
            let _ = read_bytes(c.grpc_message);
        }
        for index in 0..=gw_decision_auth_header_count(d) {
            let mut h = MaybeUninit::<gw_header>::uninit();
            if gw_decision_auth_header(d, index, h.as_mut_ptr()) {
                let h = h.assume_init();
                check_str(h.name);
                check_str(h.value);
            }
        }
        let mut t = MaybeUninit::<gw_backend_tls>::uninit();
        if gw_decision_backend_tls(d, t.as_mut_ptr()) {
            let t = t.assume_init();
            check_str(t.policy);
            check_str(t.sni);
            for index in 0..=t.ca_count {
                let _ = read_bytes(gw_decision_backend_tls_ca(d, index));
            }
            for index in 0..=t.identity_count {
                let mut i = MaybeUninit::<gw_tls_identity>::uninit();
                if gw_decision_backend_tls_identity(d, index, i.as_mut_ptr()) {
                    check_str(i.assume_init().value);
                }
            }
            for index in 0..=t.client_certificate_count {
                let _ = read_bytes(gw_decision_backend_tls_client_certificate(d, index));
            }
        }
        let mut k = MaybeUninit::<gw_private_key>::uninit();
        if gw_decision_backend_tls_client_key(d, k.as_mut_ptr()) {
            let _ = read_bytes(k.assume_init().der);
        }
        let chain: Vec<gw_slice> = (0..f.byte() % 4).map(|_| slice(f.next())).collect();
        let now = u64::from(f.byte()) << 24;
        let mut error = ptr::null_mut();
        let r = gw_decision_verify_backend_chain(d, chain.as_ptr(), chain.len(), now, &mut error);
        if r == gw_result::Ok {
            assert!(error.is_null(), "error_out was written on success");
        }
        read_error(error);

        let body = f.next();
        let mut next = ptr::null_mut();
        if gw_decision_auth_body(d, body.as_ptr(), body.len(), f.byte() & 1 == 1, &mut next)
            == gw_result::Ok
        {
            read_next(next);
        } else {
            assert!(next.is_null(), "an out-parameter was written on failure");
        }

        let kind = f.byte();
        let status = u16::from_le_bytes([f.byte(), f.byte()]);
        let mut headers = Vec::new();
        for _ in 0..f.byte() % 8 {
            headers.push(gw_header {
                name: slice(f.next()),
                value: slice(f.next()),
            });
        }
        let answer = gw_auth_response {
            answer: u32::from(kind % 7),
            status,
            headers: if headers.is_empty() {
                ptr::null()
            } else {
                headers.as_ptr()
            },
            headers_len: headers.len(),
            body: slice(f.next()),
            message: slice(f.next()),
            failure_status: u16::from_le_bytes([f.byte(), f.byte()]),
        };
        let mut next = ptr::null_mut();
        if gw_decision_authorize(d, &answer, &mut next) == gw_result::Ok {
            read_next(next);
        } else {
            assert!(next.is_null(), "an out-parameter was written on failure");
        }
    }
}

/// Reads the bytes of a returned slice (no UTF-8 promise: DER, protobuf, bodies).
fn read_bytes(s: gw_slice) -> usize {
    if s.data.is_null() {
        assert_eq!(s.len, 0, "a NULL slice with a length");
        return 0;
    }
    // SAFETY: the ABI promises `len` readable bytes at `data` while the handle lives.
    let bytes = unsafe { std::slice::from_raw_parts(s.data, s.len) };
    bytes.iter().map(|b| usize::from(*b)).sum()
}

/// The cause belongs to the outcome's block of numbers (none for the outcomes without one).
fn check_cause(outcome: gw_outcome, cause: crate::cause::gw_cause) {
    let block = match outcome {
        gw_outcome::NotFound => 1,
        gw_outcome::BadRequest => 2,
        gw_outcome::ServerError => 3,
        gw_outcome::Denied => 4,
        _ => 0,
    };
    assert_eq!(cause as u32 / 100, block, "{cause:?} with {outcome:?}");
}

/// Reads the decision that follows an auth answer or body, then frees it.
///
/// # Safety
/// `next` is a live decision, not used afterwards.
unsafe fn read_next(next: *mut gw_decision) {
    // SAFETY: `next` is live (caller) and freed once here.
    unsafe {
        let n = next.cast_const();
        check_cause(gw_decision_outcome(n), gw_decision_cause(n));
        let _ = gw_decision_status(n);
        for s in [
            gw_decision_reason(n),
            gw_decision_path(n),
            gw_decision_host(n),
            gw_decision_location(n),
        ] {
            check_str(s);
        }
        let _ = read_bytes(gw_decision_local_body(n));
        for index in 0..=gw_decision_local_header_count(n) {
            let mut h = MaybeUninit::<gw_header>::uninit();
            if gw_decision_local_header(n, index, h.as_mut_ptr()) {
                let h = h.assume_init();
                check_str(h.name);
                check_str(h.value);
            }
        }
        for index in 0..=gw_decision_request_edit_count(n) {
            let mut e = MaybeUninit::<gw_header_edit>::uninit();
            if gw_decision_request_edit(n, index, e.as_mut_ptr()) {
                let e = e.assume_init();
                check_str(e.name);
                check_str(e.value);
            }
        }
        let mut c = MaybeUninit::<gw_auth_check>::uninit();
        if gw_decision_auth_check(n, c.as_mut_ptr()) {
            let _ = read_bytes(c.assume_init().grpc_message);
        }
        gw_decision_free(next);
    }
}

/// One fuzz input: the first byte picks what to drive (modulo 6: load, the shop router, the
/// JSON interface, the NULL-handle calls, the typed router, the mesh router), the rest is the
/// material.
pub fn exercise(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut fields = Fields(rest);
    match mode % 6 {
        0 => {
            let (controller, address, flags) = (fields.next(), fields.next(), fields.byte());
            load(
                fields.0,
                controller,
                address,
                flags & 1 == 1,
                flags & 2 == 2,
            );
        }
        1 => route(shop_router(), &mut fields),
        4 => route(typed_router(), &mut fields),
        5 => route(mesh_router(), &mut fields),
        2 => {
            let router = shop_router();
            // SAFETY: a slice of the input with its length; the buffer is freed once.
            unsafe {
                let mut out = ptr::null_mut();
                if gw_route_json(router, rest.as_ptr(), rest.len(), &mut out) == gw_result::Ok {
                    check_str(gw_slice {
                        data: gw_buffer_data(out),
                        len: gw_buffer_len(out),
                    });
                    gw_buffer_free(out);
                } else {
                    assert!(out.is_null(), "an out-parameter was written on failure");
                }
            }
        }
        3 => {
            let code =
                u32::from_le_bytes([fields.byte(), fields.byte(), fields.byte(), fields.byte()]);
            let mut buf = vec![0u8; usize::from(fields.byte())];
            let mut written = 0usize;
            // SAFETY: `buf` has `buf.len()` writable bytes; every other pointer is NULL or a
            // live local; NULL handles are allowed by every function called here.
            unsafe {
                let _ = gw_result_describe(code, buf.as_mut_ptr(), buf.len(), &mut written);
                let _ = gw_result_describe(code, ptr::null_mut(), 0, &mut written);
                check_str(gw_version());
                check_cause(
                    gw_decision_outcome(ptr::null()),
                    gw_decision_cause(ptr::null()),
                );
                check_str(gw_decision_reason(ptr::null()));
                check_str(gw_error_message(ptr::null()));
                let _ = gw_router_route(ptr::null(), ptr::null(), ptr::null_mut());
                let _ = gw_route_json(ptr::null(), ptr::null(), 5, ptr::null_mut());
                let _ = gw_config_load(ptr::null(), 3, ptr::null_mut(), ptr::null_mut());
                let _ = gw_config_options_set_mesh(ptr::null_mut(), true);
                let _ = gw_router_build_mesh(ptr::null(), ptr::null_mut(), ptr::null_mut());
                gw_router_free(gw_router_clone(ptr::null()));
                gw_config_free(ptr::null_mut());
                gw_decision_free(ptr::null_mut());
                gw_buffer_free(ptr::null_mut());
                gw_error_free(ptr::null_mut());
                let _ = gw_decision_auth_check(ptr::null(), ptr::null_mut());
                let _ = gw_decision_auth_header_count(ptr::null());
                let _ = gw_decision_authorize(ptr::null(), ptr::null(), ptr::null_mut());
                let _ = gw_decision_auth_body(ptr::null(), ptr::null(), 7, false, ptr::null_mut());
                let _ = gw_decision_backend_tls(ptr::null(), ptr::null_mut());
                let _ = read_bytes(gw_decision_backend_tls_ca(ptr::null(), 0));
                let _ = read_bytes(gw_decision_backend_tls_client_certificate(ptr::null(), 0));
                let _ = gw_decision_backend_tls_client_key(ptr::null(), ptr::null_mut());
                let _ = gw_decision_backend_tls_identity(ptr::null(), 0, ptr::null_mut());
                let _ = gw_decision_verify_backend_chain(
                    ptr::null(),
                    ptr::null(),
                    2,
                    0,
                    ptr::null_mut(),
                );
            }
            assert!(written <= 4096);
        }
        _ => {}
    }
}
