//! Frontend TLS of a Gateway: per port, the listener certificates (chosen by SNI) and the
//! client-certificate validation (Gateway `spec.tls.frontend`, GEP-91).

use crate::api::{
    FrontendTlsValidation, FrontendValidationMode, GATEWAY_GROUP, Gateway, Listener, TlsModeType,
    X_GATEWAY_GROUP,
};
use crate::attach::{Config, Protocol, host_matches};

use super::backend::{Credential, Trust};
use super::coalesce::ConnectionInfo;
use super::refs;
use super::verdict::Reason;

/// The TLS a Gateway terminates, port by port.
///
/// # Examples
/// ```
/// use gateway_core::api::{LoadOptions, Snapshot};
/// use gateway_core::attach::{AttachOptions, Config};
/// use gateway_core::tls::{FrontendTls, ServerCertificate, ValidationMode};
///
/// let yaml = r#"
/// apiVersion: gateway.networking.k8s.io/v1
/// kind: GatewayClass
/// metadata: {name: gw}
/// spec: {controllerName: gateway.example.dev/gateway-core}
/// ---
/// apiVersion: gateway.networking.k8s.io/v1
/// kind: Gateway
/// metadata: {name: edge, namespace: infra}
/// spec:
///   gatewayClassName: gw
///   tls:
///     frontend:
///       default:
///         validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: client-ca}]}
///   listeners:
///   - {name: web, port: 443, protocol: HTTPS, hostname: "*.example.com",
///      tls: {certificateRefs: [{name: web-cert}]}}
/// "#;
/// let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).unwrap();
/// let config = Config::new(loaded.snapshot, AttachOptions::default());
/// let frontend = FrontendTls::for_gateway(&config, "infra", "edge").unwrap();
/// let port = frontend.port(443).unwrap();
/// // The ConfigMap and the Secret are missing: validation and certificate fail closed.
/// assert_eq!(port.validation.as_ref().unwrap().mode, ValidationMode::AllowValidOnly);
/// assert!(matches!(port.listeners[0].certificate, ServerCertificate::Invalid(_)));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct FrontendTls {
    /// The Gateway's namespace.
    pub namespace: String,
    /// The Gateway's name.
    pub name: String,
    /// Every port with a listener that terminates TLS, in order of first listener.
    pub ports: Vec<PortTls>,
}

/// One port that terminates TLS: its listeners and its client validation.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct PortTls {
    /// The port.
    pub port: u16,
    /// Client-certificate validation; `None` when the port asks for no client certificate.
    pub validation: Option<ClientValidation>,
    /// The listeners that terminate TLS on this port (HTTPS, and TLS in `Terminate` mode), in
    /// Gateway order.
    pub listeners: Vec<ListenerTls>,
}

/// A listener terminating TLS, with the certificate it serves.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ListenerTls {
    /// The listener's name.
    pub name: String,
    /// Its hostname (exact or `*.` wildcard); `None` matches every SNI.
    pub hostname: Option<String>,
    /// The certificate served to clients whose SNI selects this listener.
    pub certificate: ServerCertificate,
}

/// A listener's server certificate.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum ServerCertificate {
    /// The chain and key of the first `certificateRefs` entry.
    Resolved(Credential),
    /// Unusable (says why): handshakes selecting this listener are aborted, never served
    /// with another listener's certificate.
    Invalid(String),
}

/// How a port validates client certificates.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientValidation {
    /// `AllowValidOnly` or `AllowInsecureFallback`.
    pub mode: ValidationMode,
    /// The CAs client chains must lead to: the usable `caCertificateRefs`, or
    /// [`Trust::Invalid`] when none is usable (then no client validates).
    pub trust: Trust,
    /// The references that could not be used, with why (reported; the others still apply).
    pub invalid_refs: Vec<String>,
}

/// GEP-91 `FrontendValidationMode`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValidationMode {
    /// Only clients with a valid certificate complete the handshake.
    AllowValidOnly,
    /// Every client completes the handshake; those without a valid certificate are
    /// [`ClientAuth::Unverified`].
    AllowInsecureFallback,
}

/// What a connection's client certificate proved.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// The port does not ask for client certificates.
    NotRequested,
    /// The client presented a certificate that chains to the port's CAs.
    Verified,
    /// Admitted by `AllowInsecureFallback` without a valid certificate; says why.
    Unverified(Reason),
}

impl ClientAuth {
    /// The stable lower-case name of the state (the JSON interface's `client_auth`):
    /// `not_requested`, `verified` or `unverified`.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::tls::{ClientAuth, Reason};
    /// assert_eq!(ClientAuth::Unverified(Reason::Expired).as_str(), "unverified");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotRequested => "not_requested",
            Self::Verified => "verified",
            Self::Unverified(_) => "unverified",
        }
    }
}

impl ValidationMode {
    /// The GEP-91 name of the mode: `AllowValidOnly` or `AllowInsecureFallback`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AllowValidOnly => "AllowValidOnly",
            Self::AllowInsecureFallback => "AllowInsecureFallback",
        }
    }
}

