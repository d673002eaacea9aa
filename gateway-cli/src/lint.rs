//! `gateway lint`: configuration that loads and attaches but does not do what it says.
//!
//! Finding kinds (stable ids, also in `--json`):
//! - `shadowed-rule`: a match that can never win on a listener, because in every hostname group
//!   it sits in an earlier match of another rule (older route, or earlier rule) has the same
//!   path and predicates it implies, so it ranks first for every request this one matches
//!   (`Router::shadowed`);
//! - `unattached-route`: a route no Gateway listener (or, with the mesh, Service port) of ours
//!   accepts (no parent `Accepted=True`);
//! - `unmatched-parent-service` (with the mesh: `--mesh` or an XMesh of ours): a parentRef to
//!   a Service that does not exist, or to a port or port name the Service does not have
//!   (`Accepted=False`, `NoMatchingParent`), instead of `unattached-route`; consumer routes (a
//!   Service of another namespace) are fine;
//! - `conflicted-listener`: a listener reporting `Conflicted=True`, which serves nothing;
//! - `unmatched-hostname`: a route hostname that no listener of its parent Gateways accepts;
//! - `auth-bypass`: a rule with an ExternalAuth filter whose paths another rule without auth
//!   also serves (auth on Exact `/admin` while PathPrefix `/` catches `/admin/`; auth on
//!   PathPrefix `/admin` while an Exact `/admin/x` or a longer prefix beats it);
//! - `invalid-regex`: a RegularExpression path, header or query match that does not compile
//!   (the library drops the rule);
//! - `ignored-header-match`: a header match whose name equals an earlier one of the same match
//!   but for case: HTTPHeaderMatch and GRPCHeaderMatch use only the first entry with an
//!   equivalent name, so the entry does nothing;
//! - `path-parameter-bypass` (only with `--path-parameters keep`, the embedder keeping `;` in
//!   paths): an Exact or PathPrefix match that a request with a path parameter (`/admin;x`)
//!   misses, while another rule serves it, though Servlet-style backends serve it as the
//!   match's path (`/admin`). Under the default (`reject`) such requests are refused with 400,
//!   and under `strip` they are routed as the path without parameters, so nothing slips past.
//!
//! Listeners, candidates and precedence are the library's compiled router's
//! (`Router::candidates`, `Router::shadowed`), so the listeners of XListenerSets are covered
//! like the Gateway's own.
//!
//! Exit status: 0 no findings, 1 findings, 2 usage or load errors.

use std::path::PathBuf;
use std::process::ExitCode;

use gateway_core::api::{GATEWAY_GROUP, Gateway, Resource};
use gateway_core::attach::{Config, Status, intersect};
use gateway_core::route::{BuildError, CandidateMatch, HostnameGroup, PathMatch, RuleTable};
use gateway_core::{GatewayRef, Target};
use serde::Serialize;

use crate::loaded::{self, Loaded, label, rule_label, several_matches, why_first};
use crate::output::{Style, Table, Tone};

/// Arguments of `gateway lint`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Finding kinds: shadowed-rule, unattached-route, unmatched-parent-service, \
conflicted-listener, unmatched-hostname, auth-bypass, invalid-regex, ignored-header-match, path-parameter-bypass.\n\
Exit status: 0 no findings, 1 findings, 2 usage or load errors."
)]
pub(crate) struct Args {
    /// Manifest files or directories; `-` for standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only this Gateway (NAMESPACE/NAME); every Gateway of ours when omitted.
    #[arg(long)]
    gateway: Option<String>,
    /// Print the findings as JSON Lines, one finding per line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    attach: crate::manifests::Attach,
    #[command(flatten)]
    limits: crate::manifests::Limits,
    /// What the embedding proxy does with a `;` in a path (`PathPolicy::path_parameters`):
    /// with `keep`, lint lists the rules a path parameter slips past.
    #[arg(long, value_enum, default_value_t = ParamPolicy::Reject)]
    path_parameters: ParamPolicy,
}

