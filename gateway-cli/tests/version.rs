//! `gateway --version` is the workspace's Cargo version, as the C header, `gw_version()`
//! (gateway-ffi/tests/version.rs) and the npm package (gateway-wasm/tests/npm-install.sh) are.
#![allow(clippy::expect_used)]

use std::process::Command;

#[test]
fn version_option_prints_the_cargo_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--version")
        .output()
        .expect("run gateway --version");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(
        stdout.trim_end(),
        concat!("gateway ", env!("CARGO_PKG_VERSION"))
    );
}
