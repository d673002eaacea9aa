//! Setting up conformance corpus cases as `gateway replay` does (gateway-cli/src/replay/setup.rs,
//! mod.rs and requests.rs; keep in step with them): placeholders, the GatewayClass of the
//! replay's controller, the programmatic Secrets and ConfigMaps (fresh rcgen certificates),
//! mutations, and the request cases as JSON request lines.

use std::path::Path;

use base64::Engine as _;
use gateway_core::api::{LoadOptions, Snapshot};
use serde_json::{Value, json};

/// The replay's GatewayClass, controller and address pools (gateway-cli `replay`).
pub(crate) const CLASS_NAME: &str = "gateway-conformance";
pub(crate) const CONTROLLER: &str = "gateway.example.dev/conformance-replay";
pub(crate) const USABLE_ADDRESS: &str = "192.0.2.10";
pub(crate) const UNUSABLE_ADDRESS: &str = "198.51.100.99";

/// The GatewayClass document the replay puts first.
fn gateway_class() -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: {CLASS_NAME}}}\nspec: {{controllerName: {CONTROLLER}}}\n---\n"
    )
}

/// One manifest file with its placeholders replaced.
fn manifest_text(dir: &Path, file: &str) -> Result<String, String> {
    let path = dir.join("manifests").join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .replace("{GATEWAY_CLASS_NAME}", CLASS_NAME)
        .replace("{GATEWAY_CONTROLLER_NAME}", CONTROLLER)
        .replace("PLACEHOLDER_USABLE_ADDRS", USABLE_ADDRESS)
        .replace("PLACEHOLDER_UNUSABLE_ADDRS", UNUSABLE_ADDRESS))
}

/// The YAML the replay loads first: the GatewayClass, then each manifest followed by `---`.
fn yaml_text(dir: &Path, manifests: &[String]) -> Result<String, String> {
    let mut text = gateway_class();
    for file in manifests {
        text.push_str(&manifest_text(dir, file)?);
        text.push_str("\n---\n");
    }
    Ok(text)
}

/// The whole case as one text for `Router.fromManifests`: the replay's YAML, then the
/// programmatic resources' JSON `List` as one more YAML document.
pub(crate) fn case_text(
    dir: &Path,
    manifests: &[String],
    programmatic: &str,
) -> Result<String, String> {
    let mut text = yaml_text(dir, manifests)?;
    text.push_str(programmatic);
    text.push('\n');
    Ok(text)
}

/// The snapshot exactly as the replay builds it: two loads, extended.
pub(crate) fn replay_snapshot(
    dir: &Path,
    manifests: &[String],
    programmatic: &str,
) -> Result<Snapshot, String> {
    let text = yaml_text(dir, manifests)?;
    let mut snapshot = Snapshot::load(text.as_bytes(), &LoadOptions::default())
        .map_err(|e| e.to_string())?
        .snapshot;
    snapshot.extend(
        Snapshot::load(programmatic.as_bytes(), &LoadOptions::default())
            .map_err(|e| e.to_string())?
            .snapshot,
    );
    Ok(snapshot)
}

/// Document indexes differ between one text and two loads; nothing else may.
pub(crate) fn forget_documents(snapshot: &mut Snapshot) {
    for o in &mut snapshot.objects {
        o.document = 0;
    }
}

