//! Request predicates of one match: method, headers, query parameters.

use regex::Regex;

use crate::request::Headers;

/// A compiled string predicate.
#[derive(Clone, Debug)]
pub(crate) enum StringMatch {
    Exact(Box<str>),
    Regex(Regex),
}

impl StringMatch {
    fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(v) => &**v == value,
            Self::Regex(r) => r.is_match(value),
        }
    }
}

/// One predicate on a named value of the request.
#[derive(Clone, Debug)]
pub(crate) struct NamedMatch {
    pub(crate) name: Box<str>,
    pub(crate) value: StringMatch,
}

/// One header predicate: name lower-cased.
pub(crate) type HeaderPredicate = NamedMatch;

/// One query predicate: name exact (case-sensitive).
pub(crate) type QueryPredicate = NamedMatch;

/// Everything but path and host of one match.
#[derive(Clone, Debug, Default)]
pub(crate) struct Predicates {
    pub(crate) method: Option<Box<str>>,
    pub(crate) headers: Vec<HeaderPredicate>,
    pub(crate) query: Vec<QueryPredicate>,
}

impl Predicates {
    /// Whether the request satisfies every predicate.
    pub(crate) fn matches(&self, method: &str, headers: &Headers<'_>, query: Option<&str>) -> bool {
        if let Some(m) = &self.method {
            // Gateway API HTTPMethod: matched case-sensitively, upper case.
            if &**m != method {
                return false;
            }
        }
        self.headers.iter().all(|h| header_matches(h, headers))
            && self.query.iter().all(|q| query_matches(q, query))
    }
}

/// A header predicate holds against the header's combined value: field lines joined with `, `
/// (RFC 9110 §5.3), or `; ` for `cookie` (RFC 9113 §8.2.3). A missing header never matches.
/// Single-valued headers (the common case) are compared without allocation.
pub(super) fn header_matches(predicate: &HeaderPredicate, headers: &Headers<'_>) -> bool {
    let mut first: Option<&[u8]> = None;
    let mut count = 0;
    headers.for_each_value(&predicate.name, |v| {
        count += 1;
        if first.is_none() {
            first = Some(v);
        }
        count < 2
    });
    match (count, first) {
        (0, _) | (_, None) => false,
        (1, Some(v)) => std::str::from_utf8(v)
            .is_ok_and(|v| predicate.value.matches(v.trim_matches([' ', '\t']))),
        _ => {
            let sep: &[u8] = if &*predicate.name == "cookie" {
                b"; "
            } else {
                b", "
            };
            let mut combined = Vec::new();
            headers.for_each_value(&predicate.name, |v| {
                if !combined.is_empty() {
                    combined.extend_from_slice(sep);
                }
                combined.extend_from_slice(trim_ows(v));
                true
            });
            std::str::from_utf8(&combined).is_ok_and(|v| predicate.value.matches(v))
        }
    }
}

fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or_default()
}

/// A query predicate: pairs are separated by `&` only; the first pair with the name decides
/// (Gateway API HTTPQueryParamMatch recommends the first value); names and values are compared
/// as sent (not percent-decoded), a pair without `=` has the empty value.
pub(super) fn query_matches(predicate: &QueryPredicate, query: Option<&str>) -> bool {
    let Some(query) = query else { return false };
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == &*predicate.name {
            return predicate.value.matches(value);
        }
    }
    false
}
