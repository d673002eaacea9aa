//! End to end over real sockets, for the listeners that are not HTTP (`src/l4.rs`): TLS passed
//! through by SNI to TLSRoute backends (the client sees the backend's own certificate), TCP
//! echo through a TCPRoute, UDP echo through a UDPRoute (on the TCP listener's port: a TCP
//! and a UDP listener on one port do not conflict), and a reload moving a TCPRoute.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use support::Gateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// How long a test waits for an answer that should come.
const PATIENCE: Duration = Duration::from_secs(5);

// === backends ===

/// A certificate authority and one server certificate it issued for `name`.
struct Pki {
    roots: rustls::RootCertStore,
    leaf: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    /// The leaf and its key as PEM, for a Secret.
    pem: (String, String),
}

impl Pki {
    fn new(ca_name: &str, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let dn = rcgen::DnType::CommonName;
        params.distinguished_name.push(dn, ca_name);
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(params, ca_key);
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        let leaf = params.signed_by(&key, &issuer).unwrap();
        Pki {
            roots,
            leaf: leaf.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            pem: (leaf.pem(), key.serialize_pem()),
        }
    }

    /// A client that trusts this authority only.
    fn client(&self) -> tokio_rustls::TlsConnector {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// Its leaf as a `kubernetes.io/tls` Secret.
    fn secret(&self, ns: &str, name: &str) -> String {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             type: kubernetes.io/tls\ndata: {{tls.crt: {}, tls.key: {}}}\n",
            b64(&self.pem.0),
            b64(&self.pem.1)
        )
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Answers each chunk read with `NAME:` and the chunk.
async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut io: S, name: &str) {
    let mut buf = vec![0; 4096];
    while let Ok(n) = io.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut answer = format!("{name}:").into_bytes();
        answer.extend_from_slice(&buf[..n]);
        if io.write_all(&answer).await.is_err() {
            break;
        }
    }
}

/// A TCP echo backend named `name`.
async fn tcp_echo(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(echo(tcp, name));
        }
    });
    addr
}

/// A TLS echo backend named `name` with the certificate of `pki`.
async fn tls_echo(name: &'static str, pki: &Pki) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], pki.key.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    echo(tls, name).await;
                }
            });
        }
    });
    addr
}

/// A UDP echo backend named `name`: answers each datagram with `NAME:` and the datagram.
async fn udp_echo(name: &'static str) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0; 65_535];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let mut answer = format!("{name}:").into_bytes();
            answer.extend_from_slice(&buf[..n]);
            let _ = socket.send_to(&answer, peer).await;
        }
    });
    addr
}

// === the gateway ===

/// A Gateway with a TLS passthrough listener (8443), a TCP listener (9000) and a UDP listener
/// on the same port; TLSRoutes for db.example.com and web.example.com, a TCPRoute to the
/// Service `tcp_backend`, a UDPRoute to `dns`.
fn manifests(tcp_backend: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: gateway-core}}
spec: {{controllerName: gateway.example.dev/gateway-core}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: edge, namespace: edge}}
spec:
  gatewayClassName: gateway-core
  listeners:
  - {{name: tls, port: 8443, protocol: TLS, tls: {{mode: Passthrough}}}}
  - {{name: tcp, port: 9000, protocol: TCP}}
  - {{name: udp, port: 9000, protocol: UDP}}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {{name: db, namespace: edge}}
