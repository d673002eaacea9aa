//! The JavaScript API (feature `js`), made with wasm-bindgen.
//!
//! ```js
//! const { Router } = require("gateway-wasm");
//! const router = Router.fromManifests(yamlText, "", "");       // throws Error on bad input
//! const decision = router.route({ method: "GET", target: "/cart",
//!                                 headers: [["host", "shop.example.com"]] });
//! decision.outcome;                                              // "forward"
//! router.routeJson('{"target":"/cart","headers":[["host","shop.example.com"]]}');
//! router.routeL4({ transport: "tls", port: 443, sni: "db.example.com" }).route;
//!                                            // { kind: "TLSRoute", namespace, name }
//! const mesh = Router.mesh(yamlText, { mesh: true });           // east-west: Service routes
//! mesh.route({ client_namespace: "web", destination: { namespace: "app", name: "echo",
//!              port: 80 }, target: "/v2", headers: [["host", "echo"]] }).outcome;
//!                                                     // "forward", or "pass_through"
//! JSON.parse(router.status());
//! version();                                                     // as in package.json
//! ```
//!
//! Requests and decisions are the objects of the `gateway route --json` interface
//! ([`gateway_core::json`]), so `JSON.stringify(router.route(r))` equals
//! `router.routeJson(JSON.stringify(r))`. `random` (a `u64`) may be a `number` or a `bigint`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use gateway_core::json::{
    JsonConnection, JsonDecision, JsonRequest, decide, decide_l4, route_json,
};
use gateway_core::{GatewayRef, Target};
use wasm_bindgen::prelude::*;

use crate::{CompileError, CompileOptions, compile};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A connection that is not HTTP, as a `gateway route --json` line with `transport` reads it:
 * routed to a TLSRoute by `sni`, or to a TCPRoute or UDPRoute by `port`. */
export interface RouteConnection {
  transport: "tls" | "tcp" | "udp";
  /** The connection's local port: selects the listener. */
  port: number;
  /** The ClientHello's server name ("tls" only). */
  sni?: string | null;
  /** Randomness for the weighted backend choice (default 0). */
  random?: number | bigint;
}

/** A request, as `gateway route --json` reads it. Every field is optional. */
export interface RouteRequest {
  /** "http" (default) or "https". */
  scheme?: string;
  /** The connection's local port (default 80): selects the listener. */
  port?: number;
  /** The TLS server name. */
  sni?: string | null;
  /** "1.0", "1.1" (default), "2" or "3". */
  http_version?: string | null;
  /** The method (default "GET"). */
  method?: string;
  /** HTTP/2 `:authority`; null for HTTP/1. */
  authority?: string | null;
  /** The raw request-target exactly as received (default "/"). */
  target?: string;
  /** Headers in order, with duplicates, as [name, value] pairs. */
  headers?: [string, string][];
  /** What the external auth service answered, for offline auth tests. */
  ext_auth_response?: unknown;
  /** Randomness for the weighted backend choice and mirrors (default 0). */
  random?: number | bigint;
  /** The TLS connection the request came on (absent: no frontend TLS checks). */
  tls?: RouteTls | null;
  /** The chain the chosen backend presented (PEM, leaf first), verified against its
   * BackendTLSPolicy at `now`. */
  backend_chain_pem?: string | null;
  /** The verification time in seconds since 1970; required with a chain. */
  now?: number | bigint | null;
  /** Mesh routers only (`Router.mesh`, required there): the namespace of the client that sent
   * the request (consumer routes apply to clients of their own namespace). */
  client_namespace?: string | null;
  /** Mesh routers only (required there): where the client sent the request. */
  destination?: RouteDestination | null;
}

/** Where a mesh request goes: a Service port by name (`namespace` defaults to the client's)
 * or an address (resolved through the Services' cluster IPs); exactly one of `name` and
 * `address`. `port` defaults to the request's `port`. */
export interface RouteDestination {
  namespace?: string | null;
  name?: string | null;
  /** An IPv4 or IPv6 address, e.g. "10.96.0.7" or "fd00::7". */
  address?: string | null;
  port?: number | null;
}

