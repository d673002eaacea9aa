//! Plugging a client in: the proxy's code that makes the call, blocking or async.

use std::future::Future;

use super::{AuthCheck, AuthOptions, AuthResponse};
use crate::plan::Plan;

/// A blocking client for the auth service: sends the check, returns the answer (or why there
/// is none). Deadlines are the client's business: past one it returns
/// [`AuthResponse::Timeout`].
pub trait AuthClient {
    /// Sends `check` to `check.backend` and returns the answer.
    fn check(&self, check: &AuthCheck<'_>) -> AuthResponse;
}

/// An async client for the auth service, for any runtime (gateway-core depends on none).
pub trait AsyncAuthClient {
    /// Sends `check` to `check.backend` and resolves to the answer.
    fn check(&self, check: &AuthCheck<'_>) -> impl Future<Output = AuthResponse> + Send;
}

/// Completes a plan: asks `client` when it is [`Plan::Authorize`] and returns the answer's
/// plan; any other plan is returned as is. The body is not sent: call
/// [`AuthCheck::with_body`] first when the check has [`AuthCheck::max_body`].
pub fn authorize<'r>(plan: Plan<'r>, client: &impl AuthClient, options: &AuthOptions) -> Plan<'r> {
    match plan {
        Plan::Authorize(check) => {
            let response = client.check(&check);
            check.answer(response, options)
        }
        other => other,
    }
}

/// As [`authorize`], with an async client.
pub async fn authorize_async<'r>(
    plan: Plan<'r>,
    client: &impl AsyncAuthClient,
    options: &AuthOptions,
) -> Plan<'r> {
    match plan {
        Plan::Authorize(check) => {
            let response = client.check(&check).await;
            check.answer(response, options)
        }
        other => other,
    }
}

/// Completes a plan with the auth service's answer, the request body included: when `plan` is
/// [`Plan::Authorize`], adds `body` to the check ([`AuthCheck::with_body`], which answers a
/// body over `forwardBody.maxSize` itself, 413 by default, without asking), awaits `ask` with
/// the check and returns the plan the answer gives ([`AuthCheck::answer`]). Any other plan is
/// returned as is, and `ask` is not called.
///
/// This is [`authorize_async`] for a server that buffers request bodies and passes its call
/// to the auth service as an async closure rather than implementing [`AsyncAuthClient`]. The
/// order matters and is easy to get wrong by hand: the body goes into the check before the
/// call, and nothing is forwarded without the answer.
///
/// # Examples
/// ```
/// use gateway_core::plan::authz::{AuthOptions, AuthResponse, authorize_with_body};
/// # use gateway_core::plan::Plan;
/// # async fn f(plan: Plan<'_>, body: &[u8]) {
/// let options = AuthOptions::default();
/// let plan = authorize_with_body(plan, body, &options, async |check| {
///     // Send `check.to_http_request()` to `check.backend` and read the answer with
///     // `AuthResponse::from_http`; without an answer in time:
///     AuthResponse::Timeout
/// })
/// .await;
/// # }
/// ```
pub async fn authorize_with_body<'r>(
    plan: Plan<'r>,
    body: &[u8],
    options: &AuthOptions,
    ask: impl AsyncFnOnce(&AuthCheck<'r>) -> AuthResponse,
) -> Plan<'r> {
    let Plan::Authorize(check) = plan else {
        return plan;
    };
    match check.with_body(body, options) {
        Plan::Authorize(check) => {
            let response = ask(&check).await;
            check.answer(response, options)
        }
        other => other,
    }
}
