//! The request as the router sees it: a borrowed view of what the proxy received, and its
//! canonical form (host and path) that every later stage uses.
//!
//! One canonicalization step serves routing, the external-auth check and what is forwarded,
//! so that no two components read the same bytes differently (see SECURITY.md).

pub mod authority;
pub mod field;
pub mod normalize;

/// The HTTP version a request arrived with.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    #[default]
    Http11,
    /// HTTP/2.
    Http2,
    /// HTTP/3.
    Http3,
}

/// The request headers, borrowed in whatever form the proxy holds them, in order and with
/// duplicates.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub enum Headers<'a> {
    /// `(name, value)` pairs as received.
    Pairs(&'a [(&'a str, &'a str)]),
    /// Byte pairs (names and values need not be UTF-8).
    Bytes(&'a [(&'a [u8], &'a [u8])]),
    /// An `http` crate header map.
    Map(&'a http::HeaderMap),
}

impl<'a> Headers<'a> {
    /// No headers.
    pub const EMPTY: Headers<'static> = Headers::Pairs(&[]);

    /// Every value of header `name` (compared case-insensitively), in order, without
    /// allocating.
    pub fn get_all(&self, name: &'a str) -> HeaderValues<'a> {
        let inner = match *self {
            Headers::Pairs(pairs) => ValuesInner::Pairs(pairs.iter()),
            Headers::Bytes(pairs) => ValuesInner::Bytes(pairs.iter()),
            Headers::Map(map) => ValuesInner::Map(map.get_all(name).iter()),
        };
        HeaderValues { name, inner }
    }

    /// Every Host header line, in order: [`Headers::get_all`] for `host`, without parsing the
    /// name into an `http::HeaderName` on every request.
    pub(crate) fn hosts(&self) -> HeaderValues<'a> {
        match *self {
            Headers::Map(map) => HeaderValues {
                name: "host",
                inner: ValuesInner::Map(map.get_all(http::header::HOST).iter()),
            },
            _ => self.get_all("host"),
        }
    }

    /// Calls `f` with each value of `name`, in order, stopping when it returns false; returns
    /// how many values were seen. Allocation-free, unlike [`Headers::get_all`].
    pub fn for_each_value(&self, name: &str, mut f: impl FnMut(&'a [u8]) -> bool) -> usize {
        let mut n = 0;
        match *self {
            Headers::Pairs(pairs) => {
                for (k, v) in pairs {
                    if k.eq_ignore_ascii_case(name) {
                        n += 1;
                        if !f(v.as_bytes()) {
                            break;
                        }
                    }
                }
            }
            Headers::Bytes(pairs) => {
                for (k, v) in pairs {
                    if k.eq_ignore_ascii_case(name.as_bytes()) {
                        n += 1;
                        if !f(v) {
                            break;
                        }
                    }
                }
            }
            Headers::Map(map) => {
                for v in map.get_all(name) {
                    n += 1;
                    if !f(v.as_bytes()) {
                        break;
                    }
                }
            }
        }
        n
    }

    /// Every header, in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&'a [u8], &'a [u8])> + 'a> {
        match *self {
            Headers::Pairs(pairs) => {
                Box::new(pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())))
            }
            Headers::Bytes(pairs) => Box::new(pairs.iter().map(|(k, v)| (*k, *v))),
            Headers::Map(map) => Box::new(
                map.iter()
                    .map(|(k, v)| (k.as_str().as_bytes(), v.as_bytes())),
            ),
        }
    }

    /// How many header fields.
    pub fn len(&self) -> usize {
        match *self {
            Headers::Pairs(p) => p.len(),
            Headers::Bytes(p) => p.len(),
            Headers::Map(m) => m.len(),
        }
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the router needs from the headers, in one pass: the field count, the section size
    /// ([`Headers::section_len`]), the first Host line with whether there was another, and the
    /// first field the request may not carry ([`FieldProblem`]).
    pub(crate) fn summary(&self) -> HeaderSummary<'a> {
        fn note<'a>(summary: &mut HeaderSummary<'a>, name: &[u8], value: Host<'a>) {
            match name.len() {
                4 if name.eq_ignore_ascii_case(b"host") => {
                    if summary.host.is_none() {
                        summary.host = Some(value);
                    } else {
                        summary.hosts += 1;
                    }
                }
                13 if name.eq_ignore_ascii_case(b"authorization") => summary.singletons.0 += 1,
                14 if name.eq_ignore_ascii_case(b"content-length") => summary.singletons.1 += 1,
                _ => {}
            }
        }
        // Names and values as bytes of unknown origin: checked (an `http::HeaderMap` holds
        // only valid ones).
        fn check(summary: &mut HeaderSummary<'_>, name: &[u8], value: &[u8]) {
            if summary.problem.is_none() {
                if !field::name_is_valid(name) {
                    summary.problem = Some(FieldProblem::Name);
                } else if field::value_has_cr_lf_nul(value) {
                    summary.problem = Some(FieldProblem::Value);
                }
            }
        }
        let mut summary = HeaderSummary {
            fields: self.len(),
            section_len: 0,
            host: None,
            hosts: 0,
            singletons: (0, 0),
            problem: None,
        };
        match *self {
            Headers::Pairs(pairs) => {
                for (name, value) in pairs {
                    summary.section_len = summary
                        .section_len
                        .saturating_add(name.len())
                        .saturating_add(value.len());
                    check(&mut summary, name.as_bytes(), value.as_bytes());
                    note(&mut summary, name.as_bytes(), Host::Str(value));
                }
            }
            Headers::Bytes(pairs) => {
                for (name, value) in pairs {
                    summary.section_len = summary
                        .section_len
                        .saturating_add(name.len())
                        .saturating_add(value.len());
                    check(&mut summary, name, value);
                    note(&mut summary, name, Host::Bytes(value));
                }
            }
            Headers::Map(map) => {
                for (name, value) in map {
                    summary.section_len = summary
                        .section_len
                        .saturating_add(name.as_str().len())
                        .saturating_add(value.len());
                    // A standard name compares as an enum, not as text.
                    if name == http::header::HOST {
                        if summary.host.is_none() {
                            summary.host = Some(Host::Value(value));
                        } else {
                            summary.hosts += 1;
                        }
                    } else if name == http::header::AUTHORIZATION {
                        summary.singletons.0 += 1;
                    } else if name == http::header::CONTENT_LENGTH {
                        summary.singletons.1 += 1;
                    }
                }
            }
        }
        if summary.host.is_some() {
            summary.hosts += 1;
        }
        if summary.problem.is_none() && (summary.singletons.0 > 1 || summary.singletons.1 > 1) {
            summary.problem = Some(FieldProblem::Duplicate);
        }
        // `": "` and CRLF of every field.
        summary.section_len = summary
            .section_len
            .saturating_add(summary.fields.saturating_mul(4));
        summary
    }

    /// The size of the header section as HTTP/1.1 would carry it: each field's name and value
    /// plus 4 bytes (`": "` and CRLF). Linear in the number of fields.
    ///
    /// ```
    /// use gateway_core::request::Headers;
    /// assert_eq!(Headers::Pairs(&[("host", "a.example")]).section_len(), 17);
    /// ```
    pub fn section_len(&self) -> usize {
        let field = |name: usize, value: usize| name.saturating_add(value).saturating_add(4);
        match *self {
            Headers::Pairs(p) => p.iter().fold(0, |sum: usize, (n, v)| {
                sum.saturating_add(field(n.len(), v.len()))
            }),
            Headers::Bytes(p) => p.iter().fold(0, |sum: usize, (n, v)| {
                sum.saturating_add(field(n.len(), v.len()))
            }),
            Headers::Map(m) => m.iter().fold(0, |sum: usize, (n, v)| {
                sum.saturating_add(field(n.as_str().len(), v.len()))
            }),
        }
    }
}

