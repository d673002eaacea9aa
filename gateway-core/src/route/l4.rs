//! Routing a connection that is not HTTP: TLSRoute by SNI, TCPRoute and UDPRoute by port.
//!
//! # Precedence, formally
//! For a connection of transport `t` on port `p` with server name `s` (TLS only; lower-cased,
//! one trailing dot removed):
//! 1. the listener: among the listeners on `p` whose protocol is `t`'s (`TLS`, `TCP`, `UDP`),
//!    for TLS the listener whose hostname is `s`, else the wildcard listener with the longest
//!    matching suffix, else a listener without hostname (Gateway API Listener `hostname`: "TLS:
//!    The Listener Hostname MUST match the SNI"; a listener with a hostname never matches a
//!    connection without SNI). TCP and UDP ignore listener hostnames ("Hostname is ignored for
//!    protocols that don't require hostname based matching") and take the first listener;
//! 2. the route, within that listener: for TLS, a route hostname equal to `s`, then the
//!    wildcard route hostname with the longest matching suffix, then routes without hostnames
//!    (GEP-2643: routing by SNI; the same hostname order as HTTPRoute); TCP and UDP routes
//!    have no hostnames;
//! 3. ties: the oldest route, then `{namespace}/{name}`, then the first rule.
//!
//! A TLS listener routes the same way in `Passthrough` and `Terminate` mode: the mode only
//! says whether the proxy terminates the connection before it forwards the bytes
//! (Gateway API: TLSRoute is served in `Passthrough` mode, and in `Terminate` mode where
//! `TLSRouteModeTerminate` is supported). A mesh routes HTTP and gRPC only.

use std::borrow::Cow;
use std::fmt;

use super::precedence::RankKey;
use super::{Decision, Router};
use crate::attach::{Protocol, host_matches};
use crate::outcome::{NotFound, Outcome};

/// The transport of a connection routed without HTTP: what a listener's protocol is for L4.
#[allow(clippy::exhaustive_enums)] // the Gateway API's L4 listener protocols: TLS, TCP, UDP
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4Transport {
    /// TLS, routed by the ClientHello's server name to a TLSRoute.
    Tls,
    /// TCP, routed by port to a TCPRoute.
    Tcp,
    /// UDP, routed by port to a UDPRoute.
    Udp,
}

impl L4Transport {
    /// Parses the lower-case name the JSON, C and JavaScript interfaces use: `tls`, `tcp`,
    /// `udp`.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::route::L4Transport;
    /// assert_eq!(L4Transport::parse("tcp"), Some(L4Transport::Tcp));
    /// assert_eq!(L4Transport::parse("TCP"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "tls" => Self::Tls,
            "tcp" => Self::Tcp,
            "udp" => Self::Udp,
            _ => return None,
        })
    }

    /// The name [`L4Transport::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }

    /// Whether a listener of `protocol` serves this transport.
    fn serves(self, protocol: Protocol) -> bool {
        match (self, protocol) {
            (Self::Tls, Protocol::Tls)
            | (Self::Tcp, Protocol::Tcp)
            | (Self::Udp, Protocol::Udp) => true,
            (Self::Tls | Self::Tcp | Self::Udp, _) => false,
        }
    }
}

impl fmt::Display for L4Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How well a hostname (a listener's or a route's) matches the server name; greater wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HostnameMatch {
    /// No hostname: matches every server name, and none.
    Any,
    /// A wildcard, by the length of its suffix: more labels win.
    Wildcard(usize),
    /// The server name itself.
    Exact,
}

impl HostnameMatch {
    /// How `hostname` (`None`: no hostname) matches the canonical server name `sni`; `None`
    /// when it does not.
    fn of(hostname: Option<&str>, sni: Option<&str>) -> Option<Self> {
        let Some(hostname) = hostname else {
            return Some(Self::Any);
        };
        let sni = sni?;
        if !host_matches(hostname, sni) {
            return None;
        }
        Some(if hostname.starts_with("*.") {
            Self::Wildcard(hostname.len())
        } else {
            Self::Exact
        })
    }
}

