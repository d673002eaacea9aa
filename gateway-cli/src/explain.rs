//! `gateway explain`: every candidate rule for one request, in precedence order, and why each
//! did or did not match.
//!
//! The explanation is a literal evaluation of the HTTPRoute matches attached to the listener
//! the router chose (see [`crate::model`]), ordered as `gateway_core::route` documents:
//! hostname (exact, longer wildcard, none), path (Exact, RegularExpression, PathPrefix by
//! length), method, header count, query count, route age, `{namespace}/{name}`, rule, match.
//! Its winner is checked against `Router::route`; a disagreement is printed, never hidden.

use std::path::PathBuf;
use std::process::ExitCode;

use gateway_core::attach::{DEFAULT_CONTROLLER_NAME, RouteKind};
use gateway_core::json::{JsonDecision, JsonRequest, decide};
use gateway_core::request::{Headers, HttpVersion, RequestView};
use gateway_core::route::Router;
use serde::Serialize;

use crate::model::{self, Candidate, RequestFacts};
use crate::output::{Style, Table, Tone};

/// Arguments of `gateway explain`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "REQUEST is `METHOD URL [-H 'name: value']... [--sni NAME] [--port N]`, e.g.\n  \
gateway explain examples/manifests GET http://shop.example.com/api/items -H 'x-api-version: 2'"
)]
pub(crate) struct Args {
    /// Manifest files or directories, then one request.
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
    /// The controller name whose GatewayClasses are ours.
    #[arg(long, default_value = DEFAULT_CONTROLLER_NAME)]
    controller_name: String,
}

/// The explanation of one request.
#[derive(Debug, Serialize)]
struct Explanation {
    gateway: String,
    request: String,
    listener: Option<String>,
    host: Option<String>,
    path: Option<String>,
    query: Option<String>,
    decision: JsonDecision,
    candidates: Vec<Verdict>,
    /// Whether the first matching candidate is the rule `Router::route` chose.
    agrees_with_router: bool,
    /// Said when the explanation does not cover the decision (GRPCRoute, disagreement).
    note: Option<String>,
    /// The listener is an XListenerSet's, which the model does not cover (the note says so).
    #[serde(skip)]
    listener_set: bool,
}

