#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;

// === policies ===

fn secure() -> PathPolicy {
    PathPolicy::secure()
}

fn keep() -> PathPolicy {
    let mut p = PathPolicy::secure();
    p.encoded_slashes = EncodedSlashes::Keep;
    p
}

fn decode() -> PathPolicy {
    let mut p = PathPolicy::secure();
    p.encoded_slashes = EncodedSlashes::Decode;
    p
}

fn fold() -> PathPolicy {
    let mut p = PathPolicy::secure();
    p.backslashes = Backslashes::Fold;
    p
}

fn decode_fold() -> PathPolicy {
    let mut p = decode();
    p.backslashes = Backslashes::Fold;
    p
}

fn no_merge() -> PathPolicy {
    let mut p = PathPolicy::secure();
    p.merge_slashes = false;
    p
}

fn params_keep() -> PathPolicy {
    let mut p = PathPolicy::secure();
    p.path_parameters = PathParameters::Keep;
    p
}

fn params_strip() -> PathPolicy {
    let mut p = PathPolicy::secure();
    p.path_parameters = PathParameters::Strip;
    p
}

fn params_strip_decode_fold() -> PathPolicy {
    let mut p = decode_fold();
    p.path_parameters = PathParameters::Strip;
    p
}

fn short(max: usize) -> PathPolicy {
    let mut p = PathPolicy::secure();
    p.max_target_len = max;
    p
}

/// Every combination of the four knobs.
fn all_policies() -> Vec<PathPolicy> {
    let mut out = Vec::new();
    for merge_slashes in [true, false] {
        for encoded_slashes in [
            EncodedSlashes::Reject,
            EncodedSlashes::Keep,
            EncodedSlashes::Decode,
        ] {
            for backslashes in [Backslashes::Reject, Backslashes::Fold] {
                for path_parameters in [
                    PathParameters::Reject,
                    PathParameters::Strip,
                    PathParameters::Keep,
                ] {
                    let mut p = PathPolicy::secure();
                    p.merge_slashes = merge_slashes;
                    p.encoded_slashes = encoded_slashes;
                    p.backslashes = backslashes;
                    p.path_parameters = path_parameters;
                    out.push(p);
                }
            }
        }
    }
    out
}

// === table ===

use TargetError as E;

type Row = (
    &'static str,
    &'static str,
    fn() -> PathPolicy,
    Result<&'static str, TargetError>,
);

