//! Parity for TLS decisions: requests with real certificates (rcgen) routed through the C ABI
//! give the decisions of the JSON interface. Each request is sent
//! - through `gw_route_json`, whose bytes must equal `gateway_core::json::route_json`'s;
//! - through the typed `gw_router_route` with the same facts in `gw_tls_connection` (the PEM
//!   chain as DER): outcome, cause, status, reason and listener must equal the JSON decision's,
//!   `gw_decision_frontend_tls` its `frontend_tls`, and `gw_decision_verify_backend_chain` its
//!   `backend_certificate` (the JSON interface folds a refused backend chain into the outcome,
//!   `server_error`/`backend_certificate_refused`; the typed ABI verifies after the decision).
#![allow(unsafe_code)] // it drives the C ABI
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../gateway-core/tests/tls/json_cases.rs"]
mod json_cases;
#[path = "../../gateway-core/tests/tls/pki.rs"]
mod pki;

use std::ptr::{null, null_mut};

use gateway_core::outcome::Outcome;
use gateway_ffi::backend_tls::gw_decision_verify_backend_chain;
use gateway_ffi::config::*;
use gateway_ffi::decision::*;
use gateway_ffi::frontend_tls::*;
use gateway_ffi::router::*;
use gateway_ffi::{gw_result, gw_slice};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use json_cases::{NOW, manifests, requests};
use pki::Ca;

#[test]
fn tls_decisions_through_the_c_abi_match_the_json_interface() {
    let clients = Ca::root("client root");
    let backends = Ca::root("backend root");
    let yaml = manifests(&clients, &backends);
    let mut config = null_mut();
    let mut router = null_mut();
    // SAFETY: live inputs and writable out-params; the handles are freed at the end.
    unsafe {
        assert_eq!(
            gw_config_load(yaml.as_ptr(), yaml.len(), &mut config, null_mut()),
            gw_result::Ok
        );
        assert_eq!(
            gw_router_build(config, null(), 0, null(), 0, &mut router, null_mut()),
            gw_result::Ok
        );
    }
    let (_, rust_router) = gateway_core::Engine::load_router(
        yaml.as_bytes(),
        &gateway_core::Target::only_gateway(),
        &gateway_core::EngineOptions::default(),
    )
    .unwrap();
    let cases = requests(&clients, &backends);
    for (i, (request, outcome, reason)) in cases.iter().enumerate() {
        let what = format!("request {i} {request}");
        let line = request.to_string();
        let expected = gateway_core::json::route_json(&rust_router, line.as_bytes());
        let mut out = null_mut();
        // SAFETY: live router and input; the buffer is read then freed.
        let got = unsafe {
            assert_eq!(
                gw_route_json(router, line.as_ptr(), line.len(), &mut out),
                gw_result::Ok
            );
            let bytes = std::slice::from_raw_parts(gw_buffer_data(out), gw_buffer_len(out));
            let got = String::from_utf8(bytes.to_vec()).unwrap();
            gw_buffer_free(out);
            got
        };
        assert_eq!(got, expected, "{what}: gw_route_json differs");
        let decision: Value = serde_json::from_str(&expected).unwrap();
        assert_eq!(decision["outcome"], *outcome, "{what}: {decision}");
        let verdict_reason = if decision["backend_certificate"].is_null() {
            &decision["frontend_tls"]["client_certificate"]["reason"]
        } else {
            &decision["backend_certificate"]["reason"]
        };
        assert_eq!(verdict_reason.as_str(), *reason, "{what}: {decision}");
        typed_parity(router, request, &decision, &what);
    }
    // SAFETY: handles made above, freed once.
    unsafe {
        gw_router_free(router);
        gw_config_free(config);
    }
    println!("{} TLS decisions identical through the C ABI", cases.len());
}

