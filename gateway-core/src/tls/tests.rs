//! Unit tests of the TLS decisions: settings resolution from manifests (with and without the
//! `tls` feature), the verification rules (feature `tls`), listener selection and the 421 guard.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../tests/tls/pki.rs"]
mod pki;

use pki::{Ca, config_map, gateway_class, service, tls_secret};

use super::*;
use crate::api::{LoadOptions, Snapshot};
use crate::attach::{AttachOptions, Config};

fn config(yaml: &str) -> Config {
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).unwrap();
    Config::new(loaded.snapshot, AttachOptions::default())
}

/// Without CRD validation: what a caller that builds snapshots itself may hand us.
fn unvalidated(yaml: &str) -> Config {
    let options = LoadOptions {
        validate: false,
        ..LoadOptions::default()
    };
    let loaded = Snapshot::load(yaml.as_bytes(), &options).unwrap();
    Config::new(loaded.snapshot, AttachOptions::default())
}

/// A BackendTLSPolicy in namespace `app` targeting Service `api` (optionally one port).
fn policy(name: &str, created: &str, section: Option<&str>, validation: &str) -> String {
    let section = section.map_or(String::new(), |s| format!(", sectionName: {s}"));
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n\
         metadata: {{name: {name}, namespace: app, creationTimestamp: \"{created}\"}}\n\
         spec:\n  targetRefs: [{{group: \"\", kind: Service, name: api{section}}}]\n  \
         validation: {validation}\n---\n"
    )
}

fn ca_refs_validation(refs: &[&str], extra: &str) -> String {
    let refs = refs
        .iter()
        .map(|r| format!("{{group: \"\", kind: ConfigMap, name: {r}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{{caCertificateRefs: [{refs}], hostname: api.example.com{extra}}}")
}

fn backend_tls(yaml: &str) -> BackendTls {
    BackendTls::for_service(&config(yaml), "app", "api", 443, None).unwrap()
}

// === resolution (no feature needed) ===

#[test]
fn policy_applies_to_the_named_port_or_to_the_whole_service() {
    let svc = service("app", "api", &[("https", 443), ("http", 80)]);
    let by_port = format!(
        "{svc}{}",
        policy(
            "p",
            "2024-01-01T00:00:00Z",
            Some("https"),
            "{wellKnownCACertificates: System, hostname: api.example.com}"
        )
    );
    let c = config(&by_port);
    assert!(BackendTls::for_service(&c, "app", "api", 443, None).is_some());
    assert!(BackendTls::for_service(&c, "app", "api", 80, None).is_none());
    assert!(BackendTls::for_service(&c, "other", "api", 443, None).is_none());
    assert!(BackendTls::for_service(&c, "app", "web", 443, None).is_none());

    let whole = format!(
        "{svc}{}",
        policy(
            "p",
            "2024-01-01T00:00:00Z",
            None,
            "{wellKnownCACertificates: System, hostname: api.example.com}"
        )
    );
    let c = config(&whole);
    assert!(BackendTls::for_service(&c, "app", "api", 443, None).is_some());
    assert!(BackendTls::for_service(&c, "app", "api", 80, None).is_some());
}

#[test]
fn section_name_of_an_unnamed_or_missing_port_never_applies() {
    let yaml = format!(
        "{}{}",
        service("app", "api", &[("https", 443)]),
        policy(
            "p",
            "2024-01-01T00:00:00Z",
            Some("grpc"),
            "{wellKnownCACertificates: System, hostname: a.example.com}"
        )
    );
    assert!(BackendTls::for_service(&config(&yaml), "app", "api", 443, None).is_none());
    // No Service at all: a sectionName cannot be mapped to a port.
    let yaml = policy(
        "p",
        "2024-01-01T00:00:00Z",
        Some("https"),
        "{wellKnownCACertificates: System, hostname: a.example.com}",
    );
    assert!(BackendTls::for_service(&config(&yaml), "app", "api", 443, None).is_none());
}

#[test]
fn only_core_service_targets_apply() {
    let yaml = "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n\
        metadata: {name: p, namespace: app}\nspec:\n  targetRefs: [{group: example.com, kind: Service, name: api}]\n  \
        validation: {wellKnownCACertificates: System, hostname: api.example.com}\n";
    assert!(BackendTls::for_service(&config(yaml), "app", "api", 443, None).is_none());
}

#[test]
fn oldest_policy_wins_then_name_and_section_name_beats_whole_service() {
    let svc = service("app", "api", &[("https", 443)]);
    let v = |host: &str| format!("{{wellKnownCACertificates: System, hostname: {host}}}");
    let yaml = format!(
        "{svc}{}{}",
        policy(
            "young",
            "2024-02-01T00:00:00Z",
            None,
            &v("young.example.com")
        ),
        policy("old", "2024-01-01T00:00:00Z", None, &v("old.example.com")),
    );
    assert_eq!(backend_tls(&yaml).policy, "app/old");
    let yaml = format!(
        "{svc}{}{}",
        policy("b", "2024-01-01T00:00:00Z", None, &v("b.example.com")),
        policy("a", "2024-01-01T00:00:00Z", None, &v("a.example.com")),
    );
    let tls = backend_tls(&yaml);
    assert_eq!(
        (tls.policy.as_str(), tls.sni.as_str()),
        ("app/a", "a.example.com")
    );
    let yaml = format!(
        "{svc}{}{}",
        policy(
            "whole",
            "2020-01-01T00:00:00Z",
            None,
            &v("whole.example.com")
        ),
        policy(
            "port",
            "2024-01-01T00:00:00Z",
            Some("https"),
            &v("port.example.com")
        ),
    );
    assert_eq!(backend_tls(&yaml).policy, "app/port");
}

#[test]
fn hostname_is_the_identity_only_without_subject_alt_names() {
    let svc = service("app", "api", &[("https", 443)]);
    // Upper case (possible without CRD validation) is lowered: DNS names compare without case.
    let yaml = format!(
        "{svc}{}",
        policy(
            "p",
            "2024-01-01T00:00:00Z",
            None,
            "{wellKnownCACertificates: System, hostname: API.example.com}"
        )
    );
    let tls = BackendTls::for_service(&unvalidated(&yaml), "app", "api", 443, None).unwrap();
    assert_eq!(
        tls.identities,
        vec![Identity::Hostname(
            rustls_pki_types::DnsName::try_from("api.example.com").unwrap()
        )]
    );
    let yaml = format!(
        "{svc}{}",
        policy(
            "p",
            "2024-01-01T00:00:00Z",
            None,
            "{wellKnownCACertificates: System, hostname: api.example.com, subjectAltNames: [{type: URI, uri: \"spiffe://cluster.local/ns/app/sa/api\"}, {type: Hostname, hostname: \"*.internal.example.com\"}]}"
        )
    );
    let tls = backend_tls(&yaml);
    assert_eq!(tls.sni, "api.example.com");
    assert_eq!(
        tls.identities,
        vec![
            Identity::Uri("spiffe://cluster.local/ns/app/sa/api".to_owned()),
            Identity::WildcardHostname(
                rustls_pki_types::DnsName::try_from("internal.example.com").unwrap()
            ),
        ]
    );
}

#[test]
fn malformed_identities_make_the_policy_unusable() {
    let svc = service("app", "api", &[("https", 443)]);
    for sans in [
        "[{type: Hostname, hostname: \"*.com\"}]",
        "[{type: Hostname, hostname: \"a.*.example.com\"}]",
        "[{type: URI, uri: \"no-scheme\"}]",
        "[{type: Email, hostname: a.example.com}]",
    ] {
        let validation = format!(
            "{{wellKnownCACertificates: System, hostname: api.example.com, subjectAltNames: {sans}}}"
        );
        let yaml = format!(
            "{svc}{}",
            policy("p", "2024-01-01T00:00:00Z", None, &validation)
        );
        let tls = BackendTls::for_service(&unvalidated(&yaml), "app", "api", 443, None).unwrap();
        assert!(
            matches!(tls.trust, Trust::Invalid(_)),
            "{sans}: {:?}",
            tls.trust
        );
    }
}

#[test]
fn several_bundles_and_several_refs_are_all_trusted() {
    let (a, b, c) = (Ca::root("ca a"), Ca::root("ca b"), Ca::root("ca c"));
    let yaml = format!(
        "{}{}{}{}",
        service("app", "api", &[("https", 443)]),
        config_map("app", "ab", &format!("{}{}", a.pem, b.pem)),
        config_map("app", "c", &c.pem),
        policy(
            "p",
            "2024-01-01T00:00:00Z",
            None,
            &ca_refs_validation(&["ab", "c"], "")
        ),
    );
    let tls = backend_tls(&yaml);
    assert_eq!(
        tls.trust,
        Trust::Bundles(vec![a.cert.clone(), b.cert.clone(), c.cert.clone()])
    );
}

#[test]
fn unusable_ca_refs_resolve_to_invalid_trust() {
    let good = Ca::root("good");
    let garbage = "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";
    let cases = [
        (config_map("app", "ca", garbage), "is not valid PEM"),
        (config_map("app", "ca", "just text\n"), "holds no certificate"),
        (String::new(), "does not exist"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ca, namespace: app}\ndata: {other: x}\n---\n".to_owned(),
            "has no ca.crt",
        ),
        // In another namespace: BackendTLSPolicy refs are local.
        (config_map("elsewhere", "ca", &good.pem), "does not exist"),
    ];
    for (objects, expected) in cases {
        let yaml = format!(
            "{}{}{objects}{}",
            service("app", "api", &[("https", 443)]),
            config_map("app", "good", &good.pem),
            policy(
                "p",
                "2024-01-01T00:00:00Z",
                None,
                &ca_refs_validation(&["good", "ca"], "")
            ),
        );
        match backend_tls(&yaml).trust {
            Trust::Invalid(why) => {
                assert!(why.starts_with("caCertificateRefs[1]: "), "{why}");
                assert!(why.contains(expected), "{why} should say {expected}");
            }
            other => panic!("{expected}: {other:?}"),
        }
    }
    let wrong_kind =
        "{caCertificateRefs: [{group: \"\", kind: Service, name: x}], hostname: api.example.com}";
    let yaml = format!(
        "{}{}",
        service("app", "api", &[("https", 443)]),
        policy("p", "2024-01-01T00:00:00Z", None, wrong_kind)
    );
    assert!(
        matches!(backend_tls(&yaml).trust, Trust::Invalid(why) if why.contains("not supported"))
    );
}

#[test]
fn trust_source_must_be_exactly_one() {
    let svc = service("app", "api", &[("https", 443)]);
    for (validation, expected) in [
        ("{hostname: api.example.com}", "neither"),
        (
            "{wellKnownCACertificates: System, caCertificateRefs: [{group: \"\", kind: ConfigMap, name: x}], hostname: api.example.com}",
            "both",
        ),
        (
            "{wellKnownCACertificates: System, hostname: \"not a name\"}",
            "not a DNS name",
        ),
        (
            "{wellKnownCACertificates: Other, hostname: api.example.com}",
            "not supported",
        ),
    ] {
        let yaml = format!(
            "{svc}{}",
            policy("p", "2024-01-01T00:00:00Z", None, validation)
        );
        let tls = BackendTls::for_service(&unvalidated(&yaml), "app", "api", 443, None).unwrap();
        assert!(
            matches!(tls.trust, Trust::Invalid(ref why) if why.contains(expected)),
            "{validation}"
        );
    }
}

fn gateway_with_client_cert(reference: &str) -> String {
    format!(
        "{}apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  tls: {{backend: {{clientCertificateRef: {reference}}}}}\n  \
         listeners: [{{name: web, port: 80, protocol: HTTP}}]\n---\n",
        gateway_class()
    )
}

#[test]
fn gateway_client_certificate_is_resolved_with_reference_grants() {
    let ca = Ca::root("client ca");
    let leaf = ca.leaf_for(&["gateway.example.com"]);
    let base = format!(
        "{}{}",
        service("app", "api", &[("https", 443)]),
        policy(
            "p",
            "2024-01-01T00:00:00Z",
            None,
            "{wellKnownCACertificates: System, hostname: api.example.com}"
        )
    );
    let resolve = |extra: &str, reference: &str| {
        let yaml = format!("{base}{extra}{}", gateway_with_client_cert(reference));
        BackendTls::for_service(&config(&yaml), "app", "api", 443, Some(("infra", "edge")))
            .unwrap()
            .client_certificate
    };
    let same_ns = tls_secret("infra", "client", &leaf, &[]);
    match resolve(&same_ns, "{name: client}") {
        Some(ClientCertificate::Resolved(c)) => assert_eq!(c.chain, vec![leaf.cert.clone()]),
        other => panic!("{other:?}"),
    }
    let other_ns = tls_secret("certs", "client", &leaf, &[]);
    assert!(matches!(
        resolve(&other_ns, "{name: client, namespace: certs}"),
        Some(ClientCertificate::Invalid(why)) if why.contains("ReferenceGrant")
    ));
    let grant = "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g, namespace: certs}\n\
        spec:\n  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]\n  to: [{group: \"\", kind: Secret}]\n---\n";
    assert!(matches!(
        resolve(
            &format!("{other_ns}{grant}"),
            "{name: client, namespace: certs}"
        ),
        Some(ClientCertificate::Resolved(_))
    ));
    assert!(matches!(
        resolve("", "{name: missing}"),
        Some(ClientCertificate::Invalid(why)) if why.contains("does not exist")
    ));
    assert!(matches!(
        resolve(&same_ns, "{group: example.com, kind: Vault, name: client}"),
        Some(ClientCertificate::Invalid(_))
    ));
    // No Gateway given: nothing to present.
    let yaml = format!(
        "{base}{same_ns}{}",
        gateway_with_client_cert("{name: client}")
    );
    let tls = BackendTls::for_service(&config(&yaml), "app", "api", 443, None).unwrap();
    assert!(tls.client_certificate.is_none());
}

#[test]
fn credential_debug_never_prints_the_key() {
    let leaf = Ca::root("ca").leaf_for(&["a.example.com"]);
    let credential = Credential {
        chain: vec![leaf.cert.clone()],
        key: std::sync::Arc::new(leaf.key()),
    };
    let shown = format!("{credential:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
}

// === frontend ===

fn frontend_gateway(extra: &str, tls: &str, listeners: &str) -> String {
    format!(
        "{}{extra}apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  tls: {tls}\n  listeners:\n{listeners}---\n",
        gateway_class()
    )
}

fn https_listener(name: &str, port: u16, hostname: Option<&str>, secret: &str) -> String {
    let hostname = hostname.map_or(String::new(), |h| format!("hostname: \"{h}\", "));
    format!(
        "  - {{name: {name}, port: {port}, protocol: HTTPS, {hostname}tls: {{certificateRefs: [{{name: {secret}}}]}}}}\n"
    )
}

#[test]
fn per_port_validation_overrides_the_default() {
    let (ca1, ca2) = (Ca::root("clients 1"), Ca::root("clients 2"));
    let server = Ca::root("server").leaf_for(&["*.example.com"]);
    let extra = format!(
        "{}{}{}",
        config_map("infra", "ca1", &ca1.pem),
        config_map("infra", "ca2", &ca2.pem),
        tls_secret("infra", "cert", &server, &[]),
    );
    let tls = "{frontend: {default: {validation: {caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca1}]}}, \
        perPort: [{port: 8443, tls: {validation: {mode: AllowInsecureFallback, caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca2}]}}}, \
        {port: 9443, tls: {}}]}}";
    let listeners = format!(
        "{}{}{}  - {{name: plain, port: 80, protocol: HTTP}}\n",
        https_listener("a", 443, None, "cert"),
        https_listener("b", 8443, None, "cert"),
        https_listener("c", 9443, None, "cert"),
    );
    let config = config(&frontend_gateway(&extra, tls, &listeners));
    let frontend = FrontendTls::for_gateway(&config, "infra", "edge").unwrap();
    assert_eq!(
        frontend.ports.iter().map(|p| p.port).collect::<Vec<_>>(),
        vec![443, 8443, 9443]
    );
    let v443 = frontend.port(443).unwrap().validation.clone().unwrap();
    assert_eq!(v443.mode, ValidationMode::AllowValidOnly);
    assert_eq!(v443.trust, Trust::Bundles(vec![ca1.cert.clone()]));
    let v8443 = frontend.port(8443).unwrap().validation.clone().unwrap();
    assert_eq!(v8443.mode, ValidationMode::AllowInsecureFallback);
    assert_eq!(v8443.trust, Trust::Bundles(vec![ca2.cert.clone()]));
    assert_eq!(frontend.port(9443).unwrap().validation, None);
    assert!(frontend.port(80).is_none());
    assert!(matches!(
        frontend.port(443).unwrap().listeners[0].certificate,
        ServerCertificate::Resolved(_)
    ));
    assert!(FrontendTls::for_gateway(&config, "infra", "nope").is_none());
}

#[test]
fn cross_namespace_client_ca_needs_a_reference_grant() {
    let ca = Ca::root("clients");
    let server = Ca::root("server").leaf_for(&["a.example.com"]);
    let base = format!(
        "{}{}",
        config_map("pki", "ca", &ca.pem),
        tls_secret("infra", "cert", &server, &[])
    );
    let tls = "{frontend: {default: {validation: {caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca, namespace: pki}]}}}}";
    let listeners = https_listener("a", 443, None, "cert");
    let validation = |extra: &str| {
        let config = config(&frontend_gateway(
            &format!("{base}{extra}"),
            tls,
            &listeners,
        ));
        let frontend = FrontendTls::for_gateway(&config, "infra", "edge").unwrap();
        frontend.port(443).unwrap().validation.clone().unwrap()
    };
    let denied = validation("");
    assert!(matches!(&denied.trust, Trust::Invalid(why) if why.contains("ReferenceGrant")));
    assert_eq!(denied.invalid_refs.len(), 1);
    let grant = "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g, namespace: pki}\n\
        spec:\n  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]\n  to: [{group: \"\", kind: ConfigMap, name: ca}]\n---\n";
    let allowed = validation(grant);
    assert_eq!(allowed.trust, Trust::Bundles(vec![ca.cert.clone()]));
    assert!(allowed.invalid_refs.is_empty());
}

#[test]
fn some_unusable_client_cas_are_reported_and_the_rest_apply() {
    let ca = Ca::root("clients");
    let server = Ca::root("server").leaf_for(&["a.example.com"]);
    let extra = format!(
        "{}{}",
        config_map("infra", "ca", &ca.pem),
        tls_secret("infra", "cert", &server, &[])
    );
    let tls = "{frontend: {default: {validation: {caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}, {group: \"\", kind: ConfigMap, name: gone}]}}}}";
    let config = config(&frontend_gateway(
        &extra,
        tls,
        &https_listener("a", 443, None, "cert"),
    ));
    let frontend = FrontendTls::for_gateway(&config, "infra", "edge").unwrap();
    let validation = frontend.port(443).unwrap().validation.clone().unwrap();
    assert_eq!(validation.trust, Trust::Bundles(vec![ca.cert.clone()]));
    assert_eq!(validation.invalid_refs.len(), 1);
    assert!(validation.invalid_refs[0].contains("gone"));
}

fn port_with(listeners: &[(&str, Option<&str>)]) -> PortTls {
    PortTls {
        port: 443,
        validation: None,
        listeners: listeners
            .iter()
            .map(|(name, hostname)| ListenerTls {
                name: (*name).to_owned(),
                hostname: hostname.map(str::to_owned),
                certificate: ServerCertificate::Invalid("test".to_owned()),
            })
            .collect(),
    }
}

#[test]
fn sni_selects_exact_then_longest_wildcard_then_catch_all() {
    let port = port_with(&[
        ("any", None),
        ("wild", Some("*.example.com")),
        ("deeper", Some("*.api.example.com")),
        ("foo", Some("foo.example.com")),
    ]);
    let chosen = |sni: Option<&str>| port.listener_for_sni(sni).map(|l| l.name.as_str());
    assert_eq!(chosen(Some("foo.example.com")), Some("foo"));
    assert_eq!(chosen(Some("FOO.example.com.")), Some("foo"));
    assert_eq!(chosen(Some("bar.example.com")), Some("wild"));
    assert_eq!(chosen(Some("a.b.example.com")), Some("wild"));
    assert_eq!(chosen(Some("v1.api.example.com")), Some("deeper"));
    assert_eq!(chosen(Some("example.com")), Some("any"));
    assert_eq!(chosen(None), Some("any"));
    let no_catch_all = port_with(&[("wild", Some("*.example.com"))]);
    assert!(no_catch_all.listener_for_sni(None).is_none());
    assert!(no_catch_all.listener_for_sni(Some("example.org")).is_none());
}

// === the coalescing guard ===

#[test]
fn coalescing_guard_follows_the_listener_hostname_rules() {
    let port = port_with(&[
        ("foo", Some("foo.example.com")),
        ("wild", Some("*.example.com")),
    ]);
    let check = |sni: &str, authority: &str| {
        let connection = port.connection(Some(sni), ClientAuth::NotRequested);
        coalescing_check(&connection, authority, &port)
    };
    // GEP-3567 / v1.4 release notes: connected as bar (wildcard listener), asks for foo.
    assert_eq!(
        check("bar.example.com", "foo.example.com"),
        Coalescing::Misdirected
    );
    assert_eq!(
        check("bar.example.com", "baz.example.com"),
        Coalescing::Allow
    );
    assert_eq!(
        check("bar.example.com", "BAR.example.com.:443"),
        Coalescing::Allow
    );
    assert_eq!(
        check("foo.example.com", "foo.example.com"),
        Coalescing::Allow
    );
    // The SNI listener does not match and another does: 421; none does: 404.
    assert_eq!(
        check("foo.example.com", "bar.example.com"),
        Coalescing::Misdirected
    );
    assert_eq!(
        check("foo.example.com", "example.org"),
        Coalescing::NotFound
    );
    assert_eq!(
        check("foo.example.com", "foo.example.com/evil"),
        Coalescing::BadRequest
    );
    assert_eq!(Coalescing::NotFound.status(), Some(404));
}

#[test]
fn coalescing_guard_refuses_connections_of_another_port_or_validation() {
    let mut port = port_with(&[("any", None)]);
    let elsewhere = ConnectionInfo {
        port: 8443,
        sni: None,
        listener: Some("any"),
        client_auth: ClientAuth::NotRequested,
    };
    assert_eq!(
        coalescing_check(&elsewhere, "a.example.com", &port),
        Coalescing::Misdirected
    );
    port.validation = Some(ClientValidation {
        mode: ValidationMode::AllowValidOnly,
        trust: Trust::Invalid("test".to_owned()),
        invalid_refs: Vec::new(),
    });
    let check = |auth: ClientAuth, port: &PortTls| {
        coalescing_check(&port.connection(None, auth), "a.example.com", port)
    };
    assert_eq!(check(ClientAuth::Verified, &port), Coalescing::Allow);
    assert_eq!(
        check(ClientAuth::NotRequested, &port),
        Coalescing::Misdirected
    );
    assert_eq!(
        check(ClientAuth::Unverified(Reason::NoCertificate), &port),
        Coalescing::Misdirected
    );
    if let Some(v) = port.validation.as_mut() {
        v.mode = ValidationMode::AllowInsecureFallback;
    }
    assert_eq!(
        check(ClientAuth::Unverified(Reason::NoCertificate), &port),
        Coalescing::Allow
    );
}

#[test]
fn verdicts_and_errors_say_why_in_lowercase() {
    for text in [
        Verdict::Invalid(Reason::UnknownIssuer).to_string(),
        Reason::PolicyInvalid("x".to_owned()).to_string(),
        TlsError::ClientCertificate("x".to_owned()).to_string(),
        TlsError::Roots("x".to_owned()).to_string(),
    ] {
        assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }
}

// === verification (feature `tls`) ===

#[cfg(feature = "tls")]
mod verification {
    use rcgen::ExtendedKeyUsagePurpose;
    use rustls_pki_types::{CertificateDer, DnsName, UnixTime};

    use super::pki::{Ca, LeafSpec, now};
    use super::*;
    use crate::tls::verify::wildcard_matches;

    fn settings(trust: Trust, identities: Vec<Identity>) -> BackendTls {
        BackendTls {
            policy: "app/p".to_owned(),
            sni: "api.example.com".to_owned(),
            trust,
            identities,
            client_certificate: None,
        }
    }

    fn trusting(cas: &[&Ca], identities: Vec<Identity>) -> BackendTls {
        settings(
            Trust::Bundles(cas.iter().map(|c| c.cert.clone()).collect()),
            identities,
        )
    }

    fn host(name: &str) -> Identity {
        Identity::Hostname(DnsName::try_from(name.to_owned()).unwrap())
    }

    fn wildcard(parent: &str) -> Identity {
        Identity::WildcardHostname(DnsName::try_from(parent.to_owned()).unwrap())
    }

    fn invalid(reason: Reason) -> Verdict {
        Verdict::Invalid(reason)
    }

    #[test]
    fn chain_through_an_intermediate_is_valid_and_needs_the_intermediate() {
        let root = Ca::root("root");
        let inter = root.intermediate("intermediate");
        let leaf = inter.leaf_for(&["api.example.com"]);
        let tls = trusting(&[&root], vec![host("api.example.com")]);
        assert_eq!(
            verify(&tls, &[leaf.cert.clone(), inter.cert.clone()], now()),
            Verdict::Valid
        );
        assert_eq!(
            verify(&tls, std::slice::from_ref(&leaf.cert), now()),
            invalid(Reason::UnknownIssuer)
        );
    }

    #[test]
    fn chain_from_another_ca_is_an_unknown_issuer() {
        let (root, other) = (Ca::root("root"), Ca::root("other"));
        let leaf = other.leaf_for(&["api.example.com"]);
        let tls = trusting(&[&root], vec![host("api.example.com")]);
        assert_eq!(
            verify(&tls, &[leaf.cert], now()),
            invalid(Reason::UnknownIssuer)
        );
    }

    #[test]
    fn impostor_ca_with_the_same_name_fails_the_signature() {
        let (root, impostor) = (Ca::root("root"), Ca::root("root"));
        let leaf = impostor.leaf_for(&["api.example.com"]);
        let tls = trusting(&[&root], vec![host("api.example.com")]);
        assert_eq!(
            verify(&tls, &[leaf.cert], now()),
            invalid(Reason::BadSignature)
        );
    }

    #[test]
    fn validity_period_is_checked_at_the_time_passed_in() {
        let root = Ca::root("root");
        let tls = trusting(&[&root], vec![host("api.example.com")]);
        let expired = root.leaf(&LeafSpec {
            dns: &["api.example.com"],
            valid: ((2020, 1, 1), (2025, 1, 1)),
            ..LeafSpec::default()
        });
        assert_eq!(
            verify(&tls, std::slice::from_ref(&expired.cert), now()),
            invalid(Reason::Expired)
        );
        let early = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_700_000_000));
        assert_eq!(verify(&tls, &[expired.cert], early), Verdict::Valid);
        let future = root.leaf(&LeafSpec {
            dns: &["api.example.com"],
            valid: ((2035, 1, 1), (2039, 1, 1)),
            ..LeafSpec::default()
        });
        assert_eq!(
            verify(&tls, &[future.cert], now()),
            invalid(Reason::NotYetValid)
        );
    }

    #[test]
    fn hostname_is_checked_by_webpki_including_certificate_wildcards() {
        let root = Ca::root("root");
        let tls = trusting(&[&root], vec![host("api.example.com")]);
        let exact = root.leaf_for(&["api.example.com"]);
        let other = root.leaf_for(&["web.example.com"]);
        let wild = root.leaf_for(&["*.example.com"]);
        let too_deep = root.leaf_for(&["*.api.example.com"]);
        assert_eq!(verify(&tls, &[exact.cert], now()), Verdict::Valid);
        assert_eq!(
            verify(&tls, &[other.cert], now()),
            invalid(Reason::SanMismatch)
        );
        assert_eq!(verify(&tls, &[wild.cert], now()), Verdict::Valid);
        assert_eq!(
            verify(&tls, &[too_deep.cert], now()),
            invalid(Reason::SanMismatch)
        );
    }

    #[test]
    fn policy_wildcard_matches_exactly_one_label() {
        let root = Ca::root("root");
        let tls = trusting(&[&root], vec![wildcard("example.com")]);
        let check = |dns: &str| verify(&tls, &[root.leaf_for(&[dns]).cert], now());
        assert_eq!(check("a.example.com"), Verdict::Valid);
        assert_eq!(check("A.Example.COM"), Verdict::Valid);
        assert_eq!(check("a.b.example.com"), invalid(Reason::SanMismatch));
        assert_eq!(check("example.com"), invalid(Reason::SanMismatch));
        assert_eq!(check("aexample.com"), invalid(Reason::SanMismatch));
        // A certificate wildcard matches only the identical policy SAN.
        assert_eq!(check("*.example.com"), Verdict::Valid);
        assert_eq!(check("*.a.example.com"), invalid(Reason::SanMismatch));
    }

    #[test]
    fn wildcard_rule_table() {
        for (parent, presented, expected) in [
            ("example.com", "a.example.com", true),
            ("example.com", "xn--bcher-kva.example.com", true),
            ("example.com", "a.b.example.com", false),
            ("example.com", "example.com", false),
            ("example.com", ".example.com", false),
            ("example.com", "*.example.com", true),
            ("example.com", "*.EXAMPLE.com", true),
            ("example.com", "a*.example.com", false),
            ("example.com", "*.*.example.com", false),
            ("example.com", "a.example.com.evil", false),
            ("example.com", "a.example.co", false),
        ] {
            assert_eq!(wildcard_matches(parent, presented), expected, "{presented}");
        }
    }

    #[test]
    fn uri_san_matches_byte_for_byte() {
        let root = Ca::root("root");
        let id = "spiffe://cluster.local/ns/app/sa/api";
        let tls = trusting(&[&root], vec![Identity::Uri(id.to_owned())]);
        let with_uri = |uri: &str| {
            root.leaf(&LeafSpec {
                dns: &["api.example.com"],
                uris: &[uri],
                ..LeafSpec::default()
            })
            .cert
        };
        assert_eq!(verify(&tls, &[with_uri(id)], now()), Verdict::Valid);
        for near in [
            "spiffe://cluster.local/ns/app/sa/api/",
            "spiffe://cluster.local/ns/app/sa/API",
            "spiffe://cluster.local/ns/app/sa/ap",
            "SPIFFE://cluster.local/ns/app/sa/api",
        ] {
            assert_eq!(
                verify(&tls, &[with_uri(near)], now()),
                invalid(Reason::SanMismatch)
            );
        }
    }

    #[test]
    fn hostname_is_not_used_for_authentication_when_sans_are_set() {
        let root = Ca::root("root");
        let yaml = format!(
            "{}{}{}",
            service("app", "api", &[("https", 443)]),
            config_map("app", "ca", &root.pem),
            policy(
                "p",
                "2024-01-01T00:00:00Z",
                None,
                &ca_refs_validation(
                    &["ca"],
                    ", subjectAltNames: [{type: URI, uri: \"spiffe://c/ns/app/sa/api\"}]"
                )
            ),
        );
        let tls = backend_tls(&yaml);
        let by_hostname = root.leaf_for(&["api.example.com"]);
        assert_eq!(
            verify(&tls, &[by_hostname.cert], now()),
            invalid(Reason::SanMismatch)
        );
        let by_uri = root.leaf(&LeafSpec {
            uris: &["spiffe://c/ns/app/sa/api"],
            ..LeafSpec::default()
        });
        assert_eq!(verify(&tls, &[by_uri.cert], now()), Verdict::Valid);
    }

    #[test]
    fn any_one_identity_is_enough() {
        let root = Ca::root("root");
        let tls = trusting(
            &[&root],
            vec![
                host("a.example.com"),
                Identity::Uri("spiffe://x/y".to_owned()),
            ],
        );
        let leaf = root.leaf(&LeafSpec {
            uris: &["spiffe://x/y"],
            ..LeafSpec::default()
        });
        assert_eq!(verify(&tls, &[leaf.cert], now()), Verdict::Valid);
    }

    #[test]
    fn every_ca_of_several_bundles_is_trusted() {
        let (a, b, c) = (Ca::root("ca a"), Ca::root("ca b"), Ca::root("ca c"));
        let yaml = format!(
            "{}{}{}{}",
            service("app", "api", &[("https", 443)]),
            config_map("app", "ab", &format!("{}{}", a.pem, b.pem)),
            config_map("app", "c", &c.pem),
            policy(
                "p",
                "2024-01-01T00:00:00Z",
                None,
                &ca_refs_validation(&["ab", "c"], "")
            ),
        );
        let tls = backend_tls(&yaml);
        for ca in [&a, &b, &c] {
            let leaf = ca.leaf_for(&["api.example.com"]);
            assert_eq!(verify(&tls, &[leaf.cert], now()), Verdict::Valid);
        }
        let stranger = Ca::root("stranger").leaf_for(&["api.example.com"]);
        assert_eq!(
            verify(&tls, &[stranger.cert], now()),
            invalid(Reason::UnknownIssuer)
        );
    }

    #[test]
    fn malformed_pem_fails_closed_even_beside_a_good_bundle() {
        let root = Ca::root("root");
        let garbage =
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";
        let yaml = format!(
            "{}{}{}{}",
            service("app", "api", &[("https", 443)]),
            config_map("app", "good", &root.pem),
            config_map("app", "bad", garbage),
            policy(
                "p",
                "2024-01-01T00:00:00Z",
                None,
                &ca_refs_validation(&["good", "bad"], "")
            ),
        );
        let tls = backend_tls(&yaml);
        let leaf = root.leaf_for(&["api.example.com"]);
        match verify(&tls, &[leaf.cert], now()) {
            Verdict::Invalid(Reason::PolicyInvalid(why)) => assert!(why.contains("bad"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pem_that_is_not_a_certificate_fails_closed() {
        // Valid PEM armour around bytes that are not X.509.
        let root = Ca::root("root");
        let tls = settings(
            Trust::Bundles(vec![CertificateDer::from(vec![
                0x30, 0x03, 0x02, 0x01, 0x01,
            ])]),
            vec![host("api.example.com")],
        );
        let leaf = root.leaf_for(&["api.example.com"]);
        assert!(matches!(
            verify(&tls, &[leaf.cert], now()),
            Verdict::Invalid(Reason::PolicyInvalid(_))
        ));
    }

    #[test]
    fn no_certificate_garbage_and_no_identity_are_refused() {
        let root = Ca::root("root");
        let tls = trusting(&[&root], vec![host("api.example.com")]);
        assert_eq!(verify(&tls, &[], now()), invalid(Reason::NoCertificate));
        assert_eq!(
            verify(&tls, &[CertificateDer::from(vec![1, 2, 3])], now()),
            invalid(Reason::BadEncoding)
        );
        let nobody = trusting(&[&root], Vec::new());
        let leaf = root.leaf_for(&["api.example.com"]);
        assert!(matches!(
            verify(&nobody, &[leaf.cert], now()),
            Verdict::Invalid(Reason::PolicyInvalid(_))
        ));
    }

    #[test]
    fn client_only_certificate_is_the_wrong_usage_for_a_backend() {
        let root = Ca::root("root");
        let tls = trusting(&[&root], vec![host("api.example.com")]);
        let leaf = root.leaf(&LeafSpec {
            dns: &["api.example.com"],
            eku: &[ExtendedKeyUsagePurpose::ClientAuth],
            ..LeafSpec::default()
        });
        assert_eq!(
            verify(&tls, &[leaf.cert], now()),
            invalid(Reason::WrongUsage)
        );
    }

    #[test]
    fn system_trust_uses_the_bundled_or_the_embedders_roots() {
        let root = Ca::root("private root");
        let tls = settings(Trust::System, vec![host("api.example.com")]);
        let leaf = root.leaf_for(&["api.example.com"]);
        assert_eq!(
            verify(&tls, std::slice::from_ref(&leaf.cert), now()),
            invalid(Reason::UnknownIssuer)
        );
        let roots = SystemRoots::from_pem(root.pem.as_bytes()).unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(
            verify_with_roots(&tls, &[leaf.cert], now(), &roots),
            Verdict::Valid
        );
        assert!(matches!(
            SystemRoots::from_pem(b""),
            Err(TlsError::Roots(_))
        ));
        assert!(matches!(
            SystemRoots::from_certificates(&[CertificateDer::from(vec![1, 2])]),
            Err(TlsError::Roots(_))
        ));
    }

    #[test]
    fn invalid_trust_refuses_every_chain() {
        let root = Ca::root("root");
        let tls = settings(
            Trust::Invalid("broken".to_owned()),
            vec![host("api.example.com")],
        );
        let leaf = root.leaf_for(&["api.example.com"]);
        assert_eq!(
            verify_with_roots(
                &tls,
                &[leaf.cert],
                now(),
                &SystemRoots::from_certificates(std::slice::from_ref(&root.cert)).unwrap()
            ),
            invalid(Reason::PolicyInvalid("broken".to_owned()))
        );
    }

    #[test]
    fn client_chains_need_the_ports_cas_and_client_usage() {
        let (ca, other) = (Ca::root("clients"), Ca::root("other"));
        let validation = ClientValidation {
            mode: ValidationMode::AllowValidOnly,
            trust: Trust::Bundles(vec![ca.cert.clone()]),
            invalid_refs: Vec::new(),
        };
        let good = ca.leaf(&LeafSpec {
            eku: &[ExtendedKeyUsagePurpose::ClientAuth],
            ..LeafSpec::default()
        });
        assert_eq!(
            verify_client(&validation, &[good.cert], now()),
            Verdict::Valid
        );
        let server_only = ca.leaf(&LeafSpec {
            eku: &[ExtendedKeyUsagePurpose::ServerAuth],
            ..LeafSpec::default()
        });
        assert_eq!(
            verify_client(&validation, &[server_only.cert], now()),
            invalid(Reason::WrongUsage)
        );
        let stranger = other.leaf(&LeafSpec::default());
        assert_eq!(
            verify_client(&validation, &[stranger.cert], now()),
            invalid(Reason::UnknownIssuer)
        );
        let system = ClientValidation {
            trust: Trust::System,
            ..validation
        };
        assert!(matches!(
            verify_client(&system, &[good_leaf(&ca)], now()),
            Verdict::Invalid(Reason::PolicyInvalid(_))
        ));
    }

    fn good_leaf(ca: &Ca) -> CertificateDer<'static> {
        ca.leaf(&LeafSpec::default()).cert
    }
}
