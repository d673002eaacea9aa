//! The host and path index of one listener: hash lookups instead of scans.
//!
//! A request walks, in host-precedence order, the exact route hostname, then each wildcard
//! suffix longest first, then the routes without hostnames. In each host group it looks up
//! the exact path, then the regular-expression rules, then every `/`-boundary prefix of the
//! path longest first. Every bucket holds its candidates pre-sorted by the remaining
//! precedence keys, so the first candidate whose predicates hold wins.
//!
//! The host is resolved once. Every exact hostname of a port's listeners and routes is a
//! [`KnownNames`] entry, built with the router, holding the listener its hostname selects and
//! that listener's hostname groups for it in the order above: a request for one of them does
//! one hash lookup for all of that. Any other canonical host cannot equal an exact key, so its
//! walk starts at the wildcard suffixes.
//!
//! Lookups that cannot hit are not made: each path index knows the lengths of its keys, the
//! deepest prefix it holds, and which second bytes its regular expressions' literal prefixes
//! allow; a host is cut into wildcard suffixes only at the lengths wildcard keys have. The
//! request's prefix ends come from the scan that validated its path
//! ([`crate::request::normalize`]), so no lookup rescans the path.

use std::borrow::Cow;
use std::hash::BuildHasher;

use regex::Regex;

use crate::request::authority::canonical_host;
use crate::request::normalize::Segments;

/// One match of one rule, with its predicates, in a bucket.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    /// Index into the router's rules.
    pub(crate) rule: u32,
    /// Index of the match within the rule.
    pub(crate) match_index: u16,
    /// Index into the router's predicates; `None` when the match has none.
    pub(crate) predicates: Option<u32>,
    /// The precedence key after the path: see [`super::precedence::RankKey`].
    pub(crate) rank: super::precedence::RankKey,
}

/// Rules keyed by path.
#[derive(Clone, Debug, Default)]
pub(crate) struct PathIndex {
    pub(crate) exact: Table<Vec<Candidate>>,
    pub(crate) prefix: Table<Vec<Candidate>>,
    pub(crate) regex: Vec<(Regex, Candidate)>,
    /// All of `regex` in one automaton: one pass tells whether any can match, so requests
    /// that match none (the common case) pay one scan, not one per pattern.
    pub(crate) regex_set: Option<regex::RegexSet>,
    /// What the path's second byte must be for any of `regex` to match: most requests skip
    /// even the one scan.
    regex_lead: LeadBytes,
    /// The longest prefix key, in `/`-separated segments: no deeper lookups are needed.
    pub(crate) max_prefix_segments: usize,
    /// The lengths of the exact and of the prefix keys, as [`Lengths`]: a path whose length
    /// no key has is not hashed.
    exact_lengths: Lengths,
    prefix_lengths: Lengths,
}

/// A set of key lengths, modulo 64: a lookup of a length not in the set cannot hit.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Lengths(u64);

impl Lengths {
    fn of<'k>(keys: impl Iterator<Item = &'k str>) -> Self {
        let mut set = Self::default();
        keys.for_each(|k| set.insert(k.len()));
        set
    }

    fn insert(&mut self, len: usize) {
        self.0 |= 1 << (len % 64);
    }

    fn may_hold(self, key: &str) -> bool {
        self.may_hold_bytes(key.as_bytes())
    }

    fn may_hold_bytes(self, key: &[u8]) -> bool {
        self.0 & 1 << (key.len() % 64) != 0
    }
}

/// Host names known to be canonical, each resolved once when the router is built: a Host
/// line equal to one of them needs no validation (canonicalizing it would give it back
/// unchanged), no listener lookup and no hostname-group lookups. Holds the route and listener
/// hostnames of one port, each checked with [`canonical_host`].
///
/// Every exact key of the port's listener and hostname-group tables that a request can reach
/// is here: a canonical host that is not cannot be one, so its exact lookups are not made.
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownNames {
    names: Table<KnownHost>,
    lengths: Lengths,
}

/// What a known name resolves to on its port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KnownHost {
    /// The listener its hostname selects (Gateway API listener precedence), if any.
    pub(crate) listener: Option<u16>,
    /// That listener's HTTPRoute hostname groups for the name, in precedence order (exact, then
    /// wildcards longest suffix first), as [`HostIndex`] group ids; the catch-all is not listed.
    pub(crate) http: Box<[u32]>,
    /// The same for GRPCRoutes.
    pub(crate) grpc: Box<[u32]>,
}

