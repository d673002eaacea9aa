//! Unit tests of the validators: the hand-written pattern matchers against the CRD patterns
//! compiled with the `regex` crate, durations, anchored regex compilation, and CEL rules that
//! the integration table cannot reach.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use regex::Regex;

use super::names;
use super::path::FieldPath;
use super::regex::compile_anchored;
use super::validate;
use crate::api::{
    BackendTlsPolicy, BackendTlsPolicySpec, BackendTlsPolicyValidation, Diagnostic, LoadOptions,
    LocalObjectReference, Object, PolicyTargetReference, Resource, Severity, Snapshot,
    WellKnownCaType,
};

/// Every string over `alphabet` up to `max_len` characters, plus `extra`.
fn corpus(alphabet: &str, max_len: usize, extra: &[&str]) -> Vec<String> {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut out = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..max_len {
        layer = layer
            .iter()
            .flat_map(|s| chars.iter().map(move |c| format!("{s}{c}")))
            .collect();
        out.extend(layer.iter().cloned());
    }
    out.extend(extra.iter().map(|s| (*s).to_owned()));
    out
}

/// The matcher accepts exactly what the CRD pattern accepts on the corpus.
fn agrees(
    pattern: &str,
    matcher: fn(&str) -> bool,
    alphabet: &str,
    max_len: usize,
    extra: &[&str],
) {
    let reference = Regex::new(pattern).unwrap();
    for s in corpus(alphabet, max_len, extra) {
        assert_eq!(
            matcher(&s),
            reference.is_match(&s),
            "pattern {pattern} on {s:?}"
        );
    }
}

const SUBDOMAIN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

#[test]
fn dns_label_matches_the_namespace_pattern() {
    agrees(
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        names::is_dns_label,
        "a0-.A",
        4,
        &["my-ns", "-a", "a-"],
    );
}

#[test]
fn subdomain_matches_the_section_name_pattern() {
    agrees(
        SUBDOMAIN,
        names::is_dns_subdomain,
        "a0-.A*",
        4,
        &["a.b.c", "a..b", ".a", "a."],
    );
}

#[test]
fn hostname_allows_a_wildcard_only_as_the_first_label() {
    let pattern = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    agrees(
        pattern,
        names::is_hostname,
        "a-.*",
        5,
        &[
            "*.example.com",
            "foo.*.com",
            "*.*.a",
            "*",
            "*a.b",
            "Example.com",
        ],
    );
}

#[test]
fn group_allows_empty() {
    agrees(
        r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        names::is_group,
        "a-.A",
        4,
        &["gateway.networking.k8s.io"],
    );
}

#[test]
fn kind_matches_the_kind_pattern() {
    agrees(
        r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
        names::is_kind,
        "aZ0-_",
        4,
        &["HTTPRoute", "1Route"],
    );
}

#[test]
fn dns1035_label_starts_with_a_letter() {
    agrees(
        r"^[a-z]([-a-z0-9]*[a-z0-9])?$",
        names::is_dns1035_label,
        "a0-B",
        4,
        &["1svc", "svc-1"],
    );
}

#[test]
fn header_name_matches_the_token_pattern() {
    agrees(
        r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$",
        names::is_header_name,
        "a:`~ (-",
        3,
        &["X-Forwarded-For", "é"],
    );
}

#[test]
fn path_chars_match_the_path_pattern() {
    agrees(
        r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$",
        names::is_path_chars,
        "a/%f2 #g",
        4,
        &["/foo%2Fbar", "/%zz", "/%"],
    );
}

#[test]
fn controller_name_is_a_domain_and_a_path() {
    let pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$";
    agrees(
        pattern,
        names::is_controller_name,
        "a/.-A ",
        5,
        &[
            "example.com/gateway-controller",
            "Example.com/x",
            "nodomain",
        ],
    );
}

#[test]
fn address_type_follows_the_loose_upstream_alternation() {
    let pattern = r"^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$";
    let extra = [
        "Hostname",
        "Hostnamex",
        "xIPAddressx",
        "NamedAddress",
        "IPAddres",
        "test/fake-invalid-type",
        "A/b",
        "a/ b",
        "foo",
    ];
    agrees(pattern, names::is_address_type, "a/A-. ", 4, &extra);
}

#[test]
fn protocol_allows_plain_and_domain_prefixed_names() {
    let pattern = r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$";
    agrees(
        pattern,
        names::is_protocol,
        "aH/-.",
        4,
        &[
            "HTTP",
            "HTTP/2",
            "example.com/myproto",
            "example.com/my-proto",
            "X/a/b",
        ],
    );
}