/// One Host line as the proxy holds it: text already checked, or bytes still to check.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Host<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    Value(&'a http::HeaderValue),
}

impl<'a> Host<'a> {
    /// The line as text; `None` when it is not UTF-8.
    pub(crate) fn as_str(self) -> Option<&'a str> {
        match self {
            Host::Str(s) => Some(s),
            Host::Bytes(b) => std::str::from_utf8(b).ok(),
            // Visible ASCII is checked in a simpler loop than UTF-8; anything else (obs-text)
            // gets the full check, which decides as for the other forms.
            Host::Value(v) => v
                .to_str()
                .ok()
                .or_else(|| std::str::from_utf8(v.as_bytes()).ok()),
        }
    }

    /// The line's bytes.
    pub(crate) fn as_bytes(self) -> &'a [u8] {
        match self {
            Host::Str(s) => s.as_bytes(),
            Host::Bytes(b) => b,
            Host::Value(v) => v.as_bytes(),
        }
    }
}

/// See [`Headers::summary`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeaderSummary<'a> {
    /// How many header fields.
    pub(crate) fields: usize,
    /// [`Headers::section_len`].
    pub(crate) section_len: usize,
    /// The first Host line.
    pub(crate) host: Option<Host<'a>>,
    /// How many Host lines.
    pub(crate) hosts: usize,
    /// How many `Authorization` and `Content-Length` lines.
    pub(crate) singletons: (usize, usize),
    /// The first field the request may not carry.
    pub(crate) problem: Option<FieldProblem>,
}

