//! Session persistence (Gateway API `sessionPersistence`, GEP-1619) as a decision: the typed
//! policy of a rule, and the opaque token that pins a client to an endpoint.
//!
//! Sessions pin to an *endpoint*, which the core does not know: the proxy chooses the endpoint
//! (an address of the drawn backend), and the core hands back the token and the cookie or
//! header that carries it ([`Session::issue`]). On a later request the core reads the token
//! back ([`Session::find`], [`Session::lookup`]) and says which backendRef and endpoint it
//! pins ([`SessionPin`]); the proxy forwards there while that endpoint is one of the backend's
//! live endpoints, and chooses (and issues) again otherwise.
//!
//! The token is `g1!<scope>!<backend>!<index>!<issued>!<used>!<endpoint>!<check>`:
//! - `scope`: a stable hash of the route's kind, namespace, name and the rule's name (or
//!   index), so a token issued for one rule is refused by every other ("applying session
//!   persistence configuration to a route rule MUST NOT affect traffic for other routes or
//!   route rules");
//! - `backend` and `index`: the backendRef's position in the rule and a stable hash of its
//!   Service port (`namespace/name:port`); a token pins while that backendRef still names that
//!   Service port, whatever its weight ("the persistence to a single backend MUST be
//!   maintained across services, even if the weight is set to 0");
//! - `issued`, `used`: Unix seconds when the session began and when it was last renewed, for
//!   `absoluteTimeout` and `idleTimeout` (the caller passes the time, as to the TLS verifier);
//! - `endpoint`: the proxy's endpoint string, at most [`MAX_ENDPOINT`] bytes of
//!   `[A-Za-z0-9.:[]_-]`;
//! - `check`: a checksum over the rest, so a damaged or edited token is refused.
//!
//! Nothing in the token depends on the router instance: a router rebuilt from the same
//! configuration accepts the tokens of the previous one.
//!
//! The token is not signed. A client can forge a pin to any endpoint string, or stretch its
//! session's times: the pin only says where the client asks to go. The proxy MUST forward to a
//! pinned endpoint only when it is a live endpoint of the pinned backend, so a forged token
//! chooses among endpoints the client could have been sent to anyway, and nothing more.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use super::{Reason, is_tchar, parse_duration};
use crate::api::{PathMatchType, SessionPersistence, SessionPersistenceType};
use crate::request::Headers;

/// Longest endpoint string a token carries, in bytes.
pub const MAX_ENDPOINT: usize = 255;

/// Longest presented token read, in bytes: longer values are refused without parsing.
const MAX_TOKEN: usize = 512;

/// The session persistence of one rule, compiled when the router is built.
///
/// A rule's own `sessionPersistence` overrides its backends' (GEP-1619: "Session persistence
/// configuration specified in a route rule SHALL override equivalent configuration" attached to
/// the backend). Otherwise the policy of the rule's first backendRef (in rule order) whose
/// Service has an accepted XBackendTrafficPolicy with `sessionPersistence` applies to every
/// backend of the rule (GEP-1619 lets the implementation "apply session persistence to all
/// backends equally").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    kind: SessionKind,
    name: Box<str>,
    absolute_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    source: SessionSource,
    scope: u64,
    /// Per backendRef (by index): the hash of its Service port, `None` when it is invalid.
    backends: Box<[Option<u64>]>,
    /// Per match (by index): the cookie `Path`; empty when the policy comes from a Service.
    paths: Box<[Box<str>]>,
}

/// How the session token travels.
#[allow(clippy::exhaustive_enums)] // The API's two session types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A cookie (`type: Cookie`, the default), with its lifetime.
    Cookie(CookieLifetime),
    /// A header (`type: Header`): the response carries it, the client sends it back.
    Header,
}

/// `cookieConfig.lifetimeType`.
#[allow(clippy::exhaustive_enums)] // The API's two lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieLifetime {
    /// `Session` (the default): no `Max-Age`; the gateway enforces `absoluteTimeout`.
    Session,
    /// `Permanent`: `Max-Age` is `absoluteTimeout`.
    Permanent,
}

/// Where a rule's session persistence comes from.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionSource {
    /// The rule's own `sessionPersistence`.
    Rule,
    /// The XBackendTrafficPolicy (`namespace/name`) of one of the rule's backend Services.
    Policy(Box<str>),
}

/// A session's pin, read from a valid token.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPin<'a> {
    /// The backendRef's index in the rule (valid even when its weight is 0).
    pub backend_index: usize,
    /// The endpoint the proxy chose when it issued the token.
    pub endpoint: &'a str,
    /// When the session began (Unix seconds); [`Session::renew`] keeps it.
    pub issued: u64,
}

