//! Regenerates `include/gateway.h` with the pinned cbindgen (feature `header`). CI runs this,
//! then `git diff --exit-code include/gateway.h`: a header that differs from the sources fails.
#![cfg(feature = "header")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

#[test]
fn regenerate_header() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    // The version macros come from Cargo.toml, through Cargo's environment.
    let version = format!(
        "\n/* The version of this header, from Cargo.toml; equal to gw_version() at run time. */\n\
         #define GW_VERSION \"{}\"\n#define GW_VERSION_MAJOR {}\n#define GW_VERSION_MINOR {}\n\
         #define GW_VERSION_PATCH {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    let out = crate_dir.join("../include/gateway.h");
    cbindgen::Builder::new()
        .with_config(config)
        .with_crate(crate_dir)
        .with_after_include(version)
        .generate()
        .expect("cbindgen")
        .write_to_file(&out);
}