/// `--path-parameters`: the library's `PathParameters` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ParamPolicy {
    /// Refuse requests with a path parameter (400): the library's default.
    Reject,
    /// Strip path parameters before matching and forwarding.
    Strip,
    /// Keep `;` as an ordinary character.
    Keep,
}

/// The stable finding kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    ShadowedRule,
    UnattachedRoute,
    UnmatchedParentService,
    ConflictedListener,
    UnmatchedHostname,
    AuthBypass,
    InvalidRegex,
    IgnoredHeaderMatch,
    PathParameterBypass,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::ShadowedRule => "shadowed-rule",
            Self::UnattachedRoute => "unattached-route",
            Self::UnmatchedParentService => "unmatched-parent-service",
            Self::ConflictedListener => "conflicted-listener",
            Self::UnmatchedHostname => "unmatched-hostname",
            Self::AuthBypass => "auth-bypass",
            Self::InvalidRegex => "invalid-regex",
            Self::IgnoredHeaderMatch => "ignored-header-match",
            Self::PathParameterBypass => "path-parameter-bypass",
        }
    }
}

/// One finding: what, where (resource, file, document, field) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
struct Finding {
    kind: Kind,
    resource: Ref,
    file: String,
    document: usize,
    field: String,
    message: String,
    #[serde(skip)]
    object: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
struct Ref {
    kind: String,
    namespace: Option<String>,
    name: String,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    crate::manifests::stdin_once(&[("the manifests", crate::manifests::stdin_count(&args.files))])?;
    let loaded = match loaded::load(&args.files, &args.attach, &args.limits.options()) {
        Ok(l) => l,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} error(s)", errors.len());
            return Ok(ExitCode::from(2));
        }
    };
    let mut gateways = gateways(loaded.config());
    if let Some(g) = &args.gateway {
        let wanted = GatewayRef::parse(g).map_err(|e| e.to_string())?;
        let known: Vec<String> = gateways
            .iter()
            .map(|g| format!("{}/{}", g.namespace, g.name))
            .collect();
        gateways.retain(|g| {
            wanted.namespace() == Some(g.namespace.as_str()) && wanted.name() == Some(&g.name)
        });
        if gateways.is_empty() {
            let unknown = BuildError::UnknownGateway {
                namespace: wanted.namespace().unwrap_or_default().to_owned(),
                name: wanted.name().unwrap_or_default().to_owned(),
                known,
            };
            return Err(unknown.to_string());
        }
    }
    let findings = lint(
        &loaded,
        &gateways,
        args.gateway.is_some(),
        args.path_parameters == ParamPolicy::Keep,
    );
    if args.json {
        for f in &findings {
            println!("{}", serde_json::to_string(f).map_err(|e| e.to_string())?);
        }
    } else {
        print(&findings, Style::detect());
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One Gateway of ours: its object and spec.
struct OurGateway<'a> {
    object: usize,
    namespace: String,
    name: String,
    spec: &'a Gateway,
}

/// The Gateways of our classes (those the library computed status for), in input order.
fn gateways(config: &Config) -> Vec<OurGateway<'_>> {
    let ours: Vec<(&str, &str)> = config.gateways().collect();
    config
        .snapshot()
        .objects
        .iter()
        .enumerate()
        .filter_map(|(object, o)| {
            let Resource::Gateway(gw) = &o.resource else {
                return None;
            };
            let ns = loaded::namespace_of(&gw.metadata);
            ours.contains(&(ns, gw.metadata.name.as_str()))
                .then(|| OurGateway {
                    object,
                    namespace: ns.to_owned(),
                    name: gw.metadata.name.clone(),
                    spec: gw,
                })
        })
        .collect()
}

