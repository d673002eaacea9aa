//! End to end: traffic to a Service beyond one address. Retries with the core's backoff,
//! the retry budget of an XBackendTrafficPolicy, round robin over a Service's endpoints, and
//! session persistence (GEP-1619) by cookie and by header, across a reload and a weight of 0,
//! refusing pins to endpoints that are not the backend's.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Echo, Gateway, Got, request, send};
use tokio::net::TcpListener;

const HEAD: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gateway-core}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gateway-core
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: spare, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: flaky, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: failing, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: tight, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: failing}]
  retryConstraint:
    budget: {percent: 0}
    minRetryRate: {count: 1, interval: 1h}
---
"#;

/// The route: `/retry` (503 retried twice, 100 ms backoff) to `flaky`, `/budget` (500 retried
/// once) to `failing`, `/rr` to `app`, `/sticky` (cookie session) to `app` and `spare` with
/// these weights, `/header` (header session, renewed: `idleTimeout`) to `app`.
fn manifests(app_weight: u32, spare_weight: u32) -> String {
    format!(
        r#"{HEAD}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: traffic, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /retry}}}}]
    retry: {{codes: [503], attempts: 2, backoff: 100ms}}
    backendRefs: [{{name: flaky, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /budget}}}}]
    retry: {{codes: [500], attempts: 1, backoff: 10ms}}
    backendRefs: [{{name: failing, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /rr}}}}]
    backendRefs: [{{name: app, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /sticky}}}}]
    sessionPersistence: {{sessionName: sticky, absoluteTimeout: 1h}}
    backendRefs:
    - {{name: app, port: 8080, weight: {app_weight}}}
    - {{name: spare, port: 8080, weight: {spare_weight}}}
  - matches: [{{path: {{type: PathPrefix, value: /header}}}}]
    sessionPersistence: {{type: Header, sessionName: x-session, idleTimeout: 1h}}
    backendRefs: [{{name: app, port: 8080}}]
"#
    )
}