/// A header field that makes the request malformed: 400 before routing (SECURITY.md rule 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldProblem {
    /// A name that is empty or holds a byte no field name may carry ([`field::name_is_valid`]).
    Name,
    /// A value with CR, LF or NUL ([`field::value_has_cr_lf_nul`]).
    Value,
    /// `Authorization` or `Content-Length` more than once.
    Duplicate,
}

/// A borrowed view of one request, exactly as received (nothing normalized yet). Its
/// constructors and setters are inlined: a view is built in place, once per request.
///
/// # Examples
/// ```
/// use gateway_core::request::{Headers, RequestView};
/// let headers = [("host", "shop.example.com")];
/// let req = RequestView::new("GET", b"/cart?id=1", Headers::Pairs(&headers)).port(80);
/// assert_eq!(req.method, "GET");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct RequestView<'a> {
    /// The method, case-sensitive.
    pub method: &'a str,
    /// `http` or `https`, as the connection is.
    pub scheme: &'a str,
    /// HTTP/2 or HTTP/3 `:authority`; `None` for HTTP/1.
    pub authority: Option<&'a str>,
    /// The raw request-target as received (origin-, absolute-, authority- or asterisk-form).
    pub target: &'a [u8],
    /// The HTTP version.
    pub version: HttpVersion,
    /// The headers, in order, with duplicates.
    pub headers: Headers<'a>,
    /// The TLS server name the client sent, if the connection is TLS.
    pub sni: Option<&'a str>,
    /// The local port the connection arrived on: it selects the listeners.
    pub port: u16,
    /// `target` as text, when the proxy holds it so (see [`RequestView::target_str`]).
    target_text: Option<&'a str>,
}

impl<'a> RequestView<'a> {
    /// A request with a method, target and headers; scheme `http`, port 80, HTTP/1.1.
    #[inline]
    pub fn new(method: &'a str, target: &'a [u8], headers: Headers<'a>) -> Self {
        Self {
            method,
            scheme: "http",
            authority: None,
            target,
            version: HttpVersion::Http11,
            headers,
            sni: None,
            port: 80,
            target_text: None,
        }
    }

    /// Sets the request-target from text the proxy already holds as `str` (an `http::Uri`'s
    /// path and query, say): the same as setting [`RequestView::target`] to its bytes, and
    /// spares the router checking them as UTF-8 again.
    ///
    /// ```
    /// use gateway_core::request::{Headers, RequestView};
    /// let req = RequestView::new("GET", b"", Headers::EMPTY).target_str("/cart?id=1");
    /// assert_eq!(req.target, b"/cart?id=1");
    /// ```
    #[must_use]
    #[inline]
    pub fn target_str(mut self, target: &'a str) -> Self {
        self.target = target.as_bytes();
        self.target_text = Some(target);
        self
    }