#[rustfmt::skip]
fn table() -> Vec<Row> {
    vec![
        // already canonical
        ("canonical_root", "/", secure, Ok("/")),
        ("canonical_simple", "/a/b/c", secure, Ok("/a/b/c")),
        ("canonical_trailing_slash_kept", "/a/b/", secure, Ok("/a/b/")),
        ("canonical_upper_escape_kept", "/caf%C3%A9", secure, Ok("/caf%C3%A9")),
        ("canonical_reserved_escapes_kept", "/a%3Fb%23c%25", secure, Ok("/a%3Fb%23c%25")),
        ("canonical_sub_delims_kept", "/a;b=c,d!$&'()*+:@", params_keep, Ok("/a;b=c,d!$&'()*+:@")),
        ("sub_delims_without_semicolon_kept", "/a,b=c!$&'()*+:@", secure, Ok("/a,b=c!$&'()*+:@")),
        ("canonical_triple_dot_is_a_name", "/.../a", secure, Ok("/.../a")),
        ("canonical_dotfile_is_a_name", "/.well-known/x", secure, Ok("/.well-known/x")),
        ("canonical_dots_inside_names", "/a..b/c.", secure, Ok("/a..b/c.")),
        ("canonical_semicolon_param_on_name", "/a;jsessionid=1/b", params_keep, Ok("/a;jsessionid=1/b")),
        ("path_parameter_refused_by_default", "/admin;jsessionid=1", secure, Err(E::PathParameter { offset: 6 })),
        ("path_parameter_stripped", "/admin;jsessionid=1", params_strip, Ok("/admin")),
        ("path_parameter_stripped_per_segment", "/a;x=1/b;y/c", params_strip, Ok("/a/b/c")),
        ("path_parameter_stripped_before_dot_segments", "/public/..;x/admin", params_strip, Ok("/admin")),
        ("path_parameter_stripped_current_dot", "/a/.;x/b", params_strip, Ok("/a/b")),
        ("path_parameter_stripped_keeps_encoded_semicolon", "/a%3Bx;y", params_strip, Ok("/a%3Bx")),
        ("encoded_semicolon_is_data_by_default", "/a%3bx", secure, Ok("/a%3Bx")),
        ("path_parameter_stripped_nul_refused", "/a;x%00", params_strip, Err(E::EncodedNul)),
        ("path_parameter_stripped_encoded_slash_refused", "/a;x%2Fy", params_strip, Err(E::EncodedSlash)),
        ("path_parameter_stripped_backslash_refused", "/a;x\\y", params_strip, Err(E::Backslash)),
        ("path_parameter_stripped_malformed_escape_refused", "/a;%zz", params_strip, Err(E::MalformedPercent { offset: 3 })),
        ("path_parameter_ends_at_decoded_slash", "/a;x%2Fb", params_strip_decode_fold, Ok("/a/b")),
        ("path_parameter_ends_at_folded_backslash", "/a;x\\b", params_strip_decode_fold, Ok("/a/b")),
        ("browser_raw_chars_pass_through", "/a|b^c{d}`[e]\"<>", secure, Ok("/a|b^c{d}`[e]\"<>")),
        // rule 1: bytes
        ("bytes_empty_is_refused", "", secure, Err(E::Empty)),
        ("bytes_must_start_with_slash", "admin", secure, Err(E::NotOriginForm)),
        ("bytes_must_start_with_slash_not_dot", "./admin", secure, Err(E::NotOriginForm)),
        ("bytes_fragment_is_refused", "/user/profile#x", secure, Err(E::Fragment)),
        ("bytes_question_mark_in_path_is_refused", "/a?b", secure, Err(E::InvalidByte { byte: b'?', offset: 2 })),
        ("bytes_space_is_refused", "/a b", secure, Err(E::InvalidByte { byte: b' ', offset: 2 })),
        ("bytes_tab_is_refused", "/a\tb", secure, Err(E::InvalidByte { byte: b'\t', offset: 2 })),
        ("bytes_nul_is_refused", "/a\0", secure, Err(E::InvalidByte { byte: 0, offset: 2 })),
        ("bytes_cr_is_refused", "/a\r", secure, Err(E::InvalidByte { byte: b'\r', offset: 2 })),
        ("bytes_del_is_refused", "/a\x7f", secure, Err(E::InvalidByte { byte: 0x7f, offset: 2 })),
        ("bytes_non_ascii_is_refused", "/caf\u{e9}", secure, Err(E::InvalidByte { byte: 0xc3, offset: 4 })),
        ("bytes_too_long_is_414", "/abcdefghi", || short(8), Err(E::TooLong { len: 10, max: 8 })),
        ("bytes_at_limit_is_fine", "/abcdefg", || short(8), Ok("/abcdefg")),
        ("bytes_first_error_by_position", "/a b#", secure, Err(E::InvalidByte { byte: b' ', offset: 2 })),
        // rule 2: malformed percent
        ("percent_trailing_is_malformed", "/a%", secure, Err(E::MalformedPercent { offset: 2 })),
        ("percent_one_digit_is_malformed", "/a%2", secure, Err(E::MalformedPercent { offset: 2 })),
        ("percent_non_hex_is_malformed", "/a%zz", secure, Err(E::MalformedPercent { offset: 2 })),
        ("percent_half_hex_is_malformed", "/a%2g", secure, Err(E::MalformedPercent { offset: 2 })),
        ("percent_sign_then_slash_is_malformed", "/%/a", secure, Err(E::MalformedPercent { offset: 1 })),
        // rule 3: decode unreserved once, upper-case the rest
        ("decode_unreserved_letters", "/%61%62%63", secure, Ok("/abc")),
        ("decode_unreserved_upper_and_digits", "/%41%5A%30%39", secure, Ok("/AZ09")),
        ("decode_unreserved_marks", "/%2D%2E%5F%7E", secure, Ok("/-._~")),
        ("decode_only_once", "/%252E%252E/a", secure, Ok("/%252E%252E/a")),
        ("decode_uppercases_hex", "/caf%c3%a9", secure, Ok("/caf%C3%A9")),
        ("decode_uppercases_mixed_case", "/%3f%3F%3A", secure, Ok("/%3F%3F%3A")),
        ("decode_keeps_reserved_encoded", "/a%40b%3Bc", secure, Ok("/a%40b%3Bc")),
        ("decode_keeps_encoded_control", "/a%0D%0A", secure, Ok("/a%0D%0A")),
        ("decode_dot_before_dot_removal", "/a/%2e%2e/b", secure, Ok("/b")),
        ("decode_single_dot_before_dot_removal", "/a/%2E/b", secure, Ok("/a/b")),
        ("decode_mixed_dot_spelling", "/a/b/.%2e/c", secure, Ok("/a/c")),
        // rule 4: encoded slashes and nul
        ("encoded_slash_rejected_by_default", "/admin%2Fx", secure, Err(E::EncodedSlash)),
        ("encoded_slash_lower_rejected_by_default", "/admin%2fx", secure, Err(E::EncodedSlash)),
        ("encoded_backslash_rejected_by_default", "/admin%5Cx", secure, Err(E::EncodedSlash)),
        ("encoded_slash_kept_as_char", "/a%2fb", keep, Ok("/a%2Fb")),
        ("encoded_backslash_kept_as_char", "/a%5cb", keep, Ok("/a%5Cb")),
        ("encoded_slash_kept_is_not_separator", "/a/..%2F/b", keep, Ok("/a/..%2F/b")),
        ("encoded_slash_kept_dot_dot_pops_whole_segment", "/x%2Fy/../b", keep, Ok("/b")),
        ("encoded_slash_decoded_is_separator", "/a%2Fb", decode, Ok("/a/b")),
        ("encoded_slash_decoded_before_dot_removal", "/a/b%2F..%2Fc", decode, Ok("/a/c")),
        ("encoded_slash_decoded_then_merged", "/%2F%2Fadmin", decode, Ok("/admin")),
        ("encoded_backslash_decoded_then_rejected", "/a%5Cb", decode, Err(E::Backslash)),
        ("encoded_backslash_decoded_then_folded", "/a%5Cb", decode_fold, Ok("/a/b")),
        ("encoded_nul_always_rejected", "/a%00", secure, Err(E::EncodedNul)),
        ("encoded_nul_rejected_under_keep", "/a%00", keep, Err(E::EncodedNul)),
        ("encoded_nul_rejected_under_decode", "/a%00", decode_fold, Err(E::EncodedNul)),
        // rule 5: raw backslash
        ("backslash_rejected_by_default", "/admin\\x", secure, Err(E::Backslash)),
        ("backslash_folded", "/admin\\x", fold, Ok("/admin/x")),
        ("backslash_folded_before_dot_removal", "/a\\..\\b", fold, Ok("/b")),
        ("backslash_folded_then_merged", "/\\\\admin", fold, Ok("/admin")),
        // rule 6: dot segments
        ("dots_parent_removed", "/info/../private", secure, Ok("/private")),
        ("dots_current_removed", "/a/./b", secure, Ok("/a/b")),
        ("dots_clamp_at_root", "/../../etc/passwd", secure, Ok("/etc/passwd")),
        ("dots_root_parent_is_root", "/..", secure, Ok("/")),
        ("dots_root_current_is_root", "/.", secure, Ok("/")),
        ("dots_trailing_parent_keeps_slash", "/a/b/..", secure, Ok("/a/")),
        ("dots_trailing_current_keeps_slash", "/a/.", secure, Ok("/a/")),
        ("dots_trailing_parent_slash", "/a/b/../", secure, Ok("/a/")),
        ("dots_many_parents", "/a/b/c/../../d", secure, Ok("/a/d")),
        ("dots_parent_after_empty_segment_rfc", "/a//../b", no_merge, Ok("/a/b")),
        ("dots_parent_pops_empty_segment_then_merge", "/a/x//../b", secure, Ok("/a/x/b")),
        ("dots_param_parent_rejected", "/public/..;x/admin", params_keep, Err(E::PathParameterDotSegment)),
        ("dots_param_parent_bare_semicolon_rejected", "/a/..;/b", params_keep, Err(E::PathParameterDotSegment)),
        ("dots_param_current_rejected", "/a/.;x/b", params_keep, Err(E::PathParameterDotSegment)),
        ("dots_param_encoded_semicolon_rejected", "/a/..%3bx/b", secure, Err(E::PathParameterDotSegment)),
        ("dots_param_encoded_dots_rejected", "/a/%2e%2e;x/b", params_keep, Err(E::PathParameterDotSegment)),
        ("dots_param_at_end_rejected", "/a/..;", params_keep, Err(E::PathParameterDotSegment)),
        ("dots_param_even_if_popped_rejected", "/a/..;x/../b", params_keep, Err(E::PathParameterDotSegment)),
        ("dots_param_on_other_name_allowed", "/a/x..;y/b", params_keep, Ok("/a/x..;y/b")),
        // rule 7: merge slashes
        ("merge_leading_double_slash", "//admin", secure, Ok("/admin")),
        ("merge_inner_runs", "/a///b//c", secure, Ok("/a/b/c")),
        ("merge_trailing_run", "/a//", secure, Ok("/a/")),
        ("merge_only_slashes", "////", secure, Ok("/")),
        ("merge_off_keeps_runs", "//a//b//", no_merge, Ok("//a//b//")),
        ("merge_off_still_removes_dots", "//a/./b/../c", no_merge, Ok("//a/c")),
    ]
}

