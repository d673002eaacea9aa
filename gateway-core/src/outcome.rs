//! The one decision vocabulary: what the proxy must do with a request, and why when it answers
//! the client itself.
//!
//! Every stage speaks it: the router ([`crate::route::Decision::outcome`]) says forward, not
//! found, bad request, misdirected or server error; the plan stage
//! ([`crate::plan::Plan::outcome`]) adds redirect, local response, authorize and denied. The
//! JSON interface (`outcome` and `cause` strings), the C ABI (`GW_OUTCOME_*` and `GW_CAUSE_*`
//! numbers) and the WebAssembly packages map these values one to one: nothing is inferred from
//! a status code or a header.
//!
//! | outcome | JSON | C | status |
//! | --- | --- | --- | --- |
//! | [`Outcome::Forward`] | `forward` | 0 | the backend's |
//! | [`Outcome::Redirect`] | `redirect` | 1 | 301 or 302 |
//! | [`Outcome::Respond`] | `respond` | 2 | the local response's (a CORS preflight: 200) |
//! | [`Outcome::NotFound`] | `not_found` | 3 | 404 |
//! | [`Outcome::BadRequest`] | `bad_request` | 4 | 400, 414 or 431 ([`BadRequest::status`]) |
//! | [`Outcome::Misdirected`] | `misdirected` | 5 | 421 |
//! | [`Outcome::ServerError`] | `server_error` | 6 | 500, or 502 ([`ServerError::status`]) |
//! | [`Outcome::Authorize`] | `auth_required` | 7 | none yet: ask the auth service |
//! | [`Outcome::Denied`] | `auth_denied` | 8 | the auth service's, or the failure status |
//! | [`Outcome::PassThrough`] | `pass_through` | 9 | the destination's: no mesh route applies |
//!
//! Cause numbers ([`Outcome::cause_code`]) are grouped by outcome: 1xx not found, 2xx bad
//! request, 3xx server error, 4xx denied; 0 is "no cause" (forward, redirect, respond,
//! misdirected, authorize, pass through). A number is never reused for another cause.

use std::fmt;

/// What the proxy must do with a request.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Forward to the backend the plan names.
    Forward,
    /// Answer with a redirect (`location` set): a RequestRedirect filter.
    Redirect,
    /// Answer with a local response that is not an error, such as a CORS preflight.
    Respond,
    /// Answer 404: no listener or rule matches.
    NotFound(NotFound),
    /// Answer 400, 414 or 431: the request cannot be canonicalized or is over a limit.
    BadRequest(BadRequest),
    /// Answer 421: the Host belongs to another listener than the TLS server name chose.
    Misdirected,
    /// Answer 500 (502 for a refused backend certificate): the matched rule cannot be served
    /// as configured.
    ServerError(ServerError),
    /// Ask the external auth service first (an `ExternalAuth` filter applies).
    Authorize,
    /// Answer the local response: refused on the external auth path.
    Denied(Denied),
    /// Mesh only: no route applies to the destination (no Service has the address, or no
    /// route attaches to the Service port for this client). Forward the request unchanged to
    /// the destination as the client addressed it; it is not an error and has no status.
    PassThrough,
}

/// Why no rule matches.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotFound {
    /// No listener of the connection's protocol serves its port: HTTP or HTTPS for
    /// [`crate::route::Router::route`]; TLS, TCP or UDP for [`crate::route::Router::route_l4`].
    NoListenerOnPort,
    /// No listener of the port matches the Host.
    NoListenerForHost,
    /// No listener of the port matches the TLS server name (for a TLS connection routed by
    /// [`crate::route::Router::route_l4`], also: the listeners have hostnames and the
    /// connection sent no server name).
    NoListenerForSni,
    /// The listener has no rule whose matches all hold (for a TLS, TCP or UDP connection: no
    /// route of the listener matches).
    NoRule,
}

