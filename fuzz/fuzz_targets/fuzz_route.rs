//! Structure-aware requests against a fixed configuration: routing never panics, and
//! re-spelling the request (path encodings, host case and port, header name case) yields the
//! same decision or a 400, never a different rule.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::outcome::Outcome;
use gateway_core::route::{GatewayRef, Router};
use libfuzzer_sys::fuzz_target;

const MANIFESTS: &str = include_str!("../../examples/manifests/shop.yaml");

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let loaded =
            Snapshot::load(MANIFESTS.as_bytes(), &LoadOptions::default()).expect("example loads");
        let config = Config::new(loaded.snapshot, AttachOptions::default());
        Router::build(
            &config,
            &GatewayRef::new("shop", "shop"),
            PathPolicy::secure(),
        )
        .expect("example builds")
    })
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: u8,
    host: Vec<u8>,
    target: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    respell: Vec<u8>,
}

fn route(
    method: &str,
    target: &[u8],
    headers: &[(&[u8], &[u8])],
) -> (Outcome, Option<(String, usize)>) {
    let d = router().route(&RequestView::new(method, target, Headers::Bytes(headers)));
    (
        d.outcome(),
        d.route()
            .zip(d.rule())
            .map(|(r, u)| (r.name.to_owned(), u.index)),
    )
}

/// Re-spells a path without changing what it means: encode unreserved bytes, flip hex case,
/// insert `./` and `x/../`.
fn respell(target: &[u8], how: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(target.len() * 2);
    let mut how = how.iter().copied().cycle();
    let query = target
        .iter()
        .position(|b| *b == b'?')
        .unwrap_or(target.len());
    for (i, &b) in target.iter().enumerate() {
        if i >= query {
            out.extend_from_slice(&target[i..]);
            break;
        }
        match how.next().unwrap_or(0) % 6 {
            0 if b.is_ascii_alphanumeric() => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
            1 if b.is_ascii_alphanumeric() => out.extend_from_slice(format!("%{b:02x}").as_bytes()),
            2 if b == b'/' => out.extend_from_slice(b"/./"),
            3 if b == b'/' => out.extend_from_slice(b"/x/../"),
            _ => out.push(b),
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let method = ["GET", "POST", "PUT", "OPTIONS"][usize::from(input.method % 4)];
    let mut headers: Vec<(&[u8], &[u8])> = vec![(b"host", &input.host)];
    headers.extend(
        input
            .headers
            .iter()
            .take(16)
            .map(|(k, v)| (k.as_slice(), v.as_slice())),
    );
    let first = route(method, &input.target, &headers);
    if first.0 != Outcome::Forward {
        return;
    }
    let respelled = respell(&input.target, &input.respell);
    let second = route(method, &respelled, &headers);
    assert!(
        second == first || matches!(second.0, Outcome::BadRequest(_)),
        "{:?} -> {first:?} but {:?} -> {second:?}",
        String::from_utf8_lossy(&input.target),
        String::from_utf8_lossy(&respelled)
    );
    // Host case, a port and a trailing dot change nothing.
    let mut host = input.host.to_ascii_uppercase();
    host.extend_from_slice(b".:8080");
    let mut h2 = headers.clone();
    h2[0] = (b"HOST", &host);
    let third = route(method, &input.target, &h2);
    assert!(
        third == first || matches!(third.0, Outcome::BadRequest(_)),
        "host respelling changed {first:?} to {third:?}"
    );
});
