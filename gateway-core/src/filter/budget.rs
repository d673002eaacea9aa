//! XBackendTrafficPolicy `retryConstraint`: the retry budget of a backend Service, typed once
//! when the router is built, and the retry policy's step-by-step answers.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::Value;

use super::{Reason, Retry, Timeout, Timeouts, parse_duration};

/// The status a request gets when its retry is refused by the budget.
///
/// XBackendTrafficPolicy `retryConstraint`: "After the retry budget has been exceeded,
/// additional retries to the backend MUST return a 503 response to the client."
pub const BUDGET_EXHAUSTED_STATUS: u16 = 503;

/// A backend Service's retry budget (XBackendTrafficPolicy `retryConstraint`, GEP-3388), with
/// the CRD defaults applied.
///
/// The proxy keeps the counts (the core reads no clock and keeps no state) and asks
/// [`RetryBudget::allows_retry`] before each retry; a refusal answers
/// [`BUDGET_EXHAUSTED_STATUS`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryBudget {
    /// `budget.percent` (default 20): "the maximum percentage of active requests that may be
    /// made up of retries".
    pub percent: u8,
    /// `budget.interval` (default 10s): "the duration in which requests will be considered for
    /// calculating the budget for retries".
    pub interval: Duration,
    /// `minRetryRate` (default 10 per 1s): retries allowed whatever the budget says.
    pub min_retry_rate: RetryRate,
}

/// A number of retries per interval (`minRetryRate`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryRate {
    /// `count`: retries allowed per interval.
    pub count: u32,
    /// `interval`: the interval.
    pub interval: Duration,
}

/// What the proxy counted, for one backend Service, when it considers a retry.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryCounts {
    /// Requests sent to the Service within the last [`RetryBudget::interval`], retries
    /// included ("active requests will only be considered for the duration of the interval").
    pub requests: u64,
    /// Of those, the retries: "retrying the same original request multiple times within the
    /// retry budget interval will lead to each retry being counted".
    pub retries: u64,
    /// Retries sent to the Service within the last `min_retry_rate.interval`.
    pub recent_retries: u64,
}

impl RetryCounts {
    /// Counts of `requests` requests, `retries` of them retries, within the budget's interval,
    /// and `recent_retries` retries within the minimum rate's interval.
    #[inline]
    pub fn new(requests: u64, retries: u64, recent_retries: u64) -> Self {
        Self {
            requests,
            retries,
            recent_retries,
        }
    }
}

impl Default for RetryBudget {
    /// The CRD defaults: `budget: {percent: 20, interval: 10s}`,
    /// `minRetryRate: {count: 10, interval: 1s}`.
    fn default() -> Self {
        Self {
            percent: 20,
            interval: Duration::from_secs(10),
            min_retry_rate: RetryRate {
                count: 10,
                interval: Duration::from_secs(1),
            },
        }
    }
}

impl RetryBudget {
    /// Whether one more retry to the Service stays within the budget.
    ///
    /// The retry is allowed when either
    /// - the minimum rate allows it: fewer than `min_retry_rate.count` retries in its interval
    ///   ("ensures that requests can still be retried during periods of low traffic"), or
    /// - with this retry counted, retries stay at most `percent` % of the requests in the
    ///   budget's interval (the spec's example: of 1000 requests in 10s, at 20 %, 200 may be
    ///   retries): `(retries + 1) * 100 <= percent * (requests + 1)`.
    ///
    /// A refused retry answers [`BUDGET_EXHAUSTED_STATUS`]. Constant time, no allocation.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::filter::{RetryBudget, RetryCounts};
    /// let budget = RetryBudget::default(); // 20 % over 10s, at least 10 per second
    /// // 1000 requests, 199 retries: the 200th retry is within 20 %.
    /// assert!(budget.allows_retry(RetryCounts::new(999, 199, 10)));
    /// assert!(!budget.allows_retry(RetryCounts::new(1000, 201, 10)));
    /// // Low traffic: the minimum rate still allows a few.
    /// assert!(budget.allows_retry(RetryCounts::new(3, 3, 9)));
    /// assert!(!budget.allows_retry(RetryCounts::new(3, 3, 10)));
    /// ```
    #[inline]
    pub fn allows_retry(&self, counts: RetryCounts) -> bool {
        if counts.recent_retries < u64::from(self.min_retry_rate.count) {
            return true;
        }
        let retries = u128::from(counts.retries) + 1;
        let requests = u128::from(counts.requests) + 1;
        retries * 100 <= u128::from(self.percent) * requests
    }

    /// The budget of a `retryConstraint` as the manifest has it (validated at load): CRD
    /// defaults for what is unset. A `minRetryRate` that sets `count` but no `interval` uses
    /// the default's interval (1s); one that sets `interval` but no `count`, the default count.
    pub(crate) fn parse(constraint: &Value) -> Result<Self, Reason> {
        let mut budget = Self::default();
        if let Some(b) = constraint.get("budget") {
            if let Some(p) = b.get("percent") {
                budget.percent = p
                    .as_u64()
                    .and_then(|p| u8::try_from(p).ok())
                    .filter(|p| *p <= 100)
                    .ok_or(Cow::Borrowed(
                        "retryConstraint.budget.percent is not between 0 and 100",
                    ))?;
            }
            if let Some(i) = b.get("interval") {
                budget.interval = duration(i, "retryConstraint.budget.interval")?;
            }
        }
        if let Some(rate) = constraint.get("minRetryRate") {
            if let Some(c) = rate.get("count") {
                budget.min_retry_rate.count = c
                    .as_u64()
                    .and_then(|c| u32::try_from(c).ok())
                    .filter(|c| (1..=1_000_000).contains(c))
                    .ok_or(Cow::Borrowed(
                        "retryConstraint.minRetryRate.count is not between 1 and 1000000",
                    ))?;
            }
            if let Some(i) = rate.get("interval") {
                budget.min_retry_rate.interval =
                    duration(i, "retryConstraint.minRetryRate.interval")?;
            }
        }
        Ok(budget)
    }
}

