//! WebSocket upgrades end to end (GEP-1911): the conformance case
//! HTTPRouteBackendProtocolWebSocket run for real (its corpus file expresses no request: the
//! upstream check, a text and a binary message echoed through the gateway, is done here), and
//! what a client gets from a backend that allows no upgrade or declines one.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    // tungstenite's handshake callback returns its (large) error response type.
    clippy::result_large_err
)]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use support::cases::{corpus, read_json};
use support::{Echo, Gateway};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::{Error, Message};

const CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
metadata: {name: gateway-core}\nspec: {controllerName: gateway.example.dev/gateway-core}\n---\n";

/// The head of a handshake a WebSocket backend received: path and headers.
type Handshake = (String, Vec<(String, String)>);

/// A WebSocket echo backend (RFC 6455, tungstenite): sends every text and binary message
/// back; keeps the head of each handshake it accepted.
async fn ws_echo() -> (SocketAddr, Arc<Mutex<Vec<Handshake>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let record = |req: &Request, resp: Response| {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    log.lock()
                        .unwrap()
                        .push((req.uri().path().to_owned(), headers));
                    Ok(resp)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, record).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// Opens a WebSocket to `url` through the gateway at `addr`.
async fn connect(
    addr: SocketAddr,
    url: &str,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<TcpStream>,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    Error,
> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let request = url.into_client_request().unwrap();
    let handshake = tokio_tungstenite::client_async(request, tcp);
    tokio::time::timeout(Duration::from_secs(10), handshake)
        .await
        .expect("the handshake hung")
}

/// Sends one text and one binary message and requires both back, unchanged (upstream's check).
async fn echo_text_and_binary(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) {
    let binary: Vec<u8> = (0..=255).collect();
    for sent in [
        Message::text("Hello, World!"),
        Message::binary(binary.clone()),
    ] {
        ws.send(sent.clone()).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no echo")
            .expect("closed")
            .unwrap();
        assert_eq!(got, sent);
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_httproute_backend_protocol_websocket() {
    let dir = corpus();
    let name = "HTTPRouteBackendProtocolWebSocket";
    let case = read_json(&dir.join("cases").join(format!("{name}.json")));
    let mut yaml = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
        metadata: {name: gateway-conformance}\n\
        spec: {controllerName: gateway.example.dev/gateway-core}\n---\n"
        .to_owned();
    for file in case["manifests"].as_array().unwrap() {
        let t =
            std::fs::read_to_string(dir.join("manifests").join(file.as_str().unwrap())).unwrap();
        yaml.push_str(&t.replace("{GATEWAY_CLASS_NAME}", "gateway-conformance"));
        yaml.push_str("\n---\n");
    }
    // infra-backend-v1's port 8082 (`third-port`, appProtocol kubernetes.io/ws) is the
    // WebSocket echo; its other ports an HTTP echo.
    let (ws, handshakes) = ws_echo().await;
    let http = Echo::start("gateway-conformance-infra", "infra-backend-v1").await;
    let endpoints = format!(
        "listen 80 127.0.0.1:0\n\
         gateway-conformance-infra/infra-backend-v1:8082 {ws}\n\
         gateway-conformance-infra/infra-backend-v1 {}\n",
        http.addr
    );
    let gw = case["gateways"][0]["namespace"]
        .as_str()
        .unwrap()
        .to_owned()
        + "/"
        + case["gateways"][0]["name"].as_str().unwrap();
    let gateway = Gateway::start("websocket-conformance", &yaml, &endpoints, &gw);
    // Upstream dials ws://GATEWAY/ws.
    let url = format!("ws://{}/ws", gateway.addr(80));
    let (mut socket, response) = connect(gateway.addr(80), &url)
        .await
        .unwrap_or_else(|e| panic!("handshake: {e}\n{}", gateway.log()));
    assert_eq!(response.status(), 101);
    echo_text_and_binary(&mut socket).await;
    socket.close(None).await.unwrap();
    let handshakes = handshakes.lock().unwrap().clone();
    assert_eq!(handshakes.len(), 1, "{}", gateway.log());
    assert_eq!(handshakes[0].0, "/ws");
    assert!(
        http.received().is_empty(),
        "the handshake went to the HTTP port"
    );
}

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
metadata: {name: chat, namespace: default}
spec: {ports: [{port: 8080, appProtocol: kubernetes.io/ws}]}
---
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: declines, namespace: default}
spec: {ports: [{port: 8080, appProtocol: kubernetes.io/ws}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ws, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /chat}}]
    backendRefs: [{name: chat, port: 8080}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-route, value: chat}]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: x-served-by, value: gateway}]}
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: plain, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /declines}}]
    backendRefs: [{name: declines, port: 8080}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_only_where_the_backend_protocol_allows_them() {
    let (ws, handshakes) = ws_echo().await;
    let plain = Echo::start("default", "plain").await;
    let declines = Echo::start("default", "declines").await;
    let endpoints = format!(
        "listen 80 127.0.0.1:0\ndefault/chat {ws}\ndefault/plain {}\ndefault/declines {}\n",
        plain.addr, declines.addr
    );
    let manifests = format!("{CLASS}{MANIFESTS}");
    let gateway = Gateway::start("websocket", &manifests, &endpoints, "default/gw");
    let addr = gateway.addr(80);

    // appProtocol kubernetes.io/ws: upgraded, request and response edits applied, spliced.
    let (mut socket, response) = connect(addr, "ws://chat.example.com/chat/room")
        .await
        .unwrap_or_else(|e| panic!("handshake: {e}\n{}", gateway.log()));
    assert_eq!(response.status(), 101);
    assert_eq!(response.headers()["x-served-by"], "gateway");
    echo_text_and_binary(&mut socket).await;
    // Several messages each way, interleaved, over the one tunnel.
    for i in 0..20 {
        socket.send(Message::text(format!("m{i}"))).await.unwrap();
    }
    for i in 0..20 {
        let got = socket.next().await.unwrap().unwrap();
        assert_eq!(got, Message::text(format!("m{i}")));
    }
    socket.close(None).await.unwrap();
    {
        let handshakes = handshakes.lock().unwrap();
        let (path, headers) = &handshakes[0];
        assert_eq!(path, "/chat/room");
        assert_eq!(header(headers, "host"), Some("chat.example.com"));
        assert_eq!(header(headers, "x-route"), Some("chat"));
        assert_eq!(header(headers, "upgrade"), Some("websocket"));
        assert!(header(headers, "x-forwarded-for").is_some());
    }

    // No appProtocol: no upgrade. The handshake reaches the backend as an ordinary GET without
    // Upgrade and Connection, and the client gets the backend's ordinary answer.
    match connect(addr, "ws://chat.example.com/plain").await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 200),
        other => panic!("expected an ordinary answer, got {other:?}"),
    }
    let seen = plain.received();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("upgrade"), None);
    assert_eq!(seen[0].header("connection"), None);
    assert!(seen[0].header("sec-websocket-key").is_some());

    // An upgrade-capable backend that answers without switching: its answer, as it is.
    match connect(addr, "ws://chat.example.com/declines").await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 200),
        other => panic!("expected an ordinary answer, got {other:?}"),
    }
    let seen = declines.received();
    assert_eq!(seen[0].header("upgrade").as_deref(), Some("websocket"));

    // The gateway still serves ordinary requests on the upgrade route after all that.
    let (mut again, _) = connect(addr, "ws://chat.example.com/chat/again")
        .await
        .unwrap();
    echo_text_and_binary(&mut again).await;
    assert_eq!(handshakes.lock().unwrap().len(), 2);
}

