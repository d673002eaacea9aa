//! What a matched rule asks the proxy to do: the [`Plan`] for one request, executable without
//! knowing the Gateway API.
//!
//! ```text
//! Router::route(&req) ──▶ Decision ──plan::plan(&decision, &req, random)──▶ Plan
//!     Plan::Forward(ForwardPlan)  backend, request edits, response edits, mirrors, timeouts
//!     Plan::Respond(LocalResponse) status, headers, body: redirect, CORS preflight, error
//!     Plan::Authorize(AuthCheck)   ask the auth service first (ExternalAuth), then
//!                                  check.answer(response) gives Forward or Respond
//! ```
//!
//! [`plan`] reads the matched rule's filters (HTTPRoute or GRPCRoute) and turns them into
//! concrete edits. The proxy applies [`RequestEdits`] to the request it forwards (one call for
//! `http` users: [`RequestEdits::apply`]), [`HeaderEdits`] to the response it returns, and sends
//! a copy of the (edited) request to each [`Mirror`], ignoring the mirrors' answers. A server
//! on the `http` crate sends a [`LocalResponse`] with [`LocalResponse::into_http`], prepares
//! what it forwards to an HTTP/1.1 backend with
//! [`for_http1_backend`](crate::filter::for_http1_backend) (which strips what belongs to the
//! client's connection, as [`remove_hop_by_hop`](crate::filter::remove_hop_by_hop) does for
//! responses), or to an HTTP/2 one with [`for_http2_backend`](crate::filter::for_http2_backend):
//! [`BackendProtocol::of`] says which, once per backend. For a backend that allows WebSocket
//! upgrades (`appProtocol: kubernetes.io/ws` or `kubernetes.io/wss`),
//! [`BackendProtocol::for_http1_backend`] does the same but keeps a client's WebSocket
//! handshake, and [`Upgrade`] checks the backend's 101 and prepares it for the client.
//!
//! # The order of the stages
//! Gateway API HTTPRouteRule.filters: "Wherever possible, implementations SHOULD implement
//! filters in the order they are specified. Implementations MAY choose to implement this
//! ordering strictly, rejecting any combination or order of filters that cannot be supported.
//! If implementations choose a strict interpretation of filter ordering, they MUST clearly
//! document that behavior." Ours is:
//!
//! 1. A [`Decision`] whose outcome is not `Forward` becomes [`Plan::Respond`] with the
//!    decision's status (404, 400, 414, 421, 500, ...) and reason. Call [`plan`] for every
//!    decision; nothing else is looked at.
//! 2. **CORS preflight.** An `OPTIONS` request with `Origin` and `Access-Control-Request-Method`
//!    to a rule with a CORS filter is answered locally (200), before any redirect and without
//!    a backend. See [CORS](self#cors) below.
//!    A preflight is answered without asking an ExternalAuth service (browsers send it without
//!    credentials; it reveals no backend content).
//! 3. **RequestRedirect** answers 301 or 302 with a `location`; no backend is needed. Behind
//!    an ExternalAuth filter of the rule, the redirect is [`Plan::Authorize`] first (step 6).
//! 4. **Backend choice** with [`Decision::choose_backend`]`(random)`, or, with
//!    [`plan_pinned`], the backendRef of a valid session pin whatever its weight (GEP-1619);
//!    none (an invalid backendRef's share, or no backendRefs) answers 500. Then the chosen backendRef's own CORS
//!    preflight (when the rule has no CORS filter) and RequestRedirect, as in steps 2 and 3.
//! 5. **Edits**, from the rule's filters then the chosen backendRef's filters, each list in
//!    order: header modifiers, URLRewrite, mirrors, CORS response headers. Edits compose: a
//!    later filter acts on the result of the earlier ones (see [`HeaderEdits`]).
//! 6. **ExternalAuth.** When the rule, or the chosen backendRef, has an `ExternalAuth` filter,
//!    the plan of steps 3 to 5 is sealed in a [`Plan::Authorize`] check: the proxy asks the
//!    auth service and [`AuthCheck::answer`](authz::AuthCheck::answer) releases it (with
//!    the auth service's headers applied before the edits of step 5) or answers the client. It
//!    fails closed (HTTPRouteFilter: "If there is any problem communicating with the external
//!    service, this filter MUST fail closed"); an auth backendRef that does not resolve, or more
//!    than one applying ExternalAuth filter, answers 500. See [`crate::plan::authz`].
//!
//! A filter that cannot be applied as written (a header name that is not a token, a
//! `ReplacePrefixMatch` without a `PathPrefix` match, a redirect status other than 301/302, an
//! `ExtensionRef`, a filter type a GRPCRoute does not allow, ...) makes the request answer 500
//! rather than be forwarded without it (HTTPRouteFilter: a filter "MUST NOT be skipped").
//! Whether a filter can be applied is decided once, when the router is built: attachment
//! compiles every filter into a typed value (route status asks the same function which rules
//! to drop), and this stage executes those values; only what depends on the request (the path
//! a prefix is replaced in, the origin, the draws) is worked out per request.
//! Local responses carry only their own headers: response header modifiers apply to forwarded
//! requests' responses.
//!
//! # CORS
//! Gateway API v1.4 HTTPCORSFilter, with these choices where the spec leaves room:
//! - A preflight is answered 200 ("always an OK status (i.e., 204 or 200)") with an empty body;
//!   from an origin that is not allowed, 200 without any CORS header ("the gateway returns
//!   204/200 response but doesn't set the relevant cross-origin response headers").
//! - `Access-Control-Allow-Origin` is `*` only when `allowOrigins` is `["*"]` and credentials
//!   are not allowed; otherwise it echoes the request's `Origin`, with `Vary: origin`.
//!   `Access-Control-Allow-Credentials: true` is sent only when `allowCredentials` is true.
//! - A wildcard in `allowMethods` / `allowHeaders` is answered by echoing the request's
//!   `Access-Control-Request-Method` / `-Headers` (allowed with or without credentials).
//! - `exposeHeaders: ["*"]` with credentials is omitted (the `*` may not be used then, and the
//!   response headers are not known when planning).
//! - Only a request with exactly one `Origin` of the form `scheme://host[:port]` (`http` or
//!   `https`) can match; `null` and malformed origins never do, not even `*`. A pattern's `*`
//!   may only start its host (`https://*.example.com`), and matches one or more labels.
//! - Actual requests from an allowed origin are forwarded with the CORS headers added to
//!   [`ForwardPlan::response`] (set, so they replace the backend's).
//!
//! # Other choices
//! - Header edits may not name `content-length` or `transfer-encoding` (request smuggling),
//!   and values may not hold control characters: such a filter answers 500.
//! - Mirrors: see [`Mirror`]; each fires on its own splitmix64 draw from `random`. Mirror
//!   backendRefs are resolved in attachment like every backendRef (a Service port that exists,
//!   in the route's namespace or allowed by a ReferenceGrant). A mirror that cannot be
//!   configured (an unresolved reference, reported as `ResolvedRefs=False`, or an invalid
//!   share) is dropped, as the spec says of invalid mirror references; it never fails the
//!   request.
//! - Redirect statuses other than 301 and 302 answer 500; timeouts, retry codes or backoff
//!   that do not parse answer 500 (the CRDs refuse them; we do not rely on it).
//!
//! # Cost
//! Linear in the rule's filters; allocates only the edits it returns (a rule without filters,
//! forwarded on a canonical target, allocates nothing).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod authz;
mod cors;
mod mirror;
mod protocol;
mod random;
mod redirect;
mod rewrite;

