//! Typed filter values: what a rule's filters and settings mean, parsed from the wire types
//! once, below every stage that uses them.
//!
//! This module sits at the bottom of the library with [`crate::api`] and [`crate::request`]:
//! attachment ([`crate::attach`]) compiles a rule's timeouts and retry policy into
//! [`Timeouts`] and [`Retry`] values here, the router keeps them, and the plan stage
//! ([`crate::plan`](mod@crate::plan)) hands them to the proxy. A rule's filters are compiled here too, once, into
//! typed values the plan stage executes without checking them again: one function decides
//! whether a filter is valid, for route status and for the request path alike. [`HeaderEdits`]
//! and [`RequestEdits`] are the edits a plan carries; [`RequestEdits::apply`] and
//! [`for_http1_backend`] execute them on an `http::Request`.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod budget;
mod compiled;
mod cors;
mod duration;
mod headers;
mod session;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

pub use budget::{AttemptDeadline, BUDGET_EXHAUSTED_STATUS, RetryBudget, RetryCounts, RetryRate};
pub(crate) use compiled::{
    AuthFilter, AuthProtocolConfig, Filter, FilterContext, FilterKind, FilterProblem, FilterRoute,
    MIRROR_PARTS, MirrorFilter, Owner, PathModifier, Redirect, RedirectStatus, Refusal, Rewrite,
    Scheme, ServicePort, compile,
};
pub(crate) use cors::{CorsPolicy, Listed};
pub use duration::parse_duration;
pub use headers::{
    HeaderEdits, RequestEdits, for_http1_backend, for_http2_backend, remove_hop_by_hop,
};
pub(crate) use headers::{is_field_value, is_tchar};
pub use session::{
    CookieLifetime, MAX_ENDPOINT, Session, SessionKind, SessionPin, SessionPolicy, SessionSource,
    SetSession,
};
pub(crate) use session::{SessionScope, cookie_path};

use crate::api::{HttpFilterType, HttpRouteFilter, HttpRouteRetry, HttpRouteTimeouts};

/// The rule's timeouts (Gateway API HTTPRouteTimeouts).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// `timeouts.request`: the whole request-response transaction.
    pub request: Timeout,
    /// `timeouts.backendRequest`: one request from the gateway to a backend.
    pub backend_request: Timeout,
}

/// One configured timeout.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timeout {
    /// Not configured: the proxy's own default applies ("When this field is unspecified,
    /// request timeout behavior is implementation-specific").
    #[default]
    Unset,
    /// Configured as zero (`0s`): "Setting a timeout to the zero duration (e.g. "0s") SHOULD
    /// disable the timeout completely. Implementations that cannot completely disable the
    /// timeout MUST instead interpret the zero duration as the longest possible value to which
    /// the timeout can be set."
    Disabled,
    /// Time out after this long.
    After(Duration),
}

impl Timeouts {
    /// The shortest deadline configured, if any: what bounds one exchange with a backend that
    /// is not retried (`request` bounds the whole transaction, `backendRequest` each attempt).
    ///
    /// ```
    /// use std::time::Duration;
    /// use gateway_core::filter::{Timeout, Timeouts};
    /// let mut t = Timeouts::default();
    /// assert_eq!(t.shortest(), None);
    /// t.request = Timeout::After(Duration::from_secs(10));
    /// t.backend_request = Timeout::Disabled;
    /// assert_eq!(t.shortest(), Some(Duration::from_secs(10)));
    /// t.backend_request = Timeout::After(Duration::from_secs(2));
    /// assert_eq!(t.shortest(), Some(Duration::from_secs(2)));
    /// ```
    #[inline]
    pub fn shortest(&self) -> Option<Duration> {
        match (self.request.duration(), self.backend_request.duration()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Timeout {
    /// The deadline, when one is configured and not disabled.
    #[inline]
    pub fn duration(self) -> Option<Duration> {
        match self {
            Self::After(d) => Some(d),
            Self::Unset | Self::Disabled => None,
        }
    }
}

/// The rule's retry policy (Gateway API HTTPRouteRetry).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Response status codes that are retried (400 to 599).
    pub codes: Vec<u16>,
    /// Retries after the first attempt; `None` leaves it to the proxy, `Some(0)` disables
    /// retries ("An explicit zero value MUST disable retries").
    pub attempts: Option<u32>,
    /// Base interval between attempts; `None` leaves it to the proxy.
    pub backoff: Option<Duration>,
}

/// Why request edits could not be applied to a request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    /// The new path does not form a valid request URI with the request's query.
    InvalidPath(String),
    /// The new authority is not a valid URI authority or Host value.
    InvalidAuthority(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPath(p) => write!(f, "rewritten path {p:?} is not a valid request target"),
            Self::InvalidAuthority(a) => write!(f, "rewritten authority {a:?} is not valid"),
        }
    }
}

