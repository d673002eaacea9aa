//! Header edits (RequestHeaderModifier, ResponseHeaderModifier, CORS headers) and request edits
//! (path and authority), with their application to `http` types and to plain pairs.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::str::FromStr;

use http::header::{CONNECTION, Entry, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};
use http::uri::{Authority, PathAndQuery, Uri};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::FilterError;

/// Edits of a header section: which headers to overwrite, append to, and remove.
///
/// Names are lower-case and compared case-insensitively ("Name matching MUST be
/// case-insensitive"). The edits of several filters are composed as they are collected, so
/// that each name appears in at most one of the three lists and the order in which a proxy
/// applies them does not matter:
///
/// | earlier \ later | set `w`   | add `w`        | remove |
/// |-----------------|-----------|----------------|--------|
/// | set `v`         | set `w`   | set `v,w`      | remove |
/// | add `v`         | set `w`   | add `v,w`      | remove |
/// | remove          | set `w`   | set `w`        | remove |
///
/// Semantics (Gateway API HTTPHeaderFilter):
/// - `set`: "Set overwrites the request with the given header (name, value)": every value of
///   the name is replaced by this one;
/// - `add`: "It appends to any existing values associated with the header name": with the
///   spec's example (`my-header: foo`, add `my-header: bar,baz` → `my-header: foo,bar,baz`),
///   the value is appended to the existing (last) value after a single `,`, no space; when the
///   header is absent it is added;
/// - `remove`: every value of the name is removed.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    /// `(name, value)`: replace every value of `name` with `value`.
    pub set: Vec<(String, String)>,
    /// `(name, value)`: append `value` to the existing value after `,`, or add the header.
    pub add: Vec<(String, String)>,
    /// Names whose every value is removed.
    pub remove: Vec<String>,
}

impl HeaderEdits {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }

    /// Applies the edits to an `http` header map. Entries whose name or value `http` cannot
    /// represent are skipped ([`plan`](crate::plan()) never produces such entries).
    #[inline]
    pub fn apply(&self, headers: &mut HeaderMap) {
        // Most rules edit no headers: the check is inlined into the caller.
        if !self.is_empty() {
            self.apply_edits(headers);
        }
    }

    fn apply_edits(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.set {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        for (name, value) in &self.add {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            match headers.entry(name) {
                Entry::Occupied(mut entry) => {
                    if let Some(last) = entry.iter_mut().last() {
                        let mut joined = Vec::with_capacity(last.len() + 1 + value.len());
                        joined.extend_from_slice(last.as_bytes());
                        joined.push(b',');
                        joined.extend_from_slice(value.as_bytes());
                        if let Ok(v) = HeaderValue::from_bytes(&joined) {
                            *last = v;
                        }
                    }
                }
                Entry::Vacant(entry) => {
                    if let Ok(v) = HeaderValue::from_str(value) {
                        entry.insert(v);
                    }
                }
            }
        }
        for name in &self.remove {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                headers.remove(name);
            }
        }
    }

    /// Applies the edits to an ordered list of `(name, value)` pairs and returns the complete
    /// list (what is sent upstream, or to the client). A set header takes the place of the
    /// first field it replaces; an added value is appended to the last field of that name; new
    /// headers go last.
    pub fn apply_to_pairs(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = headers.to_vec();
        for (name, value) in &self.set {
            match out.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some(first) => {
                    let mut i = 0;
                    out.retain(|(n, _)| {
                        let keep = i == first || !n.eq_ignore_ascii_case(name);
                        i += 1;
                        keep
                    });
                    if let Some(slot) = out.get_mut(first) {
                        *slot = (name.clone(), value.clone());
                    }
                }
                None => out.push((name.clone(), value.clone())),
            }
        }
        for (name, value) in &self.add {
            match out
                .iter_mut()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(value);
                }
                None => out.push((name.clone(), value.clone())),
            }
        }
        out.retain(|(n, _)| !self.remove.iter().any(|r| r.eq_ignore_ascii_case(n)));
        out
    }

    /// Applies `set`, `add` and `remove` lists after the edits collected so far (each name is
    /// in at most one list, so the order of the lists does not matter).
    pub(crate) fn compose<N: AsRef<str>, V: AsRef<str>>(
        &mut self,
        set: &[(N, V)],
        add: &[(N, V)],
        remove: &[N],
    ) {
        for (name, value) in set {
            self.push_set(name.as_ref(), value.as_ref());
        }
        for (name, value) in add {
            self.push_add(name.as_ref(), value.as_ref());
        }
        for name in remove {
            self.push_remove(name.as_ref());
        }
    }

    /// Overwrites `name` (after the edits so far).
    pub(crate) fn push_set(&mut self, name: &str, value: &str) {
        self.add.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.remove.retain(|n| !n.eq_ignore_ascii_case(name));
        match self
            .set
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => value.clone_into(v),
            None => self.set.push((name.to_ascii_lowercase(), value.to_owned())),
        }
    }

    /// Appends to `name` (after the edits so far).
    pub(crate) fn push_add(&mut self, name: &str, value: &str) {
        if let Some((_, v)) = self
            .set
            .iter_mut()
            .chain(self.add.iter_mut())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            v.push(',');
            v.push_str(value);
            return;
        }
        if let Some(i) = self
            .remove
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
        {
            // Removed, then added: the header ends up with exactly this value.
            self.remove.remove(i);
            self.set.push((name.to_ascii_lowercase(), value.to_owned()));
            return;
        }
        self.add.push((name.to_ascii_lowercase(), value.to_owned()));
    }

    /// Removes `name` (after the edits so far).
    pub(crate) fn push_remove(&mut self, name: &str) {
        self.set.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.add.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if !self.remove.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            self.remove.push(name.to_ascii_lowercase());
        }
    }
}

