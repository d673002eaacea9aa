//! The literal model `explain` and `lint` reason about: manifests loaded with the file and
//! document of every object, each Gateway's listeners, the routes attached to each, and every
//! HTTPRoute match as a candidate with the precedence key of `gateway_core::route`.
//!
//! Attachment is read back from the status the library computes (a route parent with
//! `Accepted=True`) and narrowed to listeners the way the library does (sectionName, port,
//! supported kinds, allowedRoutes namespaces, hostname intersection). `explain` checks its
//! winner against `Router::route` and says so when they differ.

use std::cmp::{Ordering, Reverse};
use std::path::{Path, PathBuf};

use gateway_core::api::{
    FromNamespaces, Gateway, HttpFilterType, HttpRoute, LabelSelector, LoadOptions, ObjectMeta,
    PathMatchType, Resource, Snapshot, StringMatchType,
};
use gateway_core::attach::{AttachOptions, Config, Status, host_matches, intersect};

/// Loaded manifests: the configuration and where each object came from.
pub(crate) struct Loaded {
    pub(crate) config: Config,
    /// Per snapshot object: its file.
    pub(crate) files: Vec<PathBuf>,
}

impl Loaded {
    /// `file (document N)` of an object.
    pub(crate) fn source(&self, object: usize) -> (String, usize) {
        let file = self
            .files
            .get(object)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let document = self
            .config
            .snapshot()
            .objects
            .get(object)
            .map_or(0, |o| o.document);
        (file, document)
    }
}

/// Loads every file (directories: their manifests, sorted). Load errors come back as lines
/// naming the file, document, resource and field.
pub(crate) fn load(paths: &[PathBuf], controller_name: &str) -> Result<Loaded, Vec<String>> {
    let mut snapshot = Snapshot::default();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let expanded = expand(paths).map_err(|e| vec![e])?;
    if expanded.is_empty() {
        return Err(vec!["no manifest files given".to_owned()]);
    }
    for path in expanded {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        match Snapshot::load(&bytes, &LoadOptions::default()) {
            Ok(loaded) => {
                files.extend(std::iter::repeat_n(
                    path.clone(),
                    loaded.snapshot.objects.len(),
                ));
                snapshot.extend(loaded.snapshot);
            }
            Err(e) => errors.extend(
                e.errors()
                    .map(|d| format!("{}: {d}", path.display()))
                    .collect::<Vec<_>>(),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut options = AttachOptions::default();
    options.controller_name = controller_name.to_owned();
    Ok(Loaded {
        config: Config::new(snapshot, options),
        files,
    })
}

fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| is_manifest(f))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// `NAMESPACE/NAME` (or `NAME`, namespace `default`) as `(namespace, name)`.
pub(crate) fn split_gateway(arg: &str) -> (String, String) {
    match arg.split_once('/') {
        Some((ns, name)) => (ns.to_owned(), name.to_owned()),
        None => ("default".to_owned(), arg.to_owned()),
    }
}

// === gateways and listeners ===

/// One Gateway of ours with its listeners.
pub(crate) struct GatewayModel<'a> {
    pub(crate) object: usize,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) spec: &'a Gateway,
    pub(crate) listeners: Vec<ListenerModel>,
}

/// One listener and the routes it serves.
pub(crate) struct ListenerModel {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) port: i32,
    pub(crate) hostname: Option<String>,
    /// `Programmed=True`: the listener serves traffic.
    pub(crate) serving: bool,
    /// HTTPRoutes attached here.
    pub(crate) routes: Vec<AttachedRoute>,
}

/// An HTTPRoute attached to a listener, with its hostnames that apply there (empty: every
/// host the listener accepts).
pub(crate) struct AttachedRoute {
    pub(crate) object: usize,
    pub(crate) hostnames: Vec<String>,
}