spec:
  parentRefs: [{{name: edge, sectionName: tls}}]
  hostnames: [db.example.com]
  rules: [{{backendRefs: [{{name: db, port: 5432}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {{name: web, namespace: edge}}
spec:
  parentRefs: [{{name: edge, sectionName: tls}}]
  hostnames: [web.example.com]
  rules: [{{backendRefs: [{{name: web, port: 443}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {{name: echo, namespace: edge}}
spec:
  parentRefs: [{{name: edge, sectionName: tcp}}]
  rules: [{{backendRefs: [{{name: {tcp_backend}, port: 9000}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {{name: dns, namespace: edge}}
spec:
  parentRefs: [{{name: edge, sectionName: udp}}]
  rules: [{{backendRefs: [{{name: dns, port: 53}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: db, namespace: edge}}
spec: {{ports: [{{port: 5432}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: edge}}
spec: {{ports: [{{port: 443}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: edge}}
spec: {{ports: [{{port: 9000}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: other, namespace: edge}}
spec: {{ports: [{{port: 9000}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: dns, namespace: edge}}
spec: {{ports: [{{port: 53, protocol: UDP}}]}}
"
    )
}

/// The backends and the gateway in front of them.
struct Setup {
    gateway: Gateway,
    db: Pki,
    web: Pki,
}

async fn setup(name: &str) -> Setup {
    let db = Pki::new("db authority", "db.example.com");
    let web = Pki::new("web authority", "web.example.com");
    let endpoints = format!(
        "listen 8443 127.0.0.1:0\nlisten 9000 127.0.0.1:0\n\
         edge/db {}\nedge/web {}\nedge/echo {}\nedge/other {}\nedge/dns {}\n",
        tls_echo("db", &db).await,
        tls_echo("web", &web).await,
        tcp_echo("echo").await,
        tcp_echo("other").await,
        udp_echo("dns").await,
    );
    let gateway = Gateway::start(name, &manifests("echo"), &endpoints, "edge/edge");
    Setup { gateway, db, web }
}

/// Writes `message`, reads the answer (one chunk, as the echo writes it).
async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    io: &mut S,
    message: &str,
) -> String {
    io.write_all(message.as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(PATIENCE, io.read(&mut buf)).await;
    String::from_utf8_lossy(&buf[..n.expect("an answer in time").unwrap()]).into_owned()
}

/// Connects through the gateway's TLS passthrough port with server name `sni`, trusting `pki`.
async fn tls_connect(
    gateway: &Gateway,
    pki: &Pki,
    sni: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(gateway.addr(8443)).await?;
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    tokio::time::timeout(PATIENCE, pki.client().connect(name, tcp))
        .await
        .expect("the handshake ends in time")
}

/// Reads until the peer closes; what was read.
async fn read_to_close(tcp: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut got)).await;
    read.expect("closed in time").unwrap_or_default();
    got
}

/// Waits (at most [`PATIENCE`]) for the gateway's log to contain `needle`.
async fn wait_for_log(gateway: &Gateway, needle: &str) {
    for _ in 0..100 {
        if gateway.log().contains(needle) {
            return;
        }
        tokio::time::sleep(PATIENCE / 100).await;
    }
    panic!("no {needle:?} in the log:\n{}", gateway.log());
}

// === tests ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_passthrough_shows_the_backend_certificate_chosen_by_sni() {
    let Setup { gateway, db, web } = setup("l4-tls").await;
    // The gateway holds no certificate at all: a handshake verified against the backend's own
    // authority proves the client's TLS session is the backend's.
    let mut tls = tls_connect(&gateway, &db, "db.example.com").await.unwrap();
    let (_, session) = tls.get_ref();
    let presented = session.peer_certificates().unwrap()[0].clone();
    assert_eq!(presented, db.leaf);
    assert_eq!(exchange(&mut tls, "hello").await, "db:hello");
    assert_eq!(exchange(&mut tls, "again").await, "db:again");
    tls.shutdown().await.unwrap();
    drop(tls);
    // One line per connection, when it ends.
    wait_for_log(
        &gateway,
        "TLS port=8443 db.example.com edge/db rule=0 127.0.0.1:",
    )
    .await;
    // Another TLSRoute's hostname on the same listener: the other backend.
    let mut tls = tls_connect(&gateway, &web, "web.example.com")
        .await
        .unwrap();
    assert_eq!(exchange(&mut tls, "hi").await, "web:hi");
    // The web backend's certificate is not trusted by the db authority.
    assert!(tls_connect(&gateway, &db, "web.example.com").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_passthrough_closes_what_no_route_serves() {
    let Setup { gateway, db, .. } = setup("l4-tls-refused").await;
    // A server name no TLSRoute of the listener serves: closed before any answer.
    assert!(
        tls_connect(&gateway, &db, "other.example.org")
            .await
            .is_err()
    );
    // Not TLS at all: closed without an answer.
    let mut tcp = TcpStream::connect(gateway.addr(8443)).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: db.example.com\r\n\r\n")
        .await
        .unwrap();
    assert!(read_to_close(&mut tcp).await.is_empty());
    // A record header announcing more than a ClientHello may hold, then more than that: closed.
    let mut tcp = TcpStream::connect(gateway.addr(8443)).await.unwrap();
    let mut flood = vec![0x16, 0x03, 0x01, 0xff, 0xff];
    flood.extend(std::iter::repeat_n(1u8, 20_000));
    let _ = tcp.write_all(&flood).await;
    assert!(read_to_close(&mut tcp).await.is_empty());
    wait_for_log(&gateway, "TLS port=8443 other.example.org - (no TLSRoute").await;
    wait_for_log(&gateway, "TLS port=8443 - (not a TLS ClientHello").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_udp_echo_through_routes_on_one_port() {
    let Setup { gateway, .. } = setup("l4-echo").await;
    let mut tcp = TcpStream::connect(gateway.addr(9000)).await.unwrap();
    assert_eq!(exchange(&mut tcp, "ping").await, "echo:ping");
    assert_eq!(exchange(&mut tcp, "pong").await, "echo:pong");
    // UDP on the same port number: two clients, each getting its own answers.
    let to = gateway.addr(9000);
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let receive = async |socket: &UdpSocket| {
        let mut buf = vec![0; 65_535];
        let n = tokio::time::timeout(PATIENCE, socket.recv(&mut buf)).await;
        String::from_utf8_lossy(&buf[..n.expect("a datagram in time").unwrap()]).into_owned()
    };
    for round in 0..3 {
        a.send_to(format!("a{round}").as_bytes(), to).await.unwrap();
        b.send_to(format!("b{round}").as_bytes(), to).await.unwrap();
        assert_eq!(receive(&a).await, format!("dns:a{round}"));
        assert_eq!(receive(&b).await, format!("dns:b{round}"));
    }
    drop(tcp);
    wait_for_log(&gateway, "TCP port=9000 - edge/echo rule=0 127.0.0.1:").await;
    // A large datagram goes through whole.
    let large = "x".repeat(60_000);
    a.send_to(large.as_bytes(), to).await.unwrap();
    assert_eq!(receive(&a).await, format!("dns:{large}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_moves_new_tcp_connections_to_the_new_backend() {
    let Setup { gateway, .. } = setup("l4-reload").await;
    let mut before = TcpStream::connect(gateway.addr(9000)).await.unwrap();
    assert_eq!(exchange(&mut before, "one").await, "echo:one");
    gateway.rewrite(&manifests("other"));
    wait_for_log(&gateway, "reloaded").await;
    let mut after = TcpStream::connect(gateway.addr(9000)).await.unwrap();
    assert_eq!(exchange(&mut after, "two").await, "other:two");
    // The connection opened before keeps its backend.
    assert_eq!(exchange(&mut before, "three").await, "echo:three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_l4_listeners_and_lets_open_connections_finish() {
    let Setup { mut gateway, .. } = setup("l4-sigterm").await;
    let mut open = TcpStream::connect(gateway.addr(9000)).await.unwrap();
    assert_eq!(exchange(&mut open, "before").await, "echo:before");
    // The signal handler is installed once every listener is bound, after the `listening`
    // lines: give it time (as e2e.rs's SIGTERM test does).
    tokio::time::sleep(Duration::from_millis(300)).await;
    gateway.terminate();
    wait_for_log(&gateway, "stopping").await;
    // New connections are refused on the TCP and the TLS passthrough listeners...
    for port in [9000, 8443] {
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(gateway.addr(port)).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(PATIENCE / 100).await;
        }
        assert!(refused, "port {port} still accepts");
    }
    // ...while the open one still reaches its backend, and once it closes the gateway exits.
    assert_eq!(exchange(&mut open, "after").await, "echo:after");
    drop(open);
    assert!(gateway.wait().success(), "{}", gateway.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_terminate_serves_the_listener_certificate_and_forwards_plaintext() {
    // A TLS listener in `Terminate` mode (no HTTP listener on its port): the gateway completes
    // the handshake with the listener's certificate, routes by the server name, and the TCP
    // echo backend gets the decrypted bytes.
    let term = Pki::new("gateway authority", "term.example.com");
    let manifests = format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: gateway-core}}
spec: {{controllerName: gateway.example.dev/gateway-core}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: edge, namespace: edge}}
spec:
  gatewayClassName: gateway-core
  listeners:
  - name: tls
    port: 8443
    protocol: TLS
    hostname: term.example.com
    tls: {{mode: Terminate, certificateRefs: [{{name: term}}]}}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {{name: term, namespace: edge}}
spec:
  parentRefs: [{{name: edge, sectionName: tls}}]
  hostnames: [term.example.com]
  rules: [{{backendRefs: [{{name: echo, port: 9000}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: edge}}
spec: {{ports: [{{port: 9000}}]}}
---
{}",
        term.secret("edge", "term")
    );
    let endpoints = format!(
        "listen 8443 127.0.0.1:0\nedge/echo {}\n",
        tcp_echo("plain").await
    );
    let gateway = Gateway::start("l4-terminate", &manifests, &endpoints, "edge/edge");
    let mut tls = tls_connect(&gateway, &term, "term.example.com")
        .await
        .unwrap();
    let (_, session) = tls.get_ref();
    assert_eq!(session.peer_certificates().unwrap()[0], term.leaf);
    // Bytes that are not HTTP: no application protocol was negotiated.
    assert_eq!(session.alpn_protocol(), None);
    assert_eq!(exchange(&mut tls, "hello").await, "plain:hello");
    tls.shutdown().await.unwrap();
    drop(tls);
    wait_for_log(&gateway, "TLS port=8443 term.example.com edge/term rule=0").await;
    // A server name the listener does not serve: the handshake completes (the certificate is
    // the listener's) but no route takes it, and the connection is closed.
    let tcp = TcpStream::connect(gateway.addr(8443)).await.unwrap();
    let name = ServerName::try_from("other.example.com".to_owned()).unwrap();
    let other = tokio::time::timeout(PATIENCE, term.client().connect(name, tcp)).await;
    if let Ok(Ok(mut other)) = other {
        let mut buf = [0; 16];
        let read = tokio::time::timeout(PATIENCE, other.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0) | Err(_))), "{read:?}");
    }
}
