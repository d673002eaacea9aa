//! `gateway lint`: one test per finding kind, each with a manifest that triggers it and one
//! that does not; plus the exit codes (0 clean, 1 findings, 2 usage or load errors).

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use serde_json::Value;

use common::{gateway, scratch, stdout, write};

/// A GatewayClass of ours, a Gateway `infra/gw` with `LISTENERS`, and Services.
fn manifests(listeners: &str, rest: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: ours}}
spec: {{controllerName: gateway.example.dev/gateway-core}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: ours
  listeners:
{listeners}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: infra}}
spec: {{ports: [{{port: 8080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: auth, namespace: infra}}
spec: {{ports: [{{port: 9000}}]}}
---
{rest}"
    )
}

const ONE_LISTENER: &str = "  - {name: http, port: 80, protocol: HTTP, hostname: '*.example.com'}";

/// An HTTPRoute `infra/NAME` created at `CREATED` on `gw` with HOSTNAMES and RULES (YAML).
fn route(name: &str, created: &str, hostnames: &str, rules: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: infra, creationTimestamp: '{created}'}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: {hostnames}
  rules:
{rules}
---
"
    )
}

const AUTH: &str = "filters:
    - type: ExternalAuth
      externalAuth: {protocol: HTTP, backendRef: {name: auth, port: 9000}, http: {}}";

/// Runs `gateway lint --json` on the text; returns the exit code and the findings.
fn lint(text: &str) -> (i32, Vec<Value>) {
    let dir = scratch("lint");
    let file = write(&dir, "manifests.yaml", text);
    let out = gateway(["lint".as_ref(), "--json".as_ref(), file.as_os_str()]);
    let findings = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("finding is JSON"))
        .collect();
    (out.status.code().unwrap_or(-1), findings)
}

fn kinds(findings: &[Value]) -> Vec<&str> {
    findings.iter().filter_map(|f| f["kind"].as_str()).collect()
}

/// Asserts the triggering text yields findings of `kind` only, the first at `field`, and the
/// clean text none at all.
fn check(kind: &str, field: &str, trigger: &str, clean: &str) -> Value {
    let (code, findings) = lint(trigger);
    assert!(
        !findings.is_empty() && kinds(&findings).iter().all(|k| *k == kind),
        "{findings:#?}"
    );
    assert_eq!(code, 1, "findings exit 1");
    let f = findings.into_iter().next().expect("one finding");
    assert_eq!(f["field"], field, "{f:#}");
    assert!(
        f["file"]
            .as_str()
            .is_some_and(|p| p.ends_with("manifests.yaml"))
    );
    let (code, findings) = lint(clean);
    assert_eq!(findings, Vec::<Value>::new(), "clean manifest");
    assert_eq!(code, 0, "no findings exit 0");
    f
}

#[test]
fn shadowed_rule_same_prefix_in_an_older_route() {
    let older = route(
        "a",
        "2025-01-01T00:00:00Z",
        "[shop.example.com]",
        "  - backendRefs: [{name: web, port: 8080}]",
    );
    let newer = |matches: &str| {
        route(
            "b",
            "2025-01-02T00:00:00Z",
            "[shop.example.com]",
            &format!("  - matches: [{matches}]\n    backendRefs: [{{name: web, port: 8080}}]"),
        )
    };
    let f = check(
        "shadowed-rule",
        "spec.rules[0].matches[0]",
        &manifests(
            ONE_LISTENER,
            &(older.clone() + &newer("{path: {type: PathPrefix, value: /}}")),
        ),
        &manifests(
            ONE_LISTENER,
            &(older
                + &newer("{path: {type: PathPrefix, value: /}, headers: [{name: x, value: '1'}]}")),
        ),
    );
    assert_eq!(f["resource"]["name"], "b");
    assert!(
        f["message"].as_str().unwrap().contains("infra/a rule #0"),
        "{f}"
    );
}

#[test]
fn shadowed_rule_same_exact_path_earlier_in_the_same_route() {
    let rules = |second: &str| {
        format!(
            "  - matches: [{{path: {{type: Exact, value: /x}}, method: GET}}]
    backendRefs: [{{name: web, port: 8080}}]
  - matches: [{{path: {{type: Exact, value: {second}}}, method: GET}}]
    backendRefs: [{{name: web, port: 8080}}]"
        )
    };
    check(
        "shadowed-rule",
        "spec.rules[1].matches[0]",
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("/x")),
        ),
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("/y")),
        ),
    );
}

#[test]
fn unattached_route() {
    let r = |section: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: lost, namespace: infra}}
spec:
  parentRefs: [{{name: gw, sectionName: {section}}}]
  rules: [{{backendRefs: [{{name: web, port: 8080}}]}}]