/// The typed ABI's decision for `request` agrees with the JSON `decision`.
fn typed_parity(router: *const gw_router, request: &Value, decision: &Value, what: &str) {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let headers: Vec<(String, String)> =
        serde_json::from_value(request["headers"].clone()).unwrap();
    let c_headers: Vec<gw_header> = headers
        .iter()
        .map(|(n, v)| gw_header {
            name: slice(n.as_bytes()),
            value: slice(v.as_bytes()),
        })
        .collect();
    let pem = request["tls"]["client_chain_pem"].as_str().unwrap_or("");
    let client = der_chain(pem);
    let client_slices: Vec<gw_slice> = client.iter().map(|c| slice(c)).collect();
    let tls = gw_tls_connection {
        client_chain: if client_slices.is_empty() {
            null()
        } else {
            client_slices.as_ptr()
        },
        client_chain_len: client_slices.len(),
        resumed_from_port: request["tls"]["resumed_from_port"]
            .as_u64()
            .map_or(0, |p| u16::try_from(p).unwrap()),
        now_unix_secs: NOW,
    };
    let (method, target, scheme, sni) = (
        "GET".to_owned(),
        text(&request["target"]),
        text(&request["scheme"]),
        text(&request["sni"]),
    );
    let req = gw_request {
        method: slice(method.as_bytes()),
        scheme: slice(scheme.as_bytes()),
        authority: gw_slice::NONE,
        target: slice(target.as_bytes()),
        headers: c_headers.as_ptr(),
        headers_len: c_headers.len(),
        sni: slice(sni.as_bytes()),
        port: u16::try_from(request["port"].as_u64().unwrap()).unwrap(),
        random: 0,
        tls: &tls,
        mesh: std::ptr::null(),
        now: 0,
    };
    let mut d = null_mut();
    // SAFETY: live router and request (its slices outlive the call); the decision is read and
    // freed once.
    unsafe {
        assert_eq!(gw_router_route(router, &req, &mut d), gw_result::Ok);
        // The JSON interface folds the backend chain's refusal into the outcome; the typed
        // decision is the forward, whose chain the host then verifies.
        let refused_backend = decision["cause"] == "backend_certificate_refused";
        let (outcome, cause, status, reason) = if refused_backend {
            ("forward", 0, 0, None)
        } else {
            let cause = Outcome::CAUSES
                .iter()
                .find(|o| o.cause_str() == decision["cause"].as_str())
                .map_or(0, |o| o.cause_code());
            (
                decision["outcome"].as_str().unwrap(),
                cause,
                decision["status"].as_u64().unwrap_or(0),
                decision["reason"].as_str(),
            )
        };
        assert_eq!(outcome_name(gw_decision_outcome(d)), outcome, "{what}");
        assert_eq!(gw_decision_cause(d) as u32, cause, "{what}: cause");
        assert_eq!(u64::from(gw_decision_status(d)), status, "{what}: status");
        assert_eq!(
            read(gw_decision_reason(d)).as_deref(),
            reason,
            "{what}: reason"
        );
        assert_eq!(
            read(gw_decision_listener(d)).as_deref(),
            decision["listener"].as_str(),
            "{what}: listener"
        );
        let mut f = std::mem::MaybeUninit::<gw_frontend_tls>::uninit();
        assert!(gw_decision_frontend_tls(d, f.as_mut_ptr()), "{what}");
        let f = f.assume_init();
        let mut expected = decision["frontend_tls"].clone();
        if expected["client_certificate"]["verdict"] == "invalid" {
            expected["client_certificate"]["detail"] = json!("<detail>");
        }
        assert_eq!(frontend_json(&f), expected, "{what}");

        let backend_pem = request["backend_chain_pem"].as_str();
        if let Some(pem) = backend_pem {
            let chain = der_chain(pem);
            let slices: Vec<gw_slice> = chain.iter().map(|c| slice(c)).collect();
            let r =
                gw_decision_verify_backend_chain(d, slices.as_ptr(), slices.len(), NOW, null_mut());
            let want = match decision["backend_certificate"]["reason"].as_str() {
                None => gw_result::Ok,
                Some(reason) => certificate_result(reason),
            };
            assert_eq!(r, want, "{what}: backend chain");
        }
        gw_decision_free(d);
    }
}

