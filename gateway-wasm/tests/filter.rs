//! The proxy-wasm filter (`pkg-filter/gateway_filter.wasm`, built by `gateway-wasm/build.sh`)
//! loaded in the test host (support/host.rs) and driven through real request sequences:
//! configuration, routing with header edits and rewrites, response edits, mirrors, and the
//! local responses (404, 400, redirect, CORS preflight, 500).
#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed host call or a trap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/host.rs"]
mod host;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use gateway_core::plan::authz::proto;
use host::{Vm, header};
use prost::Message as _;
use serde_json::Value;

const MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gw}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: gw
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: "*.example.com"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: edge}]
  hostnames: [app.example.com]
  rules:
  - name: api
    matches: [{path: {type: PathPrefix, value: /api}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-env, value: prod}]
        add: [{name: x-trace, value: gw}]
        remove: [x-secret]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: x-served-by, value: gateway}]
        add: [{name: x-raw, value: added}]
        remove: [server]
    - type: URLRewrite
      urlRewrite:
        hostname: api.internal
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
    backendRefs: [{name: api, port: 8080}]
  - name: old
    matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 301}
  - name: mirrored
    matches: [{path: {type: PathPrefix, value: /mirror}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 9000}}
    backendRefs: [{name: web, port: 8080}]
  - name: cors
    matches: [{path: {type: PathPrefix, value: /cors}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example.com"], allowMethods: [GET]}
    backendRefs: [{name: web, port: 8080}]
  - name: admin
    matches: [{path: {type: PathPrefix, value: /admin}}]
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        backendRef: {name: auth, port: 9001}
        http: {path: /check, allowedHeaders: [x-user], allowedResponseHeaders: [x-auth-user]}
    backendRefs: [{name: web, port: 8080}]
  - name: grpc-admin
    matches: [{path: {type: PathPrefix, value: /grpc-admin}}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: GRPC, grpc: {}, backendRef: {name: auth-grpc, port: 9002}}
    backendRefs: [{name: web, port: 8080}]
  - name: body
    matches: [{path: {type: PathPrefix, value: /body}}]
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        http: {}
        backendRef: {name: auth, port: 9001}
        forwardBody: {maxSize: 100}
    backendRefs: [{name: web, port: 8080}]
  - name: web
    backendRefs: [{name: web, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: shadow, namespace: default}
spec: {ports: [{port: 9000}]}
---
apiVersion: v1
kind: Service
metadata: {name: auth, namespace: default}
spec: {ports: [{port: 9001}]}
---
apiVersion: v1
kind: Service
metadata: {name: auth-grpc, namespace: default}
spec: {ports: [{port: 9002}]}
"#;

fn config(extra: &str) -> String {
    let manifests = serde_json::to_string(MANIFESTS).unwrap();
    format!(r#"{{"manifests": {manifests}, "gateway": "default/edge"{extra}}}"#)
}

/// A configured VM whose connections arrive on port 80.
fn vm() -> Vm {
    let (mut vm, ok) = Vm::configure(&config(""));
    assert!(ok, "{:?}", vm.state().logs);
    let port = 80i64.to_le_bytes().to_vec();
    vm.store
        .data_mut()
        .properties
        .insert("destination\0port".to_owned(), port);
    vm
}

fn get(path: &str) -> Vec<(&str, &str)> {
    vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "app.example.com"),
        (":path", path),
    ]
}

const CONTINUE: i32 = 0;
const PAUSE: i32 = 1;

#[test]
fn configuration_errors_fail_on_configure_with_the_field_path() {
    let invalid = MANIFESTS.replace("value: /api", "value: api");
    let cases = [
        ("not json".to_owned(), "invalid JSON"),
        (
            r#"{"gateway": "default/edge"}"#.to_owned(),
            "missing field `manifests`",
        ),
        (
            r#"{"manifests": "kind: [", "gateway": ""}"#.to_owned(),
            "error",
        ),
        (
            format!(
                r#"{{"manifests": {}}}"#,
                serde_json::to_string(&invalid).unwrap()
            ),
            "spec.rules[0].matches[0].path",
        ),
        (
            config(r#", "backend_header": "bad header""#),
            "is not a header name",
        ),
        (config(r#", "unknown": 1"#), "unknown field"),
        (
            config("").replace("default/edge", "default/nope"),
            "no Gateway default/nope",
        ),
    ];
    for (config, expected) in cases {
        let (vm, ok) = Vm::configure(&config);
        assert!(!ok, "{config}");
        let logs: Vec<&str> = vm.state().logs.iter().map(|(_, m)| m.as_str()).collect();
        assert!(
            logs.iter().any(|m| m.contains(expected)),
            "{expected}: {logs:?}"
        );
    }
}

#[test]
fn forward_applies_rewrites_and_header_edits_and_names_the_backend() {
    let mut vm = vm();
    let mut headers = get("/api/items?q=1");
    headers.extend([
        ("x-secret", "s"),
        ("x-gateway-backend", "evil"),
        ("x-trace", "client"),
    ]);
    let (ctx, action) = vm.request(&headers);
    assert_eq!(action, CONTINUE);
    let s = vm.state();
    assert!(s.local_response.is_none());
    let sent = &s.request_headers;
    assert_eq!(header(sent, ":path"), Some("/v2/items?q=1"));
    assert_eq!(header(sent, ":authority"), Some("api.internal"));
    assert_eq!(header(sent, ":method"), Some("GET"));
    assert_eq!(header(sent, "x-env"), Some("prod"));
    assert_eq!(header(sent, "x-trace"), Some("client,gw"));
    assert_eq!(header(sent, "x-secret"), None);
    let backend: Vec<_> = sent
        .iter()
        .filter(|(k, _)| k == "x-gateway-backend")
        .collect();
    assert_eq!(backend.len(), 1, "the client's own value is dropped");
    assert_eq!(header(sent, "x-gateway-backend"), Some("default/api:8080"));

    let raw: &[u8] = b"\xffraw";
    let action = vm.response(
        ctx,
        &[(":status", b"200"), ("server", b"envoy"), ("x-raw", raw)],
    );
    assert_eq!(action, CONTINUE);
    let got = &vm.state().response_headers;
    assert_eq!(header(got, "x-served-by"), Some("gateway"));
    assert_eq!(header(got, "server"), None);
    let x_raw = got
        .iter()
        .find(|(k, _)| k == "x-raw")
        .map(|(_, v)| v.as_slice());
    assert_eq!(
        x_raw,
        Some(&b"\xffraw,added"[..]),
        "bytes that are not UTF-8 survive"
    );
}

/// `RequestEdits::authority` is `None` without a URLRewrite hostname: the authority goes as
/// received, port included (the corpus's `foo.com:8080` and mesh `echo:7070` requests expect
/// that Host at the backend), not the canonical host the request was routed on.
#[test]
fn forwarded_authority_keeps_the_received_port_unless_rewritten() {
    let mut vm = vm();
    for (path, sent, forwarded) in [
        ("/", "app.example.com:8080", "app.example.com:8080"),
        ("/", "app.example.com", "app.example.com"),
        ("/api/x", "app.example.com:8080", "api.internal"),
    ] {
        let mut headers = get(path);
        headers[2] = (":authority", sent);
        let (_, action) = vm.request(&headers);
        assert_eq!(action, CONTINUE, "{sent}{path}");
        let got = header(&vm.state().request_headers, ":authority");
        assert_eq!(got, Some(forwarded), "{sent}{path}");
    }
    let mut sidecar = sidecar("other");
    let mut headers = mesh_get("/v1");
    headers[2] = (":authority", "api.backend:80");
    let (_, action) = to_destination(&mut sidecar, b"10.96.0.10:80", None, &headers);
    assert_eq!(action, CONTINUE);
    let sent = &sidecar.state().request_headers;
    assert_eq!(header(sent, ":authority"), Some("api.backend:80"));
}

#[test]
fn cluster_template_and_fixed_port() {
    let cluster = r#", "cluster": "outbound|{port}||{name}.{namespace}.svc.cluster.local", "port": 80, "backend_header": "X-Cluster""#;
    let (mut vm, ok) = Vm::configure(&config(cluster));
    assert!(ok);
    // No destination.port property: the configured port selects the listener.
    let (_, action) = vm.request(&get("/"));
    assert_eq!(action, CONTINUE);
    let cluster = header(&vm.state().request_headers, "x-cluster");
    assert_eq!(
        cluster,
        Some("outbound|8080||web.default.svc.cluster.local")
    );
}

#[test]
fn unknown_connection_port_fails_closed() {
    let (mut vm, ok) = Vm::configure(&config(""));
    assert!(ok);
    let (_, action) = vm.request(&get("/"));
    assert_eq!(action, PAUSE);
    assert_eq!(vm.state().local_response.as_ref().map(|r| r.0), Some(500));
}

#[test]
fn local_responses_not_found_bad_request_redirect_and_unsupported_forward_body() {
    let mut vm = vm();
    let mut other = get("/");
    other[2] = (":authority", "other.test");
    let cases: [(Vec<(&str, &str)>, u32); 4] = [
        (other, 404),
        (get("/a%2Fb"), 400),
        (get("/old/page"), 301),
        (get("/body"), 500),
    ];
    for (headers, status) in cases {
        let (_, action) = vm.request(&headers);
        assert_eq!(action, PAUSE, "{headers:?}");
        let (got, response) = vm.state().local_response.clone().expect("a local response");
        assert_eq!(got, status, "{headers:?}");
        if status == 301 {
            assert_eq!(
                header(&response, "location"),
                Some("https://app.example.com/old/page")
            );
        }
    }
}

#[test]
fn request_header_that_is_not_utf8_is_rejected() {
    let mut vm = vm();
    let ctx = 7;
    let headers: Vec<(String, Vec<u8>)> = get("/")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
        .chain([("x-bin".to_owned(), b"\xff".to_vec())])
        .collect();
    vm.store.data_mut().request_headers = headers;
    vm.call::<(i32, i32), ()>("proxy_on_context_create", (ctx, 1));
    let action = vm.call::<(i32, i32, i32), i32>("proxy_on_request_headers", (ctx, 5, 1));
    assert_eq!(action, PAUSE);
    assert_eq!(vm.state().local_response.as_ref().map(|r| r.0), Some(400));
}

#[test]
fn cors_preflight_is_answered_locally() {
    let mut vm = vm();
    let mut headers = get("/cors");
    headers[0] = (":method", "OPTIONS");
    headers.extend([
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "GET"),
    ]);
    let (_, action) = vm.request(&headers);
    assert_eq!(action, PAUSE);
    let (status, response) = vm.state().local_response.clone().expect("a local response");
    assert_eq!(status, 200);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
}

#[test]
fn mirrors_get_a_copy_and_their_answers_are_ignored() {
    let mut vm = vm();
    let (ctx, action) = vm.request(&get("/mirror/x"));
    assert_eq!(action, CONTINUE);
    let calls = vm.state().calls.clone();
    assert_eq!(calls.len(), 1);
    let (token, upstream, headers, timeout) = &calls[0];
    assert_eq!(upstream, "default/shadow:9000");
    assert_eq!(header(headers, ":path"), Some("/mirror/x"));
    assert_eq!(header(headers, "x-gateway-backend"), None);
    assert_eq!(*timeout, 1000);
    assert_eq!(
        header(&vm.state().request_headers, "x-gateway-backend"),
        Some("default/web:8080")
    );
    vm.call_response(ctx, *token, &[(":status", "500")], b"ignored");
    assert!(vm.state().local_response.is_none());
    assert_eq!(vm.response(ctx, &[(":status", b"200")]), CONTINUE);
}

#[test]
fn many_streams_share_one_configuration() {
    let mut vm = vm();
    for i in 0..200 {
        let path = format!("/api/{i}");
        let (_, action) = vm.request(&get(&path));
        assert_eq!(action, CONTINUE);
        assert_eq!(
            header(&vm.state().request_headers, ":path"),
            Some(format!("/v2/{i}").as_str())
        );
    }
}

// === external auth ===

/// Sends `/admin/x` with credentials; returns the stream and the dispatched call's token.
fn http_auth_request(vm: &mut Vm) -> (i32, u32) {
    let mut headers = get("/admin/x?y=1");
    headers.extend([
        ("authorization", "Bearer t"),
        ("x-user", "u"),
        ("x-other", "o"),
    ]);
    let (ctx, action) = vm.request(&headers);
    assert_eq!(action, PAUSE, "waits for the auth service");
    assert!(vm.state().local_response.is_none());
    let (token, upstream, sent, timeout) = vm.state().calls.last().cloned().unwrap();
    assert_eq!(upstream, "default/auth:9001");
    assert_eq!(timeout, 1000);
    assert_eq!(header(&sent, ":method"), Some("GET"));
    assert_eq!(header(&sent, ":path"), Some("/check/admin/x?y=1"));
    assert_eq!(header(&sent, ":authority"), Some("app.example.com"));
    assert_eq!(header(&sent, "authorization"), Some("Bearer t"));
    assert_eq!(header(&sent, "x-user"), Some("u"));
    assert_eq!(header(&sent, "x-other"), None, "only the allowed headers");
    (ctx, token)
}

#[test]
fn http_auth_allows_and_its_headers_reach_the_backend() {
    let mut vm = vm();
    let (ctx, token) = http_auth_request(&mut vm);
    let answer = [
        (":status", "200"),
        ("x-auth-user", "alice"),
        ("x-not-allowed", "1"),
    ];
    vm.call_response(ctx, token, &answer, b"");
    let s = vm.state();
    assert!(s.local_response.is_none());
    assert_eq!(s.continued, 1, "the request is resumed");
    assert_eq!(header(&s.request_headers, "x-auth-user"), Some("alice"));
    assert_eq!(header(&s.request_headers, "x-not-allowed"), None);
    assert_eq!(
        header(&s.request_headers, "x-gateway-backend"),
        Some("default/web:8080")
    );
    assert_eq!(header(&s.request_headers, ":path"), Some("/admin/x?y=1"));
}

#[test]
fn http_auth_denial_goes_back_to_the_client() {
    let mut vm = vm();
    let (ctx, token) = http_auth_request(&mut vm);
    let answer = [(":status", "401"), ("www-authenticate", "Bearer")];
    vm.call_response(ctx, token, &answer, b"no");
    let s = vm.state();
    assert_eq!(s.continued, 0, "never forwarded");
    let (status, headers) = s.local_response.clone().expect("the denial");
    assert_eq!(status, 401);
    assert_eq!(header(&headers, "www-authenticate"), Some("Bearer"));
    assert_eq!(header(&s.request_headers, "x-gateway-backend"), None);
}

#[test]
fn http_auth_timeout_fails_closed_with_the_configured_status() {
    for (extra, status) in [("", 403), (r#", "auth_failure_status": 503"#, 503)] {
        let (mut vm, ok) = Vm::configure(&config(extra));
        assert!(ok);
        let port = 80i64.to_le_bytes().to_vec();
        vm.store
            .data_mut()
            .properties
            .insert("destination\0port".to_owned(), port);
        let (ctx, token) = http_auth_request(&mut vm);
        // A failed or timed-out call is delivered without headers.
        vm.call_response(ctx, token, &[], b"");
        assert_eq!(vm.state().continued, 0);
        assert_eq!(
            vm.state().local_response.as_ref().map(|r| r.0),
            Some(status)
        );
    }
}

/// Sends `/grpc-admin`; returns the stream and the token of the gRPC check.
fn grpc_auth_request(vm: &mut Vm) -> (i32, u32) {
    let mut headers = get("/grpc-admin/x");
    headers.push(("x-user", "u"));
    let (ctx, action) = vm.request(&headers);
    assert_eq!(action, PAUSE);
    let (token, upstream, service, method, message, _) =
        vm.state().grpc_calls.last().cloned().unwrap();
    assert_eq!(upstream, "default/auth-grpc:9002");
    assert_eq!(
        (service.as_str(), method.as_str()),
        ("envoy.service.auth.v3.Authorization", "Check")
    );
    let check = proto::CheckRequest::decode(message.as_slice()).unwrap();
    let http = check.attributes.unwrap().request.unwrap().http.unwrap();
    assert_eq!(http.path, "/grpc-admin/x");
    assert_eq!(http.host, "app.example.com");
    assert_eq!(http.headers.get("x-user").map(String::as_str), Some("u"));
    (ctx, token)
}

fn header_option(key: &str, value: &str) -> proto::HeaderValueOption {
    proto::HeaderValueOption {
        header: Some(proto::HeaderValue {
            key: key.to_owned(),
            value: value.to_owned(),
            raw_value: Vec::new(),
        }),
        append: None,
        append_action: proto::append_action::OVERWRITE_IF_EXISTS_OR_ADD,
        keep_empty_value: false,
    }
}

#[test]
fn grpc_auth_allows_with_header_mutations() {
    let mut vm = vm();
    let (ctx, token) = grpc_auth_request(&mut vm);
    let ok = proto::OkHttpResponse {
        headers: vec![header_option("x-auth-user", "alice")],
        headers_to_remove: vec!["x-user".to_owned()],
        ..proto::OkHttpResponse::default()
    };
    let answer = proto::CheckResponse {
        status: Some(proto::Status {
            code: proto::code::OK,
            message: String::new(),
        }),
        http_response: Some(proto::HttpResponse::OkResponse(ok)),
    };
    vm.grpc_response(ctx, token, 0, &answer.encode_to_vec());
    let s = vm.state();
    assert!(s.local_response.is_none(), "{:?}", s.local_response);
    assert_eq!(s.continued, 1);
    assert_eq!(header(&s.request_headers, "x-auth-user"), Some("alice"));
    assert_eq!(header(&s.request_headers, "x-user"), None);
    assert_eq!(
        header(&s.request_headers, "x-gateway-backend"),
        Some("default/web:8080")
    );
}

#[test]
fn grpc_auth_denial_and_timeout_are_answered_locally() {
    let mut vm = vm();
    let (ctx, token) = grpc_auth_request(&mut vm);
    let denied = proto::DeniedHttpResponse {
        status: Some(proto::HttpStatus { code: 451 }),
        headers: vec![header_option("x-why", "policy")],
        body: "denied".to_owned(),
    };
    let answer = proto::CheckResponse {
        status: Some(proto::Status {
            code: proto::code::PERMISSION_DENIED,
            message: String::new(),
        }),
        http_response: Some(proto::HttpResponse::DeniedResponse(denied)),
    };
    vm.grpc_response(ctx, token, 0, &answer.encode_to_vec());
    let (status, headers) = vm.state().local_response.clone().expect("the denial");
    assert_eq!(status, 451);
    assert_eq!(header(&headers, "x-why"), Some("policy"));

    for (close, expected) in [(4, 403), (14, 403)] {
        let (ctx, token) = grpc_auth_request(&mut vm);
        // DEADLINE_EXCEEDED (timeout), UNAVAILABLE: the call closes without a message.
        vm.grpc_response(ctx, token, close, b"");
        assert_eq!(
            vm.state().local_response.as_ref().map(|r| r.0),
            Some(expected)
        );
    }
    let (ctx, token) = grpc_auth_request(&mut vm);
    vm.grpc_response(ctx, token, 0, b"\xff\xff not protobuf");
    assert_eq!(
        vm.state().local_response.as_ref().map(|r| r.0),
        Some(403),
        "malformed"
    );
    assert_eq!(vm.state().continued, 0);
}

// Sidecar mode: the mesh router, the original destination from the host's properties.

const MESH: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: api, namespace: backend}
spec:
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10, "fd00::10"]
  ports: [{name: http, port: 80}, {name: admin, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api-v2, namespace: backend}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: api-canary, namespace: app}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: producer, namespace: backend}
spec:
  parentRefs: [{group: "", kind: Service, name: api, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-mesh, value: producer}], remove: [x-secret]}
    backendRefs: [{name: api-v2, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /moved}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /v1}, statusCode: 302}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: consumer, namespace: app}