/// A WebSocket echo backend over TLS with a certificate for `name`, signed by a fresh CA;
/// the CA's PEM.
async fn wss_echo(name: &str) -> (SocketAddr, Arc<Mutex<Vec<Handshake>>>, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(params, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], der.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (log, acceptor) = (Arc::clone(&log), acceptor.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let record = |req: &Request, resp: Response| {
                    log.lock()
                        .unwrap()
                        .push((req.uri().path().to_owned(), Vec::new()));
                    Ok(resp)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tls, record).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen, ca.pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_backends_are_upgraded_over_tls_and_refused_without_a_policy() {
    let (wss, handshakes, ca) = wss_echo("chat.internal").await;
    let manifests = format!(
        "{CLASS}\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: default}}
spec:
  gatewayClassName: gateway-core
  listeners: [{{name: http, port: 80, protocol: HTTP}}]
---
apiVersion: v1
kind: Service
metadata: {{name: secure, namespace: default}}
spec: {{ports: [{{port: 443, appProtocol: kubernetes.io/wss}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: nopolicy, namespace: default}}
spec: {{ports: [{{port: 443, appProtocol: kubernetes.io/wss}}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: ca, namespace: default}}
data:
  ca.crt: |
    {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {{name: secure, namespace: default}}
spec:
  targetRefs: [{{group: \"\", kind: Service, name: secure}}]
  validation: {{caCertificateRefs: [{{group: \"\", kind: ConfigMap, name: ca}}], hostname: chat.internal}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: ws, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /secure}}}}]
    backendRefs: [{{name: secure, port: 443}}]
  - matches: [{{path: {{type: PathPrefix, value: /nopolicy}}}}]
    backendRefs: [{{name: nopolicy, port: 443}}]
",
        ca.trim_end().replace('\n', "\n    ")
    );
    let endpoints =
        format!("listen 80 127.0.0.1:0\ndefault/secure {wss}\ndefault/nopolicy {wss}\n");
    let gateway = Gateway::start("websocket-tls", &manifests, &endpoints, "default/gw");
    let addr = gateway.addr(80);

    // kubernetes.io/wss with a BackendTLSPolicy: the handshake goes over verified TLS.
    let (mut socket, response) = connect(addr, "ws://chat.example.com/secure")
        .await
        .unwrap_or_else(|e| panic!("handshake: {e}\n{}", gateway.log()));
    assert_eq!(response.status(), 101);
    echo_text_and_binary(&mut socket).await;
    assert_eq!(handshakes.lock().unwrap().len(), 1);

    // Without a policy the backend is never spoken to in cleartext: 502.
    match connect(addr, "ws://chat.example.com/nopolicy").await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 502),
        other => panic!("expected 502, got {other:?}"),
    }
    assert_eq!(handshakes.lock().unwrap().len(), 1, "{}", gateway.log());
}
