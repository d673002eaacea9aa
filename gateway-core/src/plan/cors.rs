//! CORS (Gateway API v1.4 HTTPCORSFilter): preflight answers and the headers of actual
//! responses. The choices made where the spec leaves room are listed in the `filter` module
//! docs (section CORS).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::LocalResponse;
use crate::filter::{CorsPolicy, HeaderEdits, Listed, is_field_value, is_tchar};
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
pub(super) fn preflight_response(cors: &CorsPolicy, preflight: &Preflight<'_>) -> LocalResponse {
    let Some(origin) = preflight.origin.filter(|o| cors.allows(o)) else {
        return LocalResponse::new(
            Outcome::Respond,
            200,
            "CORS preflight from an origin that is not allowed",
        );
    };
    let mut r = LocalResponse::new(Outcome::Respond, 200, "CORS preflight");
    let echoed = allow_origin_value(cors, origin);
    r.headers
        .push(("access-control-allow-origin".to_owned(), echoed.to_owned()));
    if cors.credentials {
        // HTTPCORSFilter.allowCredentials: "When set to true, the gateway will include the
        // `Access-Control-Allow-Credentials` response header with value true".
        r.headers.push((
            "access-control-allow-credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    // allowMethods: "When the `allowMethods` field is configured with one or more methods, the
    // gateway must return the `Access-Control-Allow-Methods` response header".
    let methods = match &cors.methods {
        Listed::Omitted => None,
        Listed::Echoed => preflight.method.map(str::to_owned),
        Listed::Fixed(value) => Some(value.to_string()),
    };
    if let Some(value) = methods {
        r.headers
            .push(("access-control-allow-methods".to_owned(), value));
    }
    let headers = match &cors.headers {
        Listed::Omitted => None,
        // "If the `Access-Control-Request-Headers` header is not present in the request, the
        // gateway must omit the `Access-Control-Allow-Headers` response header."
        Listed::Echoed => (!preflight.headers.is_empty()).then(|| preflight.headers.join(", ")),
        Listed::Fixed(value) => Some(value.to_string()),
    };
    if let Some(value) = headers {
        r.headers
            .push(("access-control-allow-headers".to_owned(), value));
    }
    if let Some(value) = &cors.expose {
        r.headers.push((
            "access-control-expose-headers".to_owned(),
            value.to_string(),
        ));
    }
    r.headers.push((
        "access-control-max-age".to_owned(),
        cors.max_age.to_string(),
    ));
    if !cors.star {
        r.headers.push(("vary".to_owned(), "origin".to_owned()));
    }
    r
}

/// Adds the CORS headers of an actual (not preflight) response from an allowed origin.
pub(super) fn response_headers(cors: &CorsPolicy, origin: &str, edits: &mut HeaderEdits) {
    if !cors.allows(origin) {
        return;
    }
    edits.push_set(
        "access-control-allow-origin",
        allow_origin_value(cors, origin),
    );
    if cors.credentials {
        edits.push_set("access-control-allow-credentials", "true");
    }
    if let Some(value) = &cors.expose {
        edits.push_set("access-control-expose-headers", value);
    }
    if !cors.star {
        edits.push_add("vary", "origin");
    }
}

/// allowOrigins: "If the configuration contains the wildcard `*` in `allowOrigins` and
/// `allowCredentials` is set to `true`, the gateway must not return `*` [...]. Instead, it must
/// return a single origin matching the value of the `Origin` request header."
fn allow_origin_value<'a>(cors: &CorsPolicy, origin: &'a str) -> &'a str {
    if cors.star { "*" } else { origin }
}
