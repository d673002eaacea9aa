//! A request on a TLS connection, judged from what the handshake established: what the client
//! certificate proved on the port whose handshake made the session, then the coalescing guard
//! on the port the request arrived on. This is [`PortTls::client_auth`] followed by
//! [`coalescing_check`], for hosts (and the JSON and C interfaces) that hold the handshake's
//! facts rather than a rustls connection.
//!
//! [`PortTls::client_auth`]: super::PortTls::client_auth

use rustls_pki_types::{CertificateDer, UnixTime};

use crate::outcome::Outcome;

use super::coalesce::{Coalescing, ConnectionInfo, coalescing_check};
use super::frontend::{ClientAuth, FrontendTls, PortTls, ValidationMode};

/// What a TLS handshake established, as the proxy knows it when a request arrives.
///
/// # Examples
/// ```
/// use gateway_core::tls::Handshake;
/// use rustls_pki_types::UnixTime;
/// let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000));
/// // A session first established on port 8443, resumed on a connection to port 443.
/// let handshake = Handshake::new(443, Some("foo.example.com"), &[], now).resumed_from(8443);
/// assert_eq!(handshake.session_port(), 8443);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct Handshake<'a> {
    /// The port the connection (and the request) arrived on.
    pub port: u16,
    /// The TLS server name the client sent.
    pub sni: Option<&'a str>,
    /// The certificate chain the client presented (leaf first); empty when it presented none.
    /// For a resumed session, the chain of the handshake that made the session.
    pub client_chain: &'a [CertificateDer<'a>],
    /// The port whose session this connection resumed; `None` for a full handshake.
    pub resumed_from_port: Option<u16>,
    /// The time to verify the client chain at.
    pub now: UnixTime,
}

impl<'a> Handshake<'a> {
    /// A full handshake on `port`.
    pub fn new(
        port: u16,
        sni: Option<&'a str>,
        client_chain: &'a [CertificateDer<'a>],
        now: UnixTime,
    ) -> Self {
        Self {
            port,
            sni,
            client_chain,
            resumed_from_port: None,
            now,
        }
    }

    /// The same connection, resuming a session established on `port`.
    #[must_use]
    pub fn resumed_from(mut self, port: u16) -> Self {
        self.resumed_from_port = Some(port);
        self
    }

    /// The port whose handshake established the session: the resumed session's, else the
    /// connection's.
    pub fn session_port(&self) -> u16 {
        self.resumed_from_port.unwrap_or(self.port)
    }
}

/// The frontend verdicts for a request on a TLS connection.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCheck {
    /// The port the request arrived on.
    pub port: u16,
    /// The port whose handshake established the session ([`Handshake::session_port`]).
    pub session_port: u16,
    /// That port's client-certificate validation mode; `None` when it asks for no client
    /// certificate (or terminates no TLS).
    pub validation: Option<ValidationMode>,
    /// What the client certificate proved on that port ([`PortTls::client_auth`]); `None` when
    /// the port asks for a certificate and this build cannot verify one (the `tls` feature is
    /// off): the host must.
    pub client_auth: Option<ClientAuth>,
    /// The coalescing guard's answer for the request; `None` when `client_auth` is unknown
    /// and the answer depends on it (a session of the request's own port).
    pub coalescing: Option<Coalescing>,
}

impl SessionCheck {
    /// The refusal the request gets before routing, in the one decision vocabulary; `None`
    /// when it may be routed (or the guard's answer is unknown).
    pub fn outcome(&self) -> Option<Outcome> {
        self.coalescing.and_then(Coalescing::outcome)
    }