use std::borrow::Cow;

pub use protocol::{BackendProtocol, Upgrade};
pub use random::SplitMix64;

use crate::attach::{Backend, RuleFilters, RuleSpec};
use crate::filter::{
    Filter, FilterKind, HeaderEdits, Reason, Redirect, RequestEdits, Retry, RetryBudget, Session,
    SessionPin, Timeouts,
};
use crate::outcome::{Outcome, ServerError};
use crate::request::RequestView;
use crate::route::{Decision, WeightedBackend};
use crate::tls::{BackendTls, Trust};
use authz::AuthCheck;

/// What the proxy must do for a matched request, executable without knowing the Gateway API.
// Forwarding is the common case: boxing it would allocate for every request.
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan<'r> {
    /// Forward to a backend, with edits.
    Forward(ForwardPlan<'r>),
    /// Answer the client directly (redirect, CORS preflight, or an error).
    Respond(LocalResponse),
    /// Ask the external auth service first (an `ExternalAuth` filter applies): send the check,
    /// then [`AuthCheck::answer`] gives the plan. Never forward without that answer.
    Authorize(AuthCheck<'r>),
}

impl Plan<'_> {
    /// What the proxy must do, in the one vocabulary every binding maps
    /// ([`crate::outcome`]): forward, authorize, or the kind and cause of the local response.
    #[inline]
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Forward(_) => Outcome::Forward,
            Self::Authorize(_) => Outcome::Authorize,
            Self::Respond(local) => local.outcome,
        }
    }
}