/** What the TLS handshake established; the server name is the request's `sni`. */
export interface RouteTls {
  /** The chain the client presented (PEM, leaf first); absent when it presented none. */
  client_chain_pem?: string | null;
  /** The port whose TLS session the connection resumed; absent for a full handshake. */
  resumed_from_port?: number | null;
}

/** A certificate chain's verdict. */
export interface RouteVerdict {
  verdict: "valid" | "invalid" | "unavailable";
  /** For "invalid": "no_certificate", "unknown_issuer", "expired", "san_mismatch", ... */
  reason: string | null;
  /** For "invalid": the reason in words (may change). */
  detail: string | null;
}

/** The verdicts on a request's TLS connection. */
export interface RouteFrontendTls {
  /** The port whose handshake made the session (`resumed_from_port`, else `port`). */
  session_port: number;
  validation: "AllowValidOnly" | "AllowInsecureFallback" | null;
  /** The client chain's verdict; null when the port asks for no client certificate. */
  client_certificate: RouteVerdict | null;
  client_auth: "not_requested" | "verified" | "unverified" | null;
  /** Anything but "allow" is the decision's outcome. */
  coalescing: "allow" | "misdirected" | "not_found" | "bad_request" | null;
}

/** A Service port in a decision. */
export interface RouteBackend { namespace: string; name: string; port: number; }

/** A decision, as `gateway route --json` writes it. */
export interface RouteDecision {
  outcome: "forward" | "redirect" | "respond" | "not_found" | "bad_request" | "misdirected"
    | "server_error" | "auth_required" | "auth_denied" | "pass_through";
  /** Why the proxy answers itself (e.g. "no_rule", "invalid_host", "invalid_backend",
   * "auth_failed"); null for forward, redirect, respond, misdirected and auth_required. */
  cause: string | null;
  /** The status the proxy answers with when it answers itself; null for a connection that is
   * not HTTP (`transport` set). */
  status: number | null;
  /** "tls", "tcp" or "udp" for a connection that is not HTTP (`routeL4`, or a JSON line with
   * `transport`); null for an HTTP request. */
  transport: "tls" | "tcp" | "udp" | null;
  listener: string | null;
  route: { kind: string; namespace: string; name: string } | null;
  rule: { index: number; name: string | null } | null;
  /** The external auth check to make (null: none needed). */
  ext_auth: unknown;
  backend: RouteBackend | null;
  /** The request sent upstream, with the complete header list after edits. */
  upstream: { method: string; authority: string; path: string; headers: [string, string][] }
    | null;
  response_headers: [string, string][];
  response_edits: { set: [string, string][]; add: [string, string][]; remove: string[] }
    | null;
  location: string | null;
  mirrors: RouteBackend[];
  /** Backend TLS settings (null: plaintext). */
  backend_tls: unknown;
  /** A forward's timeouts in milliseconds (null: not a forward); in each, null: unset (the
   * proxy's default), 0: disabled. */
  timeouts: { request_ms: number | null; backend_request_ms: number | null } | null;
  /** A forward's retry policy (null: none): statuses retried, retries after the first
   * attempt (null: the proxy's choice, 0: none), least wait before each retry. */
  retry: {
    codes: number[];
    attempts: number | null;
    backoff_ms: number | null;
    /** The chosen backend's Service retry budget (XBackendTrafficPolicy `retryConstraint`);
     * null without one. A retry is allowed under `min_retries` per `min_retry_interval_ms`, or
     * while retries stay within `percent` % of the requests of `interval_ms`; else 503. */
    budget: {
      percent: number;
      interval_ms: number;
      min_retries: number;
      min_retry_interval_ms: number;
    } | null;
  } | null;
  /** A forward's session persistence (null: none): the rule's `sessionPersistence`, else the
   * XBackendTrafficPolicy's of its first backend Service that has one. */
  session: {
    kind: "cookie" | "header";
    /** `sessionName`, or `gw-session-<16 hex digits>` unique to the rule. */
    name: string;
    lifetime: "session" | "permanent" | null;
    absolute_timeout_ms: number | null;
    idle_timeout_ms: number | null;
    /** The cookie Path (null for a header or a Service's policy). */
    path: string | null;
    secure: boolean;
    source: "rule" | "policy";
    /** The XBackendTrafficPolicy as "namespace/name" for source "policy". */
    policy: string | null;
  } | null;
  /** Why, for every outcome but "forward". */
  reason: string | null;
  /** The verdicts on the request's TLS connection; null without `tls`. */
  frontend_tls: RouteFrontendTls | null;
  /** The verdict on `backend_chain_pem`; "invalid" makes the outcome "server_error" with
   * cause "backend_certificate_refused" and status 502. */
  backend_certificate: RouteVerdict | null;
}