impl Router {
    /// Routes a TLS, TCP or UDP connection on `port`: the listener, then the TLSRoute (by the
    /// server name `sni`), TCPRoute or UDPRoute rule that wins (see the module docs for the
    /// precedence). `sni` is ignored for TCP and UDP.
    ///
    /// The decision is [`Outcome::Forward`] with the listener, route and rule; draw the backend
    /// with [`Decision::choose_backend`] (`None`: the draw landed on an invalid backend, close
    /// the connection — TLSRoute/TCPRoute backendRefs: "connection rejection MUST respect
    /// weight"). Otherwise it is [`Outcome::NotFound`]: [`NotFound::NoListenerOnPort`] (no
    /// listener of the transport's protocol on the port), [`NotFound::NoListenerForSni`] (TLS
    /// listeners only for other server names) or [`NotFound::NoRule`] (no route matches);
    /// the proxy closes the connection (TLS, TCP) or drops the datagram (UDP).
    ///
    /// Linear in the port's listeners and the listener's rules; allocates only to lower-case
    /// a server name that is not lower-case already.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::outcome::Outcome;
    /// use gateway_core::route::L4Transport;
    /// use gateway_core::{Engine, EngineOptions, Target};
    /// let yaml = include_str!("../../../examples/l4/l4.yaml");
    /// let (_, router) =
    ///     Engine::load_router(yaml.as_bytes(), &Target::only_gateway(), &EngineOptions::default())?;
    /// let d = router.route_l4(L4Transport::Tls, 8443, Some("db.example.com"));
    /// assert_eq!(d.outcome(), Outcome::Forward);
    /// assert_eq!(d.route().map(|r| r.name), Some("db"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn route_l4(
        &self,
        transport: L4Transport,
        port: u16,
        sni: Option<&str>,
    ) -> Decision<'_, 'static> {
        let d = Decision::new(self);
        let sni = match transport {
            L4Transport::Tls => sni.map(canonical_sni),
            L4Transport::Tcp | L4Transport::Udp => None,
        };
        let sni = sni.as_deref();
        let mut on_port = false;
        let mut best: Option<(HostnameMatch, u16)> = None;
        for (index, l) in self.listeners.iter().enumerate() {
            if l.port != port || !transport.serves(l.protocol) {
                continue;
            }
            on_port = true;
            let Ok(index) = u16::try_from(index) else {
                break;
            };
            let rank = match transport {
                L4Transport::Tls => HostnameMatch::of(l.hostname.as_deref(), sni),
                // The first listener: a second TCP or UDP listener on the port conflicts.
                L4Transport::Tcp | L4Transport::Udp => Some(HostnameMatch::Any),
            };
            if let Some(rank) = rank
                && best.is_none_or(|(b, _)| rank > b)
            {
                best = Some((rank, index));
            }
        }
        let Some((_, listener)) = best else {
            return if on_port {
                d.fail(
                    Outcome::NotFound(NotFound::NoListenerForSni),
                    "no TLS listener of the port matches the server name",
                )
            } else {
                d.fail_owned(
                    Outcome::NotFound(NotFound::NoListenerOnPort),
                    format!(
                        "no {} listener on port {port}",
                        transport_protocol(transport)
                    ),
                )
            };
        };
        let mut d = d;
        d.listener = Some(listener);
        let Some(compiled) = self.listeners.get(usize::from(listener)) else {
            return d.fail(Outcome::NotFound(NotFound::NoRule), "no listener");
        };
        let mut found: Option<(HostnameMatch, u32, &RankKey)> = None;
        for (hostnames, rule, rank) in &compiled.l4 {
            let host_rank = if hostnames.is_empty() {
                Some(HostnameMatch::Any)
            } else {
                hostnames
                    .iter()
                    .filter_map(|h| HostnameMatch::of(Some(h), sni))
                    .max()
            };
            let Some(host_rank) = host_rank else { continue };
            // Greater hostname match first, then the smaller rank (older route, first rule).
            let better = found
                .as_ref()
                .is_none_or(|(h, _, r)| host_rank > *h || (host_rank == *h && rank < r));
            if better {
                found = Some((host_rank, *rule, rank));
            }
        }
        let Some((_, rule, _)) = found else {
            return d.fail(
                Outcome::NotFound(NotFound::NoRule),
                match transport {
                    L4Transport::Tls => "no TLSRoute of the listener matches the server name",
                    L4Transport::Tcp => "no TCPRoute attaches to the listener",
                    L4Transport::Udp => "no UDPRoute attaches to the listener",
                },
            );
        };
        d.rule = Some(rule);
        d.outcome = Outcome::Forward;
        d.reason = Cow::Borrowed("");
        d
    }
}

/// The listener protocol that serves `transport`, as the Gateway spells it.
fn transport_protocol(transport: L4Transport) -> &'static str {
    match transport {
        L4Transport::Tls => "TLS",
        L4Transport::Tcp => "TCP",
        L4Transport::Udp => "UDP",
    }
}

/// The server name as hostnames are compared: lower-case, without one trailing dot.
fn canonical_sni(sni: &str) -> Cow<'_, str> {
    let sni = sni.strip_suffix('.').unwrap_or(sni);
    if sni.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(sni.to_ascii_lowercase())
    } else {
        Cow::Borrowed(sni)
    }
}

#[cfg(test)]
mod tests;
