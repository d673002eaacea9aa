//! RequestMirror: which mirrors fire for a random value, and where they go.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Mirror;
use crate::api::RequestMirror;
use crate::attach::{Backend, BackendState};

/// Draws are compared with this many parts: a share is resolved to one part in a million.
const PARTS: u64 = 1_000_000;

/// The mirror of filter `m` when it fires for `random`, the `index`-th mirror filter of the
/// request (rule filters then backendRef filters, counted from 0).
///
/// Each mirror gets its own draw: the `index + 1`-th output of a splitmix64 sequence seeded
/// with `random`, so that mirrors fire independently of each other and of the backend choice
/// (which uses `random` directly). The mirror fires when `draw % 1_000_000` is below its share
/// in millionths. HTTPRequestMirrorFilter: "Only one of Fraction or Percent may be specified.
/// If neither field is specified, 100% of requests will be mirrored."
///
/// `target` is the mirror's backendRef as attachment resolved it, by the rules of every
/// backendRef: a Service port that exists, in the route's namespace or allowed by a
/// ReferenceGrant. A mirror that cannot be configured never fires (HTTPRequestMirrorFilter
/// .backendRef: an invalid reference "must be dropped ... and not configure this backend"; the
/// route reports `ResolvedRefs=False`): an unresolved reference, or an invalid share.
pub(super) fn fires(
    m: &RequestMirror,
    target: Option<&BackendState>,
    random: u64,
    index: u64,
) -> Option<Mirror> {
    let share = share(m)?;
    if super::random::nth(random, index) % PARTS >= share {
        return None;
    }
    match target? {
        BackendState::Service {
            namespace,
            name,
            port,
            app_protocol,
        } => Some(Mirror {
            backend: Backend {
                namespace: namespace.clone(),
                name: name.clone(),
                port: *port,
                app_protocol: app_protocol.clone(),
            },
        }),
        BackendState::Invalid { .. } => None,
    }
}

/// The share of requests mirrored, in millionths; `None` when invalid.
fn share(m: &RequestMirror) -> Option<u64> {
    match (m.percent, &m.fraction) {
        (None, None) => Some(PARTS),
        (Some(p), None) => u64::try_from(p)
            .ok()
            .filter(|p| *p <= 100)
            .map(|p| p * (PARTS / 100)),
        (None, Some(f)) => {
            let n = u64::try_from(f.numerator).ok()?;
            let d = u64::try_from(f.denominator).ok().filter(|d| *d > 0)?;
            Some((n.saturating_mul(PARTS) / d).min(PARTS))
        }
        (Some(_), Some(_)) => None,
    }
}
