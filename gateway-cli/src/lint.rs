//! `gateway lint`: configuration that loads and attaches but does not do what it says.
//!
//! Finding kinds (stable ids, also in `--json`):
//! - `shadowed-rule`: a match that can never win, because an earlier match (older route, or
//!   earlier rule) has the same hostnames, the same path and the same predicates, so it ranks
//!   first for every request this one matches;
//! - `unattached-route`: a route no Gateway listener of ours accepts (no parent
//!   `Accepted=True`);
//! - `conflicted-listener`: a listener reporting `Conflicted=True`, which serves nothing;
//! - `unmatched-hostname`: a route hostname that no listener of its parent Gateways accepts;
//! - `auth-bypass`: a rule with an ExternalAuth filter whose paths another rule without auth
//!   also serves (auth on Exact `/admin` while PathPrefix `/` catches `/admin/`; auth on
//!   PathPrefix `/admin` while an Exact `/admin/x` or a longer prefix beats it);
//! - `invalid-regex`: a RegularExpression path, header or query match that does not compile
//!   (the library drops the rule).
//!
//! Exit status: 0 no findings, 1 findings, 2 usage or load errors.

use std::path::PathBuf;
use std::process::ExitCode;

use gateway_core::api::{GATEWAY_GROUP, Resource};
use gateway_core::attach::{Config, DEFAULT_CONTROLLER_NAME, Status, intersect};
use serde::Serialize;

use crate::model::{self, Candidate, GatewayModel, Loaded, PathKey};
use crate::output::{Style, Table, Tone};

/// Arguments of `gateway lint`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Finding kinds: shadowed-rule, unattached-route, conflicted-listener, \
unmatched-hostname, auth-bypass, invalid-regex.\n\
Exit status: 0 no findings, 1 findings, 2 usage or load errors."
)]
pub(crate) struct Args {
    /// Manifest files or directories.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only this Gateway (NAMESPACE/NAME); every Gateway of ours when omitted.
    #[arg(long)]
    gateway: Option<String>,
    /// Print the findings as JSON Lines, one finding per line.
    #[arg(long)]
    json: bool,
    /// The controller name whose GatewayClasses are ours.
    #[arg(long, default_value = DEFAULT_CONTROLLER_NAME)]
    controller_name: String,
}

/// The stable finding kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    ShadowedRule,
    UnattachedRoute,
    ConflictedListener,
    UnmatchedHostname,
    AuthBypass,
    InvalidRegex,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::ShadowedRule => "shadowed-rule",
            Self::UnattachedRoute => "unattached-route",
            Self::ConflictedListener => "conflicted-listener",
            Self::UnmatchedHostname => "unmatched-hostname",
            Self::AuthBypass => "auth-bypass",
            Self::InvalidRegex => "invalid-regex",
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
    let loaded = match model::load(&args.files, &args.controller_name) {
        Ok(l) => l,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} error(s)", errors.len());
            return Ok(ExitCode::from(2));
        }
    };
    let config = &loaded.config;
    let mut gateways = model::gateways(config);
    if let Some(g) = &args.gateway {
        let (ns, name) = model::split_gateway(g);
        let known: Vec<String> = gateways
            .iter()
            .map(|g| format!("{}/{}", g.namespace, g.name))
            .collect();
        gateways.retain(|g| g.namespace == ns && g.name == name);
        if gateways.is_empty() {
            return Err(format!(
                "no Gateway {ns}/{name} of our GatewayClasses; known: [{}]",
                known.join(", ")
            ));
        }
    }
    let findings = lint(&loaded, &gateways, args.gateway.is_some());
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

