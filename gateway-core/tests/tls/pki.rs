//! Test PKI made with rcgen, and manifests that carry its PEM. Shared by the TLS unit tests
//! (`src/tls/tests.rs`) and the TLS integration tests (`tests/tls.rs`).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, date_time_ymd,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

/// "Now" in every test: 2030-01-01T00:00:00Z.
pub fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000))
}

/// A certificate authority that can sign.
pub struct Ca {
    pub cert: CertificateDer<'static>,
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// An end-entity certificate with its key.
pub struct Leaf {
    pub cert: CertificateDer<'static>,
    pub pem: String,
    pub key_pem: String,
    pub key: PrivateKeyDer<'static>,
}

/// What an end-entity certificate carries.
pub struct LeafSpec<'a> {
    pub dns: &'a [&'a str],
    pub uris: &'a [&'a str],
    /// (year, month, day) of notBefore and notAfter.
    pub valid: ((i32, u8, u8), (i32, u8, u8)),
    pub eku: &'a [ExtendedKeyUsagePurpose],
}

impl Default for LeafSpec<'_> {
    fn default() -> Self {
        Self {
            dns: &[],
            uris: &[],
            valid: ((2020, 1, 1), (2040, 1, 1)),
            eku: &[],
        }
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2040, 1, 1);
    params
}

impl Ca {
    /// A self-signed root named `cn`.
    pub fn root(cn: &str) -> Self {
        let params = ca_params(cn);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// An intermediate CA named `cn`, signed by this one.
    pub fn intermediate(&self, cn: &str) -> Self {
        let params = ca_params(cn);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Self {
            cert: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// An end-entity certificate signed by this CA.
    pub fn leaf(&self, spec: &LeafSpec<'_>) -> Leaf {
        let mut params =
            CertificateParams::new(spec.dns.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        for uri in spec.uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().unwrap()));
        }
        let ((y0, m0, d0), (y1, m1, d1)) = spec.valid;
        params.not_before = date_time_ymd(y0, m0, d0);
        params.not_after = date_time_ymd(y1, m1, d1);
        params.extended_key_usages = spec.eku.to_vec();
        params.distinguished_name.push(DnType::CommonName, "leaf");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.der().clone(),
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// A leaf for DNS names, valid 2020–2040, no EKU.
    pub fn leaf_for(&self, dns: &[&str]) -> Leaf {
        self.leaf(&LeafSpec {
            dns,
            ..LeafSpec::default()
        })
    }
}

impl Leaf {
    /// The key as rustls wants it.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// A ConfigMap with `ca.crt` set to `pem` (verbatim).
pub fn config_map(ns: &str, name: &str, pem: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\ndata:\n  ca.crt: |\n{}---\n",
        indent(pem, 4)
    )
}

/// A `kubernetes.io/tls` Secret with the leaf's chain (plus `extra` PEM certificates) and key,
/// in `data` (base64) as the API server stores it.
pub fn tls_secret(ns: &str, name: &str, leaf: &Leaf, extra: &[&str]) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut chain = leaf.pem.clone();
    for pem in extra {
        chain.push_str(pem);
    }
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n---\n",
        b64(&chain),
        b64(&leaf.key_pem)
    )
}

/// A Service with named ports `(name, port)`.
pub fn service(ns: &str, name: &str, ports: &[(&str, u16)]) -> String {
    let ports = ports
        .iter()
        .map(|(n, p)| format!("{{name: {n}, port: {p}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{ports: [{ports}]}}\n---\n"
    )
}

/// The GatewayClass of our controller, named `gw`.
pub fn gateway_class() -> String {
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gw}\nspec: {controllerName: gateway.example.dev/gateway-core}\n---\n".to_owned()
}
