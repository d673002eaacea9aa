//! TLS through the public API, in real rustls handshakes over in-memory buffers: backend
//! verification (BackendTLSPolicy), client certificates per port (GEP-91), no session
//! resumption across ports (nginx CVE-2025-23419), and the coalescing guard (GEP-3567).

#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "tls/pki.rs"]
mod pki;

use std::sync::Arc;

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::attach::{AttachOptions, Config};
use gateway_core::tls::{
    BackendTls, ClientAuth, Coalescing, FrontendTls, PortTls, Reason, SystemRoots, TlsError,
    coalescing_check,
};
use rcgen::ExtendedKeyUsagePurpose;
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::time_provider::TimeProvider;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, HandshakeKind, RootCertStore, ServerConfig,
    ServerConnection,
};

use pki::{Ca, Leaf, LeafSpec, config_map, gateway_class, service, tls_secret};

// === harness ===

/// The fixed clock of every handshake: 2030-01-01.
#[derive(Debug)]
struct FixedTime;

impl TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(pki::now())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn time() -> Arc<dyn TimeProvider> {
    Arc::new(FixedTime)
}

fn config(yaml: &str) -> Config {
    let loaded = Snapshot::load(yaml.as_bytes(), &LoadOptions::default()).unwrap();
    Config::new(loaded.snapshot, AttachOptions::default())
}

/// Which side refused the handshake.
#[derive(Debug, PartialEq)]
enum Failed {
    Client(rustls::Error),
    Server(rustls::Error),
}

/// Moves TLS records between the two ends until neither has anything to send.
fn handshake(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), Failed> {
    loop {
        let mut moved = false;
        while client.wants_write() {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                server.read_tls(&mut rd).unwrap();
            }
            server.process_new_packets().map_err(Failed::Server)?;
            moved = true;
        }
        while server.wants_write() {
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
            }
            client.process_new_packets().map_err(Failed::Client)?;
            moved = true;
        }
        if !moved {
            assert!(
                !client.is_handshaking() && !server.is_handshaking(),
                "stalled"
            );
            return Ok(());
        }
    }
}

fn connect(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    sni: &str,
) -> (Result<(), Failed>, ServerConnection) {
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    let mut c = ClientConnection::new(Arc::clone(client), name).unwrap();
    let mut s = ServerConnection::new(Arc::clone(server)).unwrap();
    (handshake(&mut c, &mut s), s)
}

/// A plain server presenting `leaf` (+ `chain`), optionally requiring client certificates of
/// `client_ca`.
fn backend_server(leaf: &Leaf, chain: &[&Ca], client_ca: Option<&Ca>) -> Arc<ServerConfig> {
    let builder = ServerConfig::builder_with_details(provider(), time())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add(ca.cert.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                roots.into(),
                provider(),
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut certs = vec![leaf.cert.clone()];
    certs.extend(chain.iter().map(|c| c.cert.clone()));
    Arc::new(builder.with_single_cert(certs, leaf.key()).unwrap())
}

/// A client trusting `ca` for the Gateway's listeners, with an optional client certificate.
fn gateway_client(ca: &Ca, client_cert: Option<&Leaf>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.clone()).unwrap();
    let builder = ClientConfig::builder_with_details(provider(), time())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client_cert {
        None => builder.with_no_client_auth(),
        Some(leaf) => builder
            .with_client_auth_cert(vec![leaf.cert.clone()], leaf.key())
            .unwrap(),
    };
    config.resumption = Resumption::in_memory_sessions(16);
    Arc::new(config)
}

// === backend TLS ===

fn backend_yaml(validation: &str, objects: &str) -> String {
    format!(
        "{}{objects}apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n\
         metadata: {{name: api-tls, namespace: app}}\nspec:\n  \
         targetRefs: [{{group: \"\", kind: Service, name: api, sectionName: https}}]\n  \
         validation: {validation}\n---\n",
        service("app", "api", &[("https", 443)])
    )
}

fn backend_settings(yaml: &str) -> BackendTls {
    BackendTls::for_service(&config(yaml), "app", "api", 443, Some(("infra", "edge"))).unwrap()
}