/// The Gateways of our classes (those the library computed status for), in input order.
pub(crate) fn gateways(config: &Config) -> Vec<GatewayModel<'_>> {
    let ours: Vec<(String, String)> = config
        .gateways()
        .map(|(ns, n)| (ns.to_owned(), n.to_owned()))
        .collect();
    let snapshot = config.snapshot();
    let mut out = Vec::new();
    for (object, o) in snapshot.objects.iter().enumerate() {
        let Resource::Gateway(gw) = &o.resource else {
            continue;
        };
        let ns = namespace_of(&gw.metadata).to_owned();
        if !ours.contains(&(ns.clone(), gw.metadata.name.clone())) {
            continue;
        }
        let status = match config
            .status()
            .find("Gateway", Some(&ns), &gw.metadata.name)
            .map(|s| &s.status)
        {
            Some(Status::Gateway(g)) => Some(g),
            _ => None,
        };
        let listeners = gw
            .spec
            .listeners
            .iter()
            .enumerate()
            .map(|(index, l)| {
                let ls = status.and_then(|s| s.listeners.iter().find(|x| x.name == l.name));
                let serving = ls.is_some_and(|ls| {
                    ls.conditions
                        .iter()
                        .any(|c| c.type_ == "Programmed" && c.status == "True")
                });
                let kinds: Vec<String> = ls
                    .map(|ls| ls.supported_kinds.iter().map(|k| k.kind.clone()).collect())
                    .unwrap_or_default();
                let mut listener = ListenerModel {
                    index,
                    name: l.name.clone(),
                    port: l.port,
                    hostname: l.hostname.as_ref().map(|h| h.to_ascii_lowercase()),
                    serving,
                    routes: Vec::new(),
                };
                if listener.serving && kinds.iter().any(|k| k == "HTTPRoute") {
                    attach(config, gw, &ns, &mut listener);
                }
                listener
            })
            .collect();
        out.push(GatewayModel {
            object,
            namespace: ns,
            name: gw.metadata.name.clone(),
            spec: gw,
            listeners,
        });
    }
    out
}

/// The HTTPRoutes of `config` that attach to `listener` of Gateway `gw`.
fn attach(config: &Config, gw: &Gateway, gw_ns: &str, listener: &mut ListenerModel) {
    let Some(spec) = gw.spec.listeners.get(listener.index) else {
        return;
    };
    for (object, o) in config.snapshot().objects.iter().enumerate() {
        let Resource::HttpRoute(route) = &o.resource else {
            continue;
        };
        let route_ns = namespace_of(&route.metadata);
        let Some(Status::Route(status)) = config
            .status()
            .find("HTTPRoute", Some(route_ns), &route.metadata.name)
            .map(|s| &s.status)
        else {
            continue;
        };
        let selected = status.parents.iter().any(|p| {
            let r = &p.parent_ref;
            r.kind == "Gateway"
                && r.name == gw.metadata.name
                && r.namespace.as_deref().unwrap_or(route_ns) == gw_ns
                && r.section_name.as_ref().is_none_or(|s| *s == listener.name)
                && r.port.is_none_or(|port| port == listener.port)
                && p.conditions
                    .iter()
                    .any(|c| c.type_ == "Accepted" && c.status == "True")
        });
        if !selected {
            continue;
        }
        let ns_ok = match &spec.allowed_routes.namespaces.from {
            FromNamespaces::All => true,
            FromNamespaces::Same => route_ns == gw_ns,
            FromNamespaces::Selector => spec
                .allowed_routes
                .namespaces
                .selector
                .as_ref()
                .is_some_and(|sel| selector_matches(config, sel, route_ns)),
            _ => false,
        };
        if !ns_ok {
            continue;
        }
        let hostnames: Vec<String> = route
            .spec
            .hostnames
            .iter()
            .filter(|h| intersect(listener.hostname.as_deref(), h).is_some())
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if !route.spec.hostnames.is_empty() && hostnames.is_empty() {
            continue;
        }
        listener.routes.push(AttachedRoute { object, hostnames });
    }
}

