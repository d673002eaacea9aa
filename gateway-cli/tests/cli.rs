//! The command line as a new user meets it (issue #25): options before or after the files,
//! a request as one quoted argument, each test named after the rule it holds.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::process::Output;

use common::{EXAMPLES, gateway, stdout};

const REQUESTS: &str = "tests/fixtures/requests.jsonl";
const CORPUS: &str = "../../shared/conformance";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout of a run that must succeed.
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\n{}",
        out.status.code(),
        stderr(out)
    );
    stdout(out)
}

// === options before or after the files ===

#[test]
fn options_work_after_the_file_list() {
    // route --json, in the order the README documents, equals the options-first order.
    let before = ok(&gateway([
        "route",
        "--json",
        "--requests",
        REQUESTS,
        EXAMPLES,
    ]));
    let after = ok(&gateway([
        "route",
        "--json",
        EXAMPLES,
        "--requests",
        REQUESTS,
    ]));
    assert_eq!(before, after);
    let equals = ok(&gateway([
        "route",
        EXAMPLES,
        "--json",
        &format!("--requests={REQUESTS}"),
    ]));
    assert_eq!(before, equals);

    // route and explain: after the requests too.
    let request = [
        "GET",
        "http://shop.example.com/api/items",
        "-H",
        "x-api-version: 2",
    ];
    let mut first = vec!["route", "--gateway", "shop/shop", EXAMPLES];
    first.extend(request);
    let mut last = vec!["route", EXAMPLES];
    last.extend(request);
    last.extend(["--gateway", "shop/shop"]);
    assert_eq!(ok(&gateway(&first)), ok(&gateway(&last)));

    let mut explain = vec!["explain", EXAMPLES];
    explain.extend(request);
    explain.push("--json");
    let v: serde_json::Value =
        serde_json::from_str(&ok(&gateway(&explain))).expect("explain --json after the request");
    assert_eq!(v["agrees_with_router"], true);

    // check and lint.
    let check = ok(&gateway(["check", EXAMPLES, "--json"]));
    assert_eq!(check, ok(&gateway(["check", "--json", EXAMPLES])));
    let lint = gateway(["lint", EXAMPLES, "--json"]);
    assert_eq!(lint.status.code(), Some(0), "{}", stderr(&lint));
    assert_eq!(stdout(&lint), "", "no findings, and no human text either");

    // replay.
    let replay = ok(&gateway([
        "replay",
        CORPUS,
        "--case",
        "HTTPRouteSimpleSameNamespace",
    ]));
    assert!(replay.contains(" 0 failed"), "{replay}");
}

#[test]
fn request_options_stay_with_their_request() {
    // `--port` belongs to the request; `--gateway` after it is the command's.
    let text = ok(&gateway([
        "route",
        EXAMPLES,
        "GET",
        "http://shop.example.com/api/items",
        "--port",
        "8080",
        "--gateway",
        "shop/shop",
        "GET",
        "http://shop.example.com/api/items",
    ]));
    let outcomes: Vec<&str> = text.lines().filter(|l| l.contains("outcome")).collect();
    assert_eq!(outcomes.len(), 2, "{text}");
    assert!(
        outcomes[0].contains("not_found"),
        "no listener on 8080: {text}"
    );
    assert!(outcomes[1].contains("forward"), "{text}");
}

// === a request as one argument ===

#[test]
fn a_request_line_may_be_one_quoted_argument() {
    let words = ok(&gateway([
        "route",
        EXAMPLES,
        "GET",
        "http://shop.example.com/api/items",
        "-H",
        "x-api-version: 2",
    ]));
    let quoted = ok(&gateway([
        "route",
        EXAMPLES,
        "GET http://shop.example.com/api/items",
        "-H",
        "x-api-version: 2",
    ]));
    assert_eq!(words, quoted);
    let explained = ok(&gateway([
        "explain",
        EXAMPLES,
        "GET http://shop.example.com/",
    ]));
    assert!(
        explained.contains("GET http://shop.example.com/"),
        "{explained}"
    );
    // With the version of an HTTP request line.
    let versioned = ok(&gateway([
        "route",
        EXAMPLES,
        "GET http://shop.example.com/api/items HTTP/1.1",
    ]));
    assert!(versioned.contains("outcome    forward"), "{versioned}");
}

#[test]
fn a_request_that_is_not_a_request_line_says_what_one_looks_like() {
    let out = gateway(["route", EXAMPLES, "GET http://shop.example.com/ -H x-a:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("METHOD URL"), "{}", stderr(&out));
}
