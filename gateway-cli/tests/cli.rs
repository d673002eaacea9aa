//! The command line as a new user meets it (issue #25): options before or after the files,
//! a request as one quoted argument, `-` for standard input once per invocation, and
//! manifests from an application repository (no GatewayClass, no Services), each test named
//! after the rule it holds.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{EXAMPLES, gateway, schema::validate, stdout};

const APP: &str = "tests/fixtures/app.yaml";
const REQUESTS: &str = "tests/fixtures/requests.jsonl";
const CORPUS: &str = "../../shared/conformance";

/// Runs `gateway ARGS` with `input` on standard input.
fn gateway_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .current_dir(common::crate_dir())
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gateway");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("gateway output")
}

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

fn examples_yaml() -> Vec<u8> {
    std::fs::read(common::crate_dir().join(EXAMPLES).join("shop.yaml")).expect("shop.yaml")
}

fn requests_jsonl() -> Vec<u8> {
    std::fs::read(common::crate_dir().join(REQUESTS)).expect("requests.jsonl")
}

fn decision_schema() -> serde_json::Value {
    let text = std::fs::read_to_string(common::crate_dir().join("schema/decision.schema.json"))
        .expect("schema");
    serde_json::from_str(&text).expect("schema JSON")
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
fn a_double_dash_ends_the_options() {
    let dir = common::scratch("double-dash");
    let yaml = std::fs::read(common::crate_dir().join(EXAMPLES).join("shop.yaml")).expect("yaml");
    std::fs::write(dir.join("--json"), yaml).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .args(["route", "--gateway", "shop/shop", "--", "--json"])
        .args(["GET", "http://shop.example.com/api/items"])
        .output()
        .expect("run gateway");
    let text = ok(&out);
    assert!(
        text.contains("outcome    forward"),
        "a file named --json: {text}"
    );
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

    // A lower-case method is no method: the word is taken for a file, and the error says
    // what a request looks like.
    let out = gateway(["route", EXAMPLES, "get http://shop.example.com/"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("No such file") && err.contains("METHOD URL"),
        "{err}"
    );
}

// === standard input ===

#[test]
fn dash_reads_standard_input_for_every_command() {
    let yaml = examples_yaml();
    assert_eq!(
        ok(&gateway_with_stdin(&["check", "-"], &yaml)),
        ok(&gateway(["check", EXAMPLES]))
    );
    assert_eq!(
        ok(&gateway_with_stdin(&["lint", "-"], &yaml)),
        ok(&gateway(["lint", EXAMPLES]))
    );
    let request = ["GET", "http://shop.example.com/api/items"];
    let mut from_stdin = vec!["route", "-"];
    from_stdin.extend(request);
    let mut from_file = vec!["route", EXAMPLES];
    from_file.extend(request);
    assert_eq!(
        ok(&gateway_with_stdin(&from_stdin, &yaml)),
        ok(&gateway(&from_file))
    );
    from_stdin[0] = "explain";
    from_file[0] = "explain";
    assert_eq!(
        ok(&gateway_with_stdin(&from_stdin, &yaml)),
        ok(&gateway(&from_file))
    );
    // Requests from standard input, in the README's order.
    let jsonl = requests_jsonl();
    assert_eq!(
        ok(&gateway_with_stdin(
            &["route", "--json", EXAMPLES, "--requests", "-"],
            &jsonl
        )),
        ok(&gateway([
            "route",
            "--json",
            EXAMPLES,
            "--requests",
            REQUESTS
        ]))
    );
    let lines = r#"{"target":"/api/items","headers":[["host","shop.example.com"]]}"#;
    let dir = common::scratch("explain-stdin");
    let file = common::write(&dir, "requests.jsonl", lines);
    assert_eq!(
        ok(&gateway_with_stdin(
            &["explain", EXAMPLES, "--requests", "-", "--json"],
            lines.as_bytes()
        )),
        ok(&gateway([
            "explain".as_ref(),
            EXAMPLES.as_ref(),
            "--requests".as_ref(),
            file.as_os_str(),
            "--json".as_ref()
        ]))
    );
    // replay's known failures; the corpus is a directory, which standard input is not.
    let replay = ok(&gateway_with_stdin(
        &[
            "replay",
            CORPUS,
            "--case",
            "HTTPRouteSimpleSameNamespace",
            "--known",
            "-",
        ],
        b"# no known failures\n",
    ));
    assert!(replay.contains(" 0 failed"), "{replay}");
    let out = gateway(["replay", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("directory"), "{}", stderr(&out));
}

#[test]
fn a_kubernetes_list_from_standard_input_is_checked() {
    // What `kubectl get gateways,httproutes -A -o yaml | gateway check -` sends.
    let list = "apiVersion: v1
kind: List
items:
- apiVersion: gateway.networking.k8s.io/v1
  kind: GatewayClass
  metadata: {name: gateway-core}
  spec: {controllerName: gateway.example.dev/gateway-core}
- apiVersion: gateway.networking.k8s.io/v1
  kind: Gateway
  metadata: {name: edge, namespace: infra}
  spec:
    gatewayClassName: gateway-core
    listeners:
    - {name: http, port: 80, protocol: HTTP}
";
    let text = ok(&gateway_with_stdin(&["check", "-"], list.as_bytes()));
    assert!(text.contains("2 resources loaded"), "{text}");
    assert!(text.contains("Gateway infra/edge"), "{text}");
}

#[test]
fn standard_input_is_read_only_once() {
    for args in [
        &["route", "-", "--json", "--requests", "-"][..],
        &["explain", "-", "--requests", "-"],
        &["check", "-", "-"],
        &["lint", "-", EXAMPLES, "-"],
    ] {
        let out = gateway_with_stdin(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("standard input can be read only once"),
            "{args:?}: {err}"
        );
    }
}

// === manifests from an application repository ===

#[test]
fn no_gateway_of_ours_lists_what_was_found_and_what_to_do() {
    for command in ["route", "explain"] {
        let out = gateway([command, APP, "GET", "http://app.example.com/"]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = stderr(&out);
        for needed in [
            "app/web (gatewayClassName platform)",
            "GatewayClasses found: none",
            "--assume-class platform",
            "--assume-services",
        ] {
            assert!(
                err.contains(needed),
                "{command}: {needed:?} missing in\n{err}"
            );
        }
    }
}

#[test]
fn check_says_why_no_gateway_was_checked() {
    let text = ok(&gateway(["check", APP]));
    for needed in [
        "no Gateway of our GatewayClasses",
        "app/web (gatewayClassName platform)",
        "--assume-class platform",
    ] {
        assert!(text.contains(needed), "{needed:?} missing in\n{text}");
    }
    let ours = ok(&gateway(["check", EXAMPLES]));
    assert!(!ours.contains("no Gateway of our"), "{ours}");
}

#[test]
fn nothing_is_assumed_by_default() {
    // With the class assumed, a missing Service is still an invalid backendRef: 500, and the
    // human output says how to find out why.
    let text = ok(&gateway([
        "route",
        APP,
        "--assume-class",
        "platform",
        "GET",
        "http://app.example.com/",
    ]));
    assert!(text.contains("server_error (500)"), "{text}");
    assert!(text.contains("--assume-services"), "{text}");
    assert!(!text.contains("assumed"), "{text}");
    let check = ok(&gateway(["check", APP, "--assume-class", "platform"]));
    assert!(
        check.contains("ResolvedRefs=False(BackendNotFound)"),
        "{check}"
    );
}

#[test]
fn assumed_services_are_routed_and_said_in_every_output() {
    let human = ok(&gateway([
        "route",
        APP,
        "GET http://app.example.com/api/items",
        "--assume-class",
        "platform",
        "--assume-services",
    ]));
    assert!(human.contains("outcome    forward"), "{human}");
    assert!(
        human.contains("backend    app/api:8080 (assumed: not in the manifests)"),
        "{human}"
    );

    let line = ok(&gateway_with_stdin(
        &[
            "route",
            "--json",
            APP,
            "--requests",
            "-",
            "--assume-class=platform",
            "--assume-services",
        ],
        br#"{"target":"/","headers":[["host","app.example.com"]]}"#,
    ));
    let decision: serde_json::Value = serde_json::from_str(line.trim()).expect("decision");
    assert_eq!(decision["outcome"], "forward");
    assert_eq!(
        decision["backend"],
        serde_json::json!({"namespace": "app", "name": "frontend", "port": 3000, "assumed": true})
    );
    assert_eq!(
        validate(&decision_schema(), &decision),
        Vec::<String>::new()
    );
}

#[test]
fn check_says_which_services_and_classes_were_assumed() {
    let text = ok(&gateway([
        "check",
        APP,
        "--assume-class",
        "platform",
        "--assume-services",
    ]));
    assert!(text.contains("ResolvedRefs=True(ResolvedRefs)"), "{text}");
    for line in [
        "assumed: GatewayClass platform is ours (not in the manifests; --assume-class)",
        "assumed: Service app/api exists, for HTTPRoute app/site",
        "assumed: Service app/frontend exists, for HTTPRoute app/site",
    ] {
        assert!(text.contains(line), "{line:?} missing in\n{text}");
    }
    let json = ok(&gateway([
        "check",
        "--json",
        APP,
        "--assume-class",
        "platform",
        "--assume-services",
    ]));
    assert!(
        json.contains(concat!(
            "resolved; assumed to exist (not in the manifests): ",
            "Service app/api, Service app/frontend"
        )),
        "{json}"
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_without_a_panic() {
    // The reader is gone before the command starts, so the write fails with EPIPE whatever
    // the scheduling (a reader closed after the spawn may come after the output on a busy
    // machine, when the output fits the pipe's buffer).
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .current_dir(common::crate_dir())
        .env("NO_COLOR", "1")
        .args(["check", EXAMPLES])
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gateway");
    let out = child.wait_with_output().expect("gateway ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// Service `app/echo` (cluster IP 10.96.0.7, port 80) with a producer HTTPRoute on `/v2`.
const MESH: &str = "apiVersion: v1
kind: Service
metadata: {name: echo, namespace: app}
spec: {clusterIP: 10.96.0.7, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo-v2, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: echo, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2}}]
    backendRefs: [{name: echo, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: app}
spec:
  parentRefs: [{group: '', kind: Service, name: echo, port: 8080}]
  rules:
  - backendRefs: [{name: echo, port: 80}]
";

#[test]
fn route_mesh_json_routes_by_destination_and_passes_through_when_no_route_applies() {
    let dir = common::scratch("mesh-route");
    let manifests = common::write(&dir, "mesh.yaml", MESH);
    let requests = common::write(
        &dir,
        "requests.jsonl",
        concat!(
            r#"{"client_namespace":"app","destination":{"name":"echo","port":80},"target":"/v2/a","headers":[["host","echo"]]}"#,
            "\n",
            r#"{"client_namespace":"web","destination":{"address":"10.96.0.7","port":80},"target":"/v2","headers":[["host","whatever"]]}"#,
            "\n",
            r#"{"client_namespace":"app","destination":{"name":"echo","port":80},"target":"/v1","headers":[["host","echo"]]}"#,
            "\n",
            r#"{"client_namespace":"app","destination":{"address":"10.96.0.8","port":80},"target":"/v2","headers":[["host","x"]]}"#,
            "\n",
            r#"{"target":"/v2","headers":[["host","echo"]]}"#,
            "\n",
        ),
    );
    let out = ok(&gateway([
        "route".as_ref(),
        "--mesh".as_ref(),
        "--json".as_ref(),
        manifests.as_os_str(),
        "--requests".as_ref(),
        requests.as_os_str(),
    ]));
    let schema = decision_schema();
    let decisions: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON decision"))
        .collect();
    for d in &decisions {
        assert_eq!(validate(&schema, d), Vec::<String>::new(), "{d}");
    }
    let outcomes: Vec<&str> = decisions
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "forward",
            "forward",
            "not_found",
            "pass_through",
            "bad_request"
        ]
    );
    assert_eq!(decisions[0]["route"]["name"], "echo-v2");
    assert_eq!(decisions[0]["backend"]["name"], "echo");
    assert_eq!(decisions[2]["cause"], "no_rule");
    assert!(decisions[3]["status"].is_null() && decisions[3]["route"].is_null());
    assert_eq!(decisions[4]["cause"], "malformed_request");
    // Without --json a mesh request has no destination to name.
    let human = gateway(["route", "--mesh", manifests.to_str().unwrap(), "GET", "/"]);
    assert!(!human.status.success());
}

#[test]
fn check_mesh_reports_each_service_parent_with_its_port() {
    let dir = common::scratch("mesh-check");
    let manifests = common::write(&dir, "mesh.yaml", MESH);
    let out = ok(&gateway([
        "check".as_ref(),
        "--mesh".as_ref(),
        manifests.as_os_str(),
    ]));
    assert!(
        out.contains("parent Service echo:80: Accepted=True(Accepted)"),
        "{out}"
    );
    assert!(
        out.contains("parent Service echo:8080: Accepted=False(NoMatchingParent)"),
        "{out}"
    );
}

/// A rule with timeouts and a retry policy, and one without.
const POLICIES: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gc
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /slow}}]
    timeouts: {request: 10s, backendRequest: 0s}
    retry: {codes: [502, 503], attempts: 3, backoff: 250ms}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: app, port: 80}]
