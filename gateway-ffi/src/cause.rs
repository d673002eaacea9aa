//! Why the proxy answers a request itself: the core's causes
//! ([`gateway_core::outcome::Outcome::cause_code`]) as one C enum, numbered as the core numbers
//! them.

use gateway_core::outcome::{BadRequest, Denied, NotFound, Outcome, ServerError};

/// Why the proxy answers the client itself (`gw_decision_cause`): one value per cause of
/// gateway-core's outcome vocabulary, with the core's numbers. Numbers are grouped by outcome:
/// 1xx with `GW_OUTCOME_NOT_FOUND`, 2xx with `GW_OUTCOME_BAD_REQUEST`, 3xx with
/// `GW_OUTCOME_SERVER_ERROR`, 4xx with `GW_OUTCOME_DENIED`; `GW_CAUSE_NONE` for the outcomes
/// that have no cause. A number is never reused for another cause.
///
/// Switch on the cause to tell cases apart (metrics, logs, a custom error page); never match
/// the text of `gw_decision_reason`, which is for people and may change in any release.
#[repr(u32)]
#[allow(clippy::exhaustive_enums)] // a C enum: new causes get new numbers
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum gw_cause {
    /// No cause: `GW_OUTCOME_FORWARD`, `_REDIRECT`, `_RESPOND`, `_MISDIRECTED`, `_AUTHORIZE`,
    /// `_PASS_THROUGH`.
    None = 0,

    /// Not found: no HTTP or HTTPS listener serves the connection's port.
    NoListenerOnPort = 101,
    /// Not found: no listener of the port matches the Host.
    NoListenerForHost = 102,
    /// Not found: no listener of the port matches the TLS server name.
    NoListenerForSni = 103,
    /// Not found: the listener has no rule whose matches all hold.
    NoRule = 104,

    /// Bad request (431): more header fields than the limit.
    TooManyHeaderFields = 201,
    /// Bad request (431): a header section larger than the limit.
    HeaderSectionTooLarge = 202,
    /// Bad request (414): a request-target longer than the limit.
    TargetTooLong = 203,
    /// Bad request: a target or path that cannot be canonicalized (bytes, escapes, fragments,
    /// encoded slashes, backslashes, path-parameter dot segments).
    InvalidTarget = 204,
    /// Bad request: an authority-form or asterisk-form target on a routed request.
    UnsupportedTargetForm = 205,
    /// Bad request: no Host, two Hosts, an `:authority` that disagrees with Host, or a
    /// malformed host.
    InvalidHost = 206,
    /// Bad request: more query pairs than the limit.
    TooManyQueryPairs = 207,
    /// Bad request: a header value with CR, LF or NUL, or one the external auth check must
    /// carry that cannot be sent as it is.
    InvalidHeaderValue = 208,
    /// Bad request: a path that could climb out of the auth check's path prefix.
    UnsafeAuthPath = 209,
    /// Bad request: a method, scheme, `:authority` or TLS server name that is not UTF-8.
    MalformedRequest = 210,
    /// Bad request: a header name that is empty or holds a control byte, a space, DEL, a
    /// non-ASCII byte or a `:` past a leading one.
    InvalidHeaderName = 211,
    /// Bad request: two `Authorization` lines, or `Content-Length` lines that disagree.
    DuplicateHeader = 212,
    /// Bad request: a method that is not a token.
    InvalidMethod = 213,
    /// Bad request: one of the nine `HTTPMethod` methods spelled in another case (`post`).
    MethodCaseVariant = 214,

    /// Server error: the rule has no backendRefs.
    NoBackendRefs = 301,
    /// Server error: the request drew an invalid backendRef's share, or every weight is zero.
    InvalidBackend = 302,
    /// Server error: a filter the library does not apply (an ExtensionRef, a filter type the
    /// route kind does not allow).
    UnsupportedFilter = 303,
    /// Server error: a filter that cannot be applied as written.
    InvalidFilter = 304,
    /// Server error: the rule's timeouts or retry policy do not parse.
    InvalidRuleSettings = 305,
    /// Server error: the backend's TLS settings cannot be carried out (a BackendTLSPolicy
    /// whose CA references are unusable, or an unusable Gateway backend client certificate):
    /// the forward is refused rather than made without them.
    BackendTlsUnverifiable = 306,
    /// Server error: the ExternalAuth filter's backendRef does not resolve.
    AuthBackendUnresolved = 307,
    /// Server error: more than one ExternalAuth filter applies to the request.
    ConflictingAuthFilters = 308,
    /// Server error: the matched rule is not an HTTP rule (a TLS, TCP or UDP rule).
    NotAnHttpRule = 309,
    /// Server error: the proxy could not carry out the decision. The library gives it only for
    /// a NULL decision (`gw_decision_cause(NULL)`) and for a decision this ABI cannot describe;
    /// use it for failures of your own (a backend unreachable, a limit of the proxy).
    Proxy = 310,
    /// Server error (502): the backend presented a certificate chain its BackendTLSPolicy
    /// refuses (`gw_decision_verify_backend_chain` did not return `GW_RESULT_OK`); close the
    /// connection and answer 502.
    BackendCertificateRefused = 311,

    /// Denied: the auth service denied the request (its status, headers and body).
    ByAuthService = 401,
    /// Denied: no usable answer from the auth service (unreachable, timed out, malformed):
    /// fail closed with the failure status.
    AuthFailed = 402,
    /// Denied: the body is over the ExternalAuth filter's `forwardBody.maxSize`.
    BodyTooLarge = 403,

    /// A cause this version of the header does not name (never given while the library and
    /// the header come from the same release): act on `gw_decision_outcome` alone.
    Other = 999,
}

