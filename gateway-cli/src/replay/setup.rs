//! Building a case's snapshot: the manifests with their placeholders filled, the Secrets and
//! ConfigMaps the upstream suite creates in code (with certificates made by rcgen), and the
//! mutations applied phase by phase.

use std::path::Path;

use base64::Engine as _;
use gateway_core::api::{LoadOptions, Resource, Snapshot};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

use super::case::Mutation;

/// The GatewayClass name, controller name and address pools the replay uses for placeholders.
pub(crate) const CLASS_NAME: &str = "gateway-conformance";
pub(crate) const USABLE_ADDRESS: &str = "192.0.2.10";
pub(crate) const UNUSABLE_ADDRESS: &str = "198.51.100.99";

/// Reads one manifest file with its placeholders replaced.
pub(crate) fn manifest_text(dir: &Path, file: &str, controller: &str) -> Result<String, String> {
    let path = dir.join("manifests").join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .replace("{GATEWAY_CLASS_NAME}", CLASS_NAME)
        .replace("{GATEWAY_CONTROLLER_NAME}", controller)
        .replace("PLACEHOLDER_USABLE_ADDRS", USABLE_ADDRESS)
        .replace("PLACEHOLDER_UNUSABLE_ADDRS", UNUSABLE_ADDRESS))
}

/// The Secrets and ConfigMaps of `programmatic-resources.json`, as one JSON List, with fresh
/// certificates: self-signed where the corpus says so, else signed by the CA ConfigMap named.
pub(crate) fn programmatic_resources(dir: &Path) -> Result<String, String> {
    let path = dir.join("programmatic-resources.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let entries: Vec<Value> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut cas: Vec<(String, String, rcgen::CertificateParams, rcgen::KeyPair)> = Vec::new();
    let mut items = Vec::new();
    // CAs first, so that certificates signed by them can refer to them.
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
        items.push(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"namespace": ns, "name": name},
            "data": {"ca.crt": cert.pem()},
        }));
        cas.push((ns, name, params, key));
    }
    for e in entries.iter().filter(|e| e["kind"] == "Secret") {
        let (ns, name) = (str_of(&e["namespace"]), str_of(&e["name"]));
        let cert = &e["certificate"];
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        for dns in cert["san"]["dns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            params.subject_alt_names.push(rcgen::SanType::DnsName(
                dns.try_into().map_err(|e: rcgen::Error| e.to_string())?,
            ));
        }
        for uri in cert["san"]["uri"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            params.subject_alt_names.push(rcgen::SanType::URI(
                uri.try_into().map_err(|e: rcgen::Error| e.to_string())?,
            ));
        }
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let issuer = str_of(&cert["issuer"]);
        let signed = match cas
            .iter()
            .find(|(_, ca_name, _, _)| issuer.contains(ca_name.as_str()))
        {
            Some((_, _, ca_params, ca_key)) => {
                let issuer = rcgen::Issuer::from_params(ca_params, ca_key);
                params.signed_by(&key, &issuer)
            }
            None => params.self_signed(&key),
        }
        .map_err(|e| e.to_string())?;
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        items.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"namespace": ns, "name": name},
            "data": {"tls.crt": b64(signed.pem()), "tls.key": b64(key.serialize_pem())},
        }));
    }
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    Ok(list.to_string())
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Applies one mutation: a patch of fields (bumping `metadata.generation` when `spec`
/// changes, as the API server does) or a deletion. `Err` names a change the corpus could not
/// express.
pub(crate) fn apply(snapshot: &mut Snapshot, m: &Mutation) -> Result<(), String> {
    let position = snapshot.objects.iter().position(|o| {
        let meta = o.resource.metadata();
        o.resource.kind() == m.kind
            && meta.name == m.name
            && (m.namespace.is_none() || meta.namespace == m.namespace)
    });
    let Some(position) = position else {
        return Err(format!("mutation of missing {} {}", m.kind, m.name));
    };
    if m.op == "delete" {
        snapshot.objects.remove(position);
        return Ok(());
    }
    let object = snapshot
        .objects
        .get(position)
        .ok_or("mutation target vanished")?;
    let mut value = object.resource.to_value(&object.api_version);
    let mut spec_changed = false;
    for change in &m.changes {
        if change.op == "unexpressed" {
            return Err(format!(
                "the change to {} is computed from live state upstream",
                change.path
            ));
        }
        let slot = pointer(&mut value, &change.path)
            .ok_or_else(|| format!("bad mutation path {}", change.path))?;
        match change.op.as_str() {
            "set" => *slot = change.value.clone(),
            "append" => {
                if slot.is_null() {
                    *slot = Value::Array(Vec::new());
                }
                let list = slot
                    .as_array_mut()
                    .ok_or_else(|| format!("{} is not a list", change.path))?;
                list.extend(change.value.as_array().cloned().unwrap_or_default());
            }
            other => return Err(format!("unknown change op {other}")),
        }
        spec_changed |= change.path.starts_with("spec");
    }
    if spec_changed && let Some(g) = value.pointer_mut("/metadata/generation") {
        *g = Value::from(g.as_i64().unwrap_or(1) + 1);
    }
    let text = value.to_string();
    let mut options = LoadOptions::default();
    options.validate = false;
    let loaded = Snapshot::load(text.as_bytes(), &options).map_err(|e| e.to_string())?;
    let new = loaded
        .snapshot
        .objects
        .into_iter()
        .next()
        .ok_or("mutation produced no object")?;
    if let Some(slot) = snapshot.objects.get_mut(position) {
        slot.resource = new.resource;
    }
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

/// Echo Deployments that serve TLS, and the suite-created Secret whose certificate they present
/// (the corpus README: the tls-backend pods serve `tls-checks-certificate`, signed by the CA in
/// ConfigMap `tls-checks-ca-certificate`).
const TLS_BACKENDS: &[(&str, &str, &str)] = &[(
    "tls-backend",
    "gateway-conformance-infra",
    "tls-checks-certificate",
)];

/// The certificate chain the simulated backend Deployment presents, if it serves TLS.
pub(crate) fn serving_chain(
    snapshot: &Snapshot,
    deployment: &str,
) -> Option<Vec<CertificateDer<'static>>> {
    let (_, ns, name) = TLS_BACKENDS.iter().find(|(d, _, _)| *d == deployment)?;
    let secret = snapshot.resources().find_map(|r| match r {
        Resource::Secret(s)
            if s.metadata.name == *name && s.metadata.namespace.as_deref() == Some(*ns) =>
        {
            Some(s)
        }
        _ => None,
    })?;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(secret.data.get("tls.crt")?)
        .ok()?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .ok()
}
