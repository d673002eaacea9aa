//! CRD-equivalent validation: invalid manifests rejected with the exact field path, valid edge
//! cases and the upstream conformance manifests accepted.
//!
//! The rules come from the v1.4.1 experimental-channel CRDs of kubernetes-sigs/gateway-api
//! (`config/crd/experimental/*.yaml`): schema bounds and `x-kubernetes-validations` CEL rules.
#![allow(clippy::disallowed_methods)] // tests read the corpus from disk and PROPTEST_CASES
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use gateway_core::api::{Diagnostic, LoadOptions, ResourceId, Severity, Snapshot};

const GC: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gc}\nspec: ";
const GW: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec: ";
const LS: &str = "apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XListenerSet\nmetadata: {name: ls}\nspec: ";
const HTTP: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: ";
const GRPC: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g}\nspec: ";
const TLS2: &str =
    "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TLSRoute\nmetadata: {name: t}\nspec: ";
const TLS3: &str =
    "apiVersion: gateway.networking.k8s.io/v1alpha3\nkind: TLSRoute\nmetadata: {name: t}\nspec: ";
const TCP: &str =
    "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\nmetadata: {name: t}\nspec: ";
const UDP: &str =
    "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\nmetadata: {name: u}\nspec: ";
const RG: &str = "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: rg}\nspec: ";
const BTP: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\nmetadata: {name: p}\nspec: ";
const XBTP: &str = "apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XBackendTrafficPolicy\nmetadata: {name: p}\nspec: ";
const MESH: &str =
    "apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XMesh\nmetadata: {name: m}\nspec: ";

/// A Gateway spec with one HTTP listener, then `rest` (`, key: value` pairs).
fn gw(listeners: &str, rest: &str) -> String {
    format!("{GW}{{gatewayClassName: gc, listeners: [{listeners}]{rest}}}\n")
}

/// An HTTPRoute with one rule whose body is `rule` (flow-mapping entries).
fn rule(rule: &str) -> String {
    format!("{HTTP}{{rules: [{{{rule}}}]}}\n")
}

/// An HTTPRoute with one rule holding one filter (flow-mapping entries).
fn filter(filter: &str) -> String {
    rule(&format!("filters: [{{{filter}}}]"))
}

/// An HTTPRoute with one rule holding one match (flow-mapping entries).
fn matches(m: &str) -> String {
    rule(&format!("matches: [{{{m}}}]"))
}

fn path(type_: &str, value: &str) -> String {
    matches(&format!("path: {{type: {type_}, value: {value:?}}}"))
}

fn doc(header: &str, spec: &str) -> String {
    format!("{header}{spec}\n")
}

/// `n` items made by `item`, as a flow sequence body.
fn rep(n: usize, item: impl Fn(usize) -> String) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(", ")
}

fn long(n: usize) -> String {
    "a".repeat(n)
}

const SVC: &str = "{name: s, port: 80}";
const L_HTTP: &str = "{name: http, port: 80, protocol: HTTP}";
const BTP_OK: &str = "targetRefs: [{group: '', kind: Service, name: s}]";

