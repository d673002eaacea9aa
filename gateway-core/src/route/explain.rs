//! Why a request reaches the rule it does, read from the router's own compiled tables.
//!
//! [`Router::explain`] lists every candidate of the listener [`Router::route`] chose, in the
//! order the router tries them, each with a typed [`Verdict`]; its winner is the rule
//! [`Router::route`] chose. [`Router::candidates`] and [`Router::shadowed`] read the same
//! tables without a request, for linting.
//!
//! Nothing here re-derives attachment or ranking: listeners, hostname groups, path buckets,
//! precedence keys and predicates are the ones the router walks. None of this is on the
//! request path, and all of it allocates.
//!
//! # Order
//! Candidates come hostname group by hostname group: first the groups that apply to the host,
//! in the order the router walks them (the exact hostname, then wildcards by decreasing suffix
//! length, then routes without hostnames); then the groups that do not apply (exact hostnames,
//! then wildcards by decreasing suffix length, each by name). Within a group: `Exact` paths,
//! then `RegularExpression` paths, then `PathPrefix` paths by decreasing length, each by the
//! precedence key of `route/precedence.rs` (method, header count, query count, route age and
//! name, rule, match). A candidate whose route names several hostnames appears once per group.

use std::cmp::Reverse;
use std::fmt;

use super::index::{Candidate, HostIndex, PathIndex, PathKey};
use super::matcher::{NamedMatch, Predicates, StringMatch, header_matches, query_matches};
use super::precedence::RankKey;
use super::{CompiledListener, Outcome, RouteId, Router, RuleId, is_grpc};
use crate::attach::Protocol;
use crate::request::normalize::Segments;
use crate::request::{Headers, RequestView};

/// Why one request reaches the rule it does: the request facts the router computed, the
/// listener it chose, and every candidate of that listener in precedence order.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Explanation<'r> {
    /// The router's outcome for the request (as [`Router::route`] gives it).
    pub outcome: Outcome,
    /// The status the proxy answers with itself, if any.
    pub status: Option<u16>,
    /// Why, for every outcome but `Forward`: why no listener was chosen, why the request was
    /// refused, or that no rule matches. Empty for `Forward`.
    pub reason: String,
    /// The canonical host the request was routed on; `None` when it was refused first.
    pub host: Option<String>,
    /// The canonical path; `None` when the request was refused before its path was read.
    pub path: Option<String>,
    /// The query string as received.
    pub query: Option<String>,
    /// The listener chosen; `None` when none was (see `reason`).
    pub listener: Option<ListenerId<'r>>,
    /// The table of the listener the router searched: gRPC for gRPC requests to a listener
    /// with GRPCRoutes for the host, HTTP otherwise. `None` when no listener was chosen.
    pub table: Option<RuleTable>,
    /// Every candidate of that table, in precedence order (see the module docs).
    pub candidates: Vec<ExplainedCandidate<'r>>,
}

impl<'r> Explanation<'r> {
    /// The candidate the router chose: the first that matches, if any.
    pub fn winner(&self) -> Option<&ExplainedCandidate<'r>> {
        self.candidates.iter().find(|c| c.winner)
    }
}

/// A listener of the router.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId<'r> {
    /// Its name, unique within the resource that declared it.
    pub name: &'r str,
    /// The XListenerSet that declared it, as `(namespace, name)`; `None` for the Gateway's own.
    pub set: Option<(&'r str, &'r str)>,
    /// Its port.
    pub port: u16,
    /// Its hostname, lower case; `None` when it accepts every host.
    pub hostname: Option<&'r str>,
}

/// Which of a listener's two rule tables a candidate sits in.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleTable {
    /// HTTPRoute rules.
    Http,
    /// GRPCRoute rules (their method matches compiled to paths `/service/method`).
    Grpc,
}