impl<'a> SessionPin<'a> {
    /// A pin as [`Session::lookup`] returned it, rebuilt from its parts (for a binding that
    /// hands the parts across a boundary and back to [`Session::renew`]).
    #[inline]
    pub fn new(backend_index: usize, endpoint: &'a str, issued: u64) -> Self {
        Self {
            backend_index,
            endpoint,
            issued,
        }
    }
}

/// The response header that carries a session token to the client.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetSession {
    /// `set-cookie`, or the session's header name.
    pub name: String,
    /// The full `Set-Cookie` value (with its attributes), or the token.
    pub value: String,
}

/// A rule's session persistence for one request: the policy with the cookie attributes that
/// depend on the matched path and on the connection.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session<'r> {
    /// The rule's policy.
    pub policy: &'r SessionPolicy,
    /// The cookie `Path`: from the matched path match for a rule's own policy, none for a
    /// Service's (GEP-1619: with a policy attached to a service "the `Path` attribute MUST be
    /// left unset").
    pub path: Option<&'r str>,
    /// Whether the cookie is `Secure`: the request came over TLS.
    pub secure: bool,
}

/// Where a session's scope comes from: the route and the rule.
pub(crate) struct SessionScope<'a> {
    pub(crate) route_kind: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) name: &'a str,
    pub(crate) rule_name: Option<&'a str>,
    pub(crate) rule_index: usize,
}

impl SessionPolicy {
    /// Compiles `wire` for one rule. `backends` holds each backendRef's Service port
    /// (`None` when invalid); `paths` the cookie Path per match (left empty for a Service's
    /// policy).
    pub(crate) fn compile<'b>(
        wire: &SessionPersistence,
        source: SessionSource,
        scope: &SessionScope<'_>,
        backends: impl Iterator<Item = Option<(&'b str, &'b str, u16)>>,
        paths: Box<[Box<str>]>,
    ) -> Result<Self, Reason> {
        let scope_hash = {
            let mut h = Fnv::new();
            h.field(scope.route_kind.as_bytes());
            h.field(scope.namespace.as_bytes());
            h.field(scope.name.as_bytes());
            match scope.rule_name {
                Some(name) => h.field(name.as_bytes()),
                None => h.field(format!("#{}", scope.rule_index).as_bytes()),
            }
            h.finish()
        };
        let kind = match &wire.type_ {
            SessionPersistenceType::Cookie => {
                let lifetime = wire
                    .cookie_config
                    .as_ref()
                    .and_then(|c| c.lifetime_type.as_deref());
                SessionKind::Cookie(match lifetime {
                    None | Some("Session") => CookieLifetime::Session,
                    Some("Permanent") => CookieLifetime::Permanent,
                    Some(other) => {
                        return Err(Cow::Owned(format!(
                            "sessionPersistence.cookieConfig.lifetimeType {other:?} is not \
                             Session or Permanent"
                        )));
                    }
                })
            }
            SessionPersistenceType::Header => SessionKind::Header,
            other => {
                return Err(Cow::Owned(format!(
                    "sessionPersistence.type {:?} is not Cookie or Header",
                    other.as_str()
                )));
            }
        };
        // GEP-1619: "If `SessionName` is not specified, then a unique cookie name should be
        // generated": one per rule, from its scope.
        let name: Box<str> = match wire.session_name.as_deref() {
            Some(name) if !name.is_empty() && name.bytes().all(is_tchar) => name.into(),
            Some(name) => {
                return Err(Cow::Owned(format!(
                    "sessionPersistence.sessionName {name:?} is not a valid cookie or header name"
                )));
            }
            None => format!("gw-session-{scope_hash:016x}").into(),
        };
        let timeout = |field: &str, value: Option<&String>| -> Result<Option<Duration>, Reason> {
            value
                .map(|v| {
                    parse_duration(v).ok_or_else(|| {
                        Cow::Owned(format!(
                            "sessionPersistence.{field} {v:?} is not a Gateway API duration"
                        ))
                    })
                })
                .transpose()
        };
        let absolute_timeout = timeout("absoluteTimeout", wire.absolute_timeout.as_ref())?;
        let idle_timeout = timeout("idleTimeout", wire.idle_timeout.as_ref())?;
        if kind == SessionKind::Cookie(CookieLifetime::Permanent) && absolute_timeout.is_none() {
            return Err(Cow::Borrowed(
                "sessionPersistence.absoluteTimeout is required when cookieConfig.lifetimeType \
                 is Permanent",
            ));
        }
        let backends = backends
            .map(|b| b.map(|(namespace, name, port)| backend_hash(namespace, name, port)))
            .collect();
        let paths = match source {
            SessionSource::Rule => paths,
            SessionSource::Policy(_) => Box::default(),
        };
        Ok(Self {
            kind,
            name,
            absolute_timeout,
            idle_timeout,
            source,
            scope: scope_hash,
            backends,
            paths,
        })
    }

    /// Cookie or header, and the cookie's lifetime.
    #[inline]
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The cookie or header name: `sessionName`, or `gw-session-<16 hex digits>` unique to
    /// the rule when it is unset.
    #[inline]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `absoluteTimeout`: the session ends this long after it began.
    #[inline]
    pub fn absolute_timeout(&self) -> Option<Duration> {
        self.absolute_timeout
    }

    /// `idleTimeout`: the session ends when unused for this long.
    #[inline]
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// Where the configuration comes from.
    #[inline]
    pub fn source(&self) -> &SessionSource {
        &self.source
    }

    /// The cookie `Path` for the rule's match `match_index` (the match's path value; for a
    /// regular expression, its longest literal prefix up to a `/`); `None` for a Service's
    /// policy.
    #[inline]
    pub fn cookie_path(&self, match_index: usize) -> Option<&str> {
        self.paths.get(match_index).map(|p| &**p)
    }
}