/// A response the proxy sends itself, without contacting a backend.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResponse {
    /// What kind of answer this is, and why: redirect, respond (a CORS preflight), not found,
    /// bad request, misdirected, server error or denied, with the cause.
    pub outcome: Outcome,
    /// The status code.
    pub status: u16,
    /// Response headers (lower-case names), in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for every response the library builds).
    pub body: Vec<u8>,
    /// Why, for logs; never sent to the client.
    pub reason: String,
}

impl LocalResponse {
    /// A response of `outcome` with a status and a reason, no headers and no body.
    pub fn new(outcome: Outcome, status: u16, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            status,
            headers: Vec::new(),
            body: Vec::new(),
            reason: reason.into(),
        }
    }

    /// The first value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// An answer of the embedding proxy's own, not of the library (a backend it cannot reach,
    /// a limit of its own): its outcome is `ServerError(Proxy)` whatever the status.
    ///
    /// ```
    /// use gateway_core::outcome::{Outcome, ServerError};
    /// use gateway_core::plan::LocalResponse;
    ///
    /// let r = LocalResponse::proxy(502, "connection refused");
    /// assert_eq!(r.outcome, Outcome::ServerError(ServerError::Proxy));
    /// ```
    pub fn proxy(status: u16, reason: impl Into<String>) -> Self {
        Self::new(Outcome::ServerError(ServerError::Proxy), status, reason)
    }

    /// The response as an `http::Response`, for a server built on the `http` crate to send:
    /// the status, the headers in order (repeated names stay separate fields) and the body.
    /// The reason is not part of it: it is for logs.
    ///
    /// Every server that embeds the library needs this conversion for redirects, CORS
    /// preflights, auth denials and errors; it moves the headers and body without copying.
    /// A status outside 100..=999 becomes 500, and a header that `http` cannot represent is
    /// left out, as [`HeaderEdits::apply`] does (the library never builds either).
    ///
    /// # Examples
    /// ```
    /// use gateway_core::plan::LocalResponse;
    ///
    /// use gateway_core::outcome::Outcome;
    ///
    /// let mut redirect = LocalResponse::new(Outcome::Redirect, 302, "RequestRedirect");
    /// redirect.headers.push(("location".into(), "https://example.com/".into()));
    /// let response = redirect.into_http();
    /// assert_eq!(response.status(), 302);
    /// assert_eq!(response.headers()["location"], "https://example.com/");
    /// assert!(response.body().is_empty());
    /// ```
    pub fn into_http(self) -> http::Response<Vec<u8>> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(name),
                http::HeaderValue::try_from(value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// How to forward a request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardPlan<'r> {
    /// The backend, chosen with the caller's random value.
    pub backend: &'r Backend,
    /// The index of its backendRef in the rule (whose filters were applied).
    pub backend_index: usize,
    /// Edits of the forwarded request: the rule's filters then the backendRef's, in order.
    pub request: RequestEdits,
    /// Edits of the response: ResponseHeaderModifier (rule then backendRef) and CORS headers.
    pub response: HeaderEdits,
    /// Where copies of the request go (their answers are ignored): the mirrors that fire for
    /// this random value.
    pub mirrors: Vec<Mirror>,
    /// The rule's timeouts.
    pub timeouts: Timeouts,
    /// The rule's retry policy (HTTPRoute only), parsed when the router was built.
    pub retry: Option<&'r Retry>,
    /// The retry budget of the chosen backend's Service (its accepted XBackendTrafficPolicy's
    /// `retryConstraint`), or `None`: every retry the rule's policy asks for must also be
    /// allowed by [`RetryBudget::allows_retry`], else the client gets a 503
    /// ([`crate::filter::BUDGET_EXHAUSTED_STATUS`]).
    pub retry_budget: Option<RetryBudget>,
    /// The rule's session persistence, compiled when the router was built: read the client's
    /// pin with [`Session::find`]; a valid pin's backendRef and endpoint take precedence over
    /// the weighted draw (GEP-1619: "a persistent session takes precedence over traffic split
    /// weights"), and [`Session::issue`] starts a session for the endpoint the proxy chose.
    pub session: Option<Session<'r>>,
    /// Whether the session pin given to [`plan_pinned`] chose the backendRef (rather than the
    /// weighted draw): the proxy renews that session, or starts one when this is `false`.
    pub pinned: bool,
    /// How to verify the backend's TLS (its BackendTLSPolicy), or `None` for plaintext. A
    /// policy whose references are unusable has `Trust::Invalid`: connect and fail (5xx), never
    /// fall back to no verification.
    pub backend_tls: Option<&'r crate::tls::BackendTls>,
}