/// `gw_decision_frontend_tls` as the JSON interface's `frontend_tls` object.
fn frontend_json(f: &gw_frontend_tls) -> Value {
    let validation = match f.validation {
        gw_client_validation::None => Value::Null,
        gw_client_validation::AllowValidOnly => json!("AllowValidOnly"),
        gw_client_validation::AllowInsecureFallback => json!("AllowInsecureFallback"),
    };
    let client_auth = match f.client_auth {
        gw_client_auth::NotRequested => json!("not_requested"),
        gw_client_auth::Verified => json!("verified"),
        gw_client_auth::Unverified => json!("unverified"),
        gw_client_auth::Unavailable => Value::Null,
    };
    let verdict = match (f.client_auth, f.client_certificate) {
        (gw_client_auth::NotRequested, _) => Value::Null,
        (gw_client_auth::Unavailable, _) => {
            json!({"verdict": "unavailable", "reason": null, "detail": null})
        }
        (_, gw_result::Ok) => json!({"verdict": "valid", "reason": null, "detail": null}),
        (_, code) => json!({"verdict": "invalid", "reason": reason_name(code)}),
    };
    let coalescing = match f.coalescing {
        gw_coalescing::Allow => json!("allow"),
        gw_coalescing::Misdirected => json!("misdirected"),
        gw_coalescing::NotFound => json!("not_found"),
        gw_coalescing::BadRequest => json!("bad_request"),
        gw_coalescing::Unavailable => Value::Null,
    };
    let mut out = json!({"session_port": f.session_port, "validation": validation,
        "client_certificate": verdict, "client_auth": client_auth, "coalescing": coalescing});
    // The ABI numbers the reason; the detail text is the JSON interface's alone.
    if out["client_certificate"]["verdict"] == "invalid" {
        out["client_certificate"]["detail"] = json!("<detail>");
    }
    out
}

fn reason_name(code: gw_result) -> &'static str {
    match code {
        gw_result::CertificateMissing => "no_certificate",
        gw_result::CertificateBadEncoding => "bad_encoding",
        gw_result::CertificateUnknownIssuer => "unknown_issuer",
        gw_result::CertificateExpired => "expired",
        gw_result::CertificateNotYetValid => "not_yet_valid",
        gw_result::CertificateBadSignature => "bad_signature",
        gw_result::CertificateUnsupportedAlgorithm => "unsupported_signature_algorithm",
        gw_result::CertificateWrongUsage => "wrong_usage",
        gw_result::CertificateNameMismatch => "san_mismatch",
        gw_result::TlsPolicyInvalid => "policy_invalid",
        _ => "invalid_chain",
    }
}

fn certificate_result(reason: &str) -> gw_result {
    [
        gw_result::CertificateMissing,
        gw_result::CertificateBadEncoding,
        gw_result::CertificateUnknownIssuer,
        gw_result::CertificateExpired,
        gw_result::CertificateNotYetValid,
        gw_result::CertificateBadSignature,
        gw_result::CertificateUnsupportedAlgorithm,
        gw_result::CertificateWrongUsage,
        gw_result::CertificateNameMismatch,
        gw_result::TlsPolicyInvalid,
    ]
    .into_iter()
    .find(|&c| reason_name(c) == reason)
    .unwrap_or(gw_result::CertificateInvalid)
}

fn outcome_name(o: gw_outcome) -> &'static str {
    match o {
        gw_outcome::Forward => "forward",
        gw_outcome::Redirect => "redirect",
        gw_outcome::Respond => "respond",
        gw_outcome::NotFound => "not_found",
        gw_outcome::BadRequest => "bad_request",
        gw_outcome::Misdirected => "misdirected",
        gw_outcome::ServerError => "server_error",
        gw_outcome::Authorize => "auth_required",
        gw_outcome::Denied => "auth_denied",
        gw_outcome::PassThrough => "pass_through",
    }
}

fn der_chain(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn slice(bytes: &[u8]) -> gw_slice {
    gw_slice::from_bytes(bytes)
}

/// # Safety
/// `s` is NULL or UTF-8 the library returned, still alive.
unsafe fn read(s: gw_slice) -> Option<String> {
    if s.data.is_null() {
        return None;
    }
    // SAFETY: per the function's contract.
    let bytes = unsafe { std::slice::from_raw_parts(s.data, s.len) };
    Some(String::from_utf8(bytes.to_vec()).unwrap())
}
