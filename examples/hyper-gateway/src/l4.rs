//! The Gateway's listeners that are not HTTP: TLS passed through by the ClientHello's server
//! name (TLSRoute), TCP (TCPRoute) and UDP (UDPRoute). gateway-core routes each connection
//! ([`Router::route_l4`]) and draws its backend; this module moves the bytes.
//!
//! Which sockets a `listen PORT ADDR` line gets is decided once, at start, from the listeners
//! of the configuration then (as listen addresses are bound once): a TCP listener served here
//! when the port has a TLS `Passthrough` or a TCP listener, a UDP socket when it has a UDP
//! listener (beside the TCP one, on the same address: a TCP and a UDP listener on one port are
//! different sockets), and otherwise the HTTP listener `main.rs` serves. A port whose TLS
//! listeners have certificates (`Terminate` mode) and no HTTP or HTTPS listener is a TLS
//! terminating L4 port: the handshake is completed with the listeners' certificates (and the
//! port's client-certificate validation, without ALPN), the connection routed by its server
//! name, and the decrypted bytes forwarded to the backend in the clear. A port that also has
//! HTTP or HTTPS listeners is served as HTTP(S): its TLS listeners are not served; on a port
//! with both `Passthrough` and `Terminate` TLS listeners, every connection is terminated. Each connection (each UDP session) is routed with the configuration current
//! when it starts, and keeps its backend to the end.
//!
//! - TLS passthrough: the ClientHello is read without terminating (at most
//!   [`MAX_CLIENT_HELLO`] bytes, within [`CLIENT_HELLO_TIMEOUT`]; rustls's `Acceptor` parses
//!   it), routed by its server name, and the bytes read are replayed to the backend before the
//!   two connections are joined: the client's TLS session is the backend's.
//! - TLS terminated (`Terminate` mode): the handshake within [`CLIENT_HELLO_TIMEOUT`], routed
//!   by the handshake's server name, then the plaintext joined to the backend.
//! - TCP: routed by port, joined to the backend.
//! - UDP: one session per client address, with its own connected socket towards the backend;
//!   datagrams both ways; a session ends after [`UDP_IDLE`] without a datagram either way; at
//!   most [`MAX_UDP_SESSIONS`] per port (a new client beyond that has its datagrams dropped).
//!
//! A connection no route serves is closed; a datagram no route serves is dropped. Each
//! connection or session logs one line when it ends:
//! `TRANSPORT port=PORT SNI|- namespace/route rule=NAME|INDEX BACKEND UP/DOWN DURATIONus`
//! (bytes for TLS and TCP, datagrams for UDP); a refused one ends in `- (reason) DURATIONus`
//! after what was known.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway_core::outcome::{NotFound, Outcome};
use gateway_core::route::{Decision, L4Transport, Router};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::config::{Shared, State};

