//! The one-pass reader against what it replaced (`serde_path_to_error` over `serde_ignored`
//! over `&serde_json::Value`): the same values, unknown-field paths, error paths and messages,
//! on every conformance manifest and on mutations of each of its fields.
#![allow(clippy::disallowed_methods)] // reads the corpus from disk

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{FieldError, typed};
use crate::api::{
    BackendTlsPolicy, ConfigMap, Gateway, GatewayClass, GrpcRoute, HttpRoute, L4Route, Namespace,
    ReferenceGrant, Secret, Service, XBackendTrafficPolicy, XListenerSet, XMesh,
};

/// The reading the loader did before: serde_ignored for the unknown fields, serde_path_to_error
/// for the path of an error.
fn reference<T: DeserializeOwned>(value: &Value) -> Result<(T, Vec<String>), FieldError> {
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let result = {
        let de = serde_path_to_error::Deserializer::new(value, &mut track);
        serde_ignored::deserialize(de, |path| unknown.push(ignored_path(&path)))
    };
    match result {
        Ok(t) => Ok((t, unknown)),
        Err(e) => {
            let path = track.path().to_string();
            Err(FieldError {
                path: if path == "." { String::new() } else { path },
                message: e.to_string(),
            })
        }
    }
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => {
            let p = ignored_path(parent);
            if p.is_empty() {
                key.clone()
            } else {
                format!("{p}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

fn same<T: DeserializeOwned + PartialEq + Debug>(value: &Value) -> Result<(), String> {
    let ours = typed::<T>(value);
    let theirs = reference::<T>(value);
    if ours == theirs {
        Ok(())
    } else {
        Err(format!("ours {ours:?}\nreference {theirs:?}"))
    }
}

/// Compares the two readings of a resource (apiVersion and kind removed, as the loader does).
fn compare(kind: &str, value: &Value) -> Result<(), String> {
    match kind {
        "GatewayClass" => same::<GatewayClass>(value),
        "Gateway" => same::<Gateway>(value),
        "HTTPRoute" => same::<HttpRoute>(value),
        "GRPCRoute" => same::<GrpcRoute>(value),
        "TLSRoute" | "TCPRoute" | "UDPRoute" => same::<L4Route>(value),
        "ReferenceGrant" => same::<ReferenceGrant>(value),
        "BackendTLSPolicy" => same::<BackendTlsPolicy>(value),
        "XListenerSet" => same::<XListenerSet>(value),
        "XBackendTrafficPolicy" => same::<XBackendTrafficPolicy>(value),
        "XMesh" => same::<XMesh>(value),
        "Namespace" => same::<Namespace>(value),
        "Service" => same::<Service>(value),
        "Secret" => same::<Secret>(value),
        "ConfigMap" => same::<ConfigMap>(value),
        _ => Ok(()),
    }
}

fn corpus() -> Vec<(String, Value)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/manifests");
    let mut out = Vec::new();
    for sub in ["base", "tests"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path()).expect("readable");
            let docs: Vec<Option<Value>> = serde_saphyr::from_multiple(&text).expect("YAML");
            for doc in docs.into_iter().flatten() {
                out.push((e.path().display().to_string(), doc));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every JSON pointer to a value inside `value`, the root excluded.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn reads_every_conformance_resource_and_its_mutations_as_the_wrappers_did() {
    let corpus = corpus();
    assert!(corpus.len() > 100, "the corpus is beside the repository");
    let replacements = [
        json!("x"),
        json!(70000),
        json!(-1),
        json!(1.5),
        Value::Null,
        json!(true),
        json!([1, "a"]),
        json!({"colour": "blue"}),
    ];
    let mut checked = 0;
    for (file, doc) in &corpus {
        let mut value = doc.clone();
        let kind = value["kind"].as_str().unwrap_or_default().to_owned();
        if let Value::Object(map) = &mut value {
            map.remove("apiVersion");
            map.remove("kind");
        }
        compare(&kind, &value).unwrap_or_else(|e| panic!("{file} {kind}:\n{e}"));
        let mut at = Vec::new();
        pointers(&value, String::new(), &mut at);
        for pointer in &at {
            let mut edits: Vec<Value> = replacements.to_vec();
            // And an unknown field beside the known ones.
            if let Some(Value::Object(map)) = value.pointer(pointer) {
                let mut extended = map.clone();
                extended.insert("colour".to_owned(), json!("blue"));
                edits.push(Value::Object(extended));
            }
            for replacement in edits {
                let mut mutated = value.clone();
                if let Some(slot) = mutated.pointer_mut(pointer) {
                    *slot = replacement.clone();
                }
                compare(&kind, &mutated)
                    .unwrap_or_else(|e| panic!("{file} {kind} {pointer} = {replacement}:\n{e}"));
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn paths_name_keys_and_indexes_from_the_root() {
    let value = json!({"spec": {"controllerName": 7}});
    let e = typed::<GatewayClass>(&value).unwrap_err();
    assert_eq!(e.path, "spec.controllerName");
    assert_eq!(e.message, "invalid type: integer `7`, expected a string");
    let value = json!({"metadata": {"name": "g"}, "spec": {"gatewayClassName": "c",
        "listeners": [{"name": "a", "port": null, "protocol": "HTTP"}]}});
    let e = typed::<Gateway>(&value).unwrap_err();
    assert_eq!(e.path, "spec.listeners[0].port");
    assert!(e.message.starts_with("invalid type: null"), "{}", e.message);
    let value =
        json!({"metadata": {"name": "c"}, "spec": {"controllerName": "a.com/b", "colour": "blue"}});
    let (_, unknown) = typed::<GatewayClass>(&value).unwrap();
    assert_eq!(unknown, ["spec.colour"]);
}
