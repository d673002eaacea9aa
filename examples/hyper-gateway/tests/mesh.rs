//! Sidecar mode end to end: the mesh (GAMMA) cases of the conformance corpus
//! (`cases-mesh/`) run over real sockets. Each Service a case's requests go to gets a cluster
//! IP on the loopback range; for each client namespace a sidecar (`--mesh --namespace NS`)
//! listens on those cluster addresses; one echo backend per Deployment stands behind its
//! Services; every request is sent to the cluster address its client dialed, over HTTP/1.1
//! and again over HTTP/2 (prior knowledge), and compared as `tests/conformance.rs` compares
//! gateway cases (`Profile::Mesh` in `support/cases.rs` says how the two differ).
//! Also: cluster IPs that disagree with the manifests are refused, reloading works, and the
//! README's example (`mesh.yaml`, `mesh.endpoints`) does what the README says.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::cases::{Profile, check, corpus, distribution, read_json, text};
use support::{Echo, Gateway, request, send};

/// The cluster IPs of this test process: `127.X.Y.n`, with X and Y from the process id so that
/// two test runs on one machine do not take each other's addresses.
fn cluster_ip(n: u8) -> IpAddr {
    let pid = std::process::id();
    let (x, y) = (200 + (pid % 50) as u8, (pid / 50 % 256) as u8);
    IpAddr::V4(Ipv4Addr::new(127, x, y, n))
}

/// What happened to the request cases.
#[derive(Default)]
struct Tally {
    passed: usize,
    failures: Vec<String>,
    skipped: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesh_conformance_cases_through_sidecars() {
    let dir = corpus();
    let cases = dir.join("cases-mesh");
    if !cases.is_dir() {
        panic!(
            "no mesh conformance cases at {} (set CONFORMANCE_DIR)",
            cases.display()
        );
    }
    // Service ports 80 and 8080 on the cluster IPs: port 80 needs privilege. Without it every
    // case is skipped; any other reason not to bind is a failure.
    let no_privilege = match std::net::TcpListener::bind(SocketAddr::new(cluster_ip(254), 80)) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(format!(
            "binding port 80 of a cluster address needs root or CAP_NET_BIND_SERVICE: {e}"
        )),
        Err(e) => panic!("cannot bind port 80 of a cluster address: {e}"),
    };
    let backends = read_json(&dir.join("mesh-backends.json"));
    let mut files: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut tally = Tally::default();
    for file in &files {
        let case = read_json(file);
        run_case(&dir, &case, &backends, no_privilege.as_deref(), &mut tally).await;
    }
    for skip in &tally.skipped {
        eprintln!("skipped: {skip}");
    }
    for failure in &tally.failures {
        eprintln!("FAILED: {failure}");
    }
    let (passed, failed, skipped) = (tally.passed, tally.failures.len(), tally.skipped.len());
    eprintln!("mesh e2e: {passed} passed, {failed} failed, {skipped} skipped");
    assert!(
        tally.failures.is_empty(),
        "{failed} mesh request cases failed"
    );
    assert!(
        no_privilege.is_some() || passed >= 50,
        "only {passed} mesh request cases ran"
    );
}