impl<'r> Session<'r> {
    /// The pin of the first valid token the request presents: for a cookie session, in its
    /// `Cookie` headers (`name=value` pairs separated by `;`, the value optionally quoted);
    /// for a header session, in the values of its header. See [`Session::lookup`].
    ///
    /// Linear in the request's cookies; no allocation.
    pub fn find<'a>(&self, headers: &Headers<'a>, now_unix: u64) -> Option<SessionPin<'a>> {
        let mut pin = None;
        let name = self.policy.name.as_bytes();
        match self.policy.kind {
            SessionKind::Cookie(_) => {
                headers.for_each_value("cookie", |value| {
                    for pair in value.split(|&b| b == b';') {
                        let pair = pair.trim_ascii();
                        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                            continue;
                        };
                        let (n, v) = pair.split_at(eq);
                        if n.trim_ascii() != name {
                            continue;
                        }
                        let v = v.get(1..).unwrap_or_default().trim_ascii();
                        let v = v
                            .strip_prefix(b"\"")
                            .and_then(|v| v.strip_suffix(b"\""))
                            .unwrap_or(v);
                        pin = std::str::from_utf8(v)
                            .ok()
                            .and_then(|v| self.lookup(Some(v), now_unix));
                        if pin.is_some() {
                            return false;
                        }
                    }
                    true
                });
            }
            SessionKind::Header => {
                headers.for_each_value(&self.policy.name, |value| {
                    pin = std::str::from_utf8(value.trim_ascii())
                        .ok()
                        .and_then(|v| self.lookup(Some(v), now_unix));
                    pin.is_none()
                });
            }
        }
        pin
    }

    /// The pin of a presented token (a cookie's or the header's value), or `None` when there is
    /// none or it is not valid for this rule at `now_unix` (Unix seconds): malformed, longer
    /// than the longest token, damaged, issued for another rule, for a backendRef that is now
    /// another Service port or invalid, or expired (`absoluteTimeout` since it began,
    /// `idleTimeout` since it was last issued or renewed). Never panics; constant work for any
    /// input (bounded by the token length limit).
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::filter::Session;
    /// # fn f(session: Session<'_>) {
    /// let set = session.issue(0, "10.0.0.7:8080", 1_000).unwrap();
    /// # }
    /// ```
    pub fn lookup<'a>(&self, presented: Option<&'a str>, now_unix: u64) -> Option<SessionPin<'a>> {
        let token = presented?;
        if token.len() > MAX_TOKEN {
            return None;
        }
        let (body, check) = token.rsplit_once('!')?;
        if hex_u64(check)? != checksum(body) {
            return None;
        }
        let mut parts = body.split('!');
        if parts.next()? != "g1" {
            return None;
        }
        let scope = hex_u64(parts.next()?)?;
        let backend = hex_u64(parts.next()?)?;
        let index: usize = decimal(parts.next()?)?.try_into().ok()?;
        let issued = decimal(parts.next()?)?;
        let used = decimal(parts.next()?)?;
        let endpoint = parts.next()?;
        if parts.next().is_some() || !is_endpoint(endpoint) || scope != self.policy.scope {
            return None;
        }
        if *self.policy.backends.get(index)? != Some(backend) {
            return None;
        }
        let expired = |since: u64, limit: Option<Duration>| {
            limit.is_some_and(|limit| Duration::from_secs(now_unix.saturating_sub(since)) >= limit)
        };
        if expired(issued, self.policy.absolute_timeout) || expired(used, self.policy.idle_timeout)
        {
            return None;
        }
        Some(SessionPin {
            backend_index: index,
            endpoint,
            issued,
        })
    }

    /// The response header that starts a session pinned to `endpoint` of backendRef
    /// `backend_index`, at `now_unix` (Unix seconds); `None` when the backendRef is not a
    /// valid backend of the rule or the endpoint is empty, longer than [`MAX_ENDPOINT`] or not
    /// made of `[A-Za-z0-9.:[]_-]`.
    ///
    /// For a cookie: `Set-Cookie: <name>=<token>; Path=<path>; Max-Age=<absoluteTimeout in
    /// seconds, Permanent only>; Secure (over TLS); HttpOnly; SameSite=Strict` (GEP-1619: the
    /// security attributes follow "the security-by-default principle"; `Secure` only over TLS,
    /// where a browser keeps it). For a header: the header and the token.
    pub fn issue(&self, backend_index: usize, endpoint: &str, now_unix: u64) -> Option<SetSession> {
        self.issued(backend_index, endpoint, now_unix, now_unix)
    }

    /// The header that keeps `pin`'s session alive at `now_unix`: the same pin and start
    /// time, with `now_unix` as the time of last use. A proxy sends it with the response when
    /// the rule has an `idleTimeout` (re-issue each response), and may always.
    pub fn renew(&self, pin: &SessionPin<'_>, now_unix: u64) -> Option<SetSession> {
        self.issued(pin.backend_index, pin.endpoint, pin.issued, now_unix)
    }

    fn issued(&self, index: usize, endpoint: &str, issued: u64, used: u64) -> Option<SetSession> {
        let backend = (*self.policy.backends.get(index)?)?;
        if !is_endpoint(endpoint) {
            return None;
        }
        let mut token = format!(
            "g1!{:016x}!{backend:016x}!{index}!{issued}!{used}!{endpoint}",
            self.policy.scope
        );
        let check = checksum(&token);
        let _ = write!(token, "!{check:016x}");
        Some(match self.policy.kind {
            SessionKind::Header => SetSession {
                name: self.policy.name.to_ascii_lowercase(),
                value: token,
            },
            SessionKind::Cookie(lifetime) => {
                let mut value = format!("{}={token}", self.policy.name);
                if let Some(path) = self.path {
                    let _ = write!(value, "; Path={path}");
                }
                if let (CookieLifetime::Permanent, Some(max_age)) =
                    (lifetime, self.policy.absolute_timeout)
                {
                    let _ = write!(value, "; Max-Age={}", max_age.as_secs().max(1));
                }
                if self.secure {
                    value.push_str("; Secure");
                }
                value.push_str("; HttpOnly; SameSite=Strict");
                SetSession {
                    name: "set-cookie".to_owned(),
                    value,
                }
            }
        })
    }
}