/// One candidate match and what became of it.
#[derive(Debug, Serialize)]
struct Verdict {
    rank: usize,
    /// `match` (the winner), `lost` (matched, lost on precedence), `no_match`, `dropped`.
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
    let split = args
        .args
        .iter()
        .position(|a| crate::route::is_method(a))
        .unwrap_or(args.args.len());
    let (files, request_args) = args.args.split_at(split);
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    if files.is_empty() {
        return Err("no manifest files given".to_owned());
    }
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
    let loaded = match model::load(&files, &args.controller_name) {
        Ok(l) => l,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let config = &loaded.config;
    let (ns, name) = match &args.gateway {
        Some(g) => model::split_gateway(g),
        None => (String::new(), String::new()),
    };
    let router = Router::build(config, &ns, &name).map_err(|e| e.to_string())?;
    let style = Style::detect();
    for (i, (text, req)) in requests.into_iter().enumerate() {
        let explanation = explain(config, &router, text, &req);
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
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let req: JsonRequest = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: invalid request JSON: {e}", path.display(), n + 1))?;
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

fn explain(
    config: &gateway_core::attach::Config,
    router: &Router,
    text: String,
    req: &JsonRequest,
) -> Explanation {
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
    let listener = routed.listener();
    let mut out = Explanation {
        gateway: format!("{gw_ns}/{gw_name}"),
        request: text,
        listener: listener.map(str::to_owned),
        host: None,
        path: None,
        query: None,
        decision,
        candidates: Vec::new(),
        agrees_with_router: true,
        note: None,
        listener_set: false,
    };
    let Some(listener) = listener else {
        // Refused before rule matching (no listener, bad request): nothing to rank.
        out.agrees_with_router = routed.route().is_none();
        return out;
    };
    out.host = Some(routed.host().to_owned());
    out.path = Some(routed.path().to_owned());
    out.query = routed.query().map(str::to_owned);

    let gateways = model::gateways(config);
    let Some(gw) = gateways
        .iter()
        .find(|g| g.namespace == gw_ns && g.name == gw_name)
    else {
        out.note = Some("the Gateway is not in the manifests' model".to_owned());
        out.agrees_with_router = false;
        return out;
    };
    if let Some((set_ns, set_name)) = routed.listener_set() {
        out.note = Some(format!(
            "listener {listener} belongs to XListenerSet {set_ns}/{set_name}; explain models \
             the Gateway's own listeners only, so its rules are not explained"
        ));
        out.agrees_with_router = routed.route().is_none();
        out.listener_set = true;
        return out;
    }
    let Some(model_listener) = gw.listeners.iter().find(|l| l.name == listener) else {
        out.note = Some(format!(
            "listener {listener} is not a listener of the Gateway's spec (a ListenerSet's?); \
             its rules are not explained"
        ));
        out.agrees_with_router = routed.route().is_none();
        return out;
    };
    let mut candidates = model::candidates(config, model_listener);
    model::sort_for_host(&mut candidates, routed.host());
    let facts = RequestFacts {
        host: routed.host(),
        path: routed.path(),
        query: routed.query(),
        method: &req.method,
        headers: &req.headers,
    };
    let mut winner: Option<&Candidate<'_>> = None;
    for (i, c) in candidates.iter().enumerate() {
        let mismatches = c.mismatches(&facts);
        let (result, reasons) = if c.dropped.is_some() {
            ("dropped", mismatches)
        } else if !mismatches.is_empty() {
            ("no_match", mismatches)
        } else if let Some(w) = winner {
            (
                "lost",
                vec![format!(
                    "lost on precedence to {}: {}",
                    w.label(),
                    w.beats_because(c, routed.host())
                )],
            )
        } else {
            winner = Some(c);
            (
                "match",
                vec!["first matching candidate in precedence order".to_owned()],
            )
        };
        out.candidates.push(verdict(i + 1, result, c, reasons));
    }

    // The router's choice, for the check.
    let chosen = routed.route().zip(routed.rule());
    match (chosen, winner) {
        (Some((route, _)), _) if route.kind != RouteKind::Http => {
            out.agrees_with_router = winner.is_none();
            out.note = Some(format!(
                "the router chose {} {}/{}; explain covers HTTPRoute rules only",
                route.kind.as_str(),
                route.namespace,
                route.name
            ));
        }
        (Some((route, rule)), Some(w)) => {
            let same = route.namespace == w.namespace
                && route.name == w.route.metadata.name
                && rule.index == w.rule
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
                w.label()
            ));
        }
    }
    out
}

fn verdict(rank: usize, result: &'static str, c: &Candidate<'_>, reasons: Vec<String>) -> Verdict {
    let mut predicates = Vec::new();
    if let Some(m) = &c.method {
        predicates.push(format!("method {m}"));
    }
    predicates.extend(
        c.headers
            .iter()
            .map(|h| format!("header {}", h.describe(": "))),
    );
    predicates.extend(c.query.iter().map(|q| format!("query {}", q.describe("="))));
    Verdict {
        rank,
        result,
        route: RouteRef {
            kind: "HTTPRoute",
            namespace: c.namespace.to_owned(),
            name: c.route.metadata.name.clone(),
        },
        rule: RuleRef {
            index: c.rule,
            name: c.rule_name.map(str::to_owned),
        },
        match_index: c.match_index,
        several_matches: c
            .route
            .spec
            .rules
            .get(c.rule)
            .is_some_and(|r| r.matches.len() > 1),
        hostnames: c.hostnames.clone(),
        path: c.path.describe(),
        predicates,
        external_auth: c.auth,
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
        head.row(["listener", l.as_str()]);
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
    if e.candidates.is_empty() && e.listener_set {
        // The note said why: the listener is a ListenerSet's, which explain does not model.
        return;
    }
    if e.candidates.is_empty() {
        println!(
            "no HTTPRoute rule is attached to listener {}",
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
            "dropped" => ("dropped", Tone::Bad),
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