/// Starts the case's backends, then one sidecar per client namespace in turn (they listen on
/// the same cluster addresses), and sends its requests.
async fn run_case(
    dir: &Path,
    case: &Value,
    backends: &Value,
    no_privilege: Option<&str>,
    tally: &mut Tally,
) {
    let name = case["name"].as_str().unwrap();
    let mut yaml = String::new();
    for file in case["manifests"].as_array().unwrap() {
        let path = dir.join("manifests").join(file.as_str().unwrap());
        yaml.push_str(&std::fs::read_to_string(path).unwrap());
        yaml.push_str("\n---\n");
    }
    // The requests the harness can send, by client namespace; the others are skipped.
    let mut by_client: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for (i, r) in case["requests"].as_array().unwrap().iter().enumerate() {
        let id = format!("{name} #{i} [{}]", text(&r["subtest"]));
        let skip = if let Some(why) = no_privilege {
            Some(why.to_owned())
        } else if r["destination"]["kind"] != "Service" {
            Some(
                "addressed to a Pod by IP: the sidecar captures only the cluster addresses of \
                 the endpoints file"
                    .to_owned(),
            )
        } else if r["phase"] != 0 || !r["unexpressed"].is_null() {
            Some("not expressed in the corpus, or after a mutation".to_owned())
        } else {
            None
        };
        match skip {
            Some(why) => tally.skipped.push(format!("{id}: {why}")),
            None => {
                let client = r["client"]["namespace"].as_str().unwrap().to_owned();
                by_client.entry(client).or_default().push(r);
            }
        }
    }
    if by_client.is_empty() {
        return;
    }
    // A cluster IP for every Service the requests go to, listening on the ports they use.
    let mut clusters: BTreeMap<(String, String), Vec<u16>> = BTreeMap::new();
    for r in by_client.values().flatten() {
        let d = &r["destination"];
        let service = (text(&d["namespace"]), text(&d["name"]));
        let ports = clusters.entry(service).or_default();
        let port = r["port"].as_u64().unwrap() as u16;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    let mut endpoints = String::new();
    let mut addresses: HashMap<(String, String), IpAddr> = HashMap::new();
    for (n, ((ns, svc), ports)) in clusters.iter().enumerate() {
        let ip = cluster_ip(u8::try_from(n + 1).unwrap());
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        endpoints.push_str(&format!("cluster {ns}/{svc} {ip} {}\n", ports.join(" ")));
        addresses.insert((ns.clone(), svc.clone()), ip);
    }
    // One echo backend per Deployment; every Service selecting it points at it.
    let mut echoes: HashMap<(String, String), Echo> = HashMap::new();
    let mut groups: Vec<&Value> = backends["base"].as_array().unwrap().iter().collect();
    groups.extend(backends["per_test"][name].as_array().into_iter().flatten());
    for g in groups {
        let key = (text(&g["namespace"]), text(&g["deployment"]));
        if !echoes.contains_key(&key) {
            echoes.insert(key.clone(), Echo::start(&key.0, &key.1).await);
        }
        for s in g["services"].as_array().unwrap() {
            let addr = echoes[&key].addr;
            endpoints.push_str(&format!("{}/{} {addr}\n", key.0, text(s)));
        }
    }
    for (client, requests) in by_client {
        let sidecar = Gateway::sidecar(name, &yaml, &endpoints, &client);
        let mut failed = false;
        for r in requests {
            let d = &r["destination"];
            let ip = addresses[&(text(&d["namespace"]), text(&d["name"]))];
            let to = SocketAddr::new(ip, r["port"].as_u64().unwrap() as u16);
            let mut why = Vec::new();
            // gRPC is HTTP/2 only; the others are sent over both versions.
            let versions: &[bool] = match r["protocol"].as_str() {
                Some("grpc") => &[true],
                _ => &[false, true],
            };
            for &h2 in versions {
                let result = if r["expect"]["distribution"].is_object() {
                    distribution(to, &echoes, r, h2, Profile::Mesh).await
                } else {
                    check(to, &echoes, r, h2, Profile::Mesh).await.map(drop)
                };
                if let Err(e) = result {
                    why.push(format!("{}: {e}", if h2 { "h2" } else { "http/1.1" }));
                }
            }
            if why.is_empty() {
                tally.passed += 1;
            } else {
                failed = true;
                let subtest = text(&r["subtest"]);
                let to = format!("client {client} to {to}");
                tally
                    .failures
                    .push(format!("{name} [{subtest}] {to}: {}", why.join("; ")));
            }
        }
        if failed {
            eprintln!(
                "--- sidecar log of {name}, client {client}\n{}",
                sidecar.log()
            );
        }
    }
}

// === the endpoints file against the manifests, and reloading ===

/// Services `app/echo` (cluster IP `manifest_ip` in the manifest if given; port 18080), `blue`
/// and `green`, and with `route_to` a route of `echo` sending `/v2` to that Service.
fn manifests(manifest_ip: Option<IpAddr>, route_to: Option<&str>) -> String {
    let ip = manifest_ip.map_or(String::new(), |ip| format!("clusterIP: {ip}, "));
    let mut yaml = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: echo, namespace: app}}\n\
         spec: {{{ip}ports: [{{port: 18080}}]}}\n"
    );
    for name in ["blue", "green"] {
        yaml += &format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: app}}\n\
             spec: {{ports: [{{port: 8080}}]}}\n"
        );
    }
    if let Some(backend) = route_to {
        yaml += &format!(
            "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
             metadata: {{name: echo, namespace: app}}\n\
             spec:\n  parentRefs: [{{group: '', kind: Service, name: echo}}]\n  rules:\n  \
             - matches: [{{path: {{type: PathPrefix, value: /v2}}}}]\n    \
             backendRefs: [{{name: {backend}, port: 8080}}]\n"
        );
    }
    yaml
}

