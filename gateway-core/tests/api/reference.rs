//! A literal, slow reading of the Gateway API precedence rules, for property tests: every rule
//! of every route is checked against the request, and the matching candidates are ordered by
//! the spec's criteria. Nothing here shares code with the router's index.

use gateway_core::api::{HttpRoute, PathMatchType, StringMatchType};

/// A request for the reference: canonical host and path, as the router sees them.
pub(crate) struct Request<'a> {
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) method: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
}

/// `(route name, rule index)` of the winner, if any rule matches.
pub(crate) fn route(routes: &[HttpRoute], req: &Request<'_>) -> Option<(String, usize)> {
    candidates(routes, req)
        .into_iter()
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, name, rule)| (name, rule))
}

/// Whether the winner is decided only by rule order: another rule of the winning route has a
/// matching match that the spec's criteria do not tell apart from the winning one ("if ties
/// still exist within an HTTPRoute, matching precedence MUST be granted to the FIRST matching
/// rule"). Reordering rules may then change the decision, and must.
pub(crate) fn tied_on_rule_order(routes: &[HttpRoute], req: &Request<'_>) -> bool {
    let all = candidates(routes, req);
    let Some(best) = all.iter().min_by(|a, b| a.0.cmp(&b.0)) else {
        return false;
    };
    all.iter()
        .any(|c| c.1 == best.1 && c.2 != best.2 && c.0.precedence() == best.0.precedence())
}

/// Every matching `(key, route name, rule index)`.
fn candidates(routes: &[HttpRoute], req: &Request<'_>) -> Vec<(Key, String, usize)> {
    let mut all = Vec::new();
    for route in routes {
        let Some((exact_chars, chars)) = host_score(&route.spec.hostnames, req.host) else {
            continue;
        };
        for (ri, rule) in route.spec.rules.iter().enumerate() {
            for (mi, m) in rule.matches.iter().enumerate() {
                let path = m.path.clone().unwrap_or_default();
                let Some((path_kind, path_len)) = path_score(&path.type_, &path.value, req.path)
                else {
                    continue;
                };
                if m.method.as_ref().is_some_and(|x| x.as_str() != req.method) {
                    continue;
                }
                if !m.headers.iter().all(|h| {
                    header_value(req.headers, &h.name)
                        .is_some_and(|v| string_matches(&h.type_, &h.value, &v))
                }) {
                    continue;
                }
                if !m.query_params.iter().all(|q| {
                    query_value(req.query, &q.name)
                        .is_some_and(|v| string_matches(&q.type_, &q.value, v))
                }) {
                    continue;
                }
                let key = Key {
                    exact_chars: std::cmp::Reverse(exact_chars),
                    chars: std::cmp::Reverse(chars),
                    path_kind: std::cmp::Reverse(path_kind),
                    path_len: std::cmp::Reverse(path_len),
                    method: std::cmp::Reverse(m.method.is_some()),
                    headers: std::cmp::Reverse(m.headers.len()),
                    query: std::cmp::Reverse(m.query_params.len()),
                    created: route
                        .metadata
                        .creation_timestamp
                        .clone()
                        .unwrap_or_default(),
                    ns_name: format!(
                        "{}/{}",
                        route.metadata.namespace_or_default(),
                        route.metadata.name
                    ),
                    rule: ri,
                    match_index: mi,
                };
                all.push((key, route.metadata.name.clone(), ri));
            }
        }
    }
    all
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    exact_chars: std::cmp::Reverse<usize>,
    chars: std::cmp::Reverse<usize>,
    path_kind: std::cmp::Reverse<u8>,
    path_len: std::cmp::Reverse<usize>,
    method: std::cmp::Reverse<bool>,
    headers: std::cmp::Reverse<usize>,
    query: std::cmp::Reverse<usize>,
    created: String,
    ns_name: String,
    rule: usize,
    match_index: usize,
}

impl Key {
    /// The criteria before rule order.
    #[allow(clippy::type_complexity)]
    fn precedence(&self) -> (usize, usize, u8, usize, bool, usize, usize, &str, &str) {
        (
            self.exact_chars.0,
            self.chars.0,
            self.path_kind.0,
            self.path_len.0,
            self.method.0,
            self.headers.0,
            self.query.0,
            &self.created,
            &self.ns_name,
        )
    }
}

/// "Characters in a matching non-wildcard hostname, then characters in a matching hostname";
/// a route without hostnames matches every host with no characters.
fn host_score(hostnames: &[String], host: &str) -> Option<(usize, usize)> {
    if hostnames.is_empty() {
        return Some((0, 0));
    }
    hostnames
        .iter()
        .filter_map(|h| match h.strip_prefix("*.") {
            Some(suffix) => (host.ends_with(&format!(".{suffix}"))
                && host.len() > suffix.len() + 1)
                .then_some((0, h.len())),
            None => (h == host).then_some((h.len(), h.len())),
        })
        .max()
}

/// Exact (2) over RegularExpression (1, our choice) over PathPrefix (0) by length.
fn path_score(kind: &PathMatchType, value: &str, path: &str) -> Option<(u8, usize)> {
    match kind {
        PathMatchType::Exact => (value == path).then_some((2, value.len())),
        PathMatchType::RegularExpression => regex::Regex::new(&format!("^(?:{value})$"))
            .ok()?
            .is_match(path)
            .then_some((1, 0)),
        _ => {
            let prefix = value.trim_end_matches('/');
            let ok = prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"));
            ok.then_some((0, prefix.len()))
        }
    }
}

fn header_value(headers: &[(&str, &str)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .collect();
    if values.is_empty() {
        return None;
    }
    Some(values.join(if name.eq_ignore_ascii_case("cookie") {
        "; "
    } else {
        ", "
    }))
}

fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn string_matches(kind: &StringMatchType, want: &str, value: &str) -> bool {
    match kind {
        StringMatchType::RegularExpression => {
            regex::Regex::new(&format!("^(?:{want})$")).is_ok_and(|r| r.is_match(value))
        }
        _ => want == value,
    }
}