/// A copy of the forwarded request goes to this backend; its answer is ignored. Mirrors get
/// the same request as the primary backend (with the request edits applied).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// The Service port, as attachment resolved the mirror's backendRef.
    pub backend: Backend,
}

// === plan ===

/// Computes what the proxy must do for a routed request.
///
/// `random` is any `u64` (the library reads no RNG; [`SplitMix64`] is a cheap source a server
/// can share): it chooses the weighted backend and which mirrors fire; the same value always
/// gives the same plan. See the [module docs](self) for the order of the stages and the choices
/// made.
///
/// # Examples
/// ```
/// use gateway_core::{Engine, EngineOptions, Headers, Plan, RequestView, Target, plan};
///
/// let yaml = include_str!("../../../examples/manifests/shop.yaml");
/// let target = Target::gateway("shop", "shop");
/// let (_, router) = Engine::load_router(yaml.as_bytes(), &target, &EngineOptions::default())
///     .unwrap();
/// let headers = [("host", "shop.example.com")];
/// let req = RequestView::new("GET", b"/cart", Headers::Pairs(&headers));
/// let decision = router.route(&req);
/// match plan(&decision, &req, 42) {
///     Plan::Forward(f) => assert_eq!(f.backend.port, 8080),
///     Plan::Respond(r) => panic!("answered {} ({})", r.status, r.reason),
///     Plan::Authorize(check) => panic!("protected by {}", check.backend.name),
///     _ => unreachable!(),
/// }
/// ```
pub fn plan<'r>(decision: &Decision<'r, '_>, req: &RequestView<'_>, random: u64) -> Plan<'r> {
    // Its own copy of the stages, without a pin: the fast path below stays what it was.
    plan_with(decision, req, None, random)
}

/// [`plan`] for a request that may belong to a persistent session (GEP-1619): a session pin
/// chooses the backendRef instead of the weighted draw.
///
/// `pin` must come from the decision's own session ([`session_pin`], or [`Session::find`] /
/// [`Session::lookup`] on [`Decision::session`]), which has already refused tokens of other
/// rules, expired ones and those whose backendRef now names another Service port. A pin whose
/// backendRef is a valid backend of the rule selects it whatever its weight, 0 included
/// (GEP-1619: "a persistent session takes precedence over traffic split weights"; "the
/// persistence to a single backend MUST be maintained across services, even if the weight is
/// set to 0"), and that backendRef's filters apply; [`ForwardPlan::pinned`] says so. A pin to an
/// invalid backendRef, or to none of the rule's, is ignored: `random` draws as [`plan`] does.
/// Without a pin this is [`plan`] (which a caller without a pin should call: its code knows
/// there is none).
///
/// The proxy forwards a pinned plan to the pin's endpoint only while that endpoint is a live
/// endpoint of the backend; otherwise it should plan without the pin and issue a new session
/// ([`Session::issue`]).
///
/// # Examples
/// ```
/// use gateway_core::plan::{plan_pinned, session_pin};
/// use gateway_core::{Engine, EngineOptions, Headers, Plan, RequestView, Target};
///
/// let yaml = include_str!("../../../examples/manifests/shop.yaml");
/// let target = Target::gateway("shop", "shop");
/// let (_, router) = Engine::load_router(yaml.as_bytes(), &target, &EngineOptions::default())
///     .unwrap();
/// let headers = [("host", "shop.example.com")];
/// let req = RequestView::new("GET", b"/cart", Headers::Pairs(&headers));
/// let decision = router.route(&req);
/// let now = 1_700_000_000; // Unix seconds, from the caller's clock
/// let pin = session_pin(&decision, &req, now); // no session here: None
/// assert!(matches!(plan_pinned(&decision, &req, pin.as_ref(), 42), Plan::Forward(_)));
/// ```
pub fn plan_pinned<'r>(
    decision: &Decision<'r, '_>,
    req: &RequestView<'_>,
    pin: Option<&SessionPin<'_>>,
    random: u64,
) -> Plan<'r> {
    plan_with(decision, req, pin, random)
}