#[test]
fn table_of_explicit_cases() {
    let rows = table();
    assert!(rows.len() >= 60, "only {} rows", rows.len());
    let mut failures = Vec::new();
    for (name, input, policy, expected) in rows {
        let policy = policy();
        let got = normalize_path(input, &policy);
        let got_ref = got.as_deref().map_err(Clone::clone);
        if got_ref != expected {
            failures.push(format!(
                "{name}: {input:?} -> {got_ref:?}, expected {expected:?}"
            ));
            continue;
        }
        if let Ok(out) = &got {
            let borrowed = matches!(got, Ok(Cow::Borrowed(_)));
            assert_eq!(borrowed, *out == input, "{name}: borrowed iff unchanged");
            assert_eq!(
                is_canonical(input, &policy),
                borrowed,
                "{name}: is_canonical"
            );
            assert!(is_canonical(out, &policy), "{name}: output is canonical");
        } else {
            assert!(
                !is_canonical(input, &policy),
                "{name}: refused but canonical"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn status_is_414_only_for_too_long() {
    assert_eq!(TargetError::TooLong { len: 9, max: 8 }.status(), 414);
    for e in [
        E::Empty,
        E::NotOriginForm,
        E::InvalidByte { byte: 0, offset: 0 },
        E::Fragment,
        E::MalformedPercent { offset: 0 },
        E::EncodedSlash,
        E::EncodedNul,
        E::Backslash,
        E::PathParameterDotSegment,
    ] {
        assert_eq!(e.status(), 400, "{e}");
        let text = e.to_string();
        assert!(!text.is_empty() && !text.ends_with('.'));
        assert_eq!(text, text.to_lowercase(), "display is lowercase");
    }
}

#[test]
fn default_policy_is_secure() {
    let p = PathPolicy::default();
    assert_eq!(p, PathPolicy::secure());
    assert!(p.merge_slashes);
    assert_eq!(p.encoded_slashes, EncodedSlashes::Reject);
    assert_eq!(p.backslashes, Backslashes::Reject);
    assert_eq!(p.max_target_len, 8192);
}

#[test]
fn canonical_path_is_borrowed_not_allocated() {
    let input = "/api/v1/users/42";
    match normalize_path(input, &secure()) {
        Ok(Cow::Borrowed(s)) => assert!(std::ptr::eq(s, input)),
        other => panic!("expected borrowed, got {other:?}"),
    }
}

#[test]
fn one_mebibyte_path_normalizes() {
    let mut policy = secure();
    policy.max_target_len = usize::MAX;
    let canonical = format!("/{}", "a/".repeat(512 * 1024));
    assert!(canonical.len() > 1024 * 1024);
    assert!(matches!(
        normalize_path(&canonical, &policy),
        Ok(Cow::Borrowed(_))
    ));

    // Same size, but every other segment is `..`, doubled slashes, and escapes to decode.
    let messy = format!("/{}", "%61//../a/".repeat(110 * 1024));
    assert!(messy.len() > 1024 * 1024);
    let out = normalize_path(&messy, &policy).unwrap();
    assert_eq!(out, format!("/{}", "a/a/".repeat(110 * 1024)));

    // Deep `..` chains only pop what exists.
    let deep = format!("/{}{}", "a/".repeat(256 * 1024), "../".repeat(300 * 1024));
    assert_eq!(normalize_path(&deep, &policy).unwrap(), "/");
}

// === split_target ===

#[test]
fn split_origin_form() {
    assert_eq!(
        split_target(b"/a/b"),
        Ok(TargetForm::Origin {
            path: "/a/b",
            query: None
        })
    );
    assert_eq!(
        split_target(b"/a?x=1&y=%zz?"),
        Ok(TargetForm::Origin {
            path: "/a",
            query: Some("x=1&y=%zz?")
        })
    );
    assert_eq!(
        split_target(b"/?"),
        Ok(TargetForm::Origin {
            path: "/",
            query: Some("")
        })
    );
    assert_eq!(
        split_target(b"//evil.example/x"),
        Ok(TargetForm::Origin {
            path: "//evil.example/x",
            query: None
        })
    );
}

#[test]
fn split_absolute_form() {
    assert_eq!(
        split_target(b"http://example.com/a?q"),
        Ok(TargetForm::Absolute {
            scheme: "http",
            authority: "example.com",
            path: "/a",
            query: Some("q")
        })
    );
    assert_eq!(
        split_target(b"HTTPS://Example.com:8443"),
        Ok(TargetForm::Absolute {
            scheme: "HTTPS",
            authority: "Example.com:8443",
            path: "/",
            query: None
        })
    );
    assert_eq!(
        split_target(b"http://h?q=1"),
        Ok(TargetForm::Absolute {
            scheme: "http",
            authority: "h",
            path: "/",
            query: Some("q=1")
        })
    );
}

#[test]
fn split_authority_and_asterisk_forms() {
    assert_eq!(
        split_target(b"example.com:443"),
        Ok(TargetForm::Authority("example.com:443"))
    );
    assert_eq!(
        split_target(b"[::1]:443"),
        Ok(TargetForm::Authority("[::1]:443"))
    );
    assert_eq!(split_target(b"*"), Ok(TargetForm::Asterisk));
}

#[test]
fn split_refuses_what_is_in_no_form() {
    for raw in [
        &b"admin"[..],
        b"admin/x",
        b"mailto:x",
        b"example.com:",
        b":443",
        b"http:/x",
        b"1http://x/",
        b"**",
        b"*?x",
        b"example.com:443/x",
    ] {
        assert_eq!(
            split_target(raw),
            Err(TargetError::NotOriginForm),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn split_validates_every_byte_including_query() {
    assert_eq!(split_target(b""), Err(E::Empty));
    assert_eq!(split_target(b"/a#b"), Err(E::Fragment));
    assert_eq!(split_target(b"/a?b#c"), Err(E::Fragment));
    assert_eq!(
        split_target(b"/a?b c"),
        Err(E::InvalidByte {
            byte: b' ',
            offset: 4
        })
    );
    assert_eq!(
        split_target(b"/a?\xff"),
        Err(E::InvalidByte {
            byte: 0xff,
            offset: 3
        })
    );
    assert_eq!(
        split_target(b"http://a\rb/"),
        Err(E::InvalidByte {
            byte: b'\r',
            offset: 8
        })
    );
    assert_eq!(
        split_target(b"/\x7f"),
        Err(E::InvalidByte {
            byte: 0x7f,
            offset: 1
        })
    );
}

#[test]
fn split_applies_length_limit() {
    let long = format!("/{}", "a".repeat(8192));
    assert_eq!(
        split_target(long.as_bytes()),
        Err(E::TooLong {
            len: 8193,
            max: 8192
        })
    );
    assert!(split_target(&long.as_bytes()[..8192]).is_ok());
    let mut policy = secure();
    policy.max_target_len = 16 * 1024;
    assert!(split_target_with(long.as_bytes(), &policy).is_ok());
}

// === reference model ===

/// The SECURITY.md pipeline written naively, one pass per step, to check the single-pass code.
fn reference(path: &str, policy: &PathPolicy) -> Result<String, ()> {
    let bytes = path.as_bytes();
    if path.len() > policy.max_target_len || !path.starts_with('/') {
        return Err(());
    }
    // 1. bytes
    if bytes
        .iter()
        .any(|&b| b <= b' ' || b >= 0x7f || b == b'#' || b == b'?')
    {
        return Err(());
    }
    // Every escape is checked, a path parameter's too, before any is stripped.
    let full = decode_escapes(path, policy)?;
    if full.contains('\\') && policy.backslashes == Backslashes::Reject {
        return Err(());
    }
    // Path parameters, on the raw path: refused, kept, or cut up to the next separator the
    // policy reads as one.
    let stripped;
    let path = match policy.path_parameters {
        PathParameters::Reject if path.contains(';') => return Err(()),
        PathParameters::Strip => {
            let mut out = String::new();
            let mut in_param = false;
            let mut i = 0;
            while i < path.len() {
                let rest = &path[i..];
                let separator = rest.starts_with('/')
                    || (rest.starts_with('\\') && policy.backslashes == Backslashes::Fold)
                    || (policy.encoded_slashes == EncodedSlashes::Decode
                        && ["%2f", "%2F", "%5c", "%5C"]
                            .iter()
                            .any(|e| rest.starts_with(e)));
                if separator {
                    in_param = false;
                } else if rest.starts_with(';') {
                    in_param = true;
                }
                let len = if rest.starts_with('%') { 3 } else { 1 };
                if !in_param {
                    out.push_str(&rest[..len]);
                }
                i += len;
            }
            stripped = out;
            stripped.as_str()
        }
        _ => path,
    };
    // 2 + 3 + 4: escapes, producing a string where `/` is a separator.
    let mut s = decode_escapes(path, policy)?;
    // 5. backslashes
    if s.contains('\\') {
        match policy.backslashes {
            Backslashes::Reject => return Err(()),
            _ => s = s.replace('\\', "/"),
        }
    }
    // 6. hardening, then RFC 3986 §5.2.4 literally.
    for seg in s.split('/') {
        for dots in [".", ".."] {
            if let Some(rest) = seg.strip_prefix(dots)
                && (rest.starts_with(';') || rest.starts_with("%3B"))
            {
                return Err(());
            }
        }
    }
    let mut input = s.as_str();
    let mut output = String::new();
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("/./") {
            input = &input[input.len() - rest.len() - 1..];
        } else if input == "/." {
            input = "/";
        } else if let Some(rest) = input.strip_prefix("/../") {
            input = &input[input.len() - rest.len() - 1..];
            output.truncate(output.rfind('/').unwrap_or(0));
        } else if input == "/.." {
            input = "/";
            output.truncate(output.rfind('/').unwrap_or(0));
        } else {
            let end = input[1..].find('/').map_or(input.len(), |e| e + 1);
            output.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    // 7. merge
    if policy.merge_slashes {
        while output.contains("//") {
            output = output.replace("//", "/");
        }
    }
    Ok(output)
}

/// Steps 2 to 4 of the reference: escapes checked and decoded, `/` a separator.
fn decode_escapes(path: &str, policy: &PathPolicy) -> Result<String, ()> {
    let bytes = path.as_bytes();
    let mut s = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3).ok_or(())?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(());
            }
            let v = u8::from_str_radix(hex, 16).map_err(|_| ())?;
            if v == 0 {
                return Err(());
            }
            if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                s.push(v as char);
            } else if v == b'/' || v == b'\\' {
                match policy.encoded_slashes {
                    EncodedSlashes::Reject => return Err(()),
                    EncodedSlashes::Keep => s.push_str(&format!("%{v:02X}")),
                    _ => s.push(v as char),
                }
            } else {
                s.push_str(&format!("%{v:02X}"));
            }
            i += 3;
        } else {
            s.push(bytes[i] as char);
            i += 1;
        }
    }
    Ok(s)
}

#[test]
fn reference_model_agrees_on_the_table() {
    for (name, input, policy, expected) in table() {
        let policy = policy();
        assert_eq!(
            reference(input, &policy).ok().as_deref(),
            expected.ok(),
            "{name}"
        );
    }
}

// === properties ===

/// `PROPTEST_CASES` when set, else 2,000 cases.
fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    #[allow(clippy::disallowed_methods)] // test-harness knob only
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        2000
    };
    ProptestConfig { cases, ..default }
}

/// Path-like strings: biased towards the characters the pipeline cares about.
fn messy_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => Just("/".to_string()),
        3 => Just(".".to_string()),
        2 => Just("..".to_string()),
        2 => prop::sample::select(vec![
            "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "%41", "%61", "%7e", "%25", "%3b", "%3B",
            "%c3%a9", "%00", "%", "%2", "%zz", "%3F", "%0a",
        ])
        .prop_map(str::to_string),
        1 => prop::sample::select(vec!["\\", ";", ";x", "#", "?", " ", "~", "-", "_", "\u{e9}"])
            .prop_map(str::to_string),
        4 => "[a-cA-C0-2]{1,3}",
    ];
    (
        prop::bool::weighted(0.95),
        prop::collection::vec(piece, 0..24),
    )
        .prop_map(|(slash, v)| {
            let body = v.concat();
            if slash { format!("/{body}") } else { body }
        })
}