/// Why a request is refused before routing.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BadRequest {
    /// More header fields than the limit (431).
    TooManyHeaderFields,
    /// A header section larger than the limit (431).
    HeaderSectionTooLarge,
    /// A request-target longer than the limit (414).
    TargetTooLong,
    /// A target or path that cannot be canonicalized (bytes, escapes, fragments, encoded
    /// slashes, backslashes, path-parameter dot segments).
    InvalidTarget,
    /// An authority-form or asterisk-form target on a routed request.
    UnsupportedTargetForm,
    /// No Host, two Hosts, an `:authority` that disagrees with Host, or a malformed host.
    InvalidHost,
    /// More query pairs than the limit.
    TooManyQueryPairs,
    /// A header field value that cannot be carried: CR, LF or NUL in any value (RFC 9110
    /// §5.5, RFC 9113 §8.2.1), or a value the external auth check must carry that is not UTF-8
    /// (gRPC).
    InvalidHeaderValue,
    /// A path that could climb out of the auth check's path prefix (encoded slashes kept by
    /// the path policy).
    UnsafeAuthPath,
    /// A request field a binding received is not valid text (a method or header that is not
    /// UTF-8, for bindings whose input is bytes).
    MalformedRequest,
    /// A header field name that is empty or holds a byte a field name may not carry: a
    /// control byte, a space, DEL, a non-ASCII byte, or a `:` past a leading one (RFC 9110
    /// §5.1, RFC 9113 §8.2.1).
    InvalidHeaderName,
    /// A header that may appear once sent more than once: Host is [`BadRequest::InvalidHost`];
    /// this is `Authorization`, or `Content-Length` lines that disagree.
    DuplicateHeader,
    /// A method that is not a token (RFC 9110 §9.1, §5.6.2): empty, or with a control byte,
    /// a space or a delimiter.
    InvalidMethod,
    /// A method that spells one of the nine `HTTPMethod` methods in another case (`post`):
    /// methods are case-sensitive, so it would slip past a rule for `POST` while backends that
    /// upper-case it serve the write. Refused unless `PathPolicy::method_case` allows it.
    MethodCaseVariant,
}

/// Why the matched rule cannot be served.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerError {
    /// The rule has no backendRefs.
    NoBackendRefs,
    /// The request drew an invalid backendRef's share, or every weight is zero.
    InvalidBackend,
    /// A filter the library does not apply (an ExtensionRef, a filter type the route kind does
    /// not allow).
    UnsupportedFilter,
    /// A filter that cannot be applied as written.
    InvalidFilter,
    /// The rule's timeouts or retry policy do not parse.
    InvalidRuleSettings,
    /// The backend's BackendTLSPolicy cannot verify it (unusable CA references).
    BackendTlsUnverifiable,
    /// The ExternalAuth filter's backendRef does not resolve.
    AuthBackendUnresolved,
    /// More than one ExternalAuth filter applies to the request.
    ConflictingAuthFilters,
    /// The matched rule is not an HTTP rule (a TLS, TCP or UDP rule).
    NotAnHttpRule,
    /// The embedding proxy could not carry out the plan: a backend it cannot reach or that
    /// timed out, a limit of its own, its own configuration. The library never gives it; it is
    /// the outcome of the local responses an embedder builds itself.
    Proxy,
    /// The backend presented a certificate chain its BackendTLSPolicy refuses
    /// ([`crate::tls::verify`] gave [`crate::tls::Verdict::Invalid`]): the connection must not
    /// be used, and the client gets 502 Bad Gateway.
    BackendCertificateRefused,
}

/// Why the external auth path refused the request.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Denied {
    /// The auth service denied the request: its status, headers and body.
    ByAuthService,
    /// No usable answer (unreachable, timed out, malformed): fail closed.
    AuthFailed,
    /// The body is over the filter's `forwardBody.maxSize` (413 by default).
    BodyTooLarge,
}

impl Outcome {
    /// The stable number of the outcome (the C ABI's `GW_OUTCOME_*`).
    pub const fn code(self) -> u32 {
        match self {
            Self::Forward => 0,
            Self::Redirect => 1,
            Self::Respond => 2,
            Self::NotFound(_) => 3,
            Self::BadRequest(_) => 4,
            Self::Misdirected => 5,
            Self::ServerError(_) => 6,
            Self::Authorize => 7,
            Self::Denied(_) => 8,
            Self::PassThrough => 9,
        }
    }