/// The route hostname a candidate is filed under (the route's own hostnames that intersect
/// the listener's).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostnameGroup<'r> {
    /// An exact hostname.
    Exact(&'r str),
    /// A wildcard hostname, as the suffix after `*.`.
    Wildcard(&'r str),
    /// Routes without hostnames: every host the listener accepts.
    Any,
}

impl fmt::Display for HostnameGroup<'_> {
    /// The hostname as written (`*.example.com` for a wildcard); `*` for routes without any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(h) => f.write_str(h),
            Self::Wildcard(suffix) => write!(f, "*.{suffix}"),
            Self::Any => f.write_str("*"),
        }
    }
}

/// The path match of a candidate, as the router indexes it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathMatch<'r> {
    /// `Exact`.
    Exact(&'r str),
    /// `RegularExpression`, as written (matched against the whole path).
    RegularExpression(&'r str),
    /// `PathPrefix`, without its trailing `/` (except `/` itself).
    PathPrefix(&'r str),
}

impl<'r> PathMatch<'r> {
    /// The value: the path, pattern or prefix.
    pub fn value(&self) -> &'r str {
        match self {
            Self::Exact(v) | Self::RegularExpression(v) | Self::PathPrefix(v) => v,
        }
    }

    /// The path precedence: `Exact`, then `RegularExpression`, then `PathPrefix` by decreasing
    /// length; smaller wins.
    fn order(&self) -> (u8, Reverse<usize>) {
        match self {
            Self::Exact(_) => (0, Reverse(0)),
            Self::RegularExpression(_) => (1, Reverse(0)),
            Self::PathPrefix(p) => (2, Reverse(p.len())),
        }
    }

    fn of(key: PathKey<'r>) -> Self {
        match key {
            PathKey::Exact(v) => Self::Exact(v),
            PathKey::Regex(re) => Self::RegularExpression(unanchored(re)),
            PathKey::Prefix(v) => Self::PathPrefix(v),
        }
    }
}

impl fmt::Display for PathMatch<'_> {
    /// `Exact /x`, `RegularExpression /x.*` or `PathPrefix /x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(v) => write!(f, "Exact {v}"),
            Self::RegularExpression(v) => write!(f, "RegularExpression {v}"),
            Self::PathPrefix(v) => write!(f, "PathPrefix {v}"),
        }
    }
}

/// How a header or query parameter value is matched.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueMatch<'r> {
    /// Equal to this value.
    Exact(&'r str),
    /// The whole value matches this pattern.
    RegularExpression(&'r str),
}

/// One header or query parameter predicate of a match.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValuePredicate<'r> {
    /// The header name (lower case) or query parameter name (as written).
    pub name: &'r str,
    /// How its value is matched.
    pub value: ValueMatch<'r>,
}

/// Everything but hostname and path a candidate requires.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MatchPredicates<'r> {
    /// The method (GRPCRoute candidates require `POST`).
    pub method: Option<&'r str>,
    /// The header predicates, in the match's order.
    pub headers: Vec<ValuePredicate<'r>>,
    /// The query parameter predicates, in the match's order.
    pub query: Vec<ValuePredicate<'r>>,
}

impl MatchPredicates<'_> {
    /// Whether every predicate of `self` is one of `other`'s: a request that satisfies
    /// `other` satisfies `self`.
    pub fn implied_by(&self, other: &Self) -> bool {
        self.method.is_none_or(|m| other.method == Some(m))
            && self.headers.iter().all(|h| other.headers.contains(h))
            && self.query.iter().all(|q| other.query.contains(q))
    }
}

/// One match of one rule, filed under one hostname group and one path of a listener's table.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct CandidateMatch<'r> {
    /// The table it sits in.
    pub table: RuleTable,
    /// The hostname group it sits in.
    pub hostname: HostnameGroup<'r>,
    /// Its path match.
    pub path: PathMatch<'r>,
    /// Its route.
    pub route: RouteId<'r>,
    /// Its rule.
    pub rule: RuleId<'r>,
    /// The index of the match within the rule.
    pub match_index: usize,
    /// What else it requires.
    pub predicates: MatchPredicates<'r>,
    rank: RankKey,
    /// The router's rule id: distinct for distinct rules, whatever their route.
    rule_id: u32,
}