/// The stages of [`plan`] and [`plan_pinned`], inlined into each so that [`plan`]'s copy
/// knows there is no pin.
#[inline(always)]
fn plan_with<'r>(
    decision: &Decision<'r, '_>,
    req: &RequestView<'_>,
    pin: Option<&SessionPin<'_>>,
    random: u64,
) -> Plan<'r> {
    let outcome = decision.outcome();
    if outcome != Outcome::Forward {
        let status = decision.status().unwrap_or(500);
        return Plan::Respond(LocalResponse::new(outcome, status, decision.reason()));
    }
    let Some(spec) = decision.rule_spec() else {
        return error(ServerError::NotAnHttpRule, "the decision has no rule");
    };
    let rule = match spec {
        RuleSpec::Http(r) | RuleSpec::Grpc(r) => r,
        RuleSpec::L4 => {
            return error(
                ServerError::NotAnHttpRule,
                "the matched rule is not an HTTP rule",
            );
        }
    };
    // Most rules have no filters at all. Their plan is built here, in place: the general path
    // below returns it through a `Result`, which copies a few hundred bytes per request, and
    // looks for CORS, redirects and ExternalAuth first. Anything it would refuse (no backend
    // drawn, an unusable BackendTLSPolicy, timeouts or retries that do not parse) goes the
    // general way, which answers it.
    if rule.filters.is_empty()
        && rule
            .backend_filters
            .iter()
            .all(|filters| filters.is_empty())
        && let Some((drawn, pinned)) = choose(decision, pin, random)
        && let Some(backend) = &drawn.backend
        && let Ok(backend_tls) = backend_tls(drawn)
        && let Ok(timeouts) = rule.settings.timeouts
        && let Ok(retry) = &rule.settings.retry
        && let Ok(session) = decision.session().transpose()
    {
        return Plan::Forward(ForwardPlan {
            backend,
            backend_index: drawn.index,
            request: RequestEdits {
                path: canonical_path(decision),
                ..RequestEdits::default()
            },
            response: HeaderEdits::default(),
            mirrors: Vec::new(),
            timeouts,
            retry: retry.as_ref(),
            retry_budget: drawn.retry_budget,
            session,
            pinned,
            backend_tls,
        });
    }
    match forward(decision, req, pin, random, rule) {
        Ok(plan) => plan,
        Err((cause, reason)) => error(cause, reason),
    }
}

pub(crate) use crate::filter::Refusal;

/// The 500 of a rule that cannot be served.
fn error(cause: ServerError, reason: impl Into<String>) -> Plan<'static> {
    Plan::Respond(LocalResponse::new(Outcome::ServerError(cause), 500, reason))
}

/// A filter that cannot be applied as written.
fn invalid_filter(reason: impl Into<Reason>) -> Refusal {
    (ServerError::InvalidFilter, reason.into())
}