    /// The stable lower-case name of the JSON interface's `outcome` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::Redirect => "redirect",
            Self::Respond => "respond",
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::Misdirected => "misdirected",
            Self::ServerError(_) => "server_error",
            Self::Authorize => "auth_required",
            Self::Denied(_) => "auth_denied",
            Self::PassThrough => "pass_through",
        }
    }

    /// The status the proxy answers with when the outcome alone fixes it: 404, 421, a server
    /// error's (500 or 502) and a bad request's; `None` for outcomes whose status comes with
    /// their response (forward, redirect, respond, denied), is not known yet (authorize) or is
    /// the destination's (pass through).
    pub const fn status(self) -> Option<u16> {
        match self {
            Self::NotFound(_) => Some(404),
            Self::BadRequest(cause) => Some(cause.status()),
            Self::Misdirected => Some(421),
            Self::ServerError(cause) => Some(cause.status()),
            Self::Forward
            | Self::Redirect
            | Self::Respond
            | Self::Authorize
            | Self::Denied(_)
            | Self::PassThrough => None,
        }
    }

    /// The stable number of the cause (the C ABI's `GW_CAUSE_*`); 0 when the outcome has none.
    pub const fn cause_code(self) -> u32 {
        match self {
            Self::NotFound(c) => c.code(),
            Self::BadRequest(c) => c.code(),
            Self::ServerError(c) => c.code(),
            Self::Denied(c) => c.code(),
            Self::Forward
            | Self::Redirect
            | Self::Respond
            | Self::Misdirected
            | Self::Authorize
            | Self::PassThrough => 0,
        }
    }

    /// The stable lower-case name of the cause (the JSON interface's `cause` field).
    pub const fn cause_str(self) -> Option<&'static str> {
        match self {
            Self::NotFound(c) => Some(c.as_str()),
            Self::BadRequest(c) => Some(c.as_str()),
            Self::ServerError(c) => Some(c.as_str()),
            Self::Denied(c) => Some(c.as_str()),
            Self::Forward
            | Self::Redirect
            | Self::Respond
            | Self::Misdirected
            | Self::Authorize
            | Self::PassThrough => None,
        }
    }

    /// Every cause, for bindings that list them (the C header, the TypeScript declarations)
    /// and for tests that check the numbering.
    pub const CAUSES: &'static [Outcome] = &[
        Self::NotFound(NotFound::NoListenerOnPort),
        Self::NotFound(NotFound::NoListenerForHost),
        Self::NotFound(NotFound::NoListenerForSni),
        Self::NotFound(NotFound::NoRule),
        Self::BadRequest(BadRequest::TooManyHeaderFields),
        Self::BadRequest(BadRequest::HeaderSectionTooLarge),
        Self::BadRequest(BadRequest::TargetTooLong),
        Self::BadRequest(BadRequest::InvalidTarget),
        Self::BadRequest(BadRequest::UnsupportedTargetForm),
        Self::BadRequest(BadRequest::InvalidHost),
        Self::BadRequest(BadRequest::TooManyQueryPairs),
        Self::BadRequest(BadRequest::InvalidHeaderValue),
        Self::BadRequest(BadRequest::UnsafeAuthPath),
        Self::BadRequest(BadRequest::MalformedRequest),
        Self::BadRequest(BadRequest::InvalidHeaderName),
        Self::BadRequest(BadRequest::DuplicateHeader),
        Self::BadRequest(BadRequest::InvalidMethod),
        Self::BadRequest(BadRequest::MethodCaseVariant),
        Self::ServerError(ServerError::NoBackendRefs),
        Self::ServerError(ServerError::InvalidBackend),
        Self::ServerError(ServerError::UnsupportedFilter),
        Self::ServerError(ServerError::InvalidFilter),
        Self::ServerError(ServerError::InvalidRuleSettings),
        Self::ServerError(ServerError::BackendTlsUnverifiable),
        Self::ServerError(ServerError::AuthBackendUnresolved),
        Self::ServerError(ServerError::ConflictingAuthFilters),
        Self::ServerError(ServerError::NotAnHttpRule),
        Self::ServerError(ServerError::Proxy),
        Self::ServerError(ServerError::BackendCertificateRefused),
        Self::Denied(Denied::ByAuthService),
        Self::Denied(Denied::AuthFailed),
        Self::Denied(Denied::BodyTooLarge),
    ];
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause_str() {
            Some(cause) => write!(f, "{} ({cause})", self.as_str()),
            None => f.write_str(self.as_str()),
        }
    }
}