/// How long a client may take to send its whole ClientHello on a TLS passthrough listener.
pub(crate) const CLIENT_HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes read before the ClientHello is complete: one full TLS record (16 KiB of
/// payload and its 5-byte header). A larger ClientHello closes the connection.
pub(crate) const MAX_CLIENT_HELLO: usize = (1 << 14) + 5;
/// How long connecting to a TCP backend may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A UDP session ends after this long without a datagram in either direction.
pub(crate) const UDP_IDLE: Duration = Duration::from_secs(60);
/// The most UDP sessions (client addresses) one port serves at once.
pub(crate) const MAX_UDP_SESSIONS: usize = 1024;
/// The largest datagram forwarded (the largest UDP payload).
const MAX_DATAGRAM: usize = 65_535;
/// Datagrams from one client waiting for its session; more are dropped.
const SESSION_QUEUE: usize = 64;

/// Binds the sockets of one `listen PORT ADDR` line (see the module docs) and starts serving
/// the L4 ones; returns the TCP listener when the port is HTTP's to serve, and the address to
/// report.
///
/// # Errors
/// A socket that cannot be bound.
pub(crate) async fn listen(
    port: u16,
    addr: SocketAddr,
    shared: &Arc<Shared>,
) -> Result<(Option<TcpListener>, SocketAddr), String> {
    let state = shared.current();
    let udp = has_listener(&state.router, L4Transport::Udp, port);
    let l4 = passthrough(&state, port)
        || terminated(&state, port)
        || has_listener(&state.router, L4Transport::Tcp, port);
    drop(state);
    let (mut http, mut local) = (None, None);
    if l4 || !udp {
        let listener = TcpListener::bind(addr).await;
        let listener = listener.map_err(|e| format!("listen {port} on {addr}: {e}"))?;
        local = Some(listener.local_addr().map_err(|e| e.to_string())?);
        if l4 {
            tokio::spawn(accept(listener, port, Arc::clone(shared)));
        } else {
            http = Some(listener);
        }
    }
    if udp {
        // Beside a TCP listener: on its address, whose port the system may have chosen.
        let at = local.unwrap_or(addr);
        let socket = UdpSocket::bind(at).await;
        let socket = socket.map_err(|e| format!("listen {port} (UDP) on {at}: {e}"))?;
        let bound = socket.local_addr().map_err(|e| e.to_string())?;
        local = local.or(Some(bound));
        tokio::spawn(serve_udp(Arc::new(socket), port, Arc::clone(shared)));
    }
    Ok((http, local.unwrap_or(addr)))
}

/// Whether the router has a listener of `transport`'s protocol on `port`
/// ([`NotFound::NoListenerOnPort`] is exactly "none").
fn has_listener(router: &Router, transport: L4Transport, port: u16) -> bool {
    let d = router.route_l4(transport, port, None);
    d.outcome() != Outcome::NotFound(NotFound::NoListenerOnPort)
}

/// Whether connections to `port` are TLS passed through: a TLS listener, and nothing that
/// terminates TLS or speaks HTTP on the port.
fn passthrough(state: &State, port: u16) -> bool {
    has_listener(&state.router, L4Transport::Tls, port)
        && !state.acceptors.contains_key(&port)
        && !state.router.serves_http(port)
}

/// Whether connections to `port` are TLS terminated here and their bytes forwarded in the
/// clear (TLSRoute on TLS listeners in `Terminate` mode): a TLS listener with certificates
/// (an acceptor), and nothing that speaks HTTP on the port.
fn terminated(state: &State, port: u16) -> bool {
    has_listener(&state.router, L4Transport::Tls, port)
        && state.acceptors.contains_key(&port)
        && !state.router.serves_http(port)
}

/// Accepts connections on a TLS passthrough or TCP listener until the gateway stops.
async fn accept(listener: TcpListener, port: u16, shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    while let Some((tcp, _)) = crate::next_connection(&listener, &mut stop).await {
        let _ = tcp.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // Held to the end: on shutdown the drain waits for this connection.
            let _stop = shared.stop.subscribe();
            let mut line = String::with_capacity(128);
            let start = Instant::now();
            if let Err(why) = connection(tcp, port, &shared, &mut line).await {
                let _ = write!(line, "- ({why}) ");
            }
            log(line, start);
        });
    }
}

/// Routes one TLS passthrough or TCP connection and joins it to its backend; describes it in
/// `line`. `Err`: why it was closed.
async fn connection(
    mut client: TcpStream,
    port: u16,
    shared: &Shared,
    line: &mut String,
) -> Result<(), String> {
    let state = shared.current();
    if let Some(acceptor) = state
        .acceptors
        .get(&port)
        .filter(|_| terminated(&state, port))
    {
        let _ = write!(line, "TLS port={port} ");
        let accept = tokio::time::timeout(CLIENT_HELLO_TIMEOUT, acceptor.clone().accept(client));
        let mut tls = match accept.await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return Err(format!("TLS handshake: {e}")),
            Err(_) => return Err("no TLS handshake in time".to_owned()),
        };
        let sni = tls.get_ref().1.server_name().map(str::to_owned);
        let _ = write!(line, "{} ", sni.as_deref().unwrap_or("-"));
        let to = (L4Transport::Tls, port, sni.as_deref());
        return join(&mut tls, Vec::new(), to, state, shared, line).await;
    }
    let (transport, hello, sni) = if passthrough(&state, port) {
        let _ = write!(line, "TLS port={port} ");
        let read = tokio::time::timeout(CLIENT_HELLO_TIMEOUT, client_hello(&mut client));
        let (hello, sni) = read
            .await
            .map_err(|_| "no ClientHello in time".to_owned())??;
        let _ = write!(line, "{} ", sni.as_deref().unwrap_or("-"));
        (L4Transport::Tls, hello, sni)
    } else {
        let _ = write!(line, "TCP port={port} - ");
        (L4Transport::Tcp, Vec::new(), None)
    };
    let to = (transport, port, sni.as_deref());
    join(&mut client, hello, to, state, shared, line).await
}

