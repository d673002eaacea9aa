//! RequestMirror: which mirrors fire for a random value, and where they go.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::Mirror;
use crate::attach::Backend;
use crate::filter::{MIRROR_PARTS, MirrorFilter};

/// The mirror of filter `m` when it fires for `random`, the `index`-th mirror filter of the
/// request (rule filters then backendRef filters, counted from 0).
///
/// Each mirror gets its own draw: the `index + 1`-th output of a splitmix64 sequence seeded
/// with `random`, so that mirrors fire independently of each other and of the backend choice
/// (which uses `random` directly). The mirror fires when `draw % 1_000_000` is below its share
/// in millionths. HTTPRequestMirrorFilter: "Only one of Fraction or Percent may be specified.
/// If neither field is specified, 100% of requests will be mirrored."
///
/// The mirror's backendRef was resolved in attachment, by the rules of every backendRef: a
/// Service port that exists, in the route's namespace or allowed by a ReferenceGrant. A mirror
/// that cannot be configured never fires (HTTPRequestMirrorFilter.backendRef: an invalid
/// reference "must be dropped ... and not configure this backend"; the route reports
/// `ResolvedRefs=False`): an unresolved reference, or an invalid share.
pub(super) fn fires(m: &MirrorFilter, random: u64, index: u64) -> Option<Mirror> {
    let MirrorFilter::Fires { share, target } = m else {
        return None;
    };
    if super::random::nth(random, index) % MIRROR_PARTS >= *share {
        return None;
    }
    Some(Mirror {
        backend: Backend {
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            port: target.port,
            app_protocol: target.app_protocol.clone(),
            assumed: target.assumed,
        },
    })
}