impl std::error::Error for FilterError {}

/// Why a filter or setting cannot be applied: the reason a request answers 500.
pub(crate) type Reason = Cow<'static, str>;

/// A rule's timeouts and retry policy, parsed when the router is built: every plan of the
/// rule copies them, or answers 500 with the reason they do not parse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RuleSettings {
    pub(crate) timeouts: Result<Timeouts, Reason>,
    pub(crate) retry: Result<Option<Retry>, Reason>,
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            timeouts: Ok(Timeouts::default()),
            retry: Ok(None),
        }
    }
}

// By hand: `Timeouts` and `Retry` are public and do not promise `Hash`.
impl std::hash::Hash for RuleSettings {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        fn timeout<H: std::hash::Hasher>(t: Timeout, state: &mut H) {
            match t {
                Timeout::Unset => 0u8.hash(state),
                Timeout::Disabled => 1u8.hash(state),
                Timeout::After(d) => (2u8, d).hash(state),
                // `Timeout` is non-exhaustive only outside this crate.
            }
        }
        match &self.timeouts {
            Ok(t) => {
                timeout(t.request, state);
                timeout(t.backend_request, state);
            }
            Err(why) => why.hash(state),
        }
        match &self.retry {
            Ok(Some(r)) => (&r.codes, r.attempts, r.backoff).hash(state),
            Ok(None) => 0u8.hash(state),
            Err(why) => why.hash(state),
        }
    }
}

impl RuleSettings {
    /// Parses a rule's `timeouts` and `retry`.
    pub(crate) fn parse(timeouts: Option<&HttpRouteTimeouts>, r: Option<&HttpRouteRetry>) -> Self {
        Self {
            timeouts: parse_timeouts(timeouts),
            retry: r.map(retry).transpose(),
        }
    }
}

fn parse_timeouts(t: Option<&HttpRouteTimeouts>) -> Result<Timeouts, Reason> {
    let Some(t) = t else {
        return Ok(Timeouts::default());
    };
    let one = |field: &str, value: Option<&String>| -> Result<Timeout, Reason> {
        let Some(value) = value else {
            return Ok(Timeout::Unset);
        };
        match parse_duration(value) {
            Some(d) if d.is_zero() => Ok(Timeout::Disabled),
            Some(d) => Ok(Timeout::After(d)),
            None => Err(Cow::Owned(format!(
                "timeouts.{field} {value:?} is not a Gateway API duration"
            ))),
        }
    };
    Ok(Timeouts {
        request: one("request", t.request.as_ref())?,
        backend_request: one("backendRequest", t.backend_request.as_ref())?,
    })
}

fn retry(r: &HttpRouteRetry) -> Result<Retry, Reason> {
    let codes = r
        .codes
        .iter()
        .map(|&c| {
            u16::try_from(c)
                .ok()
                .filter(|c| (400..=599).contains(c))
                .ok_or_else(|| Cow::Owned(format!("retry code {c} is not between 400 and 599")))
        })
        .collect::<Result<Vec<u16>, Reason>>()?;
    let attempts = r
        .attempts
        .map(|a| {
            u32::try_from(a).map_err(|_| Cow::Owned(format!("retry attempts {a} is negative")))
        })
        .transpose()?;
    let backoff = match &r.backoff {
        None => None,
        Some(b) => Some(parse_duration(b).ok_or_else(|| {
            Cow::Owned(format!("retry backoff {b:?} is not a Gateway API duration"))
        })?),
    };
    Ok(Retry {
        codes,
        attempts,
        backoff,
    })
}

/// The `ExternalAuth` filters of a rule, in the order their backendRefs are resolved: the
/// rule's `filters`, then each backendRef's `filters` (with its index).
pub(crate) fn external_auth_filters<'a>(
    filters: &'a [HttpRouteFilter],
    backend_filters: impl Iterator<Item = &'a [HttpRouteFilter]>,
) -> impl Iterator<Item = (Option<usize>, &'a HttpRouteFilter)> {
    let own = filters.iter().map(|f| (None, f));
    let per_backend = backend_filters
        .enumerate()
        .flat_map(|(i, filters)| filters.iter().map(move |f| (Some(i), f)));
    own.chain(per_backend)
        .filter(|(_, f)| f.type_ == HttpFilterType::ExternalAuth)
}
