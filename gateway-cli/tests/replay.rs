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

    // The XMesh's supportedFeatures claims exactly the mesh features the replay proves, plus
    // those the corpus has no case for that our own tests hold (gateway-core's api tests run
    // every test named there).
    let mesh: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MESH FEATURES "))
        .expect("the corpus has cases-mesh/: the replay prints the mesh features it proves")
        .split_whitespace()
        .collect();
    let with_cases = mesh_case_features();
    let mut expected: Vec<&str> = mesh.clone();
    for (feature, _) in gateway_core::attach::MESH_TEST_VERIFIED_FEATURES {
        // Tests stand in for a conformance case only where there is none: a corpus case for
        // the feature must pass in the replay for the feature to be claimed.
        if with_cases.iter().any(|f| f == feature) {
            assert!(
                mesh.contains(feature),
                "{feature}: the corpus has a mesh case for it that the replay does not prove"
            );
        }
        expected.push(feature);
    }
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(
        gateway_core::attach::MESH_SUPPORTED_FEATURES,
        expected.as_slice(),
        "proven by the replay: {mesh:?}"
    );
}

/// Every feature some mesh case of the corpus (`cases-mesh/*.json`) lists.
fn mesh_case_features() -> Vec<String> {
    let dir = corpus().join("cases-mesh");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let case: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let features = case.get("features").and_then(|f| f.as_array());
        out.extend(
            features
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned)),
        );
    }
    assert!(!out.is_empty(), "no mesh case lists a feature");
    out
}