/// Connects as the Gateway would, with the settings' own client configuration and SNI.
fn connect_backend(tls: &BackendTls, server: &Arc<ServerConfig>) -> Result<(), Failed> {
    let client = tls
        .client_config(provider(), time(), &SystemRoots::bundled())
        .unwrap();
    let mut c = ClientConnection::new(Arc::new(client), tls.server_name().unwrap()).unwrap();
    let mut s = ServerConnection::new(Arc::clone(server)).unwrap();
    handshake(&mut c, &mut s)
}

fn refused(reason: CertificateError) -> Result<(), Failed> {
    Err(Failed::Client(rustls::Error::InvalidCertificate(reason)))
}

#[test]
fn backend_handshake_accepts_a_chain_through_an_intermediate() {
    let root = Ca::root("backend root");
    let inter = root.intermediate("backend intermediate");
    let leaf = inter.leaf_for(&["api.example.com"]);
    let yaml = backend_yaml(
        "{caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}], hostname: api.example.com}",
        &config_map("app", "ca", &root.pem),
    );
    let tls = backend_settings(&yaml);
    assert_eq!(tls.sni, "api.example.com");
    assert_eq!(
        connect_backend(&tls, &backend_server(&leaf, &[&inter], None)),
        Ok(())
    );
    // Without the intermediate, the chain leads nowhere.
    assert_eq!(
        connect_backend(&tls, &backend_server(&leaf, &[], None)),
        refused(CertificateError::UnknownIssuer)
    );
}

#[test]
fn backend_handshake_refuses_wrong_ca_expired_and_wrong_name() {
    let (root, other) = (Ca::root("backend root"), Ca::root("other root"));
    let yaml = backend_yaml(
        "{caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}], hostname: api.example.com}",
        &config_map("app", "ca", &root.pem),
    );
    let tls = backend_settings(&yaml);
    let wrong_ca = other.leaf_for(&["api.example.com"]);
    assert_eq!(
        connect_backend(&tls, &backend_server(&wrong_ca, &[], None)),
        refused(CertificateError::UnknownIssuer)
    );
    let expired = root.leaf(&LeafSpec {
        dns: &["api.example.com"],
        valid: ((2020, 1, 1), (2025, 1, 1)),
        ..LeafSpec::default()
    });
    assert_eq!(
        connect_backend(&tls, &backend_server(&expired, &[], None)),
        refused(CertificateError::Expired)
    );
    let wrong_name = root.leaf_for(&["web.example.com"]);
    assert_eq!(
        connect_backend(&tls, &backend_server(&wrong_name, &[], None)),
        refused(CertificateError::NotValidForName)
    );
}

#[test]
fn backend_handshake_checks_uri_sans_and_ignores_the_hostname_then() {
    let root = Ca::root("mesh root");
    let yaml = backend_yaml(
        "{caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}], hostname: api.example.com, \
         subjectAltNames: [{type: URI, uri: \"spiffe://cluster.local/ns/app/sa/api\"}]}",
        &config_map("app", "ca", &root.pem),
    );
    let tls = backend_settings(&yaml);
    let spiffe = root.leaf(&LeafSpec {
        uris: &["spiffe://cluster.local/ns/app/sa/api"],
        ..LeafSpec::default()
    });
    assert_eq!(
        connect_backend(&tls, &backend_server(&spiffe, &[], None)),
        Ok(())
    );
    let hostname_only = root.leaf_for(&["api.example.com"]);
    assert_eq!(
        connect_backend(&tls, &backend_server(&hostname_only, &[], None)),
        refused(CertificateError::NotValidForName)
    );
}