impl CandidateMatch<'_> {
    /// The first precedence key on which `self` ranks before `other` when both sit in one
    /// hostname group: path type, prefix length, then the keys of `route/precedence.rs`.
    /// `None` when `other` ranks first or they are the same match.
    pub fn outranks(&self, other: &Self) -> Option<PrecedenceKey> {
        let (a, b) = (self.path.order(), other.path.order());
        if a.0 != b.0 {
            return (a.0 < b.0).then_some(PrecedenceKey::PathType);
        }
        if a.1 != b.1 {
            return (a.1 < b.1).then_some(PrecedenceKey::PrefixLength);
        }
        let (x, y) = (self.rank, other.rank);
        let key = if x.specificity != y.specificity {
            PrecedenceKey::GrpcSpecificity
        } else if x.method != y.method {
            PrecedenceKey::Method
        } else if x.headers != y.headers {
            PrecedenceKey::HeaderCount
        } else if x.query != y.query {
            PrecedenceKey::QueryCount
        } else if x.route_order != y.route_order {
            PrecedenceKey::RouteOrder
        } else if x.rule != y.rule {
            PrecedenceKey::RuleOrder
        } else if x.match_index != y.match_index {
            PrecedenceKey::MatchOrder
        } else {
            return None;
        };
        (x < y).then_some(key)
    }

    /// Whether both are the same match of the same rule (filed under different hostname
    /// groups or listeners).
    pub fn same_match(&self, other: &Self) -> bool {
        self.rule_id == other.rule_id && self.match_index == other.match_index
    }
}

/// The precedence key that decides between two matching candidates, in the order the router
/// applies them.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrecedenceKey {
    /// A more specific hostname group: exact, then longer wildcard suffix, then none.
    Hostname,
    /// `Exact` before `RegularExpression` before `PathPrefix`.
    PathType,
    /// A longer `PathPrefix`.
    PrefixLength,
    /// GRPCRoute: more characters in the matched service, then method.
    GrpcSpecificity,
    /// A method match.
    Method,
    /// More header matches.
    HeaderCount,
    /// More query parameter matches.
    QueryCount,
    /// The older route, then `{namespace}/{name}` order.
    RouteOrder,
    /// The earlier rule of one route.
    RuleOrder,
    /// The earlier match of one rule.
    MatchOrder,
}

/// A candidate of an [`Explanation`] and what became of it.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ExplainedCandidate<'r> {
    /// The candidate.
    pub candidate: CandidateMatch<'r>,
    /// The router chose it: the first candidate that matches.
    pub winner: bool,
    /// For a candidate that matches but is not the winner: the first precedence key on which
    /// the winner ranks before it.
    pub lost_to: Option<PrecedenceKey>,
    mismatches: Vec<Mismatch<'r>>,
}

impl<'r> ExplainedCandidate<'r> {
    /// Matched, or the first reason it did not.
    pub fn verdict(&self) -> Verdict<'r> {
        match self.mismatches.first() {
            None => Verdict::Matched,
            Some(m) => Verdict::NoMatch(m.clone()),
        }
    }

    /// Whether the request satisfies it (hostname, path and predicates).
    pub fn matched(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// Every reason it did not match, in verdict order (hostname, path, method, headers, query
    /// parameters); empty when it matched.
    pub fn mismatches(&self) -> &[Mismatch<'r>] {
        &self.mismatches
    }
}

/// Whether a candidate matched the request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<'r> {
    /// Hostname group, path and every predicate hold.
    Matched,
    /// The first reason it did not.
    NoMatch(Mismatch<'r>),
}

