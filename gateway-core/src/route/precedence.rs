//! HTTPRoute precedence after hostname and path, as an `Ord` whose field order is the spec's.
//!
//! Gateway API HTTPRouteRule: "Proxy or Load Balancer routing configuration generated from
//! HTTPRoutes MUST prioritize matches based on the following criteria, continuing on ties ...
//! 'Exact' path match; 'Prefix' path match with largest number of characters; Method match;
//! Largest number of header matches; Largest number of query param matches. If ties exist
//! across multiple Routes, matching precedence MUST be determined in order of the following
//! criteria, continuing on ties: The oldest Route based on creation timestamp; The Route
//! appearing first in alphabetical order by '{namespace}/{name}'. If ties exist within an
//! HTTPRoute, matching precedence MUST be granted to the FIRST matching rule (in list order)
//! with a match meeting the above criteria."
//!
//! Hostname and path are the index's job (see `index.rs`); this key orders the candidates of
//! one path bucket.
//!
//! GRPCRoute uses the same shape: "Characters in a matching non-wildcard hostname; Characters
//! in a matching hostname; Characters in a matching service; Characters in a matching method;
//! Header matches" then age and name; service and method lengths are folded into the
//! `specificity` field.

use std::cmp::Reverse;

/// The precedence of a candidate within a path bucket; smaller wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RankKey {
    /// GRPCRoute: characters in the matching service then method (HTTPRoute: 0).
    pub(crate) specificity: Reverse<u32>,
    /// A method match beats none.
    pub(crate) method: Reverse<bool>,
    /// More header matches win.
    pub(crate) headers: Reverse<u16>,
    /// More query matches win.
    pub(crate) query: Reverse<u16>,
    /// Route order by (creation timestamp, namespace/name).
    pub(crate) route_order: u32,
    /// First rule in list order.
    pub(crate) rule: u16,
    /// First match in list order.
    pub(crate) match_index: u16,
}
