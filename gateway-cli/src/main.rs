//! `gateway`: check, route, explain, lint and replay Gateway API manifests offline, with the
//! same library a proxy embeds.

mod check;
mod explain;
mod lint;
mod loaded;
mod manifests;
mod output;
mod replay;
mod route;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Gateway API v1.4 data-plane semantics, offline.
#[derive(Debug, Parser)]
#[command(
    name = "gateway",
    version,
    about,
    after_help = "Options may come before or after the manifest files. `-` reads standard input \
(once per invocation), e.g.\n  kubectl get gateways,httproutes -A -o yaml | gateway check -"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load and validate manifests, then print every resource's status.
    Check(check::Args),
    /// Route requests through a Gateway of the manifests and print the decisions.
    Route(route::Args),
    /// Every candidate rule for one request, in precedence order, and why each did or did
    /// not match.
    Explain(explain::Args),
    /// Find rules that never match, unattached routes, conflicting listeners, hostnames no
    /// listener accepts, ExternalAuth bypasses and invalid regexes (exit 1 on findings).
    Lint(lint::Args),
    /// Replay a conformance corpus (cases/ and manifests/) in memory.
    Replay(replay::Args),
}

fn main() -> ExitCode {
    quiet_on_closed_output();
    let cli = Cli::parse_from(options_first(std::env::args_os().collect()));
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Route(args) => route::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Replay(args) => replay::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("gateway: {message}");
            ExitCode::from(2)
        }
    }
}

/// Output piped into a reader that stops early (`gateway check … | head`) ends the program
/// quietly, as it ends other command-line tools: status 141 (128 + SIGPIPE), nothing on
/// standard error. Rust ignores SIGPIPE, so `println!` would panic on the closed pipe
/// instead; this hook turns exactly that panic into the exit, and leaves every other panic to
/// the default hook.
fn quiet_on_closed_output() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// The options of a request (`route`, `explain`): they belong to the request before them and
/// stay where they are, with their value.
const REQUEST_OPTIONS: &[&str] = &["-H", "--header", "--sni", "--port", "--random"];

/// Moves the options of a subcommand whose words end in a free list (files, then requests:
/// `route`, `explain`) before that list, so that `route --json FILES --requests -` means what
/// `route --json --requests - FILES` does. clap stops reading options at the first word of
/// such a list; which words are options, and which take a value, is read from clap's own
/// definition of the subcommand, so a new option needs nothing here. Request options
/// ([`REQUEST_OPTIONS`]) and their values are left in place; so is everything after `--`
/// (a file named like an option).
/// Other subcommands are returned unchanged (clap already takes their options anywhere).
fn options_first(argv: Vec<OsString>) -> Vec<OsString> {
    let command = Cli::command();
    // The subcommand is the first word after the program that is not an option (`gateway`
    // has no option that takes a value).
    let Some(at) = argv
        .iter()
        .skip(1)
        .position(|w| !w.to_string_lossy().starts_with('-'))
        .map(|i| i + 1)
    else {
        return argv;
    };
    let Some(sub) = argv
        .get(at)
        .and_then(|w| w.to_str())
        .and_then(|name| command.find_subcommand(name))
    else {
        return argv;
    };
    if !sub.get_arguments().any(clap::Arg::is_trailing_var_arg_set) {
        return argv;
    }
    // Long and short names of the subcommand's options, with whether each takes a value.
    let takes_value = |word: &str| -> Option<bool> {
        let arg = sub.get_arguments().find(|a| {
            !a.is_positional()
                && (word.strip_prefix("--").is_some_and(|long| {
                    a.get_long_and_visible_aliases()
                        .is_some_and(|names| names.contains(&long))
                }) || word
                    .strip_prefix('-')
                    .and_then(|s| {
                        let mut chars = s.chars();
                        chars.next().filter(|_| chars.next().is_none())
                    })
                    .is_some_and(|short| a.get_short() == Some(short)))
        });
        match arg {
            Some(a) => Some(a.get_action().takes_values()),
            None if matches!(word, "-h" | "--help") => Some(false),
            None => None,
        }
    };
    let (head, tail) = argv.split_at(at + 1);
    let (mut options, mut rest): (Vec<OsString>, Vec<OsString>) = (Vec::new(), Vec::new());
    let mut words = tail.iter();
    while let Some(word) = words.next() {
        let text = word.to_string_lossy();
        if text == "--" {
            rest.extend(words.by_ref().cloned());
            break;
        }
        if REQUEST_OPTIONS.contains(&text.as_ref()) {
            rest.push(word.clone());
            rest.extend(words.next().cloned());
            continue;
        }
        // `--name=value` is one word.
        let name = text.split_once('=').map_or(text.as_ref(), |(n, _)| n);
        match takes_value(name) {
            Some(value) => {
                options.push(word.clone());
                if value && !text.contains('=') {
                    options.extend(words.next().cloned());
                }
            }
            None => rest.push(word.clone()),
        }
    }
    let mut out = head.to_vec();
    out.extend(options);
    // `--` tells clap that the rest are values even when one looks like an option.
    if !rest.is_empty() {
        out.push("--".into());
    }
    out.extend(rest);
    out
}