/// One reason a candidate does not match a request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch<'r> {
    /// Its hostname group does not apply to the request's host.
    HostnameDoesNotApply,
    /// Its path match does not hold for the canonical path.
    PathDoesNotMatch,
    /// The method differs.
    MethodDiffers {
        /// The method required.
        expected: &'r str,
        /// The request's method.
        actual: String,
    },
    /// A required header is missing.
    HeaderMissing {
        /// Its name, lower case.
        name: &'r str,
    },
    /// A required header's value differs.
    HeaderDiffers {
        /// Its name, lower case.
        name: &'r str,
        /// How its value is matched.
        expected: ValueMatch<'r>,
        /// The value matched against: repeated fields combined, as the router combines them.
        actual: String,
    },
    /// A required query parameter is missing.
    QueryParamMissing {
        /// Its name.
        name: &'r str,
    },
    /// A required query parameter's value differs.
    QueryParamDiffers {
        /// Its name.
        name: &'r str,
        /// How its value is matched.
        expected: ValueMatch<'r>,
        /// The first value sent, as sent.
        actual: String,
    },
}

/// The candidates of one listener, without a request: see [`Router::candidates`].
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ListenerCandidates<'r> {
    /// The listener.
    pub listener: ListenerId<'r>,
    /// Its candidates: the HTTP table, then the gRPC table, each group by group in the order
    /// of the module docs for a host no group applies to.
    pub candidates: Vec<CandidateMatch<'r>>,
}

/// A match that can never win on a listener: see [`Router::shadowed`].
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Shadowed<'r> {
    /// The listener.
    pub listener: ListenerId<'r>,
    /// The match that can never win (as filed in its first hostname group).
    pub shadowed: CandidateMatch<'r>,
    /// An earlier match of another rule that wins whenever it would.
    pub by: CandidateMatch<'r>,
    /// The precedence key on which `by` ranks first.
    pub key: PrecedenceKey,
}

// === impl Router ===