impl FrontendTls {
    /// The frontend TLS of Gateway `namespace/name`, or `None` when it is not one of ours.
    ///
    /// Ports: every port with an HTTPS listener or a TLS listener in `Terminate` mode. Client
    /// validation: the `perPort` entry for the port, else `default` (Gateway API
    /// `FrontendTLSConfig`: "Once set this configuration overrides the default configuration
    /// for all Listeners handling HTTPS traffic that match this port"). It applies to every
    /// listener terminating TLS on the port, since one port is one TLS configuration. CA
    /// references name ConfigMaps (Core) or Secrets with `ca.crt`; a reference to another
    /// namespace needs a ReferenceGrant. Listener certificates: the first `certificateRefs`
    /// Secret, under the same ReferenceGrant rule; a listener attachment does not serve is
    /// given [`ServerCertificate::Invalid`].
    ///
    /// # Examples
    /// See [`FrontendTls`].
    pub fn for_gateway(config: &Config, namespace: &str, name: &str) -> Option<Self> {
        let state = config.gateways.iter().find(|g| {
            g.id.namespace.as_deref().unwrap_or("default") == namespace && g.id.name == name
        })?;
        let snapshot = config.snapshot();
        let gateway = snapshot.gateway(namespace, name)?;
        let mut ports: Vec<PortTls> = Vec::new();
        // The merged list: the Gateway's listeners, then its XListenerSets'.
        for listener in &state.listeners {
            let spec = &listener.spec;
            if !terminates_tls(listener.protocol, spec) {
                continue;
            }
            let certificate = if listener.serving {
                let owner = if listener.set.is_some() {
                    (X_GATEWAY_GROUP, "XListenerSet", listener.namespace.as_str())
                } else {
                    (GATEWAY_GROUP, "Gateway", namespace)
                };
                listener_certificate(config, owner, spec)
            } else {
                ServerCertificate::Invalid(format!("listener {} is not programmed", spec.name))
            };
            let entry = ListenerTls {
                name: listener.name.clone(),
                hostname: listener.hostname.as_ref().map(|h| h.to_ascii_lowercase()),
                certificate,
            };
            match ports.iter_mut().find(|p| p.port == listener.port) {
                Some(port) => port.listeners.push(entry),
                None => ports.push(PortTls {
                    port: listener.port,
                    validation: port_validation(config, gateway, namespace, listener.port),
                    listeners: vec![entry],
                }),
            }
        }
        Some(Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            ports,
        })
    }

    /// A Gateway that terminates TLS on no port.
    pub(crate) fn without_ports(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            ports: Vec::new(),
        }
    }

    /// The port's settings, if it terminates TLS.
    ///
    /// # Examples
    /// See [`FrontendTls`].
    pub fn port(&self, port: u16) -> Option<&PortTls> {
        self.ports.iter().find(|p| p.port == port)
    }
}

impl PortTls {
    /// The listener a TLS server name selects: Gateway API Listener `tls`: "The GatewayClass
    /// MUST use the longest matching SNI out of all available certificates for any TLS
    /// handshake": the exact hostname, then the longest matching wildcard, then a listener
    /// without hostname. Without SNI, only a listener without hostname. The server name is
    /// compared without ASCII case and without one trailing dot.
    ///
    /// This is listener selection by Gateway API hostname rules, not certificate name
    /// checking.
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::tls::PortTls;
    /// # fn f(port: &PortTls) {
    /// let chosen = port.listener_for_sni(Some("foo.example.com")).map(|l| l.name.as_str());
    /// # }
    /// ```
    pub fn listener_for_sni(&self, sni: Option<&str>) -> Option<&ListenerTls> {
        let Some(sni) = sni.filter(|s| !s.is_empty()) else {
            return self.listeners.iter().find(|l| l.hostname.is_none());
        };
        let sni = sni.strip_suffix('.').unwrap_or(sni).to_ascii_lowercase();
        self.listener_for_host(&sni)
    }

    /// The listener for a canonical (lower-case, no trailing dot) host name.
    pub(crate) fn listener_for_host(&self, host: &str) -> Option<&ListenerTls> {
        if let Some(exact) = self.listeners.iter().find(|l| {
            l.hostname
                .as_deref()
                .is_some_and(|h| !h.starts_with("*.") && h == host)
        }) {
            return Some(exact);
        }
        self.listeners
            .iter()
            .filter(|l| {
                l.hostname
                    .as_deref()
                    .is_some_and(|h| h.starts_with("*.") && host_matches(h, host))
            })
            .max_by_key(|l| l.hostname.as_deref().map_or(0, str::len))
            .or_else(|| self.listeners.iter().find(|l| l.hostname.is_none()))
    }

