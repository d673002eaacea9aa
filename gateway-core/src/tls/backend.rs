//! BackendTLSPolicy resolution: which policy applies to a backend, and the settings the proxy
//! connects with.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::{CertificateDer, DnsName, PrivateKeyDer, ServerName};

use super::refs;
use crate::api::{BackendTlsPolicy, Resource, Snapshot, SubjectAltNameType, WellKnownCaType};
use crate::attach::Backend;
use crate::attach::Config;

/// How the proxy connects to one backend (Service port) that a BackendTLSPolicy targets.
///
/// Built by [`BackendTls::for_backend`]; verified with `verify` or the rustls
/// `BackendVerifier` (feature `tls`).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendTls {
    /// The policy that applies, as `namespace/name`.
    pub policy: String,
    /// The SNI to send: `validation.hostname`.
    pub sni: String,
    /// The CAs the backend's chain must lead to.
    pub trust: Trust,
    /// The names the backend's certificate must carry one of: `subjectAltNames`, or the
    /// hostname when there are none.
    pub identities: Vec<Identity>,
    /// The client certificate to present: the Gateway's `tls.backend.clientCertificateRef`, when
    /// a Gateway was given and it sets one.
    pub client_certificate: Option<ClientCertificate>,
}

/// The certificate authorities a peer's chain must lead to.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The certificates of the referenced PEM bundles, in reference order.
    Bundles(Vec<CertificateDer<'static>>),
    /// `wellKnownCACertificates: System`: the bundled (or embedder-supplied) public roots.
    System,
    /// The references cannot be used; every connection must fail. Says why.
    Invalid(String),
}

/// One identity a backend certificate may prove.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A DNS name without wildcard, checked by webpki.
    Hostname(DnsName<'static>),
    /// A policy wildcard `*.<domain>`: holds `<domain>`; a certificate name matches with
    /// exactly one more label, or by being the same wildcard.
    WildcardHostname(DnsName<'static>),
    /// A URI (e.g. a SPIFFE ID), compared byte for byte.
    Uri(String),
}

/// The client certificate the Gateway presents to backends.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCertificate {
    /// The chain and key from the referenced Secret.
    Resolved(Credential),
    /// The reference is unusable; says why. Connections that would present it must not be
    /// made (`BackendTls::client_config` fails).
    Invalid(String),
}

/// A certificate chain and its private key (from a `kubernetes.io/tls` Secret).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// `tls.crt`: the end-entity certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    /// `tls.key`.
    pub key: Arc<PrivateKeyDer<'static>>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("chain", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl BackendTls {
    /// The TLS settings for connecting to a backend the router chose, or `None` when no
    /// BackendTLSPolicy targets it (the connection is plaintext). See
    /// [`BackendTls::for_service`] for the rules.
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::{attach::Config, route::Decision, tls::BackendTls};
    /// # fn f(config: &Config, decision: &Decision<'_, '_>, random: u64) {
    /// if let Some(backend) = decision.choose_backend(random) {
    ///     let tls = BackendTls::for_backend(config, backend, Some(("infra", "gateway")));
    /// }
    /// # }
    /// ```
    pub fn for_backend(
        config: &Config,
        backend: &Backend,
        gateway: Option<(&str, &str)>,
    ) -> Option<Self> {
        Self::for_service(
            config,
            &backend.namespace,
            &backend.name,
            backend.port,
            gateway,
        )
    }

    /// The TLS settings for connecting to port `port` of Service `namespace/service`, or `None`
    /// when no BackendTLSPolicy targets it (the connection is plaintext).
    ///
    /// A policy applies when a targetRef names the Service (group `""`, kind `Service`) in the
    /// policy's namespace, without `sectionName` or with the name of the Service port.
    /// Several policies: one naming the port by `sectionName` wins over one that targets the
    /// whole Service; then BackendTLSPolicy: "The older policy by creation timestamp takes
    /// precedence ... The policy appearing first in alphabetical order by {name}" (the others
    /// are reported `Conflicted`). `gateway` (`namespace`, `name`) is the Gateway whose
    /// `tls.backend.clientCertificateRef` supplies the client certificate; a reference to
    /// another namespace needs a ReferenceGrant.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::api::{LoadOptions, Snapshot};
    /// use gateway_core::attach::{AttachOptions, Config};
    /// use gateway_core::tls::{BackendTls, Trust};
    ///
    /// let yaml = r#"
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: auth, namespace: app}
    /// spec: {ports: [{name: https, port: 443}, {name: http, port: 80}]}
    /// ---
    /// apiVersion: gateway.networking.k8s.io/v1
    /// kind: BackendTLSPolicy
    /// metadata: {name: auth-tls, namespace: app}
    /// spec:
    ///   targetRefs: [{group: "", kind: Service, name: auth, sectionName: https}]
    ///   validation: {wellKnownCACertificates: System, hostname: auth.example.com}
    /// "#;
    /// let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).unwrap();
    /// let config = Config::new(loaded.snapshot, AttachOptions::default());
    /// let tls = BackendTls::for_service(&config, "app", "auth", 443, None).unwrap();
    /// assert_eq!(tls.sni, "auth.example.com");
    /// assert_eq!(tls.trust, Trust::System);
    /// assert!(BackendTls::for_service(&config, "app", "auth", 80, None).is_none());
    /// ```
    pub fn for_service(
        config: &Config,
        namespace: &str,
        service: &str,
        port: u16,
        gateway: Option<(&str, &str)>,
    ) -> Option<Self> {
        let snapshot = config.snapshot();
        let policy = applicable_policy(snapshot, namespace, service, port)?;
        let policy_ns = policy.metadata.namespace_or_default();
        let validation = &policy.spec.validation;
        let mut trust = resolve_trust(snapshot, policy_ns, policy);
        let identities = match identities(policy) {
            Ok(ids) => ids,
            Err(why) => {
                trust = Trust::Invalid(why);
                Vec::new()
            }
        };
        let client_certificate =
            gateway.and_then(|(ns, name)| gateway_client_certificate(snapshot, ns, name));
        Some(Self {
            policy: format!("{policy_ns}/{}", policy.metadata.name),
            sni: validation.hostname.clone(),
            trust,
            identities,
            client_certificate,
        })
    }

    /// The server name to open the connection with (`rustls::ClientConnection::new`), or
    /// `None` when the hostname is not a DNS name (the trust is then
    /// [`Trust::Invalid`] too).
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::tls::BackendTls;
    /// # fn f(tls: &BackendTls) {
    /// let name = tls.server_name();
    /// # }
    /// ```
    pub fn server_name(&self) -> Option<ServerName<'static>> {
        ServerName::try_from(self.sni.clone()).ok()
    }
}