impl KnownNames {
    /// Adds `name`, resolved by `resolve`, if it is canonical (no port, lower case, not
    /// re-spelled) and not there yet; ignores it otherwise.
    pub(crate) fn insert(&mut self, name: &str, resolve: impl FnOnce(&str) -> KnownHost) {
        if self.names.get(name.as_bytes()).is_some()
            || canonical_host(name) != Ok((Cow::Borrowed(name), None))
        {
            return;
        }
        self.lengths.insert(name.len());
        self.names.get_or_insert_with(name, || resolve(name));
    }

    /// Drops the spare capacity left by the inserts.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.names.shrink_to_fit();
    }

    /// The name `line` is, byte for byte, with what it resolves to, if it is one.
    pub(crate) fn get(&self, line: &[u8]) -> Option<(&str, &KnownHost)> {
        if !self.lengths.may_hold_bytes(line) {
            return None;
        }
        self.names.get(line)
    }
}

/// A hash table keyed by configuration text and looked up by request bytes: keys compare
/// inline, a word at a time, rather than through a `memcmp` call (most keys are hostnames and
/// paths of a few dozen bytes, and the lookup is on every request's path).
///
/// Keys come from configuration, never from requests, so a fast non-keyed hash (FxHash) cannot
/// be flooded by clients: lookups alone cannot create collisions.
#[derive(Clone, Debug)]
pub(crate) struct Table<V> {
    entries: hashbrown::HashTable<(Box<str>, V)>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Self {
            entries: hashbrown::HashTable::new(),
        }
    }
}

impl<V> Table<V> {
    fn hash(key: &[u8]) -> u64 {
        rustc_hash::FxBuildHasher.hash_one(key)
    }

    /// The entry `key` is, byte for byte.
    pub(crate) fn get(&self, key: &[u8]) -> Option<(&str, &V)> {
        let found = self
            .entries
            .find(Self::hash(key), |(k, _)| same_bytes(k.as_bytes(), key));
        found.map(|(k, v)| (&**k, v))
    }

    /// The value of `key`, made by `make` if `key` is new.
    pub(crate) fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let hash = Self::hash(key.as_bytes());
        let entry = self.entries.entry(
            hash,
            |(k, _)| same_bytes(k.as_bytes(), key.as_bytes()),
            |(k, _)| Self::hash(k.as_bytes()),
        );
        &mut entry.or_insert_with(|| (key.into(), make())).into_mut().1
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.entries
            .shrink_to_fit(|(k, _)| Self::hash(k.as_bytes()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| &**k)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Every entry, in no particular order (read-only, for explanations).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }
}

