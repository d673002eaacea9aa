//! RequestRedirect: the `location` of a 301/302 answer.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;

use super::LocalResponse;
use super::rewrite::modified_path;
use crate::attach::Protocol;
use crate::filter::{Reason, Redirect, RedirectStatus, Scheme};
use crate::outcome::Outcome;
use crate::request::RequestView;
use crate::route::Decision;

/// The redirect response of a RequestRedirect filter (its status, 301 or 302, and the
/// `location` built from the request).
pub(super) fn respond(
    r: &Redirect,
    decision: &Decision<'_, '_>,
    req: &RequestView<'_>,
) -> Result<LocalResponse, Reason> {
    let status = match r.status {
        RedirectStatus::MovedPermanently => 301,
        RedirectStatus::Found => 302,
    };
    let location = location(r, decision, req)?;
    let mut response = LocalResponse::new(Outcome::Redirect, status, "RequestRedirect filter");
    response.headers.push(("location".to_owned(), location));
    Ok(response)
}

fn location(
    r: &Redirect,
    decision: &Decision<'_, '_>,
    req: &RequestView<'_>,
) -> Result<String, Reason> {
    let listener = decision.listener_port();
    // RequestRedirect.scheme: "When empty, the scheme of the request is used."
    let scheme: &str = match r.scheme {
        Some(Scheme::Http) => "http",
        Some(Scheme::Https) => "https",
        None if req.scheme.eq_ignore_ascii_case("https") => "https",
        None if req.scheme.eq_ignore_ascii_case("http") => "http",
        None => match listener {
            Some((_, Protocol::Https)) => "https",
            _ => "http",
        },
    };
    // RequestRedirect.hostname: "When empty, the hostname in the `Host` header of the request is
    // used" (the canonical host, without its port).
    let host = r.hostname.as_deref().unwrap_or_else(|| decision.host());
    let port = match r.port {
        Some(p) => p,
        // RequestRedirect.port: "If no port is specified, the redirect port MUST be derived using
        // the following rules: * If redirect scheme is not-empty, the redirect port MUST be the
        // well-known port associated with the redirect scheme. Specifically "http" to port 80
        // and "https" to port 443. [...] * If redirect scheme is empty, the redirect port MUST be
        // the Gateway Listener port."
        None if r.scheme.is_some() => well_known_port(scheme),
        None => listener.map_or(req.port, |(port, _)| port),
    };
    let path: Cow<'_, str> = match &r.path {
        Some(modifier) => Cow::Owned(modified_path(modifier, decision)?),
        None => Cow::Borrowed(decision.path()),
    };
    let query = decision.query().filter(|q| !q.is_empty());

    let mut out = String::with_capacity(
        scheme.len() + 3 + host.len() + 6 + path.len() + query.map_or(0, |q| q.len() + 1),
    );
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(host);
    // "Implementations SHOULD NOT add the port number in the 'Location' header in the following
    // cases: * A Location header that will use HTTP (whether that is determined via the Listener
    // protocol or the Scheme field) _and_ use port 80. * A Location header that will use HTTPS
    // (whether that is determined via the Listener protocol or the Scheme field) _and_ use port
    // 443."
    if port != well_known_port(scheme) {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push_str(&path);
    if let Some(q) = query {
        // The query string is kept as received.
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

fn well_known_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}