/// The Secrets and ConfigMaps of `programmatic-resources.json` as one JSON `List`, with fresh
/// certificates: self-signed, or signed by the CA ConfigMap the corpus names.
pub(crate) fn programmatic_resources(dir: &Path) -> Result<String, String> {
    let path = dir.join("programmatic-resources.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let entries: Vec<Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut cas = Vec::new();
    let mut items = Vec::new();
    for e in entries.iter().filter(|e| e["kind"] == "ConfigMap") {
        let (ns, name) = (str_of(&e["namespace"]), str_of(&e["name"]));
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} CA"));
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        items.push(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"namespace": ns, "name": name},
            "data": {"ca.crt": cert.pem()},
        }));
        cas.push((name, params, key));
    }
    for e in entries.iter().filter(|e| e["kind"] == "Secret") {
        let (ns, name) = (str_of(&e["namespace"]), str_of(&e["name"]));
        let cert = &e["certificate"];
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        for dns in strings(&cert["san"]["dns"]) {
            params.subject_alt_names.push(rcgen::SanType::DnsName(
                dns.try_into().map_err(|e: rcgen::Error| e.to_string())?,
            ));
        }
        for uri in strings(&cert["san"]["uri"]) {
            params.subject_alt_names.push(rcgen::SanType::URI(
                uri.try_into().map_err(|e: rcgen::Error| e.to_string())?,
            ));
        }
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let issuer = str_of(&cert["issuer"]);
        let signed = match cas.iter().find(|(n, _, _)| issuer.contains(n.as_str())) {
            Some((_, ca_params, ca_key)) => {
                params.signed_by(&key, &rcgen::Issuer::from_params(ca_params, ca_key))
            }
            None => params.self_signed(&key),
        }
        .map_err(|e| e.to_string())?;
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        items.push(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"namespace": ns, "name": name},
            "data": {"tls.crt": b64(signed.pem()), "tls.key": b64(key.serialize_pem())},
        }));
    }
    Ok(json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string())
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Applies one mutation as the replay does: a patch of fields (bumping `metadata.generation`
/// when `spec` changes) or a deletion.
pub(crate) fn apply(snapshot: &mut Snapshot, m: &Value) -> Result<(), String> {
    let (kind, name) = (str_of(&m["kind"]), str_of(&m["name"]));
    let namespace = m["namespace"].as_str();
    let position = snapshot.objects.iter().position(|o| {
        let meta = o.resource.metadata();
        o.resource.kind() == kind
            && meta.name == name
            && (namespace.is_none() || meta.namespace.as_deref() == namespace)
    });
    let position = position.ok_or_else(|| format!("mutation of missing {kind} {name}"))?;
    if m["op"] == "delete" {
        snapshot.objects.remove(position);
        return Ok(());
    }
    let object = &snapshot.objects[position];
    let mut value = object.resource.to_value(&object.api_version);
    let mut spec_changed = false;
    for change in m["changes"].as_array().into_iter().flatten() {
        let path = str_of(&change["path"]);
        if change["op"] == "unexpressed" {
            return Err(format!("{path} is computed from live state upstream"));
        }
        let slot = pointer(&mut value, &path).ok_or_else(|| format!("bad path {path}"))?;
        match change["op"].as_str() {
            Some("set") => *slot = change["value"].clone(),
            Some("append") => {
                if slot.is_null() {
                    *slot = Value::Array(Vec::new());
                }
                let list = slot.as_array_mut().ok_or("not a list")?;
                list.extend(change["value"].as_array().cloned().unwrap_or_default());
            }
            other => return Err(format!("unknown change op {other:?}")),
        }
        spec_changed |= path.starts_with("spec");
    }
    if spec_changed && let Some(g) = value.pointer_mut("/metadata/generation") {
        *g = Value::from(g.as_i64().unwrap_or(1) + 1);
    }
    let mut options = LoadOptions::default();
    options.validate = false;
    let loaded =
        Snapshot::load(value.to_string().as_bytes(), &options).map_err(|e| e.to_string())?;
    let new = loaded
        .snapshot
        .objects
        .into_iter()
        .next()
        .ok_or("no object")?;
    snapshot.objects[position].resource = new.resource;
    Ok(())
}

/// The value at a path like `spec.rules[0].backendRefs[0].name`, creating maps on the way.
fn pointer<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    let mut current = value;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if current.is_null() {
            *current = Value::Object(serde_json::Map::new());
        }
        current = current
            .as_object_mut()?
            .entry(key.to_owned())
            .or_insert(Value::Null);
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let i: usize = index.trim_end_matches(']').parse().ok()?;
            current = current.as_array_mut()?.get_mut(i)?;
        }
    }
    Some(current)
}

/// The Gateway a request case is sent to, as the replay keys its routers.
pub(crate) fn gateway_of(r: &Value) -> (String, String) {
    (
        str_of(&r["gateway"]["namespace"]),
        str_of(&r["gateway"]["name"]),
    )
}

/// The JSON request lines of one request case: the request the replay's `observe` builds,
/// with random 0, or with each stratified draw of a (mirror) distribution.
pub(crate) fn request_lines(r: &Value) -> Vec<String> {
    let protocol = str_of(&r["protocol"]);
    let port = r["port"].as_u64().unwrap_or(80);
    let default_port = if protocol == "https" { 443 } else { 80 };
    let host = match r["request"]["host"].as_str() {
        Some(h) => h.to_owned(),
        None if port == default_port && protocol != "grpc" => USABLE_ADDRESS.to_owned(),
        None => format!("{USABLE_ADDRESS}:{port}"),
    };
    let text = |v: &Value| -> String {
        fn text(v: &Value) -> String {
            match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
                other => other.to_string(),
            }
        }
        text(v)
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    let grpc = &r["grpc"];
    let (method, target, authority) = if grpc.is_object() {
        headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
        for (k, v) in grpc["metadata"].as_object().into_iter().flatten() {
            headers.push((k.clone(), text(v)));
        }
        let path = format!("/{}/{}", str_of(&grpc["service"]), str_of(&grpc["method"]));
        ("POST".to_owned(), path, Some(host.clone()))
    } else {
        headers.push(("host".to_owned(), host.clone()));
        for (k, v) in r["request"]["headers"].as_object().into_iter().flatten() {
            headers.push((k.clone(), text(v)));
        }
        (
            str_of(&r["request"]["method"]),
            str_of(&r["request"]["path"]),
            None,
        )
    };
    let scheme = if protocol == "https" { "https" } else { "http" };
    let sni = r["request"]["sni"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            (protocol == "https").then(|| host.split(':').next().unwrap_or_default().to_owned())
        })
        .filter(|s| s.parse::<std::net::IpAddr>().is_err());
    let samples = ["distribution", "mirror_distribution"]
        .iter()
        .find_map(|k| r["expect"][k]["samples"].as_u64())
        .unwrap_or(0);
    // The replay's stratified draws: the middle of each of `samples` equal slices.
    let draws: Vec<u64> = match u64::MAX.checked_div(samples) {
        None => vec![0],
        Some(slice) => (0..samples)
            .map(|i| slice.saturating_mul(i).saturating_add(slice / 2))
            .collect(),
    };
    draws
        .into_iter()
        .map(|random| {
            json!({
                "scheme": scheme, "port": port, "sni": sni, "method": method,
                "authority": authority, "target": target, "headers": headers,
                "random": random,
            })
            .to_string()
        })
        .collect()
}
