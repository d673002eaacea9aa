//! External authorization (Gateway API v1.4 `ExternalAuth` filter, experimental): the check
//! request to send, and what the answer means. No I/O: the proxy makes the call.
//!
//! ```text
//! Router::route(&req) ──▶ Decision ──plan::plan──▶ Plan::Authorize(AuthCheck)
//!     (optional) check.with_body(&body, &options) ──▶ Plan::Authorize(check) | Plan::Respond(413)
//!     the proxy sends check.request (HTTP: HttpCheckRequest, gRPC: check.grpc_frame())
//!     check.answer(AuthResponse, &options) ──▶ Plan::Forward (allowed, auth headers applied)
//!                                            | Plan::Respond (denied, or failed closed)
//! ```
//!
//! A rule protected by `ExternalAuth` never yields [`Plan::Forward`] directly: the plan to
//! forward is sealed inside the [`AuthCheck`] and only [`AuthCheck::answer`] with an allowing
//! answer releases it. [`authorize`] and [`authorize_async`] drive the whole exchange with an
//! [`AuthClient`] or [`AsyncAuthClient`] the server plugs in; [`authorize_with_body`] adds the
//! request body first and takes the call as an async closure. A client on the `http` crate
//! sends [`AuthCheck::to_http_request`] and reads the answer with [`AuthResponse::from_http`].
//!
//! ```
//! use gateway_core::plan::authz::{AuthOptions, AuthResponse};
//! use gateway_core::plan::{Plan, plan};
//! # use gateway_core::{Engine, EngineOptions, Headers, RequestView, Target};
//! # let yaml = include_str!("../../../../examples/manifests/shop.yaml");
//! # let options = EngineOptions::default();
//! # let (_, router) = Engine::load_router(yaml.as_bytes(), &Target::only_gateway(), &options).unwrap();
//! # let headers = [("host", "shop.example.com")];
//! # let req = RequestView::new("GET", b"/cart", Headers::Pairs(&headers));
//! let decision = router.route(&req);
//! let options = AuthOptions::default();
//! let plan = match plan(&decision, &req, 7) {
//!     Plan::Authorize(check) => {
//!         // Send `check.request` to `check.backend`, then:
//!         check.answer(AuthResponse::Unreachable, &options) // fails closed: 403
//!     }
//!     other => other,
//! };
//! assert!(matches!(plan, Plan::Forward(_))); // the shop's /cart is not protected
//! ```
//!
//! # What is sent
//! The check is built from the **canonical** request, the same host and path the router
//! matched and the proxy forwards (SECURITY.md rule 1), never from the raw target.
//!
//! - **HTTP** ([`HttpCheckRequest`]): the client's method; the path `http.path` + the canonical
//!   path + `?query` (the query as received). The prefix must itself be a canonical path (else
//!   the rule answers 500); one trailing `/` of it is dropped. The canonical path has no dot
//!   segments and, under the default path policy, no `%2F`/`%5C`; with
//!   [`EncodedSlashes::Keep`](crate::request::normalize::EncodedSlashes::Keep) a path holding
//!   them is refused with 400 when there is a prefix, because an auth server that decodes them
//!   could climb out of the prefix. Headers: `host` (the canonical host), `authorization` when
//!   present, the client headers named in `http.allowedHeaders` (in order, repeated headers as
//!   separate fields), then `content-length` equal to the body bytes actually forwarded (0
//!   without a body). Framing and hop-by-hop headers are never forwarded.
//!   Gateway API HTTPAuthConfig.allowedHeaders: "By default, the following headers are sent:
//!   Host, Method, Path, Content-Length, Authorization" (method and path travel in the request
//!   line).
//! - **gRPC** ([`proto::CheckRequest`]): `attributes.request.http` with method, path (canonical
//!   path + query), host (canonical), scheme, protocol, size (the client's `content-length`, or
//!   -1), id (`x-request-id`) and headers: `:authority`, `:method`, `:path`, `:scheme`, then
//!   every client header (GRPCAuthConfig.allowedHeaders empty: "all headers") or the listed
//!   ones, lower-case, repeated headers joined with `,` (the map cannot repeat a key; Envoy
//!   CVE-2021-32777 was sending only one of them). Strings must be UTF-8 in protobuf, so a
//!   forwarded header value that is not is refused with 400 rather than mangled or dropped;
//!   a body that is not UTF-8 goes in `raw_body` (Envoy CVE-2023-27488 was an invalid message
//!   built from such bytes).
//!
//! # The body
//! Gateway API ExternalAuth.forwardBody: "It is expected that implementations will buffer the
//! request body up to `forwardBody.maxSize` bytes. Bodies over that size must be rejected with
//! a 4xx series error (413 or 403 are common examples), and fail processing of the filter."
//! But ForwardBodyConfig.maxSize: "If the body size is larger than `maxSize`, then the body
//! sent to the authorization server must be truncated to `maxSize` bytes." The two sentences
//! contradict each other; [`BodyLimit`] chooses, and the default is to reject with 413
//! ([`BodyLimit::Reject`]), the fail-closed reading. [`BodyLimit::Truncate`] sends the first
//! `maxSize` bytes. Either way the check's `content-length` (HTTP) is the number of bytes
//! forwarded, and `x-envoy-auth-partial-body: true|false` tells the auth server whether the
//! body was cut (Envoy's convention).
//!
//! # What the answer means
//! Every failure denies (SECURITY.md rule 6; HTTPRouteFilter ExternalAuth: "If there is any
//! problem communicating with the external service, this filter MUST fail closed"):
//!
//! - **HTTP**: only 200 allows. Then the auth response's headers named in
//!   `http.allowedResponseHeaders` (all of them when the list is empty, as the spec says:
//!   "If this list is empty, then all headers from the authorization server except Authority
//!   or Host must be copied") are copied into the upstream request, **replacing** client
//!   headers of the same name (repeated auth headers are joined with `,`). `host`, pseudo
//!   headers, hop-by-hop headers and `content-length`/`transfer-encoding` are never copied.
//!   Note that with an empty list every header of the auth server's 200, `content-type`
//!   included, overwrites the client's: list the headers you mean. Any other status from 201
//!   to 599 denies: the auth service's status, headers (less framing and hop-by-hop ones) and
//!   body go back to the client. A status outside that range is malformed.
//! - **gRPC**: a [`proto::CheckResponse`] whose `status.code` is `OK` allows, with the
//!   `ok_response` mutations: `headers` (overwrite unless `append` is true or `append_action`
//!   says otherwise; with neither set the header overwrites, as OkHttpResponse documents
//!   "append defaults to false"), `headers_to_remove` (pseudo headers and `host` ignored, as
//!   Envoy does), `response_headers_to_add` (added to the client's response). Any other code
//!   denies with `denied_response`'s status (403 when unset), headers and body. A response
//!   without `status`, an `OK` carrying a `denied_response`, query-parameter mutations (not
//!   supported) or an invalid header are malformed.
//! - **Unreachable, timed out, malformed** (or an answer of the other protocol): the request is
//!   answered [`AuthOptions::failure_status`] (403 by default), never forwarded.
//!
//! Allowed headers are applied before the rule's own edits: a RequestHeaderModifier on the
//! rule still has the last word on the names it lists.
//!
//! # Where the check sits among the filters
//! See [`crate::filter`]: CORS preflights are answered before the check (browsers send them
//! without credentials, and they carry no backend content); redirects and forwards of a
//! protected rule both wait for the answer. At most one `ExternalAuth` filter may apply to a
//! request (the rule's, or the chosen backendRef's); more answer 500. The auth backendRef is
//! resolved like a backendRef when the router is built, ReferenceGrant included
//! ([GHSA-fcrp-7gc2-93g7](https://github.com/envoyproxy/gateway/security/advisories/GHSA-fcrp-7gc2-93g7)):
//! a reference that does not resolve makes the rule answer 500, never skip the check.
//!
//! # Cost
//! Building a check allocates the message (linear in the request headers); nothing is
//! allocated for rules without `ExternalAuth`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod check;
mod client;
pub mod grpc;
mod judge;
pub mod proto;