/** Attachment options for `Router.fromManifests`. */
export interface RouterOptions {
  /** GatewayClasses with this controllerName are ours (default
   * "gateway.example.dev/gateway-core"). */
  controllerName?: string;
  /** Addresses the data plane can serve on. */
  addressPool?: string[];
  /** Make the mesh (GAMMA) ours without an XMesh resource, for `Router.mesh` (default
   * false: only an XMesh of our controller does). */
  mesh?: boolean;
}

/** One finding of a failed load, on the `diagnostics` property of the thrown Error. */
export interface Diagnostic {
  severity: "error" | "warning";
  /** 0-based document index, or null for the input as a whole. */
  document: number | null;
  /** "Kind namespace/name", or null. */
  resource: string | null;
  /** JSON path of the field, e.g. "spec.rules[0].matches[0].path.value". */
  path: string;
  message: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A request object (TypeScript `RouteRequest`).
    #[wasm_bindgen(typescript_type = "RouteRequest")]
    pub type RouteRequest;
    /// A connection object (TypeScript `RouteConnection`).
    #[wasm_bindgen(typescript_type = "RouteConnection")]
    pub type RouteConnection;
    /// A decision object (TypeScript `RouteDecision`).
    #[wasm_bindgen(typescript_type = "RouteDecision")]
    pub type RouteDecision;
    /// Options of `Router.fromManifests` (TypeScript `RouterOptions`).
    #[wasm_bindgen(typescript_type = "RouterOptions")]
    pub type RouterOptions;
}

/// The compiled router of one Gateway or of the mesh, with the status of every resource.
#[wasm_bindgen]
pub struct Router {
    compiled: crate::Compiled,
}

#[wasm_bindgen]
impl Router {
    /// Loads manifests (YAML or JSON text, any number of documents) and builds the router of
    /// Gateway `gatewayNamespace/gatewayName`; empty names select the only Gateway.
    ///
    /// # Errors
    /// Throws an `Error` whose message lists every finding with its field path, and whose
    /// `diagnostics` property holds them as `Diagnostic` objects (empty when the Gateway is
    /// unknown or ambiguous); throws a `TypeError` for options it does not know.
    #[wasm_bindgen(js_name = fromManifests)]
    pub fn from_manifests(
        text: &str,
        gateway_namespace: &str,
        gateway_name: &str,
        options: Option<RouterOptions>,
    ) -> Result<Router, js_sys::Error> {
        set_panic_hook();
        let options = compile_options(options)?;
        let gateway = GatewayRef::from_parts(gateway_namespace, gateway_name);
        compile(text.as_bytes(), &Target::Gateway(gateway), &options)
            .map(|compiled| Router { compiled })
            .map_err(|e| compile_error(&e))
    }

    /// Loads manifests and builds the mesh (GAMMA) router: the routes attached to Services.
    /// Its requests name `client_namespace` and `destination`; when no route applies to the
    /// destination the decision is `pass_through`. The mesh must be ours: `options.mesh`, or
    /// an XMesh of our controller in the manifests.
    ///
    /// # Errors
    /// As `fromManifests`; an `Error` with empty `diagnostics` when the mesh is not ours.
    pub fn mesh(text: &str, options: Option<RouterOptions>) -> Result<Router, js_sys::Error> {
        set_panic_hook();
        let options = compile_options(options)?;
        compile(text.as_bytes(), &Target::Mesh, &options)
            .map(|compiled| Router { compiled })
            .map_err(|e| compile_error(&e))
    }

