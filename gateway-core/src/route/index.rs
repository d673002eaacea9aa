//! The host and path index of one listener: hash lookups instead of scans.
//!
//! A request walks, in host-precedence order, the exact route hostname, then each wildcard
//! suffix longest first, then the routes without hostnames. In each host group it looks up
//! the exact path, then the regular-expression rules, then every `/`-boundary prefix of the
//! path longest first. Every bucket holds its candidates pre-sorted by the remaining
//! precedence keys, so the first candidate whose predicates hold wins.

// Keys come from configuration, never from requests, so a fast non-keyed hash cannot be
// flooded by clients (lookups alone cannot create collisions).
use rustc_hash::FxHashMap as HashMap;

use regex::Regex;

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
    /// The longest prefix key, in `/`-separated segments: no deeper lookups are needed.
    pub(crate) max_prefix_segments: usize,
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

    /// Calls `f` with each candidate whose path matches `path`, in precedence order, until
    /// `f` returns true.
    pub(crate) fn walk<'s>(&'s self, path: &str, mut f: impl FnMut(&'s Candidate) -> bool) -> bool {
        if let Some(list) = self.exact.get(path)
            && list.iter().any(&mut f)
        {
            return true;
        }
        let any_regex = match &self.regex_set {
            Some(set) => set.is_match(path),
            // No set (it did not compile within its limits): check each pattern.
            None => !self.regex.is_empty(),
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
        // trailing `/` in the request path is ignored for prefix purposes.
        let mut p = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        // Skip prefixes deeper than any key.
        let segments = if p == "/" {
            0
        } else {
            p.bytes().filter(|b| *b == b'/').count()
        };
        let mut skip = segments.saturating_sub(self.max_prefix_segments);
        loop {
            if skip == 0 {
                if let Some(list) = self.prefix.get(p)
                    && list.iter().any(&mut f)
                {
                    return true;
                }
            } else {
                skip -= 1;
            }
            if p == "/" {
                return false;
            }
            match p.rfind('/') {
                Some(0) => p = "/",
                Some(i) => p = p.get(..i).unwrap_or("/"),
                None => return false,
            }
        }
    }
}

/// Path indexes keyed by route hostname.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostIndex {
    pub(crate) exact: HashMap<Box<str>, PathIndex>,
    /// Keyed by the suffix after `*.`.
    pub(crate) wildcard: HashMap<Box<str>, PathIndex>,
    pub(crate) any: PathIndex,
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
    }

    /// The path indexes that apply to `host`, in hostname-precedence order.
    pub(crate) fn groups<'s>(&'s self, host: &'s str) -> impl Iterator<Item = &'s PathIndex> + 's {
        let exact = self.exact.get(host);
        let wildcards = WildcardSuffixes {
            host,
            wildcard: &self.wildcard,
            active: !self.wildcard.is_empty(),
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
                wildcard: &self.wildcard,
                active: !self.wildcard.is_empty(),
            }
            .next()
            .is_some()
    }
}

/// Each wildcard group whose suffix `host` ends with (after at least one label), longest
/// suffix first.
struct WildcardSuffixes<'s> {
    host: &'s str,
    wildcard: &'s HashMap<Box<str>, PathIndex>,
    active: bool,
}

impl<'s> Iterator for WildcardSuffixes<'s> {
    type Item = &'s PathIndex;
    fn next(&mut self) -> Option<&'s PathIndex> {
        while self.active {
            let Some(dot) = self.host.find('.') else {
                self.active = false;
                return None;
            };
            self.host = self.host.get(dot + 1..).unwrap_or_default();
            if let Some(index) = self.wildcard.get(self.host) {
                return Some(index);
            }
        }
        None
    }
}
