//! `gateway explain` ranks candidates literally from the manifests; its winner must be the
//! rule `Router::route` chose, for every request of the conformance corpus and for the
//! precedence rules named below.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use serde_json::Value;

use common::{corpus, gateway, scratch, stdout, write};

fn explain_lines(manifests: &std::path::Path, gw: &str, requests: &std::path::Path) -> Vec<Value> {
    let out = gateway([
        "explain".as_ref(),
        "--json".as_ref(),
        "--gateway".as_ref(),
        gw.as_ref(),
        "--requests".as_ref(),
        requests.as_os_str(),
        manifests.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("explanation is JSON"))
        .collect()
}

#[test]
fn explain_agrees_with_the_router_on_every_conformance_request() {
    let dir = scratch("explain-corpus");
    let (mut explained, mut with_candidates) = (0, 0);
    let mut disagreements = Vec::new();
    for case in corpus::cases() {
        let manifests = write(&dir, &format!("{}.yaml", case.name), &case.manifests);
        for (gw, lines) in &case.requests {
            let requests = write(&dir, &format!("{}.jsonl", case.name), &lines.join("\n"));
            let got = explain_lines(&manifests, gw, &requests);
            assert_eq!(
                got.len(),
                lines.len(),
                "{}: one explanation per request",
                case.name
            );
            for (e, request) in got.iter().zip(lines) {
                explained += 1;
                if e["candidates"].as_array().is_some_and(|c| !c.is_empty()) {
                    with_candidates += 1;
                }
                if e["agrees_with_router"] != Value::Bool(true) {
                    disagreements.push(format!("{} {gw} {request}: {}", case.name, e["note"]));
                }
            }
        }
    }
    println!("{explained} requests explained, {with_candidates} with candidates");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(
        with_candidates >= 150,
        "only {with_candidates} requests had candidates"
    );
}

/// `(request args, expected winner "namespace/name#rule")`, one row per precedence rule.
const PRECEDENCE_CASES: &[(&[&str], &str)] = &[
    // Exact beats RegularExpression and PathPrefix.
    (
        &["GET", "http://api.example.com/users"],
        "infra/exact-host#0",
    ),
    // RegularExpression beats every PathPrefix.
    (
        &["GET", "http://api.example.com/v2/users"],
        "infra/exact-host#1",
    ),
    // A method match beats header matches.
    (
        &[
            "POST",
            "http://api.example.com/users/1",
            "-H",
            "x-beta: 1",
            "-H",
            "x-tenant: t-a",
        ],
        "infra/exact-host#3",
    ),
    // More header matches beat a query match.
    (
        &[
            "GET",
            "http://api.example.com/users/1?beta=1",
            "-H",
            "x-beta: 1",
            "-H",
            "x-tenant: t-a",
        ],
        "infra/exact-host#4",
    ),
    // A regex header value that does not match: the query match wins.
    (
        &[
            "GET",
            "http://api.example.com/users/1?beta=1",
            "-H",
            "x-beta: 1",
            "-H",
            "x-tenant: T-A",
        ],
        "infra/exact-host#4",
    ),
    // No predicates hold: the plain prefix.
    (
        &["GET", "http://api.example.com/users/1"],
        "infra/exact-host#2",
    ),
    // The exact hostname's group has no match: the wildcard's catch-all serves it.
    (&["GET", "http://api.example.com/other"], "infra/wide#0"),
    // A longer wildcard beats a shorter one, and both beat routes without hostnames.
    (&["GET", "http://x.eu.example.com/docs"], "infra/narrow#0"),
    // No hostname matches: routes without hostnames, same age, `{namespace}/{name}` order.
    (
        &["GET", "http://docs.example.org/docs/a"],
        "apps/a-fallback#0",
    ),
    (&["GET", "http://docs.example.org/"], "apps/a-fallback#1"),
];

#[test]
fn explain_winner_follows_every_precedence_key() {
    for (request, expected) in PRECEDENCE_CASES {
        let mut args = vec!["explain", "--json", "tests/fixtures/precedence.yaml"];
        args.extend_from_slice(request);
        let out = gateway(&args);
        assert!(out.status.success(), "{request:?}");
        let e: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        assert_eq!(e["agrees_with_router"], true, "{request:?}: {}", e["note"]);
        let winner = e["candidates"]
            .as_array()
            .and_then(|c| c.iter().find(|v| v["result"] == "match"))
            .map(|v| {
                format!(
                    "{}/{}#{}",
                    v["route"]["namespace"].as_str().unwrap_or(""),
                    v["route"]["name"].as_str().unwrap_or(""),
                    v["rule"]["index"]
                )
            });
        assert_eq!(winner.as_deref(), Some(*expected), "{request:?}");
        // Every matching candidate after the winner says whom it lost to.
        for v in e["candidates"].as_array().into_iter().flatten() {
            if v["result"] == "lost" {
                let why = v["reasons"][0].as_str().unwrap_or("");
                assert!(why.starts_with("lost on precedence to "), "{why}");
            }
        }
    }
}
