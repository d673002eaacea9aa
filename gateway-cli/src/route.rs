//! `gateway route`: decisions for requests, for people (`REQUEST...`) or machines (`--json`).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use gateway_core::Target;
use gateway_core::json::{JsonBackend, JsonDecision, JsonRequest, decide, route_json};

/// Arguments of `gateway route`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "REQUEST is `METHOD URL [HTTP/VERSION] [-H 'name: value']... [--sni NAME] \
[--port N] [--random N]`, e.g.\n  \
gateway route examples/manifests GET http://shop.example.com/api/items -H 'x-api-version: 2'\n\
`METHOD URL` may also be one quoted argument: 'GET http://shop.example.com/'. Several requests \
may follow one another. Options may come before or after FILES; `-` reads standard input (for \
FILES or --requests, not both)."
)]
pub(crate) struct Args {
    /// Manifest files or directories (`-`: standard input), then requests.
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
    #[command(flatten)]
    attach: crate::manifests::Attach,
    #[command(flatten)]
    limits: crate::manifests::Limits,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    let (files, request_args) = files_and_requests(&args.args);
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
    if args.json && !request_args.is_empty() {
        return Err(format!(
            "--json reads its requests from --requests FILE (JSON Lines), not from {:?}",
            request_args.join(" ")
        ));
    }
    let (snapshot, findings) = crate::manifests::load(&files, &args.limits.options())?;
    if !findings.errors.is_empty() {
        for e in &findings.errors {
            eprintln!("{e}");
        }
        return Ok(ExitCode::from(1));
    }
    let engine = crate::manifests::engine(snapshot, &args.attach);
    let target = match (args.attach.mesh, args.gateway.as_deref()) {
        (true, None) if !args.json => {
            return Err(
                "--mesh routes JSON requests (--json --requests FILE): a mesh request \
                        names its client_namespace and destination"
                    .to_owned(),
            );
        }
        (true, None) => Target::Mesh,
        (_, gateway) => crate::manifests::target(gateway)?,
    };
    let router = engine
        .router(&target)
        .map_err(|e| crate::manifests::build_error(&engine, &e))?;

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
        print_decision(&d, args.attach.assume_services);
    }
    Ok(ExitCode::SUCCESS)
}

/// Splits the free words into manifest paths and request words: the first word that starts
/// a request (an HTTP method, or a request line quoted as one argument) ends the paths.
pub(crate) fn files_and_requests(args: &[String]) -> (Vec<PathBuf>, &[String]) {
    let split = args
        .iter()
        .position(|a| is_method(a) || request_line(a).is_some())
        .unwrap_or(args.len());
    let (files, requests) = args.split_at(split);
    (files.iter().map(PathBuf::from).collect(), requests)
}

/// `METHOD URL [HTTP/VERSION]` given as one argument (`'GET http://host/path'`), as words;
/// `None` when the argument is not one word after an HTTP method.
fn request_line(arg: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = arg.split_whitespace().collect();
    match words.as_slice() {
        [method, _, ..] if is_method(method) => Some(words),
        _ => None,
    }
}

pub(crate) fn is_method(arg: &str) -> bool {
    matches!(
        arg,
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "CONNECT" | "OPTIONS" | "TRACE" | "PATCH"
    )
}

/// Parses `METHOD URL [HTTP/VERSION] [-H 'n: v']... [--sni S] [--port N] [--random N]`
/// sequences; `METHOD URL [HTTP/VERSION]` may be one argument.
pub(crate) fn parse_requests(args: &[String]) -> Result<Vec<(String, JsonRequest)>, String> {
    let mut out: Vec<(String, JsonRequest)> = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(word) = it.next() {
        let (method, url, version) = match request_line(word) {
            Some(line) => match line.as_slice() {
                [method, url] => (*method, *url, None),
                [method, url, version] if version.starts_with("HTTP/") => {
                    (*method, *url, Some(*version))
                }
                _ => {
                    return Err(format!(
                        "{word:?} is not a request line `METHOD URL [HTTP/VERSION]`; give \
                         headers as arguments of their own: GET http://host/path -H 'name: value'"
                    ));
                }
            },
            None if is_method(word) => {
                let url = it.next().ok_or_else(|| format!("{word} needs a URL"))?;
                let version = it.next_if(|v| v.starts_with("HTTP/")).map(String::as_str);
                (word.as_str(), url.as_str(), version)
            }
            None => {
                return Err(format!(
                    "expected a request (METHOD URL, e.g. GET http://shop.example.com/), \
                     found {word:?}"
                ));
            }
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not an absolute URL (http://host/path)"))?;
        let (authority, target) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let mut req = JsonRequest::default();
        method.clone_into(&mut req.method);
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
        if let Some(version) = version {
            let number = version.trim_start_matches("HTTP/");
            if !matches!(number, "1.0" | "1.1" | "2" | "2.0" | "3") {
                return Err(format!(
                    "unknown HTTP version {version:?} (HTTP/1.0, 1.1, 2 or 3)"
                ));
            }
            req.http_version = Some(number.to_owned());
            text.push_str(&format!(" {version}"));
        }
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

fn print_decision(d: &JsonDecision, assume_services: bool) {
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
        row("backend", backend(b));
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
        row("mirror", backend(m));
    }
    if let Some(r) = &d.reason {
        row("reason", r.clone());
    }
    if d.cause.as_deref() == Some("invalid_backend") && !assume_services {
        row(
            "hint",
            "`gateway check` names the backendRef; --assume-services takes Services the \
             manifests do not hold to exist"
                .to_owned(),
        );
    }
}

/// `namespace/name:port`, saying when the Service was assumed (`--assume-services`).
fn backend(b: &JsonBackend) -> String {
    let mut text = format!("{}/{}:{}", b.namespace, b.name, b.port);
    if b.assumed {
        text.push_str(" (assumed: not in the manifests)");
    }
    text
}
