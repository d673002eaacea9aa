//! Every C ABI entry point with arbitrary bytes: manifests, requests (every field, headers),
//! request JSON, result codes and buffer sizes, NULL handles. The checks are in
//! `gateway_ffi::fuzzing` (the unsafe calls stay in the FFI crate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gateway_ffi::fuzzing::exercise(data));