    /// What the coalescing guard needs to know about a connection accepted on this port:
    /// the listener its SNI selected and its client-certificate state.
    ///
    /// # Examples
    /// ```
    /// # use gateway_core::tls::{ClientAuth, PortTls};
    /// # fn f(port: &PortTls) {
    /// let connection = port.connection(Some("bar.example.com"), ClientAuth::NotRequested);
    /// # }
    /// ```
    pub fn connection<'a>(
        &'a self,
        sni: Option<&'a str>,
        client_auth: ClientAuth,
    ) -> ConnectionInfo<'a> {
        ConnectionInfo {
            port: self.port,
            sni,
            listener: self.listener_for_sni(sni).map(|l| l.name.as_str()),
            client_auth,
        }
    }
}

/// HTTPS listeners, and TLS listeners in `Terminate` mode.
fn terminates_tls(protocol: Option<Protocol>, spec: &Listener) -> bool {
    match protocol {
        Some(Protocol::Https) => true,
        Some(Protocol::Tls) => spec
            .tls
            .as_ref()
            .is_some_and(|t| t.mode == TlsModeType::Terminate),
        _ => false,
    }
}

/// The listener's certificate, resolved from the namespace and as the kind of the resource that
/// declares it (`owner`: group, kind, namespace).
fn listener_certificate(
    config: &Config,
    owner: (&str, &str, &str),
    spec: &Listener,
) -> ServerCertificate {
    let (_, owner_kind, owner_namespace) = owner;
    let Some(reference) = spec.tls.as_ref().and_then(|t| t.certificate_refs.first()) else {
        return ServerCertificate::Invalid(format!(
            "listener {} has no certificateRefs",
            spec.name
        ));
    };
    if !(reference.group.is_empty() && reference.kind == "Secret") {
        return ServerCertificate::Invalid(format!(
            "certificateRef kind {:?} of group {:?} is not supported",
            reference.kind, reference.group
        ));
    }
    let snapshot = config.snapshot();
    let target_ns = reference.namespace.as_deref().unwrap_or(owner_namespace);
    if !refs::may_refer(snapshot, owner, "Secret", target_ns, &reference.name) {
        return ServerCertificate::Invalid(format!(
            "no ReferenceGrant allows the {owner_kind} to use Secret {target_ns}/{}",
            reference.name
        ));
    }
    match refs::credential(snapshot, target_ns, &reference.name) {
        Ok(credential) => ServerCertificate::Resolved(credential),
        Err(why) => ServerCertificate::Invalid(why),
    }
}

/// `perPort` for this port, else `default`.
fn port_validation(
    config: &Config,
    gateway: &Gateway,
    gw_namespace: &str,
    port: u16,
) -> Option<ClientValidation> {
    let frontend = gateway.spec.tls.as_ref()?.frontend.as_ref()?;
    let tls = frontend
        .per_port
        .iter()
        .find(|p| p.port == i32::from(port))
        .map(|p| &p.tls)
        .or(frontend.default.as_ref())?;
    let validation = tls.validation.as_ref()?;
    Some(client_validation(config, gw_namespace, validation))
}

fn client_validation(
    config: &Config,
    gw_namespace: &str,
    validation: &FrontendTlsValidation,
) -> ClientValidation {
    let snapshot = config.snapshot();
    let mut certs = Vec::new();
    let mut invalid_refs = Vec::new();
    for (i, r) in validation.ca_certificate_refs.iter().enumerate() {
        let target_ns = r.namespace.as_deref().unwrap_or(gw_namespace);
        let problem = if !refs::ca_kind_supported(&r.group, &r.kind) {
            Some(format!(
                "kind {:?} of group {:?} is not supported",
                r.kind, r.group
            ))
        } else if !refs::gateway_may_refer(snapshot, gw_namespace, &r.kind, target_ns, &r.name) {
            Some(format!(
                "no ReferenceGrant allows the Gateway to use {} {target_ns}/{}",
                r.kind, r.name
            ))
        } else {
            match refs::ca_bundle(snapshot, target_ns, &r.kind, &r.name) {
                Ok(bundle) => {
                    certs.extend(bundle);
                    None
                }
                Err(why) => Some(why),
            }
        };
        if let Some(problem) = problem {
            invalid_refs.push(format!("caCertificateRefs[{i}]: {problem}"));
        }
    }
    let (mode, mode_problem) = match &validation.mode {
        FrontendValidationMode::AllowValidOnly => (ValidationMode::AllowValidOnly, None),
        FrontendValidationMode::AllowInsecureFallback => {
            (ValidationMode::AllowInsecureFallback, None)
        }
        // An unknown mode is treated as the strictest, with no usable CA: nobody validates.
        other => (
            ValidationMode::AllowValidOnly,
            Some(format!("mode {:?} is not supported", other.as_str())),
        ),
    };
    let trust = match mode_problem {
        Some(problem) => Trust::Invalid(problem),
        None if certs.is_empty() => Trust::Invalid(if invalid_refs.is_empty() {
            "no caCertificateRefs".to_owned()
        } else {
            invalid_refs.join("; ")
        }),
        None => Trust::Bundles(certs),
    };
    ClientValidation {
        mode,
        trust,
        invalid_refs,
    }
}