fn lint(
    loaded: &Loaded,
    gateways: &[OurGateway<'_>],
    only_named: bool,
    parameters_kept: bool,
) -> Vec<Finding> {
    let config = loaded.config();
    let mut out = Vec::new();
    let mut add = |object: usize, kind: Kind, field: String, message: String| {
        let Some(o) = config.snapshot().objects.get(object) else {
            return;
        };
        let meta = o.resource.metadata();
        let (file, document) = loaded.source(object);
        out.push(Finding {
            kind,
            resource: Ref {
                kind: o.resource.kind().to_owned(),
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
            },
            file,
            document,
            field,
            message,
            object,
        });
    };
    for gw in gateways {
        conflicted_listeners(config, gw, &mut add);
        // Every Gateway here is ours, so the router builds.
        let target = Target::gateway(&gw.namespace, &gw.name);
        let Ok(router) = loaded.engine.router(&target) else {
            continue;
        };
        let listeners = router.candidates();
        for s in router.shadowed() {
            let Some(object) = loaded.route_object(s.shadowed.route) else {
                continue;
            };
            let peers: Vec<&CandidateMatch<'_>> = listeners
                .iter()
                .filter(|l| l.listener == s.listener)
                .flat_map(|l| &l.candidates)
                .collect();
            let several = |c| several_matches(c, peers.iter().copied());
            add(
                object,
                Kind::ShadowedRule,
                field(&s.shadowed),
                format!(
                    "{} can never match: {} has the same hostnames, path ({}) and predicates and \
                     ranks first ({})",
                    rule_label(&s.shadowed, several(&s.shadowed)),
                    label(&s.by, several(&s.by)),
                    s.shadowed.path,
                    why_first(loaded, s.key, &s.by, &s.shadowed)
                ),
            );
        }
        for l in &listeners {
            for (object, field, message) in auth_bypass(loaded, &l.candidates) {
                add(object, Kind::AuthBypass, field, message);
            }
            if parameters_kept {
                for (object, field, message) in parameter_bypass(loaded, &l.candidates) {
                    add(object, Kind::PathParameterBypass, field, message);
                }
            }
        }
    }
    conflicted_set_listeners(config, &mut add);
    routes(config, gateways, only_named, &mut add);
    out.sort_by(|a, b| {
        (a.object, &a.field, a.kind, &a.message).cmp(&(b.object, &b.field, b.kind, &b.message))
    });
    out.dedup();
    out
}

/// The field path of a candidate's match.
fn field(c: &CandidateMatch<'_>) -> String {
    format!("spec.rules[{}].matches[{}]", c.rule.index, c.match_index)
}

// === listeners ===

fn conflicted_listeners(
    config: &Config,
    gw: &OurGateway<'_>,
    add: &mut impl FnMut(usize, Kind, String, String),
) {
    let Some(Status::Gateway(status)) = config
        .status()
        .find("Gateway", Some(&gw.namespace), &gw.name)
        .map(|s| &s.status)
    else {
        return;
    };
    for (i, l) in gw.spec.spec.listeners.iter().enumerate() {
        let Some(ls) = status.listeners.iter().find(|s| s.name == l.name) else {
            continue;
        };
        if let Some(c) = ls
            .conditions
            .iter()
            .find(|c| c.type_ == "Conflicted" && c.status == "True")
        {
            add(
                gw.object,
                Kind::ConflictedListener,
                format!("spec.listeners[{i}]"),
                format!(
                    "listener {} is Conflicted ({}: {}) and serves nothing",
                    l.name, c.reason, c.message
                ),
            );
        }
    }
}

/// The same finding for the listeners of XListenerSets merged into a Gateway of ours.
fn conflicted_set_listeners(config: &Config, add: &mut impl FnMut(usize, Kind, String, String)) {
    for (object, o) in config.snapshot().objects.iter().enumerate() {
        let Resource::XListenerSet(set) = &o.resource else {
            continue;
        };
        let Some(Status::ListenerSet(status)) = config
            .status()
            .find(
                "XListenerSet",
                Some(loaded::namespace_of(&set.metadata)),
                &set.metadata.name,
            )
            .map(|s| &s.status)
        else {
            continue;
        };
        for (i, l) in set.spec.listeners.iter().enumerate() {
            let Some(ls) = status.listeners.iter().find(|s| s.name == l.name) else {
                continue;
            };
            if let Some(c) = ls
                .conditions
                .iter()
                .find(|c| c.type_ == "Conflicted" && c.status == "True")
            {
                add(
                    object,
                    Kind::ConflictedListener,
                    format!("spec.listeners[{i}]"),
                    format!(
                        "listener {} is Conflicted ({}: {}) and serves nothing",
                        l.name, c.reason, c.message
                    ),
                );
            }
        }
    }
}

// === routes: attachment, hostnames, regexes ===

fn routes(
    config: &Config,
    gateways: &[OurGateway<'_>],
    only_named: bool,
    add: &mut impl FnMut(usize, Kind, String, String),
) {
    for (object, o) in config.snapshot().objects.iter().enumerate() {
        let (common, hostnames, kind) = match &o.resource {
            Resource::HttpRoute(r) => (&r.spec.common, &r.spec.hostnames, "HTTPRoute"),
            Resource::GrpcRoute(r) => (&r.spec.common, &r.spec.hostnames, "GRPCRoute"),
            Resource::TlsRoute(r) => (&r.spec.common, &r.spec.hostnames, "TLSRoute"),
            Resource::TcpRoute(r) => (&r.spec.common, &r.spec.hostnames, "TCPRoute"),
            Resource::UdpRoute(r) => (&r.spec.common, &r.spec.hostnames, "UDPRoute"),
            _ => continue,
        };
        let meta = o.resource.metadata();
        let ns = loaded::namespace_of(meta);
        // The parentRefs that name a Gateway we lint.
        let parents: Vec<(usize, &OurGateway<'_>)> = common
            .parent_refs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.group == GATEWAY_GROUP && p.kind == "Gateway")
            .filter_map(|(i, p)| {
                let gw_ns = p.namespace.as_deref().unwrap_or(ns);
                gateways
                    .iter()
                    .find(|g| g.namespace == gw_ns && g.name == p.name)
                    .map(|g| (i, g))
            })
            .collect();
        if only_named && parents.is_empty() {
            continue;
        }

        for (field, message) in ignored_header_matches(&o.resource) {
            add(object, Kind::IgnoredHeaderMatch, field, message);
        }
        if let Resource::HttpRoute(r) = &o.resource {
            for (ri, rule) in r.spec.rules.iter().enumerate() {
                for (field, pattern) in loaded::rule_regexes(rule) {
                    if let Err(e) = gateway_core::api::compile_regex(pattern) {
                        add(
                            object,
                            Kind::InvalidRegex,
                            format!("spec.rules[{ri}].{field}"),
                            format!(
                                "regular expression {pattern:?} does not compile ({e}); the \
                                 rule is dropped"
                            ),
                        );
                    }
                }
            }
        }

        let status = config.status().find(kind, Some(ns), &meta.name);
        let accepted = match status.map(|s| &s.status) {
            Some(Status::Route(rs)) => rs.parents.iter().any(|p| {
                p.conditions
                    .iter()
                    .any(|c| c.type_ == "Accepted" && c.status == "True")
            }),
            _ => false,
        };
        // Mesh parents: a Service that does not exist, or a port it does not have. A route
        // reported so is not reported `unattached-route` as well.
        let mut unmatched_services = 0;
        if let Some(Status::Route(rs)) = status.map(|s| &s.status) {
            for (pi, p) in common.parent_refs.iter().enumerate() {
                if !(p.group.is_empty() && p.kind == "Service") {
                    continue;
                }
                let unmatched = rs.parents.iter().find(|entry| {
                    entry.parent_ref == *p
                        && entry.conditions.iter().any(|c| {
                            c.type_ == "Accepted"
                                && c.status == "False"
                                && c.reason == "NoMatchingParent"
                        })
                });
                if let Some(entry) = unmatched {
                    let message = entry
                        .conditions
                        .iter()
                        .find(|c| c.type_ == "Accepted")
                        .map_or_else(String::new, |c| c.message.clone());
                    unmatched_services += 1;
                    add(
                        object,
                        Kind::UnmatchedParentService,
                        format!("spec.parentRefs[{pi}]"),
                        format!("the route does not attach to this Service: {message}"),
                    );
                }
            }
        }
        if !accepted && unmatched_services == 0 {
            let mesh_parents = common
                .parent_refs
                .iter()
                .any(|p| p.group.is_empty() && p.kind == "Service");
            let why = match status.map(|s| &s.status) {
                Some(Status::Route(rs)) if !rs.parents.is_empty() => rs
                    .parents
                    .iter()
                    .flat_map(|p| {
                        p.conditions
                            .iter()
                            .filter(|c| c.type_ == "Accepted")
                            .map(move |c| {
                                format!("{}: {} ({})", p.parent_ref.name, c.reason, c.message)
                            })
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                _ if mesh_parents && !config.mesh_enabled() => {
                    "no parentRef names a Gateway of ours; its Service parentRefs are mesh \
                     parents, ours only with --mesh or an XMesh of our controller name"
                        .to_owned()
                }
                _ => "no parentRef names a Gateway of ours".to_owned(),
            };
            add(
                object,
                Kind::UnattachedRoute,
                "spec.parentRefs".to_owned(),
                if mesh_parents && config.mesh_enabled() {
                    format!("attached to no listener or Service port: {why}")
                } else {
                    format!("attached to no listener: {why}")
                },
            );
        }

        if matches!(kind, "TCPRoute" | "UDPRoute") {
            continue;
        }
        for (hi, h) in hostnames.iter().enumerate() {
            if parents.is_empty() {
                continue;
            }
            let accepted_somewhere = parents.iter().any(|(pi, g)| {
                let Some(p) = common.parent_refs.get(*pi) else {
                    return false;
                };
                g.spec.spec.listeners.iter().any(|l| {
                    p.section_name.as_ref().is_none_or(|s| *s == l.name)
                        && p.port.is_none_or(|port| port == l.port)
                        && intersect(l.hostname.as_deref(), h).is_some()
                })
            });
            if !accepted_somewhere {
                add(
                    object,
                    Kind::UnmatchedHostname,
                    format!("spec.hostnames[{hi}]"),
                    format!("hostname {h} is accepted by no listener of the route's parents"),
                );
            }
        }
    }
}

/// Header matches of an HTTPRoute or GRPCRoute whose names equal an earlier entry's of the
/// same match but for case: "only the first entry with an equivalent name MUST be considered".
fn ignored_header_matches(resource: &Resource) -> Vec<(String, String)> {
    let matches: Vec<(usize, usize, Vec<&str>)> = match resource {
        Resource::HttpRoute(r) => r
            .spec
            .rules
            .iter()
            .enumerate()
            .flat_map(|(ri, rule)| {
                rule.matches.iter().enumerate().map(move |(mi, m)| {
                    (ri, mi, m.headers.iter().map(|h| h.name.as_str()).collect())
                })
            })
            .collect(),
        Resource::GrpcRoute(r) => r
            .spec
            .rules
            .iter()
            .enumerate()
            .flat_map(|(ri, rule)| {
                rule.matches.iter().enumerate().map(move |(mi, m)| {
                    (ri, mi, m.headers.iter().map(|h| h.name.as_str()).collect())
                })
            })
            .collect(),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for (ri, mi, names) in matches {
        for (later, name) in names.iter().enumerate() {
            let Some(earlier) = names
                .iter()
                .take(later)
                .position(|n| n.eq_ignore_ascii_case(name))
            else {
                continue;
            };
            let at = format!("spec.rules[{ri}].matches[{mi}].headers");
            out.push((
                format!("{at}[{later}].name"),
                format!(
                    "header {name} is {at}[{earlier}]'s name ({}) but for case: only the first \
                     entry with an equivalent name is used, so this one is ignored",
                    names.get(earlier).copied().unwrap_or_default()
                ),
            ));
        }
    }
    out
}

// === path parameters kept ===

/// Exact and PathPrefix matches that a request for the same path with a path parameter
/// (`/admin;x`) misses while another rule of the listener serves it: under
/// `PathParameters::Keep`, `;x` is part of the last segment for the router, while Servlet-style
/// backends strip it and serve the match's path.
fn parameter_bypass(
    loaded: &Loaded,
    candidates: &[CandidateMatch<'_>],
) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for a in candidates.iter().filter(|c| c.table == RuleTable::Http) {
        let (path, kind) = match a.path {
            PathMatch::Exact(e) => (e, "Exact"),
            PathMatch::PathPrefix(p) if p != "/" => (p, "PathPrefix"),
            _ => continue,
        };
        let Some(object) = loaded.route_object(a.route) else {
            continue;
        };
        let probe = format!("{path};x");
        let mut best: Option<&CandidateMatch<'_>> = None;
        for s in candidates.iter().filter(|s| s.table == RuleTable::Http) {
            let same_rule = s.route == a.route && s.rule.index == a.rule.index;
            if same_rule || !groups_overlap(a, s) || !path_serves(s.path, &probe) {
                continue;
            }
            if best.is_none_or(|b| s.outranks(b).is_some()) {
                best = Some(s);
            }
        }
        if let Some(s) = best {
            let several = |c| several_matches(c, candidates.iter());
            out.push((
                object,
                field(a),
                format!(
                    "{probe} misses {} ({kind} {path}) and reaches {} ({}), while Servlet-style \
                     backends serve it as {path}: the path policy keeps path parameters (reject \
                     or strip them: PathParameters)",
                    rule_label(a, several(a)),
                    label(s, several(s)),
                    s.path
                ),
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether two candidates' hostname groups can hold the same request host.
fn groups_overlap(a: &CandidateMatch<'_>, b: &CandidateMatch<'_>) -> bool {
    match (a.hostname, b.hostname) {
        (HostnameGroup::Any, _) | (_, HostnameGroup::Any) => true,
        (x, y) => intersect(Some(&x.to_string()), &y.to_string()).is_some(),
    }
}

/// Whether a path match serves `path` (ignoring the match's other predicates).
fn path_serves(m: PathMatch<'_>, path: &str) -> bool {
    match m {
        PathMatch::Exact(e) => e == path,
        PathMatch::PathPrefix(k) => prefix_matches(k, path),
        PathMatch::RegularExpression(p) => {
            gateway_core::api::compile_regex(p).is_ok_and(|re| re.is_match(path))
        }
        // A path match kind this lint does not know yet: assume it may serve the path.
        _ => true,
    }
}

// === external auth bypass ===

/// One match of a listener's HTTP table, over every hostname group it sits in.
struct Row<'c, 'r> {
    /// Its first entry.
    candidate: &'c CandidateMatch<'r>,
    /// The route hostnames it sits under (empty: every host of the listener).
    hostnames: Vec<String>,
    label: String,
    auth: bool,
}

/// Protected matches whose paths an unprotected match of the same listener also serves, on an
/// overlapping hostname.
fn auth_bypass(loaded: &Loaded, candidates: &[CandidateMatch<'_>]) -> Vec<(usize, String, String)> {
    let mut rows: Vec<Row<'_, '_>> = Vec::new();
    for c in candidates.iter().filter(|c| c.table == RuleTable::Http) {
        let hostname = match c.hostname {
            HostnameGroup::Any => None,
            group => Some(group.to_string()),
        };
        match rows.iter_mut().find(|r| r.candidate.same_match(c)) {
            Some(row) => row.hostnames.extend(hostname),
            None => rows.push(Row {
                candidate: c,
                hostnames: hostname.into_iter().collect(),
                label: label(c, several_matches(c, candidates)),
                auth: loaded.external_auth(c.route, c.rule.index),
            }),
        }
    }
    let mut out = Vec::new();
    for a in rows.iter().filter(|r| r.auth) {
        let Some(object) = loaded.route_object(a.candidate.route) else {
            continue;
        };
        for s in rows.iter().filter(|r| !r.auth) {
            if !hosts_overlap(a, s) {
                continue;
            }
            let bypass = match (a.candidate.path, s.candidate.path) {
                // Auth on Exact E: a prefix covering E serves `E/` and everything below it.
                (PathMatch::Exact(e), PathMatch::PathPrefix(k)) if prefix_matches(k, e) => {
                    let below = format!("{}/", e.trim_end_matches('/'));
                    Some(format!(
                        "{} protects only Exact {e}; {below} and paths below it reach {} \
                         (PathPrefix {k}) without auth",
                        a.label, s.label
                    ))
                }
                // Auth on prefix P: a more specific path under P wins without auth.
                (PathMatch::PathPrefix(p), PathMatch::Exact(e)) if prefix_matches(p, e) => {
                    Some(format!(
                        "{e} is under protected PathPrefix {p} of {}, but {} (Exact {e}) beats it \
                         without auth",
                        a.label, s.label
                    ))
                }
                (PathMatch::PathPrefix(p), PathMatch::PathPrefix(k))
                    if k.len() > p.len() && prefix_matches(p, k) =>
                {
                    Some(format!(
                        "{k} is under protected PathPrefix {p} of {}, but {} (longer PathPrefix \
                         {k}) beats it without auth",
                        a.label, s.label
                    ))
                }
                // The same path: the unprotected match wins when it ranks first.
                (x, y) if x == y && s.candidate.outranks(a.candidate).is_some() => Some(format!(
                    "{} ({y}) ranks before protected {} and serves the same path without auth",
                    s.label, a.label
                )),
                _ => None,
            };
            if let Some(message) = bypass {
                out.push((object, field(a.candidate), message));
            }
        }
    }
    out
}

/// Gateway API PathPrefix: element-wise; a trailing `/` of the request path is ignored.
fn prefix_matches(key: &str, path: &str) -> bool {
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

fn hosts_overlap(a: &Row<'_, '_>, b: &Row<'_, '_>) -> bool {
    a.hostnames.is_empty()
        || b.hostnames.is_empty()
        || a.hostnames
            .iter()
            .any(|x| b.hostnames.iter().any(|y| intersect(Some(x), y).is_some()))
}

// === output ===

fn print(findings: &[Finding], style: Style) {
    if findings.is_empty() {
        println!("{}", style.paint("no findings", Tone::Good));
        return;
    }
    let mut table = Table::default();
    for f in findings {
        let resource = match &f.resource.namespace {
            Some(ns) => format!("{} {ns}/{}", f.resource.kind, f.resource.name),
            None => format!("{} {}", f.resource.kind, f.resource.name),
        };
        table.toned_row(vec![
            (f.kind.as_str().to_owned(), Tone::Bad),
            (resource, Tone::Bold),
            (f.field.clone(), Tone::Plain),
            (format!("{}#{}", f.file, f.document), Tone::Dim),
        ]);
    }
    let lines = table.render(style, "");
    for (line, f) in lines.iter().zip(findings) {
        println!("{line}");
        println!("    {}", f.message);
    }
    println!();
    println!(
        "{}",
        style.paint(
            &format!(
                "{} finding{}",
                findings.len(),
                if findings.len() == 1 { "" } else { "s" }
            ),
            Tone::Bad
        )
    );
}
