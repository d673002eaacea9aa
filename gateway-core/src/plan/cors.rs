//! CORS (Gateway API v1.4 HTTPCORSFilter): preflight answers and the headers of actual
//! responses. The choices made where the spec leaves room are listed in the `filter` module
//! docs (section CORS).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::LocalResponse;
use crate::api::Cors;
use crate::filter::{HeaderEdits, is_field_value, is_tchar};
use crate::outcome::Outcome;
use crate::request::RequestView;

/// A CORS preflight request, as received.
pub(super) struct Preflight<'q> {
    /// The single valid `Origin`, if there is one.
    origin: Option<&'q str>,
    /// `Access-Control-Request-Method`, if it is one token.
    method: Option<&'q str>,
    /// The names listed by `Access-Control-Request-Headers`, in order.
    headers: Vec<&'q str>,
}

impl<'q> Preflight<'q> {
    /// The preflight, if the request is one: "OPTIONS" with `Origin` and
    /// `Access-Control-Request-Method` (Fetch standard, CORS-preflight request).
    pub(super) fn of(req: &RequestView<'q>) -> Option<Self> {
        if req.method != "OPTIONS" {
            return None;
        }
        let mut method = None;
        let methods = req
            .headers
            .for_each_value("access-control-request-method", |v| {
                method = std::str::from_utf8(v)
                    .ok()
                    .map(|m| m.trim_matches([' ', '\t']))
                    .filter(|m| !m.is_empty() && m.bytes().all(is_tchar));
                false
            });
        let origins = req.headers.for_each_value("origin", |_| false);
        if methods == 0 || origins == 0 {
            return None;
        }
        let mut headers = Vec::new();
        req.headers
            .for_each_value("access-control-request-headers", |v| {
                if let Ok(v) = std::str::from_utf8(v) {
                    headers.extend(
                        v.split(',')
                            .map(|h| h.trim_matches([' ', '\t']))
                            .filter(|h| !h.is_empty() && h.bytes().all(is_tchar)),
                    );
                }
                true
            });
        Some(Self {
            origin: single_origin(req),
            method,
            headers,
        })
    }
}

/// The request's `Origin` when it has exactly one, valid as a header value.
pub(super) fn single_origin<'q>(req: &RequestView<'q>) -> Option<&'q str> {
    let mut origin = None;
    let count = req.headers.for_each_value("origin", |v| {
        origin = Some(v);
        true
    });
    if count != 1 {
        return None;
    }
    let origin = std::str::from_utf8(origin?).ok()?.trim_matches([' ', '\t']);
    (!origin.is_empty() && is_field_value(origin)).then_some(origin)
}

