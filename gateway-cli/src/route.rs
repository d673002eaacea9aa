//! `gateway route`: decisions for requests, for people (`REQUEST...`) or machines (`--json`).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use gateway_core::api::LoadOptions;
use gateway_core::attach::DEFAULT_CONTROLLER_NAME;
use gateway_core::json::{JsonDecision, JsonRequest, decide, route_json};

/// Arguments of `gateway route`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "REQUEST is `METHOD URL [-H 'name: value']... [--sni NAME] [--port N]`, e.g.\n  \
gateway route examples/manifests GET http://shop.example.com/api/items -H 'x-api-version: 2'\n\
Several requests may follow one another."
)]
pub(crate) struct Args {
    /// Manifest files or directories, then requests.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// The Gateway as NAMESPACE/NAME; the only one when omitted.
    #[arg(long)]
    gateway: Option<String>,
    /// Read JSON Lines requests from `--requests` and write JSON Lines decisions.
    #[arg(long)]
    json: bool,
    /// With `--json`: the requests file, `-` for standard input.
    #[arg(long)]
    requests: Option<PathBuf>,
    /// The controller name whose GatewayClasses are ours.
    #[arg(long, default_value = DEFAULT_CONTROLLER_NAME)]
    controller_name: String,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    let split = args
        .args
        .iter()
        .position(|a| is_method(a))
        .unwrap_or(args.args.len());
    let (files, request_args) = args.args.split_at(split);
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    if files.is_empty() {
        return Err("no manifest files given".to_owned());
    }
    let (snapshot, findings) = crate::manifests::load(&files, &LoadOptions::default())?;
    if !findings.errors.is_empty() {
        for e in &findings.errors {
            eprintln!("{e}");
        }
        return Ok(ExitCode::from(1));
    }
    let engine = crate::manifests::engine(snapshot, &args.controller_name);
    let target = crate::manifests::target(args.gateway.as_deref())?;
    let router = engine.router(&target).map_err(|e| e.to_string())?;

    if args.json {
        let path = args
            .requests
            .as_ref()
            .ok_or("--json needs --requests FILE (or -)")?;
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
            ))
        };
        let mut out = std::io::stdout().lock();
        for line in reader.split(b'\n') {
            let line = line.map_err(|e| e.to_string())?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            writeln!(out, "{}", route_json(&router, &line)).map_err(|e| e.to_string())?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let requests = parse_requests(request_args)?;
    if requests.is_empty() {
        return Err("no request given; see `gateway route --help`".to_owned());
    }
    let (gw_ns, gw_name) = router.gateway();
    println!("Gateway {gw_ns}/{gw_name}");
    for (text, req) in requests {
        let d = decide(&router, &req);
        println!();
        println!("{text}");
        print_decision(&d);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn is_method(arg: &str) -> bool {
    matches!(
        arg,
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "CONNECT" | "OPTIONS" | "TRACE" | "PATCH"
    )
}

/// Parses `METHOD URL [-H 'n: v']... [--sni S] [--port N]` sequences.
pub(crate) fn parse_requests(args: &[String]) -> Result<Vec<(String, JsonRequest)>, String> {
    let mut out: Vec<(String, JsonRequest)> = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(method) = it.next() {
        if !is_method(method) {
            return Err(format!("expected an HTTP method, found {method:?}"));
        }
        let url = it.next().ok_or_else(|| format!("{method} needs a URL"))?;
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not an absolute URL (http://host/path)"))?;
        let (authority, target) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let mut req = JsonRequest::default();
        req.method = method.clone();
        req.scheme = scheme.to_owned();
        req.port = if scheme == "https" { 443 } else { 80 };
        if let Some((_, port)) = authority.rsplit_once(':') {
            req.port = port.parse().map_err(|_| format!("bad port in {url:?}"))?;
        }
        req.target = target.to_owned();
        req.headers.push(("host".to_owned(), authority.to_owned()));
        if scheme == "https" {
            req.sni = Some(authority.split(':').next().unwrap_or_default().to_owned());
        }
        let mut text = format!("{method} {url}");
        while let Some(next) = it.peek() {
            match next.as_str() {
                "-H" | "--header" => {
                    it.next();
                    let h = it.next().ok_or("-H needs 'name: value'")?;
                    let (n, v) = h
                        .split_once(':')
                        .ok_or_else(|| format!("header {h:?} is not 'name: value'"))?;
                    req.headers.push((n.trim().to_owned(), v.trim().to_owned()));
                    text.push_str(&format!(" -H '{h}'"));
                }
                "--sni" => {
                    it.next();
                    req.sni = Some(it.next().ok_or("--sni needs a name")?.clone());
                }
                "--port" => {
                    it.next();
                    req.port = it
                        .next()
                        .ok_or("--port needs a number")?
                        .parse()
                        .map_err(|_| "--port needs a number")?;
                }
                "--random" => {
                    it.next();
                    req.random = it
                        .next()
                        .ok_or("--random needs a number")?
                        .parse()
                        .map_err(|_| "--random needs a number")?;
                }
                _ => break,
            }
        }
        out.push((text, req));
    }
    Ok(out)
}

fn print_decision(d: &JsonDecision) {
    use crate::output::{Style, Tone};
    let style = Style::detect();
    let row = |k: &str, v: String| println!("  {k:<10} {v}");
    let outcome = match d.status {
        Some(s) => format!("{} ({s})", d.outcome),
        None => d.outcome.clone(),
    };
    let tone = match d.outcome.as_str() {
        "forward" => Tone::Good,
        "redirect" | "respond" => Tone::Warn,
        _ => Tone::Bad,
    };
    row("outcome", style.paint(&outcome, tone));
    if let Some(l) = &d.listener {
        row("listener", l.clone());
    }
    if let Some(r) = &d.route {
        row("route", format!("{} {}/{}", r.kind, r.namespace, r.name));
    }
    if let Some(r) = &d.rule {
        row(
            "rule",
            match &r.name {
                Some(n) => format!("{n} (#{})", r.index),
                None => format!("#{}", r.index),
            },
        );
    }
    if let Some(b) = &d.backend {
        row("backend", format!("{}/{}:{}", b.namespace, b.name, b.port));
    }
    if let Some(u) = &d.upstream {
        row(
            "upstream",
            format!("{} {}{}", u.method, u.authority, u.path),
        );
    }
    if let Some(l) = &d.location {
        row("location", l.clone());
    }
    for (n, v) in &d.response_headers {
        row("response", format!("{n}: {v}"));
    }
    for m in &d.mirrors {
        row("mirror", format!("{}/{}:{}", m.namespace, m.name, m.port));
    }
    if let Some(r) = &d.reason {
        row("reason", r.clone());
    }
}