fn policy_strategy() -> impl Strategy<Value = PathPolicy> {
    prop::sample::select(all_policies())
}

/// Checks every output guarantee listed in the module docs.
fn check_invariants(out: &str, policy: &PathPolicy) -> Result<(), TestCaseError> {
    prop_assert!(out.starts_with('/'));
    if policy.path_parameters != PathParameters::Keep {
        prop_assert!(!out.contains(';'), "{out:?}");
    }
    prop_assert!(
        !out.contains("/./") && !out.contains("/../"),
        "dot segment in {out:?}"
    );
    prop_assert!(
        !out.ends_with("/.") && !out.ends_with("/.."),
        "dot segment at end {out:?}"
    );
    if policy.merge_slashes {
        prop_assert!(!out.contains("//"), "{out:?}");
    }
    let b = out.as_bytes();
    for (i, _) in out.match_indices('%') {
        let hex = &b[i + 1..i + 3];
        prop_assert!(
            hex.iter().all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'F')),
            "lower/invalid hex in {out:?}"
        );
        let v = u8::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap();
        prop_assert!(v != 0, "%00 in {out:?}");
        prop_assert!(
            !(v.is_ascii_alphanumeric() || b"-._~".contains(&v)),
            "{out:?}"
        );
        if v == b'/' || v == b'\\' {
            prop_assert_eq!(policy.encoded_slashes, EncodedSlashes::Keep, "{}", out);
        }
    }
    prop_assert!(!out.contains('\\') && !out.contains('#') && !out.contains('?'));
    prop_assert!(out.bytes().all(|c| c > b' ' && c < 0x7f));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn normalize_is_idempotent_and_keeps_invariants(path in messy_path(), policy in policy_strategy()) {
        if let Ok(out) = normalize_path(&path, &policy) {
            check_invariants(&out, &policy)?;
            let again = normalize_path(&out, &policy);
            prop_assert!(matches!(again, Ok(Cow::Borrowed(_))), "{:?} -> {:?} -> {:?}", path, out, again);
        }
    }

    #[test]
    fn is_canonical_matches_borrowed_result(path in messy_path(), policy in policy_strategy()) {
        let result = normalize_path(&path, &policy);
        let borrowed = matches!(result, Ok(Cow::Borrowed(_)));
        prop_assert_eq!(is_canonical(&path, &policy), borrowed);
        if let Ok(out) = &result {
            prop_assert_eq!(borrowed, **out == *path);
        }
    }

    #[test]
    fn single_pass_agrees_with_reference_model(path in messy_path(), policy in policy_strategy()) {
        let fast = normalize_path(&path, &policy).map(Cow::into_owned).ok();
        let slow = reference(&path, &policy).ok();
        prop_assert_eq!(fast, slow, "input {:?}", path);
    }

    #[test]
    fn respelling_a_canonical_path_normalizes_back(
        path in messy_path(),
        policy in policy_strategy(),
        seed in prop::collection::vec(any::<u8>(), 64),
    ) {
        let Ok(canonical) = normalize_path(&path, &policy) else { return Ok(()) };
        let respelled = respell(&canonical, &policy, &seed);
        let back = normalize_path(&respelled, &policy);
        prop_assert_eq!(back.as_deref(), Ok(&*canonical), "respelled {:?}", respelled);
    }

    #[test]
    fn split_target_never_panics_and_validates(raw in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(form) = split_target(&raw) {
            prop_assert!(raw.iter().all(|&b| b > b' ' && b < 0x7f && b != b'#'));
            if let TargetForm::Origin { path, .. } | TargetForm::Absolute { path, .. } = form {
                prop_assert!(path.starts_with('/'));
                prop_assert!(!path.contains('?'));
            }
        }
    }

    #[test]
    fn one_pass_scan_agrees_with_split_then_normalize(
        path in messy_path(),
        query in prop::option::of("[a-z=&#?%/ ]{0,12}"),
        policy in policy_strategy(),
    ) {
        let raw = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let Some(fast) = canonical_origin(raw.as_bytes(), None, &policy) else { return Ok(()) };
        prop_assert_eq!(canonical_origin(raw.as_bytes(), Some(&raw), &policy), Some(fast));
        let Ok(TargetForm::Origin { path: split_path, query: split_query }) =
            split_target_with(raw.as_bytes(), &policy)
        else {
            return Err(TestCaseError::fail(format!("{raw:?}: fast path took a target split refuses")));
        };
        prop_assert_eq!(fast.path, split_path);
        prop_assert_eq!(fast.query, split_query);
        prop_assert!(matches!(normalize_path(fast.path, &policy), Ok(Cow::Borrowed(p)) if p == fast.path));
        prop_assert_eq!(fast.ampersands, split_query.map_or(0, |q| q.matches('&').count()));
        prop_assert_eq!(fast.segments, Segments::of(fast.path));
        check_segments(fast.path, &fast.segments)?;
    }

    #[test]
    fn normalize_never_panics_on_arbitrary_ascii(path in "/[ -~]{0,40}", policy in policy_strategy()) {
        let _ = normalize_path(&path, &policy);
        let _ = is_canonical(&path, &policy);
    }
}

