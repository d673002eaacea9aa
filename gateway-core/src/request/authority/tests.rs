#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;

use HostError as E;

type Row = (
    &'static str,
    &'static str,
    Result<(&'static str, Option<u16>), HostError>,
);

#[rustfmt::skip]
fn table() -> Vec<Row> {
    vec![
        // canonical and borrowed
        ("plain_name", "example.com", Ok(("example.com", None))),
        ("name_with_port", "example.com:8080", Ok(("example.com", Some(8080)))),
        ("hyphen_underscore_digits", "a-b_c.x1.example", Ok(("a-b_c.x1.example", None))),
        ("single_label", "localhost", Ok(("localhost", None))),
        ("punycode_a_label", "xn--caf-dma.example", Ok(("xn--caf-dma.example", None))),
        // OWS
        ("ows_trimmed_at_ends", " \texample.com \t", Ok(("example.com", None))),
        ("ows_trailing_space_cve_2019_18802", "example.com ", Ok(("example.com", None))),
        ("ows_embedded_space_refused", "exa mple.com", Err(E::InvalidByte { byte: b' ' })),
        ("ows_before_port_refused", "example.com :80", Err(E::InvalidByte { byte: b' ' })),
        ("ows_only_is_empty", " \t ", Err(E::Empty)),
        ("empty", "", Err(E::Empty)),
        // case
        ("case_lowered", "Example.COM", Ok(("example.com", None))),
        ("case_lowered_with_port", "EXAMPLE.com:443", Ok(("example.com", Some(443)))),
        // userinfo
        ("userinfo_refused", "user@example.com", Err(E::UserInfo)),
        ("userinfo_empty_refused", "@example.com", Err(E::UserInfo)),
        ("userinfo_with_password_refused", "u:p@example.com", Err(E::UserInfo)),
        // port
        ("port_empty_means_none", "example.com:", Ok(("example.com", None))),
        ("port_max", "example.com:65535", Ok(("example.com", Some(65535)))),
        ("port_leading_zero", "example.com:080", Ok(("example.com", Some(80)))),
        ("port_zero_refused", "example.com:0", Err(E::BadPort)),
        ("port_too_big_refused", "example.com:65536", Err(E::BadPort)),
        ("port_too_many_digits_refused", "example.com:000080", Err(E::BadPort)),
        ("port_sign_refused", "example.com:+80", Err(E::BadPort)),
        ("port_letters_refused", "example.com:http", Err(E::BadPort)),
        ("port_two_colons_refused", "example.com:80:80", Err(E::BadPort)),
        ("port_only_is_empty_host", ":80", Err(E::Empty)),
        // bytes
        ("byte_slash_refused_haproxy_2941", "example.com/admin", Err(E::InvalidByte { byte: b'/' })),
        ("byte_percent_refused", "exa%6dple.com", Err(E::InvalidByte { byte: b'%' })),
        ("byte_sub_delim_refused", "a!b.example", Err(E::InvalidByte { byte: b'!' })),
        ("byte_non_ascii_refused", "caf\u{e9}.example", Err(E::InvalidByte { byte: 0xc3 })),
        ("byte_nul_refused", "a\0.example", Err(E::InvalidByte { byte: 0 })),
        ("byte_question_refused", "a.example?x", Err(E::InvalidByte { byte: b'?' })),
        ("byte_hash_refused", "a.example#x", Err(E::InvalidByte { byte: b'#' })),
        ("byte_backslash_refused", "a.example\\x", Err(E::InvalidByte { byte: b'\\' })),
        // trailing dot and labels
        ("trailing_dot_stripped", "example.com.", Ok(("example.com", None))),
        ("trailing_dot_stripped_with_port", "Example.com.:443", Ok(("example.com", Some(443)))),
        ("two_trailing_dots_refused", "example.com..", Err(E::EmptyLabel)),
        ("lone_dot_refused", ".", Err(E::EmptyLabel)),
        ("leading_dot_refused", ".example.com", Err(E::EmptyLabel)),
        ("inner_empty_label_refused", "a..b", Err(E::EmptyLabel)),
        // IPv4
        ("ipv4_accepted", "192.0.2.1", Ok(("192.0.2.1", None))),
        ("ipv4_with_port", "192.0.2.1:80", Ok(("192.0.2.1", Some(80)))),
        ("ipv4_trailing_dot", "192.0.2.1.", Ok(("192.0.2.1", None))),
        ("ipv4_leading_zero_refused", "0177.0.0.1", Err(E::BadIpv4)),
        ("ipv4_single_number_refused", "2130706433", Err(E::BadIpv4)),
        ("ipv4_hex_refused", "0x7f.0.0.1", Err(E::BadIpv4)),
        ("ipv4_hex_last_label_refused", "a.0x7F", Err(E::BadIpv4)),
        ("ipv4_short_form_refused", "127.1", Err(E::BadIpv4)),
        ("ipv4_octet_overflow_refused", "256.0.0.1", Err(E::BadIpv4)),
        ("numeric_inner_label_is_a_name", "1.example", Ok(("1.example", None))),
        ("hexish_name_is_a_name", "0xcafe.example", Ok(("0xcafe.example", None))),
        // IPv6
        ("ipv6_accepted", "[::1]", Ok(("[::1]", None))),
        ("ipv6_with_port", "[2001:db8::1]:8443", Ok(("[2001:db8::1]", Some(8443)))),
        ("ipv6_respelled_rfc_5952", "[2001:DB8:0:0:0:0:0:1]", Ok(("[2001:db8::1]", None))),
        ("ipv6_v4_mapped", "[::FFFF:192.0.2.1]", Ok(("[::ffff:192.0.2.1]", None))),
        ("ipv6_empty_port", "[::1]:", Ok(("[::1]", None))),
        ("ipv6_unterminated_refused", "[::1", Err(E::BadIpLiteral)),
        ("ipv6_garbage_after_refused", "[::1]x", Err(E::BadIpLiteral)),
        ("ipv6_zone_refused", "[fe80::1%25eth0]", Err(E::BadIpLiteral)),
        ("ipv6_future_refused", "[v1.x]", Err(E::BadIpLiteral)),
        ("ipv6_ipv4_in_brackets_refused", "[192.0.2.1]", Err(E::BadIpLiteral)),
        ("ipv6_space_inside_refused", "[ ::1]", Err(E::BadIpLiteral)),
        ("ipv6_bad_port_refused", "[::1]:99999", Err(E::BadPort)),
        ("ipv6_unbracketed_refused", "::1", Err(E::BadPort)),
        ("ipv6_unbracketed_with_text_refused", "fe80::1", Err(E::BadPort)),
    ]
}

#[test]
fn table_of_explicit_cases() {
    let rows = table();
    assert!(rows.len() >= 60, "only {} rows", rows.len());
    let mut failures = Vec::new();
    for (name, input, expected) in rows {
        let got = canonical_host(input);
        let got_ref = got.as_ref().map(|(h, p)| (&**h, *p)).map_err(Clone::clone);
        if got_ref != expected {
            failures.push(format!(
                "{name}: {input:?} -> {got_ref:?}, expected {expected:?}"
            ));
            continue;
        }
        if let Ok((host, port)) = &got {
            // Idempotent: the canonical host is a fixed point, returned borrowed.
            let again = canonical_host(host).unwrap();
            assert!(matches!(again.0, Cow::Borrowed(_)), "{name}");
            assert_eq!((&*again.0, again.1), (&**host, None), "{name}");
            let _ = port;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn borrowed_unless_lower_casing_or_respelling_needed() {
    assert!(matches!(
        canonical_host("example.com"),
        Ok((Cow::Borrowed(_), None))
    ));
    assert!(matches!(
        canonical_host("example.com.:80"),
        Ok((Cow::Borrowed(_), Some(80)))
    ));
    assert!(matches!(
        canonical_host(" example.com "),
        Ok((Cow::Borrowed(_), None))
    ));
    assert!(matches!(
        canonical_host("Example.com"),
        Ok((Cow::Owned(_), None))
    ));
    assert!(matches!(
        canonical_host("[::1]"),
        Ok((Cow::Borrowed(_), None))
    ));
    assert!(matches!(
        canonical_host("[0::1]"),
        Ok((Cow::Owned(_), None))
    ));
}

#[test]
fn length_limit_is_255_without_trailing_dot() {
    let label = "a".repeat(63);
    let host = [label.as_str(); 4].join(".");
    assert_eq!(host.len(), 255);
    assert_eq!(canonical_host(&host).unwrap().0, host);
    assert_eq!(canonical_host(&format!("{host}.")).unwrap().0, host);
    assert_eq!(canonical_host(&format!("{host}.:80")).unwrap().1, Some(80));
    let long = format!("a{host}");
    assert_eq!(canonical_host(&long), Err(E::TooLong { len: 256 }));
    let huge = "a".repeat(1 << 20);
    assert_eq!(canonical_host(&huge), Err(E::TooLong { len: 1 << 20 }));
}

#[test]
fn errors_are_400_with_lowercase_display() {
    for e in [
        E::Empty,
        E::TooLong { len: 300 },
        E::InvalidByte { byte: b'/' },
        E::EmptyLabel,
        E::BadPort,
        E::BadIpLiteral,
        E::BadIpv4,
        E::UserInfo,
        E::Missing,
        E::Duplicate,
        E::Conflict,
        E::NotUtf8,
    ] {
        assert_eq!(e.status(), 400);
        let text = e.to_string();
        assert!(!text.is_empty() && !text.ends_with('.'));
        assert_eq!(text, text.to_lowercase(), "{text}");
    }
}

// === request_host ===

fn pick(
    absolute: Option<&'static str>,
    h2: Option<&'static str>,
    hosts: &[&'static [u8]],
) -> Result<&'static str, HostError> {
    let mut it = hosts.iter().copied();
    request_host(absolute, h2, &mut it)
}

#[test]
fn host_single_header_is_used() {
    assert_eq!(pick(None, None, &[b"Example.com"]), Ok("Example.com"));
}

#[test]
fn host_missing_is_refused() {
    assert_eq!(pick(None, None, &[]), Err(E::Missing));
}

#[test]
fn host_duplicate_is_refused_even_when_equal() {
    assert_eq!(
        pick(None, None, &[b"a.example", b"a.example"]),
        Err(E::Duplicate)
    );
    assert_eq!(
        pick(None, None, &[b"a.example", b"b.example"]),
        Err(E::Duplicate)
    );
    assert_eq!(
        pick(Some("a.example"), None, &[b"a.example", b"b.example"]),
        Err(E::Duplicate)
    );
    assert_eq!(
        pick(None, Some("a.example"), &[b"a", b"b"]),
        Err(E::Duplicate)
    );
}

#[test]
fn host_not_utf8_is_refused() {
    assert_eq!(pick(None, None, &[b"a\xff.example"]), Err(E::NotUtf8));
}

#[test]
fn host_invalid_value_is_refused_even_when_unused() {
    assert_eq!(
        pick(Some("a.example"), None, &[b"bad host"]),
        Err(E::InvalidByte { byte: b' ' })
    );
}

#[test]
fn absolute_form_authority_wins_over_host() {
    assert_eq!(
        pick(Some("a.example"), None, &[b"b.example"]),
        Ok("a.example")
    );
    assert_eq!(
        pick(Some("a.example"), Some("c.example"), &[]),
        Ok("a.example")
    );
    assert_eq!(pick(Some("a.example"), None, &[]), Ok("a.example"));
}

#[test]
fn h2_authority_used_without_host() {
    assert_eq!(pick(None, Some("A.example:443"), &[]), Ok("A.example:443"));
}

#[test]
fn h2_authority_with_agreeing_host_after_canonicalization() {
    assert_eq!(
        pick(None, Some("a.example:8443"), &[b" A.EXAMPLE.:8443"]),
        Ok("a.example:8443")
    );
}

#[test]
fn h2_authority_with_conflicting_host_is_refused() {
    assert_eq!(
        pick(None, Some("a.example"), &[b"b.example"]),
        Err(E::Conflict)
    );
    assert_eq!(
        pick(None, Some("a.example"), &[b"a.example:443"]),
        Err(E::Conflict)
    );
    assert_eq!(
        pick(None, Some("a.example:1"), &[b"a.example:2"]),
        Err(E::Conflict)
    );
}

#[test]
fn h2_invalid_authority_with_host_is_refused() {
    assert_eq!(
        pick(None, Some("a.example/x"), &[b"a.example"]),
        Err(E::InvalidByte { byte: b'/' })
    );
}

#[test]
fn request_host_reads_at_most_two_host_lines() {
    let mut count = 0;
    let mut it = std::iter::repeat_with(|| {
        count += 1;
        &b"a.example"[..]
    })
    .take(1000);
    assert_eq!(request_host(None, None, &mut it), Err(E::Duplicate));
    drop(it);
    assert_eq!(count, 2);
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

fn messy_authority() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        5 => "[a-cA-C0-9]{1,4}",
        3 => Just(".".to_string()),
        1 => prop::sample::select(vec![
            ":", ":80", ":0", ":65536", "@", " ", "\t", "-", "_", "[", "]", "[::1]", "[::A]",
            "/", "%", "0x", "\u{e9}",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn canonical_host_is_idempotent_and_clean(authority in messy_authority()) {
        if let Ok((host, _port)) = canonical_host(&authority) {
            prop_assert!(!host.is_empty());
            prop_assert!(!host.ends_with('.') && !host.starts_with('.') && !host.contains(".."));
            prop_assert!(!host.bytes().any(|b| b.is_ascii_uppercase()));
            prop_assert!(host.len() <= MAX_HOST_LEN);
            if host.starts_with('[') {
                prop_assert!(host.ends_with(']'));
            } else {
                prop_assert!(host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            }
            let again = canonical_host(&host);
            prop_assert!(matches!(&again, Ok((Cow::Borrowed(h), None)) if *h == host), "{:?}", again);
        }
    }

    #[test]
    fn case_and_ows_and_trailing_dot_do_not_change_the_host(authority in messy_authority(), upper in any::<bool>()) {
        if let Ok((host, port)) = canonical_host(&authority) {
            if host.starts_with('[') || authority.ends_with('.') {
                return Ok(());
            }
            let host_owned = host.into_owned();
            let mut respelled = if upper { host_owned.to_ascii_uppercase() } else { host_owned.clone() };
            respelled.push('.');
            if let Some(p) = port {
                respelled.push_str(&format!(":{p}"));
            }
            let respelled = format!(" \t{respelled} ");
            let got = canonical_host(&respelled).map(|(h, p)| (h.into_owned(), p));
            prop_assert_eq!(got, Ok((host_owned, port)));
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one(authority in messy_authority()) {
        if let Some(fast) = super::canonical_fast(&authority) {
            prop_assert_eq!(Ok(fast), super::canonical_general(&authority));
        }
    }

    #[test]
    fn the_fast_path_takes_long_canonical_names(labels in prop::collection::vec("[a-z0-9_-]{1,9}", 1..8), port in 1..=u16::MAX, with_port in any::<bool>()) {
        let host = format!("{}.example", labels.join("."));
        let authority = if with_port { format!("{host}:{port}") } else { host.clone() };
        let want = (Cow::Borrowed(host.as_str()), with_port.then_some(port));
        prop_assert_eq!(super::canonical_fast(&authority), Some(want));
    }

    #[test]
    fn canonical_host_never_panics(authority in "[ -~]{0,40}") {
        let _ = canonical_host(&authority);
    }
}

/// Regression (found by the property test): the one-pass fast path must not accept a last
/// label that WHATWG reads as a hexadecimal number.
#[test]
fn hex_last_label_is_refused_by_the_fast_path_too() {
    for host in ["0x", "a.0x", "a.0x1f", "0x7f:80"] {
        assert_eq!(canonical_host(host), Err(HostError::BadIpv4), "{host}");
    }
    assert_eq!(
        canonical_host("a.0xg").map(|(h, _)| h.into_owned()),
        Ok("a.0xg".to_owned())
    );
}
