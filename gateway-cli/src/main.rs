//! `gateway`: check, route and replay Gateway API manifests offline, with the same library a
//! proxy embeds.

mod check;
mod manifests;
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
    /// Replay a conformance corpus (cases/ and manifests/) in memory.
    Replay(replay::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Route(args) => route::run(&args),
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