"
        )
    };
    let f = check(
        "unattached-route",
        "spec.parentRefs",
        &manifests(ONE_LISTENER, &r("nope")),
        &manifests(ONE_LISTENER, &r("http")),
    );
    assert!(
        f["message"].as_str().unwrap().contains("NoMatchingParent"),
        "{f}"
    );
}

#[test]
fn conflicted_listener() {
    let listeners = |second: &str| {
        format!(
            "  - {{name: a, port: 80, protocol: HTTP, hostname: a.example.com}}
  - {{name: b, port: 80, protocol: HTTP, hostname: {second}}}"
        )
    };
    // Both listeners of the conflict report it.
    let f = check(
        "conflicted-listener",
        "spec.listeners[0]",
        &manifests(&listeners("a.example.com"), ""),
        &manifests(&listeners("b.example.com"), ""),
    );
    assert_eq!(f["resource"]["kind"], "Gateway");
}

#[test]
fn unmatched_hostname() {
    let rules = "  - backendRefs: [{name: web, port: 8080}]";
    check(
        "unmatched-hostname",
        "spec.hostnames[1]",
        &manifests(
            ONE_LISTENER,
            &route(
                "a",
                "2025-01-01T00:00:00Z",
                "[a.example.com, shop.example.org]",
                rules,
            ),
        ),
        &manifests(
            ONE_LISTENER,
            &route(
                "a",
                "2025-01-01T00:00:00Z",
                "[a.example.com, b.example.com]",
                rules,
            ),
        ),
    );
}

#[test]
fn auth_bypass_exact_admin_caught_by_an_unprotected_prefix() {
    let rules = |catch_all_auth: &str| {
        format!(
            "  - matches: [{{path: {{type: Exact, value: /admin}}}}]
    {AUTH}
    backendRefs: [{{name: web, port: 8080}}]
  - matches: [{{path: {{type: PathPrefix, value: /}}}}]
    {catch_all_auth}
    backendRefs: [{{name: web, port: 8080}}]"
        )
    };
    let f = check(
        "auth-bypass",
        "spec.rules[0].matches[0]",
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("")),
        ),
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules(AUTH)),
        ),
    );
    assert!(f["message"].as_str().unwrap().contains("/admin/"), "{f}");
}

#[test]
fn auth_bypass_protected_prefix_beaten_by_an_unprotected_exact_path() {
    let rules = |exact: &str| {
        format!(
            "  - matches: [{{path: {{type: PathPrefix, value: /admin}}}}]
    {AUTH}
    backendRefs: [{{name: web, port: 8080}}]
  - matches: [{{path: {{type: Exact, value: {exact}}}}}]
    backendRefs: [{{name: web, port: 8080}}]"
        )
    };
    let f = check(
        "auth-bypass",
        "spec.rules[0].matches[0]",
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("/admin/x")),
        ),
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("/public")),
        ),
    );
    assert!(
        f["message"].as_str().unwrap().contains("Exact /admin/x"),
        "{f}"
    );
}

#[test]
fn invalid_regex() {
    let rules = |re: &str| {
        format!(
            "  - matches: [{{path: {{type: RegularExpression, value: '{re}'}}}}]
    backendRefs: [{{name: web, port: 8080}}]
  - backendRefs: [{{name: web, port: 8080}}]"
        )
    };
    check(
        "invalid-regex",
        "spec.rules[0].matches[0].path.value",
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("/a(")),
        ),
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("/a(b)?")),
        ),
    );
}

