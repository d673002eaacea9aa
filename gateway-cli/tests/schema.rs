//! The `route --json` decision schema (schema/decision.schema.json): the validator used here
//! checks what it should, and every decision the conformance corpus's requests produce
//! through `gateway route --json` validates against the schema.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use serde_json::{Value, json};

use common::{corpus, gateway, schema::validate, scratch, stdout, write};

fn schema() -> Value {
    let text = std::fs::read_to_string(common::crate_dir().join("schema/decision.schema.json"))
        .expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn forward() -> Value {
    json!({
        "outcome": "forward", "cause": null, "status": null, "transport": null, "listener": "http",
        "route": {"kind": "HTTPRoute", "namespace": "default", "name": "app"},
        "rule": {"index": 0, "name": null}, "ext_auth": null,
        "backend": {"namespace": "default", "name": "svc", "port": 8080},
        "upstream": {"method": "GET", "authority": "a.example.com", "path": "/x?q=1",
                     "headers": [["host", "a.example.com"], ["x-a", "1"], ["x-a", "2"]]},
        "response_headers": [], "response_edits": {"set": [], "add": [["x", "1"]], "remove": []},
        "location": null, "mirrors": [], "backend_tls": null,
        "timeouts": {"request_ms": 10000, "backend_request_ms": null},
        "retry": {"codes": [503], "attempts": 2, "backoff_ms": null,
                  "budget": {"percent": 20, "interval_ms": 10000, "min_retries": 10,
                             "min_retry_interval_ms": 1000}},
        "session": {"kind": "cookie", "name": "sid", "lifetime": "session",
                    "absolute_timeout_ms": null, "idle_timeout_ms": 60000, "path": "/x",
                    "secure": false, "source": "rule", "policy": null},
        "reason": null,
        "frontend_tls": null, "backend_certificate": null
    })
}

/// The BackendTLSPolicy settings of a forward over TLS.
fn backend_tls() -> Value {
    json!({"policy": "default/svc-tls", "sni": "svc.internal", "trust": {"bundles": 1},
           "subject_alt_names": ["svc.internal"], "client_certificate": null})
}

#[test]
fn validator_accepts_tls_verdicts_and_a_refused_backend_certificate() {
    let s = schema();
    let mut v = forward();
    v["frontend_tls"] = json!({"session_port": 8443, "validation": "AllowValidOnly",
        "client_certificate": {"verdict": "valid", "reason": null, "detail": null},
        "client_auth": "verified", "coalescing": "allow"});
    v["backend_tls"] = backend_tls();
    v["backend_certificate"] = json!({"verdict": "valid", "reason": null, "detail": null});
    assert_eq!(validate(&s, &v), Vec::<String>::new());

    // The refused backend stays named; nothing is sent.
    v["outcome"] = json!("server_error");
    v["cause"] = json!("backend_certificate_refused");
    v["status"] = json!(502);
    v["reason"] = json!("refused");
    v["upstream"] = Value::Null;
    v["response_edits"] = Value::Null;
    v["backend_certificate"] = json!({"verdict": "invalid", "reason": "san_mismatch",
        "detail": "the certificate carries none of the required names"});
    assert_eq!(validate(&s, &v), Vec::<String>::new());
    let mut valid = v.clone();
    valid["backend_certificate"]["verdict"] = json!("valid");
    assert!(
        !validate(&s, &valid).is_empty(),
        "refused with a valid verdict"
    );
    let mut status = v.clone();
    status["status"] = json!(500);
    assert!(!validate(&s, &status).is_empty(), "refused with 500");

    // Other refusals name no backend.
    v["cause"] = json!("invalid_backend");
    v["status"] = json!(500);
    assert!(!validate(&s, &v).is_empty(), "a backend with another cause");
    v["backend"] = Value::Null;
    assert_eq!(validate(&s, &v), Vec::<String>::new());

    let mut misdirected = forward();
    misdirected["outcome"] = json!("misdirected");
    misdirected["status"] = json!(421);
    misdirected["reason"] = json!("refused by the coalescing guard");
    misdirected["backend"] = Value::Null;
    misdirected["upstream"] = Value::Null;
    misdirected["response_edits"] = Value::Null;
    misdirected["frontend_tls"] = json!({"session_port": 8443, "validation": "AllowValidOnly",
        "client_certificate": {"verdict": "invalid", "reason": "unknown_issuer",
                               "detail": "the chain does not lead to a trusted CA"},
        "client_auth": "unverified", "coalescing": "misdirected"});
    assert_eq!(validate(&s, &misdirected), Vec::<String>::new());
    misdirected["frontend_tls"]["client_certificate"]["reason"] = json!("bad luck");
    assert!(!validate(&s, &misdirected).is_empty(), "unknown reason");
}

#[test]
fn validator_accepts_a_forward_decision() {
    assert_eq!(validate(&schema(), &forward()), Vec::<String>::new());
}

#[test]
fn validator_rejects_missing_extra_and_mistyped_keys() {
    let s = schema();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "missing key",
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("mirrors"))),
        ),
        ("extra key", Box::new(|v| v["surprise"] = json!(1))),
        (
            "unknown outcome",
            Box::new(|v| v["outcome"] = json!("maybe")),
        ),
        (
            "forward with a status",
            Box::new(|v| v["status"] = json!(404)),
        ),
        (
            "forward without backend",
            Box::new(|v| v["backend"] = Value::Null),
        ),
        (
            "header not a pair",
            Box::new(|v| v["response_headers"] = json!([["a"]])),
        ),
        (
            "port out of range",
            Box::new(|v| v["backend"]["port"] = json!(70000)),
        ),
        (
            "rule index negative",
            Box::new(|v| v["rule"]["index"] = json!(-1)),
        ),
        (
            "route kind unknown",
            Box::new(|v| v["route"]["kind"] = json!("Ingress")),
        ),
        (
            "retried status not an error",
            Box::new(|v| v["retry"]["codes"] = json!([200])),
        ),
        (
            "budget percent over 100",
            Box::new(|v| v["retry"]["budget"]["percent"] = json!(101)),
        ),
        (
            "session kind unknown",
            Box::new(|v| v["session"]["kind"] = json!("query")),
        ),
        (
            "negative timeout",
            Box::new(|v| v["timeouts"]["request_ms"] = json!(-1)),
        ),
        (
            "timeouts without a key",
            Box::new(|v| v["timeouts"] = json!({"request_ms": 1})),
        ),
        (
            "bad trust",
            Box::new(|v| {
                v["backend_tls"] = json!({"policy": "a/b", "sni": "s", "trust": "maybe",
                "subject_alt_names": [], "client_certificate": null});
            }),
        ),
    ];
    for (what, mutate) in cases {
        let mut v = forward();
        mutate(&mut v);
        assert!(!validate(&s, &v).is_empty(), "{what}: accepted {v}");
    }
}