";

#[test]
fn route_json_gives_a_forwards_timeouts_and_retry_policy() {
    let dir = common::scratch("policies");
    let manifests = common::write(&dir, "policies.yaml", POLICIES);
    let requests = common::write(
        &dir,
        "requests.jsonl",
        concat!(
            r#"{"target":"/slow/report","headers":[["host","a.example"]]}"#,
            "\n",
            r#"{"target":"/fast","headers":[["host","a.example"]]}"#,
            "\n",
            r#"{"port":81,"target":"/slow","headers":[["host","a.example"]]}"#,
            "\n",
            r#"{"target":"/fast","headers":[["host","A.example:80"]]}"#,
            "\n",
        ),
    );
    let out = ok(&gateway([
        "route".as_ref(),
        "--json".as_ref(),
        manifests.as_os_str(),
        "--requests".as_ref(),
        requests.as_os_str(),
    ]));
    let schema = decision_schema();
    let d: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON decision"))
        .collect();
    for decision in &d {
        assert_eq!(
            validate(&schema, decision),
            Vec::<String>::new(),
            "{decision}"
        );
    }
    // `0s` is a disabled timeout (0), an unset one null.
    assert_eq!(
        d[0]["timeouts"],
        serde_json::json!({"request_ms": 10_000, "backend_request_ms": 0})
    );
    assert_eq!(
        d[0]["retry"],
        serde_json::json!({"codes": [502, 503], "attempts": 3, "backoff_ms": 250, "budget": null})
    );
    assert_eq!(
        d[1]["timeouts"],
        serde_json::json!({"request_ms": null, "backend_request_ms": null})
    );
    assert!(d[1]["retry"].is_null(), "{}", d[1]);
    // Nothing is forwarded: no policy to apply.
    assert_eq!(d[2]["outcome"], "not_found");
    assert!(
        d[2]["timeouts"].is_null() && d[2]["retry"].is_null(),
        "{}",
        d[2]
    );
    // No URLRewrite: the authority goes upstream as received, port and case included.
    assert_eq!(d[3]["upstream"]["authority"], "A.example:80", "{}", d[3]);
    assert_eq!(d[0]["upstream"]["authority"], "a.example", "{}", d[0]);
}