/// Whether `a` and `b` hold the same bytes; up to 16 bytes in two overlapping word compares.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word(s: &[u8], at: usize) -> u64 {
        let w = s.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
        w.map_or(0, u64::from_ne_bytes)
    }
    fn half(s: &[u8], at: usize) -> u32 {
        let w = s.get(at..at + 4).and_then(|w| <[u8; 4]>::try_from(w).ok());
        w.map_or(0, u32::from_ne_bytes)
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

impl PathIndex {
    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.regex.is_empty()
    }

    /// Drops the spare capacity that building by pushes leaves.
    fn shrink_to_fit(&mut self) {
        self.exact.shrink_to_fit();
        self.prefix.shrink_to_fit();
        self.regex.shrink_to_fit();
        for bucket in self.exact.values_mut().chain(self.prefix.values_mut()) {
            bucket.shrink_to_fit();
        }
    }

    pub(crate) fn sort(&mut self) {
        for v in self.exact.values_mut().chain(self.prefix.values_mut()) {
            v.sort_by_key(|a| a.rank);
        }
        self.regex.sort_by_key(|a| a.1.rank);
        self.regex_lead = self
            .regex
            .iter()
            .fold(LeadBytes::default(), |set, (re, _)| {
                set.union(LeadBytes::of_pattern(re.as_str()))
            });
        self.exact_lengths = Lengths::of(self.exact.keys());
        self.prefix_lengths = Lengths::of(self.prefix.keys());
        self.regex_set = if self.regex.is_empty() {
            None
        } else {
            regex::RegexSetBuilder::new(self.regex.iter().map(|(re, _)| re.as_str()))
                .size_limit(self.regex.len().saturating_mul(1 << 20))
                .nest_limit(50)
                .build()
                .ok()
        };
    }

    /// Every candidate with the path match it is filed under, in no particular order
    /// (read-only, for explanations; [`PathIndex::walk`] is the request path).
    pub(crate) fn candidates(&self) -> impl Iterator<Item = (PathKey<'_>, &Candidate)> {
        let exact = self
            .exact
            .iter()
            .flat_map(|(k, list)| list.iter().map(move |c| (PathKey::Exact(k), c)));
        let regex = self.regex.iter().map(|(re, c)| (PathKey::Regex(re), c));
        let prefix = self
            .prefix
            .iter()
            .flat_map(|(k, list)| list.iter().map(move |c| (PathKey::Prefix(k), c)));
        exact.chain(regex).chain(prefix)
    }

    /// Calls `f` with each candidate whose path matches `path` (canonical, with its
    /// `segments`), in precedence order, until `f` returns true.
    pub(crate) fn walk<'s>(
        &'s self,
        path: &str,
        segments: &Segments,
        mut f: impl FnMut(&'s Candidate) -> bool,
    ) -> bool {
        if self.exact_lengths.may_hold(path)
            && let Some((_, list)) = self.exact.get(path.as_bytes())
            && list.iter().any(&mut f)
        {
            return true;
        }
        let any_regex = !self.regex.is_empty()
            && path
                .as_bytes()
                .get(1)
                .is_none_or(|&b| self.regex_lead.contains(b))
            && match &self.regex_set {
                Some(set) => set.is_match(path),
                // No set (it did not compile within its limits): check each pattern.
                None => true,
            };
        if any_regex {
            for (re, c) in &self.regex {
                if re.is_match(path) && f(c) {
                    return true;
                }
            }
        }
        if self.prefix.is_empty() {
            return false;
        }
        // Gateway API PathPrefix: "matching is done on a path element by element basis"; a
        // trailing `/` in the request path is ignored for prefix purposes. Prefixes deeper than
        // any key are skipped.
        let whole = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        let depth = segments.depth();
        for n in (0..=depth.min(self.max_prefix_segments)).rev() {
            let key = if n == depth {
                whole
            } else if n == 0 {
                "/"
            } else {
                match segments.prefix(path, n) {
                    Some(key) => key,
                    None => continue,
                }
            };
            if self.prefix_lengths.may_hold(key)
                && let Some((_, list)) = self.prefix.get(key.as_bytes())
                && list.iter().any(&mut f)
            {
                return true;
            }
        }
        false
    }
}

/// The path match a candidate is filed under in a [`PathIndex`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum PathKey<'s> {
    /// An `Exact` path.
    Exact(&'s str),
    /// A `RegularExpression` path, compiled (anchored).
    Regex(&'s Regex),
    /// A `PathPrefix` key: no trailing `/` except for `/` itself.
    Prefix(&'s str),
}

/// A set of bytes: those the second byte of a path (the first after its `/`) can be for some
/// pattern of a group to match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LeadBytes([u64; 4]);

impl LeadBytes {
    const ALL: Self = Self([u64::MAX; 4]);

    /// From the pattern's literal prefixes: every match starts with one of them (regex-syntax's
    /// prefix extraction), so their second bytes are the only possible ones. Every byte when
    /// the prefixes are unknown (too many, or a match can start anywhere) or shorter than two.
    pub(crate) fn of_pattern(pattern: &str) -> Self {
        let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
            return Self::ALL;
        };
        let prefixes = regex_syntax::hir::literal::Extractor::new().extract(&hir);
        let Some(literals) = prefixes.literals() else {
            return Self::ALL;
        };
        let mut set = Self::default();
        for literal in literals {
            match literal.as_bytes().get(1) {
                Some(&b) => set.insert(b),
                None => return Self::ALL,
            }
        }
        set
    }

    fn insert(&mut self, b: u8) {
        if let Some(word) = self.0.get_mut(usize::from(b / 64)) {
            *word |= 1 << (b % 64);
        }
    }

    pub(crate) fn contains(self, b: u8) -> bool {
        self.0
            .get(usize::from(b / 64))
            .is_some_and(|word| word & 1 << (b % 64) != 0)
    }

    fn union(self, other: Self) -> Self {
        let mut out = self;
        for (word, o) in out.0.iter_mut().zip(other.0) {
            *word |= o;
        }
        out
    }
}

/// Path indexes keyed by route hostname.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostIndex {
    /// The path index of each exact hostname and wildcard suffix, by group id.
    groups: Vec<PathIndex>,
    /// Group ids by exact hostname.
    exact: Table<u32>,
    /// Group ids by the suffix after `*.`.
    wildcard: Table<u32>,
    pub(crate) any: PathIndex,
    /// The distinct lengths of the `wildcard` keys, longest first: a host is cut only where
    /// one of them ends at a `.`, so its other suffixes are neither hashed nor looked at.
    wildcard_lengths: Box<[usize]>,
}

