//! External auth over gRPC end to end: an Envoy `ext_authz` v3 server (tonic, the messages
//! gateway-core defines) behind an ExternalAuth filter with `protocol: GRPC`; it allows
//! requests that carry `x-auth: allow` (adding a request header for the backend and a response
//! header for the client) and denies others with its own status, headers and body. When it is
//! down, or answers a gRPC error, the gateway fails closed.

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

use gateway_core::plan::authz::proto;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message as _;
use support::grpc::RawCodec;
use support::{Echo, Gateway, request, send};
use tokio::net::TcpListener;
use tonic::codegen::BoxFuture;
use tonic::server::UnaryService;

const CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
metadata: {name: gateway-core}\nspec: {controllerName: gateway.example.dev/gateway-core}\n---\n";

const MANIFESTS: &str = r#"
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
metadata: {name: authz, namespace: default}
spec: {ports: [{port: 9001}]}
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
        protocol: GRPC
        backendRef: {name: authz, port: 9001}
        grpc: {allowedHeaders: [x-auth]}
  - name: public
    backendRefs: [{name: app, port: 8080}]
"#;

/// What the auth server saw of each call: the HTTP/2 path and content type, and the
/// `CheckRequest`'s method, path and headers.
#[derive(Clone, Debug)]
struct Call {
    path: String,
    content_type: String,
    method: String,
    checked_path: String,
    headers: std::collections::BTreeMap<String, String>,
}

/// How the auth server behaves.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Allow `x-auth: allow`, deny the rest.
    Judge,
    /// Answer every call with gRPC status INTERNAL.
    Broken,
}

#[derive(Clone)]
struct Authz {
    calls: Arc<Mutex<Vec<Call>>>,
    mode: Mode,
    head: (String, String),
}

impl UnaryService<Vec<u8>> for Authz {
    type Response = Vec<u8>;
    type Future = BoxFuture<tonic::Response<Vec<u8>>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Vec<u8>>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if this.mode == Mode::Broken {
                return Err(tonic::Status::internal("policy engine on fire"));
            }
            let check = proto::CheckRequest::decode(request.into_inner().as_slice())
                .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
            let http = check
                .attributes
                .and_then(|a| a.request)
                .and_then(|r| r.http)
                .ok_or_else(|| tonic::Status::invalid_argument("no http request"))?;
            let allowed = http.headers.get("x-auth").is_some_and(|v| v == "allow");
            this.calls.lock().unwrap().push(Call {
                path: this.head.0.clone(),
                content_type: this.head.1.clone(),
                method: http.method.clone(),
                checked_path: http.path.clone(),
                headers: http.headers.clone(),
            });
            let header = |key: &str, value: &str| proto::HeaderValueOption {
                header: Some(proto::HeaderValue {
                    key: key.into(),
                    value: value.into(),
                    raw_value: Vec::new(),
                }),
                append: None,
                append_action: 0,
                keep_empty_value: false,
            };
            let answer = if allowed {
                proto::CheckResponse {
                    status: Some(proto::Status {
                        code: 0,
                        message: String::new(),
                    }),
                    http_response: Some(proto::HttpResponse::OkResponse(proto::OkHttpResponse {
                        headers: vec![header("x-user", "alice")],
                        headers_to_remove: Vec::new(),
                        response_headers_to_add: vec![header("x-authz", "checked")],
                        query_parameters_to_set: Vec::new(),
                        query_parameters_to_remove: Vec::new(),
                    })),
                }
            } else {
                proto::CheckResponse {
                    // PERMISSION_DENIED
                    status: Some(proto::Status {
                        code: 7,
                        message: "no".into(),
                    }),
                    http_response: Some(proto::HttpResponse::DeniedResponse(
                        proto::DeniedHttpResponse {
                            status: Some(proto::HttpStatus { code: 401 }),
                            headers: vec![header("www-authenticate", "Token")],
                            body: "who are you?".into(),
                        },
                    )),
                }
            };
            Ok(tonic::Response::new(answer.encode_to_vec()))
        })
    }
}