/// Every command that reads manifests takes the load limits as flags, before or after the
/// files, and a limit hit names the flag that raises it (issue #26).
#[test]
fn every_command_takes_the_load_limits_and_a_limit_hit_names_its_flag() {
    let shop = examples_yaml();
    let request = "GET http://shop.example.com/";
    let runs: [&[&str]; 4] = [
        &["check", "-"],
        &["lint", "-"],
        &["route", "-", request],
        &["explain", "-", request],
    ];
    for args in runs {
        let tight = [args, &["--max-yaml-nodes", "10"]].concat();
        let out = gateway_with_stdin(&tight, &shop);
        let err = stderr(&out);
        assert!(
            !out.status.success()
                && err.contains("more than 10 nodes")
                && err.contains("LoadOptions::max_yaml_nodes or --max-yaml-nodes"),
            "{args:?}: exit {:?}\n{err}",
            out.status.code()
        );
        let raised = [args, &["--max-resources", "50", "--max-depth", "32"]].concat();
        ok(&gateway_with_stdin(&raised, &shop));
    }
    // `--max-resources` scales the size limits with it; an explicit one wins.
    let out = gateway_with_stdin(&["check", "--max-resources", "1", "-"], &shop);
    assert!(
        stderr(&out).contains("bytes, more than 1,024 (limit max_bytes")
            && stderr(&out).contains("--max-bytes"),
        "{}",
        stderr(&out)
    );
    let out = gateway_with_stdin(
        &[
            "check",
            "--max-resources",
            "1",
            "--max-bytes=100000",
            "--max-documents=100",
            "--max-yaml-nodes=10000",
            "-",
        ],
        &shop,
    );
    assert!(
        stderr(&out).contains("more than 1 resources (limit max_resources"),
        "{}",
        stderr(&out)
    );
}
