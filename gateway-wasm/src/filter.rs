//! The proxy-wasm HTTP filter (feature `proxy-wasm`, ABI 0.2.1) for Envoy-style hosts.
//!
//! # Configuration
//! The plugin configuration is one JSON object:
//! ```json
//! {"manifests": "<Gateway API YAML or JSON text>",
//!  "gateway": "namespace/name",
//!  "backend_header": "x-gateway-backend",
//!  "cluster": "{namespace}/{name}:{port}",
//!  "port": 8080,
//!  "controller_name": "gateway.example.dev/gateway-core",
//!  "mirror_timeout_ms": 1000,
//!  "auth_timeout_ms": 1000,
//!  "auth_failure_status": 403}
//! ```
//! Only `manifests` is required. `gateway` may be empty (the only Gateway) or `name` (namespace
//! `default`); a malformed value (`ns/`, `a/b/c`) is a configuration error. `cluster` is the template of the host cluster name of a backend
//! (`{namespace}`, `{name}`, `{port}`); the request carries it in `backend_header`, for Envoy's
//! `cluster_header` route action. `port` fixes the Gateway listener port; without it the
//! connection's local port (property `destination.port`) selects the listener, never the port
//! in Host. The configuration is compiled once in `on_configure`, which returns `false` (the
//! host rejects the plugin) on any error, logging every finding with its field path.
//!
//! # Sidecar mode
//! `{"mode": "sidecar", "namespace": "app", "manifests": "...", "mesh": true}` routes a pod's
//! outbound requests with the mesh (GAMMA) router ([`Target::Mesh`]; the mesh is ours with
//! `mesh: true` or an XMesh of our controller in the manifests). `namespace` (required) is
//! the namespace of the pod the sidecar serves: the client's. `gateway` and `port` are refused;
//! `mode` is `"gateway"` (the default) or `"sidecar"`. Each request is routed
//! ([`Router::route_mesh`]) to its original destination, read from the host properties
//! `destination.address` (`ip:port` or `[ipv6]:port` text) and `destination.port` (an int64,
//! little-endian; when present it must be the address's port). A decision is carried out as
//! in gateway mode below; when no route applies (a pod IP, a port without routes) the request
//! continues unchanged to its original destination. A missing or malformed destination
//! property fails closed (500): the filter cannot know whether routes apply, and passing the
//! request through would skip them.
//!
//! # Per request
//! `on_http_request_headers` reads the request from the pseudo-headers (`:method`, `:scheme`,
//! `:authority`, `:path`) and the other headers, routes it ([`Router::route`]) and plans it
//! ([`gateway_core::plan::plan`]):
//! - **forward**: the request headers are replaced by the upstream request: the canonical
//!   `:path` (or the rewritten one; the query as received), `:authority` as received (port
//!   included) unless a URLRewrite hostname replaces it, the header list after edits (a `host`
//!   header takes the `:authority`), and `backend_header` set to the backend's cluster (a
//!   client's own value of that header is dropped). Mirrors get a copy of the edited headers
//!   with `dispatch_http_call` to their clusters (no body; answers ignored). Response header
//!   edits are applied in `on_http_response_headers`.
//! - **local responses** (redirect, CORS preflight, 400, 404, 421, 5xx) are answered with
//!   `send_http_response`, with the plan's status, headers and body.
//! - **ExternalAuth**: the check is sent with `dispatch_http_call` (protocol HTTP: the
//!   check's method, path and headers, `host` as `:authority`) or `dispatch_grpc_call`
//!   (protocol GRPC: `envoy.service.auth.v3.Authorization/Check`) to the auth Service's
//!   cluster, and the stream pauses. The answer is judged by gateway-core
//!   ([`AuthCheck::answer`]): allowed requests resume with the auth headers applied, denials
//!   go back to the client, and a call that fails, times out (`auth_timeout_ms`) or answers
//!   something malformed fails closed with `auth_failure_status`. `forwardBody` is not
//!   supported (the filter does not buffer bodies): such a rule answers 500.
//!
//! A request the filter cannot read (a header value that is not UTF-8, a host call failing) is
//! answered 400 or 500, never forwarded unrouted. Timeouts, retries, session persistence and
//! backend TLS are left to the host's cluster and route configuration: the plan reports them,
//! the filter does not enforce them.
//!
//! [`Router::route`]: gateway_core::route::Router::route
//! [`Router::route_mesh`]: gateway_core::route::Router::route_mesh