/// Routes a connection (its transport, port and server name) with `state`, connects to the
/// backend, replays `hello` (the bytes already read from the client) and joins the two;
/// describes it in `line`. `Err`: why it was closed.
async fn join<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut S,
    hello: Vec<u8>,
    (transport, port, sni): (L4Transport, u16, Option<&str>),
    state: Arc<State>,
    shared: &Shared,
    line: &mut String,
) -> Result<(), String> {
    let decision = state.router.route_l4(transport, port, sni);
    let to = backend(&decision, &state, shared, line)?;
    drop(decision);
    drop(state);
    let mut upstream = connect(to).await?;
    let replayed = upstream.write_all(&hello).await;
    replayed.map_err(|e| format!("backend {to}: {e}"))?;
    let hello_len = hello.len() as u64;
    drop(hello);
    // Either side's error ends both; what was copied until then is what the line reports.
    let (up, down) = tokio::io::copy_bidirectional(client, &mut upstream)
        .await
        .unwrap_or_default();
    let _ = write!(line, "{to} {}/{down} ", hello_len + up);
    Ok(())
}

/// Connects to a TCP backend within [`CONNECT_TIMEOUT`]. `Err`: why not.
async fn connect(to: SocketAddr) -> Result<TcpStream, String> {
    let connect = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(to)).await;
    let upstream = match connect {
        Ok(Ok(upstream)) => upstream,
        Ok(Err(e)) => return Err(format!("backend {to}: {e}")),
        Err(_) => return Err(format!("backend {to}: connect timeout")),
    };
    let _ = upstream.set_nodelay(true);
    Ok(upstream)
}

/// The decision's backend address: the rule's backend drawn with the server's sequence,
/// resolved in the endpoints file; appends the route and rule to `line`. `Err`: why there is
/// none.
fn backend(
    decision: &Decision<'_, '_>,
    state: &State,
    shared: &Shared,
    line: &mut String,
) -> Result<SocketAddr, String> {
    let (Outcome::Forward, Some(route), Some(rule)) =
        (decision.outcome(), decision.route(), decision.rule())
    else {
        return Err(decision.reason().to_owned());
    };
    let _ = write!(line, "{}/{} rule=", route.namespace, route.name);
    match rule.name {
        Some(name) => line.push_str(name),
        None => {
            let _ = write!(line, "{}", rule.index);
        }
    }
    line.push(' ');
    // TLSRoute/TCPRoute/UDPRoute backendRefs: "connection rejection MUST respect weight".
    let Some(backend) = decision.choose_backend(shared.draws.draw()) else {
        return Err("the draw landed on an invalid backend's share".to_owned());
    };
    let upstream = state.upstream(backend);
    upstream
        .map(|u| u.addr)
        .ok_or_else(|| "the backend has no endpoints".to_owned())
}

/// Reads the ClientHello without answering it: the bytes read (to replay to the backend) and
/// the server name it asks for. `Err` for anything but a ClientHello, or one over
/// [`MAX_CLIENT_HELLO`] bytes.
async fn client_hello(
    client: &mut (impl AsyncRead + Unpin),
) -> Result<(Vec<u8>, Option<String>), String> {
    let mut acceptor = rustls::server::Acceptor::default();
    let mut hello = Vec::with_capacity(2048);
    loop {
        let start = hello.len();
        let room = MAX_CLIENT_HELLO - start;
        if room == 0 {
            return Err(format!("a ClientHello over {MAX_CLIENT_HELLO} bytes"));
        }
        hello.resize(start + room.min(4096), 0);
        let read = client
            .read(hello.get_mut(start..).unwrap_or_default())
            .await;
        let n = read.map_err(|e| format!("reading the ClientHello: {e}"))?;
        hello.truncate(start + n);
        if n == 0 {
            return Err("the client closed before its ClientHello ended".to_owned());
        }
        let mut fresh = hello.get(start..).unwrap_or_default();
        while !fresh.is_empty() {
            match acceptor.read_tls(&mut fresh) {
                Ok(0) | Err(_) => return Err("not a TLS ClientHello".to_owned()),
                Ok(_) => {}
            }
            match acceptor.accept() {
                Ok(Some(accepted)) => {
                    let sni = accepted.client_hello().server_name().map(str::to_owned);
                    return Ok((hello, sni));
                }
                Ok(None) => {}
                Err((e, _)) => return Err(format!("not a TLS ClientHello: {e}")),
            }
        }
    }
}