/// `(manifest, field path, substring of the reason)`: each must be rejected with that error.
fn invalid_cases() -> Vec<(String, &'static str, &'static str)> {
    vec![
        // GatewayClass and XMesh.
        (doc(GC, "{controllerName: nodomain}"), "spec.controllerName", "domain-prefixed path"),
        (doc(GC, "{controllerName: Example.com/x}"), "spec.controllerName", "domain-prefixed path"),
        (doc(GC, &format!("{{controllerName: example.com/x, description: {}}}", long(65))), "spec.description", "at most 64 characters"),
        (doc(GC, "{controllerName: example.com/x, parametersRef: {group: '', kind: '', name: p}}"), "spec.parametersRef.kind", "must not be empty"),
        (doc(MESH, "{controllerName: mesh}"), "spec.controllerName", "domain-prefixed path"),
        // Gateway: listeners.
        (gw("", ""), "spec.listeners", "at least 1 item"),
        (gw(&rep(65, |i| format!("{{name: l{i}, port: {}, protocol: HTTP}}", 1000 + i)), ""), "spec.listeners", "at most 64 items"),
        (gw("{name: a, port: 80, protocol: HTTP}, {name: a, port: 81, protocol: HTTP}", ""), "spec.listeners[1].name", "duplicate listener name"),
        (gw("{name: Http, port: 80, protocol: HTTP}", ""), "spec.listeners[0].name", "RFC 1123 subdomain"),
        (gw("{name: a, port: 80, protocol: HTTP, hostname: '*.*.example.com'}", ""), "spec.listeners[0].hostname", "valid hostname"),
        (gw("{name: a, port: 80, protocol: HTTP, hostname: 'foo.*.com'}", ""), "spec.listeners[0].hostname", "valid hostname"),
        (gw("{name: a, port: 80, protocol: HTTP, hostname: Example.com}", ""), "spec.listeners[0].hostname", "valid hostname"),
        (
            gw(&format!("{{name: a, port: 80, protocol: HTTP, hostname: {}.{}.{}.{}}}", long(63), long(63), long(63), long(62)), ""),
            "spec.listeners[0].hostname",
            "at most 253 characters",
        ),
        (gw("{name: a, port: 0, protocol: HTTP}", ""), "spec.listeners[0].port", "between 1 and 65535"),
        (gw("{name: a, port: 65536, protocol: HTTP}", ""), "spec.listeners[0].port", "between 1 and 65535"),
        (gw("{name: a, port: 80, protocol: HTTP/2}", ""), "spec.listeners[0].protocol", "protocol name"),
        (gw("{name: a, port: 80, protocol: TCP, hostname: example.com}", ""), "spec.listeners[0].hostname", "must not be set for protocol TCP"),
        (gw("{name: a, port: 80, protocol: HTTP, tls: {certificateRefs: [{name: c}]}}", ""), "spec.listeners[0].tls", "must not be set for protocol HTTP"),
        (gw("{name: a, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}", ""), "spec.listeners[0].tls.mode", "must be Terminate for protocol HTTPS"),
        (gw("{name: a, port: 443, protocol: HTTPS, tls: {}}", ""), "spec.listeners[0].tls.certificateRefs", "certificateRefs or options must be specified"),
        (
            gw("{name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: c, namespace: Bad_NS}]}}", ""),
            "spec.listeners[0].tls.certificateRefs[0].namespace",
            "RFC 1123 label",
        ),
        (
            gw(&format!("{{name: a, port: 443, protocol: HTTPS, tls: {{options: {{{}}}}}}}", rep(17, |i| format!("k{i}: v")),), ""),
            "spec.listeners[0].tls.options",
            "at most 16 entries",
        ),
        (
            gw(&format!("{{name: a, port: 80, protocol: HTTP, allowedRoutes: {{kinds: [{}]}}}}", rep(9, |_| "{kind: HTTPRoute}".into())), ""),
            "spec.listeners[0].allowedRoutes.kinds",
            "at most 8 items",
        ),
        (gw("{name: a, port: 80, protocol: HTTP, allowedRoutes: {kinds: [{kind: 1Route}]}}", ""), "spec.listeners[0].allowedRoutes.kinds[0].kind", "valid kind"),
        // Gateway: addresses, class, infrastructure, TLS.
        (gw(L_HTTP, &format!(", addresses: [{}]", rep(17, |i| format!("{{value: 10.0.0.{i}}}")))), "spec.addresses", "at most 16 items"),
        (gw(L_HTTP, ", addresses: [{type: IPAddress, value: 300.1.1.1}]"), "spec.addresses[0].value", "IPv4 or IPv6"),
        (gw(L_HTTP, ", addresses: [{type: Hostname, value: foo_bar}]"), "spec.addresses[0].value", "valid hostname"),
        (gw(L_HTTP, ", addresses: [{type: foo, value: x}]"), "spec.addresses[0].type", "Hostname, IPAddress, NamedAddress"),
        (gw(L_HTTP, ", addresses: [{value: 10.0.0.1}, {value: 10.0.0.1}]"), "spec.addresses[1].value", "duplicate IPAddress value"),
        (format!("{GW}{{gatewayClassName: '', listeners: [{L_HTTP}]}}\n"), "spec.gatewayClassName", "must not be empty"),
        (gw(L_HTTP, ", infrastructure: {labels: {'bad key': v}}"), "spec.infrastructure.labels", "key \"bad key\""),
        (gw(L_HTTP, &format!(", infrastructure: {{labels: {{{}}}}}", rep(9, |i| format!("k{i}: v")))), "spec.infrastructure.labels", "at most 8 entries"),
        (
            gw(L_HTTP, ", tls: {frontend: {default: {}, perPort: [{port: 443, tls: {}}, {port: 443, tls: {}}]}}"),
            "spec.tls.frontend.perPort[1].port",
            "duplicate port",
        ),
        (gw(L_HTTP, ", tls: {frontend: {perPort: [{port: 443, tls: {}}]}}"), "spec.tls.frontend.default", "required"),
        (
            gw(L_HTTP, ", tls: {frontend: {default: {validation: {caCertificateRefs: []}}}}"),
            "spec.tls.frontend.default.validation.caCertificateRefs",
            "at least 1 item",
        ),
        (
            gw(L_HTTP, &format!(", tls: {{frontend: {{default: {{validation: {{caCertificateRefs: [{}]}}}}}}}}", rep(9, |i| format!("{{group: '', kind: ConfigMap, name: c{i}}}")))),
            "spec.tls.frontend.default.validation.caCertificateRefs",
            "at most 8 items",
        ),
        (gw(L_HTTP, ", tls: {frontend: {default: {}, perPort: [{port: 0, tls: {}}]}}"), "spec.tls.frontend.perPort[0].port", "between 1 and 65535"),
        // XListenerSet.
        (doc(LS, "{parentRef: {name: gw}, listeners: [{name: a, port: -1, protocol: HTTP}]}"), "spec.listeners[0].port", "between 0 and 65535"),
        (doc(LS, "{parentRef: {name: gw}, listeners: [{name: a, protocol: HTTP}, {name: a, protocol: HTTPS}]}"), "spec.listeners[1].name", "duplicate listener name"),
        (doc(LS, "{parentRef: {name: ''}, listeners: [{name: a, protocol: HTTP}]}"), "spec.parentRef.name", "must not be empty"),
        // HTTPRoute: path matches.
        (path("Exact", "foo"), "spec.rules[0].matches[0].path.value", "must start with \"/\""),
        (path("Exact", "/foo//bar"), "spec.rules[0].matches[0].path.value", "must not contain \"//\""),
        (path("PathPrefix", "/foo/./bar"), "spec.rules[0].matches[0].path.value", "must not contain \"/./\""),
        (path("PathPrefix", "/foo/../bar"), "spec.rules[0].matches[0].path.value", "must not contain \"/../\""),
        (path("Exact", "/foo%2fbar"), "spec.rules[0].matches[0].path.value", "must not contain \"%2f\""),
        (path("PathPrefix", "/foo%2Fbar"), "spec.rules[0].matches[0].path.value", "must not contain \"%2F\""),
        (path("Exact", "/foo#bar"), "spec.rules[0].matches[0].path.value", "must not contain \"#\""),
        (path("PathPrefix", "/foo/.."), "spec.rules[0].matches[0].path.value", "must not end with \"/..\""),
        (path("Exact", "/foo/."), "spec.rules[0].matches[0].path.value", "must not end with \"/.\""),
        (path("Exact", "/foo bar"), "spec.rules[0].matches[0].path.value", "valid path characters"),
        (path("PathPrefix", "/%zz"), "spec.rules[0].matches[0].path.value", "valid path characters"),
        (path("PathPrefix", &format!("/{}", long(1024))), "spec.rules[0].matches[0].path.value", "at most 1024 characters"),
        (path("RegularExpression", &format!("/{}", long(1024))), "spec.rules[0].matches[0].path.value", "at most 1024 characters"),
        // HTTPRoute: hostnames and parentRefs.
        (doc(HTTP, &format!("{{hostnames: [{}]}}", rep(17, |i| format!("h{i}.example.com")))), "spec.hostnames", "at most 16 items"),
        (doc(HTTP, "{hostnames: ['*']}"), "spec.hostnames[0]", "valid hostname"),
        (doc(HTTP, "{hostnames: [foo..bar]}"), "spec.hostnames[0]", "valid hostname"),
        (doc(HTTP, &format!("{{parentRefs: [{}]}}", rep(33, |i| format!("{{name: gw{i}}}")))), "spec.parentRefs", "at most 32 items"),
        (doc(HTTP, "{parentRefs: [{name: gw}, {name: gw}]}"), "spec.parentRefs[1]", "sectionName or port must be unique"),
        (doc(HTTP, "{parentRefs: [{name: gw, sectionName: a}, {name: gw}]}"), "spec.parentRefs[1]", "sectionName or port must be specified"),
        (doc(HTTP, "{parentRefs: [{name: gw, port: 80}, {name: gw, sectionName: a}]}"), "spec.parentRefs[1]", "must be specified"),
        (doc(HTTP, "{parentRefs: [{name: gw, port: 0}]}"), "spec.parentRefs[0].port", "between 1 and 65535"),
        (doc(HTTP, "{parentRefs: [{name: gw, sectionName: Bad}]}"), "spec.parentRefs[0].sectionName", "RFC 1123 subdomain"),
        (doc(HTTP, "{parentRefs: [{name: gw, namespace: a.b}]}"), "spec.parentRefs[0].namespace", "RFC 1123 label"),
        (doc(HTTP, "{parentRefs: [{name: ''}]}"), "spec.parentRefs[0].name", "must not be empty"),
        // HTTPRoute: rules and matches.
        (doc(HTTP, &format!("{{rules: [{}]}}", rep(17, |_| "{}".into()))), "spec.rules", "at most 16 items"),
        (rule(&format!("matches: [{}]", rep(65, |_| "{}".into()))), "spec.rules[0].matches", "at most 64 items"),
        (
            doc(HTTP, &format!("{{rules: [{}]}}", rep(3, |_| format!("{{matches: [{}]}}", rep(43, |_| "{}".into()))))),
            "spec.rules",
            "at most 128 matches across all rules",
        ),
        (doc(HTTP, "{rules: [{name: a}, {name: a}]}"), "spec.rules[1].name", "duplicate rule name"),
        (doc(HTTP, "{rules: [{name: A}]}"), "spec.rules[0].name", "RFC 1123 subdomain"),
        (matches(&format!("headers: [{}]", rep(17, |i| format!("{{name: h{i}, value: v}}")))), "spec.rules[0].matches[0].headers", "at most 16 items"),
        (matches("headers: [{name: 'bad header', value: v}]"), "spec.rules[0].matches[0].headers[0].name", "valid header name"),
        (matches("headers: [{name: x-a, value: v}, {name: x-a, value: w}]"), "spec.rules[0].matches[0].headers[1].name", "duplicate header name"),
        (matches(&format!("headers: [{{name: {}, value: v}}]", long(257))), "spec.rules[0].matches[0].headers[0].name", "at most 256 characters"),
        (matches("headers: [{name: x-a, value: ''}]"), "spec.rules[0].matches[0].headers[0].value", "must not be empty"),
        (matches(&format!("headers: [{{name: x-a, value: {}}}]", long(4097))), "spec.rules[0].matches[0].headers[0].value", "at most 4096 characters"),
        (matches("queryParams: [{name: q, value: v}, {name: q, value: w}]"), "spec.rules[0].matches[0].queryParams[1].name", "duplicate query parameter name"),
        (matches(&format!("queryParams: [{}]", rep(17, |i| format!("{{name: q{i}, value: v}}")))), "spec.rules[0].matches[0].queryParams", "at most 16 items"),
        (matches(&format!("queryParams: [{{name: q, value: {}}}]", long(1025))), "spec.rules[0].matches[0].queryParams[0].value", "at most 1024 characters"),
        // HTTPRoute: backendRefs.
        (rule(&format!("backendRefs: [{}]", rep(17, |i| format!("{{name: s{i}, port: 80}}")))), "spec.rules[0].backendRefs", "at most 16 items"),
        (rule("backendRefs: [{name: s}]"), "spec.rules[0].backendRefs[0].port", "required for a Service reference"),
        (rule("backendRefs: [{name: s, port: 80, weight: 1000001}]"), "spec.rules[0].backendRefs[0].weight", "between 0 and 1000000"),
        (rule("backendRefs: [{name: s, port: 80, weight: -1}]"), "spec.rules[0].backendRefs[0].weight", "between 0 and 1000000"),
        (rule("backendRefs: [{name: s, port: 70000}]"), "spec.rules[0].backendRefs[0].port", "between 1 and 65535"),
        (rule("backendRefs: [{name: s, port: 80, group: Example.com, kind: Backend}]"), "spec.rules[0].backendRefs[0].group", "RFC 1123 subdomain"),
        (rule(&format!("backendRefs: [{{name: s, port: 80, filters: [{}]}}]", rep(17, |_| "{type: ExtensionRef, extensionRef: {group: x.io, kind: F, name: f}}".into()))), "spec.rules[0].backendRefs[0].filters", "at most 16 items"),
        (
            rule("backendRefs: [{name: s, port: 80, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {}}, {type: RequestHeaderModifier, requestHeaderModifier: {}}]}]"),
            "spec.rules[0].backendRefs[0].filters[1].type",
            "cannot be repeated",
        ),
        // HTTPRoute: filter unions and uniqueness.
        (rule(&format!("filters: [{}]", rep(17, |_| "{type: ExtensionRef, extensionRef: {group: x.io, kind: F, name: f}}".into()))), "spec.rules[0].filters", "at most 16 items"),
        (filter("type: RequestHeaderModifier"), "spec.rules[0].filters[0].requestHeaderModifier", "required when type is RequestHeaderModifier"),
        (
            filter("type: RequestHeaderModifier, requestHeaderModifier: {}, responseHeaderModifier: {}"),
            "spec.rules[0].filters[0].responseHeaderModifier",
            "must not be set when type is not ResponseHeaderModifier",
        ),
        (filter("type: ExtensionRef"), "spec.rules[0].filters[0].extensionRef", "required when type is ExtensionRef"),
        (filter("type: CORS"), "spec.rules[0].filters[0].cors", "required when type is CORS"),
        (filter("type: ExternalAuth, cors: {}, externalAuth: {protocol: HTTP, http: {}, backendRef: {name: a, port: 80}}"), "spec.rules[0].filters[0].cors", "must not be set"),
        (
            rule("filters: [{type: RequestHeaderModifier, requestHeaderModifier: {}}, {type: RequestHeaderModifier, requestHeaderModifier: {}}]"),
            "spec.rules[0].filters[1].type",
            "RequestHeaderModifier filter cannot be repeated",
        ),
        (
            rule("filters: [{type: URLRewrite, urlRewrite: {}}, {type: RequestRedirect, requestRedirect: {}}]"),
            "spec.rules[0].filters[1].type",
            "cannot both be used",
        ),
        // HTTPRoute: header modifiers.
        (
            filter(&format!("type: RequestHeaderModifier, requestHeaderModifier: {{set: [{}]}}", rep(17, |i| format!("{{name: h{i}, value: v}}")))),
            "spec.rules[0].filters[0].requestHeaderModifier.set",
            "at most 16 items",
        ),
        (
            filter("type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: v}, {name: x-a, value: w}]}"),
            "spec.rules[0].filters[0].requestHeaderModifier.set[1].name",
            "duplicate header name",
        ),
        (
            filter("type: ResponseHeaderModifier, responseHeaderModifier: {remove: [x-a, x-a]}"),
            "spec.rules[0].filters[0].responseHeaderModifier.remove[1]",
            "duplicate header name",
        ),
        (
            filter(&format!("type: ResponseHeaderModifier, responseHeaderModifier: {{remove: [{}]}}", rep(17, |i| format!("h{i}")))),
            "spec.rules[0].filters[0].responseHeaderModifier.remove",
            "at most 16 items",
        ),
        (
            filter("type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: 'x:a', value: v}]}"),
            "spec.rules[0].filters[0].responseHeaderModifier.add[0].name",
            "valid header name",
        ),
        (
            filter("type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: ''}]}"),
            "spec.rules[0].filters[0].requestHeaderModifier.set[0].value",
            "must not be empty",
        ),
        // HTTPRoute: redirects and rewrites.
        (filter("type: RequestRedirect, requestRedirect: {hostname: '*.example.com'}"), "spec.rules[0].filters[0].requestRedirect.hostname", "without wildcard"),
        (filter("type: RequestRedirect, requestRedirect: {port: 0}"), "spec.rules[0].filters[0].requestRedirect.port", "between 1 and 65535"),
        (
            rule(&format!("filters: [{{type: RequestRedirect, requestRedirect: {{}}}}], backendRefs: [{SVC}]")),
            "spec.rules[0].filters[0].requestRedirect",
            "must not be used together with backendRefs",
        ),
        (
            rule("matches: [{path: {type: Exact, value: /a}}], filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}}]"),
            "spec.rules[0].filters[0].requestRedirect.path.replacePrefixMatch",
            "exactly one match",
        ),
        (
            rule("matches: [{path: {value: /a}}, {path: {value: /b}}], filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /c}}}]"),
            "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch",
            "exactly one match",
        ),
        (
            rule("matches: [{path: {type: RegularExpression, value: /a.*}}], backendRefs: [{name: s, port: 80, filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /c}}}]}]"),
            "spec.rules[0].backendRefs[0].filters[0].urlRewrite.path.replacePrefixMatch",
            "exactly one match",
        ),
        (rule("matches: [], filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /c}}}]"), "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch", "exactly one match"),
        (filter("type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath}}"), "spec.rules[0].filters[0].urlRewrite.path.replaceFullPath", "required when type is ReplaceFullPath"),
        (
            filter("type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /a, replacePrefixMatch: /b}}"),
            "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch",
            "must not be set when type is not ReplacePrefixMatch",
        ),
        (
            filter(&format!("type: URLRewrite, urlRewrite: {{path: {{type: ReplaceFullPath, replaceFullPath: /{}}}}}", long(1024))),
            "spec.rules[0].filters[0].urlRewrite.path.replaceFullPath",
            "at most 1024 characters",
        ),
        (filter("type: URLRewrite, urlRewrite: {hostname: Foo.com}"), "spec.rules[0].filters[0].urlRewrite.hostname", "without wildcard"),
        // HTTPRoute: mirrors.
        (filter("type: RequestMirror, requestMirror: {backendRef: {name: m}}"), "spec.rules[0].filters[0].requestMirror.backendRef.port", "required for a Service reference"),
        (filter("type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, percent: 101}"), "spec.rules[0].filters[0].requestMirror.percent", "between 0 and 100"),
        (
            filter("type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, percent: 5, fraction: {numerator: 1}}"),
            "spec.rules[0].filters[0].requestMirror.fraction",
            "only one of percent or fraction",
        ),
        (
            filter("type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, fraction: {numerator: 3, denominator: 2}}"),
            "spec.rules[0].filters[0].requestMirror.fraction.numerator",
            "less than or equal to denominator",
        ),
        (
            filter("type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, fraction: {numerator: 0, denominator: 0}}"),
            "spec.rules[0].filters[0].requestMirror.fraction.denominator",
            "at least 1",
        ),
        // HTTPRoute: CORS.
        (filter("type: CORS, cors: {maxAge: 0}"), "spec.rules[0].filters[0].cors.maxAge", "at least 1"),
        (filter("type: CORS, cors: {allowOrigins: [example.com]}"), "spec.rules[0].filters[0].cors.allowOrigins[0]", "scheme://host"),
        (filter("type: CORS, cors: {allowOrigins: ['https://a.com:123456']}"), "spec.rules[0].filters[0].cors.allowOrigins[0]", "scheme://host"),
        (filter("type: CORS, cors: {allowOrigins: ['*', 'https://a.com']}"), "spec.rules[0].filters[0].cors.allowOrigins", "cannot contain \"*\""),
        (filter("type: CORS, cors: {allowMethods: [GET, '*']}"), "spec.rules[0].filters[0].cors.allowMethods", "cannot contain \"*\""),
        (filter("type: CORS, cors: {allowMethods: [FOO]}"), "spec.rules[0].filters[0].cors.allowMethods[0]", "must be one of"),
        (filter("type: CORS, cors: {allowMethods: [GET, GET]}"), "spec.rules[0].filters[0].cors.allowMethods[1]", "duplicate value"),
        (
            filter(&format!("type: CORS, cors: {{allowOrigins: [{}]}}", rep(65, |i| format!("'https://o{i}.com'")))),
            "spec.rules[0].filters[0].cors.allowOrigins",
            "at most 64 items",
        ),
        (filter("type: CORS, cors: {allowHeaders: ['bad header']}"), "spec.rules[0].filters[0].cors.allowHeaders[0]", "valid header name"),
        (filter(&format!("type: CORS, cors: {{exposeHeaders: [{}]}}", rep(65, |i| format!("h{i}")))), "spec.rules[0].filters[0].cors.exposeHeaders", "at most 64 items"),
        // HTTPRoute: external auth and extension refs.
        (filter("type: ExternalAuth, externalAuth: {protocol: GRPC, backendRef: {name: a, port: 80}}"), "spec.rules[0].filters[0].externalAuth.grpc", "required when protocol is GRPC"),
        (
            filter("type: ExternalAuth, externalAuth: {protocol: HTTP, http: {}, grpc: {}, backendRef: {name: a, port: 80}}"),
            "spec.rules[0].filters[0].externalAuth.grpc",
            "must not be set unless protocol is GRPC",
        ),
        (filter("type: ExternalAuth, externalAuth: {grpc: {}, backendRef: {name: a, port: 80}}"), "spec.rules[0].filters[0].externalAuth.protocol", "required"),
        (filter("type: ExternalAuth, externalAuth: {protocol: HTTP, http: {}, backendRef: {name: a}}"), "spec.rules[0].filters[0].externalAuth.backendRef.port", "required for a Service reference"),
        (
            filter("type: ExternalAuth, externalAuth: {protocol: HTTP, http: {}, backendRef: {name: a, port: 80}, forwardBody: {maxSize: -1}}"),
            "spec.rules[0].filters[0].externalAuth.forwardBody.maxSize",
            "at least 0",
        ),
        (
            filter("type: ExternalAuth, externalAuth: {protocol: HTTP, http: {path: 'bad path'}, backendRef: {name: a, port: 80}}"),
            "spec.rules[0].filters[0].externalAuth.http.path",
            "valid path characters",
        ),
        (filter("type: ExtensionRef, extensionRef: {group: x.io, kind: '', name: f}"), "spec.rules[0].filters[0].extensionRef.kind", "must not be empty"),
        // HTTPRoute: timeouts, retries, session persistence.
        (rule("timeouts: {request: '10'}"), "spec.rules[0].timeouts.request", "must be a duration"),
        (rule("timeouts: {request: 10s, backendRequest: 20s}"), "spec.rules[0].timeouts.backendRequest", "must not be longer than the request timeout"),
        (rule("timeouts: {request: 100000s}"), "spec.rules[0].timeouts.request", "must be a duration"),
        (rule("timeouts: {backendRequest: 1h1m1s1ms1h}"), "spec.rules[0].timeouts.backendRequest", "must be a duration"),
        (rule("retry: {codes: [500, 399]}"), "spec.rules[0].retry.codes[1]", "between 400 and 599"),
        (rule("retry: {backoff: 1d}"), "spec.rules[0].retry.backoff", "must be a duration"),
        (rule("sessionPersistence: {cookieConfig: {lifetimeType: Permanent}}"), "spec.rules[0].sessionPersistence.absoluteTimeout", "required when cookieConfig.lifetimeType is Permanent"),
        (rule(&format!("sessionPersistence: {{sessionName: {}}}", long(129))), "spec.rules[0].sessionPersistence.sessionName", "at most 128 characters"),
        // Object metadata.
        ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: Bad_Name}\n".to_owned(), "metadata.name", "RFC 1123 subdomain"),
        ("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: bad.ns}\n".to_owned(), "metadata.namespace", "RFC 1123 label"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: 1svc}\n".to_owned(), "metadata.name", "RFC 1035 label"),
        // GRPCRoute.
        (doc(GRPC, "{rules: [{matches: [{method: {}}]}]}"), "spec.rules[0].matches[0].method", "one or both of service or method"),
        (doc(GRPC, "{rules: [{matches: [{method: {service: foo-bar}}]}]}"), "spec.rules[0].matches[0].method.service", "valid characters"),
        (doc(GRPC, "{rules: [{matches: [{method: {method: 1abc}}]}]}"), "spec.rules[0].matches[0].method.method", "valid characters"),
        (
            doc(GRPC, &format!("{{rules: [{{matches: [{{method: {{type: RegularExpression, service: {}}}}}]}}]}}", long(1025))),
            "spec.rules[0].matches[0].method.service",
            "at most 1024 characters",
        ),
        (
            doc(GRPC, "{rules: [{filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {}}, {type: ResponseHeaderModifier, responseHeaderModifier: {}}]}]}"),
            "spec.rules[0].filters[1].type",
            "cannot be repeated",
        ),
        (doc(GRPC, "{rules: [{filters: [{type: RequestMirror}]}]}"), "spec.rules[0].filters[0].requestMirror", "required when type is RequestMirror"),
        (doc(GRPC, &format!("{{rules: [{}]}}", rep(17, |_| "{}".into()))), "spec.rules", "at most 16 items"),
        (doc(GRPC, "{rules: [{matches: [{headers: [{name: a, value: x}, {name: a, value: w}]}]}]}"), "spec.rules[0].matches[0].headers[1].name", "duplicate header name"),
        (doc(GRPC, "{rules: [{backendRefs: [{name: s}]}]}"), "spec.rules[0].backendRefs[0].port", "required for a Service reference"),
        // TLSRoute, TCPRoute, UDPRoute.
        (doc(TLS3, &format!("{{rules: [{{backendRefs: [{SVC}]}}]}}")), "spec.hostnames", "at least 1 item"),
        (doc(TLS3, &format!("{{hostnames: [a.com], rules: [{{backendRefs: [{SVC}]}}, {{backendRefs: [{SVC}]}}]}}")), "spec.rules", "at most 1 items"),
        (doc(TLS2, "{rules: []}"), "spec.rules", "at least 1 item"),
        (doc(TLS2, &format!("{{hostnames: ['*.*.a.com'], rules: [{{backendRefs: [{SVC}]}}]}}")), "spec.hostnames[0]", "valid hostname"),
        (doc(TCP, "{rules: [{backendRefs: []}]}"), "spec.rules[0].backendRefs", "at least 1 item"),
        (doc(UDP, "{rules: [{backendRefs: [{name: s}]}]}"), "spec.rules[0].backendRefs[0].port", "required for a Service reference"),
        (doc(TCP, &format!("{{rules: [{{name: a, backendRefs: [{SVC}]}}, {{name: a, backendRefs: [{SVC}]}}]}}")), "spec.rules[1].name", "duplicate rule name"),
        // ReferenceGrant.
        (doc(RG, "{from: [], to: [{group: '', kind: Service}]}"), "spec.from", "at least 1 item"),
        (
            doc(RG, &format!("{{from: [{{group: '', kind: Service, namespace: a}}], to: [{}]}}", rep(17, |_| "{group: '', kind: Service}".into()))),
            "spec.to",
            "at most 16 items",
        ),
        (doc(RG, "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ''}], to: [{group: '', kind: Service}]}"), "spec.from[0].namespace", "must not be empty"),
        (doc(RG, "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: a}], to: [{group: '', kind: 'Bad Kind'}]}"), "spec.to[0].kind", "valid kind"),
        (doc(RG, "{from: [{group: Gateway.Networking, kind: HTTPRoute, namespace: a}], to: [{group: '', kind: Service}]}"), "spec.from[0].group", "RFC 1123 subdomain"),
        // BackendTLSPolicy.
        (doc(BTP, "{targetRefs: [], validation: {hostname: a.com, wellKnownCACertificates: System}}"), "spec.targetRefs", "at least 1 item"),
        (
            doc(BTP, &format!("{{targetRefs: [{}], validation: {{hostname: a.com, wellKnownCACertificates: System}}}}", rep(17, |i| format!("{{group: '', kind: Service, name: s{i}}}")))),
            "spec.targetRefs",
            "at most 16 items",
        ),
        (doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com}}}}")), "spec.validation", "must specify either"),
        (doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: '*.a.com', wellKnownCACertificates: System}}}}")), "spec.validation.hostname", "without wildcard"),
        (doc(BTP, &format!("{{{BTP_OK}, validation: {{wellKnownCACertificates: System}}}}")), "spec.validation.hostname", "must not be empty"),
        (
            doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com, wellKnownCACertificates: System, subjectAltNames: [{{type: Hostname}}]}}}}")),
            "spec.validation.subjectAltNames[0].hostname",
            "required when type is Hostname",
        ),
        (
            doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com, wellKnownCACertificates: System, subjectAltNames: [{{type: URI, uri: 'spiffe://a', hostname: a.com}}]}}}}")),
            "spec.validation.subjectAltNames[0].hostname",
            "must not be set when type is not Hostname",
        ),
        (
            doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com, wellKnownCACertificates: System, subjectAltNames: [{{type: URI, uri: 'spiffe-no-scheme'}}]}}}}")),
            "spec.validation.subjectAltNames[0].uri",
            "absolute URI",
        ),
        (
            doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com, wellKnownCACertificates: System, subjectAltNames: [{}]}}}}", rep(6, |i| format!("{{type: Hostname, hostname: h{i}.com}}")))),
            "spec.validation.subjectAltNames",
            "at most 5 items",
        ),
        (
            doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com, caCertificateRefs: [{}]}}}}", rep(9, |i| format!("{{group: '', kind: ConfigMap, name: c{i}}}")))),
            "spec.validation.caCertificateRefs",
            "at most 8 items",
        ),
        (
            doc(BTP, "{targetRefs: [{group: '', kind: Service, name: s}, {group: '', kind: Service, name: s}], validation: {hostname: a.com, wellKnownCACertificates: System}}"),
            "spec.targetRefs[1]",
            "sectionName must be unique",
        ),
        (
            doc(BTP, "{targetRefs: [{group: '', kind: Service, name: s, sectionName: https}, {group: '', kind: Service, name: s}], validation: {hostname: a.com, wellKnownCACertificates: System}}"),
            "spec.targetRefs[1].sectionName",
            "sectionName must be specified",
        ),
        (
            doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com, wellKnownCACertificates: System}}, options: {{{}}}}}", rep(17, |i| format!("k{i}: v")))),
            "spec.options",
            "at most 16 entries",
        ),
        (doc(BTP, &format!("{{{BTP_OK}, validation: {{hostname: a.com, caCertificateRefs: [{{group: '', kind: '', name: ca}}]}}}}")), "spec.validation.caCertificateRefs[0].kind", "must not be empty"),
        // XBackendTrafficPolicy.
        (doc(XBTP, "{targetRefs: [{group: '', kind: Service, name: s}, {group: '', kind: Service, name: s}]}"), "spec.targetRefs[1]", "duplicate target"),
        (doc(XBTP, "{targetRefs: [{group: '', kind: Service, name: s}], retryConstraint: {budget: {percent: 101}}}"), "spec.retryConstraint.budget.percent", "between 0 and 100"),
        (doc(XBTP, "{targetRefs: [{group: '', kind: Service, name: s}], retryConstraint: {budget: {interval: 2h}}}"), "spec.retryConstraint.budget.interval", "between 1s and 1h"),
        (doc(XBTP, "{targetRefs: [{group: '', kind: Service, name: s}], retryConstraint: {minRetryRate: {interval: 0s}}}"), "spec.retryConstraint.minRetryRate.interval", "greater than 0s"),
        (doc(XBTP, "{targetRefs: []}"), "spec.targetRefs", "at least 1 item"),
    ]
}

