//! A CORS filter (Gateway API v1.4 HTTPCORSFilter) compiled once: its origin patterns parsed,
//! its header values joined. The plan stage answers preflights and adds the headers of actual
//! responses from it (`plan/cors.rs`).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::is_tchar;
use crate::api::Cors;

/// A CORS filter's settings, ready to answer with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CorsPolicy {
    /// The `allowOrigins` entries that can match; entries that do not parse never match and
    /// are left out.
    origins: Box<[OriginPattern]>,
    /// `Access-Control-Allow-Origin: *` rather than the request's origin.
    pub(crate) star: bool,
    /// `allowCredentials: true`.
    pub(crate) credentials: bool,
    /// `Access-Control-Allow-Methods` of a preflight.
    pub(crate) methods: Listed,
    /// `Access-Control-Allow-Headers` of a preflight.
    pub(crate) headers: Listed,
    /// The `Access-Control-Expose-Headers` value, if any.
    pub(crate) expose: Option<Box<str>>,
    /// The `Access-Control-Max-Age` value.
    pub(crate) max_age: i32,
}

/// What a preflight answer lists for the methods or headers a request may use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Listed {
    /// Nothing configured (or nothing valid): the header is left out.
    Omitted,
    /// A wildcard: the preflight's own `Access-Control-Request-*` value is echoed.
    Echoed,
    /// The configured tokens, joined with `, `.
    Fixed(Box<str>),
}

/// One `allowOrigins` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum OriginPattern {
    /// `*`: "An origin value that includes _only_ the `*` character indicates requests from all
    /// `Origin`s are allowed."
    Any,
    /// `scheme://host[:port]`, the host possibly starting with `*`.
    Origin {
        https: bool,
        host: Box<str>,
        port: u16,
    },
}

impl CorsPolicy {
    /// Compiles a CORS filter's settings.
    pub(crate) fn compile(cors: &Cors) -> Self {
        let credentials = cors.allow_credentials == Some(true);
        // allowOrigins: "If the configuration contains the wildcard `*` in `allowOrigins` and
        // `allowCredentials` is set to `true`, the gateway must not return `*` [...]. Instead,
        // it must return a single origin matching the value of the `Origin` request header."
        let wildcard_only =
            cors.allow_origins.len() == 1 && cors.allow_origins.iter().all(|o| o == "*");
        let origins = cors
            .allow_origins
            .iter()
            .filter_map(|pattern| {
                if pattern == "*" {
                    return Some(OriginPattern::Any);
                }
                let o = parse_origin(pattern, true)?;
                Some(OriginPattern::Origin {
                    https: o.https,
                    host: o.host.into(),
                    port: o.port,
                })
            })
            .collect();
        let expose = if cors.expose_headers.iter().any(|h| h == "*") {
            // exposeHeaders: with `allowCredentials` true, "the gateway cannot use the `*`".
            (!credentials).then(|| "*".into())
        } else {
            token_list(&cors.expose_headers)
        };
        Self {
            origins,
            star: wildcard_only && !credentials,
            credentials,
            methods: listed(&cors.allow_methods),
            headers: listed(&cors.allow_headers),
            expose,
            // maxAge: "When the `MaxAge` field is unspecified, the gateway sets the response
            // header "Access-Control-Max-Age: 5" by default." (the CRD minimum is 1)
            max_age: if cors.max_age >= 1 { cors.max_age } else { 5 },
        }
    }

    /// Whether any `allowOrigins` entry matches the request's `Origin`.
    pub(crate) fn allows(&self, origin: &str) -> bool {
        let Some(origin) = parse_origin(origin, false) else {
            return false;
        };
        self.origins.iter().any(|pattern| pattern.matches(&origin))
    }
}

fn listed(items: &[String]) -> Listed {
    if items.is_empty() {
        Listed::Omitted
    } else if items.iter().any(|i| i == "*") {
        Listed::Echoed
    } else {
        token_list(items).map_or(Listed::Omitted, Listed::Fixed)
    }
}

/// The configured tokens joined with `, `; `None` when none is valid.
fn token_list(items: &[String]) -> Option<Box<str>> {
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
    (!out.is_empty()).then(|| out.into())
}

/// `scheme://host[:port]`, with the port made explicit.
struct Origin<'a> {
    https: bool,
    host: &'a str,
    port: u16,
}

impl OriginPattern {
    /// Whether this pattern matches `origin`. allowOrigins: "`*` is a greedy match to the
    /// _left_, including any number of DNS labels to the left of its position" and "A wildcard
    /// by itself matches all hosts"; "if not included, port `80` is assumed for `http` scheme
    /// origins, and port `443` is assumed for `https` origins".
    fn matches(&self, origin: &Origin<'_>) -> bool {
        let Self::Origin { https, host, port } = self else {
            return true;
        };
        if *https != origin.https || *port != origin.port {
            return false;
        }
        match host.strip_prefix('*') {
            Some("") => true,
            Some(suffix) => {
                origin.host.len() > suffix.len()
                    && origin
                        .host
                        .get(origin.host.len() - suffix.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            }
            None => host.eq_ignore_ascii_case(origin.host),
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
