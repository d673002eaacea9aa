//! End to end, beyond the conformance slice: frontend TLS (SNI certificate selection, the 421
//! guard on coalesced connections, per-port client certificates), backend TLS with the
//! BackendTLSPolicy verifier, external auth over HTTP, and reloading without losing requests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{Echo, Gateway, exchange_many, request, send};
use tokio::net::TcpListener;

const CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
metadata: {name: gateway-core}\nspec: {controllerName: gateway.example.dev/gateway-core}\n---\n";

// === PKI ===

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

struct Leaf {
    pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    fn leaf(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = CertificateParams::new(names).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        roots
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn secret(ns: &str, name: &str, leaf: &Leaf) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         type: kubernetes.io/tls\ndata: {{tls.crt: {}, tls.key: {}}}\n---\n",
        b64(&leaf.pem),
        b64(&leaf.key_pem)
    )
}

fn config_map(ns: &str, name: &str, ca: &Ca) -> String {
    let pem = ca.pem.replace('\n', "\n    ");
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         data:\n  ca.crt: |\n    {pem}\n---\n"
    )
}

fn client(ca: &Ca, cert: Option<&Leaf>) -> rustls::ClientConfig {
    let b = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(ca.roots());
    match cert {
        None => b.with_no_client_auth(),
        Some(l) => b
            .with_client_auth_cert(vec![l.der.clone()], l.key.clone_key())
            .unwrap(),
    }
}

// === TLS ===

const TLS_MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: gateway-core
  tls:
    frontend:
      default: {}
      perPort:
      - port: 8443
        tls: {validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: client-ca}]}}
  listeners:
  - {name: foo, port: 443, protocol: HTTPS, hostname: foo.example.com, tls: {certificateRefs: [{name: foo-cert}]}}
  - {name: bar, port: 443, protocol: HTTPS, hostname: bar.example.com, tls: {certificateRefs: [{name: bar-cert}]}}
  - {name: secure, port: 8443, protocol: HTTPS, hostname: secure.example.com, tls: {certificateRefs: [{name: secure-cert}]}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: infra}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: infra}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: wrong, namespace: infra}
spec: {ports: [{port: 443}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: api, namespace: infra}
spec:
  targetRefs: [{group: "", kind: Service, name: api}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}], hostname: api.internal}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: wrong, namespace: infra}
spec:
  targetRefs: [{group: "", kind: Service, name: wrong}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}], hostname: wrong.internal}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: foo, namespace: infra}
