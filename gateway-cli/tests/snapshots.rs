//! Snapshot tests of the human and JSON output of every command. Each snapshot is the exact
//! stdout followed by an `[exit N]` line, in `tests/snapshots/`; run with `UPDATE_SNAPSHOTS=1`
//! to rewrite them after an intended change, and review the diff. stdout is not a terminal
//! here (and `NO_COLOR` is set), so there is no colour.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{EXAMPLES, assert_snapshot, gateway, schema::validate, stdout};

fn snapshot(name: &str, args: &[&str]) -> String {
    let out = gateway(args);
    let text = stdout(&out);
    let code = out.status.code().unwrap_or(-1);
    assert_snapshot(name, &format!("{text}[exit {code}]\n"));
    text
}

const PRECEDENCE: &str = "tests/fixtures/precedence.yaml";
const LINT: &str = "tests/fixtures/lint.yaml";
const LISTENER_SET: &str = "tests/fixtures/listener-set.yaml";

#[test]
fn check_shows_listener_set_status() {
    snapshot("check-listener-set.txt", &["check", LISTENER_SET]);
    let text = snapshot(
        "check-listener-set.json.txt",
        &["check", "--json", LISTENER_SET],
    );
    serde_json::from_str::<serde_json::Value>(&text).expect("check --json is JSON");
}

#[test]
fn lint_and_explain_on_a_listener_set() {
    snapshot("lint-listener-set.txt", &["lint", LISTENER_SET]);
    snapshot(
        "explain-listener-set.txt",
        &[
            "explain",
            "--gateway",
            "infra/edge",
            LISTENER_SET,
            "GET",
            "http://a.example.com/x",
        ],
    );
}

#[test]
fn check_human() {
    snapshot("check.txt", &["check", EXAMPLES]);
}

#[test]
fn check_json() {
    let text = snapshot("check.json.txt", &["check", "--json", EXAMPLES]);
    serde_json::from_str::<serde_json::Value>(&text).expect("check --json is JSON");
}

#[test]
fn route_human() {
    snapshot(
        "route.txt",
        &[
            "route",
            EXAMPLES,
            "GET",
            "http://shop.example.com/api/items",
            "-H",
            "x-api-version: 2",
            "POST",
            "http://shop.example.com/checkout",
            "GET",
            "http://blog.example.com/",
            "GET",
            "http://shop.example.org/",
        ],
    );
}

#[test]
fn route_json() {
    let text = snapshot(
        "route.jsonl.txt",
        &[
            "route",
            "--json",
            "--requests",
            "tests/fixtures/requests.jsonl",
            EXAMPLES,
        ],
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::crate_dir().join("schema/decision.schema.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    for line in text.lines() {
        let v = serde_json::from_str(line).expect("decision JSON");
        assert_eq!(validate(&schema, &v), Vec::<String>::new(), "{line}");
    }
}

#[test]
fn explain_human() {
    snapshot(
        "explain.txt",
        &[
            "explain",
            EXAMPLES,
            "GET",
            "http://shop.example.com/api/items",
            "-H",
            "x-api-version: 2",
        ],
    );
}

#[test]
fn explain_human_every_precedence_key() {
    snapshot(
        "explain-precedence.txt",
        &[
            "explain",
            PRECEDENCE,
            "GET",
            "http://api.example.com/users/7?beta=1",
            "-H",
            "x-beta: 1",
            "-H",
            "x-tenant: t-acme",
        ],
    );
}

#[test]
fn explain_human_without_listener() {
    snapshot(
        "explain-no-listener.txt",
        &["explain", EXAMPLES, "GET", "http://shop.example.org/"],
    );
}

#[test]
fn explain_json() {
    let text = snapshot(
        "explain.json.txt",
        &[
            "explain",
            "--json",
            PRECEDENCE,
            "POST",
            "http://shop.eu.example.com/docs/intro",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("explain --json is JSON");
    assert_eq!(v["agrees_with_router"], true);
}

#[test]
fn lint_human_with_findings() {
    snapshot("lint.txt", &["lint", LINT]);
}

#[test]
fn lint_human_clean() {
    snapshot("lint-clean.txt", &["lint", EXAMPLES]);
}

#[test]
fn lint_json() {
    let text = snapshot("lint.jsonl.txt", &["lint", "--json", LINT]);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("finding JSON");
        for key in ["kind", "resource", "file", "document", "field", "message"] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
    }
}

const APP: &str = "tests/fixtures/app.yaml";

#[test]
fn check_human_says_what_was_assumed() {
    snapshot(
        "check-assumed.txt",
        &[
            "check",
            APP,
            "--assume-class",
            "platform",
            "--assume-services",
        ],
    );
}

#[test]
fn route_human_says_which_backends_were_assumed() {
    snapshot(
        "route-assumed.txt",
        &[
            "route",
            APP,
            "--assume-class",
            "platform",
            "--assume-services",
            "GET http://app.example.com/api/items",
            "GET",
            "http://app.example.com/",
        ],
    );
}