/// Kubernetes label selector against a namespace (with its implicit
/// `kubernetes.io/metadata.name` label).
fn selector_matches(config: &Config, selector: &LabelSelector, namespace: &str) -> bool {
    let mut labels = config
        .snapshot()
        .resources()
        .find_map(|r| match r {
            Resource::Namespace(n) if n.metadata.name == namespace => {
                Some(n.metadata.labels.clone())
            }
            _ => None,
        })
        .unwrap_or_default();
    labels
        .entry("kubernetes.io/metadata.name".to_owned())
        .or_insert_with(|| namespace.to_owned());
    selector
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector.match_expressions.iter().all(|e| {
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| e.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// A namespaced object's namespace (`default` when unset, as the loader does).
pub(crate) fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

// === candidates ===

/// The path part of a match, as the router indexes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathKey {
    Exact(String),
    Regex(String),
    /// The normalized prefix (no trailing `/` except for `/` itself).
    Prefix(String),
    /// A type the library does not know (the rule is dropped).
    Unknown(String),
}

impl PathKey {
    fn new(type_: &PathMatchType, value: &str) -> Self {
        match type_ {
            PathMatchType::Exact => Self::Exact(value.to_owned()),
            PathMatchType::RegularExpression => Self::Regex(value.to_owned()),
            PathMatchType::PathPrefix => {
                let key = value
                    .strip_suffix('/')
                    .filter(|k| !k.is_empty())
                    .unwrap_or(value);
                Self::Prefix(if key.is_empty() { "/" } else { key }.to_owned())
            }
            other => Self::Unknown(other.as_str().to_owned()),
        }
    }

    /// `Exact /x`, `RegularExpression /x.*`, `PathPrefix /x`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Exact(v) => format!("Exact {v}"),
            Self::Regex(v) => format!("RegularExpression {v}"),
            Self::Prefix(v) => format!("PathPrefix {v}"),
            Self::Unknown(t) => format!("{t} (unsupported)"),
        }
    }

    /// The path rank for a request: Exact, then RegularExpression, then PathPrefix by
    /// decreasing length.
    fn rank(&self) -> (u8, Reverse<usize>) {
        match self {
            Self::Exact(_) => (0, Reverse(0)),
            Self::Regex(_) => (1, Reverse(0)),
            Self::Prefix(p) => (2, Reverse(p.len())),
            Self::Unknown(_) => (3, Reverse(0)),
        }
    }

    /// Whether a canonical path matches; `Err` for a regex that does not compile.
    pub(crate) fn matches(&self, path: &str) -> Result<bool, String> {
        Ok(match self {
            Self::Exact(v) => v == path,
            Self::Regex(v) => gateway_core::api::compile_regex(v)?.is_match(path),
            Self::Prefix(key) => prefix_matches(key, path),
            Self::Unknown(_) => false,
        })
    }
}