/// The pinned backendRef when `pin` names a valid backend of the rule, else the weighted
/// draw; and whether the pin chose it.
#[inline]
fn choose<'r>(
    decision: &Decision<'r, '_>,
    pin: Option<&SessionPin<'_>>,
    random: u64,
) -> Option<(&'r WeightedBackend, bool)> {
    if let Some(pin) = pin
        && let Some(pinned) = decision.backends().get(pin.backend_index)
        && pinned.backend.is_some()
    {
        return Some((pinned, true));
    }
    decision.draw_backend(random).map(|drawn| (drawn, false))
}

/// The session pin the request presents for the decision's rule at `now_unix` (Unix seconds),
/// for [`plan_pinned`]: [`Session::find`] over the request's headers when the rule has session
/// persistence (a valid token of this rule, not expired, whose backendRef still names the same
/// Service port); `None` otherwise, or when the rule's session persistence cannot be applied
/// (its plan answers 500).
///
/// Cost without session persistence: one look at the rule. No allocation.
#[inline]
pub fn session_pin<'a>(
    decision: &Decision<'_, '_>,
    req: &RequestView<'a>,
    now_unix: u64,
) -> Option<SessionPin<'a>> {
    match decision.session()? {
        Ok(session) => session.find(&req.headers, now_unix),
        Err(_) => None,
    }
}

fn forward<'r>(
    decision: &Decision<'r, '_>,
    req: &RequestView<'_>,
    pin: Option<&SessionPin<'_>>,
    random: u64,
    rule: &'r RuleFilters,
) -> Result<Plan<'r>, Refusal> {
    // A filter type the route kind does not allow (GRPCRoute) refuses every request to the
    // rule, as decided when the router was built.
    if let Some(refusal) = &rule.refused {
        return Err(refusal.clone());
    }

    let preflight = cors::Preflight::of(req);
    let rule_cors = rule.filters.iter().find_map(Filter::cors);
    if let (Some(cors), Some(preflight)) = (rule_cors, &preflight) {
        return Ok(Plan::Respond(cors::preflight_response(
            cors.map_err(Clone::clone)?,
            preflight,
        )));
    }
    if let Some(redirect) = rule.filters.iter().find_map(Filter::redirect) {
        let redirect = redirect_plan(decision, req, redirect)?;
        return authz::guard(decision, req, rule, None, redirect);
    }

    let drawn = choose(decision, pin, random);
    let Some((drawn, pinned, backend)) =
        drawn.and_then(|(d, pinned)| Some((d, pinned, d.backend.as_ref()?)))
    else {
        // HTTPRouteRule.backendRefs: "When a HTTPBackendRef is invalid, 500 status codes MUST be
        // returned for requests that would have otherwise been routed to an invalid backend."
        return Err(if decision.backends().is_empty() {
            (
                ServerError::NoBackendRefs,
                Cow::Borrowed("the rule has no backendRefs"),
            )
        } else {
            (
                ServerError::InvalidBackend,
                Cow::Borrowed("the request drew an invalid backendRef (or every weight is zero)"),
            )
        });
    };
    let backend_index = drawn.index;
    let backend_filters: &[Filter] = rule
        .backend_filters
        .get(backend_index)
        .map_or(&[], |filters| filters);
    if rule_cors.is_none()
        && let (Some(cors), Some(preflight)) =
            (backend_filters.iter().find_map(Filter::cors), &preflight)
    {
        return Ok(Plan::Respond(cors::preflight_response(
            cors.map_err(Clone::clone)?,
            preflight,
        )));
    }
    if let Some(redirect) = backend_filters.iter().find_map(Filter::redirect) {
        let redirect = redirect_plan(decision, req, redirect)?;
        return authz::guard(decision, req, rule, Some(backend_index), redirect);
    }

    // Only rules with a CORS filter look for the Origin header.
    let any_cors = (rule.filters.iter())
        .chain(backend_filters)
        .any(|f| f.cors().is_some());
    let origin = if any_cors && preflight.is_none() {
        cors::single_origin(req)
    } else {
        None
    };
    let mut request = RequestEdits::default();
    let mut response = HeaderEdits::default();
    let mut mirrors = Vec::new();
    let mut mirror_index = 0u64;
    for f in rule.filters.iter().chain(backend_filters) {
        match f {
            Filter::RequestHeaders(edits) => edits.apply(&mut request.headers),
            Filter::ResponseHeaders(edits) => edits.apply(&mut response),
            Filter::Mirror(m) => {
                if let Some(mirror) = mirror::fires(m, random, mirror_index) {
                    mirrors.push(mirror);
                }
                mirror_index += 1;
            }
            Filter::Rewrite(rewrite) => {
                rewrite::apply(rewrite, decision, &mut request).map_err(invalid_filter)?;
            }
            Filter::Cors(cors) => {
                if let Some(origin) = origin {
                    cors::response_headers(cors, origin, &mut response);
                }
            }
            // Applied around the whole plan, below.
            Filter::ExternalAuth(_) | Filter::Refused(FilterKind::ExternalAuth, _) => {}
            Filter::Refused(_, refusal) => return Err(refusal.clone()),
            // Answered above, before any edit.
            Filter::Redirect(_) => {
                return Err((
                    ServerError::UnsupportedFilter,
                    Cow::Borrowed("filter type RequestRedirect cannot be applied here"),
                ));
            }
        }
    }

    if request.path.is_none() {
        request.path = canonical_path(decision);
    }
    let backend_tls = backend_tls(drawn).map_err(unverifiable)?;

    // Most rules have no ExternalAuth filter: skip the guard's walk over the filters.
    let guarded = (rule.filters.iter())
        .chain(rule.backend_filters.iter().flatten())
        .any(|f| f.external_auth().is_some());
    let forward = Plan::Forward(ForwardPlan {
        backend,
        backend_index,
        request,
        response,
        mirrors,
        timeouts: rule.settings.timeouts.clone().map_err(settings)?,
        retry: rule
            .settings
            .retry
            .as_ref()
            .map_err(|why| settings(why.clone()))?
            .as_ref(),
        retry_budget: drawn.retry_budget,
        session: decision
            .session()
            .transpose()
            .map_err(|why| settings(why.clone()))?,
        pinned,
        backend_tls,
    });
    if !guarded {
        return Ok(forward);
    }
    authz::guard(decision, req, rule, Some(backend_index), forward)
}

