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
    assert!(e.contains("65 bytes") && e.contains("limit of 64"), "{e}");
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