/// A backend that answers `status` to its first `fails` requests, then 200; it keeps the time
/// of every request.
async fn failing_server(fails: usize, status: u16) -> (SocketAddr, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let times = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let times = Arc::clone(&times);
            let service = hyper::service::service_fn(move |_: Request<Incoming>| {
                let mut times = times.lock().unwrap();
                times.push(Instant::now());
                let code = if times.len() <= fails { status } else { 200 };
                let mut response = Response::new(Full::new(Bytes::from_static(b"answer")));
                *response.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    (addr, seen)
}

/// Backends: `flaky` (fails twice with 503), `failing` (always 500), `app` on three echo
/// endpoints, `spare` on one; the gateway over them.
struct Setup {
    gateway: Gateway,
    flaky: Arc<Mutex<Vec<Instant>>>,
    failing: Arc<Mutex<Vec<Instant>>>,
    app: Vec<Echo>,
    spare: Echo,
    endpoints: String,
}

impl Setup {
    async fn start(name: &str) -> Self {
        let (flaky_addr, flaky) = failing_server(2, 503).await;
        let (failing_addr, failing) = failing_server(usize::MAX, 500).await;
        let mut app = Vec::new();
        for n in ["app-1", "app-2", "app-3"] {
            app.push(Echo::start("default", n).await);
        }
        let spare = Echo::start("default", "spare").await;
        let mut endpoints = format!(
            "listen 80 127.0.0.1:0\ndefault/flaky {flaky_addr}\ndefault/failing {failing_addr}\n\
             default/spare {}\n",
            spare.addr
        );
        for echo in &app {
            endpoints.push_str(&format!("default/app {}\n", echo.addr));
        }
        let gateway = Gateway::start(name, &manifests(1, 0), &endpoints, "default/gw");
        Setup {
            gateway,
            flaky,
            failing,
            app,
            spare,
            endpoints,
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let req = request(false, "GET", "example.com", path, headers);
        send(self.gateway.addr(80), None, false, req).await.unwrap()
    }

    /// Waits until the gateway has reloaded `count` times.
    async fn reloaded(&self, count: usize) {
        for _ in 0..100 {
            if self.gateway.log().matches("reloaded").count() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no reload:\n{}", self.gateway.log());
    }
}

/// Which echo backend answered.
fn served_by(got: &Got) -> String {
    assert_eq!(got.status, 200, "{got:?}");
    got.seen().unwrap().name
}

/// The `name=token` pair a `Set-Cookie` value starts with.
fn cookie_pair(got: &Got) -> String {
    let set = got.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_reaches_a_backend_that_fails_then_succeeds_after_the_backoff() {
    let s = Setup::start("traffic-retry").await;
    let got = s.get("/retry", &[]).await;
    assert_eq!(got.status, 200, "{}", s.gateway.log());
    let times = s.flaky.lock().unwrap().clone();
    assert_eq!(times.len(), 3, "two failures, then the answer");
    // Retry::backoff_before: 100 ms before the first retry, twice that before the second.
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(95), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(195), "{gaps:?}");
    assert!(gaps[1] < Duration::from_millis(1500), "{gaps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_retry_budget_answers_503() {
    let s = Setup::start("traffic-budget").await;
    // The minimum rate (1 per hour) allows the first retry: the backend's 500 comes back.
    let first = s.get("/budget", &[]).await;
    assert_eq!(first.status, 500, "{}", s.gateway.log());
    assert_eq!(s.failing.lock().unwrap().len(), 2);
    // Then 0 % of the requests may be retries: the retry is refused with a 503.
    for sent in [3, 4] {
        let got = s.get("/budget", &[]).await;
        assert_eq!(got.status, 503, "{}", s.gateway.log());
        assert_eq!(s.failing.lock().unwrap().len(), sent, "no retry was sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_take_a_services_endpoints_in_turn() {
    let s = Setup::start("traffic-rr").await;
    let mut by = Vec::new();
    for _ in 0..6 {
        by.push(served_by(&s.get("/rr", &[]).await));
    }
    for echo in &s.app {
        assert_eq!(echo.received().len(), 2, "{by:?}");
    }
    // In turn: each endpoint once in every three consecutive requests.
    assert_eq!(by[0..3], by[3..6], "{by:?}");
    assert!(s.spare.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_session_keeps_its_endpoint_across_a_reload_and_a_weight_of_zero() {
    let s = Setup::start("traffic-cookie").await;
    let first = s.get("/sticky", &[]).await;
    let pinned = served_by(&first);
    let set = first.header("set-cookie").unwrap();
    assert!(set.starts_with("sticky="), "{set}");
    assert!(
        set.contains("; Path=/sticky") && set.contains("HttpOnly"),
        "{set}"
    );
    let cookie = cookie_pair(&first);
    // Round robin alone would move on: the session keeps the endpoint, and is not reissued
    // (no idleTimeout to renew).
    for _ in 0..4 {
        let got = s.get("/sticky", &[("cookie", &cookie)]).await;
        assert_eq!(served_by(&got), pinned);
        assert_eq!(got.header("set-cookie"), None);
    }
    // app's weight drops to 0 and spare takes all new traffic; the session stays where it was.
    s.gateway.rewrite(&manifests(0, 1));
    s.reloaded(1).await;
    assert_eq!(served_by(&s.get("/sticky", &[]).await), "spare");
    for _ in 0..3 {
        let got = s.get("/sticky", &[("cookie", &cookie)]).await;
        assert_eq!(served_by(&got), pinned, "{}", s.gateway.log());
    }
    // Once the endpoint is gone from the endpoints file, the pin is not followed: a new
    // session starts, on spare.
    let index = ["app-1", "app-2", "app-3"]
        .iter()
        .position(|n| *n == pinned);
    let gone = s.app[index.unwrap()].addr.to_string();
    let kept = s.endpoints.lines().filter(|l| !l.ends_with(&gone));
    let without: String = kept.map(|l| format!("{l}\n")).collect();
    std::fs::write(s.gateway.dir.join("endpoints"), without).unwrap();
    s.reloaded(2).await;
    let got = s.get("/sticky", &[("cookie", &cookie)]).await;
    assert_eq!(served_by(&got), "spare");
    assert!(got.header("set-cookie").is_some(), "a new session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_session_keeps_its_endpoint_and_is_renewed() {
    let s = Setup::start("traffic-header").await;
    let first = s.get("/header", &[]).await;
    let pinned = served_by(&first);
    let mut token = first.header("x-session").expect("the session header");
    for _ in 0..4 {
        let got = s.get("/header", &[("x-session", &token)]).await;
        assert_eq!(served_by(&got), pinned);
        // idleTimeout: every response renews the session (Session::renew), and the renewed
        // token pins the same endpoint.
        token = got.header("x-session").expect("the renewed session header");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_pin_to_an_endpoint_not_of_the_backend_is_not_followed() {
    let s = Setup::start("traffic-forged").await;
    let first = s.get("/sticky", &[]).await;
    let cookie = cookie_pair(&first);
    // The same token, pinned to spare's address (an endpoint of another Service), with a
    // checksum that holds: the format is documented, the token is not signed.
    let (name, token) = cookie.split_once('=').unwrap();
    let (body, _) = token.rsplit_once('!').unwrap();
    let (head, _) = body.rsplit_once('!').unwrap();
    let forged_body = format!("{head}!{}", s.spare.addr);
    let forged = format!("{name}={forged_body}!{:016x}", checksum(&forged_body));
    for _ in 0..3 {
        let got = s.get("/sticky", &[("cookie", &forged)]).await;
        assert_ne!(served_by(&got), "spare", "{}", s.gateway.log());
        assert!(got.header("set-cookie").is_some(), "a new session");
    }
    assert!(s.spare.received().is_empty());
    // A damaged token is refused too: a new session starts.
    let last = if cookie.ends_with('0') { '1' } else { '0' };
    let damaged = format!("{}{last}", &cookie[..cookie.len() - 1]);
    let got = s.get("/sticky", &[("cookie", &damaged)]).await;
    assert!(got.header("set-cookie").is_some());
    // The genuine one is followed, without a new session.
    let got = s.get("/sticky", &[("cookie", &cookie)]).await;
    assert_eq!(served_by(&got), served_by(&first));
    assert!(got.header("set-cookie").is_none());
}

/// The token checksum of gateway-core's session module: FNV-1a over the field
/// `gateway-session` then the body, each followed by 0xff.
fn checksum(body: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for field in [b"gateway-session".as_slice(), body.as_bytes()] {
        for &b in field.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