/// The `(namespace, Service)` pairs that some BackendTLSPolicy targets: the router builder
/// asks [`BackendTls::for_service`] (a scan of the snapshot) only for these, which keeps
/// building linear in the number of backends.
pub(crate) fn targeted_services(snapshot: &Snapshot) -> std::collections::HashSet<(&str, &str)> {
    snapshot
        .resources()
        .filter_map(|r| match r {
            Resource::BackendTlsPolicy(p) => Some(p),
            _ => None,
        })
        .flat_map(|p| {
            let namespace = p.metadata.namespace_or_default();
            p.spec
                .target_refs
                .iter()
                .filter(|t| t.group.is_empty() && t.kind == "Service")
                .map(move |t| (namespace, t.name.as_str()))
        })
        .collect()
}

/// Smaller wins: not by sectionName, creation timestamp, name, input order.
type PolicyRank<'s> = (bool, &'s str, &'s str, usize);

/// The policy that applies to a Service port: by sectionName first, then the oldest.
fn applicable_policy<'s>(
    snapshot: &'s Snapshot,
    namespace: &str,
    service: &str,
    port: u16,
) -> Option<&'s BackendTlsPolicy> {
    let port_name = service_port_name(snapshot, namespace, service, port);
    let mut best: Option<(PolicyRank<'_>, &BackendTlsPolicy)> = None;
    for (index, object) in snapshot.objects.iter().enumerate() {
        let Resource::BackendTlsPolicy(policy) = &object.resource else {
            continue;
        };
        if policy.metadata.namespace_or_default() != namespace {
            continue;
        }
        // The most specific targetRef of this policy that covers the port.
        let mut covers: Option<bool> = None;
        for target in &policy.spec.target_refs {
            if !(target.group.is_empty() && target.kind == "Service" && target.name == service) {
                continue;
            }
            match target.section_name.as_deref() {
                None | Some("") => covers = Some(covers.unwrap_or(false)),
                Some(section) if Some(section) == port_name => covers = Some(true),
                Some(_) => {}
            }
        }
        let Some(by_section) = covers else {
            continue;
        };
        // Smaller key wins: sectionName first, then creation time, then name, then input order.
        let key = (
            !by_section,
            policy.metadata.creation_timestamp.as_deref().unwrap_or(""),
            policy.metadata.name.as_str(),
            index,
        );
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, policy));
        }
    }
    best.map(|(_, policy)| policy)
}

fn service_port_name<'s>(
    snapshot: &'s Snapshot,
    namespace: &str,
    service: &str,
    port: u16,
) -> Option<&'s str> {
    snapshot.resources().find_map(|r| match r {
        Resource::Service(s)
            if s.metadata.name == service && s.metadata.namespace_or_default() == namespace =>
        {
            s.spec
                .ports
                .iter()
                .find(|p| i32::from(port) == p.port)
                .and_then(|p| p.name.as_deref())
        }
        _ => None,
    })
}