// SECURITY.md rule 10: no panic reachable from a request.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//!
//! Nothing here panics: the SDK's hostcalls are used through their `Result`-returning forms
//! (they panic only when the host breaks the ABI, e.g. returns an undocumented status).

use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use gateway_core::filter::HeaderEdits;
use gateway_core::outcome::{BadRequest, Outcome};
use gateway_core::plan::authz::{self, AuthCheck, AuthOptions, AuthRequest, AuthResponse};
use gateway_core::plan::{LocalResponse, Plan, SplitMix64, plan};
use gateway_core::request::{Headers as RqHeaders, HttpVersion, RequestView};
use gateway_core::route::{Destination, MeshRoute};
use gateway_core::{GatewayRef, Target};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};
use serde::Deserialize;

use crate::{CompileOptions, compile};

// The module's entry point: `main!` defines the exported `_initialize` (with `#[no_mangle]`),
// which the host calls once when it loads the module. `deny(unsafe_code)` does not fire on
// attributes from another crate's macro, so no `allow` is needed here.
mod entry {
    proxy_wasm::main! {{
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> {
            Box::new(super::Root::default())
        });
    }}
}

/// The plugin configuration, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginConfig {
    manifests: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    mesh: Option<bool>,
    #[serde(default)]
    gateway: String,
    #[serde(default = "default_backend_header")]
    backend_header: String,
    #[serde(default = "default_cluster")]
    cluster: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    controller_name: Option<String>,
    #[serde(default)]
    address_pool: Option<Vec<String>>,
    #[serde(default = "default_timeout")]
    mirror_timeout_ms: u64,
    #[serde(default = "default_timeout")]
    auth_timeout_ms: u64,
    #[serde(default = "default_auth_failure_status")]
    auth_failure_status: u16,
}

fn default_backend_header() -> String {
    "x-gateway-backend".to_owned()
}

fn default_cluster() -> String {
    "{namespace}/{name}:{port}".to_owned()
}

fn default_timeout() -> u64 {
    1000
}

fn default_auth_failure_status() -> u16 {
    403
}

/// What `on_configure` compiled: shared, immutable, by every stream.
#[derive(Debug)]
struct Filter {
    router: gateway_core::route::Router,
    /// Sidecar mode: the namespace of the pod served (the client's), and the router is the
    /// mesh's. `None`: gateway mode.
    sidecar: Option<String>,
    backend_header: String,
    cluster: String,
    port: Option<u16>,
    mirror_timeout: Duration,
    auth_timeout: Duration,
    auth_options: AuthOptions,
}