    /// Whether this is a mesh router (`Router.mesh`).
    #[wasm_bindgen(getter, js_name = isMesh)]
    pub fn is_mesh(&self) -> bool {
        self.compiled.router.is_mesh()
    }

    /// Routes one request object and returns the decision object.
    ///
    /// # Errors
    /// Throws a `TypeError` when the object is not a request (an unknown field, a wrong type).
    pub fn route(&self, request: RouteRequest) -> Result<RouteDecision, js_sys::Error> {
        let request: JsValue = request.into();
        only_fields(&request, REQUEST_FIELDS, "request")?;
        let tls = js_sys::Reflect::get(&request, &"tls".into()).unwrap_or(JsValue::UNDEFINED);
        if !tls.is_undefined() && !tls.is_null() {
            only_fields(&tls, TLS_FIELDS, "request.tls")?;
        }
        let to =
            js_sys::Reflect::get(&request, &"destination".into()).unwrap_or(JsValue::UNDEFINED);
        if !to.is_undefined() && !to.is_null() {
            only_fields(&to, DESTINATION_FIELDS, "request.destination")?;
        }
        let request: JsonRequest = serde_wasm_bindgen::from_value(request).map_err(|e| {
            js_sys::Error::from(js_sys::TypeError::new(&format!("invalid request: {e}")))
        })?;
        let decision = decide(&self.compiled.router, &request);
        decision_object(&decision)
    }

    /// Routes one connection that is not HTTP (`{transport, port, sni, random}`) and returns
    /// the decision object, as `routeJson` does for a line with `transport`: the listener, the
    /// TLSRoute, TCPRoute or UDPRoute, its rule and the backend, or `not_found` with its cause.
    ///
    /// # Errors
    /// Throws a `TypeError` when the object is not a connection (an HTTP field, a wrong type).
    #[wasm_bindgen(js_name = routeL4)]
    pub fn route_l4(&self, connection: RouteConnection) -> Result<RouteDecision, js_sys::Error> {
        let connection: JsValue = connection.into();
        only_fields(&connection, CONNECTION_FIELDS, "connection")?;
        let connection: JsonConnection =
            serde_wasm_bindgen::from_value(connection).map_err(|e| {
                js_sys::Error::from(js_sys::TypeError::new(&format!("invalid connection: {e}")))
            })?;
        let decision = decide_l4(&self.compiled.router, &connection);
        decision_object(&decision)
    }

    /// Routes one JSON request line and returns the decision JSON line, exactly as
    /// `gateway route --json` does; malformed input gives a `bad_request` decision.
    #[wasm_bindgen(js_name = routeJson)]
    pub fn route_json(&self, line: &str) -> String {
        route_json(&self.compiled.router, line.as_bytes())
    }

    /// The status of every resource, as the JSON text of `gateway check --json`.
    pub fn status(&self) -> String {
        self.compiled.status.clone()
    }

    /// The Gateway this router serves, as `namespace/name`; empty for a mesh router.
    #[wasm_bindgen(getter)]
    pub fn gateway(&self) -> String {
        if self.compiled.router.is_mesh() {
            return String::new();
        }
        let (namespace, name) = self.compiled.router.gateway();
        format!("{namespace}/{name}")
    }

    /// The load warnings, as `Diagnostic` objects.
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> Vec<JsValue> {
        self.compiled.warnings.iter().map(diagnostic).collect()
    }
}

/// The package version, `MAJOR.MINOR.PATCH`: the workspace's Cargo version, which is also
/// `package.json`'s, `gateway --version`'s and the C library's `gw_version()`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A decision as a plain JavaScript object, as `JSON.parse` of its JSON line gives it.
fn decision_object(decision: &JsonDecision) -> Result<RouteDecision, js_sys::Error> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(decision, &serializer)
        .map(JsCast::unchecked_into)
        .map_err(|e| js_sys::Error::new(&format!("decision not representable: {e}")))
}

