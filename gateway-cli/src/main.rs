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

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Gateway API v1.4 data-plane semantics, offline.
#[derive(Debug, Parser)]
#[command(name = "gateway", version, about)]
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
    let cli = Cli::parse();
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
