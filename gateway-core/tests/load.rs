//! Loading: round trips, and bad input that must give a clear error, never a panic.
#![allow(clippy::disallowed_methods)] // reads the corpus from disk

use gateway_core::api::{LoadOptions, Snapshot};

fn load(text: &[u8]) -> Result<Snapshot, String> {
    Snapshot::load(text, &LoadOptions::default())
        .map(|l| l.snapshot)
        .map_err(|e| e.to_string())
}

fn corpus_manifests() -> Vec<(String, String)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/manifests");
    let mut out = Vec::new();
    for sub in ["base", "tests"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path())
                .unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
            let text = text
                .replace("{GATEWAY_CLASS_NAME}", "gateway-conformance")
                .replace("{GATEWAY_CONTROLLER_NAME}", "example.com/gateway")
                .replace("PLACEHOLDER_USABLE_ADDRS", "192.0.2.1")
                .replace("PLACEHOLDER_UNUSABLE_ADDRS", "192.0.2.2");
            out.push((e.path().display().to_string(), text));
        }
    }
    out.sort();
    out
}

#[test]
fn load_serialize_load_is_lossless_for_every_conformance_manifest() {
    let manifests = corpus_manifests();
    assert!(manifests.len() > 70, "the corpus is beside the repository");
    for (name, text) in manifests {
        let first = load(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = first.to_json();
        let second = load(json.as_bytes()).unwrap_or_else(|e| panic!("{name} (reloaded): {e}"));
        assert_eq!(first.objects.len(), second.objects.len(), "{name}");
        for (a, b) in first.objects.iter().zip(&second.objects) {
            assert_eq!(a.api_version, b.api_version, "{name}");
            assert_eq!(a.resource, b.resource, "{name}: {}", a.resource.id());
        }
        // And once more: the JSON of the reloaded snapshot is byte-identical.
        assert_eq!(json, second.to_json(), "{name}");
    }
}

#[test]
fn crd_defaults_are_applied_while_reading() {
    let s = load(
        b"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  rules:
  - matches: [{headers: [{name: x, value: y}]}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]
  - backendRefs: [{name: s, port: 80}]
",
    )
    .unwrap();
    let json = s.to_json();
    for needle in [
        r#""type": "PathPrefix""#,
        r#""value": "/""#,
        r#""type": "Exact""#,
        r#""statusCode": 302"#,
        r#""weight": 1"#,
        r#""kind": "Service""#,
        r#""group": """#,
    ] {
        assert!(json.contains(needle), "missing {needle} in {json}");
    }
}

#[test]
fn json_streams_and_lists_load() {
    let text = br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}
{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}]}"#;
    assert_eq!(load(text).unwrap().objects.len(), 2);
}

#[test]
fn malformed_yaml_is_a_clear_error() {
    let e = load(b"apiVersion: v1\nkind: [unclosed\n").unwrap_err();
    assert!(e.contains("YAML"), "{e}");
}

#[test]
fn wrong_types_name_the_field() {
    let e = load(b"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: c\n  listeners:\n  - {name: a, port: eighty, protocol: HTTP}\n").unwrap_err();
    assert!(
        e.contains("Gateway default/g") && e.contains("spec.listeners[0].port"),
        "{e}"
    );
}

