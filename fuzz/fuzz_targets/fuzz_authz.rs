//! External auth answers: arbitrary HTTP answers and arbitrary gRPC `CheckResponse` bytes,
//! judged against a real check. Never a panic; an answer that does not decode fails closed;
//! an allowed request never gets a `host`, pseudo or hop-by-hop header from the auth service
//! (SECURITY.md rule 6); every answer for the client has a valid status.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::plan::authz::{AuthOptions, AuthOutcome, AuthResponse, grpc};
use gateway_core::plan::{Plan, plan};
use gateway_core::request::normalize::PathPolicy;
use gateway_core::request::{Headers, RequestView};
use gateway_core::route::{GatewayRef, Router};
use libfuzzer_sys::fuzz_target;

const MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
spec: {controllerName: gateway.example.dev/gateway-core}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec: {gatewayClassName: gc, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: auth, namespace: default}
spec: {ports: [{port: 9000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /http}}]
    backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        backendRef: {name: auth, port: 9000}
        http: {allowedResponseHeaders: [x-user, host, connection, transfer-encoding]}
  - matches: [{path: {type: PathPrefix, value: /grpc}}]
    backendRefs: [{name: app, port: 8080}]
    filters:
    - type: ExternalAuth
      externalAuth: {protocol: GRPC, backendRef: {name: auth, port: 9000}, grpc: {}}
"#;

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let loaded = Snapshot::load(MANIFESTS.as_bytes(), &LoadOptions::default())
            .expect("the fuzz manifests load");
        let config = Config::new(loaded.snapshot, AttachOptions::default());
        Router::build(
            &config,
            &GatewayRef::new("default", "gw"),
            PathPolicy::secure(),
        )
        .expect("the fuzz router builds")
    })
}

#[derive(Arbitrary, Debug)]
enum Answer<'a> {
    Http {
        status: u16,
        headers: Vec<(&'a str, &'a str)>,
        body: &'a [u8],
    },
    /// Bytes as read from the gRPC stream: a length-prefixed `CheckResponse`, or not.
    Grpc(&'a [u8]),
    /// Bytes of a `CheckResponse` message, framed correctly.
    GrpcMessage(&'a [u8]),
}

const FORBIDDEN_UPSTREAM: [&str; 5] = [
    "host",
    ":path",
    ":authority",
    "connection",
    "transfer-encoding",
];

fuzz_target!(|answer: Answer<'_>| {
    let router = router();
    let (target, response, decodes): (&[u8], AuthResponse, bool) = match answer {
        Answer::Http {
            status,
            headers,
            body,
        } => {
            let headers = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            let response = AuthResponse::Http {
                status,
                headers,
                body: body.to_vec(),
            };
            (b"/http/x", response, true)
        }
        Answer::Grpc(bytes) => {
            let response = grpc::decode_response(bytes);
            let decodes = !matches!(response, AuthResponse::Malformed(_));
            (b"/grpc/x", response, decodes)
        }
        Answer::GrpcMessage(message) => {
            let Some(framed) = grpc::frame(message) else {
                return;
            };
            let response = grpc::decode_response(&framed);
            let decodes = !matches!(response, AuthResponse::Malformed(_));
            (b"/grpc/x", response, decodes)
        }
    };
    let headers = [("host", "example.com"), ("x-user", "client")];
    let req = RequestView::new("GET", target, Headers::Pairs(&headers)).port(80);
    let decision = router.route(&req);
    let Plan::Authorize(check) = plan(&decision, &req, 0) else {
        panic!("the auth rules always ask for a check");
    };
    let options = AuthOptions::default();
    match check.judge(response, &options) {
        AuthOutcome::Allowed(Plan::Forward(forward)) => {
            assert!(decodes, "an undecodable answer allowed the request");
            for (name, _) in forward
                .request
                .headers
                .set
                .iter()
                .chain(&forward.request.headers.add)
            {
                let name = name.to_ascii_lowercase();
                assert!(
                    !FORBIDDEN_UPSTREAM.contains(&name.as_str()),
                    "the auth service set {name} on the upstream request"
                );
            }
        }
        AuthOutcome::Allowed(other) => panic!("an allowed check became {other:?}"),
        AuthOutcome::Denied(local) => {
            assert!(decodes, "an undecodable answer was taken as a denial");
            assert!(
                (200..=599).contains(&local.status),
                "status {}",
                local.status
            );
        }
        AuthOutcome::Failed(local) => {
            assert_eq!(local.status, options.failure_status);
        }
        other => panic!("unexpected outcome {other:?}"),
    }
});