impl Router {
    /// Explains [`Router::route`] for one request: the request facts it computed, the listener
    /// it chose (or why none), and every candidate of that listener's table in precedence
    /// order, each with a [`Verdict`]; the winner is the rule [`Router::route`] chose.
    ///
    /// Cost: one [`Router::route`], then every candidate of the listener's table with its
    /// predicates; allocates. Not for the request path.
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::{Engine, EngineOptions, Headers, RequestView, Target};
    /// # use gateway_core::route::Verdict;
    /// # let yaml = include_bytes!("../../../examples/manifests/shop.yaml");
    /// let engine = Engine::load(yaml, &EngineOptions::default())?;
    /// let router = engine.router(&Target::gateway("shop", "shop"))?;
    /// let headers = [("host", "shop.example.com")];
    /// let req = RequestView::new("GET", b"/cart", Headers::Pairs(&headers)).port(80);
    /// let explanation = router.explain(&req);
    /// let winner = explanation.winner().expect("a rule matches");
    /// assert_eq!(winner.verdict(), Verdict::Matched);
    /// assert_eq!(
    ///     Some(winner.candidate.rule),
    ///     router.route(&req).rule(),
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn explain<'r>(&'r self, req: &RequestView<'_>) -> Explanation<'r> {
        let decision = self.route(req);
        let mut out = Explanation {
            outcome: decision.outcome(),
            status: decision.status(),
            reason: decision.reason().to_owned(),
            host: Some(decision.host())
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
            path: decision.received_path().map(|_| decision.path().to_owned()),
            query: decision.query().map(str::to_owned),
            listener: None,
            table: None,
            candidates: Vec::new(),
        };
        let Some(listener) = decision
            .listener
            .and_then(|l| self.listeners.get(usize::from(l)))
        else {
            return out;
        };
        out.listener = Some(listener_id(listener));
        let (host, path, query) = (decision.host(), decision.path(), decision.query());
        // As `Router::route` chooses: the known name's groups, the gRPC table for gRPC
        // requests when it has groups for the host.
        let known = self
            .ports
            .iter()
            .find(|p| p.port == req.port)
            .and_then(|p| p.names.get(host.as_bytes()))
            .map(|(_, k)| k);
        let grpc = !listener.grpc.is_empty()
            && is_grpc(req)
            && listener.grpc.has_host(host, known.map(|k| &*k.grpc));
        let (kind, table, ids) = if grpc {
            (RuleTable::Grpc, &listener.grpc, known.map(|k| &*k.grpc))
        } else {
            (RuleTable::Http, &listener.http, known.map(|k| &*k.http))
        };
        out.table = Some(kind);
        // Identities only: the walk borrows the host, the candidates borrow the router.
        let applicable: Vec<*const PathIndex> = table
            .groups(host, ids)
            .map(|p| p as *const PathIndex)
            .collect();
        let segments = Segments::of(path);
        // Per candidate, the position of its group in the order walked.
        let mut positions = Vec::new();
        let mut winner: Option<(usize, CandidateMatch<'r>)> = None;
        for (position, (group, paths)) in
            groups_in_order(table, &applicable).into_iter().enumerate()
        {
            let applies = applicable.iter().any(|a| std::ptr::eq(*a, paths));
            // The candidates whose path matches, found by the router's own walk.
            let mut hits: Vec<&Candidate> = Vec::new();
            paths.walk(path, &segments, |c| {
                hits.push(c);
                false
            });
            for (key, c) in in_walk_order(paths) {
                let Some(candidate) = self.candidate_match(kind, group, key, c) else {
                    continue;
                };
                let mut mismatches = Vec::new();
                if !applies {
                    mismatches.push(Mismatch::HostnameDoesNotApply);
                }
                if !hits.iter().any(|h| std::ptr::eq(*h, c)) {
                    mismatches.push(Mismatch::PathDoesNotMatch);
                }
                if let Some(p) = c.predicates.and_then(|i| self.predicates.get(i as usize)) {
                    predicate_mismatches(p, req, query, &mut mismatches);
                }
                let first = mismatches.is_empty() && winner.is_none();
                if first {
                    winner = Some((position, candidate.clone()));
                }
                out.candidates.push(ExplainedCandidate {
                    candidate,
                    winner: first,
                    lost_to: None,
                    mismatches,
                });
                positions.push(position);
            }
        }
        if let Some((at, w)) = &winner {
            for (c, position) in out.candidates.iter_mut().zip(positions) {
                if c.winner || !c.matched() {
                    continue;
                }
                c.lost_to = if position == *at {
                    w.outranks(&c.candidate)
                } else {
                    Some(PrecedenceKey::Hostname)
                };
            }
        }
        out
    }

    /// Every candidate of every HTTP and HTTPS listener, the listeners of merged XListenerSets
    /// included, without a request: what [`Router::explain`] lists for a host that no hostname
    /// group applies to, without verdicts.
    pub fn candidates(&self) -> Vec<ListenerCandidates<'_>> {
        self.listeners
            .iter()
            .filter(|l| matches!(l.protocol, Protocol::Http | Protocol::Https))
            .map(|l| ListenerCandidates {
                listener: listener_id(l),
                candidates: self
                    .tables(l)
                    .flat_map(|(_, groups)| groups.into_iter().flatten())
                    .collect(),
            })
            .collect()
    }