#[test]
fn non_utf8_input_is_refused_with_the_offset() {
    let e = load(b"apiVersion: v1\nkind: Namespace\nmetadata: {name: \xff}\n").unwrap_err();
    assert!(e.contains("not UTF-8") && e.contains("offset 48"), "{e}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let mut options = LoadOptions::default();
    options.max_bytes = 64;
    let e = Snapshot::load(&[b' '; 65], &options)
        .unwrap_err()
        .to_string();
    assert!(e.contains("65 bytes, more than 64"), "{e}");
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("a: {}1{}\n", "[".repeat(200), "]".repeat(200));
    let e = load(deep.as_bytes()).unwrap_err();
    assert!(
        e.to_lowercase().contains("depth") || e.contains("deeper"),
        "{e}"
    );
    let deep_json = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    assert!(load(deep_json.as_bytes()).is_err());
}

#[test]
fn alias_expansion_bombs_are_refused() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, prev) in ('b'..='k').zip('a'..='j') {
        bomb.push_str(&format!("{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    assert!(load(bomb.as_bytes()).is_err());
}

#[test]
fn too_many_resources_are_refused() {
    let mut options = LoadOptions::default();
    options.max_resources = 3;
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n".repeat(4);
    let e = Snapshot::load(text.as_bytes(), &options)
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 3 resources"), "{e}");
}

#[test]
fn unknown_kinds_and_fields_are_warnings_then_errors_when_strict() {
    let text = b"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\nspec: {controllerName: a.com/b, colour: blue}\n";
    let loaded = Snapshot::load(text, &LoadOptions::default()).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings.iter().any(|w| w.contains("unknown kind Widget")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("spec.colour") && w.contains("unknown field")),
        "{warnings:?}"
    );
    let mut strict = LoadOptions::default();
    strict.strict = true;
    assert!(Snapshot::load(text, &strict).is_err());
}

#[test]
fn an_unserved_api_version_is_an_error() {
    let e = load(b"apiVersion: gateway.networking.k8s.io/v9\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: c, listeners: []}\n").unwrap_err();
    assert!(e.contains("not served") && e.contains("v1, v1beta1"), "{e}");
}

#[test]
fn the_deprecated_backend_tls_policy_version_loads_with_a_warning() {
    let text = b"apiVersion: gateway.networking.k8s.io/v1alpha3\nkind: BackendTLSPolicy\nmetadata: {name: p}\nspec:\n  targetRefs: [{group: '', kind: Service, name: s}]\n  validation: {hostname: a.example.com, wellKnownCACertificates: System}\n";
    let loaded = Snapshot::load(text, &LoadOptions::default()).unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("deprecated")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn every_error_is_kept_not_only_the_first() {
    let text = b"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: a}\nspec: {gatewayClassName: c, listeners: [{name: x, port: 0, protocol: HTTP}]}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: b}\nspec: {gatewayClassName: c, listeners: [{name: x, port: 70000, protocol: HTTP}]}\n";
    let e = Snapshot::load(text, &LoadOptions::default()).unwrap_err();
    let errors: Vec<_> = e.errors().collect();
    assert!(errors.len() >= 2, "{errors:?}");
    assert_eq!(errors[0].document, Some(0));
    assert_eq!(errors[1].document, Some(1));
}

/// Every limit's error names the limit, the value it went over, and both the `LoadOptions`
/// field and the `gateway` flag that raise it (issue #26).
#[test]
fn every_limit_names_itself_and_how_to_raise_it() {
    type Tighten = fn(&mut LoadOptions);
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";
    let json_namespace = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}"#;
    let cases: Vec<(&str, Tighten, String, &str)> = vec![
        (
            "max_bytes",
            |o| o.max_bytes = 64,
            " ".repeat(65),
            "the input is 65 bytes, more than 64",
        ),
        (
            "max_depth",
            |_| {},
            format!("a: {}1{}\n", "[".repeat(200), "]".repeat(200)),
            "nests deeper than 64 levels",
        ),
        (
            "max_depth",
            |_| {},
            format!("{}1{}", "[".repeat(100), "]".repeat(100)),
            "document 0 nests deeper than 64 levels",
        ),
        (
            "max_resources",
            |o| o.max_resources = 3,
            format!("{namespace}---\n").repeat(4),
            "the input has more than 3 resources",
        ),
        (
            "max_documents",
            |o| o.max_documents = 2,
            format!("{namespace}---\n").repeat(2) + namespace,
            "the input has more than 2 documents",
        ),
        (
            "max_documents",
            |o| o.max_documents = 2,
            format!("{json_namespace}\n").repeat(3),
            "the input has more than 2 documents",
        ),
        (
            "max_yaml_nodes",
            |o| o.max_yaml_nodes = 10,
            format!("{namespace}---\n{namespace}"),
            "the YAML has more than 10 nodes",
        ),
        (
            "max_yaml_aliases",
            |o| o.max_yaml_aliases = 2,
            "a: &a x\nb: [*a, *a, *a]\n".to_owned(),
            "the YAML has more than 2 aliases",
        ),
        (
            "max_yaml_alias_events",
            |o| o.max_yaml_alias_events = 10,
            "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\nb: *a\n".to_owned(),
            "the YAML's aliases expand to more than 10 parser events",
        ),
    ];
    for (field, tighten, text, what) in cases {
        let mut options = LoadOptions::default();
        tighten(&mut options);
        let e = Snapshot::load(text.as_bytes(), &options)
            .expect_err(field)
            .to_string();
        let flag = field.replace('_', "-");
        let how = format!("(limit {field}; raise it with LoadOptions::{field} or --{flag})");
        assert!(e.contains(what) && e.contains(&how), "{field}: {e}");
    }
}

#[test]
fn large_numbers_in_limit_errors_are_grouped_by_thousands() {
    let mut options = LoadOptions::default();
    options.max_bytes = 2_500_000;
    let e = Snapshot::load(&vec![b' '; 2_500_001], &options)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2,500,001 bytes, more than 2,500,000"), "{e}");
}

/// The defaults grew to admit real clusters (issue #26); the adversarial bounds did not: a
/// billion-laughs document is still refused by the alias budget, at once.
#[test]
fn an_alias_bomb_still_fails_fast_with_the_default_limits() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, prev) in ('b'..='k').zip('a'..='j') {
        bomb.push_str(&format!("{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    // The work is bounded by the replay budget, not by the clock: the load stops at the
    // 100,000th replayed event (the error names that limit) of the 10^10 the bomb asks for.
    // No wall-clock assertion: the machine's load would make it flaky, and speed is
    // measured in the benches, not in tests.
    let e = load(bomb.as_bytes()).unwrap_err();
    assert!(e.contains("limit max_yaml_alias_events"), "{e}");
    let defaults = LoadOptions::default();
    assert_eq!(
        (
            defaults.max_depth,
            defaults.max_yaml_aliases,
            defaults.max_yaml_alias_events
        ),
        (64, 1_000, 100_000)
    );
}

#[test]
fn the_size_limits_follow_the_resource_limit() {
    let options = LoadOptions::for_resources(10);
    assert_eq!(options.max_resources, 10);
    assert_eq!(options.max_documents, 21);
    assert_eq!(options.max_bytes, 10 * LoadOptions::BYTES_PER_RESOURCE);
    assert_eq!(
        options.max_yaml_nodes,
        10 * LoadOptions::YAML_NODES_PER_RESOURCE
    );
    assert_eq!(
        LoadOptions::default(),
        LoadOptions::for_resources(LoadOptions::DEFAULT_MAX_RESOURCES)
    );
    const { assert!(LoadOptions::DEFAULT_MAX_RESOURCES >= 50_000) };
}

/// 50,000 one-rule HTTPRoutes and the 50 Services they send to load with the default limits,
/// as YAML and as JSON (issue #26: 9,000 such routes went over the YAML parser's node budget).
#[test]
fn fifty_thousand_routes_and_their_services_load_with_the_default_limits() {
    const ROUTES: usize = 50_000;
    const SERVICES: usize = 50;
    let mut yaml = String::new();
    let mut json = String::new();
    for s in 0..SERVICES {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{s}\n  namespace: apps\n\
             spec:\n  ports:\n  - port: 80\n---\n"
        ));
        json.push_str(&format!(
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"svc-{s}","namespace":"apps"}},"spec":{{"ports":[{{"port":80}}]}}}}"#
        ));
        json.push('\n');
    }
    for r in 0..ROUTES {
        let s = r % SERVICES;
        yaml.push_str(&format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  \
             name: route-{r}\n  namespace: apps\nspec:\n  parentRefs:\n  - name: edge\n    \
             namespace: infra\n  hostnames:\n  - app-{r}.example.com\n  rules:\n  - matches:\n    \
             - path:\n        type: PathPrefix\n        value: /api/{r}\n    backendRefs:\n    \
             - name: svc-{s}\n      port: 80\n---\n"
        ));
        json.push_str(&format!(
            r#"{{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{{"name":"route-{r}","namespace":"apps"}},"spec":{{"parentRefs":[{{"name":"edge","namespace":"infra"}}],"hostnames":["app-{r}.example.com"],"rules":[{{"matches":[{{"path":{{"type":"PathPrefix","value":"/api/{r}"}}}}],"backendRefs":[{{"name":"svc-{s}","port":80}}]}}]}}}}"#
        ));
        json.push('\n');
    }
    for (format, text) in [("YAML", yaml), ("JSON", json)] {
        let loaded = Snapshot::load(text.as_bytes(), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{format} of {} bytes: {e}", text.len()));
        assert_eq!(
            loaded.snapshot.objects.len(),
            ROUTES + SERVICES,
            "{format} of {} bytes",
            text.len()
        );
    }
}