    /// `target` as text, if the proxy gave it so and `target` still holds exactly those bytes
    /// (the field is public: it may have been replaced since).
    pub(crate) fn target_text(&self) -> Option<&'a str> {
        self.target_text.filter(|text| {
            std::ptr::eq(text.as_ptr(), self.target.as_ptr()) && text.len() == self.target.len()
        })
    }

    /// Sets the connection port.
    #[must_use]
    #[inline]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the scheme.
    #[must_use]
    #[inline]
    pub fn scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the TLS server name.
    #[must_use]
    #[inline]
    pub fn sni(mut self, sni: Option<&'a str>) -> Self {
        self.sni = sni;
        self
    }

    /// Sets the HTTP/2 `:authority` and the version to HTTP/2.
    #[must_use]
    #[inline]
    pub fn authority(mut self, authority: Option<&'a str>) -> Self {
        self.authority = authority;
        if authority.is_some() {
            self.version = HttpVersion::Http2;
        }
        self
    }

    /// Sets the HTTP version.
    #[must_use]
    #[inline]
    pub fn version(mut self, version: HttpVersion) -> Self {
        self.version = version;
        self
    }

    /// A view of an `http::Request` (its URI is the target; its authority is used as
    /// `:authority` for HTTP/2).
    #[inline]
    pub fn from_http<B>(req: &'a http::Request<B>, target: &'a [u8], port: u16) -> Self {
        let version = match req.version() {
            http::Version::HTTP_10 => HttpVersion::Http10,
            http::Version::HTTP_2 => HttpVersion::Http2,
            http::Version::HTTP_3 => HttpVersion::Http3,
            _ => HttpVersion::Http11,
        };
        let h2 = matches!(version, HttpVersion::Http2 | HttpVersion::Http3);
        Self {
            method: req.method().as_str(),
            scheme: req.uri().scheme_str().unwrap_or("http"),
            authority: if h2 {
                req.uri().authority().map(http::uri::Authority::as_str)
            } else {
                None
            },
            target,
            version,
            headers: Headers::Map(req.headers()),
            sni: None,
            port,
            // The common case: `target` is the URI's own path and query, already text.
            target_text: req
                .uri()
                .path_and_query()
                .map(http::uri::PathAndQuery::as_str),
        }
    }
}

/// The values of one header, in order: see [`Headers::get_all`].
#[derive(Debug)]
pub struct HeaderValues<'a> {
    name: &'a str,
    inner: ValuesInner<'a>,
}

#[derive(Debug)]
enum ValuesInner<'a> {
    Pairs(std::slice::Iter<'a, (&'a str, &'a str)>),
    Bytes(std::slice::Iter<'a, (&'a [u8], &'a [u8])>),
    Map(http::header::ValueIter<'a, http::HeaderValue>),
}

impl<'a> Iterator for HeaderValues<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let name = self.name;
        match &mut self.inner {
            ValuesInner::Pairs(it) => it
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_bytes()),
            ValuesInner::Bytes(it) => it
                .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(_, v)| *v),
            ValuesInner::Map(it) => it.next().map(http::HeaderValue::as_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{Headers, RequestView};

    #[test]
    fn target_text_is_used_only_while_it_is_the_target() {
        let mut req = RequestView::new("GET", b"", Headers::EMPTY).target_str("/a?x");
        assert_eq!(req.target_text(), Some("/a?x"));
        req.target = b"/b";
        assert_eq!(req.target_text(), None);

        let http = http::Request::get("/p?q=1").body(()).unwrap();
        let own = http.uri().path_and_query().unwrap().as_str();
        assert_eq!(
            RequestView::from_http(&http, own.as_bytes(), 80).target_text(),
            Some(own)
        );
        let copy = own.to_owned();
        assert_eq!(
            RequestView::from_http(&http, copy.as_bytes(), 80).target_text(),
            None
        );
    }

    #[test]
    fn summary_agrees_with_the_separate_readings_in_every_form() {
        let pairs = [
            ("Host", "a.example"),
            ("x-one", "1"),
            ("HOST", "b.example"),
            ("accept", ""),
        ];
        let bytes: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_static(v),
            );
        }
        for headers in [
            Headers::Pairs(&pairs),
            Headers::Bytes(&bytes),
            Headers::Map(&map),
        ] {
            let summary = headers.summary();
            assert_eq!(summary.fields, headers.len());
            assert_eq!(summary.section_len, headers.section_len());
            assert_eq!(summary.hosts, 2);
            assert_eq!(summary.host.and_then(|h| h.as_str()), Some("a.example"));
        }
        let line = map.get_all(http::header::HOST).iter().next().unwrap();
        assert_eq!(super::Host::Value(line).as_str(), Some("a.example"));
        let obs_text = http::HeaderValue::from_bytes("h\u{e9}.example".as_bytes()).unwrap();
        assert_eq!(
            super::Host::Value(&obs_text).as_str(),
            Some("h\u{e9}.example")
        );
        let none = Headers::EMPTY.summary();
        assert_eq!((none.fields, none.section_len, none.hosts), (0, 0, 0));
        assert!(none.host.is_none());
    }
}