/// Gateway API PathPrefix: element-wise; a trailing `/` of the request path is ignored.
pub(crate) fn prefix_matches(key: &str, path: &str) -> bool {
    if key == "/" {
        return true;
    }
    let p = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    p == key
        || p.strip_prefix(key)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A header or query predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ValueMatch {
    pub(crate) name: String,
    pub(crate) regex: bool,
    pub(crate) value: String,
}

impl ValueMatch {
    /// `name: value` (header) or `name=value` (query); `~` for a regex.
    pub(crate) fn describe(&self, separator: &str) -> String {
        if self.regex {
            format!("{} ~ {}", self.name, self.value)
        } else {
            format!("{}{separator}{}", self.name, self.value)
        }
    }

    fn holds(&self, actual: &str) -> bool {
        if self.regex {
            gateway_core::api::compile_regex(&self.value).is_ok_and(|re| re.is_match(actual))
        } else {
            self.value == actual
        }
    }
}

/// One match of one HTTPRoute rule attached to one listener.
#[derive(Clone, Debug)]
pub(crate) struct Candidate<'a> {
    pub(crate) object: usize,
    pub(crate) route: &'a HttpRoute,
    pub(crate) namespace: &'a str,
    /// The route hostnames that apply on this listener (empty: any).
    pub(crate) hostnames: Vec<String>,
    pub(crate) rule: usize,
    pub(crate) rule_name: Option<&'a str>,
    pub(crate) match_index: usize,
    pub(crate) path: PathKey,
    pub(crate) method: Option<String>,
    pub(crate) headers: Vec<ValueMatch>,
    pub(crate) query: Vec<ValueMatch>,
    /// Why the library drops the rule (it then matches nothing).
    pub(crate) dropped: Option<String>,
    /// The rule has an ExternalAuth filter.
    pub(crate) auth: bool,
    /// Route age: (creation timestamp, namespace, name), oldest first.
    pub(crate) age: (String, String, String),
}