async fn wait_for_reloads(sidecar: &Gateway, count: usize) {
    for _ in 0..100 {
        if sidecar.log().matches("reloaded").count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no reload:\n{}", sidecar.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_ip_the_manifests_contradict_is_refused_naming_the_service() {
    let endpoints = format!("cluster app/echo {} 18080\n", cluster_ip(201));
    let yaml = manifests(Some(cluster_ip(202)), Some("blue"));
    let args = ["--mesh", "--namespace", "app"];
    let Err(log) = Gateway::try_spawn("mesh-mismatch", &yaml, &endpoints, &args, 1) else {
        panic!("a sidecar started with a cluster IP the manifests contradict");
    };
    let want = format!(
        "Service app/echo has cluster IP {} in the manifests, the endpoints file gives {}",
        cluster_ip(202),
        cluster_ip(201)
    );
    assert!(log.contains(&want), "{log}");
    // The same IP as the manifest's: served.
    let yaml = manifests(Some(cluster_ip(201)), Some("blue"));
    let sidecar = Gateway::sidecar("mesh-match", &yaml, &endpoints, "app");
    assert_eq!(sidecar.ports.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_reloads_changed_manifests_and_passes_unrouted_requests_through() {
    let (echo, blue, green) = (
        Echo::start("app", "echo").await,
        Echo::start("app", "blue").await,
        Echo::start("app", "green").await,
    );
    let ip = cluster_ip(203);
    let endpoints = format!(
        "cluster app/echo {ip} 18080\napp/echo {}\napp/blue {}\napp/green {}\n",
        echo.addr, blue.addr, green.addr
    );
    let yaml = manifests(None, Some("blue"));
    let sidecar = Gateway::sidecar("mesh-reload", &yaml, &endpoints, "app");
    let to = SocketAddr::new(ip, 18080);
    let get = |path: &'static str| send(to, None, false, request(false, "GET", "echo", path, &[]));
    let served = |path| async move { get(path).await.unwrap().seen().unwrap().name };
    assert_eq!(served("/v2/a").await, "blue", "{}", sidecar.log());
    // No rule matches: 404 from the routes of the Service port, not a pass-through.
    assert_eq!(get("/other").await.unwrap().status, 404);
    sidecar.rewrite(&manifests(None, Some("green")));
    wait_for_reloads(&sidecar, 1).await;
    assert_eq!(served("/v2/a").await, "green", "{}", sidecar.log());
    // Without routes on the Service, requests pass through to its own endpoints, unchanged.
    sidecar.rewrite(&manifests(None, None));
    wait_for_reloads(&sidecar, 2).await;
    let got = get("/other?x=1").await.unwrap();
    let seen = got.seen().unwrap();
    assert_eq!(
        (seen.name.as_str(), seen.path.as_str()),
        ("echo", "/other?x=1")
    );
    assert_eq!(seen.host, "echo");
    assert!(sidecar.log().contains("pass-through"), "{}", sidecar.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_example_routes_by_header_and_passes_web_through() {
    let backend = Echo::start("shop", "any").await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let yaml = std::fs::read_to_string(dir.join("mesh.yaml")).unwrap();
    // The example's addresses, moved to this process's cluster IPs and echo backend.
    let base = cluster_ip(0).to_string();
    let base = base.trim_end_matches('0');
    let endpoints = std::fs::read_to_string(dir.join("mesh.endpoints"))
        .unwrap()
        .replace("127.0.10.", base)
        .replace("127.0.0.1:9000", &backend.addr.to_string());
    let sidecar = Gateway::sidecar("mesh-example", &yaml, &endpoints, "shop");
    let api = SocketAddr::new(cluster_ip(1), 8080);
    let v2 = request(
        false,
        "GET",
        "api.shop",
        "/items",
        &[("x-api-version", "2")],
    );
    let got = send(api, None, false, v2).await.unwrap();
    assert_eq!(got.header("x-api-version"), None, "{}", sidecar.log());
    let v1 = request(false, "GET", "api.shop", "/items", &[]);
    let got = send(api, None, false, v1).await.unwrap();
    assert_eq!(got.header("x-api-version").as_deref(), Some("1"));
    let web = SocketAddr::new(cluster_ip(2), 8080);
    let got = send(web, None, false, request(false, "GET", "web", "/", &[])).await;
    assert_eq!(got.unwrap().status, 200);
    let log = sidecar.log();
    for line in ["shop/api rule=v2", "shop/api rule=v1", "pass-through"] {
        assert!(log.contains(line), "{log}");
    }
}