/// The root context: holds the compiled configuration.
#[derive(Default)]
struct Root {
    filter: Option<Rc<Filter>>,
    streams: Rc<Cell<u64>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        match configure() {
            Ok(filter) => {
                let what = match &filter.sidecar {
                    Some(namespace) => format!("the mesh, clients in namespace {namespace}"),
                    None => format!(
                        "Gateway {}/{}",
                        filter.router.gateway().0,
                        filter.router.gateway().1
                    ),
                };
                log(
                    LogLevel::Info,
                    &format!(
                        "gateway filter: routing for {what} ({} rules)",
                        filter.router.rule_count()
                    ),
                );
                self.filter = Some(Rc::new(filter));
                true
            }
            Err(why) => {
                for line in why.lines() {
                    log(
                        LogLevel::Error,
                        &format!("gateway filter configuration: {line}"),
                    );
                }
                false
            }
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            context_id,
            filter: self.filter.clone(),
            streams: Rc::clone(&self.streams),
            request: None,
            auth_token: None,
            response_edits: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Reads and compiles the plugin configuration.
fn configure() -> Result<Filter, String> {
    let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
        .map_err(|s| format!("cannot read the plugin configuration: {s:?}"))?
        .ok_or("the plugin configuration is empty")?;
    let config: PluginConfig =
        serde_json::from_slice(&bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    if !is_token(&config.backend_header) {
        return Err(format!(
            "backend_header {:?} is not a header name",
            config.backend_header
        ));
    }
    let sidecar = match config.mode.as_deref() {
        None | Some("gateway") => {
            if config.namespace.is_some() {
                return Err("namespace is only for mode \"sidecar\"".to_owned());
            }
            if config.mesh.is_some() {
                return Err("mesh is only for mode \"sidecar\"".to_owned());
            }
            None
        }
        Some("sidecar") => {
            if !config.gateway.is_empty() {
                return Err("gateway is not used in mode \"sidecar\" (no Gateway)".to_owned());
            }
            if config.port.is_some() {
                return Err(
                    "port is not used in mode \"sidecar\" (the destination gives it)".to_owned(),
                );
            }
            match config.namespace {
                Some(ns) if !ns.is_empty() => Some(ns),
                _ => {
                    return Err(
                        "namespace is required in mode \"sidecar\" (the pod's namespace)"
                            .to_owned(),
                    );
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "mode {other:?} is unknown (\"gateway\" or \"sidecar\")"
            ));
        }
    };
    let target = match (&sidecar, config.gateway.as_str()) {
        (Some(_), _) => Target::Mesh,
        (None, "") => Target::only_gateway(),
        (None, text) => Target::Gateway(GatewayRef::parse(text).map_err(|e| e.to_string())?),
    };
    let options = CompileOptions {
        controller_name: config.controller_name,
        address_pool: config.address_pool,
        // Gateway mode routes north-south requests only; sidecar mode builds the mesh router
        // (ours with `mesh: true` or an XMesh of our controller).
        mesh: config.mesh,
    };
    let compiled =
        compile(config.manifests.as_bytes(), &target, &options).map_err(|e| e.to_string())?;
    for w in &compiled.warnings {
        log(
            LogLevel::Warn,
            &format!("gateway filter configuration: {w}"),
        );
    }
    Ok(Filter {
        router: compiled.router,
        sidecar,
        backend_header: config.backend_header.to_ascii_lowercase(),
        cluster: config.cluster,
        port: config.port,
        mirror_timeout: Duration::from_millis(config.mirror_timeout_ms),
        auth_timeout: Duration::from_millis(config.auth_timeout_ms),
        auth_options: AuthOptions::default().with_failure_status(config.auth_failure_status),
    })
}

/// Header pairs, in order.
type Headers = Vec<(String, String)>;

/// One HTTP stream.
struct Stream {
    context_id: u32,
    filter: Option<Rc<Filter>>,
    streams: Rc<Cell<u64>>,
    /// The request as read, kept while the auth service is asked (routing it again with the
    /// same random draw gives the same check, whose answer then releases the plan).
    request: Option<Request>,
    /// The auth call in flight.
    auth_token: Option<u32>,
    /// The response edits of a forwarded request.
    response_edits: Option<HeaderEdits>,
}

/// A request as the filter read it: the router's inputs, owned.
#[derive(Debug)]
struct Request {
    method: String,
    scheme: String,
    authority: Option<String>,
    target: String,
    /// Pseudo-headers other than `:method`, `:scheme`, `:authority` and `:path`, kept as is.
    pseudo: Headers,
    headers: Headers,
    port: u16,
    /// Sidecar mode: the connection's original destination.
    destination: Option<IpAddr>,
    sni: Option<String>,
    version: HttpVersion,
    random: u64,
}

/// What to do with a request.
enum Step {
    /// Forward with these request headers (pseudo-headers included); then edit the response.
    Forward {
        headers: Headers,
        mirrors: Vec<String>,
        response: HeaderEdits,
    },
    /// Answer the client.
    Respond(LocalResponse),
    /// Ask the auth service.
    Authorize(AuthCall),
    /// Sidecar mode, no mesh route applies: continue unchanged to the original destination.
    PassThrough,
}

/// The auth call to dispatch.
enum AuthCall {
    Http {
        cluster: String,
        headers: Headers,
        body: Vec<u8>,
    },
    Grpc {
        cluster: String,
        message: Vec<u8>,
    },
}

impl Context for Stream {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if self.auth_token != Some(token_id) {
            return; // A mirror's answer: ignored.
        }
        self.auth_token = None;
        let answer = http_auth_answer(body_size);
        self.resume_with(answer);
    }

    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        if self.auth_token != Some(token_id) {
            return;
        }
        self.auth_token = None;
        let answer = match status_code {
            0 => match hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, 0, response_size) {
                Ok(Some(message)) => authz::grpc::decode_message(&message),
                Ok(None) => authz::grpc::decode_message(&[]),
                Err(s) => AuthResponse::Malformed(format!("cannot read the answer: {s:?}")),
            },
            // DEADLINE_EXCEEDED
            4 => AuthResponse::Timeout,
            _ => AuthResponse::Unreachable,
        };
        self.resume_with(answer);
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(filter) = self.filter.clone() else {
            // on_configure failed: the host should not have created streams; fail closed.
            return self.respond(&LocalResponse::proxy(500, "the filter is not configured"));
        };
        let request = match self.read_request(&filter) {
            Ok(r) => r,
            Err(local) => return self.respond(&local),
        };
        let step = evaluate(&filter, &request, None);
        self.request = Some(request);
        match step {
            Step::Authorize(call) => match dispatch(&filter, call) {
                Ok(token) => {
                    self.auth_token = Some(token);
                    Action::Pause
                }
                Err(why) => {
                    log(
                        LogLevel::Warn,
                        &format!("gateway filter: auth call failed: {why}"),
                    );
                    self.run(&filter, AuthResponse::Unreachable)
                }
            },
            step => self.execute(&filter, step),
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(edits) = self.response_edits.take() else {
            return Action::Continue;
        };
        if let Err(why) = edit_response(&edits) {
            log(LogLevel::Error, &format!("gateway filter: {why}"));
        }
        Action::Continue
    }
}

impl Stream {
    /// Reads the request from the pseudo-headers, headers and connection properties.
    fn read_request(&self, filter: &Filter) -> Result<Request, LocalResponse> {
        let map = hostcalls::get_map_bytes(MapType::HttpRequestHeaders).map_err(|s| {
            LocalResponse::proxy(500, format!("cannot read the request headers: {s:?}"))
        })?;
        let mut request = Request {
            method: String::new(),
            scheme: "http".to_owned(),
            authority: None,
            target: String::new(),
            pseudo: Vec::new(),
            headers: Vec::new(),
            port: 0,
            destination: None,
            sni: None,
            version: HttpVersion::Http11,
            random: self.random(),
        };
        for (name, value) in map {
            let value = String::from_utf8(value).map_err(|_| {
                LocalResponse::new(
                    Outcome::BadRequest(BadRequest::MalformedRequest),
                    400,
                    format!("header {name} is not UTF-8"),
                )
            })?;
            match name.as_str() {
                ":method" => request.method = value,
                ":path" => request.target = value,
                ":authority" => request.authority = Some(value),
                ":scheme" => request.scheme = value,
                other if other.starts_with(':') => request.pseudo.push((name, value)),
                _ => request.headers.push((name, value)),
            }
        }
        if filter.sidecar.is_some() {
            let (ip, port) = original_destination().map_err(|why| {
                LocalResponse::proxy(500, format!("the original destination is unknown: {why}"))
            })?;
            request.destination = Some(ip);
            request.port = port;
        } else {
            request.port = match filter.port.or_else(connection_port) {
                Some(port) => port,
                None => return Err(LocalResponse::proxy(500, "the connection port is unknown")),
            };
        }
        request.sni =
            property_text(&["connection", "requested_server_name"]).filter(|s| !s.is_empty());
        request.version = match property_text(&["request", "protocol"]).as_deref() {
            Some("HTTP/1.0") => HttpVersion::Http10,
            Some("HTTP/2" | "HTTP/2.0") => HttpVersion::Http2,
            Some("HTTP/3") => HttpVersion::Http3,
            _ => HttpVersion::Http11,
        };
        Ok(request)
    }

