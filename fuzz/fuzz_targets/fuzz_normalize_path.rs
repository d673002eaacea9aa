//! The path normalizer: idempotent, and its output never holds what the policy removes.
#![no_main]

use gateway_core::request::normalize::{EncodedSlashes, PathPolicy, normalize_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], bool, u8)| {
    let (bytes, merge, slashes) = input;
    let Ok(path) = std::str::from_utf8(bytes) else {
        return;
    };
    let mut policy = PathPolicy::default();
    policy.merge_slashes = merge;
    policy.encoded_slashes = match slashes % 3 {
        0 => EncodedSlashes::Reject,
        1 => EncodedSlashes::Keep,
        _ => EncodedSlashes::Decode,
    };
    let Ok(once) = normalize_path(path, &policy) else {
        return;
    };
    let twice = normalize_path(&once, &policy).expect("canonical output normalizes again");
    assert_eq!(once, twice, "not idempotent for {path:?}");
    assert!(once.starts_with('/'));
    for bad in ["/./", "/../"] {
        assert!(!once.contains(bad), "{once:?} holds {bad}");
    }
    assert!(!once.ends_with("/.") && !once.ends_with("/.."), "{once:?}");
    if merge {
        assert!(!once.contains("//"), "{once:?}");
    }
    assert!(!once.to_ascii_uppercase().contains("%00"), "{once:?}");
    if policy.encoded_slashes != EncodedSlashes::Keep {
        let upper = once.to_ascii_uppercase();
        assert!(!upper.contains("%2F") && !upper.contains("%5C"), "{once:?}");
    }
});
