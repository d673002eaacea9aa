//! The host and path index of one listener: hash lookups instead of scans.
//!
//! A request walks, in host-precedence order, the exact route hostname, then each wildcard
//! suffix longest first, then the routes without hostnames. In each host group it looks up
//! the exact path, then the regular-expression rules, then every `/`-boundary prefix of the
//! path longest first. Every bucket holds its candidates pre-sorted by the remaining
//! precedence keys, so the first candidate whose predicates hold wins.
//!
//! Lookups that cannot hit are not made: each path index knows the lengths of its keys, the
//! deepest prefix it holds, and which second bytes its regular expressions' literal prefixes
//! allow; a host is cut into wildcard suffixes only at the lengths wildcard keys have. The
//! request's prefix ends come from the scan that validated its path
//! ([`crate::request::normalize`]), so no lookup rescans the path.

// Keys come from configuration, never from requests, so a fast non-keyed hash cannot be
// flooded by clients (lookups alone cannot create collisions).
use std::borrow::{Borrow, Cow};
use std::hash::{Hash, Hasher};

use rustc_hash::FxHashMap as HashMap;
use rustc_hash::FxHashSet;

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
    pub(crate) exact: HashMap<Box<str>, Vec<Candidate>>,
    pub(crate) prefix: HashMap<Box<str>, Vec<Candidate>>,
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

/// Host names known to be canonical: a Host line equal to one of them needs no validation, as
/// canonicalizing it would give it back unchanged. Holds the route and listener hostnames of
/// one port, each checked with [`canonical_host`] when the router is built.
#[derive(Clone, Debug, Default)]
pub(crate) struct CanonicalNames {
    names: FxHashSet<Name>,
    lengths: Lengths,
}

/// A name kept as text and looked up by bytes (lines not known to be text are looked up too):
/// it hashes and compares as its bytes, as `Borrow<[u8]>` requires.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Name(Box<str>);

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for Name {
    fn borrow(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl CanonicalNames {
    /// Adds `name` if it is canonical (no port, lower case, not re-spelled); ignores it
    /// otherwise.
    pub(crate) fn insert(&mut self, name: &str) {
        if canonical_host(name) == Ok((Cow::Borrowed(name), None)) {
            self.lengths.insert(name.len());
            self.names.insert(Name(name.into()));
        }
    }

    /// Drops the spare capacity left by the inserts.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.names.shrink_to_fit();
    }

    /// The name `line` is, byte for byte, if it is one.
    pub(crate) fn get(&self, line: &[u8]) -> Option<&str> {
        if !self.lengths.may_hold_bytes(line) {
            return None;
        }
        self.names.get(line).map(|name| &*name.0)
    }
}

impl PathIndex {
    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.regex.is_empty()
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
        self.exact_lengths = Lengths::of(self.exact.keys().map(|k| &**k));
        self.prefix_lengths = Lengths::of(self.prefix.keys().map(|k| &**k));
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

    /// Calls `f` with each candidate whose path matches `path` (canonical, with its
    /// `segments`), in precedence order, until `f` returns true.
    pub(crate) fn walk<'s>(
        &'s self,
        path: &str,
        segments: &Segments,
        mut f: impl FnMut(&'s Candidate) -> bool,
    ) -> bool {
        if self.exact_lengths.may_hold(path)
            && let Some(list) = self.exact.get(path)
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
                && let Some(list) = self.prefix.get(key)
                && list.iter().any(&mut f)
            {
                return true;
            }
        }
        false
    }
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
    pub(crate) exact: HashMap<Box<str>, PathIndex>,
    /// Keyed by the suffix after `*.`.
    pub(crate) wildcard: HashMap<Box<str>, PathIndex>,
    pub(crate) any: PathIndex,
    /// The distinct lengths of the `wildcard` keys, longest first: a host is cut only where
    /// one of them ends at a `.`, so its other suffixes are neither hashed nor looked at.
    wildcard_lengths: Box<[usize]>,
}