/// Turns a request as received, over HTTP/1.x or HTTP/2, into the head an HTTP/1.1 backend
/// must receive: the routed authority in `Host`, an origin-form target, version HTTP/1.1, and
/// no field that belongs to the client's connection ([`remove_hop_by_hop`]).
///
/// When the URI carries an authority (an HTTP/2 `:authority`, or an HTTP/1.x absolute-form
/// target), it replaces any `Host` header. That is the authority the router matched (see
/// [`request::authority`](crate::request::authority): for an absolute-form target RFC 9112
/// section 3.2.2 says a server "MUST ignore the received Host header field"), so forwarding
/// the client's own `Host` instead would let the backend see another host than the one routed
/// and authorized. Otherwise the `Host` header is forwarded as received.
///
/// Every server that forwards `http` requests to HTTP/1.1 backends needs this step. Call it
/// before [`RequestEdits::apply`], which then sets `Host` for a URLRewrite hostname. Costs one
/// header insertion when the URI has an authority, plus [`remove_hop_by_hop`]; the path and
/// query are not copied.
///
/// # Examples
/// ```
/// use gateway_core::filter::for_http1_backend;
///
/// let mut req = http::Request::builder()
///     .version(http::Version::HTTP_2)
///     .uri("https://shop.example.com/cart?id=1")
///     .header("te", "trailers")
///     .body(())
///     .unwrap();
/// for_http1_backend(&mut req);
/// assert_eq!(req.uri(), "/cart?id=1");
/// assert_eq!(req.headers()["host"], "shop.example.com");
/// assert_eq!(req.version(), http::Version::HTTP_11);
/// assert!(req.headers().get("te").is_none());
/// ```
pub fn for_http1_backend<B>(req: &mut http::Request<B>) {
    let authority = req.uri().authority();
    if let Some(host) = authority.and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
        req.headers_mut().insert(HOST, host);
    }
    let origin = match req.uri().path_and_query() {
        Some(path_and_query) => Uri::from(path_and_query.clone()),
        None => Uri::from_static("/"),
    };
    *req.uri_mut() = origin;
    *req.version_mut() = http::Version::HTTP_11;
    remove_hop_by_hop(req.headers_mut());
}