/// BackendTLSPolicy `validation`: exactly one of `caCertificateRefs` (every one usable) and
/// `wellKnownCACertificates: System`.
fn resolve_trust(snapshot: &Snapshot, namespace: &str, policy: &BackendTlsPolicy) -> Trust {
    let validation = &policy.spec.validation;
    let refs = &validation.ca_certificate_refs;
    match (&validation.well_known_ca_certificates, refs.is_empty()) {
        (Some(_), false) => {
            Trust::Invalid("both caCertificateRefs and wellKnownCACertificates are set".to_owned())
        }
        (None, true) => Trust::Invalid(
            "neither caCertificateRefs nor wellKnownCACertificates is set".to_owned(),
        ),
        (Some(WellKnownCaType::System), true) => Trust::System,
        (Some(other), true) => Trust::Invalid(format!(
            "wellKnownCACertificates {other:?} is not supported",
            other = other.as_str()
        )),
        (None, false) => {
            let mut certs = Vec::new();
            for (i, r) in refs.iter().enumerate() {
                if !refs::ca_kind_supported(&r.group, &r.kind) {
                    return Trust::Invalid(format!(
                        "caCertificateRefs[{i}]: kind {:?} of group {:?} is not supported",
                        r.kind, r.group
                    ));
                }
                match refs::ca_bundle(snapshot, namespace, &r.kind, &r.name) {
                    Ok(bundle) => certs.extend(bundle),
                    Err(why) => return Trust::Invalid(format!("caCertificateRefs[{i}]: {why}")),
                }
            }
            Trust::Bundles(certs)
        }
    }
}

/// `subjectAltNames`, or the hostname when there are none.
fn identities(policy: &BackendTlsPolicy) -> Result<Vec<Identity>, String> {
    let validation = &policy.spec.validation;
    if validation.subject_alt_names.is_empty() {
        let name = dns_name(&validation.hostname)
            .ok_or_else(|| format!("hostname {:?} is not a DNS name", validation.hostname))?;
        return Ok(vec![Identity::Hostname(name)]);
    }
    let mut out = Vec::with_capacity(validation.subject_alt_names.len());
    for (i, san) in validation.subject_alt_names.iter().enumerate() {
        let identity = match (&san.type_, &san.hostname, &san.uri) {
            (SubjectAltNameType::Hostname, Some(hostname), _) => hostname_identity(hostname),
            (SubjectAltNameType::Uri, _, Some(uri)) => uri_identity(uri),
            _ => None,
        };
        out.push(
            identity.ok_or_else(|| {
                format!("subjectAltNames[{i}] is not a usable Hostname or URI name")
            })?,
        );
    }
    Ok(out)
}

fn hostname_identity(hostname: &str) -> Option<Identity> {
    match hostname.strip_prefix("*.") {
        // RFC 6125 §7.2: no wildcard directly left of a public suffix; we ask for two labels.
        Some(parent) if parent.contains('.') => dns_name(parent).map(Identity::WildcardHostname),
        Some(_) => None,
        None => dns_name(hostname).map(Identity::Hostname),
    }
}

/// An absolute URI (`scheme:rest`, RFC 3986 §4.3), kept verbatim.
fn uri_identity(uri: &str) -> Option<Identity> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (scheme_ok && !rest.is_empty()).then(|| Identity::Uri(uri.to_owned()))
}

fn dns_name(name: &str) -> Option<DnsName<'static>> {
    if name.is_empty() || name.contains('*') {
        return None;
    }
    DnsName::try_from(name.to_ascii_lowercase()).ok()
}

/// The Gateway's `tls.backend.clientCertificateRef`, resolved.
fn gateway_client_certificate(
    snapshot: &Snapshot,
    namespace: &str,
    name: &str,
) -> Option<ClientCertificate> {
    let reference = snapshot
        .gateway(namespace, name)?
        .backend_client_certificate_ref()?;
    if !(reference.group.is_empty() && reference.kind == "Secret") {
        return Some(ClientCertificate::Invalid(format!(
            "clientCertificateRef kind {:?} of group {:?} is not supported",
            reference.kind, reference.group
        )));
    }
    let target_ns = reference.namespace.as_deref().unwrap_or(namespace);
    if !refs::gateway_may_refer(snapshot, namespace, "Secret", target_ns, &reference.name) {
        return Some(ClientCertificate::Invalid(format!(
            "no ReferenceGrant allows Gateway {namespace}/{name} to use Secret {target_ns}/{}",
            reference.name
        )));
    }
    Some(
        match refs::credential(snapshot, target_ns, &reference.name) {
            Ok(credential) => ClientCertificate::Resolved(credential),
            Err(why) => ClientCertificate::Invalid(why),
        },
    )
}
