//! One version everywhere: the workspace's `version` in Cargo.toml (`CARGO_PKG_VERSION` here) is
//! the checked-in header's version macros and `gw_version()`. `gateway --version`
//! (gateway-cli/tests/version.rs) and the npm package (gateway-wasm/tests/npm-install.sh) are
//! checked against the same Cargo version; `make install` names the shared library after it.
#![allow(unsafe_code)] // it calls gw_version
#![allow(clippy::unwrap_used, clippy::expect_used)]

const HEADER: &str = include_str!("../../include/gateway.h");

/// The value of `#define NAME value` in the header.
fn define(name: &str) -> &'static str {
    HEADER
        .lines()
        .find_map(|line| {
            line.strip_prefix("#define ")?
                .strip_prefix(name)?
                .strip_prefix(' ')
        })
        .unwrap_or_else(|| panic!("no #define {name} in include/gateway.h"))
        .trim()
}

#[test]
fn header_version_macros_are_the_cargo_version() {
    assert_eq!(
        define("GW_VERSION"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(define("GW_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(define("GW_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(define("GW_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
}

#[test]
fn gw_version_is_the_cargo_version() {
    // SAFETY: gw_version takes nothing and returns a slice over a static string.
    let version = unsafe { gateway_ffi::gw_version() };
    // SAFETY: gw_version's slice is `len` initialized bytes at `data`, valid for 'static.
    let bytes = unsafe { std::slice::from_raw_parts(version.data, version.len) };
    assert_eq!(bytes, env!("CARGO_PKG_VERSION").as_bytes());
}