impl NotFound {
    /// The stable number (101-199).
    pub const fn code(self) -> u32 {
        match self {
            Self::NoListenerOnPort => 101,
            Self::NoListenerForHost => 102,
            Self::NoListenerForSni => 103,
            Self::NoRule => 104,
        }
    }

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoListenerOnPort => "no_listener_on_port",
            Self::NoListenerForHost => "no_listener_for_host",
            Self::NoListenerForSni => "no_listener_for_sni",
            Self::NoRule => "no_rule",
        }
    }
}

impl BadRequest {
    /// The stable number (201-299).
    pub const fn code(self) -> u32 {
        match self {
            Self::TooManyHeaderFields => 201,
            Self::HeaderSectionTooLarge => 202,
            Self::TargetTooLong => 203,
            Self::InvalidTarget => 204,
            Self::UnsupportedTargetForm => 205,
            Self::InvalidHost => 206,
            Self::TooManyQueryPairs => 207,
            Self::InvalidHeaderValue => 208,
            Self::UnsafeAuthPath => 209,
            Self::MalformedRequest => 210,
            Self::InvalidHeaderName => 211,
            Self::DuplicateHeader => 212,
            Self::InvalidMethod => 213,
            Self::MethodCaseVariant => 214,
        }
    }

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TooManyHeaderFields => "too_many_header_fields",
            Self::HeaderSectionTooLarge => "header_section_too_large",
            Self::TargetTooLong => "target_too_long",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTargetForm => "unsupported_target_form",
            Self::InvalidHost => "invalid_host",
            Self::TooManyQueryPairs => "too_many_query_pairs",
            Self::InvalidHeaderValue => "invalid_header_value",
            Self::UnsafeAuthPath => "unsafe_auth_path",
            Self::MalformedRequest => "malformed_request",
            Self::InvalidHeaderName => "invalid_header_name",
            Self::DuplicateHeader => "duplicate_header",
            Self::InvalidMethod => "invalid_method",
            Self::MethodCaseVariant => "method_case_variant",
        }
    }

    /// The status to answer with: 431 for the header limits, 414 for a long target, else 400.
    pub const fn status(self) -> u16 {
        match self {
            Self::TooManyHeaderFields | Self::HeaderSectionTooLarge => 431,
            Self::TargetTooLong => 414,
            _ => 400,
        }
    }
}

impl ServerError {
    /// The stable number (301-399).
    pub const fn code(self) -> u32 {
        match self {
            Self::NoBackendRefs => 301,
            Self::InvalidBackend => 302,
            Self::UnsupportedFilter => 303,
            Self::InvalidFilter => 304,
            Self::InvalidRuleSettings => 305,
            Self::BackendTlsUnverifiable => 306,
            Self::AuthBackendUnresolved => 307,
            Self::ConflictingAuthFilters => 308,
            Self::NotAnHttpRule => 309,
            Self::Proxy => 310,
            Self::BackendCertificateRefused => 311,
        }
    }

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoBackendRefs => "no_backend_refs",
            Self::InvalidBackend => "invalid_backend",
            Self::UnsupportedFilter => "unsupported_filter",
            Self::InvalidFilter => "invalid_filter",
            Self::InvalidRuleSettings => "invalid_rule_settings",
            Self::BackendTlsUnverifiable => "backend_tls_unverifiable",
            Self::AuthBackendUnresolved => "auth_backend_unresolved",
            Self::ConflictingAuthFilters => "conflicting_auth_filters",
            Self::NotAnHttpRule => "not_an_http_rule",
            Self::Proxy => "proxy",
            Self::BackendCertificateRefused => "backend_certificate_refused",
        }
    }

    /// The status to answer with: 502 for a refused backend certificate (the gateway could not
    /// use its upstream), else 500.
    pub const fn status(self) -> u16 {
        match self {
            Self::BackendCertificateRefused => 502,
            _ => 500,
        }
    }
}

impl Denied {
    /// The stable number (401-499).
    pub const fn code(self) -> u32 {
        match self {
            Self::ByAuthService => 401,
            Self::AuthFailed => 402,
            Self::BodyTooLarge => 403,
        }
    }

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ByAuthService => "by_auth_service",
            Self::AuthFailed => "auth_failed",
            Self::BodyTooLarge => "body_too_large",
        }
    }
}

#[cfg(test)]
mod tests;