impl HostIndex {
    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcard.is_empty() && self.any.is_empty()
    }

    pub(crate) fn sort(&mut self) {
        self.exact
            .values_mut()
            .chain(self.wildcard.values_mut())
            .for_each(PathIndex::sort);
        self.any.sort();
        let mut lengths: Vec<usize> = self.wildcard.keys().map(|k| k.len()).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        self.wildcard_lengths = lengths.into();
    }

    /// The path indexes that apply to `host`, in hostname-precedence order.
    pub(crate) fn groups<'s>(&'s self, host: &'s str) -> impl Iterator<Item = &'s PathIndex> + 's {
        let exact = self.exact.get(host);
        let wildcards = WildcardSuffixes {
            host,
            lengths: self.wildcard_lengths.iter(),
            index: self,
        };
        exact
            .into_iter()
            .chain(wildcards)
            .chain(std::iter::once(&self.any))
    }

    /// Whether any host group (besides the catch-all) exists for `host`.
    pub(crate) fn has_host(&self, host: &str) -> bool {
        !self.any.is_empty()
            || self.exact.contains_key(host)
            || WildcardSuffixes {
                host,
                lengths: self.wildcard_lengths.iter(),
                index: self,
            }
            .next()
            .is_some()
    }
}

/// Each wildcard group whose suffix `host` ends with (after at least one label), longest
/// suffix first.
struct WildcardSuffixes<'s> {
    host: &'s str,
    /// The key lengths still to try, longest first.
    lengths: std::slice::Iter<'s, usize>,
    index: &'s HostIndex,
}

impl<'s> Iterator for WildcardSuffixes<'s> {
    type Item = &'s PathIndex;
    fn next(&mut self) -> Option<&'s PathIndex> {
        let bytes = self.host.as_bytes();
        for &len in self.lengths.by_ref() {
            // `*.suffix` needs a `.` before the suffix and a non-empty label before that; a
            // canonical host has no empty labels, so any byte before the `.` is one.
            let Some(dot) = bytes.len().checked_sub(len + 1).filter(|&dot| dot > 0) else {
                continue;
            };
            if bytes.get(dot) == Some(&b'.')
                && let Some(index) = self
                    .host
                    .get(dot + 1..)
                    .and_then(|s| self.index.wildcard.get(s))
            {
                return Some(index);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::{CanonicalNames, LeadBytes};

    fn lead(pattern: &str) -> Vec<u8> {
        let set = LeadBytes::of_pattern(pattern);
        (0..=255u8).filter(|&b| set.contains(b)).collect()
    }

    #[test]
    fn canonical_names_hold_only_what_canonicalizing_gives_back() {
        let mut names = CanonicalNames::default();
        for name in [
            "shop.example.com",
            "Shop.example.org",
            "a.example.",
            "01.2.3.4",
            "x:80",
        ] {
            names.insert(name);
        }
        names.insert("10.0.0.1");
        assert_eq!(names.get(b"shop.example.com"), Some("shop.example.com"));
        assert_eq!(names.get(b"10.0.0.1"), Some("10.0.0.1"));
        for refused in [
            "Shop.example.org",
            "shop.example.org",
            "a.example.",
            "01.2.3.4",
            "x:80",
        ] {
            assert_eq!(names.get(refused.as_bytes()), None, "{refused}");
        }
        // Byte for byte: another spelling of a known name is not one.
        assert_eq!(names.get(b"SHOP.example.com"), None);
        assert_eq!(names.get(b"shop.example.com."), None);
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
            let Ok(re) = crate::route::compile_regex(&pattern) else { return Ok(()) };
            if re.is_match(&path) && let Some(&b) = path.as_bytes().get(1) {
                prop_assert!(LeadBytes::of_pattern(re.as_str()).contains(b), "{} on {}", pattern, path);
            }
        }
    }
}