impl HostIndex {
    pub(crate) fn is_empty(&self) -> bool {
        // A group exists only once a rule has been filed under its hostname.
        self.groups.is_empty() && self.any.is_empty()
    }

    /// The path index of the exact hostname `host`, made empty if it is new.
    pub(crate) fn exact_mut(&mut self, host: &str) -> Option<&mut PathIndex> {
        group_mut(&mut self.groups, &mut self.exact, host)
    }

    /// The path index of the wildcard hostname `*.{suffix}`, made empty if it is new.
    pub(crate) fn wildcard_mut(&mut self, suffix: &str) -> Option<&mut PathIndex> {
        group_mut(&mut self.groups, &mut self.wildcard, suffix)
    }

    /// Every path index, the catch-all last: for sorting and shrinking.
    pub(crate) fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathIndex> {
        self.groups.iter_mut().chain(std::iter::once(&mut self.any))
    }

    /// Every exact hostname with its path index, in no particular order (read-only, for
    /// explanations).
    pub(crate) fn exact_groups(&self) -> impl Iterator<Item = (&str, &PathIndex)> {
        self.exact
            .iter()
            .filter_map(|(k, &id)| Some((k, self.groups.get(id as usize)?)))
    }

    /// Every wildcard hostname, as the suffix after `*.`, with its path index, in no
    /// particular order (read-only, for explanations).
    pub(crate) fn wildcard_groups(&self) -> impl Iterator<Item = (&str, &PathIndex)> {
        self.wildcard
            .iter()
            .filter_map(|(k, &id)| Some((k, self.groups.get(id as usize)?)))
    }

    /// The exact hostnames with a group.
    pub(crate) fn exact_hostnames(&self) -> impl Iterator<Item = &str> {
        self.exact.keys()
    }

    pub(crate) fn sort(&mut self) {
        self.paths_mut().for_each(PathIndex::sort);
        let mut lengths: Vec<usize> = self.wildcard.keys().map(str::len).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        self.wildcard_lengths = lengths.into();
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.groups.shrink_to_fit();
        self.exact.shrink_to_fit();
        self.wildcard.shrink_to_fit();
        for paths in self.paths_mut() {
            paths.shrink_to_fit();
        }
    }

    /// The group ids that apply to the canonical host `host` besides the catch-all, in
    /// hostname-precedence order: what [`KnownHost`] keeps for a known name.
    pub(crate) fn group_ids(&self, host: &str) -> Box<[u32]> {
        let exact = self.exact.get(host.as_bytes()).map(|(_, &id)| id);
        exact.into_iter().chain(self.wildcard_ids(host)).collect()
    }

    /// The path indexes that apply to a host, in hostname-precedence order, the catch-all
    /// last: those `known` lists for a known name; for any other host, which no exact key can
    /// be, the wildcard groups its suffixes select.
    pub(crate) fn groups<'s>(&'s self, host: &'s str, known: Option<&'s [u32]>) -> Groups<'s> {
        Groups {
            index: self,
            known: known.unwrap_or_default().iter(),
            scan: known.is_none().then(|| self.wildcard_ids(host)),
            any: Some(&self.any),
        }
    }

    /// Whether any host group exists for a host: see [`HostIndex::groups`].
    pub(crate) fn has_host(&self, host: &str, known: Option<&[u32]>) -> bool {
        !self.any.is_empty()
            || match known {
                Some(ids) => !ids.is_empty(),
                None => self.wildcard_ids(host).next().is_some(),
            }
    }

    fn wildcard_ids<'s>(&'s self, host: &'s str) -> WildcardSuffixes<'s> {
        WildcardSuffixes {
            host,
            lengths: self.wildcard_lengths.iter(),
            index: self,
        }
    }
}

