//! Backend certificate verification with arbitrary DER chains never panics and never accepts
//! garbage.
#![no_main]

use std::sync::OnceLock;

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::tls::{BackendTls, verify};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::{CertificateDer, UnixTime};

const POLICY: &str = "apiVersion: v1
kind: Service
metadata: {name: s, namespace: default}
spec: {ports: [{name: https, port: 443}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p, namespace: default}
spec:
  targetRefs: [{group: '', kind: Service, name: s}]
  validation:
    caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}]
    hostname: backend.example.com
";

/// A fresh CA (its key is dropped: no input can be signed by it) in a ConfigMap.
fn ca_config_map() -> Option<String> {
    let key = rcgen::KeyPair::generate().ok()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).ok()?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).ok()?.pem();
    let indented: String = pem.lines().map(|l| format!("    {l}\n")).collect();
    Some(format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ca, namespace: default}}\ndata:\n  ca.crt: |\n{indented}"
    ))
}

fn settings() -> &'static Option<BackendTls> {
    static SETTINGS: OnceLock<Option<BackendTls>> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let mut options = LoadOptions::default();
        options.validate = false;
        let text = format!("{POLICY}{}", ca_config_map()?);
        let snapshot = Snapshot::load(text.as_bytes(), &options).ok()?.snapshot;
        let config = Config::new(snapshot, AttachOptions::default());
        BackendTls::for_service(&config, "default", "s", 443, None)
    })
}

fuzz_target!(|chain: Vec<Vec<u8>>| {
    let Some(settings) = settings() else {
        panic!("the fuzz policy must resolve")
    };
    assert!(
        matches!(settings.trust, gateway_core::tls::Trust::Bundles(_)),
        "the CA must load"
    );
    let chain: Vec<CertificateDer<'_>> = chain
        .iter()
        .take(8)
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    // No fuzzer-made chain can lead to the CA above: its key is not known to anyone.
    let verdict = verify(
        settings,
        &chain,
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)),
    );
    assert!(!verdict.is_valid());
});