impl gw_cause {
    /// The C value of the core's cause, one to one; [`gw_cause::Other`] for a cause this
    /// crate does not know yet (the test `every_core_cause_has_its_number_in_c` catches that).
    pub(crate) fn of(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Forward
            | Outcome::Redirect
            | Outcome::Respond
            | Outcome::Misdirected
            | Outcome::Authorize
            | Outcome::PassThrough => Self::None,
            Outcome::NotFound(c) => match c {
                NotFound::NoListenerOnPort => Self::NoListenerOnPort,
                NotFound::NoListenerForHost => Self::NoListenerForHost,
                NotFound::NoListenerForSni => Self::NoListenerForSni,
                NotFound::NoRule => Self::NoRule,
                _ => Self::Other,
            },
            Outcome::BadRequest(c) => match c {
                BadRequest::TooManyHeaderFields => Self::TooManyHeaderFields,
                BadRequest::HeaderSectionTooLarge => Self::HeaderSectionTooLarge,
                BadRequest::TargetTooLong => Self::TargetTooLong,
                BadRequest::InvalidTarget => Self::InvalidTarget,
                BadRequest::UnsupportedTargetForm => Self::UnsupportedTargetForm,
                BadRequest::InvalidHost => Self::InvalidHost,
                BadRequest::TooManyQueryPairs => Self::TooManyQueryPairs,
                BadRequest::InvalidHeaderValue => Self::InvalidHeaderValue,
                BadRequest::UnsafeAuthPath => Self::UnsafeAuthPath,
                BadRequest::MalformedRequest => Self::MalformedRequest,
                BadRequest::InvalidHeaderName => Self::InvalidHeaderName,
                BadRequest::DuplicateHeader => Self::DuplicateHeader,
                BadRequest::InvalidMethod => Self::InvalidMethod,
                BadRequest::MethodCaseVariant => Self::MethodCaseVariant,
                _ => Self::Other,
            },
            Outcome::ServerError(c) => match c {
                ServerError::NoBackendRefs => Self::NoBackendRefs,
                ServerError::InvalidBackend => Self::InvalidBackend,
                ServerError::UnsupportedFilter => Self::UnsupportedFilter,
                ServerError::InvalidFilter => Self::InvalidFilter,
                ServerError::InvalidRuleSettings => Self::InvalidRuleSettings,
                ServerError::BackendTlsUnverifiable => Self::BackendTlsUnverifiable,
                ServerError::AuthBackendUnresolved => Self::AuthBackendUnresolved,
                ServerError::ConflictingAuthFilters => Self::ConflictingAuthFilters,
                ServerError::NotAnHttpRule => Self::NotAnHttpRule,
                ServerError::Proxy => Self::Proxy,
                ServerError::BackendCertificateRefused => Self::BackendCertificateRefused,
                _ => Self::Other,
            },
            Outcome::Denied(c) => match c {
                Denied::ByAuthService => Self::ByAuthService,
                Denied::AuthFailed => Self::AuthFailed,
                Denied::BodyTooLarge => Self::BodyTooLarge,
                _ => Self::Other,
            },
            // An outcome a later core adds.
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_cause_has_its_number_in_c() {
        let mut seen = std::collections::HashSet::new();
        for &outcome in Outcome::CAUSES {
            let c = gw_cause::of(outcome);
            assert_ne!(c, gw_cause::Other, "{outcome} has no C name");
            assert_eq!(c as u32, outcome.cause_code(), "{outcome}");
            assert!(seen.insert(c), "{outcome}: two causes share {c:?}");
        }
        // Every C cause but NONE and OTHER is a core cause.
        assert_eq!(seen.len(), Outcome::CAUSES.len());
    }

    #[test]
    fn c_names_are_the_core_names_upper_cased() {
        for &outcome in Outcome::CAUSES {
            let rust = format!("{:?}", gw_cause::of(outcome));
            let snake: String = rust
                .chars()
                .enumerate()
                .flat_map(|(i, ch)| {
                    let sep = (i > 0 && ch.is_ascii_uppercase()).then_some('_');
                    sep.into_iter().chain(ch.to_lowercase())
                })
                .collect();
            assert_eq!(Some(snake.as_str()), outcome.cause_str(), "{outcome}");
        }
    }

    #[test]
    fn outcomes_without_a_cause_give_none() {
        for outcome in [
            Outcome::Forward,
            Outcome::Redirect,
            Outcome::Respond,
            Outcome::Misdirected,
            Outcome::Authorize,
            Outcome::PassThrough,
        ] {
            assert_eq!(gw_cause::of(outcome), gw_cause::None);
            assert_eq!(outcome.cause_code(), 0);
        }
    }
}