/// The fields of a connection object (`JsonConnection`).
const CONNECTION_FIELDS: &[&str] = &["transport", "port", "sni", "random"];

/// The fields of a request object (`JsonRequest`, whose `deny_unknown_fields` serde-wasm-bindgen
/// does not see: it reads only the fields it knows).
const REQUEST_FIELDS: &[&str] = &[
    "scheme",
    "port",
    "sni",
    "http_version",
    "method",
    "authority",
    "target",
    "headers",
    "ext_auth_response",
    "random",
    "tls",
    "backend_chain_pem",
    "now",
    "client_namespace",
    "destination",
];

/// The fields of a request's `tls` object (`JsonTls`).
const TLS_FIELDS: &[&str] = &["client_chain_pem", "resumed_from_port"];

/// The fields of a request's `destination` object (`JsonDestination`).
const DESTINATION_FIELDS: &[&str] = &["namespace", "name", "address", "port"];

/// The fields of an options object.
const OPTION_FIELDS: &[&str] = &["controllerName", "addressPool", "mesh"];

/// The options object, checked field by field; the defaults when absent.
fn compile_options(options: Option<RouterOptions>) -> Result<CompileOptions, js_sys::Error> {
    match options {
        Some(o) if !o.is_undefined() && !o.is_null() => {
            let o: JsValue = o.into();
            only_fields(&o, OPTION_FIELDS, "options")?;
            serde_wasm_bindgen::from_value(o).map_err(|e| {
                js_sys::Error::from(js_sys::TypeError::new(&format!("invalid options: {e}")))
            })
        }
        _ => Ok(CompileOptions::default()),
    }
}

/// A `TypeError` unless `value` is an object whose own keys are all in `fields`.
fn only_fields(value: &JsValue, fields: &[&str], what: &str) -> Result<(), js_sys::Error> {
    let type_error = |message: String| js_sys::Error::from(js_sys::TypeError::new(&message));
    let Some(object) = value
        .dyn_ref::<js_sys::Object>()
        .filter(|_| !value.is_function())
    else {
        return Err(type_error(format!("invalid {what}: not an object")));
    };
    if js_sys::Array::is_array(value) {
        return Err(type_error(format!(
            "invalid {what}: an array, not an object"
        )));
    }
    for key in js_sys::Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !fields.contains(&key.as_str()) {
            return Err(type_error(format!(
                "invalid {what}: unknown field `{key}`, expected one of {}",
                fields.join(", ")
            )));
        }
    }
    Ok(())
}

/// An `Error` for a failed compile, with a `diagnostics` array property.
fn compile_error(error: &CompileError) -> js_sys::Error {
    let js_error = js_sys::Error::new(&error.to_string());
    let diagnostics = js_sys::Array::new();
    if let CompileError::Load(load) = error {
        for d in &load.diagnostics {
            diagnostics.push(&diagnostic(d));
        }
    }
    // Setting a property of a fresh Error object cannot fail; a failure would only lose the
    // structured copy of what the message already says.
    let _ = js_sys::Reflect::set(&js_error, &"diagnostics".into(), &diagnostics);
    js_error
}

/// One finding as a `Diagnostic` object.
fn diagnostic(d: &gateway_core::api::Diagnostic) -> JsValue {
    let value = serde_json::json!({
        "severity": if d.is_error() { "error" } else { "warning" },
        "document": d.document,
        "resource": d.resource.as_ref().map(ToString::to_string),
        "path": d.path,
        "message": d.message,
    });
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(&value, &serializer).unwrap_or(JsValue::NULL)
}

/// Sends panic messages to `console.error` (feature `panic-hook`); none is expected.
fn set_panic_hook() {
    #[cfg(feature = "panic-hook")]
    console_error_panic_hook::set_once();
}