use std::borrow::Cow;

pub use check::{AuthBackend, AuthCheck, AuthProtocol, AuthRequest, HttpCheckRequest};
pub use client::{AsyncAuthClient, AuthClient, authorize, authorize_async, authorize_with_body};

use crate::attach::RuleFilters;
use crate::outcome::ServerError;
use crate::plan::Refusal;
use crate::plan::{LocalResponse, Plan};
use crate::request::RequestView;
use crate::route::Decision;

/// Settings of the auth stage that the Gateway API leaves to the implementation.
///
/// # Examples
/// ```
/// use gateway_core::plan::authz::{AuthOptions, BodyLimit};
/// let options = AuthOptions::default()
///     .with_failure_status(503)
///     .with_body_limit(BodyLimit::Truncate);
/// assert_eq!(options.failure_status, 503);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthOptions {
    /// The status answered when the auth service cannot be reached, times out or answers
    /// something that cannot be understood (default 403, Envoy's `status_on_error` default).
    /// Values outside 400..=599 are replaced by 403.
    pub failure_status: u16,
    /// What to do with a body larger than `forwardBody.maxSize` (default: reject with 413).
    pub body_limit: BodyLimit,
}

impl Default for AuthOptions {
    fn default() -> Self {
        Self {
            failure_status: 403,
            body_limit: BodyLimit::default(),
        }
    }
}

impl AuthOptions {
    /// Sets [`AuthOptions::failure_status`].
    #[must_use]
    pub fn with_failure_status(mut self, status: u16) -> Self {
        self.failure_status = status;
        self
    }

    /// Sets [`AuthOptions::body_limit`].
    #[must_use]
    pub fn with_body_limit(mut self, limit: BodyLimit) -> Self {
        self.body_limit = limit;
        self
    }

    /// The failure status actually used: a 4xx or 5xx.
    fn failure(&self) -> u16 {
        if (400..=599).contains(&self.failure_status) {
            self.failure_status
        } else {
            403
        }
    }
}