/// The group `ids` holds for `key` in `groups`, appended empty if `key` is new.
fn group_mut<'g>(
    groups: &'g mut Vec<PathIndex>,
    ids: &mut Table<u32>,
    key: &str,
) -> Option<&'g mut PathIndex> {
    let next = u32::try_from(groups.len()).ok()?;
    let id = *ids.get_or_insert_with(key, || {
        groups.push(PathIndex::default());
        next
    });
    groups.get_mut(id as usize)
}

/// The path indexes of [`HostIndex::groups`].
pub(crate) struct Groups<'s> {
    index: &'s HostIndex,
    known: std::slice::Iter<'s, u32>,
    scan: Option<WildcardSuffixes<'s>>,
    any: Option<&'s PathIndex>,
}

impl<'s> Iterator for Groups<'s> {
    type Item = &'s PathIndex;
    fn next(&mut self) -> Option<&'s PathIndex> {
        let id = match self.known.next() {
            Some(&id) => Some(id),
            None => self.scan.as_mut().and_then(Iterator::next),
        };
        match id {
            Some(id) => self
                .index
                .groups
                .get(id as usize)
                .or_else(|| self.any.take()),
            None => self.any.take(),
        }
    }
}

/// The id of each wildcard group whose suffix `host` ends with (after at least one label),
/// longest suffix first.
struct WildcardSuffixes<'s> {
    host: &'s str,
    /// The key lengths still to try, longest first.
    lengths: std::slice::Iter<'s, usize>,
    index: &'s HostIndex,
}