fn lint(loaded: &Loaded, gateways: &[GatewayModel<'_>], only_named: bool) -> Vec<Finding> {
    let config = &loaded.config;
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
        for listener in &gw.listeners {
            let candidates = model::candidates(config, listener);
            for (object, field, message) in shadowed(&candidates) {
                add(object, Kind::ShadowedRule, field, message);
            }
            for (object, field, message) in auth_bypass(&candidates) {
                add(object, Kind::AuthBypass, field, message);
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

// === listeners ===

fn conflicted_listeners(
    config: &Config,
    gw: &GatewayModel<'_>,
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
                Some(model::namespace_of(&set.metadata)),
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
    gateways: &[GatewayModel<'_>],
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
        let ns = model::namespace_of(meta);
        // The parentRefs that name a Gateway we lint.
        let parents: Vec<(usize, &GatewayModel<'_>)> = common
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

        if let Resource::HttpRoute(r) = &o.resource {
            for (ri, rule) in r.spec.rules.iter().enumerate() {
                for (field, pattern) in model::rule_regexes(rule) {
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
        if !accepted {
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
                _ => "no parentRef names a Gateway of ours".to_owned(),
            };
            add(
                object,
                Kind::UnattachedRoute,
                "spec.parentRefs".to_owned(),
                format!("attached to no listener: {why}"),
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

// === shadowed rules ===

/// Matches that a higher-precedence match of another rule always beats: same hostnames, same
/// path, same predicates, earlier in route age / name / rule order.
fn shadowed(candidates: &[Candidate<'_>]) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for b in candidates.iter().filter(|c| c.dropped.is_none()) {
        let winner = candidates
            .iter()
            .filter(|a| a.dropped.is_none())
            .filter(|a| !(a.object == b.object && a.rule == b.rule))
            .filter(|a| same_hosts(a, b) && a.path == b.path && same_predicates(a, b))
            .filter(|a| a.rank() < b.rank())
            .min_by_key(|a| a.rank());
        if let Some(a) = winner {
            out.push((
                b.object,
                b.field(),
                format!(
                    "{} can never match: {} has the same hostnames, path ({}) and predicates and \
                     ranks first ({})",
                    b.rule_label(),
                    a.label(),
                    b.path.describe(),
                    why_first(a, b)
                ),
            ));
        }
    }
    out
}

fn why_first(a: &Candidate<'_>, b: &Candidate<'_>) -> &'static str {
    if a.object != b.object {
        if a.age.0 != b.age.0 {
            "older route"
        } else {
            "route name first in {namespace}/{name} order"
        }
    } else {
        "earlier rule"
    }
}

fn same_hosts(a: &Candidate<'_>, b: &Candidate<'_>) -> bool {
    let mut x = a.hostnames.clone();
    let mut y = b.hostnames.clone();
    x.sort();
    y.sort();
    // `a` covers every host of `b` in the same hostname group when it names each of them.
    y.iter().all(|h| x.contains(h)) && (x.is_empty() == y.is_empty())
}

fn same_predicates(a: &Candidate<'_>, b: &Candidate<'_>) -> bool {
    let sorted = |v: &[model::ValueMatch]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|m| format!("{}\u{0}{}\u{0}{}", m.name, m.regex, m.value))
            .collect();
        v.sort();
        v
    };
    a.method == b.method
        && sorted(&a.headers) == sorted(&b.headers)
        && sorted(&a.query) == sorted(&b.query)
}

// === external auth bypass ===

/// Protected matches whose paths an unprotected match of the same listener also serves, on an
/// overlapping hostname.
fn auth_bypass(candidates: &[Candidate<'_>]) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for a in candidates.iter().filter(|c| c.auth && c.dropped.is_none()) {
        for s in candidates.iter().filter(|c| !c.auth && c.dropped.is_none()) {
            if !hosts_overlap(a, s) {
                continue;
            }
            let bypass = match (&a.path, &s.path) {
                // Auth on Exact E: a prefix covering E serves `E/` and everything below it.
                (PathKey::Exact(e), PathKey::Prefix(k)) if model::prefix_matches(k, e) => {
                    let below = format!("{}/", e.trim_end_matches('/'));
                    Some(format!(
                        "{} protects only Exact {e}; {below} and paths below it reach {} \
                         (PathPrefix {k}) without auth",
                        a.label(),
                        s.label()
                    ))
                }
                // Auth on prefix P: a more specific path under P wins without auth.
                (PathKey::Prefix(p), PathKey::Exact(e)) if model::prefix_matches(p, e) => {
                    Some(format!(
                        "{e} is under protected PathPrefix {p} of {}, but {} (Exact {e}) beats it \
                         without auth",
                        a.label(),
                        s.label()
                    ))
                }
                (PathKey::Prefix(p), PathKey::Prefix(k))
                    if k.len() > p.len() && model::prefix_matches(p, k) =>
                {
                    Some(format!(
                        "{k} is under protected PathPrefix {p} of {}, but {} (longer PathPrefix \
                         {k}) beats it without auth",
                        a.label(),
                        s.label()
                    ))
                }
                // The same path: the unprotected match wins when it ranks first.
                (x, y) if x == y && s.rank() < a.rank() => Some(format!(
                    "{} ({}) ranks before protected {} and serves the same path without auth",
                    s.label(),
                    y.describe(),
                    a.label()
                )),
                _ => None,
            };
            if let Some(message) = bypass {
                out.push((a.object, a.field(), message));
            }
        }
    }
    out
}

fn hosts_overlap(a: &Candidate<'_>, b: &Candidate<'_>) -> bool {
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
