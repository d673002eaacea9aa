//! A real HTTP auth service on 127.0.0.1 (a std thread), and the blocking client a proxy would
//! write: it sends the check exactly as `HttpCheckRequest` says and hands back the answer.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gateway_core::plan::authz::{AuthCheck, AuthClient, AuthResponse};

/// What the auth service received.
#[derive(Clone, Debug, Default)]
pub(crate) struct Received {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// The auth service: its answer depends on the path it is asked about.
/// - `.../allow...`: 200 with `x-user: alice`, `x-groups: a` twice, `host` and `connection`;
/// - `.../deny...`: 401 with `www-authenticate` and a body;
/// - `.../slow...`: 200 after 2 s;
/// - anything else: 403.
pub(crate) struct HttpAuthServer {
    pub(crate) addr: SocketAddr,
    pub(crate) received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpAuthServer {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let r = r.clone();
                // One thread per connection, so a slow answer does not hold up the others.
                std::thread::spawn(move || serve(stream, &r));
            }
        });
        Self {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HttpAuthServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, received: &Mutex<Vec<Received>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    received.lock().unwrap().push(Received {
        method,
        path: path.clone(),
        headers,
        body,
    });
    let answer: &[u8] = if path.contains("/allow") {
        b"HTTP/1.1 200 OK\r\nx-user: alice\r\nx-groups: a\r\nx-groups: b\r\nhost: evil.example\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    } else if path.contains("/deny") {
        b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm=\"x\"\r\ncontent-length: 11\r\nconnection: close\r\n\r\nlogin first"
    } else if path.contains("/slow") {
        std::thread::sleep(Duration::from_secs(2));
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    };
    let _ = stream.write_all(answer);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The proxy's blocking client: the Service port is "resolved" to `addr`.
pub(crate) struct BlockingHttpClient {
    pub(crate) addr: SocketAddr,
    pub(crate) timeout: Duration,
}

impl AuthClient for BlockingHttpClient {
    fn check(&self, check: &AuthCheck<'_>) -> AuthResponse {
        let Some(h) = check.http() else {
            return AuthResponse::Malformed("not an HTTP check".to_owned());
        };
        let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, self.timeout) else {
            return AuthResponse::Unreachable;
        };
        stream.set_read_timeout(Some(self.timeout)).unwrap();
        let mut request = format!("{} {} HTTP/1.1\r\n", h.method, h.path).into_bytes();
        for (name, value) in &h.headers {
            request.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        request.extend_from_slice(b"connection: close\r\n\r\n");
        request.extend_from_slice(&h.body);
        if stream.write_all(&request).is_err() {
            return AuthResponse::Unreachable;
        }
        let mut raw = Vec::new();
        if let Err(e) = stream.read_to_end(&mut raw) {
            return match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => AuthResponse::Timeout,
                _ => AuthResponse::Unreachable,
            };
        }
        parse_response(&raw)
    }
}

fn parse_response(raw: &[u8]) -> AuthResponse {
    let Some(end) = find(raw, b"\r\n\r\n") else {
        return AuthResponse::Malformed("no end of head".to_owned());
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let Some(status) = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
    else {
        return AuthResponse::Malformed("bad status line".to_owned());
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    AuthResponse::Http {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}