/// What to do with a request body larger than `forwardBody.maxSize` (the spec says both
/// "must be rejected with a 4xx" and "must be truncated"; see the [module docs](self)).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLimit {
    /// Answer the client with this status (a 4xx, 413 by default; other values are replaced
    /// by 413) without asking the auth service.
    Reject {
        /// The status.
        status: u16,
    },
    /// Send the first `maxSize` bytes to the auth service.
    Truncate,
}

impl Default for BodyLimit {
    fn default() -> Self {
        Self::Reject { status: 413 }
    }
}

/// What the auth service answered, or why there is no answer.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum AuthResponse {
    /// An HTTP auth service's response.
    Http {
        /// The status code.
        status: u16,
        /// The headers, in order, with duplicates.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// A gRPC auth service's `CheckResponse` (decode bytes with [`grpc::decode_response`]).
    Grpc(proto::CheckResponse),
    /// The service could not be reached (connection refused, reset, no endpoints, gRPC
    /// transport error).
    Unreachable,
    /// No answer within the proxy's deadline.
    Timeout,
    /// An answer that could not be understood (why, for logs).
    Malformed(String),
}

impl AuthResponse {
    /// The answer of an HTTP auth service, from the `http::Response` the proxy received (with
    /// its body collected): the status, the headers in order (repeated names as separate
    /// fields) and the body.
    ///
    /// Every proxy that calls an HTTP auth service with an `http`-based client needs this
    /// conversion; [`AuthCheck::to_http_request`] is the other direction. A header value that
    /// is not UTF-8 cannot be judged, so the answer is then [`AuthResponse::Malformed`] and
    /// the request fails closed rather than go on without that header.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::plan::authz::AuthResponse;
    ///
    /// let denied = http::Response::builder()
    ///     .status(401)
    ///     .header("www-authenticate", "Basic")
    ///     .body("who are you?")
    ///     .unwrap();
    /// assert_eq!(
    ///     AuthResponse::from_http(denied),
    ///     AuthResponse::Http {
    ///         status: 401,
    ///         headers: vec![("www-authenticate".into(), "Basic".into())],
    ///         body: b"who are you?".to_vec(),
    ///     }
    /// );
    /// ```
    pub fn from_http<B: Into<Vec<u8>>>(response: http::Response<B>) -> Self {
        let (parts, body) = response.into_parts();
        let mut headers = Vec::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            let Ok(value) = std::str::from_utf8(value.as_bytes()) else {
                return Self::Malformed(format!("the value of header {name} is not UTF-8"));
            };
            headers.push((name.as_str().to_owned(), value.to_owned()));
        }
        Self::Http {
            status: parts.status.as_u16(),
            headers,
            body: body.into(),
        }
    }
}

/// The meaning of an answer: [`AuthCheck::judge`].
// The allowed plan is the common case: boxing it would allocate once more per request.
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome<'r> {
    /// The service allowed the request: the plan to execute (a forward with the auth headers
    /// applied, or the rule's redirect).
    Allowed(crate::plan::Plan<'r>),
    /// The service denied the request: its answer, for the client.
    Denied(LocalResponse),
    /// No usable answer: the request fails closed with [`AuthOptions::failure_status`].
    Failed(LocalResponse),
}

impl<'r> AuthOutcome<'r> {
    /// The plan to execute.
    pub fn into_plan(self) -> Plan<'r> {
        match self {
            Self::Allowed(plan) => plan,
            Self::Denied(local) | Self::Failed(local) => Plan::Respond(local),
        }
    }
}

type Reason = Cow<'static, str>;

/// Wraps `plan` (a forward, or a redirect) in a check when an `ExternalAuth` filter applies:
/// the rule's, or the one of the backendRef at `backend_index`.
///
/// # Errors
/// A reason for a 500 when the filter cannot be applied as configured.
pub(crate) fn guard<'r>(
    decision: &Decision<'r, '_>,
    req: &RequestView<'_>,
    rule: &'r RuleFilters,
    backend_index: Option<usize>,
    plan: Plan<'r>,
) -> Result<Plan<'r>, Refusal> {
    let own = rule.filters.iter().map(|f| (None, f));
    let per_backend = (rule.backend_filters.iter().enumerate())
        .flat_map(|(i, filters)| filters.iter().map(move |f| (Some(i), f)));
    let mut applying = own
        .chain(per_backend)
        .filter(|(owner, _)| owner.is_none() || *owner == backend_index)
        .filter_map(|(_, f)| f.external_auth());
    let Some(filter) = applying.next() else {
        return Ok(plan);
    };
    if applying.next().is_some() {
        return Err((
            ServerError::ConflictingAuthFilters,
            Cow::Borrowed(
                "more than one ExternalAuth filter applies to the request (not supported)",
            ),
        ));
    }
    let auth = filter.map_err(Clone::clone)?;
    let backend = AuthBackend {
        namespace: auth.backend.namespace.clone(),
        name: auth.backend.name.clone(),
        port: auth.backend.port,
    };
    Ok(check::begin(decision, req, auth, backend, plan)
        .map_err(|why| (ServerError::InvalidFilter, why))?
        .map_or_else(Plan::Respond, Plan::Authorize))
}

#[cfg(test)]
mod tests;
