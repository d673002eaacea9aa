//! The conformance corpus (v1.4.1, ../shared/conformance) replayed through the `gateway`
//! binary: every status and request check must pass except the checked-in known failures, and
//! a known failure that starts passing must be removed from the list.

use std::path::PathBuf;
use std::process::Command;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

#[test]
fn conformance_corpus_replays_with_only_known_failures() {
    let known = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/known-failures.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("replay")
        .arg(corpus())
        .arg("--known")
        .arg(&known)
        .output()
        .expect("run gateway replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stdout
        .lines()
        .filter(|l| l.starts_with("FAIL") || l.starts_with("STALE"))
    {
        eprintln!("{line}");
    }
    let last = stdout.lines().last().unwrap_or_default();
    // The replay's own summary line, e.g. `560 passed, 0 failed, 60 skipped`.
    println!("replay: {last}");
    assert!(out.status.success(), "replay failed: {last}\n{stderr}");
    assert!(last.contains(" 0 failed"), "{last}");

    // supportedFeatures claims exactly the features the replay proves, plus the documented
    // partly verified ones.
    let proven: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("FEATURES "))
        .expect("the replay prints the features it proves")
        .split_whitespace()
        .collect();
    let mut expected: Vec<&str> = proven.clone();
    expected.extend(
        gateway_core::attach::PARTLY_VERIFIED_FEATURES
            .iter()
            .map(|(f, _)| *f),
    );
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(
        gateway_core::attach::SUPPORTED_FEATURES,
        expected.as_slice(),
        "proven by the replay: {proven:?}"
    );

    // The XMesh's supportedFeatures claims exactly the mesh features the replay proves.
    let mesh: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MESH FEATURES "))
        .expect("the corpus has cases-mesh/: the replay prints the mesh features it proves")
        .split_whitespace()
        .collect();
    assert_eq!(
        gateway_core::attach::MESH_SUPPORTED_FEATURES,
        mesh.as_slice()
    );
}