/// Serves a UDP listener: each new client address gets a session (routed then), later
/// datagrams from it go to its session; until the gateway stops.
async fn serve_udp(socket: Arc<UdpSocket>, port: u16, shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    let mut sessions: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0; MAX_DATAGRAM];
    loop {
        let (n, peer) = tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                // An error about an earlier datagram (ICMP): nothing to do for this socket.
                Err(_) => continue,
            },
            _ = stop.wait_for(|stop| *stop) => return,
        };
        let mut datagram = buf.get(..n).unwrap_or_default().to_vec();
        if let Some(session) = sessions.get(&peer) {
            match session.try_send(datagram) {
                // Full: the session's queue is the bound; UDP may drop.
                Ok(()) | Err(TrySendError::Full(_)) => continue,
                Err(TrySendError::Closed(again)) => {
                    sessions.remove(&peer);
                    datagram = again;
                }
            }
        }
        if sessions.len() >= MAX_UDP_SESSIONS {
            sessions.retain(|_, s| !s.is_closed());
            if sessions.len() >= MAX_UDP_SESSIONS {
                let line = format!("UDP port={port} - - (over {MAX_UDP_SESSIONS} sessions) ");
                log(line, Instant::now());
                continue;
            }
        }
        if let Some(session) = open_session(&socket, port, peer, &shared).await {
            let _ = session.try_send(datagram);
            sessions.insert(peer, session);
        }
    }
}

/// Routes a new UDP client and starts its session; `None` (logged) when no route or backend
/// serves it.
async fn open_session(
    socket: &Arc<UdpSocket>,
    port: u16,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> Option<mpsc::Sender<Vec<u8>>> {
    let start = Instant::now();
    let mut line = format!("UDP port={port} - ");
    let state = shared.current();
    let decision = state.router.route_l4(L4Transport::Udp, port, None);
    let to = backend(&decision, &state, shared, &mut line);
    drop(decision);
    drop(state);
    let upstream = match to {
        Ok(to) => {
            let _ = write!(line, "{to} ");
            connect_udp(to).await
        }
        Err(why) => Err(why),
    };
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(why) => {
            let _ = write!(line, "- ({why}) ");
            log(line, start);
            return None;
        }
    };
    let (sender, receiver) = mpsc::channel(SESSION_QUEUE);
    let socket = Arc::clone(socket);
    let stop = shared.stop.subscribe();
    tokio::spawn(async move {
        let (up, down) = session(upstream, receiver, (&socket, peer), stop).await;
        let _ = write!(line, "{up}/{down} ");
        log(line, start);
    });
    Some(sender)
}

/// A UDP socket connected to `to`, from an unspecified address of its family.
async fn connect_udp(to: SocketAddr) -> Result<UdpSocket, String> {
    let from: SocketAddr = match to {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(from)
        .await
        .map_err(|e| format!("UDP socket: {e}"))?;
    socket
        .connect(to)
        .await
        .map_err(|e| format!("backend {to}: {e}"))?;
    Ok(socket)
}

/// Forwards one client's datagrams to its backend and the backend's back, until [`UDP_IDLE`]
/// passes without either or the gateway stops; the datagrams forwarded each way.
async fn session(
    upstream: UdpSocket,
    mut from_client: mpsc::Receiver<Vec<u8>>,
    (socket, peer): (&UdpSocket, SocketAddr),
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> (u64, u64) {
    let mut buf = vec![0; MAX_DATAGRAM];
    let (mut up, mut down) = (0u64, 0u64);
    loop {
        // The select only says what happened; the sends await after it (its output may hold
        // the stop signal's lock guard, which must not live across an await).
        let received = tokio::select! {
            datagram = from_client.recv() => match datagram {
                Some(datagram) => Event::FromClient(datagram),
                None => break,
            },
            // An error is the backend's ICMP answer to an earlier datagram: keep waiting.
            received = upstream.recv(&mut buf) => match received {
                Ok(n) => Event::FromBackend(n),
                Err(_) => continue,
            },
            () = tokio::time::sleep(UDP_IDLE) => break,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        match received {
            Event::FromClient(datagram) => {
                if upstream.send(&datagram).await.is_ok() {
                    up += 1;
                }
            }
            Event::FromBackend(n) => {
                let reply = buf.get(..n).unwrap_or_default();
                if socket.send_to(reply, peer).await.is_ok() {
                    down += 1;
                }
            }
        }
    }
    (up, down)
}

/// What a UDP session waited for.
enum Event {
    /// A datagram from the client, to send to the backend.
    FromClient(Vec<u8>),
    /// A datagram from the backend of this length in the buffer, to send to the client.
    FromBackend(usize),
}

/// Ends a log line with the duration and writes it with one call.
fn log(mut line: String, start: Instant) {
    let _ = writeln!(line, "{}us", start.elapsed().as_micros());
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

#[cfg(test)]
mod tests;