impl Candidate<'_> {
    /// `ns/name rule NAME (#i)`, or `ns/name rule #i`.
    pub(crate) fn label(&self) -> String {
        format!(
            "{}/{} {}",
            self.namespace,
            self.route.metadata.name,
            self.rule_label()
        )
    }

    /// `rule NAME (#i)` or `rule #i`, plus ` match #j` when the rule has several matches.
    pub(crate) fn rule_label(&self) -> String {
        let rule = match self.rule_name {
            Some(n) => format!("rule {n} (#{})", self.rule),
            None => format!("rule #{}", self.rule),
        };
        let matches = self
            .route
            .spec
            .rules
            .get(self.rule)
            .map_or(1, |r| r.matches.len());
        if matches > 1 {
            format!("{rule} match #{}", self.match_index)
        } else {
            rule
        }
    }

    /// The field path of this match.
    pub(crate) fn field(&self) -> String {
        format!("spec.rules[{}].matches[{}]", self.rule, self.match_index)
    }

    /// The precedence key after hostname and path: method, header count, query count, route
    /// age, `{namespace}/{name}`, rule, match (smaller wins).
    pub(crate) fn rank(&self) -> RankKey {
        RankKey {
            method: Reverse(self.method.is_some()),
            headers: Reverse(self.headers.len()),
            query: Reverse(self.query.len()),
            age: self.age.clone(),
            rule: self.rule,
            match_index: self.match_index,
        }
    }

    /// The best hostname group of this candidate for `host`: 0 exact, 1 wildcard (longer
    /// suffix first), 2 no hostnames; `None` when no hostname of the route matches.
    pub(crate) fn host_rank(&self, host: &str) -> Option<(u8, Reverse<usize>)> {
        if self.hostnames.is_empty() {
            return Some((2, Reverse(0)));
        }
        self.hostnames
            .iter()
            .filter(|h| host_matches(h, host))
            .map(|h| match h.strip_prefix("*.") {
                Some(suffix) => (1, Reverse(suffix.len())),
                None => (0, Reverse(0)),
            })
            .min()
    }

    /// The full precedence order for a request host: hostname group, path, then [`RankKey`].
    /// Candidates whose hostnames do not match the host sort last.
    pub(crate) fn order(&self, host: &str) -> impl Ord + use<> {
        let host_rank = self.host_rank(host).unwrap_or((3, Reverse(0)));
        (host_rank, self.path.rank(), self.rank())
    }

    /// Why this candidate does not match the request (empty: it matches).
    pub(crate) fn mismatches(&self, req: &RequestFacts<'_>) -> Vec<String> {
        let mut why = Vec::new();
        if let Some(d) = &self.dropped {
            why.push(format!("rule dropped: {d}"));
            return why;
        }
        if self.host_rank(req.host).is_none() {
            why.push(format!(
                "host {} is not among the route hostnames {}",
                req.host,
                self.hostnames.join(", ")
            ));
        }
        match self.path.matches(req.path) {
            Ok(true) => {}
            Ok(false) => why.push(match &self.path {
                PathKey::Exact(v) => format!("path {} is not {v}", req.path),
                PathKey::Regex(v) => format!("path {} does not match {v}", req.path),
                PathKey::Prefix(v) => format!("path {} is not under {v}", req.path),
                PathKey::Unknown(t) => format!("path match type {t} is not supported"),
            }),
            Err(e) => why.push(format!("invalid regular expression: {e}")),
        }
        if let Some(m) = &self.method
            && m != req.method
        {
            why.push(format!("method {} is not {m}", req.method));
        }
        for h in &self.headers {
            match header_value(req.headers, &h.name) {
                None => why.push(format!("header {} is missing", h.name)),
                Some(v) if !h.holds(&v) => why.push(if h.regex {
                    format!("header {}: {v} does not match {}", h.name, h.value)
                } else {
                    format!("header {}: {v} is not {}", h.name, h.value)
                }),
                Some(_) => {}
            }
        }
        for q in &self.query {
            match query_value(req.query, &q.name) {
                None => why.push(format!("query parameter {} is missing", q.name)),
                Some(v) if !q.holds(v) => why.push(if q.regex {
                    format!("query {}={v} does not match {}", q.name, q.value)
                } else {
                    format!("query {}={v} is not {}", q.name, q.value)
                }),
                Some(_) => {}
            }
        }
        why
    }

    /// Why `self` (which matches) beats `other` (which matches too), as the first precedence
    /// key that differs.
    pub(crate) fn beats_because(&self, other: &Self, host: &str) -> String {
        let (a, b) = (self.host_rank(host), other.host_rank(host));
        if a != b {
            return "more specific hostname".to_owned();
        }
        let (pa, pb) = (self.path.rank(), other.path.rank());
        if pa != pb {
            return match (&self.path, &other.path) {
                (PathKey::Exact(_), _) => "Exact path beats other path types".to_owned(),
                (PathKey::Regex(_), _) => "RegularExpression path beats PathPrefix".to_owned(),
                _ => "longer PathPrefix".to_owned(),
            };
        }
        let (ra, rb) = (self.rank(), other.rank());
        if ra.method != rb.method {
            "method match".to_owned()
        } else if ra.headers != rb.headers {
            format!(
                "more header matches ({} > {})",
                self.headers.len(),
                other.headers.len()
            )
        } else if ra.query != rb.query {
            format!(
                "more query matches ({} > {})",
                self.query.len(),
                other.query.len()
            )
        } else if ra.age.0 != rb.age.0 {
            "older route".to_owned()
        } else if (&ra.age.1, &ra.age.2) != (&rb.age.1, &rb.age.2) {
            "route name first in {namespace}/{name} order".to_owned()
        } else if ra.rule != rb.rule {
            "earlier rule".to_owned()
        } else {
            "earlier match".to_owned()
        }
    }
}

/// Gateway API HTTPRouteRule precedence after hostname and path; smaller wins.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RankKey {
    method: Reverse<bool>,
    headers: Reverse<usize>,
    query: Reverse<usize>,
    age: (String, String, String),
    rule: usize,
    match_index: usize,
}

/// The request as the router saw it: canonical host and path, raw query, method, headers.
pub(crate) struct RequestFacts<'a> {
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) method: &'a str,
    pub(crate) headers: &'a [(String, String)],
}

/// A header's value as the router matches it: one field line trimmed, or the lines joined
/// with `, ` (`; ` for cookie).
fn header_value(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_matches([' ', '\t']))
        .collect();
    if values.is_empty() {
        return None;
    }
    let sep = if name.eq_ignore_ascii_case("cookie") {
        "; "
    } else {
        ", "
    };
    Some(values.join(sep))
}

/// The first value of a query parameter (pairs split on `&`, not decoded).
fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (n == name).then_some(v)
    })
}

