//! The coalescing guard: whether a request on an established TLS connection may be served
//! there, or belongs to another listener (421), or to none (404).

use crate::outcome::{BadRequest, NotFound, Outcome};
use crate::request::authority::canonical_host;

use super::frontend::{ClientAuth, FrontendTls, PortTls, ValidationMode};

/// What is known about a TLS connection when a request arrives on it.
///
/// Build it with [`PortTls::connection`] at the end of the handshake.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo<'a> {
    /// The port the connection was accepted on.
    pub port: u16,
    /// The TLS server name the client sent.
    pub sni: Option<&'a str>,
    /// The listener the server name selected during the handshake.
    pub listener: Option<&'a str>,
    /// What the client certificate proved.
    pub client_auth: ClientAuth,
}

/// The guard's answer.
#[must_use = "a request the guard refuses must not be served"]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coalescing {
    /// The request's host belongs to the listener the connection was made for.
    Allow,
    /// Answer 421 Misdirected Request: another listener (or another TLS configuration) serves
    /// this host; the client should open a new connection.
    Misdirected,
    /// Answer 404: no listener of the port serves this host.
    NotFound,
    /// Answer 400: the authority is not a valid host.
    BadRequest,
}

impl Coalescing {
    /// The status to answer with, when the request must not be served.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::tls::Coalescing;
    /// assert_eq!(Coalescing::Misdirected.status(), Some(421));
    /// assert_eq!(Coalescing::Allow.status(), None);
    /// ```
    pub fn status(self) -> Option<u16> {
        match self {
            Self::Allow => None,
            Self::Misdirected => Some(421),
            Self::NotFound => Some(404),
            Self::BadRequest => Some(400),
        }
    }

    /// The stable lower-case name of the answer (the JSON interface's `coalescing`).
    ///
    /// # Examples
    /// ```
    /// use gateway_core::tls::Coalescing;
    /// assert_eq!(Coalescing::Misdirected.as_str(), "misdirected");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Misdirected => "misdirected",
            Self::NotFound => "not_found",
            Self::BadRequest => "bad_request",
        }
    }

    /// The refusal in the one decision vocabulary ([`crate::outcome`]); `None` for
    /// [`Coalescing::Allow`].
    ///
    /// # Examples
    /// ```
    /// use gateway_core::outcome::Outcome;
    /// use gateway_core::tls::Coalescing;
    /// assert_eq!(Coalescing::Misdirected.outcome(), Some(Outcome::Misdirected));
    /// assert_eq!(Coalescing::Allow.outcome(), None);
    /// ```
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            Self::Allow => None,
            Self::Misdirected => Some(Outcome::Misdirected),
            Self::NotFound => Some(Outcome::NotFound(NotFound::NoListenerForHost)),
            Self::BadRequest => Some(Outcome::BadRequest(BadRequest::InvalidHost)),
        }
    }
}

/// Whether a request with this authority (`:authority` or Host) may be served on this
/// connection of `port`.
///
/// Gateway API Listener `hostname`, HTTPS: "If another Listener has an exact match or more
/// specific wildcard entry, the Gateway SHOULD return a 421. If the current Listener (selected
/// by SNI matching during ClientHello) does not match the Host: If another Listener does match
/// the Host, the Gateway SHOULD return a 421. If no other Listener matches the Host, the
/// Gateway MUST return a 404." So the host is mapped to a listener of the port with the same
/// rule the SNI was (exact, longest wildcard, no hostname):
/// - the same listener as the SNI chose: [`Coalescing::Allow`];
/// - another listener: [`Coalescing::Misdirected`];
/// - none: [`Coalescing::NotFound`].
///
/// Two more refusals fail closed: a connection made on another port, or one whose client
/// certificate state could not have passed this port's `AllowValidOnly` validation (e.g.
/// accepted under a previous configuration) is [`Coalescing::Misdirected`]. An authority that
/// is not a valid host is [`Coalescing::BadRequest`]. The authority's port is ignored:
/// listeners are chosen by the connection's port (SECURITY.md rule 7).
///
/// # Examples
/// ```
/// use gateway_core::tls::{ClientAuth, Coalescing, PortTls, coalescing_check};
/// # fn f(port: &PortTls) {
/// let connection = port.connection(Some("bar.example.com"), ClientAuth::NotRequested);
/// let answer = coalescing_check(&connection, "foo.example.com", port);
/// # }
/// ```
pub fn coalescing_check(
    connection: &ConnectionInfo<'_>,
    authority: &str,
    port: &PortTls,
) -> Coalescing {
    let ConnectionInfo {
        port: connection_port,
        listener,
        client_auth,
        ..
    } = connection;
    check(*connection_port, *listener, client_auth, authority, port)
}

impl FrontendTls {
    /// The coalescing guard for a request on a TLS connection accepted on `port`, against this
    /// configuration: [`coalescing_check`] with that port's listeners and the server name and
    /// client-certificate state the handshake established.
    ///
    /// A port on which this configuration terminates no TLS answers
    /// [`Coalescing::Misdirected`]: the connection was accepted under an earlier configuration
    /// (before a reload) and no listener of this one accepted it; the client should reconnect.
    /// So a server that reloads keeps the handshake's server name and [`ClientAuth`] for each
    /// connection, and asks the configuration current at each request. Costs one port lookup
    /// more than [`coalescing_check`]; allocates nothing.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::tls::{ClientAuth, FrontendTls};
    /// # fn f(frontend: &FrontendTls) {
    /// let auth = ClientAuth::NotRequested; // what the handshake's client certificate proved
    /// let verdict = frontend.coalescing_check(443, Some("bar.example.com"), &auth, "foo.example.com");
    /// if let Some(status) = verdict.status() {
    ///     // answer `status` (421, 404 or 400) without routing the request
    /// }
    /// # }
    /// ```
    pub fn coalescing_check(
        &self,
        port: u16,
        sni: Option<&str>,
        client_auth: &ClientAuth,
        authority: &str,
    ) -> Coalescing {
        match self.port(port) {
            Some(tls) => {
                let listener = tls.listener_for_sni(sni).map(|l| l.name.as_str());
                check(port, listener, client_auth, authority, tls)
            }
            None => Coalescing::Misdirected,
        }
    }
}

/// [`coalescing_check`], given the connection's parts.
fn check(
    connection_port: u16,
    listener: Option<&str>,
    client_auth: &ClientAuth,
    authority: &str,
    port: &PortTls,
) -> Coalescing {
    let Ok((host, _)) = canonical_host(authority) else {
        return Coalescing::BadRequest;
    };
    if connection_port != port.port {
        return Coalescing::Misdirected;
    }
    if let Some(validation) = &port.validation {
        let admitted = match (client_auth, validation.mode) {
            (ClientAuth::Verified, _) => true,
            (ClientAuth::Unverified(_), ValidationMode::AllowInsecureFallback) => true,
            (ClientAuth::Unverified(_) | ClientAuth::NotRequested, _) => false,
        };
        if !admitted {
            return Coalescing::Misdirected;
        }
    }
    match port.listener_for_host(&host) {
        None => Coalescing::NotFound,
        Some(by_host) if Some(by_host.name.as_str()) == listener => Coalescing::Allow,
        Some(_) => Coalescing::Misdirected,
    }
}