#[test]
fn cors_origin_matches_the_origin_pattern() {
    let pattern = r"(^\*$)|(^([a-zA-Z][a-zA-Z0-9+\-.]+):\/\/([^:/?#]+)(:([0-9]{1,5}))?$)";
    let extra = [
        "https://a.com",
        "https://*.a.com:8443",
        "https://a.com:123456",
        "h://a",
        "ht://a:",
        "ht://a:1:2",
        "ht://a/b",
        "ht:/a",
        "1t://a",
    ];
    agrees(pattern, names::is_cors_origin, "ht:/1*#", 6, &extra);
}

#[test]
fn san_uri_needs_only_a_scheme_and_slashes() {
    let pattern = r"^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?";
    agrees(
        pattern,
        names::is_absolute_uri,
        "a:/?#",
        6,
        &["spiffe://td/ns/a", "spiffe-no-scheme", "://x"],
    );
}

#[test]
fn grpc_names_match_their_patterns() {
    let service = r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$";
    agrees(
        service,
        names::is_grpc_service,
        "aZ_.1-\u{212A}\u{17F}",
        3,
        &[".foo.Bar_1", "foo-bar", "a..b"],
    );
    agrees(
        r"^[A-Za-z_][A-Za-z_0-9]*$",
        names::is_grpc_method,
        "aZ_1-.",
        3,
        &["Get_2", "1abc"],
    );
}

#[test]
fn label_keys_and_values_match_their_patterns() {
    let key = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$";
    let long_name = "a".repeat(64);
    agrees(
        key,
        names::is_label_key,
        "aB/._-",
        4,
        &["example.com/name", "bad key", &long_name, "a/b/c"],
    );
    agrees(
        r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
        names::is_label_value,
        "aB._- ",
        4,
        &[],
    );
}

#[test]
fn durations_parse_to_milliseconds() {
    let cases = [
        ("0s", Some(0)),
        ("1h", Some(3_600_000)),
        ("1m", Some(60_000)),
        ("1ms", Some(1)),
        ("1h2m3s4ms", Some(3_723_004)),
        ("99999ms", Some(99_999)),
        ("100000s", None),
        ("1h1m1s1ms1h", None),
        ("1d", None),
        ("10", None),
        ("", None),
        ("1.5s", None),
        ("s", None),
    ];
    let reference = Regex::new(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$").unwrap();
    for (text, expected) in cases {
        assert_eq!(names::parse_duration_ms(text), expected, "{text:?}");
        assert_eq!(reference.is_match(text), expected.is_some(), "{text:?}");
    }
    for s in corpus("1hms", 5, &[]) {
        assert_eq!(
            names::parse_duration_ms(&s).is_some(),
            reference.is_match(&s),
            "{s:?}"
        );
    }
}

#[test]
fn compile_anchored_matches_whole_input_only() {
    let re = compile_anchored("/foo|/bar").unwrap();
    assert!(re.is_match("/foo"));
    assert!(re.is_match("/bar"));
    assert!(!re.is_match("/foobar"));
    assert!(!re.is_match("x/bar"));
}

#[test]
fn compile_anchored_rejects_group_escapes() {
    // Wrapped naively, `a)|(b` would become `^(?:a)|(b)$` and compile.
    assert!(compile_anchored("a)|(b").is_err());
}

#[test]
fn compile_anchored_enforces_limits() {
    let deep = format!("{}a{}", "(".repeat(60), ")".repeat(60));
    assert!(compile_anchored(&deep).is_err());
    let big = compile_anchored(r"\w{1000}\w{1000}\w{1000}").unwrap_err();
    assert!(big.contains("size limit"), "{big}");
    let syntax = compile_anchored("(").unwrap_err();
    assert!(!syntax.contains('\n') && !syntax.ends_with('.'), "{syntax}");
}

#[test]
fn field_path_renders_the_json_path() {
    let rules = FieldPath::root("spec.rules");
    let rule = rules.index(0);
    // Each segment borrows its parent, so a chain is rendered within one expression.
    assert_eq!(
        rule.field("matches")
            .index(1)
            .field("path")
            .field("value")
            .to_string(),
        "spec.rules[0].matches[1].path.value"
    );
    assert_eq!(rules.to_string(), "spec.rules");
    assert_eq!(
        rule.field("timeouts.request").to_string(),
        "spec.rules[0].timeouts.request"
    );
    let options = FieldPath::root("spec.options");
    assert_eq!(
        options.key("example.com/x").to_string(),
        "spec.options.example.com/x"
    );
    assert_eq!(
        FieldPath::root("spec").index(2).index(3).to_string(),
        "spec[2][3]"
    );
}

fn policy(validation: BackendTlsPolicyValidation) -> Snapshot {
    let spec = BackendTlsPolicySpec {
        target_refs: vec![PolicyTargetReference {
            kind: "Service".into(),
            name: "s".into(),
            ..Default::default()
        }],
        validation,
        ..Default::default()
    };
    let mut resource = BackendTlsPolicy {
        spec,
        ..Default::default()
    };
    resource.metadata.name = "p".into();
    let object = Object {
        api_version: "gateway.networking.k8s.io/v1".into(),
        document: 3,
        resource: Resource::BackendTlsPolicy(resource),
    };
    Snapshot {
        objects: vec![object],
    }
}

fn errors_at<'a>(diagnostics: &'a [Diagnostic], path: &str) -> Vec<&'a Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.is_error() && d.path == path)
        .collect()
}