/// [`for_http1_backend`] for an HTTP/2 backend (h2c or ALPN `h2`): the same head, but version
/// HTTP/2 and `te: trailers` kept when the client sent it, the one `te` value HTTP/2 allows
/// (RFC 9113 section 8.2.2), which gRPC clients send. The routed authority stays in `Host`
/// until the request is sent, so that [`RequestEdits::apply`] finds it where it is for HTTP/1.1;
/// the HTTP/2 client then carries it as `:authority` (RFC 9113 section 8.3.1: an intermediary
/// "MUST construct an `:authority` pseudo-header field using the authority information from
/// the control data of the original request").
///
/// # Examples
/// ```
/// use gateway_core::filter::for_http2_backend;
///
/// let mut req = http::Request::builder()
///     .version(http::Version::HTTP_2)
///     .uri("http://grpc.example.com/echo.Echo/Echo")
///     .header("te", "trailers")
///     .header("connection", "close")
///     .body(())
///     .unwrap();
/// for_http2_backend(&mut req);
/// assert_eq!(req.uri(), "/echo.Echo/Echo");
/// assert_eq!(req.headers()["host"], "grpc.example.com");
/// assert_eq!(req.version(), http::Version::HTTP_2);
/// assert_eq!(req.headers()["te"], "trailers");
/// assert!(req.headers().get("connection").is_none());
/// ```
pub fn for_http2_backend<B>(req: &mut http::Request<B>) {
    let trailers = req.headers().get_all(TE).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
        })
    });
    for_http1_backend(req);
    *req.version_mut() = http::Version::HTTP_2;
    if trailers {
        req.headers_mut()
            .insert(TE, HeaderValue::from_static("trailers"));
    }
}

/// The fields that describe one connection, besides those `Connection` names (RFC 9110
/// section 7.6.1, plus the obsolete `keep-alive` and `proxy-connection`).
const HOP_BY_HOP: [HeaderName; 7] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

/// Removes the header fields that belong to one connection and must not be forwarded: every
/// field `Connection` names, then `connection`, `keep-alive`, `proxy-connection`, `te`,
/// `trailer`, `transfer-encoding` and `upgrade`.
///
/// RFC 9110 section 7.6.1: "a proxy or gateway MUST parse a received Connection header field
/// before a message is forwarded and, for each connection-option in this field, remove any
/// header or trailer field(s) from the message with the same name as the connection-option,
/// and then remove the Connection header field itself". A proxy calls this on the request it
/// forwards and on the response it returns.
///
/// Two choices: `host` is never removed because `Connection` names it (the backend must see
/// the authority the request was routed on), and a proxy should call this on the client's
/// request *before* [`RequestEdits::apply`], so that `Connection` cannot remove a header a
/// filter or the auth service set. Costs one lookup per listed name; allocates only when
/// `Connection` names other fields.
///
/// # Examples
/// ```
/// use gateway_core::filter::remove_hop_by_hop;
///
/// let mut req = http::Request::builder()
///     .header("host", "example.com")
///     .header("connection", "keep-alive, x-trace, host")
///     .header("keep-alive", "timeout=5")
///     .header("x-trace", "1")
///     .header("x-kept", "1")
///     .body(())
///     .unwrap();
/// remove_hop_by_hop(req.headers_mut());
/// let names: Vec<&str> = req.headers().keys().map(|n| n.as_str()).collect();
/// assert_eq!(names, ["host", "x-kept"]);
/// ```
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .filter(|n| *n != HOST)
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Headers a filter may not edit: rewriting message framing makes the gateway and the next
/// hop disagree on where a message ends (request smuggling; SECURITY.md, differentials).
const FRAMING: [&str; 2] = ["content-length", "transfer-encoding"];