/// The depth and every prefix of `segments` against a plain reading of the path.
fn check_segments(path: &str, segments: &Segments) -> Result<(), TestCaseError> {
    let whole = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let depth = if whole == "/" {
        0
    } else {
        whole.matches('/').count()
    };
    prop_assert_eq!(segments.depth(), depth, "{}", path);
    for n in 1..depth {
        let end = whole.match_indices('/').nth(n).map(|(i, _)| i).unwrap();
        prop_assert_eq!(
            segments.prefix(path, n),
            Some(&whole[..end]),
            "{} at {}",
            path,
            n
        );
    }
    Ok(())
}

#[test]
fn segments_of_deep_and_long_paths() {
    let deep = "/s".repeat(40) + "/";
    check_segments(&deep, &Segments::of(&deep)).unwrap();
    let long = format!("/{}/b/c", "a".repeat(70_000));
    check_segments(&long, &Segments::of(&long)).unwrap();
    for path in ["/", "/a", "/a/", "/a/b", "/a/b/"] {
        check_segments(path, &Segments::of(path)).unwrap();
    }
    let fast = canonical_origin(b"/a/b/c?x=1&y=2&z", None, &secure()).unwrap();
    assert_eq!(
        (fast.path, fast.query, fast.ampersands),
        ("/a/b/c", Some("x=1&y=2&z"), 2)
    );
    assert_eq!(fast.segments.prefix(fast.path, 2), Some("/a/b"));
    for refused in [
        &b"/a//b"[..],
        b"/./a",
        b"/a/.b",
        b"/a%41",
        b"/a\\b",
        b"/a#b",
        b"/a?b#c",
        b"*",
        b"a/b",
        b"/a b",
    ] {
        assert_eq!(
            canonical_origin(refused, None, &secure()),
            None,
            "{}",
            String::from_utf8_lossy(refused)
        );
    }
}

