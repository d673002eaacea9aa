//! `gateway check`: load, validate, and print every resource's status.

use std::path::PathBuf;
use std::process::ExitCode;

use gateway_core::attach::Status;

/// Arguments of `gateway check`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Manifest files or directories; `-` for standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Unknown kinds and fields are errors.
    #[arg(long)]
    strict: bool,
    /// Print the status report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    attach: crate::manifests::Attach,
    #[command(flatten)]
    limits: crate::manifests::Limits,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    let mut options = args.limits.options();
    options.strict = args.strict;
    crate::manifests::stdin_once(&[("the manifests", crate::manifests::stdin_count(&args.files))])?;
    let (snapshot, findings) = crate::manifests::load(&args.files, &options)?;
    for w in &findings.warnings {
        eprintln!("{w}");
    }
    for e in &findings.errors {
        eprintln!("{e}");
    }
    if !findings.errors.is_empty() {
        eprintln!("{} error(s)", findings.errors.len());
        return Ok(ExitCode::from(1));
    }
    let engine = crate::manifests::engine(snapshot, &args.attach);
    if args.json {
        println!("{}", engine.status().to_json());
        return Ok(ExitCode::SUCCESS);
    }
    let snapshot = engine.config().snapshot();
    println!("{} resources loaded", snapshot.objects.len());
    let style = crate::output::Style::detect();
    let mut table = crate::output::Table::default();
    for object in &engine.status().objects {
        let summary = summarize(&object.status);
        table.toned_row(vec![
            (object.id.to_string(), crate::output::Tone::Bold),
            (summary.clone(), tone(&summary)),
        ]);
    }
    // At least 44 columns wide, as before, so short reports keep their layout.
    table.min_width(0, 44);
    table.narrow();
    table.print(style, "");
    let snapshot = engine.config().snapshot();
    let has_gateway = snapshot
        .resources()
        .any(|r| matches!(r, gateway_core::api::Resource::Gateway(_)));
    if has_gateway && engine.config().gateways().next().is_none() {
        // Nothing above is wrong, and yet nothing of ours was checked: say why.
        println!(
            "no Gateway of our GatewayClasses{}",
            crate::manifests::found_and_what_to_do(&engine)
        );
    }
    print_assumed(&engine, &args.attach);
    Ok(ExitCode::SUCCESS)
}

/// What `--assume-class` and `--assume-services` took for granted, so that a status that
/// rests on an assumption never reads as one that does not.
fn print_assumed(engine: &gateway_core::Engine, attach: &crate::manifests::Attach) {
    let snapshot = engine.config().snapshot();
    for class in &attach.assume_class {
        let held = snapshot.resources().any(|r| {
            matches!(r, gateway_core::api::Resource::GatewayClass(c) if &c.metadata.name == class)
        });
        let how = if held {
            "in the manifests"
        } else {
            "not in the manifests"
        };
        println!("assumed: GatewayClass {class} is ours ({how}; --assume-class)");
    }
    for (route, namespace, name) in engine.config().assumed_services() {
        println!(
            "assumed: Service {namespace}/{name} exists, for {route} (not in the manifests; \
             --assume-services)"
        );
    }
}

/// Green when every reported condition is healthy, red otherwise (terminals only).
fn tone(summary: &str) -> crate::output::Tone {
    let bad = summary.contains("=False(")
        || summary.contains("Conflicted=True")
        || summary.contains("PartiallyInvalid=True");
    if bad {
        crate::output::Tone::Bad
    } else {
        crate::output::Tone::Good
    }
}

/// One line: the conditions that matter, `Type=Status(Reason)`.
fn summarize(status: &Status) -> String {
    let mut parts = Vec::new();
    match status {
        Status::Gateway(g) => {
            for c in &g.conditions {
                parts.push(format!("{}={}({})", c.type_, c.status, c.reason));
            }
            for l in &g.listeners {
                parts.push(listener_summary(&l.name, l.attached_routes, &l.conditions));
            }
        }
        Status::ListenerSet(set) => {
            for c in &set.conditions {
                parts.push(format!("{}={}({})", c.type_, c.status, c.reason));
            }
            for l in &set.listeners {
                parts.push(listener_summary(&l.name, l.attached_routes, &l.conditions));
            }
        }
        Status::Route(r) => {
            for p in &r.parents {
                let conds: Vec<String> = p
                    .conditions
                    .iter()
                    .map(|c| format!("{}={}({})", c.type_, c.status, c.reason))
                    .collect();
                let section = p
                    .parent_ref
                    .section_name
                    .as_deref()
                    .map(|s| format!("/{s}"))
                    .unwrap_or_default();
                // A mesh parent may name a Service port.
                let port = match (p.parent_ref.kind.as_str(), p.parent_ref.port) {
                    ("Service", Some(port)) => format!(":{port}"),
                    _ => String::new(),
                };
                // Gateway parents print as before; others (XListenerSet) name their kind.
                let kind = if p.parent_ref.kind == "Gateway" {
                    String::new()
                } else {
                    format!("{} ", p.parent_ref.kind)
                };
                parts.push(format!(
                    "parent {kind}{}{port}{section}: {}",
                    p.parent_ref.name,
                    conds.join(" ")
                ));
            }
        }
        other => {
            for c in other.conditions() {
                parts.push(format!("{}={}({})", c.type_, c.status, c.reason));
            }
        }
    }
    parts.join("; ")
}

/// One listener (of a Gateway or a ListenerSet): its routes, and `ok` or the conditions that
/// are not healthy.
fn listener_summary(
    name: &str,
    attached_routes: i32,
    conditions: &[gateway_core::api::Condition],
) -> String {
    let bad: Vec<String> = conditions
        .iter()
        .filter(|c| (c.type_ == "Conflicted") != (c.status == "False"))
        .map(|c| format!("{}={}({})", c.type_, c.status, c.reason))
        .collect();
    let state = if bad.is_empty() {
        "ok".to_owned()
    } else {
        bad.join(" ")
    };
    format!("listener {name}: {attached_routes} route(s) {state}")
}