    /// Why the request is refused, for people (logs; the text may change); `None` when it is
    /// not refused.
    pub fn refusal_reason(&self) -> Option<String> {
        let coalescing = self.coalescing.filter(|c| *c != Coalescing::Allow)?;
        let port = self.port;
        let why = if self.session_port != port {
            format!(
                "the session was established on port {}, not {port}",
                self.session_port
            )
        } else {
            match (&self.client_auth, self.validation, coalescing) {
                (Some(ClientAuth::Unverified(reason)), Some(ValidationMode::AllowValidOnly), _) => {
                    format!(
                        "port {port} accepts only valid client certificates (AllowValidOnly), \
                         and {reason}"
                    )
                }
                (_, _, Coalescing::NotFound) => {
                    format!("no TLS listener of port {port} serves the host")
                }
                (_, _, Coalescing::BadRequest) => "the authority is not a valid host".to_owned(),
                _ => format!(
                    "the host belongs to another listener (or TLS configuration) than the \
                     connection's on port {port}"
                ),
            }
        };
        Some(format!(
            "refused by the coalescing guard ({}): {why}",
            coalescing.as_str()
        ))
    }
}

impl FrontendTls {
    /// Judges a request with this `authority` (`:authority`, else Host) on a connection whose
    /// handshake established `handshake`: the client certificate against the session port's
    /// validation ([`PortTls::client_auth`]), then the coalescing guard on the request's port
    /// ([`coalescing_check`]).
    ///
    /// A session resumed from another port keeps what that port's handshake proved and is
    /// judged as a connection of that port, which the guard refuses on any other port
    /// ([`Coalescing::Misdirected`]): every port has its own session cache and ticket keys
    /// (nginx CVE-2025-23419), so such a resumption is a configuration change or an attack. A
    /// request on a port that terminates no TLS is refused the same way, as
    /// [`FrontendTls::coalescing_check`] does.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::tls::{FrontendTls, Handshake};
    /// # use rustls_pki_types::UnixTime;
    /// # fn f(frontend: &FrontendTls, now: UnixTime) {
    /// let handshake = Handshake::new(443, Some("foo.example.com"), &[], now);
    /// let check = frontend.session_check(&handshake, "foo.example.com");
    /// if let Some(refusal) = check.outcome() {
    ///     // answer refusal.status() without routing the request
    /// }
    /// # }
    /// ```
    pub fn session_check(&self, handshake: &Handshake<'_>, authority: &str) -> SessionCheck {
        let session_port = handshake.session_port();
        let session = self.port(session_port);
        let validation = session.and_then(|p| p.validation.as_ref()).map(|v| v.mode);
        let client_auth = session.map_or(Some(ClientAuth::NotRequested), |p| {
            client_auth(p, handshake)
        });
        let guard = |auth: &ClientAuth| {
            let Some(port) = self.port(handshake.port) else {
                return self.coalescing_check(handshake.port, handshake.sni, auth, authority);
            };
            let connection = match session {
                Some(session) => session.connection(handshake.sni, auth.clone()),
                // A session of a port without TLS: no listener chose it.
                None => ConnectionInfo {
                    port: session_port,
                    sni: handshake.sni,
                    listener: None,
                    client_auth: auth.clone(),
                },
            };
            coalescing_check(&connection, authority, port)
        };
        let coalescing = match &client_auth {
            Some(auth) => Some(guard(auth)),
            // What the certificate proved is unknown, but the guard refuses a session of another
            // port whatever it proved: that answer is known.
            None if session_port != handshake.port => Some(guard(&ClientAuth::NotRequested)),
            None => None,
        };
        SessionCheck {
            port: handshake.port,
            session_port,
            validation,
            client_auth,
            coalescing,
        }
    }
}

/// What the client chain proves on `port`; `None` when it must be verified and cannot be here.
#[cfg(feature = "tls")]
fn client_auth(port: &PortTls, handshake: &Handshake<'_>) -> Option<ClientAuth> {
    Some(port.client_auth(Some(handshake.client_chain), handshake.now))
}

/// What the client chain proves on `port`; `None` when it must be verified and cannot be here.
#[cfg(not(feature = "tls"))]
fn client_auth(port: &PortTls, _: &Handshake<'_>) -> Option<ClientAuth> {
    port.validation
        .is_none()
        .then_some(ClientAuth::NotRequested)
}