/// An ext_authz server over h2c on a free port.
async fn authz_server(mode: Mode) -> (SocketAddr, Arc<Mutex<Vec<Call>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&calls);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let log = Arc::clone(&log);
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let content_type = req
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                let service = Authz {
                    calls: Arc::clone(&log),
                    mode,
                    head: (req.uri().path().to_owned(), content_type),
                };
                async move {
                    let mut grpc = tonic::server::Grpc::new(RawCodec);
                    Ok::<_, std::convert::Infallible>(grpc.unary(service, req).await)
                }
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service),
            );
        }
    });
    (addr, calls)
}

fn start(name: &str, app: &Echo, authz: SocketAddr) -> Gateway {
    let endpoints = format!(
        "listen 80 127.0.0.1:0\ndefault/app {}\ndefault/authz {authz}\n",
        app.addr
    );
    Gateway::start(
        name,
        &format!("{CLASS}{MANIFESTS}"),
        &endpoints,
        "default/gw",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_external_auth_allows_and_denies() {
    let app = Echo::start("default", "app").await;
    let (authz, calls) = authz_server(Mode::Judge).await;
    let gateway = start("grpc-auth", &app, authz);
    let addr = gateway.addr(80);
    for h2 in [false, true] {
        // Allowed: the backend gets the auth service's header (replacing the client's), the
        // client the response header it adds.
        let headers = [("x-auth", "allow"), ("x-user", "mallory")];
        let req = request(h2, "GET", "example.com", "/private/a?b=1", &headers);
        let got = send(addr, None, h2, req).await.unwrap();
        assert_eq!(got.status, 200, "{}", gateway.log());
        assert_eq!(got.header("x-authz").as_deref(), Some("checked"));
        let seen = got.seen().unwrap();
        assert_eq!(seen.header("x-user").as_deref(), Some("alice"));
        assert_eq!(seen.path, "/private/a?b=1");

        // Denied: the auth service's status, headers and body; the backend sees nothing.
        let before = app.received().len();
        let req = request(h2, "GET", "example.com", "/private/a", &[("x-auth", "no")]);
        let got = send(addr, None, h2, req).await.unwrap();
        assert_eq!(got.status, 401);
        assert_eq!(got.header("www-authenticate").as_deref(), Some("Token"));
        assert_eq!(got.body, b"who are you?");
        assert_eq!(
            app.received().len(),
            before,
            "a denied request reached the backend"
        );

        // Not checked.
        let req = request(h2, "GET", "example.com", "/public", &[]);
        assert_eq!(send(addr, None, h2, req).await.unwrap().status, 200);
    }
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 4, "{calls:?}");
    for call in &calls {
        assert_eq!(call.path, "/envoy.service.auth.v3.Authorization/Check");
        assert_eq!(call.content_type, "application/grpc");
        assert_eq!(call.method, "GET");
        assert!(call.checked_path.starts_with("/private/a"), "{call:?}");
        // allowedHeaders: only x-auth of the client's headers.
        assert!(call.headers.contains_key("x-auth"), "{call:?}");
        assert!(!call.headers.contains_key("x-user"), "{call:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_external_auth_fails_closed() {
    let app = Echo::start("default", "app").await;
    // The auth service answers a gRPC error: 403 (the failure status), not the backend.
    let (broken, calls) = authz_server(Mode::Broken).await;
    let gateway = start("grpc-auth-broken", &app, broken);
    let addr = gateway.addr(80);
    let req = request(
        false,
        "GET",
        "example.com",
        "/private/a",
        &[("x-auth", "allow")],
    );
    let got = send(addr, None, false, req).await.unwrap();
    assert_eq!(got.status, 403, "{}", gateway.log());
    assert!(app.received().is_empty());
    assert!(calls.lock().unwrap().is_empty());
    drop(gateway);

    // The auth service is down (nothing listens on its address): 403 as well.
    let down = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let gateway = start("grpc-auth-down", &app, down);
    let addr = gateway.addr(80);
    for h2 in [false, true] {
        let req = request(
            h2,
            "GET",
            "example.com",
            "/private/a",
            &[("x-auth", "allow")],
        );
        let got = tokio::time::timeout(Duration::from_secs(10), send(addr, None, h2, req))
            .await
            .expect("the gateway hung")
            .unwrap();
        assert_eq!(got.status, 403, "{}", gateway.log());
    }
    assert!(app.received().is_empty());
    let req = request(false, "GET", "example.com", "/public", &[]);
    assert_eq!(send(addr, None, false, req).await.unwrap().status, 200);
}