/// Re-spells a canonical path without changing its meaning, driven by `seed`: for each segment,
/// possibly doubles the separator (when merging), inserts `./` or `name/../`, percent-encodes
/// unreserved characters with random hex case, and lower-cases existing escapes.
fn respell(canonical: &str, policy: &PathPolicy, seed: &[u8]) -> String {
    let mut rng = seed.iter().copied().cycle();
    let mut next = move || rng.next().unwrap_or(0);
    let mut out = String::new();
    for segment in canonical[1..].split('/') {
        out.push('/');
        if policy.merge_slashes && next() % 4 == 0 {
            out.push('/');
        }
        match next() % 5 {
            0 => out.push_str("./"),
            1 => out.push_str("zz/../"),
            2 => out.push_str("%2e/%7a/%2E%2e/"),
            _ => {}
        }
        let bytes = segment.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = &segment[i + 1..i + 3];
                if next() % 2 == 0 {
                    out.push('%');
                    out.push_str(&hex.to_lowercase());
                } else {
                    out.push_str(&segment[i..i + 3]);
                }
                i += 3;
                continue;
            }
            let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            if unreserved && next() % 3 == 0 {
                let enc = format!("%{b:02X}");
                out.push_str(&if next() % 2 == 0 {
                    enc.to_lowercase()
                } else {
                    enc
                });
            } else {
                out.push(b as char);
            }
            i += 1;
        }
    }
    out
}