spec:
  parentRefs: [{group: "", kind: Service, name: api, namespace: backend, port: 80}]
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-mesh, value: consumer}]}
    backendRefs: [{name: api-canary, port: 8080}]
"#;

fn sidecar_config(manifests: &str, namespace: &str) -> String {
    let manifests = serde_json::to_string(manifests).unwrap();
    format!(
        r#"{{"mode": "sidecar", "namespace": "{namespace}", "mesh": true, "manifests": {manifests}}}"#
    )
}

fn sidecar(namespace: &str) -> Vm {
    let (vm, ok) = Vm::configure(&sidecar_config(MESH, namespace));
    assert!(ok, "{:?}", vm.state().logs);
    vm
}

/// Sends a request whose connection's original destination is `address` (the
/// `destination.address` property) and `port` (`destination.port`, absent when `None`).
fn to_destination(
    vm: &mut Vm,
    address: &[u8],
    port: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> (i32, i32) {
    let properties = &mut vm.store.data_mut().properties;
    properties.insert("destination\0address".to_owned(), address.to_vec());
    match port {
        Some(port) => properties.insert("destination\0port".to_owned(), port.to_vec()),
        None => properties.remove("destination\0port"),
    };
    vm.request(headers)
}

fn mesh_get(path: &str) -> Vec<(&str, &str)> {
    vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "api.backend"),
        (":path", path),
        ("x-mesh", "client"),
        ("x-secret", "s"),
    ]
}

