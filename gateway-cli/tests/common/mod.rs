//! Helpers shared by the integration tests: running the binary, scratch files, snapshots.
#![allow(dead_code)] // each test binary uses a different part

pub(crate) mod corpus;
pub(crate) mod schema;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The crate directory.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled example manifests, as a path relative to the crate (stable in snapshots).
pub(crate) const EXAMPLES: &str = "../examples/manifests";

/// Runs `gateway ARGS` in the crate directory with colour disabled.
pub(crate) fn gateway<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_gateway"))
        .current_dir(crate_dir())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run gateway")
}

/// stdout as text.
pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

/// A fresh scratch directory under the target directory's tmp.
pub(crate) fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Writes `text` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scratch file");
    path
}

/// Compares `actual` byte for byte with `tests/snapshots/NAME`; with `UPDATE_SNAPSHOTS=1` the
/// snapshot is (re)written instead.
pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = crate_dir().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("snapshot dir")).expect("snapshot dir");
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {name} differs (first at line {}); run with UPDATE_SNAPSHOTS=1 to accept\n\
             --- expected\n{expected}\n--- actual\n{actual}",
            first + 1
        );
    }
}
