//! Test harness: the gateway binary as a child process, in-process echo backends that report
//! what they received, and an HTTP/1.1 / HTTP/2 client (cleartext or TLS).

#![allow(dead_code, unreachable_pub)]

pub mod cases;
pub mod grpc;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

/// A running gateway; killed on drop.
pub struct Gateway {
    child: Child,
    /// Gateway listener port to local address.
    pub ports: HashMap<u16, SocketAddr>,
    pub dir: PathBuf,
}

impl Gateway {
    /// Writes the manifests and endpoints into a fresh directory and starts the binary for the
    /// Gateway `namespace/name`.
    pub fn start(name: &str, manifests: &str, endpoints: &str, gateway: &str) -> Self {
        let wanted = endpoints
            .lines()
            .filter(|l| l.starts_with("listen "))
            .count();
        Self::spawn(name, manifests, endpoints, &["--gateway", gateway], wanted)
    }

    /// The same in sidecar mode, for a pod in `namespace`: it listens on every port of every
    /// `cluster` line.
    pub fn sidecar(name: &str, manifests: &str, endpoints: &str, namespace: &str) -> Self {
        let wanted = endpoints
            .lines()
            .filter(|l| l.starts_with("cluster "))
            .map(|l| l.split_whitespace().count() - 3)
            .sum();
        let args = ["--mesh", "--namespace", namespace];
        Self::spawn(name, manifests, endpoints, &args, wanted)
    }

    /// Starts the binary with `args` and waits for `wanted` lines `listening PORT ADDR ...`.
    pub fn spawn(
        name: &str,
        manifests: &str,
        endpoints: &str,
        args: &[&str],
        wanted: usize,
    ) -> Self {
        match Self::try_spawn(name, manifests, endpoints, args, wanted) {
            Ok(gateway) => gateway,
            Err(log) => panic!("the gateway exited before listening:\n{log}"),
        }
    }

    /// [`Gateway::spawn`], or the log of a binary that exited before listening.
    pub fn try_spawn(
        name: &str,
        manifests: &str,
        endpoints: &str,
        args: &[&str],
        wanted: usize,
    ) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("hyper-gateway-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("manifests.yaml"), manifests).expect("write manifests");
        std::fs::write(dir.join("endpoints"), endpoints).expect("write endpoints");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hyper-gateway"))
            .args(args)
            .arg("--endpoints")
            .arg(dir.join("endpoints"))
            .arg(dir.join("manifests.yaml"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("log")).expect("log file"))
            .spawn()
            .expect("start hyper-gateway");
        let mut ports = HashMap::new();
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for _ in 0..wanted {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                return Err(log);
            };
            let mut f = line.split_whitespace().skip(1);
            let port = f.next().and_then(|p| p.parse().ok()).expect("port");
            ports.insert(port, f.next().and_then(|a| a.parse().ok()).expect("addr"));
        }
        Ok(Gateway { child, ports, dir })
    }

    pub fn addr(&self, port: u16) -> SocketAddr {
        self.ports[&port]
    }

    /// Sends SIGTERM to the gateway.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.expect("kill").success(), "kill -TERM {pid}");
    }

    /// Waits (at most 10 s) for the gateway to exit; its exit status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the gateway did not exit:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Replaces the manifests (write then rename, as a config manager would).
    pub fn rewrite(&self, manifests: &str) {
        let tmp = self.dir.join("manifests.yaml.new");
        std::fs::write(&tmp, manifests).expect("write");
        std::fs::rename(&tmp, self.dir.join("manifests.yaml")).expect("rename");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What an echo backend received.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Seen {
    pub namespace: String,
    pub name: String,
    pub method: String,
    pub path: String,
    pub host: String,
    pub headers: Vec<(String, String)>,
    pub sni: Option<String>,
    /// The HTTP version the backend was spoken to in (`HTTP/1.1`, `HTTP/2.0`).
    #[serde(default)]
    pub version: String,
    /// The length of the request body (not known for gRPC calls: 0).
    #[serde(default)]
    pub body_len: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }
}

/// An echo backend: answers 200 with a JSON [`Seen`], honours `?delay=` and the
/// `x-echo-set-header: Name: value` request header; keeps every request it received.
#[derive(Clone)]
pub struct Echo {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Seen>>>,
}

impl Echo {
    pub async fn start(namespace: &str, name: &str) -> Self {
        Self::start_tls(namespace, name, None).await
    }

    pub async fn start_tls(
        namespace: &str,
        name: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let echo = Echo {
            addr,
            received: Arc::clone(&received),
        };
        let (namespace, name) = (namespace.to_owned(), name.to_owned());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (ns, n, rec, tls) = (
                    namespace.clone(),
                    name.clone(),
                    Arc::clone(&received),
                    tls.clone(),
                );
                tokio::spawn(async move {
                    match tls {
                        None => serve(TokioIo::new(tcp), ns, n, None, rec).await,
                        Some(cfg) => {
                            let Ok(s) = tokio_rustls::TlsAcceptor::from(cfg).accept(tcp).await
                            else {
                                return;
                            };
                            let sni = s.get_ref().1.server_name().map(str::to_owned);
                            serve(TokioIo::new(s), ns, n, sni, rec).await
                        }
                    }
                });
            }
        });
        echo
    }

    pub fn received(&self) -> Vec<Seen> {
        self.received.lock().expect("lock").clone()
    }
}