/// A header name a filter may edit: an RFC 9110 token, not a framing header.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(format!("header name {name:?} is not a valid token"));
    }
    if FRAMING.iter().any(|f| f.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "header {name:?} frames the message and cannot be edited"
        ));
    }
    Ok(())
}

/// A header a filter may write: a valid name, and a value without control characters other
/// than HTAB (no CR, LF or NUL: SECURITY.md rule 4).
pub(super) fn check_header(name: &str, value: &str) -> Result<(), String> {
    check_name(name)?;
    if !is_field_value(value) {
        return Err(format!(
            "the value of header {name:?} contains control characters"
        ));
    }
    Ok(())
}

/// `field-value` without CTLs (HTAB allowed); obs-text is allowed.
pub(crate) fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Edits of the forwarded request.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestEdits {
    /// Header edits: RequestHeaderModifier filters, rule then backendRef, composed in order.
    pub headers: HeaderEdits,
    /// The path to forward, without query (the query is forwarded as received). Set by a
    /// URLRewrite path modifier, and also whenever the received path is not the canonical
    /// path the request was routed on, so that the backend sees what was matched
    /// (SECURITY.md rule 1). `None`: forward the received path unchanged.
    pub path: Option<String>,
    /// The new `Host` (and `:authority`), from a URLRewrite hostname.
    pub authority: Option<String>,
}

impl RequestEdits {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.path.is_none() && self.authority.is_none()
    }

    /// Applies the edits to an `http` request: the path (keeping the query), the headers, then
    /// the authority (the URI's authority when it has one, and the `Host` header unless the
    /// request carries its authority only in the URI), so that a URLRewrite hostname wins over
    /// a header modifier naming `host`.
    ///
    /// # Errors
    /// [`FilterError`] when the new path or authority does not form a valid URI; the request is
    /// then left unchanged.
    #[inline]
    pub fn apply<B>(&self, req: &mut http::Request<B>) -> Result<(), FilterError> {
        // Most plans edit nothing: the check is inlined into the caller.
        if self.is_empty() {
            return Ok(());
        }
        self.apply_edits(req)
    }

    fn apply_edits<B>(&self, req: &mut http::Request<B>) -> Result<(), FilterError> {
        let mut uri: Option<Uri> = None;
        if let Some(path) = &self.path {
            let pq = match req.uri().query() {
                Some(q) => format!("{path}?{q}"),
                None => path.clone(),
            };
            let pq =
                PathAndQuery::from_str(&pq).map_err(|_| FilterError::InvalidPath(path.clone()))?;
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            uri = Some(Uri::from_parts(parts).map_err(|_| FilterError::InvalidPath(path.clone()))?);
        }
        // `(Host value, whether the URI carries the authority)`.
        let mut host: Option<(HeaderValue, bool)> = None;
        if let Some(authority) = &self.authority {
            let invalid = || FilterError::InvalidAuthority(authority.clone());
            let parsed = Authority::from_str(authority).map_err(|_| invalid())?;
            let value = HeaderValue::from_str(authority).map_err(|_| invalid())?;
            let base = uri.as_ref().unwrap_or(req.uri());
            let in_uri = base.authority().is_some();
            if in_uri {
                let mut parts = base.clone().into_parts();
                parts.authority = Some(parsed);
                uri = Some(Uri::from_parts(parts).map_err(|_| invalid())?);
            }
            host = Some((value, in_uri));
        }
        if let Some(uri) = uri {
            *req.uri_mut() = uri;
        }
        self.headers.apply(req.headers_mut());
        if let Some((value, in_uri)) = host {
            // HTTP/1 carries the authority in `Host`; HTTP/2 in `:authority` (the URI), with a
            // `Host` only when there is one (sent by the client or set by a filter), which must
            // then agree with it.
            if !in_uri || req.headers().contains_key(HOST) {
                req.headers_mut().insert(HOST, value);
            }
        }
        Ok(())
    }
}
