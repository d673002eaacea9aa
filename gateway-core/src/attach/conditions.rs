//! Building Kubernetes status conditions.

use crate::api::Condition;

/// Builds conditions for one object at one generation and transition time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conditions<'a> {
    pub(crate) generation: i64,
    pub(crate) time: &'a str,
}

impl Conditions<'_> {
    /// One condition.
    pub(crate) fn make(
        &self,
        type_: &str,
        ok: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Condition {
        Condition {
            type_: type_.to_owned(),
            status: if ok { "True" } else { "False" }.to_owned(),
            reason: reason.to_owned(),
            message: message.into(),
            observed_generation: self.generation,
            last_transition_time: self.time.to_owned(),
        }
    }
}