fn duration(value: &Value, field: &'static str) -> Result<Duration, Reason> {
    value
        .as_str()
        .and_then(parse_duration)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Cow::Owned(format!("{field} is not a positive Gateway API duration")))
}

/// The cap of [`Retry::backoff_before`]: ten times the configured backoff.
const BACKOFF_CAP: u32 = 10;

impl Retry {
    /// Whether a response with `status` is retried: `status` is one of `codes`.
    ///
    /// A backend that cannot be reached, or an attempt that reaches `timeouts.backendRequest`,
    /// is retried as well (GEP-1731: "after timing out or receiving a response code configured
    /// to be retryable").
    #[inline]
    pub fn should_retry(&self, status: u16) -> bool {
        self.codes.contains(&status)
    }

    /// Whether retry number `retry` (1 = the first retry, i.e. the second attempt) may be
    /// made: at most `attempts` retries. With `attempts` unset the number is the proxy's
    /// choice (`None`).
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::filter::Retry;
    /// # fn f(retry: &Retry) {
    /// let mut n = 1;
    /// while retry.allows(n) == Some(true) { n += 1; }
    /// # }
    /// ```
    #[inline]
    pub fn allows(&self, retry: u32) -> Option<bool> {
        self.attempts.map(|max| retry >= 1 && retry <= max)
    }

    /// How long to wait before retry number `retry` (1 = the first retry), or `None` when the
    /// rule sets no backoff (the proxy's own default applies).
    ///
    /// The choice: exponential from the configured backoff, doubling per retry and capped at
    /// ten times it (`backoff`, `2 × backoff`, `4 × backoff`, … ≤ `10 × backoff`). HTTPRouteRetry
    /// `backoff` is "the minimum duration a Gateway should wait between retry attempts"; "An
    /// implementation MAY use an exponential or alternative backoff strategy for subsequent
    /// retry attempts, MAY cap the maximum backoff duration to some amount greater than the
    /// specified minimum": no retry waits less than the minimum.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use gateway_core::filter::Retry;
    /// # fn f(retry: &Retry) {
    /// if let Some(wait) = retry.backoff_before(2) {
    ///     assert!(wait >= retry.backoff.unwrap());
    /// }
    /// # }
    /// ```
    #[inline]
    pub fn backoff_before(&self, retry: u32) -> Option<Duration> {
        let base = self.backoff?;
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(BACKOFF_CAP);
        Some(base.saturating_mul(factor))
    }
}

/// How long an attempt may take, given the rule's timeouts and the time already spent on the
/// exchange: see [`Timeouts::attempt_deadline`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptDeadline {
    /// No configured timeout bounds the attempt (the proxy's own defaults apply).
    Unbounded,
    /// The attempt must end within this duration.
    Within(Duration),
    /// `timeouts.request` has passed: no attempt may start; answer with a timeout error
    /// ("the Gateway MUST immediately return a timeout error").
    Expired,
}

impl Timeouts {
    /// The deadline of the next attempt (the first or a retry) when `elapsed` has passed
    /// since the exchange began.
    ///
    /// `timeouts.request` bounds the whole exchange, retries included ("the entire duration of
    /// the initial request and any retry attempts MUST not exceed the Request timeout
    /// duration"); `timeouts.backendRequest` bounds each attempt. The deadline is the smaller
    /// of the two; a timeout set to `0s` bounds nothing.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use gateway_core::filter::{AttemptDeadline, Timeout, Timeouts};
    /// let mut t = Timeouts::default();
    /// t.request = Timeout::After(Duration::from_secs(10));
    /// t.backend_request = Timeout::After(Duration::from_secs(4));
    /// let s = Duration::from_secs;
    /// assert_eq!(t.attempt_deadline(s(0)), AttemptDeadline::Within(s(4)));
    /// assert_eq!(t.attempt_deadline(s(8)), AttemptDeadline::Within(s(2)));
    /// assert_eq!(t.attempt_deadline(s(10)), AttemptDeadline::Expired);
    /// ```
    pub fn attempt_deadline(&self, elapsed: Duration) -> AttemptDeadline {
        let left = match self.request {
            Timeout::After(total) => match total.checked_sub(elapsed) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return AttemptDeadline::Expired,
            },
            Timeout::Unset | Timeout::Disabled => None,
        };
        match (left, self.backend_request.duration()) {
            (Some(a), Some(b)) => AttemptDeadline::Within(a.min(b)),
            (Some(d), None) | (None, Some(d)) => AttemptDeadline::Within(d),
            (None, None) => AttemptDeadline::Unbounded,
        }
    }
}