#[test]
fn validator_requires_status_and_reason_when_the_proxy_answers() {
    let s = schema();
    let mut v = forward();
    v["outcome"] = json!("not_found");
    v["backend"] = Value::Null;
    v["upstream"] = Value::Null;
    v["response_edits"] = Value::Null;
    assert!(!validate(&s, &v).is_empty(), "status and reason null");
    v["cause"] = json!("no_rule");
    v["status"] = json!(404);
    v["reason"] = json!("no rule matches");
    assert_eq!(validate(&s, &v), Vec::<String>::new());
    v["outcome"] = json!("redirect");
    v["cause"] = Value::Null;
    v["status"] = json!(302);
    assert!(!validate(&s, &v).is_empty(), "redirect without location");
    v["location"] = json!("https://a.example.com/");
    assert_eq!(validate(&s, &v), Vec::<String>::new());
}

#[test]
fn l4_decisions_validate_and_answer_nothing_in_http() {
    let s = schema();
    let dir = scratch("schema-l4");
    let manifests = common::crate_dir().join("../examples/l4/l4.yaml");
    let lines = [
        r#"{"transport":"tls","port":8443,"sni":"db.example.com"}"#,
        r#"{"transport":"tcp","port":9000}"#,
        r#"{"transport":"udp","port":9053}"#,
        r#"{"transport":"tls","port":8443,"sni":"db.other.org"}"#,
        r#"{"transport":"tcp","port":1}"#,
        r#"{"transport":"tcp","port":9000,"method":"GET"}"#,
    ];
    let requests = write(&dir, "l4.jsonl", &lines.join("\n"));
    let out = gateway([
        "route".as_ref(),
        "--json".as_ref(),
        "--requests".as_ref(),
        requests.as_os_str(),
        manifests.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let outcomes: Vec<String> = text
        .lines()
        .map(|line| {
            let d: Value = serde_json::from_str(line).expect("decision is JSON");
            assert_eq!(validate(&s, &d), Vec::<String>::new(), "{line}");
            format!("{} {}", d["outcome"], d["route"]["kind"])
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            r#""forward" "TLSRoute""#,
            r#""forward" "TCPRoute""#,
            r#""forward" "UDPRoute""#,
            r#""not_found" null"#,
            r#""not_found" null"#,
            r#""bad_request" null"#,
        ]
    );
    // A decision with a transport answers nothing in HTTP.
    let mut d: Value = serde_json::from_str(text.lines().nth(3).expect("a line")).expect("JSON");
    assert_eq!(d["transport"], "tls");
    d["status"] = json!(404);
    assert!(!validate(&s, &d).is_empty(), "an L4 decision with a status");
}

#[test]
fn schema_cause_names_are_the_core_vocabulary() {
    let s = schema();
    let listed: Vec<Value> = s["properties"]["cause"]["enum"]
        .as_array()
        .expect("cause enum")
        .clone();
    let mut core: Vec<Value> = gateway_core::outcome::Outcome::CAUSES
        .iter()
        .map(|o| json!(o.cause_str()))
        .collect();
    core.push(Value::Null);
    assert_eq!(listed, core);
}

#[test]
fn every_conformance_decision_validates_against_the_schema() {
    let s = schema();
    let dir = scratch("schema-corpus");
    let (mut decisions, mut outcomes) = (0, std::collections::BTreeSet::new());
    for case in corpus::cases() {
        if case.requests.is_empty() {
            continue;
        }
        let manifests = write(&dir, &format!("{}.yaml", case.name), &case.manifests);
        for (gw, lines) in &case.requests {
            let requests = write(&dir, &format!("{}.jsonl", case.name), &lines.join("\n"));
            let out = gateway([
                "route".as_ref(),
                "--json".as_ref(),
                "--gateway".as_ref(),
                gw.as_ref(),
                "--requests".as_ref(),
                requests.as_os_str(),
                manifests.as_os_str(),
            ]);
            assert!(
                out.status.success(),
                "{} {gw}: {}",
                case.name,
                String::from_utf8_lossy(&out.stderr)
            );
            let text = stdout(&out);
            assert_eq!(
                text.lines().count(),
                lines.len(),
                "{}: one decision per request",
                case.name
            );
            for (line, request) in text.lines().zip(lines) {
                let decision: Value = serde_json::from_str(line).expect("decision is JSON");
                let errors = validate(&s, &decision);
                assert!(
                    errors.is_empty(),
                    "{} {gw}\nrequest  {request}\ndecision {line}\n{}",
                    case.name,
                    errors.join("\n")
                );
                outcomes.insert(decision["outcome"].as_str().unwrap_or_default().to_owned());
                decisions += 1;
            }
        }
    }
    println!("{decisions} decisions validated; outcomes {outcomes:?}");
    assert!(decisions >= 200, "only {decisions} decisions");
    assert!(outcomes.contains("forward") && outcomes.contains("not_found"));
}
