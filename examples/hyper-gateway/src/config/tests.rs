#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

/// A parsed `cluster` line: namespace, name, IP, ports.
type ClusterLine<'a> = (&'a str, &'a str, &'a str, &'a [u16]);

/// `cluster` lines: what parses, and why the rest does not.
#[test]
fn cluster_lines_parse_or_say_what_is_wrong() {
    let rows: &[(&str, Result<ClusterLine<'_>, &str>)] = &[
        (
            "cluster app/echo 127.0.0.5 80",
            Ok(("app", "echo", "127.0.0.5", &[80])),
        ),
        (
            "cluster app/echo ::1 80 8080 # two ports",
            Ok(("app", "echo", "::1", &[80, 8080])),
        ),
        (
            "cluster app/echo 127.0.0.5",
            Err("expected `cluster NS/NAME IP PORT...`"),
        ),
        ("cluster echo 127.0.0.5 80", Err("no namespace")),
        ("cluster app/echo 127.0.0 80", Err("bad cluster IP")),
        (
            "cluster app/echo 127.0.0.5 0",
            Err("a Service port is never 0"),
        ),
        (
            "cluster app/echo 127.0.0.5 80 80",
            Err("a port listed twice"),
        ),
        ("cluster app/echo 127.0.0.5 http", Err("bad port")),
    ];
    for (line, want) in rows {
        let got = Endpoints::parse(line);
        match (want, got) {
            (Ok((ns, name, ip, ports)), Ok(e)) => {
                let c = &e.clusters[0];
                let got = (
                    c.namespace.as_str(),
                    c.name.as_str(),
                    c.ip,
                    c.ports.as_slice(),
                );
                assert_eq!(got, (*ns, *name, ip.parse().unwrap(), *ports), "{line}");
            }
            (Err(why), Err(e)) => assert!(e.contains(why), "{line}: {e}"),
            (want, got) => panic!("{line}: {want:?} expected, got {:?}", got.map(|_| ())),
        }
    }
    let twice = Endpoints::parse("cluster a/b 127.0.0.5 80\ncluster a/c 127.0.0.5 81");
    let twice = twice.map(|_| ()).unwrap_err();
    assert!(twice.contains("line 2: this cluster IP is on an earlier `cluster` line"));
}

const SERVICES: &str = "
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: app}
spec: {ports: [{port: 80}, {port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: fixed, namespace: app}
spec: {clusterIP: 10.0.0.7, clusterIPs: [10.0.0.7, 'fd00::7'], ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: app}
spec: {clusterIP: None, ports: [{port: 80}]}
";

fn assign(lines: &str) -> Result<Snapshot, String> {
    let mut snapshot = Snapshot::load(SERVICES.as_bytes(), &LoadOptions::default())
        .unwrap()
        .snapshot;
    let endpoints = Endpoints::parse(lines).unwrap();
    assign_cluster_ips(&mut snapshot, &endpoints.clusters).map(|()| snapshot)
}

fn ips_of(snapshot: &Snapshot, name: &str) -> Option<Vec<IpAddr>> {
    let service = snapshot.objects.iter().find_map(|o| match &o.resource {
        Resource::Service(s) if s.metadata.name == name => Some(s),
        _ => None,
    });
    cluster_ips(service.unwrap()).unwrap()
}

#[test]
fn a_service_without_cluster_ip_gets_the_files() {
    let snapshot = assign("cluster app/plain 127.0.0.5 80\ncluster app/plain ::1 8080").unwrap();
    let want = vec!["127.0.0.5".parse().unwrap(), "::1".parse().unwrap()];
    assert_eq!(ips_of(&snapshot, "plain"), Some(want));
}

#[test]
fn a_service_with_cluster_ips_keeps_them_and_the_file_must_name_one() {
    let snapshot = assign("cluster app/fixed fd00::7 80").unwrap();
    assert_eq!(ips_of(&snapshot, "fixed").map(|ips| ips.len()), Some(2));
    let e = assign("cluster app/fixed 10.0.0.8 80")
        .map(|_| ())
        .unwrap_err();
    let want = "Service app/fixed has cluster IP 10.0.0.7, fd00::7 in the manifests, \
                the endpoints file gives 10.0.0.8";
    assert_eq!(e, format!("endpoints: {want}"));
}

#[test]
fn what_the_manifests_contradict_is_refused_naming_the_service() {
    let rows = [
        (
            "cluster app/plain 10.0.0.7 80",
            "cluster IP 10.0.0.7 of Service app/plain is Service app/fixed's",
        ),
        (
            "cluster app/plain 127.0.0.5 81",
            "Service app/plain has no port 81 in the manifests",
        ),
        (
            "cluster app/gone 127.0.0.5 80",
            "Service app/gone of a `cluster` line is not in the manifests",
        ),
        (
            "cluster other/plain 127.0.0.5 80",
            "Service other/plain of a `cluster` line",
        ),
        (
            "cluster app/headless 127.0.0.5 80",
            "Service app/headless is headless (clusterIP: None)",
        ),
    ];
    for (lines, want) in rows {
        let e = assign(lines).map(|_| ()).unwrap_err();
        assert!(e.contains(want), "{lines}: {e}");
    }
}