/// The cookie Path of a path match: its value for `Exact` and `PathPrefix`, and for a regular
/// expression its longest literal prefix cut after the last `/` (GEP-1619: "the `Path` should
/// be set to the longest non-regex prefix").
pub(crate) fn cookie_path(match_type: &PathMatchType, value: &str) -> Box<str> {
    let path = match match_type {
        PathMatchType::RegularExpression => {
            let literal = value
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_~".contains(c)))
                .map_or(value, |end| value.get(..end).unwrap_or(""));
            match literal.rfind('/') {
                Some(0) | None => "/",
                Some(slash) => literal.get(..slash).unwrap_or("/"),
            }
        }
        _ => value,
    };
    // A Path attribute value may not hold `;` or controls (RFC 6265 `path-value`).
    if path.starts_with('/') && path.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';') {
        path.into()
    } else {
        "/".into()
    }
}

fn is_endpoint(endpoint: &str) -> bool {
    !endpoint.is_empty()
        && endpoint.len() <= MAX_ENDPOINT
        && endpoint
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:[]_-".contains(&b))
}

fn hex_u64(s: &str) -> Option<u64> {
    if s.len() != 16 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn backend_hash(namespace: &str, name: &str, port: u16) -> u64 {
    let mut h = Fnv::new();
    h.field(namespace.as_bytes());
    h.field(name.as_bytes());
    h.field(&port.to_be_bytes());
    h.finish()
}

fn checksum(body: &str) -> u64 {
    let mut h = Fnv::new();
    h.field(b"gateway-session");
    h.field(body.as_bytes());
    h.finish()
}

/// FNV-1a (64 bits): a hash fixed by its definition, so tokens outlive the process and the
/// Rust version (the standard library's hashers promise neither).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    /// Hashes `bytes` and a separator, so `("ab", "c")` and `("a", "bc")` differ.
    fn field(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().chain(&[0xff]) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests;