/// The id of the first resource in `text`, read without validation.
fn first_id(text: &str) -> ResourceId {
    let mut options = LoadOptions::default();
    options.validate = false;
    let loaded = Snapshot::load(text.as_bytes(), &options)
        .unwrap_or_else(|e| panic!("does not parse:\n{text}\n{e}"));
    loaded
        .snapshot
        .objects
        .first()
        .map(|o| o.resource.id())
        .expect("no resource")
}

/// Loads `text` and checks that it fails with an error of its resource at `path` whose reason
/// contains `reason`.
fn assert_rejected(text: &str, path: &str, reason: &str) -> Result<(), String> {
    let id = first_id(text);
    let err = match Snapshot::load(text.as_bytes(), &LoadOptions::default()) {
        Ok(_) => return Err(format!("loaded, expected an error at {path}")),
        Err(e) => e,
    };
    let errors: Vec<&Diagnostic> = err.errors().collect();
    let found = errors.iter().any(|d| {
        d.path == path
            && d.resource.as_ref() == Some(&id)
            && d.message.contains(reason)
            && d.document == Some(0)
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "expected {id}: {path}: ...{reason}..., got:\n{err}"
        ))
    }
}

/// Every invalid manifest is rejected with the expected path and reason.
#[test]
fn invalid_manifests_are_rejected_at_the_field() {
    let cases = invalid_cases();
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, (text, path, reason))| {
            assert_rejected(text, path, reason)
                .err()
                .map(|e| format!("case {i}:\n{text}{e}\n"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Valid edge cases: each must load, and may carry the listed warnings (path, reason).
fn valid_cases() -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let host253 = format!("{}.{}.{}.{}", long(63), long(63), long(63), long(61));
    vec![
        // Lengths exactly at the limits.
        (
            gw(
                &format!("{{name: a, port: 80, protocol: HTTP, hostname: {host253}}}"),
                "",
            ),
            vec![],
        ),
        (
            gw(
                &format!("{{name: {}, port: 80, protocol: HTTP}}", long(253)),
                "",
            ),
            vec![],
        ),
        (
            gw(
                &rep(64, |i| {
                    format!("{{name: l{i}, port: {}, protocol: HTTP}}", 1000 + i)
                }),
                "",
            ),
            vec![],
        ),
        (path("PathPrefix", &format!("/{}", long(1023))), vec![]),
        (
            matches(&format!(
                "headers: [{{name: {}, value: {}}}]",
                long(256),
                long(4096)
            )),
            vec![],
        ),
        (
            doc(
                HTTP,
                &format!(
                    "{{rules: [{}]}}",
                    rep(2, |_| format!(
                        "{{matches: [{}]}}",
                        rep(64, |_| "{}".into())
                    ))
                ),
            ),
            vec![],
        ),
        (
            doc(
                HTTP,
                &format!(
                    "{{hostnames: [{}]}}",
                    rep(16, |i| format!("'*.h{i}.example.com'"))
                ),
            ),
            vec![],
        ),
        (
            doc(
                HTTP,
                &format!(
                    "{{parentRefs: [{}]}}",
                    rep(32, |i| format!("{{name: gw, sectionName: s{i}}}"))
                ),
            ),
            vec![],
        ),
        (
            rule(
                "backendRefs: [{name: a, port: 1, weight: 0}, {name: b, port: 65535, weight: 1000000}]",
            ),
            vec![],
        ),
        (rule("timeouts: {request: 0s, backendRequest: 1h}"), vec![]),
        (
            rule("timeouts: {request: 1h2m3s4ms, backendRequest: 1h2m3s4ms}"),
            vec![],
        ),
        (rule("retry: {codes: [400, 599], backoff: 99999ms}"), vec![]),
        // Wildcards and edge-case names.
        (
            gw(
                "{name: a, port: 443, protocol: HTTPS, hostname: '*.example.com', tls: {certificateRefs: [{name: c}]}}",
                "",
            ),
            vec![],
        ),
        (
            gw(
                "{name: a, port: 443, protocol: HTTPS, tls: {options: {example.com/cert: x}}}",
                "",
            ),
            vec![],
        ),
        (
            gw(
                "{name: a, port: 443, protocol: TLS, tls: {mode: Passthrough}}",
                "",
            ),
            vec![],
        ),
        (gw("{name: a, port: 443, protocol: HTTPS}", ""), vec![]),
        (
            gw("{name: a, port: 80, protocol: example.com/myproto}", ""),
            vec![],
        ),
        (
            gw(
                L_HTTP,
                ", addresses: [{value: '2001:db8::1'}, {type: IPAddress}, {type: NamedAddress, value: foo}, {type: Hostname, value: '*.example.com'}]",
            ),
            vec![],
        ),
        (
            doc(
                LS,
                "{parentRef: {name: gw}, listeners: [{name: a, protocol: HTTP}]}",
            ),
            vec![],
        ),
        // Regular expressions: `//` is fine, and a pattern that does not compile only warns.
        (path("RegularExpression", "/foo//bar.*"), vec![]),
        (
            path("RegularExpression", "/foo("),
            vec![("spec.rules[0].matches[0].path.value", "does not compile")],
        ),
        (
            matches("headers: [{type: RegularExpression, name: x, value: '['}]"),
            vec![(
                "spec.rules[0].matches[0].headers[0].value",
                "does not compile",
            )],
        ),
        (
            doc(
                GRPC,
                "{rules: [{matches: [{method: {type: RegularExpression, service: 'a(', method: '.*'}}]}]}",
            ),
            vec![(
                "spec.rules[0].matches[0].method.service",
                "does not compile",
            )],
        ),
        (
            doc(
                GRPC,
                "{rules: [{matches: [{method: {service: .foo.Bar_1}}, {method: {method: Get_2}}]}]}",
            ),
            vec![],
        ),
        // Values later stages report: unknown enums, case-only header repeats.
        (
            filter("type: RequestRedirect, requestRedirect: {statusCode: 307}"),
            vec![(
                "spec.rules[0].filters[0].requestRedirect.statusCode",
                "allowed values: 301, 302",
            )],
        ),
        (
            filter("type: Frobnicate"),
            vec![(
                "spec.rules[0].filters[0].type",
                "unsupported value \"Frobnicate\"",
            )],
        ),
        (
            matches("method: BREW"),
            vec![("spec.rules[0].matches[0].method", "allowed values: GET")],
        ),
        (
            matches("headers: [{name: X-A, value: a}, {name: x-a, value: b}]"),
            vec![("spec.rules[0].matches[0].headers[1].name", "but for case")],
        ),
        (
            doc(GRPC, "{rules: [{filters: [{type: URLRewrite}]}]}"),
            vec![(
                "spec.rules[0].filters[0].type",
                "allowed values: RequestHeaderModifier",
            )],
        ),
        // The same header in two actions of one modifier is resolved later, not rejected here.
        (
            filter(
                "type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: v}], remove: [x-a]}",
            ),
            vec![],
        ),
        // CORS: wildcards, and credentials with wildcards (the CRD has no rule against it).
        (
            filter(
                "type: CORS, cors: {allowOrigins: ['https://*.example.com:8443', 'http://a.b'], allowMethods: [GET, POST], maxAge: 1}",
            ),
            vec![],
        ),
        (
            filter(
                "type: CORS, cors: {allowOrigins: ['*'], allowMethods: ['*'], allowHeaders: ['*'], allowCredentials: true}",
            ),
            vec![],
        ),
        // Prefix replacement with the one default PathPrefix match.
        (
            filter(
                "type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}",
            ),
            vec![],
        ),
        (
            rule(
                "filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /x}}}]",
            ),
            vec![],
        ),
        (
            filter(
                "type: ExternalAuth, externalAuth: {protocol: GRPC, grpc: {}, backendRef: {name: a, port: 80}, forwardBody: {maxSize: 0}}",
            ),
            vec![],
        ),
        // Policies.
        (
            doc(
                BTP,
                "{targetRefs: [{group: '', kind: Service, name: s, sectionName: a}, {group: '', kind: Service, name: s, sectionName: b}], validation: {hostname: a.com, caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], subjectAltNames: [{type: URI, uri: 'spiffe://td/ns/a'}, {type: Hostname, hostname: '*.a.com'}]}}",
            ),
            vec![],
        ),
        (
            doc(
                XBTP,
                "{targetRefs: [{group: '', kind: Service, name: s}], retryConstraint: {budget: {interval: 1h, percent: 0}, minRetryRate: {count: 1, interval: 1ms}}}",
            ),
            vec![],
        ),
        (
            doc(TLS2, &format!("{{rules: [{{backendRefs: [{SVC}]}}]}}")),
            vec![],
        ),
        (
            doc(
                TLS3,
                &format!("{{hostnames: ['*.a.com'], rules: [{{backendRefs: [{SVC}]}}]}}"),
            ),
            vec![],
        ),
        (
            doc(
                RG,
                "{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: a}], to: [{group: '', kind: Service}]}",
            ),
            vec![],
        ),
    ]
}

/// Valid edge cases load, with exactly the expected warnings.
#[test]
fn valid_edge_cases_load() {
    let mut failures = Vec::new();
    for (i, (text, expected)) in valid_cases().iter().enumerate() {
        match Snapshot::load(text.as_bytes(), &LoadOptions::default()) {
            Ok(loaded) => {
                let warnings: Vec<&Diagnostic> = loaded
                    .warnings
                    .iter()
                    .filter(|w| w.severity == Severity::Warning)
                    .collect();
                let matched = expected.iter().all(|(path, reason)| {
                    warnings
                        .iter()
                        .any(|w| w.path == *path && w.message.contains(reason))
                });
                if !matched || warnings.len() != expected.len() {
                    let got: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
                    failures.push(format!(
                        "case {i}:\n{text}expected warnings {expected:?}, got {got:?}"
                    ));
                }
            }
            Err(e) => failures.push(format!("case {i}:\n{text}{e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every manifest of the upstream conformance suite loads without error.
#[test]
fn conformance_manifests_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/manifests");
    let mut files = vec![root.join("base/manifests.yaml")];
    let mut tests: Vec<_> = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    tests.sort();
    files.extend(
        tests
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "yaml")),
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap()
            .replace("{GATEWAY_CLASS_NAME}", "gateway-conformance")
            .replace(
                "{GATEWAY_CONTROLLER_NAME}",
                "example.com/gateway-controller",
            )
            // Distinct addresses: the CRD rejects a Gateway listing one IPAddress twice.
            .replace("PLACEHOLDER_USABLE_ADDRS", "192.0.2.1")
            .replace("PLACEHOLDER_UNUSABLE_ADDRS", "192.0.2.2");
        if let Err(e) = Snapshot::load(text.as_bytes(), &LoadOptions::default()) {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    assert!(
        files.len() > 10,
        "conformance manifests not found under {}",
        root.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