/// The local answer to a preflight.
pub(super) fn preflight_response(cors: &Cors, preflight: &Preflight<'_>) -> LocalResponse {
    let Some(origin) = preflight.origin.filter(|o| origin_allowed(cors, o)) else {
        return LocalResponse::new(
            Outcome::Respond,
            200,
            "CORS preflight from an origin that is not allowed",
        );
    };
    let mut r = LocalResponse::new(Outcome::Respond, 200, "CORS preflight");
    let credentials = cors.allow_credentials == Some(true);
    let echoed = allow_origin_value(cors, origin);
    r.headers
        .push(("access-control-allow-origin".to_owned(), echoed.to_owned()));
    if credentials {
        // HTTPCORSFilter.allowCredentials: "When set to true, the gateway will include the
        // `Access-Control-Allow-Credentials` response header with value true".
        r.headers.push((
            "access-control-allow-credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    // allowMethods: "When the `allowMethods` field is configured with one or more methods, the
    // gateway must return the `Access-Control-Allow-Methods` response header".
    if !cors.allow_methods.is_empty() {
        let value = if cors.allow_methods.iter().any(|m| m == "*") {
            preflight.method.map(str::to_owned)
        } else {
            token_list(&cors.allow_methods)
        };
        if let Some(value) = value {
            r.headers
                .push(("access-control-allow-methods".to_owned(), value));
        }
    }
    if !cors.allow_headers.is_empty() {
        let value = if cors.allow_headers.iter().any(|h| h == "*") {
            // "If the `Access-Control-Request-Headers` header is not present in the request,
            // the gateway must omit the `Access-Control-Allow-Headers` response header."
            (!preflight.headers.is_empty()).then(|| preflight.headers.join(", "))
        } else {
            token_list(&cors.allow_headers)
        };
        if let Some(value) = value {
            r.headers
                .push(("access-control-allow-headers".to_owned(), value));
        }
    }
    if let Some(value) = expose_value(cors) {
        r.headers
            .push(("access-control-expose-headers".to_owned(), value));
    }
    // maxAge: "When the `MaxAge` field is unspecified, the gateway sets the response header
    // "Access-Control-Max-Age: 5" by default." (the CRD minimum is 1)
    let max_age = if cors.max_age >= 1 { cors.max_age } else { 5 };
    r.headers
        .push(("access-control-max-age".to_owned(), max_age.to_string()));
    if echoed != "*" {
        r.headers.push(("vary".to_owned(), "origin".to_owned()));
    }
    r
}

/// Adds the CORS headers of an actual (not preflight) response from an allowed origin.
pub(super) fn response_headers(cors: &Cors, origin: &str, edits: &mut HeaderEdits) {
    if !origin_allowed(cors, origin) {
        return;
    }
    let echoed = allow_origin_value(cors, origin);
    edits.push_set("access-control-allow-origin", echoed);
    if cors.allow_credentials == Some(true) {
        edits.push_set("access-control-allow-credentials", "true");
    }
    if let Some(value) = expose_value(cors) {
        edits.push_set("access-control-expose-headers", &value);
    }
    if echoed != "*" {
        edits.push_add("vary", "origin");
    }
}

/// allowOrigins: "If the configuration contains the wildcard `*` in `allowOrigins` and
/// `allowCredentials` is set to `true`, the gateway must not return `*` [...]. Instead, it must
/// return a single origin matching the value of the `Origin` request header."
fn allow_origin_value<'a>(cors: &Cors, origin: &'a str) -> &'a str {
    let wildcard_only =
        cors.allow_origins.len() == 1 && cors.allow_origins.iter().all(|o| o == "*");
    if wildcard_only && cors.allow_credentials != Some(true) {
        "*"
    } else {
        origin
    }
}

/// The `Access-Control-Expose-Headers` value, if any.
fn expose_value(cors: &Cors) -> Option<String> {
    if cors.expose_headers.iter().any(|h| h == "*") {
        // exposeHeaders: with `allowCredentials` true, "the gateway cannot use the `*`".
        return (cors.allow_credentials != Some(true)).then(|| "*".to_owned());
    }
    token_list(&cors.expose_headers)
}

/// The configured tokens joined with `, `; `None` when none is valid.
fn token_list(items: &[String]) -> Option<String> {
    let mut out = String::new();
    for item in items
        .iter()
        .filter(|i| !i.is_empty() && i.bytes().all(is_tchar))
    {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    (!out.is_empty()).then_some(out)
}

/// Whether any `allowOrigins` entry matches the request's `Origin`.
pub(super) fn origin_allowed(cors: &Cors, origin: &str) -> bool {
    let Some(origin) = parse_origin(origin, false) else {
        return false;
    };
    cors.allow_origins.iter().any(|pattern| {
        // "An origin value that includes _only_ the `*` character indicates requests from all
        // `Origin`s are allowed."
        if pattern == "*" {
            return true;
        }
        parse_origin(pattern, true).is_some_and(|p| p.matches(&origin))
    })
}

/// `scheme://host[:port]`, with the port made explicit.
struct Origin<'a> {
    https: bool,
    host: &'a str,
    port: u16,
}

impl Origin<'_> {
    /// Whether this pattern matches `origin`. allowOrigins: "`*` is a greedy match to the
    /// _left_, including any number of DNS labels to the left of its position" and "A wildcard
    /// by itself matches all hosts"; "if not included, port `80` is assumed for `http` scheme
    /// origins, and port `443` is assumed for `https` origins".
    fn matches(&self, origin: &Origin<'_>) -> bool {
        if self.https != origin.https || self.port != origin.port {
            return false;
        }
        match self.host.strip_prefix('*') {
            Some("") => true,
            Some(suffix) => {
                origin.host.len() > suffix.len()
                    && origin
                        .host
                        .get(origin.host.len() - suffix.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            }
            None => self.host.eq_ignore_ascii_case(origin.host),
        }
    }
}

/// Parses an origin; a pattern's host may start with `*` (nowhere else).
fn parse_origin(text: &str, pattern: bool) -> Option<Origin<'_>> {
    let (scheme, rest) = text.split_once("://")?;
    let https = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return None;
    };
    let (host, port) = if rest.starts_with('[') {
        let close = rest.find(']')?;
        let (host, after) = rest.split_at(close + 1);
        let inner = host.get(1..host.len() - 1)?;
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let name = if pattern {
            host.strip_prefix('*').unwrap_or(host)
        } else {
            host
        };
        let valid = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if host.is_empty() || !valid {
            return None;
        }
        (host, port)
    };
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u16>().ok().filter(|p| *p != 0)?
        }
        Some(_) => return None,
    };
    Some(Origin { https, host, port })
}