    /// Finishes a request paused for the auth service with its answer.
    fn resume_with(&mut self, answer: AuthResponse) {
        let Some(filter) = self.filter.clone() else {
            return;
        };
        if self.run(&filter, answer) == Action::Continue
            && let Err(s) = hostcalls::resume_http_request()
        {
            log(
                LogLevel::Error,
                &format!("gateway filter: cannot resume: {s:?}"),
            );
        }
    }

    /// Routes the kept request again with the auth answer and carries the plan out.
    fn run(&mut self, filter: &Filter, answer: AuthResponse) -> Action {
        let Some(request) = self.request.take() else {
            return self.respond(&LocalResponse::proxy(500, "the request was not kept"));
        };
        match evaluate(filter, &request, Some(answer)) {
            Step::Authorize(_) => self.respond(&LocalResponse::proxy(500, "a second auth check")),
            step => self.execute(filter, step),
        }
    }

    /// Forwards or answers.
    fn execute(&mut self, filter: &Filter, step: Step) -> Action {
        match step {
            Step::Forward {
                headers,
                mirrors,
                response,
            } => {
                // Mirrors get the edited request, without the backend header.
                let pairs: Vec<(&str, &str)> = pairs(&headers);
                for cluster in &mirrors {
                    let sent = pairs
                        .iter()
                        .filter(|(n, _)| *n != filter.backend_header)
                        .copied()
                        .collect();
                    if let Err(s) = hostcalls::dispatch_http_call(
                        cluster,
                        sent,
                        None,
                        Vec::new(),
                        filter.mirror_timeout,
                    ) {
                        log(
                            LogLevel::Warn,
                            &format!("gateway filter: mirror {cluster}: {s:?}"),
                        );
                    }
                }
                if let Err(s) = hostcalls::set_map(MapType::HttpRequestHeaders, pairs) {
                    let why = format!("cannot set the request headers: {s:?}");
                    return self.respond(&LocalResponse::proxy(500, why));
                }
                if !response.is_empty() {
                    self.response_edits = Some(response);
                }
                Action::Continue
            }
            Step::Respond(local) => self.respond(&local),
            Step::PassThrough => Action::Continue,
            Step::Authorize(_) => self.respond(&LocalResponse::proxy(500, "unexpected auth check")),
        }
    }