impl Iterator for WildcardSuffixes<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let bytes = self.host.as_bytes();
        for &len in self.lengths.by_ref() {
            // `*.suffix` needs a `.` before the suffix and a non-empty label before that; a
            // canonical host has no empty labels, so any byte before the `.` is one.
            let Some(dot) = bytes.len().checked_sub(len + 1).filter(|&dot| dot > 0) else {
                continue;
            };
            if bytes.get(dot) == Some(&b'.')
                && let Some((_, &id)) = self
                    .host
                    .get(dot + 1..)
                    .and_then(|s| self.index.wildcard.get(s.as_bytes()))
            {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::{HostIndex, KnownHost, KnownNames, LeadBytes, PathIndex, Table, same_bytes};

    /// Every length class of the inline comparison (under 4, 4 to 7, 8 to 16, longer), with
    /// a difference at every position, and lengths that differ.
    #[test]
    fn same_bytes_compares_every_byte_of_every_length() {
        let text: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=text.len() {
            let a = &text[..n];
            // Another copy: equal bytes at another address.
            let copy = a.to_vec();
            assert!(same_bytes(a, &copy));
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "length {n}, byte {at}");
            }
            if n > 0 {
                assert!(!same_bytes(a, &text[..n - 1]));
                assert!(!same_bytes(&text[..n - 1], a));
            }
        }
    }

    #[test]
    fn table_finds_each_key_once_and_nothing_else() {
        let mut table = Table::default();
        for (i, key) in [
            "/",
            "/a",
            "/api",
            "/api/v1",
            "h.example.com",
            "/a/very/long/path/key",
        ]
        .into_iter()
        .enumerate()
        {
            *table.get_or_insert_with(key, || i) += 10;
            // A second insert of the same key keeps its value.
            assert_eq!(*table.get_or_insert_with(key, || 99), i + 10);
        }
        table.shrink_to_fit();
        assert_eq!(table.get(b"/api"), Some(("/api", &12)));
        assert_eq!(
            table.get(b"/a/very/long/path/key"),
            Some(("/a/very/long/path/key", &15))
        );
        for missing in [
            "",
            "/ap",
            "/api/",
            "/API",
            "h.example.co",
            "/a/very/long/path/kez",
        ] {
            assert_eq!(table.get(missing.as_bytes()), None, "{missing:?}");
        }
        assert_eq!(table.keys().count(), 6);
    }

    fn lead(pattern: &str) -> Vec<u8> {
        let set = LeadBytes::of_pattern(pattern);
        (0..=255u8).filter(|&b| set.contains(b)).collect()
    }

    #[test]
    fn known_names_hold_only_what_canonicalizing_gives_back() {
        let mut names = KnownNames::default();
        let resolved = |listener| KnownHost {
            listener: Some(listener),
            ..KnownHost::default()
        };
        for name in [
            "shop.example.com",
            "Shop.example.org",
            "a.example.",
            "01.2.3.4",
            "x:80",
        ] {
            names.insert(name, |_| resolved(1));
        }
        names.insert("10.0.0.1", |_| resolved(2));
        // The first resolution of a name stays.
        names.insert("shop.example.com", |_| resolved(3));
        let get = |line: &str| names.get(line.as_bytes()).map(|(n, k)| (n, k.listener));
        assert_eq!(get("shop.example.com"), Some(("shop.example.com", Some(1))));
        assert_eq!(get("10.0.0.1"), Some(("10.0.0.1", Some(2))));
        for refused in [
            "Shop.example.org",
            "shop.example.org",
            "a.example.",
            "01.2.3.4",
            "x:80",
        ] {
            assert_eq!(get(refused), None, "{refused}");
        }
        // Byte for byte: another spelling of a known name is not one.
        assert_eq!(get("SHOP.example.com"), None);
        assert_eq!(get("shop.example.com."), None);
    }

    #[test]
    fn host_groups_come_exact_then_wildcards_longest_first_then_the_catch_all() {
        let mut index = HostIndex::default();
        index.exact_mut("a.b.example.com");
        index.wildcard_mut("example.com");
        index.wildcard_mut("b.example.com");
        index.exact_mut("other.example.com");
        index.sort();
        // Group ids in creation order: the exact name 0, `*.example.com` 1, `*.b.example.com` 2.
        let ids = index.group_ids("a.b.example.com");
        assert_eq!(&*ids, &[0, 2, 1]);
        // A host that is no exact key: its wildcard groups, as a known name's list gives them.
        let scanned: Vec<&PathIndex> = index.groups("x.b.example.com", None).collect();
        let listed: Vec<&PathIndex> = index.groups("", Some(&ids[1..])).collect();
        assert_eq!(scanned.len(), 3);
        for (a, b) in scanned.iter().zip(&listed) {
            assert!(std::ptr::eq(*a, *b));
        }
        assert!(scanned.last().is_some_and(|p| std::ptr::eq(*p, &index.any)));
        assert!(index.group_ids("example.com").is_empty());
        assert!(!index.has_host("example.com", None));
        assert!(index.has_host("x.example.com", None));
        assert!(index.has_host("", Some(&ids)));
    }

    #[test]
    fn lead_bytes_come_from_literal_prefixes() {
        assert_eq!(lead("/re9/[a-z]+/[0-9]+"), b"r");
        assert_eq!(lead("/(api|v[0-9])/.*"), b"av");
        assert_eq!(lead("(?i)/x.*"), b"Xx");
        // Unknown or too short: every byte.
        assert_eq!(lead(".*").len(), 256);
        assert_eq!(lead("/[^/]+/Get").len(), 256);
        assert_eq!(lead("/").len(), 256);
        // A pattern that matches nothing admits nothing.
        assert_eq!(lead("[a&&b]"), b"");
    }

    proptest! {
        #[test]
        fn a_path_a_pattern_matches_has_an_admitted_second_byte(
            pattern in prop::collection::vec(
                prop::sample::select(vec!["/", "a", "b", "[ab]", "(a|/b)", ".", "a*", "b?", "(?i)a", "[^/]+", "\\d"]),
                1..6,
            ),
            path in "/[ab1/A]{0,6}",
        ) {
            let pattern = pattern.concat();
            let Ok(re) = crate::api::compile_regex(&pattern) else { return Ok(()) };
            if re.is_match(&path) && let Some(&b) = path.as_bytes().get(1) {
                prop_assert!(LeadBytes::of_pattern(re.as_str()).contains(b), "{} on {}", pattern, path);
            }
        }
    }
}