/// Every match of every HTTPRoute rule attached to `listener`, in route then rule order.
pub(crate) fn candidates<'a>(config: &'a Config, listener: &ListenerModel) -> Vec<Candidate<'a>> {
    let mut out = Vec::new();
    for attached in &listener.routes {
        let Some(Resource::HttpRoute(route)) = config
            .snapshot()
            .objects
            .get(attached.object)
            .map(|o| &o.resource)
        else {
            continue;
        };
        let namespace = namespace_of(&route.metadata);
        let age = (
            route
                .metadata
                .creation_timestamp
                .clone()
                .unwrap_or_default(),
            namespace.to_owned(),
            route.metadata.name.clone(),
        );
        for (ri, rule) in route.spec.rules.iter().enumerate() {
            let dropped = rule_problem(rule);
            let auth = rule
                .filters
                .iter()
                .any(|f| f.type_ == HttpFilterType::ExternalAuth);
            for (mi, m) in rule.matches.iter().enumerate() {
                let path = m.path.clone().unwrap_or_default();
                let value_match = |type_: &StringMatchType, name: &str, value: &str| ValueMatch {
                    name: name.to_owned(),
                    regex: *type_ == StringMatchType::RegularExpression,
                    value: value.to_owned(),
                };
                out.push(Candidate {
                    object: attached.object,
                    route,
                    namespace,
                    hostnames: attached.hostnames.clone(),
                    rule: ri,
                    rule_name: rule.name.as_deref(),
                    match_index: mi,
                    path: PathKey::new(&path.type_, &path.value),
                    method: m.method.as_ref().map(|m| m.as_str().to_owned()),
                    headers: m
                        .headers
                        .iter()
                        .map(|h| value_match(&h.type_, &h.name.to_ascii_lowercase(), &h.value))
                        .collect(),
                    query: m
                        .query_params
                        .iter()
                        .map(|q| value_match(&q.type_, &q.name, &q.value))
                        .collect(),
                    dropped: dropped.clone(),
                    auth,
                    age: age.clone(),
                });
            }
        }
    }
    out
}

/// Why the library drops an HTTPRoute rule: an invalid regex or a match or filter type it
/// does not know.
fn rule_problem(rule: &gateway_core::api::HttpRouteRule) -> Option<String> {
    for (field, pattern) in rule_regexes(rule) {
        if let Err(e) = gateway_core::api::compile_regex(pattern) {
            return Some(format!("invalid regular expression at {field}: {e}"));
        }
    }
    for m in &rule.matches {
        if let Some(p) = &m.path
            && !matches!(
                p.type_,
                PathMatchType::Exact | PathMatchType::PathPrefix | PathMatchType::RegularExpression
            )
        {
            return Some(format!(
                "unsupported path match type {:?}",
                p.type_.as_str()
            ));
        }
        if let Some(method) = &m.method
            && !method.is_known()
        {
            return Some(format!("unsupported method {:?}", method.as_str()));
        }
        let types = m.headers.iter().map(|h| &h.type_);
        if let Some(t) = types
            .chain(m.query_params.iter().map(|q| &q.type_))
            .find(|t| !t.is_known())
        {
            return Some(format!("unsupported match type {:?}", t.as_str()));
        }
    }
    rule.filters.iter().find_map(|f| match &f.type_ {
        HttpFilterType::Unknown(t) => Some(format!("unsupported filter type {t:?}")),
        _ => None,
    })
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

/// Sorts candidates in precedence order for `host`.
pub(crate) fn sort_for_host(candidates: &mut [Candidate<'_>], host: &str) {
    candidates.sort_by(|a, b| a.order(host).cmp(&b.order(host)).then(tie(a, b)));
}

/// Path values break ties between candidates that cannot both match (two Exact paths).
fn tie(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    a.path.describe().cmp(&b.path.describe())
}