    /// Answers the request locally; logs why at debug level (the reason is never sent).
    fn respond(&self, local: &LocalResponse) -> Action {
        log(
            LogLevel::Debug,
            &format!(
                "gateway filter: stream {} answered {} ({}): {}",
                self.context_id, local.status, local.outcome, local.reason
            ),
        );
        let body = (!local.body.is_empty()).then_some(local.body.as_slice());
        let headers = pairs(&local.headers);
        if let Err(s) = hostcalls::send_http_response(u32::from(local.status), headers, body) {
            log(
                LogLevel::Error,
                &format!("gateway filter: local response failed: {s:?}"),
            );
        }
        // Paused either way: a request the filter could not route is never forwarded.
        Action::Pause
    }

    /// A random draw for weighted backends and mirrors: the host clock and a stream counter
    /// through splitmix64 (the core reads no RNG; this needs no entropy source).
    fn random(&self) -> u64 {
        let n = self.streams.get().wrapping_add(1);
        self.streams.set(n);
        let nanos = hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        SplitMix64::new(nanos ^ n.rotate_left(32) ^ u64::from(self.context_id)).draw()
    }
}

/// Routes a request and plans it; with the auth service's answer when one was asked.
fn evaluate(filter: &Filter, r: &Request, answer: Option<AuthResponse>) -> Step {
    let headers = pairs(&r.headers);
    let view = RequestView::new(&r.method, r.target.as_bytes(), RqHeaders::Pairs(&headers))
        .scheme(&r.scheme)
        .port(r.port)
        .sni(r.sni.as_deref())
        .authority(r.authority.as_deref())
        .version(r.version);
    let decision = match (&filter.sidecar, r.destination) {
        (Some(namespace), Some(ip)) => {
            let destination = Destination::address(ip, r.port);
            match filter.router.route_mesh(&view, namespace, &destination) {
                MeshRoute::Routed(decision) => decision,
                MeshRoute::PassThrough(_) => return Step::PassThrough,
                _ => return Step::Respond(LocalResponse::proxy(500, "a mesh answer unknown")),
            }
        }
        (Some(_), None) => {
            return Step::Respond(LocalResponse::proxy(500, "no original destination"));
        }
        (None, _) => filter.router.route(&view),
    };
    let plan = match (plan(&decision, &view, r.random), answer) {
        (Plan::Authorize(check), None) => return auth_call(filter, &check),
        (Plan::Authorize(check), Some(answer)) => check.answer(answer, &filter.auth_options),
        (plan, _) => plan,
    };
    match plan {
        Plan::Forward(fp) => {
            // The canonical path (or the rewritten one) with the query as received. The
            // authority is left as received, port included, unless a URLRewrite hostname
            // replaces it, as `RequestEdits` says and `RequestEdits::apply` does: a backend
            // addressed as `echo:7070` must see that Host, not the canonical `echo`.
            let path = fp.request.path.as_deref().unwrap_or(decision.path());
            let path = match decision.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            };
            let authority = fp
                .request
                .authority
                .clone()
                .or_else(|| r.authority.clone())
                .unwrap_or_else(|| decision.host().to_owned());
            let mut out: Headers = vec![
                (":method".to_owned(), r.method.clone()),
                (":scheme".to_owned(), r.scheme.clone()),
                (":authority".to_owned(), authority.clone()),
                (":path".to_owned(), path),
            ];
            out.extend(r.pseudo.iter().cloned());
            for (name, value) in fp.request.headers.apply_to_pairs(&r.headers) {
                if name.eq_ignore_ascii_case(&filter.backend_header) {
                    continue; // never the client's own value
                }
                let value = if name.eq_ignore_ascii_case("host") {
                    authority.clone()
                } else {
                    value
                };
                out.push((name, value));
            }
            let b = fp.backend;
            let cluster = cluster_name(&filter.cluster, &b.namespace, &b.name, b.port);
            out.push((filter.backend_header.clone(), cluster));
            let mirrors = fp
                .mirrors
                .iter()
                .map(|m| {
                    let b = &m.backend;
                    cluster_name(&filter.cluster, &b.namespace, &b.name, b.port)
                })
                .collect();
            Step::Forward {
                headers: out,
                mirrors,
                response: fp.response,
            }
        }
        Plan::Respond(local) => Step::Respond(local),
        _ => Step::Respond(LocalResponse::proxy(500, "a plan the filter does not know")),
    }
}

