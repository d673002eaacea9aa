//! Gives the shared library the SONAME that `make install` installs it under.
//!
//! While the version is 0.x the C ABI may change with every minor release, so the SONAME
//! carries the minor version (`libgateway.so.0.1`); from 1.0 on, the major version
//! (`libgateway.so.1`). The top-level Makefile names the installed files to match. Only ELF
//! targets have SONAMEs; nothing is set elsewhere. The header is never generated here.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let elf = family.split(',').any(|f| f == "unix")
        && !matches!(
            os.as_str(),
            "macos" | "ios" | "tvos" | "watchos" | "visionos"
        );
    if !elf {
        return;
    }
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major.to_owned()
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libgateway.so.{abi}");
}