    /// The matches that can never win on their listener: in every hostname group they sit in,
    /// an earlier candidate of another rule has the same path and predicates it implies (so it
    /// matches whenever they do, and ranks first).
    pub fn shadowed(&self) -> Vec<Shadowed<'_>> {
        let mut out = Vec::new();
        for l in &self.listeners {
            for (_, groups) in self.tables(l) {
                let mut seen: Vec<&CandidateMatch<'_>> = Vec::new();
                for b in groups.iter().flatten() {
                    if seen.iter().any(|s| s.same_match(b)) {
                        continue;
                    }
                    seen.push(b);
                    if let Some((by, key)) = shadower(&groups, b) {
                        out.push(Shadowed {
                            listener: listener_id(l),
                            shadowed: b.clone(),
                            by: by.clone(),
                            key,
                        });
                    }
                }
            }
        }
        out
    }

    /// The listener's HTTP then gRPC table, each as its groups' candidates in static order.
    fn tables<'r>(
        &'r self,
        l: &'r CompiledListener,
    ) -> impl Iterator<Item = (RuleTable, Vec<Vec<CandidateMatch<'r>>>)> {
        [(RuleTable::Http, &l.http), (RuleTable::Grpc, &l.grpc)]
            .into_iter()
            .map(move |(kind, table)| {
                let groups = groups_in_order(table, &[])
                    .into_iter()
                    .map(|(group, paths)| {
                        in_walk_order(paths)
                            .into_iter()
                            .filter_map(|(key, c)| self.candidate_match(kind, group, key, c))
                            .collect()
                    })
                    .collect();
                (kind, groups)
            })
    }

    /// The public view of one candidate; `None` if its rule or route is missing (never, for
    /// a router built by [`Router::build`]).
    fn candidate_match<'r>(
        &'r self,
        table: RuleTable,
        hostname: HostnameGroup<'r>,
        key: PathKey<'r>,
        c: &'r Candidate,
    ) -> Option<CandidateMatch<'r>> {
        let rule = self.rules.get(c.rule as usize)?;
        let route = self.routes.get(rule.route as usize)?;
        let predicates = c
            .predicates
            .and_then(|i| self.predicates.get(i as usize))
            .map(predicates_view)
            .unwrap_or_default();
        Some(CandidateMatch {
            table,
            hostname,
            path: PathMatch::of(key),
            route: RouteId {
                kind: route.kind,
                namespace: &route.namespace,
                name: &route.name,
            },
            rule: RuleId {
                index: usize::from(rule.index),
                name: rule.name.as_deref(),
            },
            match_index: usize::from(c.match_index),
            predicates,
            rank: c.rank,
            rule_id: c.rule,
        })
    }
}

/// The earliest candidate of another rule that shadows `b` in every group `b` sits in, with
/// the key it wins on: same path, predicates `b`'s imply, earlier in the group.
fn shadower<'a, 'r>(
    groups: &'a [Vec<CandidateMatch<'r>>],
    b: &CandidateMatch<'r>,
) -> Option<(&'a CandidateMatch<'r>, PrecedenceKey)> {
    let mut first = None;
    for group in groups {
        let Some(at) = group.iter().position(|e| e.same_match(b)) else {
            continue;
        };
        let entry = group.get(at)?;
        let by = group.iter().take(at).find(|a| {
            a.rule_id != entry.rule_id
                && a.path == entry.path
                && a.predicates.implied_by(&entry.predicates)
        })?;
        if first.is_none() {
            first = Some((by, by.outranks(entry)?));
        }
    }
    first
}

fn listener_id(l: &CompiledListener) -> ListenerId<'_> {
    ListenerId {
        name: &l.name,
        set: l.set.as_ref().map(|(ns, name)| (&**ns, &**name)),
        port: l.port,
        hostname: l.hostname.as_deref(),
    }
}