/// The call that asks the auth service about a check.
fn auth_call(filter: &Filter, check: &AuthCheck<'_>) -> Step {
    if check.max_body.is_some() {
        // The filter does not buffer request bodies: fail closed rather than check without.
        return Step::Respond(LocalResponse::proxy(
            500,
            "ExternalAuth forwardBody is not supported by the proxy-wasm filter",
        ));
    }
    let b = &check.backend;
    let cluster = cluster_name(&filter.cluster, &b.namespace, &b.name, b.port);
    match &check.request {
        AuthRequest::Http(h) => {
            let mut headers: Headers = vec![
                (":method".to_owned(), h.method.clone()),
                (":path".to_owned(), h.path.clone()),
            ];
            for (name, value) in &h.headers {
                // Gateway API: the Host of the client request goes to the auth service.
                let name = if name == "host" { ":authority" } else { name };
                headers.push((name.to_owned(), value.clone()));
            }
            Step::Authorize(AuthCall::Http {
                cluster,
                headers,
                body: h.body.clone(),
            })
        }
        AuthRequest::Grpc(_) => match check.grpc_message() {
            Some(message) => Step::Authorize(AuthCall::Grpc { cluster, message }),
            None => Step::Respond(LocalResponse::proxy(500, "the gRPC check did not encode")),
        },
        _ => Step::Respond(LocalResponse::proxy(
            500,
            "an auth protocol the filter does not know",
        )),
    }
}

/// Sends the auth call; returns its token.
fn dispatch(filter: &Filter, call: AuthCall) -> Result<u32, String> {
    match call {
        AuthCall::Http {
            cluster,
            headers,
            body,
        } => {
            let body = (!body.is_empty()).then_some(body.as_slice());
            hostcalls::dispatch_http_call(
                &cluster,
                pairs(&headers),
                body,
                Vec::new(),
                filter.auth_timeout,
            )
            .map_err(|s| format!("{cluster}: {s:?}"))
        }
        AuthCall::Grpc { cluster, message } => hostcalls::dispatch_grpc_call(
            &cluster,
            AUTH_SERVICE,
            "Check",
            Vec::new(),
            Some(&message),
            filter.auth_timeout,
        )
        .map_err(|s| format!("{cluster}: {s:?}")),
    }
}

/// The gRPC service of Envoy's ext_authz `Check`.
const AUTH_SERVICE: &str = "envoy.service.auth.v3.Authorization";

/// The HTTP auth service's answer, as delivered to `on_http_call_response`. A call that failed
/// or timed out has no `:status` (the host cannot tell which here): unreachable.
fn http_auth_answer(body_size: usize) -> AuthResponse {
    let Ok(map) = hostcalls::get_map_bytes(MapType::HttpCallResponseHeaders) else {
        return AuthResponse::Unreachable;
    };
    let mut status = None;
    let mut headers = Vec::new();
    for (name, value) in map {
        let Ok(value) = String::from_utf8(value) else {
            return AuthResponse::Malformed(format!("auth header {name} is not UTF-8"));
        };
        if name == ":status" {
            status = value.parse::<u16>().ok();
        } else if !name.starts_with(':') {
            headers.push((name, value));
        }
    }
    let Some(status) = status else {
        return AuthResponse::Unreachable;
    };
    let body = match hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size) {
        Ok(body) => body.unwrap_or_default(),
        Err(s) => return AuthResponse::Malformed(format!("cannot read the auth body: {s:?}")),
    };
    AuthResponse::Http {
        status,
        headers,
        body,
    }
}

fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Applies response edits to the response headers, keeping values that are not UTF-8.
fn edit_response(edits: &HeaderEdits) -> Result<(), String> {
    let map = hostcalls::get_map_bytes(MapType::HttpResponseHeaders)
        .map_err(|s| format!("cannot read the response headers: {s:?}"))?;
    // Values that are not UTF-8 stand in as `\0<index>\0` (NUL is never in a header value)
    // while the core's edits apply, then come back as bytes.
    let mut raw: Vec<Vec<u8>> = Vec::new();
    let pairs: Vec<(String, String)> = map
        .into_iter()
        .map(|(name, value)| match String::from_utf8(value) {
            Ok(v) => (name, v),
            Err(e) => {
                raw.push(e.into_bytes());
                (name, format!("\0{}\0", raw.len() - 1))
            }
        })
        .collect();
    let edited = edits.apply_to_pairs(&pairs);
    let restored: Vec<(&str, Vec<u8>)> = edited
        .iter()
        .map(|(name, value)| (name.as_str(), restore(value, &raw)))
        .collect();
    let map: Vec<(&str, &[u8])> = restored.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    hostcalls::set_map_bytes(MapType::HttpResponseHeaders, map)
        .map_err(|s| format!("cannot set the response headers: {s:?}"))
}

/// A value with its `\0<index>\0` stand-in (at the start; `add` may append) replaced.
fn restore(value: &str, raw: &[Vec<u8>]) -> Vec<u8> {
    if let Some(rest) = value.strip_prefix('\0')
        && let Some((index, tail)) = rest.split_once('\0')
        && let Some(bytes) = index.parse::<usize>().ok().and_then(|i| raw.get(i))
    {
        let mut out = bytes.clone();
        out.extend_from_slice(tail.as_bytes());
        return out;
    }
    value.as_bytes().to_vec()
}

/// The cluster name of a backend, from the configured template.
fn cluster_name(template: &str, namespace: &str, name: &str, port: u16) -> String {
    template
        .replace("{namespace}", namespace)
        .replace("{name}", name)
        .replace("{port}", &port.to_string())
}

/// The connection's local port: Envoy's `destination.port` (an int64, little-endian).
fn connection_port() -> Option<u16> {
    let bytes = hostcalls::get_property(vec!["destination", "port"]).ok()??;
    let bytes: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    u16::try_from(i64::from_le_bytes(bytes)).ok()
}

/// The connection's original destination, in sidecar mode: Envoy's `destination.address`
/// (`ip:port`, `[ipv6]:port`) and, when present, `destination.port` (an int64, little-endian),
/// which must name the same port. Missing or malformed: why, and the request fails closed.
fn original_destination() -> Result<(IpAddr, u16), String> {
    let bytes = match hostcalls::get_property(vec!["destination", "address"]) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err("no destination.address property".to_owned()),
        Err(s) => return Err(format!("destination.address: {s:?}")),
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| "destination.address is not UTF-8 text".to_owned())?;
    let address: SocketAddr = text
        .parse()
        .map_err(|_| format!("destination.address {text:?} is not ip:port or [ipv6]:port"))?;
    match hostcalls::get_property(vec!["destination", "port"]) {
        Ok(Some(bytes)) => {
            let port = <[u8; 8]>::try_from(bytes.as_slice())
                .ok()
                .map(i64::from_le_bytes)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or("destination.port is not a port (an int64, little-endian)")?;
            if port != address.port() {
                return Err(format!(
                    "destination.port {port} is not the port of destination.address {text:?}"
                ));
            }
        }
        Ok(None) => {}
        Err(s) => return Err(format!("destination.port: {s:?}")),
    }
    Ok((address.ip(), address.port()))
}

fn property_text(path: &[&str]) -> Option<String> {
    let bytes = hostcalls::get_property(path.to_vec()).ok()??;
    String::from_utf8(bytes).ok()
}

/// Whether `name` is an HTTP token (a header name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn log(level: LogLevel, message: &str) {
    // Logging is best effort: there is nowhere else to report a failure to log.
    let _ = hostcalls::log(level, message);
}
