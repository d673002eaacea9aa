//! The proxy-wasm filter (`pkg-filter/gateway_filter.wasm`, built by `gateway-wasm/build.sh`)
//! loaded in the test host (support/host.rs) and driven through real request sequences:
//! configuration, routing with header edits and rewrites, response edits, mirrors, and the
//! local responses (404, 400, redirect, CORS preflight, 500).
#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed host call or a trap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/host.rs"]
mod host;

use gateway_core::plan::authz::proto;
use host::{Vm, header};
use prost::Message as _;

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

/// Mesh conformance cases through the sidecar filter, compared with the Rust mesh router's
/// decision for the same request (`route_mesh` by address, then `plan`) and with the case's
/// expectations. The corpus Services have no cluster IPs: the test gives them some.
#[test]
fn sidecar_parity_with_route_mesh_on_mesh_conformance_cases() {
    use gateway_core::Target;
    use gateway_core::plan::{Plan, plan};
    use gateway_core::request::{Headers, RequestView};
    use gateway_core::route::{Destination, MeshRoute};
    use std::net::IpAddr;

    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    let ips = [
        ("echo", "10.96.1.1"),
        ("echo-v1", "10.96.1.2"),
        ("echo-v2", "10.96.1.3"),
    ];
    for case in ["MeshHTTPRouteRequestHeaderModifier", "MeshConsumerRoute"] {
        let path = dir.join(format!("cases-mesh/{case}.json"));
        let text = std::fs::read_to_string(&path).expect("the conformance corpus");
        let case: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut manifests = String::new();
        for file in case["manifests"].as_array().unwrap() {
            let file = dir.join("manifests").join(file.as_str().unwrap());
            manifests.push_str(&std::fs::read_to_string(file).unwrap());
            manifests.push_str("\n---\n");
        }
        for (name, ip) in ips {
            let from = format!("  name: {name}\n  namespace: gateway-conformance-mesh\nspec:\n");
            assert!(manifests.contains(&from), "{name}");
            manifests = manifests.replace(&from, &format!("{from}  clusterIP: {ip}\n"));
        }
        let mut options = gateway_wasm::CompileOptions::default();
        options.mesh = Some(true);
        let router = gateway_wasm::compile(manifests.as_bytes(), &Target::Mesh, &options)
            .unwrap()
            .router;
        for r in case["requests"].as_array().unwrap() {
            let subtest = r["subtest"].as_str().unwrap();
            let namespace = r["client"]["namespace"].as_str().unwrap();
            let port = u16::try_from(r["port"].as_u64().unwrap()).unwrap();
            let service = r["destination"]["name"].as_str().unwrap();
            let ip = ips.iter().find(|(n, _)| *n == service).unwrap().1;
            let rq = &r["request"];
            let (method, host, target) = (
                rq["method"].as_str().unwrap(),
                rq["host"].as_str().unwrap(),
                rq["path"].as_str().unwrap(),
            );
            let headers: Vec<(String, String)> = rq["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap().to_owned()))
                .collect();

            // The Rust decision.
            let pairs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let view = RequestView::new(method, target.as_bytes(), Headers::Pairs(&pairs))
                .port(port)
                .authority(Some(host));
            let address = Destination::address(ip.parse::<IpAddr>().unwrap(), port);
            let expected = match router.route_mesh(&view, namespace, &address) {
                MeshRoute::Routed(d) => match plan(&d, &view, 0) {
                    Plan::Forward(fp) => {
                        let b = &fp.backend;
                        let edited = fp.request.headers.apply_to_pairs(&headers);
                        Some((format!("{}/{}:{}", b.namespace, b.name, b.port), edited))
                    }
                    other => panic!("{subtest}: {other:?}"),
                },
                MeshRoute::PassThrough(_) => None,
                other => panic!("{subtest}: {other:?}"),
            };

            // The filter's.
            let mut vm = sidecar_with(&manifests, namespace);
            let mut request = vec![
                (":method", method),
                (":scheme", "http"),
                (":authority", host),
                (":path", target),
            ];
            request.extend(pairs.iter().copied());
            let address = format!("{ip}:{port}");
            let (ctx, action) = to_destination(
                &mut vm,
                address.as_bytes(),
                Some(&le(port.into())),
                &request,
            );
            assert_eq!(action, CONTINUE, "{subtest}");
            let sent = vm.state().request_headers.clone();
            let got: Vec<(String, String)> = sent
                .iter()
                .filter(|(k, _)| !k.starts_with(':') && k != "x-gateway-backend")
                .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
                .collect();
            match &expected {
                Some((cluster, edited)) => {
                    assert_eq!(header(&sent, "x-gateway-backend"), Some(cluster.as_str()));
                    assert_eq!(&got, edited, "{subtest}");
                    // And what the conformance case expects.
                    let backend = &r["expect"]["backend"];
                    if let (Some(ns), Some(name)) =
                        (backend["namespace"].as_str(), backend["name"].as_str())
                    {
                        let want = format!("{ns}/{name}:");
                        assert!(cluster.starts_with(&want), "{subtest}: {cluster}");
                    }
                    let want_headers = r["expect"]["backend_request"]["headers"].as_object();
                    for (k, v) in want_headers.into_iter().flatten() {
                        let k = k.to_ascii_lowercase();
                        let got = got.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
                        assert_eq!(got, v.as_str(), "{subtest}: {k}");
                    }
                }
                None => assert_eq!(got, headers, "{subtest}: passed through unchanged"),
            }
            assert!(vm.state().local_response.is_none(), "{subtest}");
            vm.response(ctx, &[(":status", b"200")]);
            let response = &vm.state().response_headers;
            let expect = &r["expect"]["response"];
            for (k, v) in expect["headers"].as_object().unwrap() {
                let got = header(response, &k.to_ascii_lowercase());
                assert_eq!(got, v.as_str(), "{subtest}: {k}");
            }
            for k in expect["absent_headers"].as_array().unwrap() {
                let k = k.as_str().unwrap().to_ascii_lowercase();
                assert_eq!(header(response, &k), None, "{subtest}: {k}");
            }
        }
    }
}

fn sidecar_with(manifests: &str, namespace: &str) -> Vm {
    let (vm, ok) = Vm::configure(&sidecar_config(manifests, namespace));
    assert!(ok, "{:?}", vm.state().logs);
    vm
}