spec:
  parentRefs: [{name: edge}]
  hostnames: [foo.example.com, secure.example.com]
  rules: [{name: web, backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bar, namespace: infra}
spec:
  parentRefs: [{name: edge}]
  hostnames: [bar.example.com]
  rules:
  - {name: wrong-name, matches: [{path: {type: PathPrefix, value: /bad}}], backendRefs: [{name: wrong, port: 443}]}
  - {name: api, backendRefs: [{name: api, port: 443}]}
---
"#;

struct TlsSetup {
    gateway: Gateway,
    frontend_ca: Ca,
    client_ca: Ca,
    web: Echo,
    api: Echo,
}

async fn tls_setup(name: &str) -> TlsSetup {
    let (frontend_ca, client_ca, backend_ca) =
        (Ca::new("frontend"), Ca::new("clients"), Ca::new("backends"));
    let api_cert = backend_ca.leaf(&["api.internal"]);
    let server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![api_cert.der.clone()], api_cert.key.clone_key())
        .unwrap();
    let web = Echo::start("infra", "web").await;
    let api = Echo::start_tls("infra", "api", Some(Arc::new(server))).await;
    let mut yaml = format!("{CLASS}{TLS_MANIFESTS}");
    yaml += &secret("infra", "foo-cert", &frontend_ca.leaf(&["foo.example.com"]));
    yaml += &secret("infra", "bar-cert", &frontend_ca.leaf(&["bar.example.com"]));
    yaml += &secret(
        "infra",
        "secure-cert",
        &frontend_ca.leaf(&["secure.example.com"]),
    );
    yaml += &config_map("infra", "client-ca", &client_ca);
    yaml += &config_map("infra", "backend-ca", &backend_ca);
    let endpoints = format!(
        "listen 443 127.0.0.1:0\nlisten 8443 127.0.0.1:0\ninfra/web {}\ninfra/api {}\ninfra/wrong {}\n",
        web.addr, api.addr, api.addr
    );
    let gateway = Gateway::start(name, &yaml, &endpoints, "infra/edge");
    TlsSetup {
        gateway,
        frontend_ca,
        client_ca,
        web,
        api,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_selects_the_listener_certificate_and_backend_tls_is_verified() {
    let s = tls_setup("sni").await;
    let client = client(&s.frontend_ca, None);
    let addr = s.gateway.addr(443);
    for h2 in [false, true] {
        // The client verifies the certificate against the SNI: a wrong choice fails here.
        let req = request(h2, "GET", "foo.example.com", "/", &[]);
        let got = send(addr, Some((&client, "foo.example.com")), h2, req)
            .await
            .unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(got.seen().unwrap().name, "web");
        let req = request(h2, "GET", "bar.example.com", "/v1", &[]);
        let got = send(addr, Some((&client, "bar.example.com")), h2, req)
            .await
            .unwrap();
        assert_eq!(got.status, 200, "{}", s.gateway.log());
        assert_eq!(
            got.version,
            if h2 {
                hyper::Version::HTTP_2
            } else {
                hyper::Version::HTTP_11
            }
        );
        // Forwarded over TLS, with the policy's hostname as SNI.
        let seen = got.seen().unwrap();
        assert_eq!(
            (seen.name.as_str(), seen.sni.as_deref()),
            ("api", Some("api.internal"))
        );
        // The backend's certificate does not name wrong.internal: refused, never sent.
        let before = s.api.received().len();
        let req = request(h2, "GET", "bar.example.com", "/bad", &[]);
        let got = send(addr, Some((&client, "bar.example.com")), h2, req)
            .await
            .unwrap();
        assert_eq!(got.status, 502);
        assert_eq!(s.api.received().len(), before);
    }
    // No listener for this name: the handshake is refused.
    let req = request(false, "GET", "other.example.com", "/", &[]);
    assert!(
        send(addr, Some((&client, "other.example.com")), false, req)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coalesced_request_for_another_listener_gets_421() {
    let s = tls_setup("coalesce").await;
    let client = client(&s.frontend_ca, None);
    for h2 in [false, true] {
        let tcp = tokio::net::TcpStream::connect(s.gateway.addr(443))
            .await
            .unwrap();
        let mut config = client.clone();
        config.alpn_protocols = vec![if h2 {
            b"h2".to_vec()
        } else {
            b"http/1.1".to_vec()
        }];
        let name = rustls_pki_types::ServerName::try_from("bar.example.com").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let reqs = vec![
            request(h2, "GET", "bar.example.com", "/", &[]),
            request(h2, "GET", "foo.example.com", "/", &[]),
            request(h2, "GET", "nobody.example.com", "/", &[]),
        ];
        let got: Vec<u16> = exchange_many(TokioIo::new(tls), h2, reqs)
            .await
            .into_iter()
            .map(|r| r.unwrap().status)
            .collect();
        assert_eq!(got, [200, 421, 404], "h2: {h2}");
    }
    assert!(
        s.web.received().is_empty(),
        "foo's backend must not be reached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_with_client_validation_requires_a_valid_client_certificate() {
    let s = tls_setup("mtls").await;
    let addr = s.gateway.addr(8443);
    let good = s.client_ca.leaf(&["client.example.com"]);
    let stranger = Ca::new("stranger").leaf(&["client.example.com"]);
    let with = |leaf| client(&s.frontend_ca, leaf);
    let ok = send(
        addr,
        Some((&with(Some(&good)), "secure.example.com")),
        true,
        request(true, "GET", "secure.example.com", "/", &[]),
    )
    .await
    .unwrap();
    assert_eq!(ok.status, 200);
    for leaf in [None, Some(&stranger)] {
        let req = request(false, "GET", "secure.example.com", "/", &[]);
        let got = send(addr, Some((&with(leaf), "secure.example.com")), false, req).await;
        assert!(
            got.is_err(),
            "served without a valid client certificate: {got:?}"
        );
    }
    // Port 443 asks for no certificate.
    let req = request(false, "GET", "foo.example.com", "/", &[]);
    let got = send(
        s.gateway.addr(443),
        Some((&with(None), "foo.example.com")),
        false,
        req,
    )
    .await;
    assert_eq!(got.unwrap().status, 200);
}

// === external auth ===

const AUTH_MANIFESTS: &str = r#"
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
metadata: {name: auth, namespace: default}
spec: {ports: [{port: 9000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - name: private
    matches: [{path: {type: PathPrefix, value: /private}}]
    backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        backendRef: {name: auth, port: 9000}
        http: {path: /check, allowedHeaders: [authorization], allowedResponseHeaders: [x-user]}
  - name: public
    backendRefs: [{name: app, port: 8080}]
"#;

/// What a test backend answers: status, headers and body.
type Answer = (u16, &'static [(&'static str, &'static str)], &'static [u8]);

/// A backend on a free port that records each request's path and answers with
/// `answer(request, the paths received before it)`.
async fn recording_server(
    answer: fn(&Request<hyper::body::Incoming>, &[String]) -> Answer,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let log = Arc::clone(&log);
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let mut log = log.lock().unwrap();
                let (status, headers, body) = answer(&req, &log);
                log.push(req.uri().path().to_owned());
                let mut response = Response::builder().status(status);
                for (name, value) in headers {
                    response = response.header(*name, *value);
                }
                async move { response.body(Full::new(Bytes::from_static(body))) }
            });
            tokio::spawn(
                hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .into_owned(),
            );
        }
    });
    (addr, seen)
}

/// Allows `authorization: Bearer good` (adding `x-user: alice`), denies everything else.
async fn auth_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    recording_server(|req, _| {
        let good = req
            .headers()
            .get("authorization")
            .is_some_and(|v| v == "Bearer good");
        if good {
            (200, &[("x-user", "alice")], b"denied")
        } else {
            (403, &[("x-why", "bad token")], b"denied")
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_auth_allows_denies_and_fails_closed() {
    let app = Echo::start("default", "app").await;
    let (auth, checks) = auth_server().await;
    let endpoints = format!(
        "listen 80 127.0.0.1:0\ndefault/app {}\ndefault/auth {auth}\n",
        app.addr
    );
    let gateway = Gateway::start(
        "auth",
        &format!("{CLASS}{AUTH_MANIFESTS}"),
        &endpoints,
        "default/gw",
    );
    let addr = gateway.addr(80);
    for h2 in [false, true] {
        let req = request(
            h2,
            "GET",
            "example.com",
            "/private/x",
            &[("authorization", "Bearer good"), ("x-user", "mallory")],
        );
        let got = send(addr, None, h2, req).await.unwrap();
        assert_eq!(got.status, 200, "{}", gateway.log());
        // The auth service's header replaces the client's.
        assert_eq!(
            got.seen().unwrap().header("x-user").as_deref(),
            Some("alice")
        );
        let before = app.received().len();
        let req = request(
            h2,
            "GET",
            "example.com",
            "/private/x",
            &[("authorization", "Bearer bad")],
        );
        let got = send(addr, None, h2, req).await.unwrap();
        assert_eq!(
            (got.status, got.body.as_slice()),
            (403, b"denied".as_slice())
        );
        assert_eq!(
            app.received().len(),
            before,
            "a denied request reached the backend"
        );
        let got = send(
            addr,
            None,
            h2,
            request(h2, "GET", "example.com", "/public", &[]),
        )
        .await;
        assert_eq!(got.unwrap().status, 200);
    }
    assert!(
        checks
            .lock()
            .unwrap()
            .iter()
            .all(|p| p.starts_with("/check"))
    );
    assert_eq!(
        checks.lock().unwrap().len(),
        4,
        "public requests are not checked"
    );
    // The auth service goes away: closed, not open.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(
        gateway.dir.join("endpoints"),
        format!(
            "listen 80 127.0.0.1:0\ndefault/app {}\ndefault/auth {closed}\n# v2\n",
            app.addr
        ),
    )
    .unwrap();
    wait_for_reload(&gateway, 1).await;
    let req = request(
        false,
        "GET",
        "example.com",
        "/private/x",
        &[("authorization", "Bearer good")],
    );
    let got = send(addr, None, false, req).await.unwrap();
    assert_eq!(got.status, 403, "{}", gateway.log());
}

async fn wait_for_reload(gateway: &Gateway, count: usize) {
    for _ in 0..100 {
        if gateway.log().matches("reloaded").count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no reload:\n{}", gateway.log());
}

// === reload ===

fn reload_manifests(backend: &str) -> String {
    format!(
        "{CLASS}{}",
        AUTH_MANIFESTS
            .split("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute")
            .next()
            .unwrap()
    ) + &format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {backend}, namespace: default}}\n\
         spec: {{ports: [{{port: 8080}}]}}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
         metadata: {{name: app, namespace: default}}\n\
         spec: {{parentRefs: [{{name: gw}}], rules: [{{backendRefs: [{{name: {backend}, port: 8080}}]}}]}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_switches_routes_without_dropping_requests_in_flight() {
    let (blue, green) = (
        Echo::start("default", "blue").await,
        Echo::start("default", "green").await,
    );
    let endpoints = format!(
        "listen 80 127.0.0.1:0\ndefault/blue {}\ndefault/green {}\n",
        blue.addr, green.addr
    );
    let gateway = Gateway::start(
        "reload",
        &reload_manifests("blue"),
        &endpoints,
        "default/gw",
    );
    let addr = gateway.addr(80);
    let get = |path: &'static str| {
        send(
            addr,
            None,
            false,
            request(false, "GET", "a.example", path, &[]),
        )
    };
    assert_eq!(get("/").await.unwrap().seen().unwrap().name, "blue");
    // A slow request starts on the old configuration...
    let slow = tokio::spawn(get("/slow?delay=1500ms"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    gateway.rewrite(&reload_manifests("green"));
    wait_for_reload(&gateway, 1).await;
    // ...new requests take the new one, and the slow one still completes where it started.
    assert_eq!(get("/").await.unwrap().seen().unwrap().name, "green");
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(
        (slow.status, slow.seen().unwrap().name.as_str()),
        (200, "blue")
    );
    // A broken file is reported and the last good configuration keeps serving.
    gateway.rewrite("kind: [not yaml");
    for _ in 0..100 {
        if gateway.log().contains("reload failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gateway.log().contains("reload failed"), "{}", gateway.log());
    assert_eq!(get("/").await.unwrap().seen().unwrap().name, "green");
}

const RETRY_MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gateway-core
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: flaky, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: retries, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /retry}}]
    retry: {codes: [503], attempts: 2, backoff: 10ms}
    backendRefs: [{name: flaky, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /none}}]
    retry: {codes: [503], attempts: 0}
    backendRefs: [{name: flaky, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /other}}]
    retry: {codes: [502], attempts: 2, backoff: 10ms}
    backendRefs: [{name: flaky, port: 8080}]
"#;

/// Answers 503 to the first `fails` requests for each path whose last segment is `fails`
/// (`/retry/1`: once), then 200; counts the requests per path.
async fn flaky_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    recording_server(|req, before| {
        let path = req.uri().path();
        let fails: usize = path
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let tried = before.iter().filter(|p| *p == path).count();
        (if tried < fails { 503 } else { 200 }, &[], b"flaky")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_follow_the_rules_codes_and_attempts() {
    let (flaky, seen) = flaky_server().await;
    let endpoints = format!("listen 80 127.0.0.1:0\ndefault/flaky {flaky}\n");
    let gateway = Gateway::start(
        "retry",
        &format!("{CLASS}{RETRY_MANIFESTS}"),
        &endpoints,
        "default/gw",
    );
    let addr = gateway.addr(80);
    let tries = |path: &str| seen.lock().unwrap().iter().filter(|p| *p == path).count();
    // (path, status the client gets, attempts the backend saw)
    let cases = [
        // Fails once: retried, and the retry succeeds.
        ("/retry/1", 200, 2),
        // Fails twice: both retries used, the third attempt succeeds.
        ("/retry/2", 200, 3),
        // Fails more often than the policy retries: the last answer goes to the client.
        ("/retry/5", 503, 3),
        // `attempts: 0` disables retries.
        ("/none/1", 503, 1),
        // A status the policy does not list is not retried.
        ("/other/1", 503, 1),
        // Nothing to retry.
        ("/retry/0", 200, 1),
    ];
    for (path, status, attempts) in cases {
        let got = send(
            addr,
            None,
            false,
            request(false, "GET", "example.com", path, &[]),
        )
        .await
        .unwrap();
        assert_eq!(got.status, status, "{path}: {}", gateway.log());
        assert_eq!(tries(path), attempts, "{path}: attempts");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_and_proto_reach_the_backend_routed_or_bypassed() {
    let echo = Echo::start("default", "blue").await;
    let endpoints = format!("listen 80 127.0.0.1:0\ndefault/blue {}\n", echo.addr);
    let manifests = reload_manifests("blue");
    let routed = Gateway::start("xff", &manifests, &endpoints, "default/gw");
    let to = echo.addr.to_string();
    let args = ["--gateway", "default/gw", "--bypass", &to];
    let bypassed = Gateway::spawn("xff-bypass", &manifests, &endpoints, &args, 1);
    for gateway in [&routed, &bypassed] {
        for h2 in [false, true] {
            let headers = [
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ];
            let req = request(h2, "GET", "a.example", "/", &headers);
            let got = send(gateway.addr(80), None, h2, req).await.unwrap();
            let seen = got.seen().unwrap();
            let xff = seen.header("x-forwarded-for");
            assert_eq!(xff.as_deref(), Some("203.0.113.7, 127.0.0.1"));
            // The listener is cleartext, whatever the client claims.
            assert_eq!(seen.header("x-forwarded-proto").as_deref(), Some("http"));
            let plain = request(h2, "GET", "a.example", "/", &[]);
            let seen = send(gateway.addr(80), None, h2, plain).await.unwrap();
            let xff = seen.seen().unwrap().header("x-forwarded-for");
            assert_eq!(xff.as_deref(), Some("127.0.0.1"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_and_refuses_new_connections() {
    let echo = Echo::start("default", "blue").await;
    let endpoints = format!("listen 80 127.0.0.1:0\ndefault/blue {}\n", echo.addr);
    let mut gateway = Gateway::start("drain", &reload_manifests("blue"), &endpoints, "default/gw");
    let addr = gateway.addr(80);
    let slow = request(false, "GET", "a.example", "/slow?delay=1s", &[]);
    let slow = tokio::spawn(send(addr, None, false, slow));
    tokio::time::sleep(Duration::from_millis(300)).await;
    gateway.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a connection accepted after SIGTERM"
    );
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status, 200, "the request in flight was cut");
    assert_eq!(slow.seen().unwrap().path, "/slow?delay=1s");
    let status = gateway.wait();
    assert!(
        status.success(),
        "exit status {status:?}:\n{}",
        gateway.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_larger_than_the_buffer_streams_through_a_plain_rule() {
    let echo = Echo::start("default", "blue").await;
    let endpoints = format!("listen 80 127.0.0.1:0\ndefault/blue {}\n", echo.addr);
    let gateway = Gateway::start(
        "stream",
        &reload_manifests("blue"),
        &endpoints,
        "default/gw",
    );
    // Three times the 1 MiB the gateway reads whole for mirrors, retries and auth.
    let big = Bytes::from(vec![b'x'; 3 << 20]);
    for h2 in [false, true] {
        let mut req = request(h2, "POST", "a.example", "/upload", &[]);
        *req.body_mut() = Full::new(big.clone());
        let got = send(gateway.addr(80), None, h2, req).await.unwrap();
        assert_eq!(got.status, 200, "{}", gateway.log());
        assert_eq!(got.seen().unwrap().body_len, big.len());
    }
}
