//! Plugging a client in: the proxy's code that makes the call, blocking or async.

use std::future::Future;

use super::{AuthCheck, AuthOptions, AuthResponse};
use crate::filter::Plan;

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