#[test]
fn backend_tls_policy_needs_exactly_one_ca_source() {
    let ca = LocalObjectReference {
        group: String::new(),
        kind: "ConfigMap".into(),
        name: "ca".into(),
    };
    let both = BackendTlsPolicyValidation {
        ca_certificate_refs: vec![ca.clone()],
        well_known_ca_certificates: Some(WellKnownCaType::System),
        hostname: "a.com".into(),
        ..Default::default()
    };
    let found = validate(&policy(both));
    let errors = errors_at(&found, "spec.validation");
    assert_eq!(errors.len(), 1, "{found:?}");
    assert!(
        errors
            .iter()
            .all(|d| d.message.contains("must not contain both") && d.document == Some(3))
    );

    let neither = BackendTlsPolicyValidation {
        hostname: "a.com".into(),
        ..Default::default()
    };
    let found = validate(&policy(neither));
    assert!(
        errors_at(&found, "spec.validation")
            .iter()
            .any(|d| d.message.contains("must specify either")),
        "{found:?}"
    );

    // An empty wellKnownCACertificates counts as unset.
    let empty = BackendTlsPolicyValidation {
        ca_certificate_refs: vec![ca],
        well_known_ca_certificates: Some(WellKnownCaType::Unknown(String::new())),
        hostname: "a.com".into(),
        ..Default::default()
    };
    assert!(validate(&policy(empty)).is_empty());
}

fn load(text: &str) -> Vec<Diagnostic> {
    let options = LoadOptions {
        validate: false,
        ..LoadOptions::default()
    };
    let loaded = Snapshot::load(text.as_bytes(), &options).unwrap();
    validate(&loaded.snapshot)
}

#[test]
fn replace_prefix_rule_follows_exists_one() {
    // Two backendRefs that both replace a prefix: `exists_one` is false, so the CEL rule does
    // not fire even though the rule has two matches.
    let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n\
        spec: {rules: [{matches: [{path: {value: /a}}, {path: {value: /b}}], backendRefs: [\
        {name: a, port: 80, filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]},\
        {name: b, port: 80, filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]}]}]}\n";
    let found = load(text);
    assert!(found.iter().all(|d| !d.is_error()), "{found:?}");
}

#[test]
fn findings_carry_resource_and_document() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n\
        apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: ns}\n\
        spec: {hostnames: [Bad]}\n";
    let found = load(text);
    let [d] = found.as_slice() else {
        panic!("{found:?}")
    };
    assert_eq!(d.path, "spec.hostnames[0]");
    assert_eq!(d.document, Some(1));
    let id = d.resource.as_ref().unwrap();
    assert_eq!(
        (id.kind.as_str(), id.namespace.as_deref(), id.name.as_str()),
        ("HTTPRoute", Some("ns"), "r")
    );
    assert!(
        !d.message.ends_with('.') && d.message.starts_with(char::is_lowercase),
        "{}",
        d.message
    );
}

#[test]
fn uncompilable_regex_is_only_a_warning() {
    let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n\
        spec: {rules: [{matches: [{path: {type: RegularExpression, value: '/a('}, queryParams: [{type: RegularExpression, name: q, value: '[z-a]'}]}]}]}\n";
    let found = load(text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|d| d.severity == Severity::Warning
        && d.message.starts_with("regular expression does not compile")));
    assert_eq!(
        found.first().map(|d| d.path.as_str()),
        Some("spec.rules[0].matches[0].path.value")
    );
    assert_eq!(
        found.get(1).map(|d| d.path.as_str()),
        Some("spec.rules[0].matches[0].queryParams[0].value")
    );
}

#[test]
fn messages_are_lowercase_without_trailing_period() {
    let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n\
        spec: {gatewayClassName: '', listeners: [{name: A, port: 0, protocol: 'a b', hostname: '*', tls: {mode: X}}], \
        addresses: [{value: x}], tls: {frontend: {perPort: [{port: 1, tls: {}}, {port: 1, tls: {}}]}}}\n";
    let found = load(text);
    assert!(found.len() >= 8, "{found:?}");
    for d in &found {
        let first = d.message.chars().next().unwrap();
        // Messages may start with a quoted field name from the CRD (certificateRefs, sectionName).
        assert!(
            !first.is_uppercase() || d.message.starts_with("RequestRedirect"),
            "{d}"
        );
        assert!(!d.message.ends_with('.'), "{d}");
    }
}
