//! Manifests as `explain` and `lint` read them: the engine, with the file and document of every
//! object. Attachment, candidates and precedence come from the library
//! (`Router::explain`, `Router::candidates`, `Router::shadowed`), not from here.

use std::path::PathBuf;

use gateway_core::Engine;
use gateway_core::api::{
    HttpFilterType, LoadOptions, ObjectMeta, PathMatchType, Resource, Snapshot, StringMatchType,
};
use gateway_core::attach::Config;
use gateway_core::route::{CandidateMatch, PathMatch, PrecedenceKey, RouteId};

/// Loaded manifests: the engine and where each object came from.
pub(crate) struct Loaded {
    pub(crate) engine: Engine,
    /// Per snapshot object: its file.
    pub(crate) files: Vec<PathBuf>,
}

impl Loaded {
    /// The attached configuration.
    pub(crate) fn config(&self) -> &Config {
        self.engine.config()
    }

    /// `file (document N)` of an object.
    pub(crate) fn source(&self, object: usize) -> (String, usize) {
        let file = self
            .files
            .get(object)
            .map(|p| crate::manifests::display(p))
            .unwrap_or_default();
        let document = self
            .config()
            .snapshot()
            .objects
            .get(object)
            .map_or(0, |o| o.document);
        (file, document)
    }
}

/// Loads every file (directories: their manifests, sorted). Load errors come back as lines
/// naming the file, document, resource and field.
pub(crate) fn load(
    paths: &[PathBuf],
    attach: &crate::manifests::Attach,
    options: &LoadOptions,
) -> Result<Loaded, Vec<String>> {
    let mut snapshot = Snapshot::default();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let expanded = crate::manifests::expand(paths).map_err(|e| vec![e])?;
    if expanded.is_empty() {
        return Err(vec!["no manifest files given".to_owned()]);
    }
    for path in expanded {
        let bytes = match crate::manifests::read(&path) {
            Ok(b) => b,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match Snapshot::load(&bytes, options) {
            Ok(loaded) => {
                files.extend(std::iter::repeat_n(
                    path.clone(),
                    loaded.snapshot.objects.len(),
                ));
                snapshot.extend(loaded.snapshot);
            }
            Err(e) => errors.extend(
                e.errors()
                    .map(|d| format!("{}: {d}", crate::manifests::display(&path)))
                    .collect::<Vec<_>>(),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Loaded {
        engine: crate::manifests::engine(snapshot, attach),
        files,
    })
}

/// A namespaced object's namespace (`default` when unset, as the loader does).
pub(crate) fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

/// Every regular expression of a rule with its field path relative to the rule.
pub(crate) fn rule_regexes(rule: &gateway_core::api::HttpRouteRule) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for (mi, m) in rule.matches.iter().enumerate() {
        if let Some(p) = &m.path
            && p.type_ == PathMatchType::RegularExpression
        {
            out.push((format!("matches[{mi}].path.value"), p.value.as_str()));
        }
        for (hi, h) in m.headers.iter().enumerate() {
            if h.type_ == StringMatchType::RegularExpression {
                out.push((
                    format!("matches[{mi}].headers[{hi}].value"),
                    h.value.as_str(),
                ));
            }
        }
        for (qi, q) in m.query_params.iter().enumerate() {
            if q.type_ == StringMatchType::RegularExpression {
                out.push((
                    format!("matches[{mi}].queryParams[{qi}].value"),
                    q.value.as_str(),
                ));
            }
        }
    }
    out
}

// === the library's candidates, named for people ===

impl Loaded {
    /// The snapshot object of a route the router names.
    pub(crate) fn route_object(&self, route: RouteId<'_>) -> Option<usize> {
        self.config().snapshot().objects.iter().position(|o| {
            let meta = o.resource.metadata();
            o.resource.kind() == route.kind.as_str()
                && namespace_of(meta) == route.namespace
                && meta.name == route.name
        })
    }

    /// A route's creation timestamp, as written.
    pub(crate) fn created(&self, route: RouteId<'_>) -> Option<&str> {
        let object = self.route_object(route)?;
        let o = self.config().snapshot().objects.get(object)?;
        o.resource.metadata().creation_timestamp.as_deref()
    }

    /// Whether rule `rule` of an HTTPRoute has an ExternalAuth filter.
    pub(crate) fn external_auth(&self, route: RouteId<'_>, rule: usize) -> bool {
        let Some(o) = self
            .route_object(route)
            .and_then(|i| self.config().snapshot().objects.get(i))
        else {
            return false;
        };
        let Resource::HttpRoute(r) = &o.resource else {
            return false;
        };
        r.spec.rules.get(rule).is_some_and(|r| {
            r.filters
                .iter()
                .any(|f| f.type_ == HttpFilterType::ExternalAuth)
        })
    }
}

/// `rule NAME (#i)` or `rule #i`, plus ` match #j` when the rule has several matches.
pub(crate) fn rule_label(c: &CandidateMatch<'_>, several_matches: bool) -> String {
    let rule = match c.rule.name {
        Some(n) => format!("rule {n} (#{})", c.rule.index),
        None => format!("rule #{}", c.rule.index),
    };
    if several_matches {
        format!("{rule} match #{}", c.match_index)
    } else {
        rule
    }
}

/// `ns/name rule NAME (#i)`, as [`rule_label`].
pub(crate) fn label(c: &CandidateMatch<'_>, several_matches: bool) -> String {
    format!(
        "{}/{} {}",
        c.route.namespace,
        c.route.name,
        rule_label(c, several_matches)
    )
}

/// Whether `c`'s rule has another match among `all`.
pub(crate) fn several_matches<'a, 'r: 'a>(
    c: &CandidateMatch<'r>,
    all: impl IntoIterator<Item = &'a CandidateMatch<'r>>,
) -> bool {
    all.into_iter().any(|o| {
        o.route == c.route && o.rule.index == c.rule.index && o.match_index != c.match_index
    })
}

/// Why `winner` ranks before a candidate, in words, from the precedence key the router
/// reports.
pub(crate) fn why_first(
    loaded: &Loaded,
    key: PrecedenceKey,
    winner: &CandidateMatch<'_>,
    other: &CandidateMatch<'_>,
) -> String {
    match key {
        PrecedenceKey::Hostname => "more specific hostname".to_owned(),
        PrecedenceKey::PathType => match winner.path {
            PathMatch::Exact(_) => "Exact path beats other path types".to_owned(),
            _ => "RegularExpression path beats PathPrefix".to_owned(),
        },
        PrecedenceKey::PrefixLength => "longer PathPrefix".to_owned(),
        PrecedenceKey::GrpcSpecificity => "more specific gRPC service and method".to_owned(),
        PrecedenceKey::Method => "method match".to_owned(),
        PrecedenceKey::HeaderCount => format!(
            "more header matches ({} > {})",
            winner.predicates.headers.len(),
            other.predicates.headers.len()
        ),
        PrecedenceKey::QueryCount => format!(
            "more query matches ({} > {})",
            winner.predicates.query.len(),
            other.predicates.query.len()
        ),
        PrecedenceKey::RouteOrder
            if loaded.created(winner.route) != loaded.created(other.route) =>
        {
            "older route".to_owned()
        }
        PrecedenceKey::RouteOrder => "route name first in {namespace}/{name} order".to_owned(),
        PrecedenceKey::RuleOrder => "earlier rule".to_owned(),
        _ => "earlier match".to_owned(),
    }
}