fn le(port: i64) -> Vec<u8> {
    port.to_le_bytes().to_vec()
}

#[test]
fn sidecar_configuration_errors_name_the_field() {
    let manifests = serde_json::to_string(MESH).unwrap();
    let cases = [
        (
            format!(r#"{{"mode": "sidecar", "mesh": true, "manifests": {manifests}}}"#),
            "namespace is required",
        ),
        (
            format!(r#"{{"mode": "sidecar", "namespace": "", "manifests": {manifests}}}"#),
            "namespace is required",
        ),
        (
            format!(r#"{{"mode": "proxy", "namespace": "app", "manifests": {manifests}}}"#),
            "mode \"proxy\" is unknown",
        ),
        (
            sidecar_config(MESH, "app").replace(r#""mesh": true"#, r#""gateway": "default/edge""#),
            "gateway is not used",
        ),
        (
            sidecar_config(MESH, "app").replace(r#""mesh": true"#, r#""port": 80"#),
            "port is not used",
        ),
        (
            config(r#", "namespace": "app""#),
            "namespace is only for mode",
        ),
        (config(r#", "mesh": true"#), "mesh is only for mode"),
        (
            sidecar_config(MESH, "app").replace(r#", "mesh": true"#, ""),
            "the mesh is not ours",
        ),
    ];
    for (config, expected) in cases {
        let (vm, ok) = Vm::configure(&config);
        assert!(!ok, "{config}");
        let logs: Vec<&str> = vm.state().logs.iter().map(|(_, m)| m.as_str()).collect();
        assert!(
            logs.iter().any(|m| m.contains(expected)),
            "{expected}: {logs:?}"
        );
    }
}

#[test]
fn sidecar_routes_a_service_cluster_ip_by_the_producer_route() {
    let mut vm = sidecar("other");
    let (_, action) = to_destination(&mut vm, b"10.96.0.10:80", Some(&le(80)), &mesh_get("/v1/x"));
    assert_eq!(action, CONTINUE);
    let s = vm.state();
    assert!(s.local_response.is_none());
    let sent = &s.request_headers;
    assert_eq!(header(sent, "x-mesh"), Some("producer"));
    assert_eq!(header(sent, "x-secret"), None);
    assert_eq!(header(sent, ":path"), Some("/v1/x"));
    assert_eq!(
        header(sent, "x-gateway-backend"),
        Some("backend/api-v2:8080")
    );

    // The redirect and the 404 of the producer route's rules are answered locally.
    let (_, action) = to_destination(&mut vm, b"10.96.0.10:80", None, &mesh_get("/moved"));
    assert_eq!(action, PAUSE);
    let (status, headers) = vm.state().local_response.clone().expect("the redirect");
    assert_eq!(status, 302);
    assert_eq!(header(&headers, "location"), Some("http://api.backend/v1"));
    let (_, action) = to_destination(&mut vm, b"10.96.0.10:80", None, &mesh_get("/nothing"));
    assert_eq!(action, PAUSE);
    assert_eq!(vm.state().local_response.as_ref().map(|r| r.0), Some(404));
}

#[test]
fn sidecar_consumer_route_applies_to_its_own_namespace_only() {
    let mut app = sidecar("app");
    let (_, action) = to_destination(&mut app, b"10.96.0.10:80", Some(&le(80)), &mesh_get("/v1"));
    assert_eq!(action, CONTINUE);
    let sent = &app.state().request_headers;
    assert_eq!(header(sent, "x-mesh"), Some("consumer"));
    assert_eq!(
        header(sent, "x-gateway-backend"),
        Some("app/api-canary:8080")
    );

    // The producer's namespace, and any other: the producer route.
    for namespace in ["backend", "elsewhere"] {
        let mut vm = sidecar(namespace);
        let (_, action) = to_destination(&mut vm, b"10.96.0.10:80", None, &mesh_get("/v1"));
        assert_eq!(action, CONTINUE, "{namespace}");
        let sent = &vm.state().request_headers;
        assert_eq!(header(sent, "x-mesh"), Some("producer"), "{namespace}");
    }
}

#[test]
fn sidecar_passes_through_a_pod_ip_and_a_port_without_routes_unchanged() {
    let mut vm = sidecar("app");
    let request = mesh_get("/v1/../x");
    let unchanged: Vec<(String, Vec<u8>)> = request
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    let cases: [(&[u8], Option<Vec<u8>>); 3] = [
        (b"10.244.1.5:80", Some(le(80))),     // a pod IP
        (b"10.96.0.10:8080", Some(le(8080))), // a Service port without routes
        (b"10.96.0.10:443", None),            // not a Service port at all
    ];
    for (address, port) in cases {
        let (_, action) = to_destination(&mut vm, address, port.as_deref(), &request);
        let s = vm.state();
        assert_eq!(action, CONTINUE, "{address:?}");
        assert!(s.local_response.is_none(), "{address:?}");
        assert_eq!(s.request_headers, unchanged, "{address:?}");
    }
}

#[test]
fn sidecar_reads_ipv6_destinations() {
    let mut vm = sidecar("other");
    for address in [&b"[fd00::10]:80"[..], b"[::ffff:10.96.0.10]:80"] {
        let (_, action) = to_destination(&mut vm, address, Some(&le(80)), &mesh_get("/v1"));
        assert_eq!(action, CONTINUE, "{address:?}");
        let sent = &vm.state().request_headers;
        assert_eq!(header(sent, "x-mesh"), Some("producer"), "{address:?}");
    }
    let (_, action) = to_destination(&mut vm, b"[fd00::99]:80", None, &mesh_get("/v1"));
    assert_eq!(action, CONTINUE);
    assert_eq!(
        header(&vm.state().request_headers, "x-mesh"),
        Some("client")
    );
}

#[test]
fn sidecar_fails_closed_on_a_malformed_destination() {
    let mut vm = sidecar("app");
    /// `destination.address`, `destination.port`, what the log says.
    type Case<'a> = (Option<&'a [u8]>, Option<Vec<u8>>, &'a str);
    let cases: [Case<'_>; 7] = [
        (None, Some(le(80)), "no destination.address"),
        (Some(b"10.96.0.10"), None, "is not ip:port"),
        (Some(b"fd00::10:80"), None, "is not ip:port"),
        (Some(b"api.backend:80"), None, "is not ip:port"),
        (Some(b"\xff:80"), None, "not UTF-8"),
        (Some(b"10.96.0.10:80"), Some(le(81)), "is not the port of"),
        (Some(b"10.96.0.10:80"), Some(vec![80, 0]), "is not a port"),
    ];
    for (address, port, why) in cases {
        let properties = &mut vm.store.data_mut().properties;
        properties.clear();
        if let Some(address) = address {
            properties.insert("destination\0address".to_owned(), address.to_vec());
        }
        if let Some(port) = port {
            properties.insert("destination\0port".to_owned(), port);
        }
        vm.store.data_mut().logs.clear();
        let (_, action) = vm.request(&mesh_get("/v1"));
        assert_eq!(action, PAUSE, "{why}");
        assert_eq!(
            vm.state().local_response.as_ref().map(|r| r.0),
            Some(500),
            "{why}"
        );
        let logs: Vec<&str> = vm.state().logs.iter().map(|(_, m)| m.as_str()).collect();
        assert!(logs.iter().any(|m| m.contains(why)), "{why}: {logs:?}");
    }
}

// === mesh conformance parity ===

/// The address a Pod the client addresses by IP (`{POD_IP}`) gets, as in `gateway replay`
/// (gateway-cli/src/replay/mesh.rs): a documentation address (RFC 5737) no Service has, so no
/// route applies.
const POD_ADDRESS: &str = "192.0.2.200";

/// The namespace of the corpus's mesh Services (mesh/manifests.yaml).
const MESH_NAMESPACE: &str = "gateway-conformance-mesh";

/// Case fields the corpus records wrongly, with its own explanation: `(case, subtest, why)`.
/// Each is checked to be still wrong, so a corrected corpus is noticed.
const KNOWN_WRONG_BACKEND_PATHS: [(&str, &str, &str); 1] = [(
    "MeshHTTPRouteNamedRule",
    "1 request to '/unnamed' should go to echo-v2",
    "the case's notes: the rule does not rewrite, upstream does not compare the path",
)];

/// Every mesh conformance case (`cases-mesh/`) through the sidecar filter, compared with the
/// Rust mesh router's decision for the same request (`route_mesh` by address, then `plan`) and
/// with the case's expectations. The corpus Services have no cluster IPs: the test gives each
/// Service of the mesh namespace one and sends each request to the IP of its destination.
/// Weighted rules: the filter draws its own random value, so its backend must be one the Rust
/// plan draws for some value, and over the case's samples every such backend must be reached.
#[test]
fn sidecar_parity_with_route_mesh_on_mesh_conformance_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("cases-mesh"))
        .expect("the conformance corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 15, "the v1.4.1 corpus has 15 mesh cases");
    let backends: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("mesh-backends.json")).unwrap())
            .unwrap();
    let mut ips = ClusterIps::default();
    let (mut compared, mut skipped) = (0usize, 0usize);
    // Requests sent through the filter, by what it did.
    let mut sends: BTreeMap<&'static str, usize> = BTreeMap::new();
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap();
        let manifests = ips.manifests(&dir, &case);
        let mut options = gateway_wasm::CompileOptions::default();
        options.mesh = Some(true);
        let router =
            gateway_wasm::compile(manifests.as_bytes(), &gateway_core::Target::Mesh, &options)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .router;
        let mut vms: HashMap<String, Vm> = HashMap::new();
        for (i, r) in case["requests"].as_array().unwrap().iter().enumerate() {
            let id = format!("{name} #{i} {:?}", r["subtest"].as_str().unwrap_or(""));
            // None in v1.4.1: the mesh cases have no mutations, and all are expressed.
            let skip = if !r["unexpressed"].is_null() {
                Some("the corpus could not express this request")
            } else if r["phase"] != 0 {
                Some("the request follows a mutation, which this test does not apply")
            } else {
                None
            };
            if let Some(why) = skip {
                println!("skipped {id}: {why}");
                skipped += 1;
                continue;
            }
            let rq = MeshRequest::from_case(r, &ips, &id);
            let vm = vms
                .entry(rq.client.clone())
                .or_insert_with(|| sidecar_with(&manifests, &rq.client));
            let check = MeshCheck {
                id: &id,
                case: name,
                r,
                backends: &backends,
            };
            check.run(&router, vm, &rq, &mut sends);
            compared += 1;
        }
    }
    println!(
        "proxy-wasm sidecar: {compared} mesh requests compared over {} cases, {skipped} skipped",
        files.len()
    );
    println!("proxy-wasm sidecar: sent through the filter {sends:?}");
    assert_eq!(
        compared + skipped,
        57,
        "the v1.4.1 corpus has 57 mesh requests"
    );
}

/// Cluster IPs the test gives the corpus Services of the mesh namespace, one each, distinct.
#[derive(Default)]
struct ClusterIps(BTreeMap<String, IpAddr>);

impl ClusterIps {
    /// The case's manifests as one text, each Service of the mesh namespace given its cluster
    /// IP (`spec.clusterIP`, added after `spec:`).
    fn manifests(&mut self, dir: &Path, case: &Value) -> String {
        use gateway_core::api::{LoadOptions, Resource, Snapshot};
        let mut text = String::new();
        for file in case["manifests"].as_array().unwrap() {
            let file = dir.join("manifests").join(file.as_str().unwrap());
            text.push_str(&std::fs::read_to_string(file).unwrap());
            text.push_str("\n---\n");
        }
        let loaded = Snapshot::load(text.as_bytes(), &LoadOptions::default()).unwrap();
        let services: Vec<String> = loaded
            .snapshot
            .objects
            .iter()
            .filter_map(|o| match &o.resource {
                Resource::Service(s) if s.metadata.namespace.as_deref() == Some(MESH_NAMESPACE) => {
                    Some(s.metadata.name.clone())
                }
                _ => None,
            })
            .collect();
        assert!(!services.is_empty(), "{}: no mesh Services", case["name"]);
        for name in services {
            let next = std::net::Ipv4Addr::new(10, 96, 1, 1 + u8::try_from(self.0.len()).unwrap());
            let ip = *self.0.entry(name.clone()).or_insert(next.into());
            assert_ne!(ip.to_string(), POD_ADDRESS);
            let from = format!(
                "kind: Service\nmetadata:\n  name: {name}\n  namespace: {MESH_NAMESPACE}\nspec:\n"
            );
            assert_eq!(
                text.matches(&from).count(),
                1,
                "{}: Service {name}",
                case["name"]
            );
            text = text.replace(&from, &format!("{from}  clusterIP: {ip}\n"));
        }
        text
    }

    fn of(&self, service: &str) -> IpAddr {
        *self
            .0
            .get(service)
            .unwrap_or_else(|| panic!("no cluster IP for {service}"))
    }
}

/// A case's request as the client pod sends it, and where.
struct MeshRequest {
    /// The client's namespace: the sidecar's.
    client: String,
    /// The original destination: a Service's cluster IP, or [`POD_ADDRESS`].
    ip: IpAddr,
    port: u16,
    /// The destination Service `(namespace, name)`, or `None` for a Pod.
    service: Option<(String, String)>,
    method: String,
    authority: String,
    target: String,
    /// Lower-case names, as an HTTP/2 host hands them to the filter.
    headers: Vec<(String, String)>,
    grpc: bool,
}

impl MeshRequest {
    /// The request of a case, as `gateway replay` builds it: Host `request.host` (`echo` when
    /// empty, `{POD_IP}` replaced) unless the headers give one; gRPC as `POST /service/method`
    /// with `content-type: application/grpc` over HTTP/2.
    fn from_case(r: &Value, ips: &ClusterIps, id: &str) -> Self {
        fn text(v: &Value) -> String {
            match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
                other => other.to_string(),
            }
        }
        let rq = &r["request"];
        let port = u16::try_from(r["port"].as_u64().unwrap()).unwrap();
        let to = &r["destination"];
        let (ip, service) = match to["kind"].as_str() {
            Some("Service") => {
                let name = to["name"].as_str().unwrap();
                assert_eq!(to["namespace"], MESH_NAMESPACE, "{id}");
                (
                    ips.of(name),
                    Some((MESH_NAMESPACE.to_owned(), name.to_owned())),
                )
            }
            Some("Pod") => (POD_ADDRESS.parse().unwrap(), None),
            other => panic!("{id}: destination kind {other:?}"),
        };
        let host = rq["host"]
            .as_str()
            .unwrap_or("echo")
            .replace("{POD_IP}", POD_ADDRESS);
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut authority = host;
        for (k, v) in rq["headers"].as_object().into_iter().flatten() {
            let k = k.to_ascii_lowercase();
            if k == "host" {
                authority = text(v); // replaces the Host header only
            } else {
                headers.push((k, text(v)));
            }
        }
        let grpc = &r["grpc"];
        let (method, target) = if grpc.is_object() {
            headers.insert(
                0,
                ("content-type".to_owned(), "application/grpc".to_owned()),
            );
            for (k, v) in grpc["metadata"].as_object().into_iter().flatten() {
                headers.push((k.to_ascii_lowercase(), text(v)));
            }
            let path = format!("/{}/{}", text(&grpc["service"]), text(&grpc["method"]));
            assert_eq!(rq["path"].as_str(), Some(path.as_str()), "{id}");
            ("POST".to_owned(), path)
        } else {
            let path = rq["path"].as_str().unwrap_or("/");
            let path = if path.is_empty() { "/" } else { path };
            (
                rq["method"].as_str().unwrap_or("GET").to_owned(),
                path.to_owned(),
            )
        };
        Self {
            client: r["client"]["namespace"].as_str().unwrap().to_owned(),
            ip,
            port,
            service,
            method,
            authority,
            target,
            headers,
            grpc: grpc.is_object(),
        }
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The request as the host hands it to the filter: pseudo-headers, then the headers.
    fn wire(&self) -> Vec<(&str, &str)> {
        let mut out = vec![
            (":method", self.method.as_str()),
            (":scheme", "http"),
            (":authority", self.authority.as_str()),
            (":path", self.target.as_str()),
        ];
        out.extend(self.pairs());
        out
    }

    /// Sends it through the filter once; returns the action.
    fn send(&self, vm: &mut Vm) -> (i32, i32) {
        let protocol: &[u8] = if self.grpc { b"HTTP/2" } else { b"HTTP/1.1" };
        vm.store
            .data_mut()
            .properties
            .insert("request\0protocol".to_owned(), protocol.to_vec());
        let address = std::net::SocketAddr::new(self.ip, self.port).to_string();
        let port = le(self.port.into());
        to_destination(vm, address.as_bytes(), Some(&port), &self.wire())
    }
}

/// What the Rust mesh router and plan say for one request, for one random draw.
#[derive(Clone, Debug, PartialEq)]
enum MeshExpected {
    Forward {
        cluster: String,
        path: String,
        /// A URLRewrite hostname, else the authority as received (`RequestEdits::apply`
        /// leaves it).
        authority: String,
        headers: Vec<(String, String)>,
        /// The response headers after the plan's edits, for a backend answering `:status 200`.
        response: Vec<(String, String)>,
    },
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
    },
    PassThrough,
}

impl MeshExpected {
    /// The key the filter's result is looked up by: the backend's cluster, the status, or
    /// pass-through.
    fn key(&self) -> String {
        match self {
            Self::Forward { cluster, .. } => cluster.clone(),
            Self::Respond { status, .. } => format!("status {status}"),
            Self::PassThrough => "pass-through".to_owned(),
        }
    }
}

/// Every result the Rust router and plan give `rq` over random draws spread across `u64`
/// (one per backend of a weighted rule), by [`MeshExpected::key`].
fn rust_mesh_results(
    router: &gateway_core::route::Router,
    rq: &MeshRequest,
    id: &str,
) -> BTreeMap<String, MeshExpected> {
    use gateway_core::plan::{Plan, plan};
    use gateway_core::request::{Headers, HttpVersion, RequestView};
    use gateway_core::route::{Destination, MeshRoute};

    let pairs = rq.pairs();
    let version = if rq.grpc {
        HttpVersion::Http2
    } else {
        HttpVersion::Http11
    };
    let view = RequestView::new(&rq.method, rq.target.as_bytes(), Headers::Pairs(&pairs))
        .scheme("http")
        .port(rq.port)
        .authority(Some(&rq.authority))
        .version(version);
    let by_address = router.route_mesh(&view, &rq.client, &Destination::address(rq.ip, rq.port));
    // The cluster IP the test gave stands for the Service: routing by name agrees.
    if let Some((ns, name)) = &rq.service {
        let by_name =
            router.route_mesh(&view, &rq.client, &Destination::service(ns, name, rq.port));
        assert_eq!(
            by_address.outcome(),
            by_name.outcome(),
            "{id}: by address, by name"
        );
    }
    let mut out = BTreeMap::new();
    let d = match by_address {
        MeshRoute::Routed(d) => d,
        MeshRoute::PassThrough(_) => {
            out.insert("pass-through".to_owned(), MeshExpected::PassThrough);
            return out;
        }
        other => panic!("{id}: {other:?}"),
    };
    let (received, query) = match rq.target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rq.target.as_str(), None),
    };
    for k in 0..=64u64 {
        let random = k.saturating_mul(u64::MAX / 64);
        let expected = match plan(&d, &view, random) {
            Plan::Forward(fp) => {
                let b = fp.backend;
                // RequestEdits: `path` None forwards the received path; the query as received.
                let path = fp.request.path.as_deref().unwrap_or(received);
                let path = match query {
                    Some(q) => format!("{path}?{q}"),
                    None => path.to_owned(),
                };
                let status = vec![(":status".to_owned(), "200".to_owned())];
                MeshExpected::Forward {
                    cluster: format!("{}/{}:{}", b.namespace, b.name, b.port),
                    path,
                    authority: fp
                        .request
                        .authority
                        .clone()
                        .unwrap_or_else(|| rq.authority.clone()),
                    headers: fp.request.headers.apply_to_pairs(&rq.headers),
                    response: fp.response.apply_to_pairs(&status),
                }
            }
            Plan::Respond(local) => MeshExpected::Respond {
                status: local.status,
                headers: local.headers.clone(),
            },
            other => panic!("{id}: {other:?}"),
        };
        let previous = out.insert(expected.key(), expected.clone());
        assert!(
            previous.is_none_or(|p| p == expected),
            "{id}: one backend, one plan"
        );
    }
    // The backends drawn are exactly the rule's valid backends with a weight.
    if out
        .values()
        .any(|e| matches!(e, MeshExpected::Forward { .. }))
    {
        let weighted: BTreeSet<String> = d
            .backends()
            .iter()
            .filter(|w| w.weight > 0)
            .filter_map(|w| w.backend.as_ref())
            .map(|b| format!("{}/{}:{}", b.namespace, b.name, b.port))
            .collect();
        let drawn: BTreeSet<String> = out.keys().cloned().collect();
        assert_eq!(
            drawn, weighted,
            "{id}: the draws reach the weighted backends"
        );
    }
    out
}

/// What the filter did with one request.
#[derive(Debug)]
enum FilterResult {
    Forward {
        cluster: String,
        /// The forwarded request's headers, pseudo-headers included, without the backend's.
        sent: Vec<(String, String)>,
        /// The response after the filter's edits (the backend answered `:status 200`).
        response: Vec<(String, String)>,
    },
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
    },
    PassThrough {
        sent: Vec<(String, String)>,
    },
}

impl FilterResult {
    fn key(&self) -> String {
        match self {
            Self::Forward { cluster, .. } => cluster.clone(),
            Self::Respond { status, .. } => format!("status {status}"),
            Self::PassThrough { .. } => "pass-through".to_owned(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Forward { .. } => "forwarded",
            Self::Respond { status, .. } if (300..400).contains(status) => "redirected",
            Self::Respond { .. } => "answered locally",
            Self::PassThrough { .. } => "passed through",
        }
    }

    /// The status the client sees when the backend answers 200.
    fn status(&self) -> u16 {
        match self {
            Self::Respond { status, .. } => *status,
            _ => 200,
        }
    }
}

/// Sends `rq` through the filter and reads what it did.
fn filter_result(vm: &mut Vm, rq: &MeshRequest, id: &str) -> FilterResult {
    fn text(pairs: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
            .collect()
    }
    let (ctx, action) = rq.send(vm);
    if let Some((status, headers)) = vm.state().local_response.clone() {
        assert_eq!(action, PAUSE, "{id}: a local response pauses");
        return FilterResult::Respond {
            status: u16::try_from(status).unwrap(),
            headers: text(&headers),
        };
    }
    assert_eq!(action, CONTINUE, "{id}: forwarded");
    let sent = text(&vm.state().request_headers);
    let cluster = sent
        .iter()
        .find(|(k, _)| k == "x-gateway-backend")
        .map(|(_, v)| v.clone());
    assert_eq!(vm.response(ctx, &[(":status", b"200")]), CONTINUE, "{id}");
    let response = text(&vm.state().response_headers);
    match cluster {
        Some(cluster) => FilterResult::Forward {
            cluster,
            sent: sent
                .into_iter()
                .filter(|(k, _)| k != "x-gateway-backend")
                .collect(),
            response,
        },
        None => {
            assert_eq!(response, [(":status".to_owned(), "200".to_owned())], "{id}");
            FilterResult::PassThrough { sent }
        }
    }
}

/// One case request's checks.
struct MeshCheck<'a> {
    /// Case, index and subtest, for messages.
    id: &'a str,
    case: &'a str,
    r: &'a Value,
    /// `mesh-backends.json`.
    backends: &'a Value,
}

impl MeshCheck<'_> {
    /// Compares the filter with the Rust router and the case; counts the requests sent (a
    /// distribution sends the case's samples) by what the filter did.
    fn run(
        &self,
        router: &gateway_core::route::Router,
        vm: &mut Vm,
        rq: &MeshRequest,
        sends: &mut BTreeMap<&'static str, usize>,
    ) {
        let id = self.id;
        let expected = rust_mesh_results(router, rq, id);
        let distribution = &self.r["expect"]["distribution"];
        let samples = match distribution["samples"].as_u64() {
            Some(n) => usize::try_from(n).unwrap(),
            None => 1,
        };
        // By the Rust plan's keys (backends), and by the Deployment serving.
        let mut reached: BTreeSet<String> = BTreeSet::new();
        let mut served: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..samples {
            let got = filter_result(vm, rq, id);
            let Some(want) = expected.get(&got.key()) else {
                panic!("{id}: the filter did {got:?}; the Rust plan can do only {expected:?}");
            };
            self.compare(rq, &got, want);
            reached.insert(got.key());
            *sends.entry(got.kind()).or_default() += 1;
            if let [deployment] = self.serving(rq, &got).as_slice() {
                *served.entry(deployment.clone()).or_default() += 1;
            }
        }
        if let Some(weights) = distribution["backends"].as_object() {
            let keys: BTreeSet<String> = expected.keys().cloned().collect();
            assert_eq!(
                reached, keys,
                "{id}: every backend with a weight is reached"
            );
            let one = served.values().sum::<usize>();
            assert_eq!(one, samples, "{id}: one Deployment behind each backend");
            let tolerance = distribution["tolerance"].as_f64().unwrap();
            for (name, weight) in weights {
                let weight = weight.as_f64().unwrap();
                let n = served.get(name).copied().unwrap_or(0);
                let share = n as f64 / samples as f64;
                assert!(
                    (share - weight).abs() <= tolerance,
                    "{id}: {name} served {share:.3} of {samples}, weight {weight} ± {tolerance}"
                );
                assert_eq!(weight > 0.0, n > 0, "{id}: {name} reached iff weighted");
            }
            for name in served.keys() {
                assert!(weights.contains_key(name), "{id}: {name} is not listed");
            }
        }
    }

    /// The filter against the Rust plan for the same outcome, then against the case.
    fn compare(&self, rq: &MeshRequest, got: &FilterResult, want: &MeshExpected) {
        let id = self.id;
        match (got, want) {
            (
                FilterResult::Forward { sent, response, .. },
                MeshExpected::Forward {
                    path,
                    authority,
                    headers,
                    response: want_response,
                    ..
                },
            ) => {
                let pseudo = |name: &str| sent.iter().find(|(k, _)| k == name).map(|(_, v)| v);
                assert_eq!(pseudo(":path"), Some(path), "{id}: :path");
                assert_eq!(pseudo(":method"), Some(&rq.method), "{id}: :method");
                assert_eq!(pseudo(":authority"), Some(authority), "{id}: :authority");
                let plain: Vec<(String, String)> = sent
                    .iter()
                    .filter(|(k, _)| !k.starts_with(':'))
                    .cloned()
                    .collect();
                assert_eq!(&plain, headers, "{id}: the edited headers");
                assert_eq!(response, want_response, "{id}: the edited response");
            }
            (
                FilterResult::Respond { status, headers },
                MeshExpected::Respond {
                    status: want_status,
                    headers: want_headers,
                },
            ) => {
                assert_eq!(status, want_status, "{id}: status");
                assert_eq!(headers, want_headers, "{id}: local response headers");
            }
            (FilterResult::PassThrough { sent }, MeshExpected::PassThrough) => {
                let unchanged: Vec<(String, String)> = rq
                    .wire()
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                assert_eq!(sent, &unchanged, "{id}: passed through unchanged");
            }
            (got, want) => panic!("{id}: the filter did {got:?}, the Rust plan {want:?}"),
        }
        self.compare_with_case(rq, got);
    }

    /// The filter's result against what the case expects of it.
    fn compare_with_case(&self, rq: &MeshRequest, got: &FilterResult) {
        let id = self.id;
        let expect = &self.r["expect"];
        let status = got.status();
        let statuses: Vec<u64> = match &expect["status"] {
            Value::Number(n) => vec![n.as_u64().unwrap()],
            Value::Array(a) => a.iter().map(|s| s.as_u64().unwrap()).collect(),
            // gRPC: success is reported as 200.
            _ if expect["grpc_status"] == "OK" => vec![200],
            // Any answer but 200.
            _ if expect["failure"] == true => (100..600).filter(|s| *s != 200).collect(),
            other => panic!("{id}: status {other}"),
        };
        assert!(
            statuses.contains(&u64::from(status)),
            "{id}: status {status}, expected {statuses:?}"
        );
        let response_headers = match got {
            FilterResult::Forward { response, .. } => response,
            FilterResult::Respond { headers, .. } => headers,
            FilterResult::PassThrough { .. } => &vec![],
        };
        let response = &expect["response"];
        for (k, v) in response["headers"].as_object().into_iter().flatten() {
            let k = k.to_ascii_lowercase();
            let got = response_headers
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.as_str());
            assert_eq!(got, v.as_str(), "{id}: response header {k}");
        }
        for k in response["absent_headers"].as_array().into_iter().flatten() {
            let k = k.as_str().unwrap().to_ascii_lowercase();
            assert!(
                !response_headers.iter().any(|(n, _)| *n == k),
                "{id}: response header {k} is absent"
            );
        }
        if (300..400).contains(&status) {
            self.compare_redirect(response_headers);
        }
        if status != 200 {
            return;
        }
        // The serving pods: the backend's name is a prefix of their names.
        let deployments = self.serving(rq, got);
        let backend = &expect["backend"];
        if let Some(name) = backend["name"].as_str() {
            assert!(
                deployments.iter().all(|d| d.starts_with(name)),
                "{id}: served by {deployments:?}, expected {name}"
            );
        }
        if let Some(ns) = backend["namespace"].as_str() {
            assert_eq!(ns, MESH_NAMESPACE, "{id}: backend namespace");
        }
        let sent = match got {
            FilterResult::Forward { sent, .. } | FilterResult::PassThrough { sent } => sent,
            FilterResult::Respond { .. } => unreachable!("status 200"),
        };
        let value = |name: &str| {
            let values: Vec<&str> = sent
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            (!values.is_empty()).then(|| values.join(","))
        };
        let want = &expect["backend_request"];
        if want.is_null() {
            return;
        }
        assert_eq!(
            value(":method").as_deref(),
            want["method"].as_str(),
            "{id}: method"
        );
        if let Some(host) = want["host"].as_str() {
            let host = host.replace("{POD_IP}", POD_ADDRESS);
            assert_eq!(value(":authority"), Some(host), "{id}: backend host");
        }
        let path = value(":path");
        match KNOWN_WRONG_BACKEND_PATHS
            .iter()
            .find(|(case, subtest, _)| *case == self.case && self.r["subtest"] == *subtest)
        {
            Some((_, _, why)) => {
                assert_eq!(
                    path.as_deref(),
                    Some(rq.target.as_str()),
                    "{id}: not rewritten"
                );
                assert_ne!(
                    path.as_deref(),
                    want["path"].as_str(),
                    "{id}: the corpus is fixed"
                );
                println!("{id}: backend path {:?} not compared: {why}", want["path"]);
            }
            None => assert_eq!(path.as_deref(), want["path"].as_str(), "{id}: backend path"),
        }
        if expect["backend_request_implicit"] == false {
            for (k, v) in want["headers"].as_object().into_iter().flatten() {
                let k = k.to_ascii_lowercase();
                assert_eq!(value(&k).as_deref(), v.as_str(), "{id}: backend header {k}");
            }
            for k in want["absent_headers"].as_array().into_iter().flatten() {
                let k = k.as_str().unwrap().to_ascii_lowercase();
                assert_eq!(value(&k), None, "{id}: backend header {k} is absent");
            }
        }
    }

    /// The `location` of a redirect against the case's `redirect`: scheme and path equal, host
    /// when given, no port or the scheme's default when the port is null.
    fn compare_redirect(&self, headers: &[(String, String)]) {
        let id = self.id;
        let want = &self.r["expect"]["redirect"];
        assert!(
            want.is_object(),
            "{id}: a redirect the case does not expect"
        );
        let location = headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{id}: no location"));
        let (scheme, rest) = location.split_once("://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = path.split('?').next().unwrap();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, Some(port.parse::<u16>().unwrap())),
            _ => (authority, None),
        };
        assert_eq!(Some(scheme), want["scheme"].as_str(), "{id}: {location}");
        assert_eq!(Some(path), want["path"].as_str(), "{id}: {location}");
        if let Some(want_host) = want["host"].as_str() {
            assert_eq!(host, want_host, "{id}: {location}");
        }
        match want["port"].as_u64() {
            Some(p) => assert_eq!(port.map(u64::from), Some(p), "{id}: {location}"),
            None => {
                let default = if scheme == "https" { 443 } else { 80 };
                assert!(port.is_none_or(|p| p == default), "{id}: {location}");
            }
        }
    }

    /// The Deployments whose pods serve a request the filter forwarded or passed through
    /// (`mesh-backends.json`): the backend Service's, the destination Service's, or the Pod's.
    fn serving(&self, rq: &MeshRequest, got: &FilterResult) -> Vec<String> {
        let service = match got {
            FilterResult::Forward { cluster, .. } => {
                let (ns, rest) = cluster.split_once('/').unwrap();
                let name = rest.rsplit_once(':').unwrap().0;
                (ns.to_owned(), name.to_owned())
            }
            FilterResult::PassThrough { .. } => match &rq.service {
                Some(s) => s.clone(),
                None => {
                    let to = &self.r["destination"];
                    return vec![to["app"].as_str().unwrap().to_owned()];
                }
            },
            FilterResult::Respond { .. } => return Vec::new(),
        };
        let per_test = &self.backends["per_test"][self.case];
        let out: Vec<String> = self.backends["base"]
            .as_array()
            .unwrap()
            .iter()
            .chain(per_test.as_array().into_iter().flatten())
            .filter(|d| {
                d["namespace"] == service.0.as_str()
                    && d["services"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s == service.1.as_str())
            })
            .map(|d| d["deployment"].as_str().unwrap().to_owned())
            .collect();
        assert!(!out.is_empty(), "{}: no pods behind {service:?}", self.id);
        out
    }
}

fn sidecar_with(manifests: &str, namespace: &str) -> Vm {
    let (vm, ok) = Vm::configure(&sidecar_config(manifests, namespace));
    assert!(ok, "{:?}", vm.state().logs);
    vm
}