/// The table's hostname groups: those in `first` (the groups that apply to a host, in walk
/// order), then the others: exact hostnames, then wildcards by decreasing suffix length, each
/// by name, then the catch-all.
fn groups_in_order<'r>(
    table: &'r HostIndex,
    first: &[*const PathIndex],
) -> Vec<(HostnameGroup<'r>, &'r PathIndex)> {
    let mut exact: Vec<(&str, &PathIndex)> = table.exact_groups().collect();
    exact.sort_by_key(|(name, _)| *name);
    let mut wildcard: Vec<(&str, &PathIndex)> = table.wildcard_groups().collect();
    wildcard.sort_by_key(|(suffix, _)| (Reverse(suffix.len()), *suffix));
    let all: Vec<(HostnameGroup<'r>, &PathIndex)> = exact
        .into_iter()
        .map(|(h, p)| (HostnameGroup::Exact(h), p))
        .chain(
            wildcard
                .into_iter()
                .map(|(s, p)| (HostnameGroup::Wildcard(s), p)),
        )
        .chain(std::iter::once((HostnameGroup::Any, &table.any)))
        .collect();
    let listed = |p: &PathIndex| first.iter().any(|f| std::ptr::eq(*f, p));
    let mut ordered: Vec<(HostnameGroup<'r>, &PathIndex)> = first
        .iter()
        .filter_map(|f| all.iter().find(|(_, p)| std::ptr::eq(*f, *p)).copied())
        .collect();
    ordered.extend(all.into_iter().filter(|(_, p)| !listed(p)));
    ordered
}

/// A group's candidates in the order [`PathIndex::walk`] tries those whose path matches:
/// `Exact`, then `RegularExpression`, then `PathPrefix` by decreasing length, each by rank.
/// Different keys of one kind and length never both match; their value breaks the tie.
fn in_walk_order(paths: &PathIndex) -> Vec<(PathKey<'_>, &Candidate)> {
    let mut all: Vec<(PathKey<'_>, &Candidate)> = paths.candidates().collect();
    all.sort_by(|(ka, a), (kb, b)| {
        let (pa, pb) = (PathMatch::of(*ka), PathMatch::of(*kb));
        pa.order()
            .cmp(&pb.order())
            .then(a.rank.cmp(&b.rank))
            .then_with(|| pa.value().cmp(pb.value()))
    });
    all
}

fn value_match(m: &StringMatch) -> ValueMatch<'_> {
    match m {
        StringMatch::Exact(v) => ValueMatch::Exact(v),
        StringMatch::Regex(re) => ValueMatch::RegularExpression(unanchored(re)),
    }
}

fn predicates_view(p: &Predicates) -> MatchPredicates<'_> {
    MatchPredicates {
        method: p.method.as_deref(),
        headers: p.headers.iter().map(named_view).collect(),
        query: p.query.iter().map(named_view).collect(),
    }
}

fn named_view(m: &NamedMatch) -> ValuePredicate<'_> {
    ValuePredicate {
        name: &m.name,
        value: value_match(&m.value),
    }
}

/// A compiled pattern as written: without the anchoring `compile_regex` adds.
fn unanchored(re: &regex::Regex) -> &str {
    let s = re.as_str();
    s.strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(")$"))
        .unwrap_or(s)
}

/// Why the request fails the candidate's predicates, decided by the router's own matchers.
fn predicate_mismatches<'r>(
    p: &'r Predicates,
    req: &RequestView<'_>,
    query: Option<&str>,
    out: &mut Vec<Mismatch<'r>>,
) {
    let view = predicates_view(p);
    if let Some(m) = view.method
        && m != req.method
    {
        out.push(Mismatch::MethodDiffers {
            expected: m,
            actual: req.method.to_owned(),
        });
    }
    for (h, v) in p.headers.iter().zip(view.headers) {
        if header_matches(h, &req.headers) {
            continue;
        }
        out.push(match header_value(&req.headers, &h.name) {
            None => Mismatch::HeaderMissing { name: v.name },
            Some(actual) => Mismatch::HeaderDiffers {
                name: v.name,
                expected: v.value,
                actual,
            },
        });
    }
    for (q, v) in p.query.iter().zip(view.query) {
        if query_matches(q, query) {
            continue;
        }
        out.push(match query_value(query, &q.name) {
            None => Mismatch::QueryParamMissing { name: v.name },
            Some(actual) => Mismatch::QueryParamDiffers {
                name: v.name,
                expected: v.value,
                actual: actual.to_owned(),
            },
        });
    }
}

/// A header's value as the router matches it: one field line trimmed, or the lines joined
/// with `, ` (`; ` for `cookie`).
fn header_value(headers: &Headers<'_>, name: &str) -> Option<String> {
    let mut values = Vec::new();
    headers.for_each_value(name, |v| {
        values.push(
            String::from_utf8_lossy(v)
                .trim_matches([' ', '\t'])
                .to_owned(),
        );
        true
    });
    if values.is_empty() {
        return None;
    }
    Some(values.join(if name == "cookie" { "; " } else { ", " }))
}

/// The first value of a query parameter, as sent (pairs split on `&`).
fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (n == name).then_some(v)
    })
}