/// The path to forward when it is not the received one.
///
/// SECURITY.md rule 1: "The same canonical path is used for matching, sent to ext-auth, and
/// forwarded upstream": when the received path is not canonical, the edits say so.
#[inline]
fn canonical_path(decision: &Decision<'_, '_>) -> Option<String> {
    let canonical = decision.path();
    // Usually the very same bytes (the target was canonical): equal without comparing them.
    let same = |received: &str| std::ptr::eq(received, canonical) || received == canonical;
    (!decision.received_path().is_some_and(same)).then(|| canonical.to_owned())
}

/// How to verify the drawn backend: its policy, if any, or `Err((policy, why))` when the policy
/// cannot verify it (Gateway API BackendTLSPolicy: with no usable CA the connection MUST fail;
/// never fall back to an unverified connection). The reason is formatted only by the caller
/// that reports it.
#[inline]
fn backend_tls(drawn: &WeightedBackend) -> Result<Option<&BackendTls>, (&str, &str)> {
    match drawn.tls.as_deref() {
        Some(BackendTls {
            trust: Trust::Invalid(why),
            policy,
            ..
        }) => Err((policy, why)),
        tls => Ok(tls),
    }
}

/// Why the drawn backend cannot be reached: see [`backend_tls`].
fn unverifiable((policy, why): (&str, &str)) -> Refusal {
    (
        ServerError::BackendTlsUnverifiable,
        Cow::Owned(format!(
            "BackendTLSPolicy {policy} cannot verify the backend: {why}"
        )),
    )
}

/// Timeouts, a retry policy or session persistence that do not parse.
fn settings(why: Reason) -> Refusal {
    (ServerError::InvalidRuleSettings, why)
}

/// The answer of a RequestRedirect filter, or why it cannot be given.
fn redirect_plan<'r>(
    decision: &Decision<'r, '_>,
    req: &RequestView<'_>,
    redirect: Result<&Redirect, &Refusal>,
) -> Result<Plan<'r>, Refusal> {
    let redirect = redirect.map_err(Clone::clone)?;
    Ok(Plan::Respond(
        redirect::respond(redirect, decision, req).map_err(invalid_filter)?,
    ))
}

#[cfg(test)]
mod tests;