#[test]
fn backend_handshake_fails_closed_on_malformed_ca_pem() {
    let root = Ca::root("backend root");
    let garbage = "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n";
    let yaml = backend_yaml(
        "{caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}], hostname: api.example.com}",
        &config_map("app", "ca", garbage),
    );
    let tls = backend_settings(&yaml);
    let leaf = root.leaf_for(&["api.example.com"]);
    match connect_backend(&tls, &backend_server(&leaf, &[], None)) {
        Err(Failed::Client(rustls::Error::InvalidCertificate(CertificateError::Other(e)))) => {
            assert!(e.to_string().contains("not valid PEM"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn backend_handshake_presents_the_gateways_client_certificate() {
    let (root, client_ca) = (Ca::root("backend root"), Ca::root("gateway clients"));
    let server_leaf = root.leaf_for(&["api.example.com"]);
    let gateway_leaf = client_ca.leaf(&LeafSpec {
        eku: &[ExtendedKeyUsagePurpose::ClientAuth],
        ..LeafSpec::default()
    });
    let gateway = format!(
        "{}apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  tls: {{backend: {{clientCertificateRef: {{name: to-backends}}}}}}\n  \
         listeners: [{{name: web, port: 80, protocol: HTTP}}]\n---\n",
        gateway_class()
    );
    let objects = format!(
        "{}{}{gateway}",
        config_map("app", "ca", &root.pem),
        tls_secret("infra", "to-backends", &gateway_leaf, &[])
    );
    let yaml = backend_yaml(
        "{caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}], hostname: api.example.com}",
        &objects,
    );
    let tls = backend_settings(&yaml);
    let server = backend_server(&server_leaf, &[], Some(&client_ca));
    let client = tls
        .client_config(provider(), time(), &SystemRoots::bundled())
        .unwrap();
    let mut c = ClientConnection::new(Arc::new(client), tls.server_name().unwrap()).unwrap();
    let mut s = ServerConnection::new(server).unwrap();
    assert_eq!(handshake(&mut c, &mut s), Ok(()));
    assert_eq!(s.peer_certificates().unwrap()[0], gateway_leaf.cert);

    // A reference that does not resolve: no configuration, so no connection.
    let broken = yaml.replace("name: to-backends}", "name: missing}");
    assert!(matches!(
        backend_settings(&broken).client_config(provider(), time(), &SystemRoots::bundled()),
        Err(TlsError::ClientCertificate(why)) if why.contains("does not exist")
    ));
}

// === frontend: client certificates per port, resumption, coalescing ===

/// Gateway `infra/edge` with three HTTPS ports for `app.example.com`, all serving one
/// certificate: 443 without client validation, 8443 `AllowValidOnly`, 9443
/// `AllowInsecureFallback`, both with the `clients` CA.
struct Frontend {
    server_ca: Ca,
    clients: Ca,
    tls: FrontendTls,
}

fn frontend() -> Frontend {
    let server_ca = Ca::root("listener root");
    let clients = Ca::root("client root");
    let server_leaf = server_ca.leaf_for(&["app.example.com", "*.example.com"]);
    let listener = |name: &str, port: u16| {
        format!(
            "  - {{name: {name}, port: {port}, protocol: HTTPS, hostname: app.example.com, \
             tls: {{certificateRefs: [{{name: app-cert}}]}}}}\n"
        )
    };
    let ca = "caCertificateRefs: [{group: \"\", kind: ConfigMap, name: clients}]";
    let yaml = format!(
        "{}{}{}apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  tls:\n    frontend:\n      default: {{}}\n      perPort:\n      \
         - {{port: 8443, tls: {{validation: {{{ca}}}}}}}\n      \
         - {{port: 9443, tls: {{validation: {{mode: AllowInsecureFallback, {ca}}}}}}}\n  \
         listeners:\n{}{}{}---\n",
        gateway_class(),
        config_map("infra", "clients", &clients.pem),
        tls_secret("infra", "app-cert", &server_leaf, &[]),
        listener("open", 443),
        listener("strict", 8443),
        listener("fallback", 9443),
    );
    let tls = FrontendTls::for_gateway(&config(&yaml), "infra", "edge").unwrap();
    Frontend {
        server_ca,
        clients,
        tls,
    }
}

impl Frontend {
    fn port(&self, port: u16) -> &PortTls {
        self.tls.port(port).unwrap()
    }

    fn server(&self, port: u16) -> Arc<ServerConfig> {
        Arc::new(self.port(port).server_config(provider(), time()).unwrap())
    }

    fn client_leaf(&self) -> Leaf {
        self.clients.leaf(&LeafSpec {
            eku: &[ExtendedKeyUsagePurpose::ClientAuth],
            ..LeafSpec::default()
        })
    }
}

#[test]
fn strict_port_requires_a_valid_client_certificate_in_the_handshake() {
    let f = frontend();
    let server = f.server(8443);
    let good = f.client_leaf();
    let (result, conn) = connect(
        &gateway_client(&f.server_ca, Some(&good)),
        &server,
        "app.example.com",
    );
    assert_eq!(result, Ok(()));
    let auth = f
        .port(8443)
        .client_auth(conn.peer_certificates(), pki::now());
    assert_eq!(auth, ClientAuth::Verified);

    let (result, _) = connect(
        &gateway_client(&f.server_ca, None),
        &server,
        "app.example.com",
    );
    assert_eq!(
        result,
        Err(Failed::Server(rustls::Error::NoCertificatesPresented))
    );

    let stranger = Ca::root("stranger").leaf(&LeafSpec::default());
    let (result, _) = connect(
        &gateway_client(&f.server_ca, Some(&stranger)),
        &server,
        "app.example.com",
    );
    assert_eq!(
        result,
        Err(Failed::Server(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        )))
    );
}

#[test]
fn fallback_port_admits_but_marks_clients_unverified() {
    let f = frontend();
    let server = f.server(9443);
    let port = f.port(9443);
    let (result, conn) = connect(
        &gateway_client(&f.server_ca, None),
        &server,
        "app.example.com",
    );
    assert_eq!(result, Ok(()));
    assert_eq!(
        port.client_auth(conn.peer_certificates(), pki::now()),
        ClientAuth::Unverified(Reason::NoCertificate)
    );
    let stranger = Ca::root("stranger").leaf(&LeafSpec::default());
    let (result, conn) = connect(
        &gateway_client(&f.server_ca, Some(&stranger)),
        &server,
        "app.example.com",
    );
    assert_eq!(result, Ok(()));
    assert_eq!(
        port.client_auth(conn.peer_certificates(), pki::now()),
        ClientAuth::Unverified(Reason::UnknownIssuer)
    );
    let good = f.client_leaf();
    let (result, conn) = connect(
        &gateway_client(&f.server_ca, Some(&good)),
        &server,
        "app.example.com",
    );
    assert_eq!(result, Ok(()));
    assert_eq!(
        port.client_auth(conn.peer_certificates(), pki::now()),
        ClientAuth::Verified
    );
}

#[test]
fn open_port_asks_for_no_client_certificate() {
    let f = frontend();
    let (result, conn) = connect(
        &gateway_client(&f.server_ca, None),
        &f.server(443),
        "app.example.com",
    );
    assert_eq!(result, Ok(()));
    assert_eq!(
        f.port(443)
            .client_auth(conn.peer_certificates(), pki::now()),
        ClientAuth::NotRequested
    );
}

#[test]
fn unknown_sni_gets_no_certificate() {
    let f = frontend();
    let (result, _) = connect(
        &gateway_client(&f.server_ca, None),
        &f.server(443),
        "other.example.com",
    );
    assert!(matches!(result, Err(Failed::Server(_))), "{result:?}");
}

/// nginx CVE-2025-23419: a session made on a port without client validation must not resume
/// on a port that requires client certificates.
#[test]
fn sessions_never_resume_across_ports_with_different_validation() {
    let f = frontend();
    let (open, strict) = (f.server(443), f.server(8443));
    // The client reuses one session store for every connection, as browsers do.
    let client = gateway_client(&f.server_ca, None);

    let (result, first) = connect(&client, &open, "app.example.com");
    assert_eq!(result, Ok(()));
    assert_eq!(first.handshake_kind(), Some(HandshakeKind::Full));
    // Control: the ticket does resume on the port that issued it.
    let (result, again) = connect(&client, &open, "app.example.com");
    assert_eq!(result, Ok(()));
    assert_eq!(again.handshake_kind(), Some(HandshakeKind::Resumed));

    // The same ticket offered to the strict port: a full handshake that demands a certificate.
    let (result, conn) = connect(&client, &strict, "app.example.com");
    assert_eq!(
        result,
        Err(Failed::Server(rustls::Error::NoCertificatesPresented))
    );
    assert_ne!(conn.handshake_kind(), Some(HandshakeKind::Resumed));

    // Each call builds fresh keys: even two configurations of the same port share nothing.
    let (result, fresh) = connect(&client, &f.server(443), "app.example.com");
    assert_eq!(result, Ok(()));
    assert_eq!(fresh.handshake_kind(), Some(HandshakeKind::Full));
}

/// What the test above prevents: had the strict port shared the open port's ticket keys, the
/// client would have resumed into it with no certificate at all.
#[test]
fn shared_ticket_keys_would_let_the_session_bypass_client_validation() {
    let f = frontend();
    let open = f.server(443);
    let mut strict = f.port(8443).server_config(provider(), time()).unwrap();
    strict.ticketer = Arc::clone(&open.ticketer);
    strict.session_storage = Arc::clone(&open.session_storage);
    let strict = Arc::new(strict);
    let client = gateway_client(&f.server_ca, None);
    assert_eq!(connect(&client, &open, "app.example.com").0, Ok(()));
    let (result, conn) = connect(&client, &strict, "app.example.com");
    assert_eq!(result, Ok(()));
    assert_eq!(conn.handshake_kind(), Some(HandshakeKind::Resumed));
    assert!(conn.peer_certificates().is_none());
}

/// The v1.4 release notes' attack: `foo.example.com` has its own listener (and certificate),
/// `*.example.com` another. A client connects as `bar.example.com`, then asks for
/// `foo.example.com` on that connection: 421, so it must reconnect with SNI `foo`.
#[test]
fn coalesced_request_for_another_listener_is_misdirected() {
    let ca = Ca::root("listener root");
    let foo = ca.leaf_for(&["foo.example.com"]);
    let wildcard = ca.leaf_for(&["*.example.com"]);
    let yaml = format!(
        "{}{}{}apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  listeners:\n  \
         - {{name: foo-https, port: 443, protocol: HTTPS, hostname: foo.example.com, tls: {{certificateRefs: [{{name: foo}}]}}}}\n  \
         - {{name: wildcard-https, port: 443, protocol: HTTPS, hostname: \"*.example.com\", tls: {{certificateRefs: [{{name: wildcard}}]}}}}\n---\n",
        gateway_class(),
        tls_secret("infra", "foo", &foo, &[]),
        tls_secret("infra", "wildcard", &wildcard, &[]),
    );
    let frontend = FrontendTls::for_gateway(&config(&yaml), "infra", "edge").unwrap();
    let port = frontend.port(443).unwrap();
    let server = Arc::new(port.server_config(provider(), time()).unwrap());
    let client = gateway_client(&ca, None);

    let name = ServerName::try_from("bar.example.com").unwrap();
    let mut c = ClientConnection::new(Arc::clone(&client), name).unwrap();
    let mut s = ServerConnection::new(Arc::clone(&server)).unwrap();
    assert_eq!(handshake(&mut c, &mut s), Ok(()));
    // The wildcard listener's certificate was served, and it covers foo.example.com too: a
    // client may coalesce.
    let served: &[CertificateDer<'_>] = c.peer_certificates().unwrap();
    assert_eq!(served[0], wildcard.cert);

    let auth = port.client_auth(s.peer_certificates(), pki::now());
    let connection = port.connection(s.server_name(), auth);
    assert_eq!(connection.listener, Some("wildcard-https"));
    assert_eq!(
        coalescing_check(&connection, "foo.example.com", port),
        Coalescing::Misdirected
    );
    assert_eq!(Coalescing::Misdirected.status(), Some(421));
    assert_eq!(
        coalescing_check(&connection, "bar.example.com", port),
        Coalescing::Allow
    );
    assert_eq!(
        coalescing_check(&connection, "baz.example.com:443", port),
        Coalescing::Allow
    );
    assert_eq!(
        coalescing_check(&connection, "example.org", port),
        Coalescing::NotFound
    );

    // Connected as foo, the foo listener's own certificate is served and foo is allowed.
    let name = ServerName::try_from("foo.example.com").unwrap();
    let mut c = ClientConnection::new(client, name).unwrap();
    let mut s = ServerConnection::new(server).unwrap();
    assert_eq!(handshake(&mut c, &mut s), Ok(()));
    assert_eq!(c.peer_certificates().unwrap()[0], foo.cert);
    let connection = port.connection(s.server_name(), ClientAuth::NotRequested);
    assert_eq!(
        coalescing_check(&connection, "foo.example.com", port),
        Coalescing::Allow
    );
    assert_eq!(
        coalescing_check(&connection, "bar.example.com", port),
        Coalescing::Misdirected
    );
}

/// A server that reloads keeps what each handshake established and asks the configuration
/// current at each request: the answers of `coalescing_check`, and a port on which this
/// configuration terminates no TLS refuses the connection's requests.
#[test]
fn frontend_coalescing_check_asks_the_current_configuration() {
    let f = frontend();
    let check = |port: u16, auth: &ClientAuth, authority: &str| {
        f.tls
            .coalescing_check(port, Some("app.example.com"), auth, authority)
    };
    let none = ClientAuth::NotRequested;
    assert_eq!(check(443, &none, "app.example.com"), Coalescing::Allow);
    assert_eq!(check(443, &none, "other.example.com"), Coalescing::NotFound);
    assert_eq!(
        check(443, &none, "app.example.com/x"),
        Coalescing::BadRequest
    );
    // 8443 requires a valid client certificate: a connection that proved none (accepted under
    // an earlier configuration) is refused.
    assert_eq!(
        check(8443, &none, "app.example.com"),
        Coalescing::Misdirected
    );
    let verified = ClientAuth::Verified;
    assert_eq!(check(8443, &verified, "app.example.com"), Coalescing::Allow);
    // No TLS on 8080 in this configuration.
    assert_eq!(
        check(8080, &verified, "app.example.com"),
        Coalescing::Misdirected
    );
}

/// GEP-1713: an XListenerSet's HTTPS listener is served on the Gateway's port with the
/// certificate from the set's own namespace (no ReferenceGrant needed there), beside the
/// Gateway's listener; a same-named Gateway listener does not stand in for it.
#[test]
fn listener_set_https_listener_serves_its_own_certificate() {
    let ca = Ca::root("listener root");
    let gw_leaf = ca.leaf_for(&["www.example.com"]);
    let set_leaf = ca.leaf_for(&["team.example.com"]);
    let yaml = format!(
        "{}{}{}apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: edge, namespace: infra}}\n\
         spec:\n  gatewayClassName: gw\n  allowedListeners: {{namespaces: {{from: All}}}}\n  listeners:\n  \
         - {{name: https, port: 443, protocol: HTTPS, hostname: www.example.com, tls: {{certificateRefs: [{{name: www}}]}}}}\n---\n\
         apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XListenerSet\nmetadata: {{name: team, namespace: apps}}\n\
         spec:\n  parentRef: {{name: edge, namespace: infra}}\n  listeners:\n  \
         - {{name: https, port: 443, protocol: HTTPS, hostname: team.example.com, tls: {{certificateRefs: [{{name: team}}]}}}}\n---\n",
        gateway_class(),
        tls_secret("infra", "www", &gw_leaf, &[]),
        tls_secret("apps", "team", &set_leaf, &[]),
    );
    let frontend = FrontendTls::for_gateway(&config(&yaml), "infra", "edge").unwrap();
    let port = frontend.port(443).unwrap();
    assert_eq!(port.listeners.len(), 2);
    let server = Arc::new(port.server_config(provider(), time()).unwrap());
    let client = gateway_client(&ca, None);
    for (host, leaf) in [
        ("www.example.com", &gw_leaf),
        ("team.example.com", &set_leaf),
    ] {
        let name = ServerName::try_from(host).unwrap();
        let mut c = ClientConnection::new(Arc::clone(&client), name).unwrap();
        let mut s = ServerConnection::new(Arc::clone(&server)).unwrap();
        assert_eq!(handshake(&mut c, &mut s), Ok(()), "{host}");
        assert_eq!(c.peer_certificates().unwrap()[0], leaf.cert, "{host}");
    }
}