#[test]
fn load_and_usage_errors_exit_2() {
    let dir = scratch("lint-errors");
    let bad = write(
        &dir,
        "bad.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: [}\n",
    );
    let out = gateway(["lint".as_ref(), bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml"), "{stderr}");

    let ok = write(&dir, "ok.yaml", &manifests(ONE_LISTENER, ""));
    let out = gateway(["lint", "--gateway", "infra/nope", ok.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = gateway(["lint", "--gateway", "infra/gw", ok.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = gateway(["lint"]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

#[test]
fn shadowed_rule_on_a_listener_set_listener() {
    let set_route = |name: &str, created: &str, path: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: infra, creationTimestamp: '{created}'}}
spec:
  parentRefs: [{{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: team}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
    backendRefs: [{{name: web, port: 8080}}]
---
"
        )
    };
    let text = |second_path: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: ours}}
spec: {{controllerName: gateway.example.dev/gateway-core}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: ours
  allowedListeners: {{namespaces: {{from: All}}}}
  listeners:
  - {{name: http, port: 80, protocol: HTTP, hostname: www.example.com}}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XListenerSet
metadata: {{name: team, namespace: infra}}
spec:
  parentRef: {{name: gw}}
  listeners:
  - {{name: team, port: 80, protocol: HTTP, hostname: team.example.com}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: infra}}
spec: {{ports: [{{port: 8080}}]}}
---
{}{}",
            set_route("a", "2025-01-01T00:00:00Z", "/app"),
            set_route("b", "2025-01-02T00:00:00Z", second_path)
        )
    };
    let f = check(
        "shadowed-rule",
        "spec.rules[0].matches[0]",
        &text("/app"),
        &text("/other"),
    );
    assert_eq!(f["resource"]["name"], "b");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("infra/a rule #0 has the same hostnames, path (PathPrefix /app)"),
        "{f}"
    );
}

#[test]
fn ignored_header_match_equivalent_name_in_one_match() {
    let rules = |second: &str| {
        format!(
            "  - matches: [{{path: {{type: PathPrefix, value: /}}, headers: [{{name: X-Env, value: prod}}, {{name: {second}, value: canary}}]}}]
    backendRefs: [{{name: web, port: 8080}}]"
        )
    };
    let f = check(
        "ignored-header-match",
        "spec.rules[0].matches[0].headers[1].name",
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("x-env")),
        ),
        &manifests(
            ONE_LISTENER,
            &route("a", "2025-01-01T00:00:00Z", "[]", &rules("x-tier")),
        ),
    );
    assert!(f["message"].as_str().unwrap().contains("headers[0]"), "{f}");
}

/// Runs `gateway lint --json EXTRA… FILE`; returns the exit code and the finding kinds.
fn lint_with(text: &str, extra: &[&str]) -> (i32, Vec<Value>) {
    let dir = scratch("lint");
    let file = write(&dir, "manifests.yaml", text);
    let mut args: Vec<&std::ffi::OsStr> = vec!["lint".as_ref(), "--json".as_ref()];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    args.push(file.as_os_str());
    let out = gateway(args);
    let findings = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("finding is JSON"))
        .collect();
    (out.status.code().unwrap_or(-1), findings)
}

#[test]
fn path_parameter_bypass_only_where_the_policy_keeps_path_parameters() {
    let text = manifests(
        ONE_LISTENER,
        &route(
            "a",
            "2025-01-01T00:00:00Z",
            "[]",
            "  - matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: web, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 8080}]",
        ),
    );
    let (code, findings) = lint_with(&text, &["--path-parameters", "keep"]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&findings), ["path-parameter-bypass"], "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["field"], "spec.rules[0].matches[0]");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("/admin;x") && message.contains("rule #1"),
        "{f}"
    );
    // The library's default refuses such requests, and stripping routes them to /admin.
    for extra in [
        &[][..],
        &["--path-parameters", "reject"],
        &["--path-parameters", "strip"],
    ] {
        let (code, findings) = lint_with(&text, extra);
        assert_eq!((code, findings), (0, Vec::new()), "{extra:?}");
    }
}

/// An XMesh of ours (the mesh is ours), Service `app/echo` on port 80 named `http`, and an
/// HTTPRoute `NAMESPACE/r` whose parentRef is `PARENT`.
fn mesh_route(namespace: &str, parent: &str) -> String {
    format!(
        "apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XMesh
metadata: {{name: mesh}}
spec: {{controllerName: gateway.example.dev/gateway-core}}
---
apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: app}}
spec: {{ports: [{{name: http, port: 80}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r, namespace: {namespace}}}
spec:
  parentRefs: [{parent}]
  rules:
  - backendRefs: [{{name: echo, namespace: app, port: 80}}]
---
"
    )
}

#[test]
fn unmatched_parent_service_a_missing_service_or_port() {
    let f = check(
        "unmatched-parent-service",
        "spec.parentRefs[0]",
        &mesh_route("app", "{group: '', kind: Service, name: missing}"),
        &mesh_route("app", "{group: '', kind: Service, name: echo, port: 80}"),
    );
    assert!(
        f["message"].as_str().unwrap().contains("does not exist"),
        "{f:#}"
    );
    // A port the Service does not have; a consumer route of another namespace is fine.
    let (_, findings) = lint(&mesh_route(
        "app",
        "{group: '', kind: Service, name: echo, port: 8080}",
    ));
    assert_eq!(
        kinds(&findings)[0],
        "unmatched-parent-service",
        "{findings:#?}"
    );
    let (code, findings) = lint(&mesh_route(
        "client",
        "{group: '', kind: Service, name: echo, namespace: app, sectionName: http}",
    ));
    assert_eq!((code, findings), (0, Vec::new()));
}