async fn serve<I>(io: I, ns: String, name: String, sni: Option<String>, rec: Arc<Mutex<Vec<Seen>>>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    type Error = Box<dyn std::error::Error + Send + Sync>;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let seen = Seen {
            namespace: ns.clone(),
            name: name.clone(),
            method: req.method().to_string(),
            path: req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            // HTTP/2: `:authority`, unless a Host header came too.
            host: req
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .or(req.uri().authority().map(|a| a.as_str()))
                .unwrap_or("")
                .to_owned(),
            headers: req
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            sni: sni.clone(),
            version: format!("{:?}", req.version()),
            body_len: 0,
        };
        let rec = Arc::clone(&rec);
        async move {
            if grpc::is_grpc(&req) {
                rec.lock().expect("lock").push(seen.clone());
                let response = grpc::serve(req, seen).await?;
                return Ok(response.map(|b| b.map_err(Error::from).boxed_unsync()));
            }
            let mut seen = seen;
            // Read whole: how much arrived is part of what was received.
            seen.body_len = match req.into_body().collect().await {
                Ok(body) => body.to_bytes().len(),
                Err(_) => usize::MAX,
            };
            rec.lock().expect("lock").push(seen.clone());
            let delay = seen
                .path
                .split_once("delay=")
                .map(|(_, d)| d.split('&').next().unwrap_or(""));
            if let Some(d) = delay {
                let ms = d
                    .strip_suffix("ms")
                    .map(|n| n.parse().unwrap_or(0))
                    .or_else(|| {
                        d.strip_suffix('s')
                            .map(|n| n.parse::<u64>().unwrap_or(0) * 1000)
                    });
                tokio::time::sleep(Duration::from_millis(ms.unwrap_or(0))).await;
            }
            let body = serde_json::json!({
                "namespace": seen.namespace, "name": seen.name, "method": seen.method,
                "path": seen.path, "host": seen.host, "headers": seen.headers, "sni": seen.sni,
                "version": seen.version, "body_len": seen.body_len,
            });
            let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
            for set in seen
                .header("x-echo-set-header")
                .iter()
                .flat_map(|v| v.split(','))
            {
                if let Some((n, v)) = set.split_once(':') {
                    response.headers_mut().append(
                        hyper::header::HeaderName::from_bytes(n.trim().as_bytes()).expect("name"),
                        v.trim().parse().expect("value"),
                    );
                }
            }
            Ok::<_, std::convert::Infallible>(
                response.map(|b| b.map_err(Error::from).boxed_unsync()),
            )
        }
    });
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, service)
        .await;
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub version: hyper::Version,
}

impl Got {
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    /// What the echo backend received, when it answered.
    pub fn seen(&self) -> Option<Seen> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One request on a new connection: HTTP/1.1 (`h2` false) or HTTP/2 (prior knowledge on
/// cleartext, ALPN on TLS).
pub async fn send(
    addr: SocketAddr,
    tls: Option<(&rustls::ClientConfig, &str)>,
    h2: bool,
    req: Request<Full<Bytes>>,
) -> Result<Got, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    match tls {
        None => exchange(TokioIo::new(tcp), h2, req).await,
        Some((config, sni)) => {
            let mut config = config.clone();
            config.alpn_protocols = vec![if h2 {
                b"h2".to_vec()
            } else {
                b"http/1.1".to_vec()
            }];
            let name = rustls_pki_types::ServerName::try_from(sni.to_owned())
                .map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            exchange(TokioIo::new(stream), h2, req).await
        }
    }
}

/// Several requests on one connection (to test connection reuse / coalescing).
pub async fn exchange_many<I>(
    io: I,
    h2: bool,
    reqs: Vec<Request<Full<Bytes>>>,
) -> Vec<Result<Got, String>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut out = Vec::new();
    if h2 {
        let (mut s, c) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .expect("h2");
        tokio::spawn(c);
        for r in reqs {
            if let Err(e) = s.ready().await {
                out.push(Err(e.to_string()));
                continue;
            }
            out.push(read(s.send_request(r).await).await);
        }
    } else {
        let (mut s, c) = hyper::client::conn::http1::handshake(io).await.expect("h1");
        tokio::spawn(c);
        for r in reqs {
            // One request at a time: wait until the connection can take the next one.
            if let Err(e) = s.ready().await {
                out.push(Err(e.to_string()));
                continue;
            }
            out.push(read(s.send_request(r).await).await);
        }
    }
    out
}

async fn exchange<I>(io: I, h2: bool, req: Request<Full<Bytes>>) -> Result<Got, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    exchange_many(io, h2, vec![req]).await.pop().expect("one")
}

async fn read(r: Result<Response<Incoming>, hyper::Error>) -> Result<Got, String> {
    let r = r.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let version = r.version();
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = r
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok(Got {
        status,
        headers,
        body,
        version,
    })
}

/// A request: for HTTP/2 the host goes into the URI (`:authority`), for HTTP/1.1 into Host.
pub fn request(
    h2: bool,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Request<Full<Bytes>> {
    let mut b = Request::builder().method(method);
    b = if h2 {
        b.uri(format!("http://{host}{path}"))
            .version(hyper::Version::HTTP_2)
    } else {
        b.uri(path).header("host", host)
    };
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(Full::new(Bytes::new())).expect("request")
}
