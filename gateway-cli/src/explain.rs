//! `gateway explain`: every candidate rule for one request, in precedence order, and why each
//! did or did not match.
//!
//! The explanation is the library's (`Router::explain`): the candidates of the listener the
//! router chose, the listeners of XListenerSets included, from the router's own tables, in the
//! order it tries them: hostname (exact, longer wildcard, none), path (Exact,
//! RegularExpression, PathPrefix by length), method, header count, query count, route age,
//! `{namespace}/{name}`, rule, match. Rules the library drops are not candidates. A match the
//! router files under several hostnames is one row. The winner is checked against
//! `Router::route`; a disagreement is printed, never hidden.

use std::path::PathBuf;
use std::process::ExitCode;

use gateway_core::json::{JsonDecision, JsonRequest, decide};
use gateway_core::request::{Headers, HttpVersion, RequestView};
use gateway_core::route::{
    CandidateMatch, ExplainedCandidate, HostnameGroup, Mismatch, PathMatch, Router, RuleTable,
    ValueMatch, ValuePredicate,
};
use serde::Serialize;

use crate::loaded::{self, Loaded, label, several_matches, why_first};
use crate::output::{Style, Table, Tone};

/// Arguments of `gateway explain`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "REQUEST is `METHOD URL [HTTP/VERSION] [-H 'name: value']... [--sni NAME] \
[--port N] [--random N]`, e.g.\n  \
gateway explain examples/manifests GET http://shop.example.com/api/items -H 'x-api-version: 2'\n\
`METHOD URL` may also be one quoted argument: 'GET http://shop.example.com/'. Options may come \
before or after FILES; `-` reads standard input (for FILES or --requests, not both)."
)]
pub(crate) struct Args {
    /// Manifest files or directories (`-`: standard input), then one request.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// The Gateway as NAMESPACE/NAME; the only one when omitted.
    #[arg(long)]
    gateway: Option<String>,
    /// Print the explanation as one JSON object (one line per request).
    #[arg(long)]
    json: bool,
    /// Explain the JSON Lines requests of FILE (`-` for standard input; the format of
    /// `gateway route --json`) instead of a REQUEST argument.
    #[arg(long)]
    requests: Option<PathBuf>,
    #[command(flatten)]
    attach: crate::manifests::Attach,
    #[command(flatten)]
    limits: crate::manifests::Limits,
}

/// The explanation of one request.
#[derive(Debug, Serialize)]
struct Explanation {
    gateway: String,
    request: String,
    listener: Option<String>,
    /// The XListenerSet that declared the listener, as `namespace/name`.
    listener_set: Option<String>,
    host: Option<String>,
    path: Option<String>,
    query: Option<String>,
    decision: JsonDecision,
    candidates: Vec<Verdict>,
    /// Whether the first matching candidate is the rule `Router::route` chose.
    agrees_with_router: bool,
    /// Said when the explanation disagrees with the decision (a bug in the library).
    note: Option<String>,
}

/// One candidate match and what became of it.
#[derive(Debug, Serialize)]
struct Verdict {
    rank: usize,
    /// `match` (the winner), `lost` (matched, lost on precedence), `no_match`.
    result: &'static str,
    route: RouteRef,
    rule: RuleRef,
    #[serde(rename = "match")]
    match_index: usize,
    /// The rule has more than one match (the human output then names the match).
    #[serde(skip)]
    several_matches: bool,
    hostnames: Vec<String>,
    path: String,
    predicates: Vec<String>,
    external_auth: bool,
    reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
struct RouteRef {
    kind: &'static str,
    namespace: String,
    name: String,
}

#[derive(Debug, Serialize)]
struct RuleRef {
    index: usize,
    name: Option<String>,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    let (files, request_args) = crate::route::files_and_requests(&args.args);
    if files.is_empty() {
        return Err("no manifest files given".to_owned());
    }
    crate::manifests::stdin_once(&[
        ("the manifests", crate::manifests::stdin_count(&files)),
        (
            "--requests",
            usize::from(
                args.requests
                    .as_deref()
                    .is_some_and(crate::manifests::is_stdin),
            ),
        ),
    ])?;
    let requests: Vec<(String, JsonRequest)> = match &args.requests {
        Some(path) => read_requests(path)?,
        None => {
            let mut requests = crate::route::parse_requests(request_args)?;
            match (requests.pop(), requests.is_empty()) {
                (Some(one), true) => vec![one],
                (None, _) => {
                    return Err("no request given; see `gateway explain --help`".to_owned());
                }
                (Some(_), false) => {
                    return Err(
                        "explain takes exactly one REQUEST (use --requests for more)".to_owned(),
                    );
                }
            }
        }
    };
    let loaded = match loaded::load(&files, &args.attach, &args.limits.options()) {
        Ok(l) => l,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let target = crate::manifests::target(args.gateway.as_deref())?;
    let router = loaded
        .engine
        .router(&target)
        .map_err(|e| crate::manifests::build_error(&loaded.engine, &e))?;
    let style = Style::detect();
    for (i, (text, req)) in requests.into_iter().enumerate() {
        let explanation = explain(&loaded, &router, text, &req);
        if args.json {
            let line = serde_json::to_string(&explanation).map_err(|e| e.to_string())?;
            println!("{line}");
        } else {
            if i > 0 {
                println!();
            }
            print(&explanation, style);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// JSON Lines requests; a line that does not parse is an error naming its line number.
fn read_requests(path: &std::path::Path) -> Result<Vec<(String, JsonRequest)>, String> {
    let name = crate::manifests::display(path);
    let text =
        String::from_utf8(crate::manifests::read(path)?).map_err(|e| format!("{name}: {e}"))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let req: JsonRequest = serde_json::from_str(line)
            .map_err(|e| format!("{name}:{}: invalid request JSON: {e}", n + 1))?;
        let host = req
            .authority
            .clone()
            .or_else(|| {
                req.headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("host"))
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default();
        let text = format!(
            "{} {}://{host}{} (line {}, port {})",
            req.method,
            req.scheme,
            req.target,
            n + 1,
            req.port
        );
        out.push((text, req));
    }
    Ok(out)
}

fn explain(loaded: &Loaded, router: &Router, text: String, req: &JsonRequest) -> Explanation {
    let (gw_ns, gw_name) = router.gateway();
    let decision = decide(router, req);
    let pairs: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let version = match req.http_version.as_deref() {
        Some("1.0") => HttpVersion::Http10,
        Some("2" | "2.0") => HttpVersion::Http2,
        Some("3") => HttpVersion::Http3,
        _ => HttpVersion::Http11,
    };
    let view = RequestView::new(&req.method, req.target.as_bytes(), Headers::Pairs(&pairs))
        .scheme(&req.scheme)
        .port(req.port)
        .sni(req.sni.as_deref())
        .authority(req.authority.as_deref())
        .version(version);
    let routed = router.route(&view);
    let explained = router.explain(&view);
    let mut out = Explanation {
        gateway: format!("{gw_ns}/{gw_name}"),
        request: text,
        listener: explained.listener.map(|l| l.name.to_owned()),
        listener_set: explained
            .listener
            .and_then(|l| l.set)
            .map(|(ns, name)| format!("{ns}/{name}")),
        host: None,
        path: None,
        query: None,
        decision,
        candidates: Vec::new(),
        agrees_with_router: true,
        note: None,
    };
    if explained.listener.is_none() {
        // Refused before rule matching (no listener, bad request): nothing to rank.
        out.agrees_with_router = routed.route().is_none();
        return out;
    }
    out.host = explained.host.clone();
    out.path = explained.path.clone();
    out.query = explained.query.clone();
    let host = explained.host.as_deref().unwrap_or_default();
    let path = explained.path.as_deref().unwrap_or_default();
    let all: Vec<&CandidateMatch<'_>> = explained.candidates.iter().map(|c| &c.candidate).collect();
    let winner = explained.winner().map(|w| &w.candidate);

    // One row per match: the router files a match once per hostname group; its first entry
    // is in the most specific group that applies, if any does.
    let mut rows: Vec<(&ExplainedCandidate<'_>, Vec<String>)> = Vec::new();
    for c in &explained.candidates {
        let hostname = match c.candidate.hostname {
            HostnameGroup::Any => None,
            group => Some(group.to_string()),
        };
        match rows
            .iter_mut()
            .find(|(first, _)| first.candidate.same_match(&c.candidate))
        {
            Some((_, hostnames)) => hostnames.extend(hostname),
            None => rows.push((c, hostname.into_iter().collect())),
        }
    }
    for (i, (c, hostnames)) in rows.into_iter().enumerate() {
        let (result, reasons) = if c.winner {
            (
                "match",
                vec!["first matching candidate in precedence order".to_owned()],
            )
        } else if c.matched() {
            let reason = match (winner, c.lost_to) {
                (Some(w), Some(key)) => format!(
                    "lost on precedence to {}: {}",
                    label(w, several_matches(w, all.iter().copied())),
                    why_first(loaded, key, w, &c.candidate)
                ),
                _ => "lost on precedence".to_owned(),
            };
            ("lost", vec![reason])
        } else {
            let reasons = c
                .mismatches()
                .iter()
                .map(|m| mismatch(m, &c.candidate, host, path, &hostnames))
                .collect();
            ("no_match", reasons)
        };
        let several = several_matches(&c.candidate, all.iter().copied());
        out.candidates.push(verdict(
            loaded,
            i + 1,
            result,
            &c.candidate,
            several,
            hostnames,
            reasons,
        ));
    }

    // The router's choice, for the check: the library computes both, so they agree unless
    // one of them is wrong.
    let chosen = routed.route().zip(routed.rule());
    match (chosen, winner) {
        (Some((route, rule)), Some(w)) => {
            let same = route == w.route
                && rule.index == w.rule.index
                && routed.match_index() == Some(w.match_index);
            if !same {
                out.agrees_with_router = false;
                out.note = Some(format!(
                    "this explanation disagrees with the router, which chose {}/{} rule #{} \
                     match #{}",
                    route.namespace,
                    route.name,
                    rule.index,
                    routed.match_index().unwrap_or(0)
                ));
            }
        }
        (None, None) => {}
        (Some((route, rule)), None) => {
            out.agrees_with_router = false;
            out.note = Some(format!(
                "this explanation found no matching rule, but the router chose {}/{} rule #{}",
                route.namespace, route.name, rule.index
            ));
        }
        (None, Some(w)) => {
            out.agrees_with_router = false;
            out.note = Some(format!(
                "this explanation found {}, but the router matched no rule",
                label(w, several_matches(w, all.iter().copied()))
            ));
        }
    }
    out
}

/// One reason a candidate does not match, in words.
fn mismatch(
    m: &Mismatch<'_>,
    c: &CandidateMatch<'_>,
    host: &str,
    path: &str,
    hostnames: &[String],
) -> String {
    let differs = |expected: &ValueMatch<'_>| match expected {
        ValueMatch::Exact(v) => format!("is not {v}"),
        ValueMatch::RegularExpression(v) => format!("does not match {v}"),
        _ => "does not match".to_owned(),
    };
    match m {
        Mismatch::HostnameDoesNotApply => format!(
            "host {host} is not among the route hostnames {}",
            hostnames.join(", ")
        ),
        Mismatch::PathDoesNotMatch => match c.path {
            PathMatch::Exact(v) => format!("path {path} is not {v}"),
            PathMatch::RegularExpression(v) => format!("path {path} does not match {v}"),
            PathMatch::PathPrefix(v) => format!("path {path} is not under {v}"),
            _ => format!("path {path} does not match {}", c.path),
        },
        Mismatch::MethodDiffers { expected, actual } => {
            format!("method {actual} is not {expected}")
        }
        Mismatch::HeaderMissing { name } => format!("header {name} is missing"),
        Mismatch::HeaderDiffers {
            name,
            expected,
            actual,
        } => format!("header {name}: {actual} {}", differs(expected)),
        Mismatch::QueryParamMissing { name } => format!("query parameter {name} is missing"),
        Mismatch::QueryParamDiffers {
            name,
            expected,
            actual,
        } => format!("query {name}={actual} {}", differs(expected)),
        _ => "does not match".to_owned(),
    }
}

fn verdict(
    loaded: &Loaded,
    rank: usize,
    result: &'static str,
    c: &CandidateMatch<'_>,
    several_matches: bool,
    hostnames: Vec<String>,
    reasons: Vec<String>,
) -> Verdict {
    let value = |v: &ValuePredicate<'_>, separator: &str| match v.value {
        ValueMatch::RegularExpression(re) => format!("{} ~ {re}", v.name),
        ValueMatch::Exact(x) => format!("{}{separator}{x}", v.name),
        _ => v.name.to_owned(),
    };
    let mut predicates = Vec::new();
    // A GRPCRoute's POST is the protocol's, not a predicate anyone wrote.
    if let Some(m) = c.predicates.method
        && c.table != RuleTable::Grpc
    {
        predicates.push(format!("method {m}"));
    }
    predicates.extend(
        c.predicates
            .headers
            .iter()
            .map(|h| format!("header {}", value(h, ": "))),
    );
    predicates.extend(
        c.predicates
            .query
            .iter()
            .map(|q| format!("query {}", value(q, "="))),
    );
    Verdict {
        rank,
        result,
        route: RouteRef {
            kind: c.route.kind.as_str(),
            namespace: c.route.namespace.to_owned(),
            name: c.route.name.to_owned(),
        },
        rule: RuleRef {
            index: c.rule.index,
            name: c.rule.name.map(str::to_owned),
        },
        match_index: c.match_index,
        several_matches,
        hostnames,
        path: c.path.to_string(),
        predicates,
        external_auth: loaded.external_auth(c.route, c.rule.index),
        reasons,
    }
}

fn print(e: &Explanation, style: Style) {
    println!(
        "{}",
        style.paint(&format!("Gateway {}", e.gateway), Tone::Bold)
    );
    println!("{}", e.request);
    let d = &e.decision;
    let mut head = Table::default();
    if let Some(l) = &e.listener {
        let listener = match &e.listener_set {
            Some(set) => format!("{l} (XListenerSet {set})"),
            None => l.clone(),
        };
        head.row(["listener".to_owned(), listener]);
    }
    if let Some(h) = &e.host {
        head.row(["host", h.as_str()]);
    }
    if let Some(p) = &e.path {
        let path = match &e.query {
            Some(q) => format!("{p}?{q}"),
            None => p.clone(),
        };
        head.row(["path".to_owned(), path]);
    }
    let mut outcome = match d.status {
        Some(s) => format!("{} ({s})", d.outcome),
        None => d.outcome.clone(),
    };
    if let (Some(r), Some(rule)) = (&d.route, &d.rule) {
        let rule = match &rule.name {
            Some(n) => format!("rule {n} (#{})", rule.index),
            None => format!("rule #{}", rule.index),
        };
        outcome.push_str(&format!(" by {} {}/{} {rule}", r.kind, r.namespace, r.name));
    }
    let tone = if d.outcome == "forward" {
        Tone::Good
    } else {
        Tone::Warn
    };
    head.toned_row(vec![("decision".to_owned(), Tone::Plain), (outcome, tone)]);
    if let Some(r) = &d.reason {
        head.row(["reason", r.as_str()]);
    }
    head.print(style, "  ");
    if let Some(n) = &e.note {
        println!("{}", style.paint(&format!("note: {n}"), Tone::Warn));
    }
    if e.listener.is_none() {
        println!("no listener takes this request, so no rule is a candidate");
        return;
    }
    println!();
    if e.candidates.is_empty() {
        println!(
            "no route rule is attached to listener {}",
            e.listener.as_deref().unwrap_or("")
        );
        return;
    }
    println!(
        "{}",
        style.paint("Candidates in precedence order:", Tone::Bold)
    );
    let mut table = Table::default();
    table.toned_row(
        [
            "#",
            "RESULT",
            "ROUTE",
            "RULE",
            "HOSTNAMES",
            "PATH",
            "PREDICATES",
            "WHY",
        ]
        .into_iter()
        .map(|h| (h.to_owned(), Tone::Dim))
        .collect(),
    );
    for v in &e.candidates {
        let (result, tone) = match v.result {
            "match" => ("match", Tone::Good),
            "lost" => ("lost", Tone::Warn),
            _ => ("no match", Tone::Dim),
        };
        let rule = match &v.rule.name {
            Some(n) => format!("{n} (#{})", v.rule.index),
            None => format!("#{}", v.rule.index),
        };
        let rule = if v.several_matches {
            format!("{rule} m{}", v.match_index)
        } else {
            rule
        };
        let mut predicates = v.predicates.join(", ");
        if v.external_auth {
            predicates = if predicates.is_empty() {
                "[auth]".to_owned()
            } else {
                format!("{predicates} [auth]")
            };
        }
        table.toned_row(vec![
            (v.rank.to_string(), Tone::Plain),
            (result.to_owned(), tone),
            (
                format!("{}/{}", v.route.namespace, v.route.name),
                Tone::Plain,
            ),
            (rule, Tone::Plain),
            (
                if v.hostnames.is_empty() {
                    "*".to_owned()
                } else {
                    v.hostnames.join(",")
                },
                Tone::Plain,
            ),
            (v.path.clone(), Tone::Plain),
            (
                if predicates.is_empty() {
                    "-".to_owned()
                } else {
                    predicates
                },
                Tone::Plain,
            ),
            (v.reasons.join("; "), tone),
        ]);
    }
    table.print(style, "  ");
}
